/**
 * Batched matrix product `[..., M, K] @ [..., K, N]` with broadcast batch axes. Each workgroup of
 * 16x16 invocations computes a 64x64 output tile; each invocation 4x4 values of it (rows
 * `4ty .. 4ty + 3`; columns `tx, tx + 16, tx + 32, tx + 48` where B is stored plain, `4tx .. 4tx + 3`
 * where it is stored transposed, `columnSlot`; each read from workgroup memory as vectors). A
 * 32x32 variant (2x2 per invocation) gives small products four times the workgroups; a 128x128
 * one (8x8 per invocation, twice the multiply-adds per word read from workgroup memory) is there
 * for very large ones, when asked for. The K axis is walked in steps of 16 through two tiles in workgroup memory (16 KiB,
 * WebGPU's default limit, at 128x128). Edges that are not a
 * multiple of the tile are guarded, so any M, N, K works; where they are multiples (`aligned`) the
 * kernel has no guards (on an H200 the 100-agent SAC-v2 products took 4-10% less) and reads its
 * operands as `vec4`s (`vectorLoads`; 100-agent SAC-v2 sgm-mrp updates 8.59 -> 8.31 ms); its 64x64
 * tiles then run 16x8 invocations of 8x4 values each (`tileForm`). Narrow tiles (`'narrow'`) are
 * 32x32 tiles of 8x8 invocations computing 4x4 values each, for products 17-32 wide. Workgroup z
 * indexes the batch.
 * The strip kernel (`tile: 'strip'`) computes strips 128 outputs long by up to 16 wide instead (for
 * products a few rows or columns wide, which a square tile would mostly pad). All of them sum each
 * output's terms in K order, so they give the same bits.
 *
 * params: `[M, N, K, batchRank, batchShape, aBatchStrides, bBatchStrides]` (strides in elements).
 *
 * Layout variants read an operand stored transposed in place (a jit plan folds a transpose of the
 * last two axes into its matrix products this way): with `transposeA` the left operand's matrices
 * are stored `[K, M]`, with `transposeB` the right operand's are stored `[N, K]`. Each variant loads
 * its tiles so that neighbouring invocations read neighbouring words of the stored layout; the
 * plain layout's source is unchanged.
 *
 * An epilogue (`shaders/groups.ts`) is applied where each output is stored: its inputs are bound
 * after `b` and its params follow the kernel's.
 */
import { binding, PRELUDE } from './common';
import { type GroupLayout, type GroupSpec, productEpilogueWgsl } from './groups';
import { MATH } from './math';

export const MATMUL_TILE = 64;

/** Which operands a matmul kernel reads as stored transposed, and its output tile. */
export interface MatmulLayout {
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
  /**
   * The workgroup's output tile (`tileForm`): 64x64 (the default), 32x32 (four times the
   * workgroups, for products too small to fill a large GPU), `'narrow'` (32x32 computed by 8x8
   * invocations of 4x4 values, for products 17-32 wide), 128x128 (fewer workgroup-memory reads per
   * multiply-add; only when a host asks for it, as it won only on the largest products measured) or
   * `'strip'`. Every value is summed in the same order in each, so all give the same bits.
   */
  readonly tile?: MatmulTile;
  /** With `tile: 'strip'` (and only then, required): the short side and the strips' width. */
  readonly strip?: StripShape;
  /**
   * Operands stored as concatenations along their stored last axis (a jit plan's concatenation
   * read by its products): the widths of the pieces, each bound as a buffer of its own. One piece,
   * or none given: the operand is one buffer.
   */
  readonly piecesA?: readonly number[];
  readonly piecesB?: readonly number[];
  /**
   * Square tiles only: M and N are multiples of the tile and K of 16, so no load or store is outside
   * the operands and the kernel checks no edge (fewer instructions in a loop bound by them); it also
   * reads operands that are one buffer each as `vec4`s (`vectorLoads`).
   */
  readonly aligned?: boolean;
  /**
   * More batch matrices (times members) than a grid dimension holds (65535): workgroup z runs up to
   * that many, and workgroup y carries the rest above its tiles (params, after the batch strides:
   * the tiles along y and grid z), as the 1-D kernels fold their grids.
   */
  readonly foldedBatch?: boolean;
}

/**
 * How a matmul kernel covers its output: square tiles of 32, 64 or 128 outputs a side; `'narrow'`:
 * 32x32 tiles computed by 8x8 invocations of 4x4 values (`tileForm`), for products 17 to 32 rows
 * or columns wide that have many workgroups of them; or `'strip'`: strips 128 outputs long by up
 * to 16 wide (`MatmulLayout.strip`), for products with a few rows or columns, such as a critic's
 * one output, which a square tile would mostly pad. Each tile or strip is computed by a workgroup
 * through workgroup memory.
 */
