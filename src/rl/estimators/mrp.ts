/**
 * MRP (marginalized reparameterization): ∇ Σ_k w_k(s) [Q(s, f_k(ε_k; s)) - α log π(f_k(ε_k; s)|s)],
 * one reparameterized draw per component and the component index summed out exactly; log π is the
 * full mixture density. Unbiased; K critic evaluations per state.
 */
import * as T from '../../tensor';
import type { Tensor } from '../../tensor';
import { checkInput, type EstimatorInput, evalCritic, logProbPreAt, requireMixture, softValue } from './common';

/**
 * @example
 * mrp({ policy: sgmPolicy, critic, alpha: 0.01, key });
 */
export function mrp(input: EstimatorInput): Tensor {
  const { policy, critic, alpha, key } = checkInput('mrp', input);
  const mix = requireMixture('mrp', policy);
  const pres = mix.base.componentRsample(key); // [B, K, A]
  const values = softValue(evalCritic('mrp', critic, mix.forward(pres)), logProbPreAt(mix, pres), alpha); // [B, K]
  const weights = T.softmax(mix.base.logits, -1);
  return T.mean(T.sum(T.mul(weights, values), -1));
}
