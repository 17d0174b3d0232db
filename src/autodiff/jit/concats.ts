/**
 * Concatenations a plan need not store: one along its last axis whose value only matrix products
 * read, as operands (plain, or through a transpose folded into the product), and that is not
 * returned. Each product reads the pieces in place, picking the piece by the stored column, so the
 * concatenation is not run (the WebGPU plan's `MatmulLayout.piecesA`/`piecesB`). A SAC update feeds
 * its critics `concat([observation, action], -1)` three times: for the target, for the critic loss
 * (forward and the weights' gradient), and for the policy loss.
 */
import type { Params } from '../../tensor';
import type { IRVar } from '../ir';
import { type KernelPlanNode, readBy, storedByNode } from './kernel-groups';

/** The values a concatenation joins, and their widths along its last axis. */
export interface ConcatOperand {
  readonly pieces: readonly IRVar[];
  readonly widths: readonly number[];
}

/**
 * The concatenations among `nodes` along their last axis, of non-empty pieces, that only the
 * products `isProduct` accepts read as operands (`folded`: a transpose folded into its products,
 * by its value) and that are not returned, where each product reading them still binds at most
 * `maxBindings` buffers (params, pieces, epilogue leaves but those `unbound` says are not bound,
 * stored values).
 *
 * @example
 * // x = concat([s, u], 1) of s [B, 17], u [B, 6]; q = x @ w  ->  Map { x => { pieces: [s, u], widths: [17, 6] } }
 * const concats = productConcats(nodes, program.outputs, folded, preparable, 16, (v) => scalarWords.has(v));
 */
export function productConcats(
  nodes: readonly KernelPlanNode[],
  outputs: readonly IRVar[],
  folded: ReadonlyMap<IRVar, IRVar>,
  isProduct: (node: KernelPlanNode) => boolean,
  maxBindings: number,
  unbound: (v: IRVar) => boolean,
): Map<IRVar, ConcatOperand> {
  // A value read otherwise than as a product's operand (a folded transpose's readers read its input).
  const elsewhere = new Set<IRVar>(outputs);
  for (const node of nodes) {
    if (node.kind === 'single' && folded.has(node.out)) continue;
    const operands = isProduct(node) && node.kind !== 'fused' ? node.eq.inputs : [];
    readBy(node).forEach((v, j) => {
      if (j >= operands.length) elsewhere.add(folded.get(v) ?? v);
    });
  }
  const concats = new Map<IRVar, ConcatOperand>();
  for (const node of nodes) {
    if (node.kind !== 'single' || node.eq.prim !== 'concat' || elsewhere.has(node.out)) continue;
    const { axis } = node.eq.params as Params<'concat'>;
    const rank = node.out.aval.shape.length;
    const widths = node.eq.inputs.map((v) => v.aval.shape[rank - 1]);
    if ((axis + rank) % rank !== rank - 1 || widths.some((w) => w === 0)) continue;
    concats.set(node.out, { pieces: node.eq.inputs, widths });
  }
  // A product that would bind too many buffers reads its concatenations stored.
  for (const node of nodes) {
    if (!isProduct(node)) continue;
    const reads = readBy(node)
      .filter((v) => !unbound(v))
      .map((v) => folded.get(v) ?? v);
    const bindings = 1 + storedByNode(node).length + reads.reduce((n, v) => n + (concats.get(v)?.pieces.length ?? 1), 0);
    if (bindings > maxBindings) for (const v of reads) concats.delete(v);
  }
  return concats;
}
