/**
 * The paper's experiments as values: each one a pure description of what it runs and a `run` that
 * returns its numbers (tables and figure series), so the command that reproduces it, the tests that
 * check it at a small scale, and the files it writes all share one shape.
 */
import type { Backend } from '../../tensor';

/** How much of the paper's protocol to run: `paper` as published, `quick` the same code in seconds to about a minute. */
export type Scale = 'quick' | 'paper';

export interface ExperimentContext {
  readonly scale: Scale;
  /** The seeds to run (the experiment's own default when the user gives none). */
  readonly seeds: readonly number[];
  readonly backend: Backend;
  /** A folder of the experiment's own for intermediate files (runs to resume), created before `run`. */
  readonly workDir: string;
  /**
   * How many training runs may run at once (child processes of the CLI, one core each); 1 when
   * absent. Experiments that train nothing, or run in this process only, ignore it.
   */
  readonly jobs?: number;
  /**
   * How many runs of one setting (its seeds) may train together in one process, one batched update
   * per step (`trainBatch`; the same runs bit for bit on the CPU); 1 when absent: each run alone.
   */
  readonly together?: number;
  /**
   * Select each agent's hyperparameters first, as the paper does (`mixrl reproduce --sweep`): a grid
   * sweep per environment and agent, then reruns of the best setting. Only experiments that say
   * `sweepable` read it.
   */
  readonly sweep?: boolean;
  /** One line of progress for the user. */
  log(line: string): void;
}

/** One line (or band) of a figure: x against y, with an optional band lo..hi (e.g. a 95% interval). */
export interface Series {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly lo?: readonly number[];
  readonly hi?: readonly number[];
  /** Drawn dashed (e.g. saddle points beside maxima), so a line under another one stays visible. */
  readonly dashed?: boolean;
}

export interface Figure {
  /** File name stem, e.g. `fig2-alpha` (written as `<id>.svg`). */
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly series: readonly Series[];
}

export interface Table {
  /** File name stem, e.g. `table4` (written as `<id>.csv`). */
  readonly id: string;
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

export interface ExperimentResult {
  readonly tables: readonly Table[];
  readonly figures: readonly Figure[];
  /** What the numbers say about the paper's claim, in a sentence or two, computed from them. */
  readonly findings: readonly string[];
}

export interface PaperExperiment {
  /** The command's name for it, e.g. `fig2-bandits`. */
  readonly name: string;
  /** Where it is in the paper, e.g. `Fig. 2 (Sec. 5.1)`. */
  readonly paperRef: string;
  /** What it runs and what the paper claims, one paragraph. */
  readonly summary: string;
  /** Seeds when the user gives none, per scale. */
  readonly defaultSeeds: Readonly<Record<Scale, number>>;
  /** Whether it runs the paper's hyperparameter sweep when `ctx.sweep` is set. */
  readonly sweepable?: boolean;
  run(ctx: ExperimentContext): Promise<ExperimentResult>;
}
