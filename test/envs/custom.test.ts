/**
 * A researcher's own environment through the library: `registerEnv` makes it an id like the built-in
 * ones (envIds, makeModel, makeEnv, makeVectorEnv, makeEnvEither, the training config), and refuses
 * taken or malformed ids, unknown option keys and models that break the contract, naming the id.
 */
import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as envs from '../../src/envs';
import { checkEnv, type EnvModel, envDescription, envIds, isBuiltInEnv, makeEnv, makeEnvEither, makeModel, makeVectorEnv, registerEnv } from '../../src/envs';
import { defaultsFor, resolveConfig, SAC_V2_DEFAULTS } from '../../src/experiments/config';
import environments, { LENGTH, STEP } from './fixtures/tracking';
import { thrown } from './helpers';

const BUILT_IN = ['Pendulum', 'ShapedPendulum', 'Pendulum-v1', 'Acrobot', 'ShapedAcrobot', 'MountainCar', 'ShapedMountainCar', 'MountainCarContinuous-v0', 'BimodalBandit', 'SyntheticBandit'];

beforeAll(() => {
  for (const [id, spec] of Object.entries(environments(envs))) registerEnv(id, spec);
});

/** The fixture's model with some fields replaced: a broken env of id `id`. */
function broken(id: string, change: (model: EnvModel) => Partial<EnvModel> & Record<string, unknown>): envs.EnvSpec {
  return {
    make: () => {
      const model = { ...environments(envs).Tracking.make({}), id };
      return { ...model, ...change(model) } as EnvModel;
    },
  };
}

describe('registerEnv', () => {
  it('adds the id after the built-in ones, with its description', () => {
    expect(envIds()).toEqual([...BUILT_IN, 'Tracking']);
    expect(isBuiltInEnv('Tracking')).toBe(false);
    expect(isBuiltInEnv('Pendulum')).toBe(true);
    expect(envDescription('Tracking')).toBe('follow a target moving on a circle; the best action is the target');
    expect(envDescription('Pendulum')).toBeUndefined();
  });

  it('makes envs that pass checkEnv, with the options its keys allow', () => {
    checkEnv(makeEnv('Tracking'));
    checkEnv(makeEnv('Tracking', { maxEpisodeSteps: 3 }), { seed: 5 });
    expect(makeEnv('Tracking').maxEpisodeSteps).toBe(LENGTH);
    expect(makeModel('Tracking', { maxEpisodeSteps: 3 }).maxEpisodeSteps).toBe(3);
    const either = makeEnvEither('Tracking', {});
    expect(isRight(either) && either.right.id).toBe('Tracking');
  });

  it('follows its dynamics: reward 1 - (a - c)^2, target moved by sqrt 5 - 1 and wrapped, truncated at the limit', () => {
    const env = makeEnv('Tracking', { maxEpisodeSteps: 2 });
    const c = env.reset({ options: { state: [0.5] } }).obs[0];
    expect(c).toBe(0.5);
    const first = env.step([2]); // clipped to 1
    expect(first.reward).toBe(1 - (1 - 0.5) ** 2);
    expect(first.obs[0]).toBe(0.5 + STEP - 2);
    expect(first.truncated).toBe(false);
    const second = env.step([first.obs[0]]);
    expect(second.reward).toBe(1);
    expect([second.terminated, second.truncated]).toEqual([false, true]);
  });

  it('gives VectorEnv copies that replay ModelEnv seeded seed + i, through auto-resets', () => {
    const n = 3;
    const options = { maxEpisodeSteps: 4 };
    const venv = makeVectorEnv('Tracking', n, options);
    const singles = Array.from({ length: n }, () => makeEnv('Tracking', options));
    const vObs = venv.reset({ seed: 7 }).obs;
    expect(Array.from(vObs)).toEqual(singles.flatMap((env, i) => Array.from(env.reset({ seed: 7 + i }).obs)));
    for (let t = 0; t < 13; t++) {
      const actions = new Float64Array(n).map((_, i) => Math.sin(t + 2 * i));
      const r = venv.step(actions);
      singles.forEach((env, i) => {
        const s = env.step([actions[i]]);
        expect([r.rewards[i], r.terminated[i], r.truncated[i], r.finalObs[i]]).toEqual([s.reward, 0, s.truncated ? 1 : 0, s.obs[0]]);
        expect(r.obs[i]).toBe(s.truncated ? env.reset().obs[0] : s.obs[0]);
      });
    }
  });

  it('is known to the training config, with SAC-v2 defaults (not the paper\'s classic-control ones)', () => {
    const config = resolveConfig([{ env: 'Tracking', envOptions: { maxEpisodeSteps: 5 } }]);
    expect(isRight(config) && config.right.env).toBe('Tracking');
    expect(defaultsFor('Tracking')).toEqual(SAC_V2_DEFAULTS);
    // SB3's SAC (and the SAC-v2 paper): 2x256, batch 256, lr 3e-4, tau 0.005, automatic alpha, and
    // uniformly random actions until learning starts.
    const { hidden, batchSize, actorLr, criticLr, alphaLr, tau, autoAlpha, learningStarts, randomSteps } = SAC_V2_DEFAULTS;
    expect({ hidden, batchSize, actorLr, criticLr, alphaLr, tau, autoAlpha }).toEqual({ hidden: [256, 256], batchSize: 256, actorLr: 3e-4, criticLr: 3e-4, alphaLr: 3e-4, tau: 0.005, autoAlpha: true });
    expect(randomSteps).toBe(learningStarts);
    const bad = resolveConfig([{ env: 'Tracking', envOptions: { speed: 2 } }], ['run.json']);
    expect(isLeft(bad) && bad.left.message).toBe("run.json: 'envOptions': Tracking: unknown option 'speed'; known options: maxEpisodeSteps");
  });
});

