/**
 * Sorting: `sort`, `argsort` and `topk`, composites of one primitive, `argsort` (the first k
 * positions of the stable sorting permutation along the last axis: all of them for `sort` and
 * `argsort`, the first k of the descending order for `topk`). The sort axis is moved last (a
 * transpose, none when it is already last), the values are taken with `gather` (whose vjp, a
 * `scatterAdd`, is sort's gradient: each output's cotangent goes back to the element it came
 * from), and the axis moved back.
 *
 * Order: NaN counts as larger than every number, so an ascending sort puts NaNs last (as NumPy's
 * and JAX's `sort` do) and a descending sort or `topk` puts them first (as `torch.sort(descending=True)`
 * and `torch.topk`); -0 and +0 are equal. Every sort is stable: equal values (NaNs among them) keep
 * their order, also when descending (NumPy's `kind='stable'`, `torch.sort(stable=True)`).
 * Float and integer dtypes sort; bool throws a `DTypeError` (cast it to int32 first).
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors';
import { bind } from '../interpreter';
import { formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, type TensorLike } from './convert';
import { moveAxis } from './movement';

/** Where `sort`/`argsort` sort, and in which direction. */
export interface SortOptions {
  /** The axis to sort along (negative from the end); default -1, the last. */
  readonly axis?: number;
  /** Largest first (NaNs first); default false: smallest first, NaNs last. */
  readonly descending?: boolean;
}

/** The tensor with the sort axis last (checked: not a scalar, not bool, an axis in range), and that axis. */
function sortable(op: string, x: TensorLike, axis: number): { t: Tensor; a: number } {
  const t = asTensor(x);
  if (t.ndim === 0) throw new ShapeError(`${op}: cannot sort a scalar (shape ${formatShape(t.shape)}); it needs an axis`);
  if (t.dtype === 'bool') throw new DTypeError(`${op}: cannot sort a bool tensor of shape ${formatShape(t.shape)}; cast it to int32 first`);
  if (!Number.isInteger(axis) || axis < -t.ndim || axis >= t.ndim) {
    throw new ArgumentError(`${op}: axis ${String(axis)} is out of range for shape ${formatShape(t.shape)} (rank ${t.ndim})`);
  }
  const a = axis < 0 ? axis + t.ndim : axis;
  return { t: moveAxis(t, a, -1), a };
}

function checkDescending(op: string, descending: unknown): boolean {
  if (typeof descending !== 'boolean') throw new ArgumentError(`${op}: descending must be a boolean, got ${String(descending)}`);
  return descending;
}

/**
 * The stable sorting permutation along `axis` (int32, x's shape): `takeAlongAxis(x, argsort(x), axis)`
 * is `sort(x)`. Ascending puts NaNs last, descending first; equal values keep their order either way.
 *
 * @example
 * argsort(tensor([3, 1, 2, 1])); // int32 [1, 3, 2, 0]
 * argsort(tensor([3, 1, 2, 1]), { descending: true }); // int32 [0, 2, 1, 3]
 * argsort(tensor([[2, 0], [1, 3]]), { axis: 0 }); // int32 [[1, 0], [0, 1]]
 */
export function argsort(x: TensorLike, { axis = -1, descending = false }: SortOptions = {}): Tensor {
  const { t, a } = sortable('argsort', x, axis);
  const idx = bind('argsort', [t], { descending: checkDescending('argsort', descending), k: t.shape[t.ndim - 1] });
  return moveAxis(idx, -1, a);
}

/**
 * The values sorted along `axis`: smallest first (NaNs last), or largest first (NaNs first) with
 * `descending`. Differentiable: each output's gradient goes to the element it came from (ties
 * resolved by the stable order).
 *
 * @example
 * sort(tensor([3, NaN, 1, 2])); // [1, 2, 3, NaN]
 * sort(tensor([[3, 1], [0, 2]]), { axis: 0, descending: true }); // [[3, 2], [0, 1]]
 * grad((x: Tensor) => sum(mul(sort(x), tensor([1, 2, 3]))))(tensor([5, 4, 6])); // [2, 1, 3]
 */
export function sort(x: TensorLike, { axis = -1, descending = false }: SortOptions = {}): Tensor {
  const { t, a } = sortable('sort', x, axis);
  const idx = bind('argsort', [t], { descending: checkDescending('sort', descending), k: t.shape[t.ndim - 1] });
  return moveAxis(bind('gather', [t, idx], { axis: t.ndim - 1 }), -1, a);
}

/**
 * The `k` largest values along `axis`, largest first, and their indices (int32), as `torch.topk`
 * and `jax.lax.top_k`: `[values, indices]`, each of x's shape with `k` along `axis`. NaN counts as
 * the largest value; of equal values the one with the lower index comes first. The values are
 * differentiable (their gradient goes to the elements taken).
 *
 * @example
 * const [values, indices] = topk(tensor([1, 5, 3, 5]), 2); // values [5, 5], indices int32 [1, 3]
 * topk(tensor([[1, 9], [7, 2]]), 1, { axis: 0 }); // [[[7, 9]], [[1, 0]]] (values, indices)
 */
export function topk(x: TensorLike, k: number, { axis = -1 }: { readonly axis?: number } = {}): [Tensor, Tensor] {
  const { t, a } = sortable('topk', x, axis);
  const n = t.shape[t.ndim - 1];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    // k past the axis is a mismatch with the shape; a negative or fractional k is a bad argument.
    const Err = Number.isInteger(k) && k > n ? ShapeError : ArgumentError;
    throw new Err(`topk: k must be an integer in [0, ${n}] for axis ${axis} of shape ${formatShape(asTensor(x).shape)}, got ${String(k)}`);
  }
  // The primitive returns only the first k positions of the descending sort: on the CPU a
  // selection when k is well below n, not a full sort.
  const idx = bind('argsort', [t], { descending: true, k });
  const values = bind('gather', [t, idx], { axis: t.ndim - 1 });
  return [moveAxis(values, -1, a), moveAxis(idx, -1, a)];
}
