/**
 * Runs trained together (`trainBatch`) against the same runs trained one by one (`train`): on the
 * CPU every run must end bit for bit alike (parameters, optimizer state, replay buffer, episode
 * state, returns), with the same episodes and the same state at every hook.
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { treeFlatten, treeMap } from '../../src/autodiff';
import { ConfigError, resolveConfig, type TrainConfig } from '../../src/experiments/config';
import { createRun, type EpisodeRecord, type Run, train } from '../../src/experiments/train';
import { batchProblem, type RunHooks, trainBatch } from '../../src/experiments/train-batch';
import { cpu, full, type MixrlError, type Tensor } from '../../src/tensor';

function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const c = resolveConfig([
    { env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 0, steps: 420, hidden: [16, 16], batchSize: 8, learningStarts: 100, randomSteps: 50, components: 3, logEvery: 70, checkpointEvery: 140, ...overrides },
  ]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

/** Everything a run holds, as strings (float bits compared exactly: `-0` and NaN payloads aside, `String` is exact for float64). */
function fingerprint(run: Run): string[] {
  const [leaves] = treeFlatten(run.sac);
  const replay = run.replay.state();
  return [
    ...(leaves as Tensor[]).map((t) => Array.from(t.dataSync()).join(',')),
    ...Object.values(replay.arrays).map((a) => Array.from(a as ArrayLike<number>).join(',')),
    Array.from(run.rollout.state).join(','),
    `${run.step} ${run.rollout.elapsed} ${run.rollout.episode} ${run.rollout.episodeReturn}`,
    run.returns.join(','),
  ];
}

/** What the hooks saw: each episode, and the run's fingerprint and metrics at each progress and checkpoint. */
function recorder() {
  const seen: string[] = [];
  const hooks: RunHooks = {
    onEpisode: (e: EpisodeRecord) => seen.push(`episode ${JSON.stringify(e)}`),
    onProgress: (r: Run) => {
      seen.push(`progress ${r.step} ${r.lastMetrics ? r.lastMetrics.criticLoss.dataSync()[0] : 'none'}`);
    },
    onCheckpoint: async (r: Run) => {
      seen.push(`checkpoint ${r.step} ${fingerprint(r).join('|')}`);
    },
  };
  return { seen, hooks };
}

const SEEDS = [0, 5, 9];

