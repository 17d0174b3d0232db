/**
 * The float32 matrix product as a WebAssembly SIMD kernel. `C = A B` with C row-major, B read by rows
 * (contiguous columns) and A through any strides (so a transposed A costs nothing). C is computed in
 * tiles of 4 rows x 8 columns (eight f32x4 accumulators), then 4 x 4, 1 x 4 and single elements at the
 * edges. Every element accumulates `a[i, p] * b[p, j]` over p in order in float32 (multiply, then add;
 * no fused multiply-add), so its value does not depend on which tile computed it.
 */
import { Code, f32, type FunctionDef, i32, v128 } from './emit';

/** The exported kernels' signatures (addresses in bytes, strides and sizes in elements). */
export interface MatmulExports {
  /** `c[i*n + j] = sum_p a[i*ars + p*acs] * b[p*brs + j]` for i < m, j < n. */
  matmulF32(a: number, ars: number, acs: number, b: number, brs: number, c: number, m: number, k: number, n: number): void;
  /** `dst[j*rows + i] = src[i*cols + j]`: the row-major transpose of a `rows x cols` float32 matrix. */
  transposeF32(src: number, rows: number, cols: number, dst: number): void;
}

function matmulF32(): FunctionDef {
  const c = new Code(9);
  const [A, ARS, ACS, B, BRS, C, M, K, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, p, pa, pb, pc, ars4, acs4, brs4, n4] = Array.from({ length: 10 }, () => c.local(i32));
  const av = c.local(v128);
  const bv = [c.local(v128), c.local(v128)];
  const acc = Array.from({ length: 4 }, () => [c.local(v128), c.local(v128)]);
  const sa = c.local(f32);
  const sAcc = c.local(f32);
  const times4 = (x: number, out: number) => c.get(x).i32(2).op('i32.shl').set(out);
  times4(ARS, ars4);
  times4(ACS, acs4);
  times4(BRS, brs4);
  times4(N, n4);

  /** The address of a[row i + r, p] for the current pa (pa points at row i). */
  const aAddr = (r: number) => {
    c.get(pa);
    for (let t = 0; t < r; t++) c.get(ars4).op('i32.add');
  };
  /** One tile of `rows` rows and `vectors` f32x4 columns at (i, j). */
  const tile = (rows: number, vectors: number) => {
    // pa = A + i * ars4, pb = B + j * 4, p = K.
    c.get(A).get(i).get(ars4).op('i32.mul').op('i32.add').set(pa);
    c.get(B).get(j).i32(2).op('i32.shl').op('i32.add').set(pb);
    c.get(K).set(p);
    for (let r = 0; r < rows; r++) for (let v = 0; v < vectors; v++) c.v128Bits32([0, 0, 0, 0]).set(acc[r][v]);
    c.while(
      () => c.get(p),
      () => {
        for (let v = 0; v < vectors; v++) c.get(pb).simd('v128.load', 16 * v).set(bv[v]);
        for (let r = 0; r < rows; r++) {
          aAddr(r);
          c.simd('v128.load32_splat').set(av);
          for (let v = 0; v < vectors; v++) {
            c.get(acc[r][v]).get(av).get(bv[v]).simd('f32x4.mul').simd('f32x4.add').set(acc[r][v]);
          }
        }
        c.addTo(pa, { local: acs4 }).addTo(pb, { local: brs4 }).addTo(p, -1);
      },
    );
    // pc = C + (i * n + j) * 4; row r is at pc + r * n4.
    c.get(C).get(i).get(N).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(pc);
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vectors; v++) c.get(pc).get(acc[r][v]).simd('v128.store', 16 * v);
      c.addTo(pc, { local: n4 });
    }
  };
  /** One element at (i + r, j), accumulated like a vector lane. */
  const single = (r: number) => {
    c.get(A).get(i).get(ars4).op('i32.mul').op('i32.add').set(pa);
    for (let t = 0; t < r; t++) c.addTo(pa, { local: ars4 });
    c.get(B).get(j).i32(2).op('i32.shl').op('i32.add').set(pb);
    c.get(K).set(p);
    c.f32(0).set(sAcc);
    c.while(
      () => c.get(p),
      () => {
        c.get(pa).mem('f32.load').set(sa);
        c.get(sAcc).get(sa).get(pb).mem('f32.load').op('f32.mul').op('f32.add').set(sAcc);
        c.addTo(pa, { local: acs4 }).addTo(pb, { local: brs4 }).addTo(p, -1);
      },
    );
    c.get(C).get(i).i32(r).op('i32.add').get(N).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add');
    c.get(sAcc).mem('f32.store');
  };
  const fits = (x: number, extent: number, size: number) => c.get(x).i32(size).op('i32.add').get(extent).op('i32.le_s');

  c.i32(0).set(i);
  c.while(
    () => fits(i, M, 4),
    () => {
      c.i32(0).set(j);
      c.while(() => fits(j, N, 8), () => (tile(4, 2), c.addTo(j, 8)));
      c.while(() => fits(j, N, 4), () => (tile(4, 1), c.addTo(j, 4)));
      c.while(
        () => c.get(j).get(N).op('i32.lt_s'),
        () => {
          for (let r = 0; r < 4; r++) single(r);
          c.addTo(j, 1);
        },
      );
      c.addTo(i, 4);
    },
  );
  c.while(
    () => c.get(i).get(M).op('i32.lt_s'),
    () => {
      c.i32(0).set(j);
      c.while(() => fits(j, N, 8), () => (tile(1, 2), c.addTo(j, 8)));
      c.while(() => fits(j, N, 4), () => (tile(1, 1), c.addTo(j, 4)));
      c.while(() => c.get(j).get(N).op('i32.lt_s'), () => (single(0), c.addTo(j, 1)));
      c.addTo(i, 1);
    },
  );
  return { name: 'matmulF32', params: Array(9).fill(i32), code: c };
}

