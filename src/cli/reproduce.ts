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
import { makeDirs, writeFileAtomic } from '../experiments/files';
import { PAPER_EXPERIMENTS, type PaperExperiment, type Scale } from '../experiments/paper';
import { tableToCsv } from '../experiments/paper/csv';
import { Interrupted, OVERRIDE_VARIABLE, trainOverride, useCliForRuns } from '../experiments/paper/runs';
import { renderSvg } from '../experiments/paper/svg';
import { wrapWords } from '../experiments/text';
import type { ExperimentResult } from '../experiments/paper/types';
import { type Backend, MixrlError } from '../tensor';
import { initBackend } from '../tensor/webgpu';
import { parseArgs, typedFlags } from './args';

type Outcome = Either<MixrlError, number>;

const userError = (message: string) => left(new ConfigError(message));

/** The file marking a folder's experiment as finished; written last. */
const RESULTS = 'results.json';
/** What the folder holds, written when it starts: a rerun checks it is the same experiment. */
const STARTED = 'reproduce.json';

/** Held while a command works in the folder: its process id. */
const LOCK = 'reproduce.lock';

const FLAGS = { scale: 'string', seeds: 'int', jobs: 'int', out: 'string', backend: 'string', list: 'boolean' } as const;

/** The options a reproduction ran with, as results.json records them. */
export interface ReproduceOptions {
  readonly experiment: string;
  readonly scale: Scale;
  readonly seeds: number[];
  readonly jobs: number;
  readonly out: string;
  readonly backend: 'cpu' | 'webgpu';
  /** MIXRL_REPRODUCE_OVERRIDE's config keys (tests' tiny runs), when set. */
  readonly override?: Record<string, unknown>;
}

