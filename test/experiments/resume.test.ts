import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { resolveConfig, type TrainConfig } from '../../src/experiments/config';
import { createRun, type EpisodeRecord, loadRun, type Run, saveRun, train } from '../../src/experiments/train';
import { loadCheckpoint, saveCheckpoint } from '../../src/rl';
import { cpu, full, MixrlError, type Tensor } from '../../src/tensor';

function smallConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const c = resolveConfig([
    { env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 3, steps: 360, hidden: [16, 16], batchSize: 8, learningStarts: 100, randomSteps: 50, components: 3, ...overrides },
  ]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

async function fingerprint(run: Run): Promise<string[]> {
  const [leaves] = treeFlatten(run.sac);
  const values = await Promise.all((leaves as Tensor[]).map(async (t) => Array.from(await t.data()).join(',')));
  const replay = run.replay.state();
  return [
    ...values,
    ...Object.values(replay.arrays).map((a) => Array.from(a as ArrayLike<number>).join(',')),
    Array.from(run.rollout.state).join(','),
    `${run.step} ${run.rollout.elapsed} ${run.rollout.episode} ${run.rollout.episodeReturn}`,
    run.returns.join(','),
  ];
}

describe('training runs', () => {
  it('are reproducible: the same seed gives the same run', async () => {
    const a = createRun(smallConfig(), cpu);
    const b = createRun(smallConfig(), cpu);
    await train(a, { until: 250 });
    await train(b, { until: 250 });
    expect(await fingerprint(a)).toEqual(await fingerprint(b));
    const c = createRun(smallConfig({ seed: 4 }), cpu);
    await train(c, { until: 250 });
    expect(await fingerprint(c)).not.toEqual(await fingerprint(a));
  });

  it('resume from a checkpoint mid-episode is bit-identical to an uninterrupted run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-resume-'));
    const file = path.join(dir, 'checkpoint.mixrl');
    const straight = createRun(smallConfig(), cpu);
    await train(straight, { until: 360 });

    const first = createRun(smallConfig(), cpu);
    await train(first, { until: 230 }); // mid-episode (episodes are 200 steps), after learning starts
    expect(first.rollout.elapsed).toBe(30);
    const saved = await saveRun(first, file);
    expect(isRight(saved)).toBe(true);
    const loaded = await loadRun(file, cpu);
    if (!isRight(loaded)) throw new Error(loaded.left.message);
    await train(loaded.right, { until: 360 });
    expect(await fingerprint(loaded.right)).toEqual(await fingerprint(straight));
  });

  it('a float64 run stores its transitions in float64 (its updates read them unrounded), and resumes so', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-resume-'));
    const file = path.join(dir, 'checkpoint.mixrl');
    const run = createRun(smallConfig({ dtype: 'float64' }), cpu);
    await train(run, { until: 120 });
    expect(run.replay.storage).toBe('float64');
    // An observation's float64 value, which float32 storage would have rounded.
    const stored = run.replay.state().arrays.obs as Float64Array;
    expect(stored).toBeInstanceOf(Float64Array);
    expect(Array.from(stored.slice(0, 3)).some((v) => Math.fround(v) !== v)).toBe(true);
    expect(isRight(await saveRun(run, file))).toBe(true);
    const loaded = await loadRun(file, cpu);
    if (!isRight(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.replay.storage).toBe('float64');
    expect(createRun(smallConfig(), cpu).replay.storage).toBe('float32');
  });

  it('a policy whose action is not finite stops the run naming the step, before the env is stepped with it', async () => {
    const run = createRun(smallConfig(), cpu);
    await train(run, { until: 60 }); // past the 50 random steps: the actor acts
    const layers = run.sac.actor.layers.map((l) => ({ w: l.w, b: full(l.b.shape, NaN) }));
    (run as { sac: Run['sac'] }).sac = { ...run.sac, actor: { ...run.sac.actor, layers } };
    const state = Array.from(run.rollout.state);
    await expect(train(run, { until: 70 })).rejects.toThrow(/^step 60: the policy's action is \[NaN\], not finite: the actor's parameters have diverged/);
    expect(Array.from(run.rollout.state)).toEqual(state);
    expect(run.step).toBe(60);
  });

  it('resume with trainFreq 3 and gradientSteps 2, mid-episode and between two update steps, is bit-identical too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-resume-schedule-'));
    const file = path.join(dir, 'checkpoint.mixrl');
    const schedule = { trainFreq: 3, gradientSteps: 2 };
    const straightEpisodes: EpisodeRecord[] = [];
    const straight = createRun(smallConfig(schedule), cpu);
    await train(straight, { until: 464 }, { onEpisode: (e) => straightEpisodes.push(e) });

    const episodes: EpisodeRecord[] = [];
    const first = createRun(smallConfig(schedule), cpu);
    await train(first, { until: 232 }, { onEpisode: (e) => episodes.push(e) }); // the next update comes after step 233
    expect([first.rollout.elapsed, first.sac.actorOpt.count.itemSync()]).toEqual([32, 88]); // 2 x 44 update steps: 101, 104, ..., 230
    expect(isRight(await saveRun(first, file))).toBe(true);
    const loaded = await loadRun(file, cpu);
    if (!isRight(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.config).toMatchObject(schedule);
    await train(loaded.right, { until: 464 }, { onEpisode: (e) => episodes.push(e) });
    expect(episodes).toEqual(straightEpisodes);
    expect(episodes.length).toBe(2);
    expect(await fingerprint(loaded.right)).toEqual(await fingerprint(straight));
  });

  it('records time-limit ends as truncation, not termination', async () => {
    const run = createRun(smallConfig({ steps: 210, learningStarts: 1000 }), cpu);
    await train(run, { until: 210 });
    const { terminated } = run.replay.state().arrays;
    expect(Array.from(terminated).every((t) => t === 0)).toBe(true);
    expect(run.returns.length).toBe(1);
  });
});

