/**
 * The transcendental functions of float64 tensors, as float64 programs (`f64-program.ts`) that run
 * both as the eager JS kernels and as jit's f64x2 WebAssembly lanes, bit for bit alike (as float32's
 * do, `float32-math.ts`). They share float32's kernels over float64's whole range: exp and expm1
 * reach overflow and the subnormals, log and log1p read subnormal and huge inputs, sigmoid and
 * softplus use that exp; tanh corrects its quotient once. Each is within about 1-2 ulp of the exact value, as `Math.*` (fdlibm) is within 1.
 * erfinv is a fit of our own (`scripts/fit-erfinv-f64.py`): polynomials in w = -log(1 - y²) or √w
 * (Giles' variables), near-minimax, under 5e-17 relative before rounding.
 */
import { type F64Ops, type F64Program, jsFunction } from './f64-program';
import { estrin, LN2_HI, LN2_LO, type LogOfNormal, log1pWith, logFinite, logSpecial, reduceLn2, ROUNDER, sigmoidWith, softplusWith } from './float32-math';

/** e^x overflows above 709.78 and underflows to 0 below -745.13; clamped here, both stay at their limit. */
const EXP_RANGE = [-746, 710] as const;
/** 1 / n! for n = 2..13, the series of (e^r - 1 - r) / r². */
const EXP_SERIES = Array.from({ length: 12 }, (_, i) => 1 / Array.from({ length: i + 2 }, (_, j) => j + 1).reduce((a, b) => a * b, 1));

/** a + b rounded, and its rounding error (exact: Knuth's TwoSum, any magnitudes). */
function twoSum<V, M>(o: F64Ops<V, M>, a: V, b: V): readonly [V, V] {
  const s = o.add(a, b);
  const bb = o.sub(s, a);
  return [s, o.add(o.sub(a, o.sub(s, bb)), o.sub(b, bb))];
}

/**
 * x = k ln 2 + r + tail for x in EXP_RANGE, |r| <= ln 2 / 2, with r = (x - k LN2_HI) - k LN2_LO
 * rounded and `tail` that rounding's error: e^r then starts from r as if it were exact.
 */
function reduceLn2WithTail<V, M>(o: F64Ops<V, M>, x: V): { k: V; r: V; tail: V } {
  const { k } = reduceLn2(o, x);
  const hi = o.sub(x, o.mul(k, o.c(LN2_HI)));
  const [r, tail] = twoSum(o, hi, o.neg(o.mul(k, o.c(LN2_LO))));
  return { k, r, tail };
}

/** e^(r + tail) - 1 - r, to well under an ulp of e^r: r² Σ rⁿ/(n + 2)!, plus tail · e^r to first order. */
function expSmallTerms<V, M>(o: F64Ops<V, M>, r: V, tail: V): V {
  return o.add(o.mul(o.mul(r, r), estrin(o, r, EXP_SERIES)), o.mul(tail, o.add(o.c(1), r)));
}

/** e^(r + tail) = (1 + r) + small terms, 1 + r split exactly (Fast2Sum) so that only the last add rounds much. */
function expReduced<V, M>(o: F64Ops<V, M>, r: V, tail: V): V {
  const s = o.add(o.c(1), r);
  return o.add(s, o.add(o.add(o.sub(o.c(1), s), r), expSmallTerms(o, r, tail)));
}

/** 2^k as 2^k1 · 2^k2 with k1 = round(k / 2): each factor within `pow2`'s range for |k| <= 2044. */
function pow2Halves<V, M>(o: F64Ops<V, M>, k: V): readonly [V, V] {
  const k1 = o.sub(o.add(o.mul(k, o.c(0.5)), o.c(ROUNDER)), o.c(ROUNDER));
  return [o.pow2(k1), o.pow2(o.sub(k, k1))];
}

/**
 * e^x = e^(r + tail) · 2^k1 · 2^k2: the first product is exact (a normal number), the second rounds
 * once, also into the subnormals.
 */
export const exp: F64Program = (o, x) => {
  const { k, r, tail } = reduceLn2WithTail(o, o.pmin(o.pmax(x, o.c(EXP_RANGE[0])), o.c(EXP_RANGE[1])));
  const [s1, s2] = pow2Halves(o, k);
  return o.mul(o.mul(expReduced(o, r, tail), s1), s2);
};

/** Below this, e^x - 1 rounds to -1. */
const EXPM1_LOW = -60;
/** Above this k, 2^k e^r - 1 rounds as 2^k e^r does: the 1 is below its half ulp. */
const EXPM1_LARGE_K = 56;

/**
 * e^x - 1 = (2^k - 1) + 2^k r + 2^k (small terms) while k <= 56: 2^k r is exact, 2^k - 1 and the
 * sum of the two are split exactly (TwoSum: 2^k - 1 rounds from |k| = 54 on), and the roundings'
 * errors join the small terms; keeps the sign of zero. Above, e^x - 1 as exp computes e^x, less 1.
 */
