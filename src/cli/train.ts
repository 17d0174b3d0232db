/**
 * `mixrl train`, `mixrl eval` and `mixrl agents`. User errors come back as `Left` and are printed as
 * one line with exit code 2 by `main.ts`. A training holds its run folder's lock (`train.lock`,
 * `out-folder.ts`) while it writes there: a second `mixrl train` on the folder is refused.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, isRight, left, right } from 'fp-ts/lib/Either.js';
import { CLASSIC_DEFAULTS, ConfigError, flagKinds, kebab, resolveConfig, RUN_DEFAULTS, type TrainConfig, validatePartial } from '../experiments/config';
import { exists, makeDirs, writeFileAtomic } from '../experiments/files';
import { evaluate } from '../experiments/evaluation';
import { createRun, loadRun, recentReturn, type Run, train } from '../experiments/train';
import { batchProblem, type RunHooks, trainBatch } from '../experiments/train-batch';
import { isBuiltInEnv } from '../envs';
import { loadCheckpoint } from '../rl/checkpoint';
import type { Estimator } from '../rl/estimators';
import { AGENTS, agentNames } from '../rl/sac/agents';
import { type Backend, cpu, MixrlError, setCpuThreads } from '../tensor';
import { initBackend } from '../tensor/webgpu';
import { parseArgs, parseDecimal, typedFlags } from './args';
import { definesEnv, type LoadedEnvModule, loadEnvModule, reloadEnvModule, runEnvPreparer } from './envs';
import { type LoadedEstimator, loadEstimatorModule, reloadEstimatorModule, runEstimator } from './estimator-module';
import { parseJsonText } from './json';
import { type FolderLock, lockOut, whenFree } from './out-folder';
import { BEST, CHECKPOINT, CHECKPOINTED_BEST, EVALUATIONS, ioReason, type RunEnd, RunFolder } from './run-folder';

/** The files of a run folder; any of them in an --out folder means a run is there. */
const RUN_FILES = ['config.json', 'episodes.jsonl', CHECKPOINT, 'summary.json'];
/**
 * The lock a run folder holds while a `mixrl train` writes it: its process id. The `mixrl train`
 * children of `reproduce` and `sweep` each lock their own `runs/<name>`, beside the parent's lock
 * on the results folder (`reproduce.lock`, `sweep.lock`).
 */
const RUN_LOCK: FolderLock = {
  command: 'mixrl train',
  lock: 'train.lock',
  clash: 'two trainings in one run folder would interleave their checkpoints, logs and summary',
};

/** Result of a command: an exit code, or a user error to print. */
type Outcome = Either<MixrlError, number>;

const userError = (message: string) => left(new ConfigError(message));

