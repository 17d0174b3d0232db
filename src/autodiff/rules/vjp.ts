/**
 * Reverse-mode rules: for each primitive, the cotangents of its inputs given the cotangent of its
 * output. The table is a mapped type over `Primitive`, so a primitive without a rule does not compile.
 * `null` means "no gradient" (integer inputs, indices, stopGradient).
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
import { binaryPartials, chooserPartial, productPartial, sumToShape, unaryPartials, unreduce } from './partials';

/**
 * `ct` is the output cotangent, `inputs` the primal inputs, `out` the primal output; `needs[i]` says
 * whether input i's cotangent is wanted (rules may skip the others).
 */
export type VjpRule<P extends Primitive> = (
  ct: Tensor,
  inputs: readonly Tensor[],
  out: Tensor,
  params: Params<P>,
  needs: readonly boolean[],
) => (Tensor | null)[];

const none: VjpRule<Primitive> = (_ct, inputs) => inputs.map(() => null);

function unaryRule(op: UnaryOp): VjpRule<UnaryOp> {
  const partial = unaryPartials[op];
  if (partial === 'nondifferentiable') return none;
  if (partial === null) return none;
  if (op === 'neg') return (ct) => [T.neg(ct)];
  return (ct, [x], out) => [T.mul(ct, partial(x, out))];
}

function binaryRule(op: BinaryOp): VjpRule<BinaryOp> {
  const partials = binaryPartials[op];
  if (partials === 'nondifferentiable') return none;
  if (op === 'add') return (ct, [x, y]) => [sumToShape(ct, x.shape), sumToShape(ct, y.shape)];
  if (op === 'sub') return (ct, [x, y]) => [sumToShape(ct, x.shape), sumToShape(T.neg(ct), y.shape)];
  return (ct, [x, y], out, _p, needs) => {
    const [dx, dy] = partials(x, y, out);
    return [
      needs[0] && dx ? sumToShape(T.mul(ct, dx), x.shape) : null,
      needs[1] && dy ? sumToShape(T.mul(ct, dy), y.shape) : null,
    ];
  };
}

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => VjpRule<K>): { [P in K]: VjpRule<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: VjpRule<P> };
}

/** Swaps the last two axes. */
const mT = (x: Tensor) => T.swapAxes(x, -1, -2);

export const vjpRules: { [P in Primitive]: VjpRule<P> } = {
  ...table(UNARY_OPS, unaryRule),
  ...table(BINARY_OPS, binaryRule),
  ...table(ARG_REDUCE_OPS, () => none),

  reduceSum: (ct, [x], _out, { axes }) => [unreduce(ct, axes, x.shape)],
  reduceMax: (ct, [x], out, { axes }) => [T.mul(unreduce(ct, axes, x.shape), chooserPartial(x, out, axes))],
  reduceMin: (ct, [x], out, { axes }) => [T.mul(unreduce(ct, axes, x.shape), chooserPartial(x, out, axes))],
  reduceProd: (ct, [x], _out, { axes }) => [T.mul(unreduce(ct, axes, x.shape), productPartial(x, axes))],

  where: (ct, [cond, x, y]) => [null, sumToShape(T.where(cond, ct, 0), x.shape), sumToShape(T.where(cond, 0, ct), y.shape)],
  cast: (ct, [x]) => [isFloat(x.dtype) && isFloat(ct.dtype) ? T.cast(ct, x.dtype) : null],
  stopGradient: none,

  matmul: (ct, [a, b], _out, _p, needs) => [
    needs[0] ? sumToShape(T.matmul(ct, mT(b)), a.shape) : null,
    needs[1] ? sumToShape(T.matmul(mT(a), ct), b.shape) : null,
  ],

  reshape: (ct, [x]) => [T.reshape(ct, x.shape)],
  transpose: (ct, _inputs, _out, { perm }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [T.transpose(ct, inverse)];
  },
  broadcastTo: (ct, [x]) => [sumToShape(ct, x.shape)],
  slice: (ct, [x], out, { starts, steps }) => {
    // Scatter back with zero padding: `interior` fills the step gaps, `hi` the tail.
    const lo = [...starts];
    const interior = steps.map((s) => s - 1);
    const hi = x.shape.map((n, i) => {
      const m = out.shape[i];
      return n - lo[i] - (m === 0 ? 0 : m + (m - 1) * interior[i]);
    });
    return [T.bind('pad', [ct], { lo, hi, interior: out.shape.map((m, i) => (m === 0 ? 0 : interior[i])) })];
  },
  flip: (ct, _inputs, _out, { axes }) => [T.bind('flip', [ct], { axes })],
  pad: (ct, [x], _out, { lo, interior }) => {
    const steps = interior.map((s) => s + 1);
    const stops = x.shape.map((n, i) => (n === 0 ? lo[i] : lo[i] + (n - 1) * steps[i] + 1));
    return [T.bind('slice', [ct], { starts: [...lo], stops, steps })];
  },
  concat: (ct, inputs, _out, { axis }) => {
    let offset = 0;
    return inputs.map((x) => {
      const starts = ct.shape.map((_, i) => (i === axis ? offset : 0));
      const stops = ct.shape.map((d, i) => (i === axis ? offset + x.shape[axis] : d));
      offset += x.shape[axis];
      return T.bind('slice', [ct], { starts, stops, steps: ct.shape.map(() => 1) });
    });
  },
  gather: (ct, [x, idx], _out, { axis }) => [
    sumToShape(T.bind('scatterAdd', [ct, idx], { axis, size: x.shape[axis] }), x.shape),
    null,
  ],
  scatterAdd: (ct, [updates, idx], _out, { axis }) => [sumToShape(T.bind('gather', [ct, idx], { axis }), updates.shape), null],
  // An integer permutation, piecewise constant in x (as argmax): sorted values get their gradient
  // through the `gather` that takes them.
  argsort: none,
  threefry: none,
  uniformFromBits: none,
};
