/**
 * One random case per primitive for the vmap tests (CPU and WebGPU): inputs and params of a valid
 * application, and fresh values shaped like an input (the other rows of a batch).
 */
import * as M from '../../src';
import type { Params, Primitive, Tensor } from '../../src';
import { Rng, size } from './helpers';

export interface Case {
  inputs: Tensor[];
  params: Params<Primitive>;
}

const uniformT = (rng: Rng, shape: readonly number[], lo = 0.1, hi = 0.9) =>
  M.tensor(Float64Array.from({ length: size(shape) }, () => rng.uniform(lo, hi)), { shape });
const boolT = (rng: Rng, shape: readonly number[]) => M.tensor(Uint8Array.from({ length: size(shape) }, () => (rng.bool() ? 1 : 0)), { shape, dtype: 'bool' });
const intT = (rng: Rng, shape: readonly number[], hi: number) => M.tensor(Int32Array.from({ length: size(shape) }, () => rng.int(0, hi)), { shape });
export const u32T = (rng: Rng, shape: readonly number[]) => M.tensor(Uint32Array.from({ length: size(shape) }, () => rng.int(0, 2 ** 32 - 1)), { shape });
const axesOf = (rng: Rng, n: number) => Array.from({ length: n }, (_, i) => i).filter(() => rng.bool());

export function caseFor(prim: Primitive, rng: Rng): Case {
  const none = {} as Params<Primitive>;
  if ((M.UNARY_OPS as readonly string[]).includes(prim)) {
    const shape = rng.shape(3, 3);
    return { inputs: [prim === 'logicalNot' ? boolT(rng, shape) : uniformT(rng, shape)], params: none };
  }
  if ((M.BINARY_OPS as readonly string[]).includes(prim)) {
    const out = rng.shape(3, 3);
    const [sa, sb] = rng.bool() ? [out, rng.broadcastableTo(out)] : [rng.broadcastableTo(out), out];
    const make = prim === 'logicalAnd' || prim === 'logicalOr' ? (s: number[]) => boolT(rng, s) : (s: number[]) => uniformT(rng, s, 0.5, 2);
    return { inputs: [make(sa), make(sb)], params: none };
  }
  if ((M.REDUCE_OPS as readonly string[]).includes(prim)) {
    const shape = rng.shape(3, 3, 1);
    return { inputs: [uniformT(rng, shape)], params: { axes: axesOf(rng, shape.length) } as never };
  }
  const shape = rng.shape(3, 3, 1);
  const x = uniformT(rng, shape);
  switch (prim) {
    case 'argmax':
    case 'argmin':
      return { inputs: [x], params: { axis: rng.int(0, shape.length - 1) } as never };
    case 'argsort':
      // Ties (values on a grid of 4) check that the batched sort is as stable as each row's; k of
      // the row's positions (0 to all) that the batched kernel keeps as each row's would.
      return { inputs: [M.div(M.floor(M.mul(x, 4)), 4)], params: { descending: rng.bool(), k: rng.int(0, shape[shape.length - 1]) } as never };
    case 'where': {
      const out = rng.shape(3, 3);
      return { inputs: [boolT(rng, rng.broadcastableTo(out)), uniformT(rng, rng.broadcastableTo(out)), uniformT(rng, out)], params: none };
    }
    case 'cast':
      return { inputs: [M.mul(x, 10)], params: { dtype: rng.pick(['int32', 'float32', 'uint32', 'bool'] as const) } as never };
    case 'stopGradient':
      return { inputs: [x], params: none };
    case 'matmul': {
      const [m, k, n] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)];
      const batchOut = rng.shape(2, 2);
      const ba = rng.broadcastableTo(batchOut);
      const bb = rng.bool() ? batchOut : rng.broadcastableTo(batchOut);
      return { inputs: [uniformT(rng, [...ba, m, k]), uniformT(rng, [...bb, k, n])], params: none };
    }
    case 'reshape':
      return { inputs: [x], params: { shape: rng.bool() ? [size(shape)] : [...shape].reverse() } as never };
    case 'transpose': {
      const perm = shape.map((_, i) => i).sort(() => rng.next() - 0.5);
      return { inputs: [x], params: { perm } as never };
    }
    case 'broadcastTo': {
      const target = [rng.int(1, 3), ...shape];
      const small = shape.map((d) => (rng.bool(0.4) ? 1 : d));
      return { inputs: [uniformT(rng, rng.bool() ? small.slice(rng.int(0, small.length)) : small)], params: { shape: target } as never };
    }
    case 'slice': {
      const starts = shape.map((d) => rng.int(0, d - 1));
      const stops = shape.map((d, i) => rng.int(starts[i] + 1, d));
      return { inputs: [x], params: { starts, stops, steps: shape.map(() => rng.int(1, 2)) } as never };
    }
    case 'flip':
      return { inputs: [x], params: { axes: axesOf(rng, shape.length) } as never };
    case 'pad':
      return {
        inputs: [x],
        params: { lo: shape.map(() => rng.int(0, 2)), hi: shape.map(() => rng.int(0, 1)), interior: shape.map(() => rng.int(0, 1)) } as never,
      };
    case 'concat': {
      const axis = rng.int(0, shape.length - 1);
      const parts = Array.from({ length: rng.int(1, 3) }, () => uniformT(rng, shape.map((d, i) => (i === axis ? rng.int(1, 3) : d))));
      return { inputs: parts, params: { axis } as never };
    }
    case 'gather': {
      const axis = rng.int(0, shape.length - 1);
      const idxShape = shape.map((d, i) => (i === axis ? rng.int(1, 3) : rng.bool(0.3) ? 1 : d));
      return { inputs: [x, intT(rng, idxShape, shape[axis] - 1)], params: { axis } as never };
    }
    case 'scatterAdd': {
      const axis = rng.int(0, shape.length - 1);
      const sizeOut = rng.int(1, 4);
      const idxShape = shape.map((d, i) => (i === axis ? d : rng.bool(0.3) ? 1 : d));
      return { inputs: [x, intT(rng, idxShape, sizeOut - 1)], params: { axis, size: sizeOut } as never };
    }
    case 'threefry':
      return { inputs: [u32T(rng, [2]), u32T(rng, rng.shape(2, 5, 1))], params: none };
    case 'uniformFromBits': {
      const dtype = rng.pick(['float32', 'float64'] as const);
      return { inputs: [u32T(rng, dtype === 'float64' ? [2, ...shape] : shape)], params: { dtype } as never };
    }
    default:
      throw new Error(`no case for ${prim}`);
  }
}

/** A fresh value like x (same shape and dtype, new random values). */
export function another(x: Tensor, rng: Rng): Tensor {
  switch (x.dtype) {
    case 'bool':
      return boolT(rng, x.shape);
    case 'int32': {
      const hi = Math.max(0, ...Array.from(x.dataSync() as Int32Array));
      return intT(rng, x.shape, hi);
    }
    case 'uint32':
      return u32T(rng, x.shape);
    default:
      return uniformT(rng, x.shape);
  }
}

