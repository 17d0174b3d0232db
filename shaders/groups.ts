/**
 * Elementwise groups inside other kernels (a jit plan's fusion into products and reductions).
 *
 * - Store epilogues: a function a kernel applies to each value it computes, where it stores it
 *   (`relu(x @ w + b)` in the product, `sum(x) * (1 / n)` in the reduction). The kernel calls
 *   `store(i, v)` for its flat output index `i` and computed value `v` (of the kernel's type `T`);
 *   the epilogue stores any extra outputs and writes `out[i]`. Without one, `store` writes `v`.
 * - Load prologues: the value a reduction reads at flat index `j` of its operand, computed there
 *   instead of read from a stored buffer (`sum((q - y)²)` reads `load(j)`); it stores any extra
 *   outputs at `j` (a reduction reads each operand element once). Without one, `load` reads `x[j]`.
 *
 * A group reads its inputs at the index as the elementwise family does (contiguously `'c'`, one
 * value `'s'`, through broadcast strides `'b'`, as a strided view with an offset `'v'`, as such a
 * view that is zero outside the bounds `lo[d] <= index[d] < lo[d] + sizes[d]` `'p'`, reading the
 * view at `index - lo`). Inputs are bound from `inputs`, extra outputs from `stores` (a kernel
 * binds every written buffer last); a group's params start at `params[at]`: `[rank, shape[rank],
 * strides of each 'b', 'v' or 'p' input[rank]..., offset of each 'v' or 'p' input..., bounds of
 * each 'p' input: lo[rank], sizes[rank]]`.
 */
import { binding } from './common';
import type { Access } from './elementwise';

/** An elementwise group as WGSL. */
export interface GroupSpec {
  /** WGSL storage type and access of each input (besides the computed value of an epilogue). */
  readonly inputs: readonly { readonly type: string; readonly access: Access }[];
  readonly outType: string;
  /** A WGSL expression of type `outType` over the inputs `a0`, `a1`, ..., the `lets` and, in an epilogue, `v`. */
  readonly expr: string;
  readonly lets: readonly string[];
  /** Intermediates also stored: `local` into an extra output of `type`. */
  readonly stores: readonly { readonly type: string; readonly local: string }[];
  /**
   * Scalars read from the group's params, `let k{j} = bitcast<type>(params[at + offset])`:
   * constants a jit plan knows, passed without a buffer of their own (and not written into the
   * WGSL as literals, which the shader compiler would fold, rounding differently).
   */
  readonly scalars?: readonly { readonly type: string; readonly offset: number }[];
  /**
   * Inputs read from the group's own written buffers, `let w{j} = <store>[i]` before anything is
   * written: the root's buffer (-1) or extra output q's. A jit plan writes a donated input's update
   * into the input's buffer, which the group reads and writes at the same index.
   */
  readonly readsBack?: readonly number[];
}

/** Where a group's buffers are bound and its params start. */
export interface GroupLayout {
  readonly inputs: number;
  readonly stores: number;
  readonly at: number;
}

/** The names a group's body reads its inputs from and stores its root and extra outputs into. */
export interface GroupNames {
  readonly input: (k: number) => string;
  readonly store: (q: number) => string;
  readonly root: string;
}

/**
 * A group's body at index `i` up to its root expression (left to the caller: `out[i] = ${spec.expr}`):
 * broadcast offsets from the params at `at`, its inputs read as `a0`, `a1`, ..., its `lets`, its
 * extra stores.
 */
export function groupBody({ inputs, lets, stores, scalars = [], readsBack = [] }: GroupSpec, at: number, names: GroupNames): string {
  const strided = inputs.map((x, k) => [x, k] as const).filter(([x]) => x.access === 'b' || x.access === 'v' || x.access === 'p');
  // A view starts at its offset, stored after every strided input's strides; a padded view's
  // bounds follow the offsets.
  const views = strided.filter(([x]) => x.access === 'v' || x.access === 'p').map(([, k]) => k);
  const padded = strided.filter(([x]) => x.access === 'p').map(([, k]) => k);
  const start = (k: number) => (views.includes(k) ? `params[${at + 1}u + ${strided.length + 1}u * rank + ${views.indexOf(k)}u]` : '0u');
  const bound = (k: number, which: 0 | 1) => `params[${at + 1 + views.length}u + ${strided.length + 1 + 2 * padded.indexOf(k) + which}u * rank + u32(d)]`;
  const step = (k: number, j: number) => {
    const stride = `params[${at + 1}u + ${j + 1}u * rank + u32(d)]`;
    if (!padded.includes(k)) return `    p${k} += c * ${stride};`;
    // Outside the bounds the index wraps (u32): the value is not read there.
    return `    let lo${k} = ${bound(k, 0)};
    in${k} = in${k} && c >= lo${k} && c - lo${k} < ${bound(k, 1)};
    p${k} += (c - lo${k}) * ${stride};`;
  };
  const offsets =
    strided.length === 0
      ? ''
      : `  let rank = params[${at}u];
  ${strided.map(([, k]) => `var p${k} = ${start(k)};`).join(' ')}${padded.map((k) => ` var in${k} = true;`).join('')}
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[${at + 1}u + u32(d)];
    let c = rest % size;
    rest = rest / size;
${strided.map(([, k], j) => step(k, j)).join('\n')}
  }
`;
  const reads = inputs
    .map((x, k) => {
      if (x.access === 'p') return `  var a${k} = ${x.type}();\n  if (in${k}) { a${k} = ${names.input(k)}[p${k}]; }\n`;
      return `  let a${k} = ${names.input(k)}[${x.access === 'c' ? 'i' : x.access === 's' ? '0' : `p${k}`}];\n`;
    })
    .join('');
  const constants = scalars.map(({ type, offset }, j) => `  let k${j} = bitcast<${type}>(params[${at + offset}u]);\n`).join('');
  const back = readsBack.map((q, j) => `  let w${j} = ${q < 0 ? names.root : names.store(q)}[i];\n`).join('');
  return `${offsets}${constants}${back}${reads}${lets.map((line) => `  ${line}\n`).join('')}${stores.map((_, q) => `  ${names.store(q)}[i] = ${stores[q].local};\n`).join('')}`;
}

