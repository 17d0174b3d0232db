/**
 * The WebGPU plan of a jitted program. Each fusion group of `fuse.ts` becomes one generated WGSL
 * kernel (the eager expression tables `UNARY_WGSL`/`BINARY_WGSL`/`castWgsl`, intermediates as `let`s,
 * leaves read contiguously, as one value or through broadcast strides), compiled once and cached by
 * the backend's pipeline cache. A group with more leaves than a kernel can bind (the device's
 * storage buffers per stage, less the params and the output) is split into consecutive parts that
 * each fit (every member a kernel of its own where the cuts do not fit). On top of that:
 *
 * - a transpose of the last two axes read only by matrix products is not run: the products read its
 *   input through the matmul kernel's transposed-layout variants (`foldableTransposes`, shared with
 *   the CPU plan); a slice read only by groups is not run either: they read its input at its offset
 *   and strides (`foldableSlices`);
 * - a group applied to the result of a product or a reduction read by nothing else runs in that
 *   kernel's store, and a group only a reduction reads is computed where the reduction reads it
 *   (`fuseIntoKernels`, `shaders/groups.ts`): `relu(x @ w + b)` and `mean((q - y)²)` are one
 *   dispatch each;
 * - scalar constants whose values the backend kept are read from the groups' params, not bound;
 * - independent fused groups, independent products of one shape and layout and independent
 *   reductions of one shape (each with its own groups) run as one dispatch
 *   (`groupSiblings`);
 * - products and reductions are prepared at compile time (`prepareProducts`, `prepareReduce`), so a
 *   call only binds buffers.
 *
 * Every step records into the backend's recorder; the call is one batch, ending with one submit
 * (`asOneBatch`; only the params arena, 512 dispatches, would split it). Intermediate values live in
 * buffers the plan keeps (`PlanBuffers`): reused once a value's last reader has run, and handed out
 * in the same order on every call, so repeated calls find their bind groups cached. Returned values
 * come from the backend's pool, or from a donated input's buffer of the previous call (`TwinBuffers`).
 */
import { ArrayTensor, type Aval, BackendError, isReduceOp, type Params, type Primitive, type ReduceOp, sizeOf } from '../../tensor';
import type { WebGPUBackend } from '../../tensor/webgpu/backend';
import { wgslType } from '../../tensor/webgpu/expressions';
import { grid1d, type GroupShape, type KernelGroup, type KernelHost } from '../../tensor/webgpu/kernel-common';
import { prepareThreefrySiblings, threefryKernel, webgpuKernels } from '../../tensor/webgpu/kernels';
import { matmulKernel, prepareProducts } from '../../tensor/webgpu/matmul-kernels';
import { prepareReduce, reduce, reducesInOnePass } from '../../tensor/webgpu/reduce-kernels';
import { bytesOf, type GpuHandle, type GpuInput, Storage } from '../../tensor/webgpu/storage';
import { elementwiseWgsl } from '../../../shaders/elementwise';
import { siblingGroupsWgsl } from '../../../shaders/siblings';
import { type MatmulLayout, operandBuffers } from '../../../shaders/matmul';
import type { Equation, IRProgram, IRVar } from '../ir';
import { fuseIntoKernels, groupLeaves, type KernelNode, type KernelPlanNode, readBy, storedByNode } from './kernel-groups';
import { levelledSiblings, type SiblingNode, type SiblingRules } from './siblings';
import { MergeGroup } from '../../tensor/webgpu/merge';
import { pairDonations } from './donation';
import { PlanBuffers, TwinBuffers, withOutput } from './gpu-buffers';
import { type GroupContext, groupWgsl, internKey, knownScalars, splitGroup, withoutLeaves } from './gpu-groups';
import { type FusedGroup, fuseElementwise, storedBy } from './fuse';
import type { PlanStats } from './plan-cpu';
import { foldableTransposes } from './transposes';
import { inPlaceUpdates } from './in-place';
import { type KeyView, mergeRandomSteps } from './random';
import { foldableSlices, type SliceView } from './views';
import { type ConcatOperand, productConcats } from './concats';
import { asElementwise } from './elementwise-rewrites';

/** What a WebGPU plan does per call (`pooledBuffers`/`pooledBytes`: the buffers the plan keeps). */
export interface WebGPUPlanStats extends PlanStats {
  /** Kernel dispatches recorded by the latest call. */
  readonly dispatchesPerCall: number;
  /** Transposes not run: the matrix products reading them read their inputs in place. */
  readonly foldedTransposes: number;
  /** Fused groups applied by a product's or reduction's kernel where it stores (no dispatch of their own). */
  readonly epilogues: number;
  /** Fused groups computed by a reduction's kernel where it reads its operand (no dispatch of their own). */
  readonly prologues: number;
  /** Nodes run by the kernel of an independent node of their kind, as siblings (no dispatch of their own). */
  readonly siblings: number;
  /** Slices, transposes and zero paddings not run: the groups reading them read their inputs in place. */
  readonly views: number;
  /** Concatenations not run: the products reading them read their pieces in place. */
  readonly concats: number;
  /** Scalar constants passed in the params of the groups reading them instead of bound. */
  readonly scalars: number;
  /** Random-number steps not run: uniforms stored by their threefry, slices of split keys read in place. */
  readonly randomMerged: number;
  /** Donated inputs whose updates are written into their own buffers in the call (`in-place.ts`). */
  readonly inPlace: number;
  /** Of the latest call's dispatches, merged ones (`tensor/webgpu/merge.ts`), and the kernels they ran (each no dispatch of its own). */
  readonly mergedDispatches: number;
  readonly mergedKernels: number;
}