async function readJsonFile(file: string): Promise<Either<MixrlError, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    return userError(`${file}: cannot read: ${ioReason(e)}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return userError(`${file}: not UTF-8 text`);
  }
  return parseJsonText(text, file);
}

/** A config file's keys, checked, or an error naming the file. */
async function readConfigFile(file: string): Promise<Either<MixrlError, Partial<TrainConfig>>> {
  const raw = await readJsonFile(file);
  return isLeft(raw) ? raw : validatePartial(raw.right, file);
}

/** The backend a config runs on; `auto` stays on the CPU for float64, which WebGPU lacks. */
async function selectBackend(config: TrainConfig): Promise<Either<MixrlError, Backend>> {
  const choice = config.backend === 'auto' && config.dtype === 'float64' ? 'cpu' : config.backend;
  try {
    return right(await initBackend(choice));
  } catch (e) {
    if (e instanceof MixrlError) return userError(`backend '${choice}': ${e.message}`);
    throw e;
  }
}

/** A new run's config, and the custom estimator it trains in place of its agent's, if any. */
interface NewRunConfig {
  readonly config: TrainConfig;
  readonly estimator?: Estimator;
}

/**
 * The config layers a train command asks for: MIXRL_BACKEND, a config file, then flags; then the
 * modules: `--env-module FILE` and `--estimator-module FILE`, or else those the config file records
 * (which must be unchanged).
 */
async function configFromFlags(flags: Record<string, string | true>): Promise<Either<MixrlError, NewRunConfig>> {
  const { config: configFile, out: _out, envModule: moduleFile, estimatorModule: estimatorFile, ...rest } = flags;
  const layers: Partial<TrainConfig>[] = [];
  const sources: string[] = [];
  // MIXRL_BACKEND chooses the backend unless the config file or --backend does.
  const env = process.env.MIXRL_BACKEND;
  if (env) {
    layers.push({ backend: env as TrainConfig['backend'] });
    sources.push('MIXRL_BACKEND');
  }
  if (configFile !== undefined) {
    if (configFile === true || configFile === '') return userError('flag --config needs a file name');
    const checked = await readConfigFile(configFile);
    if (isLeft(checked)) return checked;
    layers.push(checked.right);
    sources.push(configFile);
  }
  const typed = typedFlags(rest, flagKinds(), { batch: 'batchSize' }, ['config', 'out', 'seeds', 'resume', 'threads', 'env-module', 'estimator-module']);
  if (isLeft(typed)) return typed;
  const checked = validatePartial(typed.right, 'flags');
  if (isLeft(checked)) return checked;
  layers.push(checked.right);
  sources.push('flags');
  if (moduleFile === true || moduleFile === '') return userError('flag --env-module needs a file name');
  if (estimatorFile === true || estimatorFile === '') return userError('flag --estimator-module needs a file name');
  const configWhere = `--config ${String(configFile)}`;
  const module = await envModuleOfNewRun(layers, moduleFile, configWhere);
  if (isLeft(module)) return module;
  if (module.right) {
    layers.push({ envModule: module.right.ref });
    sources.push('--env-module');
  }
  const estimator = await estimatorOfNewRun(layers, estimatorFile, configWhere);
  if (isLeft(estimator)) return estimator;
  if (estimator.right) {
    layers.push({ estimator: estimator.right.name, estimatorModule: estimator.right.ref });
    sources.push('--estimator-module');
  }
  const config = resolveConfig(layers, sources);
  if (isLeft(config)) return config;
  if (module.right) {
    const named = moduleFile !== undefined ? `--env-module ${moduleFile}` : `${configWhere}: its env module ${module.right.ref.path}`;
    const defined = definesEnv(module.right, config.right.env, named);
    if (isLeft(defined)) return defined;
  }
  return right({ config: config.right, estimator: estimator.right?.estimator });
}

/**
 * A new run's env module: `--env-module FILE` (`file`), or else the one the config file records,
 * unless another env leaves it out (`--env Pendulum` on a config file of a module's env). Takes the
 * recorded one out of `layers`.
 */
async function envModuleOfNewRun(layers: Partial<TrainConfig>[], file: string | undefined, configWhere: string): Promise<Either<MixrlError, LoadedEnvModule | undefined>> {
  const runEnv = [...layers].reverse().find((layer) => layer.env !== undefined)?.env ?? RUN_DEFAULTS.env;
  const recorded = isBuiltInEnv(runEnv) ? undefined : layers.find((layer) => layer.envModule !== undefined)?.envModule;
  for (const layer of layers) delete layer.envModule;
  if (file !== undefined) return loadEnvModule(file);
  return recorded === undefined ? right(undefined) : reloadEnvModule(recorded, configWhere);
}

/**
 * A new run's custom estimator: the one `estimator` names (the flag's, or the config file's; or the
 * module's only one) of `--estimator-module FILE` (`file`), or else of the module the config file
 * records. Takes the recorded module out of `layers`.
 */
async function estimatorOfNewRun(layers: Partial<TrainConfig>[], file: string | undefined, configWhere: string): Promise<Either<MixrlError, LoadedEstimator | undefined>> {
  const recorded = layers.find((layer) => layer.estimatorModule !== undefined)?.estimatorModule;
  for (const layer of layers) delete layer.estimatorModule;
  const name = [...layers].reverse().find((layer) => layer.estimator !== undefined)?.estimator;
  if (file !== undefined) return loadEstimatorModule(file, name);
  return recorded === undefined ? right(undefined) : reloadEstimatorModule(recorded, name, configWhere);
}

/**
 * `--threads N`: the threads CPU plans share work with (`setCpuThreads`), not part of a run's
 * config: any count gives the same bits. 1 for runs side by side, one per core.
 */
function applyThreads(value: string | true | undefined): Either<MixrlError, void> {
  if (value === undefined) return right(undefined);
  if (value === true) return userError('flag --threads needs a value');
  const count = parseDecimal(value);
  if (count === undefined || !Number.isInteger(count) || count < 1) return userError(`flag --threads must be a positive integer, got '${String(value)}'`);
  try {
    setCpuThreads(count);
  } catch (e) {
    if (e instanceof MixrlError) return userError(`flag --threads: ${e.message}`);
    throw e;
  }
  return right(undefined);
}

/**
 * Refuses an --out that is a file, one another running `mixrl train` holds, or one that already
 * holds a run; a missing folder is made later.
 */
async function checkOut(out: string): Promise<Either<MixrlError, void>> {
  try {
    if (!(await fs.stat(out)).isDirectory()) return userError(`--out ${out} is a file, not a folder`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return right(undefined);
    return userError(`--out ${out}: ${code === 'ENOTDIR' ? 'a part of the path is a file, not a folder' : `cannot use it: ${ioReason(e)}`}`);
  }
  // Held: the run there is not stopped, whatever its files say.
  const free = await whenFree(RUN_LOCK, out, '--out');
  if (isLeft(free)) return free;
  const held: string[] = [];
  for (const file of RUN_FILES) {
    if (await exists(path.join(out, file))) held.push(file);
  }
  if (held.length === 0) return right(undefined);
  // Without a checkpoint there is nothing --resume can continue: say so instead of pointing at it.
  if (!held.includes(CHECKPOINT)) {
    return userError(`--out ${out} holds a run stopped before its first checkpoint (${held.join(', ')}); remove the folder to start it again, or choose another --out`);
  }
  return userError(`--out ${out} already holds a run (${held.join(', ')}); continue it with --resume ${out}, or choose another --out`);
}

/** A new run's first files, in its folder (made and locked by then). */
async function startRun(config: TrainConfig, out: string): Promise<Either<MixrlError, void>> {
  try {
    await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    await writeFileAtomic(path.join(out, 'episodes.jsonl'), '');
    if (config.evalEvery > 0) await writeFileAtomic(path.join(out, EVALUATIONS), '');
  } catch (e) {
    return userError(`--out ${out}: cannot write the run there: ${ioReason(e)}`);
  }
  return right(undefined);
}

/**
 * Takes the run folder's lock for as long as this process writes the folder, and returns what
 * releases it: a folder another running `mixrl train` holds is refused (the error names the folder
 * and that process), a lock left by one that has ended (killed, or a second Ctrl-C) is taken over.
 * A new run's folder is made first; a --resume folder that is not there is not locked (there is
 * nothing to write: `resumeRun` says what is missing).
 */
async function lockRun(out: string, flag: '--out' | '--resume'): Promise<Either<MixrlError, () => Promise<void>>> {
  if (flag === '--out') {
    try {
      await makeDirs(out);
    } catch (e) {
      return userError(`--out ${out}: cannot write the run there: ${ioReason(e)}`);
    }
  } else if (!(await fs.stat(out).then((s) => s.isDirectory(), () => false))) {
    return right(async () => {});
  }
  return lockOut(RUN_LOCK, out, flag);
}

/**
 * The modules one command loads, each once (by file, or by a run's record of it: path and SHA-256):
 * runs resumed together share their env module, which registers its envs once, and their custom
 * estimator, one function, as a batch needs.
 */
class ModulesLoaded {
  private readonly loads = new Map<string, Promise<unknown>>();

  once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let loading = this.loads.get(key) as Promise<T> | undefined;
    if (loading === undefined) {
      loading = load();
      this.loads.set(key, loading);
    }
    return loading;
  }
}

/** A module's key in `ModulesLoaded`: a file given, or a module a run recorded. */
const moduleKey = (file: string | undefined, recorded: { path: string; sha256: string } | undefined) =>
  file !== undefined ? `file ${path.resolve(file)}` : `recorded ${recorded?.path} ${recorded?.sha256}`;

/**
 * A run read back from its folder: the checkpoint holds it; config.json, which picks the backend to
 * load it onto, must agree with the checkpoint's config (`steps` aside: --steps moves it; and the
 * modules: config.json's are loaded, and `--env-module FILE` or `--estimator-module FILE` replaces
 * its module there and in the run).
 */
async function resumeRun(out: string, moduleFile: string | undefined, estimatorFile: string | undefined, modules = new ModulesLoaded()): Promise<Either<MixrlError, Run>> {
  const checkpointFile = path.join(out, CHECKPOINT);
  if (!(await fs.stat(checkpointFile).then((s) => s.isFile(), () => false))) {
    const started = await exists(path.join(out, 'config.json'));
    return userError(`--resume ${out}: no ${CHECKPOINT} there to resume${started ? ' (the run stopped before its first checkpoint: remove the folder to start it again)' : ''}`);
  }
  const configFile = path.join(out, 'config.json');
  const saved = await readConfigFile(configFile);
  if (isLeft(saved)) return saved;
  const where = `--resume ${out}`;
  const recorded = saved.right.envModule;
  const module =
    moduleFile !== undefined || recorded !== undefined
      ? await modules.once(`env ${moduleKey(moduleFile, recorded)}`, () => (moduleFile !== undefined ? loadEnvModule(moduleFile) : reloadEnvModule(recorded!, where)))
      : undefined;
  if (module && isLeft(module)) return module;
  const estimatorKey = `estimator ${saved.right.estimator} of ${moduleKey(estimatorFile, saved.right.estimatorModule)}`;
  const estimator = await modules.once(estimatorKey, () => runEstimator(estimatorFile, saved.right, where));
  if (isLeft(estimator)) return estimator;
  const replaced: Partial<TrainConfig> = {
    ...(moduleFile !== undefined && module && { envModule: module.right.ref }),
    ...(estimatorFile !== undefined && estimator.right && { estimatorModule: estimator.right.ref }),
  };
  const config = resolveConfig([saved.right, replaced], [configFile, 'flags']);
  if (isLeft(config)) return config;
  if (module) {
    const defined = definesEnv(module.right, config.right.env, moduleFile !== undefined ? `--env-module ${moduleFile}` : `${where}: its env module ${module.right.ref.path}`);
    if (isLeft(defined)) return defined;
  }
  const backend = await selectBackend(config.right);
  if (isLeft(backend)) return backend;
  const loaded = await loadRun(checkpointFile, backend.right, { estimator: estimator.right?.estimator });
  if (isLeft(loaded)) return loaded;
  // The modules may differ: config.json gets a replaced one at once, the checkpoint at its next save.
  const unchecked: (keyof TrainConfig)[] = ['steps', 'envModule', 'estimatorModule'];
  const differ = (Object.keys(config.right) as (keyof TrainConfig)[]).filter(
    (key) => !unchecked.includes(key) && JSON.stringify(config.right[key]) !== JSON.stringify(loaded.right.config[key]),
  );
  if (differ.length > 0) {
    return userError(
      `${configFile} disagrees with ${CHECKPOINT} on ${differ.join(', ')}; the checkpoint is the run: undo the edit, or start a new run from this config with --config ${configFile} --out ANOTHER_FOLDER`,
    );
  }
  // The modules given replace the recorded ones: in the run's next checkpoints, and in config.json
  // once the resume is planned (with the new step target).
  Object.assign(loaded.right.config, replaced);
  return loaded;
}

/**
 * `runs/ENV-AGENT-seedN`, or the first of `...-2`, `...-3`, ... without a run in it: running the
 * same command again starts a new run beside the first (SB3 numbers its log folders alike); an
 * --out given explicitly is refused instead when it holds a run.
 */
async function defaultOut(config: TrainConfig): Promise<string> {
  const base = path.join('runs', `${config.env}-${config.agent}-seed${config.seed}`);
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    if (!isLeft(await checkOut(candidate))) return candidate;
  }
  return base;
}

/** Progress shown while training: a bar on a terminal, plain lines otherwise. */
function progressReporter(total: number, startStep: number) {
  const started = Date.now();
  const tty = process.stdout.isTTY === true;
  return async (run: Run) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = (run.step - startStep) / Math.max(seconds, 1e-9);
    const eta = (total - run.step) / Math.max(rate, 1e-9);
    const ret = recentReturn(run);
    const metrics = run.lastMetrics;
    const extra = metrics ? `  critic ${(await metrics.criticLoss.item()).toFixed(3)}  alpha ${(await metrics.alpha.item()).toPrecision(3)}` : '';
    const text = `${run.step}/${total} steps  ${rate.toFixed(0)} steps/s  return(10) ${Number.isNaN(ret) ? '-' : ret.toFixed(1)}${extra}  ETA ${formatDuration(eta)}`;
    if (tty) {
      const width = 24;
      const filled = Math.round((width * run.step) / total);
      process.stdout.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      console.log(text);
    }
  };
}

/** A line printed while training: above the progress bar on a terminal (the next update redraws it). */
function printLine(text: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r${text}\x1b[K\n`);
  else console.log(text);
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/**
 * Removes `best.mixrl` when it was saved after `step`, where a resumed run starts: it belongs to an
 * evaluation that is dropped from evaluations.jsonl and run again (on the CPU to the same bits, which
 * saves the same file again), and puts back the best as of that checkpoint (`kept`, if any), so the
 * file is always the model of the best line in the log.
 */
