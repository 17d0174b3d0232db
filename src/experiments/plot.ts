/**
 * Learning curves of any training runs (`mixrl plot`): runs are grouped by the settings that tell
 * them apart (every config key whose value differs among them, seeds and bookkeeping aside), each
 * group's seeds averaged on a common grid of environment steps with a 95% Student-t band, one figure
 * per environment, and a summary of each group's area under the curve and final return. The same
 * statistics as the paper's experiments (`paper/stats.ts`), and beside them rliable's (`reliable.ts`):
 * each group's median, IQM and mean over runs with bootstrap intervals, the probability of improvement
 * between the groups of an env and its mean over envs, and groups aggregated over envs given a
 * normalization.
 */
import { DEFAULT_RESAMPLES } from './bootstrap';
import { isModuleRef, type ModuleRef } from './config';
import { agentLabel } from './paper/curves';
import { intervalCells, tableNumber } from './paper/csv';
import { curveArea, type EpisodePoint, finalReturn, type Interval, meanInterval, runCurve, stepGrid } from './paper/stats';
import type { Figure, Series, Table } from './paper/types';
import {
  type Aggregate,
  aggregateAcrossEnvs,
  aggregateTable,
  type BootstrapOptions,
  type Comparison,
  compareAcrossEnvs,
  compareCurves,
  type CompareScore,
  comparisonTable,
  type Normalization,
  robustCells,
  robustColumns,
  type RobustSummary,
  robustSummary,
} from './reliable';
import type { AgentName } from '../rl/sac/agents';

