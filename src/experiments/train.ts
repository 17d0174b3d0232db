/**
 * The training loop: one environment, one SAC agent, `gradientSteps` updates after every
 * `trainFreq`-th environment step (one update per step by default). It drives the environment's
 * model directly (a flat float64 state, an elapsed-step counter and an episode index), so that
 * everything the run depends on is a value a checkpoint can hold. Randomness is derived from the seed
 * by folding in fixed tags and the step index (and, for the second and later updates after a step,
 * the update's index), so a resumed run replays exactly the keys an uninterrupted one would have used.
 */
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { assertSameStructure, disposeTree, makeIR, treeFlatten, TreeError, treePaths } from '../autodiff';
import { type EnvModel, makeModel, type Transition } from '../envs';
import { formatVector } from '../envs/errors';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type Json, type RawArray } from '../rl';
import { type ReplayBatch, ReplayBuffer, type ReplayState } from '../rl/replay';
import { type ActFn, type ActHow, makeActor } from '../rl/sac/act';
import { AGENTS } from '../rl/sac/agents';
import type { Estimator } from '../rl/estimators';
import { estimatorName, initSac, makeSacUpdate, type SacHyperparameters, type SacMetrics, type SacState } from '../rl/sac/update';
import * as T from '../tensor';
import { type Backend, formatShape, MixrlError, type Tensor } from '../tensor';
import { rawFoldIn, rawKey, type RawKey, UniformStream } from '../tensor/threefry';
import { ConfigError, resolveConfig, type TrainConfig, validatePartial } from './config';

/** Where one episode stands: everything needed to continue it bit for bit. */
export interface Rollout {
  readonly state: Float64Array;
  readonly obs: Float64Array;
  elapsed: number;
  episode: number;
  episodeReturn: number;
}

export interface EpisodeRecord {
  episode: number;
  /** Environment steps taken when the episode ended. */
  step: number;
  return: number;
  length: number;
  terminated: boolean;
}

/** A training run in memory. The loop owns it and advances it in place. */
export interface Run {
  readonly config: TrainConfig;
  readonly model: EnvModel;
  readonly h: SacHyperparameters;
  readonly backend: Backend;
  sac: SacState;
  readonly replay: ReplayBuffer;
  readonly rollout: Rollout;
  step: number;
  /** Returns of finished episodes (all of them; the log keeps the details). */
  readonly returns: number[];
  /** The latest update's metrics, valid until the next update (the loop disposes them then). */
  lastMetrics: SacMetrics | null;
}

/**
 * Updates a WebGPU training loop may have queued on the device at once. On an H200, 100 batched
 * SAC-v2 agents (about 4.8 ms of kernels per update) ran 4.96 ms per update with 3 in flight in
 * every loop measured, 4.96-5.85 with 2 (session 10); a single agent is host-bound either way.
 */
const UPDATES_IN_FLIGHT = 3;

/** Fixed tags folded into the seed's key, one stream per purpose. */
const STREAM = { init: 0, act: 1, update: 2, replay: 3, env: 4, warmup: 5 } as const;

const streamKey = (config: TrainConfig, stream: keyof typeof STREAM): RawKey => rawFoldIn(rawKey(config.seed), STREAM[stream]);

/** The key of update j after a step, from the step's key: that key itself for j = 0, j folded in on top after. */
export const nthUpdate = (stepKey: RawKey, j: number): RawKey => (j === 0 ? stepKey : rawFoldIn(stepKey, j));

/**
 * The SAC hyperparameters a config and an environment imply.
 *
 * @example
 * const config = resolveConfig([{ env: 'Pendulum' }]); // Right(config)
 * if (isRight(config)) hyperparameters(config.right, makeModel('Pendulum')).hidden; // [64, 64]
 */
