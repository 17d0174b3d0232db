import { type UniformStream } from '../tensor/threefry';
import { type EnvModel, type Transition, checkAction, checkState, seededStream } from './core';
import { EnvError, formatVector } from './errors';

/** Arguments of `VectorEnv.reset`. */
export interface VectorResetArgs {
  /**
   * One seed: copy i is seeded with `seed + i` (Gymnasium's convention, so copy i replays a single env
   * reset with `seed + i`); or one seed per copy. Without it every stream continues.
   */
  seed?: number | readonly number[];
  options?: {
    /** Start states of all copies, row i at `[i * stateDim, (i + 1) * stateDim)`. */
    states?: ArrayLike<number>;
  };
}

/**
 * The arrays of one vector step, new at each call (as Gymnasium's vector envs return them): the `obs`
 * a loop keeps to act on, and later stores beside `finalObs`, is not changed by the next step.
 */
export interface VectorStepResult {
  /** Observations to act on next: after auto-reset for copies that finished. */
  obs: Float64Array;
  rewards: Float64Array;
  /** 1 where the copy reached a terminal state this step. */
  terminated: Uint8Array;
  /** 1 where the copy hit its time limit this step. */
  truncated: Uint8Array;
  /**
   * The observation each copy reached in this step, before any auto-reset: equal to `obs` for copies
   * that did not finish, the final observation of the episode for those that did (the `next_obs` for
   * a replay buffer).
   */
  finalObs: Float64Array;
}

/**
 * N copies of one model stepped together over flat float64 batches, with same-step auto-reset: a copy
 * that terminates or is truncated is reset at once (drawing from its own stream) and its last
 * observation is reported in `finalObs`. Copy i with seed `s + i` follows exactly the trajectory of a
 * single `ModelEnv` reset with seed `s + i` and reset again (without a seed) after each episode.
 *
 * @example
 * const venv = new VectorEnv(shapedPendulum(), 1024);
 * let obs = venv.reset({ seed: 0 }).obs; // 1024 * 3 numbers
 * const actions = new Float64Array(1024); // one torque per copy
 * const { rewards, terminated, truncated, finalObs } = venv.step(actions);
 */
export class VectorEnv<M extends EnvModel = EnvModel> {
  readonly obsDim: number;
  readonly actDim: number;
  readonly stateDim: number;
  private readonly states: Float64Array;
  private rngs: UniformStream[];
  private readonly elapsed: Int32Array;
  private readonly out: Transition = { reward: 0, terminated: false };
  private started = false;

  constructor(
    readonly model: M,
    readonly numEnvs: number,
  ) {
    if (!(Number.isSafeInteger(numEnvs) && numEnvs > 0)) {
      throw new EnvError('invalid-config', `${model.id}: numEnvs must be a positive integer, got ${numEnvs}`);
    }
    this.obsDim = model.observationSpace.size;
    this.actDim = model.actionSpace.size;
    this.stateDim = model.stateLayout.length;
    this.states = new Float64Array(numEnvs * this.stateDim);
    this.rngs = Array.from({ length: numEnvs }, (_, i) => seededStream(i, model.id));
    this.elapsed = new Int32Array(numEnvs);
  }

  /** A copy of the internal states, row-major `numEnvs x stateDim`. */
  get state(): Float64Array {
    return this.states.slice();
  }

  /**
   * Resets every copy. Returns their observations (`numEnvs x obsDim`, a new array).
   *
   * @example
   * venv.reset({ seed: [3, 5, 8] }); // a VectorEnv of 3 copies, one seed each
   */
  reset(args: VectorResetArgs = {}): { obs: Float64Array } {
    const { model, numEnvs, stateDim } = this;
    const seed = args.seed;
    if (seed !== undefined && typeof seed !== 'number' && seed.length !== numEnvs) {
      throw new EnvError('invalid-seed', `${model.id}: ${seed.length} seeds for ${numEnvs} copies`);
    }
    const given = args.options?.states;
    if (given !== undefined && given.length !== numEnvs * stateDim) {
      throw new EnvError(
        'invalid-state',
        `${model.id}: reset: states has ${given.length} entries, expected ${numEnvs} x ${stateDim}`,
      );
    }
    // Every row and seed checked before any copy changes (as step checks every action first).
    const rows = given === undefined ? undefined : Array.from({ length: numEnvs }, (_, i) => Array.prototype.slice.call(given, i * stateDim, (i + 1) * stateDim) as number[]);
    rows?.forEach((row, i) => checkState(model, row, `${model.id}: reset: copy ${i}`));
    const streams = seed === undefined ? undefined : Array.from({ length: numEnvs }, (_, i) => seededStream(typeof seed === 'number' ? seed + i : seed[i], `${model.id}: copy ${i}`));
    if (streams) this.rngs = streams;
    const obs = new Float64Array(numEnvs * this.obsDim);
    for (let i = 0; i < numEnvs; i++) {
      if (rows !== undefined) {
        this.states.set(rows[i], i * stateDim);
      } else {
        model.initialState(this.rngs[i], this.states, i * stateDim);
      }
      model.observe(this.states, i * stateDim, obs, i * this.obsDim);
    }
    this.elapsed.fill(0);
    this.started = true;
    return { obs };
  }

  /**
   * Steps every copy with its row of `actions` (`numEnvs x actDim`), auto-resetting finished copies.
   * Throws `EnvError` naming the copy and its step index for a non-finite action or a wrong length.
   *
   * @example
   * const { obs, rewards, terminated, truncated, finalObs } = venv.step(actions);
   */
  step(actions: Float64Array): VectorStepResult {
    const { model, numEnvs, stateDim, obsDim, actDim, out } = this;
    if (!this.started) {
      throw new EnvError('step-before-reset', `${model.id}: step 0: step(${formatVector(actions)}) before reset()`);
    }
    if (actions.length !== numEnvs * actDim) {
      throw new EnvError(
        'invalid-action',
        `${model.id}: step: actions has ${actions.length} entries, expected ${numEnvs} x ${actDim}`,
      );
    }
    for (let i = 0; i < numEnvs; i++) {
      for (let j = 0; j < actDim; j++) {
        if (!Number.isFinite(actions[i * actDim + j])) {
          checkAction(model, actions.subarray(i * actDim, (i + 1) * actDim), `copy ${i}, step ${this.elapsed[i]}`);
        }
      }
    }
    const limit = model.maxEpisodeSteps;
    const result: VectorStepResult = {
      obs: new Float64Array(numEnvs * obsDim),
      rewards: new Float64Array(numEnvs),
      terminated: new Uint8Array(numEnvs),
      truncated: new Uint8Array(numEnvs),
      finalObs: new Float64Array(numEnvs * obsDim),
    };
    for (let i = 0; i < numEnvs; i++) {
      const so = i * stateDim;
      const oo = i * obsDim;
      model.transition(this.states, so, actions, i * actDim, out);
      const steps = ++this.elapsed[i];
      const truncated = steps >= limit;
      result.rewards[i] = out.reward;
      result.terminated[i] = out.terminated ? 1 : 0;
      result.truncated[i] = truncated ? 1 : 0;
      model.observe(this.states, so, result.finalObs, oo);
      if (out.terminated || truncated) {
        model.initialState(this.rngs[i], this.states, so);
        this.elapsed[i] = 0;
        model.observe(this.states, so, result.obs, oo);
      } else {
        for (let k = 0; k < obsDim; k++) result.obs[oo + k] = result.finalObs[oo + k];
      }
    }
    return result;
  }
}
