/**
 * What the classic-control experiments share: train every (env, agent, seed) through `trainRuns`,
 * then per environment one learning-curve figure (mean return across seeds on a common grid of
 * environment steps, 95% Student-t band) and one table row per agent with the area under the curve
 * (the paper's criterion) and the final return, each with its 95% interval over seeds.
 */
import type { AgentName } from '../../rl/sac/agents';
import { ACTOR_LR_RATIO, defaultCriticLr, expandGrid, type GridAxis, rankSettings, type Setting, settingSpecs, summarizeRerun, type SweepTask, sweepSpecs } from '../sweep';
import { intervalCells, tableNumber } from './csv';
import { type RunSpec, scoredEpisodes, trainOverride, trainRuns } from './runs';
import { aggregateCurves, curveArea, finalReturn, type Interval, meanInterval, runCurve, stepGrid } from './stats';
import type { ExperimentContext, Figure, Table } from './types';

/** The agents' names as the paper writes them. */
export const AGENT_LABELS: Partial<Record<AgentName, string>> = {
  'sg-rp': 'SG-RP',
  'usgm-rp': 'USGM-RP',
  'sgm-mrp': 'SGM-MRP',
  'sgm-halfrp': 'SGM-HalfRP',
  'sgm-gumbelrp': 'SGM-GumbelRP',
  'sgm-lr': 'SGM-LR',
};

export const agentLabel = (agent: AgentName) => AGENT_LABELS[agent] ?? agent;

/** Whether an environment's reward is shaped (the paper's Shaped* variants) or not. */
export const isShaped = (env: string) => env.startsWith('Shaped');

/** What a learning-curve experiment trains at one scale. */
export interface CurveProtocol {
  readonly envs: readonly string[];
  readonly agents: readonly AgentName[];
  readonly steps: number;
  /** Points of the learning-curve grid. */
  readonly bins: number;
  /**
   * The hyperparameter sweep run first with `ctx.sweep` (`mixrl reproduce --sweep`): per env and
   * agent every setting of `grid` on seeds 0..seeds-1, then the best by mean area rerun on the
   * experiment's seeds shifted past them.
   */
  readonly sweep?: { readonly grid: readonly GridAxis[]; readonly seeds: number };
}

/**
 * The paper's grid (App. E.1): alpha {1e-3, 1e-2, 1e-1, 1} x critic lr {1e-1, ..., 1e-5} x actor lr =
 * critic lr x {1e-2, 1e-1, 1, 10}: 80 settings.
 */
export const PAPER_GRID: readonly GridAxis[] = [
  { key: 'alpha', values: [1e-3, 1e-2, 1e-1, 1] },
  { key: 'criticLr', values: [1e-1, 1e-2, 1e-3, 1e-4, 1e-5] },
  { key: ACTOR_LR_RATIO, values: [1e-2, 1e-1, 1, 10] },
];

/** The quick scale's stand-in: alpha {0.01, 0.1} x critic lr {1e-3, 1e-4} (actor lr the default): 4 settings. */
export const QUICK_GRID: readonly GridAxis[] = [
  { key: 'alpha', values: [1e-2, 1e-1] },
  { key: 'criticLr', values: [1e-3, 1e-4] },
];

/** One (env, agent) cell: its curve over seeds and its summaries. */
export interface Cell {
  readonly env: string;
  readonly agent: AgentName;
  readonly seeds: number;
  readonly x: number[];
  readonly mean: number[];
  readonly lo: number[];
  readonly hi: number[];
  readonly area: Interval;
  readonly final: Interval;
}

/**
 * Trains the protocol's runs for `ctx.seeds` and summarizes them, env by env in the protocol's
 * order, agents in its order within each.
 */
