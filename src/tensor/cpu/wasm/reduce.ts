/**
 * Reductions over one contiguous run of axes as WebAssembly kernels, viewing the input as
 * `[outer, reduced, inner]`. Each sum accumulates in float64 over the reduced index in order,
 * exactly as the JS reduction does (so the results are bit-identical), two outputs per f64x2;
 * maxima, minima and their indices follow the JS kernels' rules for NaN and ties.
 */
import { Code, f64, type FunctionDef, i32, v128 } from './emit';

/** A reduction over `[outer, reduced, inner]` (addresses in bytes, sizes in elements). */
type Reduction = (x: number, outer: number, reduced: number, inner: number, out: number) => void;
/** A sum over `[outer, reduced, inner]` whose rows r are `stride` elements apart (`inner` for the whole array, more for some of its columns). */
type Sum = (x: number, outer: number, reduced: number, inner: number, out: number, stride: number) => void;

/** The exported reductions. */
export interface ReduceExports {
  /** `out[o, i] = Σ_r x[o, r, i]` over float32 values, accumulated in float64. */
  sumF32: Sum;
  sumF64: Sum;
  /** The largest (smallest) `x[o, r, i]` over r; NaN wins; the first of equal values is kept (-0 before +0). */
  maxF32: Reduction;
  maxF64: Reduction;
  minF32: Reduction;
  minF64: Reduction;
  /** The index r (int32) of the largest (smallest) `x[o, r, i]`: the first NaN, else the first of the best (-0 and +0 tie). */
  argmaxF32: Reduction;
  argmaxF64: Reduction;
  argminF32: Reduction;
  argminF64: Reduction;
}

/** Loads the element at the address on the stack as an f64. */
function loadAsF64(c: Code, dtype: 'float32' | 'float64'): void {
  if (dtype === 'float32') c.mem('f32.load').op('f64.promote_f32');
  else c.mem('f64.load');
}

/** Stores the f64 on the stack at the address below it, rounded to `dtype`. */
function storeFromF64(c: Code, dtype: 'float32' | 'float64'): void {
  if (dtype === 'float32') c.op('f32.demote_f64').mem('f32.store');
  else c.mem('f64.store');
}

/**
 * Independent f64x2 accumulators down the rows (8 columns at a time): one chain waits out each add's
 * latency: 256x256 column sums took 26.5 us on one thread with one chain, 9.4 with four (8: the same).
 */
const SUM_CHAINS = 4;

