/** Reductions over any set of axes, with `keepdims`. */
import { isFloat } from '../dtype';
import { bind } from '../interpreter';
import type { ReduceOp } from '../primitives';
import { normalizeAxes, normalizeAxis, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, castIfNeeded, type TensorLike } from './convert';
import { add, div, exp, isFinite, log, square, stopGradient, sub, where } from './elementwise';
import { expandDims, reshape } from './movement';

/** Which axes to reduce: one, several, or all (undefined). */
export type Axes = number | readonly number[] | undefined;

function reduction(op: ReduceOp, name: string) {
  return (x: TensorLike, axes?: Axes, keepdims = false): Tensor => {
    let t = asTensor(x);
    if (t.dtype === 'bool' && (op === 'reduceSum' || op === 'reduceProd')) t = castIfNeeded(t, 'int32');
    const a = normalizeAxes(name, axes, t.ndim);
    const out = a.length === 0 ? t : bind(op, [t], { axes: a });
    return keepdims ? restoreAxes(out, a) : out;
  };
}

/** Puts size-1 axes back where `axes` were reduced. */
function restoreAxes(x: Tensor, axes: readonly number[]): Tensor {
  return axes.length === 0 ? x : expandDims(x, axes);
}

/** @example sum(tensor([[1, 2], [3, 4]]), 0); // [4, 6] */
export const sum = reduction('reduceSum', 'sum');
/** Product of elements. @example prod(tensor([2, 3])); // 6 */
export const prod = reduction('reduceProd', 'prod');
/** Largest element; NaN propagates. @example max(tensor([[1, 5], [3, 2]]), 1); // [5, 3] */
export const max = reduction('reduceMax', 'max');
/** Smallest element; NaN propagates. @example min(tensor([3, 1, 2])); // 1 */
export const min = reduction('reduceMin', 'min');

/**
 * Arithmetic mean (integer inputs give float32).
 *
 * @example
 * mean(tensor([[1, 2], [3, 4]]), 1); // [1.5, 3.5]
 */
export function mean(x: TensorLike, axes?: Axes, keepdims = false): Tensor {
  let t = asTensor(x);
  if (!isFloat(t.dtype)) t = castIfNeeded(t, 'float32');
  const a = normalizeAxes('mean', axes, t.ndim);
  const count = sizeOf(a.map((i) => t.shape[i]));
  return div(sum(t, a, keepdims), count);
}

/**
 * Variance with `ddof` delta degrees of freedom (0: population, 1: sample).
 *
 * @example
 * variance(tensor([1, 2, 3, 4]), undefined, false, 1); // 1.6667
 */
export function variance(x: TensorLike, axes?: Axes, keepdims = false, ddof = 0): Tensor {
  let t = asTensor(x);
  if (!isFloat(t.dtype)) t = castIfNeeded(t, 'float32');
  const a = normalizeAxes('variance', axes, t.ndim);
  const count = sizeOf(a.map((i) => t.shape[i]));
  const centered = sub(t, mean(t, a, true));
  return div(sum(square(centered), a, keepdims), count - ddof);
}

/**
 * log Σ exp(x) over `axes`, computed as m + log Σ exp(x - m) with the max m held constant for the
 * gradient (its derivative cancels), so it is stable at |x| = 1e4 and its gradient is softmax.
 *
 * @example
 * logsumexp(tensor([1000, 1000])); // 1000 + log 2
 */
export function logsumexp(x: TensorLike, axes?: Axes, keepdims = false): Tensor {
  let t = asTensor(x);
  if (!isFloat(t.dtype)) t = castIfNeeded(t, 'float32');
  const a = normalizeAxes('logsumexp', axes, t.ndim);
  const m = stopGradient(max(t, a, true));
  const shift = where(isFinite(m), m, 0);
  const total = add(log(sum(exp(sub(t, shift)), a, true)), shift);
  return keepdims ? total : reshape(total, t.shape.filter((_, i) => !a.includes(i)));
}

function argReduction(op: 'argmax' | 'argmin') {
  return (x: TensorLike, axis?: number, keepdims = false): Tensor => {
    let t = asTensor(x);
    if (axis === undefined) {
      t = reshape(t, [-1]);
      const out = bind(op, [t], { axis: 0 });
      return keepdims ? reshape(out, asTensor(x).shape.map(() => 1)) : out;
    }
    const a = normalizeAxis(op, axis, t.ndim);
    const out = bind(op, [t], { axis: a });
    return keepdims ? expandDims(out, a) : out;
  };
}

/** Index of the first maximum along `axis` (of the flattened tensor by default). @example argmax(tensor([1, 3, 2])); // 1 */
export const argmax = argReduction('argmax');
/** Index of the first minimum along `axis`. @example argmin(tensor([[1, 0], [2, 3]]), 1); // [1, 0] */
export const argmin = argReduction('argmin');
