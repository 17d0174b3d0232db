/**
 * Runs trained together: n runs that differ only in their seed, α and learning rates each step
 * their own environment and fill their own replay buffer, and share one action call and one SAC
 * update per step
 * (`makeBatchedActor`, `makeBatchedSacUpdate`: the single run's functions under `vmap` over a
 * leading run axis, then `jit`). Each run draws the keys `train` would draw for it, so on the CPU it
 * ends bit for bit where `train` alone takes it: the same episodes, checkpoints and summary.
 */
import { disposeTree, treeRow, treeStack } from '../autodiff';
import { ReplayBuffer } from '../rl/replay';
import { makeBatchedActor } from '../rl/sac/act';
import { makeBatchedSacUpdate } from '../rl/sac/batched';
import type { SacMetrics, SacRates, SacState } from '../rl/sac/update';
import * as T from '../tensor';
import { MixrlError } from '../tensor';
import { rawFoldIn } from '../tensor/threefry';
import { ConfigError, type TrainConfig } from './config';
import {
  afterStep,
  checkAction,
  nthUpdate,
  type Run,
  runKeys,
  settleUpdates,
  stepEnvironment,
  stepScratch,
  type TrainHooks,
  updatesAfter,
  warmupAction,
} from './train';

/** One run's hooks in `trainBatch`: `train`'s (but `shouldStop`, which stops them all), and its divergence. */
export interface RunHooks extends Omit<TrainHooks, 'shouldStop'> {
  /**
   * The run's policy diverged at step `run.step` (`error` is what `train` would throw there): it
   * stops, as it would alone, and the others go on without it.
   */
  onDiverged?(error: MixrlError): void | Promise<void>;
}

/**
 * Config keys runs trained together may differ in: the seed, α (each run's `logAlpha` is its own
 * state) and the learning rates (given to the batched update per run, `SacRates`).
 */
export const OWN_KEYS: readonly (keyof TrainConfig)[] = ['seed', 'alpha', 'actorLr', 'criticLr', 'alphaLr'];
const RATE_KEYS = ['actorLr', 'criticLr', 'alphaLr'] as const;

/**
 * Why `runs` cannot be trained together, or undefined when they can: they must be on one backend
 * and configured alike but for their seeds, α and learning rates (and a custom estimator must be
 * one function).
 *
 * @example
 * batchProblem([runA, runB]); // 'run 1 differs from run 0 in tau (0.05 there, 0.01 in run 0); only seed, alpha, actorLr, criticLr, alphaLr may differ'
 */
export function batchProblem(runs: readonly Run[]): string | undefined {
  if (runs.length === 0) return 'no runs to train';
  const [first] = runs;
  for (const [i, run] of runs.entries()) {
    if (runs.indexOf(run) !== i) return `run ${i} is run ${runs.indexOf(run)} given again`;
    if (run.backend !== first.backend) return `run ${i} is on the ${run.backend.name} backend, run 0 on ${first.backend.name}`;
    const keys = new Set([...Object.keys(first.config), ...Object.keys(run.config)] as (keyof TrainConfig)[]);
    const differ = [...keys].filter((key) => !OWN_KEYS.includes(key) && JSON.stringify(run.config[key]) !== JSON.stringify(first.config[key]));
    if (differ.length > 0) {
      const what = differ.map((key) => `${key} (${JSON.stringify(run.config[key])} there, ${JSON.stringify(first.config[key])} in run 0)`).join(', ');
      return `run ${i} differs from run 0 in ${what}; only ${OWN_KEYS.join(', ')} may differ`;
    }
    if (run.h.estimator !== first.h.estimator) return `run ${i} trains another estimator function than run 0`;
  }
  return undefined;
}