export function hyperparameters(config: TrainConfig, model: EnvModel): SacHyperparameters {
  const spec = AGENTS[config.agent];
  const A = model.actionSpace.size;
  return {
    obsDim: model.observationSpace.size,
    head: {
      actionDim: A,
      kind: spec.kind,
      components: config.components,
      family: spec.family,
      low: Array.from(model.actionSpace.low),
      high: Array.from(model.actionSpace.high),
      logStdMin: config.logStdMin,
      logStdMax: config.logStdMax,
    },
    estimator: spec.estimator,
    hidden: config.hidden,
    init: config.init,
    gamma: config.gamma,
    tau: config.tau,
    actorLr: config.actorLr,
    criticLr: config.criticLr,
    alphaLr: config.alphaLr,
    alpha: config.alpha,
    autoAlpha: config.autoAlpha,
    targetEntropy: config.targetEntropy === 'auto' ? -A : config.targetEntropy,
    baselineSamples: config.baselineSamples,
    gumbelTemperature: config.gumbelTemperature,
    dtype: config.dtype,
  };
}

function startEpisode(run: Pick<Run, 'model' | 'config' | 'rollout'>): void {
  const { model, rollout } = run;
  model.initialState(new UniformStream(rawFoldIn(streamKey(run.config, 'env'), rollout.episode)), rollout.state, 0);
  model.observe(rollout.state, 0, rollout.obs, 0);
  rollout.elapsed = 0;
  rollout.episodeReturn = 0;
}

/** Options of `createRun` and `loadRun`. */
export interface RunOptions {
  /**
   * The actor gradient's estimator in place of the agent's own (`config.agent` still picks the
   * policy: single Gaussian, mixture, ...). A checkpoint records its name, and `loadRun` of it asks
   * for it again (a function is not saved).
   */
  estimator?: Estimator;
  /**
   * A run to read for its weights or to act (`loadRun`: `mixrl export`, `mixrl eval`), or made only
   * to be saved (`createRun`: a run that another process trains, `--resume`d from its step-0
   * checkpoint), so a run of a custom estimator is loaded or made without it. Its `h.estimator`
   * then stands in for the missing one, under its name, and throws if an update calls it: to train
   * or resume such a run, give `estimator`. No effect on a run of a built-in estimator, or when
   * `estimator` is given.
   */
  weightsOnly?: boolean;
  /**
   * `loadRun` only: called with the checkpoint's config keys before its env is looked up, to make
   * that env known (`mixrl eval` loads the run's env module here); a `Left` is `loadRun`'s result.
   */
  prepareEnv?(config: Partial<TrainConfig>): Promise<Either<MixrlError, void>>;
}

/** The hyperparameters with the estimator `options` gives, if any. */
const withEstimator = (h: SacHyperparameters, options: RunOptions): SacHyperparameters =>
  options.estimator === undefined ? h : { ...h, estimator: options.estimator };

/** An error's first line, its kind first unless it is one of mixrl's (which name what failed). */
const firstLine = (e: unknown) => (e instanceof MixrlError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0];

/**
 * What is wrong with the run's custom estimator, if anything: one SAC update is traced with it
 * (shapes only, nothing computed), so that an estimator that fails (a wrong shape, a value read
 * while tracing, no scalar surrogate) is reported when the run is made, not at its first update
 * `learningStarts` steps in. The error names the estimator (and its module).
 */
function estimatorProblem(run: Run): ConfigError | undefined {
  const { h, config, backend } = run;
  const estimator = h.estimator;
  if (typeof estimator !== 'function') return undefined;
  const scalar: Estimator = (input) => {
    const surrogate = estimator(input);
    if (!(surrogate instanceof T.Tensor && surrogate.ndim === 0 && T.isFloat(surrogate.dtype))) {
      const got = surrogate instanceof T.Tensor ? T.formatAval(surrogate.aval) : surrogate === null || surrogate === undefined ? String(surrogate) : `a ${typeof surrogate}`;
      throw new ConfigError(`it returned ${got}, not a float scalar tensor (the surrogate whose gradient is the estimate)`);
    }
    return surrogate;
  };
  const zeros = (...shape: number[]) => T.zeros(shape, { dtype: h.dtype, backend });
  const B = config.batchSize;
  const batch: ReplayBatch = { obs: zeros(B, h.obsDim), action: zeros(B, h.head.actionDim), reward: zeros(B), nextObs: zeros(B, h.obsDim), terminated: zeros(B) };
  const key = T.tensor(rawKey(0), { backend });
  try {
    makeIR(makeSacUpdate({ ...h, estimator: scalar }, { jit: false }))(run.sac, batch, key);
    return undefined;
  } catch (e) {
    const from = config.estimatorModule ? ` of ${config.estimatorModule.path}` : '';
    return new ConfigError(`custom estimator '${estimatorName(h)}'${from}, in a traced SAC update: ${firstLine(e)}`);
  } finally {
    disposeTree([batch, key]);
  }
}

