/**
 * The CPU plan of a jitted program: a list of precompiled steps over a slot table of typed arrays,
 * all views into one WebAssembly memory (the arena). Float32 matrix products, float sums over
 * contiguous axes and fused float groups whose operations have an exact SIMD form run as
 * WebAssembly kernels there (`tensor/cpu/wasm/`); other fused groups become one generated JS loop
 * each (the eager expression tables, intermediates rounded as their typed arrays would store them).
 * Either way results are bit-identical to eager mode. Steps write into buffers planned once by
 * liveness: a buffer is handed to a later step once its value's last reader has run. So do slices,
 * pads, concatenations, flips, gathers, scatter-adds, argmax/argmin (the prepared forms their eager
 * kernels call) and the random primitives (through the same Threefry code as their eager kernels).
 * Reshapes are views (no step), and a transpose read only by matrix products is folded into them
 * (they read its input as stored transposed). Any other primitive without an `out` path runs its
 * eager CPU kernel, which allocates its output. Values returned to the caller always get fresh
 * arrays, since they escape.
 */
import { ArrayTensor, type Aval, cpu, type DType, formatShape, isArgReduceOp, isReduceOp, type Params, type Primitive, sizeOf, type TypedArray } from '../../tensor';
import { allocate, bytesOf, viewOf } from '../../tensor/dtype';
import { type CpuInput, cpuKernels } from '../../tensor/cpu';
import {
  broadcastIndex,
  collapseBroadcast,
  compileElementwise,
  elementwiseJs,
  type InputKind,
  inputKind,
  storedJs,
} from '../../tensor/cpu/elementwise';
import { matmulBatchOffsets, prepareMatmul } from '../../tensor/cpu/matmul';
import type { FunctionDef } from '../../tensor/cpu/wasm/emit';
import { type LaneDType, type LaneGroup, laneBytes, laneFunction, type LaneRead, type LaneRef, readsWholeVectors, transcendentalsOf } from '../../tensor/cpu/wasm/elementwise';
import { reductionLayout } from '../../tensor/cpu/wasm/reduce';
import { gatherAlongAxis, rowCopies, type RowCopies, transposeAsMatrices } from '../../tensor/cpu/wasm/copy';
import { MatmulBlock } from '../../tensor/cpu/wasm/matmul';
import { arenaHolding, matmulBlockLayout, packedBytes, packsB, transposesA, WasmArena } from '../../tensor/cpu/wasm/runtime';
import { batchChunks, THREADED_LANES_MIN_BYTES, THREADED_MATMUL_MIN, THREADED_SUM_MIN, THREADED_TRANSCENDENTALS_MIN } from '../../tensor/cpu/wasm/threads';
import { prepareGather, prepareScatterAdd } from '../../tensor/cpu/gather';
import { prepareConcat, prepareFlip, preparePad, prepareSlice, prepareTranspose } from '../../tensor/cpu/movement';
import { prepareArgReduce, prepareReduce } from '../../tensor/cpu/reduce';
import { broadcastStrides } from '../../tensor/shape';
import { bitsToUnitFloat32Into, bitsToUnitFloat64Into, threefryHashInto } from '../../tensor/threefry';
import type { Equation, IRProgram, IRVar } from '../ir';
import { DonatedRegions, pairDonations } from './donation';
import { type FusedGroup, fuseElementwise, type PlanNode, storedBy } from './fuse';
import { outerProductsAsBroadcasts } from './outer-products';
import { recordingFor, runTimed } from './profile-cpu';
import { foldableTransposes } from './transposes';

/** What a plan does per call. */
export interface PlanStats {
  /** Steps run per call (fused loops and single kernels). */
  readonly steps: number;
  /** Fused loops, and the equations they hold together. */
  readonly fusedGroups: number;
  readonly fusedEquations: number;
  /**
   * Steps run in WebAssembly (float32 matrix products, float reductions, fused float loops with a
   * SIMD form, slices, pads and concatenations that copy rows, threefry hashes).
   */
  readonly wasmSteps?: number;
  /**
   * CPU plans only: fused loops run within the threaded product before them, over each thread's rows
   * of its result as they are computed (the loop reads the result elementwise: bias and ReLU, a mask).
   */
  readonly productEpilogues?: number;
  /**
   * CPU plans only: outputs of fused WebAssembly loops written into the region of a leaf the loop
   * reads for the last time (element by element, so in place is exact: a bias-and-ReLU epilogue
   * writes over its product's result).
   */
  readonly overwrittenLeaves?: number;
  /** Reused typed arrays and their total bytes. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  /** Typed arrays allocated per call: the outputs, and the outputs of kernels without an `out` path. */
  readonly allocationsPerCall: number;
  /** Of those, the ones that do not escape (kernels without an `out` path), by primitive. */
  readonly internalAllocations: Readonly<Record<string, number>>;
  /** Donated inputs whose memory an output reuses (neither is copied per call). */
  readonly donatedInPlace?: number;
  /** CPU plans only: the guests of this plan compiled so far, in other plans' shared memories (`compileCpuPlan`). */
  readonly guestPlans?: number;
  /** WebGPU plans only: kernel dispatches recorded by the latest call. */
  readonly dispatchesPerCall?: number;
}

/** How a CPU plan treats its inputs. */
export interface CpuPlanOptions {
  /**
   * Per input: whether the caller gives it up (`jit`'s `donateArgnums`). A donated input with an
   * output of its shape and dtype shares memory with that output (`donation.ts`).
   */
  readonly donated?: readonly boolean[];
  /** The plan's name in step profiles (`profileCpu`): the jitted function's. */
  readonly name?: string;
}

/** A compiled program: run it on concrete CPU tensors (the program's inputs, flattened). */
export interface CpuPlan {
  run(inputs: readonly ArrayTensor[]): ArrayTensor[];
  readonly stats: PlanStats;
  /** The outputs that may hand out an input's own array (an input returned as it is, or reshaped); the others are new. */
  readonly sharingOutputs: readonly number[];
}

type Step = () => void;
/** Where a step's output lives: a reused buffer, a fresh array per call, or what the kernel returns. */
type Storage = { kind: 'pool'; region: Region } | { kind: 'fresh' } | { kind: 'kernel' };

/** A kernel writing into a given array: the input arrays, then the output. */
type IntoKernel = (inputs: readonly TypedArray[], out: TypedArray) => void;

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

/** Generated code of a fused group: per-element statements, the root's expression, and the locals of extra outputs. */
function fusedCode(group: FusedGroup): { pre: string; body: string; stores: string[] } {
  const extra = new Set(storedBy(group).slice(0, -1));
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
  return { pre: lines.join(' '), body, stores: [...extra].map((v) => names.get(v) as string) };
}

