/**
 * Elementwise kernels for the CPU backend, generated per op, dtype and broadcast pattern as
 * specialized JS loops (no per-element closures). The same expression tables serve fused
 * chains under `jit` (`autodiff/jit/plan-cpu.ts`).
 */
import type { DType, TypedArray } from '../dtype';
import { ArgumentError } from '../errors';
import { type BinaryOp, isBinaryOp, isUnaryOp, type Primitive, type UnaryOp } from '../primitives';
import { broadcastStrides, type Shape, sizeOf } from '../shape';
import { FLOAT32_MATH } from './float32-math';
import { FLOAT64_MATH, type Float64Op } from './float64-math';
import { erf, pow, roundHalfEven } from './special';

/** Helpers the generated code may call, as `H.name(...)`; the transcendentals as `H.name32` and `H.name64`. */
const HELPERS = {
  erf,
  pow,
  roundHalfEven,
  ...Object.fromEntries(Object.entries(FLOAT32_MATH).map(([name, f]) => [`${name}32`, f])),
  ...Object.fromEntries(Object.entries(FLOAT64_MATH).map(([name, f]) => [`${name}64`, f])),
};

/**
 * The op's float64 program for its dtype (`float32-math.ts` or `float64-math.ts`), also run by
 * jit's WebAssembly lanes (these ops take float operands only).
 */
const program = (op: Float64Op) => (a: string, dtype: DType) => `H.${op}${dtype === 'float32' ? 32 : 64}(${a})`;

const bool = (cond: string) => `((${cond}) ? 1 : 0)`;

/** JS expression of each unary op applied to the expression `a`. */
export const UNARY_JS: Record<UnaryOp, (a: string, dtype: DType) => string> = {
  neg: (a) => `(-${a})`,
  abs: (a) => `Math.abs(${a})`,
  sign: (a) => `Math.sign(${a})`,
  exp: program('exp'),
  log: program('log'),
  log1p: program('log1p'),
  expm1: program('expm1'),
  sqrt: (a) => `Math.sqrt(${a})`,
  rsqrt: (a) => `(1 / Math.sqrt(${a}))`,
  reciprocal: (a) => `(1 / ${a})`,
  sin: (a) => `Math.sin(${a})`,
  cos: (a) => `Math.cos(${a})`,
  tan: (a) => `Math.tan(${a})`,
  atan: (a) => `Math.atan(${a})`,
  tanh: program('tanh'),
  atanh: (a) => `Math.atanh(${a})`,
  sigmoid: program('sigmoid'),
  softplus: program('softplus'),
  erf: (a) => `H.erf(${a})`,
  // float32: Giles' single-precision polynomial, as XLA (JAX) and the WGSL kernel compute it.
  erfinv: program('erfinv'),
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
  pow: (a, b) => `H.pow(${a}, ${b})`,
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
function castJs(a: string, to: DType): string {
  return to === 'bool' ? bool(`${a} !== 0`) : a;
}

/**
 * The JS expression of one elementwise primitive (unary, binary, `where`, `cast`, or `broadcastTo`,
 * which is elementwise once its input is read through broadcast strides) on the argument
 * expressions `args`; `inDtype` is the dtype of the first operand.
 *
 * @example
 * elementwiseJs('add', ['a0', 'a1'], 'float32', 'float32'); // '(a0 + a1)'
 */
export function elementwiseJs(prim: Primitive, args: readonly string[], inDtype: DType, outDtype: DType): string {
  if (isUnaryOp(prim)) return castJs(UNARY_JS[prim](args[0], inDtype), outDtype);
  if (isBinaryOp(prim)) return castJs(BINARY_JS[prim](args[0], args[1], inDtype), outDtype);
  switch (prim) {
    case 'where':
      return `(${args[0]} !== 0 ? ${args[1]} : ${args[2]})`;
    case 'cast':
      return castJs(args[0], outDtype);
    case 'stopGradient':
    case 'broadcastTo':
      return args[0];
    default:
      throw new ArgumentError(`elementwiseJs: ${prim} is not elementwise`);
  }
}

/** The value a typed array of `dtype` would store for the JS expression `e` (for fused intermediates). */
export function storedJs(e: string, dtype: DType): string {
  switch (dtype) {
    case 'float32':
      return `Math.fround(${e})`;
    case 'int32':
      return `(${e} | 0)`;
    case 'uint32':
      return `(${e} >>> 0)`;
    default:
      return e;
  }
}

/**
 * A compiled elementwise loop: `out` over `shape`, each input read through its broadcast strides
 * (or, for kind `i`, its index array in place of the strides).
 */
export type ElementwiseKernel = (
  out: TypedArray,
  shape: Shape,
  inputs: readonly TypedArray[],
  strides: readonly (readonly number[] | Int32Array)[],
) => void;

/**
 * The element of an input `[..]` read for each output element, through broadcast `strides` over
 * `shape` (for `i` inputs of jit plans).
 *
 * @example
 * broadcastIndex([2, 3], [0, 1]); // Int32Array [0, 1, 2, 0, 1, 2]
 */
export function broadcastIndex(shape: Shape, strides: readonly number[]): Int32Array {
  const index = new Int32Array(sizeOf(shape));
  const r = shape.length;
  const at = new Int32Array(r);
  let p = 0;
  for (let i = 0; i < index.length; i++) {
    index[i] = p;
    for (let d = r - 1; d >= 0; d--) {
      at[d]++;
      p += strides[d];
      if (at[d] < shape[d]) break;
      at[d] = 0;
      p -= strides[d] * shape[d];
    }
  }
  return index;
}

/**
 * How an input is read: `s` one value (size 1), `c` contiguously (output size), `b` through strides,
 * `i` through a precomputed index per output element (jit plans, where shapes are fixed: the loop
 * stays flat instead of walking the broadcast axes).
 */
export type InputKind = 's' | 'c' | 'b' | 'i';

/** How an input of `inputSize` elements is read for an output of `outSize` elements. */
export function inputKind(inputSize: number, outSize: number): Exclude<InputKind, 'i'> {
  return inputSize === 1 ? 's' : inputSize === outSize ? 'c' : 'b';
}

const kernelCache = new Map<string, ElementwiseKernel>();

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
  const kinds = inputs.map((x) => inputKind(x.values.length, n));
  const body = expr(inputs.map((_, k) => `a${k}`));
  const { shape, strides } = collapseBroadcast(
    outShape,
    inputs.map((x) => broadcastStrides(x.shape, outShape)),
  );
  compileElementwise(body, kinds)(
    out,
    shape,
    inputs.map((x) => x.values),
    strides,
  );
}

