/**
 * Random-number steps a WebGPU plan merges (a SAC update draws its noise from keys it splits):
 *
 * - a `threefry` whose bits only a float32 `uniformFromBits` reads becomes one step storing the
 *   uniform floats (the threefry kernel converts each word where it stores it);
 * - a key that is a slice of a split key (the words of `threefry(key, iota)` cut into rows of two)
 *   and that only `threefry` steps read as their key is not run: they read the split key in place,
 *   row r's key at `offset + r · stride`.
 */
import type { Params } from '../../tensor';
import type { IRVar } from '../ir';
import { type KernelPlanNode, readBy } from './kernel-groups';
import { sliceView } from './views';

/** Where the keys of a sliced split key are: row r's two words from `source[offset + r · stride]`. */
export interface KeyView {
  readonly source: IRVar;
  readonly offset: number;
  readonly stride: number;
}

/** The nodes with random steps merged, the keys read in place, and how many steps that removed. */
export interface MergedRandom {
  readonly nodes: KernelPlanNode[];
  readonly keys: Map<IRVar, KeyView>;
  readonly removed: number;
}

/**
 * `nodes` with each threefry whose bits only a float32 `uniformFromBits` reads storing the uniforms
 * itself (a node whose value is the uniforms', the `uniformFromBits` dropped), and with the slices of
 * split keys that only threefry steps read as keys dropped (`keys` says where to read them).
 *
 * @example
 * const { nodes: merged, keys } = mergeRandomSteps(nodes, program.outputs);
 */
export function mergeRandomSteps(nodes: readonly KernelPlanNode[], outputs: readonly IRVar[]): MergedRandom {
  const readers = new Map<IRVar, KernelPlanNode[]>();
  for (const node of nodes) for (const v of readBy(node)) readers.set(v, [...(readers.get(v) ?? []), node]);
  const single = (node: KernelPlanNode, prim: string) => node.kind === 'single' && node.eq.prim === prim;
  const returned = new Set(outputs);

  // Threefry into uniforms: the uniform node goes, the threefry node stores its value.
  const uniformOf = new Map<KernelPlanNode, IRVar>();
  const dropped = new Set<KernelPlanNode>();
  for (const node of nodes) {
    if (!single(node, 'threefry') || returned.has(node.out)) continue;
    const users = readers.get(node.out) ?? [];
    const [user] = users;
    if (users.length !== 1 || !single(user, 'uniformFromBits') || user.kind !== 'single') continue;
    if ((user.eq.params as Params<'uniformFromBits'>).dtype !== 'float32') continue;
    uniformOf.set(node, user.out);
    dropped.add(user);
  }

  // Slices of split keys read only as threefry keys.
  const keys = new Map<IRVar, KeyView>();
  for (const node of nodes) {
    if (node.kind !== 'single' || node.eq.prim !== 'slice' || returned.has(node.out)) continue;
    const users = readers.get(node.out) ?? [];
    if (users.length === 0 || !users.every((u) => u.kind === 'single' && u.eq.prim === 'threefry' && u.eq.inputs[0] === node.out && u.eq.inputs[1] !== node.out)) continue;
    const view = keyView(node.eq.inputs[0], node.out, node.eq.params as Params<'slice'>);
    if (!view) continue;
    keys.set(node.out, view);
    dropped.add(node);
  }

  const merged = nodes.flatMap((node): KernelPlanNode[] => {
    if (dropped.has(node)) return [];
    const uniform = uniformOf.get(node);
    return uniform && node.kind === 'single' ? [{ ...node, out: uniform }] : [node];
  });
  return { nodes: merged, keys, removed: dropped.size };
}

/**
 * Where the rows of two words of `key = slice(source)` are in `source`, when every row is two
 * neighbouring words and the rows are evenly spaced (else undefined: the slice is run).
 */
function keyView(source: IRVar, key: IRVar, params: Params<'slice'>): KeyView | undefined {
  const shape = key.aval.shape;
  if (shape.length === 0 || shape[shape.length - 1] !== 2) return undefined;
  const { offset, strides } = sliceView(source, params);
  if (strides[strides.length - 1] !== 1) return undefined;
  // The row axes (those of more than one row), outermost first, must step like one flat axis.
  const rows = shape.slice(0, -1).flatMap((size, j) => (size > 1 ? [j] : []));
  for (let q = 0; q + 1 < rows.length; q++) {
    if (strides[rows[q]] !== strides[rows[q + 1]] * shape[rows[q + 1]]) return undefined;
  }
  return { source, offset, stride: rows.length > 0 ? strides[rows[rows.length - 1]] : 2 };
}