/**
 * Advances every run to `until` environment steps (or until `shouldStop`), together: per step one
 * action call for all of them, each run's own environment step, then (when `train` would update)
 * one batched SAC update per gradient step, each run's batch drawn from its own buffer. Runs at
 * different steps (a batch stopped between two runs' checkpoints) catch up first: those furthest
 * behind train together until they reach the next ones. Each run's hooks are called as `train`
 * calls them, with `run.sac` and `run.lastMetrics` its own when read; a run whose policy diverges
 * gets `onDiverged` and stops there (`train` would throw). When it returns, every run holds its own
 * state. Throws a ConfigError when the runs cannot be trained together (`batchProblem`).
 *
 * On the CPU every run ends bit for bit as `train(run, { until })` alone would leave it. A step of
 * n runs together costs less than n steps of one: on a CPU, where products dominate even a
 * classic-control update, 5-10 runs train 1.3-1.6x as fast as one after another
 * (`bench/train-batch.ts`); on a GPU, where one small run's update is bound by the host's
 * dispatches, far more.
 *
 * @example
 * const runs = [0, 1, 2, 3].map((seed) => createRun({ ...config, seed }, cpu));
 * await trainBatch(runs, { until: config.steps }, runs.map((_, i) => ({ onEpisode: (e) => console.log(i, e.return) })));
 */
export async function trainBatch(runs: readonly Run[], target: { until: number }, hooks: readonly RunHooks[] = [], shouldStop?: () => boolean): Promise<void> {
  const problem = batchProblem(runs);
  if (problem) throw new ConfigError(`trainBatch: ${problem}`);
  const diverged = new Set<Run>();
  const tracked = runs.map((run, i): RunHooks => ({
    ...hooks[i],
    onDiverged: (e) => {
      diverged.add(run);
      return hooks[i]?.onDiverged?.(e);
    },
  }));
  for (;;) {
    const behind = runs.filter((run) => !diverged.has(run) && run.step < target.until);
    if (behind.length === 0) return;
    const last = Math.min(...behind.map((run) => run.step));
    const next = Math.min(target.until, ...behind.filter((run) => run.step > last).map((run) => run.step));
    const group = behind.filter((run) => run.step === last);
    const stopped = await inLockstep(group, next, group.map((run) => tracked[runs.indexOf(run)]), shouldStop);
    if (stopped) return;
  }
}

/** `trainBatch` of runs at one step, to `until`: true when `shouldStop` stopped it. */
async function inLockstep(runs: readonly Run[], until: number, hooks: readonly RunHooks[], shouldStop?: () => boolean): Promise<boolean> {
  const n = runs.length;
  const [{ config, h, backend }] = runs;
  const update = makeBatchedSacUpdate(h, n, { donate: true });
  const actor = makeBatchedActor(h, n);
  const keys = runs.map((run) => runKeys(run.config));
  const scratch = runs.map(stepScratch);
  const actionDim = h.head.actionDim;
  const obs = new Float64Array(n * h.obsDim);
  const actKeys = new Uint32Array(2 * n);
  const updateKeys = new Uint32Array(2 * n);
  const active = runs.map(() => true);
  let states: SacState = treeStack(runs.map((run) => run.sac));
  let metrics: SacMetrics | null = null;
  const rows = runs.map((run, i) => new RunRow(run, () => states, () => metrics, i));
  // Each run's own learning rates, when they differ (else h's, the single update's constants).
  const differ = RATE_KEYS.some((key) => runs.some((run) => run.config[key] !== config[key]));
  const rates = differ ? (Object.fromEntries(RATE_KEYS.map((key) => [key, T.tensor(runs.map((run) => run.config[key]), { dtype: h.dtype, backend })])) as unknown as SacRates) : undefined;

  let step = runs[0].step;
  let stopped = false;
  try {
    while (step < until && active.includes(true)) {
      if (shouldStop?.()) {
        stopped = true;
        break;
      }
      let actions: Float64Array;
      if (step < config.randomSteps) {
        actions = new Float64Array(n * actionDim);
        runs.forEach((run, i) => actions.set(warmupAction(run, keys[i].warmup, step), i * actionDim));
      } else {
        runs.forEach((run, i) => {
          obs.set(run.rollout.obs, i * h.obsDim);
          actKeys.set(rawFoldIn(keys[i].act, step), 2 * i);
        });
        const chosen = actor(states.actor, obs, actKeys, 'sample');
        actions = chosen instanceof Float64Array ? chosen : await chosen;
      }
      for (const [i, run] of runs.entries()) {
        if (!active[i]) continue;
        const action = actions.subarray(i * actionDim, (i + 1) * actionDim);
        try {
          checkAction(step, action);
        } catch (e) {
          if (!(e instanceof MixrlError && e.code === 'diverged')) throw e;
          active[i] = false;
          rows[i].freeze();
          await hooks[i]?.onDiverged?.(e);
          continue;
        }
        stepEnvironment(run, action, scratch[i], hooks[i]?.onEpisode);
      }

      if (updatesAfter(config, step) && active.includes(true)) {
        // A run that stopped still has a row in the update: it reads another run's buffer (its own may be empty).
        const live = runs[active.indexOf(true)].replay;
        const buffers = runs.map((run, i) => (active[i] ? run.replay : live));
        const replayDraws = keys.map((k) => rawFoldIn(k.replay, step));
        const updateDraws = keys.map((k) => rawFoldIn(k.update, step));
        for (let j = 0; j < config.gradientSteps; j++) {
          const batch = ReplayBuffer.sampleStacked(buffers, replayDraws.map((draw) => nthUpdate(draw, j)), config.batchSize, { dtype: config.dtype, backend });
          updateDraws.forEach((draw, i) => updateKeys.set(nthUpdate(draw, j), 2 * i));
          const key = T.tensor(updateKeys, { shape: [n, 2], dtype: 'uint32', backend });
          const previous = metrics;
          [states, metrics] = update(states, batch, key, rates);
          disposeTree([batch, key, previous]);
          for (let i = 0; i < n; i++) if (active[i]) rows[i].outdate();
          await settleUpdates(backend);
        }
      }
      step++;
      for (let i = 0; i < n; i++) if (active[i]) runs[i].step = step;
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (const [i, run] of runs.entries()) if (active[i] && hooks[i]) await afterStep(run, hooks[i]);
    }
    for (const row of rows) row.freeze();
  } finally {
    for (const row of rows) row.detach();
    disposeTree([states, metrics, rates]);
  }
  return stopped;
}

