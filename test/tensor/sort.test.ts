/**
 * sort, argsort and topk on the CPU against an independent reference (sort-refs.ts: a stable
 * decorate-sort-undecorate with an explicit NaN-last comparator): random shapes, axes and dtypes
 * with ties, NaN, ±0 and ±Infinity; stability with many ties; long rows; gradients against float64
 * central differences and against w scattered back by the reference permutation; vmap and jit
 * against eager mode; errors. The CPU kernel's paths (cpu/sort.ts) each against the reference: rows
 * around the crossovers (one insertion-sorted run, merge sort, radix sort), radix sorts whose keys
 * share high bytes (digit passes skipped) or differ only in a float64's low word, 8- and 11-bit
 * digits, all-NaN rows (NaNs of any sign and payload), and the primitive's `k` (first positions
 * only) through the selection heap, the radix sort and the merge sort, with ties straddling the
 * k-th position, both directions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { MERGE64_MAX, MERGE_MAX, RADIX11_MIN, SELECT_RATIO } from '../../src/tensor/cpu/sort';
import { runs } from '../autodiff/helpers';
import { rng, sizeOfShape } from './helpers';
import { firstAlong, refArgsort, refArgsortRow, sameBits, type SortDType, takeAlong, tiedValues, typed } from './sort-refs';

const DTYPES: SortDType[] = ['float32', 'float64', 'int32', 'uint32'];
const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

const caseArb = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  // Small shapes, and rows long enough to merge past the kernel's insertion-sorted runs of 16.
  shape: fc.oneof(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 3 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 17, max: 90 }))),
  axisPick: fc.nat(),
  dtype: fc.constantFrom(...DTYPES),
  descending: fc.boolean(),
});

describe('sort and argsort against the reference', () => {
  it('random shapes, axes and dtypes with ties, NaN, ±0 and ±Infinity', () => {
    fc.assert(
      fc.property(caseArb, ({ seed, shape, axisPick, dtype, descending }) => {
        const axis = (axisPick % shape.length) - (axisPick % 2 === 0 ? shape.length : 0);
        const a = axis < 0 ? axis + shape.length : axis;
        const xs = Array.from(typed(tiedValues(seed, sizeOfShape(shape), dtype), dtype));
        const x = M.tensor(typed(xs, dtype), { shape });
        const label = `${dtype} ${JSON.stringify(shape)} axis ${axis} descending ${descending} seed ${seed}`;
        const perm = refArgsort(xs, shape, a, descending);
        const idx = M.argsort(x, { axis, descending });
        expect(idx.dtype, label).toBe('int32');
        expect(idx.shape, label).toEqual(shape);
        expect(values(idx), label).toEqual(perm);
        const sorted = M.sort(x, { axis, descending });
        expect(sorted.dtype, label).toBe(dtype);
        expect(sameBits(values(sorted), takeAlong(xs, shape, a, perm)), label).toBe(true);
      }),
      { numRuns: runs(200) },
    );
  });

  it('NaN sorts last ascending and first descending; -0 and +0 tie and keep their order', () => {
    const x = M.tensor([NaN, 0, -0, -Infinity, 1, NaN, Infinity, 0]);
    expect(values(M.argsort(x))).toEqual([3, 1, 2, 7, 4, 6, 0, 5]);
    expect(sameBits(values(M.sort(x)), [-Infinity, 0, -0, 0, 1, Infinity, NaN, NaN])).toBe(true);
    expect(values(M.argsort(x, { descending: true }))).toEqual([0, 5, 6, 4, 1, 2, 7, 3]);
    expect(sameBits(values(M.sort(x, { descending: true })), [NaN, NaN, Infinity, 1, 0, -0, 0, -Infinity])).toBe(true);
  });

  it('is stable with many ties, ascending and descending, on long rows (merges past the insertion runs)', () => {
    for (const [n, distinct] of [[1000, 3], [4099, 17], [70, 1]] as const) {
      const next = rng(n);
      const xs = Array.from({ length: n }, () => (next() < 0.05 ? NaN : Math.floor(next() * distinct)));
      for (const descending of [false, true]) {
        const got = values(M.argsort(M.tensor(Float32Array.from(xs)), { descending }));
        expect(got, `n ${n} descending ${descending}`).toEqual(refArgsortRow(xs, descending));
        // Stability stated directly: within a run of equal values, the indices increase.
        for (let j = 1; j < n; j++) {
          const [p, q] = [xs[got[j - 1]], xs[got[j]]];
          if (Object.is(p, q)) expect(got[j], `n ${n} position ${j}`).toBeGreaterThan(got[j - 1]);
        }
      }
    }
  });

  it('sorts long rows of distinct random values (int32 and float64)', () => {
    const next = rng(11);
    const xs = Array.from({ length: 5000 }, () => next() * 2 - 1);
    expect(values(M.argsort(M.tensor(Float64Array.from(xs))))).toEqual(refArgsortRow(xs, false));
    const ints = xs.map((v) => Math.floor(v * 1e6));
    expect(values(M.sort(M.tensor(Int32Array.from(ints)), { descending: true }))).toEqual([...ints].sort((a, b) => b - a));
  });

  it('empty axes and length-1 axes', () => {
    expect(M.sort(M.zeros([2, 0])).shape).toEqual([2, 0]);
    expect(M.argsort(M.zeros([0, 3]), { axis: 0 }).shape).toEqual([0, 3]);
    expect(values(M.argsort(M.tensor([[5], [4]])))).toEqual([0, 0]);
    const [v, i] = M.topk(M.zeros([3, 4]), 0);
    expect([v.shape, i.shape]).toEqual([[3, 0], [3, 0]]);
  });
});

describe('topk against the reference', () => {
  it('the k largest, largest first, lower index first among equals, NaN largest', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ seed, shape, axisPick, dtype }, kPick) => {
        const axis = axisPick % shape.length;
        const n = shape[axis];
        const k = kPick % (n + 1);
        const xs = Array.from(typed(tiedValues(seed, sizeOfShape(shape), dtype), dtype));
        const x = M.tensor(typed(xs, dtype), { shape });
        const label = `${dtype} ${JSON.stringify(shape)} axis ${axis} k ${k} seed ${seed}`;
        const perm = refArgsort(xs, shape, axis, true);
        const [v, i] = M.topk(x, k, { axis });
        const expectedIdx = firstAlong(perm, shape, axis, k);
        expect(i.shape, label).toEqual(shape.map((d, j) => (j === axis ? k : d)));
        expect(values(i), label).toEqual(expectedIdx);
        expect(sameBits(values(v), firstAlong(takeAlong(xs, shape, axis, perm), shape, axis, k)), label).toBe(true);
      }),
      { numRuns: runs(150) },
    );
  });

  it('matches torch.topk on a worked example', () => {
    const [v, i] = M.topk(M.tensor([[1, 5, 3, 5, NaN], [0, -1, 2, 2, 2]]), 3);
    expect(sameBits(values(v), [NaN, 5, 5, 2, 2, 2])).toBe(true);
    expect(values(i)).toEqual([4, 1, 3, 2, 3, 4]);
  });
});

/** The primitive's first `k` sorted positions of each row of a [rows, n] array, from the reference. */
function refFirstK(xs: readonly number[], rows: number, n: number, descending: boolean, k: number): number[] {
  return Array.from({ length: rows }, (_, r) => refArgsortRow(xs.slice(r * n, (r + 1) * n), descending).slice(0, k)).flat();
}

