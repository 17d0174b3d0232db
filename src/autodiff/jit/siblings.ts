/**
 * Sibling kernels (horizontal fusion): independent plan nodes of one kind run as one dispatch. A
 * WebGPU dispatch costs tens of microseconds of recording whatever its size, and a SAC update is
 * full of independent twins: the two critics' products, forward and backward, and the optimizer's
 * updates of parameters whose gradients are ready together.
 *
 * Nodes are placed on levels: a node's level exceeds the levels of the nodes it reads from, so
 * nodes of one level never depend on one another, and ordering the nodes by level keeps every
 * value computed before it is read. Within a level, nodes of one class (`classOf`: which nodes one
 * kernel can run together) are packed in program order while the kernel's bindings fit. Four
 * levellings are tried: as soon as possible (a node's longest path from the inputs), as late as
 * possible (from the outputs), and two mixtures of those (nodes of a class with several
 * members late and the rest early, or the other way round); in each, a node alone of its class on
 * its level then moves to a level where its class has nodes, if its producers and readers allow
 * (`join`). The levelling leaving fewest nodes is kept (of those leaving as many, the one with
 * fewer levels: a WebGPU plan records each level's kernels as merged dispatches); where none
 * merges anything the nodes come each on its earliest level.
 */
import type { IRVar } from '../ir';

/** Nodes of one class run by one kernel, in the order the kernel runs them. */
export interface SiblingNode<N> {
  readonly kind: 'siblings';
  readonly members: readonly N[];
}

/** What `groupSiblings` needs to know of a plan's nodes. */
export interface SiblingRules<N> {
  /** The values a node reads (a folded transpose: the value it transposes). */
  readonly reads: (node: N) => readonly IRVar[];
  /** The values a node stores. */
  readonly stores: (node: N) => readonly IRVar[];
  /** Which nodes can share a kernel with this one: nodes of one class can; `undefined` runs alone. */
  readonly classOf: (node: N) => string | undefined;
  /** The storage buffers (the params' included) one kernel running `members` binds. */
  readonly bindings: (members: readonly N[]) => number;
  readonly maxBindings: number;
}

/**
 * `nodes` (in an order where each value is stored before it is read) with independent nodes of one
 * class merged into sibling nodes, in an order where that still holds.
 *
 * @example
 * // the two critics' first layers, x @ w1 and x @ w2, become one node running both products
 * const planNodes = groupSiblings(nodes, rules);
 */
export function groupSiblings<N>(nodes: readonly N[], rules: SiblingRules<N>): (N | SiblingNode<N>)[] {
  return levelledSiblings(nodes, rules).steps;
}

/**
 * `groupSiblings`' steps with each step's level: steps of one level are independent of each other
 * (neither reads what the other stores), and the steps come in order of level.
 *
 * @example
 * const { steps, levels } = levelledSiblings(nodes, rules);
 * // steps i and i + 1 can run in either order, or together, where levels[i] === levels[i + 1]
 */
export function levelledSiblings<N>(nodes: readonly N[], rules: SiblingRules<N>): { steps: (N | SiblingNode<N>)[]; levels: number[] } {
  const producer = new Map<IRVar, number>();
  nodes.forEach((node, i) => rules.stores(node).forEach((v) => producer.set(v, i)));
  const before = nodes.map((node) => {
    const from = new Set<number>();
    for (const v of rules.reads(node)) {
      const p = producer.get(v);
      if (p !== undefined) from.add(p);
    }
    return [...from];
  });
  /** Each node on the first level after its producers' at or after `preferred(i)`. */
  const levelled = (preferred: (i: number) => number) => {
    const level: number[] = [];
    before.forEach((from, i) => level.push(from.reduce((l, p) => Math.max(l, level[p] + 1), preferred(i))));
    return level;
  };
  const early = levelled(() => 0);
  const last = Math.max(0, ...early);
  const late = nodes.map(() => last);
  for (let i = nodes.length - 1; i >= 0; i--) for (const p of before[i]) late[p] = Math.min(late[p], late[i] - 1);

  const after: number[][] = nodes.map(() => []);
  before.forEach((from, i) => from.forEach((p) => after[p].push(i)));
  // Two more levellings mix those: nodes that have others of their class as late as their readers
  // allow and the rest as soon as their producers allow, and the other way round.
  const kinds = nodes.map(rules.classOf);
  const counts = new Map<string, number>();
  for (const kind of kinds) if (kind !== undefined) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  const paired = (i: number) => (counts.get(kinds[i] as string) ?? 0) > 1;
  const levellings = [early, late, levelled((i) => (paired(i) ? late[i] : early[i])), levelled((i) => (paired(i) ? early[i] : late[i]))];
  // Where nothing merges, the nodes each on its earliest level. Of levellings leaving as many
  // steps, the one with fewer levels (a level's steps can be recorded as one merged dispatch).
  let best = byLevel(nodes, nodes.map(() => undefined), early, rules);
  const levelCount = (levels: readonly number[]) => new Set(levels).size;
  for (const level of levellings) {
    const grouped = byLevel(nodes, kinds, join(nodes, kinds, level, before, after, rules), rules);
    const [steps, most] = [grouped.steps.length, best.steps.length];
    if (steps < most || (steps === most && levelCount(grouped.levels) < levelCount(best.levels))) best = grouped;
  }
  return best;
}

