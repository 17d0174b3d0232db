/**
 * Elementwise ops with NumPy broadcasting. Plain numbers adopt the tensor operand's dtype; float-only
 * functions (exp, log, ...) cast integer and bool inputs to float32 first, as JAX does.
 */
import { checkDtype, type DType, isFloat } from '../dtype';
import { bind } from '../interpreter';
import type { BinaryOp, UnaryOp } from '../primitives';
import { broadcastShapes } from '../shape';
import { Tensor } from '../tensor';
import { asTensor, binaryOperands, castIfNeeded, type TensorLike } from './convert';

function floatUnary(op: UnaryOp) {
  return (x: TensorLike): Tensor => {
    const t = asTensor(x);
    return bind(op, [isFloat(t.dtype) ? t : castIfNeeded(t, 'float32')], {});
  };
}

function binary(op: BinaryOp) {
  return (a: TensorLike, b: TensorLike): Tensor => bind(op, binaryOperands(op, a, b), {});
}

function floatBinary(op: BinaryOp) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = binaryOperands(op, a, b);
    if (isFloat(x.dtype)) return bind(op, [x, y], {});
    return bind(op, [castIfNeeded(x, 'float32'), castIfNeeded(y, 'float32')], {});
  };
}

/** @example neg(tensor([1, -2])); // [-1, 2] */
export const neg = (x: TensorLike): Tensor => bind('neg', [asTensor(x)], {});
/** @example abs(tensor([-1.5])); // [1.5] */
export const abs = (x: TensorLike): Tensor => bind('abs', [asTensor(x)], {});
/** -1, 0 or 1 by the sign of each element. @example sign(tensor([-3, 0, 2])); // [-1, 0, 1] */
export const sign = (x: TensorLike): Tensor => bind('sign', [asTensor(x)], {});
/** @example exp(tensor([0])); // [1] */
export const exp = floatUnary('exp');
/** Natural logarithm. @example log(tensor([Math.E])); // [1] */
export const log = floatUnary('log');
/** log(1 + x), accurate near 0. @example log1p(tensor([1e-10])); */
export const log1p = floatUnary('log1p');
/** e^x - 1, accurate near 0. @example expm1(tensor([1e-10])); */
export const expm1 = floatUnary('expm1');
/** @example sqrt(tensor([4])); // [2] */
export const sqrt = floatUnary('sqrt');
/** 1 / sqrt(x). @example rsqrt(tensor([4])); // [0.5] */
export const rsqrt = floatUnary('rsqrt');
/** 1 / x. @example reciprocal(tensor([4])); // [0.25] */
export const reciprocal = floatUnary('reciprocal');
/** @example sin(tensor([0])); */
export const sin = floatUnary('sin');
/** @example cos(tensor([0])); */
export const cos = floatUnary('cos');
/** @example tan(tensor([0])); */
export const tan = floatUnary('tan');
/** @example atan(tensor([1])); // [pi/4] */
export const atan = floatUnary('atan');
/** @example tanh(tensor([0])); */
export const tanh = floatUnary('tanh');
/** @example atanh(tensor([0.5])); */
export const atanh = floatUnary('atanh');
/** 1 / (1 + e^-x), stable for large |x|. @example sigmoid(tensor([0])); // [0.5] */
export const sigmoid = floatUnary('sigmoid');
/** log(1 + e^x), stable for large |x|. @example softplus(tensor([0])); // [log 2] */
export const softplus = floatUnary('softplus');
/** The error function. @example erf(tensor([1])); // [0.8427] */
export const erf = floatUnary('erf');
/** Inverse of erf on (-1, 1). @example erfinv(tensor([0.5])); // [0.4769] */
export const erfinv = floatUnary('erfinv');
/** @example floor(tensor([1.5, -1.5])); // [1, -2] */
export const floor = (x: TensorLike): Tensor => roundingOp('floor', x);
/** @example ceil(tensor([1.5])); // [2] */
export const ceil = (x: TensorLike): Tensor => roundingOp('ceil', x);
/** Rounds half to even, as NumPy. @example round(tensor([0.5, 1.5])); // [0, 2] */
export const round = (x: TensorLike): Tensor => roundingOp('round', x);
/** @example logicalNot(tensor([true, false])); // [false, true] */
export const logicalNot = (x: TensorLike): Tensor => bind('logicalNot', [castIfNeeded(asTensor(x), 'bool')], {});
/** True where neither infinite nor NaN. @example isFinite(tensor([1, Infinity, NaN])); */
export const isFinite = (x: TensorLike): Tensor => {
  const t = asTensor(x);
  return isFloat(t.dtype) ? bind('isFinite', [t], {}) : bind('eq', [t, t], {});
};

