/**
 * Percentile bootstrap intervals (Efron 1979), stratified as rliable's `StratifiedBootstrap`: the
 * data are one or more samples (strata: the runs of one env, or of two curves compared), and each of
 * `resamples` replicates draws every stratum anew, n_s of its values with replacement, independently
 * of the others. A statistic computed on each replicate gives its bootstrap distribution; the 95%
 * interval is that distribution's 2.5th and 97.5th percentiles (linear interpolation, as
 * `numpy.percentile`). The interval is approximate: with few runs it is too narrow, as it cannot look
 * beyond the values observed.
 *
 * Draws come from one Threefry `UniformStream` per interval (its key from a seed and a label, so an
 * interval does not change when other curves are added): replicate by replicate, stratum by stratum,
 * value by value, index floor(u · n_s) of the uniform u. Same seed, same intervals.
 */
import { rawFoldIn, type RawKey, rawKey, UniformStream } from '../tensor/threefry';

/** rliable's replicate count for its IQM intervals. */
export const DEFAULT_RESAMPLES = 2000;

/** A statistic's value on the data with its 95% percentile bootstrap interval; lo, hi NaN where none can be drawn. */
export interface BootstrapInterval {
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

/** A statistic of the strata (one sample each). */
export type Statistic = (strata: readonly (readonly number[])[]) => number;

/**
 * The key of the stream of one interval: `rawKey(seed)` with the label's UTF-16 code units folded in.
 *
 * @example
 * bootstrapKey(0, 'final Pendulum agent=SG-RP');
 */
export function bootstrapKey(seed: number, label: string): RawKey {
  let key = rawKey(seed);
  for (let i = 0; i < label.length; i++) key = rawFoldIn(key, label.charCodeAt(i));
  return key;
}

/**
 * `size` indices into a sample of `size` values, drawn uniformly with replacement from `stream`.
 *
 * @example
 * resampleIndices(new UniformStream(rawKey(0)), 3); // Int32Array [1, 0, 1]
 */
export function resampleIndices(stream: UniformStream, size: number): Int32Array {
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(stream.next() * size);
  return out;
}

/**
 * The `q`-th percentile (0..100) of `values` by linear interpolation between the two nearest ranks
 * (`numpy.percentile`'s default): rank h = (n - 1) q / 100 of the sorted values.
 *
 * @example
 * percentile([1, 2, 3, 4, 10], 97.5); // 9.4
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  const h = ((s.length - 1) * q) / 100;
  const below = Math.floor(h);
  return below + 1 < s.length ? s[below] + (h - below) * (s[below + 1] - s[below]) : s[below];
}

/**
 * Each statistic on `strata` with its 95% percentile bootstrap interval over `resamples` stratified
 * replicates drawn from `UniformStream(key)` (see the module comment); all statistics see the same
 * replicates. A stratum of fewer than 2 values cannot vary, so then there is no interval (NaN bounds);
 * an empty one leaves the statistics undefined too (all NaN).
 *
 * @example
 * const [iqm] = bootstrap([finalReturns], [([xs]) => interquartileMean(xs)], { resamples: 2000, key: bootstrapKey(0, 'iqm') });
 */
export function bootstrap(strata: readonly (readonly number[])[], statistics: readonly Statistic[], options: { readonly resamples: number; readonly key: RawKey }): BootstrapInterval[] {
  if (!(Number.isInteger(options.resamples) && options.resamples >= 1)) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${options.resamples}`);
  if (strata.some((s) => s.length === 0)) return statistics.map(() => ({ value: NaN, lo: NaN, hi: NaN }));
  const values = statistics.map((f) => f(strata));
  if (strata.some((s) => s.length < 2)) return values.map((value) => ({ value, lo: NaN, hi: NaN }));
  const stream = new UniformStream(options.key);
  const replicates = statistics.map(() => new Float64Array(options.resamples));
  for (let b = 0; b < options.resamples; b++) {
    const drawn = strata.map((s) => Array.from(resampleIndices(stream, s.length), (i) => s[i]));
    statistics.forEach((f, k) => (replicates[k][b] = f(drawn)));
  }
  return values.map((value, k) => ({ value, lo: percentile(replicates[k], 2.5), hi: percentile(replicates[k], 97.5) }));
}

/**
 * A figure series' band from its points' intervals (`lo`, `hi`), or none where any is undefined
 * (NaN: a stratum of one value, one bandit or one seed).
 *
 * @example
 * const series = { name, x, y: cis.map((c) => c.value), ...bandOf(cis) };
 */
export function bandOf(cis: readonly BootstrapInterval[]): { lo?: number[]; hi?: number[] } {
  return cis.every((c) => Number.isFinite(c.lo) && Number.isFinite(c.hi)) ? { lo: cis.map((c) => c.lo), hi: cis.map((c) => c.hi) } : {};
}
