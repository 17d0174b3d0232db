/**
 * The paper's hyperparameter selection (App. E.1): every setting of a grid of config values (the
 * Cartesian product of the axes) trained for a few seeds, the settings ranked by the mean area under
 * their learning curves across seeds, and the best one rerun on fresh seeds. Runs are `mixrl train`
 * runs through `trainRuns` (finished ones reused, interrupted ones resumed, `jobs` at once); the
 * curves and areas are the paper experiments' own (`stats.ts`).
 *
 * A grid axis is a config key as `mixrl train` names its flag (`alpha`, `critic-lr`, ...) with its
 * values, or `actor-lr-ratio`: the paper ties the actor's step size to the critic's, actor lr =
 * critic lr x ratio (the critic lr of the setting, or the environment's default when the grid has no
 * `critic-lr` axis).
 */
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import type { AgentName } from '../rl/sac/agents';
import { ConfigError, defaultsFor, type FlagKind, flagKinds, kebab, resolveConfig, type TrainConfig, validatePartial } from './config';
import { type RunOutcome, type RunSpec, scoredEpisodes, trainRuns } from './paper/runs';
import { aggregateCurves, type CurveSummary, curveArea, finalReturn, type Interval, meanInterval, runCurve, stepGrid } from './paper/stats';
import type { ExperimentContext } from './paper/types';

/** The pseudo-key of the paper's tied actor step size: actor lr = critic lr x ratio. */
export const ACTOR_LR_RATIO = 'actorLrRatio';

/** Config keys a grid cannot vary: what a sweep is of (env, agent, seeds, steps), where runs go, what they log. */
const NOT_SWEPT: Readonly<Record<string, string>> = {
  env: 'the sweep is of one env (--env)',
  agent: 'the sweep is of one agent (--agent)',
  estimator: 'the sweep is of one estimator (--estimator, of --estimator-module)',
  seed: 'seeds are set by --seeds',
  steps: 'every setting runs --steps steps (areas over different lengths do not compare)',
  backend: 'set by --backend',
  checkpointEvery: 'it does not change the training',
  logEvery: 'it does not change the training',
  evalEvery: 'it does not change the training',
  evalEpisodes: 'it does not change the training',
  tensorboard: 'it does not change the training',
  hidden: 'a list value cannot be a grid axis',
};

/** One axis of a grid: a config key (camelCase, or `actorLrRatio`) and its values, in order. */
export interface GridAxis {
  readonly key: string;
  readonly values: readonly (number | string | boolean)[];
}

/** One setting of a grid: the axes' values (by key, in axis order) and the config keys they set. */
export interface Setting {
  /** Position in the grid's Cartesian product (the first axis varies slowest). */
  readonly index: number;
  readonly values: Readonly<Record<string, number | string | boolean>>;
  /** The config keys the setting sets (`actorLrRatio` resolved to `actorLr`). */
  readonly config: Partial<TrainConfig>;
  /** A name for its run folders, e.g. `alpha0.01_critic-lr0.001_actor-lr-ratio0.1`. */
  readonly id: string;
}

const fail = (message: string) => left(new ConfigError(message));

/** The keys a grid accepts and their value kinds. */
function gridKinds(): Record<string, Exclude<FlagKind, 'intList'>> {
  const out: Record<string, Exclude<FlagKind, 'intList'>> = {};
  for (const [key, kind] of Object.entries(flagKinds())) if (!Object.hasOwn(NOT_SWEPT, key) && kind !== 'intList') out[key] = kind;
  out[ACTOR_LR_RATIO] = 'number';
  return out;
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** A decimal number as `mixrl train`'s flags read one (cli/args' parseDecimal): no hex, Infinity or empty text. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const parseDecimal = (text: string) => (DECIMAL.test(text) ? Number(text) : undefined);

/**
 * One `--grid key=v1,v2,...` into an axis: a known key, at least one value, each of the key's type,
 * none twice.
 *
 * @example
 * parseGridAxis('critic-lr=1e-3,1e-4'); // Right({ key: 'criticLr', values: [0.001, 0.0001] })
 * parseGridAxis('alpah=1'); // Left: "--grid alpah=1: unknown key 'alpah'; ..."
 */
