/**
 * `plotRuns`' rliable statistics: the median, IQM and bootstrap intervals of summary.csv, the
 * probability of improvement of comparisons.csv and the normalized aggregates of aggregate.csv, on
 * runs whose final returns are chosen so that every expected value is worked out by hand here. The
 * bootstrap itself is checked in bootstrap.test.ts, the aggregates against SciPy in
 * aggregates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { bootstrapKey } from '../../src/experiments/bootstrap';
import { tableToCsv } from '../../src/experiments/paper/csv';
import { type PlotRun, plotRuns } from '../../src/experiments/plot';
import { UniformStream } from '../../src/tensor/threefry';

/** A run of one 100-step episode returning `ret`: its area and its final return are both `ret`. */
function run(env: string, agent: string, seed: number, ret: number, finished = true): PlotRun {
  return { dir: `${env}/${agent}/${seed}`, config: { env, agent, seed, steps: 100 }, finished, reached: 100, episodes: [{ step: 100, return: ret }], evaluations: [] };
}

const runsOf = (env: string, agent: string, returns: number[]) => returns.map((r, seed) => run(env, agent, seed, r));

const OLD_COLUMNS = ['env', 'curve', 'runs', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95'];
const robust = (p: string) => [`${p}_median`, `${p}_median_lo95`, `${p}_median_hi95`, `${p}_iqm`, `${p}_iqm_lo95`, `${p}_iqm_hi95`, `${p}_mean_boot_lo95`, `${p}_mean_boot_hi95`];

/** A table's rows as objects by column. */
const records = (table: { columns: readonly string[]; rows: readonly (readonly (string | number)[])[] }) => table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]])));

describe('plotRuns: median, IQM and bootstrap intervals per curve', () => {
  it('adds the columns after the old ones, which keep their order; the values are those worked by hand', () => {
    const result = plotRuns(runsOf('Pendulum', 'sg-rp', [100, 1, 3, 2, 4]), { metric: 'return', bins: 1 });
    const [summary] = result.tables;
    expect(summary.columns).toEqual([...OLD_COLUMNS, ...robust('auc'), ...robust('final')]);
    const [row] = records(summary);
    // Sorted 1 2 3 4 100: median 3; IQM cuts floor(5/4) = 1 from each end: (2 + 3 + 4) / 3; mean 22.
    expect([row.final_median, row.final_iqm, row.final_mean]).toEqual([3, 3, 22]);
    expect([row.auc_median, row.auc_iqm, row.auc_mean]).toEqual([3, 3, 22]);
    // A percentile interval of resampled runs lies within the runs' range and holds the median of the resamples.
    for (const what of ['final_median', 'final_iqm', 'final_mean_boot']) {
      expect(row[`${what}_lo95`]).toBeGreaterThanOrEqual(1);
      expect(row[`${what}_hi95`]).toBeLessThanOrEqual(100);
      expect(row[`${what}_lo95`]).toBeLessThan(Number(row[`${what}_hi95`]));
    }
    // The bootstrap mean's interval is far from the t-interval here (one outlier among five runs), but both hold the mean.
    expect(row.final_mean_boot_lo95).toBeLessThanOrEqual(22);
    expect(row.final_mean_boot_hi95).toBeGreaterThanOrEqual(22);
  });

  it('leaves unfinished runs out of the final return\'s statistics, and gives no interval for one run', () => {
    const runs = [...runsOf('Pendulum', 'sg-rp', [1, 2, 3, 4]), run('Pendulum', 'sg-rp', 9, 50, false)];
    const [group] = plotRuns(runs, { metric: 'return', bins: 1 }).groups;
    // Finished: 1 2 3 4, IQM (2 + 3) / 2; areas: all five, sorted 1 2 3 4 50, IQM (2 + 3 + 4) / 3.
    expect(group.finals).toEqual([1, 2, 3, 4, NaN]);
    expect(group.robust.final.iqm.value).toBe(2.5);
    expect(group.robust.final.median.value).toBe(2.5);
    expect(group.robust.area.iqm.value).toBe(3);
    const [single] = plotRuns([run('Pendulum', 'sg-rp', 0, 7)], { metric: 'return', bins: 1 }).groups;
    expect(single.robust.final.iqm).toEqual({ value: 7, lo: NaN, hi: NaN });
  });

  it('gives the same bytes for the same seed, other intervals for another, and a curve\'s own whatever other curves are drawn', () => {
    const runs = [...runsOf('Pendulum', 'sg-rp', [1, 5, 2, 8, 3]), ...runsOf('Pendulum', 'sgm-mrp', [4, 6, 9, 7, 5])];
    const csvs = (options: { seed?: number }, rs = runs) => plotRuns(rs, { metric: 'return', bins: 1, groupBy: ['agent'], ...options }).tables.map(tableToCsv);
    expect(csvs({ seed: 7 })).toEqual(csvs({ seed: 7 }));
    expect(csvs({})).toEqual(csvs({ seed: 0 }));
    const [seven, eight] = [csvs({ seed: 7 })[0], csvs({ seed: 8 })[0]].map((text) => text.split('\n').map((line) => line.split(',')));
    expect(eight.map((cells) => cells.slice(0, 9))).toEqual(seven.map((cells) => cells.slice(0, 9)));
    expect(eight).not.toEqual(seven);
    const alone = csvs({ seed: 7 }, runs.slice(0, 5))[0].split('\n')[1];
    expect(csvs({ seed: 7 })[0].split('\n')[1]).toBe(alone);
  });
});

