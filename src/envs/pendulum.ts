/**
 * The inverted pendulum of Gymnasium's `Pendulum-v1` and the paper's unshaped variant.
 *
 * State `[th, thdot]` (th = 0 upright, not wrapped: it accumulates turns); observation
 * `[cos th, sin th, thdot]`; action `[u]`, torque in [-2, 2]. One step, in the original's order:
 *
 *     u       = clip(u, -2, 2)
 *     reward  = r(th, thdot, u)                      (pre-step th, thdot)
 *     thdot'  = clip(thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, -8, 8)
 *     th'     = th + thdot' dt                       (uses the clipped thdot')
 *
 * with g = 10, m = l = 1, dt = 0.05. Start: th ~ U[-pi, pi), thdot ~ U[-1, 1), drawn in that order.
 * Never terminates; cut at 200 steps.
 */
import { type EnvModel, type TimeLimitConfig, clip, timeLimit } from './core';
import { EnvError } from './errors';
import { Box } from './spaces';

const G = 10;
const M = 1;
const L = 1;
const DT = 0.05;
const MAX_SPEED = 8;
const MAX_TORQUE = 2;
const TIME_LIMIT = 200;

/**
 * Gymnasium's `angle_normalize`: `((x + pi) mod 2pi) - pi` with Python's floored modulo, in [-pi, pi).
 *
 * @example
 * angleNormalize(3 * Math.PI / 2); // -pi/2
 */
export function angleNormalize(x: number): number {
  let r = (x + Math.PI) % (2 * Math.PI);
  if (r < 0) r += 2 * Math.PI;
  return r - Math.PI;
}

type PendulumReward = (th: number, thdot: number, u: number) => number;

function pendulumModel(id: string, reward: PendulumReward, config: TimeLimitConfig): EnvModel {
  return {
    id,
    observationSpace: new Box([-1, -1, -MAX_SPEED], [1, 1, MAX_SPEED]),
    actionSpace: new Box([-MAX_TORQUE], [MAX_TORQUE]),
    stateLayout: ['th', 'thdot'],
    maxEpisodeSteps: timeLimit(config, TIME_LIMIT, id),
    initialState(rng, out, o) {
      out[o] = rng.uniform(-Math.PI, Math.PI);
      out[o + 1] = rng.uniform(-1, 1);
    },
    transition(s, o, a, ao, out) {
      const th = s[o];
      const thdot = s[o + 1];
      const u = clip(a[ao], -MAX_TORQUE, MAX_TORQUE);
      out.reward = reward(th, thdot, u);
      out.terminated = false;
      let newthdot = thdot + ((3 * G) / (2 * L) * Math.sin(th) + 3 / (M * (L * L)) * u) * DT;
      newthdot = clip(newthdot, -MAX_SPEED, MAX_SPEED);
      s[o] = th + newthdot * DT;
      s[o + 1] = newthdot;
    },
    observe(s, o, obs, oo) {
      obs[oo] = Math.cos(s[o]);
      obs[oo + 1] = Math.sin(s[o]);
      obs[oo + 2] = s[o + 1];
    },
  };
}

/** Gymnasium's Pendulum-v1 reward: `-(norm(th)^2 + 0.1 thdot^2 + 0.001 u^2)`, u already clipped. */
function shapedReward(th: number, thdot: number, u: number): number {
  const n = angleNormalize(th);
  return -(n * n + 0.1 * (thdot * thdot) + 0.001 * (u * u));
}

/** Options of the unshaped `Pendulum`. */
export interface PendulumConfig extends TimeLimitConfig {
  /** Reward 1 when `|norm(th)| < tolerance` (strict), in degrees; default 1 (the authors' code). */
  toleranceDegrees?: number;
}

/**
 * The paper's unshaped `Pendulum`: Pendulum-v1 dynamics, reward 1 when the pre-step angle is within
 * the tolerance of upright (`-tol < norm(th) < tol`, tol in radians = degrees * pi / 180), else 0.
 *
 * @example
 * const env = new ModelEnv(pendulum({ toleranceDegrees: 5 }));
 */
export function pendulum(config: PendulumConfig = {}): EnvModel {
  const degrees = config.toleranceDegrees ?? 1;
  if (!(Number.isFinite(degrees) && degrees > 0)) {
    throw new EnvError('invalid-config', `Pendulum: toleranceDegrees must be a positive number, got ${degrees}`);
  }
  const tol = degrees * (Math.PI / 180); // as numpy.radians
  return pendulumModel('Pendulum', (th) => {
    const n = angleNormalize(th);
    return -tol < n && n < tol ? 1 : 0;
  }, config);
}

/**
 * The paper's `ShapedPendulum`, which is Gymnasium's Pendulum-v1 (same dynamics, reward, start and limit).
 *
 * @example
 * const env = new ModelEnv(shapedPendulum());
 */
export function shapedPendulum(config: TimeLimitConfig = {}): EnvModel {
  return pendulumModel('ShapedPendulum', shapedReward, config);
}

/**
 * Gymnasium's `Pendulum-v1` under its own id (identical to `shapedPendulum`).
 *
 * @example
 * const env = makeEnv('Pendulum-v1');
 */
export function pendulumV1(config: TimeLimitConfig = {}): EnvModel {
  return pendulumModel('Pendulum-v1', shapedReward, config);
}
