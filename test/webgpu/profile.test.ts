/**
 * `WebGPUBackend.profile`: every dispatch of the recorded call comes back, in order, with its grid
 * and a time that orders kernels by their work; the buffers it replays outlive their tensors.
 */
import { expect, it } from 'vitest';
import { jit } from '../../src/autodiff';
import { matmul, type Tensor, tensor } from '../../src/tensor';
import { createWebGPUBackend } from '../../src/tensor/webgpu';
import { describeWebGPU, floats, webgpu } from './gpu';

describeWebGPU('profile', () => {
  it('times each dispatch of the call in order: a 256^3 product takes longer than adding four numbers', async () => {
    const gpu = webgpu();
    const a = tensor(floats(1, 256 * 256, -1, 1), { shape: [256, 256], backend: gpu });
    const x = tensor([1, 2, 3, 4], { backend: gpu });
    const before = gpu.dispatched;
    const times = await gpu.profile(() => {
      matmul(a, a).dispose();
      x.add(x).dispose();
    });
    expect(times.length).toBe(gpu.dispatched - before);
    expect(times.map((t) => t.kernel)).toEqual(['matmul', expect.stringMatching(/add/)]);
    // 64x64 output tiles on a software adapter (the suite's), by size on others.
    if (gpu.matmulTiles === 64) expect(times[0].groups).toEqual([4, 4, 1]);
    for (const t of times) expect(Number.isFinite(t.ms) && t.ms >= 0).toBe(true);
    expect(times[0].ms).toBeGreaterThan(times[1].ms);
  });

  it("replays a jitted call's intermediates after the call released them, then gives them back", async () => {
    // No free buffer is kept: what the call releases would be destroyed unless profile holds it.
    const gpu = await createWebGPUBackend({ maxPoolBytes: 0 });
    const f = jit((x: Tensor) => x.mul(2).exp().sum());
    const x = tensor(floats(2, 1000, -1, 1), { shape: [1000], backend: gpu });
    await f(x).data();
    const inUse = gpu.poolStats().inUse;
    const before = gpu.dispatched;
    const times = await gpu.profile(() => void f(x).dispose());
    expect(times.length).toBe(gpu.dispatched - before);
    expect(times.length).toBeGreaterThan(0);
    expect(gpu.poolStats().inUse).toBe(inUse);
    await expect(f(x).data()).resolves.toHaveLength(1);
  });
});
