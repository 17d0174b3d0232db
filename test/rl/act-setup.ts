/** Shared setup of the makeActor tests (CPU and WebGPU). */
import { AGENTS, type AgentName } from '../../src/rl/sac/agents';
import type { SacHyperparameters } from '../../src/rl/sac/update';
import { smallSac } from '../sac-fixtures';

/** Small SAC hyperparameters for `agent`: obs 3, action 2 (boxes [-2, 2] and [0, 1]), 2x16 hidden, K = 4. */
export function actHyperparameters(agent: AgentName, dtype: 'float32' | 'float64' = 'float32'): SacHyperparameters {
  const spec = AGENTS[agent];
  return smallSac({ obsDim: 3, head: { actionDim: 2, kind: spec.kind, family: spec.family, components: 4, low: [-2, 0], high: [2, 1] }, estimator: spec.estimator, hidden: [16, 16], lr: 3e-3, alpha: 0.2, baselineSamples: 2, dtype });
}

/** A deterministic observation per index, spread over a few units. */
export const observation = (i: number) => Float64Array.from([Math.sin(1.7 * i), Math.cos(0.3 * i) * 3, 0.1 * i - 1]);

/** The float64 words of an action as u32 pairs, for bit-for-bit comparison. */
export const bits = (x: Float64Array) => Array.from(new Uint32Array(x.buffer));
