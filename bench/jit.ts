/**
 * bench/jit: milliseconds per SAC update, eager vs jit, for SG-RP and SGM-MRP (K = 5) at the
 * classic-control size (obs 3, act 1, H 64, B 32) and at the SAC-v2 size (obs 17, act 6, H 256,
 * B 256), on the CPU and/or WebGPU (`--backends cpu,webgpu`; default cpu). The machine may be
 * shared and noisy, so eager and jit run in alternating rounds and the medians are reported. On
 * WebGPU each round ends with a readback (so queued work is timed), the adapter is printed, and the
 * kernel dispatches per update (eager vs jit) are counted; "jit ms in the call" is the part of a jitted
 * update spent before its call returns (on WebGPU: recording and submitting; the rest is waiting for
 * the GPU; on the CPU: all of it). Before timing, each variant runs for
 * `--warmup` seconds (default 3): V8 optimizes a generated loop only after it has run a while, and a
 * training run does tens of thousands of updates, so the steady state is what is reported.
 *
 *   npx esbuild bench/jit.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/jit.mjs
 *   node .tmp/jit.mjs [--backends cpu,webgpu,webgpu-32,webgpu-64,webgpu-128] [--sizes classic,v2] [--rounds 15] [--updates 50] [--warmup 3]
 */
import { initSac, makeSacUpdate, type SacState, type SacUpdate } from '../src/rl/sac/update';
import * as T from '../src/tensor';
import type { WebGPUBackend } from '../src/tensor/webgpu';
import { AGENTS, arg, benchBackends, keepState, sacSetup, SIZES } from './sac-setup';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

type Setup = ReturnType<typeof sacSetup>;

/**
 * Runs `updates` updates; returns ms per update until the last result is read, and of that the ms
 * spent in the update calls themselves (on WebGPU: recording and submitting, not waiting for the
 * GPU). The state carries on between rounds.
 */
async function timeRound(update: SacUpdate, s: Setup, state: { value: SacState }, updates: number): Promise<{ total: number; calls: number }> {
  let calls = 0;
  const t0 = performance.now();
  for (let i = 0; i < updates; i++) {
    const key = s.keyAt(i);
    const t = performance.now();
    state.value = keepState(update(state.value, s.batches[i % s.batches.length], key), key);
    calls += performance.now() - t;
  }
  await state.value.actor.layers[0].w.data();
  return { total: (performance.now() - t0) / updates, calls: calls / updates };
}

/** Kernel dispatches of one update on WebGPU. */
function dispatchesOf(gpu: WebGPUBackend, update: SacUpdate, s: Setup, state: SacState): number {
  gpu.flush();
  const before = gpu.dispatched;
  update(state, s.batches[0], s.keyAt(0));
  return gpu.dispatched - before;
}

/** Runs updates for at least `seconds`. */
async function warmUp(update: SacUpdate, s: Setup, state: { value: SacState }, seconds: number): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) await timeRound(update, s, state, 10);
}

const rounds = Number(arg('rounds', '15'));
const warmupSeconds = Number(arg('warmup', '3'));
const updates = Number(arg('updates', '50'));
const backendNames = arg('backends', 'cpu').split(',').map((b) => b.trim());
const sizeNames = arg('sizes', 'classic,v2').split(',').map((b) => b.trim()) as (keyof typeof SIZES)[];
console.log(`node ${process.version}, ${process.platform}-${process.arch}; ${warmupSeconds} s warm-up, then ${rounds} rounds of ${updates} updates, medians`);
const backends = await benchBackends(backendNames);
console.log('');
console.log(`| backend | size | agent | eager ms / update | jit ms / update | eager / jit | jit ms in the call | dispatches eager / jit |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const [backendName, backend] of backends) {
  for (const sizeName of sizeNames) {
    const size = SIZES[sizeName];
    if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
    for (const agent of AGENTS) {
      const s = sacSetup(agent, size, backend);
      const eager = makeSacUpdate(s.h, { jit: false });
      // As in `train`, the jitted update takes over the state it is given (`donate`): its own copy.
      const jitted = makeSacUpdate(s.h, { jit: true, donate: true });
      const states = { eager: { value: s.state }, jit: { value: initSac(s.h, s.key) } };
      await warmUp(eager, s, states.eager, warmupSeconds);
      await warmUp(jitted, s, states.jit, warmupSeconds);
      let dispatches = '';
      if (backend instanceof T.WebGPUBackend) {
        dispatches = `${dispatchesOf(backend, eager, s, s.state)} / ${dispatchesOf(backend, jitted, s, initSac(s.h, s.key))}`;
      }
      const times = { eager: [] as number[], jit: [] as number[], jitCalls: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        times.eager.push((await timeRound(eager, s, states.eager, updates)).total);
        const { total, calls } = await timeRound(jitted, s, states.jit, updates);
        times.jit.push(total);
        times.jitCalls.push(calls);
      }
      const [e, j] = [median(times.eager), median(times.jit)];
      console.log(`| ${backendName} | ${size.label} | ${agent.name} | ${e.toFixed(3)} | ${j.toFixed(3)} | ${(e / j).toFixed(2)} | ${median(times.jitCalls).toFixed(3)} | ${dispatches} |`);
    }
  }
}
