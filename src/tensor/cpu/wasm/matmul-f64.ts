/**
 * The float64 matrix product as a WebAssembly SIMD kernel (f64x2), bit for bit the JS product
 * (`matmulOne` in `../matmul.ts`): every element is `c = 0; c = c + a[i, p] * b[p, j]` for p
 * ascending, each step a float64 multiply rounded, then an add rounded (`f64x2.mul` then
 * `f64x2.add`; never a fused multiply-add, whatever the CPU has), so its value does not depend on
 * the tile that computed it, nor on whether JS or this kernel did.
 *
 * B is first packed in panels of four columns (`packF64`: each `k x 4` row-major, the last padded
 * with zeros), from its storage as it is or transposed, so a tile reads its B row as two vectors
 * 32 bytes after the last. A is read through any strides (one `v128.load64_splat` per row and p).
 * C (row-major) is computed in tiles of 4 rows x 4 columns (eight f64x2 accumulators, two B vectors
 * and one A splat in registers); rows left over in 1 x 8 tiles (four independent sums), then 1 x 4.
 * A partial last panel's tiles compute its padding columns and store only the columns below n.
 */
import { Code, type FunctionDef, i32, v128 } from './emit';
import { packRest } from './matmul';

/** The exported kernels' signatures (addresses in bytes, strides and sizes in elements). */
export interface MatmulF64Exports {
  /**
   * `c[i*n + j] = sum_p a[i*ars + p*acs] * b[p*brs + floor(j / 4)*bps + (j mod 4)]` for i < m, j < n,
   * in p order from +0, a multiply then an add per step: B packed in panels by `packF64` (`brs` 4,
   * `bps` 4k) or read by rows (`brs` n, `bps` 4; a partial last panel then reads up to 24 bytes
   * past B's last row, into the lanes it does not store).
   */
  matmulF64(a: number, ars: number, acs: number, b: number, brs: number, bps: number, c: number, m: number, k: number, n: number): void;
  /**
   * `dst[floor(j / 4)*4k + p*4 + (j mod 4)] = src[p*rs + j*cs]` for p < k, j < n, and +0 for the
   * last panel's columns past n: a `k x n` float64 matrix (stored as it is, or transposed) packed
   * in panels of four columns for `matmulF64`.
   */
  packF64(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  /** `dst[j*rows + i] = src[i*cols + j]` for i < rows, j < cols: a row-major float64 matrix transposed. */
  transposeF64(src: number, rows: number, cols: number, dst: number): void;
}

/** Bytes of a `k x n` float64 B packed in panels of four columns (`packF64`). */
export const packedF64Bytes = (k: number, n: number): number => 8 * k * 4 * Math.ceil(n / 4);

function matmulF64(): FunctionDef {
  const c = new Code(10);
  const [A, ARS, ACS, B, BRS, BPS, C, M, K, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, j, p, pa, pb, pb2, pc, ars8, ars16, ars24, acs8, n8, panel8, brs8] = Array.from({ length: 14 }, () => c.local(i32));
  const av = c.local(v128);
  const bv = [c.local(v128), c.local(v128)];
  const acc = Array.from({ length: 4 }, () => [c.local(v128), c.local(v128), c.local(v128), c.local(v128)]);
  c.get(ARS).i32(3).op('i32.shl').set(ars8);
  c.get(ars8).get(ars8).op('i32.add').set(ars16);
  c.get(ars16).get(ars8).op('i32.add').set(ars24);
  c.get(ACS).i32(3).op('i32.shl').set(acs8);
  c.get(N).i32(3).op('i32.shl').set(n8);
  c.get(BPS).i32(3).op('i32.shl').set(panel8);
  c.get(BRS).i32(3).op('i32.shl').set(brs8);
  const rowOffset = [null, ars8, ars16, ars24];
  /** acc = acc + x * y: the product rounded, then the sum (never fused). */
  const multiplyAdd = (sum: number, x: () => void, y: () => void) => (c.get(sum), x(), y(), c.simd('f64x2.mul').simd('f64x2.add').set(sum));

  /**
   * A tile of `rows` rows (4 or 1) and `panels` panels (1 or 2) at (i, j), j a multiple of 4. A
   * `partial` tile stores only its columns below n (one panel, its last).
   */
  const tile = (rows: number, panels: number, partial = false) => {
    // pa = A + i * ars8, pb = B + (j / 4) * panel8 (j >> 2 panels in), pb2 the next panel.
    c.get(A).get(i).get(ars8).op('i32.mul').op('i32.add').set(pa);
    c.get(B).get(j).i32(2).op('i32.shr_u').get(panel8).op('i32.mul').op('i32.add').set(pb);
    if (panels === 2) c.get(pb).get(panel8).op('i32.add').set(pb2);
    c.get(K).set(p);
    const vectors = 2 * panels;
    for (let r = 0; r < rows; r++) for (let v = 0; v < vectors; v++) c.v128Bits32([0, 0, 0, 0]).set(acc[r][v]);
    c.while(
      () => c.get(p),
      () => {
        if (rows === 1) {
          // One row: each B vector is used once, so it is loaded where it is multiplied.
          c.get(pa).simd('v128.load64_splat').set(av);
          for (let v = 0; v < vectors; v++) multiplyAdd(acc[0][v], () => c.get(av), () => c.get(v < 2 ? pb : pb2).simd('v128.load', 16 * (v % 2)));
        } else {
          for (let v = 0; v < 2; v++) c.get(pb).simd('v128.load', 16 * v).set(bv[v]);
          for (let r = 0; r < rows; r++) {
            c.get(pa);
            const offset = rowOffset[r];
            if (offset !== null) c.get(offset).op('i32.add');
            c.simd('v128.load64_splat').set(av);
            for (let v = 0; v < 2; v++) multiplyAdd(acc[r][v], () => c.get(av), () => c.get(bv[v]));
          }
        }
        c.addTo(pa, { local: acs8 }).addTo(pb, { local: brs8 }).addTo(p, -1);
        if (panels === 2) c.addTo(pb2, { local: brs8 });
      },
    );
    // pc = C + (i * n + j) * 8; row r at pc + r * n8.
    c.get(C).get(i).get(N).op('i32.mul').get(j).op('i32.add').i32(3).op('i32.shl').op('i32.add').set(pc);
    for (let r = 0; r < rows; r++) {
      if (partial) {
        // 1 to 3 columns: lane 0 of vector 0, then lane 1 if j + 1 < n, then lane 0 of vector 1 if j + 2 < n.
        c.get(pc).get(acc[r][0]).extractF64Lane(0).mem('f64.store');
        c.when(
          () => c.get(j).i32(1).op('i32.add').get(N).op('i32.lt_s'),
          () => c.get(pc).get(acc[r][0]).extractF64Lane(1).mem('f64.store', 8),
        );
        c.when(
          () => c.get(j).i32(2).op('i32.add').get(N).op('i32.lt_s'),
          () => c.get(pc).get(acc[r][1]).extractF64Lane(0).mem('f64.store', 16),
        );
      } else {
        for (let v = 0; v < vectors; v++) c.get(pc).get(acc[r][v]).simd('v128.store', 16 * v);
      }
      c.addTo(pc, { local: n8 });
    }
  };
  const fits = (x: number, extent: number, size: number) => c.get(x).i32(size).op('i32.add').get(extent).op('i32.le_s');
  /** The columns of rows i .. i + rows - 1: whole panels (`panels` at a time, then one), then the partial one. */
  const row = (rows: number, panels: number) => {
    c.i32(0).set(j);
    if (panels === 2) c.while(() => fits(j, N, 8), () => (tile(rows, 2), c.addTo(j, 8)));
    c.while(() => fits(j, N, 4), () => (tile(rows, 1), c.addTo(j, 4)));
    c.when(() => c.get(j).get(N).op('i32.lt_s'), () => tile(rows, 1, true));
  };
  c.i32(0).set(i);
  c.while(() => fits(i, M, 4), () => (row(4, 1), c.addTo(i, 4)));
  c.while(() => c.get(i).get(M).op('i32.lt_s'), () => (row(1, 2), c.addTo(i, 1)));
  return { name: 'matmulF64', params: Array(10).fill(i32), code: c };
}

/**
 * `packF64`: B in panels of four columns, each `k x 4` row-major, the last padded with +0. Whole
 * panels of B stored as it is copy two vectors per row; the rest (B stored transposed, the partial
 * last panel) goes element by element.
 */
function packF64(): FunctionDef {
  const c = new Code(6);
  const [SRC, RS, CS, K, N, DST] = [0, 1, 2, 3, 4, 5];
  const [j0, jj, width, p, ps, pd, rs8, cs8] = Array.from({ length: 8 }, () => c.local(i32));
  c.get(RS).i32(3).op('i32.shl').set(rs8);
  c.get(CS).i32(3).op('i32.shl').set(cs8);
  c.i32(0).set(j0);
  c.while(
    () => c.get(j0).get(N).op('i32.lt_s'),
    () => {
      // The panel of columns j0 .. j0 + 3 starts at DST + j0 * k * 8; column j0 of row 0 is at SRC + j0 * cs8.
      c.get(DST).get(j0).get(K).op('i32.mul').i32(3).op('i32.shl').op('i32.add').set(pd);
      c.get(SRC).get(j0).get(cs8).op('i32.mul').op('i32.add').set(ps);
      c.i32(0).set(p);
      c.when(
        () => c.get(j0).i32(4).op('i32.add').get(N).op('i32.le_s').get(CS).i32(1).op('i32.eq').op('i32.and'),
        () =>
          c.while(
            () => c.get(p).get(K).op('i32.lt_s'),
            () => {
              for (const half of [0, 16]) c.get(pd).get(ps).simd('v128.load', half).simd('v128.store', half);
              c.addTo(ps, { local: rs8 }).addTo(pd, 32).addTo(p, 1);
            },
          ),
      );
      packRest(c, 'f64', { N, K, j0, jj, width, p, ps, pd, rowStep: rs8, columnStep: cs8 });
      c.addTo(j0, 4);
    },
  );
  return { name: 'packF64', params: Array(6).fill(i32), code: c };
}

/** Tile edge of `transposeF64`: a tile's reads and writes stay in a few cache lines. */
const TRANSPOSE_F64_TILE = 8;

/**
 * `transposeF64`: `dst[j*rows + i] = src[i*cols + j]` for i < rows, j < cols (a row-major float64
 * matrix transposed), in cache tiles of 8 x 8 elements moved one by one.
 */
function transposeF64(): FunctionDef {
  const c = new Code(4);
  const [SRC, ROWS, COLS, DST] = [0, 1, 2, 3];
  const [i0, j0, i, j, iEnd, jEnd, ps, pd, rows8] = Array.from({ length: 9 }, () => c.local(i32));
  const min = (x: number, limit: number, out: number) =>
    c.get(x).i32(TRANSPOSE_F64_TILE).op('i32.add').get(limit).get(x).i32(TRANSPOSE_F64_TILE).op('i32.add').get(limit).op('i32.lt_s').op('select').set(out);
  c.get(ROWS).i32(3).op('i32.shl').set(rows8);
  c.i32(0).set(i0);
  c.while(
    () => c.get(i0).get(ROWS).op('i32.lt_s'),
    () => {
      min(i0, ROWS, iEnd);
      c.i32(0).set(j0);
      c.while(
        () => c.get(j0).get(COLS).op('i32.lt_s'),
        () => {
          min(j0, COLS, jEnd);
          c.get(i0).set(i);
          c.while(
            () => c.get(i).get(iEnd).op('i32.lt_s'),
            () => {
              // ps = SRC + (i * cols + j0) * 8; pd = DST + (j0 * rows + i) * 8.
              c.get(SRC).get(i).get(COLS).op('i32.mul').get(j0).op('i32.add').i32(3).op('i32.shl').op('i32.add').set(ps);
              c.get(DST).get(j0).get(ROWS).op('i32.mul').get(i).op('i32.add').i32(3).op('i32.shl').op('i32.add').set(pd);
              c.get(j0).set(j);
              c.while(
                () => c.get(j).get(jEnd).op('i32.lt_s'),
                () => (c.get(pd).get(ps).mem('f64.load').mem('f64.store'), c.addTo(ps, 8).addTo(pd, { local: rows8 }).addTo(j, 1)),
              );
              c.addTo(i, 1);
            },
          );
          c.addTo(j0, TRANSPOSE_F64_TILE);
        },
      );
      c.addTo(i0, TRANSPOSE_F64_TILE);
    },
  );
  return { name: 'transposeF64', params: Array(4).fill(i32), code: c };
}

/** The kernels of this module, for `wasmModule` (none calls another function). */
export const MATMUL_F64_FUNCTIONS: readonly (() => FunctionDef)[] = [matmulF64, packF64, transposeF64];
