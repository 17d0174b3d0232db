/**
 * WGSL expressions of the elementwise primitives, the analogue of the CPU's `UNARY_JS`/`BINARY_JS`.
 * Typed as records over the op unions, so a primitive without a WGSL expression does not compile.
 * Each expression yields the output's storage type: bool results are `u32` 0/1.
 */
import type { DType } from '../dtype';
import type { BinaryOp, UnaryOp } from '../primitives';

/** The WGSL storage type of a dtype on the GPU (bool is stored as u32 0/1; no f64 in WGSL). */
export type WgslType = 'f32' | 'i32' | 'u32';

export function wgslType(dtype: DType): WgslType {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'int32':
      return 'i32';
    case 'uint32':
    case 'bool':
      return 'u32';
    case 'float64':
      throw new RangeError('float64 has no WGSL type');
  }
}

const bool = (cond: string) => `select(0u, 1u, ${cond})`;
const zero = (t: WgslType) => (t === 'f32' ? '0.0' : `0${t[0]}`);

/** WGSL expression of each unary op applied to `a` of type `t`. */
export const UNARY_WGSL: Record<UnaryOp, (a: string, t: WgslType) => string> = {
  neg: (a, t) => (t === 'u32' ? `(0u - ${a})` : `(-${a})`),
  abs: (a, t) => (t === 'u32' ? a : `abs(${a})`),
  sign: (a, t) => (t === 'u32' ? bool(`${a} > 0u`) : t === 'f32' ? `m_sign(${a})` : `sign(${a})`),
  exp: (a) => `m_exp(${a})`,
  log: (a) => `m_log(${a})`,
  log1p: (a) => `m_log1p(${a})`,
  expm1: (a) => `m_expm1(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  rsqrt: (a) => `inverseSqrt(${a})`,
  reciprocal: (a) => `(1.0 / ${a})`,
  sin: (a) => `m_sin(${a})`,
  cos: (a) => `m_cos(${a})`,
  tan: (a) => `m_tan(${a})`,
  atan: (a) => `m_atan(${a})`,
  tanh: (a) => `m_tanh(${a})`,
  atanh: (a) => `m_atanh(${a})`,
  sigmoid: (a) => `m_sigmoid(${a})`,
  softplus: (a) => `m_softplus(${a})`,
  erf: (a) => `m_erf(${a})`,
  erfinv: (a) => `m_erfinv(${a})`,
  floor: (a) => `floor(${a})`,
  ceil: (a) => `ceil(${a})`,
  round: (a) => `round(${a})`,
  logicalNot: (a) => bool(`${a} == 0u`),
  isFinite: (a) => bool(`m_isfinite(${a})`),
};

/** WGSL expression of each binary op on `a`, `b` of type `t`; integer ops wrap as on the CPU. */
export const BINARY_WGSL: Record<BinaryOp, (a: string, b: string, t: WgslType) => string> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b) => `(${a} * ${b})`,
  // The CPU stores trunc(a / 0) = ±Infinity into an integer array as 0.
  div: (a, b, t) => (t === 'f32' ? `(${a} / ${b})` : `select(${a} / ${b}, ${zero(t)}, ${b} == ${zero(t)})`),
  pow: (a, b) => `m_pow(${a}, ${b})`,
  maximum: (a, b, t) => (t === 'f32' ? `m_max(${a}, ${b})` : `max(${a}, ${b})`),
  minimum: (a, b, t) => (t === 'f32' ? `m_min(${a}, ${b})` : `min(${a}, ${b})`),
  atan2: (a, b) => `m_atan2(${a}, ${b})`,
  eq: (a, b) => bool(`${a} == ${b}`),
  // NaN differs from everything; the explicit test survives compilers that assume no NaN.
  ne: (a, b, t) => bool(t === 'f32' ? `${a} != ${b} || m_isnan(${a}) || m_isnan(${b})` : `${a} != ${b}`),
  lt: (a, b) => bool(`${a} < ${b}`),
  le: (a, b) => bool(`${a} <= ${b}`),
  gt: (a, b) => bool(`${a} > ${b}`),
  ge: (a, b) => bool(`${a} >= ${b}`),
  logicalAnd: (a, b) => bool(`${a} != 0u && ${b} != 0u`),
  logicalOr: (a, b) => bool(`${a} != 0u || ${b} != 0u`),
};

/** WGSL expression converting `a` from dtype `from` to dtype `to` as a typed-array store does. */
export function castWgsl(a: string, from: DType, to: DType): string {
  const [f, t] = [wgslType(from), wgslType(to)];
  // NaN is true, as on the CPU; the explicit test survives compilers that assume no NaN.
  if (to === 'bool') return bool(f === 'f32' ? `${a} != 0.0 || m_isnan(${a})` : `${a} != ${zero(f)}`);
  if (f === t) return a;
  if (f === 'f32') return `m_f32_to_${t}(${a})`;
  return t === 'f32' ? `f32(${a})` : `bitcast<${t}>(${a})`;
}
