/** matmul against a triple loop, with batch broadcasting and 1-D operands (NumPy semantics). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { broadcastIndex, expectClose, f32, makeTensor, randomInts, randomValues, refBroadcast, RUNS, sizeOfShape, unravel, valuesOf } from './helpers';

/**
 * NumPy matmul by loops: 1-D left is [1, k] (axis dropped after), 1-D right is [k, 1] (axis dropped),
 * batch axes broadcast. Returns values, shape and Σ|a||b| per output for tolerances.
 */
function refMatmul(a: number[], aShape: number[], b: number[], bShape: number[]) {
  const as = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const bs = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const [m, k] = as.slice(-2);
  const n = bs[bs.length - 1];
  const batch = refBroadcast(as.slice(0, -2), bs.slice(0, -2))!;
  const values: number[] = [];
  const mags: number[] = [];
  for (let t = 0; t < sizeOfShape(batch); t++) {
    const bIdx = unravel(t, batch);
    const aBase = broadcastIndex(bIdx, as.slice(0, -2)) * m * k;
    const bBase = broadcastIndex(bIdx, bs.slice(0, -2)) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let mag = 0;
        for (let p = 0; p < k; p++) {
          s += a[aBase + i * k + p] * b[bBase + p * n + j];
          mag += Math.abs(a[aBase + i * k + p] * b[bBase + p * n + j]);
        }
        values.push(s);
        mags.push(mag);
      }
    }
  }
  let shape = [...batch, m, n];
  if (bShape.length === 1) shape = shape.slice(0, -1);
  if (aShape.length === 1) shape = [...shape.slice(0, shape.length - (bShape.length === 1 ? 1 : 2)), ...(bShape.length === 1 ? [] : [n])];
  return { values, shape, mags };
}

/** Operand shapes: batch axes that broadcast, contracting size shared, optional 1-D operands. */
const matmulShapes = fc
  .record({
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
    dropA: fc.nat(3),
    dropB: fc.nat(3),
    onesA: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    onesB: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    m: fc.integer({ min: 1, max: 5 }),
    k: fc.integer({ min: 0, max: 6 }),
    n: fc.integer({ min: 1, max: 5 }),
    vecA: fc.integer({ min: 0, max: 4 }),
    vecB: fc.integer({ min: 0, max: 4 }),
  })
  .map(({ batch, dropA, dropB, onesA, onesB, m, k, n, vecA, vecB }) => {
    const derive = (drop: number, ones: boolean[]) => batch.slice(Math.min(drop, batch.length)).map((d, i) => (ones[i] ? 1 : d));
    const a = vecA === 0 ? [k] : [...derive(dropA, onesA), m, k];
    const b = vecB === 0 ? [k] : [...derive(dropB, onesB), k, n];
    return { a, b };
  });

describe('matmul', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`matches a triple loop (${dtype}, batch broadcasting, 1-D operands)`, () => {
      fc.assert(
        fc.property(matmulShapes, fc.integer(), ({ a: sa, b: sb }, seed) => {
          let a = randomValues(seed, sizeOfShape(sa));
          let b = randomValues(seed + 1, sizeOfShape(sb));
          if (dtype === 'float32') [a, b] = [f32(a), f32(b)];
          const out = T.matmul(makeTensor(a, sa, dtype), makeTensor(b, sb, dtype));
          const ref = refMatmul(a, sa, b, sb);
          expect(out.shape).toEqual(ref.shape);
          expect(out.dtype).toBe(dtype);
          // float64 accumulates in float64 (error ≤ k·ε64·Σ|ab|); float32 accumulates in float32, each
          // product and sum rounded (error ≤ γ_2k·Σ|ab| with γ_2k = 2k·ε32 / (1 - 2k·ε32)).
          const k = sa[sa.length - 1];
          const accumulation = dtype === 'float64' ? 8 * 2 ** -52 : (2 * k * 2 ** -24) / (1 - 2 * k * 2 ** -24);
          const eps = dtype === 'float64' ? 2 ** -52 : 0;
          const tol = ref.values.map((v, i) => eps * Math.abs(v) + accumulation * ref.mags[i] + 1e-300);
          expectClose(valuesOf(out), ref.values, tol, 'matmul');
        }),
        { numRuns: 80 },
      );
    });
  }

  it('int32 matmul is exact', () => {
    fc.assert(
      fc.property(matmulShapes, fc.integer(), ({ a: sa, b: sb }, seed) => {
        const a = randomInts(seed, sizeOfShape(sa), -50, 50);
        const b = randomInts(seed + 1, sizeOfShape(sb), -50, 50);
        const out = T.matmul(makeTensor(a, sa, 'int32'), makeTensor(b, sb, 'int32'));
        expect(out.dtype).toBe('int32');
        expect(valuesOf(out)).toEqual(refMatmul(a, sa, b, sb).values);
      }),
      RUNS,
    );
  });

  it('known small products', () => {
    const a = makeTensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = makeTensor([7, 8, 9, 10, 11, 12], [3, 2]);
    expect(T.matmul(a, b).toArraySync()).toEqual([
      [58, 64],
      [139, 154],
    ]);
    // vector · vector is a scalar; matrix · vector drops the vector's axis.
    const v = makeTensor([1, 1, 1], [3]);
    expect(T.matmul(v, v).shape).toEqual([]);
    expect(T.matmul(v, v).itemSync()).toBe(3);
    expect(T.matmul(a, v).toArraySync()).toEqual([6, 15]);
    expect(T.matmul(makeTensor([1, 1], [2]), a).toArraySync()).toEqual([5, 7, 9]);
    // weak typing: a nested array operand takes the tensor's dtype.
    expect(T.matmul(a, [[1], [0], [0]]).toArraySync()).toEqual([[1], [4]]);
  });

  it('dot (NumPy\'s), vecdot and outer', () => {
    const a = makeTensor([1, 2, 3], [3]);
    const b = makeTensor([4, 5, 6], [3]);
    expect(T.dot(a, b).itemSync()).toBe(32);
    // Square matrices: dot is the matrix product (np.dot), vecdot the row-by-row products.
    const m = makeTensor([1, 2, 3, 4], [2, 2]);
    const n = makeTensor([5, 6, 7, 8], [2, 2]);
    expect(T.dot(m, n).toArraySync()).toEqual([[19, 22], [43, 50]]);
    expect(T.vecdot(m, n).toArraySync()).toEqual([17, 53]);
    expect(T.vecdot(m, n, 0).toArraySync()).toEqual([26, 44]);
    expect(T.dot(m, 2).toArraySync()).toEqual([[2, 4], [6, 8]]);
    expect(T.outer(a, b).toArraySync()).toEqual([
      [4, 5, 6],
      [8, 10, 12],
      [12, 15, 18],
    ]);
  });
});
