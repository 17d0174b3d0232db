/**
 * Partial derivatives of the elementwise primitives and the nonlinear reductions, shared by the vjp
 * rules (cotangent times partial) and the jvp rules (tangent times partial). They are built from ops,
 * so they are differentiable again (higher-order gradients).
 *
 * Conventions at non-smooth points follow JAX: d|x|/dx = 1 at 0; d max(x, y) splits 1/2 : 1/2 on ties
 * (so do reduceMax/reduceMin among tied elements); sqrt' (0) = +inf and log' (0) = +inf; floor, ceil,
 * round and sign have zero derivative.
 */
import * as T from '../../tensor';
import type { BinaryOp, Tensor, UnaryOp } from '../../tensor';

/** d out / d x for a unary op, from the input x and the output y; null where the derivative is zero. */
export type UnaryPartial = ((x: Tensor, y: Tensor) => Tensor) | null;

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_PI_OVER_TWO = Math.sqrt(Math.PI) / 2;

/**
 * `value` as a scalar of x's dtype and backend. Partials select among scalars rather than arrays of
 * x's shape: under `jit` such an array is a constant the plan stores and every loop reads (two
 * 256x256 arrays per ReLU's gradient in a SAC-v2 update), where a scalar is one register.
 */
const scalarLike = (x: Tensor, value: number): Tensor => T.full([], value, { dtype: x.dtype, backend: x.backend });

export const unaryPartials: Record<UnaryOp, UnaryPartial | 'nondifferentiable'> = {
  neg: (x) => scalarLike(x, -1),
  abs: (x) => T.where(T.greaterEqual(x, 0), scalarLike(x, 1), -1),
  sign: null,
  exp: (_x, y) => y,
  log: (x) => T.reciprocal(x),
  log1p: (x) => T.reciprocal(T.add(x, 1)),
  expm1: (_x, y) => T.add(y, 1),
  sqrt: (_x, y) => T.div(0.5, y),
  rsqrt: (x, y) => T.mul(T.div(y, x), -0.5),
  reciprocal: (_x, y) => T.neg(T.square(y)),
  sin: (x) => T.cos(x),
  cos: (x) => T.neg(T.sin(x)),
  tan: (_x, y) => T.add(T.square(y), 1),
  atan: (x) => T.reciprocal(T.add(T.square(x), 1)),
  tanh: (_x, y) => T.sub(1, T.square(y)),
  atanh: (x) => T.reciprocal(T.sub(1, T.square(x))),
  sigmoid: (_x, y) => T.mul(y, T.sub(1, y)),
  softplus: (x) => T.sigmoid(x),
  erf: (x) => T.mul(T.exp(T.neg(T.square(x))), TWO_OVER_SQRT_PI),
  erfinv: (_x, y) => T.mul(T.exp(T.square(y)), SQRT_PI_OVER_TWO),
  floor: null,
  ceil: null,
  round: null,
  logicalNot: 'nondifferentiable',
  isFinite: 'nondifferentiable',
};

/** d out / d x and d out / d y for a binary op (each broadcastable to the output). */
export type BinaryPartials = (x: Tensor, y: Tensor, out: Tensor) => [Tensor | null, Tensor | null];

/**
 * Weight of x in max(x, y): 1 where x wins, 1/2 on ties, 0 where y wins, and 0 where either is NaN
 * (each operand's weight is its own, as JAX's `_balanced_eq`: a NaN beats neither).
 */
function chooserWeight(x: Tensor, y: Tensor, wins: (a: Tensor, b: Tensor) => Tensor): Tensor {
  return T.add(T.where(wins(x, y), scalarLike(x, 1), 0), T.where(T.equal(x, y), scalarLike(x, 0.5), 0));
}

export const binaryPartials: Record<BinaryOp, BinaryPartials | 'nondifferentiable'> = {
  add: (x, y) => [T.onesLike(x), T.onesLike(y)],
  sub: (x, y) => [T.onesLike(x), T.fullLike(y, -1)],
  mul: (x, y) => [y, x],
  div: (_x, y, out) => [T.reciprocal(y), T.neg(T.div(out, y))],
  pow: (x, y, out) => {
    // d/dx = y x^(y-1), taken as 0 where y = 0; d/dy = log(x) x^y, taken as 0 where x = 0 (JAX).
    const dx = T.where(T.equal(y, 0), 0, T.mul(y, T.pow(x, T.sub(y, 1))));
    const safeX = T.where(T.equal(x, 0), 1, x);
    return [dx, T.mul(T.log(safeX), out)];
  },
  maximum: (x, y) => [chooserWeight(x, y, T.greater), chooserWeight(y, x, T.greater)],
  minimum: (x, y) => [chooserWeight(x, y, T.less), chooserWeight(y, x, T.less)],
  atan2: (x, y) => {
    const r2 = T.add(T.square(x), T.square(y));
    return [T.div(y, r2), T.neg(T.div(x, r2))];
  },
  eq: 'nondifferentiable',
  ne: 'nondifferentiable',
  lt: 'nondifferentiable',
  le: 'nondifferentiable',
  gt: 'nondifferentiable',
  ge: 'nondifferentiable',
  logicalAnd: 'nondifferentiable',
  logicalOr: 'nondifferentiable',
};

/** `out` with the reduced axes put back as size-1 axes, broadcast to `shape`. */
export function unreduce(out: Tensor, axes: readonly number[], shape: readonly number[]): Tensor {
  return T.broadcastTo(T.expandDims(out, axes), shape);
}

/**
 * d out / d x of reduceMax / reduceMin: an indicator of the elements equal to the extreme, divided by
 * how many there are (ties share the gradient).
 */
export function chooserPartial(x: Tensor, out: Tensor, axes: readonly number[]): Tensor {
  const hit = T.equal(x, unreduce(out, axes, x.shape)).cast(x.dtype);
  return T.div(hit, unreduce(T.sum(hit, axes), axes, x.shape));
}

/**
 * d out / d x of reduceProd: the product of the other elements, as the products of those before
 * each element times those after it (never a division by x), so it is exact where x has zeros and
 * is itself differentiable there: the Hessian of prod at [2, 0, 4] has 4 and 2 off the diagonal (as
 * JAX's tree of products gives; a partial selected by where over the zeros would lose them).
 */
export function productPartial(x: Tensor, axes: readonly number[]): Tensor {
  // The reduced axes moved last and flattened into one.
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const moved = T.transpose(x, order);
  const rows = kept.map((i) => x.shape[i]);
  const flat = T.reshape(moved, [...rows, axes.reduce((n, a) => n * x.shape[a], 1)]);
  const last = flat.ndim - 1;
  const before = (t: Tensor) => T.cumprod(t, last, { exclusive: true });
  const others = T.mul(before(flat), T.flip(before(T.flip(flat, last)), last));
  const back = order.map((_, i) => order.indexOf(i));
  return T.transpose(T.reshape(others, moved.shape), back);
}

/** Sums a broadcast cotangent back to `shape` (the input's shape before broadcasting). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return T.reshape(T.sum(g, axes), shape);
}
