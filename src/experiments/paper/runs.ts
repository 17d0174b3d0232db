/**
 * The training runs of an experiment: each one a run folder under the experiment's work folder, made
 * by `mixrl train` as a user would (a child process of the CLI, up to `jobs` at once, each resumable
 * with `--resume`), or, when no CLI is registered (the library called directly), in this process
 * through the same `createRun`/`train`/`saveRun`. A finished run is read back, never rerun; an
 * unfinished one with a checkpoint is resumed; one without a checkpoint starts again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { ConfigError, isModuleRef, kebab, type ModuleRef, resolveConfig, type TrainConfig, validatePartial } from '../config';
import { exists, moduleDrift, readJsonFile, readJsonLines, writeFileAtomic } from '../files';
import { createRun, type EpisodeRecord, loadRun, type Run, runSummary, saveRun, train } from '../train';
import { MixrlError } from '../../tensor';
import type { ExperimentContext } from './types';

/** What one run trains: config keys a flag can set (env, agent, seed and steps at least). */
export type RunConfig = Partial<Omit<TrainConfig, 'envOptions'>> & Pick<TrainConfig, 'env' | 'agent' | 'seed' | 'steps'>;

export interface RunSpec {
  /** The run folder's name under the work folder, e.g. `Pendulum-sg-rp-seed0`. */
  readonly name: string;
  readonly config: RunConfig;
}

export interface RunOutcome {
  readonly spec: RunSpec;
  readonly dir: string;
  readonly episodes: EpisodeRecord[];
  /** True when the run was finished (or had diverged) before this call and only read back. */
  readonly reused: boolean;
  /** Why the run stopped early where its policy diverged (its summary.json's `diverged`): it has no area or final return. */
  readonly diverged?: string;
}

/**
 * The episodes a run's scores (area, final return, curve) are made of: none (null) for a run whose
 * policy diverged, which has no score rather than the one its episodes before the divergence give.
 *
 * @example
 * const runs = outcomes.map(scoredEpisodes); // null where a run diverged
 */
export const scoredEpisodes = (outcome: RunOutcome): EpisodeRecord[] | null => (outcome.diverged === undefined ? outcome.episodes : null);

/** The experiment was stopped by a signal; the runs left off are resumed by running it again. */
export class Interrupted extends MixrlError {
  constructor(
    readonly signal: NodeJS.Signals,
    readonly finished: number,
    readonly total: number,
  ) {
    super('config', `stopped by ${signal} with ${finished} of ${total} runs finished`);
  }
}

/** The environment variable of test-sized runs: a JSON object of config keys set on every run. */
export const OVERRIDE_VARIABLE = 'MIXRL_REPRODUCE_OVERRIDE';

/**
 * The config keys `MIXRL_REPRODUCE_OVERRIDE` sets on every training run (for tests: tiny networks
 * and step counts through the real code path), or undefined; a ConfigError when it is not a JSON
 * object of config keys.
 *
 * @example
 * // MIXRL_REPRODUCE_OVERRIDE='{"steps":300,"hidden":[8,8]}'
 * trainOverride(); // { steps: 300, hidden: [8, 8] }
 */