/** The primitive `argsort` with `k` of x ([rows, n] of dtype) as numbers. */
function argsortK(xs: readonly number[] | ArrayLike<number>, rows: number, n: number, dtype: SortDType, descending: boolean, k: number): number[] {
  const x = M.tensor(typed(Array.from(xs), dtype), { shape: [rows, n] });
  const out = M.bind('argsort', [x], { descending, k });
  expect(out.shape).toEqual([rows, k]);
  return values(out);
}

/** A float32 row from raw bit patterns (NaNs of any sign and payload). */
function fromBits(bits: readonly number[]): number[] {
  return Array.from(new Float32Array(Uint32Array.from(bits).buffer));
}

describe('the CPU kernel paths against the reference', () => {
  const kernelCase = fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    rows: fc.integer({ min: 1, max: 3 }),
    // Merge-sorted rows (32-bit values, float64), radix-sorted ones (byte digits), and rows long enough to select from.
    n: fc.oneof(fc.integer({ min: 1, max: MERGE_MAX + 3 }), fc.integer({ min: MERGE_MAX, max: MERGE64_MAX + 3 }), fc.integer({ min: MERGE64_MAX, max: 700 })),
    kPick: fc.nat(),
    small: fc.boolean(),
    dtype: fc.constantFrom(...DTYPES),
    descending: fc.boolean(),
  });

  it('the primitive with k: the first k positions of the stable sort, by selection, radix or merge sort', () => {
    fc.assert(
      fc.property(kernelCase, ({ seed, rows, n, kPick, small, dtype, descending }) => {
        // Half the cases take a k the selection heap serves (k * SELECT_RATIO <= n), half any k.
        const k = small ? kPick % (Math.floor(n / SELECT_RATIO) + 1) : kPick % (n + 1);
        const xs = Array.from(typed(tiedValues(seed, rows * n, dtype), dtype));
        const label = `${dtype} [${rows}, ${n}] k ${k} descending ${descending} seed ${seed}`;
        expect(argsortK(xs, rows, n, dtype, descending, k), label).toEqual(refFirstK(xs, rows, n, descending, k));
      }),
      { numRuns: runs(300) },
    );
  });

  it('rows around the crossovers (one insertion-sorted run of 16, merge and radix sorts), every dtype and direction, with ties and special values', () => {
    const lengths = [16, MERGE_MAX, MERGE64_MAX].flatMap((m) => [m - 1, m, m + 1, m + 2]);
    for (const n of lengths) {
      for (const dtype of DTYPES) {
        const xs = Array.from(typed(tiedValues(n * 7, 4 * n, dtype), dtype));
        for (const descending of [false, true]) {
          const label = `${dtype} n ${n} descending ${descending}`;
          expect(values(M.argsort(M.tensor(typed(xs, dtype), { shape: [4, n] }), { descending })), label).toEqual(refFirstK(xs, 4, n, descending, n));
          // Reversed rows: the insertion-sorted runs' worst case and a radix sort of a falling row.
          const reversed = Array.from({ length: 4 * n }, (_, i) => xs[4 * n - 1 - i]);
          expect(argsortK(reversed, 4, n, dtype, descending, n), `reversed ${label}`).toEqual(refFirstK(reversed, 4, n, descending, n));
        }
      }
    }
  });

  it('radix sorts whose keys share their high bytes (constant digits skipped) or their low bytes', () => {
    const next = rng(31);
    for (const n of [MERGE_MAX + 1, MERGE64_MAX + 1, 1000, RADIX11_MIN - 1, RADIX11_MIN, RADIX11_MIN + 1000]) {
      const cases: [SortDType, number[]][] = [
        // Float32 in [1000, 1001): sign, exponent and the top mantissa bits shared.
        ['float32', Array.from({ length: n }, () => 1000 + Math.floor(next() * 64) / 64)],
        // Integers differing only in the lowest byte, or only in the highest (low 24 bits equal).
        ['int32', Array.from({ length: n }, () => -5000 + Math.floor(next() * 256))],
        ['uint32', Array.from({ length: n }, () => Math.floor(next() * 256) * 2 ** 24 + 0x123456)],
        ['int32', Array.from({ length: n }, () => (Math.floor(next() * 256) - 128) * 2 ** 24 + 77)],
        // Every key equal: no digit pass at all.
        ['uint32', new Array<number>(n).fill(0xdeadbeef)],
        ['float32', new Array<number>(n).fill(-0)],
      ];
      for (const [dtype, xs] of cases) {
        for (const descending of [false, true]) {
          const label = `${dtype} n ${n} descending ${descending} first ${xs[0]}`;
          expect(argsortK(xs, 1, n, dtype, descending, n), label).toEqual(refArgsortRow(xs, descending));
          // The same with k: the radix sort's indices copied out, not written straight.
          const k = Math.floor(n / 3);
          expect(argsortK(xs, 1, n, dtype, descending, k), `k ${k} ${label}`).toEqual(refArgsortRow(xs, descending).slice(0, k));
        }
      }
    }
  });

  it('float64 keys differing only in the low word, or in both words, and ±0, NaN, subnormals', () => {
    const next = rng(41);
    for (const n of [20, MERGE64_MAX, MERGE64_MAX + 1, 1000, RADIX11_MIN + 5]) {
      // Neighbouring doubles: the same high word, so only the low word's digits sort them.
      const low = Array.from({ length: n }, () => 1 + Math.floor(next() * 40) * 2 ** -52);
      const negLow = low.map((v) => -v);
      const mixed = Array.from({ length: n }, () => (next() < 0.3 ? low[Math.floor(next() * n)] : next() < 0.5 ? (next() - 0.5) * 1e10 : [NaN, -0, 0, 5e-324, -5e-324, Infinity, -Infinity][Math.floor(next() * 7)]));
      for (const xs of [low, negLow, mixed]) {
        for (const descending of [false, true]) {
          const label = `n ${n} descending ${descending} first ${xs[0]}`;
          expect(argsortK(xs, 1, n, 'float64', descending, n), label).toEqual(refArgsortRow(xs, descending));
          const k = Math.min(n, 3);
          expect(argsortK(xs, 1, n, 'float64', descending, k), `k ${k} ${label}`).toEqual(refArgsortRow(xs, descending).slice(0, k));
        }
      }
    }
  });

  it('all-NaN rows, NaNs of any sign and payload: all tie, so they keep their order both ways', () => {
    const nanBits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff, 0x7fffffff, 0xff800001];
    for (const n of [5, 40, MERGE64_MAX + 1, 300, RADIX11_MIN + 1]) {
      const f32 = fromBits(Array.from({ length: n }, (_, i) => nanBits[(i * 7) % nanBits.length]));
      // Float64 NaNs with payloads in either word and either sign.
      const words = new Uint32Array(2 * n);
      for (let i = 0; i < n; i++) [words[2 * i], words[2 * i + 1]] = [[1, 0x7ff00000], [0, 0xfff80000], [0xffffffff, 0x7fffffff], [5, 0xfff00000]][i % 4];
      const f64 = new Float64Array(words.buffer);
      const identity = Array.from({ length: n }, (_, i) => i);
      for (const descending of [false, true]) {
        expect(argsortK(f32, 1, n, 'float32', descending, n), `float32 n ${n}`).toEqual(identity);
        expect(values(M.bind('argsort', [M.tensor(f64)], { descending, k: n })), `float64 n ${n}`).toEqual(identity);
        expect(values(M.bind('argsort', [M.tensor(f64)], { descending, k: 2 })), `float64 n ${n} k 2`).toEqual([0, 1]);
      }
      // A number among them: first ascending, last descending (NaNs of every kind the largest).
      const one = [...f32];
      one[n - 1] = -1;
      for (const k of [1, n]) {
        expect(argsortK(one, 1, n, 'float32', false, k), `one number n ${n} k ${k}`).toEqual([n - 1, ...identity.slice(0, n - 1)].slice(0, k));
        expect(argsortK(one, 1, n, 'float32', true, k), `one number descending n ${n} k ${k}`).toEqual(identity.slice(0, k));
      }
    }
  });

  it('k = 0, 1, n - 1 and n, with ties straddling the k-th position, both directions, every path', () => {
    for (const n of [10, 40, MERGE_MAX + 1, 200, 5000]) {
      // Ten distinct values, each repeated: ties everywhere, straddling every k.
      const next = rng(n);
      for (const dtype of DTYPES) {
        const xs = Array.from(typed(Array.from({ length: 2 * n }, () => (dtype === 'uint32' ? 0 : -5) + Math.floor(next() * 10)), dtype));
        if (dtype === 'float32' || dtype === 'float64') [xs[3], xs[n + 5]] = [NaN, NaN];
        const ks = [0, 1, 2, Math.floor(n / SELECT_RATIO), Math.floor(n / SELECT_RATIO) + 1, n - 1, n];
        for (const k of ks) {
          for (const descending of [false, true]) {
            const label = `${dtype} n ${n} k ${k} descending ${descending}`;
            expect(argsortK(xs, 2, n, dtype, descending, k), label).toEqual(refFirstK(xs, 2, n, descending, k));
          }
        }
      }
    }
  });

  it('the selection heap on sorted, reversed and constant rows (its worst and best cases), ±0 ties and NaNs at the front', () => {
    const n = 1000;
    const next = rng(77);
    const rising = Array.from({ length: n }, (_, i) => i * 0.5 - 100);
    // ±0 the largest values (so first descending) or the smallest (first ascending), in any order.
    const zeros = (sign: number) => Array.from({ length: n }, () => (next() < 0.1 ? (next() < 0.5 ? -0 : 0) : sign * (1 + Math.floor(next() * 5))));
    // Mostly NaN: the few numbers, then NaNs in index order ascending; NaNs first descending.
    const nans = Array.from({ length: n }, () => (next() < 0.99 ? NaN : Math.floor(next() * 3)));
    const rows: number[][] = [rising, [...rising].reverse(), new Array<number>(n).fill(3), rising.map((v) => Math.floor(v / 50)), zeros(-1), zeros(1), nans];
    for (const xs of rows) {
      for (const k of [1, 7, Math.floor(n / SELECT_RATIO)]) {
        for (const descending of [false, true]) {
          for (const dtype of ['float32', 'float64'] as const) {
            expect(argsortK(xs, 1, n, dtype, descending, k), `${dtype} k ${k} descending ${descending} first ${xs[0]}`).toEqual(refArgsortRow(xs, descending).slice(0, k));
          }
        }
      }
    }
  });

  it('jit runs the prepared kernel with k (selection, radix and merge sort) as eager does', () => {
    const next = rng(17);
    const x = M.tensor(Float32Array.from({ length: 3 * 400 }, () => (next() < 0.05 ? NaN : Math.floor(next() * 30) - 15)), { shape: [3, 400] });
    const f = (v: Tensor) => [M.topk(v, 4)[1], M.topk(v, 300)[1], M.topk(M.slice(v, [0, 0], [3, 20]), 5)[1], M.bind('argsort', [v], { descending: false, k: 9 })];
    const jf = M.jit(f);
    const eager = f(x);
    const xs = values(x);
    expect(values(eager[0])).toEqual(refFirstK(xs, 3, 400, true, 4));
    expect(values(eager[3])).toEqual(refFirstK(xs, 3, 400, false, 9));
    for (let call = 0; call < 2; call++) (jf(x) as Tensor[]).forEach((t, j) => expect(values(t), `output ${j} call ${call}`).toEqual(values(eager[j])));
    const ir = M.makeIR(f)(x);
    expect(ir.equations.filter((eq) => eq.prim === 'argsort').map((eq) => (eq.params as { k: number }).k)).toEqual([4, 300, 5, 9]);
    // topk slices nothing: the one slice is f's own.
    expect(ir.equations.filter((eq) => eq.prim === 'slice').length).toBe(1);
  });
});

