/** Small SAC hyperparameters and per-agent replay buffers shared by the batched SAC tests (CPU, WebGPU). */
import { ReplayBuffer } from '../../src/rl/replay';
import type { SacHyperparameters } from '../../src/rl/sac/update';
import { smallSac } from '../sac-fixtures';

export const AGENTS = [
  { name: 'sg-rp', kind: 'single', estimator: 'rp' },
  { name: 'sgm-mrp', kind: 'mixture', estimator: 'mrp' },
  { name: 'sgm-gumbelrp', kind: 'mixture', estimator: 'gumbelRp' },
] as const;

export function hyperparameters(agent: (typeof AGENTS)[number]): SacHyperparameters {
  return smallSac({ obsDim: 3, head: { actionDim: 2, kind: agent.kind, components: 3, low: -2, high: 2 }, estimator: agent.estimator, hidden: [16, 16], lr: 3e-3, alpha: 0.2 });
}

/** One replay buffer per agent, with different transitions. */
export function replays(n: number): ReplayBuffer[] {
  return Array.from({ length: n }, (_, a) => {
    const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 2 });
    for (let i = 0; i < 64; i++) {
      const s = (t: number) => [Math.sin(t + a), Math.cos(1.3 * t - a), Math.sin(0.3 * t * (a + 1))];
      replay.add({ obs: s(i), action: [Math.sin(7 * i + a), Math.cos(5 * i)], reward: [Math.cos(2 * i + a)], nextObs: s(i + 1), terminated: [i % 20 === 19 ? 1 : 0] });
    }
    return replay;
  });
}

