/**
 * `mixrl sweep`: the paper's hyperparameter selection for one environment and agent. Every setting of
 * a grid (`--grid key=v1,v2,...`, the Cartesian product of the axes) is trained on `--seeds` seeds
 * as `mixrl train` child runs, the settings are ranked by the mean area under their learning curves,
 * and the best is rerun on `--rerun-seeds` fresh seeds. The folder: `sweep.csv`, `best.json`
 * (written last: the folder is finished), `findings.md`, `best-curve.svg`, `sweep.json` (the options
 * it was started with), `runs/`. The folder semantics are `mixrl reproduce`'s (`out-folder.ts`).
 */
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import packageJson from '../../package.json';
import { ConfigError, isModuleRef, kebab, type ModuleRef, RUN_DEFAULTS, type TrainConfig } from '../experiments/config';
import { writeFileAtomic } from '../experiments/files';
import { intervalCells, tableNumber, tableToCsv } from '../experiments/paper/csv';
import { describeSetting, settingCells, settingColumns, show } from '../experiments/paper/curves';
import { DEFAULT_TOGETHER, OVERRIDE_VARIABLE, useEnvModuleForRuns } from '../experiments/paper/runs';
import { renderSvg } from '../experiments/paper/svg';
import type { Figure, Table } from '../experiments/paper/types';
import {
  ACTOR_LR_RATIO,
  checkSettings,
  defaultCriticLr,
  expandGrid,
  type GridAxis,
  parseGrid,
  runSweep,
  type SweepResult,
  type SweepTask,
} from '../experiments/sweep';
import type { AgentName } from '../rl/sac/agents';
import { type Backend, MixrlError } from '../tensor';
import { parseArgs, typedFlags } from './args';
import { definesEnv, loadEnvModule } from './envs';
import { loadEstimatorModule } from './estimator-module';
import { type FolderKind, holdOut, ioReason, type Outcome, prepareOut, readOverride, shellWord, startRuns, untilInterrupted } from './out-folder';


const userError = (message: string) => left(new ConfigError(message));

const FOLDER: FolderKind = { command: 'mixrl sweep', results: 'best.json', started: 'sweep.json', lock: 'sweep.lock' };

const FLAGS = { env: 'string', agent: 'string', seeds: 'int', steps: 'int', jobs: 'int', together: 'int', out: 'string', rerunSeeds: 'int', maxRuns: 'int', backend: 'string', envModule: 'string', estimatorModule: 'string', estimator: 'string' } as const;

/** Runs a sweep may have without a larger --max-runs. */
export const DEFAULT_MAX_RUNS = 500;
/** Points of the learning-curve grid the areas are read on (the paper experiments' at paper scale). */
export const SWEEP_BINS = 50;
const DEFAULT_SEEDS = 3;

/** The options a sweep ran with, as sweep.json and best.json record them. */
export interface SweepOptions {
  readonly env: string;
  readonly agent: AgentName;
  /** The axes as given: flag-style keys (`critic-lr`) and their values. */
  readonly grid: readonly { readonly key: string; readonly values: readonly (number | string | boolean)[] }[];
  readonly seeds: number[];
  readonly steps: number;
  readonly rerunSeeds: number;
  readonly jobs: number;
  /** Runs of one setting (its seeds) trained together in one process (`trainBatch`); like `jobs`, the same results on the CPU. */
  readonly together: number;
  readonly maxRuns: number;
  readonly out: string;
  readonly backend: 'cpu' | 'webgpu';
  /** The env module `env` comes from (`--env-module`): every new run loads it, and a changed file stops a continued sweep. */
  readonly envModule?: ModuleRef;
  /** The custom estimator every run trains in place of the agent's (`--estimator`), and its module (`--estimator-module`), likewise. */
  readonly estimator?: string;
  readonly estimatorModule?: ModuleRef;
  /** MIXRL_REPRODUCE_OVERRIDE's config keys (tests' tiny runs), when set. */
  readonly override?: Record<string, unknown>;
}

