/**
 * Periodic evaluation: its schedule, that it leaves training's random streams alone, that a resumed
 * run continues it, and that its numbers are `evaluate`'s at the same point of training.
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { resolveConfig, type TrainConfig, validatePartial } from '../../src/experiments/config';
import { evalSeed, evaluate, evaluateEpisodes, evaluateRun, type EvaluationRecord } from '../../src/experiments/evaluation';
import { createRun, type EpisodeRecord, loadRun, type Run, saveRun, train } from '../../src/experiments/train';
import { loadCheckpoint, saveCheckpoint } from '../../src/rl';
import { cpu, type Tensor } from '../../src/tensor';

/** ShapedPendulum: 200-step episodes, no early ends, so lengths are known. */
function smallConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const c = resolveConfig([
    { env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 3, steps: 360, hidden: [16, 16], batchSize: 8, learningStarts: 100, randomSteps: 50, components: 3, ...overrides },
  ]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

async function weights(run: Run): Promise<string[]> {
  const [leaves] = treeFlatten(run.sac);
  return Promise.all((leaves as Tensor[]).map(async (t) => Array.from(await t.data()).join(',')));
}

/** Trains `run` to `until`, evaluating when the config says; returns the episodes and evaluations seen. */
async function trainLogged(run: Run, until: number) {
  const episodes: EpisodeRecord[] = [];
  const evaluations: EvaluationRecord[] = [];
  const at: number[] = [];
  await train(run, { until }, {
    onEpisode: (e) => episodes.push(e),
    onEvaluate: async (r) => {
      at.push(r.step);
      evaluations.push(await evaluateRun(r));
    },
  });
  return { episodes, evaluations, at };
}

/** An evaluation without its clock readings, which differ from run to run. */
const timeless = ({ wallTime: _w, seconds: _s, ...rest }: EvaluationRecord) => rest;

const populationStd = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) * (b - m), 0) / xs.length);
};

