/**
 * Elementwise regression losses in the optax style: no reduction (take `mean` or `sum` of the
 * result), `targets` optional (the predictions are then the errors themselves).
 */
import { isFloat } from '../dtype';
import { ArgumentError } from '../errors';
import { broadcastShapes } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, binaryOperands, castIfNeeded, type TensorLike } from './convert';
import { abs, add, minimum, mul, square, sub } from './elementwise';

/** predictions - targets (or the predictions alone), float; shape and dtype errors name `op`. */
function errors(op: string, predictions: TensorLike, targets: TensorLike | undefined): Tensor {
  let e: Tensor;
  if (targets === undefined) e = asTensor(predictions);
  else {
    let [p, t] = binaryOperands(op, predictions, targets);
    broadcastShapes(op, p.shape, t.shape);
    if (!isFloat(p.dtype)) [p, t] = [castIfNeeded(p, 'float32'), castIfNeeded(t, 'float32')];
    e = sub(p, t);
  }
  return isFloat(e.dtype) ? e : castIfNeeded(e, 'float32');
}

/**
 * Half the squared error, 0.5 · (predictions - targets)², as `optax.l2_loss`.
 *
 * @example
 * l2Loss(tensor([1, 3]), tensor([0, 1])); // [0.5, 2]
 * l2Loss(tensor([2])); // [2]
 */
export function l2Loss(predictions: TensorLike, targets?: TensorLike): Tensor {
  return mul(square(errors('l2Loss', predictions, targets)), 0.5);
}

/**
 * The Huber loss of the error e = predictions - targets, as `optax.huber_loss`: 0.5 · e² for
 * |e| <= delta, delta · (|e| - 0.5 · delta) beyond, computed as 0.5 q² + delta · (|e| - q) with
 * q = min(|e|, delta). The loss is continuously differentiable; its gradient, clip(e, -delta, delta),
 * is delta · sign(e) at |e| = delta from either side, and what autodiff gives there too (the tie of
 * min splits 1/2 : 1/2, which sums to delta).
 *
 * @example
 * huberLoss(tensor([0.5, 3]), tensor([0, 0])); // [0.125, 2.5]
 */
export function huberLoss(predictions: TensorLike, targets?: TensorLike, delta = 1): Tensor {
  if (typeof delta !== 'number' || !(delta > 0 && Number.isFinite(delta))) {
    throw new ArgumentError(`huberLoss: delta must be a positive finite number, got ${String(delta)}`);
  }
  const absErrors = abs(errors('huberLoss', predictions, targets));
  const quadratic = minimum(absErrors, delta);
  const linear = sub(absErrors, quadratic);
  return add(mul(square(quadratic), 0.5), mul(linear, delta));
}