/** `mixrl sweep --help`. */
export function sweepUsage(): string {
  return [
    'usage: mixrl sweep --env ENV --agent AGENT --grid KEY=V1,V2,... [--grid ...] [--seeds N] [--steps N] [--jobs N] [--together N]',
    '                   [--rerun-seeds M] [--out DIR] [--max-runs N] [--backend cpu|webgpu] [--env-module FILE]',
    '                   [--estimator-module FILE [--estimator NAME]]',
    '',
    'The paper\'s hyperparameter selection: every setting of the grid (the Cartesian product of the --grid axes) trained',
    'on --seeds seeds, ranked by the mean area under the learning curve, the best rerun on --rerun-seeds fresh seeds.',
    '',
    '  --grid KEY=V1,V2,...  an axis: a config key as mixrl train names its flag (alpha, critic-lr, actor-lr, tau, batch-size,',
    '                        components, ...) and its values; repeat for more axes. actor-lr-ratio=R1,R2 ties the actor lr',
    '                        to the critic lr as the paper does: actor lr = critic lr x R (the env\'s default critic lr when',
    '                        no critic-lr axis is given). The paper\'s grid: --grid alpha=0.001,0.01,0.1,1',
    '                        --grid critic-lr=0.1,0.01,0.001,0.0001,0.00001 --grid actor-lr-ratio=0.01,0.1,1,10 (80 settings)',
    `  --seeds N             the sweep's seeds 0..N-1 (default ${DEFAULT_SEEDS})`,
    `  --steps N             environment steps per run (default ${RUN_DEFAULTS.steps})`,
    '  --rerun-seeds M       rerun the best setting on seeds N..N+M-1 and report its curve and area (default 0: no rerun)',
    '  --jobs N              training processes at once (on one CPU thread each when N > 1; default 1)',
    `  --together N          up to N runs that differ only in seed, alpha and learning rates (a setting's seeds, a sweep's`,
    `                        settings) in one process, trained together: one batched update per step (the same runs bit`,
    `                        for bit on the CPU; default ${DEFAULT_TOGETHER}; 1: each run alone)`,
    '  --out DIR             the results folder (default sweeps/ENV-AGENT); an interrupted one continues, a finished one',
    '                        (best.json) is refused',
    `  --max-runs N          refuse a sweep of more runs than this (default ${DEFAULT_MAX_RUNS})`,
    '  --backend cpu|webgpu  where the networks run (default cpu)',
    '  --env-module FILE     an ES module defining environments of your own (docs/envs.md); --env picks one. Each run',
    '                        records the file; a continued sweep refuses it changed',
    '  --estimator-module FILE [--estimator NAME]',
    '                        an ES module defining actor-gradient estimators of your own (docs/estimators.md): every run',
    '                        trains NAME (may be left out when it defines one) in place of the agent\'s, which still picks',
    '                        the policy. Each run records the file; a continued sweep refuses it changed',
    '',
    'Writes sweep.csv (a row per setting, best first: values, mean area with its 95% interval, final return, each seed\'s',
    'area), best.json, best-curve.svg, findings.md and runs/ (each run a mixrl train folder).',
  ].join('\n');
}

/** An axis's values as `--grid` takes them back. */
const gridText = (axis: SweepOptions['grid'][number]) => `${axis.key}=${axis.values.map(String).join(',')}`;

/**
 * The command that runs (or continues) a sweep with these options.
 *
 * @example
 * sweepCommandLine({ env: 'Pendulum', agent: 'sg-rp', grid: [{ key: 'alpha', values: [0.01, 0.1] }], seeds: [0, 1], steps: 5000, rerunSeeds: 0, jobs: 1, together: 10, maxRuns: 500, backend: 'cpu', out: 'sw' });
 * // 'mixrl sweep --env Pendulum --agent sg-rp --grid alpha=0.01,0.1 --seeds 2 --steps 5000 --rerun-seeds 0 --jobs 1 --backend cpu --out sw'
 */
