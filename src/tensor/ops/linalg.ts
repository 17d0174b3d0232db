/** Matrix products. */
import { ShapeError } from '../errors';
import { bind } from '../interpreter';
import { broadcastShapes, formatShape } from '../shape';
import type { Tensor } from '../tensor';
import { binaryOperands, numericOperands, type TensorLike } from './convert';
import { mul } from './elementwise';
import { expandDims, squeeze } from './movement';
import { sum } from './reduce';

/**
 * NumPy's `matmul`: `[..., m, k] @ [..., k, n]` with broadcast batch axes; a 1-D left operand is a
 * row vector and a 1-D right operand a column vector, their axis removed from the result.
 *
 * @example
 * matmul(zeros([32, 3]), zeros([3, 64])); // f32[32,64]
 * matmul(zeros([5, 2, 3]), zeros([3])); // f32[5,2]
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  let [x, y] = binaryOperands('matmul', a, b);
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(`matmul: operands must have rank >= 1, got ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
  }
  const vecLeft = x.ndim === 1;
  const vecRight = y.ndim === 1;
  if (vecLeft) x = expandDims(x, 0);
  if (vecRight) y = expandDims(y, 1);
  let out = bind('matmul', [x, y], {});
  if (vecRight) out = squeeze(out, -1);
  if (vecLeft) out = squeeze(out, vecRight ? -1 : -2);
  return out;
}

/**
 * The vector dot product along `axis` (default the last), the other axes broadcasting: NumPy 2's
 * and JAX's `vecdot`, PyTorch's `linalg.vecdot` (real values). Rows of a batch against one vector,
 * or row by row: `vecdot([B, k], [k])` is `[B]`, `vecdot([B, k], [B, k])` is `[B]`.
 *
 * @example
 * vecdot(tensor([1, 2]), tensor([3, 4])); // 11
 * vecdot(tensor([[1, 2], [3, 4]]), tensor([[1, 0], [0, 1]])); // [1, 4]
 */
export function vecdot(a: TensorLike, b: TensorLike, axis = -1): Tensor {
  const [x, y] = numericOperands('vecdot', a, b);
  const shape = broadcastShapes('vecdot', x.shape, y.shape);
  if (!Number.isInteger(axis) || axis < -shape.length || axis >= shape.length) {
    throw new ShapeError(`vecdot: axis ${axis} is out of range for the broadcast shape ${formatShape(shape)}`);
  }
  return sum(mul(x, y), axis);
}

/** @example outer(tensor([1, 2]), tensor([1, 2, 3])); // f32[2,3] */
export function outer(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = numericOperands('outer', a, b);
  if (x.ndim !== 1 || y.ndim !== 1) throw new ShapeError(`outer: needs two vectors, got ${formatShape(x.shape)} and ${formatShape(y.shape)}`);
  return mul(expandDims(x, -1), y);
}
