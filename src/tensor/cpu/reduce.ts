/** Reductions on the CPU: one pass over the input, accumulating into the output in float64. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { ShapeError } from '../errors';
import type { ArgReduceOp, ReduceOp } from '../primitives';
import { formatShape, type Shape, sizeOf, stridesOf } from '../shape';
import { laneSum, reductionLayout, sumsInLanes } from './wasm/reduce';

const INITIAL: Record<ReduceOp, number> = {
  reduceSum: 0,
  reduceProd: 1,
  reduceMax: -Infinity,
  reduceMin: Infinity,
};

/**
 * Accumulation statement `acc[o] <- combine(acc[o], v)`. Max and min are IEEE 754-2019's maximum and
 * minimum (WebAssembly's f64.max/min, WGSL's, XLA's): NaN propagates, and +0 beats -0 in max (-0 in
 * min) whatever their order.
 */
const COMBINE: Record<ReduceOp, string> = {
  reduceSum: 'acc[o] += v;',
  reduceProd: 'acc[o] *= v;',
  reduceMax: 'if (v > acc[o] || v !== v || (v === 0 && acc[o] === 0 && 1 / acc[o] < 0)) acc[o] = v;',
  reduceMin: 'if (v < acc[o] || v !== v || (v === 0 && acc[o] === 0 && 1 / v < 0)) acc[o] = v;',
};

type Accumulate = (x: TypedArray, shape: Shape, outStrides: number[], acc: Float64Array) => void;

/** One pass over x in row-major order, tracking the output offset `base` through an odometer. */
function compileAccumulate(combine: string): Accumulate {
  return new Function(
    'x',
    'shape',
    'outStrides',
    'acc',
    `const n = x.length;
    if (n === 0) return;
    const r = shape.length;
    if (r === 0) { const o = 0, v = x[0]; ${combine} return; }
    const last = shape[r - 1];
    const lastStride = outStrides[r - 1];
    const idx = new Int32Array(r);
    let base = 0;
    let i = 0;
    for (let outer = n / last; outer > 0; outer--) {
      for (let j = 0; j < last; j++) { const o = base + j * lastStride; const v = x[i++]; ${combine} }
      for (let d = r - 2; d >= 0; d--) {
        idx[d]++;
        base += outStrides[d];
        if (idx[d] < shape[d]) break;
        idx[d] = 0;
        base -= outStrides[d] * shape[d];
      }
    }`,
  ) as Accumulate;
}

const ACCUMULATE: Record<ReduceOp, Accumulate> = {
  reduceSum: compileAccumulate(COMBINE.reduceSum),
  reduceProd: compileAccumulate(COMBINE.reduceProd),
  reduceMax: compileAccumulate(COMBINE.reduceMax),
  reduceMin: compileAccumulate(COMBINE.reduceMin),
};

/**
 * Integer sums and products wrap modulo 2^32 at every step, as repeated int32/uint32 `add`/`mul` do
 * (a float64 accumulator would round products past 2^53 before the final wrap). Values are kept as
 * int32 bit patterns; storing into a Uint32Array reinterprets them.
 */
const ACCUMULATE_INTEGER: Partial<Record<ReduceOp, Accumulate>> = {
  reduceSum: compileAccumulate('acc[o] = (acc[o] + v) | 0;'),
  reduceProd: compileAccumulate('acc[o] = Math.imul(acc[o], v);'),
};

export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(shape.filter((_, i) => !axes.includes(i))));
  prepareReduce(op, shape, axes, dtype)(x, out);
  return out;
}

/**
 * The reduction for a fixed input shape, writing into a given output (`jit` plans call it with
 * reused buffers); the float64 accumulator is allocated once here.
 *
 * @example
 * const run = prepareReduce('reduceSum', [2, 3], [1], 'float32');
 * run(x, out);
 */
export function prepareReduce(op: ReduceOp, shape: Shape, axes: readonly number[], dtype: DType): (x: TypedArray, out: TypedArray) => void {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const outSize = sizeOf(outShape);
  if (dtype === 'bool' && (op === 'reduceMax' || op === 'reduceMin') && sizeOf(shape) === 0 && outSize > 0) {
    throw new ShapeError(`${op}: cannot reduce an empty bool tensor of shape ${formatShape(shape)}`);
  }
  const layout = op === 'reduceSum' && (dtype === 'float32' || dtype === 'float64') ? reductionLayout(shape, axes) : null;
  if (layout && sumsInLanes(layout)) {
    // Long contiguous runs: eight partial sums, the order the WebAssembly kernel adds in.
    const { outer, reduced } = layout;
    return (x, out) => {
      for (let o = 0; o < outer; o++) out[o] = laneSum(x, o * reduced, reduced);
    };
  }
  const acc = new Float64Array(outSize);
  const outStridesFull = stridesOf(outShape);
  // Stride of each input axis in the output (0 for reduced axes).
  const strideInOut: number[] = [];
  let k = 0;
  for (let i = 0; i < shape.length; i++) strideInOut.push(axes.includes(i) ? 0 : outStridesFull[k++]);
  const integer = dtype === 'int32' || dtype === 'uint32';
  const accumulate = integer ? (ACCUMULATE_INTEGER[op] ?? ACCUMULATE[op]) : ACCUMULATE[op];
  const initial = INITIAL[op];
  return (x, out) => {
    acc.fill(initial);
    accumulate(x, shape, strideInOut, acc);
    for (let i = 0; i < outSize; i++) out[i] = acc[i];
  };
}

/** Index of the first maximum (or minimum) along `axis`; NaN counts as the extreme, as in NumPy. */
export function argReduce(op: ArgReduceOp, x: TypedArray, shape: Shape, axis: number): Int32Array {
  const out = new Int32Array(sizeOf(shape.slice(0, axis)) * sizeOf(shape.slice(axis + 1)));
  prepareArgReduce(op, shape, axis)(x, out);
  return out;
}

/**
 * `argReduce` for a fixed input shape, writing the indices into a given output (for `jit` plans).
 *
 * @example
 * prepareArgReduce('argmax', [2, 3], 1)(x, out); // out: Int32Array(2)
 */
export function prepareArgReduce(op: ArgReduceOp, shape: Shape, axis: number): (x: TypedArray, out: TypedArray) => void {
  const n = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  const better = op === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  return (x, out) => {
    for (let p = 0; p < outer; p++) {
      for (let q = 0; q < inner; q++) {
        const base = p * n * inner + q;
        let best = x[base];
        let bestIndex = 0;
        if (best === best) {
          for (let j = 1; j < n; j++) {
            const v = x[base + j * inner];
            if (v !== v) {
              bestIndex = j;
              break;
            }
            if (better(v, best)) {
              best = v;
              bestIndex = j;
            }
          }
        }
        out[p * inner + q] = bestIndex;
      }
    }
  };
}
