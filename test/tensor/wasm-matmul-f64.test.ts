/**
 * The float64 WebAssembly matmul kernel (`wasm/matmul-f64.ts`) against the JS float64 product
 * (`matmulOne`, which jit plans and small products still run): every element bit for bit, for every
 * tile (4 x 4, 1 x 8, 1 x 4, partial right-edge panels), layout (A and B stored transposed or not),
 * batch pattern (broadcast either side), way of reading B (packed in panels of four columns or by
 * rows), A read in place or transposed first, and empty dimension; and `prepareMatmul` itself,
 * which picks the kernel from `WASM_F64_MIN_WORK` multiply-adds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packsF64, prepareMatmul, prepareMatmulF64, WASM_F64_MIN_WORK } from '../../src/tensor/cpu/matmul';
import { packedF64Bytes } from '../../src/tensor/cpu/wasm/matmul-f64';
import { WasmArena } from '../../src/tensor/cpu/wasm/runtime';
import { runs } from '../autodiff/helpers';
import { randomValues } from './helpers';

interface Case {
  m: number;
  k: number;
  n: number;
  /** Batch shapes of A and B (broadcast against each other). */
  batch: readonly [number[], number[]];
  transposeA: boolean;
  transposeB: boolean;
  seed: number;
}

/** Float64 values spanning magnitudes and signs (so sums cancel and round in every way), some exact zeros. */
function values(seed: number, count: number): Float64Array {
  const base = randomValues(seed, count, -1, 1);
  // A second draw fills the mantissa's low bits (one draw holds 32).
  const low = randomValues(seed + 3, count, -1, 1);
  const scale = randomValues(seed + 7, count, -20, 20);
  return Float64Array.from(base, (x, i) => (i % 17 === 5 ? 0 : i % 23 === 3 ? -0 : (x + low[i] * 2 ** -30) * 2 ** Math.round(scale[i])));
}

const sizeOf = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);

/** The broadcast of two batch shapes (aligned at the right; 1 broadcasts). */
const broadcast = (x: readonly number[], y: readonly number[]) =>
  Array.from({ length: Math.max(x.length, y.length) }, (_, d) => {
    const a = x[x.length - Math.max(x.length, y.length) + d] ?? 1;
    const b = y[y.length - Math.max(x.length, y.length) + d] ?? 1;
    return a === 1 ? b : a;
  });

/** The first element whose bits differ between `got` and `want`, or null. */
function firstDifference(got: Float64Array, want: Float64Array): number | null {
  const [g, w] = [new BigUint64Array(got.buffer, got.byteOffset, got.length), new BigUint64Array(want.buffer, want.byteOffset, want.length)];
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return i;
  return null;
}

/** Runs one product on both paths (and through `prepareMatmul`) and compares every element's bits. */
function checkProduct({ m, k, n, batch: [batchA, batchB], transposeA, transposeB, seed }: Case): void {
  const outBatch = broadcast(batchA, batchB);
  const aShape = [...batchA, m, k];
  const bShape = [...batchB, k, n];
  const outShape = [...outBatch, m, n];
  const a = values(seed, sizeOf(aShape));
  const b = values(seed + 1, sizeOf(bShape));
  const layout = { transposeA, transposeB };
  const want = new Float64Array(sizeOf(outShape)).fill(NaN);
  const got = new Float64Array(sizeOf(outShape)).fill(NaN);
  const eager = new Float64Array(sizeOf(outShape)).fill(NaN);
  prepareMatmulF64('js', aShape, bShape, outShape, layout)(a, b, want);
  prepareMatmulF64('wasm', aShape, bShape, outShape, layout)(a, b, got);
  prepareMatmul(aShape, bShape, outShape, layout)(a, b, eager);
  for (const [path, out] of [['wasm', got], ['prepareMatmul', eager]] as const) {
    const at = firstDifference(out, want);
    if (at !== null) {
      const label = `${JSON.stringify(aShape)}${transposeA ? 'ᵀ' : ''} @ ${JSON.stringify(bShape)}${transposeB ? 'ᵀ' : ''}`;
      expect.fail(`${path}: element ${at} of ${label}: got ${out[at]}, JS ${want[at]}`);
    }
  }
}

/** Batch shapes: none, A batched over B, B over A, both, and 2-d broadcasts of size-1 axes. */
const batches = fc.constantFrom<readonly [number[], number[]]>([[], []], [[3], []], [[], [2]], [[2], [2]], [[2, 1], [1, 3]], [[1], [3]], [[2, 2], [2]]);

const randomCase = (max: number, allowEmpty: boolean): fc.Arbitrary<Case> =>
  fc.record({
    m: fc.integer({ min: allowEmpty ? 0 : 1, max }),
    k: fc.integer({ min: 0, max }),
    n: fc.integer({ min: allowEmpty ? 0 : 1, max }),
    batch: batches,
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    seed: fc.integer(),
  });