async function staleBest(file: string, kept: string, step: number): Promise<Either<MixrlError, void>> {
  if (await exists(file)) {
    const best = await loadCheckpoint(file);
    // The checkpoint's message starts with the file's name.
    if (isLeft(best)) return userError(`cannot read best.mixrl to check its step: ${best.left.message}`);
    const saved = (best.right.metadata as { step?: unknown }).step;
    if (typeof saved === 'number' && saved <= step) {
      await fs.rm(kept, { force: true });
      return right(undefined);
    }
    await fs.rm(file, { force: true });
  }
  if (await exists(kept)) await fs.rename(kept, file);
  return right(undefined);
}

/**
 * The first `count` records of the episode log, checked to be episodes 0..count-1 (those after the
 * checkpoint are replayed, and a line cut short by a kill is past them). A log that lacks or garbles
 * one of them disagrees with the checkpoint: an error naming the file and line, nothing written.
 */
async function episodesBefore(file: string, count: number): Promise<Either<MixrlError, string>> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (count === 0) return right('');
    return userError(`${file}: cannot read it (${ioReason(e)}), and the checkpoint has ${count} episodes to keep there; restore the log`);
  }
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let n = 0; n < lines.length && kept.length < count; n++) {
    if (lines[n].length === 0) continue;
    let episode: unknown;
    try {
      episode = (JSON.parse(lines[n]) as { episode?: unknown } | null)?.episode;
    } catch {
      episode = undefined;
    }
    if (episode !== kept.length) {
      const found = episode === undefined ? 'is not an episode record' : `is episode ${JSON.stringify(episode)}`;
      return userError(`${file}: line ${n + 1} ${found}, where the checkpoint's episode ${kept.length} belongs; the log disagrees with the checkpoint: restore it`);
    }
    kept.push(lines[n]);
  }
  if (kept.length < count) {
    return userError(`${file} holds ${kept.length} episodes, the checkpoint ${count}; the log disagrees with the checkpoint: restore it`);
  }
  return right(kept.map((l) => `${l}\n`).join(''));
}