export function parseGridAxis(text: string): Either<ConfigError, GridAxis> {
  const eq = text.indexOf('=');
  if (eq <= 0) return fail(`--grid ${text}: write key=v1,v2,... (e.g. --grid alpha=0.001,0.01)`);
  const name = text.slice(0, eq).trim();
  const key = camel(name);
  const kinds = gridKinds();
  if (!Object.hasOwn(kinds, key)) {
    if (Object.hasOwn(NOT_SWEPT, key)) return fail(`--grid ${text}: '${name}' cannot be swept: ${NOT_SWEPT[key]}`);
    return fail(`--grid ${text}: unknown key '${name}'; keys: ${Object.keys(kinds).map(kebab).join(', ')}`);
  }
  const body = text.slice(eq + 1);
  if (body.trim() === '') return fail(`--grid ${text}: no values after '${name}='`);
  const items = body.split(',').map((v) => v.trim());
  if (items.some((v) => v === '')) return fail(`--grid ${text}: an empty value (two commas, or one at an end)`);
  const kind = kinds[key];
  const values: (number | string | boolean)[] = [];
  for (const item of items) {
    let value: number | string | boolean;
    if (kind === 'numberOrAuto' && item === 'auto') value = item;
    else if (kind === 'number' || kind === 'int' || kind === 'numberOrAuto') {
      const n = parseDecimal(item);
      if (n === undefined || !Number.isFinite(n)) return fail(`--grid ${text}: '${name}' takes numbers${kind === 'numberOrAuto' ? ' or auto' : ''}, got '${item}'`);
      if (kind === 'int' && !Number.isSafeInteger(n)) return fail(`--grid ${text}: '${name}' takes integers, got '${item}'`);
      if (key === ACTOR_LR_RATIO && !(n > 0)) return fail(`--grid ${text}: 'actor-lr-ratio' takes positive numbers, got '${item}'`);
      value = n;
    } else if (kind === 'boolean') {
      if (item !== 'true' && item !== 'false') return fail(`--grid ${text}: '${name}' takes true or false, got '${item}'`);
      value = item === 'true';
    } else value = item;
    if (values.includes(value)) return fail(`--grid ${text}: the value ${item} is given twice`);
    values.push(value);
  }
  return right({ key, values });
}

/**
 * The axes of several `--grid` texts: each parsed, no key twice, and not both `actor-lr` and
 * `actor-lr-ratio` (the ratio sets the actor lr).
 */
export function parseGrid(texts: readonly string[]): Either<ConfigError, GridAxis[]> {
  const axes: GridAxis[] = [];
  for (const text of texts) {
    const axis = parseGridAxis(text);
    if (isLeft(axis)) return axis;
    if (axes.some((a) => a.key === axis.right.key)) return fail(`--grid: the key '${kebab(axis.right.key)}' is given twice; give all its values in one --grid ${kebab(axis.right.key)}=v1,v2,...`);
    axes.push(axis.right);
  }
  if (axes.some((a) => a.key === 'actorLr') && axes.some((a) => a.key === ACTOR_LR_RATIO)) {
    return fail(`--grid: 'actor-lr' and 'actor-lr-ratio' both set the actor lr; give one of them`);
  }
  return right(axes);
}

/**
 * A product of step sizes as written (1e-3 x 0.1 is 1.0000000000000002e-4 in floating point;
 * this is 1e-4), to 12 significant digits.
 */
const tidyProduct = (a: number, b: number) => Number((a * b).toPrecision(12));

/** A value as a folder name writes it. */
const valueWord = (v: number | string | boolean) => String(v).replace(/[^\w.+-]/g, '_');

/**
 * Every setting of the grid, the Cartesian product of its axes with the first axis varying slowest;
 * `actorLrRatio` becomes `actorLr` = the setting's critic lr (else `defaultCriticLr`) x ratio. No
 * axes: one setting, the defaults.
 *
 * @example
 * expandGrid([{ key: 'criticLr', values: [1e-3, 1e-4] }, { key: 'actorLrRatio', values: [1, 10] }], 1e-3).map((s) => s.config);
 * // [{ criticLr: 1e-3, actorLr: 1e-3 }, { criticLr: 1e-3, actorLr: 1e-2 }, { criticLr: 1e-4, actorLr: 1e-4 }, { criticLr: 1e-4, actorLr: 1e-3 }]
 */
export function expandGrid(axes: readonly GridAxis[], defaultCriticLr: number): Setting[] {
  let combos: Record<string, number | string | boolean>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  return combos.map((values, index) => {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(values)) if (key !== ACTOR_LR_RATIO) config[key] = value;
    if (Object.hasOwn(values, ACTOR_LR_RATIO)) {
      const critic = typeof config.criticLr === 'number' ? config.criticLr : defaultCriticLr;
      config.actorLr = tidyProduct(critic, values[ACTOR_LR_RATIO] as number);
    }
    const id = axes.length === 0 ? 'defaults' : axes.map((a) => `${kebab(a.key)}${valueWord(values[a.key])}`).join('_');
    return { index, values, config: config as Partial<TrainConfig>, id };
  });
}

