/** Data movement on the CPU: every layout change is one strided copy. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../shape';

/**
 * Copies the elements of a strided view of `src` (shape `shape`, starting at `srcOffset`, `srcStrides`
 * per axis, possibly 0 or negative) to `dst` at `dstOffset` with `dstStrides`.
 */
export function copyStrided(
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  shape: Shape,
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const r = shape.length;
  if (r === 0) {
    dst[dstOffset] = src[srcOffset];
    return;
  }
  const last = shape[r - 1];
  const sl = srcStrides[r - 1];
  const dl = dstStrides[r - 1];
  const idx = new Int32Array(r);
  let p = srcOffset;
  let q = dstOffset;
  for (let outer = n / last; outer > 0; outer--) {
    for (let j = 0; j < last; j++) dst[q + j * dl] = src[p + j * sl];
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      p += srcStrides[d];
      q += dstStrides[d];
      if (idx[d] < shape[d]) break;
      idx[d] = 0;
      p -= srcStrides[d] * shape[d];
      q -= dstStrides[d] * shape[d];
    }
  }
}

export function transpose(x: TypedArray, shape: Shape, perm: readonly number[], dtype: DType): TypedArray {
  const out = allocate(dtype, x.length);
  prepareTranspose(shape, perm)(x, out);
  return out;
}

/**
 * The transpose for a fixed shape, writing into a given output (for `jit` plans).
 *
 * @example
 * prepareTranspose([2, 3], [1, 0])(x, out);
 */
export function prepareTranspose(shape: Shape, perm: readonly number[]): (x: TypedArray, out: TypedArray) => void {
  const strides = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const srcStrides = perm.map((p) => strides[p]);
  const outStrides = stridesOf(outShape);
  return (x, out) => copyStrided(x, 0, srcStrides, outShape, out, 0, outStrides);
}

export function broadcastTo(x: TypedArray, shape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  copyStrided(x, 0, broadcastStrides(shape, outShape), outShape, out, 0, stridesOf(outShape));
  return out;
}

export function slice(
  x: TypedArray,
  shape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareSlice(shape, starts, steps, outShape)(x, out);
  return out;
}

/**
 * The strided slice for fixed shapes, writing into a given output (for `jit` plans).
 *
 * @example
 * prepareSlice([4], [1], [2], [2])(x, out); // x[1], x[3]
 */
export function prepareSlice(
  shape: Shape,
  starts: readonly number[],
  steps: readonly number[],
  outShape: Shape,
): (x: TypedArray, out: TypedArray) => void {
  const strides = stridesOf(shape);
  const offset = starts.reduce((acc, s, i) => acc + s * strides[i], 0);
  const srcStrides = strides.map((s, i) => s * steps[i]);
  const outStrides = stridesOf(outShape);
  return (x, out) => copyStrided(x, offset, srcStrides, outShape, out, 0, outStrides);
}

export function flip(x: TypedArray, shape: Shape, axes: readonly number[], dtype: DType): TypedArray {
  const out = allocate(dtype, x.length);
  prepareFlip(shape, axes)(x, out);
  return out;
}

/**
 * The reversal of `axes` for a fixed shape, writing into a given output (for `jit` plans).
 *
 * @example
 * prepareFlip([3], [0])(x, out); // x[2], x[1], x[0]
 */
export function prepareFlip(shape: Shape, axes: readonly number[]): (x: TypedArray, out: TypedArray) => void {
  const strides = stridesOf(shape);
  let offset = 0;
  const srcStrides = strides.map((s, i) => {
    if (!axes.includes(i)) return s;
    offset += (shape[i] - 1) * s;
    return -s;
  });
  return (x, out) => {
    if (x.length > 0) copyStrided(x, offset, srcStrides, shape, out, 0, strides);
  };
}

export function pad(
  x: TypedArray,
  shape: Shape,
  lo: readonly number[],
  interior: readonly number[],
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  preparePad(shape, lo, interior, outShape)(x, out);
  return out;
}

/**
 * Zero padding for fixed shapes, writing into a given output (zeroed first, so it may be reused).
 *
 * @example
 * preparePad([2], [1], [0], [4])(x, out); // [0, x0, x1, 0]
 */
export function preparePad(
  shape: Shape,
  lo: readonly number[],
  interior: readonly number[],
  outShape: Shape,
): (x: TypedArray, out: TypedArray) => void {
  const outStrides = stridesOf(outShape);
  const offset = lo.reduce((acc, l, i) => acc + l * outStrides[i], 0);
  const dstStrides = outStrides.map((s, i) => s * (interior[i] + 1));
  const srcStrides = stridesOf(shape);
  return (x, out) => {
    out.fill(0);
    copyStrided(x, 0, srcStrides, shape, out, offset, dstStrides);
  };
}

export function concat(
  inputs: readonly { values: TypedArray; shape: Shape }[],
  axis: number,
  outShape: Shape,
  dtype: DType,
): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareConcat(inputs.map((x) => x.shape), axis, outShape)(inputs.map((x) => x.values), out);
  return out;
}

/**
 * Concatenation for fixed shapes, writing into a given output (for `jit` plans).
 *
 * @example
 * prepareConcat([[2], [3]], 0, [5])([x, y], out);
 */
export function prepareConcat(
  shapes: readonly Shape[],
  axis: number,
  outShape: Shape,
): (inputs: readonly TypedArray[], out: TypedArray) => void {
  const outStrides = stridesOf(outShape);
  const offsets: number[] = [];
  let offset = 0;
  for (const shape of shapes) {
    offsets.push(offset * outStrides[axis]);
    offset += shape[axis];
  }
  const srcStrides = shapes.map(stridesOf);
  return (inputs, out) => {
    for (let i = 0; i < shapes.length; i++) copyStrided(inputs[i], 0, srcStrides[i], shapes[i], out, offsets[i], outStrides);
  };
}
