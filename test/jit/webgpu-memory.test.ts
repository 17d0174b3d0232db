/**
 * Steady state of a jitted SAC update on WebGPU: many calls keep the buffer pool, the live GPU
 * buffers (every `createBuffer` not destroyed, staging buffers included) and the process heap flat,
 * and the bounded queues of the recorder bounded. The loop disposes what each call replaces and
 * never reads back (so nothing that a readback drains can hide a leak); it waits for the GPU every
 * 100 calls, as a training loop would by reading its metrics.
 *
 * The issue asks for 1e4 calls. On lavapipe (this project's CI: a CPU Vulkan driver on 2 shared
 * cores) a jitted update at the tiny size below (obs 2, hidden [8, 8], batch 4) is 240 (sg-rp) and
 * 321 (sgm-mrp) dispatches and takes about 13-17 ms, much of it the driver running those dispatches,
 * so 1e4 calls of each agent take 5-6 minutes (measured with 324/410 dispatches: 175 s and 215 s,
 * passing). The default is 1000 calls per agent after 100 warm-up calls (about 35-45 s for both);
 * `MIXRL_WEBGPU_MEMORY_CALLS=10000` runs the figure: on an H200 (session 13) it passed in
 * 18 and 20 s (heap -0.46 / +0.06 MB, pool and live buffers unchanged, no new bind groups). Heap growth is measured after GC
 * (enabled at run time if the process lacks `--expose-gc`) with a 2 MB bound, the bind-group caches
 * (bounded) dropped at both measurements: their fill alone swung the heap from -0.85 to +1.96 MB.
 * Before the recorder dropped settled error-scope checks, the heap grew 0.4 MB per 1000 calls.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { countBindGroups, describeWebGPU, webgpu } from '../webgpu/gpu';
import { heapGrowthAsync } from './helpers';
import { smallSac } from '../sac-fixtures';

const CALLS = Number(process.env.MIXRL_WEBGPU_MEMORY_CALLS ?? 1000);
const WARMUP = 100;

function hyperparameters(kind: 'single' | 'mixture', estimator: 'rp' | 'mrp'): SacHyperparameters {
  return smallSac({ obsDim: 2, head: { actionDim: 1, kind, components: 3, low: -1, high: 1 }, estimator, hidden: [8, 8] });
}

/** Counts GPU buffers created and not destroyed, and bind groups created, on `device` until `restore()`. */
function countGpuObjects(device: GPUDevice) {
  const d = device as GPUDevice & { createBuffer: GPUDevice['createBuffer'] };
  const createBuffer = d.createBuffer;
  const bindGroups = countBindGroups(device);
  const counts = {
    liveBuffers: 0,
    get bindGroups() {
      return bindGroups.made;
    },
  };
  d.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = createBuffer.call(d, descriptor);
    counts.liveBuffers++;
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      counts.liveBuffers--;
      buffer.destroy = destroy;
      destroy.call(buffer);
    };
    return buffer;
  };
  const restore = () => {
    d.createBuffer = createBuffer;
    bindGroups.restore();
  };
  return { counts, restore };
}

