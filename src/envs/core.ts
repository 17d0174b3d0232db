import { rawKey, UniformStream } from '../tensor/threefry';
import { EnvError, formatVector } from './errors';
import type { Box } from './spaces';

/** The outcome of one transition of a model, written into a reused object to avoid allocation. */
export interface Transition {
  reward: number;
  terminated: boolean;
}

/**
 * A pure description of an environment: constants, spaces and the transition function on a flat
 * float64 state. It holds no mutable state, so one model serves a single env (`ModelEnv`) and a batch
 * (`VectorEnv`) alike. `state` and `action` are read at an offset so batches need no copies.
 */
export interface EnvModel {
  /** The registry id, used in error messages. */
  readonly id: string;
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  /** One name per entry of the internal state, e.g. `['th', 'thdot']`. */
  readonly stateLayout: readonly string[];
  /** Where a state given through `reset({ options: { state } })` must lie; absent: any finite state. */
  readonly stateBounds?: Box;
  /** The time limit: step index `maxEpisodeSteps - 1` is truncated. `Infinity` for none. */
  readonly maxEpisodeSteps: number;
  /** Writes a start state drawn from `rng` at `out[offset ...]`. */
  initialState(rng: UniformStream, out: Float64Array, offset: number): void;
  /**
   * Advances the state at `state[so ...]` in place under the action at `action[ao ...]` (already checked
   * finite; clipped here, as the original does) and writes the reward and termination into `out`.
   */
  transition(state: Float64Array, so: number, action: Float64Array, ao: number, out: Transition): void;
  /** Writes the observation of the state at `state[so ...]` into `obs[oo ...]`. */
  observe(state: Float64Array, so: number, obs: Float64Array, oo: number): void;
}

/** Arguments of `reset`, as Gymnasium's `reset(seed=, options=)`. */
export interface ResetArgs {
  /** Re-seeds the env's random stream; without it the stream continues from the previous episode. */
  seed?: number;
  options?: {
    /** Start the episode from exactly this internal state (layout: `model.stateLayout`). */
    state?: ArrayLike<number>;
  };
}

export interface ResetResult {
  obs: Float64Array;
  info: Record<string, unknown>;
}

export interface StepResult {
  obs: Float64Array;
  reward: number;
  /** The episode reached a terminal state of the MDP (bootstrap with 0). */
  terminated: boolean;
  /** The time limit cut the episode (not a terminal state; may coincide with `terminated`). */
  truncated: boolean;
  info: Record<string, unknown>;
}

/** Gymnasium's `Env` contract on plain float64 arrays. */
export interface Env {
  readonly id: string;
  readonly observationSpace: Box;
  readonly actionSpace: Box;
  readonly maxEpisodeSteps: number;
  /** A copy of the internal state (layout documented by each environment). */
  readonly state: Float64Array;
  reset(args?: ResetArgs): ResetResult;
  step(action: ArrayLike<number>): StepResult;
}

