/**
 * The continuous Acrobot of the paper (Gymnasium's Acrobot with the Sutton & Barto "book" dynamics and a
 * continuous torque, as in the authors' code).
 *
 * State `[th1, th2, dth1, dth2]` (th1 = 0: first link hanging down; th2 relative to link 1); action
 * `[torque]` in [-1, 1] on the second joint. One step, in the original's order:
 *
 *     torque = clip(torque, -1, 1)
 *     s'     = one RK4 step of dt = 0.2 of the book dynamics, torque held constant
 *     th1', th2'   wrapped into [-pi, pi] (by repeated +-2pi, Gymnasium's `wrap`)
 *     dth1', dth2' clipped to [-4pi, 4pi] and [-9pi, 9pi] (after the step, not inside RK4)
 *     terminal: -cos th1' - cos(th2' + th1') > 1
 *
 * Constants l1 = l2 = m1 = m2 = 1, lc1 = lc2 = 0.5, I1 = I2 = 1, g = 9.8. Start: exactly 0.
 * Observation `[norm(th1), norm(th2), dth1, dth2]` with Gymnasium's `angle_normalize`, as the authors'
 * code has it: it equals the state except that an angle of exactly +pi reads -pi.
 */
import { type EnvModel, type TimeLimitConfig, clip, timeLimit } from './core';
import { angleNormalize } from './pendulum';
import { Box } from './spaces';

const DT = 0.2;
const L1 = 1;
const M1 = 1;
const M2 = 1;
const LC1 = 0.5;
const LC2 = 0.5;
const I1 = 1;
const I2 = 1;
const G = 9.8;
const MAX_VEL_1 = 4 * Math.PI;
const MAX_VEL_2 = 9 * Math.PI;
const TIME_LIMIT = 1000;

/** The book dynamics: writes d/dt [th1, th2, dth1, dth2] at `y` under torque `a` into `dy`. */
function dsdt(y: Float64Array, a: number, dy: Float64Array): void {
  const theta1 = y[0];
  const theta2 = y[1];
  const dtheta1 = y[2];
  const dtheta2 = y[3];
  const d1 = M1 * (LC1 * LC1) + M2 * (L1 * L1 + LC2 * LC2 + 2 * L1 * LC2 * Math.cos(theta2)) + I1 + I2;
  const d2 = M2 * (LC2 * LC2 + L1 * LC2 * Math.cos(theta2)) + I2;
  const phi2 = M2 * LC2 * G * Math.cos(theta1 + theta2 - Math.PI / 2);
  const phi1 =
    -M2 * L1 * LC2 * (dtheta2 * dtheta2) * Math.sin(theta2) -
    2 * M2 * L1 * LC2 * dtheta2 * dtheta1 * Math.sin(theta2) +
    (M1 * LC1 + M2 * L1) * G * Math.cos(theta1 - Math.PI / 2) +
    phi2;
  const ddtheta2 =
    (a + (d2 / d1) * phi1 - M2 * L1 * LC2 * (dtheta1 * dtheta1) * Math.sin(theta2) - phi2) /
    (M2 * (LC2 * LC2) + I2 - (d2 * d2) / d1);
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  dy[0] = dtheta1;
  dy[1] = dtheta2;
  dy[2] = ddtheta1;
  dy[3] = ddtheta2;
}

// RK4 scratch (the models are used from one thread at a time).
const y0 = new Float64Array(4);
const yi = new Float64Array(4);
const k1 = new Float64Array(4);
const k2 = new Float64Array(4);
const k3 = new Float64Array(4);
const k4 = new Float64Array(4);

/** One classical RK4 step of length `DT` from `s[o ...]`, written back in place (Gymnasium's `rk4`). */
function rk4Step(s: Float64Array, o: number, torque: number): void {
  const dt2 = DT / 2;
  for (let i = 0; i < 4; i++) y0[i] = s[o + i];
  dsdt(y0, torque, k1);
  for (let i = 0; i < 4; i++) yi[i] = y0[i] + dt2 * k1[i];
  dsdt(yi, torque, k2);
  for (let i = 0; i < 4; i++) yi[i] = y0[i] + dt2 * k2[i];
  dsdt(yi, torque, k3);
  for (let i = 0; i < 4; i++) yi[i] = y0[i] + DT * k3[i];
  dsdt(yi, torque, k4);
  for (let i = 0; i < 4; i++) s[o + i] = y0[i] + (DT / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
}

/** Gymnasium's `wrap(x, lo, hi)`: shifts by `hi - lo` until `lo <= x <= hi` (both ends kept). */
function wrap(x: number, lo: number, hi: number): number {
  const diff = hi - lo;
  while (x > hi) x -= diff;
  while (x < lo) x += diff;
  return x;
}

type AcrobotReward = (th1: number, th2: number, terminal: boolean) => number;

function acrobotModel(id: string, reward: AcrobotReward, config: TimeLimitConfig): EnvModel {
  const space = new Box([-Math.PI, -Math.PI, -MAX_VEL_1, -MAX_VEL_2], [Math.PI, Math.PI, MAX_VEL_1, MAX_VEL_2]);
  return {
    id,
    observationSpace: space,
    actionSpace: new Box([-1], [1]),
    stateLayout: ['th1', 'th2', 'dth1', 'dth2'],
    stateBounds: space,
    maxEpisodeSteps: timeLimit(config, TIME_LIMIT, id),
    initialState(_rng, out, o) {
      out.fill(0, o, o + 4);
    },
    transition(s, o, a, ao, out) {
      rk4Step(s, o, clip(a[ao], -1, 1));
      s[o] = wrap(s[o], -Math.PI, Math.PI);
      s[o + 1] = wrap(s[o + 1], -Math.PI, Math.PI);
      s[o + 2] = clip(s[o + 2], -MAX_VEL_1, MAX_VEL_1);
      s[o + 3] = clip(s[o + 3], -MAX_VEL_2, MAX_VEL_2);
      const terminal = -Math.cos(s[o]) - Math.cos(s[o + 1] + s[o]) > 1;
      out.terminated = terminal;
      out.reward = reward(s[o], s[o + 1], terminal);
    },
    observe(s, o, obs, oo) {
      obs[oo] = angleNormalize(s[o]);
      obs[oo + 1] = angleNormalize(s[o + 1]);
      obs[oo + 2] = s[o + 2];
      obs[oo + 3] = s[o + 3];
    },
  };
}

/**
 * The paper's unshaped `Acrobot`: reward -1 per step and 0 on the terminal step; cut at 1000 steps.
 *
 * @example
 * const env = new ModelEnv(acrobot());
 * env.reset(); // state [0, 0, 0, 0]
 */
export function acrobot(config: TimeLimitConfig = {}): EnvModel {
  return acrobotModel('Acrobot', (_th1, _th2, terminal) => (terminal ? 0 : -1), config);
}

/**
 * The paper's `ShapedAcrobot`: reward `-cos th1 - cos(th2 + th1) - 1` of the post-step state, the
 * tip's height (in link lengths) minus the goal line's, in [-3, 1]; terminates like `Acrobot`.
 *
 * @example
 * const env = new ModelEnv(shapedAcrobot());
 */
export function shapedAcrobot(config: TimeLimitConfig = {}): EnvModel {
  return acrobotModel('ShapedAcrobot', (th1, th2) => -Math.cos(th1) - Math.cos(th2 + th1) - 1, config);
}
