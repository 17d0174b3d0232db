/**
 * bench/jit: milliseconds per SAC update, eager vs jit, for SG-RP and SGM-MRP (K = 5) at the
 * classic-control size (obs 3, act 1, H 64, B 32) and at the SAC-v2 size (obs 17, act 6, H 256,
 * B 256), on the CPU and/or WebGPU (`--backends cpu,webgpu`; default cpu). The machine may be
 * shared and noisy, so eager and jit run in alternating rounds and the medians are reported. On
 * WebGPU each round ends with a readback (so queued work is timed), the adapter is printed, and the
 * kernel dispatches per update (eager vs jit) are counted.
 *
 *   npx esbuild bench/jit.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/jit.mjs
 *   node .tmp/jit.mjs [--backends cpu,webgpu] [--sizes classic,v2] [--rounds 15] [--updates 50]
 */
import { ReplayBuffer } from '../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters, type SacState, type SacUpdate } from '../src/rl/sac/update';
import * as T from '../src/tensor';
import { createWebGPUBackend, type WebGPUBackend } from '../src/tensor/webgpu';
import { rawFoldIn, rawKey } from '../src/tensor/threefry';

const AGENTS = [
  { name: 'sg-rp', kind: 'single', estimator: 'rp' },
  { name: 'sgm-mrp', kind: 'mixture', estimator: 'mrp' },
] as const;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const SIZES = {
  classic: { label: 'classic (obs 3, act 1, H 64, B 32)', obs: 3, act: 1, hidden: 64, batch: 32, autoAlpha: false },
  v2: { label: 'SAC-v2 (obs 17, act 6, H 256, B 256)', obs: 17, act: 6, hidden: 256, batch: 256, autoAlpha: true },
} as const;
type Size = (typeof SIZES)[keyof typeof SIZES];

function setup(agent: (typeof AGENTS)[number], size: Size, backend: T.Backend) {
  const { obs, act } = size;
  const h: SacHyperparameters = {
    obsDim: obs,
    head: { actionDim: act, kind: agent.kind, components: 5, low: -1, high: 1 },
    estimator: agent.estimator,
    hidden: [size.hidden, size.hidden],
    init: 'torch',
    gamma: 0.99,
    tau: 0.005,
    actorLr: 3e-4,
    criticLr: 3e-4,
    alphaLr: 3e-4,
    alpha: 0.1,
    autoAlpha: size.autoAlpha,
    targetEntropy: -act,
    baselineSamples: 0,
    gumbelTemperature: 0.1,
    dtype: 'float32',
  };
  const key = T.tensor(rawKey(0), { backend });
  const replay = new ReplayBuffer({ capacity: 4096, obsDim: obs, actionDim: act });
  const noise = (i: number, n: number) => Array.from({ length: n }, (_, j) => Math.sin(i * 12.9898 + j * 78.233));
  for (let i = 0; i < 4096; i++) {
    replay.add({ obs: noise(i, obs), action: noise(i + 7, act), reward: [Math.cos(i)], nextObs: noise(i + 1, obs), terminated: [0] });
  }
  const batches = Array.from({ length: 8 }, (_, i) => replay.sample(rawFoldIn(rawKey(1), i), size.batch, { backend }));
  return { h, key, batches, state: initSac(h, key) };
}

/** Runs `updates` updates and returns ms per update; the state carries on between rounds. */
async function timeRound(update: SacUpdate, s: ReturnType<typeof setup>, state: { value: SacState }, updates: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < updates; i++) {
    [state.value] = update(state.value, s.batches[i % s.batches.length], T.random.foldIn(s.key, i));
  }
  await state.value.actor.layers[0].w.data();
  return (performance.now() - t0) / updates;
}

/** Kernel dispatches of one update on WebGPU (the key's foldIn included). */
function dispatchesOf(gpu: WebGPUBackend, update: SacUpdate, s: ReturnType<typeof setup>, state: SacState): number {
  gpu.flush();
  const before = gpu.dispatched;
  update(state, s.batches[0], T.random.foldIn(s.key, 0));
  return gpu.dispatched - before;
}

const rounds = Number(arg('rounds', '15'));
const updates = Number(arg('updates', '50'));
const backendNames = arg('backends', 'cpu').split(',').map((b) => b.trim());
const sizeNames = arg('sizes', 'classic,v2').split(',').map((b) => b.trim()) as (keyof typeof SIZES)[];
console.log(`node ${process.version}, ${process.platform}-${process.arch}; ${rounds} rounds of ${updates} updates, medians`);
const backends: [string, T.Backend][] = [];
for (const name of backendNames) {
  if (name === 'cpu') backends.push(['cpu', T.cpu]);
  else if (name === 'webgpu') {
    const gpu = await createWebGPUBackend();
    console.log(`webgpu adapter: ${gpu.adapter.description}${gpu.adapter.software ? ' (software)' : ''}`);
    backends.push(['webgpu', gpu]);
  } else throw new Error(`--backends: unknown backend '${name}' (cpu, webgpu)`);
}
console.log('');
console.log(`| backend | size | agent | eager ms / update | jit ms / update | eager / jit | dispatches eager / jit |`);
console.log('|---|---|---|---|---|---|---|');
for (const [backendName, backend] of backends) {
  for (const sizeName of sizeNames) {
    const size = SIZES[sizeName];
    if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
    for (const agent of AGENTS) {
      const s = setup(agent, size, backend);
      const eager = makeSacUpdate(s.h, { jit: false });
      const jitted = makeSacUpdate(s.h, { jit: true });
      const states = { eager: { value: s.state }, jit: { value: s.state } };
      await timeRound(eager, s, states.eager, 5);
      await timeRound(jitted, s, states.jit, 5);
      let dispatches = '';
      if (backend instanceof T.WebGPUBackend) {
        dispatches = `${dispatchesOf(backend, eager, s, s.state)} / ${dispatchesOf(backend, jitted, s, s.state)}`;
      }
      const times = { eager: [] as number[], jit: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        times.eager.push(await timeRound(eager, s, states.eager, updates));
        times.jit.push(await timeRound(jitted, s, states.jit, updates));
      }
      const [e, j] = [median(times.eager), median(times.jit)];
      console.log(`| ${backendName} | ${size.label} | ${agent.name} | ${e.toFixed(3)} | ${j.toFixed(3)} | ${(e / j).toFixed(2)} | ${dispatches} |`);
    }
  }
}