export type MatmulTile = TileSide | 'narrow' | 'strip';

/** A strip kernel's short side (the output's rows `M` or columns `N`) and how much of it a strip covers (1 to 16). */
export interface StripShape {
  readonly short: 'M' | 'N';
  readonly width: number;
}

/** The sides of the square output tiles. */
type TileSide = 32 | 64 | 128;

/**
 * A square tile's kernel: its side, its workgroup of x by y invocations, the width w of the
 * vectors each reads from a tile row, and whether B's columns are interleaved (`columnSlot`).
 */
interface TileForm {
  readonly side: TileSide;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly interleaved: boolean;
}

/**
 * The side of a tile's square: `'narrow'` tiles are 32x32.
 *
 * @example
 * Math.ceil(1280 / tileSide('narrow')); // 40 workgroups down a 1280-row output
 */
export const tileSide = (tile: TileSide | 'narrow'): TileSide => (tile === 'narrow' ? 32 : tile);

/** An operand's element at a WGSL index expression. */
type Reader = (index: string) => string;

/**
 * The tile loads of one K step: invocation `tid` loads elements `tid + Tl` of the [16, tile]
 * tiles of A and B (T: the workgroup's invocations) into registers `va{l}`, `vb{l}` (`load`), coalesced per layout, then stores them
 * into workgroup memory (`store`). All loads are issued before the first store, so they wait for
 * memory together, not one after another (on an H200 the 100-agent SAC update's products took 6%
 * less than with a load-and-store loop, session 8).
 */
function tileStep(zero: string, form: TileForm, layout: MatmulLayout, a: Reader, b: Reader) {
  if (vectorLoads(layout)) return vectorTileStep(zero, form, layout, a, b);
  const { transposeA = false, transposeB = false, aligned = false } = layout;
  const { side: tile, w } = form;
  const threads = form.x * form.y;
  const ls = [...Array((16 * tile) / threads).keys()];
  // Plain A is [M, K] (k fastest), transposed A is stored [K, M] (m fastest).
  const whereA = transposeA ? `let m = e % ${tile}u; let ka = e / ${tile}u;` : 'let m = e / 16u; let ka = e % 16u;';
  const atA = transposeA ? 'aOff + (k0 + ka) * M + row0 + m' : 'aOff + (row0 + m) * K + k0 + ka';
  // Plain B is [K, N] (n fastest), transposed B is stored [N, K] (k fastest).
  const whereB = transposeB ? 'let kb = e % 16u; let n = e / 16u;' : `let kb = e / ${tile}u; let n = e % ${tile}u;`;
  const atB = transposeB ? 'bOff + (col0 + n) * K + k0 + kb' : 'bOff + (k0 + kb) * N + col0 + n';
  const each = (code: (l: number) => string) => ls.map((l) => `{\n      let e = tid + ${l * threads}u;\n${code(l)}\n    }`).join('\n    ');
  const guarded = (value: string, inside: string, read: string) => (aligned ? `${value} = ${read};` : `${value} = ${zero};
      if (${inside}) { ${value} = ${read}; }`);
  const load = each(
    (l) => `      ${whereA}
      ${guarded(`va${l}`, 'row0 + m < M && k0 + ka < K', a(atA))}
      ${whereB}
      ${guarded(`vb${l}`, 'k0 + kb < K && col0 + n < N', b(atB))}`,
  );
  const store = each(
    (l) => `      ${whereA}
      tileA[${tileSlot(form, 'ka', `m / ${w}u`)}][m % ${w}u] = va${l};
      ${whereB}
      tileB[${tileSlot(form, 'kb', columnSlot(form, 'n'))}][${columnLane(form, 'n')}] = vb${l};`,
  );
  const declare = ls.map((l) => `var va${l} = ${zero}; var vb${l} = ${zero};`).join(' ');
  return { declare, load, store };
}

/**
 * Whether a tiled kernel reads its operands as `vec4`s: where the layout is `aligned` and each
 * operand is one buffer. Every operand's stored last axis (K, M or N) is then a multiple of 16 and
 * every matrix starts at a multiple of 4 elements, so a tile's rows are whole vectors.
 */
export const vectorLoads = (layout: MatmulLayout) => (layout.aligned ?? false) && layout.tile !== 'strip' && operandBuffers(layout.piecesA) === 1 && operandBuffers(layout.piecesB) === 1;

/**
 * `tileStep` with each operand read as `vec4`s along its stored last axis (`vectorLoads`): a
 * [16, tile] tile is 4·tile vectors, spread over the workgroup's invocations (`tileForm`: two
 * each in a 64x64 tile's 16x8 and a narrow tile's 8x8, half of 16x16 load one at 32x32), a quarter of the scalar step's
 * loads and index arithmetic. An operand stored with k
 * fastest (plain A, transposed B) gives each vector's four words to four tile rows; one stored with
 * its side fastest gives them to one row, stored as one `vec4` (two `vec2`s at 32x32). The readers
 * take vector indices.
 */
