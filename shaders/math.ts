/**
 * Float32 special functions for WGSL, written so that they are accurate over the whole range and the
 * same on every adapter (WGSL promises builtin `sin`/`cos` only 2^-11 absolute inside [-pi, pi], and
 * `exp` 3 + 2|x| ulp; lavapipe's builtin `log` near 1 and `tanh` for large arguments are far off):
 * series near zero, the stable identities elsewhere, and range reductions done in integers. The CPU
 * backend's float64 versions are the reference.
 */
export const MATH = /* wgsl */ `
fn m_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn m_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn m_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }

// exp: e^x = 2^k e^r with k = round(x / ln 2) and r = x - k ln 2, |r| <= ln(2) / 2, by Cody and
// Waite (ln 2's first part has 16 bits, so k times it is exact for |k| <= 2^8).
fn m_exp(x: f32) -> f32 {
  if (!(x <= 88.72283935546875)) { return select(m_inf(), x, m_isnan(x)); }
  if (x < -103.972084) { return 0.0; }
  let k = round(x * 1.44269504088896341);
  let hi = x - k * 0.693145751953125;
  let lo = k * 1.428606765330187e-6;
  let r = hi - lo;
  return m_scale(m_exp_reduced(r, (hi - r) - lo), i32(k)); // (hi - r) - lo: r's rounding error
}

// e^(r + c) for |r| <= ln(2) / 2 and a tiny c: Taylor's series to r^8, whose remainder is under 0.1 ulp.
fn m_exp_reduced(r: f32, c: f32) -> f32 {
  var p = 1.0 / 40320.0;
  p = 1.0 / 5040.0 + r * p;
  p = 1.0 / 720.0 + r * p;
  p = 1.0 / 120.0 + r * p;
  p = 1.0 / 24.0 + r * p;
  p = 1.0 / 6.0 + r * p;
  p = 0.5 + r * p;
  return 1.0 + (r + (r * r * p + c));
}

// v 2^k for k in [-252, 254], in two exact halves.
fn m_pow2(k: i32) -> f32 { return bitcast<f32>(u32(k + 127) << 23u); }
fn m_scale(v: f32, k: i32) -> f32 { return v * m_pow2(k / 2) * m_pow2(k - k / 2); }

// 2/pi to 288 bits after a zero word: the table of m_rem_pio2's Payne-Hanek reduction.
var<private> TWO_OVER_PI: array<u32, 10> = array<u32, 10>(0u, 0xA2F9836Eu, 0x4E441529u, 0xFC2757D1u,
  0xF534DDC0u, 0xDB629599u, 0x3C439041u, 0xFE5163ABu, 0xDEBBC561u, 0xB7246E3Au);

// The 32 bits of TWO_OVER_PI from bit b (0 = the top bit of word 0).
fn m_two_over_pi_bits(b: u32) -> u32 {
  let w = b >> 5u;
  let s = b & 31u;
  if (s == 0u) { return TWO_OVER_PI[w]; }
  return (TWO_OVER_PI[w] << s) | (TWO_OVER_PI[w + 1u] >> (32u - s));
}

// The 64-bit product of two u32 as (high word, low word), from 16-bit halves.
fn m_mul_wide(a: u32, b: u32) -> vec2u {
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = ((al * bl) >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2u(ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}

// |x| = (n + f) pi/2 with n an integer and |f| <= 1/2, for finite |x| >= pi/4: f pi/2 as hi + lo
// (about 48 bits) and n mod 4. Payne and Hanek's reduction in integers, exact on any adapter: with
// |x| = m 2^e (m the 24-bit significand), 2/pi's bits of weight 2^-i for i < e - 1 add multiples of 4
// to |x| 2/pi, so m times the 96 bits from i = e - 1 on gives |x| 2/pi mod 4 to 2^-70, more than
// float32's worst case needs (no float32 is within 2^-40 of a multiple of pi/2 in these units).
struct Reduced { hi: f32, lo: f32, quadrant: u32 }
fn m_rem_pio2(ax: f32) -> Reduced {
  let bits = bitcast<u32>(ax);
  let m = (bits & 0x7fffffu) | 0x800000u;
  let b = (bits >> 23u) - 120u; // bit e - 1 of 2/pi is bit e + 30 of the table, e = biased exponent - 150
  let p2 = m_mul_wide(m, m_two_over_pi_bits(b + 64u));
  let p1 = m_mul_wide(m, m_two_over_pi_bits(b + 32u));
  let q1 = p2.x + p1.y;
  let q2 = p1.x + m * m_two_over_pi_bits(b) + select(0u, 1u, q1 < p2.x);
  // |x| 2/pi mod 4 = q2 2^-30 + q1 2^-62 + p2.y 2^-94: the quadrant above bit 30 of q2, f below it.
  var n = q2 >> 30u;
  var f2 = q2 & 0x3fffffffu;
  var f1 = q1;
  var f0 = p2.y;
  let negative = f2 >= 0x20000000u;
  if (negative) { // f >= 1/2: the next quadrant, and f - 1 by its magnitude 2^94 - F
    n += 1u;
    f0 = ~f0 + 1u;
    let c0 = select(0u, 1u, f0 == 0u);
    f1 = ~f1 + c0;
    f2 = (~f2 + select(0u, 1u, f1 == 0u && c0 == 1u)) & 0x3fffffffu;
  }
  // The top 32 bits t of F, normalized: F ~ t 2^(64 - z), so |f| pi/2 ~ t (pi/2 2^31) 2^(-61 - z).
  var top = f2;
  var next = f1;
  var z = 0u;
  if (top == 0u) { top = f1; next = f0; z = 32u; }
  if (top == 0u) { top = f0; next = 0u; z = 64u; }
  let lz = countLeadingZeros(top);
  let t = select((top << lz) | (next >> (32u - lz)), top, lz == 0u);
  var p = m_mul_wide(t, 0xC90FDAA2u);
  var shift = i32(z + lz);
  if (p.x < 0x80000000u) { p = vec2u((p.x << 1u) | (p.y >> 31u), p.y << 1u); shift += 1; }
  var hi = f32(p.x >> 8u) * m_pow2(-21 - shift);
  var lo = f32(((p.x & 0xffu) << 16u) | (p.y >> 16u)) * m_pow2(-45 - shift);
  if (t == 0u) { hi = 0.0; lo = 0.0; }
  if (negative) { hi = -hi; lo = -lo; }
  return Reduced(hi, lo, n & 3u);
}

// |x| reduced to [-pi/4, pi/4] (itself when already there).
fn m_reduce(ax: f32) -> Reduced {
  if (ax <= 0.785398) { return Reduced(ax, 0.0, 0u); }
  return m_rem_pio2(ax);
}

// sin and cos of hi + lo on [-pi/4, pi/4] by their Taylor series to r^9 and r^10 (remainders under
// 1e-9), lo entering through its first-order term.
fn m_sin_kernel(r: Reduced) -> f32 {
  let z = r.hi * r.hi;
  let p = -1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0)));
  return r.hi + (r.hi * z * p + r.lo * (1.0 - 0.5 * z));
}
fn m_cos_kernel(r: Reduced) -> f32 {
  let z = r.hi * r.hi;
  let p = 1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0)));
  let hz = 0.5 * z;
  let w = 1.0 - hz;
  // (1 - w) - hz is w's rounding error, exactly, in IEEE order (0.45 ulp at worst); Mesa folds it to 0 (1.2).
  return w + (((1.0 - w) - hz) + (z * z * p - r.hi * r.lo));
}

fn m_sin(x: f32) -> f32 {
  if (!m_isfinite(x)) { return m_nan(); }
  let r = m_reduce(abs(x));
  let s = select(m_sin_kernel(r), m_cos_kernel(r), (r.quadrant & 1u) == 1u);
  let v = select(s, -s, r.quadrant >= 2u);
  return select(v, -v, m_signbit(x));
}

fn m_cos(x: f32) -> f32 {
  if (!m_isfinite(x)) { return m_nan(); }
  let r = m_reduce(abs(x));
  let c = select(m_cos_kernel(r), m_sin_kernel(r), (r.quadrant & 1u) == 1u);
  return select(c, -c, r.quadrant == 1u || r.quadrant == 2u);
}

fn m_tan(x: f32) -> f32 {
  if (!m_isfinite(x)) { return m_nan(); }
  let r = m_reduce(abs(x));
  let s = m_sin_kernel(r);
  let c = m_cos_kernel(r);
  let v = select(s / c, -c / s, (r.quadrant & 1u) == 1u);
  return select(v, -v, m_signbit(x));
}

// expm1: Taylor series (Horner) for |x| <= 0.5, m_exp(x) - 1 beyond, where it cancels no digits.
fn m_expm1(x: f32) -> f32 {
  if (abs(x) > 0.5) { return m_exp(x) - 1.0; }
  var s = 1.0;
  for (var n = 11.0; n >= 2.0; n -= 1.0) { s = 1.0 + s * x / n; }
  return x * s;
}

// log1p: 2 atanh(x / (2 + x)) by its series where |x / (2 + x)| <= 1/3, log(1 + x) elsewhere.
fn m_log1p(x: f32) -> f32 {
  if (x < -0.5 || x > 1.0) { return log(1.0 + x); }
  // log1p(x) rounds to x below 2^-25 or so; the series' x / (2 + x) would lose subnormals (and ±0 keeps its sign).
  if (abs(x) < 1e-8) { return x; }
  let s = x / (2.0 + x);
  let s2 = s * s;
  var t = 1.0 / 21.0;
  for (var k = 19.0; k >= 1.0; k -= 2.0) { t = 1.0 / k + s2 * t; }
  return 2.0 * s * t;
}

// log: near 1 the builtin is only accurate in absolute terms, so log1p(x - 1) there (x - 1 is exact).
fn m_log(x: f32) -> f32 {
  if (x >= 0.5 && x <= 2.0) { return m_log1p(x - 1.0); }
  // A subnormal x scaled by 2^24 (lavapipe's builtin took log(1e-40) for -88.02, not -92.10).
  if (x > 0.0 && x < 1.17549435e-38) { return log(x * 16777216.0) - 16.635532333438686; }
  return log(x);
}

// atan: its odd Taylor series on |x| <= tan(pi/8), reached by Cephes' range reduction (the builtin
// loses relative accuracy near 0 and 1).
fn m_atan_series(x: f32) -> f32 {
  let x2 = x * x;
  var t = 1.0 / 23.0;
  for (var k = 21.0; k >= 1.0; k -= 2.0) { t = 1.0 / k - x2 * t; }
  return x * t;
}

fn m_atan(x: f32) -> f32 {
  let ax = abs(x);
  var r: f32;
  if (ax > 2.414213562) {
    r = 1.570796327 - m_atan_series(1.0 / ax);
  } else if (ax > 0.414213562) {
    r = 0.785398163 + m_atan_series((ax - 1.0) / (ax + 1.0));
  } else {
    r = m_atan_series(ax);
  }
  return select(r, -r, m_signbit(x));
}

// atan2 through m_atan of the smaller ratio, then the quadrant.
fn m_atan2(y: f32, x: f32) -> f32 {
  let pi = 3.14159265358979;
  if (x == 0.0 && y == 0.0) { return select(select(0.0, pi, m_signbit(x)), -select(0.0, pi, m_signbit(x)), m_signbit(y)); }
  if (m_isinf(x) && m_isinf(y)) { // pi/4 or 3 pi/4, where y / x would be NaN
    let q = select(0.25 * pi, 0.75 * pi, m_signbit(x));
    return select(q, -q, m_signbit(y));
  }
  if (abs(y) <= abs(x)) {
    let a = m_atan(y / x);
    if (x > 0.0) { return a; }
    return select(a - pi, a + pi, y >= 0.0 && !m_signbit(y));
  }
  return select(-0.5 * pi, 0.5 * pi, y > 0.0) - m_atan(x / y);
}

fn m_signbit(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }

fn m_tanh(x: f32) -> f32 {
  let e = m_expm1(-2.0 * abs(x));
  let r = -e / (2.0 + e);
  return select(r, -r, m_signbit(x)); // tanh(-0) = -0, as on the CPU
}

// atanh(|x|) = log1p(2|x| / (1 - |x|)) / 2, with x's sign: for x near -1 the same formula on x would
// take log1p near -1, where 1 + y cancels (216 ulp at -0.9989).
fn m_atanh(x: f32) -> f32 {
  let ax = abs(x);
  let r = 0.5 * m_log1p(2.0 * ax / (1.0 - ax));
  return select(r, -r, m_signbit(x));
}

fn m_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + m_exp(-x)); }
  let e = m_exp(x);
  return e / (1.0 + e);
}

fn m_softplus(x: f32) -> f32 { return max(x, 0.0) + m_log1p(m_exp(-abs(x))); }

// erf: the all-positive series (2/sqrt(pi)) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!! for |x| < 1,
// 1 - erfc(x) beyond with erfc from Numerical Recipes' Chebyshev fit (relative error < 1.2e-7).
fn m_erf(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 1.0) {
    let x2 = 2.0 * ax * ax;
    var term = ax;
    var sum = ax;
    for (var n = 1.0; n < 16.0; n += 1.0) {
      term *= x2 / (2.0 * n + 1.0);
      sum += term;
    }
    return sign(x) * 1.1283791670955126 * m_exp(-ax * ax) * sum;
  }
  let t = 1.0 / (1.0 + 0.5 * ax);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return sign(x) * (1.0 - t * m_exp(-ax * ax + p));
}

// erfinv: Giles (2010), the single-precision polynomial the CPU backend refines.
fn m_erfinv(y: f32) -> f32 {
  if (abs(y) >= 1.0) { return select(m_nan(), sign(y) * m_inf(), abs(y) == 1.0); }
  var w = -log((1.0 - y) * (1.0 + y));
  var p: f32;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-8;
    p = 3.43273939e-7 + p * w;
    p = -3.5233877e-6 + p * w;
    p = -4.39150654e-6 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * y;
}

// pow as C's (NumPy's, and the CPU's pow helper): a^0 = 1^b = 1 even for NaN, (-1)^±inf = 1, a
// finite negative base to a non-integer power is NaN, and odd integer powers keep the base's sign
// (±0 and -inf included).
fn m_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (m_isnan(a) || m_isnan(b)) { return m_nan(); }
  if (a == -1.0 && !m_isfinite(b)) { return 1.0; }
  if (a < 0.0 && m_isfinite(a) && floor(b) != b) { return m_nan(); }
  var r: f32;
  if (a == 0.0 || !m_isfinite(a)) {
    r = select(select(m_inf(), 0.0, b > 0.0), select(0.0, m_inf(), b > 0.0), a != 0.0);
  } else {
    // The exponent's estimate picks the overflows and underflows: from log2|a|'s leading parts,
    // not the builtin log2 (2^-21 absolute near 1 in WGSL's promise, which times b ~ 1e9 is far off).
    let l = m_log2_parts(abs(a));
    let t = b * (l.e + l.h1);
    if (abs(t) <= 151.0) { r = m_exp2_exact(l, b); } else { r = select(0.0, m_inf(), t > 0.0); }
  }
  return select(r, -r, m_signbit(a) && abs(b) % 2.0 == 1.0);
}

// Dekker's exact product a b = p + e (barring overflow and underflow), each operand split by masking
// its low 12 bits: the halves' products are exact, and no compiler can fold the split away (Mesa
// folds the float tricks that split or sum exactly, such as (a + b) - a).
fn m_split(a: f32) -> vec2f {
  let h = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  return vec2f(h, a - h);
}
fn m_two_product(a: f32, b: f32) -> vec2f {
  let p = a * b;
  let x = m_split(a);
  let y = m_split(b);
  return vec2f(p, ((x.x * y.x - p) + x.x * y.y + x.y * y.x) + x.y * y.y);
}

// log2 x (x > 0, finite) as the unevaluated sum e + h1 + h2 + lo, to about 2^-36 relative: x = 2^e m
// with m in [sqrt(1/2), sqrt(2)], ln m = 2 atanh(s) = 2s + 2s^3/3 + 2s^5/5 + ... with s = f / (2 + f),
// f = m - 1, |s| <= 0.172. s = sh + sl from the exact residual f - sh (2 + f) = (f - 2 sh) - sh f
// (both differences exact); the leading terms 2 sh and 2 sh^3 / 3 carried with their rounding errors.
struct Log2Parts { e: f32, h1: f32, h2: f32, lo: f32 }
fn m_log2_parts(x: f32) -> Log2Parts {
  var bits = bitcast<u32>(x);
  var e = -127;
  if (bits < 0x800000u) { bits = bitcast<u32>(x * 16777216.0); e -= 24; } // subnormal: scaled by 2^24
  e += i32(bits >> 23u);
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (m > 1.41421356) { m *= 0.5; e += 1; }
  let f = m - 1.0;
  let d = 2.0 + f;
  let sh = f / d;
  let q = m_two_product(sh, f);
  let sl = (((f - 2.0 * sh) - q.x) - q.y) / d;
  let s2 = m_two_product(sh, sh);
  let s3 = m_two_product(s2.x, sh);
  let t3 = m_two_product(s3.x, 0.6666666865348816); // 2/3 = 0.6666666865348816 - 1.9868215517249155e-8
  let z = s2.x;
  let rest = z * z * sh * (2.0 / 5.0 + z * (2.0 / 7.0 + z * (2.0 / 9.0 + z * (2.0 / 11.0 + z * (2.0 / 13.0 + z * (2.0 / 15.0))))));
  let small = 2.0 * sl + t3.y - s3.x * 1.9868215517249155e-8 + (s3.y + s2.y * sh) * 0.6666666865348816 + 2.0 * z * sl + rest;
  // To base 2: times log2(e) = 1.4426950216293335 + 1.925963033500011e-8.
  let h1 = m_two_product(2.0 * sh, 1.4426950216293335);
  let h2 = m_two_product(t3.x, 1.4426950216293335);
  return Log2Parts(f32(e), h1.x, h2.x, h1.y + h2.y + (2.0 * sh + t3.x) * 1.925963033500011e-8 + small * 1.44269504);
}

// x^b = 2^(b log2 x) for x > 0 finite (log2 x as its parts l) and |b log2 x| <= 151 or so, to
// about an ulp: the exponent's parts are exact floats (b e in two, b h1 and b h2 with their
// rounding errors) or tiny ones; their integer parts add up in n and their fractions in a Q2.30
// fixed-point sum, kept in [-1/2, 1/2].
fn m_exp2_exact(l: Log2Parts, b: f32) -> f32 {
  let bs = m_split(b);
  let p1 = m_two_product(b, l.h1);
  let p2 = m_two_product(b, l.h2);
  let exact = array<f32, 4>(bs.x * l.e, bs.y * l.e, p1.x, p2.x);
  var n = 0;
  var fraction = i32(round((p1.y + p2.y + b * l.lo) * 1073741824.0));
  for (var i = 0; i < 4; i++) {
    let k = round(exact[i]);
    fraction += i32(round((exact[i] - k) * 1073741824.0));
    let carry = (fraction + 0x20000000) >> 30u;
    n += i32(k) + carry;
    fraction -= carry << 30u;
  }
  // 2^(fraction 2^-30) = e^y, |y| <= ln(2) / 2: y from fraction 2^-30 = fh + fl (exactly) and
  // ln 2 = 0.6931471824645996 - 1.9046542121259336e-9, summed before the series (1.25 ulp at worst on
  // lavapipe; given as the series' compensation term, Mesa's rewriting made it 3.9).
  let fh = f32(fraction) * 9.313225746154785e-10;
  let fl = f32(fraction - i32(f32(fraction))) * 9.313225746154785e-10;
  let y = m_two_product(fh, 0.6931471824645996);
  return m_scale(m_exp_reduced(y.x + (y.y - fh * 1.9046542121259336e-9 + fl * 0.6931471805599453), 0.0), n);
}

// NaN-propagating max/min, as JavaScript's Math.max/Math.min (WGSL's max/min need not propagate NaN).
// Zeros as JavaScript's Math.max/Math.min/Math.sign (the CPU's): max(-0, 0) = 0, min(-0, 0) = -0, sign(-0) = -0.
fn m_max(a: f32, b: f32) -> f32 {
  if (m_isnan(a) || m_isnan(b)) { return a + b; }
  if (a == b) { return select(a, b, m_signbit(a)); }
  return max(a, b);
}
fn m_min(a: f32, b: f32) -> f32 {
  if (m_isnan(a) || m_isnan(b)) { return a + b; }
  if (a == b) { return select(b, a, m_signbit(a)); }
  return min(a, b);
}
fn m_sign(a: f32) -> f32 { if (m_isnan(a) || a == 0.0) { return a; } return sign(a); }

// float32 to a 32-bit integer as a typed-array store does (ECMAScript ToUint32): truncate, wrap
// modulo 2^32, NaN and infinities give 0. Every step is exact in float32.
fn m_f32_to_u32(x: f32) -> u32 {
  if (!m_isfinite(x)) { return 0u; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return bitcast<u32>(i32(t)); }
  let m = t - 4294967296.0 * floor(t / 4294967296.0);
  return u32(m);
}
fn m_f32_to_i32(x: f32) -> i32 { return bitcast<i32>(m_f32_to_u32(x)); }
`;
