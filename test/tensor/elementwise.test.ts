/**
 * Every elementwise op against a float64 reference computed per element with plain JS (Math.* or an
 * independent formula), on random shapes and values within each op's domain, in float64 (~1e-12
 * relative) and float32 (one float32 ulp: the CPU kernels compute in double and round once).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import {
  broadcastIndex,
  broadcastPairArb,
  erfSeries,
  expectClose,
  f32,
  makeTensor,
  randomInts,
  randomValues,
  refBroadcast,
  RUNS,
  shapeArb,
  sizeOfShape,
  TOL32,
  TOL64,
  unravel,
  valuesOf,
} from './helpers';

/** Rounds half to even, independently of the library's helper. */
function roundHalfEvenRef(x: number): number {
  if (Math.abs(x % 1) === 0.5) return 2 * Math.round(x / 2);
  return Math.round(x);
}

interface UnaryCase {
  op: (x: T.TensorLike) => T.Tensor;
  ref: (x: number) => number;
  lo: number;
  hi: number;
  /** Extra float64 tolerance where the reference itself is only that good. */
  tol64?: number;
}

const UNARY: Record<string, UnaryCase> = {
  neg: { op: T.neg, ref: (x) => -x, lo: -10, hi: 10 },
  abs: { op: T.abs, ref: Math.abs, lo: -10, hi: 10 },
  sign: { op: T.sign, ref: Math.sign, lo: -2, hi: 2 },
  exp: { op: T.exp, ref: Math.exp, lo: -30, hi: 30 },
  log: { op: T.log, ref: Math.log, lo: 1e-3, hi: 1e3 },
  log1p: { op: T.log1p, ref: Math.log1p, lo: -0.999, hi: 10 },
  expm1: { op: T.expm1, ref: Math.expm1, lo: -5, hi: 5 },
  sqrt: { op: T.sqrt, ref: Math.sqrt, lo: 0, hi: 100 },
  rsqrt: { op: T.rsqrt, ref: (x) => 1 / Math.sqrt(x), lo: 1e-3, hi: 100 },
  reciprocal: { op: T.reciprocal, ref: (x) => 1 / x, lo: 0.01, hi: 10 },
  sin: { op: T.sin, ref: Math.sin, lo: -10, hi: 10 },
  cos: { op: T.cos, ref: Math.cos, lo: -10, hi: 10 },
  tan: { op: T.tan, ref: Math.tan, lo: -1.5, hi: 1.5 },
  atan: { op: T.atan, ref: Math.atan, lo: -20, hi: 20 },
  tanh: { op: T.tanh, ref: Math.tanh, lo: -10, hi: 10 },
  atanh: { op: T.atanh, ref: Math.atanh, lo: -0.999, hi: 0.999 },
  sigmoid: { op: T.sigmoid, ref: (x) => 1 / (1 + Math.exp(-x)), lo: -30, hi: 30 },
  softplus: { op: T.softplus, ref: (x) => Math.log1p(Math.exp(x)), lo: -30, hi: 30 },
  logSigmoid: { op: T.logSigmoid, ref: (x) => -Math.log1p(Math.exp(-x)), lo: -30, hi: 30 },
  erf: { op: T.erf, ref: erfSeries, lo: -2, hi: 2, tol64: 1e-13 },
  floor: { op: T.floor, ref: Math.floor, lo: -5, hi: 5 },
  ceil: { op: T.ceil, ref: Math.ceil, lo: -5, hi: 5 },
  round: { op: T.round, ref: roundHalfEvenRef, lo: -5, hi: 5 },
  square: { op: T.square, ref: (x) => x * x, lo: -10, hi: 10 },
  relu: { op: T.relu, ref: (x) => Math.max(x, 0), lo: -3, hi: 3 },
};

