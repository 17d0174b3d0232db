import { type Either, left, right } from 'fp-ts/Either';
import { acrobot, shapedAcrobot } from './acrobot';
import { type BimodalBanditConfig, type SyntheticBanditConfig, bimodalBandit, syntheticBandit } from './bandits';
import { type EnvModel, ModelEnv, type TimeLimitConfig } from './core';
import { EnvError } from './errors';
import { mountainCar, mountainCarContinuousV0, shapedMountainCar } from './mountain-car';
import { type PendulumConfig, pendulum, pendulumV1, shapedPendulum } from './pendulum';
import { VectorEnv } from './vector';

/** The options each registered id accepts. */
export interface EnvOptions {
  Pendulum: PendulumConfig;
  ShapedPendulum: TimeLimitConfig;
  'Pendulum-v1': TimeLimitConfig;
  Acrobot: TimeLimitConfig;
  ShapedAcrobot: TimeLimitConfig;
  MountainCar: TimeLimitConfig;
  ShapedMountainCar: TimeLimitConfig;
  'MountainCarContinuous-v0': TimeLimitConfig;
  BimodalBandit: BimodalBanditConfig;
  SyntheticBandit: SyntheticBanditConfig;
}

/** A registered environment id. */
export type EnvId = keyof EnvOptions;

interface Entry {
  keys: readonly string[];
  make(options: Record<string, unknown>): EnvModel;
}

const LIMIT = ['maxEpisodeSteps'];

const REGISTRY: Record<EnvId, Entry> = {
  Pendulum: { keys: [...LIMIT, 'toleranceDegrees'], make: (o) => pendulum(o as PendulumConfig) },
  ShapedPendulum: { keys: LIMIT, make: (o) => shapedPendulum(o as TimeLimitConfig) },
  'Pendulum-v1': { keys: LIMIT, make: (o) => pendulumV1(o as TimeLimitConfig) },
  Acrobot: { keys: LIMIT, make: (o) => acrobot(o as TimeLimitConfig) },
  ShapedAcrobot: { keys: LIMIT, make: (o) => shapedAcrobot(o as TimeLimitConfig) },
  MountainCar: { keys: LIMIT, make: (o) => mountainCar(o as TimeLimitConfig) },
  ShapedMountainCar: { keys: LIMIT, make: (o) => shapedMountainCar(o as TimeLimitConfig) },
  'MountainCarContinuous-v0': { keys: LIMIT, make: (o) => mountainCarContinuousV0(o as TimeLimitConfig) },
  BimodalBandit: { keys: ['means', 'std', 'low', 'high'], make: (o) => bimodalBandit(o as BimodalBanditConfig) },
  SyntheticBandit: {
    keys: ['seed', 'modes', 'meanRange', 'stdRange', 'low', 'high'],
    make: (o) => syntheticBandit(o as SyntheticBanditConfig),
  },
};

/**
 * The registered ids, in registration order.
 *
 * @example
 * envIds(); // ['Pendulum', 'ShapedPendulum', 'Pendulum-v1', 'Acrobot', ...]
 */
export function envIds(): EnvId[] {
  return Object.keys(REGISTRY) as EnvId[];
}

/**
 * The model registered under `id`, built with `options`. Throws `EnvError`: `unknown-env` (the message
 * lists the known ids) or `invalid-config` (an unknown option key, or a bad value).
 *
 * @example
 * const model = makeModel('Pendulum', { toleranceDegrees: 2 });
 */
export function makeModel<K extends EnvId>(id: K, options?: EnvOptions[K]): EnvModel;
export function makeModel(id: string, options?: Record<string, unknown>): EnvModel;
export function makeModel(id: string, options: object = {}): EnvModel {
  if (!Object.prototype.hasOwnProperty.call(REGISTRY, id)) {
    throw new EnvError('unknown-env', `unknown environment id '${id}'; known ids: ${envIds().join(', ')}`);
  }
  const entry = REGISTRY[id as EnvId];
  if (options === null || typeof options !== 'object') {
    throw new EnvError('invalid-config', `${id}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!entry.keys.includes(key)) {
      throw new EnvError('invalid-config', `${id}: unknown option '${key}'; known options: ${entry.keys.join(', ')}`);
    }
  }
  return entry.make(options as Record<string, unknown>);
}

/**
 * A fresh single environment, Gymnasium's `gym.make`. Throws `EnvError` like `makeModel`.
 *
 * @example
 * const env = makeEnv('Acrobot');
 * const { obs } = env.reset({ seed: 0 });
 */
export function makeEnv<K extends EnvId>(id: K, options?: EnvOptions[K]): ModelEnv;
export function makeEnv(id: string, options?: Record<string, unknown>): ModelEnv;
export function makeEnv(id: string, options?: Record<string, unknown>): ModelEnv {
  return new ModelEnv(makeModel(id, options));
}

/**
 * `makeEnv` for untrusted input (a CLI flag, a config file): the error comes back in `Left`.
 *
 * @example
 * const made = makeEnvEither(process.argv[2], {});
 * if (isLeft(made)) console.error(made.left.message); // lists the known ids
 */
export function makeEnvEither(id: string, options?: unknown): Either<EnvError, ModelEnv> {
  try {
    return right(makeEnv(id, options as Record<string, unknown>));
  } catch (e) {
    if (e instanceof EnvError) return left(e);
    throw e;
  }
}

/**
 * `numEnvs` copies of the registered model, stepped together. Throws `EnvError` like `makeModel`.
 *
 * @example
 * const venv = makeVectorEnv('MountainCar', 1024);
 */
export function makeVectorEnv<K extends EnvId>(id: K, numEnvs: number, options?: EnvOptions[K]): VectorEnv;
export function makeVectorEnv(id: string, numEnvs: number, options?: Record<string, unknown>): VectorEnv;
export function makeVectorEnv(id: string, numEnvs: number, options?: Record<string, unknown>): VectorEnv {
  return new VectorEnv(makeModel(id, options), numEnvs);
}
