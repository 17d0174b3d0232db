/** The paper's policy-gradient estimators as pure surrogate functions. */
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
