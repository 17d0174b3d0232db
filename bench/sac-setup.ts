/**
 * What bench/sac.ts and bench/jit.ts share: the two sizes, the two agents, flag reading, and one SAC
 * setup (hyperparameters, a replay buffer of deterministic synthetic transitions, 8 sampled batches,
 * the initial state) on a backend.
 */
import { ReplayBuffer } from '../src/rl/replay';
import { disposeTree, treeStack } from '../src/autodiff';
import { initSacBatch, makeBatchedSacUpdate } from '../src/rl/sac/batched';
import { initSac, makeSacUpdate, type SacHyperparameters, type SacMetrics, type SacState } from '../src/rl/sac/update';
import * as T from '../src/tensor';
import { createWebGPUBackend } from '../src/tensor/webgpu';
import type { MatmulTiles } from '../src/tensor/webgpu/matmul-kernels';
import { rawFoldIn, rawKey } from '../src/tensor/threefry';

export const SIZES = {
  classic: { label: 'classic (obs 3, act 1, H 64, B 32)', obs: 3, act: 1, hidden: 64, batch: 32, autoAlpha: false },
  v2: { label: 'SAC-v2 (obs 17, act 6, H 256, B 256)', obs: 17, act: 6, hidden: 256, batch: 256, autoAlpha: true },
} as const;
export type Size = (typeof SIZES)[keyof typeof SIZES];

export const AGENTS = [
  { name: 'sg-rp', kind: 'single', estimator: 'rp' },
  { name: 'sgm-mrp', kind: 'mixture', estimator: 'mrp' },
] as const;
export type BenchAgent = (typeof AGENTS)[number];

/** The value after `--name` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/**
 * The backends named on the command line: `cpu`, `webgpu` (products' kernels by shape and count on
 * a hardware adapter), `webgpu-32`, `webgpu-64`, `webgpu-128`, `webgpu-strip` (every product in
 * tiles of that side, or strips, to compare), `webgpu-sized`, `webgpu-thin-strip` (a host's rule);
 * prints each WebGPU adapter. `--dawn` passes Dawn's own options (separated by spaces), such
 * as `--dawn enable-dawn-features=disable_robustness`, to compare its toggles; `--validation on`
 * or `off` opens them with or without Dawn's validation (`WebGPUBackendOptions.validation`; default
 * `MIXRL_WEBGPU_VALIDATION`, else off); `--dawn-ticks every-turn`
 * leaves Dawn's polling unpaced (`WebGPUBackendOptions.dawnTicks`, default paced); `--merge off`
 * dispatches every kernel of a jit plan alone, `--merge on` merges them on any adapter (default:
 * on hardware adapters) and `--merge-max-groups N` merges kernels of at most
 * N workgroups (default 256; `Infinity`: all) (`WebGPUBackendOptions.mergeKernels`, `mergeMaxGroups`).
 */
