/**
 * Elementwise kernels for the CPU backend, generated per op, dtype and broadcast pattern as
 * specialized JS loops (no per-element closures). The same expression tables will serve fused
 * chains under `jit`.
 */
import type { DType, TypedArray } from '../dtype';
import type { BinaryOp, UnaryOp } from '../primitives';
import { broadcastStrides, type Shape, sizeOf } from '../shape';
import { erf, erfinv, roundHalfEven, sigmoid, softplus } from './special';

/** Helpers the generated code may call, as `H.name(...)`. */
const HELPERS = { erf, erfinv, roundHalfEven, sigmoid, softplus };

const bool = (cond: string) => `((${cond}) ? 1 : 0)`;

/** JS expression of each unary op applied to the expression `a`. */
export const UNARY_JS: Record<UnaryOp, (a: string, dtype: DType) => string> = {
  neg: (a) => `(-${a})`,
  abs: (a) => `Math.abs(${a})`,
  sign: (a) => `Math.sign(${a})`,
  exp: (a) => `Math.exp(${a})`,
  log: (a) => `Math.log(${a})`,
  log1p: (a) => `Math.log1p(${a})`,
  expm1: (a) => `Math.expm1(${a})`,
  sqrt: (a) => `Math.sqrt(${a})`,
  rsqrt: (a) => `(1 / Math.sqrt(${a}))`,
  reciprocal: (a) => `(1 / ${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tan: (a) => `Math.tan(${a})`,
  atan: (a) => `Math.atan(${a})`,
  tanh: (a) => `Math.tanh(${a})`,
  atanh: (a) => `Math.atanh(${a})`,
  sigmoid: (a) => `H.sigmoid(${a})`,
  softplus: (a) => `H.softplus(${a})`,
  erf: (a) => `H.erf(${a})`,
  erfinv: (a) => `H.erfinv(${a})`,
  floor: (a) => `Math.floor(${a})`,
  ceil: (a) => `Math.ceil(${a})`,
  round: (a) => `H.roundHalfEven(${a})`,
  logicalNot: (a) => bool(`${a} === 0`),
  isFinite: (a) => bool(`Number.isFinite(${a})`),
};

/** JS expression of each binary op; integer dtypes get integer arithmetic. */
export const BINARY_JS: Record<BinaryOp, (a: string, b: string, dtype: DType) => string> = {
  add: (a, b) => `(${a} + ${b})`,
  sub: (a, b) => `(${a} - ${b})`,
  mul: (a, b, dtype) => (dtype === 'int32' || dtype === 'uint32' ? `Math.imul(${a}, ${b})` : `(${a} * ${b})`),
  div: (a, b, dtype) => (dtype === 'int32' || dtype === 'uint32' ? `Math.trunc(${a} / ${b})` : `(${a} / ${b})`),
  pow: (a, b) => `Math.pow(${a}, ${b})`,
  maximum: (a, b) => `Math.max(${a}, ${b})`,
  minimum: (a, b) => `Math.min(${a}, ${b})`,
  atan2: (a, b) => `Math.atan2(${a}, ${b})`,
  eq: (a, b) => bool(`${a} === ${b}`),
  ne: (a, b) => bool(`${a} !== ${b}`),
  lt: (a, b) => bool(`${a} < ${b}`),
  le: (a, b) => bool(`${a} <= ${b}`),
  gt: (a, b) => bool(`${a} > ${b}`),
  ge: (a, b) => bool(`${a} >= ${b}`),
  logicalAnd: (a, b) => bool(`${a} !== 0 && ${b} !== 0`),
  logicalOr: (a, b) => bool(`${a} !== 0 || ${b} !== 0`),
};

/** JS expression converting a value of dtype `from` to dtype `to` before it is stored. */
export function castJs(a: string, to: DType): string {
  return to === 'bool' ? bool(`${a} !== 0`) : a;
}

type Kernel = (out: TypedArray, shape: Shape, inputs: readonly TypedArray[], strides: readonly number[][]) => void;

const kernelCache = new Map<string, Kernel>();

/**
 * Computes `out[i] = expr(inputs...)` over the broadcast output shape. `expr` receives the names of
 * the per-element input values (`a0`, `a1`, ...). Inputs whose size equals the output are read
 * contiguously, size-1 inputs once, others through broadcast strides.
 */
export function runElementwise(
  expr: (args: string[]) => string,
  out: TypedArray,
  outShape: Shape,
  inputs: readonly { values: TypedArray; shape: Shape }[],
): void {
  const n = sizeOf(outShape);
  if (n === 0) return;
  const kinds = inputs.map((x) => (x.values.length === 1 ? 's' : x.values.length === n ? 'c' : 'b'));
  const body = expr(inputs.map((_, k) => `a${k}`));
  const key = `${body}|${kinds.join('')}|${outShape.length}`;
  let kernel = kernelCache.get(key);
  if (!kernel) {
    kernel = compileElementwise(body, kinds);
    kernelCache.set(key, kernel);
  }
  kernel(
    out,
    outShape,
    inputs.map((x) => x.values),
    inputs.map((x) => broadcastStrides(x.shape, outShape)),
  );
}

function compileElementwise(body: string, kinds: string[]): Kernel {
  const arity = kinds.length;
  const ks = [...Array(arity).keys()];
  const lines: string[] = [];
  lines.push(...ks.map((k) => `const x${k} = inputs[${k}];`));
  if (kinds.every((k) => k !== 'b')) {
    lines.push(...ks.filter((k) => kinds[k] === 's').map((k) => `const a${k} = x${k}[0];`));
    lines.push('for (let i = 0; i < out.length; i++) {');
    lines.push(...ks.filter((k) => kinds[k] === 'c').map((k) => `  const a${k} = x${k}[i];`));
    lines.push(`  out[i] = ${body};`, '}');
  } else {
    lines.push('const r = shape.length;', 'const last = shape[r - 1];', 'const outer = out.length / last;');
    lines.push('const idx = new Int32Array(r);', 'let o = 0;');
    for (const k of ks) lines.push(`const s${k} = strides[${k}];`, `const l${k} = s${k}[r - 1];`, `let p${k} = 0;`);
    lines.push('for (let q = 0; q < outer; q++) {');
    lines.push('  for (let j = 0; j < last; j++) {');
    lines.push(...ks.map((k) => `    const a${k} = x${k}[p${k} + j * l${k}];`));
    lines.push(`    out[o++] = ${body};`, '  }');
    lines.push('  for (let d = r - 2; d >= 0; d--) {');
    lines.push(`    idx[d]++; ${ks.map((k) => `p${k} += s${k}[d];`).join(' ')}`);
    lines.push('    if (idx[d] < shape[d]) break;');
    lines.push(`    idx[d] = 0; ${ks.map((k) => `p${k} -= s${k}[d] * shape[d];`).join(' ')}`);
    lines.push('  }', '}');
  }
  const factory = new Function('H', `return function elementwise(out, shape, inputs, strides) {\n${lines.join('\n')}\n};`);
  return factory(HELPERS) as Kernel;
}