/** Distinct float64 values (gaps >= 0.05) in random order. */
function distinctValues(seed: number, n: number): number[] {
  const next = rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.map((o) => 0.1 * o + 0.05 * next() - 1);
}

describe('gradients', () => {
  it('grad of sum(sort(x) * w) is w scattered back by the reference permutation, and matches central differences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.boolean(),
        (seed, shape, axisPick, descending) => {
          const axis = axisPick % shape.length;
          const size = sizeOfShape(shape);
          const xs = distinctValues(seed, size);
          const ws = Array.from({ length: size }, (_, i) => Math.sin(seed + 3 * i));
          const w = M.tensor(Float64Array.from(ws), { shape });
          const f = (x: Tensor) => M.sum(M.mul(M.sort(x, { axis, descending }), w));
          const g = values(M.grad(f)(M.tensor(Float64Array.from(xs), { shape })));
          // Reference 1: output j took x[perm[j]], so x[perm[j]] gets w[j].
          const perm = refArgsort(xs, shape, axis, descending);
          const scattered = new Array<number>(size).fill(0);
          perm.forEach((src, flat) => {
            const at = flat - (Math.floor(flat / strideOf(shape, axis)) % shape[axis]) * strideOf(shape, axis) + src * strideOf(shape, axis);
            scattered[at] += ws[flat];
          });
          const label = `${JSON.stringify(shape)} axis ${axis} descending ${descending} seed ${seed}`;
          expect(g, label).toEqual(scattered);
          // Reference 2: central differences in float64 (the values' gaps are far wider than h).
          const h = 1e-6;
          const fAt = (v: number[]) => Number(f(M.tensor(Float64Array.from(v), { shape })).dataSync()[0]);
          for (let i = 0; i < size; i++) {
            const [up, down] = [[...xs], [...xs]];
            up[i] += h;
            down[i] -= h;
            expect(Math.abs((fAt(up) - fAt(down)) / (2 * h) - g[i]), `${label} element ${i}`).toBeLessThan(1e-7);
          }
        },
      ),
      { numRuns: runs(40) },
    );
  });

  it('jvp of sort is the tangent permuted; topk values carry gradients, its indices none', () => {
    const x = M.tensor([0.3, -1, 2, 0.5]);
    const [, t] = M.jvp((v: Tensor) => M.sort(v), [x], [M.tensor([1, 2, 3, 4])]);
    expect(values(t as Tensor)).toEqual([2, 1, 4, 3]);
    const g = M.grad((v: Tensor) => M.sum(M.mul(M.topk(v, 2)[0], M.tensor([10, 1]))))(x);
    expect(values(g)).toEqual([0, 0, 10, 1]);
    const gi = M.grad((v: Tensor) => M.sum(M.mul(v, M.cast(M.argsort(v), 'float32'))))(x);
    expect(values(gi)).toEqual(values(M.cast(M.argsort(x), 'float32')));
  });
});