function roundingOp(op: 'floor' | 'ceil' | 'round', x: TensorLike): Tensor {
  const t = asTensor(x);
  return isFloat(t.dtype) ? bind(op, [t], {}) : t;
}

/** @example add(tensor([1, 2]), 1); // [2, 3] */
export const add = binary('add');
/** @example sub(tensor([1, 2]), 1); // [0, 1] */
export const sub = binary('sub');
/** @example mul(tensor([1, 2]), 3); // [3, 6] */
export const mul = binary('mul');
/** True division for floats; integer division (truncating) for integer tensors. @example div(tensor([1]), 4); // [0.25] */
export const div = binary('div');
/** x^y. @example pow(tensor([2, 3]), 2); // [4, 9] */
export const pow = floatBinary('pow');
/** Elementwise maximum; NaN propagates. @example maximum(tensor([1, 5]), 3); // [3, 5] */
export const maximum = binary('maximum');
/** Elementwise minimum; NaN propagates. @example minimum(tensor([1, 5]), 3); // [1, 3] */
export const minimum = binary('minimum');
/** Angle of the point (x, y) = (b, a). @example atan2(tensor([1]), tensor([1])); // [pi/4] */
export const atan2 = floatBinary('atan2');
/** @example equal(tensor([1, 2]), 2); // [false, true] */
export const equal = binary('eq');
/** @example notEqual(tensor([1, 2]), 2); // [true, false] */
export const notEqual = binary('ne');
/** @example less(tensor([1, 2]), 2); // [true, false] */
export const less = binary('lt');
/** @example lessEqual(tensor([1, 2]), 2); // [true, true] */
export const lessEqual = binary('le');
/** @example greater(tensor([1, 2]), 1); // [false, true] */
export const greater = binary('gt');
/** @example greaterEqual(tensor([1, 2]), 2); // [false, true] */
export const greaterEqual = binary('ge');
/** The backend of the first tensor among `values`, where plain values next to it are made. */
const backendOf = (...values: TensorLike[]) => values.find((v): v is Tensor => v instanceof Tensor)?.backend;

/** Each operand cast to bool on its own (no promotion); a plain value made on the other's backend. */
function boolOperands(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const backend = backendOf(a, b);
  return [castIfNeeded(asTensor(a, undefined, backend), 'bool'), castIfNeeded(asTensor(b, undefined, backend), 'bool')];
}

/** @example logicalAnd(tensor([true, true]), tensor([true, false])); // [true, false] */
export const logicalAnd = (a: TensorLike, b: TensorLike): Tensor => bind('logicalAnd', boolOperands(a, b), {});
/** @example logicalOr(tensor([false, true]), tensor([false, false])); // [false, true] */
export const logicalOr = (a: TensorLike, b: TensorLike): Tensor => bind('logicalOr', boolOperands(a, b), {});

/** x². @example square(tensor([3])); // [9] */
export const square = (x: TensorLike): Tensor => {
  const t = asTensor(x);
  return mul(t, t);
};
/**
 * max(x, 0), with derivative 0 at 0 (as `jax.nn.relu`, PyTorch and TensorFlow; `maximum(x, 0)` would
 * split a tie 1/2 : 1/2) and NaN kept: x where x > 0 or x is NaN, else 0. At NaN its derivative is
 * 1, as PyTorch's (`jax.nn.relu`'s custom rule gives 0 there).
 *
 * @example relu(tensor([-1, 0, 2])); // [0, 0, 2]; grad(x => relu(x).sum())(tensor([-1, 0, 2])) is [0, 0, 1]
 */
