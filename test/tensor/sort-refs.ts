/**
 * Independent references for the sort tests (CPU and WebGPU): a stable argsort along any axis by
 * decorate-sort-undecorate with `Array.prototype.sort` (stable since ES2019) and an explicit
 * comparator (NaN after every number ascending, before every number descending; -0 equal to +0),
 * and value pools full of ties and special values. Nothing here calls the code under test.
 */
import { rng, sizeOfShape, unravel, ravel } from './helpers';

/** Compares two numbers in the order the sort promises (0: equal, so the stable sort keeps their order). */
export function compareValues(a: number, b: number, descending: boolean): number {
  const [na, nb] = [Number.isNaN(a), Number.isNaN(b)];
  if (na || nb) return na && nb ? 0 : (na ? 1 : -1) * (descending ? -1 : 1);
  if (a === b) return 0;
  return (a < b ? -1 : 1) * (descending ? -1 : 1);
}

/** The stable permutation sorting `values` (one row). */
export function refArgsortRow(values: readonly number[], descending: boolean): number[] {
  return values
    .map((v, i) => ({ v, i }))
    .sort((p, q) => compareValues(p.v, q.v, descending))
    .map((p) => p.i);
}

/** The reference argsort of a flat row-major array of `shape` along `axis`: flat int positions along the axis. */
export function refArgsort(values: ArrayLike<number>, shape: readonly number[], axis: number, descending: boolean): number[] {
  const out = new Array<number>(values.length).fill(0);
  const n = shape[axis];
  for (let flat = 0; flat < values.length; flat++) {
    const idx = unravel(flat, shape);
    if (idx[axis] !== 0) continue;
    const line = Array.from({ length: n }, (_, j) => ravel(idx.map((c, d) => (d === axis ? j : c)), shape));
    const perm = refArgsortRow(line.map((p) => Number(values[p])), descending);
    perm.forEach((src, j) => (out[line[j]] = src));
  }
  return out;
}

/** The values at the reference permutation (x[..., perm[j], ...] along the axis). */
export function takeAlong(values: ArrayLike<number>, shape: readonly number[], axis: number, perm: readonly number[]): number[] {
  return perm.map((src, flat) => {
    const idx = unravel(flat, shape);
    idx[axis] = src;
    return Number(values[ravel(idx, shape)]);
  });
}

/** The first `k` entries along `axis` of a flat array of `shape` (shape with `k` there). */
export function firstAlong(values: readonly number[], shape: readonly number[], axis: number, k: number): number[] {
  const outShape = shape.map((d, i) => (i === axis ? k : d));
  return Array.from({ length: sizeOfShape(outShape) }, (_, flat) => values[ravel(unravel(flat, outShape), shape)]);
}

export type SortDType = 'float32' | 'float64' | 'int32' | 'uint32';

/** `n` values of `dtype` drawn from a small pool (many ties), with NaN, ±0 and ±Infinity for floats. */
export function tiedValues(seed: number, n: number, dtype: SortDType): number[] {
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const floatPool = [NaN, -0, 0, Infinity, -Infinity, 1, -1, 2.5, -2.5, 1e-30, -1e30, 3];
  const intPool = [0, 1, -1, 2, -2147483648, 2147483647, 7, -7];
  const uintPool = [0, 1, 2, 4294967295, 2147483648, 2147483647, 9];
  return Array.from({ length: n }, () => {
    if (dtype === 'int32') return next() < 0.5 ? pick(intPool) : Math.floor(next() * 20) - 10;
    if (dtype === 'uint32') return next() < 0.5 ? pick(uintPool) : Math.floor(next() * 20);
    return next() < 0.5 ? pick(floatPool) : Math.round((next() * 20 - 10) * 4) / 4;
  });
}

/** The typed array of `dtype` holding `values`. */
export function typed(values: readonly number[], dtype: SortDType): Float32Array | Float64Array | Int32Array | Uint32Array {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'uint32':
      return Uint32Array.from(values);
  }
}

/** Same numbers, -0 told from +0 and NaN equal to NaN (what a sort must move unchanged). */
export function sameBits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
