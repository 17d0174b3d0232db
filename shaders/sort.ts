/**
 * The `argsort` primitive: a bitonic sort of each row along the last axis, on (key, index) pairs.
 * A value's key is a u32 whose unsigned order is the sort order: float32 bits with the sign folded
 * (negatives inverted, positives' sign bit set), -0 as +0 and every NaN as 0xffffffff (after +inf);
 * int32 with its sign bit flipped; uint32 as is; a descending sort inverts the key. Pairs compare by
 * key, then by index, so they are all distinct and the sorted order is the stable one. A row is
 * padded to a power of two P with sentinel pairs (key 0xffffffff, index >= n), which sort after every
 * element (an element with that key has a smaller index) and are never stored.
 *
 * `argsortLocalWgsl(type, form, C)`: one workgroup of 256 invocations per chunk of C <= 2048 pairs
 * (a whole row when P <= 2048), sorted in workgroup memory (2 x 4 x C bytes: 16 KiB at C = 2048,
 * WebGPU's default limit) through bitonic stages kFirst..kLast, each block's direction taken from
 * the pair's position in its row (so a chunk is one part of a longer row's network). Params:
 * `[chunks, n, P, kFirst, kLast, descending, K]`: a row's first K <= n sorted positions are stored
 * (the output is rows x K; K = n for a full argsort, topk's k for a top-k). Forms: `row` reads x
 * and writes the indices; `first` reads x and writes the pairs to scratch; `merge` reads and
 * writes scratch; `last` reads scratch and writes the indices. `ARGSORT_GLOBAL_WGSL`: one compare-exchange pass (stage k,
 * distance j >= C) over rows of P pairs in scratch, one invocation per pair of pairs; params
 * `[rows * P / 2, P, k, j]`.
 */
import { binding, ENTRY_1D, PRELUDE, WORKGROUP } from './common';

/** The most pairs a workgroup sorts in its memory: 2 arrays of 2048 u32 words, 16 KiB. */
export const ARGSORT_LOCAL_MAX = 2048;

/** How a local sort kernel reads its pairs and where it writes them (see the module's comment). */
export type ArgsortForm = 'row' | 'first' | 'merge' | 'last';

function keyWgsl(type: 'f32' | 'i32' | 'u32'): string {
  const fold =
    type === 'f32'
      ? `let m = b & 0x7fffffffu;
  var k = b | 0x80000000u;
  if (m > 0x7f800000u) { k = 0xffffffffu; } else if (m == 0u) { k = 0x80000000u; } else if (b != m) { k = ~b; }`
      : type === 'i32'
        ? 'let k = b ^ 0x80000000u;'
        : 'let k = b;';
  return `fn sortKey(b: u32, descending: bool) -> u32 {
  ${fold}
  return select(k, ~k, descending);
}`;
}

const BEFORE = `fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool { return ka < kb || (ka == kb && ia < ib); }`;

/** The local (workgroup memory) bitonic sort kernel of one key type, form and chunk size C (a power of two). */
export function argsortLocalWgsl(type: 'f32' | 'i32' | 'u32', form: ArgsortForm, C: number): string {
  const readsX = form === 'row' || form === 'first';
  const writesOut = form === 'row' || form === 'last';
  const bindings = readsX
    ? writesOut
      ? [binding(1, 'out', 'i32', 'read_write'), binding(2, 'x', 'u32', 'read')]
      : [binding(1, 'keys', 'u32', 'read_write'), binding(2, 'x', 'u32', 'read'), binding(3, 'idx', 'u32', 'read_write')]
    : writesOut
      ? [binding(1, 'out', 'i32', 'read_write'), binding(2, 'keys', 'u32', 'read'), binding(3, 'idx', 'u32', 'read')]
      : [binding(1, 'keys', 'u32', 'read_write'), binding(2, 'idx', 'u32', 'read_write')];
  const load = readsX
    ? `if (p < n) { sk[t] = sortKey(x[row * n + p], descending); } else { sk[t] = 0xffffffffu; }
    si[t] = p;`
    : `sk[t] = keys[row * P + p];
    si[t] = idx[row * P + p];`;
  const store = writesOut
    ? `if (p < K) { out[row * K + p] = i32(si[t]); }`
    : `keys[row * P + p] = sk[t];
    idx[row * P + p] = si[t];`;
  return `${PRELUDE}
${bindings.join('\n')}
${keyWgsl(type)}
${BEFORE}
var<workgroup> sk: array<u32, ${C}>;
var<workgroup> si: array<u32, ${C}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= params[0]) { return; }
  let n = params[1];
  let P = params[2];
  let descending = params[5] != 0u;
  let K = params[6];
  let perRow = max(P / ${C}u, 1u);
  let row = g / perRow;
  let o = (g % perRow) * ${C}u;
  for (var t = lid; t < ${C}u; t += ${WORKGROUP}u) {
    let p = o + t;
    ${load}
  }
  workgroupBarrier();
  for (var k = params[3]; k <= params[4] && k != 0u; k <<= 1u) {
    for (var j = min(k, ${C}u) >> 1u; j > 0u; j >>= 1u) {
      for (var q = lid; q < ${C / 2}u; q += ${WORKGROUP}u) {
        let a = 2u * j * (q / j) + q % j;
        let b = a + j;
        let up = ((o + a) & k) == 0u;
        let ka = sk[a];
        let ia = si[a];
        let kb = sk[b];
        let ib = si[b];
        if (before(kb, ib, ka, ia) == up) {
          sk[a] = kb;
          si[a] = ib;
          sk[b] = ka;
          si[b] = ia;
        }
      }
      workgroupBarrier();
    }
  }
  for (var t = lid; t < ${C}u; t += ${WORKGROUP}u) {
    let p = o + t;
    ${store}
  }
}
`;
}

/** One global compare-exchange pass of a bitonic sort over rows of P (key, index) pairs in scratch. */
export const ARGSORT_GLOBAL_WGSL = `${PRELUDE}
${binding(1, 'keys', 'u32', 'read_write')}
${binding(2, 'idx', 'u32', 'read_write')}
${BEFORE}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let P = params[1];
  let k = params[2];
  let j = params[3];
  let half = P >> 1u;
  let q = i % half;
  let a = 2u * j * (q / j) + q % j;
  let base = (i / half) * P;
  let up = (a & k) == 0u;
  let ka = keys[base + a];
  let ia = idx[base + a];
  let kb = keys[base + a + j];
  let ib = idx[base + a + j];
  if (before(kb, ib, ka, ia) == up) {
    keys[base + a] = kb;
    idx[base + a] = ib;
    keys[base + a + j] = ka;
    idx[base + a + j] = ia;
  }
}
`;
