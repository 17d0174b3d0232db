/**
 * jit on WebGPU, merged dispatches: the kernels of independent steps (a product, reductions, fused
 * groups, random bits: any kinds) recorded as one dispatch (`tensor/webgpu/merge.ts`). Each program
 * is compiled with merging and without: the merged plan agrees with the other bit for bit (each
 * member runs its own code on its own workgroups), with eager WebGPU within rounding and with the
 * CPU in float64 within float32 accumulation error, and dispatches exactly one kernel fewer per
 * kernel merged beyond the first of each merged dispatch.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { sacUpdateProgram } from './helpers';
import { checkProgram, comparePlans } from './webgpu-plans';
import { rawKey } from '../../src/tensor/threefry';
import { describeWebGPU, floats, randomInput, webgpu } from '../webgpu/gpu';

type Program = (...xs: Tensor[]) => Tensor[];

/** `checkProgram` with merging and without; asserts the dispatch count's identity and returns the merge stats. */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string) {
  const { on, without } = await checkProgram(f, inputs, terms, what, {}, { merge: false });
  expect(without.dispatchesPerCall - on.dispatchesPerCall, what).toBe(on.mergedKernels - on.mergedDispatches);
  return on;
}

describeWebGPU('jit on WebGPU: merged dispatches', () => {
  it('a product, a reduction and fused groups, independent, are one dispatch, on random sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Products at least 17 wide run in square tiles (256 invocations per workgroup, as the others).
        fc.integer({ min: 17, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 17, max: 70 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (m, k, n, width, seed) => {
          const inputs = [randomInput(seed, m, k), randomInput(seed + 1, k, n), randomInput(seed + 2, 3, width), randomInput(seed + 3, width)];
          // Four kernels on one level: a product, a sum over rows, and two elementwise groups of other sizes.
          const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => [M.matmul(a, b), M.sum(c, 0), M.exp(M.mul(d, 0.5)), M.tanh(M.add(c, 1))];
          const what = `[${m}, ${k}] @ [${k}, ${n}], sum of [3, ${width}]`;
          const on = await check(f, inputs, Math.max(k, 3), what);
          expect(on.dispatchesPerCall, what).toBe(1);
          expect(on.mergedKernels, what).toBeGreaterThanOrEqual(3);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('a buffer a member reads last is not another member\'s output in the same dispatch', async () => {
    // Level 0: p = a @ b and relu(q). Level 1: the row sums of p (its last reader) and u = relu(q) @ e,
    // an intermediate of p's size. Had p's buffer been given back before u took one, the merged
    // dispatch would read and write it (a usage Dawn's validation rejects, and a race).
    const inputs = [1, 2, 3, 4].map((seed) => randomInput(seed, 64, 64));
    const f = (a: Tensor, b: Tensor, q: Tensor, e: Tensor) => {
      const rowSums = M.sum(M.matmul(a, b), 1);
      const u = M.matmul(M.relu(q), e);
      return [M.add(M.matmul(u, e), M.reshape(rowSums, [64, 1]))];
    };
    const on = await check(f, inputs, 64 * 64, 'row sums of a @ b beside relu(q) @ e');
    expect(on.mergedDispatches).toBe(2);
  });

  it('a reduction in two passes and index kernels run alone, and right', async () => {
    const n = 20_000;
    const indices = (seed: number) => {
      const values = Int32Array.from(floats(seed, 40, 0, 64), Math.floor);
      return { gpu: M.tensor(values, { backend: webgpu() }) as ArrayTensor, cpu: M.tensor(values) as ArrayTensor };
    };
    const inputs = [randomInput(3, n), randomInput(4, 64), randomInput(5, 64), indices(6), indices(7)];
    // Two dependent passes (partial sums, then their total) beside two gathers, which check their
    // indices through the backend's one fault word (bound twice, a merged dispatch would be invalid).
    const f = (x: Tensor, y: Tensor, z: Tensor, i: Tensor, j: Tensor) => [M.sum(x), M.take(y, i, 0), M.take(z, j, 0), M.exp(z)];
    await check(f, inputs, n, 'two-pass sum, two gathers');
  });

  it('random bits merged with other kernels are eager\'s bits', async () => {
    const key = M.tensor(rawKey(7), { backend: webgpu() }) as ArrayTensor;
    const x = randomInput(5, 17, 9);
    const f = (k: Tensor, a: Tensor) => [M.random.uniform(k, [300]), M.sum(a, 1), M.random.randomBits(M.random.split(k, 2)[1], [9])];
    const on = await check(f, [{ gpu: key, cpu: M.tensor(rawKey(7)) as ArrayTensor }, x], 9, 'uniforms beside a sum');
    expect(on.mergedKernels).toBeGreaterThanOrEqual(2);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit, one dispatch fewer per kernel merged', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    const { on, without } = await comparePlans(program, inputs, {}, { merge: false });
    expect(on.stats.mergedKernels).toBeGreaterThan(5);
    expect(without.stats.dispatchesPerCall - on.stats.dispatchesPerCall).toBe(on.stats.mergedKernels - on.stats.mergedDispatches);
    console.log(`[jit webgpu] ${_name}: ${without.stats.dispatchesPerCall} dispatches per update alone, ${on.stats.dispatchesPerCall} merged (${on.stats.mergedKernels} kernels in ${on.stats.mergedDispatches} merged dispatches)`);
  });
});