/** One run as its folder holds it: `config.json`, episodes.jsonl and evaluations.jsonl (greedy means). */
export interface PlotRun {
  /** Where it came from, for messages. */
  readonly dir: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Whether it trained all its steps (`summary.json`'s `finished`); a run in progress or stopped is drawn as far as it got. */
  readonly finished: boolean;
  /** Environment steps trained: its curve ends there. */
  readonly reached: number;
  readonly episodes: readonly EpisodePoint[];
  readonly evaluations: readonly { readonly step: number; readonly mean: number }[];
}

/**
 * What a curve shows: `return`, the training episodes' returns binned on the step grid; `eval`, the
 * periodic evaluations' greedy mean return (`mixrl train --eval-every`) at the steps they ran (runs
 * evaluated at different steps: at each, every run's latest evaluation so far).
 */
export type PlotMetric = 'return' | 'eval';

export interface PlotOptions {
  readonly metric: PlotMetric;
  /** Points of the step grid (`return`). */
  readonly bins: number;
  /** The config keys that name a curve; default: those whose values differ among the runs of an env. */
  readonly groupBy?: readonly string[];
  /** Bootstrap replicates per interval of a median, IQM, mean or probability of improvement (default 2000). */
  readonly resamples?: number;
  /** The seed of the bootstrap's draws (default 0). */
  readonly seed?: number;
  /** Per env, the scores mapped to 0 and 1: curves of two or more of these envs are aggregated across them. */
  readonly normalize?: Normalization;
  /** The per-run score the probabilities of improvement compare: `final` return (default) or `auc`, the area under the curve. */
  readonly compare?: CompareScore;
}

/** One curve: the runs of one env and setting, over their seeds. */
export interface PlotGroup {
  readonly env: string;
  /** The setting, `agent=SG-RP alpha=0.1`, or `all runs` when nothing tells the runs apart. */
  readonly name: string;
  readonly runs: readonly PlotRun[];
  readonly x: readonly number[];
  readonly mean: readonly number[];
  readonly lo: readonly number[];
  readonly hi: readonly number[];
  /** Per run: the mean of its curve's defined points (its area normalized by length), over runs. */
  readonly area: Interval;
  /** Per finished run: the mean return of its last 10% of steps (`return`) or its last evaluation (`eval`). */
  readonly final: Interval;
  /** Per run, in the order of `runs`: its area, and its final return (NaN for an unfinished run). */
  readonly areas: readonly number[];
  readonly finals: readonly number[];
  /** The median, IQM and mean of `areas` and of `finals` with 95% bootstrap intervals over runs. */
  readonly robust: { readonly area: RobustSummary; readonly final: RobustSummary };
}

export interface PlotResult {
  readonly groups: readonly PlotGroup[];
  readonly figures: readonly Figure[];
  readonly tables: readonly Table[];
  /** The keys the curves are named by. */
  readonly groupBy: readonly string[];
  /**
   * The probability of improvement of each pair of curves of an env, then of each pair of curve names
   * averaged over the envs both ran in (two or more), on `options.compare`'s score.
   */
  readonly comparisons: readonly Comparison[];
  /** Curves aggregated over the envs of `options.normalize` they ran in (two or more). */
  readonly aggregates: readonly Aggregate[];
}

/** Config keys that do not change what is learned: never a reason to draw two curves. */
const BOOKKEEPING = new Set(['seed', 'checkpointEvery', 'logEvery', 'evalEvery', 'evalEpisodes', 'evalSeed', 'tensorboard', 'backend', 'threads']);

/** A recorded module (`envModule`, `estimatorModule`) as a name says it: its file and its hash's start. */
const moduleText = (m: ModuleRef) => `${m.path.split('/').pop()}@${m.sha256.slice(0, 8)}`;

/** A config value in a curve's name; `(unset)` for a key the run's config lacks. */
const valueText = (key: string, v: unknown): string =>
  v === undefined
    ? '(unset)'
    : key === 'agent' && typeof v === 'string'
      ? agentLabel(v as AgentName)
      : typeof v === 'string'
        ? v
        : isModuleRef(v)
          ? moduleText(v)
          : JSON.stringify(v);

/**
 * A run's evaluation curve at `steps`: at each, its latest evaluation at or before it (as `runCurve`
 * carries a return on), NaN before its first and past the step it reached.
 */
function evaluationCurve(run: PlotRun, steps: readonly number[]): number[] {
  const evaluations = [...run.evaluations].sort((a, b) => a.step - b.step);
  let i = 0;
  let last = NaN;
  return steps.map((step) => {
    for (; i < evaluations.length && evaluations[i].step <= step; i++) last = evaluations[i].mean;
    return step <= run.reached ? last : NaN;
  });
}

/**
 * The config keys whose values differ among `runs` (bookkeeping such as the seed aside), sorted with
 * `agent` first.
 *
 * @example
 * differingKeys([{ config: { agent: 'sg-rp', alpha: 0.1, seed: 0 } }, { config: { agent: 'sg-rp', alpha: 1, seed: 1 } }]); // ['alpha']
 */
export function differingKeys(runs: readonly Pick<PlotRun, 'config'>[]): string[] {
  const keys = new Set(runs.flatMap((r) => Object.keys(r.config)));
  const differ = [...keys].filter((k) => k !== 'env' && !BOOKKEEPING.has(k) && new Set(runs.map((r) => JSON.stringify(r.config[k]))).size > 1);
  return differ.sort((a, b) => (a === 'agent' ? -1 : b === 'agent' ? 1 : a.localeCompare(b)));
}

/**
 * Groups runs into curves and summarizes them (see the module comment). Runs are grouped per env
 * (`config.env`) and, within one, by `options.groupBy` or the keys that differ among its runs.
 *
 * @example
 * const { figures, tables } = plotRuns(runs, { metric: 'return', bins: 40 });
 */
export function plotRuns(runs: readonly PlotRun[], options: PlotOptions): PlotResult {
  const boot: BootstrapOptions = { resamples: options.resamples ?? DEFAULT_RESAMPLES, seed: options.seed ?? 0 };
  const envs = [...new Set(runs.map((r) => String(r.config.env)))];
  const groups: PlotGroup[] = [];
  const usedKeys = new Set<string>();
  for (const env of envs) {
    const mine = runs.filter((r) => String(r.config.env) === env);
    const keys = options.groupBy ?? differingKeys(mine);
    keys.forEach((k) => usedKeys.add(k));
    const byName = new Map<string, PlotRun[]>();
    for (const run of mine) {
      const name = keys.length === 0 ? 'all runs' : keys.map((k) => `${k}=${valueText(k, run.config[k])}`).join(' ');
      byName.set(name, [...(byName.get(name) ?? []), run]);
    }
    for (const [name, members] of byName) groups.push(summarize(env, name, members, options, boot));
  }
  const groupBy = [...usedKeys];
  const compare = options.compare ?? 'final';
  const comparisons = [...compareCurves(groups, compare, boot), ...compareAcrossEnvs(groups, compare, boot)];
  const aggregates = options.normalize === undefined ? [] : aggregateAcrossEnvs(groups, options.normalize, boot);
  return {
    groups,
    figures: envs.map((env) => figureOf(env, groups, options.metric)),
    tables: [summaryTable(groups), curveTable(groups), comparisonTable(comparisons, compare, boot.resamples), aggregateTable(aggregates, boot.resamples)],
    groupBy,
    comparisons,
    aggregates,
  };
}

/** A group's statistics over runs of its per-run areas and final returns. */
function scores(env: string, name: string, areas: number[], finals: number[], boot: BootstrapOptions) {
  const robust = { area: robustSummary(areas, ['area', env, name], boot), final: robustSummary(finals, ['final', env, name], boot) };
  return { area: meanInterval(areas), final: meanInterval(finals), areas, finals, robust };
}

function summarize(env: string, name: string, runs: readonly PlotRun[], options: PlotOptions, boot: BootstrapOptions): PlotGroup {
  if (options.metric === 'eval') {
    const steps = [...new Set(runs.flatMap((r) => r.evaluations.map((e) => e.step)))].sort((a, b) => a - b);
    const curves = runs.map((r) => evaluationCurve(r, steps));
    const points = steps.map((_, j) => meanInterval(curves.map((c) => c[j])));
    // A run's area is of its own evaluations, whatever steps other runs were evaluated at.
    const areas = runs.map((r) => curveArea(r.evaluations.map((e) => e.mean)));
    return {
      env,
      name,
      runs,
      x: steps,
      mean: points.map((p) => p.mean),
      lo: points.map((p) => p.lo),
      hi: points.map((p) => p.hi),
      ...scores(env, name, areas, runs.map((r) => (r.finished ? (r.evaluations.at(-1)?.mean ?? NaN) : NaN)), boot),
    };
  }
  const steps = Math.max(...runs.map((r) => Math.max(Number(r.config.steps) || 0, r.reached)));
  const grid = stepGrid(steps, options.bins);
  // A run's curve ends where it stopped (runCurve would carry its last return on to the grid's end).
  const curves = runs.map((r) => runCurve(r.episodes, grid).map((v, j) => (grid[j] <= r.reached ? v : NaN)));
  const points = grid.map((_, j) => meanInterval(curves.map((c) => c[j])));
  return {
    env,
    name,
    runs,
    x: grid,
    mean: points.map((p) => p.mean),
    lo: points.map((p) => p.lo),
    hi: points.map((p) => p.hi),
    ...scores(env, name, curves.map(curveArea), runs.map((r) => (r.finished ? finalReturn(r.episodes, r.reached) : NaN)), boot),
  };
}

function figureOf(env: string, groups: readonly PlotGroup[], metric: PlotMetric): Figure {
  const mine = groups.filter((g) => g.env === env);
  const seeds = new Set(mine.map((g) => g.runs.length));
  const seedText = seeds.size === 1 ? `${[...seeds][0]} run${[...seeds][0] === 1 ? '' : 's'} each` : `${Math.min(...seeds)}-${Math.max(...seeds)} runs each`;
  const series: Series[] = mine.map((g) => ({ name: g.name, x: g.x, y: g.mean, lo: g.lo, hi: g.hi }));
  return {
    id: env,
    title: `${env}: ${metric === 'eval' ? 'greedy evaluation return' : 'episode return'}, mean and 95% t-interval over ${seedText}`,
    xLabel: 'environment steps',
    yLabel: metric === 'eval' ? 'evaluation return (greedy)' : 'episode return',
    series,
  };
}

/**
 * `summary.csv`: one row per curve, with its area under the curve and final return over runs: the
 * mean with its t-interval, then the median, IQM, and the mean's bootstrap interval.
 */
function summaryTable(groups: readonly PlotGroup[]): Table {
  return {
    id: 'summary',
    title: 'Per curve: area under the curve (mean of its points) and final return, mean and 95% t-interval over runs; median, IQM and the mean with 95% bootstrap intervals',
    columns: ['env', 'curve', 'runs', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95', ...robustColumns('auc', true), ...robustColumns('final', true)],
    rows: groups.map((g) => [
      g.env,
      g.name,
      g.runs.length,
      ...intervalCells(g.area),
      ...intervalCells(g.final),
      ...robustCells(g.robust.area, true),
      ...robustCells(g.robust.final, true),
    ]),
  };
}

/** `curves.csv`: every point drawn. */
function curveTable(groups: readonly PlotGroup[]): Table {
  return {
    id: 'curves',
    title: 'The curves drawn: mean and 95% t-interval at each step',
    columns: ['env', 'curve', 'step', 'runs', 'mean', 'lo95', 'hi95'],
    rows: groups.flatMap((g) => g.x.map((step, i) => [g.env, g.name, step, g.runs.length, tableNumber(g.mean[i]), tableNumber(g.lo[i]), tableNumber(g.hi[i])])),
  };
}
