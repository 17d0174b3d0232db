/**
 * The classic-control dynamics against an independent float64 re-derivation written here from the
 * equations of PAPER.md (section "Environments"), against invariants, and against known terminal states.
 * Nothing below calls the environments' own helpers: the envs are only driven through reset/step/state.
 */
import { describe, expect, it } from 'vitest';
import { makeEnv, type ModelEnv } from '../../src/envs';

/** Steps to the goal under a = sign(v) from [-0.5, 0], found by running `refCar` below. */
const STEPS_CAR = 106;
/** Steps to the terminal state under a = sign(dth2) from rest, found by running `refAcrobot` below. */
const STEPS_ACROBOT = 73;

// ---------------------------------------------------------------------------------------------------
// Independent re-derivation.

/** Pendulum-v1: thdot' = clip(thdot + (3g/(2l) sin th + 3/(m l^2) u) dt, -8, 8); th' = th + thdot' dt. */
function refPendulum(th: number, thdot: number, action: number): { th: number; thdot: number; cost: number } {
  const g = 10;
  const m = 1;
  const l = 1;
  const dt = 0.05;
  const u = Math.max(-2, Math.min(2, action));
  const wrapped = th - 2 * Math.PI * Math.floor((th + Math.PI) / (2 * Math.PI));
  const cost = wrapped ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2;
  const acc = ((3 * g) / (2 * l)) * Math.sin(th) + (3 / (m * l * l)) * u;
  const v = Math.max(-8, Math.min(8, thdot + acc * dt));
  return { th: th + v * dt, thdot: v, cost };
}

/** MountainCarContinuous: v += f 0.0015 - 0.0025 cos 3x, |v| <= 0.07; x += v in [-1.2, 0.6]; wall. */
function refCar(x: number, v: number, action: number): { x: number; v: number; goal: boolean } {
  const f = Math.max(-1, Math.min(1, action));
  let nv = v + (f * 0.0015 - 0.0025 * Math.cos(3 * x));
  nv = Math.max(-0.07, Math.min(0.07, nv));
  let nx = Math.max(-1.2, Math.min(0.6, x + nv));
  if (nx === -1.2 && nv < 0) nv = 0;
  return { x: nx, v: nv, goal: nx >= 0.45 && nv >= 0 };
}

/**
 * The acrobot as a Lagrangian system, M(q) q'' + c(q, q') + grad V(q) = [0, tau], solved by Cramer's
 * rule (the "book" equations are this system solved by elimination).
 */
