/**
 * Fusion of elementwise chains: groups of elementwise equations (and `broadcastTo`, an elementwise
 * copy) that a backend can run as one loop over the group's output. A group grows backwards from its
 * last equation (the root) and takes in a producer only when every use of the producer's value is
 * inside the group (so no intermediate needs storage) and the value has as many elements as the
 * root (so nothing is recomputed per output element). The other values the group reads are its
 * leaves; they broadcast to the root's shape.
 */
import { isElementwise, type Primitive, sizeOf } from '../../tensor';
import type { Equation, IRProgram, IRVar } from '../ir';

/** A fused group: `members` in program order, the last one is the root whose value is stored. */
export interface FusedGroup {
  readonly kind: 'fused';
  readonly members: readonly Equation[];
  /** The values read from storage, in first-use order. */
  readonly leaves: readonly IRVar[];
  readonly out: IRVar;
}

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
export function fuseElementwise(program: IRProgram): PlanNode[] {
  const uses = new Map<IRVar, number>();
  const count = (v: IRVar) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const eq of program.equations) eq.inputs.forEach(count);
  const outputs = new Set(program.outputs);
  const producer = new Map<IRVar, Equation>();
  const position = new Map<Equation, number>();
  program.equations.forEach((eq, i) => {
    producer.set(eq.out, eq);
    position.set(eq, i);
  });

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
      const inside = new Map<IRVar, number>();
      for (const m of members) for (const v of m.inputs) inside.set(v, (inside.get(v) ?? 0) + 1);
      for (const [v, n] of inside) {
        const p = producer.get(v);
        if (!p || members.has(p) || grouped.has(p) || !isFusable(p.prim) || outputs.has(v)) continue;
        if (n !== uses.get(v) || sizeOf(v.aval.shape) !== size) continue;
        members.add(p);
        grouped.add(p);
        changed = true;
      }
    }
    const ordered = [...members].sort((a, b) => (position.get(a) as number) - (position.get(b) as number));
    const defined = new Set(ordered.map((eq) => eq.out));
    const leaves: IRVar[] = [];
    for (const eq of ordered) for (const v of eq.inputs) if (!defined.has(v) && !leaves.includes(v)) leaves.push(v);
    nodes.push({ kind: 'fused', members: ordered, leaves, out: root.out });
  }
  return nodes.reverse();
}
