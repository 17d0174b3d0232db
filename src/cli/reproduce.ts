/**
 * `mixrl reproduce <experiment>`: runs one of the paper's experiments (`PAPER_EXPERIMENTS`) into a
 * folder and writes its results: `results.json` (the numbers, the options, the mixrl version), one
 * CSV per table, one SVG per figure and `findings.md`. The training runs live in the folder's
 * `runs/`; a folder whose experiment was interrupted continues where it stopped (with the options it
 * was started with), one with `results.json` (finished) is refused, and one another running command
 * holds (`reproduce.lock`) is refused. User errors come back as `Left` (one line, exit 2).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import packageJson from '../../package.json';
import { ConfigError } from '../experiments/config';
import { writeFileAtomic } from '../experiments/files';
import { PAPER_EXPERIMENTS, type PaperExperiment, type Scale } from '../experiments/paper';
import { tableToCsv } from '../experiments/paper/csv';
import { DEFAULT_TOGETHER, OVERRIDE_VARIABLE } from '../experiments/paper/runs';
import { renderSvg } from '../experiments/paper/svg';
import { wrapWords } from '../experiments/text';
import type { ExperimentResult } from '../experiments/paper/types';
import { type Backend, MixrlError } from '../tensor';
import { parseArgs, typedFlags } from './args';
import { type FolderKind, holdOut, ioReason, type Outcome, prepareOut, readOverride, shellWord, startRuns, untilInterrupted } from './out-folder';


const userError = (message: string) => left(new ConfigError(message));

/** The file marking a folder's experiment as finished; written last. */
const RESULTS = 'results.json';
/** What the folder holds, written when it starts: a rerun checks it is the same experiment. */
const STARTED = 'reproduce.json';

/** The folder's files; `reproduce.lock` is held while a command works in it. */
const FOLDER: FolderKind = { command: 'mixrl reproduce', results: RESULTS, started: STARTED, lock: 'reproduce.lock' };

const FLAGS = { scale: 'string', seeds: 'int', jobs: 'int', together: 'int', out: 'string', backend: 'string', list: 'boolean', sweep: 'boolean' } as const;

/** The options a reproduction ran with, as results.json records them. */
export interface ReproduceOptions {
  readonly experiment: string;
  readonly scale: Scale;
  readonly seeds: number[];
  readonly jobs: number;
  /** Runs of one setting (its seeds) trained together in one process (`trainBatch`); like `jobs`, the same results on the CPU. */
  readonly together: number;
  readonly out: string;
  readonly backend: 'cpu' | 'webgpu';
  /** The paper's hyperparameter selection first (fig6-classic, fig8-estimators): a grid sweep per env and agent, then reruns of the best settings. */
  readonly sweep?: boolean;
  /** MIXRL_REPRODUCE_OVERRIDE's config keys (tests' tiny runs), when set. */
  readonly override?: Record<string, unknown>;
}

/** `mixrl reproduce --help`. */
export function reproduceUsage(): string {
  return [
    'usage: mixrl reproduce <experiment> [--scale quick|paper] [--seeds N] [--jobs N] [--together N] [--out DIR] [--backend cpu|webgpu] [--sweep]',
    '       mixrl reproduce --list',
    '',
    '  --scale quick|paper   quick: the same code in seconds to about a minute; paper: the paper\'s protocol (default quick)',
    '  --seeds N             seeds 0..N-1 (default: the experiment\'s, per scale; --list shows them)',
    '  --jobs N              training processes at once (on one CPU thread each when N > 1; default 1)',
    `  --together N          up to N runs that differ only in seed, alpha and learning rates (a setting's seeds, a sweep's`,
    `                        settings) in one process, trained together: one batched update per step (the same runs bit`,
    `                        for bit on the CPU; default ${DEFAULT_TOGETHER}; 1: each run alone)`,
    '  --out DIR             the results folder (default experiments/<experiment>-<scale>); an interrupted one continues,',
    '                        one holding results.json is refused',
    '  --backend cpu|webgpu  where the networks run (default cpu)',
    '  --sweep               fig6-classic, fig8-estimators: the paper\'s selection first: per env and agent a grid sweep',
    '                        (paper: alpha x critic lr x actor/critic lr ratio, 80 settings; quick: 2x2) at fewer seeds, then',
    '                        the best setting by area under the curve rerun on fresh seeds for the figures (default out',
    '                        experiments/<experiment>-<scale>-sweep; at paper scale thousands of runs: docs/experiments.md)',
    '  --list                the experiments, their paper references and default seeds',
  ].join('\n');
}

