/**
 * Batching rules: for each primitive, how to apply it to values that carry an extra batch axis. A
 * rule gets the inputs one level down (the batched ones with their batch axis `bdim`, the others
 * as they are, `bdim` null) and returns the batched output and its batch axis. Rules move the batch
 * axis to the front and shift the primitive's axis parameters past it, so each primitive becomes
 * one application of itself on the whole batch: matmul a batched matmul, `threefry` one hash with a
 * batch of keys, never a loop over the batch.
 */
import * as T from '../../tensor';
import {
  ARG_REDUCE_OPS,
  BINARY_OPS,
  type Params,
  type Primitive,
  REDUCE_OPS,
  type Tensor,
  UNARY_OPS,
} from '../../tensor';

/** The batch axis of a value, or null for a value that is the same for every batch member. */
export type BatchDim = number | null;

export type BatchRule<P extends Primitive> = (
  vals: readonly Tensor[],
  bdims: readonly BatchDim[],
  params: Params<P>,
  size: number,
) => [Tensor, BatchDim];

/** Moves axis `from` of x to position `to`. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return T.bind('transpose', [x], { perm });
}

/** Inserts a new axis of `size` at `axis` (the value repeated along it). */
export function broadcastAxis(x: Tensor, axis: number, size: number): Tensor {
  const ones = [...x.shape];
  ones.splice(axis, 0, 1);
  const shape = [...x.shape];
  shape.splice(axis, 0, size);
  return T.bind('broadcastTo', [T.bind('reshape', [x], { shape: ones })], { shape });
}

/** The value with its batch axis first; an unbatched value gets one of `size` by broadcasting. */
function toFront(x: Tensor, bdim: BatchDim, size: number): Tensor {
  return bdim === null ? broadcastAxis(x, 0, size) : moveAxis(x, bdim, 0);
}

/** Per-example rank of an input. */
const rankOf = (x: Tensor, bdim: BatchDim): number => (bdim === null ? x.ndim : x.ndim - 1);

/**
 * Batched inputs with the batch axis first, padded with unit axes after it to `1 + rank`; unbatched
 * inputs as they are. NumPy broadcasting then aligns every per-example axis and leaves the batch
 * axis alone (the unbatched inputs have rank <= `rank`).
 */
function alignForBroadcast(vals: readonly Tensor[], bdims: readonly BatchDim[], rank: number): Tensor[] {
  return vals.map((x, i) => {
    const bdim = bdims[i];
    if (bdim === null) return x;
    const front = moveAxis(x, bdim, 0);
    const missing = rank - (front.ndim - 1);
    if (missing === 0) return front;
    return T.bind('reshape', [front], { shape: [front.shape[0], ...Array(missing).fill(1), ...front.shape.slice(1)] });
  });
}

/** Elementwise primitives of several broadcasting inputs (binary ops, `where`). */
function broadcasting<P extends Primitive>(prim: P): BatchRule<P> {
  return (vals, bdims, params) => {
    const rank = Math.max(...vals.map((x, i) => rankOf(x, bdims[i])));
    return [T.bind(prim, alignForBroadcast(vals, bdims, rank), params), 0];
  };
}

/** Elementwise primitives of one input: the batch axis stays where it is. */
function unary<P extends Primitive>(prim: P): BatchRule<P> {
  return ([x], [bdim], params) => [T.bind(prim, [x], params), bdim];
}

/** Primitives of one input whose parameters name axes: batch axis first, axes shifted by one. */
function oneInput<P extends Primitive>(prim: P, shift: (params: Params<P>, size: number) => Params<P>): BatchRule<P> {
  return ([x], [bdim], params, size) => [T.bind(prim, [toFront(x, bdim, size)], shift(params, size)), 0];
}

const plusOne = (axes: readonly number[]): number[] => axes.map((a) => a + 1);

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => BatchRule<K>): { [P in K]: BatchRule<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: BatchRule<P> };
}

/**
 * Indexed primitives (`gather`, `scatterAdd`): operand and indices have one rank, the axes other
 * than `axis` broadcast. The batched input gets its batch axis first, the unbatched one a unit axis
 * there (so it broadcasts over the batch).
 */