function sum(dtype: 'float32' | 'float64'): FunctionDef {
  const c = new Code(6);
  const [X, OUTER, R, INNER, OUT, STRIDE] = [0, 1, 2, 3, 4, 5];
  const bytes = dtype === 'float32' ? 4 : 8;
  const shift = dtype === 'float32' ? 2 : 3;
  const [o, i, r, p, q, rowBytes, blockBytes] = Array.from({ length: 7 }, () => c.local(i32));
  const accs = Array.from({ length: SUM_CHAINS }, () => c.local(v128));
  const scalar = c.local(f64);
  c.get(STRIDE).i32(shift).op('i32.shl').set(rowBytes);
  c.get(R).get(rowBytes).op('i32.mul').set(blockBytes);
  /** p = the first input of output column (o, i): X + (o * reduced * stride + i) * bytes. */
  const columnStart = () => c.get(X).get(o).get(blockBytes).op('i32.mul').op('i32.add').get(i).i32(shift).op('i32.shl').op('i32.add').set(p);
  // q walks the outputs; p the first input of the current output column.
  c.get(OUT).set(q);
  c.i32(0).set(o);
  c.while(
    () => c.get(o).get(OUTER).op('i32.lt_s'),
    () => {
      c.i32(0).set(i);
      /** Columns i .. i + 2·chains - 1 (two per f64x2), each in its own chain of adds down the rows. */
      const columns = (chains: number) =>
        c.while(
          () => c.get(i).i32(2 * chains).op('i32.add').get(INNER).op('i32.le_s'),
          () => {
            columnStart();
            for (let k = 0; k < chains; k++) c.v128Bits32([0, 0, 0, 0]).set(accs[k]);
            c.get(R).set(r);
            c.while(
              () => c.get(r),
              () => {
                for (let k = 0; k < chains; k++) {
                  c.get(accs[k]).get(p);
                  if (dtype === 'float32') c.simd('v128.load64_zero', 8 * k).simd('f64x2.promote_low_f32x4');
                  else c.simd('v128.load', 16 * k);
                  c.simd('f64x2.add').set(accs[k]);
                }
                c.addTo(p, { local: rowBytes }).addTo(r, -1);
              },
            );
            for (let k = 0; k < chains; k++) {
              c.get(q).get(accs[k]);
              if (dtype === 'float32') c.simd('f32x4.demote_f64x2_zero').simd('v128.store64_lane', 8 * k);
              else c.simd('v128.store', 16 * k);
            }
            c.addTo(q, 2 * chains * bytes).addTo(i, 2 * chains);
          },
        );
      columns(SUM_CHAINS);
      columns(1);
      c.while(
        () => c.get(i).get(INNER).op('i32.lt_s'),
        () => {
          columnStart();
          c.f64(0).set(scalar);
          c.get(R).set(r);
          c.while(
            () => c.get(r),
            () => {
              c.get(scalar).get(p);
              loadAsF64(c, dtype);
              c.op('f64.add').set(scalar);
              c.addTo(p, { local: rowBytes }).addTo(r, -1);
            },
          );
          c.get(q).get(scalar);
          storeFromF64(c, dtype);
          c.addTo(q, bytes).addTo(i, 1);
        },
      );
      c.addTo(o, 1);
    },
  );
  return { name: dtype === 'float32' ? 'sumF32' : 'sumF64', params: Array(6).fill(i32), code: c };
}

/**
 * The loops of a reduction over `[outer, reduced, inner]` (parameters X, OUTER, R, INNER, OUT), one
 * output at a time: `column(p, q, rowBytes)` emits one output's work, local p holding the address
 * of its first input x[o, 0, i], local q its output's address (`outBytes` after the previous
 * one's) and local rowBytes the step to the next row.
 */
function eachOutput(c: Code, dtype: 'float32' | 'float64', outBytes: number, column: (p: number, q: number, rowBytes: number) => void): void {
  const [X, OUTER, R, INNER, OUT] = [0, 1, 2, 3, 4];
  const shift = dtype === 'float32' ? 2 : 3;
  const [o, i, p, q, rowBytes] = Array.from({ length: 5 }, () => c.local(i32));
  c.get(INNER).i32(shift).op('i32.shl').set(rowBytes);
  c.get(OUT).set(q);
  c.i32(0).set(o);
  c.while(
    () => c.get(o).get(OUTER).op('i32.lt_s'),
    () => {
      c.i32(0).set(i);
      c.while(
        () => c.get(i).get(INNER).op('i32.lt_s'),
        () => {
          // p = X + ((o * R) * inner + i) * bytes
          c.get(X).get(o).get(R).op('i32.mul').get(INNER).op('i32.mul').get(i).op('i32.add').i32(shift).op('i32.shl').op('i32.add').set(p);
          column(p, q, rowBytes);
          c.addTo(q, outBytes).addTo(i, 1);
        },
      );
      c.addTo(o, 1);
    },
  );
}

/**
 * Max or min over r, one output at a time, with the JS reduction's rule: start at ∓∞ and take `v`
 * when it beats the value so far or is NaN (so NaN propagates and the first of ±0 stays).
 */