/** The critic lr a setting without a `critic-lr` axis runs with: the environment's default. */
export const defaultCriticLr = (env: string) => defaultsFor(env).criticLr;

/**
 * Checks that every setting is a valid config for the env and agent (a negative alpha, an unknown
 * init), naming the first bad one.
 */
export function checkSettings(env: string, agent: string, settings: readonly Setting[]): Either<ConfigError, true> {
  // Each setting's own keys first (their messages name the setting), then the whole config (e.g. batch size against replay capacity).
  for (const s of settings) {
    const own = validatePartial(s.config, `--grid setting ${s.id}`);
    if (isLeft(own)) return own;
    const resolved = resolveConfig([{ env, agent: agent as AgentName }, s.config], [undefined, `--grid setting ${s.id}`]);
    if (isLeft(resolved)) return resolved;
  }
  return right(true);
}

/** What one sweep trains: one env and agent, the grid's settings, the sweep's seeds, the run length. */
export interface SweepTask {
  readonly env: string;
  readonly agent: AgentName;
  readonly settings: readonly Setting[];
  readonly seeds: readonly number[];
  readonly steps: number;
  /** Points of the learning-curve grid the areas are computed on. */
  readonly bins: number;
  /** Config keys every run gets besides the setting's (none for the paper's protocol). */
  readonly fixed?: Partial<TrainConfig>;
}

/** A run folder's name: `<env>-<agent>-<setting id>-seed<N>`. */
export const runName = (task: Pick<SweepTask, 'env' | 'agent'>, setting: Setting, seed: number) => `${task.env}-${task.agent}-${setting.id}-seed${seed}`;

/** The runs of one setting on the given seeds. */
export function settingSpecs(task: SweepTask, setting: Setting, seeds: readonly number[]): RunSpec[] {
  return seeds.map((seed) => ({
    name: runName(task, setting, seed),
    config: { ...task.fixed, ...setting.config, env: task.env, agent: task.agent, seed, steps: task.steps },
  }));
}

/** Every run of the sweep: settings in grid order, seeds within each. */
export const sweepSpecs = (task: SweepTask): RunSpec[] => task.settings.flatMap((s) => settingSpecs(task, s, task.seeds));

/** One setting's standing: its per-seed areas, their mean with a 95% interval, its final return. */
export interface RankedSetting {
  /** 1 = the largest mean area. */
  readonly rank: number;
  readonly setting: Setting;
  readonly seeds: readonly number[];
  /** The area under each seed's curve, in `seeds` order (NaN: no episode ended). */
  readonly areas: readonly number[];
  readonly area: Interval;
  readonly final: Interval;
}

/** The runs' outcomes by run name. */
const byName = (outcomes: readonly RunOutcome[]) => new Map(outcomes.map((o) => [o.spec.name, o]));

/** A run's area and final return on `grid`; none (NaN) for a run whose policy diverged, as for one that never finished an episode. */
function scoresOf(outcome: RunOutcome | undefined, grid: readonly number[], steps: number): { area: number; final: number } {
  const episodes = outcome && scoredEpisodes(outcome);
  if (!episodes) return { area: NaN, final: NaN };
  return { area: curveArea(runCurve(episodes, grid)), final: finalReturn(episodes, steps) };
}

/**
 * The settings ranked by mean area under the learning curve across seeds (largest first; ties in
 * grid order), a setting with more seeds that have an area (that finished an episode) before one
 * with fewer, whatever its mean: a mean over the seeds that finished one (say, the one that reached
 * MountainCar's goal early) would favour it. The curves are read on `stepGrid(steps, bins)`.
 */
export function rankSettings(task: SweepTask, outcomes: readonly RunOutcome[]): RankedSetting[] {
  const named = byName(outcomes);
  const grid = stepGrid(task.steps, Math.min(task.bins, task.steps));
  const rows = task.settings.map((setting) => {
    const scores = task.seeds.map((seed) => scoresOf(named.get(runName(task, setting, seed)), grid, task.steps));
    const areas = scores.map((s) => s.area);
    return { setting, seeds: [...task.seeds], areas, area: meanInterval(areas), final: meanInterval(scores.map((s) => s.final)) };
  });
  const key = (m: number) => (Number.isFinite(m) ? m : -Infinity);
  const order = [...rows].sort((a, b) => b.area.n - a.area.n || key(b.area.mean) - key(a.area.mean) || a.setting.index - b.setting.index);
  return order.map((row, i) => ({ rank: i + 1, ...row }));
}