/**
 * `mixrl train [--env --agent --seed --steps ... --config FILE --out DIR | --resume DIR... [--steps N]]`.
 * A new run needs an --out folder without a run in it; nothing is written until the run is built.
 * `--seeds N` starts N runs, seeds `--seed` on, trained together (one batched update per step) in a
 * folder each; `--resume` takes several folders to train together likewise. Each run folder is
 * locked (`train.lock`) from the first file written to the last: a second training on it is refused
 * while this one runs.
 *
 * @example
 * await trainCommand(['--env', 'Pendulum', '--steps', '20000', '--out', 'runs/p']); // Right(0)
 * await trainCommand(['--resume', 'runs/p', '--steps', '30000']); // Right(0)
 * await trainCommand(['--env', 'Pendulum', '--seeds', '5', '--out', 'runs/p5']); // runs/p5/seed0 ... seed4, Right(0)
 */
export async function trainCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(trainUsage());
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const { flags: given, positionals } = parsed.right;
  if (positionals.length > 0 && given.resume === undefined) return userError(`unexpected argument '${positionals[0]}' (mixrl train --help lists the flags)`);
  const { threads, ...flags } = given;
  const threadsSet = applyThreads(threads);
  if (isLeft(threadsSet)) return threadsSet;
  const planned = flags.resume !== undefined ? planResume(flags, positionals) : await planNew(flags);
  if (isLeft(planned)) return planned;
  const { outs, flag, open } = planned.right;
  const releases: (() => Promise<void>)[] = [];
  try {
    for (const out of outs) {
      const locked = await lockRun(out, flag);
      if (isLeft(locked)) return locked;
      releases.push(locked.right);
    }
    const runs = await open();
    if (isLeft(runs)) return runs;
    return runs.right.length === 1 ? await trainIn(runs.right[0], outs[0]) : await trainAllIn(runs.right, outs);
  } finally {
    for (const release of releases) await release();
  }
}

/** A training the flags ask for: its run folders, the flag that named them, and what opens the runs once the folders are locked. */
interface Plan {
  readonly outs: readonly string[];
  readonly flag: '--out' | '--resume';
  readonly open: () => Promise<Either<MixrlError, Run[]>>;
}

/** A path with its symbolic links and `..` resolved, as far as it exists (a new folder's parent may not). */
async function realFolder(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    const whole = path.resolve(p);
    const parent = path.dirname(whole);
    return parent === whole ? whole : path.join(await realFolder(parent), path.basename(whole));
  }
}

/** The first two of `outs` that are one folder (through `..` or a link), or undefined. */
async function sharedFolder(outs: readonly string[]): Promise<[number, number] | undefined> {
  const real = await Promise.all(outs.map(realFolder));
  for (let j = 0; j < real.length; j++) {
    const i = real.indexOf(real[j]);
    if (i !== j) return [i, j];
  }
  return undefined;
}

