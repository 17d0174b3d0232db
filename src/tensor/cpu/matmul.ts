/** Batched matrix product on the CPU. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../shape';

/**
 * `[..., m, k] @ [..., k, n]` with broadcast batch axes, accumulating in float64. Each matrix product
 * is computed in 4 x 4 register blocks (16 accumulators held in locals while the shared dimension is
 * walked), which keeps the inner loop free of stores; edges fall back to a row-times-panel loop.
 */
export function matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareMatmul(aShape, bShape, outShape)(a, b, out);
  return out;
}

/**
 * The matrix product for fixed shapes, writing into a given output (`jit` plans call it with reused
 * buffers): the batch offsets are computed once here, not per call.
 *
 * @example
 * const run = prepareMatmul([2, 3], [3, 4], [2, 4]);
 * run(a, b, out);
 */
export function prepareMatmul(aShape: Shape, bShape: Shape, outShape: Shape): (a: TypedArray, b: TypedArray, out: TypedArray) => void {
  const [m, k] = aShape.slice(-2);
  const n = bShape[bShape.length - 1];
  const batchShape = outShape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aBatch = broadcastStrides(aShape.slice(0, -2), batchShape);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batchShape);
  const batchStrides = stridesOf(batchShape);
  const aOffsets = new Int32Array(batch);
  const bOffsets = new Int32Array(batch);
  for (let t = 0; t < batch; t++) {
    let rest = t;
    for (let d = 0; d < batchShape.length; d++) {
      const i = Math.floor(rest / batchStrides[d]);
      rest -= i * batchStrides[d];
      aOffsets[t] += i * aBatch[d];
      bOffsets[t] += i * bBatch[d];
    }
  }
  return (a, b, out) => {
    for (let t = 0; t < batch; t++) matmulOne(a, aOffsets[t] * m * k, b, bOffsets[t] * k * n, out, t * m * n, m, k, n);
  };
}

/** One `m x k` by `k x n` product into `out` at `o`. */
function matmulOne(a: TypedArray, ao: number, b: TypedArray, bo: number, out: TypedArray, o: number, m: number, k: number, n: number): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const r0 = ao + i * k;
    const r1 = r0 + k;
    const r2 = r1 + k;
    const r3 = r2 + k;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let q = bo + j;
      for (let p = 0; p < k; p++, q += n) {
        const b0 = b[q], b1 = b[q + 1], b2 = b[q + 2], b3 = b[q + 3];
        const a0 = a[r0 + p];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        const a1 = a[r1 + p];
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        const a2 = a[r2 + p];
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        const a3 = a[r3 + p];
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      let w = o + i * n + j;
      out[w] = c00; out[w + 1] = c01; out[w + 2] = c02; out[w + 3] = c03;
      w += n;
      out[w] = c10; out[w + 1] = c11; out[w + 2] = c12; out[w + 3] = c13;
      w += n;
      out[w] = c20; out[w + 1] = c21; out[w + 2] = c22; out[w + 3] = c23;
      w += n;
      out[w] = c30; out[w + 1] = c31; out[w + 2] = c32; out[w + 3] = c33;
    }
  }
  // Edges: the last n % 4 columns of the blocked rows, then the last m % 4 rows.
  edge(a, ao, b, bo, out, o, 0, m4, n4, n, k, n);
  edge(a, ao, b, bo, out, o, m4, m, 0, n, k, n);
}

function edge(
  a: TypedArray,
  ao: number,
  b: TypedArray,
  bo: number,
  out: TypedArray,
  o: number,
  rowStart: number,
  rowEnd: number,
  colStart: number,
  colEnd: number,
  k: number,
  n: number,
): void {
  for (let i = rowStart; i < rowEnd; i++) {
    for (let j = colStart; j < colEnd; j++) {
      let c = 0;
      for (let p = 0; p < k; p++) c += a[ao + i * k + p] * b[bo + p * n + j];
      out[o + i * n + j] = c;
    }
  }
}
