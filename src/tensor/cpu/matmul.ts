/** Batched matrix product on the CPU. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../shape';

/**
 * `[..., m, k] @ [..., k, n]` with broadcast batch axes. Row-times-panel (i-p-j) order so the inner
 * loop streams contiguous rows of b and out; accumulates in float64.
 */
export function matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const [m, k] = aShape.slice(-2);
  const n = bShape[bShape.length - 1];
  const batchShape = outShape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aBatch = broadcastStrides(aShape.slice(0, -2), batchShape);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batchShape);
  const batchStrides = stridesOf(batchShape);
  const out = allocate(dtype, batch * m * n);
  const row = new Float64Array(n);
  for (let t = 0; t < batch; t++) {
    let aOff = 0;
    let bOff = 0;
    let rest = t;
    for (let d = 0; d < batchShape.length; d++) {
      const i = Math.floor(rest / batchStrides[d]);
      rest -= i * batchStrides[d];
      aOff += i * aBatch[d];
      bOff += i * bBatch[d];
    }
    aOff *= m * k;
    bOff *= k * n;
    const oOff = t * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      const aRow = aOff + i * k;
      for (let p = 0; p < k; p++) {
        const av = a[aRow + p];
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) row[j] += av * b[bRow + j];
      }
      const oRow = oOff + i * n;
      for (let j = 0; j < n; j++) out[oRow + j] = row[j];
    }
  }
  return out;
}
