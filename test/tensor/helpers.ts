/**
 * Independent reference machinery for the tensor tests: index arithmetic on flat row-major arrays,
 * a small deterministic PRNG for test data, shape arbitraries and a tolerant comparison. Nothing here
 * imports the code under test except for turning tensors into plain arrays.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import * as T from '../../src/tensor';

export type Shape = number[];

export const sizeOfShape = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Multi-index of the flat row-major position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/** Flat row-major position of a multi-index in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return flat;
}

/** Flat position in an input of `inShape` read at output multi-index `outIdx` under NumPy broadcasting. */
export function broadcastIndex(outIdx: readonly number[], inShape: readonly number[]): number {
  const offset = outIdx.length - inShape.length;
  return ravel(
    inShape.map((d, i) => (d === 1 ? 0 : outIdx[offset + i])),
    inShape,
  );
}

/** NumPy's broadcasting rule, written independently of src/tensor/shape.ts; undefined if incompatible. */
export function refBroadcast(...shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    // i counts from the right.
    const sizes = shapes.map((s) => (i < s.length ? s[s.length - 1 - i] : 1));
    const notOne = sizes.filter((d) => d !== 1);
    if (notOne.some((d) => d !== notOne[0])) return undefined;
    out.unshift(notOne.length > 0 ? notOne[0] : 1);
  }
  return out;
}

/** mulberry32: a tiny deterministic PRNG for test data (not the code under test). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform values in [lo, hi) from `seed`. */
export function randomValues(seed: number, n: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** `n` integers in [lo, hi] from `seed`. */
export function randomInts(seed: number, n: number, lo: number, hi: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor((hi - lo + 1) * r()));
}

/** A float tensor of `shape` holding `values` (rounded to float32 when dtype is float32). */
export function makeTensor(values: readonly number[], shape: readonly number[], dtype: T.DType = 'float64'): T.Tensor {
  const data =
    dtype === 'float64'
      ? Float64Array.from(values)
      : dtype === 'float32'
        ? Float32Array.from(values)
        : dtype === 'int32'
          ? Int32Array.from(values)
          : dtype === 'uint32'
            ? Uint32Array.from(values)
            : Uint8Array.from(values);
  return T.tensor(data, { shape: [...shape] });
}

/** The values a float32 tensor actually holds for `values`. */
export const f32 = (values: readonly number[]): number[] => values.map(Math.fround);

/** Plain numbers of a tensor. */
export const valuesOf = (t: T.Tensor): number[] => Array.from(t.dataSync());

export interface Tolerance {
  rtol: number;
  atol?: number;
}

/** float64 results: ~1e-12 relative. float32 results: about one float32 ulp. */
export const TOL64: Tolerance = { rtol: 1e-12, atol: 1e-300 };
export const TOL32: Tolerance = { rtol: 2 ** -23, atol: 1e-38 };

/**
 * Elementwise |actual - expected| <= atol + rtol * |expected|; NaN matches NaN, infinities must be
 * equal. Reports the first mismatch with its index.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance | readonly number[] = TOL64,
  what = '',
): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    let ok: boolean;
    if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else {
      const limit = Array.isArray(tol) ? (tol as readonly number[])[i] : (tol as Tolerance).rtol * Math.abs(e) + ((tol as Tolerance).atol ?? 0);
      ok = Math.abs(a - e) <= limit;
    }
    if (!ok) {
      expect.fail(`${what} element ${i}: got ${a}, expected ${e} (difference ${a - e})`);
    }
  }
}

/** A shape of rank <= maxRank with sizes in [minDim, maxDim]. */
export const shapeArb = (maxRank = 4, maxDim = 4, minDim = 1): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: minDim, max: maxDim }), { maxLength: maxRank });

/**
 * Two shapes that broadcast together: a common full shape, each operand dropping some leading axes
 * and setting some axes to 1.
 */
export const broadcastPairArb = (maxRank = 4, maxDim = 4, minDim = 1): fc.Arbitrary<[number[], number[]]> =>
  fc
    .record({
      full: shapeArb(maxRank, maxDim, minDim),
      dropA: fc.nat(maxRank),
      dropB: fc.nat(maxRank),
      onesA: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
      onesB: fc.array(fc.boolean(), { minLength: maxRank, maxLength: maxRank }),
    })
    .map(({ full, dropA, dropB, onesA, onesB }) => {
      const derive = (drop: number, ones: boolean[]) =>
        full.slice(Math.min(drop, full.length)).map((d, i) => (ones[i] ? 1 : d));
      return [derive(dropA, onesA), derive(dropB, onesB)];
    });

/** Fast-check settings used across the suite: modest run counts, reproducible. */
export const RUNS = { numRuns: 60 };

/** Asserts that `f` throws an instance of `cls` (a MixrlError) whose message is exactly `message` (or matches it). */
export function expectError(f: () => unknown, cls: new (...args: never[]) => Error, message: string | RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(cls);
  const err = thrown as Error;
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
  expect(err).toBeInstanceOf(T.MixrlError);
  expect(err.name).toBe(cls.name);
}

/**
 * erf by its Maclaurin series Σ (-1)^n x^(2n+1) / (n! (2n+1)) · 2/√π, on plain numbers: the tests'
 * own erf (~1e-14 for |x| <= 2, ~1e-13 for |x| < 3, where the terms' cancellation grows).
 */
export function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-18 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