/** A compiled program: run it on concrete WebGPU tensors (the program's inputs, flattened). */
export interface WebGPUPlan {
  run(inputs: readonly ArrayTensor[]): ArrayTensor[];
  readonly stats: WebGPUPlanStats;
}

/** Options of `compileWebGPUPlan`. */
export interface WebGPUPlanOptions {
  /** Fold transposes read only by matrix products into them (default true; false to compare). */
  readonly foldTransposes?: boolean;
  /** Compute groups inside products' and reductions' kernels, as epilogues and prologues (default true; false to compare). */
  readonly kernelGroups?: boolean;
  /** Write the updates of donated inputs into their buffers, in the call (`in-place.ts`; default true; false to compare). */
  readonly inPlace?: boolean;
  /** Merge random-number steps: uniforms stored by their threefry, split keys read in place (`random.ts`; default true; false to compare). */
  readonly random?: boolean;
  /** Pass scalar constants with known values in the kernels' params instead of binding them (default true; false to compare). */
  readonly scalars?: boolean;
  /** Read slices, transposes and zero paddings that only groups read in place, as strided leaves (`views.ts`; default true; false to compare). */
  readonly views?: boolean;
  /** Read concatenations that only products read in place, piece by piece (`concats.ts`; default true; false to compare). */
  readonly concats?: boolean;
  /** Run outer products and sums over axes of one element as elementwise groups (`elementwise-rewrites.ts`; default true; false to compare). */
  readonly elementwise?: boolean;
  /** Run independent fused groups, independent products of one shape and independent reductions of one shape, as one kernel (`siblings.ts`; default true; false to compare). */
  readonly siblings?: boolean;
  /** Record the kernels of independent steps as merged dispatches (`tensor/webgpu/merge.ts`; default the backend's `mergeKernels`; false to compare). */
  readonly merge?: boolean;
  /**
   * Per input: whether the caller gives it up (`jit`'s `donateArgnums`). A donated input that a
   * group reads last, elementwise, receives that group's update of it in the call (`in-place.ts`);
   * another one paired with an output of its shape and dtype (`pairDonations`) lends its buffer to
   * that output of the next call. Either way a loop `state = step(state)` reuses its buffers and
   * bind groups instead of creating new ones every call.
   */
  readonly donated?: readonly boolean[];
}

type Step = () => void;

/** A plan node running one equation as it is. */
type SingleNode = Extract<KernelPlanNode, { kind: 'single' }>;

/** A step of the plan: a node, or independent nodes run by one kernel. */
type PlanStep = KernelPlanNode | SiblingNode<KernelPlanNode>;

/** A matrix product that is not empty and sums over K > 0 (a prepared kernel runs it, alone or with siblings). */
function preparable(node: KernelPlanNode): boolean {
  if (node.kind === 'fused' || node.eq.prim !== 'matmul') return false;
  const a = node.eq.inputs[0].aval.shape;
  return sizeOf(node.eq.out.aval.shape) > 0 && a[a.length - 1] > 0;
}

/**
 * The buffers several kernels' members read, each once (in first-read order), and per member the
 * positions of its reads among them.
 *
 * @example
 * sharedReads([[4, 7], [4, 9]]); // { shared: [4, 7, 9], indices: [[0, 1], [0, 2]] }
 */
function sharedReads(reads: readonly (readonly number[])[]): { shared: number[]; indices: number[][] } {
  const shared = [...new Set(reads.flat())];
  return { shared, indices: reads.map((list) => list.map((r) => shared.indexOf(r))) };
}

/** A threefry step with a non-empty output (siblings of it run as one kernel). */
function isThreefry(node: KernelPlanNode): boolean {
  return node.kind === 'single' && node.eq.prim === 'threefry' && sizeOf(node.out.aval.shape) > 0;
}

/** A reduction that is neither empty nor into an empty output (a prepared kernel runs it). */
function reducible(node: KernelPlanNode): boolean {
  if (node.kind === 'fused' || !isReduceOp(node.eq.prim)) return false;
  const { axes } = node.eq.params as Params<'reduceSum'>;
  const shape = node.eq.inputs[0].aval.shape;
  return sizeOf(node.eq.out.aval.shape) > 0 && sizeOf(axes.map((a) => shape[a])) > 0;
}

/**
 * Which nodes share a kernel (`groupSiblings`): fused groups with any other fused groups (their
 * leaves bound once), products with products of the same shapes and layout (each with its own
 * epilogue, if any), reductions with reductions of the same op, shapes and axes (each with its
 * own prologue and epilogue, if any). Empty groups and products, products over K = 0, and
 * reductions in two passes run alone.
 */
