/**
 * `plotRuns`: grouping runs into curves and their statistics, against values worked out by hand
 * (Student's t 97.5% quantiles from the standard table: 12.706205 for 1 degree of freedom, 4.302653
 * for 2).
 */
import { describe, expect, it } from 'vitest';
import { differingKeys, type PlotRun, plotRuns } from '../../src/experiments/plot';

const T1 = 12.706205;
const T2 = 4.302653;

/** A run of `steps` steps whose episodes (each `length` steps) return `returns` in order. */
function run(config: Record<string, unknown>, returns: number[], length: number, options: { finished?: boolean; evaluations?: [number, number][] } = {}): PlotRun {
  const episodes = returns.map((r, i) => ({ step: (i + 1) * length, return: r }));
  const finished = options.finished ?? true;
  return {
    dir: `runs/${JSON.stringify(config)}`,
    config: { steps: returns.length * length, env: 'Pendulum', agent: 'sg-rp', alpha: 0.01, seed: 0, logEvery: 1000, ...config },
    finished,
    reached: finished ? returns.length * length : episodes.at(-1)?.step ?? 0,
    episodes,
    evaluations: (options.evaluations ?? []).map(([step, mean]) => ({ step, mean })),
  };
}

/** Mean and 95% t half-width of values, by the textbook formula. */
function interval(values: number[], t: number): [number, number, number] {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const s = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (t * s) / Math.sqrt(n);
  return [mean, mean - half, mean + half];
}

