/**
 * The CPU backend: storage is a typed array; kernels are plain loops over them. Tensors are immutable,
 * so ops that do not move data (reshape, stopGradient) share their input's array.
 */
import type { Backend, KernelInput } from '../backend';
import {
  type TypedArray,
  allocate,
} from '../dtype';
import {
  ARG_REDUCE_OPS,
  type Aval,
  BINARY_OPS,
  type Params,
  type Primitive,
  REDUCE_OPS,
  UNARY_OPS,
  type UnaryOp,
  type BinaryOp,
  type ReduceOp,
  type ArgReduceOp,
} from '../primitives';
import { sizeOf } from '../shape';
import { bitsToUnitFloat32, bitsToUnitFloat64, threefryHash } from '../threefry';
import { elementwiseJs, runElementwise } from './elementwise';
import { matmul } from './matmul';
import * as move from './movement';
import { argReduce, reduce } from './reduce';
import { gather, scatterAdd } from './gather';
import { argsort } from './sort';

export interface CpuInput {
  readonly values: TypedArray;
  readonly aval: Aval;
  readonly shape: Aval['shape'];
}

/** A CPU kernel: input arrays and avals to a new output array (or, for views, the input's). */
export type CpuKernel<P extends Primitive> = (inputs: readonly CpuInput[], params: Params<P>, out: Aval) => TypedArray;

function elementwise(expr: (args: string[]) => string): CpuKernel<Primitive> {
  return (inputs, _params, out) => {
    const values = allocate(out.dtype, sizeOf(out.shape));
    runElementwise(expr, values, out.shape, inputs);
    return values;
  };
}

const unaryKernel = (op: UnaryOp): CpuKernel<UnaryOp> => (inputs, params, out) =>
  elementwise(([a]) => elementwiseJs(op, [a], inputs[0].aval.dtype, out.dtype))(inputs, params, out);

const binaryKernel = (op: BinaryOp): CpuKernel<BinaryOp> => (inputs, params, out) =>
  elementwise(([a, b]) => elementwiseJs(op, [a, b], inputs[0].aval.dtype, out.dtype))(inputs, params, out);

const reduceKernel = (op: ReduceOp): CpuKernel<ReduceOp> => ([x], { axes }, out) =>
  reduce(op, x.values, x.shape, axes, out.dtype);

const argReduceKernel = (op: ArgReduceOp): CpuKernel<ArgReduceOp> => ([x], { axis }) =>
  argReduce(op, x.values, x.shape, axis);

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => CpuKernel<K>): { [P in K]: CpuKernel<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: CpuKernel<P> };
}

/** The CPU kernel of every primitive. */
export const cpuKernels: { [P in Primitive]: CpuKernel<P> } = {
  ...table(UNARY_OPS, unaryKernel),
  ...table(BINARY_OPS, binaryKernel),
  ...table(REDUCE_OPS, reduceKernel),
  ...table(ARG_REDUCE_OPS, argReduceKernel),
  where: (inputs, params, out) => elementwise((args) => elementwiseJs('where', args, out.dtype, out.dtype))(inputs, params, out),
  cast: (inputs, params, out) => elementwise(([a]) => elementwiseJs('cast', [a], inputs[0].aval.dtype, out.dtype))(inputs, params, out),
  stopGradient: ([x]) => x.values,
  matmul: ([a, b], _p, out) => matmul(a.values, a.shape, b.values, b.shape, out.shape, out.dtype),
  reshape: ([x]) => x.values,
  transpose: ([x], { perm }) => move.transpose(x.values, x.shape, perm, x.aval.dtype),
  broadcastTo: ([x], { shape }) => move.broadcastTo(x.values, x.shape, shape, x.aval.dtype),
  slice: ([x], { starts, steps }, out) => move.slice(x.values, x.shape, starts, steps, out.shape, out.dtype),
  flip: ([x], { axes }) => move.flip(x.values, x.shape, axes, x.aval.dtype),
  pad: ([x], { lo, interior }, out) => move.pad(x.values, x.shape, lo, interior, out.shape, out.dtype),
  concat: (inputs, { axis }, out) => move.concat(inputs, axis, out.shape, out.dtype),
  gather: ([x, idx], { axis, site }, out) => gather(x, idx, axis, out.shape, out.dtype, site),
  scatterAdd: ([updates, idx], { axis }, out) => scatterAdd(updates, idx, axis, out.shape, out.dtype),
  argsort: ([x], { descending, k }) => argsort(x.values, x.shape, descending, k),
  threefry: ([key, counts]) => threefryHash(key.values as Uint32Array, counts.values as Uint32Array),
  uniformFromBits: ([bits], { dtype }) =>
    dtype === 'float32' ? bitsToUnitFloat32(bits.values as Uint32Array) : bitsToUnitFloat64(bits.values as Uint32Array),
};

/**
 * The CPU backend.
 *
 * @example
 * const x = tensor([1, 2, 3], { backend: cpu });
 */
export const cpu: Backend = {
  name: 'cpu',
  supports: () => true,
  upload: (values) => values,
  execute<P extends Primitive>(prim: P, inputs: readonly KernelInput[], params: Params<P>, out: Aval) {
    const cpuInputs = inputs.map((x) => ({ values: x.handle as TypedArray, aval: x.aval, shape: x.aval.shape }));
    return cpuKernels[prim](cpuInputs, params, out);
  },
  read: async (handle) => (handle as TypedArray).slice(),
  readSync: (handle) => (handle as TypedArray).slice(),
  release: () => {},
};

