/**
 * Training configuration: defaults by preset, overridden by a JSON config file, overridden by flags.
 * Every boundary that reads user input returns `Either<ConfigError, ...>` whose message names the key
 * (or flag, or file) and what was wrong.
 */
import { constants as bufferConstants } from 'node:buffer';
import { isAbsolute } from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { type EnvModel, envIds, isBuiltInEnv, makeModel } from '../envs';
import { AGENTS, type AgentName, agentNames } from '../rl/sac/agents';
import { MixrlError } from '../tensor';

export class ConfigError extends MixrlError {
  constructor(message: string) {
    super('config', message);
  }
}

/** A module file (an env or estimator module) as a run records it: where it was, and the SHA-256 of its bytes (hex). */
export interface ModuleRef {
  path: string;
  sha256: string;
}

export interface TrainConfig {
  env: string;
  envOptions: Record<string, unknown>;
  /**
   * The module `env` came from (`mixrl train --env-module FILE`), absent for the built-in envs and
   * for envs a program registered itself: `--resume` and `mixrl eval` load it again, and refuse a
   * file that is gone or changed.
   */
  envModule?: ModuleRef;
  agent: AgentName;
  /**
   * The custom estimator that replaces the agent's (the agent still picks the policy): its name in
   * `estimatorModule` (`mixrl train --estimator-module FILE --estimator NAME`). Absent for the
   * agents' own estimators.
   */
  estimator?: string;
  /**
   * The module `estimator` comes from: `--resume` and `--config` load it again, and refuse a file
   * that is gone or changed (`mixrl eval` and `mixrl export` need no estimator).
   */
  estimatorModule?: ModuleRef;
  seed: number;
  steps: number;
  /** Mixture components K (mixture agents). */
  components: number;
  hidden: number[];
  /** Weight initialization: PyTorch's nn.Linear default, Xavier-uniform (the authors' code) or orthogonal. */
  init: 'torch' | 'xavier-uniform' | 'orthogonal';
  batchSize: number;
  replayCapacity: number;
  gamma: number;
  tau: number;
  alpha: number;
  autoAlpha: boolean;
  /**
   * The entropy automatic α steers the policy's toward (`autoAlpha` only): a number, or 'auto' for
   * -A with A the action dimensions (SAC's choice, Stable-Baselines3's `target_entropy='auto'`).
   */
  targetEntropy: number | 'auto';
  actorLr: number;
  criticLr: number;
  alphaLr: number;
  /** Updates start once this many environment steps have run (after step s = learningStarts - 1), whatever the replay capacity; SB3's `learning_starts` starts one step later (num_timesteps > learning_starts). */
  learningStarts: number;
  /**
   * Updates run after every `trainFreq`-th environment step, once learning has started:
   * Stable-Baselines3's `train_freq=(trainFreq, "step")`.
   */
  trainFreq: number;
  /** SAC updates at each of those steps: Stable-Baselines3's `gradient_steps` (its -1 is `trainFreq` here). */
  gradientSteps: number;
  /** The first steps act uniformly at random (0: the policy acts from the start). */
  randomSteps: number;
  logStdMin: number;
  logStdMax: number;
  baselineSamples: number;
  gumbelTemperature: number;
  /** Steps between checkpoints (0: only at the end and on SIGINT/SIGTERM). */
  checkpointEvery: number;
  /** Steps between progress lines (and TensorBoard's training scalars). */
  logEvery: number;
  /**
   * Steps between evaluations (0: none): `evalEpisodes` episodes with greedy and with sampled
   * actions, on seeds of their own, one line each in the run folder's `evaluations.jsonl`. Off by
   * default: a default run writes what it always has, and pays nothing.
   */
  evalEvery: number;
  /** Episodes per way of acting (greedy, sampled) at each evaluation. */
  evalEpisodes: number;
  /** Write a TensorBoard event file in the run folder. */
  tensorboard: boolean;
  backend: 'auto' | 'cpu' | 'webgpu';
  dtype: 'float32' | 'float64';
}

