/**
 * The transcendental functions of float32 tensors, evaluated in float64 (~1 ulp there, so the float32
 * result is almost always the correctly rounded one) by programs (`f64-program.ts`) that run both as
 * the eager JS kernels and as jit's f64x2 WebAssembly lanes, bit for bit alike. Float64 tensors have
 * programs of their own over float64's whole range (`float64-math.ts`), built from these kernels.
 */
import { type F64Ops, type F64Program, jsFunction } from './f64-program';

// ln 2 = LN2_HI + LN2_LO, LN2_HI with trailing zero bits so that k · LN2_HI is exact (fdlibm's).
export const LN2_HI = 6.93147180369123816490e-1;
export const LN2_LO = 1.90821492927058770002e-10;
/** Adding then subtracting 1.5 · 2^52 rounds a float64 below 2^51 to an integer (ties to even). */
export const ROUNDER = 1.5 * 2 ** 52;
/** exp of |x| beyond this overflows (or underflows) float32 by far, and 2^(x / ln 2) stays normal. */
const EXP_CLAMP = 200;
/** 1 / n! for n = 0..13 (each one division, correctly rounded). */
const INV_FACTORIAL = Array.from({ length: 14 }, (_, n) => 1 / Array.from({ length: n }, (_, i) => i + 1).reduce((a, b) => a * b, 1));

/**
 * x = k ln 2 + r with k = round(x / ln 2), |r| <= ln 2 / 2 (Cody-Waite: r = (x - k LN2_HI) - k LN2_LO),
 * for |x| <= EXP_CLAMP.
 */
export function reduceLn2<V, M>(o: F64Ops<V, M>, x: V): { k: V; r: V } {
  const k = o.sub(o.add(o.mul(x, o.c(1 / Math.LN2)), o.c(ROUNDER)), o.c(ROUNDER));
  const r = o.sub(o.sub(x, o.mul(k, o.c(LN2_HI))), o.mul(k, o.c(LN2_LO)));
  return { k, r };
}

/**
 * Σ cs[i] xⁱ by Estrin's scheme: pairs cs[i] + cs[i + 1] x, then pairs of those with x², x⁴, ...
 * (dependency chains of log2 n steps, not n as with Horner's rule: the lanes wait less).
 */
export function estrin<V, M>(o: F64Ops<V, M>, x: V, cs: readonly number[]): V {
  let terms = cs.map((c) => o.c(c));
  let power = x;
  while (terms.length > 1) {
    terms = terms.flatMap((t, i) => (i % 2 === 1 ? [] : i + 1 < terms.length ? [o.add(t, o.mul(terms[i + 1], power))] : [t]));
    if (terms.length > 1) power = o.mul(power, power);
  }
  return terms[0];
}

/** e^r - 1 for |r| <= ln 2 / 2: its Taylor series to r^13 (the rest is below 1e-17 relative). */
export function expm1Reduced<V, M>(o: F64Ops<V, M>, r: V): V {
  return o.add(r, o.mul(o.mul(r, r), estrin(o, r, INV_FACTORIAL.slice(2))));
}

/** x clamped to [-EXP_CLAMP, EXP_CLAMP] (a NaN stays NaN). */
const clampExp = <V, M>(o: F64Ops<V, M>, x: V) => o.pmin(o.pmax(x, o.c(-EXP_CLAMP)), o.c(EXP_CLAMP));

/** e^x = 2^k (1 + (e^r - 1)). */
export const exp: F64Program = (o, x) => {
  const { k, r } = reduceLn2(o, clampExp(o, x));
  return o.mul(o.pow2(k), o.add(o.c(1), expm1Reduced(o, r)));
};

/** e^x - 1 = 2^k (e^r - 1) + (2^k - 1), keeping the sign of zero. */
export const expm1: F64Program = (o, x) => {
  const { k, r } = reduceLn2(o, clampExp(o, x));
  const scale = o.pow2(k);
  const value = o.add(o.mul(scale, expm1Reduced(o, r)), o.sub(scale, o.c(1)));
  return o.select(o.eq(x, o.c(0)), x, value);
};

/** log(1 + f) - f for f = m - 1, m in [√2/2, √2) (fdlibm's log kernel: s = f / (2 + f), Remez in s²). */
function log1pReducedMinusF<V, M>(o: F64Ops<V, M>, f: V): { s: V; hfsq: V; r: V } {
  const s = o.div(f, o.add(o.c(2), f));
  const z = o.mul(s, s);
  const w = o.mul(z, z);
  const t1 = o.mul(w, o.add(o.c(3.999999999940941908e-1), o.mul(w, o.add(o.c(2.222219843214978396e-1), o.mul(w, o.c(1.531383769920937332e-1))))));
  const inner = o.add(o.c(2.857142874366239149e-1), o.mul(w, o.add(o.c(1.818357216161805012e-1), o.mul(w, o.c(1.479819860511658591e-1)))));
  const t2 = o.mul(z, o.add(o.c(6.666666666666735130e-1), o.mul(w, inner)));
  return { s, hfsq: o.mul(o.mul(o.c(0.5), f), f), r: o.add(t2, t1) };
}

/**
 * log x for a positive normal finite x, plus `correction` if given (a tiny addend: log1p's rounding
 * term); `shift`, if given, is subtracted from the exponent (x was scaled by 2^shift beforehand).
 */