/** The best setting's rerun: fresh seeds, its curve, its area and final return over them. */
export interface Rerun {
  readonly setting: Setting;
  readonly seeds: readonly number[];
  readonly areas: readonly number[];
  readonly area: Interval;
  readonly final: Interval;
  readonly curve: CurveSummary;
}

/**
 * The seeds of a rerun of `count` runs: the ones after the sweep's largest seed.
 *
 * @example
 * rerunSeeds([0, 1, 2], 2); // [3, 4]
 */
export const rerunSeeds = (sweepSeeds: readonly number[], count: number) => {
  const from = sweepSeeds.length === 0 ? 0 : Math.max(...sweepSeeds) + 1;
  return Array.from({ length: count }, (_, i) => from + i);
};

/** A rerun's numbers from its runs' outcomes. */
export function summarizeRerun(task: SweepTask, setting: Setting, seeds: readonly number[], outcomes: readonly RunOutcome[]): Rerun {
  const named = byName(outcomes);
  const grid = stepGrid(task.steps, Math.min(task.bins, task.steps));
  const chosen = seeds.map((seed) => named.get(runName(task, setting, seed)));
  const scores = chosen.map((o) => scoresOf(o, grid, task.steps));
  const areas = scores.map((s) => s.area);
  return { setting, seeds: [...seeds], areas, area: meanInterval(areas), final: meanInterval(scores.map((s) => s.final)), curve: scoredCurve(chosen, grid) };
}

/** The mean curve of the runs that have a score: a run that diverged (or is missing) is left out, as from the areas. */
function scoredCurve(outcomes: readonly (RunOutcome | undefined)[], grid: readonly number[]): CurveSummary {
  const curves = outcomes.map((o) => (o ? scoredEpisodes(o) : null)).filter((e) => e !== null);
  return aggregateCurves(curves, grid);
}

export interface SweepResult {
  readonly ranking: RankedSetting[];
  /** The sweep's best setting's curve over the sweep's seeds. */
  readonly bestCurve: CurveSummary;
  readonly rerun?: Rerun;
}

/**
 * Runs a sweep: every setting on the task's seeds, ranked; then, when `rerunCount` > 0, the best
 * setting on `rerunCount` fresh seeds. Runs go under `ctx.workDir` (see `trainRuns`: finished runs
 * are read back, interrupted ones resumed; a signal throws `Interrupted`).
 *
 * @example
 * const task = { env: 'Pendulum', agent: 'sg-rp', settings: expandGrid(axes, 1e-3), seeds: [0, 1, 2], steps: 20_000, bins: 50 };
 * const { ranking, rerun } = await runSweep(ctx, task, 5);
 */
export async function runSweep(ctx: Pick<ExperimentContext, 'backend' | 'workDir' | 'jobs' | 'together' | 'log'>, task: SweepTask, rerunCount: number): Promise<SweepResult> {
  const specs = sweepSpecs(task);
  ctx.log(`sweep: ${task.settings.length} settings x ${task.seeds.length} seed${task.seeds.length === 1 ? '' : 's'} = ${specs.length} runs of ${task.steps} steps (${task.env}, ${task.agent})`);
  const outcomes = await trainRuns(ctx, specs);
  const ranking = rankSettings(task, outcomes);
  if (!Number.isFinite(ranking[0].area.mean)) {
    // No curve at all: picking "the best" would pick the first setting of the grid.
    throw new ConfigError(`sweep: no run of any setting finished an episode in ${task.steps} steps, so no setting has an area to rank by; give more steps than an episode of ${task.env} lasts`);
  }
  const best = ranking[0].setting;
  const grid = stepGrid(task.steps, Math.min(task.bins, task.steps));
  const named = byName(outcomes);
  const bestCurve = scoredCurve(task.seeds.map((seed) => named.get(runName(task, best, seed))), grid);
  if (rerunCount <= 0) return { ranking, bestCurve };
  const seeds = rerunSeeds(task.seeds, rerunCount);
  ctx.log(`best setting ${best.id} (area ${ranking[0].area.mean.toPrecision(4)}); rerunning it on seeds ${seeds.join(', ')}`);
  const rerunOutcomes = await trainRuns(ctx, settingSpecs(task, best, seeds));
  return { ranking, bestCurve, rerun: summarizeRerun(task, best, seeds, rerunOutcomes) };
}
