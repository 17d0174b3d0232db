/**
 * Matrix products on WebGPU: the kernel each product gets (tiles of 32, 64 or 128, narrow tiles,
 * strips) by its shape and count, and products prepared once with their epilogues, several
 * independent ones of a shape as one dispatch.
 */
import { MATMUL_TILE, type MatmulLayout, matmulSiblingsWgsl, type MatmulTile, matmulWgsl, operandBuffers, STRIP_LONG, type StripShape, tileSide } from '../../../shaders/matmul';
import type { Aval } from '../primitives';
import { broadcastStrides, formatShape, sizeOf } from '../shape';
import { WebGPUError } from './errors';
import { wgslType } from './expressions';
import { groupPlacer, type GroupShape, type KernelHost, type StoreEpilogue } from './kernel-common';
import { MAX_GROUPS } from './recorder';
import type { GpuInput, Storage } from './storage';

/**
 * Dispatches a batched matmul `a @ b` into fresh storage. `a.aval` and `b.aval` are the operands'
 * logical shapes (`[..., M, K]`, `[..., K, N]`); with `layout.transposeA` the storage of `a` holds
 * its matrices transposed (`[..., K, M]`), with `layout.transposeB` that of `b` holds `[..., N, K]`,
 * read in place by a variant of the kernel (how a jit plan skips a transpose feeding a product).
 * With `epilogue` the kernel stores `epilogue(a @ b)` (of `epilogue.out`) instead of the product.
 *
 * @example
 * // w stored [N, K]: x @ transpose(w) without copying the transpose
 * const y = matmulKernel(gpu, [x, { storage: w.storage, aval: { shape: [k, n], dtype: 'float32' } }], out, { transposeB: true });
 */
export function matmulKernel(gpu: KernelHost, [a, b]: readonly GpuInput[], out: Aval, layout: MatmulLayout = {}, epilogue?: StoreEpilogue): Storage {
  const result = gpu.output(epilogue?.out ?? out);
  if (sizeOf(out.shape) === 0) return result;
  // With an epilogue the kernel stores epilogue(0) (its K loop does not run).
  if (a.aval.shape[a.aval.shape.length - 1] === 0 && !epilogue) {
    gpu.clear(result, sizeOf(out.shape) * 4);
    return result;
  }
  const groupBuffers = epilogue ? [...epilogue.inputs, ...epilogue.outputs] : [];
  prepareProducts(gpu, 1, a.aval, b.aval, out, layout, epilogue).run(gpu, [result, a.storage, b.storage, ...groupBuffers]);
  return result;
}

/**
 * How a host picks its products' kernels (`matmulTile`): `'sized'` by each product's shape and
 * count (the default on hardware adapters: 32x32, strips, narrow or 64x64 tiles), `'thin-strip'`
 * strips for thin products and 64x64 tiles for the rest (the default on software adapters, whose
 * few cores run large workgroups best), or one kernel for every product.
 */
export type MatmulTiles = 'sized' | 'thin-strip' | MatmulTile;

/** The most rows or columns of a product computed in strips under `'sized'` and `'thin-strip'`, and the strips' widest. */
const STRIP_WIDTH = 16;

/** The most rows or columns of a product computed in narrow tiles under `'sized'`. */
const NARROW_WIDTH = 32;

/** Workgroups of 64x64 tiles below which a sized product takes 32x32 ones. */
const SMALL_PRODUCT_GROUPS = 128;

/**
 * The kernel of `batch` products `[M, K] @ [K, N]` under `tiles`. Sized: 32x32 tiles where 64x64
 * ones would leave a large GPU's multiprocessors idle (fewer than 128 workgroups); else strips
 * where M or N is at most 16, which a square tile would mostly pad (a critic's one output column:
 * 63 of a 64x64 tile's 64 columns); else narrow tiles where M or N is at most 32 (32x32 tiles of
 * 8x8 invocations); else 64x64 tiles. Thin-strip: strips where M or N is at most 16, else 64x64.
 * On an H200 the 100-agent SAC-v2 update's thin products took 0.22 ms in strips (0.41 with one
 * invocation per output, more with 64x64 tiles), and its 23-column input gradients 0.19 ms in
 * narrow tiles (0.31 in 64x64, 0.34 in two strips of 12: sessions 15 and 17). Never 128x128: on
 * an H200 it ran the 100-agent update's batched 256x256 products at half the speed of 64x64 and
 * won only from about 2048³ (by 13%, `bench/webgpu`).
 *
 * @example
 * matmulTile('sized', 256, 256, 1);    // 32: 16 workgroups of 64x64 would fill 16 multiprocessors
 * matmulTile('sized', 256, 256, 100);  // 64: 1600 workgroups
 * matmulTile('sized', 256, 1, 100);    // 'strip'
 * matmulTile('sized', 1280, 23, 200);  // 'narrow'
 * matmulTile('sized', 256, 1, 1);      // 32
 */