/** Reductions with a WebAssembly kernel (float inputs, a contiguous run of axes), by kernel name. */
const WASM_REDUCTIONS = new Map<Primitive, 'sum' | 'max' | 'min' | 'argmax' | 'argmin'>([
  ['reduceSum', 'sum'],
  ['reduceMax', 'max'],
  ['reduceMin', 'min'],
  ['argmax', 'argmax'],
  ['argmin', 'argmin'],
]);

/** The axes a reduction (or an argmax or argmin, over one) reduces. */
const reducedAxes = (eq: Equation): readonly number[] =>
  isArgReduceOp(eq.prim) ? [(eq.params as Params<'argmax'>).axis] : (eq.params as Params<'reduceSum'>).axes;

/** Results the caller gets back share one copied block from this many elements on (smaller ones are copied alone). */
const OUTPUT_BLOCK_MIN_ELEMENTS = 64;

/** Fused JS loops up to this many elements read broadcast leaves through index arrays (4 bytes each). */
const INDEXED_BROADCAST_MAX = 1 << 16;

/**
 * Fused WebAssembly loops up to this many elements read leaves they cannot read as whole vectors
 * through index arrays (4 bytes an element each); larger ones run as JS loops. A vmapped mixture's
 * `[100, 5, 32, 5, 1]` group (80,000 elements) took 0.79 ms as a JS loop.
 */
const GATHERED_LANES_MAX = 1 << 18;

/** A byte range of the plan's WebAssembly arena holding `size` elements of `dtype`. */
interface Region {
  readonly offset: number;
  readonly dtype: DType;
  readonly size: number;
}

/** How a fused group's leaf is read, in the lanes' terms, or null when SIMD cannot read it. */
function laneRead(leaf: Aval, out: Aval): LaneRead | null {
  const n = sizeOf(out.shape);
  const kind = inputKind(sizeOf(leaf.shape), n);
  if (kind !== 'b') return { kind };
  // A block pattern: output axes [0, d1) and [d2, r) index the leaf as one contiguous [O, R] array,
  // axes [d1, d2) are broadcast (M repeats).
  const strides = broadcastStrides(leaf.shape, out.shape);
  const r = out.shape.length;
  const size = (from: number, to: number) => sizeOf(out.shape.slice(from, to));
  const contiguous = (from: number, to: number, unit: number) => {
    for (let q = to - 1, expect = unit; q >= from; expect *= out.shape[q], q--) if (out.shape[q] !== 1 && strides[q] !== expect) return false;
    return true;
  };
  const broadcast = (from: number, to: number) => strides.slice(from, to).every((x, q) => x === 0 || out.shape[from + q] === 1);
  for (let d1 = 0; d1 <= r; d1++) {
    for (let d2 = d1 + 1; d2 <= r; d2++) {
      const inner = size(d2, r);
      if (broadcast(d1, d2) && contiguous(d2, r, 1) && contiguous(0, d1, inner)) return { kind: 'block', inner, repeat: size(d1, d2) };
    }
  }
  return null;
}

/**
 * A fused group as lanes (leaf and output addresses from `address`), or null when its output and
 * leaves are not all float64, or all float32 and int32. Leaves whose vectors would not stay in one
 * row are gathered lane by lane through an index array (at `indexAddress(k)` for leaf k), up to
 * GATHERED_LANES_MAX elements.
 */
function laneGroup(group: FusedGroup, address: (v: IRVar) => number, indexAddress: (k: number) => number): LaneGroup | null {
  const dtype = group.out.aval.dtype;
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') return null;
  const fourLanes = (d: DType) => d === 'float32' || d === 'int32';
  const leaves: LaneGroup['leaves'][number][] = [];
  for (const [k, v] of group.leaves.entries()) {
    if (v.aval.dtype !== dtype && !(fourLanes(v.aval.dtype) && fourLanes(dtype))) return null;
    const int = v.aval.dtype === 'int32';
    const read = laneRead(v.aval, group.out.aval);
    if (read !== null && readsWholeVectors(read, dtype)) leaves.push({ ...read, address: address(v), int });
    else if (sizeOf(group.out.aval.shape) <= GATHERED_LANES_MAX) leaves.push({ kind: 'gather', index: indexAddress(k), address: address(v), int });
    else return null;
  }
  const index = new Map<IRVar, LaneRef>(group.leaves.map((v, k) => [v, { leaf: k }]));
  const members = group.members.map((eq, j) => {
    index.set(eq.out, { member: j });
    return { prim: eq.prim, inputs: eq.inputs.map((v) => index.get(v) as LaneRef), outDtype: eq.out.aval.dtype };
  });
  const stores = storedBy(group)
    .slice(0, -1)
    .map((v) => ({ member: (index.get(v) as { member: number }).member, address: address(v) }));
  return { dtype, size: sizeOf(group.out.aval.shape), leaves, members, outAddress: address(group.out), stores };
}

/** A float32 product of one matrix large enough to be shared across threads. */
function isThreadedProduct(node: PlanNode): boolean {
  if (node.kind !== 'single' || node.eq.prim !== 'matmul' || node.out.aval.dtype !== 'float32') return false;
  const shape = node.out.aval.shape;
  const k = node.eq.inputs[0].aval.shape.at(-1) as number;
  return sizeOf(shape.slice(0, -2)) === 1 && sizeOf(shape) * k >= THREADED_MATMUL_MIN;
}

/** Outputs of at most this many elements that depend only on the inputs are computed first. */
const EARLY_ELEMENTS = 64;

/**
 * The steps with those computing small values from the program's inputs and constants alone first
 * (an optimizer's bias corrections from its step count), so that loops reading them (its updates)
 * can follow the products they read (`hoistEpilogues`); the others keep their order.
 */
function earlyScalars(steps: readonly PlanNode[], slot: (v: IRVar) => number, readsOf: (node: PlanNode) => readonly IRVar[]): PlanNode[] {
  const computed = new Set(steps.flatMap((node) => storedBy(node).map(slot)));
  const early = new Set<number>();
  const first = steps.filter((node) => {
    const reads = readsOf(node).map(slot);
    const small = storedBy(node).every((v) => sizeOf(v.aval.shape) <= EARLY_ELEMENTS);
    if (!small || reads.some((k) => computed.has(k) && !early.has(k))) return false;
    storedBy(node).forEach((v) => early.add(slot(v)));
    return true;
  });
  const moved = new Set(first);
  return [...first, ...steps.filter((node) => !moved.has(node))];
}

/**
 * The steps in an order where each fused loop that reads a large product's result comes right after
 * the product when it can (every value it reads, by slot, computed by then), so that the product
 * runs it as its epilogue (`matmulThenLoop`); small values from the inputs alone come first
 * (`earlyScalars`), the others keep their order.
 */
