/**
 * Store epilogues: an elementwise function a kernel applies to each value it computes, where it
 * stores it (a jit plan fusing `relu(x @ w + b)` or `sum(x) * (1 / n)` into the product or the
 * reduction). The kernel calls `store(i, v)` for its flat output index `i` and computed value `v`
 * (of the kernel's type `T`); the epilogue reads its other inputs at `i` as the elementwise family
 * does (contiguously `'c'`, one value `'s'`, through broadcast strides `'b'`), stores any extra
 * outputs and writes `out[i]`. Without an epilogue `store` writes `v` as it is.
 *
 * params, from the kernel's own params' end (`at`): `[rank, shape[rank], strides of each 'b' input[rank]...]`.
 */
import type { Access } from './elementwise';

export interface EpilogueSpec {
  /** WGSL storage type and access of each input besides the computed value. */
  readonly inputs: readonly { readonly type: string; readonly access: Access }[];
  readonly outType: string;
  /** A WGSL expression of type `outType` over `v` (the computed value), `a0`, `a1`, ... and the `lets`. */
  readonly expr: string;
  readonly lets: readonly string[];
  /** Intermediates also stored: `local` into an extra output of `type`, bound after the inputs. */
  readonly stores: readonly { readonly type: string; readonly local: string }[];
}

/**
 * The bindings (from `first`) and `fn store(i: u32, v: T)` of an epilogue whose params start at
 * `params[at]`; without a spec, the plain store `out[i] = v`.
 *
 * @example
 * // relu(v + bias[col]) over an output [M, N]: bias read through strides [0, 1]
 * epilogueWgsl({ inputs: [{ type: 'f32', access: 'b' }], outType: 'f32', expr: 'max(t0, 0.0)', lets: ['let t0 = v + a0;'], stores: [] }, 4, 7);
 */
export function epilogueWgsl(spec: EpilogueSpec | undefined, first: number, at: number): string {
  if (!spec) return 'fn store(i: u32, v: T) { out[i] = v; }';
  const { inputs, expr, lets, stores } = spec;
  const strided = inputs.map((x, k) => [x, k] as const).filter(([x]) => x.access === 'b');
  const offsets =
    strided.length === 0
      ? ''
      : `  let rank = params[${at}u];
  ${strided.map(([, k]) => `var p${k} = 0u;`).join(' ')}
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[${at + 1}u + u32(d)];
    let c = rest % size;
    rest = rest / size;
${strided.map(([, k], j) => `    p${k} += c * params[${at + 1}u + ${j + 1}u * rank + u32(d)];`).join('\n')}
  }
`;
  const reads = inputs.map((x, k) => `  let a${k} = e${k}[${x.access === 'c' ? 'i' : x.access === 's' ? '0' : `p${k}`}];\n`).join('');
  const bindings = [
    ...inputs.map((x, k) => `@group(0) @binding(${first + k}) var<storage, read> e${k}: array<${x.type}>;`),
    ...stores.map((y, q) => `@group(0) @binding(${first + inputs.length + q}) var<storage, read_write> y${q}: array<${y.type}>;`),
  ];
  return `${bindings.join('\n')}
fn store(i: u32, v: T) {
${offsets}${reads}${lets.map((line) => `  ${line}\n`).join('')}${stores.map((y, q) => `  y${q}[i] = ${y.local};\n`).join('')}  out[i] = ${expr};
}`;
}
