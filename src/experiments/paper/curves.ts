/**
 * What the classic-control experiments share: train every (env, agent, seed) through `trainRuns`,
 * then per environment one learning-curve figure (mean return across seeds on a common grid of
 * environment steps, 95% Student-t band) and one table row per agent with the area under the curve
 * (the paper's criterion) and the final return, each with its 95% interval over seeds.
 */
import type { AgentName } from '../../rl/sac/agents';
import { type RunSpec, trainOverride, trainRuns } from './runs';
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
}

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
      const runs = outcomes.filter((o) => o.spec.config.env === env && o.spec.config.agent === agent).map((o) => o.episodes);
      const curve = aggregateCurves(runs, grid);
      cells.push({
        env,
        agent,
        seeds: runs.length,
        ...curve,
        area: meanInterval(runs.map((r) => curveArea(runCurve(r, grid)))),
        final: meanInterval(runs.map((r) => finalReturn(r, steps))),
      });
    }
  }
  return cells;
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

const round = (v: number, digits = 4) => (Number.isFinite(v) ? Number(v.toPrecision(digits + 2)) : NaN);

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
      round(c.area.mean),
      round(c.area.lo),
      round(c.area.hi),
      round(c.final.mean),
      round(c.final.lo),
      round(c.final.hi),
    ]),
  };
}

/** `1 seed`, `3 seeds`: how many seeds a finding speaks of. */
export const seedWords = (n: number) => `${n} seed${n === 1 ? '' : 's'}`;

/** `v [lo, hi]` for findings. */
export const show = (i: Interval) => (i.n > 1 ? `${i.mean.toPrecision(3)} [${i.lo.toPrecision(3)}, ${i.hi.toPrecision(3)}]` : i.mean.toPrecision(3));

/** How two intervals compare: whether a is above b, and whether the 95% intervals are apart. */
export function compare(a: Interval, b: Interval): { above: boolean; apart: boolean } {
  return { above: a.mean > b.mean, apart: a.n > 1 && b.n > 1 && (a.lo > b.hi || b.lo > a.hi) };
}