export function sweepCommandLine(o: Omit<SweepOptions, 'override'>): string {
  return [
    `mixrl sweep --env ${shellWord(o.env)} --agent ${shellWord(o.agent)}`,
    ...o.grid.map((a) => `--grid ${shellWord(gridText(a))}`),
    `--seeds ${o.seeds.length} --steps ${o.steps} --rerun-seeds ${o.rerunSeeds} --jobs ${o.jobs}`,
    ...(o.together !== DEFAULT_TOGETHER ? [`--together ${o.together}`] : []),
    ...(o.maxRuns !== DEFAULT_MAX_RUNS ? [`--max-runs ${o.maxRuns}`] : []),
    `--backend ${o.backend}`,
    ...moduleFlags(o),
    `--out ${shellWord(o.out)}`,
  ].join(' ');
}

/** The flags of the modules a sweep's runs load: `--env-module FILE`, `--estimator-module FILE --estimator NAME`. */
const moduleFlags = (o: Pick<SweepOptions, 'envModule' | 'estimatorModule' | 'estimator'>) => [
  ...(o.envModule ? [`--env-module ${shellWord(o.envModule.path)}`] : []),
  ...(o.estimatorModule && o.estimator ? [`--estimator-module ${shellWord(o.estimatorModule.path)} --estimator ${shellWord(o.estimator)}`] : []),
];

type IdentityKeys = 'env' | 'agent' | 'grid' | 'seeds' | 'steps' | 'rerunSeeds' | 'backend' | 'envModule' | 'estimator' | 'estimatorModule';

/** What decides a sweep's runs and results (not --jobs, --max-runs or --out). */
const identity = (o: Pick<SweepOptions, IdentityKeys>) =>
  JSON.stringify([o.env, o.agent, o.grid, o.seeds, o.steps, o.rerunSeeds, o.backend, o.envModule ?? null, o.estimator ?? null, o.estimatorModule ?? null]);

/**
 * Why an unfinished sweep cannot go on when only one of its modules' files changed since it
 * started (its runs so far trained on the old one); undefined otherwise.
 */
function changedModule(started: Pick<SweepOptions, IdentityKeys>, options: SweepOptions): string | undefined {
  for (const [key, noun] of [['envModule', 'env module'], ['estimatorModule', 'estimator module']] as const) {
    const [then, now] = [started[key], options[key]];
    if (then && now?.path === then.path && identity({ ...started, [key]: now }) === identity(options)) {
      return `holds an unfinished sweep whose ${noun} ${now.path} has changed since it started (sha256 ${then.sha256.slice(0, 12)}... then, ${now.sha256.slice(0, 12)}... now): its runs so far trained on the old one; restore the file, or choose another --out`;
    }
  }
  return undefined;
}

/** sweep.json's options, when it is one of ours. */
function startedOptions(raw: unknown): Omit<SweepOptions, 'out' | 'override'> | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  const ok =
    typeof o.env === 'string' &&
    typeof o.agent === 'string' &&
    Array.isArray(o.grid) &&
    o.grid.every((a) => a !== null && typeof a === 'object' && typeof a.key === 'string' && Array.isArray(a.values)) &&
    Array.isArray(o.seeds) &&
    o.seeds.every((s) => Number.isSafeInteger(s)) &&
    Number.isSafeInteger(o.steps) &&
    Number.isSafeInteger(o.rerunSeeds) &&
    (o.backend === 'cpu' || o.backend === 'webgpu') &&
    (o.envModule === undefined || isModuleRef(o.envModule)) &&
    (o.estimatorModule === undefined ? o.estimator === undefined : isModuleRef(o.estimatorModule) && typeof o.estimator === 'string');
  if (!ok) return undefined;
  return {
    env: o.env as string,
    agent: o.agent as AgentName,
    grid: o.grid as SweepOptions['grid'],
    seeds: o.seeds as number[],
    steps: o.steps as number,
    rerunSeeds: o.rerunSeeds as number,
    jobs: Number.isSafeInteger(o.jobs) ? (o.jobs as number) : 1,
    together: Number.isSafeInteger(o.together) ? (o.together as number) : DEFAULT_TOGETHER,
    maxRuns: Number.isSafeInteger(o.maxRuns) ? (o.maxRuns as number) : DEFAULT_MAX_RUNS,
    backend: o.backend as 'cpu' | 'webgpu',
    ...(isModuleRef(o.envModule) && { envModule: o.envModule }),
    ...(isModuleRef(o.estimatorModule) && { estimator: o.estimator as string, estimatorModule: o.estimatorModule }),
  };
}

