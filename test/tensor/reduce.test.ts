/**
 * Reductions over random axis subsets (with keepdims), arg-reductions, logsumexp, softmax and
 * logSoftmax, against loops over every element with plain index arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { expectClose, f32, makeTensor, randomInts, randomValues, RUNS, shapeArb, sizeOfShape, unravel, ravel, valuesOf } from './helpers';

/** A shape and a subset of its axes (as given to the op: possibly negative, any order). */
const shapeAndAxes = fc
  .record({ shape: shapeArb(4, 4), picks: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), negate: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), rev: fc.boolean() })
  .map(({ shape, picks, negate, rev }) => {
    const sorted = shape.map((_, i) => i).filter((i) => picks[i]);
    const given = sorted.map((a) => (negate[a] ? a - shape.length : a));
    return { shape, sorted, axes: rev ? given.reverse() : given };
  });

/**
 * Groups the elements of x by their position with `axes` removed; returns the groups in row-major
 * order of the output and the output shape.
 */
function groups(x: readonly number[], shape: readonly number[], axes: readonly number[]): { groups: number[][]; outShape: number[] } {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const out: number[][] = Array.from({ length: sizeOfShape(outShape) }, () => []);
  for (let i = 0; i < x.length; i++) {
    const idx = unravel(i, shape).filter((_, a) => !axes.includes(a));
    out[ravel(idx, outShape)].push(x[i]);
  }
  return { groups: out, outShape };
}

const keepShape = (shape: readonly number[], axes: readonly number[]) => shape.map((d, i) => (axes.includes(i) ? 1 : d));

interface ReduceCase {
  op: (x: T.TensorLike, axes?: number | readonly number[], keepdims?: boolean) => T.Tensor;
  ref: (g: number[]) => number;
  lo: number;
  hi: number;
  /** Tolerance for one group: relative to the sum of |values| (sums) or to the result. */
  tol: (g: number[], expected: number, dtype: 'float32' | 'float64') => number;
}

const sumAbs = (g: number[]) => g.reduce((s, v) => s + Math.abs(v), 0);
const EPS = { float64: 2 ** -52, float32: 2 ** -23 };

const REDUCE: Record<string, ReduceCase> = {
  sum: { op: T.sum, ref: (g) => g.reduce((s, v) => s + v, 0), lo: -1, hi: 1, tol: (g, e, d) => EPS[d] * (Math.abs(e) + 4 * EPS.float64 / EPS[d] * sumAbs(g) * g.length) + 1e-300 },
  mean: { op: T.mean, ref: (g) => g.reduce((s, v) => s + v, 0) / g.length, lo: -1, hi: 1, tol: (g, e, d) => 2 * EPS[d] * Math.abs(e) + (4 * EPS.float64 * sumAbs(g)) + 1e-300 },
  prod: { op: T.prod, ref: (g) => g.reduce((s, v) => s * v, 1), lo: 0.5, hi: 2, tol: (g, e, d) => EPS[d] * Math.abs(e) + 64 * EPS.float64 * Math.abs(e) },
  max: { op: T.max, ref: (g) => Math.max(...g), lo: -5, hi: 5, tol: () => 0 },
  min: { op: T.min, ref: (g) => Math.min(...g), lo: -5, hi: 5, tol: () => 0 },
  // log Σ exp directly (no shift): safe for values in [-5, 5].
  logsumexp: { op: T.logsumexp, ref: (g) => Math.log(g.reduce((s, v) => s + Math.exp(v), 0)), lo: -5, hi: 5, tol: (g, e, d) => (d === 'float64' ? 1e-13 : 4 * EPS.float32) * (1 + Math.abs(e) + 5) },
};