describe('plotRuns: probability of improvement between the curves of an env', () => {
  it('compares every pair of curves of each env once, in order, on finished runs\' final returns', () => {
    const runs = [
      ...runsOf('Pendulum', 'sg-rp', [1, 2, 2, 3]),
      ...runsOf('Pendulum', 'sgm-mrp', [2, 2, 0]),
      ...runsOf('Pendulum', 'sgm-lr', [10, 11]),
      run('Pendulum', 'sgm-lr', 5, -99, false),
      ...runsOf('Acrobot', 'sg-rp', [1, 2]),
    ];
    const result = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'] });
    const [, , comparisons] = result.tables;
    expect(comparisons.columns).toEqual(['env', 'curve_x', 'curve_y', 'p_improvement', 'lo95', 'hi95', 'runs_x', 'runs_y', 'score']);
    const rows = records(comparisons);
    // SG-RP also ran in Acrobot, but alone there: no pair is in two envs, so no row over envs.
    expect(rows.map((r) => r.score)).toEqual(['final', 'final', 'final']);
    expect(rows.map((r) => [r.env, r.curve_x, r.curve_y, r.runs_x, r.runs_y])).toEqual([
      ['Pendulum', 'agent=SG-RP', 'agent=SGM-MRP', 4, 3],
      ['Pendulum', 'agent=SG-RP', 'agent=SGM-LR', 4, 2],
      ['Pendulum', 'agent=SGM-MRP', 'agent=SGM-LR', 3, 2],
    ]);
    // 1 2 2 3 over 2 2 0: 1 + 2 + 2 + 3 of 12 pairs (ties one half); nothing beats 10 and 11.
    expect(rows.map((r) => r.p_improvement)).toEqual([Number((8 / 12).toPrecision(6)), 0, 0]);
    expect([rows[0].lo95, rows[0].hi95].every((v) => typeof v === 'number' && v >= 0 && v <= 1)).toBe(true);
    expect(rows[0].lo95).toBeLessThan(Number(rows[0].hi95));
    // Every resample of a pair set wholly apart is apart too.
    expect([rows[1].lo95, rows[1].hi95]).toEqual([0, 0]);
    expect(result.comparisons[0].p.value).toBe(8 / 12);
  });

  it('has no row where no env has two curves', () => {
    const result = plotRuns(runsOf('Pendulum', 'sg-rp', [1, 2, 3]), { metric: 'return', bins: 1 });
    expect(result.comparisons).toEqual([]);
    expect(result.tables[2].rows).toEqual([]);
  });
});

/** A run of two 50-step episodes returning `first` then `last`: on a grid of 2 bins its area is their mean, its final return `last`. */
function twoEpisodeRun(env: string, agent: string, seed: number, first: number, last: number): PlotRun {
  const episodes = [{ step: 50, return: first }, { step: 100, return: last }];
  return { dir: `${env}/${agent}/${seed}`, config: { env, agent, seed, steps: 100 }, finished: true, reached: 100, episodes, evaluations: [] };
}

/** The textbook percentile: rank h = (n - 1) q / 100 of the sorted values, interpolated linearly. */
function textbookPercentile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * q) / 100;
  const j = Math.floor(h);
  return j === s.length - 1 ? s[j] : s[j] * (1 - (h - j)) + s[j + 1] * (h - j);
}