function hoistEpilogues(steps: readonly PlanNode[], slot: (v: IRVar) => number, readsOf: (node: PlanNode) => readonly IRVar[]): PlanNode[] {
  const order = earlyScalars(steps, slot, readsOf);
  const producers = () => new Map(order.flatMap((node, i) => storedBy(node).map((v) => [slot(v), i] as const)));
  let producer = producers();
  for (let s = 0; s < order.length; s++) {
    const product = order[s];
    if (!isThreadedProduct(product)) continue;
    const readsResult = (node: PlanNode | undefined) => node?.kind === 'fused' && node.leaves.includes(product.out);
    if (readsResult(order[s + 1])) continue;
    const ready = (v: IRVar) => (producer.get(slot(v)) ?? -1) <= s;
    const t = order.findIndex((node, i) => i > s + 1 && readsResult(node) && (node as FusedGroup).leaves.every(ready));
    if (t < 0) continue;
    order.splice(s + 1, 0, ...order.splice(t, 1));
    producer = producers();
  }
  return order;
}

/**
 * Compiles an optimized program (all constants concrete CPU tensors) into a CPU plan. Its buffers
 * live in one WebAssembly memory (the arena) so that float32 matrix products, float sums and fused
 * float loops that have a SIMD form run there without copies; values from outside the arena (the
 * inputs, kernels that allocate) are copied in where such a step reads them, and results the caller
 * gets back are copied out. Inputs already in the arena's memory (a shared one, `compilePlan`) are
 * read in place by products and reductions and copied by `memory.copy` for fused loops.
 *
 * @example
 * const plan = compileCpuPlan(optimizeProgram(makeIR(f)(x))[0]);
 * const [y] = plan.run([x]);
 */
export function compileCpuPlan(program: IRProgram, options: CpuPlanOptions = {}): CpuPlan {
  return compilePlan(outerProductsAsBroadcasts(program), options, null) as CpuPlan;
}

/**
 * Bytes of a plan's inputs from one threaded arena's memory from which the plan runs as a guest
 * there (when they are also more than its inputs from elsewhere): below it the copy costs less than
 * the guest's own set-up is worth.
 */
const GUEST_MIN_BYTES = 16384;

/** Inputs smaller than this do not count in the choice of a guest (an observation, a key). */
const GUEST_INPUT_MIN_BYTES = 1024;

/**
 * `compileCpuPlan`, or with a `host` the plan as a guest in the host's shared memory (null when it
 * does not fit there). A plan without threads of its own whose largest inputs live in a threaded
 * arena's memory (another plan's results, such as an update's parameters read by an actor) runs as
 * a guest of that arena, compiled on first such call: its products and reductions then read those
 * inputs where they lie and its fused loops copy them with `memory.copy`, instead of JS copying them
 * out of a SharedArrayBuffer.
 */