/**
 * A fresh run: initialized agent, empty replay buffer, first episode started. A custom estimator
 * (`options.estimator`) is checked by tracing one update with it (a ConfigError naming it); a config
 * that names one (`estimator`, as `mixrl train --estimator-module` writes) needs it given.
 *
 * @example
 * const run = createRun(config, cpu);
 * await train(run, { until: config.steps });
 * const mine = createRun({ ...config, agent: 'sgm-mrp' }, cpu, { estimator: myEstimator }); // a mixture policy, my gradient
 */
export function createRun(config: TrainConfig, backend: Backend, options: RunOptions = {}): Run {
  const missing = config.estimator !== undefined && options.estimator === undefined ? config.estimator : undefined;
  if (missing !== undefined && !options.weightsOnly) {
    throw new ConfigError(`config: 'estimator' '${config.estimator}' is an estimator of ${config.estimatorModule?.path}; give it: createRun(config, backend, { estimator })`);
  }
  const model = makeModel(config.env, config.envOptions);
  const h = withEstimator(hyperparameters(config, model), { estimator: missing === undefined ? options.estimator : missingEstimator(missing) });
  const initKey = T.tensor(streamKey(config, 'init'), { backend });
  const rollout: Rollout = {
    state: new Float64Array(model.stateLayout.length),
    obs: new Float64Array(model.observationSpace.size),
    elapsed: 0,
    episode: 0,
    episodeReturn: 0,
  };
  const run: Run = {
    config,
    model,
    h,
    backend,
    sac: initSac(h, initKey),
    replay: newReplayBuffer(config, model),
    rollout,
    step: 0,
    returns: [],
    lastMetrics: null,
  };
  // The stand-in of a missing estimator (weightsOnly) is not traced: it throws by design.
  const problem = missing === undefined ? estimatorProblem(run) : undefined;
  if (problem) throw problem;
  startEpisode(run);
  return run;
}

/**
 * The empty replay buffer of a run, storing transitions in the run's float dtype (a float64 run's
 * updates read them unrounded); a ConfigError naming `replayCapacity` when memory runs short.
 */
function newReplayBuffer(config: TrainConfig, model: EnvModel): ReplayBuffer {
  try {
    return new ReplayBuffer({ capacity: config.replayCapacity, obsDim: model.observationSpace.size, actionDim: model.actionSpace.size, storage: config.dtype });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ConfigError(`config: 'replayCapacity' ${config.replayCapacity}: cannot allocate the replay buffer: ${e.message}`);
  }
}

/** One jitted action function per hyperparameter object, so `act` traces once per agent. */
const actors = new WeakMap<SacHyperparameters, ActFn>();

function actorFor(h: SacHyperparameters): ActFn {
  let actor = actors.get(h);
  if (!actor) {
    actor = makeActor(h);
    actors.set(h, actor);
  }
  return actor;
}

/**
 * The action for an observation: a draw from the policy, or its greedy (mode) action. Runs the
 * jitted action function of `makeActor(h)` (one per `h` object): synchronous on the CPU, a promise
 * on WebGPU; `await` fits both. `key` is a key tensor or a raw key (`rawFoldIn(k, step)` draws what
 * `random.foldIn(tensor(k), step)` would).
 *
 * @example
 * const a = await act(run.h, run.sac.actor, obs, rawFoldIn(actKey, step), 'sample');
 */
export function act(
  h: SacHyperparameters,
  actor: SacState['actor'],
  obs: Float64Array,
  key: Tensor | RawKey,
  how: ActHow,
): Float64Array | Promise<Float64Array> {
  return actorFor(h)(actor, obs, key, how);
}

