/**
 * `plotRuns`' rliable statistics: the median, IQM and bootstrap intervals of summary.csv, the
 * probability of improvement of comparisons.csv and the normalized aggregates of aggregate.csv, on
 * runs whose final returns are chosen so that every expected value is worked out by hand here. The
 * bootstrap itself is checked in bootstrap.test.ts, the aggregates against SciPy in
 * aggregates.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { tableToCsv } from '../../src/experiments/paper/csv';
import { type PlotRun, plotRuns } from '../../src/experiments/plot';

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
    expect(comparisons.columns).toEqual(['env', 'curve_x', 'curve_y', 'p_improvement', 'lo95', 'hi95', 'runs_x', 'runs_y']);
    const rows = records(comparisons);
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