export function trainOverride(): Partial<TrainConfig> | undefined {
  const text = process.env[OVERRIDE_VARIABLE];
  if (text === undefined || text === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${OVERRIDE_VARIABLE} must be a JSON object of config keys, got '${text}'`);
  }
  const checked = validatePartial(raw, OVERRIDE_VARIABLE);
  if (isLeft(checked)) throw checked.left;
  if ('envOptions' in checked.right) throw new ConfigError(`${OVERRIDE_VARIABLE}: 'envOptions' cannot be set there`);
  return checked.right;
}

/** How runs are started: the CLI's `train` as a child process, or this process. */
let cli: { node: string; args: string[] } | null = null;

/**
 * Makes runs child processes `node ...args train --out DIR ...` (what `mixrl reproduce` does with
 * its own entry point); without it, or after `useCliForRuns(null)`, they run in this process, one at
 * a time.
 *
 * @example
 * useCliForRuns(process.execPath, [process.argv[1]]);
 */
export function useCliForRuns(node: string | null, args: readonly string[] = []): void {
  cli = node === null ? null : { node, args: [...args] };
}

/** The env module new child runs load (`--env-module FILE`), or null. */
let envModule: ModuleRef | null = null;

/**
 * Gives every child `mixrl train` that starts a run `--env-module FILE` (what `mixrl sweep
 * --env-module` does), the file as `ref` recorded it (no child starts on it once it changed); a
 * resumed child loads the module its run recorded. In-process runs need nothing: this process
 * registered the env itself.
 *
 * @example
 * useEnvModuleForRuns({ path: '/home/me/point-mass.mjs', sha256: '2f0d...' });
 */
export function useEnvModuleForRuns(ref: ModuleRef | null): void {
  envModule = ref;
}

/**
 * Why a new child run must not load the module `ref` (its env or estimator module, `what`): the file
 * changed since the command recorded it, or is gone; undefined when it is as recorded. Each child
 * reads the file itself, so a file edited while a sweep runs would give its later runs other code
 * than its earlier ones.
 */
async function moduleProblem(ref: ModuleRef, what: string): Promise<string | undefined> {
  const drift = await moduleDrift(ref);
  if (drift === undefined) return undefined;
  if ('unreadable' in drift) {
    const e = drift.unreadable as NodeJS.ErrnoException;
    return `its ${what} ${ref.path} cannot be read (${e.code ?? e.message})`;
  }
  return `its ${what} ${ref.path} changed since this command started (sha256 ${ref.sha256.slice(0, 12)}... then, ${drift.sha256.slice(0, 12)}... now)`;
}

/**
 * Whether a line of episodes.jsonl is an episode with a finite step and return (a diverged run's NaN
 * or infinite return is written as null).
 *
 * @example
 * isEpisode({ episode: 0, step: 200, return: -3, length: 200, terminated: false }); // true
 */
export const isEpisode = (x: unknown): x is EpisodeRecord =>
  x !== null && typeof x === 'object' && Number.isFinite((x as EpisodeRecord).step) && Number.isFinite((x as EpisodeRecord).return);

/** The episodes a run folder's episodes.jsonl holds (a line cut short is skipped). */
export async function readEpisodes(dir: string): Promise<EpisodeRecord[]> {
  return (await readJsonLines(path.join(dir, 'episodes.jsonl'))).filter(isEpisode);
}

/** Where a run folder stands. */
type State = 'finished' | 'diverged' | 'resumable' | 'new';

/** The `diverged` of a run folder's summary.json: set where its policy diverged, undefined otherwise. */
async function divergence(dir: string): Promise<string | undefined> {
  const summary = (await readJsonFile(path.join(dir, 'summary.json'))) as { diverged?: unknown } | undefined;
  return typeof summary?.diverged === 'string' ? summary.diverged : undefined;
}

/** Where the run folder stands, and the divergence its summary records (for the state `diverged`). */
async function stateOf(dir: string, config: RunConfig): Promise<{ state: State; diverged?: string }> {
  const summary = (await readJsonFile(path.join(dir, 'summary.json'))) as { finished?: boolean; diverged?: unknown } | undefined;
  // A run that diverged before its first checkpoint has none, but its summary says how it ended.
  const diverged = typeof summary?.diverged === 'string' ? summary.diverged : undefined;
  if (diverged === undefined && !(await exists(path.join(dir, 'checkpoint.mixrl')))) {
    // Killed before its first checkpoint: nothing to resume, so it starts again.
    if (await exists(dir)) await fs.rm(dir, { recursive: true, force: true });
    return { state: 'new' };
  }
  // A checkpoint or a summary is there (train writes config.json first): a config that cannot be
  // read is an error to show, never a reason to delete the run.
  const configFile = path.join(dir, 'config.json');
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(await fs.readFile(configFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `is not valid JSON (${(e as Error).message})`;
    throw new ConfigError(`${configFile} ${why}, beside the run's ${diverged === undefined ? 'checkpoint' : 'summary'}: restore it, or remove ${dir} to train that run again`);
  }
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) {
    throw new ConfigError(`${configFile} holds ${saved === null ? 'null' : Array.isArray(saved) ? 'an array' : typeof saved}, not a run's config object: restore it, or remove ${dir} to train that run again`);
  }
  const differ = Object.entries(config).filter(([key, value]) => JSON.stringify(saved[key]) !== JSON.stringify(value));
  if (differ.length > 0) {
    const what = differ.map(([key, value]) => `${key} ${JSON.stringify(saved[key])} there, ${JSON.stringify(value)} now`).join('; ');
    throw new ConfigError(`${dir} holds a run configured otherwise (${what}); rerun with the options it was started with, or choose another --out`);
  }
  // A diverged run resumed diverges again (the same bits on the CPU): it stays as it stopped.
  if (summary?.finished === true) return { state: 'finished' };
  return diverged === undefined ? { state: 'resumable' } : { state: 'diverged', diverged };
}

/** A config value as its flag's value: a list comma-separated, a module (`estimatorModule`) by its file. */
const flagValue = (value: unknown) => (Array.isArray(value) ? value.join(',') : isModuleRef(value) ? value.path : String(value));