/**
 * The same broadcast loop over fewer axes: size-1 axes dropped, and neighbouring axes merged where
 * every input steps through them as through one (so the generated loop's innermost run is long).
 *
 * @example
 * collapseBroadcast([5, 32, 5, 1], [[32, 1, 0, 0], [0, 5, 1, 1]]); // { shape: [5, 32, 5], strides: [[32, 1, 0], [0, 5, 1]] }
 */
export function collapseBroadcast(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const axes = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (const d of axes) {
    const last = outShape.length - 1;
    // Merge axis d into the previous kept axis when each input's stride there is the previous one's
    // divided by d's size (contiguous), or both are 0 (broadcast).
    const mergeable = last >= 0 && strides.every((st, k) => outStrides[k][last] === st[d] * shape[d]);
    if (mergeable) {
      outShape[last] *= shape[d];
      strides.forEach((st, k) => (outStrides[k][last] = st[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((st, k) => outStrides[k].push(st[d]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * The loop computing `out[i] = body` from inputs read as `kinds` say, compiled once per body and
 * input kinds (and cached). `pre` holds statements run per element before `body` (fused chains keep
 * their intermediates there as locals); `stores` names locals of `pre` that are also stored, each
 * into an extra output passed after the inputs (`jit`'s multi-output groups).
 *
 * @example
 * const kernel = compileElementwise('(a0 + a1)', ['c', 's']);
 * kernel(out, [3], [x, y], [[1], [0]]);
 */
export function compileElementwise(body: string, kinds: readonly InputKind[], pre = '', stores: readonly string[] = []): ElementwiseKernel {
  const key = `${pre}|${body}|${kinds.join('')}|${stores.join(',')}`;
  let kernel = kernelCache.get(key);
  if (!kernel) {
    kernel = buildElementwise(body, kinds, pre, stores);
    kernelCache.set(key, kernel);
  }
  return kernel;
}

function buildElementwise(body: string, kinds: readonly InputKind[], pre: string, stores: readonly string[]): ElementwiseKernel {
  const arity = kinds.length;
  const ks = [...Array(arity).keys()];
  const store = (index: string) => stores.map((local, q) => `y${q}[${index}] = ${local};`).join(' ');
  const lines: string[] = [];
  lines.push(...ks.map((k) => `const x${k} = inputs[${k}];`));
  lines.push(...stores.map((_, q) => `const y${q} = inputs[${arity + q}];`));
  if (kinds.every((k) => k !== 'b')) {
    lines.push(...ks.filter((k) => kinds[k] === 's').map((k) => `const a${k} = x${k}[0];`));
    lines.push(...ks.filter((k) => kinds[k] === 'i').map((k) => `const ix${k} = strides[${k}];`));
    lines.push('for (let i = 0; i < out.length; i++) {');
    lines.push(...ks.filter((k) => kinds[k] === 'c').map((k) => `  const a${k} = x${k}[i];`));
    lines.push(...ks.filter((k) => kinds[k] === 'i').map((k) => `  const a${k} = x${k}[ix${k}[i]];`));
    lines.push(`  ${pre}`, `  ${store('i')}`, `  out[i] = ${body};`, '}');
  } else {
    lines.push('const r = shape.length;', 'const last = shape[r - 1];', 'const outer = out.length / last;');
    lines.push('const idx = new Int32Array(r);', 'let o = 0;');
    for (const k of ks) lines.push(`const s${k} = strides[${k}];`, `const l${k} = s${k}[r - 1];`, `let p${k} = 0;`);
    lines.push('for (let q = 0; q < outer; q++) {');
    lines.push('  for (let j = 0; j < last; j++) {');
    lines.push(...ks.map((k) => `    const a${k} = x${k}[p${k} + j * l${k}];`));
    lines.push(`    ${pre}`, `    ${store('o')}`, `    out[o++] = ${body};`, '  }');
    lines.push('  for (let d = r - 2; d >= 0; d--) {');
    lines.push(`    idx[d]++; ${ks.map((k) => `p${k} += s${k}[d];`).join(' ')}`);
    lines.push('    if (idx[d] < shape[d]) break;');
    lines.push(`    idx[d] = 0; ${ks.map((k) => `p${k} -= s${k}[d] * shape[d];`).join(' ')}`);
    lines.push('  }', '}');
  }
  const factory = new Function('H', `return function elementwise(out, shape, inputs, strides) {\n${lines.join('\n')}\n};`);
  return factory(HELPERS) as ElementwiseKernel;
}