/** The bindings of a group (inputs `${prefix}k`, extra outputs `${prefix}yq`) and its names. */
function groupAt(spec: GroupSpec, prefix: string, layout: GroupLayout, root: string): { bindings: string; names: GroupNames } {
  const names: GroupNames = { input: (k) => `${prefix}${k}`, store: (q) => `${prefix}y${q}`, root };
  const bindings = [
    ...spec.inputs.map((x, k) => binding(layout.inputs + k, names.input(k), x.type, 'read')),
    ...spec.stores.map((y, q) => binding(layout.stores + q, names.store(q), y.type, 'read_write')),
  ];
  return { bindings: bindings.join('\n'), names };
}

/**
 * The bindings and `fn store(i: u32, v: T)` of an epilogue; without a spec, the plain store
 * `out[i] = v`. `names` renames the bindings' prefix, the output and the function (a kernel
 * computing several products has one epilogue per product).
 *
 * @example
 * // relu(v + bias[col]) over an output [M, N] (bias read through strides [0, 1]), bound from 4, params at 7
 * const spec = { inputs: [{ type: 'f32', access: 'b' }], outType: 'f32', expr: 'max(t0, 0.0)', lets: ['let t0 = v + a0;'], stores: [] } as const;
 * epilogueWgsl(spec, { inputs: 4, stores: 5, at: 7 });
 */
export function epilogueWgsl(spec: GroupSpec | undefined, layout: GroupLayout, names: { readonly prefix: string; readonly out: string; readonly store: string } = { prefix: 'e', out: 'out', store: 'store' }): string {
  if (!spec) return `fn ${names.store}(i: u32, v: T) { ${names.out}[i] = v; }`;
  const { bindings, names: bound } = groupAt(spec, names.prefix, layout, names.out);
  return `${bindings}\n${storeFunction(names.store, spec, layout.at, bound)}`;
}

/**
 * The bindings and `fn load(i: u32) -> T` of a prologue; without a spec, the operand `x` bound at
 * `layout.inputs` and read as stored.
 *
 * @example
 * // (a0 - a1)² at i, both inputs contiguous, bound from 2
 * const spec = { inputs: [{ type: 'f32', access: 'c' }, { type: 'f32', access: 'c' }], outType: 'f32', expr: 't0 * t0', lets: ['let t0 = a0 - a1;'], stores: [] } as const;
 * prologueWgsl(spec, { inputs: 2, stores: 4, at: 10 });
 */
export function prologueWgsl(spec: GroupSpec | undefined, layout: GroupLayout): string {
  if (!spec) return `${binding(layout.inputs, 'x', 'T', 'read')}\nfn load(i: u32) -> T { return x[i]; }`;
  const { bindings, names } = groupAt(spec, 'l', layout, 'out');
  return `${bindings}\n${loadFunction('load', spec, layout.at, names)}`;
}

/**
 * `fn name(i: u32, v: T)` storing `v` through an epilogue whose buffers (declared by the caller)
 * are `names`, its params at `at`.
 *
 * @example
 * storeFunction('store1', spec, 12, { input: (k) => `x${k}`, store: (q) => `y1_${q}`, root: 'out1' });
 */
export function storeFunction(name: string, spec: GroupSpec, at: number, names: GroupNames): string {
  return `fn ${name}(i: u32, v: T) {
${groupBody(spec, at, names)}  ${names.root}[i] = ${spec.expr};
}`;
}

/**
 * `fn name(i: u32) -> T` computing a reduction's operand at `i` through a prologue whose buffers
 * (declared by the caller) are `names`, its params at `at`.
 *
 * @example
 * loadFunction('load0', spec, 10, { input: (k) => `x${k}`, store: (q) => `y0_${q}`, root: 'out' });
 */
export function loadFunction(name: string, spec: GroupSpec, at: number, names: GroupNames): string {
  return `fn ${name}(i: u32) -> T {
${groupBody(spec, at, names)}  return ${spec.expr};
}`;
}