function vectorTileStep(zero: string, form: TileForm, layout: MatmulLayout, a: Reader, b: Reader) {
  const { transposeA = false, transposeB = false } = layout;
  const { side: tile, w } = form;
  const vectors = 4 * tile;
  const threads = form.x * form.y;
  const ls = [...Array(Math.ceil(vectors / threads)).keys()];
  const perRow = tile / 4;
  // Where vector e of an operand's tile lies, the vector index it reads and how it is stored.
  const operand = (name: 'A' | 'B', kFastest: boolean, offset: string, base: string, side: string, read: Reader) => {
    const at = kFastest ? `(${offset} + (${base} + s) * K + k0) / 4u + q` : `(${offset} + (k0 + kr) * ${side} + ${base}) / 4u + q`;
    const where = kFastest ? 'let s = e / 4u; let q = e % 4u;' : `let kr = e / ${perRow}u; let q = e % ${perRow}u;`;
    const v = `v${name.toLowerCase()}`;
    // Where side index `x` of the tile goes: A's rows in runs of w per vector, B's columns as `columnSlot` says.
    const [slotOf, laneOf] = name === 'A' ? [(x: string) => `${term(x)} / ${w}u`, (x: string) => `${term(x)} % ${w}u`] : [(x: string) => columnSlot(form, x), (x: string) => columnLane(form, x)];
    const store = (l: number) =>
      kFastest
        ? [0, 1, 2, 3].map((j) => `tile${name}[${tileSlot(form, `(4u * q + ${j}u)`, slotOf('s'))}][${laneOf('s')}] = ${v}${l}[${j}];`).join(' ')
        : name === 'B' && form.interleaved
          ? [0, 1, 2, 3].map((j) => `tile${name}[${tileSlot(form, 'kr', slotOf(`4u * q + ${j}u`))}][${laneOf(`4u * q + ${j}u`)}] = ${v}${l}[${j}];`).join(' ')
          : w === 4
            ? `tile${name}[${tileSlot(form, 'kr', 'q')}] = ${v}${l};`
            : `tile${name}[${tileSlot(form, 'kr', '2u * q')}] = ${v}${l}.xy; tile${name}[${tileSlot(form, 'kr', '2u * q + 1u')}] = ${v}${l}.zw;`;
    return { where, load: (l: number) => `${v}${l} = ${read(at)};`, store };
  };
  const opA = operand('A', !transposeA, 'aOff', 'row0', 'M', a);
  const opB = operand('B', transposeB, 'bOff', 'col0', 'N', b);
  const each = (code: (l: number) => string) =>
    ls.map((l) => `${(l + 1) * threads > vectors ? `if (tid + ${l * threads}u < ${vectors}u) ` : ''}{\n      let e = tid + ${l * threads}u;\n${code(l)}\n    }`).join('\n    ');
  const load = each((l) => `      { ${opA.where} ${opA.load(l)} }\n      { ${opB.where} ${opB.load(l)} }`);
  const store = each((l) => `      { ${opA.where} ${opA.store(l)} }\n      { ${opB.where} ${opB.store(l)} }`);
  const declare = ls.map((l) => `var va${l} = vec4<T>(${zero}); var vb${l} = vec4<T>(${zero});`).join(' ');
  return { declare, load, store };
}

/**
 * A tiled kernel's form: 16x16 invocations computing 2x2 values each (32x32 tiles), 4x4 (64x64) or
 * 8x8 (128x128), reading vectors of 2, 4 and 4 from a tile row. Two exceptions, each loading the
 * next K step while multiplying (`tiledKernel`):
 * - 64x64 tiles read as `vec4`s (`vectorLoads`) run 16x8 invocations of 8x4 values. On an H200, in
 *   the 100-agent SAC-v2 updates, that took the walls from 7.40 to 7.00 ms (sgm-mrp) and 3.80-3.97
 *   to 3.64 ms (sg-rp), session 15; alone, 200 1280x256x256 products took 0.84 ms against 0.98
 *   (session 14). 8x8 invocations of 8x8 values took those walls to 7.16 / 3.70 ms against 6.57 /
 *   3.32 (session 17).
 * - Narrow tiles are 32x32 tiles computed by 8x8 invocations of 4x4 values: the 100-agent updates'
 *   1280x23 input gradients (200 products) took 0.19 ms in them against 0.31 in 64x64 tiles and
 *   0.35 in 16x16 invocations of 2x2 (sessions 17 and 13). A single agent's 32x32 products stay in
 *   16x16 invocations: in 8x8 its update's kernels took 0.46 / 0.62 ms against 0.40 / 0.57 (sg-rp /
 *   sgm-mrp), partly because 64-invocation kernels do not merge with the 256-invocation ones.
 * The summation order is the same in every form, so are the bits.
 *
 * @example
 * tileForm(64, { aligned: true });    // { side: 64, x: 16, y: 8, w: 4, interleaved: true }: 8x4 values each
 * tileForm(64, { transposeB: true }); // { side: 64, x: 16, y: 16, w: 4, interleaved: false }: 4x4 values each
 * tileForm('narrow', {});             // { side: 32, x: 8, y: 8, w: 4, interleaved: true }: 4x4 values each
 */