export function logFinite<V, M>(o: F64Ops<V, M>, x: V, correction?: V, shift?: V): V {
  const e = o.exponent(x);
  const f = o.sub(o.mul(x, o.pow2(o.neg(e))), o.c(1)); // m = x 2^-e, exact
  const k = shift === undefined ? e : o.sub(e, shift);
  const { s, hfsq, r } = log1pReducedMinusF(o, f);
  // k ln 2 + f - f²/2 + s (f²/2 + R), the small terms first (fdlibm's order), plus the correction.
  const kLo = o.mul(k, o.c(LN2_LO));
  const small = o.add(o.mul(s, o.add(hfsq, r)), correction === undefined ? kLo : o.add(kLo, correction));
  return o.sub(o.mul(k, o.c(LN2_HI)), o.sub(o.sub(hfsq, small), f));
}

/** log x where x is 0, negative, infinite or NaN: -∞, NaN, x, NaN. */
export function logSpecial<V, M>(o: F64Ops<V, M>, x: V, finite: V): V {
  const regular = o.and(o.lt(o.c(0), x), o.lt(x, o.c(Infinity)));
  return o.select(regular, finite, o.select(o.eq(x, o.c(0)), o.c(-Infinity), o.select(o.lt(x, o.c(0)), o.c(NaN), x)));
}

/** The natural logarithm. */
export const log: F64Program = (o, x) => logSpecial(o, x, logFinite(o, x));

/** log x for a positive normal finite x plus a tiny `correction`, as `logFinite` computes it. */
export type LogOfNormal = <V, M>(o: F64Ops<V, M>, x: V, correction: V) => V;

/**
 * log(1 + x) = log u + (1 + x - u) / u for u = 1 + x rounded, the rounding error 1 + x - u exact
 * (Fast2Sum, the larger operand first); keeps the sign of zero. `logOf` computes the log of u.
 */
export const log1pWith =
  (logOf: LogOfNormal): F64Program =>
  (o, x) => {
    const u = o.add(o.c(1), x);
    const error = o.select(o.le(o.c(1), x), o.sub(o.c(1), o.sub(u, x)), o.sub(x, o.sub(u, o.c(1))));
    const value = logSpecial(o, u, logOf(o, u, o.div(error, u)));
    return o.select(o.eq(x, o.c(0)), x, value);
  };

/** log(1 + x). */
export const log1p = log1pWith((o, u, correction) => logFinite(o, u, correction));

/** tanh |x| = -e / (2 + e) for e = e^{-2|x|} - 1, with the sign of x (and of zero). */
export const tanh: F64Program = (o, x) => {
  const e = expm1(o, o.mul(o.c(-2), o.abs(x)));
  const t = o.div(o.neg(e), o.add(o.c(2), e));
  return o.select(o.lt(x, o.c(0)), o.neg(t), o.select(o.eq(x, o.c(0)), x, t));
};

/** 1 / (1 + e^{-x}) as 1 / (1 + e) for x >= 0 and e / (1 + e) below, e = e^{-|x|} (no overflow), with `exp` the given program. */
export const sigmoidWith =
  (exp: F64Program): F64Program =>
  (o, x) => {
    const e = exp(o, o.neg(o.abs(x)));
    return o.div(o.select(o.le(o.c(0), x), o.c(1), e), o.add(o.c(1), e));
  };

/** 1 / (1 + e^{-x}). */
export const sigmoid = sigmoidWith(exp);

/** log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), with `exp` the given program. */
export const softplusWith =
  (exp: F64Program): F64Program =>
  (o, x) =>
    o.add(o.max(x, o.c(0)), log1p(o, exp(o, o.neg(o.abs(x)))));

/** log(1 + e^x). */
export const softplus = softplusWith(exp);

/**
 * Giles' (2010) single-precision erfinv: w = -log(1 - y²), a polynomial in w - 2.5 below 5, in
 * √w - 3 above (as XLA and the WGSL kernel compute it), times y; ±1 give ±∞.
 */
export const erfinv: F64Program = (o, y) => {
  const w = o.neg(log(o, o.mul(o.sub(o.c(1), y), o.add(o.c(1), y))));
  // Giles' coefficients, highest power first.
  const central = estrin(o, o.sub(w, o.c(2.5)), [
    2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941,
  ].reverse());
  // |y| > 0.9966 (w >= 5) is rare in a normal draw: lanes compute the tail only then.
  const tail = () =>
    estrin(o, o.sub(o.sqrt(w), o.c(3)), [
      -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682,
    ].reverse());
  const value = o.mul(o.branch(o.le(o.c(5), w), tail, central), y);
  return o.select(o.eq(o.abs(y), o.c(1)), o.mul(y, o.c(Infinity)), value);
};

/** The programs by primitive name. */
export const FLOAT32_PROGRAMS = { exp, expm1, log, log1p, tanh, sigmoid, softplus, erfinv } as const;
export type Float32Op = keyof typeof FLOAT32_PROGRAMS;

/**
 * The programs as JS functions, for the eager float32 kernels (their result rounded to float32 on
 * store).
 *
 * @example
 * Math.fround(FLOAT32_MATH.exp(1)); // Math.fround(Math.E)
 */
export const FLOAT32_MATH = Object.fromEntries(Object.entries(FLOAT32_PROGRAMS).map(([name, p]) => [name, jsFunction(p)])) as Record<
  Float32Op,
  (x: number) => number
>;