/** `mixrl reproduce --list`: name, paper reference, default seeds per scale, summary. */
export function listExperiments(): string {
  const lines: string[] = [];
  for (const e of Object.values(PAPER_EXPERIMENTS)) {
    lines.push(`${e.name.padEnd(18)} ${e.paperRef}; seeds: quick ${e.defaultSeeds.quick}, paper ${e.defaultSeeds.paper}`);
    lines.push(...wrapWords(e.summary, 96).map((l) => `    ${l}`));
  }
  return lines.join('\n');
}

/**
 * The command that runs (or continues) a reproduction with these options: every option that decides
 * what is run and where (`--jobs` too, which does not change the results).
 *
 * @example
 * reproduceCommandLine({ experiment: 'fig6-classic', scale: 'quick', seeds: [0, 1, 2], jobs: 2, backend: 'cpu', out: 'my runs' });
 * // "mixrl reproduce fig6-classic --scale quick --seeds 3 --jobs 2 --backend cpu --out 'my runs'"
 */
export function reproduceCommandLine(o: Pick<ReproduceOptions, 'experiment' | 'scale' | 'seeds' | 'jobs' | 'backend' | 'out' | 'sweep'> & { together?: number }): string {
  const together = o.together === undefined || o.together === DEFAULT_TOGETHER ? '' : ` --together ${o.together}`;
  return `mixrl reproduce ${o.experiment}${o.sweep ? ' --sweep' : ''} --scale ${o.scale} --seeds ${o.seeds.length} --jobs ${o.jobs}${together} --backend ${o.backend} --out ${shellWord(o.out)}`;
}

/** What reproduce.json says of the folder's experiment, when it is one of ours. */
function startedOptions(raw: unknown): Pick<ReproduceOptions, 'experiment' | 'scale' | 'seeds' | 'jobs' | 'together' | 'backend' | 'sweep'> | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  const ok =
    typeof o.experiment === 'string' &&
    (o.scale === 'quick' || o.scale === 'paper') &&
    Array.isArray(o.seeds) &&
    o.seeds.every((s) => Number.isSafeInteger(s)) &&
    (o.backend === 'cpu' || o.backend === 'webgpu');
  if (!ok) return undefined;
  return {
    experiment: o.experiment as string,
    scale: o.scale as Scale,
    seeds: o.seeds as number[],
    jobs: Number.isSafeInteger(o.jobs) ? (o.jobs as number) : 1,
    together: Number.isSafeInteger(o.together) ? (o.together as number) : DEFAULT_TOGETHER,
    backend: o.backend as 'cpu' | 'webgpu',
    ...(o.sweep === true && { sweep: true }),
  };
}

/**
 * Checks the output folder (`prepareOut`): an unfinished experiment other than the one asked for
 * (another experiment, scale, seeds, backend or --sweep) is refused with the command that continues it.
 */
function prepareReproduceOut(options: ReproduceOptions): Promise<Either<MixrlError, 'new' | 'resume'>> {
  return prepareOut(FOLDER, options.out, (raw) => {
    const started = startedOptions(raw);
    if (started === undefined) return undefined;
    const same =
      started.experiment === options.experiment &&
      started.scale === options.scale &&
      started.backend === options.backend &&
      (started.sweep === true) === (options.sweep === true) &&
      JSON.stringify(started.seeds) === JSON.stringify(options.seeds);
    if (same) return null;
    const what = `${started.experiment} (${started.scale} scale, ${started.seeds.length} seed${started.seeds.length === 1 ? '' : 's'}, ${started.backend}${started.sweep ? ', --sweep' : ''})`;
    return `holds an unfinished ${what}; continue it with ${reproduceCommandLine({ ...started, out: options.out })}, or choose another --out`;
  });
}