/** ln 1000: the authors' earlier code clips the policy's standard deviation to [1/1000, 1000]. */
const LN_1000 = Math.log(1000);

/**
 * The paper's classic-control setup (E.1): 2x64 ReLU, batch 32, replay 100k, tau 0.01, fixed alpha,
 * learning after 1000 steps; Xavier-uniform init and log-std in [-ln 1000, ln 1000] as in the
 * authors' earlier code.
 */
export const CLASSIC_DEFAULTS: Omit<TrainConfig, 'env' | 'agent' | 'seed' | 'steps' | 'envOptions' | 'envModule' | 'estimator' | 'estimatorModule'> = {
  components: 5,
  hidden: [64, 64],
  init: 'xavier-uniform',
  batchSize: 32,
  replayCapacity: 100_000,
  gamma: 0.99,
  tau: 0.01,
  alpha: 0.01,
  autoAlpha: false,
  targetEntropy: 'auto',
  actorLr: 1e-3,
  criticLr: 1e-3,
  alphaLr: 3e-4,
  learningStarts: 1000,
  trainFreq: 1,
  gradientSteps: 1,
  randomSteps: 0,
  logStdMin: -LN_1000,
  logStdMax: LN_1000,
  baselineSamples: 8,
  gumbelTemperature: 0.1,
  checkpointEvery: 10_000,
  logEvery: 1000,
  evalEvery: 0,
  evalEpisodes: 10,
  tensorboard: false,
  backend: 'cpu',
  dtype: 'float32',
};

/** SAC-v2 defaults (benchmarks): 2x256, lr 3e-4, replay 1e6, batch 256, tau 0.005, automatic alpha. */
export const SAC_V2_DEFAULTS: typeof CLASSIC_DEFAULTS = {
  ...CLASSIC_DEFAULTS,
  hidden: [256, 256],
  init: 'torch',
  logStdMin: -20,
  logStdMax: 2,
  batchSize: 256,
  replayCapacity: 1_000_000,
  tau: 0.005,
  alpha: 1,
  autoAlpha: true,
  actorLr: 3e-4,
  criticLr: 3e-4,
  alphaLr: 3e-4,
  learningStarts: 5000,
  // SB3 acts uniformly at random until `learning_starts` (its warm-up), not with the untrained policy.
  randomSteps: 5000,
};

/**
 * Per-environment settings on top of the classic defaults: the best SAC setting found by the authors'
 * sweep (their earlier code's config/agent/SAC_classic_best_mountaincar.json).
 */
const ENV_PRESETS: Record<string, Partial<TrainConfig>> = {
  MountainCar: { criticLr: 1e-4, actorLr: 1e-3, alpha: 0.01 },
};

/**
 * The defaults for an environment: the built-in ones (classic control and bandits) get the paper's
 * setup, an env of one's own (`registerEnv`) SAC-v2's, as Stable-Baselines3 would give it.
 *
 * @example
 * defaultsFor('Pendulum').batchSize; // 32, the paper's classic-control setup
 */
export function defaultsFor(env: string): typeof CLASSIC_DEFAULTS {
  if (!isBuiltInEnv(env)) return SAC_V2_DEFAULTS;
  return { ...CLASSIC_DEFAULTS, ...ENV_PRESETS[env] };
}

type Kind = 'int' | 'nonNegInt' | 'posInt' | 'number' | 'posNumber' | 'numberOrAuto' | 'boolean' | 'string' | 'intList' | 'object' | 'module';

