/**
 * The primitive op set: the small list of operations every other op is built from. Each primitive
 * has a parameter type (here), a shape/dtype rule (here), a CPU kernel (`cpu/`), a WGSL kernel
 * (`webgpu/`) and vjp/jvp rules (`../autodiff/rules`). Every rule table is a mapped type over
 * `Primitive`, so adding a primitive without all its rules is a compile error.
 */
import { type DType, isFloat, SHORT_NAME } from './dtype';
import { ArgumentError, DTypeError, ShapeError } from './errors';
import { broadcastShapes, checkShape, formatShape, normalizeAxis, type Shape, sizeOf } from './shape';

/** Elementwise functions of one tensor. */
export const UNARY_OPS = [
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'log1p',
  'expm1',
  'sqrt',
  'rsqrt',
  'reciprocal',
  'sin',
  'cos',
  'tan',
  'atan',
  'tanh',
  'atanh',
  'sigmoid',
  'softplus',
  'erf',
  'erfinv',
  'floor',
  'ceil',
  'round',
  'logicalNot',
  'isFinite',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Elementwise functions of two tensors, with NumPy broadcasting. */
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'atan2',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'logicalAnd',
  'logicalOr',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Reductions over a set of axes (the axes are removed). */
export const REDUCE_OPS = ['reduceSum', 'reduceMax', 'reduceMin', 'reduceProd'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/** Index of the extreme value along one axis (the axis is removed); int32 result. */
export const ARG_REDUCE_OPS = ['argmax', 'argmin'] as const;
export type ArgReduceOp = (typeof ARG_REDUCE_OPS)[number];

type NoParams = Record<string, never>;

/**
 * Where a `gather` came from, for its out-of-range error: the user's op (`take`, `takeAlongAxis`),
 * the axis and the shape they named, before the op reshaped x and shifted negative indices by the
 * axis size. Without it the error can only name the internal gather.
 */
export interface IndexSite {
  readonly op: string;
  readonly axis: number;
  readonly shape: Shape;
  /** uint32 indices: not shifted (never negative), clamped to 2^31 - 1. */
  readonly unsigned: boolean;
}

/** Parameters of each primitive. */
export interface PrimitiveParams
  extends Record<UnaryOp, NoParams>,
    Record<BinaryOp, NoParams>,
    Record<ReduceOp, { readonly axes: readonly number[] }>,
    Record<ArgReduceOp, { readonly axis: number }> {
  /** `where(cond, x, y)`: x where cond is true, else y; all three broadcast. */
  where: NoParams;
  cast: { readonly dtype: DType };
  /** The identity whose derivative is zero. */
  stopGradient: NoParams;
  /** Batched matrix product `[..., m, k] @ [..., k, n]` with broadcast batch axes. */
  matmul: NoParams;
  reshape: { readonly shape: Shape };
  transpose: { readonly perm: readonly number[] };
  broadcastTo: { readonly shape: Shape };
  /** Strided slice with non-negative starts, stops within the axis and positive steps. */
  slice: { readonly starts: readonly number[]; readonly stops: readonly number[]; readonly steps: readonly number[] };
  /** Reverses the given axes. */
  flip: { readonly axes: readonly number[] };
  /** Zero padding: `lo` before, `hi` after, `interior` between elements, per axis (all >= 0). */
  pad: { readonly lo: readonly number[]; readonly hi: readonly number[]; readonly interior: readonly number[] };
  concat: { readonly axis: number };
  /**
   * `gather(x, idx)`: `out[..., j, ...] = x[..., idx[..., j, ...], ...]` along `axis` (NumPy's
   * `take_along_axis`); the other axes of x and idx broadcast.
   */
  gather: { readonly axis: number; readonly site?: IndexSite };
  /** The transpose of `gather`: adds `updates` into a zero tensor whose `axis` has `size` entries. */
  scatterAdd: { readonly axis: number; readonly size: number };
  /**
   * The first `k` positions of the stable sorting permutation of each row along the last axis
   * (int32, the input's shape with `k` last; `k` = the row length is the whole permutation):
   * `gather(x, argsort(x), -1)` is x sorted, and with `descending` and a smaller `k` its `k` largest
   * values (`topk`). Ascending puts NaN last, descending first (NaN counts as the largest value); -0
   * and +0 are equal; equal values keep their order either way.
   */
  argsort: { readonly descending: boolean; readonly k: number };
  /**
   * JAX's `threefry_2x32(key, counts)`: key u32[2], counts u32[...] -> u32 of the counts' shape. Keys
   * may carry leading batch axes, `u32[...K, 2]` with counts `u32[...K, ...]`: then each row of counts
   * is hashed with its own key, as its own call (how `vmap` batches over keys without a loop).
   */
  threefry: NoParams;
  /**
   * Uniform floats in [0, 1) from random bits, bit-exact with JAX: float32 from u32[...shape];
   * float64 from u32[2, ...shape] (high words first, as JAX's 64-bit `random_bits`).
   */
  uniformFromBits: { readonly dtype: 'float32' | 'float64' };
}

export type Primitive = keyof PrimitiveParams;
export type Params<P extends Primitive> = PrimitiveParams[P];

/** Abstract value: what tracing knows of a tensor. */
export interface Aval {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * `f32[2,3]`, the form the IR printer and error messages use.
 *
 * @example
 * formatAval({ shape: [2, 3], dtype: 'float32' }); // 'f32[2,3]'
 */
export function formatAval(aval: Aval): string {
  return `${SHORT_NAME[aval.dtype]}${formatShape(aval.shape)}`;
}

const unarySet = new Set<string>(UNARY_OPS);
const binarySet = new Set<string>(BINARY_OPS);
const reduceSet = new Set<string>(REDUCE_OPS);
const argReduceSet = new Set<string>(ARG_REDUCE_OPS);
/**
 * Whether a primitive is a unary elementwise op (one rule table per family of the op set).
 *
 * @example
 * isUnaryOp('exp'); // true
 */
export const isUnaryOp = (p: Primitive): p is UnaryOp => unarySet.has(p);
/**
 * Whether a primitive is a binary elementwise op, its operands broadcast.
 *
 * @example
 * isBinaryOp('add'); // true
 */
export const isBinaryOp = (p: Primitive): p is BinaryOp => binarySet.has(p);
/**
 * Whether a primitive is a reduction over axes (`params.axes`).
 *
 * @example
 * isReduceOp('reduceSum'); // true
 */
export const isReduceOp = (p: Primitive): p is ReduceOp => reduceSet.has(p);
/**
 * Whether a primitive is an index-of-extremum reduction over one axis (`params.axis`).
 *
 * @example
 * isArgReduceOp('argmax'); // true
 */
export const isArgReduceOp = (p: Primitive): p is ArgReduceOp => argReduceSet.has(p);
/**
 * Primitives computed independently per output element from broadcast inputs (fusable).
 *
 * @example
 * isElementwise('where'); // true
 * isElementwise('matmul'); // false
 */
export const isElementwise = (p: Primitive): boolean =>
  isUnaryOp(p) || isBinaryOp(p) || p === 'where' || p === 'cast' || p === 'stopGradient';

// ---------------------------------------------------------------------------------------------
// Shape and dtype rules
// ---------------------------------------------------------------------------------------------

type DTypeClass = 'float' | 'numeric' | 'bool' | 'any';

function dtypeFits(dtype: DType, cls: DTypeClass): boolean {
  switch (cls) {
    case 'float':
      return isFloat(dtype);
    case 'numeric':
      return dtype !== 'bool';
    case 'bool':
      return dtype === 'bool';
    case 'any':
      return true;
  }
}

const CLASS_WORDS: Record<DTypeClass, string> = {
  float: 'a float tensor',
  numeric: 'a numeric (non-bool) tensor',
  bool: 'a bool tensor',
  any: 'a tensor',
};

function requireDtype(op: string, aval: Aval, cls: DTypeClass, which = 'input'): void {
  if (!dtypeFits(aval.dtype, cls)) {
    throw new DTypeError(`${op}: ${which} must be ${CLASS_WORDS[cls]}, got ${formatAval(aval)}`);
  }
}

/** Input dtype class and whether the output is bool, per elementwise op. */
const UNARY_SIGNATURE: Record<UnaryOp, { input: DTypeClass; output: 'same' | 'bool' }> = {
  neg: { input: 'numeric', output: 'same' },
  abs: { input: 'numeric', output: 'same' },
  sign: { input: 'numeric', output: 'same' },
  exp: { input: 'float', output: 'same' },
  log: { input: 'float', output: 'same' },
  log1p: { input: 'float', output: 'same' },
  expm1: { input: 'float', output: 'same' },
  sqrt: { input: 'float', output: 'same' },
  rsqrt: { input: 'float', output: 'same' },
  reciprocal: { input: 'float', output: 'same' },
  sin: { input: 'float', output: 'same' },
  cos: { input: 'float', output: 'same' },
  tan: { input: 'float', output: 'same' },
  atan: { input: 'float', output: 'same' },
  tanh: { input: 'float', output: 'same' },
  atanh: { input: 'float', output: 'same' },
  sigmoid: { input: 'float', output: 'same' },
  softplus: { input: 'float', output: 'same' },
  erf: { input: 'float', output: 'same' },
  erfinv: { input: 'float', output: 'same' },
  floor: { input: 'float', output: 'same' },
  ceil: { input: 'float', output: 'same' },
  round: { input: 'float', output: 'same' },
  logicalNot: { input: 'bool', output: 'same' },
  isFinite: { input: 'float', output: 'bool' },
};

const BINARY_SIGNATURE: Record<BinaryOp, { input: DTypeClass; output: 'same' | 'bool' }> = {
  add: { input: 'numeric', output: 'same' },
  sub: { input: 'numeric', output: 'same' },
  mul: { input: 'numeric', output: 'same' },
  div: { input: 'numeric', output: 'same' },
  pow: { input: 'float', output: 'same' },
  maximum: { input: 'numeric', output: 'same' },
  minimum: { input: 'numeric', output: 'same' },
  atan2: { input: 'float', output: 'same' },
  eq: { input: 'any', output: 'bool' },
  ne: { input: 'any', output: 'bool' },
  lt: { input: 'any', output: 'bool' },
  le: { input: 'any', output: 'bool' },
  gt: { input: 'any', output: 'bool' },
  ge: { input: 'any', output: 'bool' },
  logicalAnd: { input: 'bool', output: 'bool' },
  logicalOr: { input: 'bool', output: 'bool' },
};

export const ARITY: Record<Primitive, number | 'variadic'> = {
  ...(Object.fromEntries(UNARY_OPS.map((p) => [p, 1])) as Record<UnaryOp, 1>),
  ...(Object.fromEntries(BINARY_OPS.map((p) => [p, 2])) as Record<BinaryOp, 2>),
  ...(Object.fromEntries(REDUCE_OPS.map((p) => [p, 1])) as Record<ReduceOp, 1>),
  argmax: 1,
  argmin: 1,
  where: 3,
  cast: 1,
  stopGradient: 1,
  matmul: 2,
  reshape: 1,
  transpose: 1,
  broadcastTo: 1,
  slice: 1,
  flip: 1,
  pad: 1,
  concat: 'variadic',
  gather: 2,
  scatterAdd: 2,
  argsort: 1,
  threefry: 2,
  uniformFromBits: 1,
};

type ShapeRule<P extends Primitive> = (inputs: readonly Aval[], params: Params<P>) => Aval;

function unaryRule(op: UnaryOp): ShapeRule<UnaryOp> {
  return ([x]) => {
    const sig = UNARY_SIGNATURE[op];
    requireDtype(op, x, sig.input);
    return { shape: x.shape, dtype: sig.output === 'bool' ? 'bool' : x.dtype };
  };
}

function binaryRule(op: BinaryOp): ShapeRule<BinaryOp> {
  return ([x, y]) => {
    const sig = BINARY_SIGNATURE[op];
    if (x.dtype !== y.dtype) {
      throw new DTypeError(`${op}: operands must have one dtype, got ${formatAval(x)} and ${formatAval(y)}`);
    }
    requireDtype(op, x, sig.input, 'operands');
    return { shape: broadcastShapes(op, x.shape, y.shape), dtype: sig.output === 'bool' ? 'bool' : x.dtype };
  };
}

function checkAxesParam(op: string, axes: readonly number[], ndim: number): void {
  let previous = -1;
  for (const a of axes) {
    if (!Number.isInteger(a) || a < 0 || a >= ndim || a <= previous) {
      throw new ArgumentError(`${op}: axes [${axes.join(',')}] must be sorted, distinct and within rank ${ndim}`);
    }
    previous = a;
  }
}

function reduceRule(op: ReduceOp): ShapeRule<ReduceOp> {
  return ([x], { axes }) => {
    checkAxesParam(op, axes, x.shape.length);
    requireDtype(op, x, op === 'reduceSum' || op === 'reduceProd' ? 'numeric' : 'any');
    return { shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype };
  };
}

function argReduceRule(op: ArgReduceOp): ShapeRule<ArgReduceOp> {
  return ([x], { axis }) => {
    normalizeAxis(op, axis, x.shape.length);
    if (x.shape[axis] === 0) throw new ShapeError(`${op}: cannot reduce an empty axis ${axis} of ${formatAval(x)}`);
    return { shape: x.shape.filter((_, i) => i !== axis), dtype: 'int32' };
  };
}

/** The output aval of every primitive, validating its inputs; errors name the op and the shapes. */
export const shapeRules: { [P in Primitive]: ShapeRule<P> } = {
  ...(Object.fromEntries(UNARY_OPS.map((p) => [p, unaryRule(p)])) as { [P in UnaryOp]: ShapeRule<P> }),
  ...(Object.fromEntries(BINARY_OPS.map((p) => [p, binaryRule(p)])) as { [P in BinaryOp]: ShapeRule<P> }),
  ...(Object.fromEntries(REDUCE_OPS.map((p) => [p, reduceRule(p)])) as { [P in ReduceOp]: ShapeRule<P> }),
  argmax: argReduceRule('argmax'),
  argmin: argReduceRule('argmin'),

  where([cond, x, y]) {
    requireDtype('where', cond, 'bool', 'condition');
    if (x.dtype !== y.dtype) {
      throw new DTypeError(`where: branches must have one dtype, got ${formatAval(x)} and ${formatAval(y)}`);
    }
    return { shape: broadcastShapes('where', cond.shape, x.shape, y.shape), dtype: x.dtype };
  },

  cast: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  stopGradient: ([x]) => x,

  matmul([a, b]) {
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new ShapeError(`matmul: both operands need rank >= 2, got ${formatAval(a)} and ${formatAval(b)}`);
    }
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`matmul: operands must have one dtype, got ${formatAval(a)} and ${formatAval(b)}`);
    }
    requireDtype('matmul', a, 'numeric', 'operands');
    const [m, k] = a.shape.slice(-2);
    const [k2, n] = b.shape.slice(-2);
    if (k !== k2) {
      throw new ShapeError(
        `matmul: contracting sizes differ: ${formatAval(a)} @ ${formatAval(b)} (axis -1 of the left has ${k}, axis -2 of the right has ${k2})`,
      );
    }
    const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return { shape: [...batch, m, n], dtype: a.dtype };
  },

  reshape([x], { shape }) {
    checkShape('reshape', shape);
    if (sizeOf(shape) !== sizeOf(x.shape)) {
      throw new ShapeError(`reshape: cannot reshape ${formatAval(x)} (${sizeOf(x.shape)} elements) to ${formatShape(shape)}`);
    }
    return { shape, dtype: x.dtype };
  },

  transpose([x], { perm }) {
    const n = x.shape.length;
    if (perm.length !== n || new Set(perm).size !== n || perm.some((p) => !Number.isInteger(p) || p < 0 || p >= n)) {
      throw new ArgumentError(`transpose: [${perm.join(',')}] is not a permutation of the axes of ${formatAval(x)}`);
    }
    return { shape: perm.map((p) => x.shape[p]), dtype: x.dtype };
  },

  broadcastTo([x], { shape }) {
    checkShape('broadcastTo', shape);
    const out = broadcastShapes('broadcastTo', x.shape, shape);
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`broadcastTo: cannot broadcast ${formatAval(x)} to ${formatShape(shape)}`);
    }
    return { shape, dtype: x.dtype };
  },

  slice([x], { starts, stops, steps }) {
    const n = x.shape.length;
    if (starts.length !== n || stops.length !== n || steps.length !== n) {
      throw new ArgumentError(`slice: need ${n} starts, stops and steps for ${formatAval(x)}`);
    }
    const shape = x.shape.map((size, i) => {
      const [start, stop, step] = [starts[i], stops[i], steps[i]];
      if (![start, stop, step].every(Number.isInteger) || step < 1 || start < 0 || stop > size || start > stop) {
        throw new ArgumentError(
          `slice: axis ${i} of ${formatAval(x)} cannot take start ${start}, stop ${stop}, step ${step}`,
        );
      }
      return Math.ceil((stop - start) / step);
    });
    return { shape, dtype: x.dtype };
  },

  flip([x], { axes }) {
    checkAxesParam('flip', axes, x.shape.length);
    return x;
  },

  pad([x], { lo, hi, interior }) {
    const n = x.shape.length;
    if (lo.length !== n || hi.length !== n || interior.length !== n) {
      throw new ArgumentError(`pad: need ${n} lo, hi and interior sizes for ${formatAval(x)}`);
    }
    const shape = x.shape.map((d, i) => {
      if (![lo[i], hi[i], interior[i]].every((v) => Number.isInteger(v) && v >= 0)) {
        throw new ArgumentError(`pad: axis ${i} has invalid padding lo ${lo[i]}, hi ${hi[i]}, interior ${interior[i]}`);
      }
      return lo[i] + hi[i] + d + Math.max(0, d - 1) * interior[i];
    });
    return { shape, dtype: x.dtype };
  },

  concat(inputs, { axis }) {
    if (inputs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
    const first = inputs[0];
    normalizeAxis('concat', axis, first.shape.length);
    let total = 0;
    for (const t of inputs) {
      if (t.dtype !== first.dtype) {
        throw new DTypeError(`concat: tensors must have one dtype, got ${inputs.map(formatAval).join(', ')}`);
      }
      if (t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new ShapeError(
          `concat: shapes ${inputs.map((s) => formatShape(s.shape)).join(', ')} differ off the concatenation axis ${axis}`,
        );
      }
      total += t.shape[axis];
    }
    return { shape: first.shape.map((d, i) => (i === axis ? total : d)), dtype: first.dtype };
  },

  gather([x, idx], { axis }) {
    return { shape: indexedShape('gather', x, idx, axis, idx.shape[axis]), dtype: x.dtype };
  },

  scatterAdd([updates, idx], { axis, size }) {
    if (!Number.isInteger(size) || size < 0) throw new ArgumentError(`scatterAdd: invalid size ${size}`);
    requireDtype('scatterAdd', updates, 'numeric', 'updates');
    const shape = indexedShape('scatterAdd', updates, idx, axis, size);
    if (updates.shape[axis] !== idx.shape[axis]) {
      throw new ShapeError(
        `scatterAdd: updates ${formatAval(updates)} and indices ${formatAval(idx)} differ along axis ${axis}`,
      );
    }
    return { shape, dtype: updates.dtype };
  },

  argsort([x], { descending, k }) {
    if (typeof descending !== 'boolean') throw new ArgumentError(`argsort: descending must be a boolean, got ${String(descending)}`);
    if (x.shape.length === 0) throw new ShapeError(`argsort: needs rank >= 1 (it sorts along the last axis), got ${formatAval(x)}`);
    if (x.dtype === 'bool') throw new DTypeError(`argsort: cannot sort a bool tensor, got ${formatAval(x)}; cast it to int32 first`);
    const n = x.shape[x.shape.length - 1];
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new ArgumentError(`argsort: k must be an integer in [0, ${n}] (the last axis of ${formatAval(x)}), got ${String(k)}`);
    }
    return { shape: [...x.shape.slice(0, -1), k], dtype: 'int32' };
  },

  threefry([key, counts]) {
    const k = key.shape.length - 1;
    if (key.dtype !== 'uint32' || k < 0 || key.shape[k] !== 2) {
      throw new DTypeError(`threefry: key must be u32[2] (or u32[...batch, 2]), got ${formatAval(key)}`);
    }
    if (counts.dtype !== 'uint32') throw new DTypeError(`threefry: counts must be uint32, got ${formatAval(counts)}`);
    if (counts.shape.length < k || key.shape.slice(0, k).some((d, i) => d !== counts.shape[i])) {
      throw new ShapeError(
        `threefry: the batch axes of key ${formatAval(key)} must lead the counts' shape, got counts ${formatAval(counts)}`,
      );
    }
    return counts;
  },

  uniformFromBits([bits], { dtype }) {
    if (bits.dtype !== 'uint32') throw new DTypeError(`uniformFromBits: bits must be uint32, got ${formatAval(bits)}`);
    if (dtype === 'float32') return { shape: bits.shape, dtype };
    if (bits.shape[0] !== 2) {
      throw new ShapeError(`uniformFromBits: float64 needs bits of shape [2, ...], got ${formatAval(bits)}`);
    }
    return { shape: bits.shape.slice(1), dtype };
  },
};

