/**
 * The statistics the paper's learning curves use: episode returns binned on a common grid of
 * environment steps, their mean across seeds with a 95% Student-t interval, and the area under a
 * curve (the criterion the paper picks its best settings by).
 */

/** One finished episode of a run: the environment step it ended at and its return. */
export interface EpisodePoint {
  readonly step: number;
  readonly return: number;
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (standard tables). */
const T975 = [
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145,
  2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272,
];

/**
 * The 97.5% quantile of Student's t with `df` degrees of freedom: the table up to 30, a
 * Cornish-Fisher expansion about the normal quantile beyond (error below 1e-4 there).
 *
 * @example
 * tQuantile975(1); // 12.706205
 * tQuantile975(1e9); // 1.959964 (the normal's)
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30 && Number.isInteger(df)) return T975[df - 1];
  const z = 1.959963985;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3);
}

/** A mean with its 95% interval; `lo` and `hi` are the mean itself when there is one value. */
export interface Interval {
  readonly n: number;
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The mean of the finite values with a 95% Student-t interval for it: mean ± t(0.975, n-1) s / sqrt(n),
 * s the sample standard deviation (n - 1 in the denominator). NaN values (a run with nothing yet) are
 * left out; with none left, everything is NaN; with one, the mean has no interval (lo, hi NaN: tables
 * leave the fields empty and figures draw no band).
 *
 * @example
 * meanInterval([1, 2, 3]); // { n: 3, mean: 2, lo: 2 - 4.302653 / sqrt(3), hi: 2 + 4.302653 / sqrt(3) }
 */
export function meanInterval(values: readonly number[]): Interval {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, lo: NaN, hi: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, lo: NaN, hi: NaN };
  const s = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * s) / Math.sqrt(n);
  return { n, mean, lo: mean - half, hi: mean + half };
}

/**
 * The grid a learning curve is read on: `bins` points evenly up to `steps`, the first at steps/bins.
 *
 * @example
 * stepGrid(1000, 4); // [250, 500, 750, 1000]
 */
export function stepGrid(steps: number, bins: number): number[] {
  return Array.from({ length: bins }, (_, i) => Math.round(((i + 1) * steps) / bins));
}

/**
 * One run's learning curve on `grid`: at each grid point x, the mean return of the episodes that
 * ended in (previous grid point, x]; where none ended there, the return of the last episode that
 * ended before x (a long episode spans several bins); NaN before the first episode ends.
 *
 * @example
 * runCurve([{ step: 100, return: 1 }, { step: 150, return: 3 }, { step: 400, return: 5 }], [200, 300, 400]); // [2, 3, 5]
 */
export function runCurve(episodes: readonly EpisodePoint[], grid: readonly number[]): number[] {
  const sorted = [...episodes].sort((a, b) => a.step - b.step);
  const out: number[] = [];
  let i = 0;
  let last = NaN;
  let previous = -Infinity;
  for (const x of grid) {
    let sum = 0;
    let count = 0;
    while (i < sorted.length && sorted[i].step <= x) {
      if (sorted[i].step > previous) {
        sum += sorted[i].return;
        count++;
      }
      last = sorted[i].return;
      i++;
    }
    out.push(count > 0 ? sum / count : last);
    previous = x;
  }
  return out;
}

/** A learning curve over seeds: the mean and its 95% interval at each grid point. */
export interface CurveSummary {
  readonly x: number[];
  readonly mean: number[];
  readonly lo: number[];
  readonly hi: number[];
}

/**
 * The mean across runs of their curves on `grid`, with a 95% Student-t interval at each point.
 *
 * @example
 * aggregateCurves([[...episodes of seed 0], [...seed 1]], stepGrid(20_000, 40));
 */
export function aggregateCurves(runs: readonly (readonly EpisodePoint[])[], grid: readonly number[]): CurveSummary {
  const curves = runs.map((episodes) => runCurve(episodes, grid));
  const points = grid.map((_, j) => meanInterval(curves.map((c) => c[j])));
  return { x: [...grid], mean: points.map((p) => p.mean), lo: points.map((p) => p.lo), hi: points.map((p) => p.hi) };
}

/**
 * The area under a run's curve, normalized by its length: the mean of its defined (non-NaN) points,
 * so it reads in units of return. The paper picks its best settings by the largest area.
 *
 * @example
 * curveArea([NaN, 2, 4]); // 3
 */
export function curveArea(curve: readonly number[]): number {
  const xs = curve.filter((v) => Number.isFinite(v));
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * A run's final return: the mean return of the episodes that ended in the last `fraction` of its
 * `steps`, or of its last episode when none did (NaN with no episode at all).
 *
 * @example
 * finalReturn([{ step: 500, return: 1 }, { step: 950, return: 3 }], 1000); // 3 (the last 10%: steps after 900)
 */
export function finalReturn(episodes: readonly EpisodePoint[], steps: number, fraction = 0.1): number {
  const from = steps * (1 - fraction);
  const tail = episodes.filter((e) => e.step > from);
  if (tail.length > 0) return tail.reduce((a, e) => a + e.return, 0) / tail.length;
  const last = [...episodes].sort((a, b) => a.step - b.step).at(-1);
  return last === undefined ? NaN : last.return;
}