/** What an experiment left in its work folder: `mixrl train` run folders, files of its own (fig2-bandits' parts), or nothing. */
type KeptWork = 'training runs' | 'parts' | 'nothing';

/** findings.md: what the experiment is, what its numbers say, how to run it again. */
function findingsText(experiment: PaperExperiment, options: ReproduceOptions, result: ExperimentResult, seconds: number, kept: KeptWork, continued: boolean): string {
  return [
    `# ${experiment.name}: ${experiment.paperRef}`,
    '',
    experiment.summary,
    '',
    `Scale ${options.scale}, seeds ${options.seeds.join(', ')}, backend ${options.backend}, mixrl ${packageJson.version}, ` +
      `${options.sweep ? 'with the hyperparameter sweep (--sweep), ' : ''}${seconds.toFixed(0)} s${continued ? ' in the command that finished it, which continued an interrupted one (runs finished before were read back, not timed)' : ''}.` +
      // Only runs of `trainRuns` take the override; an experiment that kept none was not changed by it.
      (options.override && kept === 'training runs' ? ` Runs overridden by ${OVERRIDE_VARIABLE}=${JSON.stringify(options.override)} (not the protocol's settings).` : ''),
    '',
    '## Findings',
    '',
    ...result.findings.map((f) => `- ${f}`),
    '',
    '## Files',
    '',
    ...result.tables.map((t) => `- \`${t.id}.csv\`: ${t.title}`),
    ...result.figures.map((f) => `- \`${f.id}.svg\`: ${f.title}`),
    `- \`${RESULTS}\`: all of the above as numbers, with the options`,
    ...(kept === 'training runs' ? ['- `runs/`: the training runs (each a `mixrl train` folder, resumable with `mixrl train --resume`)'] : []),
    ...(kept === 'parts' ? ['- `runs/`: the parts of the work it saved as it went (read back when it is run again in this folder)'] : []),
    '',
    '## Rerun',
    '',
    'In a new folder (this one holds finished results and is refused):',
    '',
    '```sh',
    reproduceCommandLine({ ...options, out: 'ANOTHER_FOLDER' }),
    '```',
    '',
  ].join('\n');
}

/**
 * `mixrl reproduce ...`.
 *
 * @example
 * await reproduceCommand(['table4-overhead', '--scale', 'quick']); // Right(0), files in experiments/table4-overhead-quick
 */
export async function reproduceCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(reproduceUsage());
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const typed = typedFlags(parsed.right.flags, FLAGS);
  if (isLeft(typed)) return typed;
  const flags = typed.right as { scale?: string; seeds?: number; jobs?: number; together?: number; out?: string; backend?: string; list?: boolean; sweep?: boolean };
  const { positionals } = parsed.right;
  const known = Object.keys(PAPER_EXPERIMENTS).join(', ');
  if (flags.list) {
    if (positionals.length > 0 || Object.keys(flags).length > 1) return userError('--list takes no experiment and no other flag');
    console.log(listExperiments());
    return right(0);
  }
  if (positionals.length === 0) return userError(`name an experiment (known experiments: ${known}); mixrl reproduce --list describes them`);
  if (positionals.length > 1) return userError(`unexpected argument '${positionals[1]}'`);
  const name = positionals[0];
  const experiment = Object.hasOwn(PAPER_EXPERIMENTS, name) ? PAPER_EXPERIMENTS[name] : undefined;
  if (!experiment) return userError(`unknown experiment '${name}'; known experiments: ${known}`);
  const scale = flags.scale ?? 'quick';
  if (scale !== 'quick' && scale !== 'paper') return userError(`flag --scale must be quick or paper, got '${scale}'`);
  const seedCount = flags.seeds ?? experiment.defaultSeeds[scale];
  if (!(seedCount >= 1)) return userError(`flag --seeds must be a positive integer, got ${seedCount}`);
  const jobs = flags.jobs ?? 1;
  if (!(jobs >= 1)) return userError(`flag --jobs must be a positive integer, got ${jobs}`);
  const together = flags.together ?? DEFAULT_TOGETHER;
  if (!(together >= 1)) return userError(`flag --together must be a positive integer, got ${together}`);
  const backendName = flags.backend ?? 'cpu';
  if (backendName !== 'cpu' && backendName !== 'webgpu') return userError(`flag --backend must be cpu or webgpu, got '${backendName}'`);
  if (flags.out === '') return userError('flag --out needs a folder');
  const sweep = flags.sweep === true;
  if (sweep && !experiment.sweepable) {
    const which = Object.values(PAPER_EXPERIMENTS).filter((e) => e.sweepable).map((e) => e.name).join(', ');
    return userError(`--sweep: ${name} has no hyperparameter sweep (only ${which})`);
  }
  const override = readOverride();
  if (isLeft(override)) return override;
  const options: ReproduceOptions = {
    experiment: name,
    scale,
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    jobs,
    together,
    out: flags.out ?? path.join('experiments', `${name}-${scale}${sweep ? '-sweep' : ''}`),
    backend: backendName,
    ...(sweep && { sweep }),
    ...(override.right && { override: override.right }),
  };
  const state = await prepareReproduceOut(options);
  if (isLeft(state)) return state;
  return holdOut(FOLDER, options.out, backendName, (backend) => runIn(experiment, options, state.right, backend));
}

