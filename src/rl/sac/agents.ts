/**
 * The agents of the paper by name: a policy head (single squashed Gaussian or Cauchy, a mixture, a
 * uniform-weight mixture) and the estimator of its actor gradient.
 */
import type { PolicyHeadConfig } from '../../distributions';
import type { EstimatorName } from '../estimators';

export interface AgentSpec {
  readonly kind: PolicyHeadConfig['kind'];
  readonly family: 'normal' | 'cauchy';
  readonly estimator: EstimatorName;
  readonly description: string;
}

export const AGENTS = {
  'sg-rp': { kind: 'single', family: 'normal', estimator: 'rp', description: 'squashed Gaussian, reparameterization (SAC-v2)' },
  'usgm-rp': { kind: 'uniform', family: 'normal', estimator: 'urp', description: 'uniform-weight squashed Gaussian mixture, RP per component' },
  'sgm-mrp': { kind: 'mixture', family: 'normal', estimator: 'mrp', description: 'squashed Gaussian mixture, marginalized reparameterization' },
  'sgm-halfrp': { kind: 'mixture', family: 'normal', estimator: 'halfRp', description: 'squashed Gaussian mixture, LR for weights + RP for components' },
  'sgm-gumbelrp': { kind: 'mixture', family: 'normal', estimator: 'gumbelRp', description: 'squashed Gaussian mixture, straight-through Gumbel-softmax' },
  'sgm-lr': { kind: 'mixture', family: 'normal', estimator: 'lr', description: 'squashed Gaussian mixture, likelihood ratio with a sampled baseline' },
  'cauchy-rp': { kind: 'single', family: 'cauchy', estimator: 'rp', description: 'squashed Cauchy, reparameterization' },
  'cm-mrp': { kind: 'mixture', family: 'cauchy', estimator: 'mrp', description: 'squashed Cauchy mixture, marginalized reparameterization' },
} as const satisfies Record<string, AgentSpec>;

export type AgentName = keyof typeof AGENTS;

/**
 * The agent names, in table order.
 *
 * @example
 * agentNames(); // ['sg-rp', 'usgm-rp', 'sgm-mrp', ...]
 */
export const agentNames = (): AgentName[] => Object.keys(AGENTS) as AgentName[];