/** The type of each key; a missing entry is a compile error. */
const KINDS: Record<keyof TrainConfig, Kind> = {
  env: 'string',
  envOptions: 'object',
  envModule: 'module',
  agent: 'string',
  estimator: 'string',
  estimatorModule: 'module',
  seed: 'int',
  steps: 'posInt',
  components: 'posInt',
  hidden: 'intList',
  init: 'string',
  batchSize: 'posInt',
  replayCapacity: 'posInt',
  gamma: 'number',
  tau: 'posNumber',
  alpha: 'posNumber',
  autoAlpha: 'boolean',
  targetEntropy: 'numberOrAuto',
  actorLr: 'posNumber',
  criticLr: 'posNumber',
  alphaLr: 'posNumber',
  learningStarts: 'nonNegInt',
  trainFreq: 'posInt',
  gradientSteps: 'posInt',
  randomSteps: 'nonNegInt',
  logStdMin: 'number',
  logStdMax: 'number',
  baselineSamples: 'nonNegInt',
  gumbelTemperature: 'posNumber',
  checkpointEvery: 'nonNegInt',
  logEvery: 'posInt',
  evalEvery: 'nonNegInt',
  evalEpisodes: 'posInt',
  tensorboard: 'boolean',
  backend: 'string',
  dtype: 'string',
};

/**
 * Whether `value` is a `ModuleRef`: an absolute `path`, a `sha256` of 64 lowercase hex digits, nothing else.
 *
 * @example
 * isModuleRef({ path: '/home/me/envs.mjs', sha256: 'ab'.repeat(32) }); // true
 */
export function isModuleRef(value: unknown): value is ModuleRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const { path, sha256, ...rest } = value as Record<string, unknown>;
  return typeof path === 'string' && isAbsolute(path) && typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256) && Object.keys(rest).length === 0;
}

function checkValue(key: string, kind: Kind, value: unknown, where: string): string | null {
  // JSON reads 1e999 as Infinity, which JSON.stringify would show as null.
  const shown = typeof value === 'number' && !Number.isFinite(value) ? `${value}, not a finite number` : JSON.stringify(value);
  const say = (what: string) => `${where}: '${key}' must be ${what}, got ${shown}`;
  switch (kind) {
    case 'int':
      return Number.isSafeInteger(value) ? null : say('an integer');
    case 'nonNegInt':
      return Number.isSafeInteger(value) && (value as number) >= 0 ? null : say('a non-negative integer');
    case 'posInt':
      return Number.isSafeInteger(value) && (value as number) > 0 ? null : say('a positive integer');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : say('a finite number');
    case 'posNumber':
      return typeof value === 'number' && Number.isFinite(value) && value > 0 ? null : say('a positive number');
    case 'numberOrAuto':
      return (typeof value === 'number' && Number.isFinite(value)) || value === 'auto' ? null : say("a finite number or 'auto'");
    case 'boolean':
      return typeof value === 'boolean' ? null : say('true or false');
    case 'string':
      return typeof value === 'string' ? null : say('a string');
    case 'intList':
      return Array.isArray(value) && value.length > 0 && value.every((v) => Number.isSafeInteger(v) && v > 0)
        ? null
        : say('a non-empty list of positive integers');
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? null : say('an object');
    case 'module':
      return isModuleRef(value) ? null : say('{ "path": an absolute file name, "sha256": 64 hex digits }');
  }
}

/**
 * What a `gradientSteps` of -1 says besides: Stable-Baselines3's -1, as many updates as steps
 * collected, is one number here, written out (config.json then says how many updates ran).
 */
const SB3_GRADIENT_STEPS = " (Stable-Baselines3's -1, as many updates as steps collected, is 'gradientSteps' equal to 'trainFreq' here)";

/**
 * Validates a partial config from `where` (a file name or "flags"): known keys, right types.
 *
 * @example
 * validatePartial({ steps: -5 }, 'flags'); // Left: "flags: 'steps' must be a positive integer, got -5"
 */
export function validatePartial(raw: unknown, where: string): Either<ConfigError, Partial<TrainConfig>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return left(new ConfigError(`${where}: the config must be a JSON object`));
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!Object.hasOwn(KINDS, key)) {
      return left(new ConfigError(`${where}: unknown key '${key}'; known keys: ${Object.keys(KINDS).join(', ')}`));
    }
    const problem = checkValue(key, KINDS[key as keyof TrainConfig], value, where);
    if (problem) return left(new ConfigError(key === 'gradientSteps' && value === -1 ? `${problem}${SB3_GRADIENT_STEPS}` : problem));
  }
  return right(raw as Partial<TrainConfig>);
}

