import { isLeft, isRight } from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import {
  Box,
  checkEnv,
  type EnvModel,
  envIds,
  makeEnv,
  makeEnvEither,
  makeModel,
  makeVectorEnv,
  ModelEnv,
  VectorEnv,
} from '../../src/envs';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { key } from '../../src/tensor/random';
import { thrown } from './helpers';

const ALL_IDS = [
  'Pendulum',
  'ShapedPendulum',
  'Pendulum-v1',
  'Acrobot',
  'ShapedAcrobot',
  'MountainCar',
  'ShapedMountainCar',
  'MountainCarContinuous-v0',
  'BimodalBandit',
  'SyntheticBandit',
];

describe('registry', () => {
  it('registers the paper environments and the Gymnasium originals', () => {
    expect(envIds()).toEqual(ALL_IDS);
  });

  it('has the paper cut-offs and Gymnasium limits (200 / 1000 / 1000, 200, 999) and spaces', () => {
    const limits = Object.fromEntries(envIds().map((id) => [id, makeEnv(id).maxEpisodeSteps]));
    expect(limits).toEqual({
      Pendulum: 200,
      ShapedPendulum: 200,
      'Pendulum-v1': 200,
      Acrobot: 1000,
      ShapedAcrobot: 1000,
      MountainCar: 1000,
      ShapedMountainCar: 1000,
      'MountainCarContinuous-v0': 999,
      BimodalBandit: Infinity,
      SyntheticBandit: Infinity,
    });
    const acro = makeEnv('Acrobot');
    expect(Array.from(acro.observationSpace.high)).toEqual([Math.PI, Math.PI, 4 * Math.PI, 9 * Math.PI]);
    expect(Array.from(acro.actionSpace.high)).toEqual([1]);
    expect(Array.from(makeEnv('Pendulum').observationSpace.high)).toEqual([1, 1, 8]);
    expect(Array.from(makeEnv('Pendulum').actionSpace.low)).toEqual([-2]);
    expect(Array.from(makeEnv('MountainCar').observationSpace.low)).toEqual([-1.2, -0.07]);
  });

  it('rejects an unknown id with the list of known ids, thrown or in Left', () => {
    const e = thrown(() => makeEnv('CartPole-v1'));
    expect(e.code).toBe('unknown-env');
    expect(e.message).toBe(`unknown environment id 'CartPole-v1'; known ids: ${ALL_IDS.join(', ')}`);
    const made = makeEnvEither('CartPole-v1');
    expect(isLeft(made) && made.left.message).toBe(e.message);
    // The package's own guards, for callers without fp-ts.
    expect(M.isLeft(made) && !M.isRight(made)).toBe(true);
  });

  it('rejects unknown option keys and bad values in Left, and builds valid ones in Right', () => {
    const unknown = makeEnvEither('Pendulum', { tolerance: 2 });
    expect(isLeft(unknown) && unknown.left.code).toBe('invalid-config');
    expect(isLeft(unknown) && unknown.left.message).toBe(
      "Pendulum: unknown option 'tolerance'; known options: maxEpisodeSteps, toleranceDegrees",
    );
    const negative = makeEnvEither('Pendulum', { toleranceDegrees: -1 });
    expect(isLeft(negative) && negative.left.message).toBe(
      'Pendulum: toleranceDegrees must be a positive number, got -1',
    );
    const limit = makeEnvEither('Acrobot', { maxEpisodeSteps: 2.5 });
    expect(isLeft(limit) && limit.left.message).toBe(
      'Acrobot: maxEpisodeSteps must be a positive integer or Infinity, got 2.5',
    );
    const notObject = makeEnvEither('Acrobot', 3);
    expect(isLeft(notObject) && notObject.left.code).toBe('invalid-config');
    const ok = makeEnvEither('MountainCar', { maxEpisodeSteps: 50 });
    expect(isRight(ok) && ok.right.maxEpisodeSteps).toBe(50);
  });
});

describe('checkEnv', () => {
  it.each(ALL_IDS)('passes for %s under two seeds', (id) => {
    checkEnv(makeEnv(id), { seed: 0 });
    checkEnv(makeEnv(id), { seed: 12345 });
  });

  it('reports a non-finite reward and a nondeterministic start', () => {
    const base = makeModel('ShapedPendulum');
    let calls = 0;
    const broken: EnvModel = {
      ...base,
      id: 'Broken',
      initialState(_rng, out, o) {
        out[o] = 0.1 * calls++;
        out[o + 1] = 0;
      },
      transition(s, o, a, ao, out) {
        base.transition(s, o, a, ao, out);
        out.reward = NaN;
      },
    };
    const e = thrown(() => checkEnv(new ModelEnv(broken), { maxSteps: 3 }));
    expect(e.code).toBe('check-failed');
    expect(e.message).toContain('Broken: checkEnv found');
    expect(e.message).toContain('step 0: reward NaN is not finite');
    expect(e.message).toContain('not deterministic under seed 0: observations differ after 0 steps');
  });
});

