import { type Either, left, right } from 'fp-ts/Either';
import { acrobot, shapedAcrobot } from './acrobot';
import { type BimodalBanditConfig, type SyntheticBanditConfig, bimodalBandit, syntheticBandit } from './bandits';
import { type EnvModel, ModelEnv, type TimeLimitConfig } from './core';
import { checkModel, checkSpec, type EnvSpec, firstLine, showOptions } from './custom';
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

/** A built-in environment id. */
export type EnvId = keyof EnvOptions;

interface Entry {
  keys: readonly string[];
  make(options: Record<string, unknown>): EnvModel;
}

const LIMIT = ['maxEpisodeSteps'];

/** The built-in environments; a missing id is a compile error. */
const BUILT_IN: Record<EnvId, Entry> = {
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

/** An environment of `registerEnv`: its spec, and the options (`optionsKey`) whose model passed `checkModel`. */
interface Registered {
  readonly spec: EnvSpec;
  readonly keys: readonly string[];
  readonly checked: Set<string>;
}

/** The environments `registerEnv` added, after the built-ins, in registration order. */
const REGISTERED = new Map<string, Registered>();

/**
 * The registered ids: the built-ins, then those of `registerEnv` in registration order.
 *
 * @example
 * envIds(); // ['Pendulum', 'ShapedPendulum', 'Pendulum-v1', 'Acrobot', ...]
 */
export function envIds(): string[] {
  return [...Object.keys(BUILT_IN), ...REGISTERED.keys()];
}

/**
 * Whether `id` is one of mixrl's own environments (not one of `registerEnv`).
 *
 * @example
 * isBuiltInEnv('Pendulum'); // true
 */
export function isBuiltInEnv(id: string): id is EnvId {
  return Object.hasOwn(BUILT_IN, id);
}

/**
 * The description `registerEnv` was given for `id`, if any.
 *
 * @example
 * envDescription('PointMass'); // 'a 1-D point mass pushed toward the origin'
 */
export function envDescription(id: string): string | undefined {
  return REGISTERED.get(id)?.spec.description;
}

/**
 * Adds an environment of one's own under `id`: from then on `makeModel`, `makeEnv`, `makeVectorEnv`,
 * `makeEnvEither`, `envIds` and the training config know it. `make({})` is built and checked at once
 * (the `EnvModel` fields, then `checkEnv` on two seeded episodes of at most 100 random steps, then
 * that the model keeps no state outside its state array), and every other options value at its first
 * `makeModel` (options JSON cannot write in full, such as a function, at every one). Throws
 * `EnvError`: `invalid-config` for an id that is taken (built in or registered before) or not a
 * non-empty name, or a spec of the wrong shape; `check-failed` for a model that breaks the contract,
 * listing what the checks found.
 *
 * @example
 * registerEnv('PointMass', { make: (options) => pointMass(options), keys: ['maxEpisodeSteps'] });
 * const env = makeEnv('PointMass', { maxEpisodeSteps: 50 });
 */
export function registerEnv(id: string, spec: EnvSpec): void {
  checkSpec(id, spec);
  if (isBuiltInEnv(id)) throw new EnvError('invalid-config', `registerEnv: the id '${id}' is taken by a built-in environment`);
  if (REGISTERED.has(id)) throw new EnvError('invalid-config', `registerEnv: the id '${id}' is taken by an environment registered before`);
  const registered: Registered = { spec, keys: [...(spec.keys ?? [])], checked: new Set() };
  makeRegistered(id, registered, {});
  REGISTERED.set(id, registered);
}

/** Whether `value` is JSON that `JSON.stringify` writes in full: null, strings, booleans, finite numbers, and arrays and plain objects of them. */
function isPlainJson(value: unknown, depth = 0): boolean {
  if (depth > 64) return false; // deeper than any options; ends a cycle
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every((x) => isPlainJson(x, depth + 1));
  if (typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.values(value).every((x) => isPlainJson(x, depth + 1));
}

/**
 * The key of `options` among those checked: their JSON, when it says all of them; otherwise none, so
 * that options JSON would confuse (a function, NaN, undefined, a class instance: `{ f: g }` and
 * `{ f: h }` have one JSON) are checked at every `makeModel`.
 */
const optionsKey = (options: Record<string, unknown>): string | undefined => (isPlainJson(options) ? JSON.stringify(options) : undefined);

/** The model of a registered env for `options`, checked the first time these options are made. */
function makeRegistered(id: string, registered: Registered, options: Record<string, unknown>): EnvModel {
  let model: EnvModel;
  try {
    model = registered.spec.make(options);
  } catch (e) {
    const code = e instanceof EnvError ? e.code : 'invalid-config';
    throw new EnvError(code, `${id}: make(${showOptions(options)}) threw: ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
  const key = optionsKey(options);
  if (key === undefined || !registered.checked.has(key)) {
    checkModel(id, options, model, () => registered.spec.make(options));
    if (key !== undefined) registered.checked.add(key);
  }
  return model;
}

/**
 * The model registered under `id` (built in, or by `registerEnv`), built with `options`. Throws
 * `EnvError`: `unknown-env` (the message lists the known ids), `invalid-config` (an unknown option
 * key, or a bad value) or, for an env of `registerEnv`, `check-failed` (a model that fails `checkEnv`).
 *
 * @example
 * const model = makeModel('Pendulum', { toleranceDegrees: 2 });
 */
export function makeModel<K extends EnvId>(id: K, options?: EnvOptions[K]): EnvModel;
export function makeModel(id: string, options?: Record<string, unknown>): EnvModel;
export function makeModel(id: string, options: object = {}): EnvModel {
  const registered = REGISTERED.get(id);
  if (!isBuiltInEnv(id) && registered === undefined) {
    throw new EnvError('unknown-env', `unknown environment id '${id}'; known ids: ${envIds().join(', ')}`);
  }
  const keys = registered?.keys ?? BUILT_IN[id as EnvId].keys;
  if (options === null || typeof options !== 'object') {
    throw new EnvError('invalid-config', `${id}: options must be an object, got ${String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      const known = keys.length > 0 ? `known options: ${keys.join(', ')}` : 'it takes none';
      throw new EnvError('invalid-config', `${id}: unknown option '${key}'; ${known}`);
    }
  }
  const given = options as Record<string, unknown>;
  return registered ? makeRegistered(id, registered, given) : BUILT_IN[id as EnvId].make(given);
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
