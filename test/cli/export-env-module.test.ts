/**
 * `mixrl export` of runs on an env of one's own (`--env-module`), with 2-D actions in boxes of two
 * sizes: the export loads the module the run recorded (or the one `--env-module` names), and the
 * `.safetensors` metadata describe the head's layout as `src/distributions/head.ts` splits it for
 * A > 1. The greedy actions rebuilt here from the file and its metadata alone (no Python) must equal
 * mixrl's own for each kind of head and both families.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as M from '../../src';
import { bundleCli, type CliResult, expectSuccess, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';
const run = (args: string[]): CliResult => runCli(cli, work, args);
const ok = (args: string[]) => expectSuccess(run(args));

/** Planar: a point pushed in 2-D toward the origin; the action box is [-1, 1] x [-2, 3]. */
const PLANAR = `
export default function environments({ Box }) {
  const planar = ({ maxEpisodeSteps = 20 }) => ({
    id: 'Planar',
    observationSpace: new Box([-1, -1, -1], [1, 1, 1]),
    actionSpace: new Box([-1, -2], [1, 3]),
    stateLayout: ['x', 'y'],
    maxEpisodeSteps,
    initialState(rng, out, o) {
      out[o] = rng.uniform(-1, 1);
      out[o + 1] = rng.uniform(-1, 1);
    },
    transition(s, so, a, ao, out) {
      const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
      s[so] = clip(s[so] + 0.1 * clip(a[ao], -1, 1), -1, 1);
      s[so + 1] = clip(s[so + 1] + 0.05 * clip(a[ao + 1], -2, 3), -1, 1);
      out.reward = -(s[so] ** 2) - s[so + 1] ** 2;
      out.terminated = false;
    },
    observe(s, so, obs, oo) {
      obs[oo] = s[so];
      obs[oo + 1] = s[so + 1];
      obs[oo + 2] = s[so] * s[so + 1];
    },
  });
  return { Planar: { make: (options) => planar(options), keys: ['maxEpisodeSteps'] } };
}
`;