/** `min(max(x, lo), hi)`, NumPy's `clip` for one number. */
export function clip(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

/** A Threefry uniform stream for an integer seed; throws `invalid-seed` naming `who` otherwise. */
export function seededStream(seed: number, who: string): UniformStream {
  if (!Number.isSafeInteger(seed)) {
    throw new EnvError('invalid-seed', `${who}: seed must be a safe integer, got ${seed}`);
  }
  return new UniformStream(rawKey(seed));
}

/**
 * Throws `invalid-action` unless `action` has the model's action size and only finite entries.
 * `where` is the step description used in the message, e.g. `step 3` or `copy 2, step 3`.
 */
export function checkAction(model: EnvModel, action: ArrayLike<number>, where: string): void {
  const n = model.actionSpace.size;
  if (action == null || typeof action.length !== 'number' || action.length !== n) {
    const got = action != null && typeof action.length === 'number' ? formatVector(action) : String(action);
    throw new EnvError('invalid-action', `${model.id}: ${where}: action ${got} has the wrong length, expected ${n}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(action[i])) {
      throw new EnvError('invalid-action', `${model.id}: ${where}: action ${formatVector(action)} is not finite`);
    }
  }
}

/** Throws `invalid-state` unless `state` fits the model's layout, is finite and lies in `stateBounds`. */
export function checkState(model: EnvModel, state: ArrayLike<number>, who: string): void {
  const n = model.stateLayout.length;
  const layout = `[${model.stateLayout.join(', ')}]`;
  if (state.length !== n) {
    throw new EnvError('invalid-state', `${who}: state ${formatVector(state)} must have layout ${layout}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(state[i])) {
      throw new EnvError('invalid-state', `${who}: state ${formatVector(state)} is not finite`);
    }
  }
  const bounds = model.stateBounds;
  if (bounds !== undefined && !bounds.contains(state)) {
    throw new EnvError(
      'invalid-state',
      `${who}: state ${formatVector(state)} ${layout} lies outside ${formatVector(bounds.low)} .. ${formatVector(bounds.high)}`,
    );
  }
}

type Phase = 'unset' | 'running' | 'terminated' | 'truncated';

/**
 * A single environment driven by a model, with Gymnasium's conventions: `reset` (optionally seeded, or
 * from an exact state), `step` with validation, and the time limit reported as truncation.
 *
 * Randomness comes from one Threefry `UniformStream` per env: `reset({ seed })` restarts it from
 * `rawKey(seed)`; a reset without a seed continues it. An env that was never seeded uses seed 0.
 *
 * @example
 * const env = new ModelEnv(shapedPendulum());
 * let { obs } = env.reset({ seed: 1 });
 * const { reward, terminated, truncated } = env.step(Float64Array.of(0.5));
 */
export class ModelEnv<M extends EnvModel = EnvModel> implements Env {
  private readonly s: Float64Array;
  private readonly scratchAction: Float64Array;
  private readonly out: Transition = { reward: 0, terminated: false };
  private rng: UniformStream = new UniformStream(rawKey(0));
  private elapsed = 0;
  private phase: Phase = 'unset';

  constructor(readonly model: M) {
    this.s = new Float64Array(model.stateLayout.length);
    this.scratchAction = new Float64Array(model.actionSpace.size);
  }

  get id(): string {
    return this.model.id;
  }
  get observationSpace(): Box {
    return this.model.observationSpace;
  }
  get actionSpace(): Box {
    return this.model.actionSpace;
  }
  get maxEpisodeSteps(): number {
    return this.model.maxEpisodeSteps;
  }
  get state(): Float64Array {
    return this.s.slice();
  }
  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  /**
   * Starts an episode. A given `options.state` is used exactly and draws nothing from the stream.
   *
   * @example
   * env.reset({ options: { state: [Math.PI, 0] } }); // Pendulum hanging down, at rest
   */
  reset(args: ResetArgs = {}): ResetResult {
    const given = args.options?.state;
    // The state is checked before the seed replaces the stream: a refused reset changes nothing.
    if (given !== undefined) checkState(this.model, given, `${this.model.id}: reset`);
    if (args.seed !== undefined) this.rng = seededStream(args.seed, this.model.id);
    if (given !== undefined) {
      this.s.set(given);
    } else {
      this.model.initialState(this.rng, this.s, 0);
    }
    this.elapsed = 0;
    this.phase = 'running';
    return { obs: this.observation(), info: {} };
  }

  /**
   * Advances one step. Throws `EnvError` for a non-finite or wrong-length action and for a step before
   * `reset` or after the episode ended; out-of-range actions are clipped as the original does.
   *
   * @example
   * const { obs, reward, terminated, truncated } = env.step([1]);
   */
  step(action: ArrayLike<number>): StepResult {
    const where = `step ${this.elapsed}`;
    if (this.phase !== 'running') {
      const value = action != null && typeof action.length === 'number' ? formatVector(action) : String(action);
      if (this.phase === 'unset') {
        throw new EnvError('step-before-reset', `${this.model.id}: ${where}: step(${value}) before reset()`);
      }
      throw new EnvError(
        'step-after-done',
        `${this.model.id}: ${where}: step(${value}) after the episode was ${this.phase}; call reset() first`,
      );
    }
    checkAction(this.model, action, where);
    this.scratchAction.set(action);
    this.model.transition(this.s, 0, this.scratchAction, 0, this.out);
    this.elapsed++;
    const terminated = this.out.terminated;
    const truncated = this.elapsed >= this.model.maxEpisodeSteps;
    if (terminated) this.phase = 'terminated';
    else if (truncated) this.phase = 'truncated';
    return { obs: this.observation(), reward: this.out.reward, terminated, truncated, info: {} };
  }

  private observation(): Float64Array {
    const obs = new Float64Array(this.model.observationSpace.size);
    this.model.observe(this.s, 0, obs, 0);
    return obs;
  }
}

/** Options every classic-control model accepts. */
export interface TimeLimitConfig {
  /** Override the episode cut-off (a positive integer, or `Infinity` for none). */
  maxEpisodeSteps?: number;
}

/** The configured time limit, or `fallback`; throws `invalid-config` naming `id` for a bad value. */
export function timeLimit(config: TimeLimitConfig, fallback: number, id: string): number {
  const steps = config.maxEpisodeSteps ?? fallback;
  if (!(steps === Infinity || (Number.isSafeInteger(steps) && steps > 0))) {
    throw new EnvError('invalid-config', `${id}: maxEpisodeSteps must be a positive integer or Infinity, got ${steps}`);
  }
  return steps;
}