describe('episodes', () => {
  it('replays the same trajectory under the same seed, and continues the stream without one', () => {
    const run = (env: ModelEnv, seed?: number) => {
      const rows = [Array.from(env.reset(seed === undefined ? {} : { seed }).obs)];
      for (let t = 0; t < 20; t++) rows.push([...env.step(env.actionSpace.sample(rawFoldIn(rawKey(9), t))).obs]);
      return rows;
    };
    for (const id of ['Pendulum', 'MountainCar'] as const) {
      const a = makeEnv(id);
      const b = makeEnv(id);
      const first = run(a, 7);
      expect(run(b, 7)).toEqual(first);
      expect(run(a)).not.toEqual(first); // the stream went on
      expect(run(b, 8)[0]).not.toEqual(first[0]);
    }
  });

  it('starts from the documented distributions', () => {
    const pend = makeEnv('Pendulum-v1');
    const car = makeEnv('MountainCarContinuous-v0');
    const acro = makeEnv('Acrobot');
    for (let seed = 0; seed < 200; seed++) {
      pend.reset({ seed });
      const [th, thdot] = pend.state;
      expect(Math.abs(th) <= Math.PI && Math.abs(thdot) <= 1).toBe(true);
      car.reset({ seed });
      const [x, v] = car.state;
      expect(x >= -0.6 && x < -0.4 && v === 0).toBe(true);
      acro.reset({ seed });
      expect(Array.from(acro.state)).toEqual([0, 0, 0, 0]);
    }
  });

  it('starts from an exact state given in options and reads it back', () => {
    const env = makeEnv('Acrobot');
    const { obs } = env.reset({ options: { state: [1, -2, 3, -4] } });
    expect(Array.from(env.state)).toEqual([1, -2, 3, -4]);
    expect(Array.from(obs)).toEqual([1, -2, 3, -4]);
    const pend = makeEnv('Pendulum');
    expect(Array.from(pend.reset({ options: { state: [Math.PI, 0.5] } }).obs)).toEqual([-1, Math.sin(Math.PI), 0.5]);
    expect(Array.from(pend.state)).toEqual([Math.PI, 0.5]);
  });

  it('rejects start states of the wrong length, non-finite or outside the bounds', () => {
    const acro = makeEnv('Acrobot');
    expect(thrown(() => acro.reset({ options: { state: [0, 0] } })).message).toBe(
      'Acrobot: reset: state [0, 0] must have layout [th1, th2, dth1, dth2]',
    );
    expect(thrown(() => acro.reset({ options: { state: [0, 0, 0, 100] } })).message).toBe(
      `Acrobot: reset: state [0, 0, 0, 100] [th1, th2, dth1, dth2] lies outside [${-Math.PI}, ${-Math.PI}, ${-4 * Math.PI}, ${-9 * Math.PI}] .. [${Math.PI}, ${Math.PI}, ${4 * Math.PI}, ${9 * Math.PI}]`,
    );
    const e = thrown(() => makeEnv('Pendulum').reset({ options: { state: [NaN, 0] } }));
    expect([e.code, e.message]).toEqual(['invalid-state', 'Pendulum: reset: state [NaN, 0] is not finite']);
    expect(thrown(() => makeEnv('Pendulum').reset({ seed: 1.5 })).message).toBe(
      'Pendulum: seed must be a safe integer, got 1.5',
    );
  });

  it('reports the time limit as truncation, distinct from termination', () => {
    const env = makeEnv('Pendulum');
    env.reset({ seed: 0 });
    for (let t = 0; t < 199; t++) expect(env.step([0])).toMatchObject({ terminated: false, truncated: false });
    expect(env.step([0])).toMatchObject({ terminated: false, truncated: true });
    const car = makeEnv('MountainCar', { maxEpisodeSteps: 3 });
    car.reset({ options: { state: [0.449, 0.05] } });
    expect(car.step([1])).toMatchObject({ terminated: true, truncated: false, reward: -1 });
    const shaped = makeEnv('ShapedMountainCar');
    shaped.reset({ options: { state: [0.449, 0.05] } });
    expect(shaped.step([1]).terminated).toBe(false); // never terminates
  });
});

