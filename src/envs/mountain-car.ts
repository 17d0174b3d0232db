/**
 * The continuous mountain car of Gymnasium's `MountainCarContinuous-v0` and the paper's variants.
 *
 * State and observation `[x, v]`; action `[a]`, power coefficient in [-1, 1]. One step, in the
 * original's order:
 *
 *     f  = clip(a, -1, 1)
 *     v  = clip(v + f * 0.0015 - 0.0025 cos(3x), -0.07, 0.07)
 *     x  = clip(x + v, -1.2, 0.6)
 *     if x == -1.2 and v < 0: v = 0                 (inelastic left wall)
 *     goal: x >= 0.45 and v >= 0                    (post-step state)
 *
 * Start: x ~ U[-0.6, -0.4), v = 0. Gymnasium stores the state as float32 after each step; here it
 * stays float64.
 */
import { type EnvModel, type TimeLimitConfig, clip, timeLimit } from './core';
import { Box } from './spaces';

const MIN_ACTION = -1;
const MAX_ACTION = 1;
const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.45;
const GOAL_VELOCITY = 0;
const POWER = 0.0015;

/** Applies the dynamics to `s[o], s[o + 1]` in place; returns whether the goal is reached. */
function carStep(s: Float64Array, o: number, action: number): boolean {
  let position = s[o];
  let velocity = s[o + 1];
  const force = clip(action, MIN_ACTION, MAX_ACTION);
  velocity += force * POWER - 0.0025 * Math.cos(3 * position);
  if (velocity > MAX_SPEED) velocity = MAX_SPEED;
  if (velocity < -MAX_SPEED) velocity = -MAX_SPEED;
  position += velocity;
  if (position > MAX_POSITION) position = MAX_POSITION;
  if (position < MIN_POSITION) position = MIN_POSITION;
  if (position === MIN_POSITION && velocity < 0) velocity = 0;
  s[o] = position;
  s[o + 1] = velocity;
  return position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
}

type CarReward = (x: number, action: number, atGoal: boolean) => number;

function carModel(id: string, limit: number, terminates: boolean, reward: CarReward, config: TimeLimitConfig): EnvModel {
  const space = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED]);
  return {
    id,
    observationSpace: space,
    actionSpace: new Box([MIN_ACTION], [MAX_ACTION]),
    stateLayout: ['x', 'v'],
    stateBounds: space,
    maxEpisodeSteps: timeLimit(config, limit, id),
    initialState(rng, out, o) {
      out[o] = rng.uniform(-0.6, -0.4);
      out[o + 1] = 0;
    },
    transition(s, o, a, ao, out) {
      const atGoal = carStep(s, o, a[ao]);
      out.terminated = terminates && atGoal;
      out.reward = reward(s[o], a[ao], atGoal);
    },
    observe(s, o, obs, oo) {
      obs[oo] = s[o];
      obs[oo + 1] = s[o + 1];
    },
  };
}

/**
 * The paper's unshaped `MountainCar`: reward -1 on every step (the goal step included), terminated at
 * the goal, cut at 1000 steps.
 *
 * @example
 * const env = new ModelEnv(mountainCar());
 */
export function mountainCar(config: TimeLimitConfig = {}): EnvModel {
  return carModel('MountainCar', 1000, true, () => -1, config);
}

/**
 * The paper's `ShapedMountainCar`: reward = post-step position x, never terminates, cut at 1000 steps.
 *
 * @example
 * const env = new ModelEnv(shapedMountainCar());
 */
export function shapedMountainCar(config: TimeLimitConfig = {}): EnvModel {
  return carModel('ShapedMountainCar', 1000, false, (x) => x, config);
}

/**
 * Gymnasium's `MountainCarContinuous-v0`: reward `100 [at goal] - 0.1 a^2`, terminated at the goal,
 * cut at 999 steps. As in the original, the energy penalty uses the action as given, before clipping.
 *
 * @example
 * const env = makeEnv('MountainCarContinuous-v0');
 */
export function mountainCarContinuousV0(config: TimeLimitConfig = {}): EnvModel {
  return carModel('MountainCarContinuous-v0', 999, true, (_x, a, atGoal) => (atGoal ? 100 : 0) - a * a * 0.1, config);
}
