/**
 * Data movement against index arithmetic: reshape, transpose, slice (Python semantics, steps and
 * negative steps), concat/stack/split, pad, flip, take/takeAlongAxis, oneHot; plus round trips.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { makeTensor, randomInts, ravel, RUNS, shapeArb, sizeOfShape, unravel, valuesOf } from './helpers';

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
/** A float64 tensor whose element at flat position i is i (so values name their source position). */
const positions = (shape: number[]) => makeTensor(iota(sizeOfShape(shape)), shape);

/** Python's slice(start, stop, step).indices(n), written from CPython's PySlice_AdjustIndices. */
function pythonSliceIndices(n: number, start: number | null, stop: number | null, step: number): number[] {
  let lo: number;
  let hi: number;
  if (start === null) lo = step < 0 ? n - 1 : 0;
  else {
    lo = start;
    if (lo < 0) {
      lo += n;
      if (lo < 0) lo = step < 0 ? -1 : 0;
    } else if (lo >= n) lo = step < 0 ? n - 1 : n;
  }
  if (stop === null) hi = step < 0 ? -1 : n;
  else {
    hi = stop;
    if (hi < 0) {
      hi += n;
      if (hi < 0) hi = step < 0 ? -1 : 0;
    } else if (hi >= n) hi = step < 0 ? n - 1 : n;
  }
  const out: number[] = [];
  for (let i = lo; step > 0 ? i < hi : i > hi; i += step) out.push(i);
  return out;
}

/** Picks x[idx_0[i0], idx_1[i1], ...] for every combination (a cartesian gather). */
function pick(x: number[], shape: number[], perAxis: number[][]): number[] {
  const outShape = perAxis.map((p) => p.length);
  return iota(sizeOfShape(outShape)).map((o) => {
    const idx = unravel(o, outShape);
    return x[ravel(idx.map((i, a) => perAxis[a][i]), shape)];
  });
}

const boundArb = fc.option(fc.integer({ min: -7, max: 7 }), { nil: null });
const stepArb = fc.integer({ min: -3, max: 3 }).filter((s) => s !== 0);

describe('reshape and transpose', () => {
  it('reshape keeps row-major order; -1 is inferred; round trip', () => {
    fc.assert(
      fc.property(shapeArb(4, 4), fc.integer(), (shape, seed) => {
        const n = sizeOfShape(shape);
        const t = positions(shape);
        // a random factorization of n into another shape
        const factors: number[] = [];
        let rest = n;
        for (const f of randomInts(seed, 4, 1, 4)) {
          if (rest % f === 0) {
            factors.push(f);
            rest /= f;
          }
        }
        const target = [...factors, rest];
        const r = T.reshape(t, target);
        expect(r.shape).toEqual(target);
        expect(valuesOf(r)).toEqual(iota(n));
        expect(T.reshape(t, [...factors, -1]).shape).toEqual(target);
        expect(T.reshape(r, shape).shape).toEqual(shape);
        expect(valuesOf(T.flatten(t))).toEqual(iota(n));
      }),
      RUNS,
    );
  });

  it('transpose matches index permutation and inverts', () => {
    fc.assert(
      fc.property(shapeArb(4, 4).chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray(iota(s.length), { minLength: s.length }))), ([shape, perm]) => {
        const t = positions(shape);
        const out = T.transpose(t, perm);
        const outShape = perm.map((p) => shape[p]);
        expect(out.shape).toEqual(outShape);
        const expected = iota(sizeOfShape(outShape)).map((o) => {
          const idx = unravel(o, outShape);
          const src = new Array<number>(shape.length);
          perm.forEach((p, i) => (src[p] = idx[i]));
          return ravel(src, shape);
        });
        expect(valuesOf(out)).toEqual(expected);
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        expect(valuesOf(T.transpose(out, inverse))).toEqual(iota(sizeOfShape(shape)));
        // default reverses the axes
        expect(T.transpose(t).shape).toEqual([...shape].reverse());
      }),
      RUNS,
    );
  });

  it('swapAxes, moveAxis, expandDims, squeeze', () => {
    const t = positions([2, 3, 4]);
    expect(T.swapAxes(t, 0, 2).shape).toEqual([4, 3, 2]);
    expect(valuesOf(T.swapAxes(t, 0, 2))).toEqual(valuesOf(T.transpose(t, [2, 1, 0])));
    expect(T.moveAxis(t, 0, -1).shape).toEqual([3, 4, 2]);
    expect(valuesOf(T.moveAxis(t, 0, -1))).toEqual(valuesOf(T.transpose(t, [1, 2, 0])));
    expect(T.expandDims(t, [0, -1]).shape).toEqual([1, 2, 3, 4, 1]);
    expect(T.squeeze(T.expandDims(t, [0, 2])).shape).toEqual([2, 3, 4]);
    expect(T.squeeze(positions([1, 3, 1]), 2).shape).toEqual([1, 3]);
  });
});

