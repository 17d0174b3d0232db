/** Activations, and the normalizations used by policies and losses. */
import { isFloat } from '../dtype';
import { ArgumentError } from '../errors';
import { normalizeAxis } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, castIfNeeded, type TensorLike } from './convert';
import { add, div, erf, exp, expm1, greater, greaterEqual, log, mul, sigmoid, square, stopGradient, sub, tanh, where } from './elementwise';
import { max, sum } from './reduce';

/** `x` as a tensor, integer and bool inputs cast to float32. */
function asFloat(x: TensorLike): Tensor {
  const t = asTensor(x);
  return isFloat(t.dtype) ? t : castIfNeeded(t, 'float32');
}

/** `value` if it is a finite number, else an ArgumentError naming `op` and `name`. */
function finiteNumber(op: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ArgumentError(`${op}: ${name} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/**
 * SiLU (swish), x · sigmoid(x).
 *
 * @example
 * silu(tensor([0, 1])); // [0, 0.7311]
 */
export function silu(x: TensorLike): Tensor {
  const t = asFloat(x);
  return mul(t, sigmoid(t));
}

/** Which GELU: the exact one with erf, or PyTorch's tanh approximation. */
export type GeluApproximation = 'none' | 'tanh';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU as PyTorch's `torch.nn.functional.gelu`: `approximate` 'none' (default, exact)
 * 0.5 · x · (1 + erf(x / √2)), or 'tanh' 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))). (JAX's
 * `jax.nn.gelu` defaults to the tanh form; pass 'tanh' to match it.)
 *
 * @example
 * gelu(tensor([1])); // [0.8413]
 * gelu(tensor([1]), 'tanh'); // [0.8412]
 */
export function gelu(x: TensorLike, approximate: GeluApproximation = 'none'): Tensor {
  const t = asFloat(x);
  const half = mul(t, 0.5);
  if (approximate === 'none') return mul(half, add(erf(mul(t, Math.SQRT1_2)), 1));
  if (approximate === 'tanh') {
    const inner = mul(add(t, mul(mul(t, square(t)), 0.044715)), SQRT_2_OVER_PI);
    return mul(half, add(tanh(inner), 1));
  }
  throw new ArgumentError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate) ?? String(approximate)}`);
}

/**
 * Leaky ReLU, x for x >= 0 and negativeSlope · x below. The gradient at 0 is 1 (JAX's
 * `jax.nn.leaky_relu`, `where(x >= 0, ...)`; PyTorch gives negativeSlope there).
 *
 * @example
 * leakyRelu(tensor([-2, 3])); // [-0.02, 3]
 */
export function leakyRelu(x: TensorLike, negativeSlope = 0.01): Tensor {
  finiteNumber('leakyRelu', 'negativeSlope', negativeSlope);
  const t = asFloat(x);
  return where(greaterEqual(t, 0), t, mul(t, negativeSlope));
}

/**
 * ELU, x for x > 0 and alpha · (e^x - 1) (with expm1) for x <= 0. The gradient at 0 is alpha, the
 * left-hand derivative, as in JAX and PyTorch (for alpha = 1 both sides agree). Large positive x
 * never reach the exponential, so their gradient is 1, not NaN.
 *
 * @example
 * elu(tensor([-1, 2])); // [-0.6321, 2]
 */
export function elu(x: TensorLike, alpha = 1): Tensor {
  finiteNumber('elu', 'alpha', alpha);
  const t = asFloat(x);
  const positive = greater(t, 0);
  return where(positive, t, mul(expm1(where(positive, 0, t)), alpha));
}

/**
 * exp(x) / Σ exp(x) along `axis`, with the max subtracted first (stable at |x| = 1e4). Integer
 * and bool inputs give float32.
 *
 * @example
 * softmax(tensor([0, Math.log(3)])); // [0.25, 0.75]
 */
export function softmax(x: TensorLike, axis = -1): Tensor {
  const t = asFloat(x);
  const a = normalizeAxis('softmax', axis, t.ndim);
  const e = exp(sub(t, stopGradient(max(t, a, true))));
  return div(e, sum(e, a, true));
}

/**
 * x - log Σ exp(x) along `axis`, stable. Integer and bool inputs give float32.
 *
 * @example
 * logSoftmax(tensor([0, 0])); // [-log 2, -log 2]
 */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  const t = asFloat(x);
  const a = normalizeAxis('logSoftmax', axis, t.ndim);
  const shifted = sub(t, stopGradient(max(t, a, true)));
  return sub(shifted, log(sum(exp(shifted), a, true)));
}
