/**
 * Reductions over any set of axes. The input's axes are split (on the host) into kept and reduced
 * ones, each with its shape and input strides, so one kernel serves every axis subset and layout.
 * Two schedules: `thread` (one invocation per output, a serial loop; for short reductions, and for
 * many outputs whose neighbours read neighbouring words) and `workgroup` (256 invocations per
 * output, strided partial results combined by a tree in workgroup shared memory; for long ones). A long reduction into few outputs is split: workgroup `g` combines
 * chunk `g % parts` of output `g / parts`, and a second pass combines the parts.
 *
 * The operand is read through `load(j)` and outputs written through `store(i, v)` (`groups.ts`):
 * a jit plan's fused groups compute the operand there (prologue) or transform the result (epilogue).
 *
 * params: `[nOut, R, keptRank, redRank, chunk, parts, keptShape, keptStrides, redShape, redStrides]`.
 * Arg-reductions: `[nOut, axisSize, inner]` over a contiguous input.
 */
import { binding, ENTRY_1D, foldInOrder, PRELUDE, WORKGROUP } from './common';
import { epilogueWgsl, type GroupLayout, type GroupSpec, loadFunction, prologueWgsl, storeFunction } from './groups';
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
  // One reduced axis (the usual case) is a multiply; decomposing divides by each axis, every term.
  if (m == 1u) { return r * params[7u + 2u * k]; }
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
  return `${head}
${reduceMain(schedule, init, 1)}`;
}

/** A group placed in a kernel: its spec, its params starting at `at`. */
export interface PlacedGroup {
  readonly spec: GroupSpec;
  readonly at: number;
}

/** One of several sibling reductions: the kernel inputs it reads, its groups. */
export interface SiblingReduction {
  /** Which of the kernel's inputs it reads: its operand or its prologue's inputs, then its epilogue's. */
  readonly reads: readonly number[];
  readonly prologue?: PlacedGroup;
  readonly epilogue?: PlacedGroup;
}

/**
 * The WGSL of independent reductions of one shape and schedule in one kernel (a jit plan's sibling
 * reductions, `jit/siblings.ts`), one part per output: outputs (or, in the `workgroup` schedule,
 * workgroups) `0 .. nOut` are member 0's, the next `nOut` member 1's, and so on. Member j reads
 * the kernel's inputs `members[j].reads` (an input several members read is bound once), computes
 * its operand through its own prologue or reads it as stored, and stores through its own epilogue
 * or none, into its own output and extra outputs; all share the reduction's params (`reduceWgsl`'s).
 *
 * Bindings: params; member 0's output; the inputs; then the written buffers: the outputs of
 * members 1.., per member its prologue's and its epilogue's extra outputs.
 *
 * @example
 * // out = sum(x0, axis 0) and out1 = sum(x1, axis 0) in one dispatch
 * reduceSiblingsWgsl({ type: 'f32', init: '0.0', combine: 'acc + v', schedule: 'thread' }, [{ reads: [0] }, { reads: [1] }]);
 */