export interface TrainHooks {
  onEpisode?(record: EpisodeRecord): void;
  /** Called every `config.logEvery` steps. */
  onProgress?(run: Run): void | Promise<void>;
  /** Polled after every step; true stops the loop (e.g. on SIGINT). */
  shouldStop?(): boolean;
  /**
   * Called every `config.evalEvery` steps (never when it is 0), after `onProgress` and before
   * `onCheckpoint`: a checkpoint at a step comes after that step's evaluation. `evaluateRun` (in
   * `evaluation.ts`) does the evaluation; it draws on its own keys, so the run goes on unchanged.
   */
  onEvaluate?(run: Run): Promise<void>;
  /** Called every `config.checkpointEvery` steps. */
  onCheckpoint?(run: Run): Promise<void>;
}

/**
 * Advances the run to `until` environment steps (or until `shouldStop`). From step s =
 * `learningStarts` - 1 on (counted in steps as SB3's `learning_starts`, whatever the replay
 * capacity; SB3 starts one step later), `gradientSteps` SAC updates run after each step s with
 * (s + 1) a multiple of `trainFreq` (every step by default). Update j after step s samples its batch with
 * `rawFoldIn(replayKey, s)` and draws its noise with `rawFoldIn(updateKey, s)` when j = 0 (the keys
 * of one update per step), with j folded into each on top when j > 0.
 *
 * @example
 * await train(run, { until: 20_000 }, { onEpisode: (e) => console.log(e.return) });
 */
export async function train(run: Run, target: { until: number }, hooks: TrainHooks = {}): Promise<void> {
  const { config, h } = run;
  // The loop replaces its state with the update's result: the update may take the old one over.
  const update = makeSacUpdate(h, { donate: true });
  const actor = actorFor(h);
  const keys = runKeys(config);
  const scratch = stepScratch(run);

  while (run.step < target.until && !hooks.shouldStop?.()) {
    const step = run.step;
    let action: Float64Array;
    if (step < config.randomSteps) action = warmupAction(run, keys.warmup, step);
    else {
      const chosen = actor(run.sac.actor, run.rollout.obs, rawFoldIn(keys.act, step), 'sample');
      action = chosen instanceof Float64Array ? chosen : await chosen;
    }
    checkAction(step, action);
    stepEnvironment(run, action, scratch, hooks.onEpisode);

    if (updatesAfter(config, step)) {
      const replayDraw = rawFoldIn(keys.replay, step);
      const updateDraw = rawFoldIn(keys.update, step);
      for (let j = 0; j < config.gradientSteps; j++) {
        const batch = run.replay.sample(nthUpdate(replayDraw, j), config.batchSize, { dtype: config.dtype, backend: run.backend });
        // Folded on the host (as `random.foldIn` would on the device): an upload, not a dispatch.
        const key = T.tensor(nthUpdate(updateDraw, j), { backend: run.backend });
        const previous = run.lastMetrics;
        [run.sac, run.lastMetrics] = update(run.sac, batch, key);
        // Back to the pool now, not when the garbage collector runs: on a GPU the next update then
        // reuses these buffers and their bind groups instead of creating new ones.
        disposeTree([batch, key, previous]);
        await settleUpdates(run.backend);
      }
    }
    run.step = step + 1;
    // Let the event loop run (signal handlers, I/O): a CPU step never waits on anything otherwise.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await afterStep(run, hooks);
  }
}

/** The keys of a run's random streams (init aside), derived from its seed. */
export interface RunKeys {
  readonly act: RawKey;
  readonly update: RawKey;
  readonly replay: RawKey;
  readonly warmup: RawKey;
}

export const runKeys = (config: TrainConfig): RunKeys => ({
  act: streamKey(config, 'act'),
  update: streamKey(config, 'update'),
  replay: streamKey(config, 'replay'),
  warmup: streamKey(config, 'warmup'),
});

/** What a loop reuses every step: the next observation's array and the transition record. */
export interface StepScratch {
  readonly nextObs: Float64Array;
  readonly transition: Transition;
}

export const stepScratch = (run: Pick<Run, 'rollout'>): StepScratch => ({ nextObs: new Float64Array(run.rollout.obs.length), transition: { reward: 0, terminated: false } });

/** The action of a warm-up step (`step < randomSteps`): uniform in the action box, from the warm-up stream's key for the step. */
export function warmupAction(run: Pick<Run, 'model'>, warmupKey: RawKey, step: number): Float64Array {
  const { low, high } = run.model.actionSpace;
  const stream = new UniformStream(rawFoldIn(warmupKey, step));
  return Float64Array.from(low, (lo, i) => stream.uniform(lo, high[i]));
}