/** A resumed run, checked, and what writes its config.json and episodes.jsonl for the resume. */
interface Resumed {
  readonly run: Run;
  readonly commit: () => Promise<Either<MixrlError, void>>;
}

/**
 * `--resume DIR [DIR ...] [--steps N]`: the flags checked; the runs are read back once the folders
 * are locked, and nothing is written until every one of them checks out.
 */
function planResume(flags: Record<string, string | true>, more: readonly string[]): Either<MixrlError, Plan> {
  const { resume, steps, envModule, estimatorModule, ...others } = flags;
  if (resume === true || resume === '') return userError('flag --resume needs a run folder');
  const extra = Object.keys(others);
  if (extra.length > 0) {
    return userError(`--resume continues a run as configured; only --steps, --env-module and --estimator-module may be given with it, not --${kebab(extra[0])}`);
  }
  if (envModule === true || envModule === '') return userError('flag --env-module needs a file name');
  if (estimatorModule === true || estimatorModule === '') return userError('flag --estimator-module needs a file name');
  if (steps === true) return userError('flag --steps needs a value');
  const target = steps === undefined ? undefined : (parseDecimal(steps) ?? NaN);
  if (target !== undefined && !(Number.isSafeInteger(target) && target > 0)) {
    return userError(`flag --steps must be a positive integer, got '${String(steps)}'`);
  }
  const outs = [resume, ...more];
  const open = async (): Promise<Either<MixrlError, Run[]>> => {
    const twice = await sharedFolder(outs);
    if (twice) return userError(`--resume: ${outs[twice[1]]} is the folder ${outs[twice[0]]} again`);
    const resumed: Resumed[] = [];
    const loaded = new ModulesLoaded();
    for (const out of outs) {
      const one = await openResumed(out, target, envModule, estimatorModule, loaded);
      if (isLeft(one)) return one;
      resumed.push(one.right);
    }
    const runs = resumed.map((r) => r.run);
    const apart = runs.length > 1 ? batchProblem(runs) : undefined;
    if (apart !== undefined) return userError(`--resume ${outs.join(' ')}: these runs cannot be trained together: ${apart.replace(/run (\d+)/g, (_: string, i: string) => outs[Number(i)])}; resume them one by one`);
    for (const [i, { commit }] of resumed.entries()) {
      const written = await commit();
      if (isLeft(written)) return written;
      console.log(`resuming ${outs[i]} at step ${runs[i].step} of ${runs[i].config.steps}`);
    }
    return right(runs);
  };
  return right({ outs, flag: '--resume', open });
}

