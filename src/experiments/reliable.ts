/**
 * Reliable comparisons of runs for `mixrl plot`, after rliable (Agarwal et al. 2021): per curve the
 * median, interquartile mean and mean of its runs' scores (area under the curve, final return) with
 * stratified percentile bootstrap 95% intervals (`bootstrap.ts`); per pair of curves of one env the
 * probability of improvement of one's final return (or area under the curve) over the other's, with
 * its interval, and per pair of curve names run in two or more envs that probability averaged over
 * those envs; and, for envs given a score range to normalize by, a curve's aggregate over those envs.
 *
 * Across envs only normalized scores are aggregated: raw returns of two envs have unrelated scales
 * (Pendulum's run to -1500, CartPole's to 500), so a pooled IQM would mostly measure which env has
 * the larger numbers. As rliable: the IQM pools the normalized runs of every env, the median is of
 * the per-env means, the mean is the mean of the per-env means, and each replicate resamples the
 * runs of every env on its own. The probability of improvement needs no normalization (it compares
 * runs of one env only, by rank), so it is averaged over envs as it is.
 */
import { interquartileMean, mean, median, probabilityOfImprovement } from './aggregates';
import { bootstrap, type BootstrapInterval, bootstrapKey } from './bootstrap';
import { tableNumber } from './paper/csv';
import type { Table } from './paper/types';

/** How the intervals are drawn: replicates per interval and the seed of their streams. */
export interface BootstrapOptions {
  readonly resamples: number;
  readonly seed: number;
}

/** A sample's median, interquartile mean and mean, each with its 95% bootstrap interval. */
export interface RobustSummary {
  readonly median: BootstrapInterval;
  readonly iqm: BootstrapInterval;
  readonly mean: BootstrapInterval;
}

/** Which per-run score a probability of improvement compares: the final return or the area under the curve. */
export type CompareScore = 'final' | 'auc';

/** The probability of improvement of curve `x`'s score over curve `y`'s, in one env or averaged over several. */
export interface Comparison {
  /** The env, or `all (E envs)` for the average over the envs of `envs`. */
  readonly env: string;
  readonly envs: readonly string[];
  readonly x: string;
  readonly y: string;
  readonly score: CompareScore;
  /** The runs with a score on each side (for `final`, the finished ones), over all of `envs`. */
  readonly runsX: number;
  readonly runsY: number;
  readonly p: BootstrapInterval;
}

/** Per env, the scores mapped to 0 and 1 (e.g. a random policy's and the best known return). */
export type Normalization = ReadonlyMap<string, readonly [min: number, max: number]>;

/** One curve over the normalized envs it was run in. */
export interface Aggregate {
  readonly name: string;
  readonly envs: readonly string[];
  readonly runs: number;
  readonly area: RobustSummary;
  readonly final: RobustSummary;
}

/** What these functions need of a curve: its env, name, and per run its area and final return (NaN: none). */
export interface CurveScores {
  readonly env: string;
  readonly name: string;
  readonly areas: readonly number[];
  readonly finals: readonly number[];
}

const finite = (xs: readonly number[]) => xs.filter((v) => Number.isFinite(v));

/** A curve's per-run scores of `score`, those it has (an unfinished run has no final return). */
const scoresOf = (c: CurveScores, score: CompareScore) => finite(score === 'auc' ? c.areas : c.finals);

/** Labels, joined, as the key of an interval's stream. */
const label = (...parts: string[]) => parts.join('\n');

/**
 * The median, IQM and mean of the finite `values` (one per run) with their 95% bootstrap intervals,
 * resampling runs; `labels` (what, env, curve) key the intervals' stream.
 *
 * @example
 * robustSummary([1, 2, 3, 10], ['final', 'Pendulum', 'all runs'], { resamples: 2000, seed: 0 }).iqm.value; // 2.5
 */
export function robustSummary(values: readonly number[], labels: readonly string[], options: BootstrapOptions): RobustSummary {
  const [m, iqm, mu] = bootstrap([finite(values)], [([xs]) => median(xs), ([xs]) => interquartileMean(xs), ([xs]) => mean(xs)], {
    resamples: options.resamples,
    key: bootstrapKey(options.seed, label(...labels)),
  });
  return { median: m, iqm, mean: mu };
}

/**
 * The probability of improvement of every pair of curves of an env (each pair once, in the curves'
 * order: P(later > earlier) is 1 minus the one given), on their runs' `score` (finished runs' final
 * returns, or all runs' areas), with a 95% bootstrap interval resampling each curve's runs on their own.
 *
 * @example
 * compareCurves(groups, 'final', { resamples: 2000, seed: 0 }); // [{ env: 'Pendulum', x: 'agent=SG-RP', y: 'agent=SGM-MRP', p: { value: 0.2, ... } }]
 */