/** P(X > Y) by counting pairs, ties one half. */
const wins = (xs: readonly number[], ys: readonly number[]) => xs.flatMap((x) => ys.map((y) => (x > y ? 1 : x === y ? 0.5 : 0))).reduce((a: number, b) => a + b, 0) / (xs.length * ys.length);

describe('plotRuns: --compare auc', () => {
  it('compares the runs\' areas under the curve in place of their final returns, and says so', () => {
    // SG-RP runs end at 10 from 0 (area 5), SGM-MRP stay at 8 (area 8) or 4 (area 4): SG-RP ends
    // higher in every pair, while its area beats only the 4 and never the 8.
    const runs = [twoEpisodeRun('A', 'sg-rp', 0, 0, 10), twoEpisodeRun('A', 'sg-rp', 1, 0, 10), twoEpisodeRun('A', 'sgm-mrp', 0, 8, 8), twoEpisodeRun('A', 'sgm-mrp', 1, 4, 4)];
    const final = plotRuns(runs, { metric: 'return', bins: 2, groupBy: ['agent'] });
    const auc = plotRuns(runs, { metric: 'return', bins: 2, groupBy: ['agent'], compare: 'auc' });
    expect(auc.groups.map((g) => g.areas)).toEqual([[5, 5], [8, 4]]);
    expect(final.comparisons.map((c) => [c.score, c.p.value])).toEqual([['final', 1]]);
    // 5 over 8 and 4, twice: 2 of 4 pairs.
    expect(auc.comparisons.map((c) => [c.score, c.p.value])).toEqual([['auc', 0.5]]);
    const [, , table] = auc.tables;
    expect(records(table)).toMatchObject([{ env: 'A', curve_x: 'agent=SG-RP', curve_y: 'agent=SGM-MRP', p_improvement: 0.5, runs_x: 2, runs_y: 2, score: 'auc' }]);
    expect(table.title).toContain("curve_x's area under the curve over curve_y's");
  });
});

describe('plotRuns: probability of improvement over envs', () => {
  const runs = [
    // A: SG-RP beats SGM-MRP in every pair, P = 1; SGM-LR runs in A only.
    ...runsOf('A', 'sg-rp', [3, 4]),
    ...runsOf('A', 'sgm-mrp', [1, 2]),
    ...runsOf('A', 'sgm-lr', [0, 9]),
    // B: the same runs on both sides: 1/2 + 0 + 1 + 1/2 of 4 pairs, P = 0.5.
    ...runsOf('B', 'sg-rp', [1, 2]),
    ...runsOf('B', 'sgm-mrp', [1, 2]),
    // D: SG-RP has no finished run, so D has no final return to compare.
    run('D', 'sg-rp', 0, 100, false),
    ...runsOf('D', 'sgm-mrp', [5, 6]),
  ];

  it('averages P(X > Y) over the envs where both curves have runs, after the per-env rows', () => {
    const result = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'], resamples: 300, seed: 4 });
    const rows = records(result.tables[2]);
    expect(rows.map((r) => [r.env, r.curve_x, r.curve_y, r.p_improvement, r.runs_x, r.runs_y, r.score])).toEqual([
      ['A', 'agent=SG-RP', 'agent=SGM-MRP', 1, 2, 2, 'final'],
      ['A', 'agent=SG-RP', 'agent=SGM-LR', 0.5, 2, 2, 'final'],
      ['A', 'agent=SGM-MRP', 'agent=SGM-LR', 0.5, 2, 2, 'final'],
      ['B', 'agent=SG-RP', 'agent=SGM-MRP', 0.5, 2, 2, 'final'],
      ['D', 'agent=SG-RP', 'agent=SGM-MRP', NaN, 0, 2, 'final'],
      // (1 + 0.5) / 2; D left out, and SGM-LR ran in one env only.
      ['all (2 envs)', 'agent=SG-RP', 'agent=SGM-MRP', 0.75, 4, 4, 'final'],
    ]);
    const all = result.comparisons.at(-1);
    expect(all?.envs).toEqual(['A', 'B']);
    expect(all?.p.value).toBe(0.75);
  });

  it('has the stratified percentile interval of the replicates its stream draws: runs resampled within each env and curve, then averaged', () => {
    const all = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'], resamples: 300, seed: 4 }).comparisons.at(-1);
    // The draws by hand: replicate by replicate, the strata A's SG-RP, A's SGM-MRP, B's SG-RP, B's SGM-MRP.
    const u = new UniformStream(bootstrapKey(4, ['compare', 'all', 'agent=SG-RP', 'agent=SGM-MRP'].join('\n')));
    const draw = (s: number[]) => s.map(() => s[Math.floor(u.next() * s.length)]);
    const replicates = Array.from({ length: 300 }, () => {
      const [ax, ay, bx, by] = [draw([3, 4]), draw([1, 2]), draw([1, 2]), draw([1, 2])];
      return (wins(ax, ay) + wins(bx, by)) / 2;
    });
    expect(all?.p.lo).toBeCloseTo(textbookPercentile(replicates, 2.5), 12);
    expect(all?.p.hi).toBeCloseTo(textbookPercentile(replicates, 97.5), 12);
    // A's P is 1 in every replicate, B's is 0..1: the mean is within 0.5..1, and varies.
    expect(all?.p.lo).toBeGreaterThanOrEqual(0.5);
    expect(all?.p.hi).toBeLessThanOrEqual(1);
    expect(all?.p.lo).toBeLessThan(all?.p.hi as number);
  });

  it('counts an env by the score compared: with --compare auc, an unfinished run has an area', () => {
    const all = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'], compare: 'auc' }).comparisons.at(-1);
    // Areas equal final returns here (one episode each); D: 100 over 5 and 6, P = 1. (1 + 0.5 + 1) / 3.
    expect([all?.env, all?.envs, all?.score, all?.runsX, all?.runsY]).toEqual(['all (3 envs)', ['A', 'B', 'D'], 'auc', 5, 6]);
    expect(all?.p.value).toBeCloseTo(2.5 / 3, 15);
  });
});