describe('bad input', () => {
  it('names the env, the step index and the value', () => {
    const env = makeEnv('Pendulum');
    env.reset({ seed: 0 });
    env.step([0]);
    env.step([0]);
    let e = thrown(() => env.step([NaN]));
    expect([e.code, e.message]).toEqual(['invalid-action', 'Pendulum: step 2: action [NaN] is not finite']);
    e = thrown(() => env.step(Float64Array.of(-Infinity)));
    expect(e.message).toBe('Pendulum: step 2: action [-Infinity] is not finite');
    e = thrown(() => env.step([1, 2]));
    expect([e.code, e.message]).toEqual([
      'invalid-action',
      'Pendulum: step 2: action [1, 2] has the wrong length, expected 1',
    ]);
    e = thrown(() => makeEnv('Acrobot').step([0]));
    expect([e.code, e.message]).toEqual(['step-before-reset', 'Acrobot: step 0: step([0]) before reset()']);
  });

  it('refuses a step after termination or truncation until reset', () => {
    const bandit = makeEnv('BimodalBandit');
    bandit.reset();
    expect(bandit.step([1]).terminated).toBe(true);
    let e = thrown(() => bandit.step([0.5]));
    expect([e.code, e.message]).toEqual([
      'step-after-done',
      'BimodalBandit: step 1: step([0.5]) after the episode was terminated; call reset() first',
    ]);
    const car = makeEnv('ShapedMountainCar', { maxEpisodeSteps: 2 });
    car.reset({ seed: 1 });
    car.step([0]);
    expect(car.step([0]).truncated).toBe(true);
    e = thrown(() => car.step([-1]));
    expect(e.message).toBe('ShapedMountainCar: step 2: step([-1]) after the episode was truncated; call reset() first');
    car.reset();
    expect(car.step([0]).truncated).toBe(false);
  });
});

describe('Box', () => {
  it('samples inside its bounds, as a pure function of the key', () => {
    const box = new Box([-2, 0, 5], [2, 1, 5]);
    for (let i = 0; i < 100; i++) {
      const x = box.sample(rawKey(i));
      expect(box.contains(x)).toBe(true);
      expect(x[2]).toBe(5);
      expect(Array.from(box.sample(rawKey(i)))).toEqual(Array.from(x));
    }
  });

  it('contains only vectors of its size with entries in bounds', () => {
    const box = new Box([0, 0, 0, 0], [1, 1, 1, 1], [2, 2]);
    expect(box.shape).toEqual([2, 2]);
    expect(box.contains([0, 1, 0.5, 0])).toBe(true);
    expect(box.contains([0, 1, 0.5])).toBe(false);
    expect(box.contains([0, 1, NaN, 0])).toBe(false);
    expect(box.contains([0, 1.0000001, 0, 0])).toBe(false);
  });

  it('rejects bad bounds', () => {
    expect(thrown(() => new Box([1], [0])).code).toBe('invalid-config');
    expect(thrown(() => new Box([0], [Infinity])).code).toBe('invalid-config');
    expect(thrown(() => new Box([0, 0], [1, 1], [3])).message).toBe(
      'Box: low (2) and high (2) must both have 3 entries for shape [3]',
    );
  });

  it('samples only with a raw key (a key tensor was taken for the key [0, 0]: one action every step)', () => {
    const box = new Box([-2], [2]);
    expect(() => box.sample(key(3) as never)).toThrow(
      'Box.sample: needs a raw key, a Uint32Array of 2 words such as rawKey(seed) or rawFoldIn(key, i); got a key tensor (its words: key.dataSync())',
    );
    expect(box.sample(rawKey(3))[0]).not.toBe(box.sample(rawKey(7))[0]);
  });
});

