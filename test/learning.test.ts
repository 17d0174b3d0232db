/**
 * Learning, with fixed seeds: the paper's agents on its classic-control tasks within the issue's
 * budgets. Each run is deterministic (same seed, same run), so these are regression tests of the whole
 * stack (envs, distributions, estimators, SAC, autodiff) rather than statistical claims; the margins
 * measured when they were written are in each test's comment.
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type TrainConfig } from '../src/experiments/config';
import { createRun, type EpisodeRecord, recentReturn, train } from '../src/experiments/train';
import { cpu } from '../src/tensor';

function config(overrides: Partial<TrainConfig>): TrainConfig {
  const c = resolveConfig([overrides]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

const MINUTES = 60_000;

describe('learning (the paper classic-control defaults; MountainCar with the authors\' best setting)', () => {
  it('SG-RP on ShapedPendulum: mean return of the last 10 episodes above -250 within 20k steps', async () => {
    // Measured: -150.7 at 20k steps (seed 0).
    const run = createRun(config({ env: 'ShapedPendulum', agent: 'sg-rp', seed: 0, steps: 20_000 }), cpu);
    await train(run, { until: 20_000 });
    expect(recentReturn(run, 10)).toBeGreaterThan(-250);
  }, 30 * MINUTES);

  it('SGM-MRP on ShapedPendulum: mean return of the last 10 episodes above -250 within 20k steps', async () => {
    // Measured: -151.0 at 20k steps (seed 0).
    const run = createRun(config({ env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 0, steps: 20_000 }), cpu);
    await train(run, { until: 20_000 });
    expect(recentReturn(run, 10)).toBeGreaterThan(-250);
  }, 30 * MINUTES);

  it('SGM-MRP on MountainCar (unshaped, -1 per step) reaches the goal within 30k steps', async () => {
    // Measured: first goal at step 10,793 (seed 0); seed 1 at 23,555. Runs of this task vary a lot by
    // seed (README: over seeds 0-4 some never reach it in 60k steps, for SGM-MRP and SG-RP alike).
    // With critic lr 1e-3 no agent reached it in 30k steps (an earlier session).
    const episodes: EpisodeRecord[] = [];
    const run = createRun(config({ env: 'MountainCar', agent: 'sgm-mrp', seed: 0, steps: 30_000 }), cpu);
    await train(run, { until: 30_000 }, { onEpisode: (e) => episodes.push(e) });
    expect(episodes.some((e) => e.terminated)).toBe(true);
  }, 30 * MINUTES);
});