export function matmulTile(tiles: MatmulTiles, m: number, n: number, batch: number): MatmulTile {
  if (tiles !== 'sized' && tiles !== 'thin-strip') return tiles;
  if (tiles === 'sized' && Math.ceil(m / 64) * Math.ceil(n / 64) * batch < SMALL_PRODUCT_GROUPS) return 32;
  if (Math.min(m, n) <= STRIP_WIDTH) return 'strip';
  return tiles === 'sized' && Math.min(m, n) <= NARROW_WIDTH ? 'narrow' : 64;
}

/** The strips of an `[M, N]` output: along its longer side, as wide as its shorter one up to 16. */
const stripShape = (m: number, n: number): StripShape => (n <= m ? { short: 'N', width: Math.min(n, STRIP_WIDTH) } : { short: 'M', width: Math.min(m, STRIP_WIDTH) });

/** The workgroups covering an `[M, N]` output: tiles (x along N, y along M) or strips (x along the long side, y across the short one, and their shape). */
function outputGrid(m: number, n: number, tile: MatmulTile): { x: number; y: number; strip?: StripShape } {
  if (tile !== 'strip') return { x: Math.ceil(n / tileSide(tile)), y: Math.ceil(m / tileSide(tile)) };
  const strip = stripShape(m, n);
  const [long, short] = strip.short === 'N' ? [m, n] : [n, m];
  return { x: Math.ceil(long / STRIP_LONG), y: Math.ceil(short / strip.width), strip };
}

/**
 * The params, grid, element type and layout name (operand layouts, tile) of a product of `a` and `b`
 * into `out` (`[M, K] @ [K, N]` per batch), and the layout its kernel is generated for (with strips,
 * their shape).
 */
function matmulDispatch(a: Aval, b: Aval, out: Aval, m: number, n: number, k: number, layout: MatmulLayout) {
  const { transposeA = false, transposeB = false, tile = MATMUL_TILE, piecesA, piecesB } = layout;
  const batchShape = out.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  const aStrides = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * m * k);
  const bStrides = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * k * n);
  const params = [m, n, k, batchShape.length, ...batchShape, ...aStrides, ...bStrides];
  const { x, y, strip } = outputGrid(m, n, tile);
  if (x > MAX_GROUPS || y > MAX_GROUPS) throw new WebGPUError(`matmul: ${m}x${n} output exceeds the dispatch limit`);
  const groups: [number, number, number] = [x, y, batch];
  const pieces = (name: string, widths: readonly number[] | undefined) => (widths && widths.length > 1 ? `${name}${widths.join('+')}` : '');
  const kernelShape = strip ? `strip${strip.short}${strip.width}` : tile === MATMUL_TILE ? '' : tile;
  const aligned = tile !== 'strip' && m % tileSide(tile) === 0 && n % tileSide(tile) === 0 && k % 16 === 0;
  const variant = `${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}${kernelShape}${aligned ? 'aligned' : ''}${pieces('A', piecesA)}${pieces('B', piecesB)}`;
  return { params, groups, type: wgslType(out.dtype), variant, layout: strip ? { ...layout, strip } : { ...layout, aligned } };
}

/**
 * A dispatch of products prepared once (params, grid, pipeline key). `run` binds one call's
 * buffers, in this order: member 0's output; each member's two operands (a concatenated one: its
 * pieces, `MatmulLayout.piecesA`/`piecesB`); each member's epilogue inputs; the outputs of members
 * 1..; each member's epilogue stores.
 */
export interface PreparedProducts {
  run(gpu: KernelHost, buffers: readonly Storage[]): void;
}

/**
 * Prepares the dispatch of `count` independent products of `a` and `b` (logical shapes) into `out`
 * in `layout`, storing through `epilogue` (one group for all, or one per member, or none): one
 * product is `matmulWgsl`'s kernel, more are `matmulSiblingsWgsl`'s (a jit plan's sibling
 * products), member j reading the operand buffers `operands[j]` (default: each member its own, in
 * order; a buffer several members read is bound once). The products must not be empty, and K may
 * be 0 only with an epilogue (which then stores its value at 0; `matmulKernel` clears the others).
 * A jit plan prepares its products at compile time, so a call builds no params, keys or grids;
 * `matmulKernel` prepares its one product per call.
 *
 * @example
 * const twins = prepareProducts(gpu, 2, x.aval, w.aval, out);
 * twins.run(gpu, [q1, x.storage, w1.storage, x.storage, w2.storage, q2]); // q1 = x @ w1, q2 = x @ w2: one dispatch
 * prepareProducts(gpu, 2, x.aval, w.aval, out, {}, undefined, [[0, 1], [0, 2]]).run(gpu, [q1, x.storage, w1.storage, w2.storage, q2]); // x bound once
 * // q = concat([s, u], -1) @ w, the concatenation never stored (s [B, 17], u [B, 6])
 * prepareProducts(gpu, 1, { shape: [b, 23], dtype: 'float32' }, w.aval, out, { piecesA: [17, 6] }).run(gpu, [q, s.storage, u.storage, w.storage]);
 */