function siblingRules(
  reads: (node: KernelPlanNode) => readonly IRVar[],
  bound: (node: KernelPlanNode) => readonly IRVar[],
  maxBindings: number,
  layoutOf: (eq: Equation) => MatmulLayout,
  context: GroupContext,
): SiblingRules<KernelPlanNode> {
  return {
    reads,
    stores: storedByNode,
    classOf(node) {
      if (node.kind === 'fused') return sizeOf(node.out.aval.shape) > 0 ? 'fused' : undefined;
      if (isThreefry(node)) return 'threefry';
      if (reducible(node)) {
        const { eq } = node as Exclude<KernelPlanNode, FusedGroup>;
        const x = eq.inputs[0].aval;
        const { axes } = eq.params as Params<'reduceSum'>;
        if (!reducesInOnePass(x, axes, eq.out.aval)) return undefined;
        // Each member computes its operand and stores through its own groups, if any.
        return `reduce ${eq.prim} ${x.shape} ${x.dtype} [${axes}]`;
      }
      if (!preparable(node)) return undefined;
      // Each member stores through its own epilogue, if any.
      const { eq } = node;
      const [a, b] = eq.inputs.map((v) => v.aval.shape);
      return `matmul ${a} ${b} ${eq.out.aval.dtype} ${JSON.stringify(layoutOf(eq))}`;
    },
    bindings(members) {
      if (members.every((m): m is FusedGroup => m.kind === 'fused')) {
        const leaves = new Set(members.flatMap((m) => m.leaves));
        return 1 + leaves.size + members.reduce((n, m) => n + storedBy(m).length, 0);
      }
      const stored = members.reduce((n, m) => n + storedByNode(m).length, 0);
      // Threefry steps: their keys and counts (each once), their outputs.
      if (isThreefry(members[0])) return 1 + new Set(members.flatMap(bound)).size + stored;
      // The reductions' operands or prologues' leaves and epilogues' other leaves (each once), the values they store.
      if (reducible(members[0])) return 1 + new Set(members.flatMap(bound)).size + stored;
      // The products' operands (a concatenation's pieces; each buffer once), per product its
      // epilogue's other leaves; the values they store.
      const operands = (m: KernelPlanNode) => {
        const { eq } = m as KernelNode;
        const layout = layoutOf(eq);
        return operandBuffers(layout.piecesA) + operandBuffers(layout.piecesB);
      };
      const shared = new Set(members.flatMap((m) => bound(m).slice(0, operands(m)))).size;
      return 1 + shared + members.reduce((n, m) => n + bound(m).length - operands(m), 0) + stored;
    },
    maxBindings,
  };
}

/**
 * Compiles an optimized program whose inputs and constants live on `gpu` into a WebGPU plan.
 * `options.foldTransposes: false` keeps every transpose as a dispatch (to compare plans).
 *
 * @example
 * const plan = compileWebGPUPlan(optimizeProgram(makeIR(f)(x))[0], gpu);
 * const [y] = plan.run([x]);
 * plan.stats.dispatchesPerCall; // kernels of that call
 */