/** `mixrl reproduce --help`. */
export function reproduceUsage(): string {
  return [
    'usage: mixrl reproduce <experiment> [--scale quick|paper] [--seeds N] [--jobs N] [--out DIR] [--backend cpu|webgpu]',
    '       mixrl reproduce --list',
    '',
    '  --scale quick|paper   quick: a minutes-long run of the same code; paper: the paper\'s protocol (default quick)',
    '  --seeds N             seeds 0..N-1 (default: the experiment\'s, per scale; --list shows them)',
    '  --jobs N              training runs at once, each a process (on one CPU thread when N > 1; default 1)',
    '  --out DIR             the results folder (default experiments/<experiment>-<scale>); an interrupted one continues,',
    '                        one holding results.json is refused',
    '  --backend cpu|webgpu  where the networks run (default cpu)',
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

const ioReason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;
const exists = (file: string) => fs.stat(file).then(() => true, () => false);

/** Whether a process with this id is running (EPERM: it is, as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The id of the running process whose lock the folder holds, if any (a lock left by a killed one is not). */
async function lockHolder(out: string): Promise<number | undefined> {
  const pid = Number((await fs.readFile(path.join(out, LOCK), 'utf8').catch(() => '')).trim());
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid) ? pid : undefined;
}

const inUse = (out: string, pid: number) =>
  userError(`--out ${out} is in use by another mixrl reproduce (process ${pid}); two commands in one folder would train the same runs twice; wait for it or stop it (if none runs, remove ${path.join(out, LOCK)})`);

/**
 * Takes the folder's lock (`reproduce.lock`, made exclusively, holding this process's id) and returns
 * what releases it. A lock left by a process that is no longer running (killed, or stopped by a
 * Ctrl-C that Node's default handler ended) is taken over.
 */
async function lockOut(out: string): Promise<Either<MixrlError, () => Promise<void>>> {
  const file = path.join(out, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return right(() => fs.rm(file, { force: true }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return userError(`--out ${out}: cannot write there: ${ioReason(e)}`);
    }
    const holder = await lockHolder(out);
    if (holder !== undefined) return inUse(out, holder);
    await fs.rm(file, { force: true });
  }
  return userError(`--out ${out}: another mixrl reproduce took it just now`);
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but safe characters. */
const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * The command that runs (or continues) a reproduction with these options: every option that decides
 * what is run and where (`--jobs` too, which does not change the results).
 *
 * @example
 * reproduceCommandLine({ experiment: 'fig6-classic', scale: 'quick', seeds: [0, 1, 2], jobs: 2, backend: 'cpu', out: 'my runs' });
 * // "mixrl reproduce fig6-classic --scale quick --seeds 3 --jobs 2 --backend cpu --out 'my runs'"
 */
export function reproduceCommandLine(o: Pick<ReproduceOptions, 'experiment' | 'scale' | 'seeds' | 'jobs' | 'backend' | 'out'>): string {
  return `mixrl reproduce ${o.experiment} --scale ${o.scale} --seeds ${o.seeds.length} --jobs ${o.jobs} --backend ${o.backend} --out ${shellWord(o.out)}`;
}

/** What reproduce.json says of the folder's experiment, when it is one of ours. */
function startedOptions(raw: unknown): Pick<ReproduceOptions, 'experiment' | 'scale' | 'seeds' | 'jobs' | 'backend'> | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  const ok =
    typeof o.experiment === 'string' &&
    (o.scale === 'quick' || o.scale === 'paper') &&
    Array.isArray(o.seeds) &&
    o.seeds.every((s) => Number.isSafeInteger(s)) &&
    (o.backend === 'cpu' || o.backend === 'webgpu');
  if (!ok) return undefined;
  return { experiment: o.experiment as string, scale: o.scale as Scale, seeds: o.seeds as number[], jobs: Number.isSafeInteger(o.jobs) ? (o.jobs as number) : 1, backend: o.backend as 'cpu' | 'webgpu' };
}

/**
 * Checks the output folder: refuses a file, finished results, or an unfinished experiment other than
 * the one asked for (another experiment, scale, seeds or backend: continuing it with other options
 * would mix runs of two protocols, or leave runs behind that the results do not count).
 */
async function prepareOut(options: ReproduceOptions): Promise<Either<MixrlError, 'new' | 'resume'>> {
  const { out } = options;
  try {
    if (!(await fs.stat(out)).isDirectory()) return userError(`--out ${out} is a file, not a folder`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return userError(`--out ${out}: cannot use it: ${code === 'ENOTDIR' ? 'a part of the path is a file' : ioReason(e)}`);
    return right('new');
  }
  const holder = await lockHolder(out);
  if (holder !== undefined) return inUse(out, holder);
  if (await exists(path.join(out, RESULTS))) {
    return userError(`--out ${out} already holds finished results (${RESULTS}); choose another --out, or remove the folder to run it again`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(out, STARTED), 'utf8'));
  } catch {
    raw = undefined;
  }
  const started = startedOptions(raw);
  if (started === undefined) {
    const entries = (await fs.readdir(out)).filter((e) => e !== LOCK);
    if (entries.length > 0) return userError(`--out ${out} is a folder holding other files (${entries.slice(0, 3).join(', ')}); choose a new or empty folder`);
    return right('new');
  }
  const same =
    started.experiment === options.experiment &&
    started.scale === options.scale &&
    started.backend === options.backend &&
    JSON.stringify(started.seeds) === JSON.stringify(options.seeds);
  if (!same) {
    const what = `${started.experiment} (${started.scale} scale, ${started.seeds.length} seed${started.seeds.length === 1 ? '' : 's'}, ${started.backend})`;
    return userError(`--out ${out} holds an unfinished ${what}; continue it with ${reproduceCommandLine({ ...started, out })}, or choose another --out`);
  }
  return right('resume');
}

/** findings.md: what the experiment is, what its numbers say, how to run it again. */
function findingsText(experiment: PaperExperiment, options: ReproduceOptions, result: ExperimentResult, seconds: number, hasRuns: boolean, continued: boolean): string {
  return [
    `# ${experiment.name}: ${experiment.paperRef}`,
    '',
    experiment.summary,
    '',
    `Scale ${options.scale}, seeds ${options.seeds.join(', ')}, backend ${options.backend}, mixrl ${packageJson.version}, ` +
      `${seconds.toFixed(0)} s${continued ? ' in the command that finished it, which continued an interrupted one (runs finished before were read back, not timed)' : ''}.` +
      // Only runs of `trainRuns` take the override; an experiment that kept none was not changed by it.
      (options.override && hasRuns ? ` Runs overridden by ${OVERRIDE_VARIABLE}=${JSON.stringify(options.override)} (not the protocol's settings).` : ''),
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
    ...(hasRuns ? ['- `runs/`: the training runs (each a `mixrl train` folder, resumable with `mixrl train --resume`)'] : []),
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
  const flags = typed.right as { scale?: string; seeds?: number; jobs?: number; out?: string; backend?: string; list?: boolean };
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
  const backendName = flags.backend ?? 'cpu';
  if (backendName !== 'cpu' && backendName !== 'webgpu') return userError(`flag --backend must be cpu or webgpu, got '${backendName}'`);
  if (flags.out === '') return userError('flag --out needs a folder');
  let override: Record<string, unknown> | undefined;
  try {
    override = trainOverride();
  } catch (e) {
    if (e instanceof MixrlError) return left(e);
    throw e;
  }
  const options: ReproduceOptions = {
    experiment: name,
    scale,
    seeds: Array.from({ length: seedCount }, (_, i) => i),
    jobs,
    out: flags.out ?? path.join('experiments', `${name}-${scale}`),
    backend: backendName,
    ...(override && { override }),
  };
  const state = await prepareOut(options);
  if (isLeft(state)) return state;
  let backend: Backend;
  try {
    backend = await initBackend(backendName);
  } catch (e) {
    if (e instanceof MixrlError) return userError(`backend '${backendName}': ${e.message}`);
    throw e;
  }
  try {
    await makeDirs(options.out);
  } catch (e) {
    return userError(`--out ${options.out}: cannot write there: ${ioReason(e)}`);
  }
  const locked = await lockOut(options.out);
  if (isLeft(locked)) return locked;
  try {
    return await runIn(experiment, options, state.right, backend);
  } finally {
    await locked.right();
  }
}

/** The experiment's part of `reproduceCommand`, in a folder it holds the lock of. */
async function runIn(experiment: PaperExperiment, options: ReproduceOptions, state: 'new' | 'resume', backend: Backend): Promise<Outcome> {
  const { experiment: name, scale, seeds, jobs } = options;
  const workDir = path.join(options.out, 'runs');
  try {
    await makeDirs(workDir);
    if (state === 'new') await writeFileAtomic(path.join(options.out, STARTED), `${JSON.stringify({ ...options, mixrlVersion: packageJson.version, started: new Date().toISOString() }, null, 2)}\n`);
  } catch (e) {
    return userError(`--out ${options.out}: cannot write there: ${ioReason(e)}`);
  }
  console.log(`${state === 'resume' ? 'continuing' : 'running'} ${name} (${experiment.paperRef}), ${scale} scale, ${seeds.length === 1 ? 'seed 0' : `seeds 0-${seeds.length - 1}`}, ${jobs} job${jobs > 1 ? 's' : ''} -> ${options.out}`);
  // Training runs are this CLI's own `train`, as child processes.
  useCliForRuns(process.execPath, [...process.execArgv, process.argv[1]]);
  const started = Date.now();
  let result: ExperimentResult;
  try {
    result = await experiment.run({ scale, seeds, backend, workDir, jobs, log: (line) => console.log(line) });
  } catch (e) {
    if (e instanceof Interrupted) {
      console.log(`stopped by ${e.signal}: ${e.finished} of ${e.total} runs finished; continue with the same command: ${reproduceCommandLine(options)}`);
      return right(e.signal === 'SIGINT' ? 130 : 143);
    }
    if (e instanceof MixrlError) return left(e);
    throw e;
  }
  const seconds = (Date.now() - started) / 1000;
  // An experiment that trained nothing leaves no empty runs/ behind.
  const hasRuns = (await fs.readdir(workDir).catch(() => [])).length > 0;
  if (!hasRuns) await fs.rmdir(workDir).catch(() => undefined);
  try {
    for (const table of result.tables) await writeFileAtomic(path.join(options.out, `${table.id}.csv`), tableToCsv(table));
    for (const figure of result.figures) await writeFileAtomic(path.join(options.out, `${figure.id}.svg`), renderSvg(figure));
    await writeFileAtomic(path.join(options.out, 'findings.md'), findingsText(experiment, options, result, seconds, hasRuns, state === 'resume'));
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