function indexed<P extends 'gather' | 'scatterAdd'>(prim: P): BatchRule<P> {
  return (vals, bdims, params) => {
    const inputs = vals.map((x, i) => {
      const bdim = bdims[i];
      return bdim === null ? T.bind('reshape', [x], { shape: [1, ...x.shape] }) : moveAxis(x, bdim, 0);
    });
    return [T.bind(prim, inputs, { ...params, axis: params.axis + 1 } as Params<P>), 0];
  };
}

/** One rule per primitive (a mapped type over `Primitive`: a primitive without a rule does not compile). */
export const batchRules: { [P in Primitive]: BatchRule<P> } = {
  ...table(UNARY_OPS, unary),
  ...table(BINARY_OPS, broadcasting),
  ...table(REDUCE_OPS, (op) => oneInput(op, ({ axes }) => ({ axes: plusOne(axes) }))),
  ...table(ARG_REDUCE_OPS, (op) => oneInput(op, ({ axis }) => ({ axis: axis + 1 }))),
  where: broadcasting('where'),
  cast: unary('cast'),
  stopGradient: unary('stopGradient'),

  matmul([a, b], [da, db]) {
    // A batch of matrices times one matrix is one matrix product with the batch folded into the rows.
    if (db === null && b.ndim === 2) {
      const front = moveAxis(a, da as number, 0);
      const rows = front.shape.slice(0, -1);
      const flat = T.bind('reshape', [front], { shape: [rows.reduce((p, d) => p * d, 1), front.shape[front.ndim - 1]] });
      const out = T.bind('matmul', [flat, b], {});
      return [T.bind('reshape', [out], { shape: [...rows, b.shape[1]] }), 0];
    }
    // Otherwise a batched matmul: the batch axis leads the (broadcast) batch axes of the kernel.
    const rank = Math.max(rankOf(a, da), rankOf(b, db));
    return [T.bind('matmul', alignForBroadcast([a, b], [da, db], rank), {}), 0];
  },

  reshape: oneInput('reshape', ({ shape }, size) => ({ shape: [size, ...shape] })),
  transpose: oneInput('transpose', ({ perm }) => ({ perm: [0, ...plusOne(perm)] })),
  broadcastTo([x], [bdim], { shape }, size) {
    const front = moveAxis(x, bdim as number, 0);
    const missing = shape.length - (front.ndim - 1);
    const aligned = missing === 0 ? front : T.bind('reshape', [front], { shape: [size, ...Array(missing).fill(1), ...front.shape.slice(1)] });
    return [T.bind('broadcastTo', [aligned], { shape: [size, ...shape] }), 0];
  },
  slice: oneInput('slice', ({ starts, stops, steps }, size) => ({
    starts: [0, ...starts],
    stops: [size, ...stops],
    steps: [1, ...steps],
  })),
  flip: oneInput('flip', ({ axes }) => ({ axes: plusOne(axes) })),
  pad: oneInput('pad', ({ lo, hi, interior }) => ({ lo: [0, ...lo], hi: [0, ...hi], interior: [0, ...interior] })),
  concat: (vals, bdims, { axis }, size) => [
    T.bind(
      'concat',
      vals.map((x, i) => toFront(x, bdims[i], size)),
      { axis: axis + 1 },
    ),
    0,
  ],
  gather: indexed('gather'),
  scatterAdd: indexed('scatterAdd'),
  // Sorts along the last axis: a batch axis anywhere else stays where it is; a last one moves to the
  // front. The params (descending, k: the first k positions of each row) apply to every row as they are.
  argsort: ([x], [bdim], params) =>
    bdim === x.ndim - 1 ? [T.bind('argsort', [moveAxis(x, bdim, 0)], params), 0] : [T.bind('argsort', [x], params), bdim],

  // The primitive takes a batch of keys u32[...K, 2] with counts u32[...K, ...]: each level of vmap
  // adds one leading axis to both (the unbatched one broadcast), so any nesting is one hash.
  threefry: ([key, counts], [dk, dc], _params, size) => [
    T.bind('threefry', [toFront(key, dk, size), toFront(counts, dc, size)], {}),
    0,
  ],
  uniformFromBits([bits], [bdim], params) {
    // float32 is elementwise; float64 reads u32[2, ...shape], so the batch axis goes after the 2.
    if (params.dtype === 'float32') return [T.bind('uniformFromBits', [bits], params), bdim];
    return [T.bind('uniformFromBits', [moveAxis(bits, bdim as number, 1)], params), 0];
  },
};
