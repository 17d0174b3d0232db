/**
 * Transposes a plan need not copy: a transpose of the last two axes whose value only matrix products
 * read. The products read the transpose's input as stored, with that operand's layout transposed
 * (`prepareMatmul(..., { transposeA, transposeB })` on the CPU, the matmul kernel's layout variants on
 * WebGPU), so the transpose is not run. Shared by the CPU and WebGPU plans.
 */
import type { Params } from '../../tensor';
import type { IRVar } from '../ir';
import type { PlanNode } from './fuse';

/** Whether `perm` swaps the last two axes and keeps every other axis in place. */
export function swapsLastTwo(perm: readonly number[]): boolean {
  const r = perm.length;
  return r >= 2 && perm.every((p, i) => p === (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
}

/**
 * Transposes of the last two axes read only by matrix products (and not returned), mapped to their
 * inputs: the products read the input as stored transposed, so the transpose is not copied.
 *
 * @example
 * // y = transpose(w, [1, 0]); z = matmul(x, y)  ->  Map { y => w }: z reads w with transposeB
 * const folded = foldableTransposes(fuseElementwise(program), program.outputs);
 * const layout = { transposeA: folded.has(eq.inputs[0]), transposeB: folded.has(eq.inputs[1]) };
 */
export function foldableTransposes(nodes: readonly PlanNode[], outputs: readonly IRVar[]): Map<IRVar, IRVar> {
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
    const onlyProducts = (readers.get(node.out) ?? []).every((x) => x.kind === 'single' && x.eq.prim === 'matmul');
    if (swapsLastTwo(perm) && onlyProducts) folded.set(node.out, node.eq.inputs[0]);
  }
  return folded;
}