export function reduceSiblingsWgsl({ type, init, combine, schedule }: Omit<ReduceSpec, 'prologue' | 'epilogue'>, members: readonly SiblingReduction[]): string {
  const inputTypes: string[] = [];
  for (const { reads, prologue, epilogue } of members) {
    // The operand's (T), or the prologue's inputs; then the epilogue's inputs.
    const types = [...(prologue ? prologue.spec.inputs.map((x) => x.type) : ['T']), ...(epilogue?.spec.inputs.map((x) => x.type) ?? [])];
    reads.forEach((k, p) => (inputTypes[k] = types[p]));
  }
  const outName = (j: number) => (j === 0 ? 'out' : `out${j}`);
  const outTypes = members.map((m) => m.epilogue?.spec.outType ?? type);
  const stores = members.map((m) => [...(m.prologue?.spec.stores ?? []), ...(m.epilogue?.spec.stores ?? [])]);
  const writesAt = 2 + inputTypes.length;
  let next = writesAt + members.length - 1;
  const bindings = [
    binding(1, 'out', outTypes[0], 'read_write'),
    ...inputTypes.map((t, k) => binding(2 + k, `x${k}`, t, 'read')),
    ...members.slice(1).map((_, j) => binding(writesAt + j, outName(j + 1), outTypes[j + 1], 'read_write')),
    ...stores.flatMap((list, j) => list.map((y, q) => binding(next++, `y${j}_${q}`, y.type, 'read_write'))),
  ];
  const functions = members.map(({ reads, prologue, epilogue }, j) => {
    const names = (first: number, firstStore: number) => ({ input: (k: number) => `x${reads[first + k]}`, store: (q: number) => `y${j}_${firstStore + q}`, root: outName(j) });
    const load = prologue ? loadFunction(`load${j}`, prologue.spec, prologue.at, names(0, 0)) : `fn load${j}(i: u32) -> T { return x${reads[0]}[i]; }`;
    const operands = prologue ? prologue.spec.inputs.length : 1;
    const store = epilogue
      ? storeFunction(`store${j}`, epilogue.spec, epilogue.at, names(operands, prologue?.spec.stores.length ?? 0))
      : `fn store${j}(i: u32, v: T) { ${outName(j)}[i] = v; }`;
    return `${load}\n${store}`;
  });
  return `${PRELUDE}
alias T = ${type};
${bindings.join('\n')}
${MATH}
${functions.join('\n')}
${OFFSETS.replace('COMBINE', combine)}
${reduceMain(schedule, init, members.length)}`;
}

/**
 * The entry point: with one member, `load` and `store`; with more, member j's `load{j}` and
 * `store{j}`, picked in a switch (WGSL cannot index bindings) by the output (`thread`) or the
 * workgroup (`workgroup`, so the member is uniform and the barriers stay outside the switch).
 */
function reduceMain(schedule: ReduceSpec['schedule'], init: string, members: number): string {
  const terms = (load: string) => [(r: string, j: number) => `let v${j} = ${load}(base + redOffset(${r}));`, (j: number) => `acc = combine(acc, v${j});`] as const;
  const pick = (code: (load: string, store: string) => string) =>
    members === 1
      ? code('load', 'store')
      : `switch member {\n${[...Array(members).keys()].map((j) => `    ${j === members - 1 ? 'default' : `case ${j}u`}: { ${code(`load${j}`, `store${j}`)} }`).join('\n')}\n  }`;
  if (schedule === 'thread') {
    const select = members === 1 ? '  if (i >= params[0]) { return; }\n  let o = i;' : `  if (i >= params[0] * ${members}u) { return; }\n  let member = i / params[0];\n  let o = i % params[0];`;
    return `${ENTRY_1D}
${select}
  let base = keptOffset(o);
  var acc: T = ${init};
  ${pick((load, store) => `${foldInOrder('r', '0u', 'params[1]', '1u', ...terms(load))}\n  ${store}(o, acc);`)}
}
`;
  }
  // Sibling reductions have one part per output: workgroup g is output g of all members'.
  const select =
    members === 1
      ? '  let parts = params[5];\n  let o = g / parts;\n  let valid = o < params[0];\n  let at = g;'
      : `  let parts = 1u;\n  let member = g / params[0];\n  let o = g % params[0];\n  let valid = member < ${members}u;\n  let at = o;`;
  return `var<workgroup> partial: array<T, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
${select}
  var acc: T = ${init};
  if (valid) {
    let base = keptOffset(o);
    let start = (g % parts) * params[4];
    let stop = min(params[1], start + params[4]);
    ${pick((load) => foldInOrder('r', 'start + lid', 'stop', `${WORKGROUP}u`, ...terms(load)))}
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    ${pick((_, store) => `${store}(at, partial[0]);`)}
  }
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
