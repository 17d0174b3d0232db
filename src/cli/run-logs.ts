/**
 * The logs `mixrl train` keeps in a run folder besides episodes.jsonl: `evaluations.jsonl` (one line
 * per periodic evaluation) and the TensorBoard event file, with the tags it writes.
 */
import { appendFileSync, promises as fs } from 'node:fs';
import type { EpisodeRecord, Run } from '../experiments/train';
import type { EvaluationRecord } from '../experiments/evaluation';
import { EventFileWriter } from '../experiments/tensorboard';
import { writeFileAtomic } from '../experiments/files';

/** The last evaluation and the best (highest greedy mean return; the earliest of equals). */
export interface EvaluationSummary {
  last: EvaluationRecord | null;
  best: EvaluationRecord | null;
}

/** A line of the log: a step, and a greedy mean that is a number or null (JSON's NaN, a diverged policy's). */
const isRecord = (x: unknown): x is EvaluationRecord =>
  x !== null &&
  typeof x === 'object' &&
  Number.isSafeInteger((x as EvaluationRecord).step) &&
  (typeof (x as EvaluationRecord).mode?.mean === 'number' || (x as EvaluationRecord).mode?.mean === null);

/**
 * `evaluations.jsonl`: appends one JSON line per evaluation and keeps the last and best.
 *
 * @example
 * const log = await EvaluationLog.open('runs/p/evaluations.jsonl', run.step); // a new run (step 0) or a resumed one
 * log.append(await evaluateRun(run));
 * log.summary(); // { last, best }
 */
export class EvaluationLog {
  private constructor(
    readonly file: string,
    private last: EvaluationRecord | null,
    private best: EvaluationRecord | null,
  ) {}

  /**
   * The log of a run resumed at `step`: lines of evaluations after it (written after the checkpoint
   * the run resumes from, and about to be run again) and lines that do not parse (a write cut short)
   * are dropped; a missing file is an empty log.
   *
   * @example
   * const log = await EvaluationLog.open('runs/p/evaluations.jsonl', 2500); // keeps steps 1000 and 2000
   */
  static async open(file: string, step: number): Promise<EvaluationLog> {
    let text = '';
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return new EvaluationLog(file, null, null);
    }
    const kept: EvaluationRecord[] = [];
    for (const line of text.split('\n')) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      if (isRecord(record) && record.step <= step) kept.push(record);
    }
    await writeFileAtomic(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const log = new EvaluationLog(file, null, null);
    for (const record of kept) log.note(record);
    return log;
  }

  /**
   * Notes `record` as the last, and as the best when its greedy mean beats the best's (as SB3's
   * `best_mean_reward`, from -Infinity: a NaN mean, a diverged policy's, is never the best); whether it did.
   */
  private note(record: EvaluationRecord): boolean {
    this.last = record;
    const mean = record.mode.mean as number | null;
    const better = mean !== null && mean > (this.best?.mode.mean ?? -Infinity);
    if (better) this.best = record;
    return better;
  }

  /**
   * Appends a line (synchronously: the line is in the file before the next checkpoint); true when it
   * is the new best.
   */
  append(record: EvaluationRecord): boolean {
    appendFileSync(this.file, `${JSON.stringify(record)}\n`);
    return this.note(record);
  }

  summary(): EvaluationSummary {
    return { last: this.last, best: this.best };
  }
}

/**
 * The TensorBoard tags `mixrl train --tensorboard` writes (SB3's names where SB3 has the quantity).
 * Steps are environment steps.
 */
export const TAGS = {
  /** Each episode's return, at the step it ended. */
  episodeReturn: 'rollout/ep_rew',
  /** Each episode's length, at the step it ended. */
  episodeLength: 'rollout/ep_len',
  /** Every logEvery steps: mean return of the last 100 episodes (SB3's window). */
  returnMean: 'rollout/ep_rew_mean',
  /** Every logEvery steps, once updates run: the latest update's metrics. */
  criticLoss: 'train/critic_loss',
  actorLoss: 'train/actor_loss',
  /** α, SB3's entropy coefficient. */
  alpha: 'train/ent_coef',
  /** -E[log π] from the update's draw. */
  entropy: 'train/entropy',
  meanQ: 'train/mean_q',
  /** Every logEvery steps: steps per second since this process started training. */
  fps: 'time/fps',
  /** At each evaluation: greedy actions' mean return and episode length (SB3's EvalCallback, deterministic). */
  evalReturn: 'eval/mean_reward',
  evalLength: 'eval/mean_ep_length',
  /** At each evaluation: sampled actions' mean return and episode length. */
  evalReturnSample: 'eval/mean_reward_sample',
  evalLengthSample: 'eval/mean_ep_length_sample',
} as const;

/** Episodes in `rollout/ep_rew_mean`'s window. */
const RETURN_WINDOW = 100;

/**
 * A run's TensorBoard event file (a new one per process: a resumed run starts another) fed by the
 * training hooks.
 *
 * @example
 * const tb = new TensorBoardLog('runs/p', run.step);
 * tb.episode(record); await tb.progress(run); tb.evaluation(evaluationRecord); tb.close();
 */
export class TensorBoardLog {
  private readonly writer: EventFileWriter;
  private readonly started = performance.now();

  constructor(
    dir: string,
    private readonly startStep: number,
  ) {
    this.writer = new EventFileWriter(dir);
  }

  episode(e: EpisodeRecord): void {
    this.writer.scalar(TAGS.episodeReturn, e.return, e.step);
    this.writer.scalar(TAGS.episodeLength, e.length, e.step);
  }

  /** The scalars of a log interval; flushes. */
  async progress(run: Run): Promise<void> {
    const w = this.writer;
    const last = run.returns.slice(-RETURN_WINDOW);
    if (last.length > 0) w.scalar(TAGS.returnMean, last.reduce((a, b) => a + b, 0) / last.length, run.step);
    const m = run.lastMetrics;
    if (m) {
      w.scalar(TAGS.criticLoss, await m.criticLoss.item(), run.step);
      w.scalar(TAGS.actorLoss, await m.actorLoss.item(), run.step);
      w.scalar(TAGS.alpha, await m.alpha.item(), run.step);
      w.scalar(TAGS.entropy, await m.entropy.item(), run.step);
      w.scalar(TAGS.meanQ, await m.meanQ.item(), run.step);
    }
    const seconds = (performance.now() - this.started) / 1000;
    w.scalar(TAGS.fps, (run.step - this.startStep) / Math.max(seconds, 1e-9), run.step);
    w.flush();
  }

  /** An evaluation's means; flushes. */
  evaluation(r: EvaluationRecord): void {
    this.writer.scalar(TAGS.evalReturn, r.mode.mean, r.step);
    this.writer.scalar(TAGS.evalLength, r.mode.meanLength, r.step);
    this.writer.scalar(TAGS.evalReturnSample, r.sample.mean, r.step);
    this.writer.scalar(TAGS.evalLengthSample, r.sample.meanLength, r.step);
    this.writer.flush();
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}
