/**
 * The CPU plan of a jitted program: a list of precompiled steps over a slot table of typed arrays.
 * Fused groups become one generated loop each (the same expression tables as eager kernels, with
 * intermediates rounded as their typed arrays would store them, so results are bit-identical to
 * eager mode). Fused loops, matmul, reductions and transposes write into buffers planned once by
 * liveness: a buffer is handed to a later step once its value's last reader has run. So do slices,
 * pads, concatenations, flips, gathers, scatter-adds, argmax/argmin (the prepared forms their eager
 * kernels call) and the random primitives (through the same Threefry code as their eager kernels).
 * Reshapes are views (no step), and a transpose read only by matrix products is folded into them
 * (they read its input as stored transposed). Any other primitive without an `out` path runs its
 * eager CPU kernel, which allocates its output. Values returned to the caller always get fresh
 * arrays, since they escape.
 */
import { ArrayTensor, type Aval, cpu, type DType, isReduceOp, type Params, type Primitive, sizeOf, type TypedArray } from '../../tensor';
import { allocate } from '../../tensor/dtype';
import { type CpuInput, cpuKernels } from '../../tensor/cpu';
import { compileElementwise, elementwiseJs, inputKind, storedJs } from '../../tensor/cpu/elementwise';
import { prepareMatmul } from '../../tensor/cpu/matmul';
import { prepareGather, prepareScatterAdd } from '../../tensor/cpu/gather';
import { prepareConcat, prepareFlip, preparePad, prepareSlice, prepareTranspose } from '../../tensor/cpu/movement';
import { prepareArgReduce, prepareReduce } from '../../tensor/cpu/reduce';
import { broadcastStrides } from '../../tensor/shape';
import { bitsToUnitFloat32Into, bitsToUnitFloat64Into, threefryHashInto } from '../../tensor/threefry';
import type { Equation, IRProgram, IRVar } from '../ir';
import { type FusedGroup, fuseElementwise, type PlanNode } from './fuse';

/** What a plan does per call. */
export interface PlanStats {
  /** Steps run per call (fused loops and single kernels). */
  readonly steps: number;
  /** Fused loops, and the equations they hold together. */
  readonly fusedGroups: number;
  readonly fusedEquations: number;
  /** Reused typed arrays and their total bytes. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  /** Typed arrays allocated per call: the outputs, and the outputs of kernels without an `out` path. */
  readonly allocationsPerCall: number;
  /** Of those, the ones that do not escape (kernels without an `out` path), by primitive. */
  readonly internalAllocations: Readonly<Record<string, number>>;
  /** WebGPU plans only: kernel dispatches recorded by the latest call. */
  readonly dispatchesPerCall?: number;
}

/** A compiled program: run it on concrete CPU tensors (the program's inputs, flattened). */
export interface CpuPlan {
  run(inputs: readonly ArrayTensor[]): ArrayTensor[];
  readonly stats: PlanStats;
}

type Step = () => void;
/** Where a step's output lives: a reused buffer, a fresh array per call, or what the kernel returns. */
type Storage = { kind: 'pool'; buffer: TypedArray } | { kind: 'fresh' } | { kind: 'kernel' };

/** A kernel writing into a given array: the input arrays, then the output. */
type IntoKernel = (inputs: readonly TypedArray[], out: TypedArray) => void;

/**
 * Transposes of the last two axes read only by matrix products, mapped to their inputs: the products
 * read the input as stored transposed, so the transpose is not copied.
 */
