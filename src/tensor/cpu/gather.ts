/** Indexed reads and their transpose on the CPU. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { ArgumentError } from '../errors';
import { broadcastStrides, formatShape, type Shape, sizeOf, stridesOf } from '../shape';

interface Operand {
  values: TypedArray;
  shape: Shape;
}

/**
 * Visits every position of `shape` in row-major order, passing the running offsets into each operand
 * (one offset per set of strides).
 */
function walk(shape: Shape, strideSets: readonly number[][], visit: (offsets: Float64Array) => void): void {
  const n = sizeOf(shape);
  const r = shape.length;
  const coord = new Int32Array(r);
  const offsets = new Float64Array(strideSets.length);
  for (let flat = 0; flat < n; flat++) {
    visit(offsets);
    for (let a = r - 1; a >= 0; a--) {
      coord[a]++;
      for (let s = 0; s < strideSets.length; s++) offsets[s] += strideSets[s][a];
      if (coord[a] < shape[a]) break;
      coord[a] = 0;
      for (let s = 0; s < strideSets.length; s++) offsets[s] -= strideSets[s][a] * shape[a];
    }
  }
}

function checkIndex(op: string, i: number, size: number, shape: Shape, axis: number): void {
  if (i < 0 || i >= size) {
    throw new ArgumentError(`${op}: index ${i} is out of range [0, ${size}) for axis ${axis} of shape ${formatShape(shape)}`);
  }
}

/** Strides of `shape` read over `iterShape`, with the indexed axis left for the index to address. */
function stridesOffAxis(shape: Shape, iterShape: Shape, axis: number): number[] {
  const strides = broadcastStrides(shape, iterShape);
  strides[axis] = 0;
  return strides;
}

export function gather(x: Operand, idx: Operand, axis: number, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  const size = x.shape[axis];
  const axisStride = stridesOf(x.shape)[axis];
  let o = 0;
  walk(outShape, [stridesOffAxis(x.shape, outShape, axis), broadcastStrides(idx.shape, outShape)], ([d, q]) => {
    const i = idx.values[q];
    checkIndex('gather', i, size, x.shape, axis);
    out[o++] = x.values[d + i * axisStride];
  });
  return out;
}

export function scatterAdd(updates: Operand, idx: Operand, axis: number, outShape: Shape, dtype: DType): TypedArray {
  const acc = new Float64Array(sizeOf(outShape));
  const iterShape = outShape.map((d, i) => (i === axis ? idx.shape[axis] : d));
  const outStrides = stridesOf(outShape);
  const axisStride = outStrides[axis];
  const intoOut = outStrides.map((s, i) => (i === axis ? 0 : s));
  walk(iterShape, [intoOut, broadcastStrides(idx.shape, iterShape), broadcastStrides(updates.shape, iterShape)], ([o, q, u]) => {
    const i = idx.values[q];
    checkIndex('scatterAdd', i, outShape[axis], outShape, axis);
    acc[o + i * axisStride] += updates.values[u];
  });
  const out = allocate(dtype, acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  return out;
}