describe('slice', () => {
  it('matches Python slicing on every axis (random start/stop/step, negative steps, indices)', () => {
    fc.assert(
      fc.property(
        shapeArb(3, 5, 0).filter((s) => s.length > 0),
        fc.array(fc.oneof(fc.tuple(boundArb, boundArb, stepArb), fc.integer({ min: -5, max: 4 }), fc.constant(null)), { minLength: 3, maxLength: 3 }),
        (shape, rawSpecs) => {
          const specs = rawSpecs.slice(0, shape.length).map((s, a) => {
            // integer indices must be in range; make out-of-range ones whole-axis instead
            if (typeof s === 'number') return s >= -shape[a] && s < shape[a] ? s : null;
            return s;
          });
          const t = positions(shape);
          const out = T.slice(t, ...(specs as T.SliceSpec[]));
          const perAxis = shape.map((n, a) => {
            const s = specs[a];
            if (s === null || s === undefined) return iota(n);
            if (typeof s === 'number') return [s < 0 ? s + n : s];
            return pythonSliceIndices(n, s[0], s[1], s[2]);
          });
          const keptShape = perAxis.map((p) => p.length).filter((_, a) => typeof specs[a] !== 'number');
          expect(out.shape).toEqual(keptShape);
          expect(valuesOf(out)).toEqual(pick(iota(sizeOfShape(shape)), shape, perAxis));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('known cases', () => {
    const x = T.arange(10);
    expect(valuesOf(T.slice(x, [null, null, -2]))).toEqual([9, 7, 5, 3, 1]);
    expect(valuesOf(T.slice(x, [7, 2, -2]))).toEqual([7, 5, 3]);
    expect(valuesOf(T.slice(x, [-3]))).toEqual([7, 8, 9]);
    expect(valuesOf(T.slice(x, [2, 7, -1]))).toEqual([]);
    expect(valuesOf(T.slice(x, [5, -20, -1]))).toEqual([5, 4, 3, 2, 1, 0]);
    expect(T.slice(positions([2, 3]), 1, [null, null, -1]).toArraySync()).toEqual([5, 4, 3]);
    // the method form
    expect(positions([2, 3]).slice(null, 1).toArraySync()).toEqual([1, 4]);
  });

  it('slicing into pieces and concatenating them restores the tensor', () => {
    fc.assert(
      fc.property(shapeArb(3, 5).filter((s) => s.length > 0), fc.nat(), fc.integer({ min: 1, max: 3 }), (shape, a0, step) => {
        const axis = a0 % shape.length;
        const t = positions(shape);
        // strided residue classes interleave back via stack + reshape; here: contiguous halves via concat
        const mid = Math.floor(shape[axis] / 2);
        const spec = (lo: number | null, hi: number | null): T.SliceSpec[] => shape.map((_, a) => (a === axis ? [lo, hi] : null));
        const joined = T.concat([T.slice(t, ...spec(null, mid)), T.slice(t, ...spec(mid, null))], axis);
        expect(valuesOf(joined)).toEqual(iota(sizeOfShape(shape)));
        // every element lands in exactly one residue class of `step`
        const parts = iota(step).map((r) => T.slice(t, ...shape.map((_, a): T.SliceSpec => (a === axis ? [r, null, step] : null))));
        const seen = parts.flatMap(valuesOf).sort((p, q) => p - q);
        expect(seen).toEqual(iota(sizeOfShape(shape)));
      }),
      RUNS,
    );
  });
});

describe('concat, stack, split', () => {
  it('concat matches placement by offsets; split inverts it', () => {
    fc.assert(
      fc.property(shapeArb(3, 3).filter((s) => s.length > 0), fc.nat(), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }), (shape, a0, sizes) => {
        const axis = a0 % shape.length;
        let offset = 0;
        const parts = sizes.map((d) => {
          const s = shape.map((v, i) => (i === axis ? d : v));
          const t = makeTensor(iota(sizeOfShape(s)).map((v) => v + 1000 * offset), s);
          offset += 1;
          return t;
        });
        const out = T.concat(parts, axis - shape.length);
        const total = sizes.reduce((p, q) => p + q, 0);
        const outShape = shape.map((v, i) => (i === axis ? total : v));
        expect(out.shape).toEqual(outShape);
        const expected = iota(sizeOfShape(outShape)).map((o) => {
          const idx = unravel(o, outShape);
          let j = idx[axis];
          let p = 0;
          while (j >= sizes[p]) j -= sizes[p++];
          const s = shape.map((v, i) => (i === axis ? sizes[p] : v));
          return ravel(idx.map((v, i) => (i === axis ? j : v)), s) + 1000 * p;
        });
        expect(valuesOf(out)).toEqual(expected);
        const bounds = sizes.slice(0, -1).map((_, i) => sizes.slice(0, i + 1).reduce((p, q) => p + q, 0));
        const back = T.split(out, bounds, axis);
        expect(back.length).toBe(parts.length);
        back.forEach((b, i) => {
          expect(b.shape).toEqual(parts[i].shape);
          expect(valuesOf(b)).toEqual(valuesOf(parts[i]));
        });
      }),
      RUNS,
    );
  });

  it('concat and stack promote dtypes as binary ops do (int32 with uint32 refused)', () => {
    const out = T.concat([makeTensor([1, 2], [2], 'int32'), makeTensor([0.5], [1], 'float32'), T.tensor([true])]);
    expect(out.dtype).toBe('float32');
    expect(valuesOf(out)).toEqual([1, 2, 0.5, 1]);
    const s = T.stack([makeTensor([1], [1], 'float64'), makeTensor([7], [1], 'uint32')]);
    expect([s.dtype, ...valuesOf(s)]).toEqual(['float64', 1, 7]);
    expect(() => T.stack([makeTensor([1], [1], 'int32'), makeTensor([1], [1], 'uint32')])).toThrow('stack: cannot mix int32 and uint32 operands; cast one explicitly');
  });

  it('stack adds an axis; slicing it gives the inputs back; split into equal sections', () => {
    fc.assert(
      fc.property(shapeArb(3, 3), fc.nat(), fc.integer({ min: 1, max: 4 }), (shape, a0, count) => {
        const axis = a0 % (shape.length + 1);
        const parts = iota(count).map((p) => makeTensor(iota(sizeOfShape(shape)).map((v) => v + 100 * p), shape));
        const out = T.stack(parts, axis);
        expect(out.shape).toEqual([...shape.slice(0, axis), count, ...shape.slice(axis)]);
        parts.forEach((p, i) => {
          const spec: T.SliceSpec[] = out.shape.map((_, a) => (a === axis ? i : null));
          expect(valuesOf(T.slice(out, ...spec))).toEqual(valuesOf(p));
        });
        const back = T.split(out, count, axis);
        back.forEach((b, i) => expect(valuesOf(T.squeeze(b, axis))).toEqual(valuesOf(parts[i])));
      }),
      RUNS,
    );
  });
});

describe('pad and flip', () => {
  it('pad places x at offset lo inside zeros', () => {
    fc.assert(
      fc.property(shapeArb(3, 3, 0), fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: 3, maxLength: 3 }), (shape, w) => {
        const widths = shape.map((_, i) => w[i]);
        const t = makeTensor(iota(sizeOfShape(shape)).map((v) => v + 1), shape);
        const out = T.pad(t, widths);
        const outShape = shape.map((d, i) => d + widths[i][0] + widths[i][1]);
        expect(out.shape).toEqual(outShape);
        const expected = iota(sizeOfShape(outShape)).map((o) => {
          const idx = unravel(o, outShape).map((v, i) => v - widths[i][0]);
          return idx.every((v, i) => v >= 0 && v < shape[i]) ? ravel(idx, shape) + 1 : 0;
        });
        expect(valuesOf(out)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('flip reverses the chosen axes and is an involution', () => {
    fc.assert(
      fc.property(shapeArb(4, 4, 0), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (shape, picks) => {
        const axes = shape.map((_, i) => i).filter((i) => picks[i]);
        const t = positions(shape);
        const out = T.flip(t, axes);
        const expected = iota(sizeOfShape(shape)).map((o) => ravel(unravel(o, shape).map((v, i) => (axes.includes(i) ? shape[i] - 1 - v : v)), shape));
        expect(valuesOf(out)).toEqual(expected);
        expect(valuesOf(T.flip(out, axes))).toEqual(iota(sizeOfShape(shape)));
      }),
      RUNS,
    );
    expect(valuesOf(T.flip(positions([2, 2])))).toEqual([3, 2, 1, 0]);
  });
});

describe('take, takeAlongAxis, oneHot', () => {
  it('take(x, idx, axis) has shape x[:axis] + idx + x[axis+1:] and picks along axis (negative indices count from the end)', () => {
    fc.assert(
      fc.property(shapeArb(3, 3).filter((s) => s.length > 0), shapeArb(2, 3), fc.nat(), fc.integer(), (shape, ishape, a0, seed) => {
        const axis = a0 % shape.length;
        const n = shape[axis];
        const idx = randomInts(seed, sizeOfShape(ishape), -n, n - 1);
        const out = T.take(positions(shape), makeTensor(idx, ishape, 'int32'), axis);
        const outShape = [...shape.slice(0, axis), ...ishape, ...shape.slice(axis + 1)];
        expect(out.shape).toEqual(outShape);
        const expected = iota(sizeOfShape(outShape)).map((o) => {
          const full = unravel(o, outShape);
          const pre = full.slice(0, axis);
          const mid = full.slice(axis, axis + ishape.length);
          const post = full.slice(axis + ishape.length);
          const i = idx[ravel(mid, ishape)];
          return ravel([...pre, i < 0 ? i + n : i, ...post], shape);
        });
        expect(valuesOf(out)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('takeAlongAxis matches NumPy take_along_axis with broadcasting of the other axes', () => {
    fc.assert(
      fc.property(shapeArb(3, 3).filter((s) => s.length > 0), fc.nat(), fc.integer({ min: 0, max: 4 }), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer(), (shape, a0, m, ones, seed) => {
        const axis = a0 % shape.length;
        const ishape = shape.map((d, i) => (i === axis ? m : ones[i] ? 1 : d));
        const n = shape[axis];
        const idx = randomInts(seed, sizeOfShape(ishape), 0, n - 1);
        const out = T.takeAlongAxis(positions(shape), makeTensor(idx, ishape, 'int32'), axis);
        const outShape = shape.map((d, i) => (i === axis ? m : d));
        expect(out.shape).toEqual(outShape);
        const expected = iota(sizeOfShape(outShape)).map((o) => {
          const full = unravel(o, outShape);
          const i = idx[ravel(full.map((v, a) => (ishape[a] === 1 ? 0 : v)), ishape)];
          return ravel(full.map((v, a) => (a === axis ? i : v)), shape);
        });
        expect(valuesOf(out)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('oneHot puts a 1 at each index; out-of-range rows are all zero', () => {
    fc.assert(
      fc.property(shapeArb(2, 4), fc.integer({ min: 1, max: 5 }), fc.integer(), (shape, depth, seed) => {
        const idx = randomInts(seed, sizeOfShape(shape), 0, depth - 1);
        const out = T.oneHot(makeTensor(idx, shape, 'int32'), depth);
        expect(out.shape).toEqual([...shape, depth]);
        expect(out.dtype).toBe('float32');
        expect(valuesOf(out)).toEqual(idx.flatMap((i) => iota(depth).map((j) => +(i === j))));
      }),
      RUNS,
    );
    expect(T.oneHot([1, 3, -1], 3).toArraySync()).toEqual([
      [0, 1, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });
});

describe('scatterAdd (the transpose of gather, used by autodiff)', () => {
  it('adds updates into zeros at the indexed positions, duplicates accumulating', () => {
    fc.assert(
      fc.property(shapeArb(3, 3).filter((s) => s.length > 0), fc.nat(), fc.integer({ min: 1, max: 4 }), fc.integer(), (shape, a0, size, seed) => {
        const axis = a0 % shape.length;
        const idx = randomInts(seed, sizeOfShape(shape), 0, size - 1);
        const upd = randomInts(seed + 1, sizeOfShape(shape), -9, 9);
        const out = T.bind('scatterAdd', [makeTensor(upd, shape), makeTensor(idx, shape, 'int32')], { axis, size });
        const outShape = shape.map((d, i) => (i === axis ? size : d));
        expect(out.shape).toEqual(outShape);
        const expected = new Array<number>(sizeOfShape(outShape)).fill(0);
        upd.forEach((u, q) => {
          const at = unravel(q, shape);
          at[axis] = idx[q];
          expected[ravel(at, outShape)] += u;
        });
        expect(valuesOf(out)).toEqual(expected);
        // adjoint of gather: <gather(x, idx), u> = <x, scatterAdd(u, idx)>
        const x = randomInts(seed + 2, sizeOfShape(outShape), -9, 9);
        const g = valuesOf(T.bind('gather', [makeTensor(x, outShape), makeTensor(idx, shape, 'int32')], { axis }));
        const lhs = g.reduce((s, v, i) => s + v * upd[i], 0);
        const rhs = valuesOf(out).reduce((s, v, i) => s + v * x[i], 0);
        expect(lhs).toBe(rhs);
      }),
      RUNS,
    );
  });
});
