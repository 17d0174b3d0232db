/**
 * Float64 closed forms for the composite-op tests (composites.test.ts on the CPU,
 * composites-webgpu.test.ts on WebGPU): plain JS on numbers, written independently of the code
 * under test.
 */
import { erfSeries } from './helpers';

/** erf by the tests' series (`erfSeries`) for |z| <= 2.1 or, beyond, its continued fraction for erfc. */
export function erfRef(z: number): number {
  if (Math.abs(z) <= 2.1) return erfSeries(z);
  // erfc(x) = e^-x² / √π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated from the tail (x > 2).
  const x = Math.abs(z);
  let f = x;
  for (let k = 80; k >= 1; k--) f = x + k / 2 / f;
  const erfc = Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
  return Math.sign(z) * (1 - erfc);
}

export const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));
export const siluRef = (x: number) => x * sigmoidRef(x);
export const dSiluRef = (x: number) => sigmoidRef(x) * (1 + x * (1 - sigmoidRef(x)));
/** x Φ(x). */
export const geluRef = (x: number) => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
/** Φ(x) + x φ(x). */
export const dGeluRef = (x: number) => 0.5 * (1 + erfRef(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI);
const C = Math.sqrt(2 / Math.PI);
export const geluTanhRef = (x: number) => 0.5 * x * (1 + Math.tanh(C * (x + 0.044715 * x ** 3)));
export const dGeluTanhRef = (x: number) => {
  const t = Math.tanh(C * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x);
};
export const leakyReluRef = (x: number, s = 0.01) => (x >= 0 ? x : s * x);
export const eluRef = (x: number, alpha = 1) => (x > 0 ? x : alpha * Math.expm1(x));
/** log(e^a + e^b) as the log of the larger term plus log(1 + e^(small - large)). */
export const logaddexpRef = (a: number, b: number) => {
  const [hi, lo] = a >= b ? [a, b] : [b, a];
  return hi + Math.log1p(Math.exp(lo - hi));
};
/** The Huber loss by its piecewise definition. */
export const huberRef = (e: number, delta: number) => (Math.abs(e) <= delta ? 0.5 * e * e : delta * (Math.abs(e) - 0.5 * delta));

/** Mean and standard deviation (two passes) of a group. */
export function stdRef(g: readonly number[], ddof = 0): number {
  const m = g.reduce((s, v) => s + v, 0) / g.length;
  return Math.sqrt(g.reduce((s, v) => s + (v - m) ** 2, 0) / (g.length - ddof));
}

/** The vector p-norm of a group. */
export function normRef(g: readonly number[], ord: number): number {
  const a = g.map(Math.abs);
  if (ord === Infinity) return Math.max(...a);
  if (ord === -Infinity) return Math.min(...a);
  return a.reduce((s, v) => s + v ** ord, 0) ** (1 / ord);
}