describe('plotRuns: curves aggregated over normalized envs', () => {
  const runs = [
    ...runsOf('A', 'sg-rp', [2, 4, 6, 8]),
    ...runsOf('B', 'sg-rp', [-50, -40, -30, -20]),
    ...runsOf('C', 'sg-rp', [1000, 2000]),
    ...runsOf('A', 'sgm-mrp', [10, 10]),
  ];
  const normalize = new Map<string, readonly [number, number]>([
    ['A', [0, 10]],
    ['B', [-100, 0]],
  ]);

  it('maps scores to 0..1 per env, pools them for the IQM and averages env means for the median and mean', () => {
    const result = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'], normalize });
    // SG-RP: A gives 0.2 0.4 0.6 0.8, B 0.5 0.6 0.7 0.8; C is not normalized, so left out. SGM-MRP runs in A only: no aggregate.
    expect(result.aggregates.map((a) => [a.name, a.envs, a.runs])).toEqual([['agent=SG-RP', ['A', 'B'], 8]]);
    const [agg] = result.aggregates;
    // Pooled and sorted: 0.2 0.4 0.5 0.6 0.6 0.7 0.8 0.8, IQM cuts 2 from each end: (0.5 + 0.6 + 0.6 + 0.7) / 4.
    expect(agg.final.iqm.value).toBeCloseTo(0.6, 12);
    // Env means 0.5 and 0.65: their median and mean are 0.575.
    expect(agg.final.median.value).toBeCloseTo(0.575, 12);
    expect(agg.final.mean.value).toBeCloseTo(0.575, 12);
    expect(agg.area.iqm.value).toBeCloseTo(0.6, 12);
    for (const b of [agg.final.iqm, agg.final.median, agg.final.mean]) {
      expect(b.lo).toBeGreaterThanOrEqual(0.2);
      expect(b.hi).toBeLessThanOrEqual(0.8);
      expect(b.lo).toBeLessThan(b.hi);
    }
    const table = result.tables[3];
    expect(table.id).toBe('aggregate');
    expect(table.columns.slice(0, 6)).toEqual(['curve', 'envs', 'runs', 'auc_median', 'auc_median_lo95', 'auc_median_hi95']);
    expect(records(table)[0]).toMatchObject({ curve: 'agent=SG-RP', envs: 'A;B', runs: 8, final_iqm: 0.6, final_mean: 0.575 });
  });

  it('aggregates nothing without a normalization, and refuses an empty score range', () => {
    const result = plotRuns(runs, { metric: 'return', bins: 1, groupBy: ['agent'] });
    expect(result.aggregates).toEqual([]);
    expect(result.tables[3].rows).toEqual([]);
    expect(() => plotRuns(runs, { metric: 'return', bins: 1, normalize: new Map([['A', [1, 1]]]) })).toThrow("aggregateAcrossEnvs: A's normalization needs min < max, got 1:1");
  });
});
