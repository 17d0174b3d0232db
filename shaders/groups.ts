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
 * broadcast offsets from the params at `at` (or, with `matrix`, from a product's `row` and `col`),
 * its inputs read as `a0`, `a1`, ..., its `lets`, its extra stores.
 */
export function groupBody(spec: GroupSpec, at: number, names: GroupNames, matrix?: MatrixOffsets): string {
  const { inputs, lets, stores, scalars = [], readsBack = [] } = spec;
  const strided = stridedInputs(spec);
  const offsets = strided.length === 0 ? '' : matrix ? matrixOffsets(spec, matrix) : flatOffsets(spec, at);
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

/** A group's inputs read through strides ('b', 'v', 'p'), each with its place among them (`j`). */
const stridedInputs = ({ inputs }: GroupSpec) =>
  inputs
    .map((x, k) => ({ k, access: x.access }))
    .filter((x) => x.access === 'b' || x.access === 'v' || x.access === 'p')
    .map((x, j) => ({ ...x, j }));

/**
 * WGSL reading a group's params at `at` for its strided inputs: `start(k)` (a view's offset, else
 * 0), `stride(j, d)` (strided input j's stride on axis d) and `bound(k, which, d)` (a padded
 * input's lo, `which` 0, or size, 1, on axis d). A view's offset follows every strided input's
 * strides; a padded view's bounds follow the offsets.
 */
function stridedParams(spec: GroupSpec, at: number) {
  const strided = stridedInputs(spec);
  const views = strided.filter((x) => x.access === 'v' || x.access === 'p').map((x) => x.k);
  const padded = strided.filter((x) => x.access === 'p').map((x) => x.k);
  return {
    padded,
    start: (k: number) => (views.includes(k) ? `params[${at + 1}u + ${strided.length + 1}u * rank + ${views.indexOf(k)}u]` : '0u'),
    stride: (j: number, d: string) => `params[${at + 1}u + ${j + 1}u * rank + ${d}]`,
    bound: (k: number, which: 0 | 1, d: string) => `params[${at + 1 + views.length}u + ${strided.length + 1 + 2 * padded.indexOf(k) + which}u * rank + ${d}]`,
  };
}

/**
 * The strided inputs' offsets `p{k}` (and a padded input's `in{k}`: whether the index is inside its
 * bounds) at flat index `i`, walking the group's shape from its last axis.
 */
function flatOffsets(spec: GroupSpec, at: number): string {
  const { padded, start } = stridedParams(spec, at);
  return `  let rank = params[${at}u];
  ${stridedInputs(spec).map(({ k }) => `var p${k} = ${start(k)};`).join(' ')}${padded.map((k) => ` var in${k} = true;`).join('')}
${axisWalk(spec, at, 'i', 'i32(rank) - 1', (k) => `p${k}`, (k) => `in${k}`)}
`;
}

/**
 * A loop taking `index` apart over the group's axes `top` down to 0 (last axis fastest) and adding
 * each strided input k's part to the variable `offset(k)`; a padded input's bounds checks are
 * and-ed into `inside(k)`.
 */
function axisWalk(spec: GroupSpec, at: number, index: string, top: string, offset: (k: number) => string, inside: (k: number) => string): string {
  const { padded, stride, bound } = stridedParams(spec, at);
  // Outside the bounds the index wraps (u32): the value is not read there.
  const step = ({ k, j }: { k: number; j: number }) =>
    padded.includes(k)
      ? `    let lo${k} = ${bound(k, 0, 'u32(d)')};
    ${inside(k)} = ${inside(k)} && c >= lo${k} && c - lo${k} < ${bound(k, 1, 'u32(d)')};
    ${offset(k)} += (c - lo${k}) * ${stride(j, 'u32(d)')};`
      : `    ${offset(k)} += c * ${stride(j, 'u32(d)')};`;
  return `  var rest = ${index};
  for (var d = ${top}; d >= 0; d--) {
    let size = params[${at + 1}u + u32(d)];
    let c = rest % size;
    rest = rest / size;
${stridedInputs(spec).map(step).join('\n')}
  }`;
}

/**
 * How a product's epilogue finds its strided inputs (`productEpilogueWgsl`): at the output
 * element's `row` and `col` (the group's last two axes), from what `{store}Setup(z)` computed for
 * the workgroup's batch matrix z into private variables named `{prefix}...`.
 */
export interface MatrixOffsets {
  readonly prefix: string;
}

/** Private variables of `MatrixOffsets`: input k's batch offset, row and column strides, and a padded input's batch inside flag and row/column bounds. */
const matrixNames = (prefix: string, k: number) => ({
  base: `${prefix}b${k}`,
  rowStride: `${prefix}sr${k}`,
  colStride: `${prefix}sc${k}`,
  inside: `${prefix}in${k}`,
  rowLo: `${prefix}lr${k}`,
  rowSize: `${prefix}nr${k}`,
  colLo: `${prefix}lc${k}`,
  colSize: `${prefix}nc${k}`,
});

/** The strided inputs' offsets `p{k}` and padded inputs' `in{k}` at `row`, `col` (`MatrixOffsets`): two multiply-adds each, no division. */
function matrixOffsets(spec: GroupSpec, { prefix }: MatrixOffsets): string {
  return stridedInputs(spec)
    .map(({ k, access }) => {
      const v = matrixNames(prefix, k);
      if (access !== 'p') return `  let p${k} = ${v.base} + row * ${v.rowStride} + col * ${v.colStride};\n`;
      // Outside the bounds the index wraps (u32): the value is not read there.
      return `  let in${k} = ${v.inside} && row >= ${v.rowLo} && row - ${v.rowLo} < ${v.rowSize} && col >= ${v.colLo} && col - ${v.colLo} < ${v.colSize};
  let p${k} = ${v.base} + (row - ${v.rowLo}) * ${v.rowStride} + (col - ${v.colLo}) * ${v.colStride};\n`;
    })
    .join('');
}

/**
 * The private variables and `fn {store}Setup(z: u32)` of `MatrixOffsets`: each strided input's
 * offset for batch matrix z (the group's axes before its last two), its strides and bounds on the
 * last two axes, read from the params at `at` once per invocation.
 */
function matrixSetup(spec: GroupSpec, at: number, store: string, { prefix }: MatrixOffsets): string {
  const strided = stridedInputs(spec);
  const { padded, start, stride, bound } = stridedParams(spec, at);
  const names = (k: number) => matrixNames(prefix, k);
  const declared = strided.flatMap(({ k }) => {
    const v = names(k);
    const vars = [v.base, v.rowStride, v.colStride, ...(padded.includes(k) ? [v.rowLo, v.rowSize, v.colLo, v.colSize] : [])].map((name) => `var<private> ${name}: u32;`);
    return padded.includes(k) ? [...vars, `var<private> ${v.inside}: bool;`] : vars;
  });
  const row = 'rank - 2u';
  const col = 'rank - 1u';
  const init = strided.map(({ k, j }) => {
    const v = names(k);
    const bounds = padded.includes(k)
      ? `\n  ${v.inside} = true; ${v.rowLo} = ${bound(k, 0, row)}; ${v.rowSize} = ${bound(k, 1, row)}; ${v.colLo} = ${bound(k, 0, col)}; ${v.colSize} = ${bound(k, 1, col)};`
      : '';
    return `  ${v.base} = ${start(k)}; ${v.rowStride} = ${stride(j, row)}; ${v.colStride} = ${stride(j, col)};${bounds}`;
  });
  return `${declared.join('\n')}
fn ${store}Setup(z: u32) {
  let rank = params[${at}u];
${init.join('\n')}
${axisWalk(spec, at, 'z', 'i32(rank) - 3', (k) => names(k).base, (k) => names(k).inside)}
}`;
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
 * The bindings and `fn store(i: u32, v: T)` of a reduction's epilogue; without a spec, the plain
 * store `out[i] = v` (a product's: `productEpilogueWgsl`).
 *
 * @example
 * // relu(v + bias[col]) over an output [M, N] (bias read through strides [0, 1]), bound from 4, params at 7
 * const spec = { inputs: [{ type: 'f32', access: 'b' }], outType: 'f32', expr: 'max(t0, 0.0)', lets: ['let t0 = v + a0;'], stores: [] } as const;
 * epilogueWgsl(spec, { inputs: 4, stores: 5, at: 7 });
 */
export function epilogueWgsl(spec: GroupSpec | undefined, layout: GroupLayout): string {
  if (!spec) return 'fn store(i: u32, v: T) { out[i] = v; }';
  const { bindings, names } = groupAt(spec, 'e', layout, 'out');
  return `${bindings}\n${storeFunction('store', spec, layout.at, names)}`;
}

/**
 * The bindings and functions of a product's epilogue (or, without a spec, its plain store):
 * `fn {store}(i: u32, row: u32, col: u32, v: T)` storing output element i, at `row` and `col` of
 * its matrix, and `fn {store}Setup(z: u32)`, which the kernel calls once, for its workgroup's batch
 * matrix z, before it stores. With `byCoords` (the group's last two axes are the product's rows and
 * columns) the strided inputs are found from the row and column (`MatrixOffsets`: two multiply-adds
 * each) instead of by walking i's axes (a division and a remainder per axis for every element,
 * which the SAC updates' biases and masks paid 16 times per invocation).
 *
 * @example
 * // relu(v + bias[col]) over an output [B, M, N] (bias read through strides [0, 0, 1]), bound from 4, params at 7
 * productEpilogueWgsl(spec, { inputs: 4, stores: 5, at: 7 }, { prefix: 'e', out: 'out', store: 'store' }, true);
 */
export function productEpilogueWgsl(spec: GroupSpec | undefined, layout: GroupLayout, names: { readonly prefix: string; readonly out: string; readonly store: string }, byCoords: boolean): string {
  const signature = `fn ${names.store}(i: u32, row: u32, col: u32, v: T)`;
  const noSetup = `fn ${names.store}Setup(z: u32) {}`;
  if (!spec) return `${signature} { ${names.out}[i] = v; }\n${noSetup}`;
  const { bindings, names: bound } = groupAt(spec, names.prefix, layout, names.out);
  const matrix = byCoords && stridedInputs(spec).length > 0 ? { prefix: names.prefix } : undefined;
  const setup = matrix ? matrixSetup(spec, layout.at, names.store, matrix) : noSetup;
  return `${bindings}\n${setup}\n${signature} {\n${groupBody(spec, layout.at, bound, matrix)}  ${bound.root}[i] = ${spec.expr};\n}`;
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