describe('trainBatch', () => {
  for (const [what, overrides] of [
    ['sgm-mrp, one update per step', {}],
    ['sg-rp, automatic alpha, 2 updates every 3rd step', { agent: 'sg-rp', autoAlpha: true, gradientSteps: 2, trainFreq: 3 }],
  ] as const) {
    it(`trains every run bit for bit as train alone does (${what}), hooks included`, async () => {
      const alone = SEEDS.map((seed) => createRun(config({ ...overrides, seed }), cpu));
      const aloneSeen: string[][] = [];
      for (const run of alone) {
        const { seen, hooks } = recorder();
        await train(run, { until: run.config.steps }, hooks);
        aloneSeen.push(seen);
      }
      const together = SEEDS.map((seed) => createRun(config({ ...overrides, seed }), cpu));
      const recorders = together.map(recorder);
      await trainBatch(together, { until: together[0].config.steps }, recorders.map((r) => r.hooks));
      together.forEach((run, i) => {
        expect(fingerprint(run), `seed ${SEEDS[i]}`).toEqual(fingerprint(alone[i]));
        expect(recorders[i].seen, `seed ${SEEDS[i]}'s hooks`).toEqual(aloneSeen[i]);
      });
      // The runs differ from each other (the seeds are used), and episodes were recorded.
      expect(fingerprint(together[0])).not.toEqual(fingerprint(together[1]));
      expect(aloneSeen[0].filter((line) => line.startsWith('episode')).length).toBe(2);
      expect(aloneSeen[0].filter((line) => line.startsWith('checkpoint')).length).toBe(3);
    });
  }

  it('trains runs that differ in α and in their learning rates too, each as alone (float32 and float64, automatic α)', async () => {
    const settings: Partial<TrainConfig>[] = [
      { seed: 0, alpha: 0.1, actorLr: 1e-3, criticLr: 1e-4 },
      { seed: 0, alpha: 0.001, actorLr: 3e-4, criticLr: 1e-2 },
      { seed: 4, alpha: 0.01, actorLr: 1e-5, criticLr: 1e-3, alphaLr: 0.1 },
    ];
    for (const shared of [{}, { dtype: 'float64', autoAlpha: true, agent: 'sg-rp' }] as Partial<TrainConfig>[]) {
      const alone = settings.map((s) => createRun(config({ ...shared, ...s, steps: 300 }), cpu));
      for (const run of alone) await train(run, { until: 300 });
      const together = settings.map((s) => createRun(config({ ...shared, ...s, steps: 300 }), cpu));
      expect(batchProblem(together)).toBeUndefined();
      await trainBatch(together, { until: 300 });
      together.forEach((run, i) => expect(fingerprint(run), `setting ${i} ${JSON.stringify(shared)}`).toEqual(fingerprint(alone[i])));
      // The settings matter: seed 0 at two settings ends apart.
      expect(fingerprint(together[0])).not.toEqual(fingerprint(together[1]));
    }
  });

  it('stops and continues where it left off: two calls equal one', async () => {
    const straight = SEEDS.map((seed) => createRun(config({ seed }), cpu));
    await trainBatch(straight, { until: 420 });
    const halves = SEEDS.map((seed) => createRun(config({ seed }), cpu));
    let polls = 0;
    // Stops after the step in which it is polled the 231st time: at step 230, mid-episode, learning on.
    await trainBatch(halves, { until: 420 }, [], () => polls++ === 230);
    expect(halves.map((r) => r.step)).toEqual([230, 230, 230]);
    await trainBatch(halves, { until: 420 });
    halves.forEach((run, i) => expect(fingerprint(run)).toEqual(fingerprint(straight[i])));
  });

  it('stops a run whose policy diverges, as train would, and trains the others unchanged', async () => {
    const poison = (run: Run) => {
      const nan = treeMap((w: Tensor) => full(w.shape, NaN, { dtype: w.dtype }), run.sac.actor);
      run.sac = { ...run.sac, actor: nan };
    };
    // Random actions until step 150, updates from step 99 on: the NaN actor is found out after 51 updates.
    const late = { randomSteps: 150 };
    const alone = SEEDS.map((seed) => createRun(config({ ...late, seed }), cpu));
    poison(alone[1]);
    const errors: unknown[] = [];
    for (const run of alone) await train(run, { until: 420 }).catch((e) => errors.push(e));
    expect(errors).toHaveLength(1);
    const together = SEEDS.map((seed) => createRun(config({ ...late, seed }), cpu));
    poison(together[1]);
    const diverged: MixrlError[] = [];
    const episodes: number[] = [0, 0, 0];
    await trainBatch(
      together,
      { until: 420 },
      together.map((_, i) => ({ onDiverged: (e: MixrlError) => void diverged.push(e), onEpisode: () => void episodes[i]++ })),
    );
    expect(diverged).toHaveLength(1);
    expect(diverged[0].code).toBe('diverged');
    expect(diverged[0].message).toBe((errors[0] as MixrlError).message);
    expect(diverged[0].message).toMatch(/^step 150: the policy's action is \[NaN\], not finite/);
    expect(together[1].step).toBe(150);
    expect(episodes).toEqual([2, 0, 2]);
    for (const i of [0, 1, 2]) expect(fingerprint(together[i]), `seed ${SEEDS[i]}`).toEqual(fingerprint(alone[i]));
  });

  it('catches up runs at different steps (a batch stopped between checkpoints): those behind train first, to the same bits', async () => {
    const straight = SEEDS.map((seed) => createRun(config({ seed }), cpu));
    for (const run of straight) await train(run, { until: 420 });
    const runs = SEEDS.map((seed) => createRun(config({ seed }), cpu));
    await train(runs[0], { until: 280 });
    await train(runs[2], { until: 140 });
    const seen = runs.map(() => [] as number[]);
    await trainBatch(runs, { until: 420 }, runs.map((_, i) => ({ onProgress: (r: Run) => void seen[i].push(r.step) })));
    runs.forEach((run, i) => expect(fingerprint(run), `seed ${SEEDS[i]}`).toEqual(fingerprint(straight[i])));
    // Each run's hooks ran once per logged step from where it was.
    expect(seen).toEqual([[350, 420], [70, 140, 210, 280, 350, 420], [210, 280, 350, 420]]);
  });

  it('refuses runs that differ in more than their seed, a run given twice and runs on other backends', async () => {
    const a = createRun(config(), cpu);
    const b = createRun(config({ seed: 1, tau: 0.05, gamma: 0.9 }), cpu);
    expect(batchProblem([a, b])).toBe('run 1 differs from run 0 in gamma (0.9 there, 0.99 in run 0), tau (0.05 there, 0.01 in run 0); only seed, alpha, actorLr, criticLr, alphaLr may differ');
    await expect(trainBatch([a, b], { until: 10 })).rejects.toThrow(ConfigError);
    expect(batchProblem([a, a])).toBe('run 1 is run 0 given again');
    expect(batchProblem([a, { ...createRun(config({ seed: 2 }), cpu), backend: { name: 'webgpu' } as never }])).toBe('run 1 is on the webgpu backend, run 0 on cpu');
    expect(batchProblem([])).toBe('no runs to train');
    expect(batchProblem([a, createRun(config({ seed: 4 }), cpu)])).toBeUndefined();
    // Nothing ran: a refused batch leaves its runs as they were.
    expect(a.step).toBe(0);
  });
});