describe('unary ops against Math per element', () => {
  for (const [name, c] of Object.entries(UNARY)) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${name} ${dtype}`, () => {
        fc.assert(
          fc.property(shapeArb(3, 5), fc.integer(), (shape, seed) => {
            let values = randomValues(seed, sizeOfShape(shape), c.lo, c.hi);
            if (dtype === 'float32') values = f32(values);
            const out = c.op(makeTensor(values, shape, dtype));
            expect(out.dtype).toBe(dtype);
            expect(out.shape).toEqual(shape);
            const tol = dtype === 'float64' ? { rtol: c.tol64 ?? TOL64.rtol, atol: c.tol64 ?? 1e-300 } : TOL32;
            expectClose(valuesOf(out), values.map(c.ref).map(dtype === 'float32' ? Math.fround : (v) => v), tol, name);
          }),
          { numRuns: 25 },
        );
      });
    }
  }

  it('round is half to even on exact halves, floor/ceil on negatives', () => {
    const x = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.5, 2.4999999999999996, -0.3];
    // NumPy and WGSL keep the sign of zero: round(-0.5) = round(-0.3) = -0.
    expect(valuesOf(T.round(makeTensor(x, [x.length])))).toEqual([-2, -2, -0, 0, 2, 2, 4, -4, 2, -0]);
    expect(valuesOf(T.floor(makeTensor([-1.5, 1.5], [2])))).toEqual([-2, 1]);
    expect(valuesOf(T.ceil(makeTensor([-1.5, 1.5], [2])))).toEqual([-1, 2]);
  });

  it('sigmoid and softplus stay finite and correct at large |x|', () => {
    const x = [-800, -50, 50, 800];
    expectClose(valuesOf(T.sigmoid(makeTensor(x, [4]))), [0, 1.9287498479639178e-22, 1, 1], { rtol: 1e-12, atol: 1e-300 });
    // softplus(x) = x + log1p(e^{-x}) for large x; log1p(e^{x}) = e^{x} for very negative x.
    expectClose(valuesOf(T.softplus(makeTensor(x, [4]))), [0, 1.9287498479639178e-22, 50, 800], { rtol: 1e-12, atol: 1e-300 });
  });

  it('integer neg, abs, sign keep int32', () => {
    const x = [-7, 0, 3, -2147483647];
    expect(valuesOf(T.neg(makeTensor(x, [4], 'int32')))).toEqual([7, 0, -3, 2147483647]);
    expect(valuesOf(T.abs(makeTensor(x, [4], 'int32')))).toEqual([7, 0, 3, 2147483647]);
    expect(valuesOf(T.sign(makeTensor(x, [4], 'int32')))).toEqual([-1, 0, 1, -1]);
    expect(T.abs(makeTensor(x, [4], 'int32')).dtype).toBe('int32');
  });

  it('float-only functions cast integer inputs to float32', () => {
    const out = T.exp(makeTensor([0, 1], [2], 'int32'));
    expect(out.dtype).toBe('float32');
    expectClose(valuesOf(out), [1, Math.fround(Math.E)], TOL32);
  });

  it('logSigmoid of integers is that of their float32 values (no wrapping negation first)', () => {
    const out = T.logSigmoid(makeTensor([2, 0, 7], [3], 'uint32'));
    expect(out.dtype).toBe('float32');
    expectClose(valuesOf(out), f32([2, 0, 7].map((v) => -Math.log1p(Math.exp(-v)))), { rtol: 2 ** -22 });
    expectClose(valuesOf(T.logSigmoid(makeTensor([-2147483648], [1], 'int32'))), [-2147483648], TOL32);
  });

  it('logicalNot and isFinite', () => {
    expect(T.logicalNot(T.tensor([true, false, true])).toArraySync()).toEqual([false, true, false]);
    const x = makeTensor([1, Infinity, -Infinity, NaN, -0, 1e308], [6]);
    expect(T.isFinite(x).toArraySync()).toEqual([true, false, false, false, true, true]);
    expect(T.isFinite(makeTensor([1, 2], [2], 'int32')).toArraySync()).toEqual([true, true]);
  });
});

describe('erf and erfinv', () => {
  // Values from mpmath at 40 digits (independent of this library).
  // mpmath at 40 digits of erf / erfinv at the exact double inputs, rounded to double (independent of
  // this library); they agree with the published values, e.g. erf(0.5) = 0.5204998778130465.
  const ERF: [number, number][] = [
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [2.5, 0.999593047982555],
    [3, 0.9999779095030014],
    [3.5, 0.9999992569016276],
    [4, 0.9999999845827421],
    [5, 0.9999999999984626],
    [-0.7, -0.6778011938374184],
    [1e-8, 1.1283791670955126e-8],
    [30, 1],
  ];
  const ERFINV: [number, number][] = [
    [0.5, 0.4769362762044699],
    [0.9, 1.1630871536766743],
    [0.999, 2.3267537655135246],
    [1e-10, 8.862269254527581e-11],
    [0.1, 0.08885599049425769],
    [0.99, 1.8213863677184494],
    [-0.3, -0.2724627147267543],
    [0.999999, 3.458910737275499],
    [0.9999999999, 4.572824958544925],
    // Where Halley steps on erf(x) - y, before the fit, were up to 3e-14 off (that difference cancels).
    [0.998, 2.1851242191330043],
    [0.9985, 2.2448402503847205],
    [0.9995, 2.461266457171732],
    [0.99999, 3.123413274341571],
    [0.7, 0.7328690779592167],
    [0.95, 1.3859038243496777],
    [1e-300, 8.86226925452758e-301],
    [0.999999999999, 5.042031898572696],
  ];

  it('erf matches high-precision values (float64, 1e-15 relative)', () => {
    const x = makeTensor(ERF.map((p) => p[0]), [ERF.length]);
    expectClose(valuesOf(T.erf(x)), ERF.map((p) => p[1]), { rtol: 1e-15, atol: 0 }, 'erf');
    expectClose(valuesOf(T.erf(T.neg(x))), ERF.map((p) => -p[1]), { rtol: 1e-15, atol: 0 }, 'erf odd');
  });

  it('erf matches high-precision values in float32', () => {
    const x = makeTensor(ERF.map((p) => p[0]), [ERF.length], 'float32');
    // Inputs are rounded to float32 first: erf'(x) = 2/√π e^{-x²} <= 1.13, so the rounding of x moves erf by
    // at most 1.13 · |x| · 2^-24; allow that plus one float32 ulp of the output.
    const tol = ERF.map(([x0, y]) => 1.13 * Math.abs(x0) * 2 ** -24 * Math.exp(-x0 * x0) + 2 ** -23 * Math.abs(y));
    expectClose(valuesOf(T.erf(x)), ERF.map((p) => p[1]), tol, 'erf f32');
  });

  it('erfinv matches high-precision values at the same doubles (float64, 1e-15 relative: 4.5 ulp)', () => {
    const y = makeTensor(ERFINV.map((p) => p[0]), [ERFINV.length]);
    expectClose(valuesOf(T.erfinv(y)), ERFINV.map((p) => p[1]), { rtol: 1e-15, atol: 0 }, 'erfinv');
  });

  it('float32 erfinv is Giles\' polynomial: high-precision values within 2e-7 relative plus the input rounding', () => {
    // 0.9999999999 rounds to 1 in float32 (erfinv = ∞, tested below); the rest stay inside (-1, 1).
    const table = ERFINV.filter(([y0]) => Math.abs(Math.fround(y0)) < 1);
    const y = makeTensor(table.map((p) => p[0]), [table.length], 'float32');
    // Rounding y to float32 moves x by |y - fround(y)| · √π/2 · e^{x²}; Giles' polynomial is within
    // 1.3e-7 relative on float32 inputs (measured on 2e6 of them), plus the final rounding (6e-8).
    const tol = table.map(([y0, x]) => Math.abs(y0 - Math.fround(y0)) * (Math.sqrt(Math.PI) / 2) * Math.exp(x * x) * 1.01 + 2e-7 * Math.abs(x));
    expectClose(valuesOf(T.erfinv(y)), table.map((p) => p[1]), tol, 'erfinv f32');
  });

  it('erfinv near ±1 is accurate for the y given (SciPy\'s erfinv at the same doubles), not only erf(x) ≈ y', () => {
    const table: [number, number][] = [
      [0.9999999999999979, 5.6107061192359255],
      [1 - 2 ** -53, 5.8635847487551676],
      [-(1 - 2 ** -52), -5.805018683193453],
      [0.99999999, 4.052237243268763],
    ];
    const y = makeTensor(table.map((p) => p[0]), [table.length]);
    expectClose(valuesOf(T.erfinv(y)), table.map((p) => p[1]), { rtol: 4e-16 }, 'erfinv');
  });

  it('erfinv at and beyond the ends of its domain', () => {
    const y = makeTensor([1, -1, 1.5, -2, NaN, 0], [6]);
    expect(valuesOf(T.erfinv(y))).toEqual([Infinity, -Infinity, NaN, NaN, NaN, 0]);
  });

  it('erfinv(erf(x)) = x and erf(erfinv(y)) = y (float64)', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), (x) => {
        const back = T.erfinv(T.erf(makeTensor([x], [1]))).dataSync()[0];
        // d erfinv / dy = √π/2 · e^{x²}: one ulp of erf(x) near 1 moves x by up to ~8e-13 at |x| = 3.
        const tol = 1e-14 + 2 ** -52 * (Math.sqrt(Math.PI) / 2) * Math.exp(x * x) * 2;
        expect(Math.abs(back - x)).toBeLessThanOrEqual(tol);
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(fc.double({ min: -0.9999, max: 0.9999, noNaN: true }), (y) => {
        const back = T.erf(T.erfinv(makeTensor([y], [1]))).dataSync()[0];
        expect(Math.abs(back - y)).toBeLessThanOrEqual(4e-16);
      }),
      { numRuns: 100 },
    );
  });

  it('erfinv(erf(x)) = x in float32 at float32 tolerance', () => {
    const xs = f32(randomValues(7, 200, -2.5, 2.5));
    const back = valuesOf(T.erfinv(T.erf(makeTensor(xs, [xs.length], 'float32'))));
    // Rounding erf(x) to float32 moves erfinv by up to 2^-24 · √π/2 · e^{x²}.
    const tol = xs.map((x) => 2 ** -23 * (Math.abs(x) + (Math.sqrt(Math.PI) / 2) * Math.exp(x * x)));
    expectClose(back, xs, tol, 'erfinv(erf(x)) f32');
  });
});

interface BinaryCase {
  op: (a: T.TensorLike, b: T.TensorLike) => T.Tensor;
  ref: (a: number, b: number) => number;
  lo: number;
  hi: number;
  /** Second operand's range when it differs. */
  lo2?: number;
  hi2?: number;
  /** Draw integer-valued floats so that ties and equalities occur. */
  ints?: boolean;
  bool?: boolean;
}

const BINARY: Record<string, BinaryCase> = {
  add: { op: T.add, ref: (a, b) => a + b, lo: -10, hi: 10 },
  sub: { op: T.sub, ref: (a, b) => a - b, lo: -10, hi: 10 },
  mul: { op: T.mul, ref: (a, b) => a * b, lo: -10, hi: 10 },
  div: { op: T.div, ref: (a, b) => a / b, lo: -10, hi: 10, lo2: 0.5, hi2: 4 },
  pow: { op: T.pow, ref: Math.pow, lo: 0.01, hi: 5, lo2: -3, hi2: 3 },
  maximum: { op: T.maximum, ref: Math.max, lo: -3, hi: 3, ints: true },
  minimum: { op: T.minimum, ref: Math.min, lo: -3, hi: 3, ints: true },
  atan2: { op: T.atan2, ref: Math.atan2, lo: -5, hi: 5 },
  equal: { op: T.equal, ref: (a, b) => +(a === b), lo: -2, hi: 2, ints: true, bool: true },
  notEqual: { op: T.notEqual, ref: (a, b) => +(a !== b), lo: -2, hi: 2, ints: true, bool: true },
  less: { op: T.less, ref: (a, b) => +(a < b), lo: -2, hi: 2, ints: true, bool: true },
  lessEqual: { op: T.lessEqual, ref: (a, b) => +(a <= b), lo: -2, hi: 2, ints: true, bool: true },
  greater: { op: T.greater, ref: (a, b) => +(a > b), lo: -2, hi: 2, ints: true, bool: true },
  greaterEqual: { op: T.greaterEqual, ref: (a, b) => +(a >= b), lo: -2, hi: 2, ints: true, bool: true },
};

/** Reference of a broadcast binary op by index arithmetic. */
function refBinary(
  f: (a: number, b: number) => number,
  a: readonly number[],
  aShape: readonly number[],
  b: readonly number[],
  bShape: readonly number[],
): { values: number[]; shape: number[] } {
  const shape = refBroadcast(aShape, bShape)!;
  const values = Array.from({ length: sizeOfShape(shape) }, (_, i) => {
    const idx = unravel(i, shape);
    return f(a[broadcastIndex(idx, aShape)], b[broadcastIndex(idx, bShape)]);
  });
  return { values, shape };
}

describe('binary ops with broadcasting against an index-arithmetic reference', () => {
  for (const [name, c] of Object.entries(BINARY)) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${name} ${dtype}`, () => {
        fc.assert(
          fc.property(broadcastPairArb(4, 3), fc.integer(), ([sa, sb], seed) => {
            const draw = (s: number, shape: number[], lo: number, hi: number) =>
              c.ints ? randomInts(s, sizeOfShape(shape), lo, hi) : randomValues(s, sizeOfShape(shape), lo, hi);
            let a = draw(seed, sa, c.lo, c.hi);
            let b = draw(seed + 1, sb, c.lo2 ?? c.lo, c.hi2 ?? c.hi);
            if (dtype === 'float32') [a, b] = [f32(a), f32(b)];
            const out = c.op(makeTensor(a, sa, dtype), makeTensor(b, sb, dtype));
            const ref = refBinary(c.ref, a, sa, b, sb);
            expect(out.shape).toEqual(ref.shape);
            expect(out.dtype).toBe(c.bool ? 'bool' : dtype);
            const expected = dtype === 'float32' && !c.bool ? ref.values.map(Math.fround) : ref.values;
            expectClose(valuesOf(out), expected, c.bool ? { rtol: 0 } : dtype === 'float64' ? TOL64 : TOL32, name);
          }),
          { numRuns: 30 },
        );
      });
    }
  }

  it('logicalAnd / logicalOr broadcast over bools', () => {
    fc.assert(
      fc.property(broadcastPairArb(3, 3), fc.integer(), ([sa, sb], seed) => {
        const a = randomInts(seed, sizeOfShape(sa), 0, 1);
        const b = randomInts(seed + 1, sizeOfShape(sb), 0, 1);
        const ta = makeTensor(a, sa, 'bool');
        const tb = makeTensor(b, sb, 'bool');
        expectClose(valuesOf(T.logicalAnd(ta, tb)), refBinary((x, y) => +(x && y), a, sa, b, sb).values, { rtol: 0 });
        expectClose(valuesOf(T.logicalOr(ta, tb)), refBinary((x, y) => +(x || y), a, sa, b, sb).values, { rtol: 0 });
      }),
      RUNS,
    );
  });

  it('int32 add, sub, mul wrap around modulo 2^32 (checked with BigInt)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (pairs) => {
          const a = makeTensor(pairs.map((p) => p[0]), [pairs.length], 'int32');
          const b = makeTensor(pairs.map((p) => p[1]), [pairs.length], 'int32');
          const wrap = (f: (x: bigint, y: bigint) => bigint) => pairs.map(([x, y]) => Number(BigInt.asIntN(32, f(BigInt(x), BigInt(y)))));
          expect(valuesOf(T.add(a, b))).toEqual(wrap((x, y) => x + y));
          expect(valuesOf(T.sub(a, b))).toEqual(wrap((x, y) => x - y));
          expect(valuesOf(T.mul(a, b))).toEqual(wrap((x, y) => x * y));
        },
      ),
      RUNS,
    );
  });

  it('uint32 mul wraps modulo 2^32', () => {
    const a = makeTensor([0xffffffff, 0x10000, 3], [3], 'uint32');
    const b = makeTensor([0xffffffff, 0x10000, 0x80000000], [3], 'uint32');
    const expected = [0, 0, 0].map((_, i) => Number(BigInt.asUintN(32, BigInt(a.dataSync()[i]) * BigInt(b.dataSync()[i]))));
    expect(valuesOf(T.mul(a, b))).toEqual(expected);
    expect(T.mul(a, b).dtype).toBe('uint32');
  });
});