/** `--grid` values out of argv (the flag may repeat, which parseArgs refuses), and the rest. */
function takeGrid(argv: readonly string[]): Either<MixrlError, { grid: string[]; rest: string[] }> {
  const grid: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--grid') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) return userError('flag --grid needs a value: --grid key=v1,v2,...');
      grid.push(value);
      i++;
    } else if (arg.startsWith('--grid=')) grid.push(arg.slice('--grid='.length));
    else rest.push(arg);
  }
  return right({ grid, rest });
}

/**
 * `mixrl sweep ...`.
 *
 * @example
 * await sweepCommand(['--env', 'Pendulum', '--agent', 'sg-rp', '--grid', 'alpha=0.01,0.1', '--steps', '5000']); // Right(0)
 */
export async function sweepCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(sweepUsage());
    return right(0);
  }
  const taken = takeGrid(argv);
  if (isLeft(taken)) return taken;
  const parsed = parseArgs(taken.right.rest);
  if (isLeft(parsed)) return parsed;
  const typed = typedFlags(parsed.right.flags, FLAGS, {}, ['grid']);
  if (isLeft(typed)) return typed;
  if (parsed.right.positionals.length > 0) return userError(`unexpected argument '${parsed.right.positionals[0]}'`);
  const flags = typed.right as {
    env?: string;
    agent?: string;
    seeds?: number;
    steps?: number;
    jobs?: number;
    together?: number;
    out?: string;
    rerunSeeds?: number;
    maxRuns?: number;
    backend?: string;
    envModule?: string;
    estimatorModule?: string;
    estimator?: string;
  };
  if (flags.env === undefined) return userError('--env ENV is required (mixrl envs lists them)');
  // The module first: it defines the env the settings are checked against.
  let envModule: ModuleRef | undefined;
  if (flags.envModule !== undefined) {
    const loaded = await loadEnvModule(flags.envModule);
    if (isLeft(loaded)) return loaded;
    const defined = definesEnv(loaded.right, flags.env, `--env-module ${flags.envModule}`);
    if (isLeft(defined)) return defined;
    envModule = loaded.right.ref;
  }
  if (flags.agent === undefined) return userError('--agent AGENT is required (mixrl agents lists them)');
  if (flags.estimator !== undefined && flags.estimatorModule === undefined) return userError(`flag --estimator needs --estimator-module FILE, the module that defines '${flags.estimator}'`);
  const estimator = flags.estimatorModule === undefined ? undefined : await loadEstimatorModule(flags.estimatorModule, flags.estimator);
  if (estimator && isLeft(estimator)) return estimator;
  if (taken.right.grid.length === 0) return userError('give at least one --grid key=v1,v2,... (e.g. --grid alpha=0.001,0.01,0.1,1)');
  const axes = parseGrid(taken.right.grid);
  if (isLeft(axes)) return axes;
  const seedCount = flags.seeds ?? DEFAULT_SEEDS;
  if (!(seedCount >= 1)) return userError(`flag --seeds must be a positive integer, got ${seedCount}`);
  const steps = flags.steps ?? RUN_DEFAULTS.steps;
  if (!(steps >= 1)) return userError(`flag --steps must be a positive integer, got ${steps}`);
  const rerunCount = flags.rerunSeeds ?? 0;
  if (!(rerunCount >= 0)) return userError(`flag --rerun-seeds must be 0 or more, got ${rerunCount}`);
  const jobs = flags.jobs ?? 1;
  if (!(jobs >= 1)) return userError(`flag --jobs must be a positive integer, got ${jobs}`);
  const together = flags.together ?? DEFAULT_TOGETHER;
  if (!(together >= 1)) return userError(`flag --together must be a positive integer, got ${together}`);
  const maxRuns = flags.maxRuns ?? DEFAULT_MAX_RUNS;
  if (!(maxRuns >= 1)) return userError(`flag --max-runs must be a positive integer, got ${maxRuns}`);
  const backendName = flags.backend ?? 'cpu';
  if (backendName !== 'cpu' && backendName !== 'webgpu') return userError(`flag --backend must be cpu or webgpu, got '${backendName}'`);
  if (flags.out === '') return userError('flag --out needs a folder');
  // The env and agent first: a grid is checked against them.
  const base = checkSettings(flags.env, flags.agent, expandGrid([], 1e-3));
  if (isLeft(base)) return base;
  const settings = expandGrid(axes.right, defaultCriticLr(flags.env));
  const checked = checkSettings(flags.env, flags.agent, settings);
  if (isLeft(checked)) return checked;
  const total = settings.length * seedCount + rerunCount;
  if (total > maxRuns) {
    return userError(
      `the sweep is ${total} runs (${settings.length} settings x ${seedCount} seeds${rerunCount > 0 ? ` + ${rerunCount} reruns` : ''} of ${steps} steps), more than --max-runs ${maxRuns}; raise --max-runs to run it`,
    );
  }
  const override = readOverride();
  if (isLeft(override)) return override;
  const options: SweepOptions = {
    env: flags.env,
    agent: flags.agent as AgentName,
    grid: axes.right.map((a) => ({ key: kebab(a.key), values: a.values })),
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    steps,
    rerunSeeds: rerunCount,
    jobs,
    together,
    maxRuns,
    out: flags.out ?? path.join('sweeps', `${flags.env}-${flags.agent}`),
    backend: backendName,
    ...(envModule && { envModule }),
    ...(estimator && { estimator: estimator.right.name, estimatorModule: estimator.right.ref }),
    ...(override.right && { override: override.right }),
  };
  const state = await prepareOut(FOLDER, options.out, (raw) => {
    const started = startedOptions(raw);
    if (started === undefined) return undefined;
    if (identity(started) === identity(options)) return null;
    return changedModule(started, options) ?? `holds an unfinished sweep of ${started.env}, ${started.agent} with other options; continue it with ${sweepCommandLine({ ...started, out: options.out })}, or choose another --out`;
  });
  if (isLeft(state)) return state;
  return holdOut(FOLDER, options.out, backendName, (backend) => sweepIn(options, axes.right, state.right, backend));
}