export const expm1: F64Program = (o, x) => {
  const { k, r, tail } = reduceLn2WithTail(o, o.pmin(o.pmax(x, o.c(EXPM1_LOW)), o.c(EXP_RANGE[1])));
  const scale = o.pow2(o.pmin(k, o.c(EXPM1_LARGE_K)));
  const [scaleLess1, scaleLess1Error] = twoSum(o, scale, o.c(-1));
  const [hi, lo] = twoSum(o, scaleLess1, o.mul(scale, r));
  const moderate = o.add(hi, o.add(o.add(lo, scaleLess1Error), o.mul(scale, expSmallTerms(o, r, tail))));
  // x above 39.2 (k > 56): lanes compute it only for vectors with such a lane.
  const large = () => {
    const [s1, s2] = pow2Halves(o, k);
    return o.sub(o.mul(o.mul(expReduced(o, r, tail), s1), s2), o.c(1));
  };
  const value = o.branch(o.lt(o.c(EXPM1_LARGE_K), k), large, moderate);
  return o.select(o.eq(x, o.c(0)), x, value);
};

/** The smallest normal float64. */
const MIN_NORMAL = 2 ** -1022;
/** From here on, x · 2^-e (e = x's exponent from √2/2) needs a 2^-e below `pow2`'s range. */
const HUGE = 2 ** 1000;
/** Subnormal inputs are scaled by 2^54 into the normals, huge ones by 2^-54, before their exponent is read. */
const SHIFT = 54;

/** log x for a positive finite x plus a tiny `correction`: subnormal and huge x scaled by 2^±54 first. */
const logScaled: LogOfNormal = (o, x, correction) => {
  const [subnormal, huge] = [o.lt(x, o.c(MIN_NORMAL)), o.le(o.c(HUGE), x)];
  const scale = o.select(subnormal, o.c(2 ** SHIFT), o.select(huge, o.c(2 ** -SHIFT), o.c(1)));
  const shift = o.select(subnormal, o.c(SHIFT), o.select(huge, o.c(-SHIFT), o.c(0)));
  return logFinite(o, o.mul(x, scale), correction, shift);
};

/** The natural logarithm. */
export const log: F64Program = (o, x) => logSpecial(o, x, logScaled(o, x, o.c(0)));

/** log(1 + x), with u = 1 + x scaled as log scales it. */
export const log1p = log1pWith(logScaled);

/** 2^27 + 1: multiplying by it splits a float64 into two halves of 26 bits (Dekker). */
const SPLITTER = 2 ** 27 + 1;

/** a · b rounded, and its rounding error (exact: Dekker's product, without FMA; no overflow here). */
function twoProduct<V, M>(o: F64Ops<V, M>, a: V, b: V): readonly [V, V] {
  const halves = (v: V) => {
    const c = o.mul(o.c(SPLITTER), v);
    const high = o.sub(c, o.sub(c, v));
    return [high, o.sub(v, high)] as const;
  };
  const [[aHi, aLo], [bHi, bLo]] = [halves(a), halves(b)];
  const p = o.mul(a, b);
  const error = o.add(o.add(o.add(o.sub(o.mul(aHi, bHi), p), o.mul(aHi, bLo)), o.mul(aLo, bHi)), o.mul(aLo, bLo));
  return [p, error];
}

/**
 * tanh |x|, with the sign of x (and of zero). Below 1: -e / (2 + e) for e = e^{-2|x|} - 1, the
 * quotient q corrected once from its exact residual -e - q (2 + e) (TwoSum and Dekker's product),
 * so only e's error and the last add are left. From 1 on: 1 - 2u / (1 + u) for u = e^{-2|x|}, whose
 * second term is small beside 1 (fdlibm's split).
 */
export const tanh: F64Program = (o, x) => {
  const minus2x = o.mul(o.c(-2), o.abs(x));
  const below1 = () => {
    const e = expm1(o, minus2x);
    const [d, dTail] = twoSum(o, o.c(2), e);
    const q = o.div(o.neg(e), d);
    const [p, pTail] = twoProduct(o, q, d);
    // -e - p is exact: p is within an ulp of -e.
    const residual = o.sub(o.sub(o.sub(o.neg(e), p), pTail), o.mul(q, dTail));
    return o.add(q, o.div(residual, d));
  };
  const u = exp(o, minus2x);
  // Lanes run the costlier side below 1 only for vectors with a lane there.
  const t = o.branch(o.lt(o.abs(x), o.c(1)), below1, o.sub(o.c(1), o.div(o.mul(o.c(2), u), o.add(o.c(1), u))));
  return o.select(o.lt(x, o.c(0)), o.neg(t), o.select(o.eq(x, o.c(0)), x, t));
};

/** 1 / (1 + e^{-x}), with float64's exp (no overflow). */
export const sigmoid = sigmoidWith(exp);

