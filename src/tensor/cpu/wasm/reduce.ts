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

/** A sum of each of `outer` contiguous runs of `reduced` elements: `(x, outer, reduced, out)`. */
type LaneSum = (x: number, outer: number, reduced: number, out: number) => void;

/**
 * Sums whose reduced run is at least this long and contiguous (inner 1: a whole array, or rows)
 * add in eight interleaved partial sums (`laneSum`) instead of one chain, in JS as in WebAssembly.
 * One chain waits out each float64 add's latency: a sum of 327,680 float32 values took 350-380 us
 * in a plan, about 3 cycles per element. Shorter runs keep the one chain and its bits (a SAC
 * update's longest, an MRP actor loss's mean over 256 x 5 values, is far below this).
 */
export const LANE_SUM_MIN = 4096;

/** Whether a float sum over `layout` adds in eight lanes (`laneSum`). */
export const sumsInLanes = (layout: { readonly reduced: number; readonly inner: number } | null): boolean =>
  layout !== null && layout.inner === 1 && layout.reduced >= LANE_SUM_MIN;

/**
 * The order of a sum in lanes, as the JS reduction computes it: element r goes to partial sum
 * s[r % 8] (float64, in order of r) while a whole group of eight is left, the partial sums are
 * combined as ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7)) (the WebAssembly kernel's four
 * f64x2 accumulators added pairwise, then its two lanes), and the last `reduced % 8` elements are
 * added to that one by one. The kernel below computes the same additions, so the bits agree.
 *
 * @example
 * laneSum(Float32Array.from({ length: 5000 }, (_, i) => i), 0, 5000); // 12497500
 */
export function laneSum(x: ArrayLike<number>, start: number, reduced: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  const groups = start + (reduced - (reduced % 8));
  let r = start;
  for (; r < groups; r += 8) {
    s0 += x[r];
    s1 += x[r + 1];
    s2 += x[r + 2];
    s3 += x[r + 3];
    s4 += x[r + 4];
    s5 += x[r + 5];
    s6 += x[r + 6];
    s7 += x[r + 7];
  }
  let total = s0 + s2 + (s4 + s6) + (s1 + s3 + (s5 + s7));
  for (const end = start + reduced; r < end; r++) total += x[r];
  return total;
}

/** `sumLanesF32` / `sumLanesF64`: `laneSum` of each row, four f64x2 accumulators holding s0..s7 in pairs. */
function sumLanes(dtype: 'float32' | 'float64'): FunctionDef {
  const c = new Code(4);
  const [X, OUTER, R, OUT] = [0, 1, 2, 3];
  const bytes = dtype === 'float32' ? 4 : 8;
  const shift = dtype === 'float32' ? 2 : 3;
  const [o, p, groupsEnd, end, q] = Array.from({ length: 5 }, () => c.local(i32));
  const accs = Array.from({ length: 4 }, () => c.local(v128));
  const loaded = c.local(v128);
  const pairs = c.local(v128);
  const total = c.local(f64);
  c.get(X).set(p);
  c.get(OUT).set(q);
  c.i32(0).set(o);
  c.while(
    () => c.get(o).get(OUTER).op('i32.lt_s'),
    () => {
      for (const acc of accs) c.v128Bits32([0, 0, 0, 0]).set(acc);
      c.get(R).i32(-8).op('i32.and').i32(shift).op('i32.shl').get(p).op('i32.add').set(groupsEnd);
      c.get(R).i32(shift).op('i32.shl').get(p).op('i32.add').set(end);
      c.while(
        () => c.get(p).get(groupsEnd).op('i32.lt_u'),
        () => {
          if (dtype === 'float32') {
            // Eight floats as two vectors of four: each vector's low and high pairs promoted.
            for (let half = 0; half < 2; half++) {
              c.get(p).simd('v128.load', 16 * half).set(loaded);
              c.get(accs[2 * half]).get(loaded).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(accs[2 * half]);
              c.get(accs[2 * half + 1]).get(loaded).get(loaded).shuffle32([2, 3, 2, 3]).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(accs[2 * half + 1]);
            }
          } else {
            for (let k = 0; k < 4; k++) c.get(accs[k]).get(p).simd('v128.load', 16 * k).simd('f64x2.add').set(accs[k]);
          }
          c.addTo(p, 8 * bytes);
        },
      );
      // ((s0 + s2) + (s4 + s6)) in lane 0, ((s1 + s3) + (s5 + s7)) in lane 1, then lane 0 + lane 1.
      c.get(accs[0]).get(accs[1]).simd('f64x2.add').get(accs[2]).get(accs[3]).simd('f64x2.add').simd('f64x2.add').set(pairs);
      c.get(pairs).extractF64Lane(0).get(pairs).extractF64Lane(1).op('f64.add').set(total);
      c.while(
        () => c.get(p).get(end).op('i32.lt_u'),
        () => {
          c.get(total).get(p);
          loadAsF64(c, dtype);
          c.op('f64.add').set(total);
          c.addTo(p, bytes);
        },
      );
      c.get(q).get(total);
      storeFromF64(c, dtype);
      c.addTo(q, bytes).addTo(o, 1);
    },
  );
  return { name: dtype === 'float32' ? 'sumLanesF32' : 'sumLanesF64', params: Array(4).fill(i32), code: c };
}

/** The exported reductions. */
export interface ReduceExports {
  /** `out[o, i] = Σ_r x[o, r, i]` over float32 values, accumulated in float64. */
  sumF32: Sum;
  sumF64: Sum;
  /** `out[o] = Σ_r x[o, r]` over a long run (`sumsInLanes`), in float64, in the order `laneSum` documents. */
  sumLanesF32: LaneSum;
  sumLanesF64: LaneSum;
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
 * Max or min over r, one output at a time, as the JS reduction: start at ∓∞ and fold in each `v`
 * by f64.max/min (NaN propagates; +0 beats -0 in max, -0 in min).
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
        c.get(acc).get(v).op(op === 'max' ? 'f64.max' : 'f64.min').set(acc);
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
  () => sumLanes('float32'),
  () => sumLanes('float64'),
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
