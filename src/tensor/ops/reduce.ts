/** Reductions over any set of axes, with `keepdims`. */
import { isFloat } from '../dtype';
import { ArgumentError, ShapeError } from '../errors';
import { bind } from '../interpreter';
import { formatAval, type ReduceOp } from '../primitives';
import { normalizeAxes, normalizeAxis, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, castIfNeeded, type TensorLike } from './convert';
import { arange } from './creation';
import { abs, add, div, equal, exp, greaterEqual, isFinite, log, maximum, mul, pow, sqrt, square, stopGradient, sub, where } from './elementwise';
import { expandDims, pad, reshape, slice } from './movement';

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
/**
 * max/min. Over an empty axis a float reduction gives its identity, -Infinity (max) or Infinity
 * (min); integer and bool tensors have none, so that is a ShapeError (the kernels would store 0).
 */
function extremum(op: 'reduceMax' | 'reduceMin', name: string) {
  const reduce = reduction(op, name);
  return (x: TensorLike, axes?: Axes, keepdims = false): Tensor => {
    const t = asTensor(x);
    const empty = isFloat(t.dtype) ? undefined : normalizeAxes(name, axes, t.ndim).find((a) => t.shape[a] === 0);
    if (empty !== undefined) {
      throw new ShapeError(`${name}: cannot reduce the empty axis ${empty} of ${formatAval(t)}: only float tensors have an identity (${op === 'reduceMax' ? '-' : ''}Infinity) for it`);
    }
    return reduce(t, axes, keepdims);
  };
}

/** Largest element; NaN propagates; -Infinity over an empty float axis. @example max(tensor([[1, 5], [3, 2]]), 1); // [5, 3] */
export const max = extremum('reduceMax', 'max');
/** Smallest element; NaN propagates; Infinity over an empty float axis. @example min(tensor([3, 1, 2])); // 1 */
export const min = extremum('reduceMin', 'min');

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
 * Variance with `ddof` delta degrees of freedom (0: population, 1: sample). As in NumPy, the divisor
 * is max(n - ddof, 0): a slice of at most `ddof` elements gives Infinity or NaN, never a negative.
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
  return div(sum(square(centered), a, keepdims), Math.max(count - ddof, 0));
}

/**
 * Running sums along `axis` (NumPy's `cumsum`): out[i] = Σ_{j ≤ i} x[j]. Computed in ⌈log₂ n⌉
 * shifted adds (Hillis–Steele), so under jit and on WebGPU it is a few elementwise kernels; each
 * output's terms are added as a tree, not left to right (float results can differ from a sequential
 * sum in the last bits). Integers keep their dtype, bools become int32.
 *
 * @example
 * cumsum(tensor([1, 2, 3, 4])); // [1, 3, 6, 10]
 * cumsum(tensor([[1, 2], [3, 4]]), 0); // [[1, 2], [4, 6]]
 */
export function cumsum(x: TensorLike, axis = -1): Tensor {
  let t = asTensor(x);
  if (t.dtype === 'bool') t = castIfNeeded(t, 'int32');
  return scanAlong(t, normalizeAxis('cumsum', axis, t.ndim), add, 0);
}

/**
 * Running products along `axis` (NumPy's `cumprod`): out[i] = Π_{j ≤ i} x[j], or with `exclusive`
 * Π_{j < i} x[j] (1 at the first; TensorFlow's `exclusive`). Computed as `cumsum` is (⌈log₂ n⌉
 * shifted multiplies, a tree), with no division, so it is exact at zeros and its gradient too.
 * Integers keep their dtype, bools become int32.
 *
 * @example
 * cumprod(tensor([1, 2, 3, 4])); // [1, 2, 6, 24]
 * cumprod(tensor([1, 2, 3, 4]), -1, { exclusive: true }); // [1, 1, 2, 6]
 */
export function cumprod(x: TensorLike, axis = -1, options: { exclusive?: boolean } = {}): Tensor {
  let t = asTensor(x);
  if (t.dtype === 'bool') t = castIfNeeded(t, 'int32');
  const a = normalizeAxis('cumprod', axis, t.ndim);
  return scanAlong(options.exclusive ? shiftedAlong(t, a, 1, 1) : t, a, mul, 1);
}