export function compareCurves(curves: readonly CurveScores[], score: CompareScore, options: BootstrapOptions): Comparison[] {
  const out: Comparison[] = [];
  curves.forEach((cx, i) =>
    curves.slice(i + 1).forEach((cy) => {
      if (cx.env !== cy.env) return;
      const xs = scoresOf(cx, score);
      const ys = scoresOf(cy, score);
      const [p] = bootstrap([xs, ys], [([a, b]) => probabilityOfImprovement(a, b)], {
        resamples: options.resamples,
        key: bootstrapKey(options.seed, label('compare', cx.env, cx.name, cy.name)),
      });
      out.push({ env: cx.env, envs: [cx.env], x: cx.name, y: cy.name, score, runsX: xs.length, runsY: ys.length, p });
    }),
  );
  return out;
}

/**
 * For every two curve names that both have runs with a `score` in two or more envs, rliable's
 * probability of improvement over tasks: the mean over those envs of P(X > Y) in each (no
 * normalization: it is a fraction of pairs of runs of one env). Its 95% stratified bootstrap interval
 * resamples the runs of each curve in each env on their own, then averages. Pairs come once, in the
 * order the names first appear among `curves`; `env` is `all (E envs)`.
 *
 * @example
 * compareAcrossEnvs(groups, 'final', { resamples: 2000, seed: 0 }); // P = 1 in Pendulum, 0.5 in Acrobot: [{ env: 'all (2 envs)', p: { value: 0.75, ... } }]
 */
export function compareAcrossEnvs(curves: readonly CurveScores[], score: CompareScore, options: BootstrapOptions): Comparison[] {
  const scored = curves.filter((c) => scoresOf(c, score).length > 0);
  const names = [...new Set(scored.map((c) => c.name))];
  return names.flatMap((x, i) =>
    names.slice(i + 1).flatMap((y) => {
      // Per env where both ran, the runs of x then of y: strata 2e and 2e + 1.
      const pairs = scored.filter((cx) => cx.name === x).flatMap((cx) => scored.filter((cy) => cy.name === y && cy.env === cx.env).map((cy) => [cx, cy] as const));
      if (pairs.length < 2) return [];
      const strata = pairs.flatMap(([cx, cy]) => [scoresOf(cx, score), scoresOf(cy, score)]);
      const [p] = bootstrap(strata, [(s) => mean(pairs.map((_, e) => probabilityOfImprovement(s[2 * e], s[2 * e + 1])))], {
        resamples: options.resamples,
        key: bootstrapKey(options.seed, label('compare', 'all', x, y)),
      });
      const count = (k: 0 | 1) => strata.filter((_, j) => j % 2 === k).reduce((a, xs) => a + xs.length, 0);
      return [{ env: `all (${pairs.length} envs)`, envs: pairs.map(([cx]) => cx.env), x, y, score, runsX: count(0), runsY: count(1), p }];
    }),
  );
}

/**
 * rliable's aggregates of normalized scores, one sample per env (see the module comment), with their
 * stratified bootstrap intervals.
 */
function aggregateSummary(perEnv: readonly (readonly number[])[], name: string, options: BootstrapOptions): RobustSummary {
  const envMeans = (strata: readonly (readonly number[])[]) => strata.map((xs) => mean(xs));
  const [m, iqm, mu] = bootstrap(perEnv, [(s) => median(envMeans(s)), (s) => interquartileMean(s.flat()), (s) => mean(envMeans(s))], {
    resamples: options.resamples,
    key: bootstrapKey(options.seed, name),
  });
  return { median: m, iqm, mean: mu };
}

/**
 * Each curve name found in two or more of the envs `normalize` names, aggregated over those envs:
 * its runs' areas and final returns mapped by (score - min) / (max - min) of their env. Curves of
 * envs without a normalization are left out.
 *
 * @example
 * aggregateAcrossEnvs(groups, new Map([['Pendulum', [-1500, 0]], ['Acrobot', [-500, 0]]]), { resamples: 2000, seed: 0 });
 */
export function aggregateAcrossEnvs(curves: readonly CurveScores[], normalize: Normalization, options: BootstrapOptions): Aggregate[] {
  for (const [env, [min, max]] of normalize) if (!(max > min)) throw new RangeError(`aggregateAcrossEnvs: ${env}'s normalization needs min < max, got ${min}:${max}`);
  const normalized = curves.filter((c) => normalize.has(c.env));
  const names = [...new Set(normalized.map((c) => c.name))];
  return names.flatMap((name) => {
    const mine = normalized.filter((c) => c.name === name);
    if (mine.length < 2) return [];
    const scale = (c: CurveScores, xs: readonly number[]) => {
      const [min, max] = normalize.get(c.env) as readonly [number, number];
      return finite(xs).map((x) => (x - min) / (max - min));
    };
    return [
      {
        name,
        envs: mine.map((c) => c.env),
        runs: mine.reduce((a, c) => a + c.areas.length, 0),
        area: aggregateSummary(mine.map((c) => scale(c, c.areas)), label('aggregate', 'area', name), options),
        final: aggregateSummary(mine.map((c) => scale(c, c.finals)), label('aggregate', 'final', name), options),
      },
    ];
  });
}

