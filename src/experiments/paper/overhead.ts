/**
 * Table 4 (App. E.2): the compute overhead of mixture policies. The paper reports one example run's
 * wall time on Pendulum (PyTorch on a Ryzen 9 5900X): training 317 s for SG-RP against 455 / 445 /
 * 435 s for SGM-MRP / SGM-HalfRP / SGM-GumbelRP, inference 2.1 s against 3.0 s. Here each agent is
 * timed in this process at the classic-control size (Pendulum: obs 3, action 1, 2x64, batch 32,
 * K = 5): a full SAC update, one action, and a whole training step (act, environment step, replay,
 * update), each the median of repeated rounds, and reported relative to SG-RP beside the paper's
 * ratios. Update and action rounds alternate between agents, so a burst of load on a shared host
 * falls on all of them alike.
 */
import { isLeft } from 'fp-ts/lib/Either.js';
import { disposeTree } from '../../autodiff';
import type { AgentName } from '../../rl/sac/agents';
import { makeSacUpdate, type SacMetrics, type SacState } from '../../rl/sac/update';
import * as T from '../../tensor';
import { rawFoldIn, rawKey } from '../../tensor/threefry';
import { median } from '../aggregates';
import { resolveConfig } from '../config';
import { act, createRun, type Run, train } from '../train';
import { agentLabel } from './curves';
import type { ExperimentResult, PaperExperiment, Scale } from './types';

const AGENTS: readonly AgentName[] = ['sg-rp', 'usgm-rp', 'sgm-mrp', 'sgm-halfrp', 'sgm-gumbelrp'];

/** The paper's Table 4, Pendulum on the CPU: training and inference seconds per agent. */
const PAPER_SECONDS: Partial<Record<AgentName, { train: number; infer: number }>> = {
  'sg-rp': { train: 317, infer: 2.1 },
  'sgm-mrp': { train: 455, infer: 3.0 },
  'sgm-halfrp': { train: 445, infer: 3.0 },
  'sgm-gumbelrp': { train: 435, infer: 3.0 },
};

export interface OverheadProtocol {
  /** Timed rounds of each measure (the median is reported). */
  readonly rounds: number;
  /** Updates per update round. */
  readonly updates: number;
  /** Actions per action round. */
  readonly actions: number;
  /** Training steps per training round (after a round of warm-up once updates have started). */
  readonly trainSteps: number;
  /** Untimed updates first (the update's trace, and V8 optimizing its generated loops). */
  readonly warmupUpdates: number;
}

export const OVERHEAD_PROTOCOL: Readonly<Record<Scale, OverheadProtocol>> = {
  paper: { rounds: 15, updates: 200, actions: 20000, trainSteps: 500, warmupUpdates: 2000 },
  quick: { rounds: 5, updates: 40, actions: 3000, trainSteps: 200, warmupUpdates: 400 },
};

/** One agent being timed: its run (trained past learning starts) and its rounds so far. */
interface Subject {
  readonly agent: AgentName;
  readonly run: Run;
  readonly update: ReturnType<typeof makeSacUpdate>;
  state: SacState;
  metrics: SacMetrics | null;
  count: number;
  readonly updateMs: number[];
  readonly actionUs: number[];
  readonly trainMs: number[];
}

/**
 * Hands the CPU to one agent's training loop at a time: each loop, once past its warm-up, waits at
 * every progress point for its turn, runs one round of training steps alone, and passes the turn on,
 * so that the agents' rounds alternate (all loops live in this process, each yielding at every step).
 */
class Turns {
  private readonly waiting = new Map<number, () => void>();
  private readonly active: Set<number>;
  private arrived = 0;

  constructor(private readonly count: number) {
    this.active = new Set(Array.from({ length: count }, (_, i) => i));
  }

  /** Waits until every loop has arrived, then for `i`'s turn. */
  arrive(i: number): Promise<void> {
    const mine = this.wait(i);
    if (++this.arrived === this.count) this.give(0);
    return mine;
  }

  /** Passes the turn from `i` to the next loop; `done`: `i` takes no more turns. */
  pass(i: number, done: boolean): Promise<void> {
    if (done) this.active.delete(i);
    const mine = done ? Promise.resolve() : this.wait(i);
    const ids = [...this.active].sort((a, b) => a - b);
    if (ids.length > 0) this.give(ids.find((k) => k > i) ?? ids[0]);
    return mine;
  }