export async function runCurves(ctx: ExperimentContext, protocol: CurveProtocol): Promise<Cell[]> {
  const specs: RunSpec[] = [];
  for (const env of protocol.envs) {
    for (const agent of protocol.agents) {
      for (const seed of ctx.seeds) specs.push({ name: `${env}-${agent}-seed${seed}`, config: { env, agent, seed, steps: protocol.steps } });
    }
  }
  // A test override may shorten the runs: the grid follows the steps they run.
  const steps = trainOverride()?.steps ?? protocol.steps;
  ctx.log(`${specs.length} runs: ${protocol.envs.length} envs x ${protocol.agents.length} agents x ${seedWords(ctx.seeds.length)}, ${steps} steps each`);
  const outcomes = await trainRuns(ctx, specs);
  const grid = stepGrid(steps, Math.min(protocol.bins, steps));
  const cells: Cell[] = [];
  for (const env of protocol.envs) {
    for (const agent of protocol.agents) {
      const mine = outcomes.filter((o) => o.spec.config.env === env && o.spec.config.agent === agent);
      // A run whose policy diverged has no curve, area or final return (NaN: left out of the means).
      const runs = mine.map(scoredEpisodes);
      const curve = aggregateCurves(runs.filter((r) => r !== null), grid);
      cells.push({
        env,
        agent,
        seeds: mine.length,
        ...curve,
        area: meanInterval(runs.map((r) => (r === null ? NaN : curveArea(runCurve(r, grid))))),
        final: meanInterval(runs.map((r) => (r === null ? NaN : finalReturn(r, steps)))),
      });
    }
  }
  return cells;
}

/** What a learning-curve experiment's runs give: the cells, and with a sweep its tables and findings. */
export interface CurveRuns {
  readonly cells: Cell[];
  readonly tables: Table[];
  readonly findings: string[];
}

/**
 * `runCurves`, or with `ctx.sweep` the paper's selection first: per (env, agent) a sweep of the
 * protocol's grid (all sweeps' runs trained together, `ctx.jobs` at once), the best setting by mean
 * area rerun on `ctx.seeds` shifted past the sweep's seeds, and the cells made of the reruns; the
 * tables `<id>-sweep` (every setting ranked) and `<id>-best` (the chosen settings).
 */
