/**
 * Slices, transposes and zero paddings a plan need not copy: one whose value only fused groups
 * read, as leaves (a fused node's, or a product's or reduction's prologue or epilogue), directly or
 * through reshapes that only add or drop axes of one element, and that is not returned. Each group reads the input in place, at `offset + Σ index[j] · strides[j]` (a
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
 * The slices, transposes and zero paddings (of non-empty inputs, without interior padding) among
 * `nodes` whose values are read in place (`readInPlace`), with where their elements are in their
 * inputs; and the reshapes of those that only add or drop axes of one element, with where theirs are.
 *
 * @example
 * // m = slice(h, [0, 0], [B, 6]); y = exp(m) * 2  ->  Map { m => { source: h, offset: 0, strides: [12, 1] } }
 * // g = pad(d, lo [0, 6], hi [0, 0]) of d [B, 6]  ->  Map { g => { source: d, offset: 0, strides: [6, 1], bounds: { lo: [0, 6], sizes: [B, 6] } } }
 * const views = foldableSlices(nodes, program.outputs);
 */
export function foldableSlices(nodes: readonly KernelPlanNode[], outputs: readonly IRVar[]): Map<IRVar, SliceView> {
  const asLeaf = new Set<IRVar>();
  const operandReaders = new Map<IRVar, KernelPlanNode[]>();
  for (const node of nodes) {
    for (const v of groupLeaves(node)) asLeaf.add(v);
    for (const v of operandsOf(node)) operandReaders.set(v, [...(operandReaders.get(v) ?? []), node]);
  }
  /**
   * Whether `v` can be read where it is used: it is not returned, and it is read as a group's leaf,
   * or by reshapes that only add or drop axes of one element and whose values can be (a mixture's
   * policy slices its head, then adds an axis for the components' log-probabilities).
   */
  const readInPlace = (v: IRVar): boolean => {
    if (outputs.includes(v)) return false;
    const others = operandReaders.get(v) ?? [];
    if (others.length === 0) return asLeaf.has(v);
    return others.every((node) => node.kind === 'single' && node.eq.prim === 'reshape' && onlyUnitAxes(node.eq.inputs[0].aval.shape, node.out.aval.shape) && readInPlace(node.out));
  };
  const views = new Map<IRVar, SliceView>();
  for (const node of nodes) {
    if (node.kind !== 'single') continue;
    const v = node.out;
    const source = node.eq.inputs[0];
    if (node.eq.prim === 'reshape') {
      const view = views.get(source);
      if (view && onlyUnitAxes(source.aval.shape, v.aval.shape)) views.set(v, reshapedView(view, source.aval.shape, v.aval.shape));
      continue;
    }
    if ((node.eq.prim !== 'slice' && node.eq.prim !== 'transpose' && node.eq.prim !== 'pad') || !readInPlace(v)) continue;
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

/** The positions of the axes of more than one element. */
const longAxes = (shape: readonly number[]) => shape.flatMap((size, j) => (size === 1 ? [] : [j]));

/** Whether reshaping `from` into `to` only adds or drops axes of one element. */
function onlyUnitAxes(from: readonly number[], to: readonly number[]): boolean {
  const [a, b] = [longAxes(from), longAxes(to)];
  return a.length === b.length && a.every((j, i) => from[j] === to[b[i]]);
}

/** `view` of a value of shape `from`, reshaped to `to` (which only adds or drops axes of one element). */
function reshapedView(view: SliceView, from: readonly number[], to: readonly number[]): SliceView {
  const [a, b] = [longAxes(from), longAxes(to)];
  // An axis of one element is read at index 0: any stride; inside a padding's bounds (its input is not empty).
  const strides = to.map(() => 0);
  b.forEach((t, i) => (strides[t] = view.strides[a[i]]));
  if (!view.bounds) return { source: view.source, offset: view.offset, strides };
  const { lo, sizes } = view.bounds;
  const bounds = { lo: to.map(() => 0), sizes: to.map(() => 1) };
  b.forEach((t, i) => {
    bounds.lo[t] = lo[a[i]];
    bounds.sizes[t] = sizes[a[i]];
  });
  return { source: view.source, offset: view.offset, strides, bounds };
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