describe('registerEnv refuses', () => {
  it('an id that is taken, naming it', () => {
    expect(thrown(() => registerEnv('Pendulum', environments(envs).Tracking)).message).toBe("registerEnv: the id 'Pendulum' is taken by a built-in environment");
    expect(thrown(() => registerEnv('Tracking', environments(envs).Tracking)).message).toBe("registerEnv: the id 'Tracking' is taken by an environment registered before");
  });

  it('an id that is not a non-empty name', () => {
    const spec = environments(envs).Tracking;
    expect(thrown(() => registerEnv('', spec)).message).toBe("registerEnv: the id must be a non-empty string, got ''");
    expect(thrown(() => registerEnv(42 as never, spec)).message).toBe('registerEnv: the id must be a non-empty string, got 42');
    expect(thrown(() => registerEnv('my/env', spec)).message).toBe("registerEnv: the id 'my/env' must be letters, digits, '_', '.' or '-' (not first): it names run folders and flags");
  });

  it('a spec of the wrong shape', () => {
    expect(thrown(() => registerEnv('NoMake', {} as never)).message).toBe("NoMake: the spec's 'make' must be a function (options) => EnvModel, got undefined");
    expect(thrown(() => registerEnv('BadKeys', { make: () => makeModel('Tracking'), keys: 'speed' as never })).message).toBe(
      `BadKeys: the spec's 'keys' must be a list of option names, got "speed"`,
    );
  });

  it('unknown option keys, as for the built-in ids', () => {
    expect(thrown(() => makeModel('Tracking', { speed: 2 })).message).toBe("Tracking: unknown option 'speed'; known options: maxEpisodeSteps");
    registerEnv('NoOptions', { make: () => ({ ...makeModel('Tracking'), id: 'NoOptions' }) });
    const e = thrown(() => makeEnv('NoOptions', { maxEpisodeSteps: 3 }));
    expect([e.code, e.message]).toEqual(['invalid-config', "NoOptions: unknown option 'maxEpisodeSteps'; it takes none"]);
  });

  it('a model that fails checkEnv, listing what it found on one line, and leaves the id free', () => {
    const nanAtStep3 = broken('NanReward', (model) => ({
      transition(state, so, action, ao, out) {
        model.transition(state, so, action, ao, out);
        if (state[so] > 0.9) out.reward = NaN;
      },
    }));
    const e = thrown(() => registerEnv('NanReward', nanAtStep3));
    expect(e.code).toBe('check-failed');
    expect(e.message).toMatch(/^NanReward: make\(\{\}\) fails checkEnv \(seed 0, at most 100 steps per episode\): step \d+: reward NaN is not finite(; |$)/);
    expect(e.message).not.toContain('\n');
    expect(envIds()).not.toContain('NanReward');
    const outside = thrown(() => registerEnv('Outside', broken('Outside', (model) => ({ observe: (s: Float64Array, so: number, obs: Float64Array, oo: number) => { model.observe(s, so, obs, oo); obs[oo] *= 2; } }))));
    expect(outside.message).toMatch(/^Outside: make\(\{\}\) fails checkEnv \(.*\): (reset|step \d+): obs \[-?[\d.]+\] is outside observationSpace/);
  });

  it('a model that is not an EnvModel of its id: every problem named', () => {
    const foreignBox = { low: Float64Array.of(-1), high: Float64Array.of(1), shape: [1], size: 1 };
    const e = thrown(() =>
      registerEnv('Foreign', broken('Other', () => ({ actionSpace: foreignBox as never, maxEpisodeSteps: 0, observe: undefined as never }))),
    );
    expect([e.code, e.message]).toEqual([
      'check-failed',
      "Foreign: make({}) is not an EnvModel: its id is \"Other\", not 'Foreign'; actionSpace is not a Box of this mixrl; maxEpisodeSteps is 0, not a positive integer or Infinity; observe is not a function (spaces must be built with the Box of the mixrl that registers the env: in an env module, the one its function receives)",
    ]);
    expect(thrown(() => registerEnv('Nothing', { make: () => undefined as never })).message).toBe('Nothing: make({}) returned undefined, not an EnvModel');
  });

  it('a make or a model that throws: the message of its error, on one line', () => {
    const e = thrown(() => registerEnv('Throws', { make: () => { throw new TypeError('cannot read x\n    at make (env.js:1:1)'); } }));
    expect([e.code, e.message]).toEqual(['invalid-config', 'Throws: make({}) threw: cannot read x']);
    const stepThrows = broken('StepThrows', () => ({ transition: () => { throw new RangeError('bad step'); } }));
    expect(thrown(() => registerEnv('StepThrows', stepThrows)).message).toBe('StepThrows: make({}) fails checkEnv (seed 0, at most 100 steps per episode): it threw bad step');
  });

  it('a model that keeps state outside its state array: in its closure, in its module, or by state array', () => {
    // A step counter in the model's closure, reset at each episode's start: checkEnv alone cannot tell.
    const counting = broken('Counting', (model) => {
      let t = 0;
      return {
        initialState(rng, out, o) {
          t = 0;
          model.initialState(rng, out, o);
        },
        transition(state, so, action, ao, out) {
          model.transition(state, so, action, ao, out);
          out.reward -= 0.01 * t++;
        },
      };
    });
    checkEnv(new envs.ModelEnv(counting.make({})), { seed: 0, maxSteps: 100 });
    const e = thrown(() => registerEnv('Counting', counting));
    expect([e.code, e.message]).toEqual([
      'check-failed',
      "Counting: make({}) keeps state outside its state array (all of an episode's state must be in it): two envs of the model stepped in turn do not each go as they go alone; an episode restored from its state array halfway, in a fresh make(), goes on differently",
    ]);
    expect(envIds()).not.toContain('Counting');
    // A fresh model per make, but the counter shared in their module.
    let shared = 0;
    const sharing = broken('Sharing', (model) => ({
      initialState(rng, out, o) {
        shared = 0;
        model.initialState(rng, out, o);
      },
      transition(state, so, action, ao, out) {
        model.transition(state, so, action, ao, out);
        out.reward -= 0.01 * shared++;
      },
    }));
    expect(thrown(() => registerEnv('Sharing', sharing)).message).toMatch(/^Sharing: make\(\{\}\) keeps state outside its state array .*: two envs of the model stepped in turn/);
    // Per env, keyed by its state array: lost when a checkpoint's state array is restored.
    const steps = new WeakMap<Float64Array, number>();
    const keyed = broken('Keyed', (model) => ({
      initialState(rng, out, o) {
        steps.set(out, 0);
        model.initialState(rng, out, o);
      },
      transition(state, so, action, ao, out) {
        model.transition(state, so, action, ao, out);
        const t = steps.get(state) ?? 0;
        steps.set(state, t + 1);
        out.reward -= 0.01 * t;
      },
    }));
    expect(thrown(() => registerEnv('Keyed', keyed)).message).toBe(
      "Keyed: make({}) keeps state outside its state array (all of an episode's state must be in it): an episode restored from its state array halfway, in a fresh make(), goes on differently",
    );
  });

  it('a make that returns a Promise, saying so', () => {
    const asyncMake = { make: async () => makeModel('Tracking') } as unknown as envs.EnvSpec;
    expect(thrown(() => registerEnv('AsyncMake', asyncMake)).message).toBe(
      "AsyncMake: make({}) returned a Promise; make must return the EnvModel itself (an async setup belongs in the env module's exported function, which may be async)",
    );
  });

  it('options that JSON cannot tell apart (functions, NaN, undefined) are checked at every make; a BigInt one does not break the message', () => {
    const tracking = makeModel('Tracking');
    registerEnv('Shaped', {
      keys: ['shape'],
      make: (options) => {
        const shape = (options.shape as ((r: number) => number) | undefined) ?? ((r: number) => r);
        return { ...tracking, id: 'Shaped', transition(state, so, action, ao, out) {
          tracking.transition(state, so, action, ao, out);
          out.reward = shape(out.reward);
        } };
      },
    });
    expect(makeModel('Shaped', { shape: (r: number) => 2 * r }).id).toBe('Shaped');
    // JSON.stringify gives '{}' for both these options and make({})'s, which registerEnv checked.
    const e = thrown(() => makeModel('Shaped', { shape: () => NaN }));
    expect([e.code, e.message]).toEqual(['check-failed', expect.stringMatching(/^Shaped: make\(\{\}\) fails checkEnv \(.*\): step 0: reward NaN is not finite/)]);
    const big = thrown(() => makeModel('Shaped', { shape: 1n }));
    expect(big.message).toMatch(/^Shaped: make\(\{\.\.\.\}\) fails checkEnv \(.*\): it threw shape is not a function/);
  });

  it('at its first make, options whose model fails (each options value is checked once)', () => {
    let transitions = 0;
    const tracking = makeModel('Tracking');
    registerEnv('Lengthy', {
      keys: ['maxEpisodeSteps'],
      make: (options) => ({
        ...tracking,
        id: 'Lengthy',
        maxEpisodeSteps: (options.maxEpisodeSteps as number | undefined) ?? 5,
        transition(state, so, action, ao, out) {
          transitions++;
          tracking.transition(state, so, action, ao, out);
        },
      }),
    });
    expect(thrown(() => makeModel('Lengthy', { maxEpisodeSteps: -1 })).message).toBe(
      'Lengthy: make({"maxEpisodeSteps":-1}) is not an EnvModel: maxEpisodeSteps is -1, not a positive integer or Infinity',
    );
    const bad = makeEnvEither('Lengthy', { maxEpisodeSteps: 1.5 });
    expect(isLeft(bad) && bad.left.code).toBe('check-failed');
    transitions = 0;
    makeModel('Lengthy', { maxEpisodeSteps: 7 });
    // checkEnv: two seeded episodes of 7 steps; the hidden-state check: two alone and two in turn, 3 + 4 steps and 4 restored.
    const checked = 2 * 7 + 4 * 7 + 7 + 4;
    expect(transitions).toBe(checked);
    makeModel('Lengthy', { maxEpisodeSteps: 7 });
    makeModel('Lengthy', {});
    expect(transitions).toBe(checked);
  });
});
