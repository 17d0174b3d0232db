/**
 * Indexed reads along one axis (`gather`, NumPy's `take_along_axis` with broadcast) and their
 * transpose (`scatterAdd`). scatterAdd pulls rather than pushes: each output element sums the
 * updates whose index names it, in index order, so it needs no float atomics and is deterministic.
 * An out-of-range index reads 0 (gather) or is skipped (scatterAdd) and sets a bit in the fault
 * word (`INDEX_FAULT`), which the host checks at the next readback and reports as an error.
 *
 * gather params: `[n, rank, outShape, xStrides (0 on the axis), idxStrides, axisStride, axisSize]`.
 * scatterAdd params: `[n, rank, outShape, axis, J, idxStrides, updStrides]` (strides over the
 * output shape with the axis of size J).
 */
import { binding, ENTRY_1D, PRELUDE } from './common';

/** Bits of the fault word: which kernel met an out-of-range index. */
export const INDEX_FAULT = { gather: 1, scatterAdd: 2 } as const;

const FAULT = '@group(0) @binding(4) var<storage, read_write> fault: array<atomic<u32>>;';

export const GATHER_WGSL = `${PRELUDE}
${binding(1, 'out', 'u32', 'read_write')}
${binding(2, 'x', 'u32', 'read')}
${binding(3, 'idx', 'i32', 'read')}
${FAULT}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let rank = params[1];
  var xo = 0u;
  var qo = 0u;
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[2u + u32(d)];
    let c = rest % size;
    rest = rest / size;
    xo += c * params[2u + rank + u32(d)];
    qo += c * params[2u + 2u * rank + u32(d)];
  }
  let j = idx[qo];
  let axisStride = params[2u + 3u * rank];
  let axisSize = params[3u + 3u * rank];
  if (j < 0 || u32(j) >= axisSize) {
    out[i] = 0u;
    atomicOr(&fault[0], ${INDEX_FAULT.gather}u);
    return;
  }
  out[i] = x[xo + u32(j) * axisStride];
}
`;

export function scatterAddWgsl(type: string): string {
  return `${PRELUDE}
${binding(1, 'out', type, 'read_write')}
${binding(2, 'upd', type, 'read')}
${binding(3, 'idx', 'i32', 'read')}
${FAULT}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let rank = params[1];
  let axis = params[2u + rank];
  let J = params[3u + rank];
  let idxAt = 4u + rank;
  let updAt = 4u + 2u * rank;
  var qo = 0u;
  var uo = 0u;
  var wanted = 0;
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[2u + u32(d)];
    let c = rest % size;
    rest = rest / size;
    if (u32(d) == axis) {
      wanted = i32(c);
    } else {
      qo += c * params[idxAt + u32(d)];
      uo += c * params[updAt + u32(d)];
    }
  }
  let qs = params[idxAt + axis];
  let us = params[updAt + axis];
  let size = params[2u + axis];
  var acc = ${type}(0);
  for (var j = 0u; j < J; j++) {
    let k = idx[qo + j * qs];
    if (k == wanted) { acc += upd[uo + j * us]; }
    // The invocations of position 0 along the axis look out for indices that name no position.
    if (wanted == 0 && (k < 0 || u32(k) >= size)) { atomicOr(&fault[0], ${INDEX_FAULT.scatterAdd}u); }
  }
  out[i] = acc;
}
`;
}