export function compileWebGPUPlan(source: IRProgram, gpu: WebGPUBackend, options: WebGPUPlanOptions = {}): WebGPUPlan {
  // As eager evaluation refuses it: a value the backend cannot hold (float64), named by its producer.
  const unheld = source.equations.find((eq) => !gpu.supports(eq.out.aval.dtype));
  if (unheld) throw new BackendError(`${unheld.prim}: the ${gpu.name} backend has no ${unheld.out.aval.dtype} tensors (in a jit plan)`);
  const program = options.elementwise === false ? source : asElementwise(source, gpu);
  const planBuffers = new PlanBuffers(gpu);
  const maxLeaves = gpu.storageBuffersPerKernel - 2;
  // A group binds its leaves and its extra outputs besides the root's output and the params.
  const fused = fuseElementwise(program, { multiOutput: true, maxBindings: maxLeaves + 1 });
  const folded = options.foldTransposes === false ? new Map<IRVar, IRVar>() : foldableTransposes(fused, program.outputs);
  const withKernelGroups = options.kernelGroups === false ? fused : fuseIntoKernels(fused, program.outputs, { maxBindings: gpu.storageBuffersPerKernel });
  const views = options.views === false ? new Map<IRVar, SliceView>() : foldableSlices(withKernelGroups, program.outputs);
  const scalarWords = options.scalars === false ? new Map<IRVar, number>() : knownScalars(program, gpu);
  const concats = options.concats === false ? new Map<IRVar, ConcatOperand>() : productConcats(withKernelGroups, program.outputs, folded, preparable, gpu.storageBuffersPerKernel, (v) => scalarWords.has(v));
  const split = withKernelGroups.flatMap((node) => {
    if (node.kind === 'single' && (folded.has(node.out) || views.has(node.out) || concats.has(node.out))) return [];
    if (node.kind !== 'fused' || node.leaves.length + storedBy(node).length - 1 <= maxLeaves) return [node];
    return splitGroup(node, maxLeaves);
  });
  const random = options.random === false ? { nodes: split, keys: new Map<IRVar, KeyView>(), removed: 0 } : mergeRandomSteps(split, program.outputs);
  // A folded transpose's, a viewed slice's or a split key's readers read its input.
  const storedAs = (v: IRVar) => folded.get(v) ?? views.get(v)?.source ?? random.keys.get(v)?.source ?? v;
  // A product reading a concatenation in place reads its pieces.
  const readsOf = (node: KernelPlanNode) => readBy(node).flatMap((v) => concats.get(storedAs(v))?.pieces ?? [storedAs(v)]);
  const layoutOf = (eq: Equation): MatmulLayout => {
    const [a, b] = eq.inputs;
    const [piecesA, piecesB] = [a, b].map((v) => concats.get(storedAs(v))?.widths);
    return { transposeA: folded.has(a), transposeB: folded.has(b), ...(piecesA && { piecesA }), ...(piecesB && { piecesB }) };
  };
  const updates = options.inPlace === false || !options.donated ? [] : inPlaceUpdates(random.nodes, program, options.donated, readsOf);
  /** Donated input -> the value written into its buffer. */
  const inPlace = new Map(updates.map(({ input, output }) => [input, output]));
  const context: GroupContext = { views, scalarWords, inPlace };
  /** A group run inside a product's or a reduction's kernel: its WGSL, its key, its params. */
  const groupShape = (group: FusedGroup, leaves: readonly IRVar[], computed?: IRVar): GroupShape => {
    const { shapeParams: params, ...spec } = groupWgsl(group, leaves, computed, context);
    const role = computed ? 'epilogue' : 'prologue';
    return { spec, key: internKey(role, `${role}:${JSON.stringify(spec)}`), params };
  };
  const writes = new Map<number, IRVar[]>();
  for (const { input, node } of updates) writes.set(node, [...(writes.get(node) ?? []), input]);
  // The groups writing in place read those inputs from the buffers they write (not as leaves).
  const nodes = random.nodes.map((node, n) => withoutLeaves(node, (v) => scalarWords.has(v) || (writes.get(n)?.includes(v) ?? false)));
  // Each in-place writer runs after every other reader of what it overwrites: an order edge from each.
  const mustFollow = new Map<KernelPlanNode, IRVar[]>();
  for (const { node, readers } of updates) {
    const before = readers.flatMap((n) => storedByNode(nodes[n]));
    mustFollow.set(nodes[node], [...(mustFollow.get(nodes[node]) ?? []), ...before]);
  }

  const slotOf = new Map<IRVar, number>();
  const env: (Storage | undefined)[] = [];
  const newSlot = (v: IRVar) => {
    slotOf.set(v, env.length);
    env.push(undefined);
  };
  program.inputs.forEach(newSlot);
  for (const { v, value } of program.constants) {
    newSlot(v);
    env[slotOf.get(v) as number] = planBuffers.constant(((value as ArrayTensor).handle as GpuHandle).storage);
  }
  for (const node of nodes) storedByNode(node).forEach(newSlot);
  const slot = (v: IRVar) => slotOf.get(v) as number;
  const firstComputed = program.inputs.length + program.constants.length;
  const outputSlots = new Set(program.outputs.map(slot));

  // Order edges: what a node reads, and for an in-place writer the values of the input's other readers.
  const scheduleReads = (node: KernelPlanNode) => [...readsOf(node), ...(mustFollow.get(node) ?? [])];
  const rules = siblingRules(scheduleReads, readsOf, gpu.storageBuffersPerKernel, layoutOf, context);
  // Without siblings every node is a step of its own, still levelled for merged dispatches.
  const { steps: planNodes, levels } = levelledSiblings(nodes, options.siblings === false ? { ...rules, classOf: () => undefined } : rules);
  const membersOf = (node: PlanStep): readonly KernelPlanNode[] => (node.kind === 'siblings' ? node.members : [node]);
  // The order edges keep every reader of an input updated in place in an earlier step than its writer.
  const stepOf = new Map<KernelPlanNode, number>();
  planNodes.forEach((step, s) => membersOf(step).forEach((m) => stepOf.set(m, s)));
  for (const { node, readers } of updates) {
    const at = stepOf.get(nodes[node]) as number;
    if (readers.some((n) => (stepOf.get(nodes[n]) as number) >= at)) throw new Error('jit (webgpu): an input updated in place is read at or after its update');
  }
  const reads = planNodes.map((node) => membersOf(node).flatMap((member) => readsOf(member).map(slot)));
  const lastRead = new Map<number, number>();
  reads.forEach((slots, s) => slots.forEach((k) => lastRead.set(k, s)));
  // Storage the plan owns (computed, not returned) dropped after step s.
  const dropsAfter: number[][] = planNodes.map(() => []);
  planNodes.forEach((node, s) => {
    for (const v of membersOf(node).flatMap(storedByNode)) {
      const k = slot(v);
      if (!outputSlots.has(k)) dropsAfter[lastRead.get(k) ?? s].push(k);
    }
  });

  let fusedGroups = 0;
  let fusedEquations = 0;
  let epilogues = 0;
  let prologues = 0;
  let siblings = 0;
  // Donated inputs whose buffers the paired outputs of the next call are written into.
  // Donated inputs not updated in place lend their buffers to the next call (`TwinBuffers`).
  const writtenInPlace = new Set(inPlace.values());
  const lent = (options.donated ?? []).map((d, i) => d && !inPlace.has(program.inputs[i]));
  const pairs = pairDonations(program, lent, (v) => slot(v) >= firstComputed && !writtenInPlace.has(v));
  const twins = new TwinBuffers(gpu, pairs.length);
  const twinHosts = new Map(pairs.map(({ output }, j) => [slot(program.outputs[output]), twins.host(j)]));
  const inPlaceHosts = new Map(updates.map(({ input, output }) => [slot(output), inPlaceHost(slot(input))]));
  // A returned value's storage comes from an input it updates in place, a donated twin or the pool; the others' from the plan's own buffers.
  const hostOf = (slotOfValue: number): KernelHost =>
    inPlaceHosts.get(slotOfValue) ?? twinHosts.get(slotOfValue) ?? (outputSlots.has(slotOfValue) ? gpu : planBuffers);
  /** Inputs of this call by storage, counted: an input whose buffer another input shares is not overwritten. */
  const inputsByStorage = new Map<Storage, number>();
  /**
   * The host giving an in-place update the buffer of the input in `inputSlot`: that buffer itself
   * (one more reference) when only the donated tensor uses it; else a copy of it, so that the group
   * still reads the input where it writes.
   */
  function inPlaceHost(inputSlot: number): KernelHost {
    return withOutput(gpu, (aval) => {
      const storage = env[inputSlot] as Storage;
      if (storage.refs === 1 && inputsByStorage.get(storage) === 1) return gpu.share(storage);
      const copy = gpu.output(aval);
      gpu.copy(storage, copy, bytesOf(sizeOf(aval.shape)));
      return copy;
    });
  }
  /** A group a kernel runs: per call, its inputs' storage (at `inputSlots`) and fresh storage for its extra values. */
  const kernelGroup = (group: FusedGroup, leaves: readonly IRVar[], inputSlots: readonly number[], computed?: IRVar): (() => KernelGroup) => {
    const shape = groupShape(group, leaves, computed);
    const extra = storedBy(group).slice(0, -1);
    const extraSlots = extra.map(slot);
    const extraHosts = extraSlots.map(hostOf);
    return () => {
      for (let q = 0; q < extra.length; q++) env[extraSlots[q]] = extraHosts[q].output(extra[q].aval);
      return { ...shape, inputs: inputSlots.map((r) => env[r] as Storage), outputs: extraSlots.map((q) => env[q] as Storage) };
    };
  };
  /**
   * Steps whose drops wait for the end of their merge group (`mergedStep`): inside one merged
   * dispatch a buffer given back by one member must not become another member's output.
   */
  let dropsHeld = false;
  const heldDrops: number[] = [];
  const dropNow = (d: number) => {
    planBuffers.drop(env[d] as Storage);
    env[d] = undefined;
  };
  /** Gives back the plan's storage whose last reader is step s. */
  const dropper = (s: number) => {
    const drops = dropsAfter[s];
    return () => {
      for (const d of drops) {
        if (dropsHeld) heldDrops.push(d);
        else dropNow(d);
      }
    };
  };
  /**
   * The call of a prepared dispatch at step s: allocates the values in `written`, binds the slots
   * in `order` (in the order its `run` takes its buffers), runs it, drops what step s read last.
   */
  const preparedStep = (s: number, written: readonly IRVar[], order: readonly number[], prepared: { run(gpu: KernelHost, buffers: readonly Storage[]): void }): Step => {
    const dropAll = dropper(s);
    const writtenSlots = written.map(slot);
    const writtenHosts = writtenSlots.map(hostOf);
    const buffers: Storage[] = new Array(order.length);
    return () => {
      for (let q = 0; q < written.length; q++) env[writtenSlots[q]] = writtenHosts[q].output(written[q].aval);
      for (let i = 0; i < order.length; i++) buffers[i] = env[order[i]] as Storage;
      prepared.run(gpu, buffers);
      dropAll();
    };
  };
  /**
   * Whether a step binds buffers that can change from call to call in no fixed pattern: inputs not
   * donated (a new batch each call) and values returned from the pool. The plan's own buffers are
   * the same in every call, and in a loop `state = step(state)` the donated inputs and the values
   * written into their buffers (donated twins, inputs updated in place) alternate between two
   * buffers, all in step.
   */
  function bindsCallerBuffers(node: PlanStep): boolean {
    const varies = (k: number) => (k < program.inputs.length && !options.donated?.[k]) || (k >= firstComputed && hostOf(k) === gpu);
    return membersOf(node).some((m) => readsOf(m).some((v) => varies(slot(v))) || storedByNode(m).some((v) => varies(slot(v))));
  }
  const nodeSteps: Step[] = planNodes.map((node, s) => (node.kind === 'siblings' ? siblingStep(node.members, s) : nodeStep(node, s)));
  // Runs of steps on one level are independent: each run records its kernels as merged dispatches.
  const merging = options.merge ?? gpu.mergeKernels;
  const steps: Step[] = [];
  for (let s = 0; s < nodeSteps.length; ) {
    let end = s + 1;
    while (merging && end < nodeSteps.length && levels[end] === levels[s]) end++;
    steps.push(end - s > 1 ? mergedStep(nodeSteps.slice(s, end), planNodes.slice(s, end).map(bindsCallerBuffers)) : nodeSteps[s]);
    s = end;
  }

  /**
   * Independent steps run as one merge group (`WebGPUBackend.merged`): their kernels deferred and
   * then dispatched, merged where they can be; once a call merged nothing, later calls run them as
   * they are.
   */
  function mergedStep(members: readonly Step[], varying: readonly boolean[]): Step {
    const group = new MergeGroup(varying);
    let merges = true;
    const record = () => {
      for (let i = 0; i < members.length; i++) {
        group.step = i;
        members[i]();
      }
    };
    return () => {
      if (!merges) {
        for (let i = 0; i < members.length; i++) members[i]();
        return;
      }
      dropsHeld = true;
      try {
        merges = gpu.merged(group, record);
      } finally {
        dropsHeld = false;
        for (let k = 0; k < heldDrops.length; k++) dropNow(heldDrops[k]);
        heldDrops.length = 0;
      }
    };
  }

  function nodeStep(node: KernelPlanNode, s: number): Step {
    if (preparable(node)) return productsStep([node], s);
    if (reducible(node)) return reduceStep([node as Exclude<KernelPlanNode, FusedGroup>], s);
    const k = slot(node.out);
    const out: Aval = node.out.aval;
    const host = hostOf(k);
    const dropAll = dropper(s);
    const from = reads[s];
    if (node.kind === 'fused') {
      fusedGroups++;
      fusedEquations += node.members.length;
      const n = sizeOf(out.shape);
      const { shapeParams, ...spec } = groupWgsl(node, node.leaves, undefined, context);
      const extra = storedBy(node).slice(0, -1);
      const source = elementwiseWgsl(spec);
      const key = internKey('fused', source);
      const params = [n, ...shapeParams];
      const kernel = `fused(${node.members.map((eq) => eq.prim).join(',')})`.slice(0, 120);
      const groups = n > 0 ? grid1d(kernel, n) : ([0, 0, 0] as const);
      // Bindings: the root's output, the leaves, then the extra outputs.
      const buffers: Storage[] = new Array(from.length + 1 + extra.length);
      const extraSlots = extra.map(slot);
      const extraHosts = extraSlots.map(hostOf);
      const sourceOf = () => source;
      return () => {
        const result = host.output(out);
        env[k] = result;
        for (let q = 0; q < extra.length; q++) env[extraSlots[q]] = extraHosts[q].output(extra[q].aval);
        if (n > 0) {
          buffers[0] = result;
          for (let i = 0; i < from.length; i++) buffers[i + 1] = env[from[i]] as Storage;
          for (let q = 0; q < extra.length; q++) buffers[from.length + 1 + q] = env[extraSlots[q]] as Storage;
          host.run(kernel, key, sourceOf, params, buffers, groups, false, extra.length);
        }
        dropAll();
      };
    }
    if (node.kind === 'kernel') {
      // An empty product or reduction with groups (the others are prepared above).
      const { eq, prologue, epilogue } = node;
      // `from`: the operands (or the prologue's leaves), then the epilogue's other leaves.
      const operandCount = prologue ? prologue.leaves.length : eq.inputs.length;
      const pro = prologue && kernelGroup(prologue, prologue.leaves, from.slice(0, operandCount));
      const epi = epilogue && kernelGroup(epilogue.group, epilogue.leaves, from.slice(operandCount), epilogue.value);
      for (const group of [prologue, epilogue?.group]) fusedEquations += group?.members.length ?? 0;
      if (pro) prologues++;
      if (epi) epilogues++;
      const avals = eq.inputs.map((v) => v.aval);
      const input = (i: number) => ({ storage: env[from[i]] as Storage, aval: avals[i] });
      if (eq.prim === 'matmul') {
        const layout = { transposeA: folded.has(eq.inputs[0]), transposeB: folded.has(eq.inputs[1]) };
        return () => {
          env[k] = matmulKernel(host, [input(0), input(1)], eq.out.aval, layout, epi && { ...epi(), out });
          dropAll();
        };
      }
      if (!isReduceOp(eq.prim)) throw new Error(`jit (webgpu): ${eq.prim} computes no fused groups`);
      const op = eq.prim;
      const { axes } = eq.params as Params<'reduceSum'>;
      return () => {
        const x = pro ? { aval: avals[0], prologue: pro() } : input(0);
        env[k] = reduce(host, op, x, axes, eq.out.aval, epi && { ...epi(), out });
        dropAll();
      };
    }
    const { eq } = node;
    if (eq.prim === 'threefry') {
      // Its key may be a row of a split key read in place, its value the uniforms of its bits (`random.ts`).
      const [key, counts] = eq.inputs.map((v) => v.aval);
      const layout = random.keys.get(eq.inputs[0]);
      return () => {
        env[k] = threefryKernel(host, { storage: env[from[0]] as Storage, aval: key }, { storage: env[from[1]] as Storage, aval: counts }, out, layout);
        dropAll();
      };
    }
    // Other steps (empty products among them, which read nothing) run the backend's kernels.
    const kernel = webgpuKernels[eq.prim] as unknown as (
      gpu: KernelHost,
      inputs: readonly GpuInput[],
      params: Params<Primitive>,
      out: Aval,
    ) => Storage;
    // The kernel's inputs, refilled each call (the kernels read them while they record, keep none).
    const inputs = from.map((_, i) => ({ storage: undefined as unknown as Storage, aval: eq.inputs[i].aval }));
    return () => {
      for (let i = 0; i < from.length; i++) inputs[i].storage = env[from[i]] as Storage;
      env[k] = kernel(host, inputs, eq.params, out);
      dropAll();
    };
  }

  /** One dispatch running independent fused groups, or independent products of one shape and layout (each with its own epilogue), or independent reductions of one shape (each with its own groups). */
  function siblingStep(members: readonly KernelPlanNode[], s: number): Step {
    const dropAll = dropper(s);
    siblings += members.length - 1;
    if (members.every((m): m is FusedGroup => m.kind === 'fused')) {
      fusedGroups += members.length;
      for (const m of members) fusedEquations += m.members.length;
      const run = siblingGroups(members);
      return () => {
        run();
        dropAll();
      };
    }
    if (isThreefry(members[0])) return threefryStep(members as SingleNode[], s);
    return reducible(members[0]) ? reduceStep(members as Exclude<KernelPlanNode, FusedGroup>[], s) : productsStep(members, s);
  }

  /**
   * Independent threefry steps as one prepared dispatch (`prepareThreefrySiblings`): a key or
   * counts several of them read (a split key read in place, the same counts) bound once.
   */
  function threefryStep(members: readonly SingleNode[], s: number): Step {
    const { shared, indices } = sharedReads(members.map((m) => readsOf(m).map(slot)));
    const prepared = prepareThreefrySiblings(
      members.map(({ eq, out }, j) => {
        const [key, counts] = indices[j];
        return { key: eq.inputs[0].aval, keys: random.keys.get(eq.inputs[0]), out: out.aval, reads: { key, counts } };
      }),
      shared.length,
    );
    const outSlots = members.map((m) => slot(m.out));
    return preparedStep(s, members.map((m) => m.out), [outSlots[0], ...shared, ...outSlots.slice(1)], prepared);
  }

  /**
   * A reduction (with its prologue and epilogue, if any), or sibling reductions of one shape (each
   * with its own groups), as a prepared kernel (`prepareReduce`): a call allocates the values they
   * store and binds their buffers.
   */
  function reduceStep(members: readonly Exclude<KernelPlanNode, FusedGroup>[], s: number): Step {
    const groupsOf = (node: KernelPlanNode) => (node.kind === 'kernel' ? { prologue: node.prologue, epilogue: node.epilogue } : {});
    // Each member's groups, as the kernel runs them.
    const shapes = members.map((m) => {
      const { prologue, epilogue } = groupsOf(m);
      for (const group of [prologue, epilogue?.group]) fusedEquations += group?.members.length ?? 0;
      if (prologue) prologues++;
      if (epilogue) epilogues++;
      return { prologue: prologue && groupShape(prologue, prologue.leaves), epilogue: epilogue && groupShape(epilogue.group, epilogue.leaves, epilogue.value) };
    });
    const { eq } = members[0];
    const { axes } = eq.params as Params<'reduceSum'>;
    // Read per member: the operand or the prologue's leaves, then the epilogue's other leaves; a
    // value siblings share is bound once. Written: the results, then per member the prologue's and
    // the epilogue's extra values.
    const memberReads = members.map((m) => readsOf(m).map(slot));
    const { shared, indices } = sharedReads(memberReads);
    const siblings = members.length > 1 ? indices.map((reads, j) => ({ reads, ...shapes[j] })) : undefined;
    const prepared = prepareReduce(eq.prim as ReduceOp, eq.inputs[0].aval, axes, eq.out.aval, shapes[0], siblings);
    const extrasOf = (m: KernelPlanNode) => {
      const g = groupsOf(m);
      return [g.prologue, g.epilogue?.group].flatMap((group) => (group ? storedBy(group).slice(0, -1) : []));
    };
    const written = [...members.map((m) => m.out), ...members.flatMap(extrasOf)];
    const writtenSlots = written.map(slot);
    const order = [writtenSlots[0], ...(siblings ? shared : memberReads[0]), ...writtenSlots.slice(1)];
    return preparedStep(s, written, order, prepared);
  }

  /**
   * Products of one shape and layout (one, or siblings, each with its own epilogue) as one prepared dispatch
   * (`prepareProducts`): a call allocates the values they store and binds its buffers.
   */
  function productsStep(members: readonly KernelPlanNode[], s: number): Step {
    const epilogueOf = (m: KernelPlanNode) => (m.kind === 'kernel' ? m.epilogue : undefined);
    const epilogueShapes = members.map((m) => {
      const epilogue = epilogueOf(m);
      if (!epilogue) return undefined;
      epilogues++;
      fusedEquations += epilogue.group.members.length;
      return groupShape(epilogue.group, epilogue.leaves, epilogue.value);
    });
    const { eq } = members[0] as KernelNode;
    const [a, b] = eq.inputs.map((v) => v.aval);
    const layout = layoutOf(eq);
    // Read: the operands (a concatenation's pieces; siblings bind a buffer several of them read
    // once), then the epilogue's other leaves. Written: the results, then the epilogues' extra values.
    const operands = operandBuffers(layout.piecesA) + operandBuffers(layout.piecesB);
    const memberReads = members.map((m) => readsOf(m).map(slot));
    const { shared, indices } = sharedReads(memberReads.map((r) => r.slice(0, operands)));
    const prepared = prepareProducts(gpu, members.length, a, b, eq.out.aval, layout, epilogueShapes, members.length > 1 ? indices : undefined);
    const extras = members.flatMap((m) => {
      const epilogue = epilogueOf(m);
      return epilogue ? storedBy(epilogue.group).slice(0, -1) : [];
    });
    const written = [...members.map((m) => m.out), ...extras];
    const writtenSlots = written.map(slot);
    // One product binds its operands as read (`x @ x` twice); siblings bind each buffer once.
    const operandSlots = members.length > 1 ? shared : memberReads[0].slice(0, operands);
    const order = [writtenSlots[0], ...operandSlots, ...memberReads.flatMap((r) => r.slice(operands)), ...writtenSlots.slice(1)];
    return preparedStep(s, written, order, prepared);
  }

  /**
   * The call of a sibling kernel of fused groups: the members' leaves bound once each, then the
   * values they store (`siblingGroupsWgsl`).
   */
  function siblingGroups(members: readonly FusedGroup[]): () => void {
    const leaves: IRVar[] = [];
    const leafIndex = (v: IRVar) => {
      if (!leaves.includes(v)) leaves.push(v);
      return leaves.indexOf(v);
    };
    let total = 0;
    const params = members.map((m) => (total += sizeOf(m.out.aval.shape)));
    const groups = members.map((member) => {
      const { shapeParams, ...spec } = groupWgsl(member, member.leaves, undefined, context);
      const at = params.length;
      params.push(...shapeParams);
      return { spec, inputs: member.leaves.map(leafIndex), at };
    });
    // Written: member 0's root (bound first), then its extra values, each later member's root and extra values.
    const written = members.flatMap((m) => [m.out, ...storedBy(m).slice(0, -1)]);
    const writtenSlots = written.map(slot);
    const writtenHosts = writtenSlots.map(hostOf);
    const leafSlots = leaves.map((v) => slot(storedAs(v)));
    const source = siblingGroupsWgsl(
      groups,
      leaves.map((v) => wgslType(v.aval.dtype)),
    );
    const key = internKey('siblings', source);
    const kernel = `siblings(${members.map((m) => m.members.map((eq) => eq.prim).join(',')).join(' | ')})`.slice(0, 120);
    const grid = grid1d(kernel, total);
    const sourceOf = () => source;
    const buffers: Storage[] = new Array(written.length + leaves.length);
    return () => {
      for (let q = 0; q < written.length; q++) env[writtenSlots[q]] = writtenHosts[q].output(written[q].aval);
      buffers[0] = env[writtenSlots[0]] as Storage;
      for (let i = 0; i < leafSlots.length; i++) buffers[1 + i] = env[leafSlots[i]] as Storage;
      for (let q = 1; q < written.length; q++) buffers[leafSlots.length + q] = env[writtenSlots[q]] as Storage;
      gpu.run(kernel, key, sourceOf, params, buffers, grid, false, written.length - 1);
    };
  }

  const inputSlots = program.inputs.map(slot);
  const outputs = program.outputs.map((v) => ({ k: slot(v), aval: v.aval }));
  const stats: { -readonly [K in keyof WebGPUPlanStats]: WebGPUPlanStats[K] } = {
    steps: steps.length,
    fusedGroups,
    fusedEquations,
    pooledBuffers: 0,
    pooledBytes: 0,
    // Pool buffers taken per call (once the plan owns its intermediates): the returned values'.
    allocationsPerCall: nodes.reduce(
      (n, node) =>
        n +
        (node.kind !== 'single' || (node.eq.prim !== 'reshape' && node.eq.prim !== 'stopGradient')
          ? storedByNode(node).filter((v) => outputSlots.has(slot(v))).length
          : 0),
      0,
    ),
    internalAllocations: {},
    dispatchesPerCall: 0,
    foldedTransposes: folded.size,
    epilogues,
    prologues,
    siblings,
    concats: concats.size,
    views: withKernelGroups.filter((node) => node.kind === 'single' && node.eq.prim !== 'reshape' && views.has(node.out)).length,
    scalars: new Set(split.flatMap(groupLeaves).filter((v) => scalarWords.has(v))).size,
    randomMerged: random.removed,
    inPlace: updates.length,
    mergedDispatches: 0,
    mergedKernels: 0,
  };
  const runSteps = () => {
    for (let s = 0; s < steps.length; s++) steps[s]();
  };
  return {
    stats,
    run(inputs) {
      gpu.checkUsable('jit');
      const before = gpu.dispatched;
      const mergedBefore = gpu.mergedDispatches;
      const kernelsBefore = gpu.mergedKernels;
      for (let i = 0; i < inputSlots.length; i++) env[inputSlots[i]] = (inputs[i].handle as GpuHandle).storage;
      if (updates.length > 0) {
        inputsByStorage.clear();
        for (const k of inputSlots) inputsByStorage.set(env[k] as Storage, (inputsByStorage.get(env[k] as Storage) ?? 0) + 1);
      }
      gpu.asOneBatch(runSteps);
      const handedOut = new Set<number>();
      const results = outputs.map(({ k, aval }) => {
        const storage = env[k] as Storage;
        // A computed value's reference passes to the first tensor returning it; others share it.
        const owned = k >= firstComputed && !handedOut.has(k);
        handedOut.add(k);
        const handle = gpu.handleOf(owned ? storage : gpu.share(storage));
        return new ArrayTensor(gpu, handle, aval.shape, aval.dtype);
      });
      // The donated inputs' buffers, kept for the next call's paired outputs (once `jit` has
      // disposed the inputs, the plan's reference is the only one).
      for (let j = 0; j < pairs.length; j++) twins.adopt(j, env[inputSlots[pairs[j].input]] as Storage);
      for (let k = firstComputed; k < env.length; k++) env[k] = undefined;
      for (const k of inputSlots) env[k] = undefined;
      planBuffers.reset();
      gpu.flush();
      stats.dispatchesPerCall = gpu.dispatched - before;
      stats.mergedDispatches = gpu.mergedDispatches - mergedBefore;
      stats.mergedKernels = gpu.mergedKernels - kernelsBefore;
      stats.pooledBuffers = planBuffers.buffers;
      stats.pooledBytes = planBuffers.bytes;
      return results;
    },
  };
}
