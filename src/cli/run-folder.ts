/**
 * A run folder while `mixrl train` writes it, whether the run trains alone or with others: the
 * files the training hooks write as it goes (episodes.jsonl, evaluations.jsonl and best.mixrl, the
 * TensorBoard events, checkpoint.mixrl), and its end (the last checkpoint and summary.json, or the
 * summary of a run whose policy diverged).
 */
import { appendFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { ConfigError } from '../experiments/config';
import { evaluateRun, type EvaluationRecord, type EvaluationStats } from '../experiments/evaluation';
import { exists, writeFileAtomic } from '../experiments/files';
import { type EpisodeRecord, type Run, runSummary, saveRun } from '../experiments/train';
import type { RunHooks } from '../experiments/train-batch';
import { removeLeftoverTemps } from '../rl/checkpoint';
import type { MixrlError } from '../tensor';
import { EvaluationLog, TensorBoardLog } from './run-logs';

export const CHECKPOINT = 'checkpoint.mixrl';
/** The run at its best evaluation so far (SB3's EvalCallback `best_model`), with evaluations on. */
export const BEST = 'best.mixrl';
/**
 * The best run as of the last checkpoint, kept aside while best.mixrl holds a newer best (saved
 * after that checkpoint): a run resumed from the checkpoint drops that newer evaluation and gets
 * this one back as best.mixrl.
 */
export const CHECKPOINTED_BEST = 'best-at-checkpoint.mixrl';
export const EVALUATIONS = 'evaluations.jsonl';

/** What an fs error says in one line: its code (ENOENT, EACCES, ...) or its message. */
export const ioReason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** An evaluation in one line. */
function evaluationLine(r: EvaluationRecord): string {
  const stats = (s: EvaluationStats) => `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)} (length ${s.meanLength.toFixed(0)})`;
  return `eval at step ${r.step}: greedy ${stats(r.mode)}, sampled ${stats(r.sample)} over ${r.episodes} episodes`;
}

/** What summary.json holds at a run's end. */
export type RunEnd = ReturnType<typeof runSummary> & { lastEvaluation?: EvaluationRecord | null; bestEvaluation?: EvaluationRecord | null };

/**
 * The files of one run as it trains in `out` (made and locked by then).
 *
 * @example
 * const folder = await RunFolder.open(run, 'runs/p'); // Right(folder)
 * await train(run, { until: run.config.steps }, folder.right.hooks(console.log));
 * await folder.right.finish(); // the last checkpoint, then summary.json
 */
export class RunFolder {
  private readonly started = Date.now();
  private readonly startStep: number;
  /**
   * Whether best.mixrl is the best as of the last checkpoint (a newer best moves it to
   * best-at-checkpoint.mixrl first; on --resume, the resume made it so when the run was opened).
   */
  private bestCheckpointed: boolean;
  /** The step of the run's checkpoint in the folder, if it has one. */
  private checkpointStep: number | undefined;

  private constructor(
    readonly run: Run,
    readonly out: string,
    private readonly evaluations: EvaluationLog | null,
    private readonly tensorboard: TensorBoardLog | null,
    bestCheckpointed: boolean,
  ) {
    this.startStep = run.step;
    this.bestCheckpointed = bestCheckpointed;
  }

  /** Notes that the folder's checkpoint holds the run at `step` (a resumed run's, when it opens). */
  private checkpointed(step: number): this {
    this.checkpointStep = step;
    return this;
  }

  /**
   * The run's folder, its logs opened where the run is (on --resume, evaluations after the
   * checkpoint's step are dropped: the run does them again) and a killed writer's temporaries removed.
   */
  static async open(run: Run, out: string): Promise<Either<MixrlError, RunFolder>> {
    // This command holds the folder: temporaries of its files are a killed writer's, as large as a checkpoint.
    await removeLeftoverTemps(out, [CHECKPOINT, BEST, CHECKPOINTED_BEST, EVALUATIONS, 'episodes.jsonl', 'summary.json', 'config.json']);
    const bestCheckpointed = run.config.evalEvery > 0 && (await exists(path.join(out, BEST)));
    try {
      const evaluations = run.config.evalEvery > 0 ? await EvaluationLog.open(path.join(out, EVALUATIONS), run.step) : null;
      const tensorboard = run.config.tensorboard ? new TensorBoardLog(out, run.step) : null;
      const folder = new RunFolder(run, out, evaluations, tensorboard, bestCheckpointed);
      return right((await exists(path.join(out, CHECKPOINT))) ? folder.checkpointed(run.step) : folder);
    } catch (e) {
      return left(new ConfigError(`${out}: cannot write the run's logs there: ${ioReason(e)}`));
    }
  }

  private async save(file: string): Promise<void> {
    const saved = await saveRun(this.run, path.join(this.out, file));
    if (isLeft(saved)) throw saved.left;
  }

  private async checkpoint(): Promise<void> {
    await this.save(CHECKPOINT);
    this.checkpointed(this.run.step);
    if (this.evaluations === null) return;
    await fs.rm(path.join(this.out, CHECKPOINTED_BEST), { force: true });
    this.bestCheckpointed = await exists(path.join(this.out, BEST));
  }

  private async saveBest(): Promise<void> {
    if (this.bestCheckpointed) await fs.rename(path.join(this.out, BEST), path.join(this.out, CHECKPOINTED_BEST));
    this.bestCheckpointed = false;
    await this.save(BEST);
  }

  /**
   * The hooks that write the run's files as it trains; `print` shows an evaluation's line. Progress
   * lines on the terminal are the caller's (`onProgress` here writes the TensorBoard scalars).
   */
  hooks(print: (line: string) => void): RunHooks {
    const { tensorboard, evaluations } = this;
    const episodes = path.join(this.out, 'episodes.jsonl');
    return {
      onEpisode: (e: EpisodeRecord) => {
        appendFileSync(episodes, `${JSON.stringify(e)}\n`);
        tensorboard?.episode(e);
      },
      onProgress: async (r: Run) => {
        await tensorboard?.progress(r);
      },
      onEvaluate: async (r: Run) => {
        const record = await evaluateRun(r);
        const best = evaluations?.append(record) === true;
        tensorboard?.evaluation(record);
        print(`${evaluationLine(record)}${best ? ` (best so far: ${BEST})` : ''}`);
        if (best) await this.saveBest();
      },
      onCheckpoint: async () => {
        tensorboard?.flush();
        await this.checkpoint();
      },
      onDiverged: (e: MixrlError) => this.diverged(e),
    };
  }

  private async writeSummary(summary: object): Promise<void> {
    await writeFileAtomic(path.join(this.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  }

  /**
   * The summary of a run whose policy diverged (`diverged`: the message): a sweep ranks the run as
   * diverged instead of failing on it. A checkpoint at step 0 goes: a run started elsewhere to be
   * trained here (`mixrl reproduce` starts runs so to train them together) ends as it would have
   * alone, without a checkpoint before its first.
   */
  async diverged(e: MixrlError): Promise<void> {
    await this.writeSummary({ ...runSummary(this.run, this.startStep, this.seconds()), diverged: e.message });
    if (this.checkpointStep === 0) await fs.rm(path.join(this.out, CHECKPOINT), { force: true });
  }

  private seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** The end of a run that did not diverge (finished, or stopped by a signal): its checkpoint, then summary.json, which it returns. */
  async finish(): Promise<RunEnd> {
    await this.checkpoint();
    const summary: RunEnd = {
      ...runSummary(this.run, this.startStep, this.seconds()),
      // With evaluations on: the last and the best (highest greedy mean) so far, null before the first.
      ...(this.evaluations && { lastEvaluation: this.evaluations.summary().last, bestEvaluation: this.evaluations.summary().best }),
    };
    await this.writeSummary(summary);
    return summary;
  }

  /** Closes the TensorBoard file (after the training, whatever its end). */
  close(): void {
    this.tensorboard?.close();
  }
}
