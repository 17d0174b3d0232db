/** Reading elements at computed positions. */
import { ArgumentError, DTypeError, ShapeError } from '../errors';
import { bind } from '../interpreter';
import { formatShape, normalizeAxis, sizeOf } from '../shape';
import { ArrayTensor, Tensor } from '../tensor';
import { castIfNeeded, asTensor, firstFraction, type TensorLike } from './convert';
import { arange } from './creation';
import { add, equal, less, minimum, where } from './elementwise';
import { expandDims, reshape } from './movement';
import { type DType, isFloat, isInteger } from '../dtype';

function indexTensor(op: string, indices: TensorLike, x: Tensor, axis: number): Tensor {
  const shape = x.shape;
  const size = shape[axis];
  const fraction = indices instanceof Tensor ? undefined : firstFraction(indices);
  if (fraction !== undefined) throw new DTypeError(`${op}: indices must be integers, got ${fraction}`);
  // A number `jit` traced (`Tensor.weak`) that is not an int32 integer is refused as the number is.
  if (indices instanceof Tensor && indices.weak && isFloat(indices.dtype)) {
    throw new DTypeError(`${op}: indices must be integers, got a traced number that is not an int32 integer (${indices.dtype})`);
  }
  const idx = asTensor(indices, 'int32', x.backend);
  if (idx.dtype !== 'int32' && idx.dtype !== 'uint32') {
    throw new DTypeError(`${op}: indices must be integers, got ${idx.dtype}`);
  }
  // Concrete indices on a synchronously readable backend are checked here, where the error can name
  // the user's op, index (before the negative-index shift) and shape; the gather kernel only sees the
  // shifted index of an internally reshaped operand.
  if (idx instanceof ArrayTensor && idx.backend.readSync) {
    const [kind, lo] = idx.dtype === 'uint32' ? ['uint32 index', 0] : ['index', -size];
    for (const v of idx.dataSync()) {
      if (v < lo || v >= size) {
        throw new ArgumentError(`${op}: ${kind} ${v} is out of range [${lo}, ${size}) for axis ${axis} of shape ${formatShape(shape)}`);
      }
    }
  }
  // uint32 indices are never negative: clamped into int32 (past 2^31 - 1 they would wrap to
  // negatives and count from the end), so one past the axis stays out of range for the kernel.
  if (idx.dtype === 'uint32') return castIfNeeded(minimum(idx, INT32_MAX), 'int32');
  const i = castIfNeeded(idx, 'int32');
  // Negative indices count from the end, as in NumPy.
  return where(less(i, 0), add(i, size), i);
}

const INT32_MAX = 2 ** 31 - 1;

const isUnsigned = (indices: TensorLike): boolean => indices instanceof Tensor && indices.dtype === 'uint32';

/**
 * NumPy's `take_along_axis`: `out[..., j, ...] = x[..., idx[..., j, ...], ...]`; x and idx have one
 * rank and their other axes broadcast.
 *
 * @example
 * takeAlongAxis(tensor([[10, 20, 30]]), tensor([[2, 0]], { dtype: 'int32' }), 1); // [[30, 10]]
 */
export function takeAlongAxis(x: TensorLike, indices: TensorLike, axis: number): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('takeAlongAxis', axis, t.ndim);
  const idx = indexTensor('takeAlongAxis', indices, t, a);
  if (idx.ndim !== t.ndim) {
    throw new ShapeError(`takeAlongAxis: indices ${formatShape(idx.shape)} must have the rank of x ${formatShape(t.shape)}`);
  }
  return bind('gather', [t, idx], { axis: a, site: { op: 'takeAlongAxis', axis: a, shape: t.shape, unsigned: isUnsigned(indices) } });
}

/**
 * NumPy's `take`: picks entries along `axis` by an index tensor of any shape; the result's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 *
 * @example
 * take(tensor([[1, 2], [3, 4]]), tensor([1, 1, 0], { dtype: 'int32' }), 0); // [[3,4],[3,4],[1,2]]
 */
export function take(x: TensorLike, indices: TensorLike, axis = 0): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('take', axis, t.ndim);
  const idx = indexTensor('take', indices, t, a);
  const pre = t.shape.slice(0, a);
  const post = t.shape.slice(a + 1);
  // The indices flattened along x's own axis, broadcast over the others: x itself is gathered (never
  // broadcast to the indices' shape), so the gradient's scatter-add lands on x's shape directly
  // (broadcasting x made it [...indices, ...x.shape] before summing: 46M floats for 600 rows of 300x256).
  const ones = (n: number) => Array<number>(n).fill(1);
  const ir = reshape(idx, [...ones(pre.length), sizeOf(idx.shape), ...ones(post.length)]);
  const out = bind('gather', [t, ir], { axis: a, site: { op: 'take', axis: a, shape: t.shape, unsigned: isUnsigned(indices) } });
  return reshape(out, [...pre, ...idx.shape, ...post]);
}

/**
 * One-hot encoding: a new last axis of size `depth` with 1 at each index.
 *
 * @example
 * oneHot(tensor([0, 2], { dtype: 'int32' }), 3); // [[1,0,0],[0,0,1]]
 */
export function oneHot(indices: TensorLike, depth: number, dtype: DType = 'float32'): Tensor {
  if (!Number.isInteger(depth) || depth < 1) throw new ArgumentError(`oneHot: depth must be a positive integer, got ${depth}`);
  const fraction = indices instanceof Tensor ? undefined : firstFraction(indices);
  if (fraction !== undefined) throw new DTypeError(`oneHot: indices must be integers, got ${fraction}`);
  const idx = asTensor(indices, 'int32');
  if (!isInteger(idx.dtype)) throw new DTypeError(`oneHot: indices must be integers, got ${idx.dtype}`);
  const positions = arange(depth, undefined, 1, { dtype: idx.dtype, backend: idx.backend });
  return castIfNeeded(equal(expandDims(idx, -1), positions), dtype);
}
