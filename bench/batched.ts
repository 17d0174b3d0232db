/**
 * bench/batched: one batched SAC update of N agents (default 100; `jit(vmap(update))`, every agent
 * with its own parameters, optimizer state, replay batch and key) against N sequential jitted
 * single-agent updates, at the classic-control size and the SAC-v2 size, on the CPU and/or WebGPU.
 * Both sides get precomputed batches and keys, so only the updates are timed. Batched and
 * sequential run in alternating rounds (the machine may be shared and noisy); medians are reported.
 * On WebGPU each round ends with a readback, so queued work is timed.
 *
 *   npx esbuild bench/batched.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/batched.mjs
 *   node .tmp/batched.mjs [--backends cpu,webgpu] [--sizes classic,v2] [--agents sg-rp,sgm-mrp] [--n 100] [--rounds 3] [--steps 4]
 *
 * On Mesa lavapipe, hundreds of sequential jitted WebGPU updates (the baseline side, 100 agents, more
 * than about two steps) segfault inside lavapipe's descriptor-pool allocation (Dawn creating a bind
 * group); main does the same with plain sequential updates. Use `--rounds 1 --steps 1` there.
 */
import { treeRow, treeStack } from '../src/autodiff';
import { initSacBatch, makeBatchedSacUpdate } from '../src/rl/sac/batched';
import { makeSacUpdate, type SacState } from '../src/rl/sac/update';
import type { ReplayBatch } from '../src/rl/replay';
import * as T from '../src/tensor';
import { AGENTS, arg, benchBackends, keepState, sacSetup, SIZES } from './sac-setup';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const n = Number(arg('n', '100'));
const rounds = Number(arg('rounds', '3'));
const steps = Number(arg('steps', '4'));
const backendNames = arg('backends', 'cpu').split(',').map((b) => b.trim());
const sizeNames = arg('sizes', 'classic,v2').split(',').map((b) => b.trim()) as (keyof typeof SIZES)[];
const agentNames = arg('agents', 'sg-rp').split(',').map((a) => a.trim());
console.log(`node ${process.version}, ${process.platform}-${process.arch}; ${n} agents; ${rounds} rounds of ${steps} updates per agent, medians`);
const backends = await benchBackends(backendNames);
console.log('');
console.log(`| backend | size | agent | ${n} sequential ms / step | batched ms / step | sequential / batched | first batched call (trace + compile) ms |`);
console.log('|---|---|---|---|---|---|---|');
for (const [backendName, backend] of backends) {
  for (const sizeName of sizeNames) {
    const size = SIZES[sizeName];
    if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
    for (const agent of AGENTS.filter((a) => agentNames.includes(a.name))) {
      const s = sacSetup(agent, size, backend);
      const agentKeys = Array.from({ length: n }, (_, i) => T.random.foldIn(s.key, i));
      // Step t: agent i trains on batch (i + t) mod 8 with key foldIn(key_i, t).
      const batchesAt = (t: number): ReplayBatch[] => agentKeys.map((_, i) => s.batches[(i + t) % s.batches.length]);
      const keysAt = (t: number): T.Tensor[] => agentKeys.map((k) => T.random.foldIn(k, t));
      const stackedBatches = Array.from({ length: steps }, (_, t) => treeStack(batchesAt(t)));
      const stackedKeys = Array.from({ length: steps }, (_, t) => T.stack(keysAt(t), 0));
      const rowKeys = Array.from({ length: steps }, (_, t) => keysAt(t));

      // Both sides give up the states they update, as `train` does: on WebGPU the new states reuse
      // the old ones' buffers (and bind groups), and no dead state waits for the garbage collector.
      const batched = makeBatchedSacUpdate(s.h, n, { donate: true });
      const single = makeSacUpdate(s.h, { donate: true });
      let together: SacState = initSacBatch(s.h, T.stack(agentKeys, 0));
      let separate: SacState[] = agentKeys.map((_, i) => treeRow(together, i));

      const step1 = (st: SacState, i: number, t: number): SacState => keepState(single(st, batchesAt(t)[i], rowKeys[t][i]));
      const stepAll = (st: SacState, t: number): SacState => keepState(batched(st, stackedBatches[t], stackedKeys[t]));
      const sync = async (state: SacState) => {
        await state.actor.layers[0].w.data();
      };
      const t0 = performance.now();
      together = stepAll(together, 0);
      await sync(together);
      const first = performance.now() - t0;
      separate = separate.map((st, i) => step1(st, i, 0));
      await sync(separate[n - 1]);

      const times = { sequential: [] as number[], batched: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        let t = performance.now();
        for (let step = 0; step < steps; step++) separate = separate.map((st, i) => step1(st, i, step));
        await sync(separate[n - 1]);
        times.sequential.push((performance.now() - t) / steps);
        t = performance.now();
        for (let step = 0; step < steps; step++) together = stepAll(together, step);
        await sync(together);
        times.batched.push((performance.now() - t) / steps);
      }
      const [q, b] = [median(times.sequential), median(times.batched)];
      console.log(`| ${backendName} | ${size.label} | ${agent.name} | ${q.toFixed(1)} | ${b.toFixed(1)} | ${(q / b).toFixed(2)} | ${first.toFixed(0)} |`);
    }
  }
}