  private wait(i: number): Promise<void> {
    return new Promise((resolve) => this.waiting.set(i, resolve));
  }

  private give(i: number): void {
    const resolve = this.waiting.get(i);
    this.waiting.delete(i);
    resolve?.();
  }
}

/**
 * Trains each agent through its first updates, all side by side in this process; then times their
 * training steps in alternating rounds of `trainSteps` (the first round after updates start, which
 * includes the update's trace, is not timed).
 */
async function prepareAll(agents: readonly { agent: AgentName; seed: number }[], p: OverheadProtocol, backend: T.Backend): Promise<Subject[]> {
  const turns = new Turns(agents.length);
  return Promise.all(
    agents.map(async ({ agent, seed }, index) => {
      const config = resolveConfig([
        { env: 'Pendulum', agent, seed, steps: 1_000_000, logEvery: p.trainSteps, checkpointEvery: 0, backend: backend.name === 'webgpu' ? 'webgpu' : 'cpu' },
      ]);
      if (isLeft(config)) throw config.left;
      const run = createRun(config.right, backend);
      const trainMs: number[] = [];
      const firstTimed = Math.ceil(config.right.learningStarts / p.trainSteps + 1) * p.trainSteps;
      const until = firstTimed + p.rounds * p.trainSteps;
      let resumed = 0;
      await train(run, { until }, {
        onProgress: async (r) => {
          if (r.step < firstTimed) return;
          if (r.step > firstTimed) {
            await r.lastMetrics?.criticLoss.data();
            trainMs.push((performance.now() - resumed) / p.trainSteps);
          }
          await (r.step === firstTimed ? turns.arrive(index) : turns.pass(index, r.step >= until));
          resumed = performance.now();
        },
      });
      const update = makeSacUpdate(run.h, { donate: true });
      return { agent, run, update, state: run.sac, metrics: null, count: 0, updateMs: [], actionUs: [], trainMs };
    }),
  );
}

/** Times one round of `n` updates on batches from the run's replay buffer (ms per update). */
async function updateRound(s: Subject, n: number): Promise<number> {
  const { run } = s;
  const replayKey = rawKey(run.config.seed + 7);
  const base = rawKey(run.config.seed + 11);
  const t0 = performance.now();
  // As the training loop does it: a fresh batch and key per update, both disposed after it.
  for (let i = 0; i < n; i++) {
    const batch = run.replay.sample(rawFoldIn(replayKey, s.count), run.config.batchSize, { dtype: run.config.dtype, backend: run.backend });
    const key = T.tensor(rawFoldIn(base, s.count++), { backend: run.backend });
    const previous = s.metrics;
    [s.state, s.metrics] = s.update(s.state, batch, key);
    disposeTree([batch, key, previous]);
    if (run.backend instanceof T.WebGPUBackend) await run.backend.settle(3);
  }
  await s.metrics?.criticLoss.data();
  return (performance.now() - t0) / n;
}

/** Times one round of `n` sampled actions (us per action), the way the training loop acts. */
async function actionRound(s: Subject, n: number): Promise<number> {
  const obs = Float64Array.from(s.run.rollout.obs);
  const key = rawKey(s.run.config.seed + 13);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = act(s.run.h, s.state.actor, obs, rawFoldIn(key, i), 'sample');
    if (!(a instanceof Float64Array)) await a;
  }
  return ((performance.now() - t0) / n) * 1000;
}