export function tileForm(tile: TileSide | 'narrow', layout: MatmulLayout): TileForm {
  const interleaved = !(layout.transposeB ?? false);
  if (tile === 'narrow') return { side: tileSide(tile), x: 8, y: 8, w: 4, interleaved };
  if (tile === 64 && vectorLoads(layout)) return { side: 64, x: 16, y: 8, w: 4, interleaved };
  return { side: tile, x: 16, y: 16, w: tile === 32 ? 2 : 4, interleaved };
}

/**
 * The index (a WGSL expression) of vector `q` of row `k` in a [16, tile] tile in workgroup memory.
 * Where 16 neighbouring invocations store one column of 16 rows (plain A, transposed B), rows of
 * `tile / w` vectors would put all 16 words in one bank. 32x32 and 64x64 tiles pad each row by one
 * vector, so the words fall in 8 banks or more, and a read's index is the row's start plus a
 * constant (a swizzle takes an exclusive or per read): on an H200 the 100-agent SAC-v2 updates'
 * kernels took 8% less time than swizzled (sgm-mrp 9.59 -> 8.77 ms, session 13). Padded 128x128
 * tiles would need more than WebGPU's default 16 KiB of workgroup memory, so their rows are
 * swizzled instead: row k keeps vector q at q ^ k (16 rows over 8 banks or more).
 */
function tileSlot({ side, w }: TileForm, k: string, q: string): string {
  return side === 128 ? `${k} * ${side / w}u + ((${q}) ^ ${k})` : `${k} * ${side / w + 1}u + ${q}`;
}

/** Vectors in each of a tile's 16 rows in workgroup memory, padding included (`tileSlot`). */
const tileRowVectors = ({ side, w }: TileForm) => side / w + (side === 128 ? 0 : 1);

/**
 * The vector (`columnSlot`) and lane (`columnLane`) of a B tile row holding column `n` (a WGSL
 * expression) of the tile; invocation tx reads vectors tx + X·c and computes their columns.
 * Interleaved (B stored plain, `[K, N]`): lane j of vector tx + X·c is column tx + X·j + X·w·c, so
 * a warp stores runs of X neighbouring columns (where it stored every w-th word of a span w times
 * as long: four times the sectors per store in 64x64 tiles) and an epilogue reads its inputs the
 * same way. On an H200 the 100-agent SAC-v2 updates' NN products took 8-20% less by kernel
 * (sgm-mrp's five sibling-pair dispatches 2.03 -> 1.67 ms, the largest of them, 200 1280x256x256
 * products, 1.02 -> 0.98), the TN ones the same (session 17). Contiguous (B stored transposed, `[N, K]`): lane j of vector q is
 * column w·q + j. Interleaved there, the NT products took 13-20% more: a warp's stores of its
 * loaded B vectors (8 columns by 4 K steps) fell in 8 banks instead of 16.
 */
const columnSlot = ({ x, w, interleaved }: TileForm, n: string) => (interleaved ? `(${n}) % ${x}u + ${x}u * ((${n}) / ${x * w}u)` : `${term(n)} / ${w}u`);
const columnLane = ({ x, w, interleaved }: TileForm, n: string) => (interleaved ? `((${n}) / ${x}u) % ${w}u` : `${term(n)} % ${w}u`);

/** A WGSL expression as an operand: a name as it is, anything else in parentheses. */
const term = (expression: string) => (/^\w+$/.test(expression) ? expression : `(${expression})`);

/**
 * A product's store epilogue: its group, and whether the group's last two axes are the product's
 * rows and columns, so that it finds its strided inputs from an output's row and column
 * (`productEpilogueWgsl`'s `byCoords`) rather than from its flat index.
 */
export interface ProductEpilogue {
  readonly spec: GroupSpec;
  readonly byCoords?: boolean;
}

/** The buffers an operand binds: one per piece of a concatenation, else one. */
export const operandBuffers = (pieces: readonly number[] | undefined) => Math.max(1, pieces?.length ?? 1);

