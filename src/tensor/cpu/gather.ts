/** Indexed reads and their transpose on the CPU. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { ArgumentError } from '../errors';
import type { IndexSite } from '../primitives';
import { broadcastStrides, formatShape, type Shape, sizeOf, stridesOf } from '../shape';

interface Operand {
  values: TypedArray;
  shape: Shape;
}

/**
 * Visits every position of `shape` in row-major order, passing the running offsets into each operand
 * (one offset per set of strides). Prepared once for fixed shapes: the coordinate and offset arrays
 * are allocated here and reset at the start of every walk, so a walk allocates nothing.
 */
function prepareWalk(shape: Shape, strideSets: readonly number[][]): (visit: (offsets: Float64Array) => void) => void {
  const n = sizeOf(shape);
  const r = shape.length;
  const coord = new Int32Array(r);
  const offsets = new Float64Array(strideSets.length);
  return (visit) => {
    coord.fill(0);
    offsets.fill(0);
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
  };
}

function checkIndex(op: string, i: number, size: number, shape: Shape, axis: number, site?: IndexSite): void {
  if (i >= 0 && i < size) return;
  if (site?.unsigned) {
    const given = i === 2 ** 31 - 1 ? `${i} or more` : String(i);
    throw new ArgumentError(`${site.op}: uint32 index ${given} is out of range [0, ${size}) for axis ${site.axis} of shape ${formatShape(site.shape)}`);
  }
  if (site) {
    // The op shifted negative indices by the size (i + size), so a negative i here was i - size.
    const given = i < 0 ? i - size : i;
    throw new ArgumentError(`${site.op}: index ${given} is out of range [-${size}, ${size}) for axis ${site.axis} of shape ${formatShape(site.shape)}`);
  }
  throw new ArgumentError(`${op}: index ${i} is out of range [0, ${size}) for axis ${axis} of shape ${formatShape(shape)}`);
}

/** Strides of `shape` read over `iterShape`, with the indexed axis left for the index to address. */
function stridesOffAxis(shape: Shape, iterShape: Shape, axis: number): number[] {
  const strides = broadcastStrides(shape, iterShape);
  strides[axis] = 0;
  return strides;
}

export function gather(x: Operand, idx: Operand, axis: number, outShape: Shape, dtype: DType, site?: IndexSite): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareGather(x.shape, idx.shape, axis, outShape, site)(x.values, idx.values, out);
  return out;
}

/**
 * The gather for fixed shapes, writing into a given output (for `jit` plans); indices are checked
 * as they are read, as in `gather`. The trailing axes over which the index is constant and x is
 * contiguous are copied as runs (a row of 6 per index for a mixture's chosen component), the axes
 * before them walked with running offsets.
 *
 * @example
 * prepareGather([3], [2], 0, [2])(x, idx, out); // out[j] = x[idx[j]]
 */
export function prepareGather(
  xShape: Shape,
  idxShape: Shape,
  axis: number,
  outShape: Shape,
  site?: IndexSite,
): (x: TypedArray, idx: TypedArray, out: TypedArray) => void {
  const size = xShape[axis];
  const axisStride = stridesOf(xShape)[axis];
  const xStrides = stridesOffAxis(xShape, outShape, axis);
  const idxStrides = broadcastStrides(idxShape, outShape);
  let split = outShape.length;
  let run = 1;
  while (split > 0 && (outShape[split - 1] === 1 || (idxStrides[split - 1] === 0 && xStrides[split - 1] === run))) run *= outShape[--split];
  const outer = sizeOf(outShape.slice(0, split));
  const coord = new Int32Array(split);
  if (run === 1 && split > 0) return prepareGatherInner(xShape, axis, outShape, split - 1, xStrides, idxStrides, site);
  return (x, idx, out) => {
    if (run === 0) return;
    coord.fill(0);
    let [xo, io, o] = [0, 0, 0];
    for (let t = 0; t < outer; t++) {
      const i = idx[io];
      checkIndex('gather', i, size, xShape, axis, site);
      const from = xo + i * axisStride;
      for (let q = 0; q < run; q++) out[o + q] = x[from + q];
      o += run;
      for (let d = split - 1; d >= 0; d--) {
        coord[d]++;
        xo += xStrides[d];
        io += idxStrides[d];
        if (coord[d] < outShape[d]) break;
        coord[d] = 0;
        xo -= xStrides[d] * outShape[d];
        io -= idxStrides[d] * outShape[d];
      }
    }
  };
}