/** sweep.csv: one row per setting, best first. */
export function sweepTable(axes: readonly GridAxis[], result: SweepResult, seeds: readonly number[]): Table {
  return {
    id: 'sweep',
    title: 'Every setting, ranked by mean area under the learning curve over the seeds',
    columns: ['rank', ...settingColumns(axes).map((c) => c.replace(/_/g, '-')), 'seeds', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95', ...seeds.map((s) => `auc_seed${s}`)],
    rows: result.ranking.map((r) => [
      r.rank,
      ...settingCells(axes, r.setting),
      r.area.n,
      ...intervalCells(r.area),
      ...intervalCells(r.final),
      ...r.areas.map(tableNumber),
    ]),
  };
}

/** The `mixrl train` flags of a setting's config. */
const trainFlags = (config: Record<string, unknown>) => Object.entries(config).map(([k, v]) => `--${kebab(k)} ${v}`).join(' ');

/**
 * The config keys of the sweep's custom estimator, which every run gets: a child `mixrl train` gets
 * them as `--estimator NAME --estimator-module PATH`, and a continued sweep compares them, SHA-256
 * included, with each run's config.json.
 */
function estimatorKeys({ estimator, estimatorModule }: SweepOptions): Partial<TrainConfig> | undefined {
  if (estimator === undefined || estimatorModule === undefined) return undefined;
  return { estimator, estimatorModule };
}

/** The sweep's part of `sweepCommand`, in a folder it holds the lock of. */
async function sweepIn(options: SweepOptions, axes: readonly GridAxis[], state: 'new' | 'resume', backend: Backend): Promise<Outcome> {
  const runs = await startRuns(FOLDER, options.out, state, options);
  if (isLeft(runs)) return runs;
  useEnvModuleForRuns(options.envModule ?? null);
  const workDir = runs.right;
  const settings = expandGrid(axes, defaultCriticLr(options.env));
  // A test override may shorten the runs: the curves' grid follows the steps they run.
  const steps = (options.override?.steps as number | undefined) ?? options.steps;
  const task: SweepTask = { env: options.env, agent: options.agent, settings, seeds: options.seeds, steps, bins: SWEEP_BINS, fixed: estimatorKeys(options) };
  console.log(`${state === 'resume' ? 'continuing' : 'running'} a sweep of ${options.env}, ${options.agent}: ${settings.length} settings x ${options.seeds.length} seeds${options.rerunSeeds > 0 ? ` + ${options.rerunSeeds} reruns` : ''}, ${options.jobs} job${options.jobs > 1 ? 's' : ''} -> ${options.out}`);
  const started = Date.now();
  const ran = await untilInterrupted(
    () => runSweep({ backend, workDir, jobs: options.jobs, together: options.together, log: (line) => console.log(line) }, task, options.rerunSeeds),
    'runs of this stage',
    sweepCommandLine(options),
  );
  if (isLeft(ran)) return ran.left;
  const result = ran.right;
  const seconds = (Date.now() - started) / 1000;
  const best = result.ranking[0];
  const second = result.ranking[1];
  const seedWord = (n: number) => `${n} seed${n === 1 ? '' : 's'}`;
  const series: Figure['series'][number][] = [{ name: `sweep (${seedWord(options.seeds.length)})`, x: result.bestCurve.x, y: result.bestCurve.mean, lo: result.bestCurve.lo, hi: result.bestCurve.hi }];
  if (result.rerun) series.push({ name: `rerun (${seedWord(result.rerun.seeds.length)})`, x: result.rerun.curve.x, y: result.rerun.curve.mean, lo: result.rerun.curve.lo, hi: result.rerun.curve.hi });
  const figure: Figure = {
    id: 'best-curve',
    title: `${options.env}, ${options.agent}, best setting ${describeSetting(best.setting)}: mean return, 95% t-interval`,
    xLabel: 'environment steps',
    yLabel: 'episode return',
    series,
  };
  const interval = (i: { n: number; mean: number; lo: number; hi: number }) => ({ n: i.n, mean: i.mean, lo95: i.lo, hi95: i.hi });
  const findings: string[] = [
    `Best of ${settings.length} settings by mean area under the curve over ${seedWord(options.seeds.length)}: ${describeSetting(best.setting)}, area ${show(best.area)}, final return ${show(best.final)}.`,
  ];
  if (second) {
    const apart = best.area.n > 1 && second.area.n > 1 && best.area.lo > second.area.hi;
    findings.push(
      `Runner-up: ${describeSetting(second.setting)}, area ${show(second.area)}; ` +
        (apart ? 'the best one\'s 95% interval lies above it.' : best.area.n > 1 ? 'their 95% intervals overlap: the sweep does not separate them.' : 'one seed gives no interval.'),
    );
  }
  if (result.rerun) {
    findings.push(
      `Rerun of the best setting on ${seedWord(result.rerun.seeds.length)} (${result.rerun.seeds.join(', ')}): area ${show(result.rerun.area)}, final return ${show(result.rerun.final)} ` +
        `(against ${best.area.mean.toPrecision(3)} in the sweep, whose best area is biased upward by the choice itself).`,
    );
  }
  const table = sweepTable(axes, result, options.seeds);
  const bestJson = {
    env: options.env,
    agent: options.agent,
    setting: Object.fromEntries(Object.entries(best.setting.values).map(([k, v]) => [kebab(k), v])),
    config: best.setting.config,
    trainCommand: [`mixrl train --env ${shellWord(options.env)} --agent ${options.agent} ${trainFlags(best.setting.config)} --steps ${options.steps}`, ...moduleFlags(options)].join(' '),
    sweep: { seeds: options.seeds, areas: best.areas, area: interval(best.area), final: interval(best.final), settings: settings.length },
    ...(result.rerun && { rerun: { seeds: result.rerun.seeds, areas: result.rerun.areas, area: interval(result.rerun.area), final: interval(result.rerun.final) } }),
    findings,
    options,
    mixrlVersion: packageJson.version,
    wallSeconds: seconds,
    continued: state === 'resume',
    finished: new Date().toISOString(),
  };
  const top = result.ranking.slice(0, 10);
  const columns = settingColumns(axes).map((c) => c.replace(/_/g, '-'));
  const findingsMd = [
    `# Sweep: ${options.env}, ${options.agent}`,
    '',
    `${settings.length} settings (${axes.map((a) => `${kebab(a.key)} ${a.values.join(', ')}`).join('; ')}) x ${seedWord(options.seeds.length)} (${options.seeds.join(', ')}), ` +
      `${steps} steps per run, ranked by the mean area under the learning curve (the mean return over ${Math.min(SWEEP_BINS, steps)} points of a grid of steps; docs/experiments.md). ` +
      `mixrl ${packageJson.version}, backend ${options.backend}, ${seconds.toFixed(0)} s${state === 'resume' ? ' in the command that finished it, which continued an interrupted one' : ''}.` +
      (options.override ? ` Runs overridden by ${OVERRIDE_VARIABLE}=${JSON.stringify(options.override)}.` : '') +
      (axes.some((a) => a.key === ACTOR_LR_RATIO) ? ' actor-lr-ratio: actor lr = critic lr x ratio.' : ''),
    '',
    '## Findings',
    '',
    ...findings.map((f) => `- ${f}`),
    '',
    `## The ${top.length === result.ranking.length ? '' : `top ${top.length} of the `}settings`,
    '',
    `| rank | ${columns.join(' | ')} | area (95% interval) | final return |`,
    `|${'---|'.repeat(columns.length + 3)}`,
    ...top.map((r) => `| ${r.rank} | ${settingCells(axes, r.setting).join(' | ')} | ${show(r.area)} | ${show(r.final)} |`),
    '',
    'Train the best setting:',
    '',
    '```sh',
    bestJson.trainCommand,
    '```',
    '',
    '## Files',
    '',
    '- `sweep.csv`: every setting, best first: its values, the mean area with its 95% t-interval, the final return, each seed\'s area',
    '- `best.json`: the best setting, its config keys, its numbers (and its rerun\'s), the options',
    `- \`best-curve.svg\`: the best setting's learning curve over the sweep's seeds${result.rerun ? ' and over the rerun\'s' : ''}`,
    '- `runs/`: the training runs (each a `mixrl train` folder)',
    '',
    '## Rerun',
    '',
    'In a new folder (this one holds finished results and is refused):',
    '',
    '```sh',
    sweepCommandLine({ ...options, out: 'ANOTHER_FOLDER' }),
    '```',
    '',
  ].join('\n');
  try {
    await writeFileAtomic(path.join(options.out, 'sweep.csv'), tableToCsv(table));
    await writeFileAtomic(path.join(options.out, 'best-curve.svg'), renderSvg(figure));
    await writeFileAtomic(path.join(options.out, 'findings.md'), findingsMd);
    // Last: its presence marks the folder finished. NaN (no value) is written as null.
    await writeFileAtomic(path.join(options.out, FOLDER.results), `${JSON.stringify(bestJson, null, 2)}\n`);
  } catch (e) {
    return userError(`--out ${options.out}: cannot write the results: ${ioReason(e)}`);
  }
  for (const finding of findings) console.log(`  ${finding}`);
  console.log(`done in ${seconds.toFixed(0)} s: ${options.out}/sweep.csv, best.json, best-curve.svg, findings.md`);
  return right(0);
}
