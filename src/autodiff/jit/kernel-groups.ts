/**
 * Fusion into products and reductions, after elementwise fusion (`fuse.ts`): fused groups that a
 * matrix product's or a reduction's kernel can compute itself, so that they are not kernels of
 * their own.
 *
 * Epilogues: a group that reads the value `v` of a product or a reduction, directly or through
 * reshapes (which copy nothing: the flat order is the same), is applied where the kernel stores
 * each value (`relu(x @ w + b)` is one matmul kernel, `sum(x) * (1 / n)` one reduction) when
 *
 * - `v` (and each reshape of it on the way) is read by one step alone, the last by this group, and
 *   none is returned: none is stored;
 * - `v` has as many elements as the group's root, so the group's element `i` is `f(v[i], leaves)`
 *   (its other leaves broadcast to the root's shape as in any group: a bias row or column, a
 *   scalar, a tensor of the root's shape);
 * - the reduction is not empty (an empty one stores a constant, not a reduced value).
 *
 * Prologues: a group whose root `x` only a reduction reads (not returned) is computed where the
 * reduction reads each element (`sum((q - y)²)` reads `(q - y)²` at
 * each index, never stored). A multi-output group's extra values are stored by the reduction (it
 * reads every element once) when nothing reads them before the reduction's step has run.
 *
 * Movements: a reduction left without a prologue that reads a slice, transpose or padding takes an
 * identity prologue reading it as a leaf, which `views.ts` can then read in place.
 *
 * Either way the kernel binds everything (params, the values it stores, its own operands or the
 * prologue's leaves, the epilogue's other leaves) within `maxBindings` storage buffers. Of two
 * products read by one group the first eligible in leaf order is taken. The pass is opt-in: a plan
 * calls it on the nodes of `fuseElementwise` (the WebGPU plan does; the CPU plan does not).
 */
import { type Primitive, type ReduceOp, sizeOf } from '../../tensor';
import type { Equation, IRVar } from '../ir';
import { type FusedGroup, type PlanNode, storedBy } from './fuse';

/** A group applied where a kernel stores its values. */
export interface Epilogue {
  readonly group: FusedGroup;
  /** The leaf of `group` that is the kernel's value (or its reshape). */
  readonly value: IRVar;
  /** The reshapes from the kernel's value to `value` (no steps of their own). */
  readonly reshapes: readonly Equation[];
  /** The group's other leaves, in the group's order. */
  readonly leaves: readonly IRVar[];
}

/** A matrix product or reduction `eq` whose kernel computes fused groups too. */
export interface KernelNode {
  readonly kind: 'kernel';
  readonly eq: Equation;
  /** Reductions: the group computing `eq`'s operand where the kernel reads it (its root is not stored). */
  readonly prologue?: FusedGroup;
  readonly epilogue?: Epilogue;
  /** The value computed last: the epilogue's root, or `eq`'s value. */
  readonly out: IRVar;
}

/** One step of a plan with groups fused into kernels. */
export type KernelPlanNode = PlanNode | KernelNode;

/** The values a plan node stores (a kernel node: the prologue's extra values, then the epilogue's or `eq`'s). */
export function storedByNode(node: KernelPlanNode): readonly IRVar[] {
  if (node.kind !== 'kernel') return storedBy(node);
  const before = node.prologue ? storedBy(node.prologue).slice(0, -1) : [];
  return [...before, ...(node.epilogue ? storedBy(node.epilogue.group) : [node.eq.out])];
}

/** The values a plan node reads from storage (a kernel node: its operands or its prologue's leaves, then its epilogue's). */
export function readBy(node: KernelPlanNode): readonly IRVar[] {
  if (node.kind === 'fused') return node.leaves;
  if (node.kind === 'single') return node.eq.inputs;
  return [...(node.prologue ? node.prologue.leaves : node.eq.inputs), ...(node.epilogue?.leaves ?? [])];
}

/** The leaves of the groups a node computes: a fused node's, a kernel's prologue's and epilogue's. */
export function groupLeaves(node: KernelPlanNode): readonly IRVar[] {
  if (node.kind === 'fused') return node.leaves;
  if (node.kind === 'single') return [];
  return [...(node.prologue?.leaves ?? []), ...(node.epilogue?.leaves ?? [])];
}

