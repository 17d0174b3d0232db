/**
 * The float32 matrix product as a WebAssembly SIMD kernel. `C = A B` with C row-major, B read by rows
 * (contiguous columns) or packed in panels of eight columns (`packF32`, which large products use:
 * `packsB`), and A through any strides (a small transposed A is read in place). A matrix
 * times a column with A's rows contiguous runs in `columns` (16, then 4 rows at a time: 9.2 instead
 * of 17.8 us at 256 x 256). Otherwise C is computed in
 * tiles of 4 rows x 8 columns (eight f32x4 accumulators), then 4 x 4; rows left over (a matrix-vector
 * product: one observation through a layer) in tiles of 1 x 24 (B by rows), 1 x 16, 1 x 8 and 1 x 4
 * (1 x 16 ran at 40 GFLOP/s where 1 x 8 ran at 22, latency-bound on two accumulators; 1 x 24 13%
 * faster again; 1 x 32 spilled, 22); the last 1 to 3 columns
 * by a 4-wide tile that stores only them, the last 5 to 7 of 4-row tiles by a 4 x 8 tile that does
 * (256 x 256 x 6 in 19 us on one thread, where a 4 x 4 tile and a 4-wide edge tile took 35: each
 * waited on its four sums). Edge tiles read up to 12 bytes past B's end, so memories keep
 * `MATMUL_READ_SLACK` bytes after their last region. Every element accumulates `a[i, p] * b[p, j]`
 * over p in order in float32, by one multiply-add instruction (`f32x4.relaxed_madd`, fused where the
 * CPU has FMA: `fma.ts`) or, with `MIXRL_WASM_FMA=off` or an engine without relaxed SIMD, a
 * multiply then an add; so its value does not depend on which tile computed it.
 */
import { Code, type FunctionDef, i32, v128 } from './emit';
import { matmulUsesFma } from './fma';

/** Bytes a product may read past the end of B (the right-edge tile's vector loads). */
export const MATMUL_READ_SLACK = 16;