describe('WebAssembly float64 matmul', () => {
  it('equals the JS product bit for bit for random shapes, layouts and batches (m, k, n up to 70)', () => {
    fc.assert(fc.property(randomCase(70, false), checkProduct), { numRuns: runs(120), seed: 20250311 });
  });

  it('equals the JS product bit for bit for small shapes, empty dimensions included', () => {
    fc.assert(fc.property(randomCase(9, true), checkProduct), { numRuns: runs(200), seed: 20250312 });
  });

  it('equals the JS product at every right edge and every leftover row count (n = 1 to 21, m = 1 to 9)', () => {
    for (let m = 1; m <= 9; m++) {
      for (let n = 1; n <= 21; n++) {
        for (const [transposeA, transposeB] of [[false, false], [true, true]]) {
          checkProduct({ m, k: 13, n, batch: [[], []], transposeA, transposeB, seed: 100 * m + n });
        }
      }
    }
  });

  it('equals the JS product for a matrix times a column, a row times a matrix and an outer product', () => {
    for (const [m, k, n] of [[67, 45, 1], [1, 45, 67], [1, 70, 1], [37, 1, 29], [64, 64, 1], [1, 64, 64]]) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) checkProduct({ m, k, n, batch: [[2], [1]], transposeA, transposeB, seed: m + k + n });
      }
    }
  });

  it('equals the JS product for larger products: B packed from its rows, A transposed into scratch (broadcast or not)', () => {
    for (const [m, k, n] of [[128, 96, 130], [33, 257, 31], [40, 110, 131]]) {
      expect(m * k * n).toBeGreaterThanOrEqual(WASM_F64_MIN_WORK);
      expect(m * k).toBeGreaterThanOrEqual(4096); // A stored transposed is transposed first
      for (const transposeA of [false, true]) {
        checkProduct({ m, k, n, batch: [[2], []], transposeA, transposeB: false, seed: m });
        checkProduct({ m, k, n, batch: [[], [2]], transposeA, transposeB: true, seed: n });
        checkProduct({ m, k, n, batch: [[2], [2]], transposeA, transposeB: false, seed: k });
      }
    }
    // Both ways of reading a B stored as it is ran above (n >= 128 packs it; smaller shapes read it by rows).
    expect([packsF64(128, 130, false), packsF64(33, 31, false), packsF64(40, 131, false)]).toEqual([true, false, true]);
  });

  it('starts each sum from +0 as the JS product does: a sum of -0 terms is +0, an empty sum +0', () => {
    // Row (-0, -0) times column (1, 1): 0 + -0 + -0 = +0 on both paths.
    const a = Float64Array.from([-0, -0, -0, -0, -0, -0, -0, -0]);
    const b = Float64Array.from([1, 1, 1, 1, 1, 1, 1, 1]);
    const out = new Float64Array(16).fill(NaN);
    prepareMatmulF64('wasm', [4, 2], [2, 4], [4, 4])(a, b, out);
    expect([...out].every((x) => Object.is(x, 0))).toBe(true);
    const empty = new Float64Array(6).fill(NaN);
    prepareMatmulF64('wasm', [2, 0], [0, 3], [2, 3])(new Float64Array(0), new Float64Array(0), empty);
    expect([...empty].every((x) => Object.is(x, 0))).toBe(true);
  });

  it('propagates NaN and infinities as the JS product does', () => {
    const a = Float64Array.from([NaN, 1, Infinity, 0, 1, -Infinity, 2, 3]);
    const b = Float64Array.from([1, 0, 1, 0, 0, Infinity, 2, 1e308]);
    for (const [m, k, n] of [[2, 2, 2], [4, 2, 1], [1, 4, 2]]) {
      const want = new Float64Array(m * n);
      const got = new Float64Array(m * n);
      prepareMatmulF64('js', [m, k], [k, n], [m, n])(a.subarray(0, m * k), b.subarray(0, k * n), want);
      prepareMatmulF64('wasm', [m, k], [k, n], [m, n])(a.subarray(0, m * k), b.subarray(0, k * n), got);
      for (let i = 0; i < m * n; i++) expect(Object.is(got[i], want[i]), `${m}x${k}x${n} [${i}]: ${got[i]} vs ${want[i]}`).toBe(true);
    }
  });

  it('packF64 lays any strided k x n matrix out in panels of four columns, k rows each, the last padded with +0', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 21 }), fc.integer({ min: 1, max: 27 }), fc.constantFrom('rows', 'transposed', 'strided'), fc.integer(), (k, n, form, seed) => {
        const [rs, cs] = form === 'rows' ? [n, 1] : form === 'transposed' ? [1, k] : [2 * n + 1, 2];
        const arena = new WasmArena();
        const extent = Math.max(1, (k - 1) * rs + (n - 1) * cs + 1);
        const src = arena.reserve(8 * extent);
        const dst = arena.reserve(packedF64Bytes(k, n));
        const data = values(seed, extent);
        new Float64Array(arena.buffer, src, extent).set(data);
        const packed = new Float64Array(arena.buffer, dst, packedF64Bytes(k, n) / 8).fill(NaN);
        arena.kernels.packF64(src, rs, cs, k, n, dst);
        for (let j = 0; j < packed.length / Math.max(1, k); j++) {
          for (let p = 0; p < k; p++) {
            const want = j < n ? data[p * rs + j * cs] : 0;
            expect(Object.is(packed[Math.floor(j / 4) * 4 * k + p * 4 + (j % 4)], want), `${form} ${k}x${n}: (${p}, ${j})`).toBe(true);
          }
        }
      }),
      { numRuns: runs(80), seed: 20250313 },
    );
  });
});
