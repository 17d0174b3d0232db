/**
 * The training loop on WebGPU in steady state: once learning has started and the plans are
 * compiled, a step creates no GPU buffer and no bind group. The loop disposes each update's batch,
 * key and previous metrics (`disposeTree`), so their buffers go back to the pool for the next step
 * with the bind groups made for them; left to the garbage collector, a fast loop created buffers
 * and bind groups every step (on an H200, 5 buffers and 8 bind groups per SAC-v2 update).
 *
 * Without the disposals (the loop's, or the actor's of its observation) 519 buffers and 731 bind
 * groups were created in the 60 steps measured here on lavapipe.
 *
 * Tensors left to the garbage collector must not disturb that, whenever it runs: GPU tensors made
 * before the run and not disposed (kept reachable until then) are collected at step 70. Their
 * buffers are older than the loop's; handed out first, they made 29 bind groups in steps 60-120
 * (CI once saw 20 when the collector took the agent's leftover build tensors mid-run).
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { expect, it } from 'vitest';
import { resolveConfig } from '../../src/experiments/config';
import { createRun, train } from '../../src/experiments/train';
import { trainBatch } from '../../src/experiments/train-batch';
import { treeFlatten } from '../../src/autodiff';
import type { SacMetrics } from '../../src/rl/sac/update';
import { type Tensor, tensor } from '../../src/tensor';
import { collector } from '../jit/helpers';
import { countBindGroups, describeWebGPU, webgpu } from './gpu';

describeWebGPU('training on WebGPU', () => {
  it('creates no buffer and no bind group per step once learning runs; the metrics before the latest are disposed', async () => {
    const gpu = webgpu();
    const config = resolveConfig([{ env: 'ShapedPendulum', agent: 'sg-rp', seed: 1, steps: 120, hidden: [8, 8], batchSize: 8, learningStarts: 20, randomSteps: 10, logEvery: 1 }]);
    if (!isRight(config)) throw new Error(config.left.message);
    // One size class after another, past the largest buffer of this small agent.
    let orphans: unknown[] = [];
    for (let bytes = 256; bytes <= 1 << 16; bytes = Math.ceil(bytes * 1.19)) {
      for (let i = 0; i < 8; i++) orphans.push(tensor(new Float32Array(bytes / 4), { backend: gpu }));
    }
    const collectGarbage = collector();
    const run = createRun(config.right, gpu);
    const bindGroups = countBindGroups(gpu.device);
    const seen: SacMetrics[] = [];
    let atStep60 = { buffers: 0, bindGroups: 0 };
    const onProgress = async (r: typeof run) => {
      if (r.lastMetrics) seen.push(r.lastMetrics);
      if (r.step === 60) atStep60 = { buffers: gpu.poolStats().created, bindGroups: bindGroups.made };
      if (r.step === 70) {
        const [inUse, count] = [gpu.poolStats().inUse, orphans.length];
        orphans = [];
        collectGarbage();
        // Finalization callbacks run in tasks after the collection.
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
        expect(inUse - gpu.poolStats().inUse, 'buffers the collector gave back at step 70').toBeGreaterThanOrEqual(count);
      }
    };
    try {
      await train(run, { until: 120 }, { onProgress });
    } finally {
      bindGroups.restore();
    }
    expect(gpu.poolStats().created - atStep60.buffers, 'buffers created in steps 60-120').toBe(0);
    expect(bindGroups.made - atStep60.bindGroups, 'bind groups created in steps 60-120').toBe(0);
    // The latest metrics stay readable; the ones before were disposed by the loop.
    expect(Number.isFinite(await run.lastMetrics!.criticLoss.item())).toBe(true);
    expect(() => seen[seen.length - 2].criticLoss.data()).toThrow(/used after dispose\(\)/);
  });

  it('trains runs together as train alone does (within float tolerance), creating no buffer or bind group per step once learning runs', async () => {
    const gpu = webgpu();
    const config = (seed: number) => {
      const c = resolveConfig([{ env: 'ShapedPendulum', agent: 'sgm-mrp', seed, steps: 90, hidden: [8, 8], batchSize: 8, components: 3, learningStarts: 20, randomSteps: 10, logEvery: 30 }]);
      if (!isRight(c)) throw new Error(c.left.message);
      return c.right;
    };
    const seeds = [0, 1, 2];
    const alone = seeds.map((seed) => createRun(config(seed), gpu));
    for (const run of alone) await train(run, { until: 90 });
    const together = seeds.map((seed) => createRun(config(seed), gpu));
    const at: Record<number, { buffers: number; bindGroups: number }> = {};
    const bindGroups = countBindGroups(gpu.device);
    try {
      await trainBatch(together, { until: 90 }, [{ onProgress: () => void (at[together[0].step] = { buffers: gpu.poolStats().created, bindGroups: bindGroups.made }) }]);
    } finally {
      bindGroups.restore();
    }
    expect(together.map((r) => r.step)).toEqual([90, 90, 90]);
    for (const [i, run] of together.entries()) {
      const [got] = treeFlatten(run.sac);
      const [want] = treeFlatten(alone[i].sac);
      for (const [k, leaf] of (got as Tensor[]).entries()) {
        const [a, b] = [await leaf.data(), await (want[k] as Tensor).data()];
        const worst = Math.max(...Array.from(a, (x, j) => Math.abs(x - b[j])));
        expect(worst, `seed ${seeds[i]} leaf ${k}`).toBeLessThan(1e-4);
      }
      // The warm-up's random actions are drawn on the host: equal; the policy's then within tolerance.
      const [acted, reference] = [run.replay.state().arrays.action, alone[i].replay.state().arrays.action];
      expect(Array.from(acted.slice(0, 10))).toEqual(Array.from(reference.slice(0, 10)));
      expect(Math.max(...Array.from(acted, (x, j) => Math.abs(x - reference[j]))), `seed ${seeds[i]} actions`).toBeLessThan(1e-4);
    }
    expect(at[90].buffers - at[60].buffers, 'buffers created in steps 60-90').toBe(0);
    expect(at[90].bindGroups - at[60].bindGroups, 'bind groups created in steps 60-90').toBe(0);
  });
});
