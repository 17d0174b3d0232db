/** Broadcasting laws and shape rules as properties over random shapes (sizes 0..3 so that mismatches occur). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { broadcastIndex, broadcastPairArb, makeTensor, randomValues, refBroadcast, RUNS, sizeOfShape, unravel, valuesOf } from './helpers';

const smallShape = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 });

/** broadcastShapes as a value: the shape, or 'error' if it threw a ShapeError. */
function bs(...shapes: number[][]): number[] | 'error' {
  try {
    return T.broadcastShapes('test', ...shapes);
  } catch (e) {
    expect(e).toBeInstanceOf(T.ShapeError);
    return 'error';
  }
}

describe('broadcastShapes', () => {
  it('agrees with an independent implementation of the NumPy rule', () => {
    fc.assert(
      fc.property(smallShape, smallShape, (a, b) => {
        expect(bs(a, b)).toEqual(refBroadcast(a, b) ?? 'error');
      }),
      { numRuns: 200 },
    );
  });

  it('is commutative, idempotent, and has [] and all-ones shapes as identities', () => {
    fc.assert(
      fc.property(smallShape, smallShape, fc.nat(4), (a, b, k) => {
        expect(bs(a, b)).toEqual(bs(b, a));
        expect(bs(a, a)).toEqual(a);
        expect(bs(a, [])).toEqual(a);
        expect(bs(a, Array(Math.min(k, a.length)).fill(1))).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it('is associative, and the variadic form is the fold', () => {
    fc.assert(
      fc.property(smallShape, smallShape, smallShape, (a, b, c) => {
        const ab = bs(a, b);
        const bc = bs(b, c);
        const left = ab === 'error' ? 'error' : bs(ab, c);
        const right = bc === 'error' ? 'error' : bs(a, bc);
        expect(left).toEqual(right);
        expect(bs(a, b, c)).toEqual(left);
      }),
      { numRuns: 200 },
    );
  });

  it('compatible pairs broadcast to a shape both operands fit into', () => {
    fc.assert(
      fc.property(broadcastPairArb(4, 3, 0), ([a, b]) => {
        const out = bs(a, b) as number[];
        expect(out.length).toBe(Math.max(a.length, b.length));
        for (const s of [a, b]) {
          s.forEach((d, i) => {
            const o = out[out.length - s.length + i];
            expect(d === o || d === 1).toBe(true);
          });
        }
      }),
      RUNS,
    );
  });
});

describe('broadcasting in ops', () => {
  it('a binary op has the broadcast shape, or throws ShapeError exactly when the shapes do not broadcast', () => {
    fc.assert(
      fc.property(smallShape, smallShape, (a, b) => {
        const ref = refBroadcast(a, b);
        const ta = T.zeros(a);
        const tb = T.ones(b);
        if (ref === undefined) {
          expect(() => T.add(ta, tb)).toThrow(T.ShapeError);
          expect(() => T.less(tb, ta)).toThrow(T.ShapeError);
        } else {
          expect(T.add(ta, tb).shape).toEqual(ref);
          expect(T.less(tb, ta).shape).toEqual(ref);
          expect(T.where(T.less(ta, 1), ta, tb).shape).toEqual(ref);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('broadcastTo repeats size-1 and missing leading axes', () => {
    fc.assert(
      fc.property(broadcastPairArb(4, 3), fc.integer(), ([a, b], seed) => {
        const out = refBroadcast(a, b)!;
        const x = randomValues(seed, sizeOfShape(a));
        const t = T.broadcastTo(makeTensor(x, a), out);
        expect(t.shape).toEqual(out);
        expect(valuesOf(t)).toEqual(Array.from({ length: sizeOfShape(out) }, (_, i) => x[broadcastIndex(unravel(i, out), a)]));
      }),
      RUNS,
    );
  });

  it('implicit broadcasting equals explicit broadcastTo followed by the op', () => {
    fc.assert(
      fc.property(broadcastPairArb(4, 3), fc.integer(), ([a, b], seed) => {
        const out = refBroadcast(a, b)!;
        const ta = makeTensor(randomValues(seed, sizeOfShape(a)), a);
        const tb = makeTensor(randomValues(seed + 1, sizeOfShape(b)), b);
        for (const op of [T.add, T.sub, T.mul, T.maximum, T.atan2, T.greater]) {
          expect(valuesOf(op(ta, tb))).toEqual(valuesOf(op(T.broadcastTo(ta, out), T.broadcastTo(tb, out))));
        }
      }),
      RUNS,
    );
  });

  it('zero-size axes broadcast against 1 and give empty results', () => {
    expect(T.add(T.zeros([0, 3]), T.zeros([1, 3])).shape).toEqual([0, 3]);
    expect(T.add(T.zeros([2, 0]), T.zeros([1])).shape).toEqual([2, 0]);
    expect(() => T.add(T.zeros([0]), T.zeros([2]))).toThrow(T.ShapeError);
    expect(T.sum(T.add(T.zeros([0, 3]), 1), 0).toArraySync()).toEqual([0, 0, 0]);
  });
});

describe('collapseBroadcast', () => {
  it('drops size-1 axes and merges axes every input steps through as one', async () => {
    const { collapseBroadcast } = await import('../../src/tensor/cpu/elementwise');
    expect(collapseBroadcast([5, 32, 5, 1], [[32, 1, 0, 0], [0, 5, 1, 1]])).toEqual({ shape: [5, 32, 5], strides: [[32, 1, 0], [0, 5, 1]] });
    // [4, 3, 2] with a contiguous input and one broadcast over the first axis: the last two merge.
    expect(collapseBroadcast([4, 3, 2], [[6, 2, 1], [0, 2, 1]])).toEqual({ shape: [4, 6], strides: [[6, 1], [0, 1]] });
    // A contiguous input and a scalar-like one (stride 0 everywhere) merge into one axis.
    expect(collapseBroadcast([2, 3], [[3, 1], [0, 0]])).toEqual({ shape: [6], strides: [[1], [0]] });
    // A row broadcast does not merge with the axis it repeats over.
    expect(collapseBroadcast([2, 3], [[3, 1], [0, 1]])).toEqual({ shape: [2, 3], strides: [[3, 1], [0, 1]] });
    expect(collapseBroadcast([1, 1], [[0, 0]])).toEqual({ shape: [1], strides: [[0]] });
  });
});
