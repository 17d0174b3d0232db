/**
 * The data-movement kernel: copies a strided view of the input to a strided view of the output,
 * 32-bit word by word (so one kernel serves every dtype). transpose, broadcastTo, slice and flip are
 * all this copy with different strides and offsets (strides may be zero or negative); concat and pad
 * have kernels of their own below (one dispatch for all of concat's inputs; pad without a clear).
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

/** Inputs one concat kernel binds at most (with the params and the output: WebGPU's minimum of 8 storage buffers). */
export const CONCAT_INPUTS = 6;

/**
 * Concatenation of `inputs` tensors (a run of a longer concatenation) along one axis, one dispatch
 * for all of them, 32-bit word by word. The output is viewed as `[outer, total, inner]` (total: the
 * whole concatenated axis); invocation `i` covers `[outer, span, inner]`, the run's part of it, which
 * starts at `base` along the axis. Input `j` holds the run's axis positions `[ends[j-1], ends[j])`.
 *
 * params: `[n, inner, total, span, base, ends[inputs]]` (n = outer · span · inner).
 *
 * @example
 * concatWgsl(2); // out[.., 0:3, ..] = x0, out[.., 3:4, ..] = x1 with ends [3, 4]
 */
export function concatWgsl(inputs: number): string {
  const pick = Array.from({ length: inputs }, (_, j) => {
    const from = j === 0 ? '0u' : `params[${4 + j}u]`;
    const read = `x${j}[(outer * (params[${5 + j}u] - ${from}) + along - ${from}) * inner + k]`;
    return j === inputs - 1 ? `{ v = ${read}; }` : `if (along < params[${5 + j}u]) { v = ${read}; } else `;
  }).join('');
  return `${PRELUDE}
${binding(1, 'out', 'u32', 'read_write')}
${Array.from({ length: inputs }, (_, j) => binding(j + 2, `x${j}`, 'u32', 'read')).join('\n')}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let inner = params[1];
  let span = params[3];
  let k = i % inner;
  let along = (i / inner) % span;
  let outer = i / (inner * span);
  var v = 0u;
  ${pick}
  out[(outer * params[2] + params[4] + along) * inner + k] = v;
}
`;
}

/**
 * Zero padding in one pass: each output word is the input word it comes from, or 0 between and
 * around them (`lo` words before along each axis, `interior` between neighbours), 32-bit word by
 * word. No clear first, so the pass of kernels around it is not broken.
 *
 * params: `[n, rank, outShape[rank], lo[rank] (i32), interior + 1 [rank], inShape[rank], inStrides[rank]]`.
 */
export const PAD_WGSL = `${PRELUDE}
${binding(1, 'out', 'u32', 'read_write')}
${binding(2, 'x', 'u32', 'read')}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let rank = params[1];
  var src = 0u;
  var inside = true;
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[2u + u32(d)];
    let t = i32(rest % size) - bitcast<i32>(params[2u + rank + u32(d)]);
    rest = rest / size;
    let step = i32(params[2u + 2u * rank + u32(d)]);
    let at = t / step;
    inside = inside && t >= 0 && t % step == 0 && at < i32(params[2u + 3u * rank + u32(d)]);
    src += u32(max(at, 0)) * params[2u + 4u * rank + u32(d)];
  }
  var v = 0u;
  if (inside) { v = x[src]; }
  out[i] = v;
}
`;