describe('periodic evaluation', () => {
  it('runs at each multiple of evalEvery and never when it is 0', async () => {
    const off = await trainLogged(createRun(smallConfig({ evalEvery: 0 }), cpu), 250);
    expect(off.at).toEqual([]);
    const on = await trainLogged(createRun(smallConfig({ evalEvery: 120, evalEpisodes: 2 }), cpu), 360);
    expect(on.at).toEqual([120, 240, 360]);
    expect(on.evaluations.map((e) => [e.step, e.seed, e.episodes])).toEqual([
      [120, 1_000_006, 2],
      [240, 1_000_006, 2],
      [360, 1_000_006, 2],
    ]);
  });

  it('leaves training unchanged: the same episodes and weights as a run without it', async () => {
    const plain = createRun(smallConfig(), cpu);
    const evaluated = createRun(smallConfig({ evalEvery: 50, evalEpisodes: 2 }), cpu);
    const a = await trainLogged(plain, 450);
    const b = await trainLogged(evaluated, 450);
    expect(b.evaluations).toHaveLength(9); // it did evaluate, sampled actions included, mid-episode too
    expect(a.episodes).toHaveLength(2);
    expect(b.episodes).toEqual(a.episodes);
    expect(await weights(evaluated)).toEqual(await weights(plain));
    expect(Array.from(evaluated.rollout.state)).toEqual(Array.from(plain.rollout.state));
    expect(evaluated.replay.state().arrays).toEqual(plain.replay.state().arrays);
  });

  it('records what evaluate gives at that point of training, with its statistics', async () => {
    const config = smallConfig({ evalEvery: 150, evalEpisodes: 3 });
    const logged = await trainLogged(createRun(config, cpu), 300);
    const [first, second] = logged.evaluations;
    // The same run stopped at step 150 and evaluated by hand, with the seed documented for it.
    const byHand = createRun(config, cpu);
    await train(byHand, { until: 150 });
    const seed = 3 + 1_000_003;
    expect(evalSeed(config)).toBe(seed);
    const mode = await evaluate(byHand, 3, 'mode', seed);
    const sample = await evaluate(byHand, 3, 'sample', seed);
    expect(first.mode.returns).toEqual(mode);
    expect(first.sample.returns).toEqual(sample);
    expect(sample).not.toEqual(mode);
    expect((await evaluateEpisodes(byHand, 3, 'mode', seed)).lengths).toEqual([200, 200, 200]);
    for (const [stats, returns] of [[first.mode, mode], [first.sample, sample]] as const) {
      expect(stats.mean).toBeCloseTo((returns[0] + returns[1] + returns[2]) / 3, 9);
      expect(stats.std).toBeCloseTo(populationStd([...returns]), 9);
      expect(stats.min).toBe(Math.min(...returns));
      expect(stats.max).toBe(Math.max(...returns));
      expect(stats.lengths).toEqual([200, 200, 200]);
      expect(stats.meanLength).toBe(200);
    }
    // The policy moved between evaluations; the start states (same seed) did not.
    expect(second.mode.returns).not.toEqual(first.mode.returns);
    expect(Object.keys(first).sort()).toEqual(['episodes', 'mode', 'sample', 'seconds', 'seed', 'step', 'wallTime']);
    expect(first.wallTime).toBeGreaterThan(1.7e9);
    expect(first.wallTime).toBeLessThanOrEqual(Date.now() / 1000);
    expect(first.seconds).toBeGreaterThan(0);
  });

  it('continues its schedule in a resumed run: the evaluations of an uninterrupted one, once each', async () => {
    const config = smallConfig({ evalEvery: 100, evalEpisodes: 2 });
    const straight = await trainLogged(createRun(config, cpu), 360);
    expect(straight.at).toEqual([100, 200, 300]);

    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mixrl-eval-resume-')), 'checkpoint.mixrl');
    const first = createRun(config, cpu);
    const before = await trainLogged(first, 230); // between evaluations, mid-episode
    expect(isRight(await saveRun(first, file))).toBe(true);
    const loaded = await loadRun(file, cpu);
    if (!isRight(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.config.evalEvery).toBe(100);
    const after = await trainLogged(loaded.right, 360);
    expect([...before.at, ...after.at]).toEqual([100, 200, 300]);
    expect([...before.evaluations, ...after.evaluations].map(timeless)).toEqual(straight.evaluations.map(timeless));

    // Resumed exactly at an evaluation's step: that evaluation is not run again.
    const atEval = createRun(config, cpu);
    await trainLogged(atEval, 200);
    expect(isRight(await saveRun(atEval, file))).toBe(true);
    const again = await loadRun(file, cpu);
    if (!isRight(again)) throw new Error(again.left.message);
    expect((await trainLogged(again.right, 360)).at).toEqual([300]);
  });

  it('reads a checkpoint saved before these keys existed as one with them off', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-eval-old-'));
    const run = createRun(smallConfig({ evalEvery: 100, tensorboard: true }), cpu);
    await train(run, { until: 120 });
    expect(isRight(await saveRun(run, path.join(dir, 'new.mixrl')))).toBe(true);
    const saved = await loadCheckpoint(path.join(dir, 'new.mixrl'), { backend: cpu });
    if (!isRight(saved)) throw new Error(saved.left.message);
    const { metadata, trees, arrays } = saved.right as { metadata: Record<string, any>; trees: Record<string, any>; arrays: any };
    expect(metadata.config).toMatchObject({ evalEvery: 100, evalEpisodes: 10, tensorboard: true });
    const { evalEvery: _a, evalEpisodes: _b, tensorboard: _c, ...older } = metadata.config;
    expect(isRight(await saveCheckpoint(path.join(dir, 'old.mixrl'), { metadata: { ...metadata, config: older }, trees, arrays }))).toBe(true);
    const loaded = await loadRun(path.join(dir, 'old.mixrl'), cpu);
    if (!isRight(loaded)) throw new Error(loaded.left.message);
    expect([loaded.right.config.evalEvery, loaded.right.config.evalEpisodes, loaded.right.config.tensorboard]).toEqual([0, 10, false]);
    expect(loaded.right.step).toBe(120);
  });

  it('derives a seed of its own from the training seed, even at the ends of the safe integers', () => {
    expect(evalSeed({ seed: 0 })).toBe(1_000_003);
    expect(evalSeed({ seed: -5 })).toBe(999_998);
    expect(evalSeed({ seed: Number.MAX_SAFE_INTEGER })).toBe(Number.MAX_SAFE_INTEGER - 1_000_003);
    expect(Number.isSafeInteger(evalSeed({ seed: Number.MIN_SAFE_INTEGER }))).toBe(true);
  });
});

describe('evaluation config keys', () => {
  /** What a config file c.json with these keys gets: checked as read, then resolved. */
  const problem = (layer: Record<string, unknown>) => {
    const read = validatePartial(layer, 'c.json');
    if (!isRight(read)) return read.left.message;
    const c = resolveConfig([read.right], ['c.json']);
    return isRight(c) ? 'accepted' : c.left.message;
  };
  it('default to no evaluation, 10 episodes, no TensorBoard', () => {
    const c = smallConfig();
    expect([c.evalEvery, c.evalEpisodes, c.tensorboard]).toEqual([0, 10, false]);
  });
  it('name the key and the source of a bad value', () => {
    expect(problem({ evalEvery: -1 })).toBe("c.json: 'evalEvery' must be a non-negative integer, got -1");
    expect(problem({ evalEvery: 2.5 })).toBe("c.json: 'evalEvery' must be a non-negative integer, got 2.5");
    expect(problem({ evalEpisodes: 0 })).toBe("c.json: 'evalEpisodes' must be a positive integer, got 0");
    expect(problem({ tensorboard: 'yes' })).toBe('c.json: \'tensorboard\' must be true or false, got "yes"');
    expect(problem({ evalEvery: 500, evalEpisodes: 3, tensorboard: true })).toBe('accepted');
  });
});
