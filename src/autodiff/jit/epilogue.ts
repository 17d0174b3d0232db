/**
 * Epilogue fusion, after elementwise fusion (`fuse.ts`): a fused group that reads the result of a
 * matrix product or a reduction is applied by that kernel where it stores each value, so the group
 * is not a kernel of its own (`relu(x @ w + b)` is one matmul kernel, `sum(x) * (1 / n)` one
 * reduction). A group takes the value `v` of a product or reduction, directly or through reshapes
 * (which copy nothing: the flat order is the same), when
 *
 * - `v` (and each reshape of it on the way) is read by one step alone, the last by this group, and
 *   none is returned: none is stored;
 * - `v` has as many elements as the group's root, so the group's element `i` is `f(v[i], leaves)`
 *   (its other leaves broadcast to the root's shape as in any group: a bias row or column, a
 *   scalar, a tensor of the root's shape);
 * - the kernel's shapes allow it (a reduction over no terms stores a constant elsewhere);
 * - the kernel can bind everything: params, the stored values (the root's and a multi-output
 *   group's extra ones), the kernel's own operands and the group's other leaves, at most
 *   `maxBindings` storage buffers.
 *
 * Multi-output groups fuse (their extra values are stored by the same kernel). A group reading two
 * such values takes the first eligible one in leaf order; the other is an ordinary leaf. The pass is
 * opt-in: a plan calls it on the nodes of `fuseElementwise` (the WebGPU plan does; the CPU plan
 * does not).
 */
import { type Primitive, type ReduceOp, sizeOf } from '../../tensor';
import type { Equation, IRVar } from '../ir';
import { type FusedGroup, type PlanNode, storedBy } from './fuse';

/** A matrix product or reduction `eq` whose kernel applies `group` to its result where it stores it. */
export interface EpilogueNode {
  readonly kind: 'epilogue';
  /** The product or reduction; its value, or a reshape of it, is one of `group`'s leaves and is not stored. */
  readonly eq: Equation;
  /** The leaf of `group` that is `eq`'s value (or its reshape). */
  readonly value: IRVar;
  /** The reshapes from `eq`'s value to `value` (no steps of their own). */
  readonly reshapes: readonly Equation[];
  readonly group: FusedGroup;
  /** The group's other leaves, in the group's order. */
  readonly leaves: readonly IRVar[];
  /** The group's root value. */
  readonly out: IRVar;
}

/** One step of a plan with epilogues fused. */
export type EpiloguePlanNode = PlanNode | EpilogueNode;

/** The values a plan node stores. */
export const storedByNode = (node: EpiloguePlanNode): readonly IRVar[] => (node.kind === 'epilogue' ? storedBy(node.group) : storedBy(node));

/** A producer whose kernel takes an epilogue: the storage buffers of its own operands, and whether this equation's shapes allow one. */
interface EpilogueRule {
  readonly operands: number;
  readonly accepts: (eq: Equation) => boolean;
}

/** A reduction over at least one term (an empty one stores a constant, not a reduced value). */
const reduction: EpilogueRule = {
  operands: 1,
  accepts: (eq) => sizeOf((eq.params as { axes: readonly number[] }).axes.map((a) => eq.inputs[0].aval.shape[a])) > 0,
};

/** The primitives whose kernels apply an epilogue. */
const EPILOGUE_RULES: { readonly [P in 'matmul' | ReduceOp]: EpilogueRule } = {
  matmul: { operands: 2, accepts: () => true },
  reduceSum: reduction,
  reduceProd: reduction,
  reduceMax: reduction,
  reduceMin: reduction,
};

const ruleOf = (p: Primitive): EpilogueRule | undefined => (EPILOGUE_RULES as Partial<Record<Primitive, EpilogueRule>>)[p];

/**
 * Fuses each eligible group into the product or reduction it reads (see the module comment); the
 * producer's step goes and the group's step becomes an `EpilogueNode` in its place.
 *
 * @example
 * const nodes = fuseEpilogues(fuseElementwise(program, { multiOutput: true }), program.outputs, { maxBindings: 16 });
 * // relu(x @ w + b): [{ kind: 'epilogue', eq: matmul, group: add, maximum, leaves: [b, 0] }]
 */
export function fuseEpilogues(nodes: readonly PlanNode[], outputs: readonly IRVar[], options: { readonly maxBindings: number }): EpiloguePlanNode[] {
  const readers = new Map<IRVar, number>();
  for (const node of nodes) {
    for (const v of node.kind === 'fused' ? node.leaves : node.eq.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
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
  const fusedInto = new Map<FusedGroup, EpilogueNode>();
  for (const group of nodes) {
    if (group.kind !== 'fused') continue;
    const size = sizeOf(group.out.aval.shape);
    for (const value of group.leaves) {
      const found = source(value);
      if (!found || size === 0 || sizeOf(value.aval.shape) !== size) continue;
      const rule = ruleOf(found.eq.prim) as EpilogueRule;
      const bindings = 1 + storedBy(group).length + rule.operands + group.leaves.length - 1;
      if (bindings > options.maxBindings || !rule.accepts(found.eq)) continue;
      for (const eq of [found.eq, ...found.reshapes]) taken.add(eq);
      const leaves = group.leaves.filter((v) => v !== value);
      fusedInto.set(group, { kind: 'epilogue', eq: found.eq, value, reshapes: found.reshapes, group, leaves, out: group.out });
      break;
    }
  }
  return nodes.flatMap((node): EpiloguePlanNode[] => {
    if (node.kind === 'single') return taken.has(node.eq) ? [] : [node];
    return [fusedInto.get(node) ?? node];
  });
}