/** The flags of `mixrl train` that set `config`. */
function configFlags(config: RunConfig): string[] {
  return Object.entries(config).flatMap(([key, value]) => [`--${kebab(key)}`, flagValue(value)]);
}

/** The last non-empty line of a text. */
const lastLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .at(-1) ?? '';

/** One run as a child `mixrl train`; resolves with its exit code (or the signal that killed it) and the last lines it printed. */
function trainChild(args: string[], children: Set<ChildProcess>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    if (!cli) return reject(new Error('no CLI registered'));
    const child = spawn(cli.node, [...cli.args, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    // Only the tails matter; a long run prints a line per logEvery steps.
    child.stdout?.on('data', (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-4000)));
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('error', (e) => {
      children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** One run in this process, writing the files `mixrl train` writes. */
/** Trains the run in this process: true when it finished, false when stopped, the divergence message when its policy diverged. */
async function trainHere(ctx: Pick<ExperimentContext, 'backend'>, dir: string, config: RunConfig, resume: boolean, stopped: () => boolean): Promise<boolean | string> {
  const checkpointFile = path.join(dir, 'checkpoint.mixrl');
  const episodesFile = path.join(dir, 'episodes.jsonl');
  let run: Run;
  if (resume) {
    const loaded = await loadRun(checkpointFile, ctx.backend);
    if (isLeft(loaded)) throw loaded.left;
    run = loaded.right;
    const kept = (await readEpisodes(dir)).slice(0, run.rollout.episode);
    await writeFileAtomic(episodesFile, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
  } else {
    const resolved = resolveConfig([{ ...config, backend: ctx.backend.name as TrainConfig['backend'] }], ['experiment']);
    if (isLeft(resolved)) throw resolved.left;
    run = createRun(resolved.right, ctx.backend);
    await fs.mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(resolved.right, null, 2)}\n`);
    await writeFileAtomic(episodesFile, '');
  }
  const save = async (r: Run) => {
    const saved = await saveRun(r, checkpointFile);
    if (isLeft(saved)) throw saved.left;
  };
  const started = Date.now();
  const startStep = run.step;
  try {
    await train(run, { until: run.config.steps }, { onEpisode: (e) => appendFileSync(episodesFile, `${JSON.stringify(e)}\n`), onCheckpoint: save, shouldStop: stopped });
  } catch (e) {
    if (!(e instanceof MixrlError && e.code === 'diverged')) throw e;
    const summary = { ...runSummary(run, startStep, (Date.now() - started) / 1000), diverged: e.message };
    await writeFileAtomic(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return e.message;
  }
  await save(run);
  const seconds = (Date.now() - started) / 1000;
  const summary = runSummary(run, startStep, seconds);
  await writeFileAtomic(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary.finished;
}

/**
 * Runs `work` with SIGINT and SIGTERM caught instead of ending the process: `stopSignal()` says
 * which one came first (null until then), so the work saves and stops at a point of its choosing
 * (throwing `Interrupted`); `onFirst` runs when it comes (`trainRuns` stops its children there);
 * the handlers are removed when the work settles.
 *
 * @example
 * await untilSignalled(async (stopSignal) => { for (const part of parts) { await part(); if (stopSignal()) throw new Interrupted(stopSignal()!, 0, 1); } });
 */
export async function untilSignalled<T>(work: (stopSignal: () => NodeJS.Signals | null) => Promise<T>, onFirst?: (signal: NodeJS.Signals) => void): Promise<T> {
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    if (signal !== null) return;
    signal = s;
    onFirst?.(s);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(() => signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Trains every spec's run under `ctx.workDir` (finished ones are read back), up to `ctx.jobs` at
 * once when runs are child processes, and returns each run's episodes in the order of `specs`.
 * SIGINT or SIGTERM stops it: no new run starts, running ones checkpoint (children get SIGTERM),
 * and it throws `Interrupted`; the same call later continues where they stopped. A new child run
 * is not started on an env or estimator module whose file changed since it was recorded (a
 * ConfigError, the running ones stopped as on a failure).
 *
 * @example
 * const runs = await trainRuns(ctx, [{ name: 'Pendulum-sg-rp-seed0', config: { env: 'Pendulum', agent: 'sg-rp', seed: 0, steps: 100_000 } }]);
 */
export async function trainRuns(ctx: Pick<ExperimentContext, 'backend' | 'workDir' | 'jobs' | 'log'>, specs: readonly RunSpec[]): Promise<RunOutcome[]> {
  const override = trainOverride();
  const jobs = cli ? Math.max(1, Math.floor(ctx.jobs ?? 1)) : 1;
  const children = new Set<ChildProcess>();
  const stopChildren = (s: NodeJS.Signals) => {
    ctx.log(`${s}: stopping; the runs in progress save a checkpoint (rerun the same command to continue)`);
    for (const child of children) child.kill('SIGTERM');
  };
  return untilSignalled((stopSignal) => runAll(ctx, specs, jobs, override, children, stopSignal), stopChildren);
}

/** `trainRuns` under its signal handlers: `stopSignal()` says whether one came. */
async function runAll(
  ctx: Pick<ExperimentContext, 'backend' | 'workDir' | 'jobs' | 'log'>,
  specs: readonly RunSpec[],
  jobs: number,
  override: Partial<TrainConfig> | undefined,
  children: Set<ChildProcess>,
  stopSignal: () => NodeJS.Signals | null,
): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = new Array(specs.length);
  let next = 0;
  let done = 0;
  let failed = false;
  const total = specs.length;
  const worker = async () => {
    while (stopSignal() === null && !failed && next < specs.length) {
      const index = next++;
      const spec = specs[index];
      const dir = path.join(ctx.workDir, spec.name);
      const config: RunConfig = { ...spec.config, ...override } as RunConfig;
      const { state, diverged: recorded } = await stateOf(dir, config);
      // Stopped (a signal, another run's failure) while this one was being looked at: start nothing new.
      if (stopSignal() !== null || failed) break;
      const started = Date.now();
      let diverged = recorded;
      if (state !== 'finished' && state !== 'diverged') {
        let finished: boolean;
        if (cli && state === 'new') {
          // A new child loads the modules' files itself: not once they differ from what this command recorded.
          const modules: [ModuleRef | null | undefined, string][] = [[envModule, 'env module'], [config.estimatorModule, 'estimator module']];
          for (const [ref, what] of modules) {
            const problem = isModuleRef(ref) ? await moduleProblem(ref, what) : undefined;
            if (problem) {
              throw new ConfigError(`run ${spec.name} not started: ${problem}; the runs so far trained on it as it was: restore it and run the same command to continue, or choose another --out`);
            }
          }
        }
        if (cli) {
          const args =
            state === 'resumable'
              ? ['--resume', dir]
              : ['--out', dir, ...configFlags(config), '--backend', ctx.backend.name === 'webgpu' ? 'webgpu' : 'cpu', ...(envModule ? ['--env-module', envModule.path] : [])];
          if (jobs > 1) args.push('--threads', '1');
          const r = await trainChild(args, children);
          // A checkpoint at the last step without its summary (killed in between): nothing left to train.
          const alreadyDone = r.code === 2 && /is finished at step/.test(r.stderr);
          // A policy that diverged is an outcome (the child wrote it in summary.json), not a failure.
          diverged = r.code === 2 ? await divergence(dir) : undefined;
          if (r.code !== 0 && !alreadyDone && diverged === undefined && stopSignal() === null) {
            // A child killed by a signal (the kernel's OOM killer sends SIGKILL) has no exit code.
            const how = r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
            throw new ConfigError(`run ${spec.name} failed (${how}): ${lastLine(r.stderr) || lastLine(r.stdout)}`);
          }
          finished = r.code === 0 || alreadyDone || diverged !== undefined;
        } else {
          const ended = await trainHere(ctx, dir, config, state === 'resumable', () => stopSignal() !== null);
          diverged = typeof ended === 'string' ? ended : undefined;
          finished = ended !== false;
        }
        if (!finished) continue;
      }
      const episodes = await readEpisodes(dir);
      outcomes[index] = { spec, dir, episodes, reused: state === 'finished' || state === 'diverged', ...(diverged !== undefined && { diverged }) };
      done++;
      const last = episodes.slice(-10);
      const mean = last.length > 0 ? last.reduce((a, e) => a + e.return, 0) / last.length : NaN;
      const how =
        state === 'finished' ? 'finished before, reused' : state === 'diverged' ? 'diverged before' : `${state === 'resumable' ? 'resumed and ' : ''}trained in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      const end = diverged === undefined ? `mean return of the last 10 ${mean.toFixed(2)}` : `DIVERGED, no area (${diverged})`;
      ctx.log(`[${done}/${total}] ${spec.name}: ${how}; ${episodes.length} episodes, ${end}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, specs.length) }, worker));
  } catch (e) {
    // One run failed: stop the others (they checkpoint) before reporting it.
    failed = true;
    for (const child of children) child.kill('SIGTERM');
    while (children.size > 0) await new Promise((r) => setTimeout(r, 50));
    throw e;
  }
  const signal = stopSignal();
  if (signal !== null) throw new Interrupted(signal, done, total);
  return outcomes;
}