/**
 * The columns of a RobustSummary of `prefix` (`auc`, `final`); with `meanIsBootstrapOnly` the mean's
 * value is left out (summary.csv already has it, beside its t-interval).
 *
 * @example
 * robustColumns('final', true); // ['final_median', 'final_median_lo95', ..., 'final_mean_boot_lo95', 'final_mean_boot_hi95']
 */
export function robustColumns(prefix: string, meanIsBootstrapOnly: boolean): string[] {
  const mean = meanIsBootstrapOnly ? [`${prefix}_mean_boot_lo95`, `${prefix}_mean_boot_hi95`] : [`${prefix}_mean`, `${prefix}_mean_lo95`, `${prefix}_mean_hi95`];
  return [`${prefix}_median`, `${prefix}_median_lo95`, `${prefix}_median_hi95`, `${prefix}_iqm`, `${prefix}_iqm_lo95`, `${prefix}_iqm_hi95`, ...mean];
}

/**
 * The cells of `robustColumns`, in order.
 *
 * @example
 * robustCells(group.robust.final, true); // [median, lo, hi, iqm, lo, hi, mean_lo, mean_hi]
 */
export function robustCells(r: RobustSummary, meanIsBootstrapOnly: boolean): number[] {
  const mean = meanIsBootstrapOnly ? [r.mean.lo, r.mean.hi] : [r.mean.value, r.mean.lo, r.mean.hi];
  return [r.median.value, r.median.lo, r.median.hi, r.iqm.value, r.iqm.lo, r.iqm.hi, ...mean].map(tableNumber);
}

/**
 * `comparisons.csv`: one row per pair of curves of an env, then one per pair averaged over envs
 * (env `all (E envs)`); none when no env has two curves. `score` names what was compared.
 *
 * @example
 * tableToCsv(comparisonTable([...compareCurves(groups, 'final', boot), ...compareAcrossEnvs(groups, 'final', boot)], 'final', boot.resamples));
 */
export function comparisonTable(comparisons: readonly Comparison[], score: CompareScore, resamples: number): Table {
  const what = score === 'auc' ? 'area under the curve' : 'final return';
  return {
    id: 'comparisons',
    title: `Probability of improvement P(X > Y) of curve_x's ${what} over curve_y's (env 'all (E envs)': its mean over the envs both ran in), with a 95% percentile bootstrap interval (${resamples} resamples of the runs, within each env)`,
    columns: ['env', 'curve_x', 'curve_y', 'p_improvement', 'lo95', 'hi95', 'runs_x', 'runs_y', 'score'],
    rows: comparisons.map((c) => [c.env, c.x, c.y, tableNumber(c.p.value), tableNumber(c.p.lo), tableNumber(c.p.hi), c.runsX, c.runsY, c.score]),
  };
}

/**
 * `aggregate.csv`: one row per curve aggregated over normalized envs (none without `--normalize`).
 *
 * @example
 * tableToCsv(aggregateTable(aggregateAcrossEnvs(groups, normalize, boot), boot.resamples));
 */
export function aggregateTable(aggregates: readonly Aggregate[], resamples: number): Table {
  return {
    id: 'aggregate',
    title: `Per curve over the normalized envs it ran in: median of env means, IQM of all runs and mean of env means of its normalized area and final return, with 95% stratified bootstrap intervals (${resamples} resamples)`,
    columns: ['curve', 'envs', 'runs', ...robustColumns('auc', false), ...robustColumns('final', false)],
    rows: aggregates.map((a) => [a.name, a.envs.join(';'), a.runs, ...robustCells(a.area, false), ...robustCells(a.final, false)]),
  };
}

/**
 * `v [lo, hi]` for printing (3 significant digits), or `v` without an interval.
 *
 * @example
 * showBootstrap({ value: 0.5, lo: 0.25, hi: 0.75 }); // '0.500 [0.250, 0.750]'
 */
export function showBootstrap(b: BootstrapInterval): string {
  return Number.isFinite(b.lo) ? `${b.value.toPrecision(3)} [${b.lo.toPrecision(3)}, ${b.hi.toPrecision(3)}]` : b.value.toPrecision(3);
}
