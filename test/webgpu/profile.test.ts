/**
 * `WebGPUBackend.profile`: every dispatch of the recorded call comes back, in order, with its kernel
 * and grid; the buffers it replays outlive their tensors.
 */
import { expect, it } from 'vitest';
import { jit } from '../../src/autodiff';
import { matmul, type Tensor, tensor } from '../../src/tensor';
import { createWebGPUBackend } from '../../src/tensor/webgpu';
import { describeWebGPU, floats, webgpu } from './gpu';

describeWebGPU('profile', () => {
  it('times each dispatch of the call, in order, with its kernel and grid, and the call in sequence', async () => {
    const gpu = webgpu();
    const a = tensor(floats(1, 256 * 256, -1, 1), { shape: [256, 256], backend: gpu });
    const x = tensor([1, 2, 3, 4], { backend: gpu });
    const before = gpu.dispatched;
    let product: Tensor | undefined;
    let sum: Tensor | undefined;
    const { kernels: times, sequenceMs, recordMs } = await gpu.profile(() => {
      sum = x.add(x);
      product = matmul(a, a);
    });
    expect(times.length).toBe(gpu.dispatched - before);
    expect(times.map((t) => t.kernel)).toEqual([expect.stringMatching(/add/), 'matmul']);
    // 64x64 output tiles on a software adapter (the suite's), by size on others.
    if (gpu.matmulTiles === 'thin-strip') expect(times[1].groups).toEqual([4, 4, 1]);
    // Times themselves are not asserted (no timing in tests): bench/profile.ts shows them.
    for (const ms of [...times.map((t) => t.ms), sequenceMs]) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
    // Recording two dispatches takes some host time, and not seconds.
    expect(recordMs).toBeGreaterThan(0);
    expect(recordMs).toBeLessThan(1000);
    // The replays ran each kernel with its own params into its own output: the values stand.
    expect(await (product as Tensor).data()).toEqual(await matmul(a, a).data());
    expect(Array.from(await (sum as Tensor).data())).toEqual([2, 4, 6, 8]);
  });

  it("replays a jitted call's buffers after later batches pushed them out of the pool, and leaves the pool's counts as they were", async () => {
    // No free buffer is kept beyond the latest batch's: what the jitted call releases is destroyed
    // at the second flush unless profile holds it.
    const gpu = await createWebGPUBackend({ maxPoolBytes: 0 });
    const f = jit((x: Tensor) => matmul(x, x).exp().sum());
    const x = tensor(floats(2, 32 * 32, -1, 1), { shape: [32, 32], backend: gpu });
    const large = tensor(floats(3, 4096, -1, 1), { backend: gpu });
    const first = f(x);
    await first.data();
    first.dispose();
    await gpu.settle(0);
    const inUse = gpu.poolStats().inUse;
    const before = gpu.dispatched;
    const { kernels: times } = await gpu.profile(() => {
      f(x).dispose();
      gpu.flush();
      large.mul(large).dispose();
      gpu.flush();
    });
    expect(times.length).toBe(gpu.dispatched - before);
    expect(times.length).toBeGreaterThan(1);
    await gpu.settle(0);
    expect(gpu.poolStats().inUse).toBe(inUse);
    await expect(f(x).data()).resolves.toHaveLength(1);
  });

  it('passes on an error thrown while recording, and unpins what it captured', async () => {
    const gpu = webgpu();
    const x = tensor([1, 2, 3, 4], { backend: gpu });
    const failing = gpu.profile(() => {
      x.add(x).dispose();
      throw new Error('inside record');
    });
    await expect(failing).rejects.toThrow('inside record');
    // What the pool would keep from destruction (private: the pool is the backend's own).
    expect((gpu as unknown as { pool: { pinned: Set<unknown> } }).pool.pinned.size).toBe(0);
    await expect(gpu.profile(() => void x.add(x).dispose())).resolves.toHaveProperty('kernels.length', 1);
  });
});
