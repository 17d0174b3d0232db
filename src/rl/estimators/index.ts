/** The paper's policy-gradient estimators as pure surrogate functions. */
import type { Tensor } from '../../tensor';
import type { EstimatorInput } from './common';
export {
  banditCritic,
  type Critic,
  type EstimatorInput,
  stateActionCritic,
  withValue,
} from './common';
export { rp, urp } from './rp';
export { lr, type LrInput } from './lr';
export { halfRp, type HalfRpInput } from './half-rp';
export { mrp } from './mrp';
export { gumbelRp, type GumbelRpInput } from './gumbel-rp';

import { gumbelRp } from './gumbel-rp';
import { halfRp } from './half-rp';
import { lr } from './lr';
import { mrp } from './mrp';
import { rp, urp } from './rp';

/**
 * Every estimator by name.
 *
 * @example
 * const surrogate = estimators[name]({ policy, critic, alpha: 0.01, key }); // name: 'rp', 'mrp', ...
 * grad((p) => estimators.mrp({ policy: policyOf(p), critic, alpha: 0.01, key }))(params);
 */
export const estimators = { rp, urp, lr, halfRp, mrp, gumbelRp } as const;
export type EstimatorName = keyof typeof estimators;

/** What the SAC update gives an estimator: the common input and the options some estimators read. */
export type SacEstimatorInput = EstimatorInput & { baselineSamples: number; temperature: number };

/**
 * An actor-gradient estimator as the SAC update calls it: a scalar surrogate of the policy's
 * objective whose gradient is the estimate. Every entry of `estimators` is one; so is a function
 * of your own, which `makeSacUpdate` and `createRun` take in place of a name.
 *
 * @example
 * // Score function with the batch's mean soft value as baseline, trained like the built-in ones.
 * const scoreFunction: Estimator = ({ policy, critic, alpha, key }) => {
 *   const [a, logProb] = policy.sampleAndLogProb(key); // a [B, A], no gradient through a
 *   const v = stopGradient(critic(expandDims(a, 1)).squeeze(1).sub(mul(logProb, alpha)));
 *   return mean(mul(logProb, v.sub(mean(v)))).add(mean(v));
 * };
 */
export type Estimator = (input: SacEstimatorInput) => Tensor;