export const relu = (x: TensorLike): Tensor => {
  const t = asTensor(x);
  return where(lessEqual(t, 0), 0, t);
};
/** log(sigmoid(x)) = -softplus(-x), stable. @example logSigmoid(tensor([0])); // [-log 2] */
export const logSigmoid = (x: TensorLike): Tensor => {
  const t = asTensor(x);
  // Negated before softplus casts it, an integer would wrap (-x of uint32 2 is 2^32 - 2).
  return neg(softplus(neg(isFloat(t.dtype) ? t : castIfNeeded(t, 'float32'))));
};

/**
 * log(e^a + e^b), elementwise with broadcasting, computed as JAX's `jnp.logaddexp` does:
 * max(a, b) + log1p(e^-|a - b|) (here the larger operand plus softplus(-|a - b|), the same number),
 * which neither overflows nor loses the smaller term. Where a - b is NaN the result is (a + b) / 2,
 * as JAX's a + b: two -Infinity give -Infinity (not NaN), two +Infinity give +Infinity, a NaN gives
 * NaN. Integer inputs give float32.
 *
 * The gradient is (sigmoid(a - b), sigmoid(b - a)): 1/2 each at a = b, (1, 0) when only b is
 * -Infinity, and 1/2 each at two infinities of one sign, the limit along a = b (JAX's rule,
 * t·e^(a - out), gives NaN there from -∞ - (-∞)). Higher derivatives are exact at a = b too.
 *
 * @example
 * logaddexp(tensor([0, 1000]), tensor([0, -Infinity])); // [log 2, 1000]
 */
export function logaddexp(a: TensorLike, b: TensorLike): Tensor {
  let [x, y] = binaryOperands('logaddexp', a, b);
  broadcastShapes('logaddexp', x.shape, y.shape);
  if (!isFloat(x.dtype)) [x, y] = [castIfNeeded(x, 'float32'), castIfNeeded(y, 'float32')];
  const d = sub(x, y);
  const undefinedDifference = notEqual(d, d);
  // NaN differences become 0 on both passes of the smooth branches (double where).
  const safe = where(undefinedDifference, 0, d);
  // Each branch is log(e^a + e^b) exactly, so picking one by the sign of a - b leaves every
  // derivative smooth across a = b (a max with -|d| would split the tie 1/2 : 1/2 in the gradient
  // but not in the second derivative). softplus, not log1p(exp(.)), so the branch not taken cannot
  // overflow into a NaN gradient.
  const smooth = where(greaterEqual(safe, 0), add(x, softplus(neg(safe))), add(y, softplus(safe)));
  return where(undefinedDifference, mul(add(x, y), 0.5), smooth);
}

/**
 * `x` where `cond` is true, `y` elsewhere; all three broadcast. Gradients flow to the chosen branch
 * only; to keep a NaN in the unused branch out of the gradient, also guard that branch's input
 * (the double-where pattern): `where(c, f(where(c, x, safe)), 0)`.
 *
 * @example
 * where(greater(x, 0), x, 0); // relu
 */
export function where(cond: TensorLike, x: TensorLike, y: TensorLike): Tensor {
  // Plain values are made on the backend of the tensors given (where(c, 1, 0) with c on WebGPU).
  const backend = backendOf(cond, x, y);
  const c = castIfNeeded(asTensor(cond, undefined, backend), 'bool');
  const [tx, ty] = binaryOperands('where', x instanceof Tensor || y instanceof Tensor ? x : asTensor(x, undefined, backend), y);
  return bind('where', [c, tx, ty], {});
}

/**
 * Limits values to [low, high] (either bound may be omitted).
 *
 * @example
 * clip(tensor([-2, 0, 2]), -1, 1); // [-1, 0, 1]
 */
export function clip(x: TensorLike, low?: TensorLike, high?: TensorLike): Tensor {
  let out = asTensor(x);
  if (low !== undefined) out = maximum(out, low);
  if (high !== undefined) out = minimum(out, high);
  return out;
}

/** @example cast(tensor([1.7]), 'int32'); // [1] */
export const cast = (x: TensorLike, dtype: DType): Tensor => castIfNeeded(asTensor(x), checkDtype('cast', dtype));

/**
 * The identity whose derivative is zero: gradients do not flow through it.
 *
 * @example
 * grad((x) => mul(x, stopGradient(x)))(tensor(3)); // 3, not 6
 */
export const stopGradient = (x: TensorLike): Tensor => bind('stopGradient', [asTensor(x)], {});