export async function benchBackends(names: readonly string[]): Promise<[string, T.Backend][]> {
  const backends: [string, T.Backend][] = [];
  for (const name of names) {
    const tile = /^webgpu-(32|64|128|narrow|strip|sized|thin-strip)$/.exec(name)?.[1];
    if (name === 'cpu') backends.push(['cpu', T.cpu]);
    else if (name === 'webgpu' || tile) {
      const dawnOptions = arg('dawn', '').split(' ').filter((option) => option);
      const validationArg = arg('validation', 'default');
      if (validationArg !== 'on' && validationArg !== 'off' && validationArg !== 'default') throw new Error(`--validation: '${validationArg}' (on or off)`);
      const validation = validationArg === 'default' ? undefined : validationArg === 'on';
      const dawnTicks = arg('dawn-ticks', 'paced');
      if (dawnTicks !== 'paced' && dawnTicks !== 'every-turn') throw new Error(`--dawn-ticks: '${dawnTicks}' (paced or every-turn)`);
      const mergeArg = arg('merge', 'default');
      if (mergeArg !== 'on' && mergeArg !== 'off' && mergeArg !== 'default') throw new Error(`--merge: '${mergeArg}' (on or off)`);
      const maxGroupsArg = arg('merge-max-groups', '');
      const mergeMaxGroups = maxGroupsArg === '' ? undefined : Number(maxGroupsArg);
      if (mergeMaxGroups !== undefined && !(mergeMaxGroups >= 0)) throw new Error(`--merge-max-groups: '${maxGroupsArg}' (a count of workgroups, or Infinity)`);
      const merge = { ...(mergeArg !== 'default' && { mergeKernels: mergeArg === 'on' }), ...(mergeMaxGroups !== undefined && { mergeMaxGroups }) };
      const gpu = await createWebGPUBackend({ dawnOptions, validation, dawnTicks, ...merge, ...(tile ? { matmulTiles: (/^\d+$/.test(tile) ? Number(tile) : tile) as MatmulTiles } : {}) });
      const merging = !gpu.mergeKernels ? 'off' : `on${mergeMaxGroups !== undefined ? ` (kernels of at most ${mergeMaxGroups} workgroups)` : ''}`;
      const extra = `${dawnOptions.length ? `; Dawn: ${dawnOptions.join(' ')}` : ''}; validation ${gpu.validation ? 'on' : 'off'}; Dawn ticks ${dawnTicks}; merged dispatches ${merging}`;
      console.log(`${name} adapter: ${gpu.adapter.description}${gpu.adapter.software ? ' (software)' : ''}; product tiles: ${gpu.matmulTiles}${extra}`);
      backends.push([name, gpu]);
    } else throw new Error(`--backends: unknown backend '${name}' (cpu, webgpu, webgpu-32, webgpu-64, webgpu-128, webgpu-narrow, webgpu-strip, webgpu-sized, webgpu-thin-strip)`);
  }
  return backends;
}

/** Hyperparameters, key, batches and initial state of one benchmarked SAC update. */
export function sacSetup(agent: BenchAgent, size: Size, backend: T.Backend) {
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
  // Update i's key, folded on the host as `train` does (what `random.foldIn(key, i)` gives).
  const keyAt = (i: number) => T.tensor(rawFoldIn(rawKey(0), i), { backend });
  return { h, key, keyAt, batches, state: initSac(h, key) };
}

/**
 * The new state of an update's `[state, metrics]`, with the metrics and `spent` (the call's key)
 * disposed, as `train` does: on WebGPU their buffers go back to the pool at once and the next call
 * reuses them with their bind groups, where left to the garbage collector a fast loop creates
 * buffers and bind groups every call.
 */
export function keepState([state, metrics]: readonly [SacState, SacMetrics], ...spent: readonly T.Tensor[]): SacState {
  disposeTree([metrics, spent]);
  return state;
}

/**
 * One jitted, donating SAC update per call of the returned `step(t)`, its state kept inside: one
 * agent (`n` = 1, batch and key `t`) or `n` agents batched (`makeBatchedSacUpdate`, one stacked
 * batch and keys for every call), each call disposing what it replaces (`keepState`).
 */
export function updateStep(agent: BenchAgent, size: Size, backend: T.Backend, n: number): (t: number) => void {
  const s = sacSetup(agent, size, backend);
  if (n === 1) {
    const update = makeSacUpdate(s.h, { donate: true });
    let state = s.state;
    return (t) => {
      const key = s.keyAt(t);
      state = keepState(update(state, s.batches[t % s.batches.length], key), key);
    };
  }
  const keys = T.stack(Array.from({ length: n }, (_, i) => T.random.foldIn(s.key, i)), 0);
  const batch = treeStack(Array.from({ length: n }, (_, i) => s.batches[i % s.batches.length]));
  const update = makeBatchedSacUpdate(s.h, n, { donate: true });
  let state = initSacBatch(s.h, keys);
  return () => {
    state = keepState(update(state, batch, keys));
  };
}
