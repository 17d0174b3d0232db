/**
 * Method-call forms of the ops (`x.add(y).exp().sum()`), attached to `Tensor.prototype`. Kept apart
 * from `tensor.ts` so the class has no import cycle with the ops that build on it.
 */
import type { DType } from './dtype';
import * as ops from './ops';
import type { GeluApproximation } from './ops/nn';
import type { Axes } from './ops/reduce';
import type { SliceSpec } from './ops/movement';
import type { Shape } from './shape';
import { Tensor } from './tensor';
import type { TensorLike } from './ops/convert';

/** `x.op(y)` for each binary op of the table below. */
type BinaryMethods = { [K in keyof typeof binaryMethods]: (y: TensorLike) => Tensor };
/** `x.op()` for each unary op of the table below. */
type UnaryMethods = { [K in keyof typeof unaryMethods]: () => Tensor };

/**
 * The method forms `Tensor` has (merged into the class in `tensor.ts`, so that the published
 * declarations carry them; a `declare module` augmentation did not survive bundling).
 */
export interface TensorMethods extends BinaryMethods, UnaryMethods {
  clip(low?: TensorLike, high?: TensorLike): Tensor;
  cast(dtype: DType): Tensor;
  sum(axes?: Axes, keepdims?: boolean): Tensor;
  mean(axes?: Axes, keepdims?: boolean): Tensor;
  max(axes?: Axes, keepdims?: boolean): Tensor;
  min(axes?: Axes, keepdims?: boolean): Tensor;
  logsumexp(axes?: Axes, keepdims?: boolean): Tensor;
  std(axes?: Axes, keepdims?: boolean, ddof?: number): Tensor;
  cumsum(axis?: number): Tensor;
  cumprod(axis?: number, options?: { exclusive?: boolean }): Tensor;
  norm(ord?: number, axes?: Axes, keepdims?: boolean): Tensor;
  gelu(approximate?: GeluApproximation): Tensor;
  leakyRelu(negativeSlope?: number): Tensor;
  elu(alpha?: number): Tensor;
  argmax(axis?: number, keepdims?: boolean): Tensor;
  softmax(axis?: number): Tensor;
  logSoftmax(axis?: number): Tensor;
  reshape(shape: Shape): Tensor;
  transpose(perm?: readonly number[]): Tensor;
  expandDims(axis: number | readonly number[]): Tensor;
  squeeze(axis?: number | readonly number[]): Tensor;
  broadcastTo(shape: Shape): Tensor;
  slice(...specs: SliceSpec[]): Tensor;
}

const binaryMethods = {
  add: ops.add,
  sub: ops.sub,
  mul: ops.mul,
  div: ops.div,
  pow: ops.pow,
  maximum: ops.maximum,
  minimum: ops.minimum,
  equal: ops.equal,
  notEqual: ops.notEqual,
  less: ops.less,
  lessEqual: ops.lessEqual,
  greater: ops.greater,
  greaterEqual: ops.greaterEqual,
  atan2: ops.atan2,
  logicalAnd: ops.logicalAnd,
  logicalOr: ops.logicalOr,
  matmul: ops.matmul,
  logaddexp: ops.logaddexp,
} as const;

const unaryMethods = {
  neg: ops.neg,
  abs: ops.abs,
  sign: ops.sign,
  exp: ops.exp,
  log: ops.log,
  log1p: ops.log1p,
  expm1: ops.expm1,
  sqrt: ops.sqrt,
  rsqrt: ops.rsqrt,
  reciprocal: ops.reciprocal,
  square: ops.square,
  sin: ops.sin,
  cos: ops.cos,
  tan: ops.tan,
  atan: ops.atan,
  tanh: ops.tanh,
  atanh: ops.atanh,
  sigmoid: ops.sigmoid,
  logSigmoid: ops.logSigmoid,
  softplus: ops.softplus,
  relu: ops.relu,
  silu: ops.silu,
  erf: ops.erf,
  erfinv: ops.erfinv,
  floor: ops.floor,
  ceil: ops.ceil,
  round: ops.round,
  logicalNot: ops.logicalNot,
  isFinite: ops.isFinite,
  stopGradient: ops.stopGradient,
} as const;

const proto = Tensor.prototype as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(binaryMethods)) {
  proto[name] = function (this: Tensor, y: TensorLike) {
    return fn(this, y);
  };
}
for (const [name, fn] of Object.entries(unaryMethods)) {
  proto[name] = function (this: Tensor) {
    return fn(this);
  };
}
Object.assign(Tensor.prototype, {
  clip(this: Tensor, low?: TensorLike, high?: TensorLike) {
    return ops.clip(this, low, high);
  },
  cast(this: Tensor, dtype: DType) {
    return ops.cast(this, dtype);
  },
  sum(this: Tensor, axes?: Axes, keepdims?: boolean) {
    return ops.sum(this, axes, keepdims);
  },
  mean(this: Tensor, axes?: Axes, keepdims?: boolean) {
    return ops.mean(this, axes, keepdims);
  },
  max(this: Tensor, axes?: Axes, keepdims?: boolean) {
    return ops.max(this, axes, keepdims);
  },
  min(this: Tensor, axes?: Axes, keepdims?: boolean) {
    return ops.min(this, axes, keepdims);
  },
  logsumexp(this: Tensor, axes?: Axes, keepdims?: boolean) {
    return ops.logsumexp(this, axes, keepdims);
  },
  std(this: Tensor, axes?: Axes, keepdims?: boolean, ddof?: number) {
    return ops.std(this, axes, keepdims, ddof);
  },
  cumsum(this: Tensor, axis?: number) {
    return ops.cumsum(this, axis);
  },
  cumprod(this: Tensor, axis?: number, options?: { exclusive?: boolean }) {
    return ops.cumprod(this, axis, options);
  },
  norm(this: Tensor, ord?: number, axes?: Axes, keepdims?: boolean) {
    return ops.norm(this, ord, axes, keepdims);
  },
  gelu(this: Tensor, approximate?: GeluApproximation) {
    return ops.gelu(this, approximate);
  },
  leakyRelu(this: Tensor, negativeSlope?: number) {
    return ops.leakyRelu(this, negativeSlope);
  },
  elu(this: Tensor, alpha?: number) {
    return ops.elu(this, alpha);
  },
  argmax(this: Tensor, axis?: number, keepdims?: boolean) {
    return ops.argmax(this, axis, keepdims);
  },
  softmax(this: Tensor, axis?: number) {
    return ops.softmax(this, axis);
  },
  logSoftmax(this: Tensor, axis?: number) {
    return ops.logSoftmax(this, axis);
  },
  reshape(this: Tensor, shape: Shape) {
    return ops.reshape(this, shape);
  },
  transpose(this: Tensor, perm?: readonly number[]) {
    return ops.transpose(this, perm);
  },
  expandDims(this: Tensor, axis: number | readonly number[]) {
    return ops.expandDims(this, axis);
  },
  squeeze(this: Tensor, axis?: number | readonly number[]) {
    return ops.squeeze(this, axis);
  },
  broadcastTo(this: Tensor, shape: Shape) {
    return ops.broadcastTo(this, shape);
  },
  slice(this: Tensor, ...specs: SliceSpec[]) {
    return ops.slice(this, ...specs);
  },
});
