/**
 * RP: ∇ [Q(s, f(ε; s)) - α log π(f(ε; s) | s)] with a = f(ε; s) the reparameterized draw. For the
 * squashed Gaussian this is SAC-v2's actor gradient (SG-RP). U-RP is the same through a uniform-weight
 * mixture: the component is drawn uniformly and the draw is reparameterized within it; with fixed
 * weights that is unbiased.
 */
import * as T from '../../tensor';
import { ArgumentError, type Tensor } from '../../tensor';
import { checkInput, criticAt, type EstimatorInput, isMixturePolicy, softValue } from './common';

/**
 * The reparameterization estimator for single-component (or uniform-weight mixture) policies.
 *
 * @example
 * const surrogate = rp({ policy, critic, alpha: 0.1, key });
 * const g = grad((params) => rp({ policy: makePolicy(params), critic, alpha, key }))(params);
 */
export function rp(input: EstimatorInput): Tensor {
  return rpAs('rp', input);
}

function rpAs(name: 'rp' | 'urp', input: EstimatorInput): Tensor {
  const { policy, critic, alpha, key } = checkInput(name, input);
  if (isMixturePolicy(policy) && !policy.base.uniform) {
    throw new ArgumentError('rp: mixture weights have no reparameterization; use mrp, halfRp or gumbelRp (or a uniform mixture for U-RP)');
  }
  const { action, logProb } = policy.rsampleWithLogProb(key);
  return T.mean(softValue(criticAt(name, critic, action), logProb, alpha));
}

/**
 * U-RP: RP through a uniform-weight mixture (the paper's USGM).
 *
 * @example
 * urp({ policy: usgmPolicy, critic, alpha, key });
 */
export function urp(input: EstimatorInput): Tensor {
  const { policy } = checkInput('urp', input);
  if (!isMixturePolicy(policy) || !policy.base.uniform) {
    throw new ArgumentError("urp: needs a uniform-weight mixture policy (head kind 'uniform')");
  }
  return rpAs('urp', input);
}