/** Row-major stride of `axis` in `shape`. */
function strideOf(shape: readonly number[], axis: number): number {
  return shape.slice(axis + 1).reduce((p, d) => p * d, 1);
}

describe('transformations', () => {
  it('vmap(sort), vmap(argsort) and vmap(topk) equal the rows sorted one by one, at any batch axis', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), ({ seed, shape, axisPick, dtype, descending }, inAxisPick) => {
        const batch = shape[0];
        const row = shape.slice(1).length > 0 ? shape.slice(1) : [3];
        const rows = Array.from({ length: batch }, (_, b) => M.tensor(typed(tiedValues(seed + b, sizeOfShape(row), dtype), dtype), { shape: row }));
        if (batch === 0) return;
        const inAxis = inAxisPick % (row.length + 1);
        const stacked = M.stack(rows, inAxis);
        const axis = axisPick % row.length;
        const label = `${dtype} rows ${JSON.stringify(row)} batch ${batch} at ${inAxis} axis ${axis} descending ${descending}`;
        const f = (x: Tensor) => [M.sort(x, { axis, descending }), M.argsort(x, { axis, descending }), ...M.topk(x, Math.min(2, row[axis]), { axis })];
        const got = M.vmap(f, { inAxes: inAxis })(stacked) as Tensor[];
        const each = rows.map(f);
        got.forEach((t, j) => {
          expect(sameBits(values(t), values(M.stack(each.map((e) => e[j]), 0))), `${label} output ${j}`).toBe(true);
        });
      }),
      { numRuns: runs(60) },
    );
  });

  it('jit(sort), jit(topk) and jit(grad) equal eager mode', () => {
    const next = rng(5);
    const x = M.tensor(Float32Array.from({ length: 4 * 37 }, () => (next() < 0.1 ? NaN : Math.round(next() * 40) / 8)), { shape: [4, 37] });
    const w = M.tensor(Float32Array.from({ length: 4 * 37 }, () => next()), { shape: [4, 37] });
    const f = (v: Tensor) => [M.sort(v, { axis: 0 }), M.argsort(v, { descending: true }), ...M.topk(M.exp(v), 5)];
    const jf = M.jit(f);
    for (let call = 0; call < 2; call++) {
      const [a, b] = [jf(x) as Tensor[], f(x)];
      a.forEach((t, j) => expect(sameBits(values(t), values(b[j])), `output ${j} call ${call}`).toBe(true));
    }
    const loss = (v: Tensor) => M.sum(M.mul(M.sort(M.mul(v, 2), { descending: true }), w));
    const ok = M.tensor(Float32Array.from({ length: 4 * 37 }, (_, i) => Math.sin(i)), { shape: [4, 37] });
    expect(values(M.jit(M.grad(loss))(ok))).toEqual(values(M.grad(loss)(ok)));
    const ir = M.makeIR(f)(x);
    expect(ir.equations.filter((eq) => eq.prim === 'argsort').length).toBe(3);
  });

  it('in a CPU plan the argsort writes into a planned buffer: a call allocates only its outputs', () => {
    const next = rng(8);
    const x = M.tensor(Float32Array.from({ length: 6 * 50 }, () => Math.round(next() * 30)), { shape: [6, 50] });
    // The indices feed later steps, so they are an internal (pooled) buffer.
    const f = (v: Tensor) => M.sum(M.mul(M.sort(v), M.cast(M.argsort(v, { axis: 0, descending: true }), 'float32')));
    const jf = M.jit(f);
    for (let call = 0; call < 3; call++) expect(values(jf(M.add(x, call)))).toEqual(values(f(M.add(x, call))));
    const plan = M.jitStats(jf).lastPlan;
    expect(plan?.internalAllocations).toEqual({});
    expect(plan?.allocationsPerCall).toBe(1);
  });
});

