/**
 * In-place updates of donated inputs (a WebGPU plan's `donateArgnums`): a group that reads a donated
 * input `x` elementwise and stores a returned value `y` of its shape and dtype writes `y` into `x`'s
 * buffer, in the same call. Each invocation of the group's kernel reads `x[i]` (from the buffer it
 * writes, bound once) before it writes `y[i]`, and no other invocation touches index i, so the
 * result is the one a fresh buffer would hold; a node that also reads `x` otherwise (through a
 * transposed or sliced view, or as a product's operand) keeps `x` out. Every other step reading `x` must run before (the
 * plan's order gives each such reader an order edge to the writer); a reader after the writer in
 * program order keeps `x` out. Adam's new moments and parameters, and the target networks' Polyak
 * averages, are such updates: the state stays in one set of buffers, and each update kernel binds
 * one buffer per state tensor instead of two.
 */
import { sizeOf } from '../../tensor';
import { shapesEqual } from '../../tensor/shape';
import type { IRProgram, IRVar } from '../ir';
import { storedBy } from './fuse';
import type { FusedGroup } from './fuse';
import type { KernelPlanNode } from './kernel-groups';

/**
 * A donated input whose update node `node` writes into its buffer; `readers`, the other nodes
 * reading the input, all before it (indices into the plan's nodes).
 */
export interface InPlaceUpdate {
  readonly input: IRVar;
  readonly output: IRVar;
  readonly node: number;
  readonly readers: readonly number[];
}

/** The group of a node that may store an update in place, and the leaves it reads: a fused node's, or a kernel's epilogue. */
function updatingGroup(node: KernelPlanNode): { group: FusedGroup; leaves: readonly IRVar[] } | undefined {
  if (node.kind === 'fused') return { group: node, leaves: node.leaves };
  if (node.kind === 'kernel' && node.epilogue) return { group: node.epilogue.group, leaves: node.epilogue.leaves };
  return undefined;
}

/**
 * The in-place updates of `program`'s donated inputs among `nodes` (in program order; `reads` gives
 * what each node reads, views and folded transposes resolved to what they read).
 *
 * @example
 * const updates = inPlaceUpdates(nodes, program, [true, false], readsOf);
 */
export function inPlaceUpdates(nodes: readonly KernelPlanNode[], program: IRProgram, donated: readonly boolean[], reads: (node: KernelPlanNode) => readonly IRVar[]): InPlaceUpdate[] {
  const returned = new Map<IRVar, number>();
  for (const v of program.outputs) returned.set(v, (returned.get(v) ?? 0) + 1);
  const candidates = new Set(program.inputs.filter((x, i) => donated[i] && !returned.has(x)));
  const readers = new Map<IRVar, number[]>();
  nodes.forEach((node, n) => {
    for (const v of new Set(reads(node))) if (candidates.has(v)) readers.set(v, [...(readers.get(v) ?? []), n]);
  });
  const taken = new Set<IRVar>();
  const updates: InPlaceUpdate[] = [];
  nodes.forEach((node, n) => {
    const found = updatingGroup(node);
    if (!found) return;
    const { group, leaves } = found;
    const size = sizeOf(group.out.aval.shape);
    const nodeReads = reads(node);
    for (const x of leaves) {
      if (!candidates.has(x) || taken.has(x) || sizeOf(x.aval.shape) !== size) continue;
      // x read only as this leaf: a second read (a transposed or sliced view of x, a product's
      // operand) would take other elements of x, which other invocations may have overwritten.
      if (nodeReads.filter((v) => v === x).length !== 1) continue;
      // Every other reader runs before this node in program order (so nothing reads x after it is overwritten).
      const before = (readers.get(x) ?? []).filter((r) => r !== n);
      if (before.some((r) => r > n)) continue;
      const y = storedBy(group).find(
        (v) => !taken.has(v) && returned.get(v) === 1 && v.aval.dtype === x.aval.dtype && shapesEqual(v.aval.shape, x.aval.shape),
      );
      if (!y) continue;
      taken.add(x);
      taken.add(y);
      updates.push({ input: x, output: y, node: n, readers: before });
    }
  });
  return updates;
}
