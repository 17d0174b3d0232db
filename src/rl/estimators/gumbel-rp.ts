/**
 * GumbelRP: a straight-through Gumbel-softmax one-hot y over the K components (temperature τ) selects
 * the pre-tanh draw x = Σ_k y_k f_k(ε_k; s); the gradient flows through y's relaxation and the
 * component draws. Biased (the straight-through gradient is not the gradient of the expectation).
 * The forward value equals the paper's a = Σ_k y_k a_k; combining before tanh keeps the log-density
 * computed from the pre-tanh value.
 */
import * as T from '../../tensor';
import type { Tensor } from '../../tensor';
import { gumbelSoftmax } from '../../distributions';
import { checkTemperature } from '../../distributions/gumbel-softmax';
import { checkInput, criticAt, type EstimatorInput, requireMixture, softValue } from './common';

export interface GumbelRpInput extends EstimatorInput {
  /** Gumbel-softmax temperature (default 0.1, as in the paper). */
  temperature?: number;
}

/**
 * @example
 * gumbelRp({ policy: sgmPolicy, critic, alpha, key, temperature: 0.1 });
 */
export function gumbelRp(input: GumbelRpInput): Tensor {
  const { policy, critic, alpha, key, temperature = 0.1 } = checkInput('gumbelRp', input);
  checkTemperature('gumbelRp', temperature);
  const mix = requireMixture('gumbelRp', policy);
  const [ky, kx] = T.random.split(key);
  const y = gumbelSoftmax(mix.base.logits, temperature).rsampleStraightThrough(ky); // [B, K]
  const pre = T.sum(T.mul(T.expandDims(y, -1), mix.base.componentRsample(kx)), -2); // [B, A]
  return T.mean(softValue(criticAt('gumbelRp', critic, mix.forward(pre)), mix.logProbPre(pre), alpha));
}
