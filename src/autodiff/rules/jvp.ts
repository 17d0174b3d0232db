/**
 * Forward-mode rules: for each primitive, the output tangent given input tangents. A `null` tangent
 * is a symbolic zero; a rule returns null when the output tangent is zero. Linear primitives apply
 * themselves to the tangents; the others multiply by the partials shared with the vjp rules.
 */
import * as T from '../../tensor';
import {
  ARG_REDUCE_OPS,
  BINARY_OPS,
  type BinaryOp,
  isFloat,
  type Params,
  type Primitive,
  type Tensor,
  UNARY_OPS,
  type UnaryOp,
} from '../../tensor';
import { binaryPartials, chooserPartial, productPartial, unaryPartials } from './partials';

export type JvpRule<P extends Primitive> = (
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  out: Tensor,
  params: Params<P>,
) => Tensor | null;

const zero: JvpRule<Primitive> = () => null;

/** A tangent made explicit: zeros shaped like its primal where it was symbolic. */
const instantiate = (t: Tensor | null, primal: Tensor): Tensor => t ?? T.zerosLike(primal);

/** Applies a linear primitive to the tangents (zeros filled in). */
function linear<P extends Primitive>(prim: P): JvpRule<P> {
  return (primals, tangents, _out, params) => T.bind(prim, primals.map((p, i) => instantiate(tangents[i], p)), params);
}

/** Adds tangent terms, skipping symbolic zeros. */
function sumTerms(terms: (Tensor | null)[], out: Tensor): Tensor | null {
  const present = terms.filter((t): t is Tensor => t !== null);
  if (present.length === 0) return null;
  const total = present.reduce((a, b) => T.add(a, b));
  return T.broadcastTo(total, out.shape);
}

function unaryRule(op: UnaryOp): JvpRule<UnaryOp> {
  const partial = unaryPartials[op];
  if (partial === 'nondifferentiable' || partial === null) return zero;
  if (op === 'neg') return (_p, [t]) => (t ? T.neg(t) : null);
  return ([x], [t], out) => (t ? T.mul(t, partial(x, out)) : null);
}

function binaryRule(op: BinaryOp): JvpRule<BinaryOp> {
  const partials = binaryPartials[op];
  if (partials === 'nondifferentiable') return zero;
  if (op === 'add') return (_p, [tx, ty], out) => sumTerms([tx, ty], out);
  if (op === 'sub') return (_p, [tx, ty], out) => sumTerms([tx, ty && T.neg(ty)], out);
  return ([x, y], [tx, ty], out) => {
    const [dx, dy] = partials(x, y, out);
    return sumTerms([tx && dx && T.mul(tx, dx), ty && dy && T.mul(ty, dy)], out);
  };
}

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => JvpRule<K>): { [P in K]: JvpRule<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: JvpRule<P> };
}

export const jvpRules: { [P in Primitive]: JvpRule<P> } = {
  ...table(UNARY_OPS, unaryRule),
  ...table(BINARY_OPS, binaryRule),
  ...table(ARG_REDUCE_OPS, () => zero),

  reduceSum: linear('reduceSum'),
  reduceMax: ([x], [t], out, { axes }) => (t ? T.sum(T.mul(t, chooserPartial(x, out, axes)), axes) : null),
  reduceMin: ([x], [t], out, { axes }) => (t ? T.sum(T.mul(t, chooserPartial(x, out, axes)), axes) : null),
  reduceProd: ([x], [t], _out, { axes }) => (t ? T.sum(T.mul(t, productPartial(x, axes)), axes) : null),

  where: ([cond, x, y], [, tx, ty], out) =>
    tx || ty ? T.broadcastTo(T.where(cond, instantiate(tx, x), instantiate(ty, y)), out.shape) : null,
  cast: ([x], [t], out) => (t && isFloat(x.dtype) && isFloat(out.dtype) ? T.cast(t, out.dtype) : null),
  stopGradient: zero,

  matmul: ([a, b], [ta, tb], out) => sumTerms([ta && T.matmul(ta, b), tb && T.matmul(a, tb)], out),

  reshape: linear('reshape'),
  transpose: linear('transpose'),
  broadcastTo: linear('broadcastTo'),
  slice: linear('slice'),
  flip: linear('flip'),
  pad: linear('pad'),
  concat: linear('concat'),
  gather: ([, idx], [t], _out, params) => (t ? T.bind('gather', [t, idx], params) : null),
  scatterAdd: ([, idx], [t], _out, params) => (t ? T.bind('scatterAdd', [t, idx], params) : null),
  argsort: zero,
  threefry: zero,
  uniformFromBits: zero,
};
