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
import { createRun, type EpisodeRecord, loadRun, type Run, type RunOptions, runSummary, saveRun, train } from '../train';
import { OWN_KEYS, trainBatch } from '../train-batch';
import { disposeTree } from '../../autodiff';
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

/** Runs of a setting trained together in one process unless `--together` says otherwise: every seed of fig6 and fig8 at paper scale. */
export const DEFAULT_TOGETHER = 10;

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

/** A run folder's summary.json as far as `runAll` reads it (undefined when missing or unreadable). */
async function readSummary(dir: string): Promise<{ finished?: unknown; diverged?: unknown } | undefined> {
  const summary = (await readJsonFile(path.join(dir, 'summary.json'))) as { finished?: unknown; diverged?: unknown } | null | undefined;
  return summary !== null && typeof summary === 'object' ? summary : undefined;
}

/** Where the run folder stands, and the divergence its summary records (for the state `diverged`). */
async function stateOf(dir: string, config: RunConfig): Promise<{ state: State; diverged?: string }> {
  const summary = await readSummary(dir);
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

/** A run to train in this process: its folder, its config, and whether it resumes from the checkpoint there. */
interface HereRun {
  readonly dir: string;
  readonly config: RunConfig;
  readonly resume: boolean;
}

/**
 * Trains the runs in this process, writing the files `mixrl train` writes (one alone with `train`,
 * several together with `trainBatch`): per run, true when it finished, false when stopped, the
 * divergence message when its policy diverged.
 */
async function trainHere(ctx: Pick<ExperimentContext, 'backend'>, items: readonly HereRun[], stopped: () => boolean): Promise<(boolean | string)[]> {
  const runs: Run[] = [];
  for (const { dir, config, resume } of items) {
    if (!resume) {
      runs.push(await newRunIn(ctx, dir, config));
      continue;
    }
    const loaded = await loadRun(path.join(dir, 'checkpoint.mixrl'), ctx.backend);
    if (isLeft(loaded)) throw loaded.left;
    runs.push(loaded.right);
    const kept = (await readEpisodes(dir)).slice(0, loaded.right.rollout.episode);
    await writeFileAtomic(path.join(dir, 'episodes.jsonl'), kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
  }
  const save = async (r: Run, dir: string) => {
    const saved = await saveRun(r, path.join(dir, 'checkpoint.mixrl'));
    if (isLeft(saved)) throw saved.left;
  };
  const started = Date.now();
  const startSteps = runs.map((r) => r.step);
  const summarize = async (i: number, extra: object = {}) => {
    const summary = { ...runSummary(runs[i], startSteps[i], (Date.now() - started) / 1000), ...extra };
    await writeFileAtomic(path.join(items[i].dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  };
  const ends: (boolean | string | undefined)[] = items.map(() => undefined);
  const hooks = items.map(({ dir }, i) => ({
    onEpisode: (e: EpisodeRecord) => appendFileSync(path.join(dir, 'episodes.jsonl'), `${JSON.stringify(e)}\n`),
    onCheckpoint: (r: Run) => save(r, dir),
    onDiverged: async (e: MixrlError) => {
      await summarize(i, { diverged: e.message });
      ends[i] = e.message;
    },
  }));
  if (runs.length === 1) {
    try {
      await train(runs[0], { until: runs[0].config.steps }, { ...hooks[0], shouldStop: stopped });
    } catch (e) {
      if (!(e instanceof MixrlError && e.code === 'diverged')) throw e;
      await hooks[0].onDiverged(e);
    }
  } else {
    await trainBatch(runs, { until: runs[0].config.steps }, hooks, stopped);
  }
  for (const [i, run] of runs.entries()) {
    if (ends[i] !== undefined) continue;
    await save(run, items[i].dir);
    ends[i] = (await summarize(i)).finished;
  }
  return ends as (boolean | string)[];
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
export async function trainRuns(ctx: Pick<ExperimentContext, 'backend' | 'workDir' | 'jobs' | 'log' | 'together'>, specs: readonly RunSpec[]): Promise<RunOutcome[]> {
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
  ctx: Pick<ExperimentContext, 'backend' | 'workDir' | 'jobs' | 'log' | 'together'>,
  specs: readonly RunSpec[],
  jobs: number,
  override: Partial<TrainConfig> | undefined,
  children: Set<ChildProcess>,
  stopSignal: () => NodeJS.Signals | null,
): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = new Array(specs.length);
  const configs = specs.map((spec) => ({ ...spec.config, ...override }) as RunConfig);
  const groups = groupsOf(configs, Math.max(1, Math.floor(ctx.together ?? 1)));
  let next = 0;
  let done = 0;
  let failed = false;
  const total = specs.length;
  const worker = async () => {
    while (stopSignal() === null && !failed && next < groups.length) {
      const group = groups[next++];
      const dirs = group.map((index) => path.join(ctx.workDir, specs[index].name));
      const states: { state: State; diverged?: string }[] = [];
      for (const [k, index] of group.entries()) states.push(await stateOf(dirs[k], configs[index]));
      // Stopped (a signal, another run's failure) while these were being looked at: start nothing new.
      if (stopSignal() !== null || failed) break;
      const started = Date.now();
      const todo = group.map((_, k) => k).filter((k) => states[k].state === 'new' || states[k].state === 'resumable');
      const ends = new Map<number, boolean | string>();
      // How many runs each was trained with (in one child, or in this process).
      const together = new Map<number, number>();
      if (todo.length > 0) {
        if (cli) {
          const fresh = todo.filter((k) => states[k].state === 'new');
          if (fresh.length > 0) await checkModules(specs[group[fresh[0]]], configs[group[fresh[0]]]);
          // Several runs go to one `mixrl train --resume` child: the new ones start here, as step-0 checkpoints.
          if (todo.length > 1) for (const k of fresh) await startHere(ctx, dirs[k], configs[group[k]]);
          // A signal while they were started: no child starts (they resume from step 0 next time).
          if (stopSignal() !== null || failed) break;
          const resuming = todo.length > 1 || states[todo[0]].state === 'resumable';
          const args = resuming ? ['--resume', ...todo.map((k) => dirs[k])] : newRunArgs(ctx, dirs[todo[0]], configs[group[todo[0]]]);
          if (jobs > 1) args.push('--threads', '1');
          const r = await trainChild(args, children);
          // A checkpoint at the last step without its summary (killed in between): nothing left to train.
          const alreadyDone = r.code === 2 && /is finished at step/.test(r.stderr);
          for (const k of todo) {
            together.set(k, todo.length);
            // A policy that diverged is an outcome (the child wrote it in summary.json), not a failure;
            // so are the runs trained with it that finished (the child then exits 2 for the others).
            const summary = r.code === 2 ? await readSummary(dirs[k]) : undefined;
            if (typeof summary?.diverged === 'string') ends.set(k, summary.diverged);
            else if (r.code === 0 || alreadyDone || summary?.finished === true) ends.set(k, true);
          }
          const failedRuns = todo.filter((k) => !ends.has(k));
          if (r.code !== 0 && failedRuns.length > 0 && stopSignal() === null) {
            // A child killed by a signal (the kernel's OOM killer sends SIGKILL) has no exit code.
            const how = r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
            const names = failedRuns.map((k) => specs[group[k]].name).join(', ');
            throw new ConfigError(`run${failedRuns.length > 1 ? 's' : ''} ${names} failed (${how}): ${lastLine(r.stderr) || lastLine(r.stdout)}`);
          }
        } else {
          const results = await trainHere(ctx, todo.map((k) => ({ dir: dirs[k], config: configs[group[k]], resume: states[k].state === 'resumable' })), () => stopSignal() !== null);
          todo.forEach((k, j) => {
            together.set(k, todo.length);
            if (results[j] !== false) ends.set(k, results[j]);
          });
        }
      }
      for (const [k, index] of group.entries()) {
        const { state } = states[k];
        const end = ends.get(k);
        if (state !== 'finished' && state !== 'diverged' && end === undefined) continue;
        const diverged = state === 'diverged' ? states[k].diverged : typeof end === 'string' ? end : undefined;
        const spec = specs[index];
        const episodes = await readEpisodes(dirs[k]);
        outcomes[index] = { spec, dir: dirs[k], episodes, reused: state === 'finished' || state === 'diverged', ...(diverged !== undefined && { diverged }) };
        done++;
        const last = episodes.slice(-10);
        const mean = last.length > 0 ? last.reduce((a, e) => a + e.return, 0) / last.length : NaN;
        const alongside = (together.get(k) ?? 1) > 1 ? ` (${together.get(k)} runs together)` : '';
        const how =
          state === 'finished'
            ? 'finished before, reused'
            : state === 'diverged'
              ? 'diverged before'
              : `${state === 'resumable' ? 'resumed and ' : ''}trained in ${((Date.now() - started) / 1000).toFixed(1)} s${alongside}`;
        const endText = diverged === undefined ? `mean return of the last 10 ${mean.toFixed(2)}` : `DIVERGED, no area (${diverged})`;
        ctx.log(`[${done}/${total}] ${spec.name}: ${how}; ${episodes.length} episodes, ${endText}`);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, groups.length) }, worker));
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

/**
 * The specs in groups to train together, at most `together` each: specs whose configs differ only
 * in what runs trained together may differ in (their seed, α and learning rates: `trainBatch`), in
 * the order of their first spec; others alone.
 */
function groupsOf(configs: readonly RunConfig[], together: number): number[][] {
  const byKey = new Map<string, number[]>();
  configs.forEach((config, i) => {
    const shared = Object.fromEntries(Object.entries(config).filter(([key]) => !OWN_KEYS.includes(key as keyof TrainConfig)));
    const key = together > 1 ? JSON.stringify(shared) : `#${i}`;
    byKey.set(key, [...(byKey.get(key) ?? []), i]);
  });
  return [...byKey.values()].flatMap((members) => Array.from({ length: Math.ceil(members.length / together) }, (_, c) => members.slice(c * together, (c + 1) * together)));
}

/** The `mixrl train` arguments of a new run alone in its child. */
function newRunArgs(ctx: Pick<ExperimentContext, 'backend'>, dir: string, config: RunConfig): string[] {
  return ['--out', dir, ...configFlags(config), '--backend', ctx.backend.name === 'webgpu' ? 'webgpu' : 'cpu', ...(envModule ? ['--env-module', envModule.path] : [])];
}

/**
 * A new run made for `config` (with `extra` keys) and started in `dir` as `mixrl train` starts one:
 * its resolved config in config.json and an empty episodes.jsonl, nothing written when the run
 * cannot be made.
 */
async function newRunIn(ctx: Pick<ExperimentContext, 'backend'>, dir: string, config: RunConfig, extra: Partial<TrainConfig> = {}, options: RunOptions = {}): Promise<Run> {
  const backend = ctx.backend.name === 'webgpu' ? 'webgpu' : 'cpu';
  const resolved = resolveConfig([{ ...config, backend, ...extra }], ['experiment']);
  if (isLeft(resolved)) throw resolved.left;
  const run = createRun(resolved.right, ctx.backend, options);
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(resolved.right, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, 'episodes.jsonl'), '');
  return run;
}

/**
 * Starts a run in `dir` as a new `mixrl train` would, up to its first checkpoint, at step 0, for a
 * `mixrl train --resume` child to train with others: config.json first, the checkpoint last (a
 * folder without a checkpoint is started again). A custom estimator's module is loaded by the child.
 */
async function startHere(ctx: Pick<ExperimentContext, 'backend'>, dir: string, config: RunConfig): Promise<void> {
  // The child that trains it loads the env module, as a new `mixrl train --env-module` child would.
  const run = await newRunIn(ctx, dir, config, envModule ? { envModule } : {}, { weightsOnly: true });
  try {
    const saved = await saveRun(run, path.join(dir, 'checkpoint.mixrl'));
    if (isLeft(saved)) throw saved.left;
  } finally {
    disposeTree(run.sac);
  }
}

/** A new child loads the modules' files itself: not once they differ from what this command recorded (a ConfigError naming the run). */
async function checkModules(spec: RunSpec, config: RunConfig): Promise<void> {
  const modules: [ModuleRef | null | undefined, string][] = [[envModule, 'env module'], [config.estimatorModule, 'estimator module']];
  for (const [ref, what] of modules) {
    const problem = isModuleRef(ref) ? await moduleProblem(ref, what) : undefined;
    if (problem) {
      throw new ConfigError(`run ${spec.name} not started: ${problem}; the runs so far trained on it as it was: restore it and run the same command to continue, or choose another --out`);
    }
  }
}
