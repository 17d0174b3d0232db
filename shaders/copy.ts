/**
 * The data-movement kernel: copies a strided view of the input to a strided view of the output,
 * 32-bit word by word (so one kernel serves every dtype). transpose, broadcastTo, slice, flip, pad
 * and concat are all this copy with different strides and offsets; strides may be zero or negative.
 *
 * params: `[n, rank, shape[rank], srcOffset, srcStrides[rank], dstOffset, dstStrides[rank]]`, the
 * offsets and strides as two's-complement i32.
 */
import { binding, ENTRY_1D, PRELUDE } from './common';

export const COPY_WGSL = `${PRELUDE}
${binding(1, 'out', 'u32', 'read_write')}
${binding(2, 'x', 'u32', 'read')}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let rank = params[1];
  var src = bitcast<i32>(params[2u + rank]);
  var dst = bitcast<i32>(params[3u + 2u * rank]);
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[2u + u32(d)];
    let c = i32(rest % size);
    rest = rest / size;
    src += c * bitcast<i32>(params[3u + rank + u32(d)]);
    dst += c * bitcast<i32>(params[4u + 2u * rank + u32(d)]);
  }
  out[u32(dst)] = x[u32(src)];
}
`;
