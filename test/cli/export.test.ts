/**
 * `mixrl export` end to end: tiny runs trained through the command, exported, and rebuilt in PyTorch
 * from the files alone (the .npz through numpy.load, the .safetensors through a reader written from
 * the format's README, the network and the policy head from the metadata's conventions). PyTorch's
 * head outputs, greedy actions and Q-values must match mixrl's own forward pass on the same
 * observations to float32 precision. Skipped where /usr/bin/python3 with NumPy and PyTorch is
 * missing; the user errors are checked everywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as M from '../../src';
import { PYTHON, pythonWith, runPython } from '../python-peer';
import { bundleCli, type CliResult, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';
const run = (args: string[]): CliResult => runCli(cli, work, args);

const TINY = ['--steps', '300', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--log-every', '300'];

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-export-'));
  for (const args of [
    ['--env', 'Pendulum', '--agent', 'sg-rp', '--out', 'single'],
    ['--env', 'MountainCarContinuous-v0', '--agent', 'sgm-mrp', '--components', '3', '--out', 'mixture'],
  ]) {
    const r = run(['train', ...args, ...TINY]);
    expect(r.code, r.stderr).toBe(0);
  }
});

describe('mixrl export: bad input', () => {
  it('names what is wrong, in one line', () => {
    expectUserErrorResult(run(['export']), 'mixrl export: give a checkpoint file or a run folder (mixrl export --help)');
    expectUserErrorResult(run(['export', 'single', 'other', '--format', 'npz']), "mixrl export: unexpected argument 'other'");
    expectUserErrorResult(run(['export', 'single']), 'mixrl export: give --format npz|safetensors (or an --out FILE ending in .npz or .safetensors)');
    expectUserErrorResult(run(['export', 'single', '--format', 'onnx']), "mixrl export: flag --format must be npz or safetensors, got 'onnx'");
    expectUserErrorResult(run(['export', 'single', '--format', 'npz', '--what', 'policy']), "mixrl export: flag --what must be actor, critics or all, got 'policy'");
    expectUserErrorResult(run(['export', 'single', '--format', 'npz', '--out', 'w.safetensors']), 'mixrl export: --out w.safetensors ends in .safetensors but --format is npz');
    // An --out without the format's extension could name the run's own checkpoint or logs.
    expectUserErrorResult(run(['export', 'single', '--format', 'npz', '--out', 'single/checkpoint.mixrl']), 'mixrl export: --out single/checkpoint.mixrl must end in .npz (the weights\' format)');
    expectUserErrorResult(run(['export', 'single', '--format', 'safetensors', '--out', 'single/config.json']), 'mixrl export: --out single/config.json must end in .safetensors (the weights\' format)');
    expectUserErrorResult(run(['export', 'single', '--fromat', 'npz']), 'mixrl export: unknown flag --fromat; known flags: --format --out --what');
    expectUserErrorResult(run(['export', 'nowhere', '--format', 'npz']), /^mixrl export: nowhere\/checkpoint\.mixrl: cannot read the checkpoint: ENOENT/);
  });

  it('--help lists the flags', () => {
    const r = run(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: mixrl export <checkpoint file or run folder> --format npz\|safetensors \[--out FILE\] \[--what actor\|critics\|all\]/);
  });
});

/** Observations to compare on, in each env's range. */
const OBSERVATIONS = {
  single: [[1, 0, 0], [0.5, -0.8, 1.2], [-1, 0, -8], [0.2, 0.98, 3]],
  mixture: [[-0.5, 0], [-1.2, 0.07], [0.45, -0.02], [0, 0.03]],
};

/** mixrl's own forward pass on the run's checkpoint: head outputs, greedy actions, Q of critic 0 at those actions. */
async function mixrlForward(folder: keyof typeof OBSERVATIONS) {
  const loaded = await M.experiments.loadRun(path.join(work, folder, 'checkpoint.mixrl'), M.cpu);
  if (M.isLeft(loaded)) throw loaded.left;
  const { h, sac } = loaded.right;
  const obs = M.tensor(OBSERVATIONS[folder], { backend: M.cpu });
  const head = M.mlp(sac.actor, obs).toArraySync() as number[][];
  const actions: number[][] = [];
  for (const o of OBSERVATIONS[folder]) actions.push(Array.from(await M.experiments.act(h, sac.actor, Float64Array.from(o), M.random.key(0), 'mode')));
  const q = Array.from(M.qValue(sac.critics[0], obs, M.tensor(actions, { backend: M.cpu })).dataSync());
  return { head, actions, q, logAlpha: sac.logAlpha.itemSync() };
}