/** A producer whose kernel takes fused groups: its own operands, whether it takes a prologue, and whether this equation's shapes allow groups. */
interface KernelRule {
  readonly operands: number;
  readonly prologue: boolean;
  readonly accepts: (eq: Equation) => boolean;
}

/** A reduction over at least one term (an empty one stores a constant, not a reduced value). */
const reduction: KernelRule = {
  operands: 1,
  prologue: true,
  accepts: (eq) => sizeOf((eq.params as { axes: readonly number[] }).axes.map((a) => eq.inputs[0].aval.shape[a])) > 0,
};

/** The primitives whose kernels compute fused groups. */
const KERNEL_RULES: { readonly [P in 'matmul' | ReduceOp]: KernelRule } = {
  matmul: { operands: 2, prologue: false, accepts: () => true },
  reduceSum: reduction,
  reduceProd: reduction,
  reduceMax: reduction,
  reduceMin: reduction,
};

const ruleOf = (p: Primitive): KernelRule | undefined => (KERNEL_RULES as Partial<Record<Primitive, KernelRule>>)[p];

/** Storage buffers a kernel node binds: params, stored values, operands (or the prologue's leaves and extra values), the epilogue's other leaves. */
function bindingsOf(node: KernelNode): number {
  const operands = node.prologue ? node.prologue.leaves.length : (ruleOf(node.eq.prim) as KernelRule).operands;
  return 1 + storedByNode(node).length + operands + (node.epilogue?.leaves.length ?? 0);
}

/**
 * Fuses each eligible group into the product or reduction it reads (epilogues) or that reads it
 * (prologues); see the module comment. The kernel's step takes the place of its epilogue (or of
 * itself), and the steps of its groups and the reshapes between go.
 *
 * @example
 * const nodes = fuseIntoKernels(fuseElementwise(program, { multiOutput: true }), program.outputs, { maxBindings: 16 });
 * // relu(x @ w + b): [{ kind: 'kernel', eq: matmul, epilogue: { group: add, le, where, leaves: [b, 0] } }]
 */
export function fuseIntoKernels(nodes: readonly PlanNode[], outputs: readonly IRVar[], options: { readonly maxBindings: number }): KernelPlanNode[] {
  const withEpilogues = fuseEpilogues(nodes, outputs, options.maxBindings);
  return readMovementsAsLeaves(fusePrologues(withEpilogues, outputs, options.maxBindings), outputs);
}

/** How many nodes read each value. */
function readerCounts(nodes: readonly KernelPlanNode[]): Map<IRVar, number> {
  const readers = new Map<IRVar, number>();
  for (const node of nodes) for (const v of readBy(node)) readers.set(v, (readers.get(v) ?? 0) + 1);
  return readers;
}

/** Products and reductions take the groups reading their values (first pass). */
function fuseEpilogues(nodes: readonly PlanNode[], outputs: readonly IRVar[], maxBindings: number): KernelPlanNode[] {
  const readers = readerCounts(nodes);
  const returned = new Set(outputs);
  const singles = new Map<IRVar, Equation>();
  for (const node of nodes) if (node.kind === 'single') singles.set(node.out, node.eq);
  const readOnce = (v: IRVar) => readers.get(v) === 1 && !returned.has(v);
  /** The product or reduction whose value `leaf` is (through reshapes read once), with those reshapes. */
  const source = (leaf: IRVar): { eq: Equation; reshapes: Equation[] } | undefined => {
    const reshapes: Equation[] = [];
    let eq = singles.get(leaf);
    for (; eq?.prim === 'reshape' && readOnce(eq.out); eq = singles.get(eq.inputs[0])) reshapes.push(eq);
    return eq && ruleOf(eq.prim) && readOnce(eq.out) ? { eq, reshapes } : undefined;
  };

  const taken = new Set<Equation>();
  const fusedInto = new Map<FusedGroup, KernelNode>();
  for (const group of nodes) {
    if (group.kind !== 'fused') continue;
    const size = sizeOf(group.out.aval.shape);
    for (const value of group.leaves) {
      const found = source(value);
      if (!found || size === 0 || sizeOf(value.aval.shape) !== size) continue;
      const leaves = group.leaves.filter((v) => v !== value);
      const node: KernelNode = { kind: 'kernel', eq: found.eq, epilogue: { group, value, reshapes: found.reshapes, leaves }, out: group.out };
      if (bindingsOf(node) > maxBindings || !(ruleOf(found.eq.prim) as KernelRule).accepts(found.eq)) continue;
      for (const eq of [found.eq, ...found.reshapes]) taken.add(eq);
      fusedInto.set(group, node);
      break;
    }
  }
  return nodes.flatMap((node): KernelPlanNode[] => {
    if (node.kind === 'single') return taken.has(node.eq) ? [] : [node];
    return [fusedInto.get(node) ?? node];
  });
}

