/**
 * jit on WebGPU, random-number steps merged (`random.ts`): a threefry whose bits only a float32
 * uniform reads stores the uniforms itself, and the rows of a split key are read in place by the
 * threefry steps using them (contiguous, or every `stride` words under `vmap`). The merged plan
 * gives the bits of the plan without merging and of eager WebGPU, and runs one step fewer per
 * merge; bits that are returned, or read otherwise, are kept.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { rawKey } from '../../src/tensor/threefry';
import { sacUpdateProgram } from './helpers';
import { comparePlans } from './webgpu-plans';
import { describeWebGPU, expectSameUpToContraction, webgpu } from '../webgpu/gpu';

/** Compiles `f` with and without merging; checks both plans agree bit for bit, and with eager WebGPU (up to contraction on hardware); returns the merges and both plans' dispatches. */
async function check(f: (...xs: Tensor[]) => Tensor[], inputs: readonly ArrayTensor[]) {
  const [program] = optimizeProgram(M.makeIR(f)(...inputs));
  const { on: merged, without: apart, actual } = await comparePlans(program, inputs, { siblings: false, merge: false }, { random: false });
  const eager = f(...inputs);
  for (let i = 0; i < eager.length; i++) expectSameUpToContraction(await actual[i].data(), await eager[i].data(), `output ${i} vs eager`);
  return { merges: merged.stats.randomMerged, merged: merged.stats.dispatchesPerCall, apart: apart.stats.dispatchesPerCall };
}

describeWebGPU('jit on WebGPU: random-number steps merged', () => {
  it('uniforms from their threefry, split keys read in place; returned bits kept', async () => {
    const key = M.tensor(rawKey(3), { backend: webgpu() }) as ArrayTensor;
    const f = (key: Tensor) => {
      const [a, b, c, d] = M.random.split(key, 4);
      return [M.random.uniform(a, [5, 7]), M.mul(M.random.normal(b, [300]), 2), M.random.randomBits(c, [9]), M.random.uniform(d, [1])];
    };
    const r = await check(f, [key]);
    // Three uniforms (the normal's included) and four key rows; the returned bits stay words.
    expect(r.merges).toBe(7);
    expect(r.apart - r.merged).toBe(7);
  });

  it("under vmap: each agent's key row is read every three rows of the split keys", async () => {
    const keys = M.stack([0, 1, 2, 3].map((i) => M.tensor(rawKey(10 + i), { backend: webgpu() })), 0) as ArrayTensor;
    const f = (k: Tensor) => {
      const [a, b, c] = M.random.split(k, 3);
      return M.add(M.random.uniform(a, [6]), M.mul(M.random.normal(b, [6]), M.random.uniform(c, [1])));
    };
    const batched = (keys: Tensor) => [M.vmap(f)(keys) as Tensor];
    const r = await check(batched, [keys]);
    expect(r.merges).toBeGreaterThanOrEqual(6);
    expect(r.apart - r.merged).toBe(r.merges);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit with its random-number steps merged', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    // Siblings off on both sides: their levelling differs with the steps merged, and each merge
    // then saves exactly one dispatch.
    const { on: merged, without: apart } = await comparePlans(program, inputs, { siblings: false, merge: false }, { siblings: false, random: false });
    expect(merged.stats.randomMerged).toBeGreaterThanOrEqual(5);
    expect(apart.stats.dispatchesPerCall - merged.stats.dispatchesPerCall).toBe(merged.stats.randomMerged);
  });
});