function foldableTransposes(nodes: readonly PlanNode[], outputs: readonly IRVar[]): Map<IRVar, IRVar> {
  const readers = new Map<IRVar, PlanNode[]>();
  for (const node of nodes) {
    for (const v of node.kind === 'fused' ? node.leaves : node.eq.inputs) {
      const list = readers.get(v);
      if (list) list.push(node);
      else readers.set(v, [node]);
    }
  }
  const folded = new Map<IRVar, IRVar>();
  for (const node of nodes) {
    if (node.kind !== 'single' || node.eq.prim !== 'transpose' || outputs.includes(node.out)) continue;
    const { perm } = node.eq.params as Params<'transpose'>;
    const r = perm.length;
    const swapsLastTwo = r >= 2 && perm.every((p, i) => p === (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
    const onlyProducts = (readers.get(node.out) ?? []).every((x) => x.kind === 'single' && x.eq.prim === 'matmul');
    if (swapsLastTwo && onlyProducts) folded.set(node.out, node.eq.inputs[0]);
  }
  return folded;
}

/** The write-into kernel of an equation, prepared for its shapes, or null where only the allocating one exists. */
function intoKernel(eq: Equation, folded: ReadonlyMap<IRVar, IRVar>): IntoKernel | null {
  const shapes = eq.inputs.map((v) => v.aval.shape);
  const out = eq.out.aval;
  if (isReduceOp(eq.prim)) {
    const run = prepareReduce(eq.prim, shapes[0], (eq.params as Params<'reduceSum'>).axes, out.dtype);
    return ([x], o) => run(x, o);
  }
  switch (eq.prim) {
    case 'matmul': {
      const layout = { transposeA: folded.has(eq.inputs[0]), transposeB: folded.has(eq.inputs[1]) };
      const run = prepareMatmul(shapes[0], shapes[1], out.shape, layout);
      return ([a, b], o) => run(a, b, o);
    }
    case 'transpose': {
      const run = prepareTranspose(shapes[0], (eq.params as Params<'transpose'>).perm);
      return ([x], o) => run(x, o);
    }
    case 'slice': {
      const { starts, steps } = eq.params as Params<'slice'>;
      const run = prepareSlice(shapes[0], starts, steps, out.shape);
      return ([x], o) => run(x, o);
    }
    case 'pad': {
      const { lo, interior } = eq.params as Params<'pad'>;
      const run = preparePad(shapes[0], lo, interior, out.shape);
      return ([x], o) => run(x, o);
    }
    case 'flip': {
      const run = prepareFlip(shapes[0], (eq.params as Params<'flip'>).axes);
      return ([x], o) => run(x, o);
    }
    case 'argmax':
    case 'argmin': {
      const run = prepareArgReduce(eq.prim, shapes[0], (eq.params as Params<'argmax'>).axis);
      return ([x], o) => run(x, o);
    }
    case 'gather': {
      const run = prepareGather(shapes[0], shapes[1], (eq.params as Params<'gather'>).axis, out.shape);
      return ([x, idx], o) => run(x, idx, o);
    }
    case 'scatterAdd': {
      const run = prepareScatterAdd(shapes[0], shapes[1], (eq.params as Params<'scatterAdd'>).axis, out.shape);
      return ([updates, idx], o) => run(updates, idx, o);
    }
    case 'concat':
      return prepareConcat(shapes, (eq.params as Params<'concat'>).axis, out.shape);
    case 'threefry':
      return ([key, counts], o) => threefryHashInto(key as Uint32Array, counts as Uint32Array, o as Uint32Array);
    case 'uniformFromBits':
      return out.dtype === 'float32'
        ? ([bits], o) => bitsToUnitFloat32Into(bits as Uint32Array, o as Float32Array)
        : ([bits], o) => bitsToUnitFloat64Into(bits as Uint32Array, o as Float64Array);
    default:
      return null;
  }
}

/** Generated code of a fused group: per-element statements and the root's expression. */
function fusedCode(group: FusedGroup): { pre: string; body: string } {
  const names = new Map<IRVar, string>();
  group.leaves.forEach((v, k) => names.set(v, `a${k}`));
  const lines: string[] = [];
  let body = '';
  group.members.forEach((eq, j) => {
    const args = eq.inputs.map((v) => names.get(v) as string);
    const expr = elementwiseJs(eq.prim, args, eq.inputs[0].aval.dtype, eq.out.aval.dtype);
    if (eq === group.members[group.members.length - 1]) {
      body = expr;
    } else {
      names.set(eq.out, `t${j}`);
      lines.push(`const t${j} = ${storedJs(expr, eq.out.aval.dtype)};`);
    }
  });
  return { pre: lines.join(' '), body };
}

/**
 * Compiles an optimized program (all constants concrete CPU tensors) into a CPU plan.
 *
 * @example
 * const plan = compileCpuPlan(optimizeProgram(makeIR(f)(x))[0]);
 * const [y] = plan.run([x]);
 */
export function compileCpuPlan(program: IRProgram): CpuPlan {
  const nodes = fuseElementwise(program);
  const folded = foldableTransposes(nodes, program.outputs);
  const slotOf = new Map<IRVar, number>();
  const env: TypedArray[] = [];
  const newSlot = (v: IRVar) => {
    slotOf.set(v, env.length);
    env.push(new Float64Array(0));
  };
  program.inputs.forEach(newSlot);
  for (const { v, value } of program.constants) {
    newSlot(v);
    env[slotOf.get(v) as number] = (value as ArrayTensor).handle as TypedArray;
  }
  // Slots of step outputs; a reshape shares its input's slot (a view); folded transposes have none.
  const computed = nodes.filter((node) => {
    if (node.kind === 'single' && folded.has(node.out)) return false;
    if (node.kind === 'single' && node.eq.prim === 'reshape') {
      slotOf.set(node.out, slotOf.get(node.eq.inputs[0]) as number);
      return false;
    }
    newSlot(node.out);
    return true;
  });
  const slot = (v: IRVar) => slotOf.get(v) as number;
  const escaping = new Set(program.outputs.map(slot));
  const reads = computed.map((node) =>
    (node.kind === 'fused' ? node.leaves : node.eq.inputs.map((v) => folded.get(v) ?? v)).map(slot),
  );
  const lastRead = new Map<number, number>();
  reads.forEach((slots, s) => slots.forEach((k) => lastRead.set(k, s)));

  // Buffer plan: take a free buffer of the same dtype and size, give back the ones read for the last time.
  const free = new Map<string, TypedArray[]>();
  const pooledSlots = new Map<number, { buffer: TypedArray; key: string }>();
  const keyOf = (aval: Aval) => `${aval.dtype}:${sizeOf(aval.shape)}`;
  let pooledBuffers = 0;
  let pooledBytes = 0;
  const acquire = (aval: Aval): TypedArray => {
    const buffer = free.get(keyOf(aval))?.pop();
    if (buffer) return buffer;
    const fresh = allocate(aval.dtype, sizeOf(aval.shape));
    pooledBuffers++;
    pooledBytes += fresh.byteLength;
    return fresh;
  };
  const release = (k: number) => {
    const pooled = pooledSlots.get(k);
    if (!pooled) return;
    pooledSlots.delete(k);
    free.set(pooled.key, [...(free.get(pooled.key) ?? []), pooled.buffer]);
  };
  const into = computed.map((node) => (node.kind === 'single' ? intoKernel(node.eq, folded) : null));
  const storages: Storage[] = computed.map((node, s) => {
    const k = slot(node.out);
    let storage: Storage;
    if (node.kind === 'single' && !into[s]) storage = { kind: 'kernel' };
    else if (escaping.has(k)) storage = { kind: 'fresh' };
    else {
      storage = { kind: 'pool', buffer: acquire(node.out.aval) };
      pooledSlots.set(k, { buffer: storage.buffer, key: keyOf(node.out.aval) });
    }
    for (const r of new Set(reads[s])) if (lastRead.get(r) === s) release(r);
    if (!lastRead.has(k)) release(k);
    return storage;
  });

  const internalAllocations: Record<string, number> = {};
  let allocationsPerCall = 0;
  const steps: Step[] = computed.map((node, s) => {
    const storage = storages[s];
    const out = node.out.aval;
    const k = slot(node.out);
    if (storage.kind !== 'pool') allocationsPerCall++;
    if (node.kind === 'single' && storage.kind === 'kernel' && !escaping.has(k)) {
      internalAllocations[node.eq.prim] = (internalAllocations[node.eq.prim] ?? 0) + 1;
    }
    const target = (): TypedArray => {
      const buffer = storage.kind === 'pool' ? storage.buffer : allocate(out.dtype, sizeOf(out.shape));
      env[k] = buffer;
      return buffer;
    };
    const from = reads[s];
    if (node.kind === 'fused') {
      const n = sizeOf(out.shape);
      const kinds = node.leaves.map((v) => inputKind(sizeOf(v.aval.shape), n));
      const strides = node.leaves.map((v) => broadcastStrides(v.aval.shape, out.shape));
      const { pre, body } = fusedCode(node);
      const kernel = compileElementwise(body, kinds, pre);
      const inputs: TypedArray[] = from.map((r) => env[r]);
      return () => {
        for (let i = 0; i < from.length; i++) inputs[i] = env[from[i]];
        kernel(target(), out.shape, inputs, strides);
      };
    }
    const { eq } = node;
    const run = into[s];
    if (run) {
      const inputs: TypedArray[] = from.map((r) => env[r]);
      return () => {
        for (let i = 0; i < from.length; i++) inputs[i] = env[from[i]];
        run(inputs, target());
      };
    }
    const kernel = cpuKernels[eq.prim] as (inputs: readonly CpuInput[], params: Params<Primitive>, out: Aval) => TypedArray;
    const inputs = eq.inputs.map((v) => ({ values: env[slot(v)], aval: v.aval, shape: v.aval.shape }));
    return () => {
      for (let i = 0; i < from.length; i++) inputs[i].values = env[from[i]];
      env[k] = kernel(inputs, eq.params, out);
    };
  });

  const inputSlots = program.inputs.map(slot);
  const outputs = program.outputs.map((v) => ({ k: slot(v), shape: v.aval.shape, dtype: v.aval.dtype as DType }));
  const stats: PlanStats = {
    steps: steps.length,
    fusedGroups: computed.filter((node) => node.kind === 'fused').length,
    fusedEquations: computed.reduce((n, node) => n + (node.kind === 'fused' ? node.members.length : 0), 0),
    pooledBuffers,
    pooledBytes,
    allocationsPerCall,
    internalAllocations,
  };
  return {
    stats,
    run(inputs) {
      for (let i = 0; i < inputSlots.length; i++) env[inputSlots[i]] = inputs[i].handle as TypedArray;
      for (let s = 0; s < steps.length; s++) steps[s]();
      return outputs.map(({ k, shape, dtype }) => new ArrayTensor(cpu, env[k], shape, dtype));
    },
  };
}