/** One folder of `--resume`, read back and checked against its files; `commit` writes its config.json and episodes.jsonl. */
async function openResumed(out: string, target: number | undefined, envModule: string | undefined, estimatorModule: string | undefined, loaded: ModulesLoaded): Promise<Either<MixrlError, Resumed>> {
  const resumed = await resumeRun(out, envModule, estimatorModule, loaded);
  if (isLeft(resumed)) return resumed;
  const run = resumed.right;
  if (target !== undefined && target <= run.step) {
    return userError(`flag --steps must be greater than the run's current step ${run.step}, got ${target} (${out})`);
  }
  if (target === undefined && run.step >= run.config.steps) {
    const summary = await readJsonFile(path.join(out, 'summary.json'));
    if (isRight(summary) && (summary.right as { finished?: unknown } | null)?.finished === true) {
      return userError(`${out} is finished at step ${run.step}; give --steps N (more than ${run.step}) to train it further`);
    }
    // Stopped between its last checkpoint and its summary: no step is left, the end is written now.
    console.log(`${out} reached step ${run.step} but its summary.json does not say finished: writing the end of the run`);
  }
  const episodesFile = path.join(out, 'episodes.jsonl');
  const episodes = await episodesBefore(episodesFile, run.rollout.episode);
  if (isLeft(episodes)) return episodes;
  // The new target, in memory until `commit` writes config.json: runs resumed together must share it.
  if (target !== undefined) (run.config as TrainConfig).steps = target;
  const commit = async (): Promise<Either<MixrlError, void>> => {
    // best.mixrl put back to the best as of the checkpoint's step (one that cannot be read refused) before anything else is written.
    if (run.config.evalEvery > 0) {
      const stale = await staleBest(path.join(out, BEST), path.join(out, CHECKPOINTED_BEST), run.step);
      if (isLeft(stale)) return stale;
    }
    // config.json says what the run now is: its new step target, a module given again.
    try {
      await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(run.config, null, 2)}\n`);
      await writeFileAtomic(episodesFile, episodes.right);
    } catch (e) {
      return userError(`--resume ${out}: cannot write config.json and episodes.jsonl there: ${ioReason(e)}`);
    }
    return right(undefined);
  };
  return right({ run, commit });
}

/** `--seeds N`: how many runs (seeds from the config's `seed` on), or undefined without it; `flags` loses `seeds`. */
function seedCount(flags: Record<string, string | true>): Either<MixrlError, number | undefined> {
  const { seeds } = flags;
  delete flags.seeds;
  if (seeds === undefined) return right(undefined);
  const count = seeds === true ? undefined : parseDecimal(seeds);
  if (count === undefined || !Number.isSafeInteger(count) || count < 1) return userError(`flag --seeds must be a positive integer (how many runs, seeds --seed on), got '${String(seeds)}'`);
  return right(count);
}

/**
 * The folder of a seed's run with `--seeds`: `--out DIR` with `{seed}` in it replaced, or
 * `DIR/seedN`; without --out, the default folder of a single run with that seed.
 */
async function seedOut(out: string | undefined, config: TrainConfig): Promise<string> {
  if (out === undefined) return defaultOut(config);
  return out.includes('{seed}') ? out.replaceAll('{seed}', String(config.seed)) : path.join(out, `seed${config.seed}`);
}

/** New runs (one, or one per seed of `--seeds`): their configs and folders checked and the runs built before any file is written. */
async function planNew(flags: Record<string, string | true>): Promise<Either<MixrlError, Plan>> {
  const count = seedCount(flags);
  if (isLeft(count)) return count;
  const planned = await configFromFlags(flags);
  if (isLeft(planned)) return planned;
  if (flags.out === true || flags.out === '') return userError('flag --out needs a folder');
  const { seed } = planned.right.config;
  // Compared so: seed + count - 1 itself may round back into the safe range.
  if (count.right !== undefined && seed > Number.MAX_SAFE_INTEGER - (count.right - 1)) {
    return userError(`--seeds ${count.right} from seed ${seed}: the last seed, ${BigInt(seed) + BigInt(count.right - 1)}, is not a safe integer`);
  }
  const seeds = count.right === undefined ? undefined : Array.from({ length: count.right }, (_, i) => seed + i);
  const configs = seeds === undefined ? [planned.right.config] : seeds.map((s) => ({ ...planned.right.config, seed: s }));
  const outs: string[] = [];
  for (const config of configs) {
    const out = seeds === undefined ? (flags.out ?? (await defaultOut(config))) : await seedOut(flags.out, config);
    const free = await checkOut(out);
    if (isLeft(free)) return free;
    outs.push(out);
  }
  const shared = await sharedFolder(outs);
  if (shared) return userError(`--seeds: seeds ${configs[shared[0]].seed} and ${configs[shared[1]].seed} would share the folder ${outs[shared[1]]} (--out ${flags.out})`);
  const backend = await selectBackend(configs[0]);
  if (isLeft(backend)) return backend;
  const runs: Run[] = [];
  for (const config of configs) {
    try {
      runs.push(createRun(config, backend.right, { estimator: planned.right.estimator }));
    } catch (e) {
      if (e instanceof MixrlError) return left(e);
      throw e;
    }
  }
  const open = async (): Promise<Either<MixrlError, Run[]>> => {
    for (const [i, config] of configs.entries()) {
      // Checked again under the lock: a run another process wrote here meanwhile is not overwritten.
      const still = await checkOut(outs[i]);
      if (isLeft(still)) return still;
      const started = await startRun(config, outs[i]);
      if (isLeft(started)) return started;
    }
    const [config] = configs;
    const which = configs.length === 1 ? `seed ${config.seed}` : `seeds ${configs[0].seed}-${configs[configs.length - 1].seed}, together`;
    console.log(`training ${agentWords(config)} on ${config.env} (${which}, ${config.steps} steps) -> ${outs.join(', ')}`);
    return right(runs);
  };
  return right({ outs, flag: '--out', open });
}

/** A run's agent, and its custom estimator if it has one: `sgm-mrp with the estimator scoreFunction`. */
const agentWords = (config: TrainConfig) => (config.estimator === undefined ? config.agent : `${config.agent} with the estimator ${config.estimator}`);

/** SIGINT and SIGTERM noted instead of ending the process, until `release`: the loop stops at its next step and saves. */
function stopOnSignals() {
  let signal: NodeJS.Signals | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    signal = s;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: () => signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The exit code of a training stopped by `signal`, after its line saying how to continue. */
function stoppedBy(signal: NodeJS.Signals, step: number, outs: readonly string[]): Outcome {
  console.log(`stopped by ${signal} at step ${step}; checkpoint saved; continue with: mixrl train --resume ${outs.join(' ')}`);
  return right(signal === 'SIGINT' ? 130 : 143);
}

/** The last line of a finished run. */
const doneLine = (summary: RunEnd) =>
  `done: ${summary.steps} steps, ${summary.episodes} episodes, mean return of the last 10 ${summary.meanReturnLast10.toFixed(2)}, ${summary.stepsPerSecond.toFixed(0)} steps/s`;

/** Trains an opened run in its (locked) folder to its `steps`, or until SIGINT or SIGTERM; exit code 0, 130 or 143. */
async function trainIn(run: Run, out: string): Promise<Outcome> {
  const folder = await RunFolder.open(run, out);
  if (isLeft(folder)) return folder;
  const hooks = folder.right.hooks(printLine);
  const stop = stopOnSignals();
  const report = progressReporter(run.config.steps, run.step);
  try {
    await train(run, { until: run.config.steps }, {
      ...hooks,
      onProgress: async (r: Run) => {
        await report(r);
        await hooks.onProgress?.(r);
      },
      shouldStop: () => stop.signal() !== null,
    });
  } catch (e) {
    if (e instanceof MixrlError && e.code === 'diverged') await folder.right.diverged(e);
    throw e;
  } finally {
    stop.release();
    folder.right.close();
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const summary = await folder.right.finish();
  const signal = stop.signal();
  if (signal) return stoppedBy(signal, run.step, [out]);
  console.log(doneLine(summary));
  return right(0);
}

/**
 * Trains opened runs that differ only in their seed, α and learning rates together (`trainBatch`),
 * each in its (locked) folder, to their `steps`, or until SIGINT or SIGTERM: exit code 0, 130 or
 * 143. A run whose policy diverges stops there (its summary says so) while the others go on; the
 * command then ends with that error (exit code 2).
 */
async function trainAllIn(runs: readonly Run[], outs: readonly string[]): Promise<Outcome> {
  // A run's name in lines about one of them: its seed, or its folder where seeds repeat (runs apart in α or learning rates).
  const seeds = runs.map((r) => r.config.seed);
  const bySeed = new Set(seeds).size === seeds.length;
  const label = (i: number) => (bySeed ? `seed ${seeds[i]}` : outs[i]);
  const folders: RunFolder[] = [];
  for (const [i, run] of runs.entries()) {
    const folder = await RunFolder.open(run, outs[i]);
    if (isLeft(folder)) {
      for (const opened of folders) opened.close();
      return folder;
    }
    folders.push(folder.right);
  }
  // The runs whose policy diverged, by index, with what their error said.
  const diverged = new Map<number, string>();
  const stop = stopOnSignals();
  const report = batchProgressReporter(runs);
  const hooks = folders.map((folder, i): RunHooks => {
    const own = folder.hooks((line) => printLine(`${label(i)}: ${line}`));
    return {
      ...own,
      onProgress: async (r: Run) => {
        await report(r);
        await own.onProgress?.(r);
      },
      onDiverged: async (e: MixrlError) => {
        await own.onDiverged?.(e);
        diverged.set(i, `${bySeed ? `${label(i)} (${outs[i]})` : outs[i]}: ${e.message}`);
        printLine(`${label(i)} diverged, the others go on: ${e.message}`);
      },
    };
  });
  try {
    await trainBatch(runs, { until: runs[0].config.steps }, hooks, () => stop.signal() !== null);
  } finally {
    stop.release();
    for (const folder of folders) folder.close();
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const ends: string[] = [];
  const going = runs.map((_, i) => i).filter((i) => !diverged.has(i));
  for (const i of going) ends.push(`${label(i)} ${doneLine(await folders[i].finish())}`);
  const signal = stop.signal();
  if (signal && going.length > 0) return stoppedBy(signal, Math.min(...going.map((i) => runs[i].step)), going.map((i) => outs[i]));
  for (const line of ends) console.log(line);
  if (diverged.size > 0) {
    return left(new MixrlError('diverged', `${diverged.size} of ${runs.length} runs diverged (the others finished): ${[...diverged.values()].join('; ')}`));
  }
  return right(0);
}

/** Progress of runs trained together, one line a step (the first run's hook to reach it prints it): their mean and range of return(10). */
function batchProgressReporter(runs: readonly Run[]) {
  const started = Date.now();
  const startStep = Math.min(...runs.map((r) => r.step));
  const total = runs[0].config.steps;
  const tty = process.stdout.isTTY === true;
  let shown = -1;
  return async (at: Run) => {
    if (at.step === shown) return;
    shown = at.step;
    const seconds = (Date.now() - started) / 1000;
    const rate = (at.step - startStep) / Math.max(seconds, 1e-9);
    const eta = (total - at.step) / Math.max(rate, 1e-9);
    const returns = runs.filter((r) => r.step === at.step).map((r) => recentReturn(r)).filter((x) => !Number.isNaN(x));
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const spread = returns.length === 0 ? '-' : `${mean.toFixed(1)} (${Math.min(...returns).toFixed(1)} to ${Math.max(...returns).toFixed(1)})`;
    const text = `${at.step}/${total} steps  ${runs.length} runs  ${rate.toFixed(0)} steps/s each  return(10) ${spread}  ETA ${formatDuration(eta)}`;
    if (tty) process.stdout.write(`\r${text}\x1b[K`);
    else console.log(text);
  };
}

const EVAL_FLAGS = { checkpoint: 'string', episodes: 'int', seed: 'int', envModule: 'string' } as const;
const EVAL_DEFAULTS = { episodes: 10, seed: 1_000_003 };

/**
 * `mixrl eval --checkpoint DIR [--episodes N] [--seed S]`: greedy and stochastic returns.
 *
 * @example
 * await evalCommand(['--checkpoint', 'runs/p', '--episodes', '5']); // prints three lines (the run, then greedy and sampled returns), Right(0)
 */
export async function evalCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(evalUsage());
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const { flags: given, positionals } = parsed.right;
  if (positionals.length > 0) return userError(`unexpected argument '${positionals[0]}' (mixrl eval --help lists the flags)`);
  const { threads, ...flags } = given;
  const threadsSet = applyThreads(threads);
  if (isLeft(threadsSet)) return threadsSet;
  const typed = typedFlags(flags, EVAL_FLAGS, {}, ['threads']);
  if (isLeft(typed)) return typed;
  const { checkpoint, episodes = EVAL_DEFAULTS.episodes, seed = EVAL_DEFAULTS.seed, envModule } = typed.right as {
    checkpoint?: string;
    episodes?: number;
    seed?: number;
    envModule?: string;
  };
  if (checkpoint === undefined) return userError('--checkpoint DIR is required');
  if (!(episodes > 0)) return userError(`flag --episodes must be a positive integer, got ${episodes}`);
  const file = checkpoint.endsWith('.mixrl') ? checkpoint : path.join(checkpoint, CHECKPOINT);
  // The env module: --env-module FILE, or else the one the checkpoint records (which must be unchanged).
  const where = `--checkpoint ${checkpoint}`;
  const prepareEnv = await runEnvPreparer(envModule, where);
  if (isLeft(prepareEnv)) return prepareEnv;
  // A custom estimator is not loaded: the policy acts alone (as for export), so a run stays
  // evaluable after its estimator module is edited, renamed or left behind on another machine.
  const loaded = await loadRun(file, cpu, { prepareEnv: prepareEnv.right, weightsOnly: true });
  if (isLeft(loaded)) return loaded;
  const run = loaded.right;
  console.log(`${agentWords(run.config)} on ${run.config.env}, trained ${run.step} steps`);
  for (const how of ['mode', 'sample'] as const) {
    const returns = await evaluate(run, episodes, how, seed);
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
    console.log(`${how === 'mode' ? 'deterministic' : 'stochastic   '}  mean return ${mean.toFixed(2)} ± ${std.toFixed(2)} over ${episodes} episodes`);
  }
  return right(0);
}

/** One line of a usage text: a flag, its value and what it does or defaults to. */
const usageLine = (flag: string, about: string) => `  ${flag.padEnd(30)} ${about}`.trimEnd();

/** What a flag's value looks like, by key (enums) or by kind. */
const PLACEHOLDERS: Record<string, string> = {
  env: 'ID',
  agent: 'NAME',
  estimator: 'NAME',
  init: 'torch|xavier-uniform|orthogonal',
  backend: 'auto|cpu|webgpu',
  dtype: 'float32|float64',
  int: 'N',
  number: 'X',
  numberOrAuto: 'X|auto',
  boolean: '[true|false]',
  string: 'TEXT',
  intList: 'N,N,...',
};

/** What `mixrl train --help` adds after some flags' defaults. */
const FLAG_NOTES: Record<string, string> = {
  estimator: 'which estimator of --estimator-module to train (may be left out when it defines one)',
  batchSize: ' (also --batch)',
  targetEntropy: " (-A, A the action dimensions): automatic alpha's target entropy (with --auto-alpha only)",
  trainFreq: ': update after every N-th environment step (SB3 train_freq)',
  gradientSteps: ": SAC updates each time (SB3 gradient_steps; its -1 is --train-freq's N)",
  evalEvery: ` (off); N: evaluate greedy and sampled actions every N steps into ${EVALUATIONS}`,
  evalEpisodes: ': episodes per way of acting at each evaluation',
  tensorboard: '; true: write a TensorBoard event file (events.out.tfevents.*) in the run folder',
};

/** `mixrl train --help`: every flag, the config keys with their classic-control defaults. */
function trainUsage(): string {
  const defaults: Record<string, unknown> = { ...CLASSIC_DEFAULTS, ...RUN_DEFAULTS };
  const shown = (value: unknown) =>
    Array.isArray(value) ? value.join(',') : typeof value === 'number' && String(value).length > 10 ? `about ${value.toPrecision(4)}` : String(value);
  const keys = Object.entries(flagKinds()).map(([key, kind]) => {
    const value = defaults[key];
    const about = value === undefined ? '' : `default ${shown(value)}`;
    const flag = `--${kebab(key)} ${PLACEHOLDERS[key] ?? PLACEHOLDERS[kind]}`;
    return usageLine(flag, Object.hasOwn(FLAG_NOTES, key) ? `${about}${FLAG_NOTES[key]}` : about);
  });
  return [
    'usage: mixrl train [flags]            start a run in a new folder',
    '       mixrl train --seeds N [flags]  start N runs (seeds --seed on), trained together',
    '       mixrl train --resume DIR [DIR ...] [--steps N]',
    '',
    'flags (a config key each; defaults: the paper\'s classic-control setup, MountainCar with --critic-lr 0.0001):',
    ...keys,
    '',
    usageLine('--config FILE', 'a JSON object of config keys (envOptions only there); flags override it'),
    usageLine('--env-module FILE', 'an ES module defining environments of your own (docs/envs.md); --env picks one, and a run'),
    usageLine('', 'records the file: --resume and eval load it again (with --resume: use FILE instead)'),
    usageLine('--estimator-module FILE', 'an ES module defining actor-gradient estimators of your own (docs/estimators.md): the one'),
    usageLine('', "--estimator names replaces the agent's, which still picks the policy; a run records the file,"),
    usageLine('', 'and --resume and --config load it again, as with --env-module (eval needs none)'),
    usageLine('--out DIR', 'the run folder, new or without a run in it (default runs/ENV-AGENT-seedN, or -2, -3, ... when taken)'),
    usageLine('--seeds N', 'N runs of seeds --seed (default 0) on, each in its folder (--out DIR: DIR/seedN, or DIR with'),
    usageLine('', '{seed} replaced), trained together: one batched action call and SAC update per step (vmap),'),
    usageLine('', 'the same runs bit for bit on the CPU as one by one, faster (1.3-1.6x for 5-10 classic-control'),
    usageLine('', 'runs on a CPU; on a GPU far more)'),
    usageLine('--resume DIR [DIR ...]', 'continue the run in DIR as configured; several runs that differ only in their seed, alpha'),
    usageLine('', 'and learning rates are trained together; only --steps, --env-module, --estimator-module and'),
    usageLine('', '--threads may be given with it'),
    usageLine('--threads N', 'CPU threads (default: the cores, up to 4; MIXRL_THREADS)'),
    usageLine('--help, -h', 'this text'),
  ].join('\n');
}

/** `mixrl eval --help`. */
function evalUsage(): string {
  return [
    'usage: mixrl eval --checkpoint DIR [flags]',
    '',
    usageLine('--checkpoint DIR|FILE', `a run folder or a ${CHECKPOINT} file (required)`),
    usageLine('--episodes N', `episodes per way of acting (default ${EVAL_DEFAULTS.episodes})`),
    usageLine('--seed N', `the evaluation episodes' seed (default ${EVAL_DEFAULTS.seed})`),
    usageLine('--env-module FILE', "the env module to load instead of the one the run recorded (docs/envs.md)"),
    usageLine('--threads N', 'CPU threads (default: the cores, up to 4; MIXRL_THREADS)'),
    usageLine('--help, -h', 'this text'),
  ].join('\n');
}

/** `mixrl agents`: the agent names and what they are. */
export function agentsCommand(): Outcome {
  for (const name of agentNames()) console.log(`${name.padEnd(14)} ${AGENTS[name].description}`);
  return right(0);
}

