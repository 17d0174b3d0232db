/**
 * Slices, transposes and zero paddings a plan need not copy: one whose value only fused groups
 * read, as leaves (a fused node's, or a product's or reduction's prologue or epilogue), and that is
 * not returned. Each group reads the input in place, at `offset + Σ index[j] · strides[j]` (a
 * padding: zero outside its input's bounds, and at `index - lo` inside), so the slice, transpose or
 * padding is not run (the WebGPU plan's strided `'v'` and `'p'` leaves). A SAC update slices its
 * policy head's output into mean and log-std, and the optimizer's gradient through a concatenation
 * into its parts; the gradient of those slices pads each part back to the head's width and adds
 * them; a mixture policy transposes its components' log-probabilities for the reductions over them.
 */
import type { Params } from '../../tensor';
import { sizeOf, stridesOf } from '../../tensor/shape';
import type { IRVar } from '../ir';
import { groupLeaves, type KernelPlanNode } from './kernel-groups';

/**
 * Where a slice's or transpose's elements are in its input: `source[offset + Σ index[j] · strides[j]]`.
 * A zero padding's: zero where an index is outside `bounds` (`lo[j] <= index[j] < lo[j] + sizes[j]`),
 * and `source[offset + Σ (index[j] - lo[j]) · strides[j]]` inside.
 */
export interface SliceView {
  readonly source: IRVar;
  readonly offset: number;
  readonly strides: readonly number[];
  readonly bounds?: { readonly lo: readonly number[]; readonly sizes: readonly number[] };
}

/** The values a node reads otherwise than as a group's leaf: a single step's inputs, a kernel's operands. */
function operandsOf(node: KernelPlanNode): readonly IRVar[] {
  if (node.kind === 'fused') return [];
  if (node.kind === 'single') return node.eq.inputs;
  return node.prologue ? [] : node.eq.inputs;
}

/**
 * The slices, transposes and zero paddings (of non-empty inputs, without interior padding) among `nodes` that only
 * groups read as leaves (and that are not returned), with where their elements are in their inputs.
 *
 * @example
 * // m = slice(h, [0, 0], [B, 6]); y = exp(m) * 2  ->  Map { m => { source: h, offset: 0, strides: [12, 1] } }
 * // g = pad(d, lo [0, 6], hi [0, 0]) of d [B, 6]  ->  Map { g => { source: d, offset: 0, strides: [6, 1], bounds: { lo: [0, 6], sizes: [B, 6] } } }
 * const views = foldableSlices(nodes, program.outputs);
 */
export function foldableSlices(nodes: readonly KernelPlanNode[], outputs: readonly IRVar[]): Map<IRVar, SliceView> {
  const asLeaf = new Set<IRVar>();
  const asOperand = new Set<IRVar>();
  for (const node of nodes) {
    for (const v of groupLeaves(node)) asLeaf.add(v);
    for (const v of operandsOf(node)) asOperand.add(v);
  }
  const views = new Map<IRVar, SliceView>();
  for (const node of nodes) {
    if (node.kind !== 'single' || (node.eq.prim !== 'slice' && node.eq.prim !== 'transpose' && node.eq.prim !== 'pad')) continue;
    const v = node.out;
    if (outputs.includes(v) || asOperand.has(v) || !asLeaf.has(v)) continue;
    const source = node.eq.inputs[0];
    if (node.eq.prim === 'slice') {
      views.set(v, sliceView(source, node.eq.params as Params<'slice'>));
      continue;
    }
    if (node.eq.prim === 'pad') {
      const { lo, interior } = node.eq.params as Params<'pad'>;
      // A padding of an empty input is all zeros; one with interior zeros has no single stride.
      if (interior.some((n) => n > 0) || sizeOf(source.aval.shape) === 0) continue;
      views.set(v, { source, offset: 0, strides: stridesOf(source.aval.shape), bounds: { lo, sizes: source.aval.shape } });
      continue;
    }
    const strides = stridesOf(source.aval.shape);
    views.set(v, { source, offset: 0, strides: (node.eq.params as Params<'transpose'>).perm.map((p) => strides[p]) });
  }
  return views;
}

/**
 * Where `slice(source)`'s elements are in `source`.
 *
 * @example
 * sliceView(x, { starts: [0, 2], stops: [4, 4], steps: [1, 1] }); // x [4, 6]: offset 2, strides [6, 1]
 */
export function sliceView(source: IRVar, { starts, steps }: Params<'slice'>): SliceView {
  const strides = stridesOf(source.aval.shape);
  return { source, offset: starts.reduce((sum, s, j) => sum + s * strides[j], 0), strides: strides.map((s, j) => s * steps[j]) };
}