/** Throws the `diverged` error when the policy's action at `step` is not finite. */
export function checkAction(step: number, action: Float64Array): void {
  if (action.every(Number.isFinite)) return;
  // The env is not stepped with it (ModelEnv.step refuses one too): the run stops where it diverged.
  throw new MixrlError(
    'diverged',
    `step ${step}: the policy's action is ${formatVector(action)}, not finite: the actor's parameters have diverged (the last checkpoint, if any, holds the run before; a smaller actorLr or a larger alpha may keep it stable)`,
  );
}

/**
 * Steps the run's environment with `action` at step `run.step`: stores the transition, and ends a
 * finished episode (its record to `onEpisode`) and starts the next, else moves to the next observation.
 */
export function stepEnvironment(run: Run, action: Float64Array, scratch: StepScratch, onEpisode?: (record: EpisodeRecord) => void): void {
  const { model, rollout } = run;
  const { nextObs, transition } = scratch;
  model.transition(rollout.state, 0, action, 0, transition);
  rollout.elapsed++;
  rollout.episodeReturn += transition.reward;
  model.observe(rollout.state, 0, nextObs, 0);
  run.replay.add({ obs: rollout.obs, action, reward: [transition.reward], nextObs, terminated: [transition.terminated] });
  const truncated = rollout.elapsed >= model.maxEpisodeSteps;
  if (transition.terminated || truncated) {
    const record: EpisodeRecord = {
      episode: rollout.episode,
      step: run.step + 1,
      return: rollout.episodeReturn,
      length: rollout.elapsed,
      terminated: transition.terminated,
    };
    run.returns.push(record.return);
    onEpisode?.(record);
    rollout.episode++;
    startEpisode(run);
  } else {
    rollout.obs.set(nextObs);
  }
}

/** Whether SAC updates follow step `step` (from `learningStarts - 1` on, every `trainFreq`-th step). */
export const updatesAfter = (config: TrainConfig, step: number): boolean => step + 1 >= config.learningStarts && (step + 1) % config.trainFreq === 0;

/** On a GPU, waits until at most a few updates are queued ahead of the device (steps that only sample go on meanwhile). */
export async function settleUpdates(backend: Backend): Promise<void> {
  if (backend instanceof T.WebGPUBackend) await backend.settle(UPDATES_IN_FLIGHT);
}

/** The hooks due once a step is done (`run.step` counts it): progress, then evaluation, then checkpoint. */
export async function afterStep(run: Run, hooks: Omit<TrainHooks, 'onEpisode' | 'shouldStop'>): Promise<void> {
  const { config } = run;
  if (run.step % config.logEvery === 0) await hooks.onProgress?.(run);
  if (config.evalEvery > 0 && run.step % config.evalEvery === 0) await hooks.onEvaluate?.(run);
  if (config.checkpointEvery > 0 && run.step % config.checkpointEvery === 0) await hooks.onCheckpoint?.(run);
}

/**
 * Mean return of the last `n` finished episodes (NaN before any).
 *
 * @example
 * recentReturn({ returns: [1, 2, 3] }, 2); // 2.5
 */
export function recentReturn(run: Pick<Run, 'returns'>, n = 10): number {
  const last = run.returns.slice(-n);
  return last.length === 0 ? NaN : last.reduce((a, b) => a + b, 0) / last.length;
}

/**
 * What a run folder's `summary.json` says of a run trained from `startStep` to `run.step` in
 * `seconds` (the part `mixrl train` and in-process experiment runs share).
 *
 * @example
 * runSummary(run, 0, 12.5); // { env, agent, seed, steps, episodes, meanReturnLast10, wallSeconds: 12.5, stepsPerSecond, finished }
 */
export function runSummary(run: Run, startStep: number, seconds: number) {
  return {
    env: run.config.env,
    agent: run.config.agent,
    seed: run.config.seed,
    steps: run.step,
    episodes: run.returns.length,
    meanReturnLast10: recentReturn(run, 10),
    wallSeconds: seconds,
    stepsPerSecond: (run.step - startStep) / Math.max(seconds, 1e-9),
    finished: run.step >= run.config.steps,
  };
}