/** The experiment's part of `reproduceCommand`, in a folder it holds the lock of. */
async function runIn(experiment: PaperExperiment, options: ReproduceOptions, state: 'new' | 'resume', backend: Backend): Promise<Outcome> {
  const { experiment: name, scale, seeds, jobs, together } = options;
  const runs = await startRuns(FOLDER, options.out, state, options);
  if (isLeft(runs)) return runs;
  const workDir = runs.right;
  console.log(`${state === 'resume' ? 'continuing' : 'running'} ${name} (${experiment.paperRef}), ${scale} scale${options.sweep ? ' with the hyperparameter sweep' : ''}, ${seeds.length === 1 ? 'seed 0' : `seeds 0-${seeds.length - 1}`}, ${jobs} job${jobs > 1 ? 's' : ''} -> ${options.out}`);
  const started = Date.now();
  const ran = await untilInterrupted(
    () => experiment.run({ scale, seeds, backend, workDir, jobs, together, ...(options.sweep && { sweep: true }), log: (line) => console.log(line) }),
    'runs',
    reproduceCommandLine(options),
  );
  if (isLeft(ran)) return ran.left;
  const result = ran.right;
  const seconds = (Date.now() - started) / 1000;
  // An experiment that trained nothing leaves no empty runs/ behind.
  const entries = await fs.readdir(workDir, { withFileTypes: true }).catch(() => []);
  const kept: KeptWork = entries.some((e) => e.isDirectory()) ? 'training runs' : entries.length > 0 ? 'parts' : 'nothing';
  if (kept === 'nothing') await fs.rmdir(workDir).catch(() => undefined);
  try {
    for (const table of result.tables) await writeFileAtomic(path.join(options.out, `${table.id}.csv`), tableToCsv(table));
    for (const figure of result.figures) await writeFileAtomic(path.join(options.out, `${figure.id}.svg`), renderSvg(figure));
    await writeFileAtomic(path.join(options.out, 'findings.md'), findingsText(experiment, options, result, seconds, kept, state === 'resume'));
    const results = {
      experiment: name,
      paperRef: experiment.paperRef,
      summary: experiment.summary,
      mixrlVersion: packageJson.version,
      options,
      // The command that wrote this file; a continued experiment's earlier commands are not counted.
      wallSeconds: seconds,
      continued: state === 'resume',
      finished: new Date().toISOString(),
      ...result,
    };
    // Last: its presence marks the folder finished. NaN (no value) is written as null.
    await writeFileAtomic(path.join(options.out, RESULTS), `${JSON.stringify(results, null, 2)}\n`);
  } catch (e) {
    return userError(`--out ${options.out}: cannot write the results: ${ioReason(e)}`);
  }
  for (const finding of result.findings) console.log(`  ${finding}`);
  console.log(`done in ${seconds.toFixed(0)} s: ${options.out}/${RESULTS}, findings.md, ${result.tables.length} table(s), ${result.figures.length} figure(s)`);
  return right(0);
}
