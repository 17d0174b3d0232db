/**
 * sort, argsort and topk on WebGPU against the independent reference of sort-refs.ts (float32,
 * int32, uint32; the backend has no float64): rows within one workgroup's sort (up to 2048 pairs)
 * and longer rows through the multi-pass global bitonic sort (2049, 4097, 5000 elements and random
 * lengths up to 9000: P = 4096 to 16384), every length up to 70 and around the powers of two, ties,
 * NaN, ±0 and ±Infinity; gradients; jit against eager mode, with and without merged dispatches.
 * The primitive's `k` (only the first k positions of each sorted row stored): k = 0, 1, n - 1, n
 * and random, ties straddling the k-th position, both directions, one-workgroup and multi-pass
 * rows; all-NaN rows. Indices and values must be identical (a sort moves words, it computes nothing).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { runs } from '../autodiff/helpers';
import { checkProgram } from '../jit/webgpu-plans';
import { describeWebGPU, randomInput, webgpu } from '../webgpu/gpu';
import { rng, sizeOfShape } from './helpers';
import { firstAlong, refArgsort, refArgsortRow, sameBits, type SortDType, takeAlong, tiedValues, typed } from './sort-refs';

type GpuDType = Exclude<SortDType, 'float64'>;
const onGpu = (xs: readonly number[], shape: readonly number[], dtype: GpuDType) => M.tensor(typed(xs, dtype), { shape: [...shape], backend: webgpu() });
const read = async (t: Tensor): Promise<number[]> => Array.from(await t.data(), Number);

describeWebGPU('sort on WebGPU', () => {
  it('random shapes, axes and dtypes with ties and special values (rows within one workgroup)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.oneof(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }), fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 7, max: 300 }))),
        fc.nat(),
        fc.constantFrom<GpuDType>('float32', 'int32', 'uint32'),
        fc.boolean(),
        async (seed, shape, axisPick, dtype, descending) => {
          const axis = axisPick % shape.length;
          const xs = Array.from(typed(tiedValues(seed, sizeOfShape(shape), dtype), dtype));
          const x = onGpu(xs, shape, dtype);
          const label = `${dtype} ${JSON.stringify(shape)} axis ${axis} descending ${descending} seed ${seed}`;
          const perm = refArgsort(xs, shape, axis, descending);
          expect(await read(M.argsort(x, { axis, descending })), label).toEqual(perm);
          expect(sameBits(await read(M.sort(x, { axis, descending })), takeAlong(xs, shape, axis, perm)), label).toBe(true);
          const k = Math.min(3, shape[axis]);
          const [v, i] = M.topk(x, k, { axis });
          const down = refArgsort(xs, shape, axis, true);
          expect(await read(i), `topk ${label}`).toEqual(firstAlong(down, shape, axis, k));
          expect(sameBits(await read(v), firstAlong(takeAlong(xs, shape, axis, down), shape, axis, k)), `topk ${label}`).toBe(true);
        },
      ),
      { numRuns: runs(40) },
    );
  });

  it('every row length up to 70 and around the powers of two (padding with sentinels)', async () => {
    const lengths = [...Array.from({ length: 70 }, (_, i) => i + 1), 127, 128, 129, 255, 256, 257, 1023, 2047, 2048];
    for (const n of lengths) {
      const xs = tiedValues(n, 2 * n, 'float32').map(Math.fround);
      for (const descending of [false, true]) {
        const got = await read(M.argsort(onGpu(xs, [2, n], 'float32'), { descending }));
        expect(got, `n ${n} descending ${descending}`).toEqual(refArgsort(xs, [2, n], 1, descending));
      }
    }
  });

  it('rows longer than a workgroup sorts (2049, 4097, 5000): the multi-pass global bitonic sort', async () => {
    const cases: [GpuDType, number[]][] = [
      ['float32', [1, 2049]],
      ['float32', [3, 5000]],
      ['int32', [2, 4097]],
      ['uint32', [1, 5000]],
    ];
    for (const [dtype, shape] of cases) {
      const xs = Array.from(typed(tiedValues(shape[1], sizeOfShape(shape), dtype), dtype));
      const x = onGpu(xs, shape, dtype);
      for (const descending of [false, true]) {
        const label = `${dtype} ${JSON.stringify(shape)} descending ${descending}`;
        const perm = refArgsort(xs, shape, 1, descending);
        expect(await read(M.argsort(x, { descending })), label).toEqual(perm);
        expect(sameBits(await read(M.sort(x, { descending })), takeAlong(xs, shape, 1, perm)), label).toBe(true);
      }
    }
    // Along a leading axis (moved last by a transpose) and distinct values, as the CPU sorts them.
    const next = rng(9);
    const xs = Array.from({ length: 4500 * 2 }, () => Math.fround(next() * 2 - 1));
    const x = onGpu(xs, [4500, 2], 'float32');
    const cpuX = M.tensor(Float32Array.from(xs), { shape: [4500, 2] });
    expect(await read(M.argsort(x, { axis: 0 }))).toEqual(Array.from(M.argsort(cpuX, { axis: 0 }).dataSync()));
    const [v, i] = M.topk(x, 7, { axis: 0 });
    const [cv, ci] = M.topk(cpuX, 7, { axis: 0 });
    expect(await read(i)).toEqual(Array.from(ci.dataSync()));
    expect(await read(v)).toEqual(Array.from(cv.dataSync()));
  });

  it('random long rows (2049 to 9000: P = 4096, 8192, 16384) of random dtypes, directions and ties', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 2049, max: 9000 }),
        fc.constantFrom<GpuDType>('float32', 'int32', 'uint32'),
        fc.boolean(),
        async (seed, rows, n, dtype, descending) => {
          const xs = Array.from(typed(tiedValues(seed, rows * n, dtype), dtype));
          const label = `${dtype} [${rows}, ${n}] descending ${descending} seed ${seed}`;
          expect(await read(M.argsort(onGpu(xs, [rows, n], dtype), { descending })), label).toEqual(refArgsort(xs, [rows, n], 1, descending));
        },
      ),
      { numRuns: runs(6) },
    );
  });

  it('the primitive with k stores the first k positions of each sorted row (one workgroup and multi-pass)', async () => {
    for (const [rows, n] of [[3, 10], [2, 100], [1, 2048], [2, 2049], [1, 5000]]) {
      const next = rng(n);
      for (const dtype of ['float32', 'int32', 'uint32'] as const) {
        // Ten distinct values, each repeated: ties straddle every k.
        const xs = Array.from(typed(Array.from({ length: rows * n }, () => (dtype === 'uint32' ? 0 : -5) + Math.floor(next() * 10)), dtype));
        if (dtype === 'float32') [xs[1], xs[xs.length - 2]] = [NaN, NaN];
        const x = onGpu(xs, [rows, n], dtype);
        for (const k of [0, 1, 2, Math.floor(n / 3), n - 1, n]) {
          for (const descending of [false, true]) {
            const label = `${dtype} [${rows}, ${n}] k ${k} descending ${descending}`;
            const got = M.bind('argsort', [x], { descending, k });
            expect(got.shape, label).toEqual([rows, k]);
            expect(await read(got), label).toEqual(firstAlong(refArgsort(xs, [rows, n], 1, descending), [rows, n], 1, k));
          }
        }
      }
    }
  });

  it('random k of random rows (within a workgroup and past it) against the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 3 }),
        fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 2049, max: 4500 })),
        fc.nat(),
        fc.constantFrom<GpuDType>('float32', 'int32', 'uint32'),
        fc.boolean(),
        async (seed, rows, n, kPick, dtype, descending) => {
          const k = kPick % (n + 1);
          const xs = Array.from(typed(tiedValues(seed, rows * n, dtype), dtype));
          const label = `${dtype} [${rows}, ${n}] k ${k} descending ${descending} seed ${seed}`;
          const got = await read(M.bind('argsort', [onGpu(xs, [rows, n], dtype)], { descending, k }));
          expect(got, label).toEqual(firstAlong(refArgsort(xs, [rows, n], 1, descending), [rows, n], 1, k));
        },
      ),
      { numRuns: runs(12) },
    );
  });

  it('all-NaN rows, NaNs of any sign and payload, tie and keep their order; a number among them goes first ascending', async () => {
    const nanBits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff, 0x7fffffff, 0xff800001];
    for (const n of [5, 300, 3000]) {
      const xs = Array.from(new Float32Array(Uint32Array.from({ length: n }, (_, i) => nanBits[(i * 7) % nanBits.length]).buffer));
      const identity = Array.from({ length: n }, (_, i) => i);
      for (const descending of [false, true]) {
        expect(await read(M.argsort(onGpu(xs, [n], 'float32'), { descending })), `n ${n} descending ${descending}`).toEqual(identity);
      }
      const x = M.tensor(Float32Array.from(xs).fill(-1, n - 1), { backend: webgpu() });
      expect(await read(M.bind('argsort', [x], { descending: false, k: 2 })), `n ${n}`).toEqual([n - 1, 0]);
      expect(await read(M.topk(x, 2)[1]), `n ${n}`).toEqual([0, 1]);
    }
  });

  it('stability with many ties across the global passes', async () => {
    const next = rng(3);
    const xs = Array.from({ length: 6000 }, () => (next() < 0.03 ? NaN : Math.floor(next() * 5) - 2 || (next() < 0.5 ? -0 : 0)));
    for (const descending of [false, true]) {
      const got = await read(M.argsort(onGpu(xs, [6000], 'float32'), { descending }));
      expect(got, `descending ${descending}`).toEqual(refArgsortRow(xs, descending));
    }
  });

  it('grad of sum(sort(x) * w) is w scattered back by the permutation; jit equals eager', async () => {
    const next = rng(21);
    const n = 3000;
    const xs = Array.from({ length: 2 * n }, () => Math.fround(next() * 4 - 2));
    const ws = Array.from({ length: 2 * n }, () => Math.fround(next()));
    const x = onGpu(xs, [2, n], 'float32');
    const w = onGpu(ws, [2, n], 'float32');
    const loss = (v: Tensor) => M.sum(M.mul(M.sort(v, { descending: true }), w));
    const g = await read(M.grad(loss)(x));
    const perm = refArgsort(xs, [2, n], 1, true);
    const expected = new Array<number>(2 * n).fill(0);
    perm.forEach((src, flat) => (expected[Math.floor(flat / n) * n + src] = ws[flat]));
    expect(g).toEqual(expected);
    expect(await read(M.jit(M.grad(loss))(x))).toEqual(expected);
    const f = (v: Tensor) => [M.sort(v), M.argsort(M.neg(v), { axis: 0 }), ...M.topk(v, 4)];
    const [a, b] = [M.jit(f)(x) as Tensor[], f(x)];
    for (let j = 0; j < a.length; j++) expect(await read(a[j]), `output ${j}`).toEqual(await read(b[j]));
  });

  it('jit plans with merged dispatches: one-workgroup sorts merge with each other, multi-pass ones run alone; both agree', async () => {
    // Level 0 (doubling, exact in float32 and float64) reads the caller's buffers; level 1 sorts the
    // plan's own values, so its one-pass argsorts may share a dispatch (here x's along its first
    // axis with x's top 3 of each row, a one-pass sort storing 3 of 64 positions per row).
    const inputs = [randomInput(1, 30, 50), randomInput(2, 40), randomInput(3, 2, 3000)];
    const f = (a: Tensor, b: Tensor, c: Tensor) => {
      const [x, y, z] = [a, b, c].map((t) => M.mul(t, 2));
      return [
        M.mul(M.sort(x, { axis: 0 }), 3),
        M.mul(M.cast(M.argsort(y, { descending: true }), 'float32'), 1),
        M.mul(M.topk(z, 5)[0], 3),
        M.mul(M.topk(x, 3)[0], 3),
      ];
    };
    const { on } = await checkProgram(f, inputs, 1, 'sorts beside each other', { merge: true }, { merge: false });
    expect(on.mergedKernels).toBeGreaterThanOrEqual(2);
  });
});
