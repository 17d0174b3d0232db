/**
 * Special functions in float64 for the CPU backend (JS has no erf). Accurate to a few ulp, so float64
 * finite differences of them can check gradients to 1e-8.
 */
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
 * x^y as C's pow (NumPy's and XLA's): JS's Math.pow gives NaN for 1^NaN, 1^±Infinity and
 * (-1)^±Infinity, where C gives 1.
 *
 * @example
 * pow(1, NaN); // 1
 */
export function pow(x: number, y: number): number {
  return x === 1 || (x === -1 && Math.abs(y) === Infinity) ? 1 : Math.pow(x, y);
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