const CHECKPOINT_FORMAT = 1;

/**
 * Writes the whole run (agent, optimizers, replay buffer, episode state, counters) to `path`
 * atomically.
 *
 * @example
 * await saveRun(run, 'runs/mc/checkpoint.mixrl');
 */
export async function saveRun(run: Run, path: string): Promise<Either<MixrlError, void>> {
  const replay = run.replay.state();
  const arrays: Record<string, RawArray> = {
    'rollout.state': run.rollout.state,
    'rollout.obs': run.rollout.obs,
    returns: Float64Array.from(run.returns),
  };
  for (const [name, values] of Object.entries(replay.arrays)) arrays[`replay.${name}`] = values as RawArray;
  const metadata = {
    format: CHECKPOINT_FORMAT,
    config: run.config as unknown as Json,
    step: run.step,
    rollout: { elapsed: run.rollout.elapsed, episode: run.rollout.episode, episodeReturn: run.rollout.episodeReturn },
    replay: replay.meta as unknown as Json,
    ...(typeof run.h.estimator === 'function' && { customEstimator: estimatorName(run.h) }),
  };
  return saveCheckpoint(path, { metadata, trees: { sac: run.sac }, arrays });
}

/** How a loaded agent differs from the one `h` makes (structure, leaf shapes, dtypes), if it does. */
function agentProblem(h: SacHyperparameters, sac: unknown): string | undefined {
  // A fresh agent on the CPU says what the config implies: one init, small next to a checkpoint's read.
  const fresh = initSac(h, T.tensor(rawKey(0), { backend: T.cpu }));
  try {
    const [leaves, def] = treeFlatten(sac);
    const [expected, expectedDef] = treeFlatten(fresh);
    try {
      assertSameStructure(def, expectedDef, "tree 'sac' (saved vs what its config makes)");
    } catch (e) {
      if (e instanceof TreeError) return e.message;
      throw e;
    }
    const paths = treePaths(expectedDef);
    for (const [i, want] of (expected as Tensor[]).entries()) {
      const got = leaves[i];
      if (!(got instanceof T.Tensor)) return `'sac${paths[i]}' is not a tensor`;
      if (got.dtype !== want.dtype || formatShape(got.shape) !== formatShape(want.shape)) {
        return `'sac${paths[i]}' is ${got.dtype}${formatShape(got.shape)}; its config makes ${want.dtype}${formatShape(want.shape)}`;
      }
    }
    return undefined;
  } finally {
    disposeTree(fresh);
  }
}

/**
 * What stands in for the custom estimator `name` a run was made (`createRun`) or loaded (from the
 * file `from`) without (`weightsOnly`): named as it, it throws if called.
 */