/** The running combination of `t` along axis `a` (Hillis and Steele): ⌈log₂ n⌉ combinations with shifted copies. */
function scanAlong(t: Tensor, a: number, combine: (x: Tensor, y: Tensor) => Tensor, identity: number): Tensor {
  for (let shift = 1; shift < t.shape[a]; shift *= 2) t = combine(t, shiftedAlong(t, a, shift, identity));
  return t;
}

/** `t` moved `by` places along axis `a` towards its end, the first `by` positions holding `fill` (0 comes from the padding itself). */
function shiftedAlong(t: Tensor, a: number, by: number, fill: number): Tensor {
  const n = t.shape[a];
  const widths = t.shape.map((_, i) => (i === a ? [by, 0] : [0, 0]) as [number, number]);
  const moved = slice(pad(t, widths), ...t.shape.map((_, i) => (i === a ? ([0, n] as const) : null)));
  if (fill === 0) return moved;
  const position = reshape(arange(0, n, 1, { backend: t.backend }), [n, ...t.shape.slice(a + 1).map(() => 1)]);
  return where(greaterEqual(position, by), moved, fill);
}

/**
 * Standard deviation, sqrt(variance(x, axes, keepdims, ddof)) (`ddof` 0: population, 1: sample).
 * As in JAX and PyTorch, the gradient where the variance is 0 (a constant slice) is not finite.
 *
 * @example
 * std(tensor([1, 2, 3, 4]), undefined, false, 1); // 1.2910
 */
export function std(x: TensorLike, axes?: Axes, keepdims = false, ddof = 0): Tensor {
  const t = asTensor(x);
  normalizeAxes('std', axes, t.ndim);
  return sqrt(variance(t, axes, keepdims, ddof));
}

/**
 * s^(1/p) with the value 0 and the gradient 0 where s = 0 (the double-where pattern keeps the
 * infinite derivative of the root at 0 out of the gradient).
 */
function safeRoot(s: Tensor, p: number): Tensor {
  const zero = equal(s, 0);
  const positive = where(zero, 1, s);
  return where(zero, 0, p === 2 ? sqrt(positive) : pow(positive, 1 / p));
}

/**
 * The vector p-norm of `x` over `axes` (all by default), as `jnp.linalg.norm` of a flattened slice:
 * `ord` 2 (default) √Σ x², 1 Σ |x|, Infinity max |x|, -Infinity min |x|, or any positive p
 * (Σ |x|^p)^(1/p) (for p < 1 not a norm, as in NumPy). Integer inputs give float32. The sums are
 * not rescaled, so Σ |x|^p must stay within the dtype's range (|x| < 1e19 in float32 for ord 2).
 *
 * Over an empty axis the norm is 0 for every positive ord (Infinity included: NumPy refuses), and
 * -Infinity gives min's identity, Infinity.
 *
 * Gradients at 0 are subgradients: for ord 2 (and any p > 1) the gradient where the norm is 0 is 0,
 * as in PyTorch (JAX gives NaN there, 0/0); ord 1 gives the sign with d|x|/dx = 1 at 0 (JAX's
 * convention for abs); ±Infinity share the gradient among tied elements. For p < 1 the gradient at
 * a zero element is not finite.
 *
 * @example
 * norm(tensor([3, -4])); // 5
 * norm(tensor([[3, -4], [1, 0]]), 1, 1); // [7, 1]
 * norm(tensor([3, -4]), Infinity); // 4
 */
export function norm(x: TensorLike, ord = 2, axes?: Axes, keepdims = false): Tensor {
  let t = asTensor(x);
  if (!isFloat(t.dtype)) t = castIfNeeded(t, 'float32');
  if (typeof ord !== 'number' || !(ord > 0 || ord === -Infinity)) {
    throw new ArgumentError(`norm: ord must be 2, 1, Infinity, -Infinity or another positive number, got ${String(ord)}`);
  }
  const a = normalizeAxes('norm', axes, t.ndim);
  // Over an empty axis every p-norm is 0 (an empty sum), Infinity's too: max's identity -Infinity is raised to it.
  if (ord === Infinity) return a.some((axis) => t.shape[axis] === 0) ? maximum(max(abs(t), a, keepdims), 0) : max(abs(t), a, keepdims);
  if (ord === -Infinity) return min(abs(t), a, keepdims);
  if (ord === 1) return sum(abs(t), a, keepdims);
  if (ord === 2) return safeRoot(sum(square(t), a, keepdims), 2);
  return safeRoot(sum(pow(abs(t), ord), a, keepdims), ord);
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