/**
 * A run's own state while it trains together with others: the run's `sac` and `lastMetrics` read
 * its row of the stacked state and metrics, sliced out when first read after an update (a hook that
 * reads neither, or only the metrics, costs no more), and cannot be replaced meanwhile.
 */
class RunRow {
  private sac: SacState;
  private metrics: SacMetrics | null;
  private sacCurrent = true;
  private metricsCurrent = true;
  private frozen = false;

  constructor(
    private readonly run: Run,
    private readonly states: () => SacState,
    private readonly allMetrics: () => SacMetrics | null,
    private readonly index: number,
  ) {
    this.sac = run.sac;
    this.metrics = run.lastMetrics;
    const refuse = () => {
      throw new ConfigError('trainBatch: a run trained together with others cannot have its sac or lastMetrics replaced meanwhile');
    };
    Object.defineProperty(run, 'sac', { configurable: true, enumerable: true, get: () => this.ownSac(), set: refuse });
    Object.defineProperty(run, 'lastMetrics', { configurable: true, enumerable: true, get: () => this.ownMetrics(), set: refuse });
  }

  private ownSac(): SacState {
    if (!this.sacCurrent) {
      disposeTree(this.sac);
      this.sac = treeRow(this.states(), this.index);
      this.sacCurrent = true;
    }
    return this.sac;
  }

  private ownMetrics(): SacMetrics | null {
    if (!this.metricsCurrent) {
      disposeTree(this.metrics);
      const all = this.allMetrics();
      this.metrics = all && treeRow(all, this.index);
      this.metricsCurrent = true;
    }
    return this.metrics;
  }

  /** An update changed the stacked state: the row is read again when next asked for (not after `freeze`). */
  outdate(): void {
    if (!this.frozen) this.sacCurrent = this.metricsCurrent = false;
  }

  /** The row read now and kept from now on (a run that diverged, or the batch's end). */
  freeze(): void {
    this.ownSac();
    this.ownMetrics();
    this.frozen = true;
  }

  /** The run's fields plain again, holding what they last read. */
  detach(): void {
    Object.defineProperty(this.run, 'sac', { configurable: true, enumerable: true, writable: true, value: this.sac });
    Object.defineProperty(this.run, 'lastMetrics', { configurable: true, enumerable: true, writable: true, value: this.metrics });
  }
}
