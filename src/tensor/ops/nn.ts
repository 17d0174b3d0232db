/** Normalizations used by policies and losses. */
import { normalizeAxis } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, type TensorLike } from './convert';
import { div, exp, log, stopGradient, sub } from './elementwise';
import { max, sum } from './reduce';

/**
 * exp(x) / Σ exp(x) along `axis`, with the max subtracted first (stable at |x| = 1e4).
 *
 * @example
 * softmax(tensor([0, Math.log(3)])); // [0.25, 0.75]
 */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('softmax', axis, t.ndim);
  const e = exp(sub(t, stopGradient(max(t, a, true))));
  return div(e, sum(e, a, true));
}

/**
 * x - log Σ exp(x) along `axis`, stable.
 *
 * @example
 * logSoftmax(tensor([0, 0])); // [-log 2, -log 2]
 */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  const t = asTensor(x);
  const a = normalizeAxis('logSoftmax', axis, t.ndim);
  const shifted = sub(t, stopGradient(max(t, a, true)));
  return sub(shifted, log(sum(exp(shifted), a, true)));
}