export async function runCurvesSelected(ctx: ExperimentContext, protocol: CurveProtocol, id: string): Promise<CurveRuns> {
  if (!ctx.sweep || !protocol.sweep) return { cells: await runCurves(ctx, protocol), tables: [], findings: [] };
  const { grid, seeds: sweepSeedCount } = protocol.sweep;
  const steps = trainOverride()?.steps ?? protocol.steps;
  const sweepSeeds = Array.from({ length: sweepSeedCount }, (_, i) => i);
  const rerunSeeds = ctx.seeds.map((s) => s + sweepSeedCount);
  const tasks: SweepTask[] = [];
  for (const env of protocol.envs) {
    for (const agent of protocol.agents) tasks.push({ env, agent, settings: expandGrid(grid, defaultCriticLr(env)), seeds: sweepSeeds, steps, bins: protocol.bins });
  }
  const specs = tasks.flatMap(sweepSpecs);
  const settings = tasks[0]?.settings.length ?? 0;
  ctx.log(
    `sweep: ${specs.length} runs: ${protocol.envs.length} envs x ${protocol.agents.length} agents x ${settings} settings x ${seedWords(sweepSeedCount)}, ${steps} steps each; ` +
      `then ${tasks.length * rerunSeeds.length} reruns of the best settings (seeds ${rerunSeeds.join(', ')})`,
  );
  const outcomes = await trainRuns(ctx, specs);
  const rankings = tasks.map((task) => rankSettings(task, outcomes));
  const reruns: RunSpec[] = tasks.flatMap((task, i) => settingSpecs(task, rankings[i][0].setting, rerunSeeds));
  ctx.log(`reruns of the best settings: ${reruns.length} runs`);
  const rerunOutcomes = await trainRuns(ctx, reruns);
  const cells: Cell[] = [];
  const findings: string[] = [];
  const bestRows: (string | number)[][] = [];
  tasks.forEach((task, i) => {
    const best = rankings[i][0];
    const rerun = summarizeRerun(task, best.setting, rerunSeeds, rerunOutcomes);
    cells.push({ env: task.env, agent: task.agent, seeds: rerunSeeds.length, ...rerun.curve, area: rerun.area, final: rerun.final });
    bestRows.push([task.env, agentLabel(task.agent), ...settingCells(grid, best.setting), sweepSeedCount, tableNumber(best.area.mean), rerunSeeds.length, ...intervalCells(rerun.area)]);
    findings.push(
      `${task.env}, ${agentLabel(task.agent)}: best of ${task.settings.length} settings ${describeSetting(best.setting)} (sweep area ${show(best.area)} over ${seedWords(sweepSeedCount)}; ` +
        `rerun ${show(rerun.area)} over ${seedWords(rerunSeeds.length)}).`,
    );
  });
  const columns = settingColumns(grid);
  const sweepTable: Table = {
    id: `${id}-sweep`,
    title: `The sweep: every setting per env and agent, ranked by mean area under the curve over ${seedWords(sweepSeedCount)} (95% t-interval)`,
    columns: ['env', 'agent', 'rank', ...columns, 'seeds', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean'],
    rows: tasks.flatMap((task, i) =>
      rankings[i].map((r) => [task.env, agentLabel(task.agent), r.rank, ...settingCells(grid, r.setting), r.area.n, ...intervalCells(r.area), tableNumber(r.final.mean)]),
    ),
  };
  const bestTable: Table = {
    id: `${id}-best`,
    title: 'The best setting per env and agent (largest mean area in the sweep) and its rerun on fresh seeds, which the figures and the summary show',
    columns: ['env', 'agent', ...columns, 'sweep_seeds', 'sweep_auc_mean', 'rerun_seeds', 'rerun_auc_mean', 'rerun_auc_lo95', 'rerun_auc_hi95'],
    rows: bestRows,
  };
  findings.push(
    `Settings chosen by the paper's protocol (sweep of ${settings} settings on ${seedWords(sweepSeedCount)}, best by area, rerun on ${seedWords(rerunSeeds.length)}); ` +
      'a sweep area is biased upward by the choice itself, the rerun\'s is not.',
  );
  return { cells, tables: [sweepTable, bestTable], findings };
}

/** A grid's columns as a table names them: each axis, and the actor lr a ratio gives. */
export function settingColumns(grid: readonly GridAxis[]): string[] {
  const names = grid.map((a) => a.key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  return grid.some((a) => a.key === ACTOR_LR_RATIO) ? [...names, 'actor_lr'] : names;
}

/** A setting's values in `settingColumns` order. */
export function settingCells(grid: readonly GridAxis[], setting: Setting): (string | number)[] {
  const cells = grid.map((a) => {
    const v = setting.values[a.key];
    return typeof v === 'boolean' ? String(v) : v;
  });
  return grid.some((a) => a.key === ACTOR_LR_RATIO) ? [...cells, setting.config.actorLr as number] : cells;
}

/** `alpha 0.01, critic-lr 0.001 (actor lr 0.0001)`. */
export function describeSetting(setting: Setting): string {
  const parts = Object.entries(setting.values).map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${v}`);
  return Object.hasOwn(setting.values, ACTOR_LR_RATIO) ? `${parts.join(', ')} (actor lr ${setting.config.actorLr})` : parts.join(', ');
}

/** One learning-curve figure per environment, with the id `<prefix(env)>-<env>`. */
export function curveFigures(cells: readonly Cell[], idOf: (env: string) => string): Figure[] {
  const envs = [...new Set(cells.map((c) => c.env))];
  return envs.map((env) => {
    const mine = cells.filter((c) => c.env === env);
    const seeds = Math.max(...mine.map((c) => c.seeds));
    return {
      id: idOf(env),
      title: `${env} (${isShaped(env) ? 'shaped' : 'unshaped'} reward): mean return, 95% t-interval over ${seeds} seed${seeds === 1 ? '' : 's'}`,
      xLabel: 'environment steps',
      yLabel: 'episode return',
      series: mine.map((c) => ({ name: agentLabel(c.agent), x: c.x, y: c.mean, lo: c.lo, hi: c.hi })),
    };
  });
}

/** The summary table: one row per (env, agent). */
export function curveTable(id: string, title: string, cells: readonly Cell[]): Table {
  return {
    id,
    title,
    columns: ['env', 'reward', 'agent', 'seeds', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95'],
    rows: cells.map((c) => [
      c.env,
      isShaped(c.env) ? 'shaped' : 'unshaped',
      agentLabel(c.agent),
      c.seeds,
      ...intervalCells(c.area),
      ...intervalCells(c.final),
    ]),
  };
}

/** `1 seed`, `3 seeds`: how many seeds a finding speaks of. */
export const seedWords = (n: number) => `${n} seed${n === 1 ? '' : 's'}`;

/** `v [lo, hi]` for findings; one value alone; `none` where no run gave one (no episode, or diverged). */
export const show = (i: Interval) => (i.n > 1 ? `${i.mean.toPrecision(3)} [${i.lo.toPrecision(3)}, ${i.hi.toPrecision(3)}]` : i.n === 1 ? i.mean.toPrecision(3) : 'none');

/** How two intervals compare: whether a is above b, and whether the 95% intervals are apart. */
export function compare(a: Interval, b: Interval): { above: boolean; apart: boolean } {
  return { above: a.mean > b.mean, apart: a.n > 1 && b.n > 1 && (a.lo > b.hi || b.lo > a.hi) };
}
