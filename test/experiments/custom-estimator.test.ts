/**
 * An estimator of the caller's own trains through the library's loop: given as a function, it is
 * what the update differentiates (the built-in MRP under another name gives the built-in run bit
 * for bit; a score-function estimator gives another run), one that fails is refused when its run is
 * made (a traced update), and a checkpoint asks for it back, unless only its weights are wanted
 * (`weightsOnly`, `mixrl export`).
 */
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { resolveConfig, type TrainConfig } from '../../src/experiments/config';
import { createRun, loadRun, type Run, saveRun, train } from '../../src/experiments/train';
import { exportCommand } from '../../src/cli/export';
import { loadWeights } from '../../src/rl/interop';
import { type Estimator, estimators } from '../../src/rl/estimators';
import * as T from '../../src/tensor';

const config = (): TrainConfig => {
  const c = resolveConfig([{ env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 5, steps: 200, hidden: [16, 16], batchSize: 8, learningStarts: 100, components: 3 }]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
};

const actorBits = (run: Run) => (treeFlatten(run.sac.actor)[0] as T.Tensor[]).map((t) => Array.from(t.dataSync()).join());

/** Score function with the batch's mean soft value as baseline (no reparameterization). */
const scoreFunction: Estimator = ({ policy, critic, alpha, key }) => {
  const [a, logProb] = policy.sampleAndLogProb(key);
  const v = T.stopGradient(T.sub(T.squeeze(critic(T.expandDims(a, 1)), 1), T.mul(logProb, alpha)));
  return T.add(T.mean(T.mul(logProb, T.sub(v, T.mean(v)))), T.mean(v));
};

describe('a custom estimator', () => {
  it('is the one the update differentiates', async () => {
    const builtIn = createRun(config(), T.cpu);
    const myMrp: Estimator = (input) => estimators.mrp(input);
    const same = createRun(config(), T.cpu, { estimator: myMrp });
    const other = createRun(config(), T.cpu, { estimator: scoreFunction });
    for (const run of [builtIn, same, other]) await train(run, { until: 160 });
    expect(actorBits(same)).toEqual(actorBits(builtIn));
    expect(actorBits(other)).not.toEqual(actorBits(builtIn));
    expect(actorBits(other).join().includes('NaN')).toBe(false);
  });

  it('is traced in one update when its run is made, and a config that names one needs it', () => {
    const perState: Estimator = ({ policy, key }) => T.sum(policy.sample(key), -1);
    expect(() => createRun(config(), T.cpu, { estimator: perState })).toThrow(
      "custom estimator 'perState', in a traced SAC update: it returned f32[8], not a float scalar tensor (the surrogate whose gradient is the estimate)",
    );
    const reads: Estimator = (input) => T.tensor(estimators.mrp(input).dataSync()[0]);
    expect(() => createRun(config(), T.cpu, { estimator: reads })).toThrow(/^custom estimator 'reads', in a traced SAC update: cannot read the value of a staged f32\[\]/);
    const named = { ...config(), estimator: 'mine', estimatorModule: { path: '/home/me/mine.mjs', sha256: 'ab'.repeat(32) } };
    expect(() => createRun(named, T.cpu)).toThrow("config: 'estimator' 'mine' is an estimator of /home/me/mine.mjs; give it: createRun(config, backend, { estimator })");
  });

  it('is asked for again when its run is loaded', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mixrl-custom-')), 'checkpoint.mixrl');
    const run = createRun(config(), T.cpu, { estimator: scoreFunction });
    await train(run, { until: 120 });
    expect(isRight(await saveRun(run, file))).toBe(true);
    const without = await loadRun(file, T.cpu);
    expect(isLeft(without) && without.left.message).toBe(`${file}: trained with the custom estimator 'scoreFunction'; give it again: loadRun(path, backend, { estimator })`);
    const again = await loadRun(file, T.cpu, { estimator: scoreFunction });
    if (!isRight(again)) throw new Error(again.left.message);
    const straight = createRun(config(), T.cpu, { estimator: scoreFunction });
    await train(straight, { until: 160 });
    await train(again.right, { until: 160 });
    expect(actorBits(again.right)).toEqual(actorBits(straight));
  });

  it('is not needed for the weights: loadRun({ weightsOnly }) and mixrl export read the run\'s params bit for bit', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'mixrl-custom-export-'));
    const file = path.join(folder, 'checkpoint.mixrl');
    const run = createRun(config(), T.cpu, { estimator: scoreFunction });
    await train(run, { until: 120 });
    expect(isRight(await saveRun(run, file))).toBe(true);

    const weights = await loadRun(file, T.cpu, { weightsOnly: true });
    if (!isRight(weights)) throw new Error(weights.left.message);
    expect(actorBits(weights.right)).toEqual(actorBits(run));
    // It stands in for the estimator under its name, and refuses to train.
    expect(typeof weights.right.h.estimator === 'function' && weights.right.h.estimator.name).toBe('scoreFunction');
    await expect(train(weights.right, { until: 160 })).rejects.toThrow(
      `${file}: loaded with { weightsOnly: true }, without its custom estimator 'scoreFunction'; to train it, give it: loadRun(path, backend, { estimator })`,
    );

    const out = path.join(folder, 'actor.npz');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const exported = await exportCommand([folder, '--format', 'npz', '--what', 'actor']).finally(() => log.mockRestore());
    expect(exported).toEqual({ _tag: 'Right', right: 0 });
    const read = await loadWeights(out, { template: { actor: run.sac.actor }, backend: T.cpu });
    if (!isRight(read)) throw new Error(read.left.message);
    const bits = (tree: unknown) => (treeFlatten(tree)[0] as T.Tensor[]).map((t) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)).join());
    expect(run.config.dtype).toBe('float32');
    expect(bits(read.right.actor)).toEqual(bits(run.sac.actor));
  });
});
