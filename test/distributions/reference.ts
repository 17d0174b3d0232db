/**
 * Independent reference computations for the distribution and estimator tests: plain float64
 * densities written from the formulas (not from src/distributions), quadrature, the
 * Kolmogorov-Smirnov statistic, small statistics helpers and `expectError`.
 */
import * as M from '../../src';
import type { Tensor } from '../../src';

export const f64 = { dtype: 'float64' } as const;
export const LOG_2PI = Math.log(2 * Math.PI);

export { expectError } from '../tensor/helpers';

export const arr = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
export const num = (t: Tensor): number => t.itemSync();

/** log N(x; mu, sigma), scalar float64. */
export const normalLogPdf = (x: number, mu: number, sigma: number): number =>
  -0.5 * ((x - mu) / sigma) ** 2 - Math.log(sigma) - 0.5 * LOG_2PI;

export const cauchyCdf = (x: number, loc: number, scale: number): number => 0.5 + Math.atan((x - loc) / scale) / Math.PI;

/** log(1 - tanh(x)^2) computed stably from |x| (independent of the library's softplus form). */
export const logSech2 = (x: number): number => {
  const ax = Math.abs(x);
  return 2 * (Math.LN2 - ax - Math.log1p(Math.exp(-2 * ax)));
};

export function logSumExp(values: readonly number[]): number {
  const m = Math.max(...values);
  if (!Number.isFinite(m)) return m;
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
}

export function softmax(logits: readonly number[]): number[] {
  const l = logSumExp(logits);
  return logits.map((v) => Math.exp(v - l));
}

/** Trapezoid rule on a uniform grid of step h. */
export function trapezoid(values: ArrayLike<number>, h: number): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return h * (s - 0.5 * (values[0] + values[values.length - 1]));
}

/** n+1 points from a to b. */
export function grid(a: number, b: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
}

/**
 * The CDF on a uniform grid by the cumulative trapezoid rule of `density` values (normalized by
 * `total` when given, so the last value is total mass).
 */
export function cumulativeTrapezoid(values: ArrayLike<number>, h: number, offset = 0): number[] {
  const out = [offset];
  for (let i = 1; i < values.length; i++) out.push(out[i - 1] + 0.5 * h * (values[i - 1] + values[i]));
  return out;
}

/** Linear interpolation of a tabulated function (xs increasing); clamps outside. */
export function interp(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let lo = 0;
  let hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const t = (x - xs[lo]) / (xs[hi] - xs[lo]);
  return ys[lo] + t * (ys[hi] - ys[lo]);
}

/** The one-sample Kolmogorov-Smirnov statistic sup |F_n - F| against the CDF `cdf`. */
export function ksStatistic(samples: readonly number[], cdf: (x: number) => number): number {
  const xs = [...samples].sort((a, b) => a - b);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(f - i / n));
  });
  return d;
}

/**
 * The KS critical value for a false-failure probability `p` from the Dvoretzky-Kiefer-Wolfowitz
 * inequality with Massart's constant, P(D_n > t) <= 2 exp(-2 n t^2), valid for every n; `slack`
 * covers the error of a CDF computed by quadrature.
 */
export const ksCritical = (n: number, p: number, slack = 0): number => Math.sqrt(Math.log(2 / p) / (2 * n)) + slack;

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

export function sampleVariance(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return s / (xs.length - 1);
}

/** The two-sided standard normal quantile z with P(|Z| > z) = p, by bisection on `twoSidedTail`. */
export function zFor(p: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (twoSidedTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** P(|Z| > z) for a standard normal Z, by numerically integrating the density (z >= 0). */
export function twoSidedTail(z: number): number {
  // 2 * int_z^inf phi, Simpson on [z, z + 40] with 4000 panels: exact to ~1e-15 relative here.
  const n = 4000;
  const h = 40 / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const x = z + i * h;
    const w = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
    s += w * Math.exp(-0.5 * x * x);
  }
  return (2 * (s * h)) / 3 / Math.sqrt(2 * Math.PI);
}

export { M };
