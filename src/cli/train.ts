/**
 * `mixrl train`, `mixrl eval` and `mixrl agents`. User errors come back as `Left` and are printed as
 * one line with exit code 2 by `main.ts`.
 */
import { appendFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { flagKinds, resolveConfig, type TrainConfig, validatePartial } from '../experiments/config';
import { writeFileAtomic } from '../experiments/files';
import { createRun, type EpisodeRecord, evaluate, loadRun, recentReturn, type Run, saveRun, train } from '../experiments/train';
import { AGENTS, agentNames } from '../rl/sac/agents';
import { type Backend, cpu, MixrlError, setCpuThreads } from '../tensor';
import { initBackend } from '../tensor/webgpu';
import { parseArgs, typedFlags } from './args';

const CHECKPOINT = 'checkpoint.mixrl';

/** Result of a command: an exit code, or a user error to print. */
type Outcome = Either<MixrlError, number>;

async function readJsonFile(file: string): Promise<Either<MixrlError, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    return left(new MixrlError('config', `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
  }
  try {
    return right(JSON.parse(text));
  } catch (e) {
    return left(new MixrlError('config', `${file}: malformed JSON: ${(e as Error).message}`));
  }
}

async function selectBackend(choice: TrainConfig['backend']): Promise<Either<MixrlError, Backend>> {
  try {
    return right(await initBackend(choice));
  } catch (e) {
    if (e instanceof MixrlError) return left(new MixrlError('config', `backend '${choice}': ${e.message}`));
    throw e;
  }
}

/** The config layers a train command asks for: a config file, then flags. */
async function configFromFlags(flags: Record<string, string | true>): Promise<Either<MixrlError, TrainConfig>> {
  const { config: configFile, out: _out, ...rest } = flags;
  // MIXRL_BACKEND chooses the backend unless the config file or --backend does.
  const env = process.env.MIXRL_BACKEND;
  const layers: Partial<TrainConfig>[] = env ? [{ backend: env as TrainConfig['backend'] }] : [];
  if (configFile !== undefined) {
    if (configFile === true) return left(new MixrlError('config', 'flag --config needs a file name'));
    const raw = await readJsonFile(configFile);
    if (isLeft(raw)) return raw;
    const checked = validatePartial(raw.right, configFile);
    if (isLeft(checked)) return checked;
    layers.push(checked.right);
  }
  const typed = typedFlags(rest, flagKinds(), { batch: 'batchSize' }, ['config', 'out', 'resume', 'threads']);
  if (isLeft(typed)) return typed;
  const checked = validatePartial(typed.right, 'flags');
  if (isLeft(checked)) return checked;
  layers.push(checked.right);
  return resolveConfig(layers);
}

/**
 * `--threads N`: the threads CPU plans share work with (`setCpuThreads`), not part of a run's
 * config: any count gives the same bits. 1 for runs side by side, one per core.
 */
function applyThreads(value: string | true | undefined): Either<MixrlError, void> {
  if (value === undefined) return right(undefined);
  const count = value === true ? NaN : Number(value);
  if (!Number.isInteger(count) || count < 1) return left(new MixrlError('config', `flag --threads must be a positive integer, got '${String(value)}'`));
  try {
    setCpuThreads(count);
  } catch (e) {
    if (e instanceof MixrlError) return left(new MixrlError('config', `flag --threads: ${e.message}`));
    throw e;
  }
  return right(undefined);
}

function defaultOut(config: TrainConfig): string {
  return path.join('runs', `${config.env}-${config.agent}-seed${config.seed}`);
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

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Keeps the first `count` lines of a JSONL log (episodes logged after a checkpoint are replayed). */
async function truncateLog(file: string, count: number): Promise<void> {
  let text = '';
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return;
  }
  const lines = text.split('\n').filter((l) => l.length > 0).slice(0, count);
  await writeFileAtomic(file, lines.map((l) => `${l}\n`).join(''));
}

/**
 * `mixrl train [--env --agent --seed --steps ... --config FILE --out DIR | --resume DIR [--steps N]]`.
 */
export async function trainCommand(argv: readonly string[]): Promise<Outcome> {
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const { flags: given, positionals } = parsed.right;
  if (positionals.length > 0) return left(new MixrlError('config', `mixrl train: unexpected argument '${positionals[0]}'`));
  const { threads, ...flags } = given;
  const threadsSet = applyThreads(threads);
  if (isLeft(threadsSet)) return threadsSet;

  let run: Run;
  let out: string;
  if (flags.resume !== undefined) {
    const { resume, steps, ...others } = flags;
    if (resume === true) return left(new MixrlError('config', 'flag --resume needs a run folder'));
    const extra = Object.keys(others);
    if (extra.length > 0) return left(new MixrlError('config', `--resume continues a run as configured; only --steps may be given with it, not --${extra[0]}`));
    out = resume;
    const saved = await readJsonFile(path.join(out, 'config.json'));
    const choice = isLeft(saved) ? 'cpu' : ((saved.right as Partial<TrainConfig>).backend ?? 'cpu');
    const backend = await selectBackend(choice);
    if (isLeft(backend)) return backend;
    const loaded = await loadRun(path.join(out, CHECKPOINT), backend.right);
    if (isLeft(loaded)) return loaded;
    run = loaded.right;
    if (steps !== undefined) {
      const n = Number(steps);
      if (!Number.isSafeInteger(n) || n <= 0) return left(new MixrlError('config', `flag --steps must be a positive integer, got '${String(steps)}'`));
      (run.config as TrainConfig).steps = n;
    }
    await truncateLog(path.join(out, 'episodes.jsonl'), run.rollout.episode);
    console.log(`resuming ${out} at step ${run.step} of ${run.config.steps}`);
  } else {
    const config = await configFromFlags(flags);
    if (isLeft(config)) return config;
    if (flags.out === true) return left(new MixrlError('config', 'flag --out needs a folder'));
    out = flags.out ?? defaultOut(config.right);
    const backend = await selectBackend(config.right.backend);
    if (isLeft(backend)) return backend;
    await fs.mkdir(out, { recursive: true });
    await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(config.right, null, 2)}\n`);
    await writeFileAtomic(path.join(out, 'episodes.jsonl'), '');
    run = createRun(config.right, backend.right);
    console.log(`training ${config.right.agent} on ${config.right.env} (seed ${config.right.seed}, ${config.right.steps} steps) -> ${out}`);
  }

  const episodesFile = path.join(out, 'episodes.jsonl');
  const checkpointFile = path.join(out, CHECKPOINT);
  let stopSignal: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    stopSignal = signal;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  const startStep = run.step;
  const checkpoint = async (r: Run) => {
    const saved = await saveRun(r, checkpointFile);
    if (isLeft(saved)) throw saved.left;
  };
  try {
    await train(run, { until: run.config.steps }, {
      onEpisode: (e: EpisodeRecord) => appendFileSync(episodesFile, `${JSON.stringify(e)}\n`),
      onProgress: progressReporter(run.config.steps, startStep),
      onCheckpoint: checkpoint,
      shouldStop: () => stopSignal !== null,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  await checkpoint(run);
  const seconds = (Date.now() - started) / 1000;
  const summary = {
    env: run.config.env,
    agent: run.config.agent,
    seed: run.config.seed,
    steps: run.step,
    episodes: run.returns.length,
    meanReturnLast10: recentReturn(run, 10),
    wallSeconds: seconds,
    stepsPerSecond: (run.step - startStep) / Math.max(seconds, 1e-9),
    finished: run.step >= run.config.steps,
  };
  await writeFileAtomic(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (stopSignal) {
    console.log(`stopped by ${stopSignal} at step ${run.step}; checkpoint saved; continue with: mixrl train --resume ${out}`);
    return right(stopSignal === 'SIGINT' ? 130 : 143);
  }
  console.log(
    `done: ${summary.steps} steps, ${summary.episodes} episodes, mean return of the last 10 ${summary.meanReturnLast10.toFixed(2)}, ${summary.stepsPerSecond.toFixed(0)} steps/s`,
  );
  return right(0);
}

/** `mixrl eval --checkpoint DIR [--episodes N] [--seed S]`: greedy and stochastic returns. */
export async function evalCommand(argv: readonly string[]): Promise<Outcome> {
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const { threads, ...flags } = parsed.right.flags;
  const threadsSet = applyThreads(threads);
  if (isLeft(threadsSet)) return threadsSet;
  const typed = typedFlags(flags, { checkpoint: 'string', episodes: 'int', seed: 'int' }, {}, ['threads']);
  if (isLeft(typed)) return typed;
  const { checkpoint, episodes = 10, seed = 1_000_003 } = typed.right as { checkpoint?: string; episodes?: number; seed?: number };
  if (checkpoint === undefined) return left(new MixrlError('config', 'mixrl eval: --checkpoint DIR is required'));
  if (!(episodes > 0)) return left(new MixrlError('config', `flag --episodes must be a positive integer, got ${episodes}`));
  const file = checkpoint.endsWith('.mixrl') ? checkpoint : path.join(checkpoint, CHECKPOINT);
  const loaded = await loadRun(file, cpu);
  if (isLeft(loaded)) return loaded;
  const run = loaded.right;
  console.log(`${run.config.agent} on ${run.config.env}, trained ${run.step} steps`);
  for (const how of ['mode', 'sample'] as const) {
    const returns = await evaluate(run, episodes, how, seed);
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
    console.log(`${how === 'mode' ? 'deterministic' : 'stochastic   '}  mean return ${mean.toFixed(2)} ± ${std.toFixed(2)} over ${episodes} episodes`);
  }
  return right(0);
}

/** `mixrl agents`: the agent names and what they are. */
export function agentsCommand(): Outcome {
  for (const name of agentNames()) console.log(`${name.padEnd(14)} ${AGENTS[name].description}`);
  return right(0);
}