describe('errors name the op and the shapes', () => {
  it('bool, scalars, axes out of range, bad k, a non-boolean descending', () => {
    const b = M.tensor(Uint8Array.of(1, 0), { dtype: 'bool' });
    expect(() => M.sort(b)).toThrow(M.DTypeError);
    expect(() => M.sort(b)).toThrow(/sort: cannot sort a bool tensor of shape \[2\]/);
    expect(() => M.bind('argsort', [b], { descending: false, k: 2 })).toThrow(/argsort: cannot sort a bool tensor, got bool\[2\]/);
    expect(() => M.bind('argsort', [M.zeros([2, 3])], { descending: false, k: 4 })).toThrow(/argsort: k must be an integer in \[0, 3\] \(the last axis of f32\[2,3\]\), got 4/);
    expect(() => M.bind('argsort', [M.zeros([2, 3])], { descending: true, k: -1 })).toThrow(M.ArgumentError);
    expect(() => M.bind('argsort', [M.zeros([2, 3])], { descending: true, k: 1.5 })).toThrow(/got 1.5/);
    expect(() => M.argsort(M.tensor(3))).toThrow(M.ShapeError);
    expect(() => M.argsort(M.tensor(3))).toThrow(/argsort: cannot sort a scalar/);
    expect(() => M.sort(M.zeros([2, 3]), { axis: 2 })).toThrow(/sort: axis 2 is out of range for shape \[2,3\]/);
    expect(() => M.sort(M.zeros([2, 3]), { axis: -3 })).toThrow(M.ArgumentError);
    expect(() => M.sort(M.zeros([2, 3]), { axis: 0.5 })).toThrow(/axis 0.5/);
    expect(() => M.topk(M.zeros([2, 3]), 4)).toThrow(/topk: k must be an integer in \[0, 3\] for axis -1 of shape \[2,3\], got 4/);
    expect(() => M.topk(M.zeros([2, 3]), 4)).toThrow(M.ShapeError);
    expect(() => M.topk(M.zeros([2, 3]), -1)).toThrow(M.ArgumentError);
    expect(() => M.topk(M.zeros([2, 3]), 1, { axis: 5 })).toThrow(/topk: axis 5 is out of range for shape \[2,3\]/);
    expect(() => M.topk(M.tensor(Uint8Array.of(1), { dtype: 'bool' }), 1)).toThrow(/topk: cannot sort a bool tensor/);
    expect(() => M.topk(M.zeros([2, 3]), 1.5)).toThrow(/got 1.5/);
    expect(() => M.topk(M.zeros([5, 3]), 4, { axis: 0 })).not.toThrow();
    expect(() => M.sort(M.zeros([2]), { descending: 'yes' as never })).toThrow(/sort: descending must be a boolean/);
  });
});
