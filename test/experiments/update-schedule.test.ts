/**
 * The training loop's update schedule (`trainFreq`, `gradientSteps`) and automatic α's target
 * (`targetEntropy`). Each expectation comes from outside the loop: the number of updates from a
 * plain count of the steps the schedule picks, witnessed by Adam's update count in the agent's
 * state; the updates' randomness from the keys docs/training.md documents, run by hand through the
 * SAC update; the α step from the first Adam step written out (as test/rl/sac-reference.test.ts does).
 */
import { isRight } from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { Box, makeModel } from '../../src/envs';
import { resolveConfig, type TrainConfig } from '../../src/experiments/config';
import { createRun, hyperparameters, type Run, train } from '../../src/experiments/train';
import { makeSacUpdate, type SacState } from '../../src/rl/sac/update';
import * as T from '../../src/tensor';
import { cpu } from '../../src/tensor';
import { rawFoldIn, rawKey, type RawKey } from '../../src/tensor/threefry';

function config(overrides: Partial<TrainConfig>): TrainConfig {
  const c = resolveConfig([{ env: 'ShapedPendulum', agent: 'sg-rp', seed: 5, steps: 1000, hidden: [8], batchSize: 4, ...overrides }]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

/** Every leaf of the agent's state (params, targets, log α, the three optimizers' states), as bits. */
const leaves = (sac: SacState) => (treeFlatten(sac)[0] as T.Tensor[]).map((t) => Array.from(t.dataSync()));

describe('the update schedule', () => {
  it("runs gradientSteps updates after each trainFreq-th step once learning starts: Adam's count says how many", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          steps: fc.integer({ min: 1, max: 45 }),
          learningStarts: fc.integer({ min: 0, max: 40 }),
          trainFreq: fc.integer({ min: 1, max: 6 }),
          gradientSteps: fc.integer({ min: 1, max: 3 }),
          replayCapacity: fc.constantFrom(12, 1000),
        }),
        async (schedule) => {
          const { steps, learningStarts, trainFreq, gradientSteps } = schedule;
          const run = createRun(config({ ...schedule, autoAlpha: true }), cpu);
          await train(run, { until: steps });
          // Learning starts after learningStarts steps, whatever the capacity (12 < learningStarts trains too, as SB3).
          let updates = 0;
          for (let s = 0; s < steps; s++) {
            if (s + 1 >= learningStarts && (s + 1) % trainFreq === 0) updates += gradientSteps;
          }
          const { actorOpt, criticOpt, alphaOpt } = run.sac;
          expect([actorOpt.count, criticOpt.count, alphaOpt.count].map((c) => c.itemSync())).toEqual([updates, updates, updates]);
        },
      ),
      { numRuns: 12 },
    );
  });

  // gradientSteps 1 is the default: its one update draws exactly the keys of the loop before the schedule existed.
  it.each([1, 3])('update j after step s draws rawFoldIn(replayKey, s) and rawFoldIn(updateKey, s), with j folded in on top for j > 0 (gradientSteps %i)', async (gradientSteps) => {
    const s = 30; // the first update comes after step 30, when the buffer holds 31 transitions
    const trained = createRun(config({ learningStarts: s + 1, gradientSteps }), cpu);
    await train(trained, { until: s + 1 });
    // The same 31 steps without an update: the same actions (the actor moves only after step s), the same buffer.
    const byHand = createRun(config({ learningStarts: 10_000 }), cpu);
    await train(byHand, { until: s + 1 });
    expect(byHand.replay.state()).toEqual(trained.replay.state());

    // The loop's streams: the seed's key with the tag folded in (update 2, replay 3).
    const seedKey = rawKey(trained.config.seed);
    const [updateKey, replayKey] = [rawFoldIn(seedKey, 2), rawFoldIn(seedKey, 3)];
    const update = makeSacUpdate(byHand.h);
    let sac = byHand.sac;
    for (let j = 0; j < gradientSteps; j++) {
      const onTop = (k: RawKey) => (j === 0 ? k : rawFoldIn(k, j));
      const batch = byHand.replay.sample(onTop(rawFoldIn(replayKey, s)), byHand.config.batchSize, { backend: cpu });
      [sac] = update(sac, batch, T.tensor(onTop(rawFoldIn(updateKey, s)), { backend: cpu }));
    }
    expect(sac.actorOpt.count.itemSync()).toBe(gradientSteps);
    expect(leaves(trained.sac)).toEqual(leaves(sac));
  });
});

describe('targetEntropy', () => {
  const pendulum = makeModel('Pendulum');
  /** Pendulum with a three-dimensional action, for -A with A = 3. */
  const threeActions = { ...pendulum, actionSpace: new Box([-2, -2, -2], [2, 2, 2]) };

  it("is -A for 'auto' (the default) and the number given otherwise", () => {
    expect(config({ autoAlpha: true }).targetEntropy).toBe('auto');
    expect(hyperparameters(config({ autoAlpha: true }), threeActions).targetEntropy).toBe(-3);
    expect(hyperparameters(config({ autoAlpha: true }), pendulum).targetEntropy).toBe(-1);
    expect(hyperparameters(config({ autoAlpha: true, targetEntropy: 0.25 }), threeActions).targetEntropy).toBe(0.25);
  });

  /**
   * One update of log α (float64, no jit) against Adam's first step written out: the gradient of
   * -(log α)(H̄ - H) is g = H - H̄ and the step is -lr g / (|g| + 1e-8); H is the update's own entropy
   * estimate (checked against the policy's density by hand in test/rl/sac-reference.test.ts).
   */
  async function alphaStep(targetEntropy: number) {
    const c = config({ autoAlpha: true, targetEntropy, alpha: 0.2, alphaLr: 0.01, dtype: 'float64', learningStarts: 10_000 });
    const run: Run = createRun(c, cpu);
    await train(run, { until: 20 });
    const before = run.sac.logAlpha.itemSync();
    const batch = run.replay.sample(rawKey(1), 8, { dtype: 'float64', backend: cpu });
    const [next, metrics] = makeSacUpdate(run.h, { jit: false })(run.sac, batch, T.random.key(2));
    const g = metrics.entropy.itemSync() - targetEntropy;
    return { before, after: next.logAlpha.itemSync(), expected: before - (c.alphaLr * g) / (Math.abs(g) + 1e-8) };
  }

  it('moves α up when the target is above the policy entropy and down when below, by Adam\'s first step on H - H̄', async () => {
    const above = await alphaStep(50);
    const below = await alphaStep(-50);
    expect(above.after).toBeGreaterThan(above.before);
    expect(below.after).toBeLessThan(below.before);
    for (const { after, expected } of [above, below]) expect(Math.abs(after - expected)).toBeLessThan(1e-12);
    // With H far from H̄ Adam's first step is the learning rate itself, up or down.
    expect(above.after - above.before).toBeCloseTo(0.01, 8);
    expect(below.after - below.before).toBeCloseTo(-0.01, 8);
  });
});