/** Float32 agreement: relative 1e-5 with an absolute floor. */
function expectClose(got: number[][] | number[], want: number[][] | number[]) {
  const g = got.flat();
  const w = want.flat();
  expect(g).toHaveLength(w.length);
  g.forEach((x, i) => expect(Math.abs(x - w[i]), `element ${i}: ${x} vs ${w[i]}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[i]))));
}

/** The PyTorch side: the MLP of `x @ w + b` with ReLU between layers, from named arrays. */
const TORCH_MLP = `
import json, struct, sys
import numpy as np
import torch

def mlp(arrays, prefix, x):
    n = len([k for k in arrays if k.startswith(prefix + ".layers.") and k.endswith(".w")])
    for i in range(n):
        x = x @ torch.from_numpy(arrays[f"{prefix}.layers.{i}.w"]) + torch.from_numpy(arrays[f"{prefix}.layers.{i}.b"])
        if i < n - 1:
            x = torch.relu(x)
    return x
`;

describe.skipIf(!pythonWith('numpy', 'torch'))(`mixrl export, rebuilt in PyTorch (${PYTHON})`, () => {
  it('the actor of a squashed-Gaussian run, from its .npz', async () => {
    const r = run(['export', 'single', '--format', 'npz', '--what', 'actor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sg-rp on Pendulum at step 300 -> single\/actor\.npz\n/);
    expect(r.stdout).toContain('  actor.layers.0.w         float32[3,8]\n');
    expect(existsSync(path.join(work, 'single', 'actor.npz'))).toBe(true);
    const torch = runPython(
      `${TORCH_MLP}
with np.load(sys.argv[1]) as z:
    arrays = {k: z[k] for k in z.files}
x = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float32)
head = mlp(arrays, "actor", x)
mean = head[:, :1]  # single head: [mean (A) | log_std (A)], A = 1
low, high = -2.0, 2.0
action = (high - low) / 2 * torch.tanh(mean) + (high + low) / 2
print(json.dumps({"names": sorted(arrays), "head": head.tolist(), "actions": action.tolist()}))`,
      [path.join(work, 'single', 'actor.npz'), JSON.stringify(OBSERVATIONS.single)],
    ) as { names: string[]; head: number[][]; actions: number[][] };
    expect(torch.names).toEqual(['0.b', '0.w', '1.b', '1.w', '2.b', '2.w'].map((k) => `actor.layers.${k}`));
    const ours = await mixrlForward('single');
    expectClose(torch.head, ours.head);
    expectClose(torch.actions, ours.actions);
  });

  it('a mixture run, all its networks from its .safetensors and the conventions in its metadata', async () => {
    const out = path.join('exports', 'mixture.safetensors');
    const r = run(['export', 'mixture', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/metadata \(in the file, __metadata__\):\n {2}mixrl_version +\d/);
    const torch = runPython(
      `${TORCH_MLP}
b = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", b[:8])
header = json.loads(b[8 : 8 + n])
meta = header.pop("__metadata__")
DTYPES = {"F32": "<f4", "F64": "<f8"}
arrays = {k: np.frombuffer(b[8 + n + v["data_offsets"][0] : 8 + n + v["data_offsets"][1]], DTYPES[v["dtype"]]).reshape(v["shape"]).copy() for k, v in header.items()}
x = torch.tensor(json.loads(sys.argv[2]), dtype=torch.float32)
head = mlp(arrays, "actor", x)
spec = json.loads(meta["actor_head"])
K, A = spec["components"], int(meta["action_dim"])
assert spec["kind"] == "mixture" and meta["actor_head_layout"].startswith("logits [K] | means [K*A] | log_stds [K*A]")
logits, means = head[:, :K], head[:, K : K + K * A].reshape(-1, K, A)
u = means[torch.arange(len(x)), logits.argmax(-1)]  # greedy: the most likely component's mean
low, high = torch.tensor(json.loads(meta["action_low"])), torch.tensor(json.loads(meta["action_high"]))
action = (high - low) / 2 * torch.tanh(u) + (high + low) / 2
q = mlp(arrays, "critics.0", torch.cat([x, action], -1))[:, 0]
print(json.dumps({"meta": {k: v for k, v in meta.items() if k != "config"}, "config": json.loads(meta["config"]), "names": sorted(arrays), "head": head.tolist(), "actions": action.tolist(), "q": q.tolist(), "logAlpha": float(arrays["logAlpha"]), "logAlphaShape": list(arrays["logAlpha"].shape)}))`,
      [path.join(work, out), JSON.stringify(OBSERVATIONS.mixture)],
    ) as { meta: Record<string, string>; config: M.experiments.TrainConfig; names: string[]; head: number[][]; actions: number[][]; q: number[]; logAlpha: number; logAlphaShape: number[] };
    expect(torch.meta).toMatchObject({ env: 'MountainCarContinuous-v0', agent: 'sgm-mrp', step: '300', obs_dim: '2', action_dim: '1', hidden: '[8,8]', dtype: 'float32' });
    expect(torch.config).toEqual(JSON.parse(readFileSync(path.join(work, 'mixture', 'config.json'), 'utf8')));
    const layers = (net: string) => ['0.b', '0.w', '1.b', '1.w', '2.b', '2.w'].map((k) => `${net}.layers.${k}`);
    expect(torch.names).toEqual([...layers('actor'), ...layers('critics.0'), ...layers('critics.1'), 'logAlpha', ...layers('targets.0'), ...layers('targets.1')]);
    expect(torch.logAlphaShape).toEqual([]);
    const ours = await mixrlForward('mixture');
    expect(torch.head[0]).toHaveLength(3 + 2 * 3);
    expectClose(torch.head, ours.head);
    expectClose(torch.actions, ours.actions);
    expectClose(torch.q, ours.q);
    expect(torch.logAlpha).toBe(ours.logAlpha);
  });
});
