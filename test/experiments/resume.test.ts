import { isRight } from 'fp-ts/lib/Either.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { resolveConfig, type TrainConfig } from '../../src/experiments/config';
import { createRun, loadRun, type Run, saveRun, train } from '../../src/experiments/train';
import { cpu, type Tensor } from '../../src/tensor';

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

  it('records time-limit ends as truncation, not termination', async () => {
    const run = createRun(smallConfig({ steps: 210, learningStarts: 1000 }), cpu);
    await train(run, { until: 210 });
    const { terminated } = run.replay.state().arrays;
    expect(Array.from(terminated).every((t) => t === 0)).toBe(true);
    expect(run.returns.length).toBe(1);
  });
});