/**
 * `fn ${reader}(i: u32) -> T` reading an operand's stored flat index `i` from the buffers `names`:
 * one buffer, or the pieces of a concatenation (`pieces`: their widths), where it reads the row
 * `i / W` (W: the stored last axis) of the piece holding column `i % W`.
 */
function operandReader(reader: string, names: readonly string[], pieces: readonly number[] | undefined, vector = false): string {
  if (!pieces || pieces.length <= 1) return `fn ${reader}(i: u32) -> ${vector ? 'vec4<T>' : 'T'} { return ${names[0]}[i]; }`;
  const width = pieces.reduce((a, b) => a + b, 0);
  let start = 0;
  const reads = pieces.map((w, q) => {
    const read = `return ${names[q]}[row * ${w}u + col - ${start}u];`;
    start += w;
    return q === pieces.length - 1 ? `  ${read}` : `  if (col < ${start}u) { ${read} }`;
  });
  return `fn ${reader}(i: u32) -> T {
  let row = i / ${width}u;
  let col = i % ${width}u;
${reads.join('\n')}
}`;
}

/**
 * The WGSL of the batched matmul kernel for element type `type` and operand layout `layout`,
 * storing through `epilogue` (bound and given params as `layout` says) when given.
 *
 * Bindings: params; the output; `a` (or its pieces); `b` (or its pieces); the epilogue's buffers.
 *
 * @example
 * matmulWgsl('f32');                       // a [.., M, K] @ b [.., K, N]
 * matmulWgsl('f32', { transposeB: true }); // b's matrices stored [N, K]
 * matmulWgsl('f32', { piecesA: [17, 6] }); // a = concat([s, u], -1): s [.., M, 17], u [.., M, 6]
 */
export function matmulWgsl(type: string, layout: MatmulLayout = {}, epilogue?: ProductEpilogue & { readonly layout: GroupLayout }): string {
  const [pa, pb] = [operandBuffers(layout.piecesA), operandBuffers(layout.piecesB)];
  const names = [...Array(pa + pb).keys()].map((k) => `x${k}`);
  const first = 2 + pa + pb;
  const vector = vectorLoads(layout);
  return `${PRELUDE}
alias T = ${type};
${binding(1, 'out', epilogue?.spec.outType ?? type, 'read_write')}
${names.map((name, k) => binding(2 + k, name, vector ? `vec4<${type}>` : type, 'read')).join('\n')}
${operandReader('readA', names.slice(0, pa), layout.piecesA, vector)}
${operandReader('readB', names.slice(pa), layout.piecesB, vector)}
${epilogue ? MATH : ''}
${productEpilogueWgsl(epilogue?.spec, epilogue?.layout ?? { inputs: first, stores: first, at: 0 }, { prefix: 'e', out: 'out', store: 'store' }, epilogue?.byCoords ?? false)}
${matmulMain(type, layout, [{ a: (i) => `readA(${i})`, b: (i) => `readB(${i})`, store: 'store' }])}`;
}

/**
 * The WGSL of independent products of one shape and layout in one kernel (a jit plan's sibling
 * products, `jit/siblings.ts`): workgroup z covers the batch of member 0, then member 1's, and so
 * on, each member's code written out for it (`matmulMain`). Member j reads its operands from the
 * kernel's operand buffers `operands[j]` (its `a` or a's pieces, then its `b` or b's pieces; a
 * buffer several members read, such as the twin critics' input, is bound once), stores through
 * `epilogues[j]` (its own group, its params at its `at`, or none) and has its own output and
 * epilogue buffers; all share the product's params (`matmulWgsl`'s).
 *
 * Bindings: params; member 0's output; the operand buffers; each member's epilogue inputs; then
 * the written buffers: the outputs of members 1.., each member's epilogue stores.
 *
 * @example
 * matmulSiblingsWgsl('f32', {}, [[0, 1], [0, 2]], [undefined, undefined]); // out0 = x0 @ x1 and out1 = x0 @ x2 in one dispatch
 */
