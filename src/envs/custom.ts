/**
 * A researcher's own environment: what `registerEnv` takes (`EnvSpec`) and what it checks before the
 * registry serves an env of that id: the id and the spec's shape, then each model its `make` gives
 * (once per distinct options): the `EnvModel` contract's fields, then `checkEnv` on a fresh `ModelEnv`,
 * then that the model keeps no state of its own outside the state array.
 */
import { rawFoldIn, rawKey } from '../tensor/threefry';
import { checkEnv } from './check';
import { type EnvModel, ModelEnv } from './core';
import { EnvError } from './errors';
import { Box } from './spaces';

/** An environment of one's own, as `registerEnv` takes it. */
export interface EnvSpec {
  /**
   * The model for `options` (checked against `keys` first). Every option is optional: `make({})` is
   * the default environment, and `registerEnv` checks it at once.
   */
  make(options: Record<string, unknown>): EnvModel;
  /** The option keys `make` accepts; others are refused as for the built-in ids. Default: none. */
  keys?: readonly string[];
  /** One line for `mixrl envs`. */
  description?: string;
}

/** How `checkEnv` runs on each model of a registered env: two episodes of at most `maxSteps` random steps from `seed`. */
const MODEL_CHECK = { seed: 0, maxSteps: 100 } as const;

/** An id names run folders (`runs/ID-AGENT-seedN`) and flags (`--env ID`): no slashes, spaces or leading dash. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const invalid = (message: string) => new EnvError('invalid-config', message);

/**
 * Throws `invalid-config` unless `id` can name an environment and `spec` has `EnvSpec`'s shape; the
 * message names the id (or shows the value given as one).
 */
export function checkSpec(id: unknown, spec: unknown): asserts spec is EnvSpec {
  if (typeof id !== 'string' || id === '') {
    throw invalid(`registerEnv: the id must be a non-empty string, got ${typeof id === 'string' ? "''" : String(id)}`);
  }
  if (!ID_PATTERN.test(id)) {
    throw invalid(`registerEnv: the id '${id}' must be letters, digits, '_', '.' or '-' (not first): it names run folders and flags`);
  }
  if (spec === null || typeof spec !== 'object') throw invalid(`${id}: the spec must be an object { make, keys?, description? }, got ${String(spec)}`);
  const { make, keys, description } = spec as Record<string, unknown>;
  if (typeof make !== 'function') throw invalid(`${id}: the spec's 'make' must be a function (options) => EnvModel, got ${typeof make}`);
  if (keys !== undefined && !(Array.isArray(keys) && keys.every((k) => typeof k === 'string' && k !== ''))) {
    throw invalid(`${id}: the spec's 'keys' must be a list of option names, got ${JSON.stringify(keys)}`);
  }
  if (description !== undefined && typeof description !== 'string') {
    throw invalid(`${id}: the spec's 'description' must be a string, got ${typeof description}`);
  }
}

const isBox = (x: unknown): x is Box => x instanceof Box;

/** What keeps `model` from being an `EnvModel` with this id, one phrase each. */
function shapeProblems(id: string, model: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (model.id !== id) problems.push(`its id is ${JSON.stringify(model.id)}, not '${id}'`);
  for (const space of ['observationSpace', 'actionSpace'] as const) {
    if (!isBox(model[space])) problems.push(`${space} is not a Box of this mixrl`);
  }
  const layout = model.stateLayout;
  const layoutOk = Array.isArray(layout) && layout.every((name) => typeof name === 'string');
  if (!layoutOk) problems.push('stateLayout is not a list of names');
  const bounds = model.stateBounds;
  if (bounds !== undefined && !(isBox(bounds) && layoutOk && bounds.size === layout.length)) {
    problems.push(isBox(bounds) ? 'stateBounds does not have one entry per stateLayout name' : 'stateBounds is not a Box of this mixrl');
  }
  const steps = model.maxEpisodeSteps;
  if (!(steps === Infinity || (Number.isSafeInteger(steps) && (steps as number) > 0))) {
    problems.push(`maxEpisodeSteps is ${String(steps)}, not a positive integer or Infinity`);
  }
  for (const method of ['initialState', 'transition', 'observe'] as const) {
    if (typeof model[method] !== 'function') problems.push(`${method} is not a function`);
  }
  return problems;
}

/** An episode's observations and rewards, in order, as numbers to compare. */
type Trajectory = number[];

/**
 * Steps `envs` in turn, env 0, env 1, ..., each with the random actions of the `MODEL_CHECK` seed
 * from t = 0 on, until each ends or has taken `steps` steps: their trajectories, and which ended.
 */
function stepInTurn(envs: readonly ModelEnv[], steps: number): { trajectories: Trajectory[]; ended: boolean[] } {
  const trajectories: Trajectory[] = envs.map(() => []);
  const ended = envs.map(() => false);
  const key = rawKey(MODEL_CHECK.seed);
  for (let t = 0; t < steps; t++) {
    envs.forEach((env, i) => {
      if (ended[i]) return;
      const r = env.step(env.actionSpace.sample(rawFoldIn(key, t)));
      trajectories[i].push(...r.obs, r.reward);
      ended[i] = r.terminated || r.truncated;
    });
  }
  return { trajectories, ended };
}