export const computeOverhead: PaperExperiment = {
  name: 'table4-overhead',
  paperRef: 'Table 4 (App. E.2)',
  summary:
    'Compute overhead of mixture policies at the classic-control size (Pendulum, 2x64, batch 32, K = 5): time per SAC update, per action and per ' +
    'training step for SG-RP, USGM-RP, SGM-MRP, SGM-HalfRP and SGM-GumbelRP, each the median of repeated rounds, relative to SG-RP, beside the ' +
    "ratios of the paper's Table 4 (PyTorch: mixtures cost about 1.4x in training and inference).",
  defaultSeeds: { quick: 1, paper: 1 },
  async run(ctx): Promise<ExperimentResult> {
    const p = OVERHEAD_PROTOCOL[ctx.scale];
    const which = ctx.seeds.flatMap((seed) => AGENTS.map((agent) => ({ agent, seed })));
    ctx.log(`${which.length} agents (${AGENTS.map(agentLabel).join(', ')}; seeds ${ctx.seeds.join(', ')}): training past learning starts, then ${p.rounds} alternating rounds of ${p.trainSteps} training steps each`);
    const subjects = await prepareAll(which, p, ctx.backend);
    // A warm-up round each (the update's trace, V8's optimization of the action's loops), then the timed rounds.
    for (const s of subjects) {
      await updateRound(s, p.warmupUpdates);
      await actionRound(s, p.actions);
    }
    for (let r = 0; r < p.rounds; r++) {
      for (const s of subjects) {
        s.updateMs.push(await updateRound(s, p.updates));
        s.actionUs.push(await actionRound(s, p.actions));
      }
    }
    ctx.log(`timed ${p.rounds} rounds of ${p.updates} updates and ${p.actions} actions per agent and seed`);
    const stats = AGENTS.map((agent) => {
      const mine = subjects.filter((s) => s.agent === agent);
      return {
        agent,
        update: median(mine.flatMap((s) => s.updateMs)),
        action: median(mine.flatMap((s) => s.actionUs)),
        step: median(mine.flatMap((s) => s.trainMs)),
      };
    });
    disposeTree(subjects.map((s) => [s.state, s.metrics]));
    const base = stats[0];
    const paperBase = PAPER_SECONDS['sg-rp']!;
    const r3 = (v: number) => (Number.isFinite(v) ? Number(v.toFixed(3)) : NaN);
    const rows = stats.map((s) => {
      const paper = PAPER_SECONDS[s.agent];
      return [
        agentLabel(s.agent),
        r3(s.update),
        r3(s.update / base.update),
        r3(s.action),
        r3(s.action / base.action),
        r3(s.step),
        r3(s.step / base.step),
        paper ? r3(paper.train / paperBase.train) : NaN,
        paper ? r3(paper.infer / paperBase.infer) : NaN,
      ];
    });
    const table = {
      id: 'table4',
      title: `Time per SAC update, per action and per training step on ${ctx.backend.name} (median of ${p.rounds} rounds), relative to SG-RP, beside the paper's Table 4 ratios (Pendulum, CPU)`,
      columns: ['agent', 'update_ms', 'update_vs_sg_rp', 'action_us', 'action_vs_sg_rp', 'train_step_ms', 'train_step_vs_sg_rp', 'paper_training_vs_sg_rp', 'paper_inference_vs_sg_rp'],
      rows,
    };
    const findings: string[] = [];
    const ratio = (agent: AgentName, key: 'update' | 'action' | 'step') => {
      const s = stats.find((x) => x.agent === agent)!;
      return s[key] / base[key];
    };
    const mixtures = AGENTS.filter((a) => a !== 'sg-rp');
    findings.push(
      `Per SAC update the mixtures take ${mixtures.map((a) => `${agentLabel(a)} ${ratio(a, 'update').toFixed(2)}x`).join(', ')} SG-RP's ${base.update.toFixed(3)} ms.`,
    );
    findings.push(`Per action: ${mixtures.map((a) => `${agentLabel(a)} ${ratio(a, 'action').toFixed(2)}x`).join(', ')} SG-RP's ${base.action.toFixed(2)} us.`);
    const paperRatio = (a: AgentName) => {
      const paper = PAPER_SECONDS[a];
      return paper ? ` (paper ${(paper.train / paperBase.train).toFixed(2)}x)` : '';
    };
    findings.push(
      `Per training step (act, environment, replay, update): ${mixtures.map((a) => `${agentLabel(a)} ${ratio(a, 'step').toFixed(2)}x${paperRatio(a)}`).join(', ')} ` +
        `SG-RP's ${base.step.toFixed(3)} ms; the paper's PyTorch inference costs ${(3.0 / 2.1).toFixed(2)}x for every mixture.`,
    );
    const mrp = ratio('sgm-mrp', 'step');
    findings.push(
      mrp <= 1.6
        ? `SGM-MRP trains at ${mrp.toFixed(2)}x SG-RP's cost per step: a modest overhead, as the paper reports (1.44x).`
        : `SGM-MRP trains at ${mrp.toFixed(2)}x SG-RP's cost per step, more than the paper's 1.44x.`,
    );
    return { tables: [table], figures: [], findings };
  },
};