export function matmulSiblingsWgsl(
  type: string,
  layout: MatmulLayout,
  operands: readonly (readonly number[])[],
  epilogues: readonly ((ProductEpilogue & { readonly at: number }) | undefined)[],
): string {
  const members = operands.length;
  const ids = [...Array(members).keys()];
  const outTypes = epilogues.map((e) => e?.spec.outType ?? type);
  const shared = Math.max(...operands.flat()) + 1;
  const pa = operandBuffers(layout.piecesA);
  const vector = vectorLoads(layout);
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
  const inputs = epilogues.map((e) => e?.spec.inputs.length ?? 0);
  const stores = epilogues.map((e) => e?.spec.stores.length ?? 0);
  const inputsAt = 2 + shared;
  const writesAt = inputsAt + sum(inputs);
  const storesAt = writesAt + members - 1;
  const outName = (j: number) => (j === 0 ? 'out' : `out${j}`);
  const bindings = [
    binding(1, 'out', outTypes[0], 'read_write'),
    ...[...Array(shared).keys()].map((k) => binding(2 + k, `x${k}`, vector ? `vec4<${type}>` : type, 'read')),
    ...ids.slice(1).map((j) => binding(writesAt + j - 1, outName(j), outTypes[j], 'read_write')),
  ];
  const readers = operands.flatMap((list, j) => {
    const names = list.map((k) => `x${k}`);
    return [operandReader(`readA${j}`, names.slice(0, pa), layout.piecesA, vector), operandReader(`readB${j}`, names.slice(pa), layout.piecesB, vector)];
  });
  const stored = ids.map((j) =>
    productEpilogueWgsl(
      epilogues[j]?.spec,
      { inputs: inputsAt + sum(inputs.slice(0, j)), stores: storesAt + sum(stores.slice(0, j)), at: epilogues[j]?.at ?? 0 },
      { prefix: `e${j}_`, out: outName(j), store: `store${j}` },
      epilogues[j]?.byCoords ?? false,
    ),
  );
  return `${PRELUDE}
alias T = ${type};
${bindings.join('\n')}
${readers.join('\n')}
${epilogues.some((e) => e) ? MATH : ''}
${stored.join('\n')}
${matmulMain(type, layout, ids.map((j) => ({ a: (i) => `readA${j}(${i})`, b: (i) => `readB${j}(${i})`, store: `store${j}` })))}`;
}

/** What one product's code in a kernel reads its operands through (vector indices where `vectorLoads`) and the name of its store function. */
interface ProductIO {
  readonly a: Reader;
  readonly b: Reader;
  readonly store: string;
}

/** A kernel's module-scope declarations, its entry point's workgroup size and builtins, and its code for one product (after the batch's offsets). */
interface KernelForm {
  readonly declarations: string;
  readonly workgroupSize: string;
  readonly builtins: string;
  readonly body: (io: ProductIO) => string;
}

/**
 * The entry point computing `products` (one, or a jit plan's siblings); workgroup z is `member *
 * batches + batch index` (one product: the batch index). WGSL cannot index bindings, so siblings'
 * code is written out once per member under one switch on the member (uniform per workgroup),
 * each copy reading and storing its own buffers: with a switch in every load and store instead,
 * the 100-agent SAC-v2 updates took 7.00 / 3.64 ms against 6.58 / 3.32 (sgm-mrp / sg-rp, H200,
 * session 15).
 */
function matmulMain(type: string, layout: MatmulLayout, products: readonly ProductIO[]): string {
  const members = products.length;
  const selectMember =
    members === 1
      ? '  var rest = wid.z;\n  let z = wid.z;'
      : `  var batches = 1u;
  for (var d = 0u; d < rank; d++) { batches *= params[4u + d]; }
  let member = wid.z / batches;
  let z = wid.z % batches;
  var rest = z;`;
  // The sizes, and the offsets of batch z's matrices in the operands.
  const batchHead = `  let M = params[0];
  let N = params[1];
  let K = params[2];
  let rank = params[3];
  var aOff = 0u;
  var bOff = 0u;
${selectMember}
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[4u + u32(d)];
    let c = rest % size;
    rest = rest / size;
    aOff += c * params[4u + rank + u32(d)];
    bOff += c * params[4u + 2u * rank + u32(d)];
  }`;
  const { tile = MATMUL_TILE } = layout;
  const kernel = tile === 'strip' ? stripKernel(type, layout) : tiledKernel(type, tile, layout);
  const body = (io: ProductIO) => `  ${io.store}Setup(z);\n${kernel.body(io)}`;
  const bodies =
    members === 1 ? body(products[0]) : `  switch member {\n${products.map((io, j) => `  ${j === members - 1 ? 'default' : `case ${j}u`}: {\n${body(io)}\n  }`).join('\n')}\n  }`;
  // A folded batch: the workgroup id the body reads (wid) from the grid's (grid), past the end skipped.
  const unfold = layout.foldedBatch
    ? `  let foldAt = 4u + 3u * params[3];
  let tilesY = params[foldAt];
  let wid = vec3u(grid.x, grid.y % tilesY, grid.z + (grid.y / tilesY) * params[foldAt + 1u]);
  var total = ${members}u;
  for (var d = 0u; d < params[3]; d++) { total *= params[4u + d]; }
  if (wid.z >= total) { return; }
`
    : '';
  const builtins = layout.foldedBatch ? kernel.builtins.replace('wid: vec3u', 'grid: vec3u') : kernel.builtins;
  return `${kernel.declarations}

@compute @workgroup_size(${kernel.workgroupSize})
fn main(${builtins}) {
${unfold}${batchHead}
${bodies}
}
`;
}