const AC = { m1: 1, m2: 1, l1: 1, lc1: 0.5, lc2: 0.5, i1: 1, i2: 1, g: 9.8 };
function acrobotAccel(s: readonly number[], tau: number): number[] {
  const { m1, m2, l1, lc1, lc2, i1, i2, g } = AC;
  const [q1, q2, w1, w2] = s;
  const m11 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * Math.cos(q2)) + i1 + i2;
  const m12 = m2 * (lc2 * lc2 + l1 * lc2 * Math.cos(q2)) + i2;
  const m22 = m2 * lc2 * lc2 + i2;
  const h = m2 * l1 * lc2 * Math.sin(q2);
  const c1 = -h * (2 * w1 * w2 + w2 * w2);
  const c2 = h * w1 * w1;
  const g2 = m2 * lc2 * g * Math.sin(q1 + q2);
  const g1 = (m1 * lc1 + m2 * l1) * g * Math.sin(q1) + g2;
  const b1 = -c1 - g1;
  const b2 = tau - c2 - g2;
  const det = m11 * m22 - m12 * m12;
  return [w1, w2, (b1 * m22 - m12 * b2) / det, (m11 * b2 - m12 * b1) / det];
}
function acrobotEnergy(s: readonly number[]): number {
  const { m1, m2, l1, lc1, lc2, i1, i2, g } = AC;
  const [q1, q2, w1, w2] = s;
  const m11 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * Math.cos(q2)) + i1 + i2;
  const m12 = m2 * (lc2 * lc2 + l1 * lc2 * Math.cos(q2)) + i2;
  const m22 = m2 * lc2 * lc2 + i2;
  const kinetic = 0.5 * m11 * w1 * w1 + m12 * w1 * w2 + 0.5 * m22 * w2 * w2;
  const potential = -(m1 * lc1 + m2 * l1) * g * Math.cos(q1) - m2 * lc2 * g * Math.cos(q1 + q2);
  return kinetic + potential;
}
/** One RK4 step of 0.2 with the torque clipped to [-1, 1], then angles wrapped, velocities bounded. */
function refAcrobot(s: readonly number[], action: number): { s: number[]; terminal: boolean } {
  const dt = 0.2;
  const tau = Math.max(-1, Math.min(1, action));
  const add = (a: number[], b: number[], c: number) => a.map((x, i) => x + c * b[i]);
  const k1 = acrobotAccel(s, tau);
  const k2 = acrobotAccel(add([...s], k1, dt / 2), tau);
  const k3 = acrobotAccel(add([...s], k2, dt / 2), tau);
  const k4 = acrobotAccel(add([...s], k3, dt), tau);
  const n = s.map((x, i) => x + (dt / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
  const wrap = (a: number) => a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
  const out = [
    wrap(n[0]),
    wrap(n[1]),
    Math.max(-4 * Math.PI, Math.min(4 * Math.PI, n[2])),
    Math.max(-9 * Math.PI, Math.min(9 * Math.PI, n[3])),
  ];
  return { s: out, terminal: -Math.cos(out[0]) - Math.cos(out[0] + out[1]) > 1 };
}

/** The distance between two angles on the circle. */
const angleGap = (a: number, b: number) => Math.abs(Math.atan2(Math.sin(a - b), Math.cos(a - b)));

// A deterministic action sequence in [-1.5, 1.5] (deliberately exceeding [-1, 1] sometimes).
const actionAt = (t: number) => 1.5 * Math.sin(0.7 * t + 0.3 * Math.cos(1.3 * t));

function drive(env: ModelEnv, state: number[], actions: (t: number, obs: Float64Array) => number, steps: number) {
  let obs = env.reset({ options: { state } }).obs;
  const rows: { before: Float64Array; action: number; after: Float64Array; reward: number; terminated: boolean }[] = [];
  for (let t = 0; t < steps; t++) {
    const before = env.state;
    const action = actions(t, obs);
    const r = env.step([action]);
    rows.push({ before, action, after: env.state, reward: r.reward, terminated: r.terminated });
    obs = r.obs;
    if (r.terminated || r.truncated) break;
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------

describe('Pendulum dynamics', () => {
  it('agrees step by step, bit for bit, with the re-derivation (ShapedPendulum reward included)', () => {
    const env = makeEnv('ShapedPendulum');
    const rows = drive(env, [2.5, -3], (t) => 3 * actionAt(t), 200);
    expect(rows.length).toBe(200);
    for (const { before, action, after, reward } of rows) {
      const ref = refPendulum(before[0], before[1], action);
      expect([after[0], after[1]]).toEqual([ref.th, ref.thdot]);
      expect(reward).toBeCloseTo(-ref.cost, 13);
    }
  });

  it('clips thdot after the integration step and integrates th with the clipped thdot', () => {
    const env = makeEnv('Pendulum-v1');
    env.reset({ options: { state: [Math.PI / 2, 7.9] } });
    env.step([2]);
    // thdot + (15 sin(pi/2) + 3 * 2) * 0.05 = 7.9 + 1.05 > 8, so thdot' = 8 and th' = pi/2 + 8 * 0.05.
    expect(env.state[1]).toBe(8);
    expect(env.state[0]).toBe(Math.PI / 2 + 0.4);
  });

  it('pays the unshaped reward on the pre-step angle, strictly inside the tolerance', () => {
    const env = makeEnv('Pendulum', { toleranceDegrees: 1 });
    const tol = Math.PI / 180;
    const at = (th: number, thdot: number) => {
      env.reset({ options: { state: [th, thdot] } });
      return env.step([0]).reward;
    };
    expect(at(0, 8)).toBe(1); // leaves the band during the step, but the reward uses the pre-step angle
    expect(at(0.99 * tol, 0)).toBe(1);
    expect(at(-0.99 * tol, 0)).toBe(1);
    expect(at(1.01 * tol, 0)).toBe(0);
    expect(at(2 * Math.PI + 0.5 * tol, 0)).toBe(1); // normalized angle
    expect(at(Math.PI, 0)).toBe(0);
    const wide = makeEnv('Pendulum', { toleranceDegrees: 10 });
    wide.reset({ options: { state: [0.15, 0] } }); // 8.6 degrees
    expect(wide.step([0]).reward).toBe(1);
  });

  it('conserves the symplectic-Euler modified energy with zero torque and no clipping', () => {
    // E = thdot^2 / 2 + 15 cos th is conserved by the ODE (th'' = 15 sin th). The semi-implicit Euler
    // map conserves H~ = E + (h/2) thdot 15 sin th up to its next term (h^2/12)(225 sin^2 th -
    // 15 cos th thdot^2), so |H~_n - H~_0| <= (h^2/6)(225 + 15 max thdot^2) over short horizons, and
    // |E_n - E_0| <= (h/2)(|p_n f_n| + |p_0 f_0|) + that bound.
    const h = 0.05;
    const env = makeEnv('Pendulum-v1');
    for (const th0 of [3, 2, 1, 0.5, 0.1, -2.5]) {
      env.reset({ options: { state: [th0, 0] } });
      const energy = (th: number, p: number) => 0.5 * p * p + 15 * Math.cos(th);
      const modified = (th: number, p: number) => energy(th, p) + (h / 2) * p * 15 * Math.sin(th);
      const e0 = energy(th0, 0);
      const m0 = modified(th0, 0);
      for (let t = 0; t < 60; t++) {
        env.step([0]);
        const [th, p] = env.state;
        expect(Math.abs(p)).toBeLessThan(8); // never clipped: max |thdot| = sqrt(60) < 8 in the ODE
        const bound2 = ((h * h) / 6) * (225 + 15 * 64);
        expect(Math.abs(modified(th, p) - m0)).toBeLessThanOrEqual(bound2);
        expect(Math.abs(energy(th, p) - e0)).toBeLessThanOrEqual((h / 2) * Math.abs(p * 15 * Math.sin(th)) + bound2);
      }
    }
  });
});

describe('MountainCar dynamics', () => {
  it('agrees step by step, bit for bit, with the re-derivation', () => {
    for (const id of ['MountainCar', 'ShapedMountainCar', 'MountainCarContinuous-v0'] as const) {
      const env = makeEnv(id);
      const rows = drive(env, [-0.3, 0.01], (t) => actionAt(t), 1000);
      for (const { before, action, after, reward, terminated } of rows) {
        const ref = refCar(before[0], before[1], action);
        expect([after[0], after[1]]).toEqual([ref.x, ref.v]);
        expect(terminated).toBe(id !== 'ShapedMountainCar' && ref.goal);
        const expected = {
          MountainCar: -1,
          ShapedMountainCar: ref.x,
          'MountainCarContinuous-v0': (ref.goal ? 100 : 0) - 0.1 * action * action,
        }[id];
        expect(reward).toBeCloseTo(expected, 14);
      }
    }
  });

  it('stops the car at the left wall (x = -1.2, v < 0 resets v to 0)', () => {
    const env = makeEnv('MountainCar');
    env.reset({ options: { state: [-1.19, -0.07] } });
    env.step([-1]);
    expect(env.state).toEqual(Float64Array.of(-1.2, 0));
  });

  it('a = sign(v) (sign 0 = +1) from x = -0.5, v = 0 reaches the goal at step 106, as re-derived', () => {
    const policy = (v: number) => (v >= 0 ? 1 : -1);
    let x = -0.5;
    let v = 0;
    let refSteps = 0;
    for (let done = false; !done; refSteps++) ({ x, v, goal: done } = refCar(x, v, policy(v)));
    expect(refSteps).toBe(STEPS_CAR);
    for (const id of ['MountainCar', 'MountainCarContinuous-v0'] as const) {
      const env = makeEnv(id);
      const rows = drive(env, [-0.5, 0], (_t, obs) => policy(obs[1]), 1000);
      expect(rows.length).toBe(STEPS_CAR);
      expect(rows.at(-1)?.terminated).toBe(true);
      expect(rows.slice(0, -1).every((r) => !r.terminated)).toBe(true);
    }
  });
});

describe('Acrobot dynamics', () => {
  it('agrees step by step with the Lagrangian re-derivation (within rounding)', () => {
    for (const id of ['Acrobot', 'ShapedAcrobot'] as const) {
      const env = makeEnv(id);
      const rows = drive(env, [0.1, -0.2, 0, 0], (t) => actionAt(t), 400);
      expect(rows.length).toBeGreaterThan(20);
      for (const { before, action, after, reward, terminated } of rows) {
        const ref = refAcrobot(Array.from(before), action);
        expect(angleGap(after[0], ref.s[0])).toBeLessThan(1e-12);
        expect(angleGap(after[1], ref.s[1])).toBeLessThan(1e-12);
        expect(after[2]).toBeCloseTo(ref.s[2], 11);
        expect(after[3]).toBeCloseTo(ref.s[3], 11);
        expect(terminated).toBe(ref.terminal);
        const height = -Math.cos(ref.s[0]) - Math.cos(ref.s[0] + ref.s[1]);
        expect(reward).toBeCloseTo(id === 'Acrobot' ? (ref.terminal ? 0 : -1) : height - 1, 11);
      }
    }
  });

  it('keeps angles in [-pi, pi] and velocities within 4pi and 9pi, clipping them as re-derived', () => {
    const env = makeEnv('ShapedAcrobot', { maxEpisodeSteps: Infinity });
    env.reset({ options: { state: [3, 3, 12, 28] } });
    let clipped = 0;
    for (let t = 0; t < 300; t++) {
      const before = Array.from(env.state);
      const action = t % 7 < 3 ? 1 : -1;
      const r = env.step([action]);
      const [th1, th2, w1, w2] = env.state;
      const ref = refAcrobot(before, action).s;
      expect(w1).toBeCloseTo(ref[2], 11);
      expect(w2).toBeCloseTo(ref[3], 11);
      if (Math.abs(w1) === 4 * Math.PI || Math.abs(w2) === 9 * Math.PI) clipped++;
      expect(Math.abs(th1)).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(th2)).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(w1)).toBeLessThanOrEqual(4 * Math.PI);
      expect(Math.abs(w2)).toBeLessThanOrEqual(9 * Math.PI);
      if (r.terminated) env.reset({ options: { state: [3, 3, 12, 28] } });
    }
    expect(clipped).toBeGreaterThan(0);
  });

  it('conserves energy with zero torque (RK4, dt 0.2) over short horizons', () => {
    // The book dynamics are Lagrangian, so E = T + V is conserved by the ODE; RK4's local error is
    // O(dt^5), so after n steps |E_n - E_0| <= n |E_0| dt^5 (unit constant) over a short horizon.
    const env = makeEnv('Acrobot');
    const start = [0.6, -0.4, 0, 0];
    env.reset({ options: { state: start } });
    const e0 = acrobotEnergy(start);
    for (let t = 0; t < 25; t++) {
      env.step([0]);
      const bound = (t + 1) * Math.abs(e0) * 0.2 ** 5;
      expect(Math.abs(acrobotEnergy(Array.from(env.state)) - e0)).toBeLessThanOrEqual(bound);
    }
  });

  it('bang-bang a = sign(dth2) (sign 0 = +1) from rest swings up and terminates at step 73, as re-derived', () => {
    // Energy pumping: the torque's power tau * dth2 is never negative.
    const policy = (w2: number) => (w2 >= 0 ? 1 : -1);
    let s = [0, 0, 0, 0];
    let refSteps = 0;
    for (let done = false; !done && refSteps < 1000; refSteps++) ({ s, terminal: done } = refAcrobot(s, policy(s[3])));
    expect(refSteps).toBe(STEPS_ACROBOT);
    const env = makeEnv('Acrobot');
    const rows = drive(env, [0, 0, 0, 0], (_t, obs) => policy(obs[3]), 1000);
    expect(rows.length).toBe(STEPS_ACROBOT);
    expect(rows.at(-1)?.terminated).toBe(true);
    expect(rows.at(-1)?.reward).toBe(0);
    expect(rows.slice(0, -1).every((r) => r.reward === -1)).toBe(true);
  });
});