describe('where, cast, clip', () => {
  it('where(cond, x, y) broadcasts all three', () => {
    fc.assert(
      fc.property(broadcastPairArb(3, 3), shapeArb(2, 3), fc.integer(), ([sx, sy], sc0, seed) => {
        const full = refBroadcast(sx, sy)!;
        // cond's shape: a suffix of the broadcast shape, some axes set to 1.
        const sc = full.slice(full.length - Math.min(full.length, sc0.length)).map((d, i) => (sc0[i] % 2 === 0 ? 1 : d));
        const c = randomInts(seed, sizeOfShape(sc), 0, 1);
        const x = randomValues(seed + 1, sizeOfShape(sx));
        const y = randomValues(seed + 2, sizeOfShape(sy));
        const out = T.where(makeTensor(c, sc, 'bool'), makeTensor(x, sx), makeTensor(y, sy));
        const shape = refBroadcast(sc, sx, sy)!;
        expect(out.shape).toEqual(shape);
        const expected = Array.from({ length: sizeOfShape(shape) }, (_, i) => {
          const idx = unravel(i, shape);
          return c[broadcastIndex(idx, sc)] ? x[broadcastIndex(idx, sx)] : y[broadcastIndex(idx, sy)];
        });
        expect(valuesOf(out)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('where takes weakly typed numbers and casts a numeric condition to bool', () => {
    const out = T.where(makeTensor([0, 2, -1], [3]), 1, makeTensor([5, 6, 7], [3], 'int32'));
    expect(out.dtype).toBe('int32');
    expect(valuesOf(out)).toEqual([5, 1, 1]);
  });

  it('cast follows C/NumPy conversion rules', () => {
    const x = [1.7, -1.7, 0, -0.5, 2.5, NaN, 1e-45, -3];
    const t = makeTensor(x, [x.length]);
    // float -> int32 truncates toward zero (NaN -> 0 in this engine).
    expect(valuesOf(T.cast(t, 'int32'))).toEqual([1, -1, 0, -0, 2, 0, 0, -3].map((v) => v | 0));
    // float -> bool is `!= 0` (NaN is true, as in NumPy).
    expect(T.cast(t, 'bool').toArraySync()).toEqual([true, true, false, true, true, true, true, true]);
    // float64 -> float32 rounds to nearest.
    expect(valuesOf(T.cast(t, 'float32'))).toEqual(f32(x));
    // bool -> float is 0/1; int32 -> uint32 is modulo 2^32.
    expect(valuesOf(T.cast(T.tensor([true, false]), 'float64'))).toEqual([1, 0]);
    expect(valuesOf(T.cast(makeTensor([-1, 5], [2], 'int32'), 'uint32'))).toEqual([4294967295, 5]);
    expect(valuesOf(T.cast(makeTensor([4294967295, 5], [2], 'uint32'), 'int32'))).toEqual([-1, 5]);
    expect(T.cast(t, 'float64')).toBe(t);
  });

  it('clip matches min(max(x, lo), hi), with broadcast bounds and one-sided use', () => {
    fc.assert(
      fc.property(shapeArb(3, 4), fc.integer(), fc.double({ min: -1, max: 0, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (shape, seed, lo, hi) => {
        const x = randomValues(seed, sizeOfShape(shape), -2, 2);
        const t = makeTensor(x, shape);
        expect(valuesOf(T.clip(t, lo, hi))).toEqual(x.map((v) => Math.min(Math.max(v, lo), hi)));
        expect(valuesOf(T.clip(t, lo))).toEqual(x.map((v) => Math.max(v, lo)));
        expect(valuesOf(T.clip(t, undefined, hi))).toEqual(x.map((v) => Math.min(v, hi)));
      }),
      RUNS,
    );
    const t = makeTensor([-5, 0, 5, 0.5], [2, 2]);
    const out = T.clip(t, makeTensor([-1, 1], [2]), 2);
    expect(valuesOf(out)).toEqual([-1, 1, 2, 1]);
  });

  it("pow follows C's pow (NumPy's), not Math.pow: 1^NaN = 1^±Infinity = (-1)^±Infinity = 1", () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const a = makeTensor([1, 1, -1, -1, NaN, 2, -2, 0], [8], dtype);
      const b = makeTensor([NaN, -Infinity, Infinity, -Infinity, 0, NaN, 0.5, -1], [8], dtype);
      expect(valuesOf(T.pow(a, b)), dtype).toEqual([1, 1, 1, 1, 1, NaN, NaN, Infinity]);
    }
  });

  it('maximum and minimum propagate NaN', () => {
    const a = makeTensor([NaN, 1, 2], [3]);
    const b = makeTensor([0, NaN, 1], [3]);
    expect(valuesOf(T.maximum(a, b))).toEqual([NaN, NaN, 2]);
    expect(valuesOf(T.minimum(a, b))).toEqual([NaN, NaN, 1]);
  });
});