/**
 * `prepareGather` when each index picks one element (no runs to copy): the innermost walked axis
 * `d` is a plain loop (a permutation's or a sort's gather is one such loop per row), the axes
 * before it walked with running offsets.
 */
function prepareGatherInner(
  xShape: Shape,
  axis: number,
  outShape: Shape,
  d: number,
  xStrides: readonly number[],
  idxStrides: readonly number[],
  site: IndexSite | undefined,
): (x: TypedArray, idx: TypedArray, out: TypedArray) => void {
  const size = xShape[axis];
  const axisStride = stridesOf(xShape)[axis];
  const m = outShape[d];
  const xs = xStrides[d];
  const is = idxStrides[d];
  const outer = sizeOf(outShape.slice(0, d));
  const coord = new Int32Array(d);
  return (x, idx, out) => {
    if (m === 0) return;
    coord.fill(0);
    let [xo, io, o] = [0, 0, 0];
    for (let t = 0; t < outer; t++) {
      for (let j = 0; j < m; j++) {
        const i = idx[io + j * is] as number;
        if (i < 0 || i >= size) checkIndex('gather', i, size, xShape, axis, site);
        out[o + j] = x[xo + j * xs + i * axisStride];
      }
      o += m;
      for (let c = d - 1; c >= 0; c--) {
        coord[c]++;
        xo += xStrides[c];
        io += idxStrides[c];
        if (coord[c] < outShape[c]) break;
        coord[c] = 0;
        xo -= xStrides[c] * outShape[c];
        io -= idxStrides[c] * outShape[c];
      }
    }
  };
}

export function scatterAdd(updates: Operand, idx: Operand, axis: number, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareScatterAdd(updates.shape, idx.shape, axis, outShape)(updates.values, idx.values, out);
  return out;
}

/**
 * The scatter-add for fixed shapes, writing into a given output (for `jit` plans). Sums accumulate
 * in float64 (a scratch buffer allocated once here, zeroed per call) and are rounded once when
 * stored, as in `scatterAdd`.
 *
 * @example
 * prepareScatterAdd([2], [2], 0, [3])(updates, idx, out); // out[idx[j]] += updates[j]
 */
export function prepareScatterAdd(
  updatesShape: Shape,
  idxShape: Shape,
  axis: number,
  outShape: Shape,
): (updates: TypedArray, idx: TypedArray, out: TypedArray) => void {
  const acc = new Float64Array(sizeOf(outShape));
  const iterShape = outShape.map((d, i) => (i === axis ? idxShape[axis] : d));
  const outStrides = stridesOf(outShape);
  const axisStride = outStrides[axis];
  const intoOut = outStrides.map((s, i) => (i === axis ? 0 : s));
  const walk = prepareWalk(iterShape, [intoOut, broadcastStrides(idxShape, iterShape), broadcastStrides(updatesShape, iterShape)]);
  let us: TypedArray = new Float64Array(0);
  let is: TypedArray = us;
  const visit = (offsets: Float64Array) => {
    const i = is[offsets[1]];
    checkIndex('scatterAdd', i, outShape[axis], outShape, axis);
    acc[offsets[0] + i * axisStride] += us[offsets[2]];
  };
  return (updates, idx, out) => {
    us = updates;
    is = idx;
    acc.fill(0);
    walk(visit);
    for (let i = 0; i < acc.length; i++) out[i] = acc[i];
  };
}