/** The keys a preset does not set: what `mixrl train` with no flags runs. */
export const RUN_DEFAULTS = { env: 'MountainCar', agent: 'sgm-mrp', seed: 0, steps: 30_000 } as const;

/**
 * Resolves layers of partial configs (later wins) onto the defaults for the chosen env, and checks
 * what depends on several keys, and what a key's value means for the env: its options, and whether a
 * replay buffer of `replayCapacity` transitions fits in typed arrays. `sources[i]` names layer i (a
 * file, "flags", an environment variable) in the errors about the keys it set.
 *
 * @example
 * resolveConfig([{ env: 'MountainCar', agent: 'sgm-mrp', seed: 0, steps: 100000 }]);
 * resolveConfig([{ backend: 'tpu' as never }], ['MIXRL_BACKEND']); // Left: "MIXRL_BACKEND: 'backend' must be auto, cpu or webgpu, got 'tpu'"
 */
export function resolveConfig(layers: readonly Partial<TrainConfig>[], sources: readonly (string | undefined)[] = []): Either<ConfigError, TrainConfig> {
  const sourceOf = (key: keyof TrainConfig) => {
    for (let i = layers.length - 1; i >= 0; i--) if (Object.hasOwn(layers[i], key)) return sources[i];
    return undefined;
  };
  /** Where the keys' values came from, for an error's first words. */
  const where = (...keys: (keyof TrainConfig)[]) => [...new Set(keys.map((k) => sourceOf(k) ?? 'config'))].join(' and ');
  const fail = (message: string) => left(new ConfigError(message));
  const merged = Object.assign({}, ...layers) as Partial<TrainConfig>;
  const env = merged.env ?? RUN_DEFAULTS.env;
  // An unknown env or agent needs no 'config:' when no source is named: the message says what it is.
  const named = (key: keyof TrainConfig) => (sourceOf(key) ? `${sourceOf(key)}: ` : '');
  if (!envIds().includes(env as never)) return fail(`${named('env')}unknown env '${env}'; known envs: ${envIds().join(', ')}`);
  const agent = merged.agent ?? RUN_DEFAULTS.agent;
  if (!Object.hasOwn(AGENTS, agent)) return fail(`${named('agent')}unknown agent '${agent}'; known agents: ${agentNames().join(', ')}`);
  const config = { ...defaultsFor(env), ...RUN_DEFAULTS, envOptions: {}, ...merged, env, agent } as TrainConfig;
  const checks = validatePartial(config, 'config');
  if (isLeft(checks)) return checks;
  const oneOf = (key: 'backend' | 'init' | 'dtype', allowed: readonly string[]) =>
    allowed.includes(config[key]) ? null : `${where(key)}: '${key}' must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got '${config[key]}'`;
  const problem =
    oneOf('backend', ['auto', 'cpu', 'webgpu']) ?? oneOf('init', ['torch', 'xavier-uniform', 'orthogonal']) ?? oneOf('dtype', ['float32', 'float64']);
  if (problem) return fail(problem);
  if (config.backend === 'webgpu' && config.dtype === 'float64') {
    return fail(`${where('backend', 'dtype')}: 'backend' webgpu has no float64 tensors; set 'dtype' to float32 or 'backend' to cpu`);
  }
  if (!(config.gamma >= 0 && config.gamma <= 1)) return fail(`${where('gamma')}: 'gamma' must be in [0, 1], got ${config.gamma}`);
  if (!(config.tau <= 1)) return fail(`${where('tau')}: 'tau' must be in (0, 1], got ${config.tau}`);
  if (!(config.logStdMin < config.logStdMax)) {
    return fail(`${where('logStdMin', 'logStdMax')}: 'logStdMin' (${config.logStdMin}) must be below 'logStdMax' (${config.logStdMax})`);
  }
  if (config.targetEntropy !== 'auto' && !config.autoAlpha) {
    return fail(
      `${where('targetEntropy')}: 'targetEntropy' ${config.targetEntropy} is the target of automatic alpha, and 'autoAlpha' is false (alpha stays ${config.alpha}); set 'autoAlpha' to true, or remove 'targetEntropy'`,
    );
  }
  if ((config.estimator === undefined) !== (config.estimatorModule === undefined)) {
    return fail(
      config.estimator === undefined
        ? `${where('estimatorModule')}: 'estimatorModule' is set without 'estimator', the name of the estimator of it to train`
        : `${where('estimator')}: 'estimator' '${config.estimator}' names an estimator of an estimator module, and none is given ('estimatorModule', or mixrl train --estimator-module FILE)`,
    );
  }
  if (config.batchSize > config.replayCapacity) {
    return fail(`${where('batchSize', 'replayCapacity')}: 'batchSize' (${config.batchSize}) exceeds 'replayCapacity' (${config.replayCapacity})`);
  }
  const unstorable = unstorableIn(config.envOptions, 'envOptions');
  if (unstorable) {
    return fail(
      `${where('envOptions')}: '${unstorable.path}' is ${unstorable.value}, which config.json (JSON) cannot hold, so the run could not be checkpointed or rerun from its config; ${unstorable.value === 'null' ? 'remove the key for its default' : 'give a finite number (for no episode cut-off, a limit above the run\'s steps)'}`,
    );
  }
  let model: EnvModel;
  try {
    model = makeModel(env, config.envOptions);
  } catch (e) {
    if (e instanceof MixrlError) return fail(`${where('envOptions')}: 'envOptions': ${e.message}`);
    throw e;
  }
  // The buffer keeps each field in one typed array of capacity x width elements.
  const width = Math.max(model.observationSpace.size, model.actionSpace.size);
  if (config.replayCapacity * width > bufferConstants.MAX_LENGTH) {
    return fail(
      `${where('replayCapacity')}: 'replayCapacity' ${config.replayCapacity} is too large for ${env}: ${config.replayCapacity} x ${width} values exceed a typed array's ${bufferConstants.MAX_LENGTH} elements`,
    );
  }
  return right(config);
}

