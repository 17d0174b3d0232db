/**
 * Reductions over any set of axes. The input's axes are split (on the host) into kept and reduced
 * ones, each with its shape and input strides, so one kernel serves every axis subset and layout.
 * Two schedules: `thread` (one invocation per output, a serial loop; for short reductions) and
 * `workgroup` (256 invocations per output, strided partial results combined by a tree in workgroup
 * shared memory; for long ones). A long reduction into few outputs is split: workgroup `g` combines
 * chunk `g % parts` of output `g / parts`, and a second pass combines the parts.
 *
 * The operand is read through `load(j)` and outputs written through `store(i, v)` (`groups.ts`):
 * a jit plan's fused groups compute the operand there (prologue) or transform the result (epilogue).
 *
 * params: `[nOut, R, keptRank, redRank, chunk, parts, keptShape, keptStrides, redShape, redStrides]`.
 * Arg-reductions: `[nOut, axisSize, inner]` over a contiguous input.
 */
import { binding, ENTRY_1D, PRELUDE, WORKGROUP } from './common';
import { epilogueWgsl, type GroupLayout, type GroupSpec, prologueWgsl } from './groups';
import { MATH } from './math';

export interface ReduceSpec {
  readonly type: string;
  /** The neutral start value, a WGSL expression of `type`. */
  readonly init: string;
  /** WGSL expression combining `acc` and `v`. */
  readonly combine: string;
  readonly schedule: 'thread' | 'workgroup';
  /** Computes the operand where it is read (instead of binding `x`). */
  readonly prologue?: { readonly spec: GroupSpec; readonly layout: GroupLayout };
  /** Applied where each output is stored (one part per output only). */
  readonly epilogue?: { readonly spec: GroupSpec; readonly layout: GroupLayout };
}

const OFFSETS = /* wgsl */ `
fn decompose(index: u32, rank: u32, shapeAt: u32, stridesAt: u32) -> u32 {
  var offset = 0u;
  var rest = index;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[shapeAt + u32(d)];
    offset += (rest % size) * params[stridesAt + u32(d)];
    rest = rest / size;
  }
  return offset;
}
fn keptOffset(o: u32) -> u32 { let k = params[2]; return decompose(o, k, 6u, 6u + k); }
fn redOffset(r: u32) -> u32 {
  let k = params[2];
  let m = params[3];
  return decompose(r, m, 6u + 2u * k, 6u + 2u * k + m);
}
fn combine(acc: T, v: T) -> T { return COMBINE; }
`;

export function reduceWgsl({ type, init, combine, schedule, prologue, epilogue }: ReduceSpec): string {
  const head = `${PRELUDE}
alias T = ${type};
${binding(1, 'out', epilogue?.spec.outType ?? type, 'read_write')}
${MATH}
${prologueWgsl(prologue?.spec, prologue?.layout ?? { inputs: 2, stores: 3, at: 0 })}
${epilogueWgsl(epilogue?.spec, epilogue?.layout ?? { inputs: 3, stores: 3, at: 0 })}
${OFFSETS.replace('COMBINE', combine)}`;
  if (schedule === 'thread') {
    return `${head}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let base = keptOffset(i);
  var acc: T = ${init};
  for (var r = 0u; r < params[1]; r++) { acc = combine(acc, load(base + redOffset(r))); }
  store(i, acc);
}
`;
  }
  return `${head}
var<workgroup> partial: array<T, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let parts = params[5];
  let o = g / parts;
  let valid = o < params[0];
  var acc: T = ${init};
  if (valid) {
    let base = keptOffset(o);
    let start = (g % parts) * params[4];
    let stop = min(params[1], start + params[4]);
    for (var r = start + lid; r < stop; r += ${WORKGROUP}u) { acc = combine(acc, load(base + redOffset(r))); }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (valid && lid == 0u) { store(g, partial[0]); }
}
`;
}

/** argmax/argmin: the first index of the extreme along the axis; a NaN counts as the extreme. */
export function argReduceWgsl(type: string, better: '>' | '<'): string {
  const isNan = type === 'f32' ? 'm_isnan' : 'noNan';
  return `${PRELUDE}
${binding(1, 'out', 'i32', 'read_write')}
${binding(2, 'x', type, 'read')}
${MATH}
fn noNan(v: ${type}) -> bool { return false; }
${ENTRY_1D}
  if (i >= params[0]) { return; }
  let n = params[1];
  let inner = params[2];
  let base = (i / inner) * n * inner + i % inner;
  var best = x[base];
  var bestIndex = 0u;
  if (!${isNan}(best)) {
    for (var j = 1u; j < n; j++) {
      let v = x[base + j * inner];
      if (${isNan}(v)) { bestIndex = j; break; }
      if (v ${better} best) { best = v; bestIndex = j; }
    }
  }
  out[i] = i32(bestIndex);
}
`;
}