describe('VectorEnv', () => {
  it('copy i follows a single env seeded seed + i, through auto-resets', () => {
    for (const id of ['Pendulum', 'MountainCar', 'SyntheticBandit'] as const) {
      const n = 4;
      const options = id === 'SyntheticBandit' ? {} : { maxEpisodeSteps: 7 };
      const venv = makeVectorEnv(id, n, options);
      const singles = Array.from({ length: n }, () => makeEnv(id, options));
      const vObs = venv.reset({ seed: 10 }).obs;
      const sObs = singles.map((env, i) => env.reset({ seed: 10 + i }).obs);
      expect(Array.from(vObs)).toEqual(sObs.flatMap((o) => Array.from(o)));
      for (let t = 0; t < 30; t++) {
        const actions = new Float64Array(n).map((_, i) => Math.sin(t + 2 * i));
        const r = venv.step(actions);
        singles.forEach((env, i) => {
          const s = env.step([actions[i]]);
          const d = venv.obsDim;
          expect(r.rewards[i]).toBe(s.reward);
          expect(r.terminated[i]).toBe(s.terminated ? 1 : 0);
          expect(r.truncated[i]).toBe(s.truncated ? 1 : 0);
          expect(Array.from(r.finalObs.subarray(i * d, (i + 1) * d))).toEqual(Array.from(s.obs));
          const next = s.terminated || s.truncated ? env.reset().obs : s.obs;
          expect(Array.from(r.obs.subarray(i * d, (i + 1) * d))).toEqual(Array.from(next));
        });
      }
    }
  });

  it('returns new arrays at each call: an obs kept from one step is not changed by the next', () => {
    const venv = makeVectorEnv('Pendulum', 2);
    const obs = venv.reset({ seed: 0 }).obs;
    const kept = Array.from(obs);
    const first = venv.step(Float64Array.of(1, -1));
    expect(Array.from(obs)).toEqual(kept);
    expect(first.obs).not.toBe(obs);
    const firstValues = [first.obs, first.finalObs, first.rewards].map((a) => Array.from(a));
    const second = venv.step(Float64Array.of(1, -1));
    expect([first.obs, first.finalObs, first.rewards].map((a) => Array.from(a))).toEqual(firstValues);
    expect(Array.from(second.obs)).not.toEqual(Array.from(first.obs));
  });

  it('accepts one seed per copy and exact start states', () => {
    const venv = new VectorEnv(makeModel('Acrobot'), 2);
    venv.reset({ seed: [4, 9], options: { states: [0, 0, 0, 0, 1, 1, 1, 1] } });
    expect(Array.from(venv.state)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(thrown(() => venv.reset({ seed: [1, 2, 3] })).message).toBe('Acrobot: 3 seeds for 2 copies');
    // A refused reset changes no copy (copy 0's row was set before copy 1's was checked), nor the streams.
    const mc = makeVectorEnv('MountainCar', 2);
    mc.reset({ seed: 0 });
    mc.step(new Float64Array(2));
    const before = Array.from(mc.state);
    expect(thrown(() => mc.reset({ seed: 5, options: { states: [-0.5, 0, 5, 0] } })).message).toMatch(/^MountainCar: reset: copy 1: state \[5, 0\]/);
    expect(Array.from(mc.state)).toEqual(before);
    // A seed refused for copy 1 leaves copy 0's stream as it was too.
    expect(() => mc.reset({ seed: [5, 2.5] })).toThrow(/seed must be a safe integer, got 2.5/);
    const twin = makeVectorEnv('MountainCar', 2);
    twin.reset({ seed: 0 });
    twin.step(new Float64Array(2));
    expect(Array.from(mc.step(Float64Array.of(0.3, -0.2)).obs)).toEqual(Array.from(twin.step(Float64Array.of(0.3, -0.2)).obs));
    expect(Array.from(mc.reset().obs)).toEqual(Array.from(twin.reset().obs)); // the same streams
    // A single env likewise keeps its stream when its reset is refused.
    const [one, same] = [makeEnv('Pendulum'), makeEnv('Pendulum')];
    one.reset({ seed: 1 });
    same.reset({ seed: 1 });
    expect(() => one.reset({ seed: 2, options: { state: [NaN, 0] } })).toThrow();
    expect(Array.from(one.reset().obs)).toEqual(Array.from(same.reset().obs));
  });

  it('names the copy, its step index and the value on bad actions', () => {
    const venv = makeVectorEnv('Pendulum', 3);
    expect(thrown(() => venv.step(new Float64Array(3))).code).toBe('step-before-reset');
    venv.reset({ seed: 0 });
    venv.step(new Float64Array(3));
    let e = thrown(() => venv.step(Float64Array.of(0, Infinity, 0)));
    expect([e.code, e.message]).toEqual(['invalid-action', 'Pendulum: copy 1, step 1: action [Infinity] is not finite']);
    e = thrown(() => venv.step(new Float64Array(2)));
    expect(e.message).toBe('Pendulum: step: actions has 2 entries, expected 3 x 1');
    expect(thrown(() => makeVectorEnv('Pendulum', 0)).code).toBe('invalid-config');
  });
});