function extreme(op: 'max' | 'min', dtype: 'float32' | 'float64'): FunctionDef {
  const c = new Code(5);
  const R = 2;
  const r = c.local(i32);
  const [acc, v] = [c.local(f64), c.local(f64)];
  eachOutput(c, dtype, dtype === 'float32' ? 4 : 8, (p, q, rowBytes) => {
    c.f64(op === 'max' ? -Infinity : Infinity).set(acc);
    c.get(R).set(r);
    c.while(
      () => c.get(r),
      () => {
        c.get(p);
        loadAsF64(c, dtype);
        c.set(v);
        // acc = (v beats acc || v is NaN) ? v : acc
        c.get(v).get(acc).get(v).get(acc).op(op === 'max' ? 'f64.gt' : 'f64.lt').get(v).get(v).op('f64.ne').op('i32.or').op('select').set(acc);
        c.addTo(p, { local: rowBytes }).addTo(r, -1);
      },
    );
    c.get(q).get(acc);
    storeFromF64(c, dtype);
  });
  const suffix = dtype === 'float32' ? 'F32' : 'F64';
  return { name: `${op}${suffix}`, params: Array(5).fill(i32), code: c };
}

/**
 * Argmax or argmin over r, one output at a time, with the JS kernel's rule: start at r = 0 and move
 * to a later r whose value beats the best so far, stopping at the first NaN (which wins).
 */
function argExtreme(op: 'argmax' | 'argmin', dtype: 'float32' | 'float64'): FunctionDef {
  const c = new Code(5);
  const R = 2;
  const [r, index] = [c.local(i32), c.local(i32)];
  const [best, v] = [c.local(f64), c.local(f64)];
  eachOutput(c, dtype, 4, (p, q, rowBytes) => {
    c.get(p);
    loadAsF64(c, dtype);
    c.set(best).i32(0).set(index).i32(1).set(r);
    // While r < R and the best is not NaN.
    c.while(
      () => c.get(r).get(R).op('i32.lt_s').get(best).get(best).op('f64.eq').op('i32.and'),
      () => {
        c.addTo(p, { local: rowBytes }).get(p);
        loadAsF64(c, dtype);
        c.set(v);
        c.when(
          () => c.get(v).get(best).op(op === 'argmax' ? 'f64.gt' : 'f64.lt').get(v).get(v).op('f64.ne').op('i32.or'),
          () => c.get(v).set(best).get(r).set(index),
        );
        c.addTo(r, 1);
      },
    );
    c.get(q).get(index).mem('i32.store');
  });
  return { name: `${op}${dtype === 'float32' ? 'F32' : 'F64'}`, params: Array(5).fill(i32), code: c };
}

/** The kernels of this module, for `wasmModule`. */
export const REDUCE_FUNCTIONS: readonly (() => FunctionDef)[] = [
  () => sum('float32'),
  () => sum('float64'),
  () => extreme('max', 'float32'),
  () => extreme('max', 'float64'),
  () => extreme('min', 'float32'),
  () => extreme('min', 'float64'),
  () => argExtreme('argmax', 'float32'),
  () => argExtreme('argmax', 'float64'),
  () => argExtreme('argmin', 'float32'),
  () => argExtreme('argmin', 'float64'),
];

/**
 * The `[outer, reduced, inner]` view of reducing `axes` of `shape`, or null when the reduced axes
 * (ignoring size-1 axes) are not one contiguous run.
 *
 * @example
 * reductionLayout([32, 64], [0]); // { outer: 1, reduced: 32, inner: 64 }
 */
export function reductionLayout(shape: readonly number[], axes: readonly number[]): { outer: number; reduced: number; inner: number } | null {
  const real = shape.map((d, k) => ({ d, k })).filter(({ d }) => d !== 1);
  const reducedAt = real.map(({ k }) => axes.includes(k));
  const first = reducedAt.indexOf(true);
  const last = reducedAt.lastIndexOf(true);
  if (first >= 0 && reducedAt.slice(first, last + 1).some((x) => !x)) return null;
  const product = (from: number, to: number) => real.slice(from, to).reduce((n, { d }) => n * d, 1);
  if (first < 0) return { outer: product(0, real.length), reduced: 1, inner: 1 };
  return { outer: product(0, first), reduced: product(first, last + 1), inner: product(last + 1, real.length) };
}