describe('plotRuns', () => {
  it('names curves by the config keys that differ, leaving out seeds and bookkeeping, agent first', () => {
    const runs = [run({ agent: 'sg-rp', alpha: 0.1, seed: 0, logEvery: 10 }, [1], 10), run({ agent: 'sgm-mrp', alpha: 0.01, seed: 1 }, [1], 10)];
    expect(differingKeys(runs)).toEqual(['agent', 'alpha']);
    expect(differingKeys([runs[0], run({ agent: 'sg-rp', alpha: 0.1, seed: 5 }, [2], 10)])).toEqual([]);
    const result = plotRuns(runs, { metric: 'return', bins: 1 });
    expect(result.groups.map((g) => g.name)).toEqual(['agent=SG-RP alpha=0.1', 'agent=SGM-MRP alpha=0.01']);
    expect(plotRuns([runs[0]], { metric: 'return', bins: 1 }).groups[0].name).toBe('all runs');
  });

  it('averages seeds on the step grid with a 95% Student-t interval, and summarizes area and final return per run', () => {
    // Three seeds of one setting, 4 episodes of 25 steps (100 steps), grid of 2 bins: [50, 100].
    const seeds = [
      [1, 3, 5, 7],
      [2, 2, 6, 6],
      [0, 4, 4, 10],
    ];
    const runs = seeds.map((returns, seed) => run({ seed }, returns, 25));
    const [group] = plotRuns(runs, { metric: 'return', bins: 2 }).groups;
    expect(group.x).toEqual([50, 100]);
    // Bin (0, 50] holds episodes 1-2, bin (50, 100] episodes 3-4: per run the mean of each pair.
    const firstBin = seeds.map((r) => (r[0] + r[1]) / 2); // [2, 2, 2]
    const secondBin = seeds.map((r) => (r[2] + r[3]) / 2); // [6, 6, 7]
    const [m0, lo0, hi0] = interval(firstBin, T2);
    const [m1, lo1, hi1] = interval(secondBin, T2);
    expect(group.mean[0]).toBeCloseTo(m0, 12);
    expect(group.lo[0]).toBeCloseTo(lo0, 12);
    expect(group.hi[0]).toBeCloseTo(hi0, 12);
    expect(group.mean[1]).toBeCloseTo(m1, 12);
    expect(group.lo[1]).toBeCloseTo(lo1, 12);
    expect(group.hi[1]).toBeCloseTo(hi1, 12);
    // Area: the mean of a run's curve points; final: the episodes ending in its last 10% of steps (the 4th).
    const [am, alo, ahi] = interval(seeds.map((_, i) => (firstBin[i] + secondBin[i]) / 2), T2);
    expect(group.area.mean).toBeCloseTo(am, 12);
    expect(group.area.lo).toBeCloseTo(alo, 12);
    expect(group.area.hi).toBeCloseTo(ahi, 12);
    const [fm, flo, fhi] = interval(seeds.map((r) => r[3]), T2);
    expect(group.final.mean).toBeCloseTo(fm, 12);
    expect(group.final.lo).toBeCloseTo(flo, 12);
    expect(group.final.hi).toBeCloseTo(fhi, 12);
  });

  it('draws an unfinished run as far as it got and leaves it out of the final return', () => {
    const done = [run({ seed: 0 }, [1, 2, 3, 4], 25), run({ seed: 1 }, [3, 4, 5, 6], 25)];
    const partial = run({ seed: 2, steps: 100 }, [10, 20], 25, { finished: false }); // reached step 50 of 100
    const [group] = plotRuns([...done, partial], { metric: 'return', bins: 4 }).groups;
    expect(group.x).toEqual([25, 50, 75, 100]);
    // Steps 25 and 50: three runs; 75 and 100: the two finished ones only (not the partial run's 20 carried on).
    expect(group.mean[1]).toBeCloseTo((2 + 4 + 20) / 3, 12);
    expect(group.mean[3]).toBeCloseTo((4 + 6) / 2, 12);
    const [fm, flo, fhi] = interval([4, 6], T1);
    expect([group.final.mean, group.final.lo, group.final.hi]).toEqual([fm, flo, fhi]);
    expect(group.final.n).toBe(2);
  });

  it('evaluation curves: the greedy means at the steps they ran, the final one the last evaluation of each finished run', () => {
    const runs = [
      run({ seed: 0 }, [0], 100, { evaluations: [[50, 1], [100, 5]] }),
      run({ seed: 1 }, [0], 100, { evaluations: [[50, 3], [100, 9]] }),
    ];
    const [group] = plotRuns(runs, { metric: 'eval', bins: 40 }).groups;
    expect(group.x).toEqual([50, 100]);
    expect(group.mean).toEqual([2, 7]);
    const [m, lo, hi] = interval([5, 9], T1);
    expect([group.final.mean, group.final.lo, group.final.hi]).toEqual([m, lo, hi]);
    expect(group.area.mean).toBe(((1 + 5) / 2 + (3 + 9) / 2) / 2);
  });

  it('evaluation curves of runs evaluated at different steps: every run\'s latest evaluation at each step, its area of its own evaluations', () => {
    const runs = [
      run({ seed: 0 }, [0], 200, { evaluations: [[50, 0], [100, 10], [150, 20], [200, 30]] }),
      run({ seed: 1 }, [0], 200, { evaluations: [[70, 100], [140, 110], [200, 120]] }),
    ];
    const [group] = plotRuns(runs, { metric: 'eval', bins: 40 }).groups;
    expect(group.x).toEqual([50, 70, 100, 140, 150, 200]);
    // Seed 0: 0, 0, 10, 10, 20, 30; seed 1: none yet at 50, then 100, 100, 110, 110, 120.
    expect(group.mean).toEqual([0, 50, 55, 60, 65, 75]);
    expect(group.areas).toEqual([15, 110]);
    expect(group.finals).toEqual([30, 120]);
  });

  it('names a run whose config lacks a grouping key by (unset)', () => {
    const runs = [run({ seed: 0 }, [1, 2], 100), run({ seed: 1, gradientSteps: 2 }, [3, 4], 100)];
    expect(plotRuns(runs, { metric: 'return', bins: 2 }).groups.map((g) => g.name)).toEqual(['gradientSteps=(unset)', 'gradientSteps=2']);
    expect(plotRuns(runs, { metric: 'return', bins: 2, groupBy: ['gradientSteps'] }).groups.map((g) => g.name)).toEqual(['gradientSteps=(unset)', 'gradientSteps=2']);
  });

  it('names a recorded module by its file and the start of its hash, not its JSON', () => {
    const module = (sha: string) => ({ path: '/home/me/my-estimators.mjs', sha256: sha.repeat(64) });
    const runs = [
      run({ estimator: 'scoreFunction', estimatorModule: module('a') }, [1], 10),
      run({ estimator: 'scoreFunction', estimatorModule: module('b') }, [2], 10),
    ];
    expect(plotRuns(runs, { metric: 'return', bins: 1 }).groups.map((g) => g.name)).toEqual([
      'estimatorModule=my-estimators.mjs@aaaaaaaa',
      'estimatorModule=my-estimators.mjs@bbbbbbbb',
    ]);
  });

  it('one figure per environment, one series per curve; the tables list every curve and point', () => {
    const runs = [
      run({ env: 'Pendulum', agent: 'sg-rp' }, [1, 2], 50),
      run({ env: 'Pendulum', agent: 'sgm-mrp' }, [3, 4], 50),
      run({ env: 'Acrobot', agent: 'sg-rp', alpha: 0.1 }, [5, 6], 50),
    ];
    const result = plotRuns(runs, { metric: 'return', bins: 2, groupBy: ['agent'] });
    expect(result.figures.map((f) => f.id)).toEqual(['Pendulum', 'Acrobot']);
    expect(result.figures[0].series.map((s) => s.name)).toEqual(['agent=SG-RP', 'agent=SGM-MRP']);
    expect(result.figures[1].series.map((s) => s.name)).toEqual(['agent=SG-RP']);
    const [summary, curves] = result.tables;
    expect(summary.rows.map((r) => r.slice(0, 3))).toEqual([
      ['Pendulum', 'agent=SG-RP', 1],
      ['Pendulum', 'agent=SGM-MRP', 1],
      ['Acrobot', 'agent=SG-RP', 1],
    ]);
    expect(curves.rows).toHaveLength(6);
    expect(curves.rows[0]).toEqual(['Pendulum', 'agent=SG-RP', 50, 1, 1, NaN, NaN]); // one run: no interval
  });
});