/**
 * A camelCase config key as its flag is written.
 *
 * @example
 * kebab('checkpointEvery'); // 'checkpoint-every'
 */
export const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** How a flag's text reads as a value: `numberOrAuto` is a decimal number or the word `auto`. */
export type FlagKind = 'number' | 'int' | 'numberOrAuto' | 'boolean' | 'string' | 'intList';

/**
 * The value type of each key that can be set from a flag (envOptions only from a config file;
 * envModule and estimatorModule by `--env-module FILE` and `--estimator-module FILE`, which the CLI
 * reads itself).
 */
export function flagKinds(): Record<string, FlagKind> {
  const map = {
    int: 'int',
    nonNegInt: 'int',
    posInt: 'int',
    number: 'number',
    posNumber: 'number',
    numberOrAuto: 'numberOrAuto',
    boolean: 'boolean',
    string: 'string',
    intList: 'intList',
  } as const;
  const out: Record<string, FlagKind> = {};
  for (const [key, kind] of Object.entries(KINDS)) if (kind !== 'object' && kind !== 'module') out[key] = map[kind];
  return out;
}

/** The first value under `value` that JSON cannot hold as it is (a non-finite number, or null, which JSON keeps but an option cannot mean), with its path. */
function unstorableIn(value: unknown, path: string): { path: string; value: string } | undefined {
  if (value === null) return { path, value: 'null' };
  if (typeof value === 'number' && !Number.isFinite(value)) return { path, value: String(value) };
  if (typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const found = unstorableIn(inner, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}