describe('loadRun on a checkpoint written before the update schedule keys existed', () => {
  it('reads trainFreq 1, gradientSteps 1 and targetEntropy auto, and trains on as the run it saved', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-old-keys-'));
    const [current, old] = [path.join(dir, 'current.mixrl'), path.join(dir, 'old.mixrl')];
    const run = createRun(smallConfig({ autoAlpha: true }), cpu);
    await train(run, { until: 150 });
    expect(isRight(await saveRun(run, current))).toBe(true);
    const saved = await loadCheckpoint(current, { backend: cpu });
    if (!isRight(saved)) throw new Error(saved.left.message);
    const { metadata, trees, arrays } = saved.right as { metadata: Record<string, any>; trees: Record<string, any>; arrays: any };
    const { trainFreq: _f, gradientSteps: _g, targetEntropy: _t, ...config } = metadata.config;
    expect(isRight(await saveCheckpoint(old, { metadata: { ...metadata, config }, trees, arrays }))).toBe(true);
    const [fromOld, fromCurrent] = await Promise.all([loadRun(old, cpu), loadRun(current, cpu)]);
    if (!isRight(fromOld) || !isRight(fromCurrent)) throw new Error('a checkpoint did not load');
    expect(fromOld.right.config).toEqual(fromCurrent.right.config);
    expect(fromOld.right.config).toMatchObject({ trainFreq: 1, gradientSteps: 1, targetEntropy: 'auto' });
    await train(fromOld.right, { until: 250 });
    await train(fromCurrent.right, { until: 250 });
    expect(await fingerprint(fromOld.right)).toEqual(await fingerprint(fromCurrent.right));
  });
});

describe('loadRun on a checkpoint whose checksums pass but whose contents do not fit', () => {
  it('names the file and the bad part', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-crafted-'));
    const good = path.join(dir, 'good.mixrl');
    const run = createRun(smallConfig({ hidden: [8, 8], components: 2 }), cpu);
    await train(run, { until: 120 });
    expect(isRight(await saveRun(run, good))).toBe(true);
    const original = await loadCheckpoint(good, { backend: cpu });
    if (!isRight(original)) throw new Error(original.left.message);
    const { metadata, trees, arrays } = original.right as { metadata: Record<string, any>; trees: Record<string, any>; arrays: any };
    let n = 0;
    /** The message loadRun gives for the checkpoint with these changes, whose file name it must start with. */
    const problem = async (change: { metadata?: object; sac?: object; config?: object }) => {
      const file = path.join(dir, `crafted-${n++}.mixrl`);
      const meta = { ...metadata, ...change.metadata, config: { ...metadata.config, ...change.config } };
      const saved = await saveCheckpoint(file, { metadata: meta, trees: { sac: change.sac ?? trees.sac }, arrays });
      if (!isRight(saved)) throw new Error(saved.left.message);
      const loaded = await loadRun(file, cpu);
      if (!isLeft(loaded)) return 'loaded';
      expect(loaded.left).toBeInstanceOf(MixrlError);
      expect(loaded.left.message.startsWith(`${file}: `)).toBe(true);
      return loaded.left.message.slice(file.length + 2);
    };
    expect(await problem({ metadata: { step: 'abc' } })).toBe('\'step\' must be a non-negative integer, got "abc"');
    expect(await problem({ metadata: { step: -50 } })).toBe("'step' must be a non-negative integer, got -50");
    expect(await problem({ metadata: { step: 119 } })).toBe("'replay.size' must be 119 for this config at step 119, got 120");
    expect(await problem({ metadata: { rollout: null } })).toBe("'rollout' must hold elapsed (below 200), episode and episodeReturn, got null");
    expect(await problem({ config: { hidden: [16, 16] } })).toBe("'sac.actor.layers[0].b' is float32[8]; its config makes float32[16]");
    expect(await problem({ config: { agent: 'sg-rp' } })).toMatch(/^'sac\.actor\.layers\[2\]\.b' is float32\[\d+\]; its config makes float32\[2\]$/);
    expect(await problem({ config: { envOptions: { bogus: 1 } } })).toMatch(/^config: 'envOptions': ShapedPendulum: unknown option 'bogus'/);
    expect(await problem({ config: { env: 'Acrobot' } })).toMatch(/^the episode state \('rollout\.state', 'rollout\.obs'\) does not fit Acrobot$/);
    expect(await problem({ config: { alpha: -1 } })).toBe("config: 'alpha' must be a positive number, got -1");
    const { actor: _actor, ...noActor } = trees.sac;
    expect(await problem({ sac: noActor })).toMatch(/^tree 'sac' \(saved vs what its config makes\): structure differs at \(root\): keys \{/);
    expect(await problem({})).toBe('loaded');
  });
});
