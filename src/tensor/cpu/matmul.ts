/** Batched matrix product on the CPU. */
import { type DType, type TypedArray, allocate } from '../dtype';
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../shape';
import { type MatmulF64Exports, packedF64Bytes } from './wasm/matmul-f64';
import { matmulBlockLayout, WasmArena } from './wasm/runtime';

/**
 * `[..., m, k] @ [..., k, n]` with broadcast batch axes. float32 products run as a WebAssembly SIMD
 * kernel accumulating in float32 (`wasm/matmul.ts`); float64 products of at least
 * `WASM_F64_MIN_WORK` multiply-adds as a WebAssembly f64x2 kernel (`wasm/matmul-f64.ts`) with the
 * same bits as JS; other dtypes and smaller float64 products accumulate in float64 in JS, in 4 x 4
 * register blocks (16 accumulators held in locals while the shared dimension is walked), with a
 * row-times-panel loop at the edges. Every float64 element is `c = 0; c += a[i, p] * b[p, j]` for p
 * ascending (a rounded multiply, then a rounded add) on either path.
 */
export function matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, dtype: DType): TypedArray {
  const out = allocate(dtype, sizeOf(outShape));
  prepareMatmul(aShape, bShape, outShape)(a, b, out);
  return out;
}

/** Which operands of a matrix product are stored transposed (their last two axes swapped). */
export interface MatmulLayout {
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

/**
 * The matrix product for fixed shapes, writing into a given output (`jit` plans call it with reused
 * buffers): the batch offsets are computed once here, not per call. `aShape` and `bShape` are the
 * operands' logical shapes; `layout` says which is stored transposed, so a transpose feeding a
 * product needs no copy.
 *
 * @example
 * const run = prepareMatmul([2, 3], [3, 4], [2, 4]);
 * run(a, b, out);
 * prepareMatmul([2, 3], [3, 4], [2, 4], { transposeA: true })(aT, b, out); // aT stored as [3, 2]
 */
export function prepareMatmul(
  aShape: Shape,
  bShape: Shape,
  outShape: Shape,
  layout: MatmulLayout = {},
): (a: TypedArray, b: TypedArray, out: TypedArray) => void {
  const { m, k, n, aOffsets, bOffsets, js } = productPlan(aShape, bShape, outShape, layout);
  const wasm = wasmMatmul(m, k, n, aOffsets, bOffsets, layout);
  const wasm64 = aOffsets.length * m * k * n >= WASM_F64_MIN_WORK ? wasmMatmulF64(m, k, n, aOffsets, bOffsets, layout) : null;
  return (x, y, out) => {
    const float32 = x instanceof Float32Array && y instanceof Float32Array && out instanceof Float32Array;
    // The scratch copy must fit a 32-bit WebAssembly memory; larger products stay in JS.
    if (float32 && x.byteLength + 2 * y.byteLength + out.byteLength < WASM_SCRATCH_LIMIT) return wasm(x, y, out);
    if (wasm64 && x instanceof Float64Array && y instanceof Float64Array && out instanceof Float64Array && wasm64.fits(x, y, out)) return wasm64.run(x, y, out);
    js(x, y, out);
  };
}

/**
 * The float64 product of `prepareMatmul` on one path whatever its size: `'js'` (`matmulOne`, what
 * other dtypes and small float64 products run) or `'wasm'` (the f64x2 kernel). For tests and benchmarks,
 * which compare the two bit for bit.
 *
 * @example
 * prepareMatmulF64('wasm', [2, 3], [3, 4], [2, 4])(a, b, out);
 */
export function prepareMatmulF64(
  path: 'js' | 'wasm',
  aShape: Shape,
  bShape: Shape,
  outShape: Shape,
  layout: MatmulLayout = {},
): (a: Float64Array, b: Float64Array, out: Float64Array) => void {
  const { m, k, n, aOffsets, bOffsets, js } = productPlan(aShape, bShape, outShape, layout);
  return path === 'wasm' ? wasmMatmulF64(m, k, n, aOffsets, bOffsets, layout).run : js;
}

/** A batched product's sizes, its batch offsets, and its JS loop (`matmulOne` per product). */
function productPlan(aShape: Shape, bShape: Shape, outShape: Shape, layout: MatmulLayout) {
  const [m, k] = aShape.slice(-2);
  const n = bShape[bShape.length - 1];
  const { a: aOffsets, b: bOffsets } = matmulBatchOffsets(aShape, bShape, outShape.slice(0, -2));
  // Element (i, p) of A is at i * ars + p * acs; element (p, j) of B at p * brs + j * bcs.
  const a = layout.transposeA ? { rs: 1, cs: m } : { rs: k, cs: 1 };
  const b = layout.transposeB ? { rs: 1, cs: k } : { rs: n, cs: 1 };
  const js = (x: TypedArray, y: TypedArray, out: TypedArray) => {
    for (let t = 0; t < aOffsets.length; t++) {
      matmulOne(x, aOffsets[t] * m * k, a.rs, a.cs, y, bOffsets[t] * k * n, b.rs, b.cs, out, t * m * n, m, k, n);
    }
  };
  return { m, k, n, aOffsets, bOffsets, js };
}

/**
 * For each product of a batched matmul (over `batchShape`, row-major), the index of the A and B
 * matrices it reads, with broadcasting.
 *
 * @example
 * matmulBatchOffsets([2, 3, 4], [4, 5], [2]); // { a: [0, 1], b: [0, 0] }
 */
export function matmulBatchOffsets(aShape: Shape, bShape: Shape, batchShape: Shape): { a: Int32Array; b: Int32Array } {
  const batch = sizeOf(batchShape);
  const aBatch = broadcastStrides(aShape.slice(0, -2), batchShape);
  const bBatch = broadcastStrides(bShape.slice(0, -2), batchShape);
  const batchStrides = stridesOf(batchShape);
  const a = new Int32Array(batch);
  const b = new Int32Array(batch);
  for (let t = 0; t < batch; t++) {
    let rest = t;
    for (let d = 0; d < batchShape.length; d++) {
      const i = Math.floor(rest / batchStrides[d]);
      rest -= i * batchStrides[d];
      a[t] += i * aBatch[d];
      b[t] += i * bBatch[d];
    }
  }
  return { a, b };
}

/** Bytes of operands and result the scratch arena takes at most (a wasm32 memory holds 4 GiB). */
const WASM_SCRATCH_LIMIT = 2 ** 31;

/** The arena products are copied through outside `jit` plans. */
let scratch: WasmArena | null = null;

/**
 * A product through the scratch arena: A and B copied in, the result's region and `extra` scratch
 * regions (bytes) reserved after them, `product` run on their addresses, and the result copied out.
 */
function throughScratch<T extends Float32Array | Float64Array>(
  a: T,
  b: T,
  out: T,
  extra: readonly number[],
  product: (arena: WasmArena, operands: { a: number; b: number; c: number }, extra: number[]) => void,
): void {
  scratch ??= new WasmArena();
  const arena = scratch;
  arena.reset();
  const operands = { a: arena.reserve(a.byteLength), b: arena.reserve(b.byteLength), c: arena.reserve(out.byteLength) };
  const regions = extra.map((bytes) => arena.reserve(bytes));
  const view = (at: number, length: number) => (a instanceof Float64Array ? new Float64Array(arena.buffer, at, length) : new Float32Array(arena.buffer, at, length));
  view(operands.a, a.length).set(a);
  view(operands.b, b.length).set(b);
  product(arena, operands, regions);
  out.set(view(operands.c, out.length));
}

/**
 * The float32 product through the WebAssembly kernel: the operands are copied into the scratch
 * arena, the products run as one batched kernel call (`matmulBlockLayout`: a transposed B is
 * transposed there, since the kernel reads B by rows, and a large transposed A too), and the result
 * is copied out.
 */
function wasmMatmul(
  m: number,
  k: number,
  n: number,
  aOffsets: Int32Array,
  bOffsets: Int32Array,
  layout: MatmulLayout,
): (a: Float32Array, b: Float32Array, out: Float32Array) => void {
  const block = matmulBlockLayout(m, k, n, { a: aOffsets, b: bOffsets }, { transposeA: layout.transposeA === true, transposeB: layout.transposeB === true }, 1);
  return (a, b, out) =>
    throughScratch(a, b, out, [block.bytes], (arena, operands, [at]) => {
      block.write(arena.buffer, at, operands);
      arena.matmulBlock(at, block.batch, block.work);
    });
}

/**
 * Multiply-adds (all products of a batch) from which float64 products run as the WebAssembly kernel
 * rather than in JS: below it the copies through the arena cost more than the kernel saves.
 */
export const WASM_F64_MIN_WORK = 1024;

/**
 * Whether a float64 product packs B stored as it is in panels of four columns (`packF64`) rather
 * than read it by rows (B stored transposed is always packed): where its rows are 1 KiB apart or
 * more and enough row blocks reuse each panel to pay for the copy (one thread, the copy included,
 * GFLOP/s rows -> packed: 256³ 18.3 -> 20.9, 128³ 20.0 -> 21.2, 64x64x256 18.1 -> 19.3,
 * 16x256x256 17.1 both; but 64³ 20.4 -> 19.7, 8x256x256 16.1 -> 14.4, 1x256x256 6.3 -> 3.9).
 */
export const packsF64 = (m: number, n: number, transposeB: boolean): boolean => transposeB || (m >= 16 && n >= 128);

/** Elements of A (`m * k`) from which a float64 A stored transposed is transposed before the product. */
const F64_TRANSPOSE_A_MIN = 4096;

/** A batched float64 product over operands in a WebAssembly memory (`matmulF64Plan`). */
export interface MatmulF64Plan {
  /** Scratch for B packed in panels (0 when B is read by rows in place). */
  readonly panelBytes: number;
  /** Scratch for A transposed into rows (0 when A is read in place). */
  readonly rowsABytes: number;
  /** The products, with the operands, the result and the scratch at these byte addresses. */
  run(kernels: MatmulF64Exports, at: { a: number; b: number; c: number; panels: number; rowsA: number }): void;
}

/**
 * A batched float64 product through the WebAssembly f64x2 kernel (`wasm/matmul-f64.ts`), over
 * operands already in a WebAssembly memory: how much scratch it needs, and its run at given byte
 * addresses. Each product's B is packed in panels of four columns where `packsF64` (from its
 * storage as it is or transposed; once for a B broadcast over the batch), else read by rows in
 * place (reading up to 24 bytes past B's end when n is not a multiple of 4: `readsPastB` false
 * packs such a B instead); A is read in place through its strides, or transposed into scratch
 * first when stored transposed and large. Each
 * element is the sum `matmulOne` computes, in its order, so the bits are the JS path's.
 *
 * @example
 * const plan = matmulF64Plan(m, k, n, offsets.a, offsets.b, { transposeB: true, readsPastB: false });
 * plan.run(arena.kernels, { a, b, c, panels, rowsA }); // scratch of plan.panelBytes and plan.rowsABytes
 */
export function matmulF64Plan(
  m: number,
  k: number,
  n: number,
  aOffsets: Int32Array,
  bOffsets: Int32Array,
  layout: MatmulLayout & { readonly readsPastB: boolean },
): MatmulF64Plan {
  if (m === 1 && layout.transposeB) return rowTimesTransposedF64(k, n, aOffsets, bOffsets);
  // A stored transposed is read in place through its strides while small, else transposed first
  // (read down its columns 4 KiB apart, a 512³ product's A missed the L1 cache: 35 instead of 14 ms).
  const transposeA = layout.transposeA === true && m * k >= F64_TRANSPOSE_A_MIN;
  const [ars, acs] = layout.transposeA && !transposeA ? [1, m] : [k, 1];
  const [brs, bcs] = layout.transposeB ? [1, k] : [n, 1];
  // Read by rows, a partial last panel (n not a multiple of 4) reads past B's end.
  const packs = packsF64(m, n, layout.transposeB === true) || (!layout.readsPastB && n % 4 !== 0);
  return {
    panelBytes: packs ? packedF64Bytes(k, n) : 0,
    rowsABytes: transposeA ? 8 * m * k : 0,
    run({ matmulF64, packF64, transposeF64 }, { a, b, c, panels, rowsA }) {
      let [packedB, transposedA] = [-1, -1];
      for (let t = 0; t < aOffsets.length; t++) {
        let atB = b + 8 * bOffsets[t] * k * n;
        if (packs) {
          if (bOffsets[t] !== packedB) packF64(atB, brs, bcs, k, n, panels);
          packedB = bOffsets[t];
          atB = panels;
        }
        let atA = a + 8 * aOffsets[t] * m * k;
        if (transposeA) {
          // A's storage [k, m] into rows [m, k] (once for an A broadcast over the batch).
          if (aOffsets[t] !== transposedA) transposeF64(atA, k, m, rowsA);
          transposedA = aOffsets[t];
          atA = rowsA;
        }
        matmulF64(atA, ars, acs, atB, packs ? 4 : n, packs ? 4 * k : 4, c + 8 * t * m * n, m, k, n);
      }
    },
  };
}

/**
 * A row x (1 x k) times Bᵀ, B stored [n, k], computed as B's storage (n x k, read by rows in place)
 * times x as a column (k x 1, packed: one of a panel's four columns used), rather than B packed
 * for every product of a batch: a vmapped layer's input gradient reads each agent's weights once.
 * Each element is the same sum, in the same order (x[p] b[j, p] = b[j, p] x[p]).
 */
function rowTimesTransposedF64(k: number, n: number, aOffsets: Int32Array, bOffsets: Int32Array): MatmulF64Plan {
  return {
    panelBytes: packedF64Bytes(k, 1),
    rowsABytes: 0,
    run({ matmulF64, packF64 }, { a, b, c, panels }) {
      let packedRow = -1;
      for (let t = 0; t < aOffsets.length; t++) {
        // x is contiguous whether stored as a row or as a transposed column.
        if (aOffsets[t] !== packedRow) packF64(a + 8 * aOffsets[t] * k, 1, 1, k, 1, panels);
        packedRow = aOffsets[t];
        matmulF64(b + 8 * bOffsets[t] * n * k, k, 1, panels, 4, 4 * k, c + 8 * t * n, n, k, 1);
      }
    },
  };
}

/**
 * The float64 product through the WebAssembly kernel outside `jit` plans (`matmulF64Plan`): the
 * operands are copied into the scratch arena and the result copied out. B read by rows is never
 * the arena's last region (C follows it), so the right-edge reads past its end stay in the arena.
 */
function wasmMatmulF64(
  m: number,
  k: number,
  n: number,
  aOffsets: Int32Array,
  bOffsets: Int32Array,
  layout: MatmulLayout,
): { fits(a: Float64Array, b: Float64Array, out: Float64Array): boolean; run(a: Float64Array, b: Float64Array, out: Float64Array): void } {
  const plan = matmulF64Plan(m, k, n, aOffsets, bOffsets, { ...layout, readsPastB: true });
  return {
    fits: (a, b, out) => a.byteLength + b.byteLength + plan.panelBytes + plan.rowsABytes + out.byteLength < WASM_SCRATCH_LIMIT,
    run: (a, b, out) =>
      throughScratch(a, b, out, [plan.panelBytes, plan.rowsABytes], (arena, operands, [panels, rowsA]) => plan.run(arena.kernels, { ...operands, panels, rowsA })),
  };
}

/** One `m x k` by `k x n` product into `out` at `o`, the operands read through their strides. */
function matmulOne(
  a: TypedArray,
  ao: number,
  ars: number,
  acs: number,
  b: TypedArray,
  bo: number,
  brs: number,
  bcs: number,
  out: TypedArray,
  o: number,
  m: number,
  k: number,
  n: number,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  const [a1, a2, a3] = [ars, 2 * ars, 3 * ars];
  const [b1, b2, b3] = [bcs, 2 * bcs, 3 * bcs];
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = ao + i * ars;
      let pb = bo + j * bcs;
      for (let p = 0; p < k; p++, pa += acs, pb += brs) {
        const y0 = b[pb], y1 = b[pb + b1], y2 = b[pb + b2], y3 = b[pb + b3];
        const x0 = a[pa];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        const x1 = a[pa + a1];
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        const x2 = a[pa + a2];
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        const x3 = a[pa + a3];
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      let w = o + i * n + j;
      out[w] = c00; out[w + 1] = c01; out[w + 2] = c02; out[w + 3] = c03;
      w += n;
      out[w] = c10; out[w + 1] = c11; out[w + 2] = c12; out[w + 3] = c13;
      w += n;
      out[w] = c20; out[w + 1] = c21; out[w + 2] = c22; out[w + 3] = c23;
      w += n;
      out[w] = c30; out[w + 1] = c31; out[w + 2] = c32; out[w + 3] = c33;
    }
  }
  // Edges: the last n % 4 columns of the blocked rows, then the last m % 4 rows.
  edge(a, ao, ars, acs, b, bo, brs, bcs, out, o, 0, m4, n4, n, k);
  edge(a, ao, ars, acs, b, bo, brs, bcs, out, o, m4, m, 0, n, k);
}

function edge(
  a: TypedArray,
  ao: number,
  ars: number,
  acs: number,
  b: TypedArray,
  bo: number,
  brs: number,
  bcs: number,
  out: TypedArray,
  o: number,
  rowStart: number,
  rowEnd: number,
  colStart: number,
  n: number,
  k: number,
): void {
  for (let i = rowStart; i < rowEnd; i++) {
    for (let j = colStart; j < n; j++) {
      let c = 0;
      for (let p = 0; p < k; p++) c += a[ao + i * ars + p * acs] * b[bo + p * brs + j * bcs];
      out[o + i * n + j] = c;
    }
  }
}
