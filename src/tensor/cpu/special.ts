/**
 * Special functions in float64 for the CPU backend (JS has no erf). Accurate to a few ulp, so float64
 * finite differences of them can check gradients to 1e-8.
 */
import { FLOAT32_MATH } from './float32-math';

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

/**
 * The error function. |x| < 2.5: the series erf x = (2/√π) e^{-x²} Σ 2ⁿ x^{2n+1} / (1·3···(2n+1)),
 * whose terms are all positive (no cancellation); beyond: 1 - erfc x with erfc from its continued
 * fraction.
 *
 * @example
 * erf(1); // 0.8427007929497149
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = 2 * ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const value = TWO_OVER_SQRT_PI * Math.exp(-ax * ax) * sum;
    return x < 0 ? -value : value;
  }
  const value = 1 - erfcLarge(ax);
  return x < 0 ? -value : value;
}

/**
 * erfc x for x >= 2.5 by the continued fraction
 * erfc x = (e^{-x²}/√π) · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by Lentz's method.
 */
function erfcLarge(x: number): number {
  if (x > 27) return 0;
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/**
 * Inverse error function on (-1, 1): Giles' (2010) single-precision approximation (float32's erfinv,
 * `float32-math.ts`), refined by Halley steps on erf to float64 accuracy. ±1 map to ±Infinity;
 * outside [-1, 1] gives NaN. From |x| = 2.5 on the steps' residual erf(x) - y is computed as
 * (1 - |y|) - erfc|x| (1 - |y| is exact there): erf(x) - y itself cancels to its last bits, which
 * left x up to 4e-4 off near ±1 (SciPy's erfinv gets those y right, and now so does this).
 *
 * @example
 * erfinv(0.5); // 0.4769362762044699
 */
export function erfinv(y: number): number {
  if (Number.isNaN(y) || y < -1 || y > 1) return NaN;
  if (y === 1) return Infinity;
  if (y === -1) return -Infinity;
  let x = FLOAT32_MATH.erfinv(y);
  // More steps in the tail, where the polynomial starts further off (0.3 at y = 1 - 2e-15).
  const steps = Math.abs(x) < 2.5 ? 3 : 8;
  for (let i = 0; i < steps; i++) {
    const err = Math.abs(x) < 2.5 ? erf(x) - y : Math.sign(x) * (1 - Math.abs(y) - erfcLarge(Math.abs(x)));
    const slope = TWO_OVER_SQRT_PI * Math.exp(-x * x);
    if (slope === 0) break;
    const step = err / slope;
    x -= step / (1 + x * step);
  }
  return x;
}

/**
 * x^y as C's pow (NumPy's and XLA's): JS's Math.pow gives NaN for 1^NaN, 1^±Infinity and
 * (-1)^±Infinity, where C gives 1.
 *
 * @example
 * pow(1, NaN); // 1
 */
export function pow(x: number, y: number): number {
  return x === 1 || (x === -1 && Math.abs(y) === Infinity) ? 1 : Math.pow(x, y);
}

/** 1 / (1 + e^{-x}) without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + e^x) without overflow: max(x, 0) + log1p(e^{-|x|}). */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * Rounds half to even, as NumPy's `round` and WGSL's `round` do (IEEE roundToIntegralTiesToEven),
 * keeping the sign of zero: round(-0.3) and round(-0.5) are -0.
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && x < 0 ? -0 : r;
}