/** The exported kernels' signatures (addresses in bytes, strides and sizes in elements). */
export interface MatmulExports {
  /**
   * `c[i*n + j] = sum_p a[i*ars + p*acs] * b[p*brs + (j mod 8) + floor(j / 8)*bps]` for i < m, j < n:
   * B read by rows (`brs` n, `bps` 8) or packed in panels of eight columns (`brs` 8, `bps` 8k; `packF32`).
   */
  matmulF32(a: number, ars: number, acs: number, b: number, brs: number, bps: number, c: number, m: number, k: number, n: number): void;
  /**
   * `dst[floor(j / 8)*8k + p*8 + (j mod 8)] = src[p*rs + j*cs]` for p < k, j < n, and 0 for the
   * last panel's columns past n: a `k x n` matrix (rows `rs` apart, columns `cs`: stored as it is,
   * or transposed) packed in panels of eight columns for `matmulF32`.
   */
  packF32(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  /**
   * `dst[j*dstStride + i] = src[i*cols + j]` for i < rows, j < cols: the row-major transpose of a
   * `rows x cols` float32 matrix into rows `dstStride` elements apart (`rows` for a whole
   * transpose; a band of a larger matrix's rows lands in its columns of the larger transpose).
   */
  transposeF32(src: number, rows: number, cols: number, dst: number, dstStride: number): void;
  /**
   * Products t0 .. t1 - 1 of the batched product whose parameter block is at `block`
   * (`MatmulBlock`), transposing operands into the scratch of chunk `chunk`.
   */
  matmulBatchF32(block: number, t0: number, t1: number, chunk: number): void;
}

/**
 * Words of a batched product's parameter block (i32, in the arena): operand and result addresses,
 * sizes, the addresses of the per-product operand offsets (i32, in matrices), whether A stored
 * transposed is read through its strides, the scratch of chunk 0 (0: none) with the bytes from
 * one chunk's scratch to the next, and whether B's scratch holds B packed in panels (`PackB`).
 */
export const MatmulBlock = { a: 0, b: 1, c: 2, m: 3, k: 4, n: 5, offsetsA: 6, offsetsB: 7, stridedA: 8, scratchA: 9, scratchB: 10, scratchStride: 11, packB: 12, words: 13 } as const;

/** `MatmulBlock.packB`: B's scratch (if any) holds B transposed, or B packed in panels from its storage as it is or transposed. */
export const PackB = { no: 0, asStored: 1, fromTransposed: 2 } as const;

function matmulF32(): FunctionDef {
  const c = new Code(10);
  const [A, ARS, ACS, B, BRS, BPS, C, M, K, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, j, p, pa, pb, pb2, pc, ars4, acs4, brs4, bps4, n4] = Array.from({ length: 12 }, () => c.local(i32));
  const av = c.local(v128);
  const bv = [c.local(v128), c.local(v128)];
  const acc = Array.from({ length: 4 }, (_, r) => Array.from({ length: r === 0 ? 6 : 2 }, () => c.local(v128)));
  const times4 = (x: number, out: number) => c.get(x).i32(2).op('i32.shl').set(out);
  const fma = matmulUsesFma();
  /** acc += a * b, for `a` and `b` pushed by `operands`. */
  const multiplyAdd = (acc: number, operands: () => void) =>
    fma ? (operands(), c.get(acc).simd('f32x4.relaxed_madd').set(acc)) : (c.get(acc), operands(), c.simd('f32x4.mul').simd('f32x4.add').set(acc));
  times4(ARS, ars4);
  times4(ACS, acs4);
  times4(BRS, brs4);
  times4(BPS, bps4);
  times4(N, n4);

  /** The address of a[row i + r, p] for the current pa (pa points at row i). */
  const aAddr = (r: number) => {
    c.get(pa);
    for (let t = 0; t < r; t++) c.get(ars4).op('i32.add');
  };
  /**
   * One tile of `rows` rows and `vectors` f32x4 columns at (i, j). A `partial` tile is the right
   * edge: its last vector stores only the columns up to n-1 (1 to 3 of its 4), having read B past
   * them; the vectors before it store whole.
   */
  const tile = (rows: number, vectors: number, partial = false) => {
    // pa = A + i * ars4, pb = B's column j in row 0 (B + (j >> 3) * bps4 + (j & 7) * 4), p = K.
    c.get(A).get(i).get(ars4).op('i32.mul').op('i32.add').set(pa);
    c.get(B).get(j).i32(3).op('i32.shr_u').get(bps4).op('i32.mul').op('i32.add').get(j).i32(7).op('i32.and').i32(2).op('i32.shl').op('i32.add').set(pb);
    // Vectors 2 and 3 (a 16-column tile, j a multiple of 8) lie in the next panel.
    if (vectors === 4) c.get(pb).get(bps4).op('i32.add').set(pb2);
    c.get(K).set(p);
    for (let r = 0; r < rows; r++) for (let v = 0; v < vectors; v++) c.v128Bits32([0, 0, 0, 0]).set(acc[r][v]);
    c.while(
      () => c.get(p),
      () => {
        if (rows === 1) {
          // One row: each B vector is used once, so it is loaded where it is multiplied (fewer live vectors).
          aAddr(0);
          c.simd('v128.load32_splat').set(av);
          // More than four vectors only from B by rows, one after the other; four span two panels.
          const bAt = (v: number) => (vectors > 4 ? c.get(pb).simd('v128.load', 16 * v) : c.get(v < 2 ? pb : pb2).simd('v128.load', 16 * (v % 2)));
          for (let v = 0; v < vectors; v++) multiplyAdd(acc[0][v], () => (c.get(av), bAt(v)));
        } else {
          for (let v = 0; v < vectors; v++) c.get(pb).simd('v128.load', 16 * v).set(bv[v]);
          for (let r = 0; r < rows; r++) {
            aAddr(r);
            c.simd('v128.load32_splat').set(av);
            for (let v = 0; v < vectors; v++) multiplyAdd(acc[r][v], () => c.get(av).get(bv[v]));
          }
        }
        c.addTo(pa, { local: acs4 }).addTo(pb, { local: brs4 }).addTo(p, -1);
        if (vectors === 4) c.addTo(pb2, { local: brs4 });
      },
    );
    // pc = C + (i * n + j) * 4; row r is at pc + r * n4.
    c.get(C).get(i).get(N).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(pc);
    for (let r = 0; r < rows; r++) {
      if (partial) {
        const last = vectors - 1;
        for (let v = 0; v < last; v++) c.get(pc).get(acc[r][v]).simd('v128.store', 16 * v);
        c.get(pc).get(acc[r][last]).extractF32Lane(0).mem('f32.store', 16 * last);
        for (const lane of [1, 2] as const) {
          c.when(
            () => c.get(j).i32(4 * last + lane).op('i32.add').get(N).op('i32.lt_s'),
            () => c.get(pc).get(acc[r][last]).extractF32Lane(lane).mem('f32.store', 16 * last + 4 * lane),
          );
        }
      } else {
        for (let v = 0; v < vectors; v++) c.get(pc).get(acc[r][v]).simd('v128.store', 16 * v);
      }
      c.addTo(pc, { local: n4 });
    }
  };
  const fits = (x: number, extent: number, size: number) => c.get(x).i32(size).op('i32.add').get(extent).op('i32.le_s');

  c.i32(0).set(i);
  const column = { A, ARS: ars4, B, C, M, K, i, p, pa, pb };
  c.when(
    () => c.get(N).i32(1).op('i32.eq').get(ACS).i32(1).op('i32.eq').op('i32.and'),
    () => (columns(c, 4, column, multiplyAdd), columns(c, 1, column, multiplyAdd)),
  );
  c.while(
    () => fits(i, M, 4),
    () => {
      c.i32(0).set(j);
      c.while(() => fits(j, N, 8), () => (tile(4, 2), c.addTo(j, 8)));
      // 5 to 7 columns left: one 4 x 8 tile storing them (eight independent sums keep both FMA
      // units busy, where a 4 x 4 tile and an edge tile each wait on their four: 256 x 256 x 6
      // at 22 GFLOP/s before).
      c.when(() => c.get(j).i32(4).op('i32.add').get(N).op('i32.lt_s'), () => (tile(4, 2, true), c.get(N).set(j)));
      c.while(() => fits(j, N, 4), () => (tile(4, 1), c.addTo(j, 4)));
      c.when(() => c.get(j).get(N).op('i32.lt_s'), () => tile(4, 1, true));
      c.addTo(i, 4);
    },
  );
  c.while(
    () => c.get(i).get(M).op('i32.lt_s'),
    () => {
      c.i32(0).set(j);
      // B by rows (bps 8): 1 x 24 tiles, six chains of multiply-adds (1x256x256 -13%, 1x64x64 -21%
      // against 1 x 16, session 25; 1 x 28 no better, 1 x 32 spilled).
      c.when(
        () => c.get(BPS).i32(8).op('i32.eq'),
        () => c.while(() => fits(j, N, 24), () => (tile(1, 6), c.addTo(j, 24))),
      );
      c.while(() => fits(j, N, 16), () => (tile(1, 4), c.addTo(j, 16)));
      c.while(() => fits(j, N, 8), () => (tile(1, 2), c.addTo(j, 8)));
      c.while(() => fits(j, N, 4), () => (tile(1, 1), c.addTo(j, 4)));
      c.when(() => c.get(j).get(N).op('i32.lt_s'), () => tile(1, 1, true));
      c.addTo(i, 1);
    },
  );
  return { name: 'matmulF32', params: Array(10).fill(i32), code: c };
}

/**
 * A matrix times a column (`n` 1, A's rows contiguous), `4 * groups` rows at a time: each group's
 * four rows' next four elements loaded as vectors and transposed in registers (eight lane
 * shuffles) into four vectors of one column each, multiply-added into the group's four sums with a
 * splat of b's element, in order of p (the same sums in the same order as the tiles, which multiply
 * a whole 4-wide B vector for one column). Each group's sums are one chain of dependent
 * multiply-adds, so four groups at a time keep the FP units busy where one waits on its chain.
 * Leaves `i` at the first row left (fewer than `4 * groups`).
 */
function columns(
  c: Code,
  groups: number,
  { A, ARS, B, C, M, K, i, p, pa, pb }: Record<'A' | 'ARS' | 'B' | 'C' | 'M' | 'K' | 'i' | 'p' | 'pa' | 'pb', number>,
  multiplyAdd: (acc: number, operands: () => void) => void,
): void {
  const acc = Array.from({ length: groups }, () => c.local(v128));
  const row = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const pair = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  /** Pushes the address of row 4g + r at the current p. */
  const rowAddress = (g: number, r: number) => {
    c.get(pa);
    for (let t = 0; t < 4 * g + r; t++) c.get(ARS).op('i32.add');
  };
  c.while(
    () => c.get(i).i32(4 * groups).op('i32.add').get(M).op('i32.le_s'),
    () => {
      c.get(A).get(i).get(ARS).op('i32.mul').op('i32.add').set(pa);
      c.get(B).set(pb);
      for (const sum of acc) c.v128Bits32([0, 0, 0, 0]).set(sum);
      c.i32(0).set(p);
      c.while(
        () => c.get(p).i32(4).op('i32.add').get(K).op('i32.le_s'),
        () => {
          for (let g = 0; g < groups; g++) {
            for (let r = 0; r < 4; r++) (rowAddress(g, r), c.simd('v128.load').set(row[r]));
            const column = transposeBlock(c, row, pair);
            for (let q = 0; q < 4; q++) multiplyAdd(acc[g], () => (column(q), c.get(pb).simd('v128.load32_splat', 4 * q)));
          }
          c.addTo(pa, 16).addTo(pb, 16).addTo(p, 4);
        },
      );
      // The last p (fewer than four): the rows' elements gathered by splats and shuffles.
      c.while(
        () => c.get(p).get(K).op('i32.lt_s'),
        () => {
          for (let g = 0; g < groups; g++) {
            for (let r = 0; r < 4; r++) (rowAddress(g, r), c.simd('v128.load32_splat').set(row[r]));
            c.get(row[0]).get(row[1]).shuffle32([0, 4, 0, 4]).set(pair[0]);
            c.get(row[2]).get(row[3]).shuffle32([0, 4, 0, 4]).set(pair[1]);
            multiplyAdd(acc[g], () => c.get(pair[0]).get(pair[1]).shuffle32([0, 1, 4, 5]).get(pb).simd('v128.load32_splat'));
          }
          c.addTo(pa, 4).addTo(pb, 4).addTo(p, 1);
        },
      );
      acc.forEach((sum, g) => c.get(C).get(i).i32(2).op('i32.shl').op('i32.add').get(sum).simd('v128.store', 16 * g));
      c.addTo(i, 4 * groups);
    },
  );
}

/**
 * The products t0 .. t1 - 1 of a batched product (`MatmulBlock`): for each, A and B at their offsets,
 * transposed (or B packed in panels, `packF32`) into this chunk's scratch first where the block has scratch, then `matmulF32` into C's
 * t-th matrix (A stored transposed times a column: a row times A's storage, no scratch). The only
 * loop over a batch's products: eager batched products and jit plans' run here
 * (`WasmArena.matmulBlock`), single products of jit plans by `WasmArena.matmulOne`, the same steps.
 */
function matmulBatchF32(): FunctionDef {
  const c = new Code(4);
  const [BLOCK, T0, T1, CHUNK] = [0, 1, 2, 3];
  const [a, b, out, m, k, n, offsetsA, offsetsB, stridedA, scratchA, scratchB, stride, packB, t, pa, pb, ars, acs, brs, bps, copiedB, rowTimesA] = Array.from({ length: 22 }, () => c.local(i32));
  const words = [a, b, out, m, k, n, offsetsA, offsetsB, stridedA, scratchA, scratchB, stride, packB];
  words.forEach((local, w) => c.get(BLOCK).mem('i32.load', 4 * w).set(local));
  /** This chunk's scratch: base + chunk * stride (left 0 when the block has none). */
  for (const scratch of [scratchA, scratchB]) {
    c.when(() => c.get(scratch), () => c.get(scratch).get(CHUNK).get(stride).op('i32.mul').op('i32.add').set(scratch));
  }
  /** `base + offsets[t] * rows * cols * 4`: the t-th product's operand. */
  const operand = (base: number, offsets: number, rows: number, cols: number, into: number) =>
    c.get(base).get(offsets).get(t).i32(2).op('i32.shl').op('i32.add').mem('i32.load').get(rows).op('i32.mul').get(cols).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(into);
  c.get(T0).set(t);
  c.i32(-1).set(copiedB);
  // A stored transposed ([k, m]) times a column: each product runs as the row bᵀ (1 x k; a column
  // is contiguous stored either way) times A's storage (k x m) by rows, in 1-row tiles, as
  // `WasmArena.matmulOne` runs a single one, where it would read A down its columns or transpose
  // it into scratch first (each element the same products summed in the same order: the same
  // bits). One thread, operands out of cache, paired: 100 x 256x256ᵀ·256x1 3.0-5.1 -> 5.9-9.9
  // GFLOP/s, 100 x 64x64ᵀ·64x1 4.3-5.0 -> 16-20 (a vmapped critic's last-layer weight gradient).
  c.get(n).i32(1).op('i32.eq').get(stridedA).get(scratchA).op('i32.or').i32(0).op('i32.ne').op('i32.and').set(rowTimesA);
  c.while(
    () => c.get(t).get(T1).op('i32.lt_s').get(rowTimesA).op('i32.and'),
    () => {
      operand(a, offsetsA, m, k, pa);
      operand(b, offsetsB, k, n, pb);
      // matmulF32(b, k, 1, A's storage, m, 8, C's t-th row, 1, k, m).
      c.get(pb).get(k).i32(1).get(pa).get(m).i32(8);
      c.get(out).get(t).get(m).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
      c.i32(1).get(k).get(m).call(0);
      c.addTo(t, 1);
    },
  );
  c.while(
    () => c.get(t).get(T1).op('i32.lt_s'),
    () => {
      operand(a, offsetsA, m, k, pa);
      c.get(k).set(ars);
      c.i32(1).set(acs);
      c.when(() => c.get(stridedA), () => c.i32(1).set(ars).get(m).set(acs));
      c.when(() => c.get(scratchA), () => c.get(pa).get(k).get(m).get(scratchA).get(k).call(1).get(scratchA).set(pa));
      operand(b, offsetsB, k, n, pb);
      c.get(n).set(brs);
      c.i32(8).set(bps);
      // B goes through this chunk's scratch where the block has scratch for it: packed in panels, or
      // transposed. A B broadcast over the batch is copied there once (`copiedB`: the B the scratch
      // holds, -1 for none yet).
      c.when(
        () => c.get(scratchB).i32(0).op('i32.ne').get(pb).get(copiedB).op('i32.ne').op('i32.and'),
        () => {
          c.get(pb).set(copiedB);
          c.when(
            () => c.get(packB),
            () => {
              // packF32(B, rs, cs, k, n, scratch): B's rows n apart and columns 1 as stored, 1 and k transposed.
              const asStored = () => c.get(packB).i32(PackB.asStored).op('i32.eq');
              c.get(pb);
              c.get(n).i32(1);
              asStored();
              c.op('select');
              c.i32(1).get(k);
              asStored();
              c.op('select');
              c.get(k).get(n).get(scratchB).call(3);
            },
          );
          c.when(() => c.get(packB).op('i32.eqz'), () => c.get(pb).get(n).get(k).get(scratchB).get(n).call(1));
        },
      );
      c.when(
        () => c.get(scratchB),
        () => {
          c.get(scratchB).set(pb);
          c.when(() => c.get(packB), () => c.i32(8).set(brs).get(k).i32(3).op('i32.shl').set(bps));
        },
      );
      // C's t-th matrix: out + t * m * n * 4.
      c.get(pa).get(ars).get(acs).get(pb).get(brs).get(bps);
      c.get(out).get(t).get(m).op('i32.mul').get(n).op('i32.mul').i32(2).op('i32.shl').op('i32.add');
      c.get(m).get(k).get(n).call(0);
      c.addTo(t, 1);
    },
  );
  return { name: 'matmulBatchF32', params: [i32, i32, i32, i32], code: c };
}

/**
 * The columns of a 4 x 4 block held as four row vectors (locals `row`): pairs the rows lane by lane
 * into the locals `pair` (pair 0: r0[0] r1[0] r0[1] r1[1], pair 1: r0[2] r1[2] r0[3] r1[3], pairs 2
 * and 3 likewise for rows 2 and 3: four shuffles) and returns `column(q)`, which pushes column q
 * (one more shuffle each).
 */
function transposeBlock(c: Code, row: readonly number[], pair: readonly number[]): (q: number) => void {
  c.get(row[0]).get(row[1]).shuffle32([0, 4, 1, 5]).set(pair[0]);
  c.get(row[0]).get(row[1]).shuffle32([2, 6, 3, 7]).set(pair[1]);
  c.get(row[2]).get(row[3]).shuffle32([0, 4, 1, 5]).set(pair[2]);
  c.get(row[2]).get(row[3]).shuffle32([2, 6, 3, 7]).set(pair[3]);
  const quarters = [[0, 2, [0, 1, 4, 5]], [0, 2, [2, 3, 6, 7]], [1, 3, [0, 1, 4, 5]], [1, 3, [2, 3, 6, 7]]] as const;
  return (q) => {
    const [low, high, lanes] = quarters[q];
    c.get(pair[low]).get(pair[high]).shuffle32(lanes);
  };
}

/** The locals (and parameters) of a panel packer that `packRest` reads and advances. */
export interface PackLocals {
  readonly N: number;
  readonly K: number;
  readonly j0: number;
  readonly jj: number;
  readonly width: number;
  readonly p: number;
  readonly ps: number;
  readonly pd: number;
  /** Bytes from one of the source's rows (K index) to the next. */
  readonly rowStep: number;
  /** Bytes from one of the source's columns to the next. */
  readonly columnStep: number;
}

/**
 * The rest of one 32-byte panel row after the vector copies (`packF32`: 8 float32 columns,
 * `packF64`: 4 float64 columns): rows p .. K - 1 element by element, the columns past n stored as
 * zeros.
 */
export function packRest(c: Code, type: 'f32' | 'f64', l: PackLocals): void {
  const [panel, shift] = type === 'f32' ? [8, 2] : [4, 3];
  c.get(l.N).get(l.j0).op('i32.sub').set(l.width);
  c.when(() => c.get(l.width).i32(panel).op('i32.gt_s'), () => c.i32(panel).set(l.width));
  c.while(
    () => c.get(l.p).get(l.K).op('i32.lt_s'),
    () => {
      c.i32(0).set(l.jj);
      c.while(
        () => c.get(l.jj).get(l.width).op('i32.lt_s'),
        () => {
          c.get(l.pd).get(l.jj).i32(shift).op('i32.shl').op('i32.add');
          c.get(l.ps).get(l.jj).get(l.columnStep).op('i32.mul').op('i32.add').mem(`${type}.load`).mem(`${type}.store`);
          c.addTo(l.jj, 1);
        },
      );
      c.while(
        () => c.get(l.jj).i32(panel).op('i32.lt_s'),
        () => {
          c.get(l.pd).get(l.jj).i32(shift).op('i32.shl').op('i32.add');
          (type === 'f32' ? c.f32(0) : c.f64(0)).mem(`${type}.store`);
          c.addTo(l.jj, 1);
        },
      );
      c.addTo(l.ps, { local: l.rowStep }).addTo(l.pd, 32).addTo(l.p, 1);
    },
  );
}

/**
 * `packF32`: B in panels of eight columns, each `k x 8` row-major, the last padded with zeros, so a
 * tile reads its B rows 32 bytes apart. Read by rows at B's own row stride, a 256-wide B's column
 * panel falls into four of the L1 cache's 64 sets (rows 1 KiB apart) and evicts itself before the
 * next row block reuses it: 256x256x256 ran at 28-35 GFLOP/s from rows and 42-43 from panels, one thread.
 * Whole panels of B stored as it is copy two vectors per row; of B stored transposed, 4 x 4 blocks
 * (`transposeBlock`); the last, partial panel goes element by element.
 */
function packF32(): FunctionDef {
  const c = new Code(6);
  const [SRC, RS, CS, K, N, DST] = [0, 1, 2, 3, 4, 5];
  const [j0, jj, width, p, ps, pd, rs4, cs4] = Array.from({ length: 8 }, () => c.local(i32));
  const row = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const pair = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  c.get(RS).i32(2).op('i32.shl').set(rs4);
  c.get(CS).i32(2).op('i32.shl').set(cs4);
  const whole = () => c.get(j0).i32(8).op('i32.add').get(N).op('i32.le_s');
  c.i32(0).set(j0);
  c.while(
    () => c.get(j0).get(N).op('i32.lt_s'),
    () => {
      // The panel of columns j0 .. j0 + 7 starts at DST + j0 * k * 4; column j0 of row 0 is at SRC + j0 * cs4.
      c.get(DST).get(j0).get(K).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(pd);
      c.get(SRC).get(j0).get(cs4).op('i32.mul').op('i32.add').set(ps);
      c.i32(0).set(p);
      c.when(
        () => (whole(), c.get(CS).i32(1).op('i32.eq').op('i32.and')),
        () =>
          c.while(
            () => c.get(p).get(K).op('i32.lt_s'),
            () => {
              for (const half of [0, 16]) c.get(pd).get(ps).simd('v128.load', half).simd('v128.store', half);
              c.addTo(ps, { local: rs4 }).addTo(pd, 32).addTo(p, 1);
            },
          ),
      );
      c.when(
        () => (whole(), c.get(RS).i32(1).op('i32.eq').op('i32.and'), c.get(CS).i32(1).op('i32.ne').op('i32.and')),
        () =>
          c.while(
            () => c.get(p).i32(4).op('i32.add').get(K).op('i32.le_s'),
            () => {
              // Columns j0 + 4h .. j0 + 4h + 3 at rows p .. p + 3: four of B's storage rows, transposed.
              for (const half of [0, 1]) {
                for (let r = 0; r < 4; r++) {
                  c.get(ps);
                  for (let t = 0; t < 4 * half + r; t++) c.get(cs4).op('i32.add');
                  c.simd('v128.load').set(row[r]);
                }
                const column = transposeBlock(c, row, pair);
                for (let q = 0; q < 4; q++) (c.get(pd), column(q), c.simd('v128.store', 32 * q + 16 * half));
              }
              c.addTo(ps, 16).addTo(pd, 128).addTo(p, 4);
            },
          ),
      );
      // What is left (a partial panel, rows past the last four, other strides): element by element,
      // the panel's columns past n zeros.
      packRest(c, 'f32', { N, K, j0, jj, width, p, ps, pd, rowStep: rs4, columnStep: cs4 });
      c.addTo(j0, 8);
    },
  );
  return { name: 'packF32', params: Array(6).fill(i32), code: c };
}

/** Tile edge of the transpose: a tile's reads and writes stay in a few cache lines. */
const TRANSPOSE_TILE = 16;

/**
 * The transpose in cache tiles, each moved as 4 x 4 blocks (four row loads, eight lane shuffles, four
 * column stores) and its ragged edge element by element.
 */
function transposeF32(): FunctionDef {
  const c = new Code(5);
  const [SRC, ROWS, COLS, DST, DST_STRIDE] = [0, 1, 2, 3, 4];
  const [i0, j0, i, j, iEnd, jEnd, ps, pd, dstStride4, cols4] = Array.from({ length: 10 }, () => c.local(i32));
  const row = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const pair = [c.local(v128), c.local(v128), c.local(v128), c.local(v128)];
  const min = (x: number, step: number, limit: number, out: number) =>
    c.get(x).i32(step).op('i32.add').get(limit).get(x).i32(step).op('i32.add').get(limit).op('i32.lt_s').op('select').set(out);
  const fits = (x: number, end: number) => c.get(x).i32(4).op('i32.add').get(end).op('i32.le_s');
  /** ps = SRC + (i * cols + j) * 4; pd = DST + (j * dstStride + i) * 4. */
  const address = () => {
    c.get(SRC).get(i).get(COLS).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(ps);
    c.get(DST).get(j).get(DST_STRIDE).op('i32.mul').get(i).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(pd);
  };
  /** dst[j + r', i + r] = src[i + r, j + r'] for r, r' < 4. */
  const block = () => {
    address();
    for (let r = 0; r < 4; r++) c.get(ps).simd('v128.load').set(row[r]).addTo(ps, { local: cols4 });
    const column = transposeBlock(c, row, pair);
    for (let q = 0; q < 4; q++) (c.get(pd), column(q), c.simd('v128.store').addTo(pd, { local: dstStride4 }));
  };
  /** dst[j, i + r] = src[i + r, j] for r < count. */
  const column = (count: number) => {
    address();
    for (let r = 0; r < count; r++) c.get(pd).get(ps).mem('f32.load').mem('f32.store', 4 * r).addTo(ps, { local: cols4 });
  };
  c.get(DST_STRIDE).i32(2).op('i32.shl').set(dstStride4);
  c.get(COLS).i32(2).op('i32.shl').set(cols4);
  c.i32(0).set(i0);
  c.while(
    () => c.get(i0).get(ROWS).op('i32.lt_s'),
    () => {
      min(i0, TRANSPOSE_TILE, ROWS, iEnd);
      c.i32(0).set(j0);
      c.while(
        () => c.get(j0).get(COLS).op('i32.lt_s'),
        () => {
          min(j0, TRANSPOSE_TILE, COLS, jEnd);
          c.get(i0).set(i);
          c.while(
            () => fits(i, iEnd),
            () => {
              c.get(j0).set(j);
              c.while(() => fits(j, jEnd), () => (block(), c.addTo(j, 4)));
              c.while(() => c.get(j).get(jEnd).op('i32.lt_s'), () => (column(4), c.addTo(j, 1)));
              c.addTo(i, 4);
            },
          );
          c.while(
            () => c.get(i).get(iEnd).op('i32.lt_s'),
            () => {
              c.get(j0).set(j);
              c.while(() => c.get(j).get(jEnd).op('i32.lt_s'), () => (column(1), c.addTo(j, 1)));
              c.addTo(i, 1);
            },
          );
          c.addTo(j0, TRANSPOSE_TILE);
        },
      );
      c.addTo(i0, TRANSPOSE_TILE);
    },
  );
  return { name: 'transposeF32', params: Array(5).fill(i32), code: c };
}

/** The kernels of this module, for `wasmModule`. */
export const MATMUL_FUNCTIONS: readonly (() => FunctionDef)[] = [matmulF32, transposeF32, matmulBatchF32, packF32]; // calls 0, 1 and 3
