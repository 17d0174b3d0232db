/**
 * The public tensor ops against NumPy as a live peer (/usr/bin/python3, numpy-peer.py): about 900
 * op calls drawn by fast-check at a fixed seed (shapes of rank 0-4 with size-0 and size-1 axes,
 * broadcasting pairs, negative axes, keepdims, every dtype an op accepts, mixed dtypes, plain JS
 * numbers next to tensors, and edge values: ±0, ±Infinity, NaN, huge and tiny magnitudes, the int32
 * and uint32 boundaries), all sent to Python in one call. Each call runs on the CPU and on WebGPU
 * (float32, int32, uint32 and bool; the backend has no float64). Values, shapes and dtypes are
 * compared; a refusal must be a MixrlError, and matches a NumPy refusal or a documented rule.
 *
 * Where mixrl differs from NumPy on purpose, the rule is encoded rather than the case skipped: NumPy
 * computes on the arguments cast as mixrl's documented promotion says (`Rule.compute`), and NumPy's
 * own result dtype must differ from mixrl's only as a documented rule explains (`dtypeGapExplained`).
 * Integer and bool results, data movement, sorting, indexing, casts and the exact IEEE operations
 * must match bit for bit; other float results within the ulp or rounding bounds given per op.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as M from '../../src/tensor';
import type { Backend, DType, Tensor } from '../../src/tensor';
import { pythonWith, runPython } from '../python-peer';
import { gpu } from '../webgpu/gpu';

const SEED = 20260301;
const HAVE_NUMPY = pythonWith('numpy');
const PEER_SCRIPT = readFileSync(new URL('./numpy-peer.py', import.meta.url), 'utf8');

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/** A tensor argument: the values its typed array holds. */
interface Arr {
  dtype: DType;
  shape: number[];
  values: number[];
}
/** A tensor, or a plain JS number or boolean (weakly typed next to a tensor). */
type Arg = Arr | number | boolean;
type Params = Record<string, unknown>;
interface Draw {
  args: Arg[];
  params: Params;
}
/**
 * What mixrl's documented rules make of a call: the dtype the arguments are cast to before NumPy
 * computes (null: as they are), whether float32 references are computed in float64, and the result
 * dtypes; or the reason mixrl refuses it.
 */
type Rule = { compute: DType | null; ref64: boolean; out: DType[] } | { refuse: string };

const isArr = (a: Arg): a is Arr => typeof a === 'object';
const isFloat = (d: DType) => d === 'float32' || d === 'float64';
const isInt = (d: DType) => d === 'int32' || d === 'uint32';
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
const ALL: DType[] = ['float32', 'float64', 'int32', 'uint32', 'bool'];
const NUMERIC: DType[] = ['float32', 'float64', 'int32', 'uint32'];
/** Float dtypes weighted up where an op is about float math. */
const FLOATISH: DType[] = ['float32', 'float32', 'float64', 'float64', 'int32', 'uint32', 'bool'];

// --- The documented dtype rules --------------------------------------------------------------

const RANK: Record<DType, number> = { bool: 0, int32: 1, uint32: 1, float32: 2, float64: 3 };

/**
 * Two tensors: JAX's lattice bool < int < float32 < float64 (docs/ARCHITECTURE.md, "Primitives are
 * strict (equal dtypes); the ops layer promotes"); NumPy widens int32 with float32 to float64.
 * int32 with uint32 has no common 32-bit type and is refused (`promoteTypes`; NumPy: int64).
 */
function promote(a: DType, b: DType): DType | undefined {
  if (a === b) return a;
  if (isInt(a) && isInt(b)) return undefined;
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * A plain JS number next to a tensor (JAX's weak typing, `weakDtypeFor`): a boolean takes the
 * tensor's dtype; an integer a float tensor's, an integer tensor's (refused where it does not fit,
 * as JAX refuses; NumPy 1.x widens to int64) and int32 next to bool; anything else (fractions, NaN,
 * ±Infinity) a float tensor's dtype or float32 (NumPy 1.x: float64 next to integers).
 */
function weak(t: DType, v: number | boolean): DType | undefined {
  if (typeof v === 'boolean') return t;
  if (!Number.isInteger(v)) return isFloat(t) ? t : 'float32';
  if (isFloat(t)) return t;
  const d = t === 'bool' ? 'int32' : t;
  const fits = d === 'int32' ? v >= -(2 ** 31) && v < 2 ** 31 : v >= 0 && v < 2 ** 32;
  return fits ? d : undefined;
}

/** A lone number becomes float32 (a boolean bool), as `tensor(k)`. */
const alone = (a: Arg): DType => (isArr(a) ? a.dtype : typeof a === 'boolean' ? 'bool' : 'float32');

/** `binaryOperands`: two tensors promote, a number takes the tensor's dtype; of two numbers the first becomes a tensor. */
function pair(a: Arg, b: Arg): DType | undefined {
  if (isArr(a) && isArr(b)) return promote(a.dtype, b.dtype);
  if (isArr(a)) return weak(a.dtype, b as number | boolean);
  if (isArr(b)) return weak(b.dtype, a as number | boolean);
  return weak(alone(a), b);
}

/** Float-only functions cast integer and bool inputs to float32 first, as JAX does (NumPy: float64, float16 for bool). */
const floatOf = (d: DType): DType => (isFloat(d) ? d : 'float32');

const computeIn = (compute: DType | null, out: DType | DType[], ref64 = false): Rule => ({
  compute,
  ref64,
  out: Array.isArray(out) ? out : [out],
});
const refuse = (why: string): Rule => ({ refuse: why });
const MIXED_INTS = 'int32 with uint32 has no common 32-bit dtype (promoteTypes); NumPy widens to int64';
const WEAK_RANGE = 'an integer number that does not fit the integer tensor is refused, as in JAX; NumPy 1.x widens';
const BOOL_ARITH = 'arithmetic primitives take numeric (non-bool) tensors (primitives.ts signatures); NumPy computes on bools';

/** The rule of a binary op: promoted operands, numeric ones only (`numeric`), made float32 where integer (`float`), or any. */
function binaryRule(d: Draw, kind: 'numeric' | 'float' | 'any', ref64: boolean, out?: DType): Rule {
  const [a, b] = d.args;
  const t = pair(a, b);
  if (t === undefined) {
    return refuse(isArr(a) && isArr(b) ? MIXED_INTS : WEAK_RANGE);
  }
  if (kind === 'numeric' && t === 'bool') return refuse(BOOL_ARITH);
  const c = kind === 'float' ? floatOf(t) : t;
  return computeIn(c, out ?? c, ref64 && isFloat(c));
}

// --- Tolerances --------------------------------------------------------------------------------

/**
 * Allowed error: `f32`/`f64` ulps of the result on the CPU, `gpu` ulps on WebGPU (float32), plus
 * `scaled` · eps · the peer's rounding scale (sums: terms · Σ|x|; composites: their cancellation).
 * `root`: the scale bounds a variance's rounding δ and the result is its square root, which moves
 * by at most min(√δ, δ / result). All zero: bit for bit.
 */
interface Tol {
  f32: number;
  f64: number;
  gpu: number;
  scaled?: number;
  gpuScaled?: number;
  root?: boolean;
}
const EXACT: Tol = { f32: 0, f64: 0, gpu: 0 };
const ulps = (f32: number, f64: number, gpu: number): Tol => ({ f32, f64, gpu });
const sums = (scaled: number, gpuScaled = scaled): Tol => ({ f32: 0, f64: 0, gpu: 0, scaled, gpuScaled });
/** Sums: the sign of a zero sum depends on the order and the start (NumPy's sum over no axes starts from +0). */
const SUM_ZEROS = { zeroSign: false } as const;

// --- Value and shape generators ----------------------------------------------------------------

const F32_MAX = 3.4028234663852886e38;
const F_EDGES = [0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 1e30, -1e30, 1e-30, -1e-30, 100, -100, 88.5, -104];
const F32_ONLY = [F32_MAX, -F32_MAX, 1.1754943508222875e-38, 1e-40, 16777217];
const F64_ONLY = [1e300, -1e300, 5e-324, Number.MAX_VALUE, 2.2250738585072014e-308, 2 ** 53 + 2];
const I32_EDGES = [0, 1, -1, 2, 2147483647, -2147483648, 2147483646, -2147483647, 46341, 65536, 16777217];
const U32_EDGES = [0, 1, 2, 4294967295, 4294967294, 2147483648, 2147483647, 65536, 16777217];

/**
 * Which values: `any` every edge; `noMax` no ±float max (sums would overflow midway where the true
 * result does not); `moderate` finite values below 1e4 with ±0, NaN and ±Infinity (composites whose
 * float32 intermediates overflow where float64 does not, as documented for norm); `unit` mostly in
 * [-1, 1] (atanh, erfinv); `ties` few distinct values (sorting).
 */
type Kind = 'any' | 'noMax' | 'moderate' | 'unit' | 'ties';

function floatArb(dtype: 'float32' | 'float64', kind: Kind): fc.Arbitrary<number> {
  const round = dtype === 'float32' ? Math.fround : (x: number) => x;
  // Spread over [-8, 8] at every scale down to 2^-6 (fast-check's doubles lean to extremes and 0).
  const spread = fc.tuple(fc.integer({ min: -(2 ** 23), max: 2 ** 23 }), fc.integer({ min: -6, max: 3 })).map(([m, e]) => m * 2 ** (e - 23));
  const plain =
    kind === 'unit'
      ? fc.double({ min: -1, max: 1, noNaN: true })
      : kind === 'ties'
        ? fc.constantFrom(-2, -1, 0, 1, 2, 0.5)
        : fc.oneof({ weight: 4, arbitrary: spread }, { weight: 1, arbitrary: fc.double({ min: -8, max: 8, noNaN: true }) });
  const edges =
    kind === 'moderate'
      ? [0, -0, NaN, Infinity, -Infinity, 1, -1, 0.5, 1000, -3000, 1e-20]
      : kind === 'unit'
        ? [0, -0, NaN, 1, -1, Infinity, 1.5, -0.9999999, 1e-30, 0.99]
        : kind === 'ties'
          ? [0, -0, NaN, Infinity, -Infinity]
          : [...F_EDGES, ...(kind === 'any' ? (dtype === 'float32' ? F32_ONLY : F64_ONLY) : [])];
  return fc.oneof({ weight: 3, arbitrary: plain }, { weight: 1, arbitrary: fc.constantFrom(...edges) }).map(round);
}

function valueArb(dtype: DType, kind: Kind): fc.Arbitrary<number> {
  switch (dtype) {
    case 'float32':
    case 'float64':
      return floatArb(dtype, kind);
    case 'int32':
      return kind === 'any' || kind === 'noMax'
        ? fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -9, max: 9 }) }, { weight: 1, arbitrary: fc.constantFrom(...I32_EDGES) })
        : fc.integer({ min: kind === 'ties' ? -2 : -9, max: kind === 'ties' ? 2 : 9 });
    case 'uint32':
      return kind === 'any' || kind === 'noMax'
        ? fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...U32_EDGES) })
        : fc.integer({ min: 0, max: kind === 'ties' ? 3 : 12 });
    case 'bool':
      return fc.boolean().map(Number);
  }
}