/** Long-side outputs of a strip: its workgroup's invocations, one each. */
export const STRIP_LONG = 128;

/**
 * Strips: workgroup (x, y) computes outputs `128x .. 128x + 127` along the long side by `W·y ..
 * W·y + W - 1` along the short one, each invocation one long-side index and its W outputs. Each K
 * step of 16 stages the long operand's [128, 16] block in workgroup memory (rows padded to 17
 * words, so that 32 neighbouring invocations reading word k of their rows hit 32 banks) and the short operand's
 * [16, W] block (read by all invocations alike); loads are coalesced per layout. Each output sums
 * its terms in K order, so the bits are the tiled kernels'.
 */
function stripKernel(type: string, { transposeA = false, transposeB = false, strip }: MatmulLayout): KernelForm {
  if (!strip) throw new Error('matmulWgsl: a strip kernel needs its strip shape (MatmulLayout.strip)');
  const { short, width: w } = strip;
  const zero = `${type}(0)`;
  const long = short === 'N' ? 'M' : 'N';
  // Stored index of long-side index p, step k; of short-side index q, step k; and whether each
  // operand is stored with k fastest (plain A, transposed B).
  const at = {
    A: (m: string, k: string) => (transposeA ? `aOff + (${k}) * M + ${m}` : `aOff + (${m}) * K + ${k}`),
    B: (n: string, k: string) => (transposeB ? `bOff + (${n}) * K + ${k}` : `bOff + (${k}) * N + ${n}`),
  };
  const kFastest = { A: !transposeA, B: transposeB };
  const [longOp, shortOp] = short === 'N' ? (['A', 'B'] as const) : (['B', 'A'] as const);
  const loads = [...Array(16).keys()];
  // Element e of a [side, 16] block: its side index `index` and its step k, neighbours along the stored fastest axis.
  const where = (fastK: boolean, side: number, index: string) => (fastK ? `let ${index} = e / 16u; let k = e % 16u;` : `let k = e / ${side}u; let ${index} = e % ${side}u;`);
  const longLoads = (read: Record<'A' | 'B', Reader>) =>
    loads
      .map(
        (l) => `{
      let e = lid + ${l * STRIP_LONG}u;
      ${where(kFastest[longOp], STRIP_LONG, 'p')}
      v${l} = ${zero};
      if (p0 + p < ${long} && k0 + k < K) { v${l} = ${read[longOp](at[longOp]('p0 + p', 'k0 + k'))}; }
    }`,
      )
      .join('\n    ');
  const longStores = loads.map((l) => `{ let e = lid + ${l * STRIP_LONG}u; ${where(kFastest[longOp], STRIP_LONG, 'p')} tileL[p * 17u + k] = v${l}; }`).join('\n    ');
  const shortParts = [...Array(Math.ceil((16 * w) / STRIP_LONG)).keys()];
  const shortLoads = (read: Record<'A' | 'B', Reader>) =>
    shortParts
      .map(
        (l) => `if (lid + ${l * STRIP_LONG}u < ${16 * w}u) {
      let e = lid + ${l * STRIP_LONG}u;
      ${where(kFastest[shortOp], w, 'q')}
      var u = ${zero};
      if (q0 + q < ${short} && k0 + k < K) { u = ${read[shortOp](at[shortOp]('q0 + q', 'k0 + k'))}; }
      tileS[k * ${w}u + q] = u;
    }`,
      )
      .join('\n    ');
  const outputs = [...Array(w).keys()];
  const multiplyAdds = outputs.map((j) => (short === 'N' ? `acc${j} += x * tileS[kk * ${w}u + ${j}u];` : `acc${j} += tileS[kk * ${w}u + ${j}u] * x;`));
  const stores = (store: string) =>
    outputs.map((j) => {
      const [row, col] = short === 'N' ? ['p0 + lid', `q0 + ${j}u`] : [`q0 + ${j}u`, 'p0 + lid'];
      return `  if (p0 + lid < ${long} && q0 + ${j}u < ${short}) { ${store}(outOff + (${row}) * N + ${col}, ${row}, ${col}, acc${j}); }`;
    });
  return {
    declarations: `var<workgroup> tileL: array<${type}, ${STRIP_LONG * 17}>; // [${STRIP_LONG} long][16 k], rows padded to 17
var<workgroup> tileS: array<${type}, ${16 * w}>; // [16 k][${w} short]`,
    workgroupSize: `${STRIP_LONG}`,
    builtins: '@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32',
    body: ({ a, b, store }) => {
      const read = { A: a, B: b };
      return `  let p0 = wid.x * ${STRIP_LONG}u;
  let q0 = wid.y * ${w}u;
  ${outputs.map((j) => `var acc${j} = ${zero};`).join(' ')}
  ${loads.map((l) => `var v${l} = ${zero};`).join(' ')}
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    ${longLoads(read)}
    ${shortLoads(read)}
    ${longStores}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let x = tileL[lid * 17u + kk];
      ${multiplyAdds.join('\n      ')}
    }
    workgroupBarrier();
  }
  let outOff = z * M * N;
${stores(store).join('\n')}`;
    },
  };
}

