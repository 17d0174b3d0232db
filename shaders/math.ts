/**
 * Float32 special functions for WGSL, written so that they are accurate over the whole range
 * (WGSL's builtin `log` near 1 and `tanh` for large arguments are not): series near zero, the
 * stable identities elsewhere. The CPU backend's float64 versions are the reference.
 */
export const MATH = /* wgsl */ `
fn m_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn m_isfinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// expm1: Taylor series (Horner) for |x| <= 0.5, exp(x) - 1 beyond, where it cancels no digits.
fn m_expm1(x: f32) -> f32 {
  if (abs(x) > 0.5) { return exp(x) - 1.0; }
  var s = 1.0;
  for (var n = 11.0; n >= 2.0; n -= 1.0) { s = 1.0 + s * x / n; }
  return x * s;
}

// log1p: 2 atanh(x / (2 + x)) by its series where |x / (2 + x)| <= 1/3, log(1 + x) elsewhere.
fn m_log1p(x: f32) -> f32 {
  if (x < -0.5 || x > 1.0) { return log(1.0 + x); }
  let s = x / (2.0 + x);
  let s2 = s * s;
  var t = 1.0 / 21.0;
  for (var k = 19.0; k >= 1.0; k -= 2.0) { t = 1.0 / k + s2 * t; }
  return 2.0 * s * t;
}

// log: near 1 the builtin is only accurate in absolute terms, so log1p(x - 1) there (x - 1 is exact).
fn m_log(x: f32) -> f32 {
  if (x >= 0.5 && x <= 2.0) { return m_log1p(x - 1.0); }
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
  return sign(x) * (-e / (2.0 + e));
}

fn m_atanh(x: f32) -> f32 { return 0.5 * m_log1p(2.0 * x / (1.0 - x)); }

fn m_sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

fn m_softplus(x: f32) -> f32 { return max(x, 0.0) + m_log1p(exp(-abs(x))); }

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
    return sign(x) * 1.1283791670955126 * exp(-ax * ax) * sum;
  }
  let t = 1.0 / (1.0 + 0.5 * ax);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return sign(x) * (1.0 - t * exp(-ax * ax + p));
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
  let r = select(exp2(b * log2(abs(a))), select(m_inf(), 0.0, b > 0.0), a == 0.0);
  return select(r, -r, m_signbit(a) && abs(b) % 2.0 == 1.0);
}

// NaN-propagating max/min, as JavaScript's Math.max/Math.min (WGSL's max/min need not propagate NaN).
fn m_max(a: f32, b: f32) -> f32 { if (m_isnan(a) || m_isnan(b)) { return a + b; } return max(a, b); }
fn m_min(a: f32, b: f32) -> f32 { if (m_isnan(a) || m_isnan(b)) { return a + b; } return min(a, b); }
fn m_sign(a: f32) -> f32 { if (m_isnan(a)) { return a; } return sign(a); }

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
