/**
 * Scores of a few runs summed up robustly, as the `rliable` library does (Agarwal et al. 2021, "Deep
 * RL at the edge of the statistical precipice"): the median, the interquartile mean (IQM, the mean of
 * the middle half, less swayed by one lucky or broken seed than the mean), the mean, and the
 * probability that one algorithm's run beats another's. Empty samples give NaN.
 */

/** The values sorted ascending (a copy). */
const sorted = (xs: readonly number[]) => Float64Array.from(xs).sort();

/**
 * The mean of `xs`.
 *
 * @example
 * mean([1, 2, 6]); // 3
 */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * The median of `xs`: the middle value, or the mean of the two middle ones when their number is even
 * (as `numpy.median`).
 *
 * @example
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 */
export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * The interquartile mean of `xs`: sorted, floor(n/4) values cut from each end, the rest averaged
 * (`scipy.stats.trim_mean(xs, 0.25)`, rliable's `aggregate_iqm`). Below 4 values nothing is cut, so it
 * is the mean.
 *
 * @example
 * interquartileMean([1, 2, 3, 100]); // 2.5 (1 and 100 cut)
 * interquartileMean([5, 1, 2, 3, 100]); // 3.333... (mean of 2, 3, 5)
 * interquartileMean([1, 2, 9]); // 4 (n < 4: the mean)
 */
export function interquartileMean(xs: readonly number[]): number {
  const s = sorted(xs);
  const cut = Math.floor(s.length / 4);
  return mean(Array.from(s.subarray(cut, s.length - cut)));
}

/**
 * The probability of improvement P(X > Y) of runs `xs` over runs `ys`: over all pairs (x, y), the
 * fraction with x > y, a tie counting one half,
 *
 *   P(X > Y) = 1/(n m) Σ_i Σ_j S(x_i, y_j),  S(x, y) = 1 if x > y, 1/2 if x = y, 0 otherwise,
 *
 * the Mann-Whitney U statistic of xs divided by n m (rliable's `probability_of_improvement` on one
 * task). P(Y > X) = 1 - P(X > Y).
 *
 * @example
 * probabilityOfImprovement([2, 3], [1, 2]); // (1 + 1 + 1/2 + 1) / 4 = 0.875
 */
export function probabilityOfImprovement(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length === 0 || ys.length === 0) return NaN;
  let wins = 0;
  for (const x of xs) for (const y of ys) wins += x > y ? 1 : x === y ? 0.5 : 0;
  return wins / (xs.length * ys.length);
}