const arrOf = (dtype: DType, shape: number[], kind: Kind = 'any'): fc.Arbitrary<Arr> =>
  fc.array(valueArb(dtype, kind), { minLength: size(shape), maxLength: size(shape) }).map((values) => ({ dtype, shape, values }));

const dimArb = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 8, arbitrary: fc.integer({ min: 2, max: 4 }) });
const shapeArb = (minRank = 0, maxRank = 4) => fc.array(dimArb, { minLength: minRank, maxLength: maxRank });

const arrArb = (dtypes: readonly DType[], shape: fc.Arbitrary<number[]> = shapeArb(), kind: Kind = 'any'): fc.Arbitrary<Arr> =>
  fc.tuple(fc.constantFrom(...dtypes), shape).chain(([dtype, s]) => arrOf(dtype, s, kind));

/** Numbers next to tensors: small integers, fractions, the integer boundaries, NaN, ±Infinity, -0, booleans. */
const numberArb: fc.Arbitrary<number | boolean> = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0.5, -1.5, 2.25, 0.1, 1e-3, NaN, Infinity, -Infinity, -0, 2147483647, -2147483648, 2147483648, 4294967295, 1e10),
  fc.boolean(),
);

/** `n` shapes that broadcast together (a full shape, each dropping leading axes and setting some to 1), rarely shapes that do not. */
const broadcastShapesArb = (n: number): fc.Arbitrary<number[][]> =>
  fc.oneof(
    {
      weight: 19,
      arbitrary: fc
        .tuple(shapeArb(), fc.array(fc.tuple(fc.nat(4), fc.array(fc.nat(3), { minLength: 4, maxLength: 4 })), { minLength: n, maxLength: n }))
        .map(([full, parts]) => parts.map(([drop, ones]) => full.slice(drop <= 1 ? 0 : drop - 1).map((d, i) => (ones[i] === 0 ? 1 : d)))),
    },
    { weight: 1, arbitrary: fc.array(shapeArb(1, 2), { minLength: n, maxLength: n }) },
  );