/** The nodes ordered by level, each level's nodes of one class (`kinds`) packed into siblings. */
function byLevel<N>(nodes: readonly N[], kinds: readonly (string | undefined)[], level: readonly number[], rules: SiblingRules<N>): { steps: (N | SiblingNode<N>)[]; levels: number[] } {
  const order = nodes.map((_, i) => i).sort((i, j) => level[i] - level[j] || i - j);
  const result: (N | SiblingNode<N>)[] = [];
  const levels: number[] = [];
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && level[order[end]] === level[order[start]]) end++;
    // Packs of this level by class; a pack is emitted where its first member was.
    const open = new Map<string, N[]>();
    const packs: (N | N[])[] = [];
    for (const i of order.slice(start, end)) {
      const node = nodes[i];
      const kind = kinds[i];
      if (kind === undefined) {
        packs.push(node);
        continue;
      }
      const pack = open.get(kind);
      if (pack && rules.bindings([...pack, node]) <= rules.maxBindings) pack.push(node);
      else {
        const fresh = [node];
        open.set(kind, fresh);
        packs.push(fresh);
      }
    }
    for (const pack of packs) {
      if (!Array.isArray(pack)) result.push(pack);
      else if (pack.length === 1) result.push(pack[0]);
      else result.push({ kind: 'siblings', members: pack });
      levels.push(level[order[start]]);
    }
    start = end;
  }
  return { steps: result, levels };
}

/**
 * Moves each node that no node of its class shares a level with to a level where some do, within
 * the levels its producers and readers allow as they stand (so the order stays valid), when that
 * level's nodes of the class and it still fit one kernel. Each move leaves one node fewer alone, so
 * this ends.
 */
function join<N>(nodes: readonly N[], kinds: readonly (string | undefined)[], levels: readonly number[], before: readonly number[][], after: readonly number[][], rules: SiblingRules<N>): number[] {
  const level = levels.slice();
  const top = Math.max(0, ...level);
  // The nodes of each class on each level.
  const at = new Map<string, number[]>();
  const key = (kind: string, l: number) => `${l} ${kind}`;
  kinds.forEach((kind, i) => {
    if (kind === undefined) return;
    const list = at.get(key(kind, level[i]));
    if (list) list.push(i);
    else at.set(key(kind, level[i]), [i]);
  });
  for (let i = 0; i < nodes.length; i++) {
    const kind = kinds[i];
    if (kind === undefined || (at.get(key(kind, level[i])) as number[]).length > 1) continue;
    const lo = before[i].reduce((l, p) => Math.max(l, level[p] + 1), 0);
    const hi = after[i].reduce((l, q) => Math.min(l, level[q] - 1), top);
    for (let l = lo; l <= hi; l++) {
      const there = at.get(key(kind, l));
      if (l === level[i] || !there || rules.bindings([...there, i].map((j) => nodes[j])) > rules.maxBindings) continue;
      at.delete(key(kind, level[i]));
      there.push(i);
      level[i] = l;
      break;
    }
  }
  return level;
}