/** Output shape of gather/scatterAdd: the other axes broadcast, `axis` gets `axisSize`. */
function indexedShape(op: string, x: Aval, idx: Aval, axis: number, axisSize: number): number[] {
  if (idx.dtype !== 'int32') throw new DTypeError(`${op}: indices must be int32, got ${formatAval(idx)}`);
  if (x.shape.length !== idx.shape.length) {
    throw new ShapeError(`${op}: operand ${formatAval(x)} and indices ${formatAval(idx)} must have one rank`);
  }
  normalizeAxis(op, axis, x.shape.length);
  const others = (s: Shape) => s.map((d, i) => (i === axis ? 1 : d));
  const out = broadcastShapes(op, others(x.shape), others(idx.shape));
  out[axis] = axisSize;
  return out;
}

/**
 * Runs the shape rule of `prim` after checking the number of inputs.
 *
 * @example
 * abstractEval('matmul', [{ shape: [2, 3], dtype: 'float32' }, { shape: [3, 4], dtype: 'float32' }], {});
 * // { shape: [2, 4], dtype: 'float32' }
 */
export function abstractEval<P extends Primitive>(prim: P, inputs: readonly Aval[], params: Params<P>): Aval {
  const arity = ARITY[prim];
  if (arity !== 'variadic' && inputs.length !== arity) {
    throw new ArgumentError(`${prim}: expected ${arity} inputs, got ${inputs.length}`);
  }
  return shapeRules[prim](inputs, params);
}