function missingEstimator(name: string, from?: string): Estimator {
  const standIn: Estimator = () => {
    const [where, how, give] = from === undefined ? ['createRun', 'made', 'createRun(config, backend, { estimator })'] : [from, 'loaded', 'loadRun(path, backend, { estimator })'];
    throw new ConfigError(`${where}: ${how} with { weightsOnly: true }, without its custom estimator '${name}'; to train it, give it: ${give}`);
  };
  return Object.defineProperty(standIn, 'name', { value: name });
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * Reads a run back from `path`, checking that it is a training checkpoint this version understands
 * and that its parts fit together: a valid config, the agent that config makes (tree structure, leaf
 * shapes and dtypes), the step, the episode state and the replay buffer. Errors name the file and the
 * part. A run trained with a custom estimator needs it again (`{ estimator }`),
 * checked as `createRun` checks it, unless only its weights are wanted (`{ weightsOnly: true }`, see
 * `RunOptions`).
 *
 * @example
 * const run = await loadRun('runs/mc/checkpoint.mixrl', cpu);
 * const mine = await loadRun('runs/mine/checkpoint.mixrl', cpu, { estimator: myEstimator }); // to train on
 * const weights = await loadRun('runs/mine/checkpoint.mixrl', cpu, { weightsOnly: true }); // to export
 */
export async function loadRun(path: string, backend: Backend, options: RunOptions = {}): Promise<Either<MixrlError, Run>> {
  const loaded = await loadCheckpoint(path, { backend });
  if (isLeft(loaded)) return loaded;
  const { metadata, trees, arrays } = loaded.right;
  const bad = (what: string) => left(new CheckpointError('bad-manifest', `${path}: ${what}`));
  const meta = metadata as Record<string, any>;
  if (meta === null || typeof meta !== 'object' || meta.format !== CHECKPOINT_FORMAT) {
    return left(new ConfigError(`${path}: not a mixrl training checkpoint (format ${JSON.stringify(meta?.format)})`));
  }
  const partial = validatePartial(meta.config, 'config');
  if (isLeft(partial)) return bad(partial.left.message);
  const prepared = await options.prepareEnv?.(partial.right);
  if (prepared && isLeft(prepared)) return prepared;
  const resolved = resolveConfig([partial.right], ['config']);
  if (isLeft(resolved)) return bad(resolved.left.message);
  const config = resolved.right;
  const model = makeModel(config.env, config.envOptions);
  const { step, rollout } = meta;
  if (!isCount(step)) return bad(`'step' must be a non-negative integer, got ${JSON.stringify(step)}`);
  if (
    !(rollout !== null && typeof rollout === 'object') ||
    !isCount(rollout.elapsed) ||
    rollout.elapsed >= model.maxEpisodeSteps ||
    !isCount(rollout.episode) ||
    !Number.isFinite(rollout.episodeReturn)
  ) {
    return bad(`'rollout' must hold elapsed (below ${model.maxEpisodeSteps}), episode and episodeReturn, got ${JSON.stringify(rollout)}`);
  }
  const returns = arrays.returns;
  if (!(returns instanceof Float64Array) || returns.length !== rollout.episode) {
    return bad(`array 'returns' must be float64 with one value per finished episode (${rollout.episode})`);
  }
  const state = arrays['rollout.state'];
  const obs = arrays['rollout.obs'];
  if (
    !(state instanceof Float64Array) ||
    state.length !== model.stateLayout.length ||
    !(obs instanceof Float64Array) ||
    obs.length !== model.observationSpace.size
  ) {
    return bad(`the episode state ('rollout.state', 'rollout.obs') does not fit ${config.env}`);
  }
  // Checked against the config before the buffer is allocated: one transition per step.
  const expected = {
    capacity: config.replayCapacity,
    obsDim: model.observationSpace.size,
    actionDim: model.actionSpace.size,
    size: Math.min(step, config.replayCapacity),
  };
  for (const [key, value] of Object.entries(expected)) {
    const got = meta.replay?.[key];
    if (got !== value) return bad(`'replay.${key}' must be ${value} for this config at step ${step}, got ${JSON.stringify(got)}`);
  }
  const replayArrays = Object.fromEntries(
    ['obs', 'action', 'reward', 'nextObs', 'terminated'].map((name) => [name, arrays[`replay.${name}`]]),
  );
  const replay = ReplayBuffer.fromState({ meta: meta.replay, arrays: replayArrays } as unknown as ReplayState);
  if (isLeft(replay)) return bad(replay.left.message);
  const { estimator } = options;
  const missing = typeof meta.customEstimator === 'string' && estimator === undefined ? (meta.customEstimator as string) : undefined;
  if (missing !== undefined && !options.weightsOnly) {
    return left(new ConfigError(`${path}: trained with the custom estimator '${missing}'; give it again: loadRun(path, backend, { estimator })`));
  }
  const h = withEstimator(hyperparameters(config, model), { estimator: missing === undefined ? estimator : missingEstimator(missing, path) });
  const problem = agentProblem(h, trees.sac);
  if (problem) return left(new CheckpointError('shape-mismatch', `${path}: ${problem}`));
  const run: Run = {
    config,
    model,
    h,
    backend,
    sac: trees.sac as SacState,
    replay: replay.right,
    rollout: { state, obs, elapsed: rollout.elapsed, episode: rollout.episode, episodeReturn: rollout.episodeReturn },
    step,
    returns: Array.from(returns),
    lastMetrics: null,
  };
  // The stand-in of a missing estimator (weightsOnly) is not traced: it throws by design.
  const estimatorFails = missing === undefined ? estimatorProblem(run) : undefined;
  return estimatorFails ? left(estimatorFails) : right(run);
}