const TINY = ['--env', 'Planar', '--env-module', 'planar.mjs', '--steps', '200', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--log-every', '200'];
/** An agent of each head (single, mixture, uniform) and family (normal, Cauchy). */
const AGENTS = { single: 'sg-rp', mixture: 'sgm-mrp', uniform: 'usgm-rp', cauchy: 'cauchy-rp', 'cauchy-mixture': 'cm-mrp' } as const;

beforeAll(async () => {
  ({ cli, work } = bundleCli('mixrl-export-env-module-'));
  const file = path.join(work, 'planar.mjs');
  writeFileSync(file, PLANAR);
  // The same module in this process, for loadRun's own forward pass.
  const module = (await import(pathToFileURL(file).href)) as { default: (api: typeof M.envs) => Record<string, M.envs.EnvSpec> };
  for (const [id, spec] of Object.entries(module.default(M.envs))) M.envs.registerEnv(id, spec);
  for (const [kind, agent] of Object.entries(AGENTS)) ok(['train', ...TINY, '--agent', agent, '--components', '3', '--out', kind]);
});

/** Observations in Planar's box. */
const OBSERVATIONS = [
  [0.5, -0.25, -0.125],
  [-0.9, 0.3, -0.27],
  [0, 0, 0],
  [0.1, 0.8, 0.08],
];

/** The MLP of the metadata's `mlp` line: y = x @ w + b, relu after every layer but the last (float64 here). */
function forward(arrays: M.NamedArrays, prefix: string, x: number[]): number[] {
  const count = Object.keys(arrays).filter((k) => k.startsWith(`${prefix}.layers.`) && k.endsWith('.w')).length;
  let y = x;
  for (let i = 0; i < count; i++) {
    const w = arrays[`${prefix}.layers.${i}.w`];
    const b = arrays[`${prefix}.layers.${i}.b`];
    const [rows, cols] = w.shape;
    expect(rows).toBe(y.length);
    y = Array.from({ length: cols }, (_, j) => y.reduce((sum, v, r) => sum + v * Number(w.data[r * cols + j]), Number(b.data[j])));
    if (i < count - 1) y = y.map((v) => Math.max(v, 0));
  }
  return y;
}

/** The greedy action from the head output, read by the metadata's layout and action lines alone. */
function greedyFromMetadata(meta: Record<string, string>, head: number[]): number[] {
  const A = Number(meta.action_dim);
  const { kind, components } = JSON.parse(meta.actor_head) as { kind: string; components: number };
  const K = components;
  const low = JSON.parse(meta.action_low) as number[];
  const high = JSON.parse(meta.action_high) as number[];
  let u: number[];
  if (kind === 'single') {
    expect(meta.actor_head_layout).toBe('mean [A] | log_std [A]');
    expect(head).toHaveLength(2 * A);
    u = head.slice(0, A);
  } else {
    const logits = kind === 'mixture' ? head.slice(0, K) : new Array<number>(K).fill(0);
    const means = head.slice(kind === 'mixture' ? K : 0);
    expect(meta.actor_head_layout).toContain('means [K*A] | log_stds [K*A] (component-major: k*A + a)');
    expect(head).toHaveLength(2 * K * A + (kind === 'mixture' ? K : 0));
    const best = logits.indexOf(Math.max(...logits)); // uniform: component 0
    u = Array.from({ length: A }, (_, a) => means[best * A + a]);
  }
  expect(meta.action).toContain('a = (high - low) / 2 * tanh(u) + (high + low) / 2');
  return u.map((v, a) => ((high[a] - low[a]) / 2) * Math.tanh(v) + (high[a] + low[a]) / 2);
}

describe('mixrl export of a run on an env of one\'s own', () => {
  it.each(Object.keys(AGENTS) as (keyof typeof AGENTS)[])('%s, 2-D actions: the metadata\'s layout gives mixrl\'s greedy actions', async (kind) => {
    const out = path.join(kind, 'actor.safetensors');
    expect(ok(['export', kind, '--out', out, '--what', 'actor']).stdout).toMatch(new RegExp(`^${AGENTS[kind]} on Planar at step 200 -> `));
    const file = path.join(work, out);
    const decoded = M.decodeSafetensors(file, readFileSync(file));
    if (M.isLeft(decoded)) throw decoded.left;
    const { arrays, metadata } = decoded.right;
    expect(metadata).toMatchObject({ env: 'Planar', action_dim: '2', obs_dim: '3', action_low: '[-1,-2]', action_high: '[1,3]' });

    const loaded = await M.experiments.loadRun(path.join(work, kind, 'checkpoint.mixrl'), M.cpu);
    if (M.isLeft(loaded)) throw loaded.left;
    const { h, sac } = loaded.right;
    for (const obs of OBSERVATIONS) {
      const want = Array.from(await M.experiments.act(h, sac.actor, Float64Array.from(obs), M.random.key(0), 'mode'));
      const got = greedyFromMetadata(metadata, forward(arrays, 'actor', obs));
      expect(got).toHaveLength(2);
      got.forEach((v, a) => expect(Math.abs(v - want[a]), `action ${a} at ${JSON.stringify(obs)}: ${v} vs ${want[a]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[a]))));
    }
  });

  it('loads the module the run recorded, or the one --env-module names, and refuses a run whose module is gone', () => {
    ok(['export', 'single', '--format', 'npz']);
    renameSync(path.join(work, 'planar.mjs'), path.join(work, 'moved.mjs'));
    try {
      expectUserErrorResult(
        run(['export', 'single', '--format', 'npz']),
        `mixrl export: single: its env module ${path.join(work, 'planar.mjs')}: no such file; put it back, or give --env-module FILE to load the env from another file`,
      );
      expect(ok(['export', 'single', '--format', 'npz', '--env-module', 'moved.mjs']).stdout).toMatch(/^sg-rp on Planar at step 200 -> single\/weights\.npz\n/);
      writeFileSync(path.join(work, 'other.mjs'), PLANAR.replaceAll('Planar', 'Other'));
      expectUserErrorResult(run(['export', 'single', '--format', 'npz', '--env-module', 'other.mjs']), "mixrl export: --env-module other.mjs defines Other, not the run's env 'Planar' (--env Other)");
    } finally {
      renameSync(path.join(work, 'moved.mjs'), path.join(work, 'planar.mjs'));
    }
  });
});
