/**
 * bench/jit: milliseconds per SAC update on the CPU, eager vs jit, at the classic-control size
 * (obs 3, H 64, B 32) for SG-RP and SGM-MRP (K = 5). The machine may be shared and noisy, so eager and
 * jit run in alternating rounds and the medians are reported.
 *
 *   npx esbuild bench/jit.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/jit.mjs
 *   node .tmp/jit.mjs [--rounds 15] [--updates 50]
 */
import { ReplayBuffer } from '../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters, type SacState, type SacUpdate } from '../src/rl/sac/update';
import * as T from '../src/tensor';
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

function setup(agent: (typeof AGENTS)[number]) {
  const h: SacHyperparameters = {
    obsDim: 3,
    head: { actionDim: 1, kind: agent.kind, components: 5, low: -1, high: 1 },
    estimator: agent.estimator,
    hidden: [64, 64],
    init: 'torch',
    gamma: 0.99,
    tau: 0.005,
    actorLr: 3e-4,
    criticLr: 3e-4,
    alphaLr: 3e-4,
    alpha: 0.1,
    autoAlpha: false,
    targetEntropy: -1,
    baselineSamples: 0,
    gumbelTemperature: 0.1,
    dtype: 'float32',
  };
  const key = T.tensor(rawKey(0));
  const replay = new ReplayBuffer({ capacity: 4096, obsDim: 3, actionDim: 1 });
  const noise = (i: number, n: number) => Array.from({ length: n }, (_, j) => Math.sin(i * 12.9898 + j * 78.233));
  for (let i = 0; i < 4096; i++) {
    replay.add({ obs: noise(i, 3), action: noise(i + 7, 1), reward: [Math.cos(i)], nextObs: noise(i + 1, 3), terminated: [0] });
  }
  const batches = Array.from({ length: 8 }, (_, i) => replay.sample(rawFoldIn(rawKey(1), i), 32));
  return { h, key, batches, state: initSac(h, key) };
}

/** Runs `updates` updates and returns ms per update; the state carries on between rounds. */
function timeRound(update: SacUpdate, s: ReturnType<typeof setup>, state: { value: SacState }, updates: number): number {
  const t0 = performance.now();
  for (let i = 0; i < updates; i++) {
    [state.value] = update(state.value, s.batches[i % s.batches.length], T.random.foldIn(s.key, i));
  }
  state.value.actor.layers[0].w.dataSync();
  return (performance.now() - t0) / updates;
}

const rounds = Number(arg('rounds', '15'));
const updates = Number(arg('updates', '50'));
console.log(`| agent | eager ms / update | jit ms / update | eager / jit |`);
console.log('|---|---|---|---|');
for (const agent of AGENTS) {
  const s = setup(agent);
  const eager = makeSacUpdate(s.h, { jit: false });
  const jitted = makeSacUpdate(s.h, { jit: true });
  const states = { eager: { value: s.state }, jit: { value: s.state } };
  timeRound(eager, s, states.eager, 5);
  timeRound(jitted, s, states.jit, 5);
  const times = { eager: [] as number[], jit: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    times.eager.push(timeRound(eager, s, states.eager, updates));
    times.jit.push(timeRound(jitted, s, states.jit, updates));
  }
  const [e, j] = [median(times.eager), median(times.jit)];
  console.log(`| ${agent.name} | ${e.toFixed(3)} | ${j.toFixed(3)} | ${(e / j).toFixed(2)} |`);
}