/** log(1 + e^x), with float64's exp. */
export const softplus = softplusWith(exp);

// erfinv(y) = y · g(w), w = -log((1 - y)(1 + y)): g as polynomials in w - 3.125 for w < 6.25, in
// √w - 3.25 for w < 16, in √w - 5.025 above (to w = 36.6, |y| = 1 - 2^-53); Chebyshev interpolants
// in 60-digit arithmetic, coefficients lowest power first (scripts/fit-erfinv-f64.py prints them).
const ERFINV_CENTRAL = [
  1.6536545626831027, 0.24015818242558834, -0.006033670871426851, -0.0007407025341546431, 0.00018673420801981186, -1.3882523393957483e-5,
  -1.3654691758785656e-6, 4.23478816822246e-7, -2.907039127564132e-8, -4.1126604371632185e-9, 1.051223377050429e-9, -5.414303283919504e-11,
  -1.2978805369932565e-11, 2.6305268312595183e-12, -8.07192593899004e-14, -4.0020031087558496e-14, 6.521333511502239e-15, -3.94018812230432e-17,
  -1.2215637192404172e-16, 1.5510787009902526e-17, 6.075050702072414e-19, -3.4734793888538036e-19, 1.999259988861535e-20, 3.194015548136271e-21,
  -3.5932028927020693e-22,
];
const ERFINV_MIDDLE = [
  3.0838856104922208, 1.0052589676941655, 0.005370914553555033, -0.0037512085082247342, 0.00249144209795696, -0.0016882755354488555,
  0.0009532893415794137, -0.0003550378137852452, 2.4031512865758357e-5, 6.828711739251955e-5, -4.732068066544697e-5, 1.2465028224217455e-5,
  2.93257845538535e-6, -3.985705945648173e-6, 1.4815977874022539e-6, -2.761716223816241e-8, -2.4549818963339823e-7, 1.3158663683192966e-7,
  -2.091453334773126e-8, -1.5305397964152548e-8, 7.680200479077053e-9,
];
const ERFINV_TAIL = [
  4.875163823000273, 1.0102931304286793, -0.00015456464403094546, -0.00020755220215723944, 7.357695155409026e-5, -1.9015698998285154e-5,
  4.356195163832743e-6, -9.486874907339499e-7, 2.146271613936911e-7, -6.079575244694694e-8, 2.5142547570905275e-8, -1.3079360957457724e-8,
  6.744891555341791e-9, -3.0285467649816633e-9, 1.1783089394787822e-9, -4.126896962578338e-10, 7.429128467992052e-11, 3.52974920107886e-11,
  -1.7710309893185202e-11,
];

/**
 * Σ cs[i] tⁱ as c0 + t (c1 + t E) with E the rest by Estrin's scheme: the two Horner steps keep the
 * large low-order terms' roundings apart (erfinv's worst error 4.4 -> 2.2 ulp over its central
 * range, 3.5 -> 3.0 in the tail, in a double-precision emulation against mpmath).
 */
function polynomial<V, M>(o: F64Ops<V, M>, t: V, cs: readonly number[]): V {
  return o.add(o.c(cs[0]), o.mul(t, o.add(o.c(cs[1]), o.mul(t, estrin(o, t, cs.slice(2))))));
}

/** The inverse error function on [-1, 1] (±1 give ±∞, beyond NaN); keeps the sign of zero. */
export const erfinv: F64Program = (o, y) => {
  const w = o.neg(log(o, o.mul(o.sub(o.c(1), y), o.add(o.c(1), y))));
  const central = polynomial(o, o.sub(w, o.c(3.125)), ERFINV_CENTRAL);
  // |y| >= 0.999 (w >= 6.25) is rare in a normal draw: lanes compute the outer polynomials only then.
  const outer = () => {
    const root = o.sqrt(w);
    const middle = polynomial(o, o.sub(root, o.c(3.25)), ERFINV_MIDDLE);
    return o.select(o.lt(w, o.c(16)), middle, polynomial(o, o.sub(root, o.c(5.025)), ERFINV_TAIL));
  };
  const g = o.branch(o.le(o.c(6.25), w), outer, central);
  return o.select(o.eq(o.abs(y), o.c(1)), o.mul(y, o.c(Infinity)), o.mul(y, g));
};

/** The programs by primitive name. */
export const FLOAT64_PROGRAMS = { exp, expm1, log, log1p, tanh, sigmoid, softplus, erfinv } as const;
export type Float64Op = keyof typeof FLOAT64_PROGRAMS;

/**
 * The programs as JS functions, for the eager float64 kernels.
 *
 * @example
 * FLOAT64_MATH.exp(1); // 2.718281828459045
 */
export const FLOAT64_MATH = Object.fromEntries(Object.entries(FLOAT64_PROGRAMS).map(([name, p]) => [name, jsFunction(p)])) as Record<
  Float64Op,
  (x: number) => number
>;