/** Reductions (with or without an epilogue) take the groups computing their operands (second pass). */
function fusePrologues(nodes: readonly KernelPlanNode[], outputs: readonly IRVar[], maxBindings: number): KernelPlanNode[] {
  const readers = readerCounts(nodes);
  const returned = new Set(outputs);
  const groups = new Map<IRVar, FusedGroup>();
  for (const node of nodes) if (node.kind === 'fused') groups.set(node.out, node);
  /** Where each value is first read, by node position. */
  const firstRead = new Map<IRVar, number>();
  nodes.forEach((node, i) => {
    for (const v of readBy(node)) if (!firstRead.has(v)) firstRead.set(v, i);
  });

  const taken = new Set<FusedGroup>();
  const fused = nodes.map((node, i): KernelPlanNode => {
    const eq = node.kind === 'single' || node.kind === 'kernel' ? node.eq : undefined;
    const rule = eq && ruleOf(eq.prim);
    if (!eq || !rule?.prologue || !rule.accepts(eq)) return node;
    const x = eq.inputs[0];
    const group = groups.get(x);
    if (!group || readers.get(x) !== 1 || returned.has(x)) return node;
    // The group now runs at this step: its extra values must not be read before.
    const extras = storedBy(group).slice(0, -1);
    if (extras.some((v) => (firstRead.get(v) ?? Infinity) <= i)) return node;
    const kernel: KernelNode = { kind: 'kernel', eq, prologue: group, epilogue: node.kind === 'kernel' ? node.epilogue : undefined, out: node.out };
    if (bindingsOf(kernel) > maxBindings) return node;
    taken.add(group);
    return kernel;
  });
  return fused.filter((node) => node.kind !== 'fused' || !taken.has(node));
}

/** Movements whose values a kernel can read as a group's leaf, in place (`views.ts`). */
const MOVEMENTS: ReadonlySet<Primitive> = new Set<Primitive>(['slice', 'transpose', 'pad']);

/**
 * Reductions without a prologue that read a slice, transpose or padding take an identity prologue
 * (one `broadcastTo` to the same shape) reading it as a leaf (third pass): a leaf can be a view
 * into the movement's input, so the movement need not run (`views.ts`), as when a group reads it.
 * A mixture's policy reduces slices of its head this way.
 */
function readMovementsAsLeaves(nodes: readonly KernelPlanNode[], outputs: readonly IRVar[]): KernelPlanNode[] {
  const returned = new Set(outputs);
  const movements = new Set<IRVar>();
  for (const node of nodes) if (node.kind === 'single' && MOVEMENTS.has(node.eq.prim) && !returned.has(node.out)) movements.add(node.out);
  // The values added get negative ids, apart from the program's.
  let nextId = -1;
  return nodes.map((node): KernelPlanNode => {
    if ((node.kind !== 'single' && node.kind !== 'kernel') || (node.kind === 'kernel' && node.prologue)) return node;
    const rule = ruleOf(node.eq.prim);
    const x = node.eq.inputs[0];
    if (!rule?.prologue || !rule.accepts(node.eq) || !movements.has(x)) return node;
    const read: IRVar = { id: nextId--, aval: x.aval };
    const identity: Equation = { prim: 'broadcastTo', inputs: [x], params: { shape: x.aval.shape }, out: read };
    const prologue: FusedGroup = { kind: 'fused', members: [identity], leaves: [x], out: read };
    const eq: Equation = { ...node.eq, inputs: [read, ...node.eq.inputs.slice(1)] };
    return { kind: 'kernel', eq, prologue, epilogue: node.kind === 'kernel' ? node.epilogue : undefined, out: node.out };
  });
}