/** An axis of rank r (negative half the time), rarely out of range. */
const axisArb = (r: number): fc.Arbitrary<number> =>
  r === 0 ? fc.constantFrom(0, -1) : fc.oneof({ weight: 12, arbitrary: fc.integer({ min: -r, max: r - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(r, -r - 1) });

/** Axes to reduce: all (undefined), one, or a list (negative entries too, in any order), rarely out of range. */
const axesArb = (r: number): fc.Arbitrary<number | number[] | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    axisArb(r),
    fc
      .tuple(fc.subarray([...Array(r).keys()]), fc.array(fc.boolean(), { minLength: r, maxLength: r }))
      .map(([axes, negative]) => axes.map((a, i) => (negative[i] ? a - r : a)).reverse()),
  );

// --- Draws of each family ------------------------------------------------------------------------

const draw = (args: Arg[], params: Params = {}): Draw => ({ args, params });

const unaryDraw = (dtypes: readonly DType[], kind: Kind = 'any'): fc.Arbitrary<Draw> =>
  fc.oneof({ weight: 19, arbitrary: arrArb(dtypes, shapeArb(), kind).map((x) => draw([x])) }, { weight: 1, arbitrary: numberArb.map((v) => draw([v])) });

/** Two operands that broadcast, each of any of `dtypes`, or a number on either side (or both). */
const binaryDraw = (dtypes: readonly DType[], kind: Kind = 'any'): fc.Arbitrary<Draw> =>
  fc
    .tuple(broadcastShapesArb(2), fc.constantFrom(...dtypes), fc.constantFrom(...dtypes), fc.boolean(), fc.nat(11))
    .chain(([[sa, sb], da, db, same, mode]) => {
      const a = arrOf(da, sa, kind);
      // One dtype half the time (each dtype's own arithmetic), mixed the other half (promotion).
      const b = arrOf(same ? da : db, sb, kind);
      const parts: fc.Arbitrary<Arg>[] = mode === 0 ? [numberArb, b] : mode === 1 ? [a, numberArb] : mode === 2 ? [numberArb, numberArb] : [a, b];
      return fc.tuple(...parts).map((args) => draw(args));
    });

const reductionDraw = (dtypes: readonly DType[], kind: Kind, extra: fc.Arbitrary<Params> = fc.constant({})): fc.Arbitrary<Draw> =>
  arrArb(dtypes, shapeArb(), kind).chain((x) =>
    fc.tuple(axesArb(x.shape.length), fc.boolean(), extra).map(([axes, keepdims, more]) => draw([x], { axes, keepdims, ...more })),
  );

const axisDraw = (dtypes: readonly DType[], kind: Kind, minRank = 0, extra: fc.Arbitrary<Params> = fc.constant({})): fc.Arbitrary<Draw> =>
  arrArb(dtypes, shapeArb(minRank), kind).chain((x) => fc.tuple(axisArb(x.shape.length), extra).map(([axis, more]) => draw([x], { axis, ...more })));

// ---------------------------------------------------------------------------------------------
// Op table
// ---------------------------------------------------------------------------------------------

type Input = Tensor | number | boolean;
interface Spec {
  /** Cases drawn. */
  count: number;
  gen: fc.Arbitrary<Draw>;
  call: (args: Input[], p: Params, backend: Backend) => Tensor | Tensor[];
  rule: (d: Draw) => Rule;
  tol?: Tol;
  /** Whether -0 and +0 must match (not for max/min-like ops, where IEEE leaves the choice open). */
  zeroSign?: boolean;
  /** Elementwise ops: NumPy's own dtype is taken with 0-d arrays as 1-d (NumPy 1.x casts 0-d arrays by value). */
  oneD?: boolean;
  /** Documented reasons this op's result dtype differs from NumPy's, beyond the general ones. */
  gap?: (numpy: string, mixrl: DType, d: Draw) => boolean;
  /** mixrl's documented answer where NumPy refuses: every element equals this value. */
  numpyRefuses?: (d: Draw) => number | undefined;
}

const ten = (x: Input) => x as Tensor;

/** A float-only unary op (integer and bool inputs become float32). */
function floatUnary(f: (x: Tensor) => Tensor, tol: Tol, kind: Kind = 'any', count = 8): Spec {
  return {
    count,
    gen: unaryDraw(FLOATISH, kind),
    call: ([x]) => f(ten(x)),
    rule: (d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true),
    tol,
    oneD: true,
  };
}

/** A unary op on numeric (non-bool) tensors that keeps the dtype. */
function numericUnary(f: (x: Tensor) => Tensor, zeroSign = true): Spec {
  return {
    count: 6,
    gen: unaryDraw(ALL),
    call: ([x]) => f(ten(x)),
    rule: (d) => (alone(d.args[0]) === 'bool' ? refuse(BOOL_ARITH) : computeIn(alone(d.args[0]), alone(d.args[0]))),
    zeroSign,
    oneD: true,
  };
}

/** floor, ceil, round: integer and bool tensors are returned as they are (`roundingOp`; NumPy's floor and ceil give floats). */
function rounding(f: (x: Tensor) => Tensor): Spec {
  return {
    count: 6,
    gen: unaryDraw(FLOATISH),
    call: ([x]) => f(ten(x)),
    rule: (d) => computeIn(alone(d.args[0]), alone(d.args[0])),
    gap: (np, mx) => !isFloat(mx) && np.startsWith('float'),
    oneD: true,
  };
}

/** A binary op with NumPy broadcasting and mixrl's promotion. */
function binary(f: (a: Input, b: Input) => Tensor, kind: 'numeric' | 'float' | 'any', tol: Tol, out?: DType, extra: Partial<Spec> = {}): Spec {
  return {
    count: kind === 'numeric' ? 16 : 12,
    gen: binaryDraw(ALL),
    call: ([a, b]) => f(a, b),
    rule: (d) => binaryRule(d, kind, tol !== EXACT, out),
    tol,
    oneD: true,
    ...extra,
  };
}

/**
 * Transcendental bounds against NumPy's float64 values. CPU float32: computed in float64 (~1 ulp,
 * `float32-math.ts`) and rounded once, so 1 ulp; float64: exp, expm1, log, log1p, tanh, sigmoid and
 * softplus are within 1.8 ulp (`float64-math.ts`, against mpmath), the rest V8's `Math.*`, and
 * glibc's libm is within 1 ulp. WebGPU: the worst ulps docs/webgpu.md measured on lavapipe, rounded up.
 */
const TRANSCENDENTAL = (gpu: number, f64 = 2): Tol => ulps(1, f64, gpu);

const SPECS: Record<string, Spec> = {
  // --- elementwise, one operand ---
  neg: numericUnary(M.neg),
  abs: numericUnary(M.abs),
  // NumPy's sign(-0) is +0; JS's Math.sign and WGSL's sign keep -0 (IEEE leaves it open).
  sign: numericUnary(M.sign, false),
  exp: floatUnary(M.exp, TRANSCENDENTAL(6)),
  log: floatUnary(M.log, TRANSCENDENTAL(2)),
  log1p: floatUnary(M.log1p, TRANSCENDENTAL(2)),
  expm1: floatUnary(M.expm1, TRANSCENDENTAL(6)),
  // sqrt and 1/x are correctly rounded on the CPU (WGSL allows an ulp); rsqrt rounds twice there.
  sqrt: floatUnary(M.sqrt, ulps(0, 0, 1)),
  rsqrt: floatUnary(M.rsqrt, ulps(1, 1, 1)),
  // NumPy's reciprocal of an integer is an integer; mixrl's is float-only (float32).
  reciprocal: { ...floatUnary(M.reciprocal, ulps(0, 0, 1)), gap: (np, mx) => mx === 'float32' && !np.startsWith('float') },
  // WGSL bounds sin, cos and tan only on [-π, π]; lavapipe keeps ~1 ulp up to |x| ≈ 5e7 and then
  // returns ±1. On WebGPU the error may also reach eps · |x|, what rounding x to float32 already costs.
  sin: floatUnary(M.sin, { ...TRANSCENDENTAL(1), scaled: 0, gpuScaled: 1 }),
  cos: floatUnary(M.cos, { ...TRANSCENDENTAL(1), scaled: 0, gpuScaled: 1 }),
  tan: floatUnary(M.tan, { ...TRANSCENDENTAL(2), scaled: 0, gpuScaled: 1 }),
  atan: floatUnary(M.atan, TRANSCENDENTAL(2)),
  tanh: floatUnary(M.tanh, TRANSCENDENTAL(6)),
  atanh: floatUnary(M.atanh, TRANSCENDENTAL(6), 'unit'),
  sigmoid: floatUnary(M.sigmoid, TRANSCENDENTAL(9)),
  softplus: floatUnary(M.softplus, TRANSCENDENTAL(9)),
  logSigmoid: floatUnary(M.logSigmoid, TRANSCENDENTAL(9)),
  // mixrl's float64 erf: "accurate to a few ulp" (cpu/special.ts); erfinv within 2.2 ulp (cpu/float64-math.ts); float32 erfinv is Giles' polynomial.
  erf: floatUnary(M.erf, TRANSCENDENTAL(6, 4)),
  erfinv: floatUnary(M.erfinv, ulps(2, 4, 2), 'unit'),
  floor: rounding(M.floor),
  ceil: rounding(M.ceil),
  round: rounding(M.round),
  square: {
    count: 6,
    gen: unaryDraw(ALL),
    call: ([x]) => M.square(ten(x)),
    rule: (d) => (alone(d.args[0]) === 'bool' ? refuse(BOOL_ARITH) : computeIn(alone(d.args[0]), alone(d.args[0]))),
    oneD: true,
  },
  // maximum(x, 0): the 0 takes the tensor's dtype, int32 next to bool (weak typing).
  relu: {
    ...numericUnary(M.relu, false),
    rule: (d) => {
      const t = weak(alone(d.args[0]), 0)!;
      return computeIn(t, t);
    },
  },
  logicalNot: {
    count: 6,
    gen: unaryDraw(ALL),
    call: ([x]) => M.logicalNot(ten(x)),
    rule: () => computeIn(null, 'bool'),
    oneD: true,
  },
  isFinite: {
    count: 6,
    gen: unaryDraw(ALL),
    call: ([x]) => M.isFinite(ten(x)),
    rule: () => computeIn(null, 'bool'),
    oneD: true,
  },
  // Composites: a few roundings of the pieces, and for gelu the cancellation of 1 + erf(x/√2) at
  // negative x (mixrl computes it as PyTorch does), eps · |x| absolute.
  silu: floatUnary(M.silu, ulps(2, 4, 10)),
  gelu: {
    ...floatUnary((x) => M.gelu(x, 'none'), { f32: 4, f64: 8, gpu: 8, scaled: 4, gpuScaled: 8 }),
    gen: unaryDraw(FLOATISH).chain((d) => fc.constantFrom('none', 'tanh').map((approximate) => ({ ...d, params: { approximate } }))),
    call: ([x], p) => M.gelu(ten(x), p.approximate as 'none' | 'tanh'),
  },
  leakyRelu: {
    ...floatUnary((x) => M.leakyRelu(x, 0.1), ulps(1, 0, 1)),
    gen: unaryDraw(FLOATISH).map((d) => ({ ...d, params: { slope: 0.1 } })),
    call: ([x]) => M.leakyRelu(ten(x), 0.1),
  },
  elu: {
    ...floatUnary((x) => M.elu(x, 1.5), ulps(2, 2, 7)),
    gen: unaryDraw(FLOATISH).map((d) => ({ ...d, params: { alpha: 1.5 } })),
    call: ([x]) => M.elu(ten(x), 1.5),
  },

  // --- elementwise, two operands ---
  add: binary(M.add, 'numeric', EXACT),
  sub: binary(M.sub, 'numeric', EXACT),
  mul: binary(M.mul, 'numeric', EXACT),
  // Integer division truncates toward zero and x / 0 is 0 (elementwise.ts `div`, as C and JAX's
  // lax.div); NumPy's `/` is true division into float64. Float division is correctly rounded.
  div: binary(M.div, 'numeric', EXACT, undefined, {
    count: 20,
    gen: fc.oneof(binaryDraw(ALL), intDivDraw()),
    gap: (np, mx) => np === 'float64' && isInt(mx),
  }),
  // pow and atan2 are float-only: integer operands become float32 (NumPy: integer power).
  pow: binary(M.pow, 'float', ulps(1, 2, 4), undefined, {
    count: 16,
    gen: fc.oneof(binaryDraw(ALL), powEdgesDraw()),
    gap: (np, mx) => mx === 'float32' && !np.startsWith('float'),
  }),
  maximum: binary(M.maximum, 'numeric', EXACT, undefined, { zeroSign: false }),
  minimum: binary(M.minimum, 'numeric', EXACT, undefined, { zeroSign: false }),
  atan2: binary(M.atan2, 'float', TRANSCENDENTAL(2)),
  equal: binary(M.equal, 'any', EXACT, 'bool'),
  notEqual: binary(M.notEqual, 'any', EXACT, 'bool'),
  less: binary(M.less, 'any', EXACT, 'bool'),
  lessEqual: binary(M.lessEqual, 'any', EXACT, 'bool'),
  greater: binary(M.greater, 'any', EXACT, 'bool'),
  greaterEqual: binary(M.greaterEqual, 'any', EXACT, 'bool'),
  // Each operand is cast to bool on its own (no promotion, so int32 with uint32 is fine).
  logicalAnd: { ...binary(M.logicalAnd, 'any', EXACT, 'bool'), rule: () => computeIn('bool', 'bool') },
  logicalOr: { ...binary(M.logicalOr, 'any', EXACT, 'bool'), rule: () => computeIn('bool', 'bool') },
  // max + softplus(-|a - b|): the larger operand's rounding plus softplus's, eps · (|max| + 1).
  logaddexp: binary(M.logaddexp, 'float', { f32: 2, f64: 2, gpu: 10, scaled: 2, gpuScaled: 10 }),
  l2Loss: binary((a, b) => M.l2Loss(a, b), 'float', { f32: 1, f64: 1, gpu: 1, scaled: 2 }),
  huberLoss: {
    ...binary((a, b) => M.huberLoss(a, b, 0.5), 'float', { f32: 1, f64: 1, gpu: 1, scaled: 4 }),
    gen: binaryDraw(ALL).map((d) => ({ ...d, params: { delta: 0.5 } })),
  },
  where: {
    count: 12,
    gen: fc.tuple(broadcastShapesArb(3), fc.constantFrom(...ALL), fc.constantFrom(...ALL), fc.constantFrom(...ALL), fc.nat(7)).chain(([[sc, sx, sy], dc, dx, dy, mode]) =>
      fc
        .tuple(
          mode === 2 ? fc.constantFrom(true, false, 0, 2, NaN) : arrOf(dc, sc, 'ties'),
          mode === 0 || mode === 3 ? numberArb : arrOf(dx, sx),
          mode === 1 || mode === 3 ? numberArb : arrOf(dy, sy),
        )
        .map((args) => draw(args)),
    ),
    // The condition is cast to bool (NaN is true); the branches promote as a binary op's operands.
    call: ([c, x, y]) => M.where(c, x, y),
    rule: (d) => {
      const t = pair(d.args[1], d.args[2]);
      return t === undefined ? refuse(isArr(d.args[1]) && isArr(d.args[2]) ? MIXED_INTS : WEAK_RANGE) : computeIn(null, t);
    },
    oneD: true,
    // Two plain numbers for branches: the first becomes float32, as `tensor(k)` (NumPy: int64/float64).
    gap: (_np, _mx, d) => !isArr(d.args[1]) && !isArr(d.args[2]),
  },
  clip: {
    count: 10,
    gen: fc.tuple(broadcastShapesArb(3), fc.constantFrom(...NUMERIC), fc.nat(5)).chain(([[sx, sl, sh], dx, mode]) =>
      fc
        .tuple(arrOf(dx, sx), mode < 2 ? fc.constantFrom(-1, 0, -0.5, NaN, -Infinity) : arrOf(dx, sl), mode < 3 ? fc.constantFrom(1, 2, 0.5, Infinity) : arrOf(dx, sh))
        .map((args) => draw(args)),
    ),
    // maximum(x, low) then minimum(., high), each promoting (NumPy's clip is the same composition).
    call: ([x, lo, hi]) => M.clip(x, lo, hi),
    rule: (d) => {
      const low = pair(d.args[0], d.args[1]);
      const t = low === undefined ? undefined : pair({ dtype: low, shape: [], values: [] }, d.args[2]);
      return t === undefined ? refuse(WEAK_RANGE) : t === 'bool' ? refuse(BOOL_ARITH) : computeIn(t, t);
    },
    zeroSign: false,
    oneD: true,
  },
  cast: {
    count: 16,
    gen: fc.tuple(arrArb(ALL), fc.constantFrom(...ALL)).map(([x, dtype]) => draw([x], { dtype })),
    // Float to integer as a typed-array store (docs/webgpu.md, "NaN and casts"): truncate, wrap
    // modulo 2^32, NaN and ±Infinity 0; NumPy leaves out-of-range casts undefined (C's rule).
    call: ([x], p) => M.cast(ten(x), p.dtype as DType),
    rule: (d) => computeIn(null, d.params.dtype as DType),
  },

  // --- reductions ---
  sum: {
    count: 12,
    gen: reductionDraw(ALL, 'noMax'),
    call: ([x], p) => M.sum(ten(x), p.axes as number[], p.keepdims as boolean),
    // bool sums as int32; integers keep their dtype and wrap (NumPy: int64/uint64 accumulators).
    rule: reductionRule((d) => (alone(d.args[0]) === 'bool' ? computeIn('int32', 'int32') : computeIn(alone(d.args[0]), alone(d.args[0]), true))),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  prod: {
    count: 8,
    gen: reductionDraw(ALL, 'moderate'),
    call: ([x], p) => M.prod(ten(x), p.axes as number[], p.keepdims as boolean),
    rule: reductionRule((d) => (alone(d.args[0]) === 'bool' ? computeIn('int32', 'int32') : computeIn(alone(d.args[0]), alone(d.args[0]), true))),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  max: {
    count: 10,
    gen: reductionDraw(ALL, 'any'),
    call: ([x], p) => M.max(ten(x), p.axes as number[], p.keepdims as boolean),
    rule: reductionRule(extremumRule),
    numpyRefuses: (d) => (reducesEmpty(d) ? -Infinity : undefined),
    zeroSign: false,
  },
  min: {
    count: 10,
    gen: reductionDraw(ALL, 'any'),
    call: ([x], p) => M.min(ten(x), p.axes as number[], p.keepdims as boolean),
    rule: reductionRule(extremumRule),
    numpyRefuses: (d) => (reducesEmpty(d) ? Infinity : undefined),
    zeroSign: false,
  },
  // mean, variance, std: integer and bool inputs give float32 (NumPy: float64).
  mean: {
    count: 10,
    gen: reductionDraw(ALL, 'noMax'),
    call: ([x], p) => M.mean(ten(x), p.axes as number[], p.keepdims as boolean),
    rule: reductionRule((d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true)),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  variance: {
    count: 8,
    gen: reductionDraw(FLOATISH, 'moderate', fc.record({ ddof: fc.constantFrom(0, 1, 2) })),
    call: ([x], p) => M.variance(ten(x), p.axes as number[], p.keepdims as boolean, p.ddof as number),
    rule: reductionRule((d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true)),
    tol: sums(4),
    ...SUM_ZEROS,
  },
  std: {
    count: 8,
    gen: reductionDraw(FLOATISH, 'moderate', fc.record({ ddof: fc.constantFrom(0, 1) })),
    call: ([x], p) => M.std(ten(x), p.axes as number[], p.keepdims as boolean, p.ddof as number),
    rule: reductionRule((d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true)),
    tol: { ...sums(4), f32: 1, f64: 1, gpu: 1, root: true },
    ...SUM_ZEROS,
  },
  norm: {
    count: 10,
    gen: reductionDraw(FLOATISH, 'moderate', fc.record({ ord: fc.constantFrom(2, 1, Infinity, -Infinity, 3, 0.5) })),
    call: ([x], p) => M.norm(ten(x), p.ord as number, p.axes as number[], p.keepdims as boolean),
    rule: reductionRule((d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true)),
    // (n + 4) ulps relative: the sum's terms and a pow / root on each side.
    tol: { ...sums(1, 2), f32: 1, f64: 1, gpu: 4 },
    ...SUM_ZEROS,
    // ord ±Infinity over an empty axis: 0 (every p-norm of an empty vector) and min's identity, Infinity.
    numpyRefuses: (d) => (reducesEmpty(d) && Math.abs(d.params.ord as number) === Infinity ? (d.params.ord === Infinity ? 0 : Infinity) : undefined),
  },
  logsumexp: {
    count: 10,
    gen: reductionDraw(FLOATISH, 'moderate'),
    call: ([x], p) => M.logsumexp(ten(x), p.axes as number[], p.keepdims as boolean),
    rule: reductionRule((d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true)),
    // exp, log and the sum's rounding: eps · (terms + |max| + |result|).
    tol: { ...sums(2, 8), f32: 1, f64: 1, gpu: 2 },
    ...SUM_ZEROS,
  },
  argmax: {
    count: 8,
    gen: arrArb(ALL, shapeArb(), 'ties').chain((x) =>
      fc.tuple(fc.option(axisArb(x.shape.length), { nil: undefined }), fc.boolean()).map(([axis, keepdims]) => draw([x], { axis, keepdims })),
    ),
    call: ([x], p) => M.argmax(ten(x), p.axis as number | undefined, p.keepdims as boolean),
    // The first maximum, the first NaN where there is one (as NumPy); int32 indices (NumPy: int64).
    rule: reductionRule(() => computeIn(null, 'int32')),
  },
  argmin: {
    count: 8,
    gen: arrArb(ALL, shapeArb(), 'ties').chain((x) =>
      fc.tuple(fc.option(axisArb(x.shape.length), { nil: undefined }), fc.boolean()).map(([axis, keepdims]) => draw([x], { axis, keepdims })),
    ),
    call: ([x], p) => M.argmin(ten(x), p.axis as number | undefined, p.keepdims as boolean),
    rule: reductionRule(() => computeIn(null, 'int32')),
  },
  cumsum: {
    count: 10,
    gen: axisDraw(ALL, 'noMax'),
    call: ([x], p) => M.cumsum(ten(x), p.axis as number),
    // A tree of adds (Hillis-Steele): the terms' rounding in another order, bounded as a sum's.
    rule: reductionRule((d) => (alone(d.args[0]) === 'bool' ? computeIn('int32', 'int32') : computeIn(alone(d.args[0]), alone(d.args[0]), true))),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  softmax: {
    count: 8,
    gen: axisDraw(FLOATISH, 'moderate', 1),
    call: ([x], p) => M.softmax(ten(x), p.axis as number),
    rule: (d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true),
    tol: { ...sums(2, 8), f32: 1, f64: 1, gpu: 6 },
    ...SUM_ZEROS,
  },
  logSoftmax: {
    count: 8,
    gen: axisDraw(FLOATISH, 'moderate', 1),
    call: ([x], p) => M.logSoftmax(ten(x), p.axis as number),
    rule: (d) => computeIn(floatOf(alone(d.args[0])), floatOf(alone(d.args[0])), true),
    tol: { ...sums(2, 8), f32: 1, f64: 1, gpu: 2 },
    ...SUM_ZEROS,
  },

  // --- movement (bit for bit) ---
  reshape: {
    count: 8,
    gen: arrArb(ALL).chain((x) =>
      fc.tuple(fc.shuffledSubarray(factorShape(x.shape), { minLength: factorShape(x.shape).length }), fc.nat(3)).map(([dims, unknown]) => {
        const shape = dims.length > 0 ? dims : size(x.shape) === 1 ? [] : [size(x.shape)];
        if (unknown < shape.length && shape[unknown] !== 0) shape[unknown] = -1;
        return draw([x], { shape });
      }),
    ),
    call: ([x], p) => M.reshape(ten(x), p.shape as number[]),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  flatten: { count: 4, gen: arrArb(ALL).map((x) => draw([x])), call: ([x]) => M.flatten(ten(x)), rule: (d) => computeIn(null, alone(d.args[0])) },
  transpose: {
    count: 8,
    gen: arrArb(ALL).chain((x) =>
      fc
        .tuple(fc.shuffledSubarray([...Array(x.shape.length).keys()], { minLength: x.shape.length }), fc.boolean(), fc.boolean())
        .map(([perm, given, negative]) => draw([x], given ? { perm: negative ? perm.map((a) => a - x.shape.length) : perm } : {})),
    ),
    call: ([x], p) => M.transpose(ten(x), p.perm as number[] | undefined),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  swapAxes: {
    count: 5,
    gen: arrArb(ALL, shapeArb(1)).chain((x) => fc.tuple(axisArb(x.shape.length), axisArb(x.shape.length)).map(([a, b]) => draw([x], { a, b }))),
    call: ([x], p) => M.swapAxes(ten(x), p.a as number, p.b as number),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  moveAxis: {
    count: 5,
    gen: arrArb(ALL, shapeArb(1)).chain((x) => fc.tuple(axisArb(x.shape.length), axisArb(x.shape.length)).map(([a, b]) => draw([x], { a, b }))),
    call: ([x], p) => M.moveAxis(ten(x), p.a as number, p.b as number),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  expandDims: {
    count: 6,
    gen: arrArb(ALL, shapeArb(0, 3)).chain((x) =>
      fc.oneof(axisArb(x.shape.length + 1), fc.constant([0, -1])).map((axis) => draw([x], { axis })),
    ),
    call: ([x], p) => M.expandDims(ten(x), p.axis as number | number[]),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  squeeze: {
    count: 6,
    gen: arrArb(ALL).chain((x) => {
      const ones = x.shape.flatMap((d, i) => (d === 1 ? [i, i - x.shape.length] : []));
      const unit = ones.length > 0 ? fc.oneof(fc.constantFrom(...ones), fc.subarray(ones)) : fc.constant(undefined);
      return fc.oneof(fc.constant(undefined), unit, axesArb(x.shape.length)).map((axis) => draw([x], { axis }));
    }),
    call: ([x], p) => M.squeeze(ten(x), p.axis as number | number[] | undefined),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  broadcastTo: {
    count: 6,
    gen: broadcastShapesArb(2).chain(([s, t]) => arrArb(ALL, fc.constant(s)).map((x) => draw([x], { shape: broadcastOf(s, t) ?? t }))),
    call: ([x], p) => M.broadcastTo(ten(x), p.shape as number[]),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  slice: {
    count: 12,
    gen: arrArb(ALL, shapeArb(1)).chain((x) =>
      fc
        .array(
          fc.oneof(
            fc.constant(null),
            fc.integer({ min: -5, max: 4 }),
            fc.tuple(fc.option(fc.integer({ min: -6, max: 6 })), fc.option(fc.integer({ min: -6, max: 6 })), fc.option(fc.constantFrom(1, 2, 3, -1, -2))),
          ),
          { maxLength: x.shape.length },
        )
        .map((specs) => draw([x], { specs })),
    ),
    call: ([x], p) => M.slice(ten(x), ...(p.specs as M.SliceSpec[])),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  flip: {
    count: 6,
    gen: arrArb(ALL).chain((x) => axesArb(x.shape.length).map((axis) => draw([x], { axis }))),
    call: ([x], p) => M.flip(ten(x), p.axis as number | number[] | undefined),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  pad: {
    count: 6,
    gen: arrArb(ALL).chain((x) =>
      fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: x.shape.length, maxLength: x.shape.length }).map((widths) => draw([x], { widths })),
    ),
    call: ([x], p) => M.pad(ten(x), p.widths as [number, number][]),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  concat: {
    count: 10,
    gen: fc.tuple(shapeArb(1, 3), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...ALL), fc.constantFrom(...ALL), fc.nat(3)).chain(([shape, n, d1, d2, mixed]) =>
      axisArb(shape.length).chain((axis) => {
        const a = axis < 0 ? axis + shape.length : axis;
        const parts = Array.from({ length: n }, (_, i) =>
          fc.nat(3).chain((k) => arrOf(mixed === 0 && i === n - 1 ? d2 : d1, shape.map((s, j) => (j === a ? k : s)))),
        );
        return fc.tuple(...parts).map((xs) => draw(xs, { axis }));
      }),
    ),
    call: (xs, p) => M.concat(xs, p.axis as number),
    // Tensors of several dtypes promote as a binary op's operands do (NumPy's concatenate promotes too).
    rule: (d) => promoteAll(d.args),
  },
  stack: {
    count: 8,
    gen: fc.tuple(arrArb(ALL, shapeArb(0, 3)), fc.integer({ min: 1, max: 3 }), fc.constantFrom(...ALL, ...ALL)).chain(([x, n, other]) =>
      fc
        .tuple(axisArb(x.shape.length + 1), fc.array(arrOf(other, x.shape), { minLength: n - 1, maxLength: n - 1 }))
        .map(([axis, rest]) => draw([x, ...rest], { axis })),
    ),
    call: (xs, p) => M.stack(xs, p.axis as number),
    rule: (d) => promoteAll(d.args),
  },
  split: {
    count: 6,
    gen: arrArb(ALL, shapeArb(1)).chain((x) =>
      axisArb(x.shape.length).chain((axis) => {
        const n = x.shape[axis < 0 ? axis + x.shape.length : axis] ?? 0;
        return fc
          .oneof(fc.constantFrom(1, 2, 3), fc.uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 3 }).map((v) => v.sort((a, b) => a - b)))
          .map((sections) => draw([x], { axis, sections }));
      }),
    ),
    call: ([x], p) => M.split(ten(x), p.sections as number | number[], p.axis as number),
    rule: (d) => computeIn(null, Array(splitCount(d)).fill(alone(d.args[0]))),
  },

  // --- indexing ---
  take: {
    count: 10,
    gen: arrArb(ALL, shapeArb(1, 3)).chain((x) =>
      axisArb(x.shape.length).chain((axis) => {
        const n = x.shape[axis < 0 ? axis + x.shape.length : axis] ?? 1;
        const index: fc.Arbitrary<Arg> = fc.oneof(
          { weight: 6, arbitrary: fc.tuple(shapeArb(0, 2), fc.constantFrom<DType>('int32', 'int32', 'uint32')).chain(([s, dtype]) => indexArr(dtype, s, n)) },
          { weight: 1, arbitrary: fc.integer({ min: -n, max: Math.max(n - 1, 0) }) },
        );
        return index.map((idx) => draw([x, idx], { axis }));
      }),
    ),
    call: ([x, i], p) => M.take(ten(x), i, p.axis as number),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  takeAlongAxis: {
    count: 8,
    gen: arrArb(ALL, shapeArb(1, 3)).chain((x) =>
      axisArb(x.shape.length).chain((axis) => {
        const a = axis < 0 ? axis + x.shape.length : axis;
        return fc
          .tuple(fc.nat(3), fc.array(fc.boolean(), { minLength: x.shape.length, maxLength: x.shape.length }))
          .chain(([k, ones]) => indexArr('int32', x.shape.map((s, j) => (j === a ? k : ones[j] ? 1 : s)), x.shape[a] ?? 1))
          .map((idx) => draw([x, idx], { axis }));
      }),
    ),
    call: ([x, i], p) => M.takeAlongAxis(ten(x), ten(i), p.axis as number),
    rule: (d) => computeIn(null, alone(d.args[0])),
  },
  oneHot: {
    count: 6,
    gen: fc
      .tuple(shapeArb(0, 2), fc.integer({ min: 1, max: 4 }), fc.constantFrom(...ALL))
      .chain(([s, depth, dtype]) => indexArr('int32', s, depth).map((idx) => draw([idx], { depth, dtype }))),
    // Indices outside [0, depth) give a row of zeros (as jax.nn.one_hot).
    call: ([i], p) => M.oneHot(ten(i), p.depth as number, p.dtype as DType),
    rule: (d) => computeIn(null, d.params.dtype as DType),
  },

  // --- sorting (stable; NaN last ascending, first descending; -0 ties +0) ---
  sort: {
    count: 10,
    gen: axisDraw(ALL, 'ties', 1, fc.record({ descending: fc.boolean() })),
    call: ([x], p) => M.sort(ten(x), { axis: p.axis as number, descending: p.descending as boolean }),
    rule: (d) => (alone(d.args[0]) === 'bool' ? refuse('bool tensors are not sorted (sort.ts: cast to int32 first); NumPy sorts them') : computeIn(null, alone(d.args[0]))),
  },
  argsort: {
    count: 10,
    gen: axisDraw(ALL, 'ties', 1, fc.record({ descending: fc.boolean() })),
    call: ([x], p) => M.argsort(ten(x), { axis: p.axis as number, descending: p.descending as boolean }),
    rule: (d) => (alone(d.args[0]) === 'bool' ? refuse('bool tensors are not sorted (sort.ts); NumPy sorts them') : computeIn(null, 'int32')),
  },
  topk: {
    count: 8,
    gen: arrArb(NUMERIC, shapeArb(1), 'ties').chain((x) =>
      axisArb(x.shape.length).chain((axis) =>
        fc.integer({ min: 0, max: x.shape[axis < 0 ? axis + x.shape.length : axis] ?? 0 }).map((k) => draw([x], { axis, k })),
      ),
    ),
    call: ([x], p) => M.topk(ten(x), p.k as number, { axis: p.axis as number }),
    rule: (d) => computeIn(null, [alone(d.args[0]), 'int32']),
  },

  // --- products ---
  matmul: {
    count: 12,
    gen: matmulDraw(),
    call: ([a, b]) => M.matmul(a, b),
    rule: (d) => productRule(d),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  dot: {
    count: 10,
    gen: dotDraw(),
    call: ([a, b]) => M.dot(a, b),
    rule: (d) => productRule(d),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  vecdot: {
    count: 6,
    gen: fc.tuple(broadcastShapesArb(2), fc.constantFrom(...NUMERIC), fc.constantFrom(...NUMERIC), dimArb).chain(([[sa, sb], da, db, k]) =>
      fc.tuple(arrOf(da, [...sa, k], 'moderate'), arrOf(db, [...sb, k], 'moderate')).map((args) => draw(args, { terms: k })),
    ),
    call: ([a, b]) => M.vecdot(a, b),
    rule: (d) => productRule(d),
    tol: sums(1),
    ...SUM_ZEROS,
  },
  outer: {
    count: 5,
    gen: fc.tuple(fc.constantFrom(...ALL), fc.constantFrom(...ALL), dimArb, dimArb).chain(([da, db, m, n]) =>
      fc.tuple(arrOf(da, [m]), arrOf(db, [n])).map((args) => draw(args)),
    ),
    call: ([a, b]) => M.outer(a, b),
    rule: (d) => productRule(d, true),
  },
  einsum: {
    count: 14,
    gen: einsumDraw(),
    call: (xs, p) => M.einsum(p.subscripts as string, ...xs),
    // Operands promote as a binary op's; bool operands are summed as int32 (einsum.ts).
    rule: (d) => {
      const t = promoteAll(d.args);
      if ('refuse' in t) return t;
      const c = t.out[0] === 'bool' ? 'int32' : t.out[0];
      return computeIn(c, c, isFloat(c));
    },
    tol: sums(1),
    ...SUM_ZEROS,
    gap: (np, mx) => np === 'bool' && mx === 'int32',
  },
  tensordot: {
    count: 6,
    gen: tensordotDraw(),
    call: ([a, b], p) => M.tensordot(a, b, p.axes as number | [number[], number[]]),
    rule: (d) => {
      const t = pair(d.args[0], d.args[1]);
      if (t === undefined) return refuse(MIXED_INTS);
      const c = t === 'bool' ? 'int32' : t;
      return computeIn(c, c, isFloat(c));
    },
    tol: sums(1),
    ...SUM_ZEROS,
    gap: (np, mx) => np === 'bool' && mx === 'int32',
  },

  // --- creation (on the backend under test) ---
  arange: {
    count: 6,
    gen: fc
      .tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: -4, max: 8 }), fc.constantFrom(1, 2, -1, 0.5, 0.25, 0.1, 3), fc.option(fc.constantFrom<DType>(...NUMERIC), { nil: undefined }))
      .map(([start, stop, step, dtype]) => draw([], { start: start / 2, stop, step, dtype })),
    call: (_, p, backend) => M.arange(p.start as number, p.stop as number, p.step as number, { dtype: p.dtype as DType | undefined, backend }),
    // int32 when every argument is an integer, float32 otherwise (NumPy: int64 / float64).
    rule: (d) => computeIn(null, (d.params.dtype as DType | undefined) ?? ([d.params.start, d.params.stop, d.params.step].every(Number.isInteger) ? 'int32' : 'float32')),
    // The documented default: float32 where NumPy's is float64 (fractional arguments, no dtype).
    gap: (np, mx, d) => d.params.dtype === undefined && np === 'float64' && mx === 'float32',
    tol: ulps(1, 1, 1),
  },
  linspace: {
    count: 5,
    gen: fc
      .tuple(fc.double({ min: -5, max: 5, noNaN: true }), fc.double({ min: -5, max: 5, noNaN: true }), fc.nat(6), fc.constantFrom<DType>('float32', 'float64'))
      .map(([start, stop, num, dtype]) => draw([], { start, stop, num, dtype })),
    call: (_, p, backend) => M.linspace(p.start as number, p.stop as number, p.num as number, { dtype: p.dtype as DType, backend }),
    rule: (d) => computeIn(null, d.params.dtype as DType),
    tol: ulps(1, 1, 1),
  },
  eye: {
    count: 4,
    gen: fc
      .tuple(fc.nat(4), fc.nat(4), fc.integer({ min: -3, max: 3 }), fc.constantFrom(...ALL))
      .map(([n, m, k, dtype]) => draw([], { n, m, k, dtype })),
    call: (_, p, backend) => M.eye(p.n as number, p.m as number, p.k as number, { dtype: p.dtype as DType, backend }),
    rule: (d) => computeIn(null, d.params.dtype as DType),
  },
  full: {
    count: 16,
    gen: fc
      .tuple(shapeArb(0, 3), fc.constantFrom(...ALL), fc.constantFrom(3, -2, 1.75, -0, NaN, Infinity, 2147483647, 2 ** 31, 4294967295, -1, 1e40, true))
      .map(([shape, dtype, value]) => draw([], { shape, dtype, value })),
    call: (_, p, backend) => M.full(p.shape as number[], p.value as number, { dtype: p.dtype as DType, backend }),
    // The value is stored as `tensor` stores it: bool as value != 0 (NaN true), integers truncated
    // and refused outside the dtype's range (NumPy 1.24 wraps those with a DeprecationWarning).
    rule: (d) => {
      const dtype = d.params.dtype as DType;
      const v = Number(d.params.value);
      const [lo, hi] = dtype === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
      return isInt(dtype) && !(v > lo - 1 && v < hi + 1) ? refuse(`${v} is outside ${dtype}'s range`) : computeIn(null, dtype);
    },
  },
};

/** pow's special cases (C99 Annex F, as NumPy): bases and exponents of 0, ±1, ±Infinity, NaN and odd integers. */
function powEdgesDraw(): fc.Arbitrary<Draw> {
  const base = fc.constantFrom(1, -1, 0, -0, Infinity, -Infinity, NaN, 2, -2, 0.5, -0.5);
  const exponent = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, -1, 3, 0.5, -3, 2, -2.5);
  return fc
    .tuple(fc.constantFrom<DType>('float32', 'float64'), fc.array(fc.tuple(base, exponent), { minLength: 1, maxLength: 16 }))
    .map(([dtype, pairs]) => draw(
      [0, 1].map((k) => ({ dtype, shape: [pairs.length], values: pairs.map((p) => p[k]) })),
    ));
}

/** Integer quotients of every sign with and without remainders, by 0, and -2^31 / -1 (which wraps). */
function intDivDraw(): fc.Arbitrary<Draw> {
  const int32 = fc.constantFrom(7, -7, 6, -6, 1, -1, 0, 2147483647, -2147483648);
  const uint32 = fc.constantFrom(7, 6, 1, 0, 4294967295, 2147483648);
  return fc
    .constantFrom<DType>('int32', 'uint32')
    .chain((dtype) => fc.array(fc.tuple(dtype === 'int32' ? int32 : uint32, dtype === 'int32' ? int32 : uint32), { minLength: 1, maxLength: 16 }).map((pairs) => [dtype, pairs] as const))
    .map(([dtype, pairs]) => draw([0, 1].map((k) => ({ dtype, shape: [pairs.length], values: pairs.map((p) => p[k]) }))));
}

/** The broadcast shape of two shapes, or undefined. */
function broadcastOf(a: readonly number[], b: readonly number[]): number[] | undefined {
  const out: number[] = [];
  for (let i = 1; i <= Math.max(a.length, b.length); i++) {
    const [p, q] = [a[a.length - i] ?? 1, b[b.length - i] ?? 1];
    if (p !== q && p !== 1 && q !== 1) return undefined;
    out.unshift(p === 1 ? q : p);
  }
  return out;
}

/** Sizes whose product is the shape's size (its sizes, with a 1 or two), to reshape into. */
function factorShape(shape: readonly number[]): number[] {
  return [...shape.filter((d) => d !== 1), 1];
}

/** The axes a reduction draw reduces (undefined: all), normalized; undefined where out of range. */
function reducedAxes(d: Draw): number[] | undefined {
  const x = d.args[0] as Arr;
  const r = x.shape.length;
  const given = 'axes' in d.params ? d.params.axes : d.params.axis;
  const list = given === undefined ? [...Array(r).keys()] : typeof given === 'number' ? [given] : (given as number[]);
  return list.every((a) => a >= -r && a < r) ? list.map((a) => (a < 0 ? a + r : a)) : undefined;
}

/**
 * A reduction's rule, after the one it shares with JAX: an axis given for a 0-d tensor is out of
 * range (NumPy 1.x lets 0 and -1 through there, a legacy allowance).
 */
function reductionRule(inner: (d: Draw) => Rule): (d: Draw) => Rule {
  return (d) => {
    const x = d.args[0] as Arr;
    const given = 'axes' in d.params ? d.params.axes : d.params.axis;
    const axes = given === undefined ? [] : typeof given === 'number' ? [given] : (given as number[]);
    return x.shape.length === 0 && axes.length > 0 ? refuse('an axis of a 0-d tensor is out of range, as in JAX; NumPy 1.x accepts 0 and -1') : inner(d);
  };
}

/** Whether a reduction draw reduces an axis of size 0. */
const reducesEmpty = (d: Draw) => reducedAxes(d)?.some((a) => (d.args[0] as Arr).shape[a] === 0) ?? false;

/**
 * max and min: over an empty axis a float tensor gives the identity, -Infinity (max) or Infinity
 * (min) (reduce.test.ts, "empty reductions give the identity"); other dtypes have none and refuse.
 * NumPy refuses both.
 */
function extremumRule(d: Draw): Rule {
  const t = (d.args[0] as Arr).dtype;
  return !isFloat(t) && reducesEmpty(d) ? refuse('integer and bool max/min over an empty axis have no identity') : computeIn(null, t);
}

/** Several tensors promoted together (concat, stack, einsum): the binary rule folded over them. */
function promoteAll(args: readonly Arg[]): Rule {
  let t: DType | undefined = alone(args[0]);
  for (const a of args.slice(1)) t = t === undefined ? undefined : promote(t, alone(a));
  return t === undefined ? refuse(MIXED_INTS) : computeIn(t, t);
}

/** matmul, dot, outer: promoted operands; bool refused (numeric primitives: NumPy's bool product is logical). */
function productRule(d: Draw, elementwise = false): Rule {
  const t = pair(d.args[0], d.args[1]);
  if (t === undefined) return refuse(MIXED_INTS);
  if (t === 'bool') return refuse(BOOL_ARITH);
  return computeIn(t, t, !elementwise && isFloat(t));
}

/** The number of parts `split` makes (for the rule). */
function splitCount(d: Draw): number {
  const s = d.params.sections;
  return typeof s === 'number' ? s : (s as number[]).length + 1;
}

/** Index values for an axis of size n: in [-n, n), rarely one past either end. */
function indexArr(dtype: DType, shape: number[], n: number): fc.Arbitrary<Arr> {
  const lo = dtype === 'uint32' ? 0 : -n;
  const inRange = n > 0 ? fc.integer({ min: lo, max: n - 1 }) : fc.constant(0);
  const value = fc.oneof({ weight: 15, arbitrary: inRange }, { weight: 1, arbitrary: fc.constantFrom(n, ...(dtype === 'uint32' ? [] : [-n - 1])) });
  return fc.array(value, { minLength: size(shape), maxLength: size(shape) }).map((values) => ({ dtype, shape, values }));
}

/** `[..., m, k] @ [..., k, n]` with broadcast batch axes, 1-D operands on either side, rarely a 0-d one or mismatched k. */
function matmulDraw(): fc.Arbitrary<Draw> {
  return fc
    .tuple(broadcastShapesArb(2), dimArb, dimArb, dimArb, fc.nat(9), fc.nat(19), fc.constantFrom(...ALL), fc.constantFrom(...ALL))
    .chain(([[ba, bb], m, k, n, vec, bad, da, db]) => {
      const sa = vec === 0 ? [k] : [...ba.slice(-2), m, k];
      const sb = vec === 1 ? [k] : vec === 2 ? [] : [...bb.slice(-2), bad === 0 ? k + 1 : k, n];
      return fc.tuple(arrOf(da, sa, 'moderate'), arrOf(db, sb, 'moderate')).map((args) => draw(args, { terms: k }));
    });
}

/** NumPy `dot` operands: scalars, vectors, matrices and stacks against a vector or a matrix stack, rarely misaligned. */
function dotDraw(): fc.Arbitrary<Draw> {
  return fc
    .tuple(shapeArb(0, 2), shapeArb(0, 1), dimArb, dimArb, fc.nat(9), fc.nat(19), fc.constantFrom(...ALL), fc.constantFrom(...ALL))
    .chain(([pa, pb, k, n, form, bad, da, db]) => {
      const sa = form === 0 ? [] : [...pa, k];
      const sb = form === 1 ? [] : form <= 4 ? [bad === 0 ? k + 1 : k] : [...pb, bad === 0 ? k + 1 : k, n];
      return fc.tuple(arrOf(da, sa, 'moderate'), arrOf(db, sb, 'moderate')).map((args) => draw(args, { terms: k }));
    });
}

/** Subscripts of each kind (products, batches, transposes, diagonals and traces, ellipses, chains, size-1 broadcasting) with drawn sizes. */
function einsumDraw(): fc.Arbitrary<Draw> {
  const patterns = ['ij,jk->ik', 'ij,kj->ik', 'bij,bjk->bik', 'ii', 'ii->i', 'i,j->ij', 'ij->ji', 'i,i->', '...ij,...jk', 'ij,jk,kl->il', 'bi,bi->b', 'ijk->', 'ij,ij->ij', 'i,i', 'ij', 'ijk,ikl->jl'];
  return fc
    .tuple(fc.constantFrom(...patterns), fc.array(dimArb, { minLength: 12, maxLength: 12 }), shapeArb(0, 2), fc.nat(5), fc.constantFrom(...ALL), fc.constantFrom(...ALL), fc.nat(3))
    .chain(([subscripts, sizes, ellipsis, ones, d1, d2, mixed]) => {
      const letters = new Map<string, number>();
      const sizeOfLabel = (l: string) => {
        if (!letters.has(l)) letters.set(l, sizes[letters.size]);
        return letters.get(l)!;
      };
      const inputs = subscripts.split('->')[0].split(',');
      const shapes = inputs.map((term, t) => {
        const labels = term.replace('...', '').split('');
        const s = labels.map(sizeOfLabel);
        // One operand's first axis of size 1 broadcasts against the others (NumPy and mixrl allow it).
        if (ones === 0 && t === 0 && s.length > 0 && inputs.length > 1) s[0] = 1;
        return term.includes('...') ? [...(t === 0 ? ellipsis : ellipsis.slice(1)), ...s] : s;
      });
      const output = subscripts.includes('->') ? subscripts.split('->')[1] : '';
      const terms = [...letters].filter(([l]) => !output.includes(l)).reduce((p, [, s]) => p * Math.max(s, 1), 1);
      return fc
        .tuple(...shapes.map((s, t) => arrOf(mixed === 0 && t === shapes.length - 1 ? d2 : d1, s, 'moderate')))
        .map((args) => draw(args, { subscripts, terms }));
    });
}

/** Contractions of the last axes of a with the first of b, as a count or as explicit (negative) axis lists. */
function tensordotDraw(): fc.Arbitrary<Draw> {
  return fc
    .tuple(shapeArb(0, 2), shapeArb(0, 2), shapeArb(0, 2), fc.boolean(), fc.constantFrom(...NUMERIC), fc.constantFrom(...NUMERIC))
    .chain(([freeA, freeB, shared, asPairs, da, db]) => {
      const sa = [...freeA, ...shared];
      const sb = [...shared, ...freeB];
      const k = shared.length;
      const axes = asPairs ? [shared.map((_, i) => freeA.length + i - sa.length), shared.map((_, i) => i)] : k;
      return fc.tuple(arrOf(da, sa, 'moderate'), arrOf(db, sb, 'moderate')).map((args) => draw(args, { axes, terms: size(shared) }));
    });
}

// ---------------------------------------------------------------------------------------------
// The peer
// ---------------------------------------------------------------------------------------------

interface Case extends Draw {
  id: number;
  op: string;
  rule: Rule;
}

/** Every case, drawn once at the fixed seed. */
const CASES: Case[] = Object.entries(SPECS).flatMap(([op, spec], k) =>
  fc.sample(spec.gen, { seed: SEED + k, numRuns: spec.count }).map((d) => ({ ...d, op, rule: spec.rule(d) })),
).map((c, id) => ({ ...c, id }));

/** JSON numbers, with NaN, ±Infinity and -0 as strings. */
const enc = (v: number | boolean): number | string | boolean =>
  typeof v === 'boolean' ? v : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : v;
const dec = (v: number | string): number => (typeof v === 'number' ? v : { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 }[v]!);

function encodeParams(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'number' ? enc(v) : v;
  }
  return out;
}

function caseJson(c: Case): unknown {
  return {
    op: c.op,
    args: c.args.map((a) => (isArr(a) ? { t: 'arr', dtype: a.dtype, shape: a.shape, v: a.values.map(enc) } : { t: 'num', v: enc(a) })),
    params: encodeParams(c.params),
    rule: c.rule,
    oneD: SPECS[c.op].oneD ?? false,
  };
}

interface PeerOut {
  dtype: string;
  shape: number[];
  v: (number | string)[];
  s?: (number | string)[];
}
type PeerAttempt = { outs: PeerOut[] } | { error: string };
interface PeerResult {
  natural: PeerAttempt;
  value: PeerAttempt | null;
}

// ---------------------------------------------------------------------------------------------
// Running mixrl and comparing
// ---------------------------------------------------------------------------------------------

const TYPED = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array };

function toInput(a: Arg, backend: Backend): Input {
  return isArr(a) ? M.tensor(TYPED[a.dtype].from(a.values), { shape: a.shape, dtype: a.dtype, backend }) : a;
}

/** Whether the case can run on WebGPU: no float64 anywhere, and a tensor (or a backend option) to put it there. */
function runsOnGpu(c: Case): boolean {
  const dtypes = [...c.args.filter(isArr).map((a) => a.dtype), ...('out' in c.rule ? c.rule.out : []), c.params.dtype];
  const placed = c.args.some(isArr) || ['arange', 'linspace', 'eye', 'full'].includes(c.op);
  return placed && !dtypes.includes('float64');
}

function describeCase(c: Case): string {
  const arg = (a: Arg) => (isArr(a) ? `${a.dtype}[${a.shape}]${a.values.length <= 6 ? ` ${JSON.stringify(a.values.map(enc))}` : ''}` : `number ${String(a)}`);
  return `${c.op} #${c.id} (${c.args.map(arg).join(', ')}) ${JSON.stringify(encodeParams(c.params))}`;
}

/** The spacing of floats of `dtype` at x (subnormals included). */
function ulpOf(x: number, dtype: 'float32' | 'float64'): number {
  const [minExp, bits] = dtype === 'float32' ? [-126, 23] : [-1022, 52];
  const e = x === 0 ? minExp : Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  return 2 ** (e - bits);
}

const round = (x: number, dtype: DType) => (dtype === 'float32' ? Math.fround(x) : x);

/** The first element outside the tolerance, described; undefined when all fit. */
function compareValues(got: number[], out: PeerOut, dtype: DType, tol: Tol, gpuRun: boolean, zeroSign: boolean): string | undefined {
  const want = out.v.map(dec);
  const scale = out.s?.map(dec);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], round(want[i], dtype)];
    if (!isFloat(dtype) || Number.isNaN(w) || !Number.isFinite(w)) {
      if (Object.is(g, w) || (g === w && !zeroSign)) continue;
      return `element ${i}: got ${g}, NumPy ${w}`;
    }
    if (g === 0 && w === 0 && zeroSign && !Object.is(g, w)) return `element ${i}: got ${g}, NumPy ${w} (sign of zero)`;
    const k = gpuRun ? tol.gpu : dtype === 'float32' ? tol.f32 : tol.f64;
    const eps = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
    let bound = k * ulpOf(w, dtype);
    if (scale !== undefined && tol.scaled !== undefined) {
      const delta = (gpuRun ? (tol.gpuScaled ?? tol.scaled) : tol.scaled) * eps * Math.abs(scale[i]);
      bound += tol.root && w !== 0 ? Math.min(Math.sqrt(delta), delta / Math.abs(w)) : tol.root ? Math.sqrt(delta) : delta;
    }
    // WGSL lets implementations flush subnormal float32 values to zero (lavapipe does).
    if (gpuRun && Math.abs(w) < 2 ** -126) bound = Math.max(bound, 2 ** -126);
    if (Math.abs(g - w) <= bound) continue;
    return `element ${i}: got ${g}, NumPy ${w} (off by ${(Math.abs(g - w) / ulpOf(w, dtype)).toPrecision(3)} ulp, bound ${(bound / ulpOf(w, dtype)).toPrecision(3)})`;
  }
  return undefined;
}

/**
 * Where NumPy's own result dtype may differ from mixrl's: int and bool operands (and plain
 * numbers) meet float32 as float32, where NumPy widens to float64 (float16 for bool) — JAX's
 * lattice and weak typing; no 64-bit integers, so int32/uint32 accumulators and indices where NumPy
 * takes its int64/uint64; two plain numbers make a float32 tensor (`asTensor`); and each op's own.
 */
function dtypeGapExplained(np: string, mx: DType, d: Draw, spec: Spec): boolean {
  if (np === mx) return true;
  const intsOrNumbers = d.args.some((a) => !isArr(a) || !isFloat(a.dtype));
  if (mx === 'float32' && (np === 'float64' || np === 'float16') && intsOrNumbers) return true;
  if ((np === 'int64' && mx === 'int32') || (np === 'uint64' && mx === 'uint32')) return true;
  if (d.args.length > 0 && !d.args.some(isArr)) return true;
  return spec.gap?.(np, mx, d) ?? false;
}

/** What `check` returns where both sides refused. */
const REFUSED = 'refused';

async function read(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

/**
 * Runs one case on `backend` and compares it with the peer: the failure, described; `refused` where
 * both refused, as a rule documents or as NumPy does; undefined where values were compared and agree.
 */
async function check(c: Case, peer: PeerResult, backend: Backend, gpuRun: boolean): Promise<string | undefined> {
  const spec = SPECS[c.op];
  let outs: Tensor[] | undefined;
  let values: number[][] = [];
  let error: unknown;
  try {
    const r = spec.call(c.args.map((a) => toInput(a, backend)), c.params, backend);
    outs = Array.isArray(r) ? r : [r];
    values = await Promise.all(outs.map(read));
  } catch (e) {
    error = e;
  }
  const what = () => (error ? `${(error as Error).name}: ${(error as Error).message}` : outs!.map((t, i) => `${t.dtype}[${t.shape}] ${JSON.stringify(values[i].slice(0, 8).map(enc))}`).join('; '));
  if ('refuse' in c.rule) {
    if (error === undefined) return `mixrl returned ${what()}; documented refusal: ${c.rule.refuse}`;
    return error instanceof M.MixrlError ? REFUSED : `unclear error ${what()}`;
  }
  const value = peer.value!;
  if ('error' in value) {
    if (error instanceof M.MixrlError) return REFUSED;
    const documented = spec.numpyRefuses?.(c);
    if (documented !== undefined && error === undefined && values.every((v) => v.every((x) => Object.is(x, documented)))) return undefined;
    return `NumPy refuses (${value.error}), mixrl ${error ? `throws a non-MixrlError ${what()}` : `returns ${what()}`}`;
  }
  if (error !== undefined) return `mixrl throws ${what()} where NumPy returns ${value.outs.map((o) => `${o.dtype}[${o.shape}]`).join(', ')}`;
  if (outs!.length !== value.outs.length) return `${outs!.length} results, NumPy ${value.outs.length}`;
  for (let i = 0; i < outs!.length; i++) {
    const [t, o] = [outs![i], value.outs[i]];
    const label = outs!.length > 1 ? `result ${i}: ` : '';
    if (JSON.stringify(t.shape) !== JSON.stringify(o.shape)) return `${label}shape [${t.shape}], NumPy [${o.shape}]`;
    if (t.dtype !== c.rule.out[i]) return `${label}dtype ${t.dtype}, the documented rule ${c.rule.out[i]} (NumPy ${o.dtype})`;
    const natural = 'outs' in peer.natural ? peer.natural.outs[i]?.dtype : undefined;
    if (natural !== undefined && !dtypeGapExplained(natural, t.dtype, c, spec)) return `${label}dtype ${t.dtype}, NumPy's own ${natural}, no documented rule says why`;
    const bad = compareValues(values[i], o, t.dtype, spec.tol ?? EXACT, gpuRun, spec.zeroSign ?? true);
    if (bad) return `${label}${bad}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

describe.skipIf(!HAVE_NUMPY)('public tensor ops against NumPy', () => {
  let peer: PeerResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mixrl-numpy-peer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(() => {
    const path = join(dir, 'cases.json');
    writeFileSync(path, JSON.stringify(CASES.map(caseJson)));
    peer = runPython(PEER_SCRIPT, [path]) as PeerResult[];
  });

  it('the cases cover dtypes, ranks, empty and unit axes, numbers, mixed dtypes and edge values', () => {
    const arrs = CASES.flatMap((c) => c.args.filter(isArr));
    expect(CASES.length).toBeGreaterThan(500);
    for (const dtype of ALL) expect(arrs.filter((a) => a.dtype === dtype).length, dtype).toBeGreaterThan(50);
    for (let r = 0; r <= 4; r++) expect(arrs.filter((a) => a.shape.length === r).length, `rank ${r}`).toBeGreaterThan(20);
    expect(arrs.filter((a) => a.shape.includes(0)).length).toBeGreaterThan(30);
    expect(arrs.filter((a) => a.shape.includes(1)).length).toBeGreaterThan(50);
    expect(CASES.filter((c) => c.args.some((a) => !isArr(a))).length).toBeGreaterThan(40);
    expect(CASES.filter((c) => c.args.filter(isArr).some((a) => a.dtype !== (c.args.find(isArr) as Arr).dtype)).length).toBeGreaterThan(60);
    expect(CASES.filter((c) => c.params.keepdims === true).length).toBeGreaterThan(20);
    expect(CASES.filter((c) => [c.params.axis, c.params.axes].flat().some((a) => typeof a === 'number' && a < 0)).length).toBeGreaterThan(40);
    const values = arrs.flatMap((a) => a.values);
    for (const v of [NaN, -0, Infinity, -Infinity, 2147483647, -2147483648, 4294967295]) expect(values.some((x) => Object.is(x, v)), String(v)).toBe(true);
    expect(CASES.filter((c) => 'refuse' in c.rule).length).toBeGreaterThan(20);
    expect(peer.length).toBe(CASES.length);
  });

  const backends: [string, () => Backend | undefined][] = [
    ['cpu', () => M.cpu],
    ['webgpu', () => gpu],
  ];
  for (const [name, backendOf] of backends) {
    describe.skipIf(backendOf() === undefined)(name, () => {
      it.each(Object.keys(SPECS))('%s', async (op) => {
        const backend = backendOf()!;
        const gpuRun = name === 'webgpu';
        const cases = CASES.filter((c) => c.op === op && (!gpuRun || runsOnGpu(c)));
        const failures: string[] = [];
        let compared = 0;
        for (const c of cases) {
          const bad = await check(c, peer[c.id], backend, gpuRun);
          if (bad === undefined) compared++;
          else if (bad !== REFUSED) failures.push(`${describeCase(c)}: ${bad}`);
        }
        expect(failures).toEqual([]);
        // Most calls must compare values, not only agree on refusing.
        expect(compared, `${compared} of ${cases.length} compared`).toBeGreaterThanOrEqual(cases.length / 2);
      });
    });
  }
});