/** Tile edge of the transpose: a tile's reads and writes stay in a few cache lines. */
const TRANSPOSE_TILE = 16;

function transposeF32(): FunctionDef {
  const c = new Code(4);
  const [SRC, ROWS, COLS, DST] = [0, 1, 2, 3];
  const [i0, j0, i, j, iEnd, jEnd, ps, pd, rows4] = Array.from({ length: 9 }, () => c.local(i32));
  const min = (x: number, step: number, limit: number, out: number) =>
    c.get(x).i32(step).op('i32.add').get(limit).get(x).i32(step).op('i32.add').get(limit).op('i32.lt_s').op('select').set(out);
  c.get(ROWS).i32(2).op('i32.shl').set(rows4);
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
            () => c.get(i).get(iEnd).op('i32.lt_s'),
            () => {
              // ps = SRC + (i * cols + j0) * 4; pd = DST + (j0 * rows + i) * 4, stepping by rows * 4.
              c.get(SRC).get(i).get(COLS).op('i32.mul').get(j0).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(ps);
              c.get(DST).get(j0).get(ROWS).op('i32.mul').get(i).op('i32.add').i32(2).op('i32.shl').op('i32.add').set(pd);
              c.get(j0).set(j);
              c.while(
                () => c.get(j).get(jEnd).op('i32.lt_s'),
                () => {
                  c.get(pd).get(ps).mem('f32.load').mem('f32.store');
                  c.addTo(ps, 4).addTo(pd, { local: rows4 }).addTo(j, 1);
                },
              );
              c.addTo(i, 1);
            },
          );
          c.addTo(j0, TRANSPOSE_TILE);
        },
      );
      c.addTo(i0, TRANSPOSE_TILE);
    },
  );
  return { name: 'transposeF32', params: Array(4).fill(i32), code: c };
}

/** The kernels of this module, for `wasmModule`. */
export const MATMUL_FUNCTIONS: readonly (() => FunctionDef)[] = [matmulF32, transposeF32];