const same = (a: Trajectory, b: Trajectory) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** An env of `model` started from `seed`, or from exactly `state`. */
function started(model: EnvModel, from: { seed: number } | { state: Float64Array }): ModelEnv {
  const env = new ModelEnv(model);
  env.reset('seed' in from ? { seed: from.seed } : { options: { state: from.state } });
  return env;
}

/**
 * What shows that `model` keeps state outside its state array (a step counter in its closure or its
 * module, a table keyed by the state array), one phrase each. Two envs of the model stepped in turn
 * must each go as it goes alone (`mixrl train` runs its evaluations' episodes on the model of its
 * training episode, in the middle of that episode); and an episode stopped halfway must go on the
 * same from its state array alone in an env of `remake()`, a fresh `make(options)` (a checkpoint
 * keeps the state array alone, and `--resume` goes on from it).
 */
function hiddenStateProblems(model: EnvModel, remake: () => EnvModel): string[] {
  const steps = Math.min(MODEL_CHECK.maxSteps, model.maxEpisodeSteps);
  const problems: string[] = [];
  const alone = [0, 1].map((seed) => stepInTurn([started(model, { seed })], steps).trajectories[0]);
  const inTurn = stepInTurn([started(model, { seed: 0 }), started(model, { seed: 1 })], steps).trajectories;
  if (!inTurn.every((trajectory, i) => same(trajectory, alone[i]))) problems.push('two envs of the model stepped in turn do not each go as they go alone');
  const half = Math.floor(steps / 2);
  const halfway = started(model, { seed: 0 });
  if (half >= 1 && !stepInTurn([halfway], half).ended[0]) {
    const state = halfway.state;
    const goesOn = stepInTurn([halfway], steps - half).trajectories[0];
    const restored = stepInTurn([started(remake(), { state })], steps - half).trajectories[0];
    if (!same(goesOn, restored)) problems.push('an episode restored from its state array halfway, in a fresh make(), goes on differently');
  }
  return problems;
}

/**
 * Throws `check-failed` unless `model`, what `make(options)` of the env `id` returned, is an
 * `EnvModel` of that id that passes `checkEnv` (`MODEL_CHECK`) and keeps no state outside the state
 * array (checked with `remake`, which makes the model again: default, the same model); the message is
 * one line naming the id, the options and every problem found.
 *
 * @example
 * checkModel('PointMass', {}, spec.make({}), () => spec.make({})); // throws "PointMass: make({}) ... fails checkEnv (...): step 3: reward NaN is not finite"
 */
export function checkModel(id: string, options: Record<string, unknown>, model: unknown, remake?: () => unknown): asserts model is EnvModel {
  const made = `${id}: make(${showOptions(options)})`;
  if (model === null || typeof model !== 'object') throw new EnvError('check-failed', `${made} returned ${String(model)}, not an EnvModel`);
  if (typeof (model as { then?: unknown }).then === 'function') {
    throw new EnvError('check-failed', `${made} returned a Promise; make must return the EnvModel itself (an async setup belongs in the env module's exported function, which may be async)`);
  }
  const problems = shapeProblems(id, model as Record<string, unknown>);
  // A Box of another copy of mixrl (an env module's own `import 'mixrl'`) is not this layer's Box.
  const hint = problems.some((p) => p.includes('not a Box')) ? ' (spaces must be built with the Box of the mixrl that registers the env: in an env module, the one its function receives)' : '';
  if (problems.length > 0) throw new EnvError('check-failed', `${made} is not an EnvModel: ${problems.join('; ')}${hint}`);
  const how = `seed ${MODEL_CHECK.seed}, at most ${MODEL_CHECK.maxSteps} steps per episode`;
  try {
    checkEnv(new ModelEnv(model as EnvModel), MODEL_CHECK);
  } catch (e) {
    if (e instanceof EnvError && e.code === 'check-failed') {
      // checkEnv lists its problems one per line after a heading: here they share one line.
      const found = e.message.split('\n').slice(1).map((line) => line.trim());
      throw new EnvError('check-failed', `${made} fails checkEnv (${how}): ${found.join('; ')}`);
    }
    const message = e instanceof Error ? e.message : String(e);
    throw new EnvError('check-failed', `${made} fails checkEnv (${how}): it threw ${firstLine(message)}`);
  }
  let hidden: string[];
  try {
    hidden = hiddenStateProblems(model as EnvModel, () => (remake === undefined ? model : remake()) as EnvModel);
  } catch (e) {
    throw new EnvError('check-failed', `${made} fails the check for state kept outside its state array: it threw ${firstLine(e instanceof Error ? e.message : String(e))}`);
  }
  if (hidden.length > 0) {
    throw new EnvError('check-failed', `${made} keeps state outside its state array (all of an episode's state must be in it): ${hidden.join('; ')}`);
  }
}

/** The first line of a message (an error from a user's code may span several). */
export const firstLine = (text: string) => text.split('\n')[0];

/**
 * Options as a message shows them: their JSON, or `{...}` where it cannot be written (a BigInt, a cycle).
 *
 * @example
 * showOptions({ dt: 0.02 }); // '{"dt":0.02}'
 */
export function showOptions(options: Record<string, unknown>): string {
  try {
    return JSON.stringify(options) ?? String(options);
  } catch {
    return '{...}';
  }
}