/** Workgroups of `tileForm`'s invocations, each workgroup computing a tile x tile block of the output. */
function tiledKernel(type: string, tileKind: TileSide | 'narrow', layout: MatmulLayout): KernelForm {
  const zero = `${type}(0)`;
  // Each of the X x Y invocations (`tileForm`) computes a block of the tile x tile output
  // tile: rows w·ty + wY·g + i and the columns of B's vectors tx + X·c (`columnSlot`: interleaved
  // tx + X·j + wX·c or contiguous w·tx + wX·c + j), so that it reads its operands as vectors from
  // workgroup memory (one wide read instead of w) and a warp's reads of one tile row cover an
  // aligned run of words. The accumulators are vectors held
  // in registers and unrolled here: an indexed accumulator array can land in (slow) local memory.
  // Workgroup memory rows are padded or swizzled (`tileSlot`) against bank conflicts. The values
  // and their order of summation are the same either way, so are the bits.
  const form = tileForm(tileKind, layout);
  const { side: tile, x: X, y: Y, w } = form;
  const rowGroups = [...Array(tile / (Y * w)).keys()];
  const colGroups = [...Array(tile / (X * w)).keys()];
  const lanes = [...Array(w).keys()];
  const vec = `vec${w}<${type}>`;
  const rows = rowGroups.flatMap((g) => lanes.map((i) => [g, i] as const));
  const declare = rows.flatMap(([g, i]) => colGroups.map((c) => `var acc${g}_${i}_${c} = ${vec}();`)).join(' ');
  const reads = [
    ...rowGroups.map((g) => `let a${g} = tileA[${tileSlot(form, 'kk', `ty + ${Y * g}u`)}];`),
    ...colGroups.map((c) => `let b${c} = tileB[${tileSlot(form, 'kk', `tx + ${X * c}u`)}];`),
  ];
  const multiplyAdds = rows.flatMap(([g, i]) => colGroups.map((c) => `acc${g}_${i}_${c} += a${g}[${i}] * b${c};`));
  // Kernels of fewer than 256 invocations (16x8, narrow 8x8) load the next K step into registers
  // after storing this one, so those loads wait for memory during this step's multiply-adds.
  const prefetch = X * Y < 256;
  const stores = (store: string) =>
    rows.map(
      ([g, i]) => `  {
    let row = row0 + ${w}u * ty + ${Y * w * g + i}u;
${colGroups
  .flatMap((c) =>
    lanes.map((j) => {
      const col = form.interleaved ? `col0 + tx + ${X * w * c + X * j}u` : `col0 + ${w}u * tx + ${X * w * c + j}u`;
      const stored = `${store}(outOff + row * N + ${col}, row, ${col}, acc${g}_${i}_${c}[${j}]);`;
      return layout.aligned ? `    ${stored}` : `    if (row < M && ${col} < N) { ${stored} }`;
    }),
  )
  .join('\n')}
  }`,
    );
  const body = ({ a, b, store }: ProductIO) => {
    const step = tileStep(zero, form, layout, a, b);
    return `  let row0 = wid.y * ${tile}u;
  let col0 = wid.x * ${tile}u;
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * ${X}u + tx;
  ${declare}
  ${step.declare}
  ${prefetch ? `{\n    let k0 = 0u;\n    ${step.load}\n  }` : ''}
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    ${prefetch ? '' : step.load}
    ${step.store}
    workgroupBarrier();
    ${prefetch ? `if (k0 + 16u < K) {\n      let k0 = k0 + 16u;\n      ${step.load}\n    }` : ''}
    for (var kk = 0u; kk < 16u; kk++) {
      ${reads.join('\n      ')}
      ${multiplyAdds.join('\n      ')}
    }
    workgroupBarrier();
  }
  let outOff = z * M * N;
${stores(store).join('\n')}`;
  };
  return {
    declarations: `var<workgroup> tileA: array<${vec}, ${16 * tileRowVectors(form)}>; // [16 k][${tile} rows]
var<workgroup> tileB: array<${vec}, ${16 * tileRowVectors(form)}>; // [16 k][${tile} cols]`,
    workgroupSize: `${X}, ${Y}`,
    builtins: '@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u',
    body,
  };
}
