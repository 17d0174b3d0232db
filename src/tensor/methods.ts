/**
 * Method-call forms of the ops (`x.add(y).exp().sum()`), attached to `Tensor.prototype`. Kept apart
 * from `tensor.ts` so the class has no import cycle with the ops that build on it.
 */
import type { DType } from './dtype';
import * as ops from './ops';
import type { Axes } from './ops/reduce';
import type { SliceSpec } from './ops/movement';
import type { Shape } from './shape';
import { Tensor } from './tensor';
import type { TensorLike } from './ops/convert';

declare module './tensor' {
  interface Tensor {
    add(y: TensorLike): Tensor;
    sub(y: TensorLike): Tensor;
    mul(y: TensorLike): Tensor;
    div(y: TensorLike): Tensor;
    pow(y: TensorLike): Tensor;
    maximum(y: TensorLike): Tensor;
    minimum(y: TensorLike): Tensor;
    equal(y: TensorLike): Tensor;
    notEqual(y: TensorLike): Tensor;
    less(y: TensorLike): Tensor;
    lessEqual(y: TensorLike): Tensor;
    greater(y: TensorLike): Tensor;
    greaterEqual(y: TensorLike): Tensor;
    matmul(y: TensorLike): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    square(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    softplus(): Tensor;
    relu(): Tensor;
    clip(low?: TensorLike, high?: TensorLike): Tensor;
    cast(dtype: DType): Tensor;
    sum(axes?: Axes, keepdims?: boolean): Tensor;
    mean(axes?: Axes, keepdims?: boolean): Tensor;
    max(axes?: Axes, keepdims?: boolean): Tensor;
    min(axes?: Axes, keepdims?: boolean): Tensor;
    logsumexp(axes?: Axes, keepdims?: boolean): Tensor;
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
  matmul: ops.matmul,
} as const;

const unaryMethods = {
  neg: ops.neg,
  abs: ops.abs,
  exp: ops.exp,
  log: ops.log,
  sqrt: ops.sqrt,
  square: ops.square,
  tanh: ops.tanh,
  sigmoid: ops.sigmoid,
  softplus: ops.softplus,
  relu: ops.relu,
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