describe('reductions over random axis subsets', () => {
  for (const [name, c] of Object.entries(REDUCE)) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${name} ${dtype}`, () => {
        fc.assert(
          fc.property(shapeAndAxes, fc.boolean(), fc.boolean(), fc.integer(), ({ shape, sorted, axes }, keepdims, all, seed) => {
            let x = randomValues(seed, sizeOfShape(shape), c.lo, c.hi);
            if (dtype === 'float32') x = f32(x);
            const reduced = all ? shape.map((_, i) => i) : sorted;
            const t = makeTensor(x, shape, dtype);
            const out = all ? c.op(t, undefined, keepdims) : c.op(t, axes, keepdims);
            const { groups: gs, outShape } = groups(x, shape, reduced);
            expect(out.shape).toEqual(keepdims ? keepShape(shape, reduced) : outShape);
            expect(out.dtype).toBe(dtype);
            const expected = gs.map(c.ref);
            expectClose(valuesOf(out), expected, gs.map((g, i) => c.tol(g, expected[i], dtype)), name);
          }),
          { numRuns: 40 },
        );
      });
    }
  }

  it('sum of int32 stays int32 and sum of bool counts (int32)', () => {
    const x = makeTensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expect(T.sum(x, 1).dtype).toBe('int32');
    expect(valuesOf(T.sum(x, 1))).toEqual([6, 15]);
    const b = T.tensor([[true, false, true], [true, true, true]]);
    const s = T.sum(b, 1);
    expect(s.dtype).toBe('int32');
    expect(valuesOf(s)).toEqual([2, 3]);
    expect(T.mean(x).dtype).toBe('float32');
    expect(T.mean(x).itemSync()).toBe(3.5);
  });

  it('int32 and uint32 sum and prod wrap modulo 2^32 like repeated add/mul (checked with BigInt)', () => {
    fc.assert(
      fc.property(shapeAndAxes, fc.integer(), fc.boolean(), ({ shape, sorted, axes }, seed, unsigned) => {
        const dtype = unsigned ? 'uint32' : 'int32';
        const x = unsigned ? randomInts(seed, sizeOfShape(shape), 0, 2 ** 32 - 1) : randomInts(seed, sizeOfShape(shape), -(2 ** 31), 2 ** 31 - 1);
        const t = makeTensor(x, shape, dtype);
        const { groups: gs } = groups(x, shape, sorted);
        const wrap = (v: bigint) => Number(unsigned ? BigInt.asUintN(32, v) : BigInt.asIntN(32, v));
        expect(valuesOf(T.sum(t, axes))).toEqual(gs.map((g) => wrap(g.reduce((s, v) => s + BigInt(v), 0n))));
        expect(valuesOf(T.prod(t, axes))).toEqual(gs.map((g) => wrap(g.reduce((s, v) => s * BigInt(v), 1n))));
        expect(T.prod(t, axes).dtype).toBe(dtype);
      }),
      RUNS,
    );
    // 65537⁴ = 2⁶⁴ + 2⁵⁰ + 6·2³² + 2¹⁸ + 1 ≡ 262145 (mod 2³²); float64 cannot hold it exactly.
    expect(T.prod(makeTensor([65537, 65537, 65537, 65537], [4], 'int32')).itemSync()).toBe(262145);
  });

  it('empty reductions give the identity', () => {
    const e = T.zeros([2, 0]);
    expect(valuesOf(T.sum(e, 1))).toEqual([0, 0]);
    expect(valuesOf(T.prod(e, 1))).toEqual([1, 1]);
    expect(valuesOf(T.max(e, 1))).toEqual([-Infinity, -Infinity]);
    expect(valuesOf(T.logsumexp(e, 1))).toEqual([-Infinity, -Infinity]);
  });

  it('max/min over an empty integer or bool axis throw (no identity; the kernels stored 0)', () => {
    for (const dtype of ['int32', 'uint32', 'bool'] as const) {
      const e = T.zeros([2, 0], { dtype });
      expect(() => T.max(e, 1)).toThrow(T.ShapeError);
      expect(() => T.min(e, -1, true)).toThrow(`min: cannot reduce the empty axis 1 of ${dtype === 'bool' ? 'bool' : dtype === 'int32' ? 'i32' : 'u32'}[2,0]: only float tensors have an identity (Infinity) for it`);
      expect(valuesOf(T.max(e, 0))).toEqual([]);
    }
  });

  it('variance divides by max(n - ddof, 0), as NumPy: Infinity or NaN past n, never negative', () => {
    const x = makeTensor([1, 2, 3, 4], [2, 2]);
    expect(valuesOf(T.variance(x, 1, false, 3))).toEqual([Infinity, Infinity]);
    expect(valuesOf(T.variance(x, 1, false, 2))).toEqual([Infinity, Infinity]);
    expect(valuesOf(T.variance(makeTensor([5], [1]), 0, false, 1))).toEqual([NaN]);
    expect(valuesOf(T.std(T.zeros([0], { dtype: 'float64' }), undefined, false, 1))).toEqual([NaN]);
  });

  it('max/min propagate NaN; logsumexp handles ±Infinity', () => {
    const x = makeTensor([1, NaN, 3, 4, 5, 6], [2, 3]);
    expect(valuesOf(T.max(x, 1))).toEqual([NaN, 6]);
    expect(valuesOf(T.min(x, 1))).toEqual([NaN, 4]);
    const y = makeTensor([-Infinity, -Infinity, Infinity, 0, -Infinity, 0], [3, 2]);
    expectClose(valuesOf(T.logsumexp(y, 1)), [-Infinity, Infinity, 0]);
  });

  it('max/min of signed zeros: +0 is the larger in any order (IEEE 754-2019 maximum, as XLA), eager and jit', async () => {
    const { jit } = await import('../../src/autodiff');
    // Rows: [-0, +0], [+0, -0], [-0, -0], then a long row (the jit's WebAssembly kernel) ending in +0.
    const long = [...Array(63).fill(-0), 0];
    for (const dtype of ['float32', 'float64'] as const) {
      const rows = makeTensor([-0, 0, 0, -0, -0, -0], [3, 2], dtype);
      const longRow = makeTensor(long, [1, 64], dtype);
      for (const [name, max, min] of [
        ['eager', (x: T.Tensor) => T.max(x, 1), (x: T.Tensor) => T.min(x, 1)],
        ['jit', jit((x: T.Tensor) => T.max(x, 1)), jit((x: T.Tensor) => T.min(x, 1))],
      ] as const) {
        const signs = (t: T.Tensor) => valuesOf(t).map((v) => (Object.is(v, -0) ? '-0' : String(v)));
        expect(signs(max(rows)), `${name} ${dtype}`).toEqual(['0', '0', '-0']);
        expect(signs(min(rows)), `${name} ${dtype}`).toEqual(['-0', '-0', '-0']);
        expect(signs(max(longRow)), `${name} ${dtype}`).toEqual(['0']);
        expect(signs(min(T.neg(longRow))), `${name} ${dtype}`).toEqual(['-0']);
      }
    }
  });

  it('logsumexp is stable at |x| = 1e4', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = makeTensor([1e4, 1e4, -1e4, -1e4 + Math.log(3)], [2, 2], dtype);
      const out = valuesOf(T.logsumexp(x, 1));
      const expected = [1e4 + Math.LN2, -1e4 + Math.log(4)];
      expectClose(out, dtype === 'float64' ? expected : f32(expected), { rtol: dtype === 'float64' ? 1e-12 : 2 ** -22 }, `logsumexp ${dtype}`);
    }
  });
});

describe('argmax / argmin', () => {
  it('first index of the extreme along an axis, ties included', () => {
    fc.assert(
      fc.property(shapeArb(4, 4).filter((s) => s.length > 0), fc.nat(), fc.boolean(), fc.integer(), (shape, a0, keepdims, seed) => {
        const axis = a0 % shape.length;
        // Few distinct values so that ties occur.
        const x = randomInts(seed, sizeOfShape(shape), -2, 2);
        const t = makeTensor(x, shape);
        for (const [op, better] of [
          [T.argmax, (v: number, b: number) => v > b],
          [T.argmin, (v: number, b: number) => v < b],
        ] as const) {
          const out = op(t, axis - (seed % 2 === 0 ? 0 : shape.length), keepdims);
          expect(out.dtype).toBe('int32');
          const outShape = shape.filter((_, i) => i !== axis);
          expect(out.shape).toEqual(keepdims ? keepShape(shape, [axis]) : outShape);
          const expected = Array.from({ length: sizeOfShape(outShape) }, (_, o) => {
            const idx = unravel(o, outShape);
            let best = 0;
            for (let j = 1; j < shape[axis]; j++) {
              const at = (k: number) => x[ravel([...idx.slice(0, axis), k, ...idx.slice(axis)], shape)];
              if (better(at(j), at(best))) best = j;
            }
            return best;
          });
          expect(valuesOf(out)).toEqual(expected);
        }
      }),
      RUNS,
    );
  });

  it('without an axis indexes the flattened tensor', () => {
    const x = makeTensor([3, 9, 9, 1, 0, 1], [2, 3]);
    expect(T.argmax(x).itemSync()).toBe(1);
    expect(T.argmin(x).itemSync()).toBe(4);
    expect(T.argmax(x, undefined, true).shape).toEqual([1, 1]);
    expect(T.argmax(makeTensor([1, NaN, 5], [3])).itemSync()).toBe(1);
  });
});

describe('softmax and logSoftmax', () => {
  it('take integer and bool inputs as float32 (as the other float functions do)', () => {
    const u = makeTensor([0, 9, 12], [3], 'uint32');
    const want = f32([0, 9, 12].map((v) => v - 12 - Math.log(Math.exp(-12) + Math.exp(-3) + 1)));
    expect(T.logSoftmax(u).dtype).toBe('float32');
    // log of a float32 sum near 1: absolute rounding, about an ulp of 1.
    expectClose(valuesOf(T.logSoftmax(u)), want, { rtol: 2 ** -22, atol: 2 ** -22 });
    expectClose(valuesOf(T.softmax(T.tensor([false, true]))), f32([1 / (1 + Math.E), Math.E / (1 + Math.E)]), { rtol: 2 ** -22 });
  });

  const softmaxRef = (g: number[]) => {
    const m = Math.max(...g);
    const e = g.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };

  it('match exp(x)/Σexp(x) along a random axis, rows sum to 1', () => {
    fc.assert(
      fc.property(shapeArb(3, 5).filter((s) => s.length > 0), fc.nat(), fc.integer(), (shape, a0, seed) => {
        const axis = a0 % shape.length;
        const x = randomValues(seed, sizeOfShape(shape), -10, 10);
        const t = makeTensor(x, shape);
        const sm = valuesOf(T.softmax(t, axis));
        const lsm = valuesOf(T.logSoftmax(t, axis));
        // Expected values, laid out like x: walk each row along `axis`.
        const expected = new Array<number>(x.length);
        const outShape = shape.filter((_, i) => i !== axis);
        for (let o = 0; o < sizeOfShape(outShape); o++) {
          const idx = unravel(o, outShape);
          const pos = Array.from({ length: shape[axis] }, (_, k) => ravel([...idx.slice(0, axis), k, ...idx.slice(axis)], shape));
          const p = softmaxRef(pos.map((q) => x[q]));
          pos.forEach((q, k) => (expected[q] = p[k]));
          expect(Math.abs(pos.reduce((s, q) => s + sm[q], 0) - 1)).toBeLessThan(1e-14);
        }
        expectClose(sm, expected, { rtol: 1e-13, atol: 1e-300 }, 'softmax');
        expectClose(lsm, expected.map(Math.log), { rtol: 1e-13, atol: 1e-13 }, 'logSoftmax');
      }),
      RUNS,
    );
  });

  it('are finite and correct at |x| = 1e4 in float64 and float32', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = makeTensor([1e4, 1e4 - 1, 1e4 - 2, -1e4, 0, -1e4, 1e4, 1e4, 1e4], [3, 3], dtype);
      const sm = valuesOf(T.softmax(x, -1));
      const lsm = valuesOf(T.logSoftmax(x, -1));
      expect(sm.every(Number.isFinite)).toBe(true);
      expect(lsm.every(Number.isFinite)).toBe(true);
      const z = 1 + Math.exp(-1) + Math.exp(-2);
      const expectedLsm = [-Math.log(z), -1 - Math.log(z), -2 - Math.log(z), -1e4, 0, -1e4, -Math.log(3), -Math.log(3), -Math.log(3)];
      const expectedSm = [1 / z, Math.exp(-1) / z, Math.exp(-2) / z, 0, 1, 0, 1 / 3, 1 / 3, 1 / 3];
      const tol = dtype === 'float64' ? { rtol: 1e-13, atol: 1e-300 } : { rtol: 2 ** -21, atol: 1e-38 };
      expectClose(sm, expectedSm, tol, `softmax ${dtype}`);
      // logSoftmax(1e4 - 1) in float32: 1e4 is exact, so the result is accurate relative to its value.
      expectClose(lsm, expectedLsm, tol, `logSoftmax ${dtype}`);
    }
  });
});