describeWebGPU('jit on WebGPU: memory', () => {
  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)(
    `${CALLS} calls of a jitted %s SAC update keep the pool, the live GPU buffers and the heap flat`,
    async (name, kind, estimator) => {
      const gpu = webgpu();
      const h = hyperparameters(kind, estimator);
      const replay = new ReplayBuffer({ capacity: 16, obsDim: 2, actionDim: 1 });
      for (let i = 0; i < 16; i++) {
        const obs = [Math.sin(i), Math.cos(i)];
        replay.add({ obs, action: [Math.sin(3 * i)], reward: [Math.cos(i)], nextObs: [Math.sin(i + 1), Math.cos(i + 1)], terminated: [0] });
      }
      const batch = replay.sample(rawFoldIn(rawKey(1), 0), 4, { backend: gpu });
      const key = M.tensor(rawKey(0), { backend: gpu });
      const update = M.jit(makeSacUpdate(h, { jit: false }));
      let state = initSac(h, key);
      const step = async (i: number) => {
        const [next, metrics] = update(state, batch, key);
        for (const t of M.treeFlatten([state, metrics])[0]) (t as Tensor).dispose();
        state = next;
        if (i % 100 === 99) await gpu.device.queue.onSubmittedWorkDone();
      };

      const { counts, restore } = countGpuObjects(gpu.device);
      const snapshots: { pool: ReturnType<typeof gpu.poolStats>; liveBuffers: number; bindGroups: number }[] = [];
      try {
        const { grown, bound } = await heapGrowthAsync(step, {
          calls: CALLS,
          warmup: WARMUP,
          settle: async () => {
            gpu.flush();
            await gpu.device.queue.onSubmittedWorkDone();
            // Tensors finalized by the collector while waiting released their buffers to `pending`;
            // recycle them now so the snapshot does not depend on when the collector ran.
            gpu.flush();
            snapshots.push({ pool: gpu.poolStats(), liveBuffers: counts.liveBuffers, bindGroups: counts.bindGroups });
            // The bind-group caches are bounded (4096, and 16 per pipeline) but their fill at the
            // two measurements would swing the heap by a megabyte or two: measured without them.
            gpu.dropBindGroups();
          },
        });
        const [before, after] = snapshots;
        const plan = M.jitStats(update).lastPlan;
        const dispatches = plan?.dispatchesPerCall ?? 0;
        const newBindGroups = (after.bindGroups - before.bindGroups) / CALLS;
        console.log(
          `[jit webgpu memory] ${name}: ${CALLS} calls, ${dispatches} dispatches each, heap ${(grown / 1e6).toFixed(2)} MB ` +
            `(bound ${bound / 1e6} MB), pool ${before.pool.buffers} -> ${after.pool.buffers} buffers, ` +
            `live GPU buffers ${before.liveBuffers} -> ${after.liveBuffers}, ${newBindGroups.toFixed(0)} new bind groups per call, ` +
            `plan owns ${plan?.pooledBuffers} buffers`,
        );
        expect(M.jitStats(update).traceCount).toBe(1);
        for (const field of ['buffers', 'bytes', 'pending', 'pipelines'] as const) {
          expect(after.pool[field], field).toBe(before.pool[field]);
        }
        // In use: the state, the plan's own buffers, tensors not yet collected (their number can
        // only fall, when garbage from before the first measurement is collected late).
        expect(after.pool.inUse).toBeLessThanOrEqual(before.pool.inUse);
        // Counted from the first measurement, so buffers created before it (the pool's) do not count.
        expect(after.liveBuffers).toBe(before.liveBuffers);
        // One check per submitted batch, held only until it settles (the loop never reads back).
        expect(after.pool.unsettledChecks).toBeLessThan(10);
        // The plan's intermediates meet the same buffers every call, and the caller's state, which
        // comes and goes through the pool, gets back the buffers it had two calls before (the pool
        // hands out the earliest created free buffer): 4 new bind groups per call over 300 calls,
        // none over 10,000, in 66 / 94 dispatches (50 when the pool handed out the last released buffer first; every
        // dispatch made one before the plan owned its buffers). A donated state keeps its bind
        // groups too (webgpu-donation.test.ts).
        expect(newBindGroups).toBeLessThan(0.25 * dispatches);
        expect(grown).toBeLessThan(bound);
        // The state is still a valid one, and no GPU error was left pending.
        const values = await (M.treeFlatten(state)[0][0] as Tensor).data();
        expect(values.every((v) => Number.isFinite(v))).toBe(true);
      } finally {
        restore();
      }
    },
    // lavapipe: about 20 ms per call (see above).
    Math.max(120_000, 60 * (CALLS + WARMUP)),
  );
});