export function prepareProducts(
  host: KernelHost,
  count: number,
  a: Aval,
  b: Aval,
  out: Aval,
  layout: MatmulLayout = {},
  epilogue?: GroupShape | readonly (GroupShape | undefined)[],
  operands?: readonly (readonly number[])[],
): PreparedProducts {
  const [m, k] = a.shape.slice(-2);
  const n = out.shape[out.shape.length - 1];
  const epilogues = Array.isArray(epilogue) ? (epilogue as readonly (GroupShape | undefined)[]) : Array.from({ length: count }, () => epilogue as GroupShape | undefined);
  const anyEpilogue = epilogues.some((e) => e);
  if (sizeOf(out.shape) === 0 || (k === 0 && !anyEpilogue)) throw new WebGPUError(`matmul: no prepared kernel for the empty product ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  const tile = matmulTile(host.matmulTiles, m, n, count * sizeOf(out.shape.slice(0, -2)));
  const { params: own, groups, type, variant: plain, layout: unfolded } = matmulDispatch(a, b, out, m, n, k, { ...layout, tile });
  // Workgroup z runs batch index times members; past a grid dimension's limit it folds into y.
  const [x, y, z] = [groups[0], groups[1], groups[2] * count];
  const foldedBatch = z > MAX_GROUPS;
  const chunks = Math.ceil(z / MAX_GROUPS);
  if (y * chunks > MAX_GROUPS) throw new WebGPUError(`matmul: ${groups[2]} batch matrices of ${m}x${n} outputs exceed the dispatch limit (${y} x ${chunks} workgroups along y)`);
  const grid: [number, number, number] = foldedBatch ? [x, y * chunks, MAX_GROUPS] : [x, y, z];
  const variant = foldedBatch ? `${plain}folded` : plain;
  const tiled = foldedBatch ? { ...unfolded, foldedBatch } : unfolded;
  const params = foldedBatch ? [...own, y, MAX_GROUPS] : [...own];
  const paramsAt = groupPlacer(params);
  const ats = epilogues.map((e) => (e ? paramsAt(e) : 0));
  const tags = [variant.startsWith('NN') ? '' : variant.slice(0, 2), tile === 'strip' || tile === 'narrow' ? tile : ''].filter((tag) => tag);
  const kernel = `matmul${tags.length ? `(${tags.join(',')})` : ''}${count > 1 ? `x${count}` : ''}${anyEpilogue ? '+epilogue' : ''}`;
  const perMember = operandBuffers(layout.piecesA) + operandBuffers(layout.piecesB);
  const reads = operands ?? Array.from({ length: count }, (_, j) => Array.from({ length: perMember }, (_, q) => j * perMember + q));
  // A group over the product's [..., M, N] finds its strided inputs by row and column; one read
  // through a reshape (another shape of the same size) walks the flat index.
  const byCoords = epilogues.map((e) => e !== undefined && e.params[0] >= 2 && e.params[e.params[0] - 1] === m && e.params[e.params[0]] === n);
  const epilogueKeys = epilogues.map((e, j) => (e ? `${e.key}@${ats[j]}${byCoords[j] ? 'rc' : ''}` : '')).join(',');
  const key = `matmul|${type}|${variant}|${count > 1 ? JSON.stringify(reads) : 'x1'}|${epilogueKeys}`;
  const first = epilogues[0];
  const source =
    count === 1
      ? () => matmulWgsl(type, tiled, first && { spec: first.spec, byCoords: byCoords[0], layout: { inputs: 2 + perMember, stores: 2 + perMember + first.spec.inputs.length, at: ats[0] } })
      : () => matmulSiblingsWgsl(type, tiled, reads, epilogues.map((e, j) => e && { spec: e.spec, at: ats[j], byCoords: byCoords[j] }));
  const extraOutputs = count - 1 + epilogues.reduce((sum, e) => sum + (e?.spec.stores.length ?? 0), 0);
  return { run: (gpu, buffers) => gpu.run(kernel, key, source, params, buffers, grid, false, extraOutputs) };
}
