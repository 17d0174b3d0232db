/**
 * Indexed reads (gather), their transpose (scatterAdd), argmax/argmin and flip in a jit plan: they
 * write into planned buffers, equal eager mode bit for bit on every call, and keep the eager
 * kernels' out-of-range index errors.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { gather, prepareGather, prepareScatterAdd, scatterAdd } from '../../src/tensor/cpu/gather';
import { flip, prepareFlip } from '../../src/tensor/cpu/movement';
import { argReduce, prepareArgReduce } from '../../src/tensor/cpu/reduce';
import { expectTreesIdentical } from './helpers';

// Every primitive under test feeds a later step, so its output is an internal (pooled) buffer.
const f = (x: Tensor, idx: Tensor) => {
  const picked = M.take(x, idx, 1);
  const along = M.takeAlongAxis(x, M.reshape(idx, [1, 4]), 1);
  const flipped = M.flip(M.mul(x, 2), [0, 1]);
  const hi = M.cast(M.argmax(M.add(x, 1), 1), 'float32');
  const lo = M.cast(M.argmin(M.sub(x, 1), 0), 'float32');
  return M.add(M.sum(M.mul(picked, along)), M.add(M.sum(M.mul(flipped, flipped)), M.add(M.sum(hi), M.sum(lo))));
};
// The gradient with respect to x scatter-adds into x's shape (repeated indices accumulate).
const g = M.valueAndGrad((x: Tensor, idx: Tensor) => M.sum(M.square(M.take(M.mul(x, 3), idx, 1))));

describe('jit: gather, scatterAdd, argmax/argmin, flip', () => {
  const key = M.random.key(11);
  const xs = [0, 1, 2].map((i) => M.random.normal(M.random.foldIn(key, i), [3, 5]));
  const idxs = [
    M.tensor([4, 0, 4, 2], { dtype: 'int32' }),
    M.tensor([1, 1, 3, 0], { dtype: 'int32' }),
    M.tensor([-1, 2, 2, 2], { dtype: 'int32' }),
  ];

  it('equal eager mode bit for bit on repeated calls and allocate only their outputs', () => {
    for (const fn of [f, g] as ((x: Tensor, idx: Tensor) => unknown)[]) {
      const jitted = M.jit(fn);
      const kept: unknown[] = [];
      xs.forEach((x, i) => {
        const out = jitted(x, idxs[i]);
        expectTreesIdentical(out, fn(x, idxs[i]), `call ${i}`);
        kept.push(out);
      });
      // Earlier results are not overwritten by later calls (returned arrays are fresh).
      kept.forEach((out, i) => expectTreesIdentical(out, fn(xs[i], idxs[i]), `kept ${i}`));
      const plan = M.jitStats(jitted).lastPlan;
      expect(plan?.internalAllocations).toEqual({});
      expect(plan?.allocationsPerCall).toBe(M.treeFlatten(kept[0])[0].length);
      expect(M.jitStats(jitted).traceCount).toBe(1);
    }
  });

  it("report out-of-range indices as eager mode does: the user's op, index, axis and shape", () => {
    // Eager `take` checks concrete indices itself; under jit they are only known when the plan runs,
    // where the kernel's check reports them through the gather's site (not as the internal gather of
    // a reshaped x, with a negative index already shifted by the axis size).
    const jf = M.jit(f);
    const jg = M.jit(g);
    jf(xs[0], idxs[0]);
    for (const [index, bad] of [[5, [0, 5, 1, 1]], [-6, [0, 1, -6, 1]], [-14, [-14, 1, 0, 1]]] as const) {
      const idx = M.tensor([...bad], { dtype: 'int32' });
      const message = `take: index ${index} is out of range [-5, 5) for axis 1 of shape [3,5]`;
      expect(() => f(xs[0], idx)).toThrow(message);
      expect(() => jf(xs[0], idx)).toThrow(M.ArgumentError);
      expect(() => jf(xs[0], idx)).toThrow(message);
      expect(() => jg(xs[0], idx)).toThrow(message);
      // Under vmap the indices are traced too: the error names the op and the per-example shape.
      const mapped = M.vmap((x: Tensor, i: Tensor) => M.take(x, i, 1));
      expect(() => mapped(M.stack([xs[0], xs[1]]), M.stack([idxs[0], idx]))).toThrow(message);
    }
    // uint32 indices never count from the end: 2^32 - 1 was -1 (the last entry) under jit and vmap.
    const huge = M.tensor(Uint32Array.of(1, 0xffffffff, 0, 0));
    expect(() => f(xs[0], huge)).toThrow('take: uint32 index 4294967295 is out of range [0, 5) for axis 1 of shape [3,5]');
    expect(() => jf(xs[0], huge)).toThrow('take: uint32 index 2147483647 or more is out of range [0, 5) for axis 1 of shape [3,5]');
    expect(() => M.vmap((x: Tensor, i: Tensor) => M.take(x, i, 1))(M.stack([xs[0], xs[1]]), M.stack([huge, huge]))).toThrow(
      'take: uint32 index 2147483647 or more is out of range [0, 5) for axis 1 of shape [3,5]',
    );
    expect(() => jf(xs[0], M.tensor(Uint32Array.of(1, 5, 0, 0)))).toThrow('take: uint32 index 5 is out of range [0, 5) for axis 1 of shape [3,5]');
    expectTreesIdentical(jf(xs[1], M.tensor(Uint32Array.of(4, 0, 4, 2))), f(xs[1], idxs[0]));
    const along = M.jit((x: Tensor, i: Tensor) => M.takeAlongAxis(M.exp(x), i, 0));
    const alongMessage = 'takeAlongAxis: index -4 is out of range [-3, 3) for axis 0 of shape [3,5]';
    expect(() => along(xs[0], M.tensor([[0, 1, 2, -4, 0]], { dtype: 'int32' }))).toThrow(alongMessage);
    // A failed call leaves the plan usable.
    expectTreesIdentical(jf(xs[1], idxs[1]), f(xs[1], idxs[1]));
    expectTreesIdentical(jg(xs[1], idxs[1]), g(xs[1], idxs[1]));
  });

  it('prepared kernels equal the eager ones and report the same errors', () => {
    const x = { values: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const idx = { values: new Int32Array([2, 0, 2, 1]), shape: [1, 4] };
    const out = new Float32Array(8);
    prepareGather(x.shape, idx.shape, 1, [2, 4])(x.values, idx.values, out);
    expect(Array.from(out)).toEqual(Array.from(gather(x, idx, 1, [2, 4], 'float32')));
    const updates = { values: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]), shape: [2, 4] };
    const scatter = prepareScatterAdd(updates.shape, idx.shape, 1, [2, 3]);
    const summed = new Float32Array(6);
    scatter(updates.values, idx.values, summed);
    scatter(updates.values, idx.values, summed); // the float64 scratch is zeroed per call
    expect(Array.from(summed)).toEqual(Array.from(scatterAdd(updates, idx, 1, [2, 3], 'float32')));
    const badIdx = { values: new Int32Array([0, 3, 0, 0]), shape: [1, 4] };
    const eagerMessage = (() => {
      try {
        scatterAdd(updates, badIdx, 1, [2, 3], 'float32');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(eagerMessage).toBe('scatterAdd: index 3 is out of range [0, 3) for axis 1 of shape [2,3]');
    expect(() => scatter(updates.values, badIdx.values, summed)).toThrow(eagerMessage);
    expect(() => prepareGather(x.shape, badIdx.shape, 1, [2, 4])(x.values, badIdx.values, out)).toThrow(
      'gather: index 3 is out of range [0, 3) for axis 1 of shape [2,3]',
    );
    const nan = new Float64Array([1, NaN, 3, 0, 2, 1]);
    const arg = new Int32Array(2);
    prepareArgReduce('argmin', [2, 3], 1)(nan, arg);
    expect(Array.from(arg)).toEqual(Array.from(argReduce('argmin', nan, [2, 3], 1)));
    const flipped = new Float64Array(6);
    prepareFlip([2, 3], [1])(nan, flipped);
    expect(Array.from(flipped)).toEqual(Array.from(flip(nan, [2, 3], [1], 'float64')));
  });
});