function compilePlan(program: IRProgram, options: CpuPlanOptions, host: WasmArena | null): CpuPlan | null {
  const nodes = fuseElementwise(program, { multiOutput: true });
  const folded = foldableTransposes(nodes, program.outputs);
  const slotOf = new Map<IRVar, number>();
  const env: TypedArray[] = [];
  const newSlot = (v: IRVar) => {
    slotOf.set(v, env.length);
    env.push(new Float64Array(0));
  };
  program.inputs.forEach(newSlot);
  program.constants.forEach(({ v }) => newSlot(v));
  // Slots of step outputs; a reshape shares its input's slot (a view); folded transposes have none.
  const kept = nodes.filter((node) => {
    if (node.kind === 'single' && folded.has(node.out)) return false;
    if (node.kind === 'single' && node.eq.prim === 'reshape') {
      slotOf.set(node.out, slotOf.get(node.eq.inputs[0]) as number);
      return false;
    }
    storedBy(node).forEach(newSlot);
    return true;
  });
  const slot = (v: IRVar) => slotOf.get(v) as number;
  /** What a step reads: a fused loop's leaves, a kernel's inputs (a folded transpose's input for it). */
  const readsOf = (node: PlanNode) => (node.kind === 'fused' ? node.leaves : node.eq.inputs.map((v) => folded.get(v) ?? v));
  const computed = hoistEpilogues(kept, slot, readsOf);
  const escaping = new Set(program.outputs.map(slot));
  const readVars = computed.map(readsOf);
  const reads = readVars.map((vars) => vars.map(slot));
  const lastRead = new Map<number, number>();
  reads.forEach((slots, s) => slots.forEach((k) => lastRead.set(k, s)));

  let arenaBytes = host ? host.guestBase() : 0;
  const reserve = (aval: Aval): Region => {
    const region = { offset: arenaBytes, dtype: aval.dtype, size: sizeOf(aval.shape) };
    arenaBytes += Math.ceil((region.size * bytesOf(aval.dtype)) / 16) * 16;
    return region;
  };
  /** Where a slot's value is in the arena, for the steps that run there. */
  const home = new Map<number, Region>();
  program.constants.forEach(({ v }) => home.set(slot(v), reserve(v.aval)));

  // Buffer plan: take a free region of the same dtype and size, give back the ones read for the last time.
  const free = new Map<string, Region[]>();
  const pooledSlots = new Map<number, { region: Region; key: string }>();
  const keyOf = (aval: Aval) => `${aval.dtype}:${sizeOf(aval.shape)}`;
  let pooledBuffers = 0;
  let pooledBytes = 0;
  let overwrittenLeaves = 0;
  const acquire = (aval: Aval): Region => {
    const region = free.get(keyOf(aval))?.pop();
    if (region) return region;
    pooledBuffers++;
    pooledBytes += sizeOf(aval.shape) * bytesOf(aval.dtype);
    return reserve(aval);
  };
  const release = (k: number) => {
    const pooled = pooledSlots.get(k);
    if (!pooled) return;
    pooledSlots.delete(k);
    free.set(pooled.key, [...(free.get(pooled.key) ?? []), pooled.region]);
  };
  // Fused groups as lanes with placeholder addresses: which have a SIMD form, and which leaves they gather.
  const probes = computed.map((node) => (node.kind === 'fused' ? laneGroup(node, () => 0, () => 0) : null));
  /** Slices, pads, concatenations and transposes of 4- or 8-byte elements that are copies of rows (`rowCopies`). */
  const movements = computed.map((node): RowCopies | null => {
    if (node.kind !== 'single') return null;
    const { eq } = node;
    const bytes = bytesOf(eq.out.aval.dtype);
    if (bytes !== 4 && bytes !== 8) return null;
    const shapes = eq.inputs.map((v) => v.aval.shape);
    if (eq.prim === 'slice') return rowCopies({ prim: 'slice', ...(eq.params as Params<'slice'>) }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'pad') return rowCopies({ prim: 'pad', ...(eq.params as Params<'pad'>) }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'concat') return rowCopies({ prim: 'concat', axis: (eq.params as Params<'concat'>).axis }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'transpose') return rowCopies({ prim: 'transpose', perm: (eq.params as Params<'transpose'>).perm }, shapes, eq.out.aval.shape, bytes);
    return null;
  });
  /** Transposes of 4-byte elements that are matrix transposes (`transposeAsMatrices`). */
  const transposes = computed.map((node) => {
    if (node.kind !== 'single' || node.eq.prim !== 'transpose' || bytesOf(node.out.aval.dtype) !== 4) return null;
    return transposeAsMatrices(node.eq.inputs[0].aval.shape, (node.eq.params as Params<'transpose'>).perm);
  });
  /** Gathers of 4-byte elements along an axis by int32 indices, x not broadcast, the indices not or one per row (`gatherAlongAxis`). */
  const alongAxis = computed.map((node) => {
    if (node.kind !== 'single' || node.eq.prim !== 'gather' || bytesOf(node.out.aval.dtype) !== 4 || node.eq.inputs[1].aval.dtype !== 'int32') return null;
    const [xShape, idxShape] = node.eq.inputs.map((v) => v.aval.shape);
    return gatherAlongAxis(xShape, idxShape, (node.eq.params as Params<'gather'>).axis, node.out.aval.shape);
  });
  /** Threefry hashes and their float32 uniforms. */
  const random = (node: PlanNode) =>
    node.kind === 'single' && (node.eq.prim === 'threefry' || (node.eq.prim === 'uniformFromBits' && node.out.aval.dtype === 'float32'));
  // Steps that run in WebAssembly: those copies, transposes and gathers, random bits and uniforms,
  // float32 matrix products, float reductions (and argmax, argmin) over a contiguous run of axes,
  // and fused loops with a SIMD form.
  const inWasm = computed.map((node, s) => {
    if (movements[s] || transposes[s] || alongAxis[s] || random(node)) return true;
    const dtypes = node.kind === 'single' ? [...readVars[s], node.out].map((v) => v.aval.dtype) : [];
    if (node.kind === 'single' && node.eq.prim === 'matmul') return dtypes.every((d) => d === 'float32');
    if (node.kind === 'single' && WASM_REDUCTIONS.has(node.eq.prim)) {
      // Float values in; the same dtype out, or int32 indices.
      const [x, out] = dtypes;
      const floats = (x === 'float32' || x === 'float64') && (out === x || isArgReduceOp(node.eq.prim));
      return floats && reductionLayout(node.eq.inputs[0].aval.shape, reducedAxes(node.eq)) !== null;
    }
    if (node.kind === 'single') return false;
    const group = probes[s];
    return group !== null && laneFunction('probe', group) !== null;
  });
  /** The `[reduced, inner]` layout of step s when it is a float sum over rows (outer 1), which threads share by columns. */
  const rowSum = (s: number) => {
    const node = computed[s];
    if (node.kind !== 'single' || node.eq.prim !== 'reduceSum' || !inWasm[s]) return null;
    const layout = reductionLayout(node.eq.inputs[0].aval.shape, (node.eq.params as Params<'reduceSum'>).axes);
    return layout && layout.outer === 1 ? layout : null;
  };
  /** Whether fused loop s is shared across threads: a large output, or many transcendentals. */
  const sharedLoop = (s: number) => {
    const { out } = computed[s];
    const heavy = transcendentalsOf(probes[s] as LaneGroup) * sizeOf(out.aval.shape) >= THREADED_TRANSCENDENTALS_MIN;
    return heavy || sizeOf(out.aval.shape) * bytesOf(out.aval.dtype) >= THREADED_LANES_MIN_BYTES;
  };
  /** The float32 products run in the arena: sizes, batch offsets and operands stored transposed. */
  const products = computed.map((node, s) => {
    if (!inWasm[s] || node.kind !== 'single' || node.eq.prim !== 'matmul') return null;
    const [aShape, bShape] = node.eq.inputs.map((v) => v.aval.shape);
    const [m, k] = aShape.slice(-2);
    const n = bShape[bShape.length - 1];
    const offsets = matmulBatchOffsets(aShape, bShape, node.out.aval.shape.slice(0, -2));
    return { m, k, n, offsets, batch: offsets.a.length, transposeA: folded.has(node.eq.inputs[0]), transposeB: folded.has(node.eq.inputs[1]) };
  });
  // Worker threads share the large float32 products (one product's rows, or a batch's products) and
  // fused loops (only worth a shared memory when there are any).
  const threaded = computed.some((node, s) => {
    if (!inWasm[s]) return false;
    if (node.kind === 'fused') return sharedLoop(s);
    const rows = rowSum(s);
    if (rows) return rows.reduced * rows.inner >= THREADED_SUM_MIN;
    const product = products[s];
    return product !== null && product.batch * product.m * product.k * product.n >= THREADED_MATMUL_MIN;
  });
  // Fused loops that read a threaded product's result elementwise right after it run on its rows as
  // each thread computes them (`matmulThenLoop`): by product step, its loop's step.
  const epilogueOf = new Map<number, number>();
  products.forEach((product, s) => {
    const loop = computed[s + 1];
    if (!threaded || !product || !isThreadedProduct(computed[s])) return;
    if (!inWasm[s + 1] || loop.kind !== 'fused' || loop.out.aval.dtype !== 'float32' || sizeOf(loop.out.aval.shape) !== product.m * product.n) return;
    if (loop.leaves.includes(computed[s].out)) epilogueOf.set(s, s + 1);
  });
  const into = computed.map((node) => (node.kind === 'single' ? intoKernel(node.eq, folded) : null));
  /** What step s is, for step profiles: a product names its epilogue too. */
  const labelOf = (s: number): string => {
    const node = computed[s];
    const where = inWasm[s] ? 'wasm' : node.kind === 'fused' || into[s] ? 'js' : 'eager kernel';
    if (node.kind === 'fused') {
      const prims = [...new Set(node.members.map((eq) => eq.prim))].join(',');
      const outputs = storedBy(node).length > 1 ? ` (${storedBy(node).length} outputs)` : '';
      return `fused[${prims}] ${formatShape(node.out.aval.shape)}${outputs} ${where}`;
    }
    const product = products[s];
    if (product) {
      const [a, b] = [product.transposeA ? 'ᵀ' : '', product.transposeB ? 'ᵀ' : ''];
      const batch = product.batch > 1 ? `${product.batch} x ` : '';
      const loop = epilogueOf.get(s);
      const epilogue = loop === undefined ? '' : ` + epilogue[${[...new Set((computed[loop] as FusedGroup).members.map((eq) => eq.prim))].join(',')}]`;
      return `${batch}matmul ${product.m}x${product.k}${a}·${product.k}x${product.n}${b}${epilogue} ${where}`;
    }
    return `${node.eq.prim} ${readVars[s].map((v) => formatShape(v.aval.shape)).join(', ')} → ${formatShape(node.out.aval.shape)} ${where}`;
  };
  /**
   * The leaves fused loop s may overwrite: read here for the last time, pooled, and read at the very
   * byte its output lane is written (a whole-size leaf of the output's dtype). A lane loads every
   * leaf before it stores anything, and each thread runs whole lanes (an epilogue, its own rows),
   * so its outputs can take those leaves' regions: written where they were just read, in cache,
   * instead of fresh memory. A product's operands stay (other threads may still read them).
   */
  const overwritable = (s: number): number[] => {
    const node = computed[s];
    if (!inWasm[s] || node.kind !== 'fused') return [];
    const product = epilogueOf.get(s - 1) === s ? new Set(reads[s - 1]) : new Set<number>();
    const size = sizeOf(node.out.aval.shape);
    const leafSlots = node.leaves.map(slot);
    return [...new Set(leafSlots)].filter(
      (k) =>
        lastRead.get(k) === s &&
        pooledSlots.has(k) &&
        !product.has(k) &&
        node.leaves.every((v, q) => leafSlots[q] !== k || (v.aval.dtype === node.out.aval.dtype && sizeOf(v.aval.shape) === size)),
    );
  };
  /** Per step, the storage of each value it stores (`storedBy` order). */
  const storages: Storage[][] = computed.map((node, s) => {
    // Released first, so that the loop's outputs (of the same dtype and size) take their regions.
    const overwrite = overwritable(s);
    overwrite.forEach(release);
    const regionsRead = new Set(overwrite.map((k) => (home.get(k) as Region).offset));
    const stored = storedBy(node).map((v): Storage => {
      const k = slot(v);
      if (node.kind === 'single' && !into[s]) return { kind: 'kernel' };
      if (escaping.has(k)) return { kind: 'fresh' };
      const region = acquire(v.aval);
      if (regionsRead.has(region.offset)) overwrittenLeaves++;
      pooledSlots.set(k, { region, key: keyOf(v.aval) });
      home.set(k, region);
      return { kind: 'pool', region };
    });
    // A product keeps its operands until its epilogue's outputs are placed: threads still read them
    // while others run the loop.
    if (epilogueOf.has(s)) return stored;
    for (const q of epilogueOf.get(s - 1) === s ? [s - 1, s] : [s]) {
      for (const r of new Set(reads[q])) if (lastRead.get(r) === q) release(r);
      for (const v of storedBy(computed[q])) if (!lastRead.has(slot(v))) release(slot(v));
    }
    return stored;
  });

  // Values such a step reads or writes that are not in the arena get a home there: inputs are copied
  // in per call, values from JS steps after their step, and results of arena steps copied out.
  const mirrored = new Set<number>();
  const storedInArena = new Set(computed.flatMap((node, s) => (inWasm[s] ? storedBy(node).map(slot) : [])));
  // Donated inputs and the outputs that reuse their memory: two regions per pair, swapped by parity.
  const donations = pairDonations(program, options.donated ?? [], (v) => storedInArena.has(slot(v)));
  const swapped = new Map<number, readonly [Region, Region]>();
  for (const { input, output } of donations) {
    const aval = program.inputs[input].aval;
    const regions = [reserve(aval), reserve(aval)] as const;
    swapped.set(slot(program.inputs[input]), regions);
    swapped.set(slot(program.outputs[output]), [regions[1], regions[0]]);
  }
  for (const [k, regions] of swapped) home.set(k, regions[0]);
  /** Where slot k's value is in a call of parity p. */
  const homeAt = (k: number, p: 0 | 1): Region => swapped.get(k)?.[p] ?? (home.get(k) as Region);
  const touchesDonated = computed.map((node, s) => [...reads[s], ...storedBy(node).map(slot)].some((k) => swapped.has(k)));
  // A product with an epilogue runs the loop's parity-1 variant in calls of parity 1.
  for (const [s, t] of epilogueOf) touchesDonated[s] ||= touchesDonated[t];
  computed.forEach((node, s) => {
    if (!inWasm[s]) return;
    for (const v of readVars[s]) {
      const k = slot(v);
      if (home.has(k) || storedInArena.has(k)) continue;
      home.set(k, reserve(v.aval));
      mirrored.add(k);
    }
  });
  // Inputs that only products and reductions read in the arena (they take addresses per call, where
  // fused loops have theirs compiled in): one already in this arena's memory is read where it is.
  const readByLoops = new Set(computed.flatMap((node, s) => (inWasm[s] && node.kind === 'fused' ? reads[s] : [])));
  const inPlace = new Set(program.inputs.map(slot).filter((k) => mirrored.has(k) && !readByLoops.has(k)));
  /** Per slot read in place: its address in the current call (its mirror's when it was copied there). */
  const addressOf = new Map([...inPlace].map((k) => [k, { offset: (home.get(k) as Region).offset }]));
  // Results of arena steps that the caller gets back are copied out at the end of the call: the
  // large ones (parameters, optimizer moments) sit together in one block, copied once (one
  // allocation, one memcpy) and handed out as views of that copy; small ones (metrics) get arrays of
  // their own, so keeping a metric does not keep a whole block alive.
  const escapingResults = computed.flatMap((node, s) => (inWasm[s] ? storedBy(node).filter((v) => !home.has(slot(v))) : []));
  const large = (v: IRVar) => sizeOf(v.aval.shape) >= OUTPUT_BLOCK_MIN_ELEMENTS;
  const outputBlockStart = arenaBytes;
  for (const v of escapingResults.filter(large)) home.set(slot(v), reserve(v.aval));
  const outputBlockEnd = arenaBytes;
  for (const v of escapingResults.filter((x) => !large(x))) home.set(slot(v), reserve(v.aval));
  // Scratch of single products: for A stored transposed where the product transposes it first
  // (`transposesA`), and for B packed in panels (`packsB`) or stored transposed (`matmulOne`).
  // Products run one at a time, so all share one region for A and one for B, each of the largest size.
  const single = products.map((product) => (product && product.batch === 1 ? product : null));
  const scratchABytes = single.map((product) => (product?.transposeA && product.n > 1 && transposesA(product.m, product.k) ? 4 * product.m * product.k : 0));
  const scratchBBytes = single.map((product) => {
    if (!product) return 0;
    const { m, k, n } = product;
    return packsB(m, k, n, product.transposeB) ? packedBytes(k, n) : product.transposeB ? 4 * k * n : 0;
  });
  const sharedScratch = (bytes: readonly number[]) => {
    const largest = Math.max(0, ...bytes);
    const region = largest > 0 ? reserve({ shape: [largest / 4], dtype: 'float32' }) : null;
    return bytes.map((b) => (b > 0 ? region : null));
  };
  const [transposedA, scratchB] = [sharedScratch(scratchABytes), sharedScratch(scratchBBytes)];
  // Batched products run by one kernel call (`matmulBatchF32`), their products shared across threads
  // when the plan is threaded: a parameter block each, with transpose scratch per chunk.
  const blocks = products.map((product) => {
    if (!product || product.batch === 1) return null;
    const { m, k, n, offsets, batch } = product;
    const shared = threaded && !host && batch * m * k * n >= THREADED_MATMUL_MIN;
    const layout = matmulBlockLayout(m, k, n, offsets, product, shared ? batchChunks(batch) : 1);
    const at = arenaBytes;
    arenaBytes += layout.bytes;
    return { layout, at };
  });
  // Index arrays of the leaves that fused WebAssembly steps gather (filled once the arena exists).
  const gathers = computed.map((node, s) => {
    if (!inWasm[s] || node.kind !== 'fused') return new Map<number, Region>();
    const { leaves } = probes[s] as LaneGroup;
    return new Map(leaves.flatMap((l, k) => (l.kind === 'gather' ? [[k, reserve({ shape: node.out.aval.shape, dtype: 'int32' })] as const] : [])));
  });
  const indexAt = (s: number) => (k: number) => (gathers[s].get(k) as Region).offset;
  // Generated loops of parity 1 that differ from parity 0 (they touch donated regions) are s<n + s>.
  const loopIndex = (s: number, p: 0 | 1) => (p === 1 && touchesDonated[s] ? computed.length + s : s);
  const functions = computed.flatMap((node, s) =>
    inWasm[s] && node.kind === 'fused'
      ? ([0, 1] as const)
          .filter((p) => p === 0 || touchesDonated[s])
          .map((p) => laneFunction(`s${loopIndex(s, p)}`, laneGroup(node, (v) => homeAt(slot(v), p).offset, indexAt(s)) as LaneGroup) as FunctionDef)
      : [],
  );
  if (host && !host.canHost(arenaBytes)) return null;
  const arena = new WasmArena(arenaBytes, functions, { threaded, host: host ?? undefined });
  const view = (region: Region) => viewOf(region.dtype, arena.buffer, region.offset, region.size);
  program.constants.forEach(({ v, value }) => {
    const k = slot(v);
    const data = view(home.get(k) as Region);
    data.set((value as ArrayTensor).handle as TypedArray);
    env[k] = data;
  });
  const mirrorViews = new Map([...mirrored].map((k) => [k, view(home.get(k) as Region)]));
  computed.forEach((node, s) => {
    if (node.kind !== 'fused') return;
    const out = node.out.aval.shape;
    for (const [k, region] of gathers[s]) view(region).set(broadcastIndex(out, broadcastStrides(node.leaves[k].aval.shape, out)));
  });

  const internalAllocations: Record<string, number> = {};
  let allocationsPerCall = 0;
  const steps: Step[] = computed.map((node, s) => {
    const stored = storedBy(node);
    storages[s].forEach((storage, q) => {
      if (storage.kind !== 'pool') allocationsPerCall++;
      if (node.kind === 'single' && storage.kind === 'kernel' && !escaping.has(slot(stored[q]))) {
        internalAllocations[node.eq.prim] = (internalAllocations[node.eq.prim] ?? 0) + 1;
      }
    });
    const from = reads[s];
    if (inWasm[s]) return wasmStep(node, s, from, 0);
    const step = jsStep(node, s, from, storages[s]);
    const mirrors = stored.flatMap((v) => {
      const mirror = mirrorViews.get(slot(v));
      return mirror ? [{ k: slot(v), mirror }] : [];
    });
    return mirrors.length === 0 ? step : () => {
      step();
      for (const { k, mirror } of mirrors) mirror.set(env[k]);
    };
  });

  // Calls of parity 1 run the parity-0 steps except those that touch donated regions; epilogues run
  // within their products' steps.
  const runByProducts = new Set(epilogueOf.values());
  const runnable = <T>(list: readonly T[]) => list.filter((_, s) => !runByProducts.has(s));
  const stepLabels = runnable(computed.map((_, s) => labelOf(s)));
  const stepsOf = [
    runnable(steps),
    runnable(steps.map((step, s) => (inWasm[s] && touchesDonated[s] ? wasmStep(computed[s], s, reads[s], 1) : step))),
  ] as const;

  /**
   * A step run in the arena for calls of parity p (results the caller gets back are copied out at
   * the end of the call, or handed out in place when they reuse a donated input's memory).
   */
  function wasmStep(node: PlanNode, s: number, from: readonly number[], p: 0 | 1): Step {
    for (const v of storedBy(node)) if (!swapped.has(slot(v))) env[slot(v)] = view(home.get(slot(v)) as Region);
    if (node.kind === 'fused') {
      const bytes = laneBytes({ dtype: node.out.aval.dtype as LaneDType, size: sizeOf(node.out.aval.shape) });
      const index = loopIndex(s, p);
      return arena.loop(index, bytes, sharedLoop(s));
    }
    const [px, py] = from.map((r) => homeAt(r, p).offset);
    const [ax, ay] = [addressOf.get(from[0]), addressOf.get(from[1])];
    const out = homeAt(slot(node.out), p).offset;
    if (node.eq.prim === 'threefry') {
      // One key per row of counters (`threefryHashInto`).
      const rows = sizeOf(node.eq.inputs[0].aval.shape) / 2;
      const n = rows === 0 ? 0 : sizeOf(node.eq.inputs[1].aval.shape) / rows;
      const hash = arena.kernels.threefry;
      return () => {
        const [key, counts] = [ax?.offset ?? px, ay?.offset ?? py];
        for (let r = 0; r < rows; r++) hash(key + 8 * r, counts + 4 * n * r, out + 4 * n * r, n);
      };
    }
    if (node.eq.prim === 'uniformFromBits') {
      const n = sizeOf(node.out.aval.shape);
      const { unitFloat32 } = arena.kernels;
      return () => unitFloat32(ax?.offset ?? px, out, n);
    }
    const gather = alongAxis[s];
    if (gather) {
      const { outer, n, count, inner, indexPerRow } = gather;
      const idxStep = indexPerRow ? 0 : 4;
      const { gather32 } = arena.kernels;
      // On an index out of range, the JS kernel over the same values throws its error (op, index, shape).
      const explain = intoKernel(node.eq, folded) as IntoKernel;
      const scratch = allocate(node.out.aval.dtype, sizeOf(node.out.aval.shape));
      return () => {
        if (gather32(ax?.offset ?? px, ay?.offset ?? py, out, outer, n, count, inner, idxStep)) explain([env[from[0]], env[from[1]]], scratch);
      };
    }
    const matrices = transposes[s];
    if (matrices) {
      const { batch, rows, cols } = matrices;
      const bytes = 4 * rows * cols;
      const { transpose } = arena;
      const { copyBytes } = arena.kernels;
      return () => {
        const x = ax?.offset ?? px;
        if (rows === 1 || cols === 1) copyBytes(out, x, batch * bytes);
        else for (let b = 0; b < batch; b++) transpose(x + b * bytes, rows, cols, out + b * bytes);
      };
    }
    const moves = movements[s];
    if (moves) {
      const outBytes = sizeOf(node.out.aval.shape) * bytesOf(node.out.aval.dtype);
      const sources = from.map((r) => ({ at: homeAt(r, p).offset, inPlace: addressOf.get(r) }));
      const { copyRows, zeroBytes } = arena.kernels;
      return () => {
        if (moves.zero) zeroBytes(out, outBytes);
        for (const c of moves.copies) {
          const source = sources[c.input];
          copyRows(out + c.dst, c.dstStride, (source.inPlace?.offset ?? source.at) + c.src, c.srcStride, c.rowBytes, c.rows);
        }
      };
    }
    if (WASM_REDUCTIONS.has(node.eq.prim)) {
      const x = node.eq.inputs[0];
      const { outer, reduced, inner } = reductionLayout(x.aval.shape, reducedAxes(node.eq)) as NonNullable<ReturnType<typeof reductionLayout>>;
      const kind = WASM_REDUCTIONS.get(node.eq.prim) as NonNullable<ReturnType<typeof WASM_REDUCTIONS.get>>;
      const float64 = x.aval.dtype === 'float64';
      if (rowSum(s)) {
        // Over rows (a bias's gradient): shared out by columns when large.
        const { sumColumns } = arena;
        return () => sumColumns(float64, ax?.offset ?? px, reduced, inner, out);
      }
      const reduce = arena.kernels[`${kind}${float64 ? 'F64' : 'F32'}` as const];
      return () => reduce(ax?.offset ?? px, outer, reduced, inner, out, inner);
    }
    const sizes = products[s] as NonNullable<(typeof products)[number]>;
    const block = blocks[s];
    if (block) {
      // One block for both parities: each call sets its operands and result.
      const words = block.layout.write(arena.buffer, block.at, { a: px, b: py, c: out });
      const { batch, work } = block.layout;
      return () => {
        words[MatmulBlock.a] = ax ? ax.offset : px;
        words[MatmulBlock.b] = ay ? ay.offset : py;
        words[MatmulBlock.c] = out;
        arena.matmulBlock(block.at, batch, work);
      };
    }
    const at = { a: px, b: py, c: out, transposedA: transposedA[s]?.offset ?? null, scratchB: scratchB[s]?.offset ?? null };
    const t = epilogueOf.get(s);
    const loopBytes = t === undefined ? 0 : laneBytes({ dtype: 'float32', size: sizeOf(computed[t].out.aval.shape) });
    const product = t === undefined ? arena.matmulF32 : arena.matmulThenLoop(loopIndex(t, p), loopBytes);
    if (!ax && !ay) return () => arena.matmulOne(at, sizes, product);
    return () => {
      if (ax) at.a = ax.offset;
      if (ay) at.b = ay.offset;
      arena.matmulOne(at, sizes, product);
    };
  }

  /** A step run in JS, into its planned buffers (arena views) or fresh arrays. */
  function jsStep(node: PlanNode, s: number, from: readonly number[], stored: readonly Storage[]): Step {
    const targets = storedBy(node).map((v, q) => {
      const k = slot(v);
      const storage = stored[q];
      const buffer = storage.kind === 'pool' ? view(storage.region) : null;
      return (): TypedArray => {
        const data = buffer ?? allocate(v.aval.dtype, sizeOf(v.aval.shape));
        env[k] = data;
        return data;
      };
    });
    const target = targets[targets.length - 1];
    const out = node.out.aval;
    if (node.kind === 'fused') {
      const n = sizeOf(out.shape);
      const collapsed: { shape: readonly number[]; strides: (readonly number[] | Int32Array)[] } = collapseBroadcast(
        out.shape,
        node.leaves.map((v) => broadcastStrides(v.aval.shape, out.shape)),
      );
      // Broadcast leaves of small groups read through index arrays built once here: a flat loop.
      const indexed = n <= INDEXED_BROADCAST_MAX;
      const kinds = node.leaves.map((v, k): InputKind => {
        const kind = inputKind(sizeOf(v.aval.shape), n);
        if (kind !== 'b' || !indexed) return kind;
        collapsed.strides[k] = broadcastIndex(collapsed.shape, collapsed.strides[k] as number[]);
        return 'i';
      });
      const { pre, body, stores } = fusedCode(node);
      const kernel = compileElementwise(body, kinds, pre, stores);
      const extra = targets.slice(0, -1);
      // The leaves' arrays, then the extra outputs'.
      const inputs: TypedArray[] = new Array(from.length + extra.length);
      return () => {
        for (let i = 0; i < from.length; i++) inputs[i] = env[from[i]];
        for (let q = 0; q < extra.length; q++) inputs[from.length + q] = extra[q]();
        kernel(target(), collapsed.shape, inputs, collapsed.strides);
      };
    }
    const k = slot(node.out);
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
  }

  // Escaping values computed by arena steps: those in the output block, and those copied one by one.
  const blockOutputs: { k: number; region: Region }[] = [];
  const ownOutputs: { k: number; region: Region }[] = [];
  for (const v of escapingResults) {
    const k = slot(v);
    const region = home.get(k) as Region;
    (region.offset < outputBlockEnd ? blockOutputs : ownOutputs).push({ k, region });
  }
  // Those results are handed out as copies, so at the start of a call the JS steps that read them are
  // pointed back at the arena, where this call writes them.
  const arenaResults = [...blockOutputs, ...ownOutputs].map(({ k, region }) => ({ k, data: view(region) }));
  const inputSlots = program.inputs.map(slot);
  const inputMirrors = inputSlots.map((k) => mirrorViews.get(k) ?? null);
  const outputs = program.outputs.map((v) => ({ k: slot(v), shape: v.aval.shape, dtype: v.aval.dtype as DType }));
  const constantSlots = new Set(program.constants.map(({ v }) => slot(v)));
  const donated = new DonatedRegions(
    donations,
    donations.map(({ input }) => {
      const [r0, r1] = swapped.get(slot(program.inputs[input])) as readonly [Region, Region];
      return [view(r0), view(r1)] as const;
    }),
  );
  const pairOfInput = new Int32Array(inputSlots.length).fill(-1);
  const pairOfOutput = new Int32Array(outputs.length).fill(-1);
  donations.forEach(({ input, output }, j) => {
    pairOfInput[input] = j;
    pairOfOutput[output] = j;
  });
  const donatedOutputSlots = donations.map(({ output }) => outputs[output].k);
  const arenaBuffer = arena.buffer;
  // Inputs from a shared memory are copied in by `memory.copy` when it is this arena's memory.
  const { owner } = arena;
  const copyBytes = arena.kernels.copyBytes;
  const mirroredInputs = inputMirrors.flatMap((mirror, i) => (mirror ? [i] : []));
  const inputAddresses = inputSlots.map((k) => addressOf.get(k) ?? null);
  const guests = new WeakMap<WasmArena, CpuPlan | null>();
  let guestPlans = 0;
  // Mirrored inputs large enough to count in the choice of a guest (their sizes are the program's).
  const guestCandidates = mirroredInputs.filter((i) => sizeOf(program.inputs[i].aval.shape) * bytesOf(program.inputs[i].aval.dtype) >= GUEST_INPUT_MIN_BYTES);
  /** The guest to run in when the bulk of `arrays` (the candidates' storage) is in another threaded arena's memory. */
  const chooseGuest = (arrays: readonly TypedArray[]): CpuPlan | null => {
    let guestHost: WasmArena | undefined;
    let hosted = 0;
    let elsewhere = 0;
    for (const data of arrays) {
      const holder = arenaHolding(data.buffer);
      if (holder && (guestHost ?? holder) === holder) {
        guestHost = holder;
        hosted += data.byteLength;
      } else elsewhere += data.byteLength;
    }
    if (!guestHost || hosted < GUEST_MIN_BYTES || hosted <= elsewhere) return null;
    let guest = guests.get(guestHost);
    if (guest === undefined) {
      guest = compilePlan(program, { ...options, name: `${options.name ?? 'plan'} (guest)` }, guestHost);
      guests.set(guestHost, guest);
      if (guest) guestPlans++;
    }
    return guest;
  };
  // The choice depends only on which arrays the candidates are (an array's buffer and length never
  // change), so a guest is kept for the next call with the same ones: an actor's parameters between
  // updates (looking up each array's arena every call cost an action 0.4-1.2 us, paired). Arrays
  // that chose no guest are not kept (nor kept alive).
  let guestArrays: TypedArray[] = [];
  let lastGuest: CpuPlan | null = null;
  /** The guest to run this call in, when its largest inputs are in another threaded arena's memory. */
  const guestFor = (inputs: readonly ArrayTensor[]): CpuPlan | null => {
    let same = guestArrays.length === guestCandidates.length;
    for (let q = 0; same && q < guestCandidates.length; q++) same = inputs[guestCandidates[q]].handle === guestArrays[q];
    if (same) return lastGuest;
    const arrays = guestCandidates.map((i) => inputs[i].handle as TypedArray);
    lastGuest = chooseGuest(arrays);
    guestArrays = lastGuest ? arrays : [];
    return lastGuest;
  };
  const mayGuest = !host && !threaded && guestCandidates.length > 0;
  // Per input, the array the last call read in place (its address is still set): the same array
  // again needs no look at its buffer and offset (an actor's parameters between updates; each look
  // costs tens of nanoseconds, a typed array's accessors not being inlined).
  const readInPlace: (TypedArray | null)[] = inputSlots.map(() => null);
  const stats: PlanStats = {
    steps: stepsOf[0].length,
    productEpilogues: epilogueOf.size,
    fusedGroups: computed.filter((node) => node.kind === 'fused').length,
    fusedEquations: computed.reduce((n, node) => n + (node.kind === 'fused' ? node.members.length : 0), 0),
    wasmSteps: inWasm.filter((w, s) => w && !runByProducts.has(s)).length,
    pooledBuffers,
    pooledBytes,
    overwrittenLeaves,
    allocationsPerCall: allocationsPerCall - donations.length,
    internalAllocations,
    donatedInPlace: donations.length,
    get guestPlans() {
      return guestPlans;
    },
  };
  const inputSlotSet = new Set(inputSlots);
  const plan: CpuPlan = {
    stats,
    sharingOutputs: outputs.flatMap(({ k }, o) => (inputSlotSet.has(k) ? [o] : [])),
    run(inputs) {
      const guest = mayGuest ? guestFor(inputs) : null;
      if (guest) return guest.run(inputs);
      const timed = recordingFor(plan, options.name ?? 'plan', stepLabels);
      const start = timed ? performance.now() : 0;
      const p = donations.length > 0 ? donated.begin(inputs) : 0;
      for (const { k, data } of arenaResults) env[k] = data;
      for (let i = 0; i < inputSlots.length; i++) {
        const j = pairOfInput[i];
        if (j >= 0) {
          env[inputSlots[i]] = donated.input(p, j);
          continue;
        }
        let data = inputs[i].handle as TypedArray;
        if (data === readInPlace[i]) {
          env[inputSlots[i]] = data;
          continue;
        }
        readInPlace[i] = null;
        // A tensor this plan handed out views its memory, which this call may overwrite.
        if (data.buffer === arenaBuffer && !inputMirrors[i]) data = data.slice();
        env[inputSlots[i]] = data;
        const mirror = inputMirrors[i];
        if (!mirror) continue;
        const address = inputAddresses[i];
        if (owner && arenaHolding(data.buffer) === owner) {
          // Read in place: no step of this call writes where it is (a donated output this plan
          // handed out over a region the call writes has been moved to a copy by `donated.begin`).
          if (address) {
            address.offset = data.byteOffset;
            readInPlace[i] = data;
            continue;
          }
          copyBytes(mirror.byteOffset, data.byteOffset, data.byteLength);
        } else mirror.set(data);
        if (address) address.offset = mirror.byteOffset;
      }
      for (let j = 0; j < donatedOutputSlots.length; j++) env[donatedOutputSlots[j]] = donated.output(p, j);
      const run = stepsOf[p];
      if (timed) runTimed(run, timed);
      else for (let s = 0; s < run.length; s++) run[s]();
      if (blockOutputs.length > 0) {
        // A plain ArrayBuffer even when the arena is shared (threads); `slice` copies into memory it
        // need not zero first (twice as fast as a new ArrayBuffer and a `set` at 3 MB).
        const block = new Uint8Array(arena.buffer, outputBlockStart, outputBlockEnd - outputBlockStart).slice().buffer;
        for (const { k, region } of blockOutputs) env[k] = viewOf(region.dtype, block, region.offset - outputBlockStart, region.size);
      }
      for (const { k, region } of ownOutputs) env[k] = view(region).slice();
      const results = outputs.map(({ k, shape, dtype }, o) => {
        const j = pairOfOutput[o];
        if (j >= 0) return donated.handOut(p, j, shape, dtype);
        // An input passed through whose memory is the arena's gets a copy (constants are never overwritten).
        const data = env[k].buffer === arenaBuffer && !constantSlots.has(k) ? env[k].slice() : env[k];
        return new ArrayTensor(cpu, data, shape, dtype);
      });
      if (timed) {
        timed.calls++;
        timed.callMs += performance.now() - start;
      }
      return results;
    },
  };
  return plan;
}
