/**
 * Fusion of elementwise chains: groups of elementwise equations (and `broadcastTo`, an elementwise
 * copy) that a backend can run as one loop over the group's output. A group grows backwards from its
 * last equation (the root) and takes in a producer whose value has as many elements as the root (so
 * nothing is recomputed per output element) when every use of the value is inside the group. With
 * `multiOutput`, a producer whose value is also used later (by equations after the root, or as a
 * program output) joins too, and the group stores that value as an extra output: one loop then
 * computes, say, Adam's new moments and parameters together. The other values the group reads are
 * its leaves; they broadcast to the root's shape. `maxBindings` (a kernel's storage buffers) keeps a
 * join that adds an output from making a group bind more leaves and outputs than that.
 */
import { isElementwise, type Primitive, sizeOf } from '../../tensor';
import type { Equation, IRProgram, IRVar } from '../ir';

/** A fused group: `members` in program order, the last one is the root whose value is stored. */
export interface FusedGroup {
  readonly kind: 'fused';
  readonly members: readonly Equation[];
  /** The values read from storage, in first-use order. */
  readonly leaves: readonly IRVar[];
  /** The root's value. */
  readonly out: IRVar;
  /** The values stored: extra outputs in program order, then the root's (absent: the root's only). */
  readonly outputs?: readonly IRVar[];
}

/** The values a plan node stores. */
export const storedBy = (node: PlanNode): readonly IRVar[] => (node.kind === 'fused' ? (node.outputs ?? [node.out]) : [node.out]);

/** One step of a plan: a fused group or a single non-elementwise equation. */
export type PlanNode = FusedGroup | { readonly kind: 'single'; readonly eq: Equation; readonly out: IRVar };

/** Whether a primitive can be part of a fused loop. */
export const isFusable = (p: Primitive): boolean => isElementwise(p) || p === 'broadcastTo';

/**
 * Splits a program's equations into fused groups and single equations, in an order that respects
 * their dependencies.
 *
 * @example
 * const nodes = fuseElementwise(optimizeProgram(makeIR(f)(x))[0]);
 */
export function fuseElementwise(program: IRProgram, options: { multiOutput?: boolean; maxBindings?: number } = {}): PlanNode[] {
  const users = new Map<IRVar, Equation[]>();
  for (const eq of program.equations) for (const v of eq.inputs) users.set(v, [...(users.get(v) ?? []), eq]);
  const outputs = new Set(program.outputs);
  const producer = new Map<IRVar, Equation>();
  const position = new Map<Equation, number>();
  program.equations.forEach((eq, i) => {
    producer.set(eq.out, eq);
    position.set(eq, i);
  });
  /** Whether `v` may be computed inside the group `members` rooted at `root` (stored if used outside). */
  const joinable = (v: IRVar, members: ReadonlySet<Equation>, root: Equation): boolean => {
    const outside = (users.get(v) ?? []).filter((eq) => !members.has(eq));
    if (!options.multiOutput) return outside.length === 0 && !outputs.has(v);
    // Used outside only after the group runs (at its root's place in the program).
    return outside.every((eq) => (position.get(eq) as number) > (position.get(root) as number));
  };

  /** Leaves plus stored values of a candidate group. */
  const bindings = (members: readonly Equation[], root: Equation): number => {
    const set = new Set(members);
    const defined = new Set(members.map((eq) => eq.out));
    const leaves = new Set(members.flatMap((eq) => eq.inputs.filter((v) => !defined.has(v))));
    const stored = members.filter((eq) => eq === root || outputs.has(eq.out) || (users.get(eq.out) ?? []).some((u) => !set.has(u)));
    return leaves.size + stored.length;
  };
  const grouped = new Set<Equation>();
  const nodes: PlanNode[] = [];
  for (let i = program.equations.length - 1; i >= 0; i--) {
    const root = program.equations[i];
    if (grouped.has(root)) continue;
    grouped.add(root);
    if (!isFusable(root.prim)) {
      nodes.push({ kind: 'single', eq: root, out: root.out });
      continue;
    }
    const size = sizeOf(root.out.aval.shape);
    const members = new Set<Equation>([root]);
    // Grow to a fixpoint: a producer shared by two members joins once both are in.
    for (let changed = true; changed; ) {
      changed = false;
      const inside = new Set<IRVar>();
      for (const m of members) for (const v of m.inputs) inside.add(v);
      for (const v of inside) {
        const p = producer.get(v);
        if (!p || members.has(p) || grouped.has(p) || !isFusable(p.prim)) continue;
        if (sizeOf(v.aval.shape) !== size || !joinable(v, members, root)) continue;
        if (options.maxBindings !== undefined && bindings([...members, p], root) > options.maxBindings) {
          const storedAnyway = outputs.has(v) || (users.get(v) ?? []).some((u) => !members.has(u));
          if (storedAnyway) continue;
        }
        members.add(p);
        grouped.add(p);
        changed = true;
      }
    }
    const ordered = [...members].sort((a, b) => (position.get(a) as number) - (position.get(b) as number));
    const defined = new Set(ordered.map((eq) => eq.out));
    const leaves: IRVar[] = [];
    for (const eq of ordered) for (const v of eq.inputs) if (!defined.has(v) && !leaves.includes(v)) leaves.push(v);
    const stored = ordered.filter((eq) => eq !== root && (outputs.has(eq.out) || (users.get(eq.out) ?? []).some((u) => !members.has(u))));
    nodes.push({ kind: 'fused', members: ordered, leaves, out: root.out, outputs: [...stored.map((eq) => eq.out), root.out] });
  }
  return nodes.reverse();
}
