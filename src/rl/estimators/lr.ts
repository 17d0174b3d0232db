/**
 * LR (likelihood ratio, REINFORCE with a baseline): (∇ log π(a|s)) [Q(s,a) - b(s) - α log π(a|s)],
 * a ~ π without reparameterization; b(s) is the mean of Q over N extra draws (no gradient). Works for
 * any policy, mixtures included (the score of the full mixture density).
 */
import * as T from '../../tensor';
import type { Tensor } from '../../tensor';
import {
  checkInput,
  criticAt,
  type EstimatorInput,
  logProbPreAt,
  presWithoutGradient,
  sampledBaseline,
  softValue,
  withValue,
} from './common';

export interface LrInput extends EstimatorInput {
  /** Draws for the baseline b(s); 0 for none. */
  baselineSamples?: number;
}

/**
 * @example
 * lr({ policy, critic, alpha: 0.01, key, baselineSamples: 8 });
 */
export function lr(input: LrInput): Tensor {
  const { policy, critic, alpha, key, baselineSamples = 0 } = checkInput('lr', input);
  const [ka, kb] = T.random.split(key);
  const pre = presWithoutGradient(policy, ka, 1);
  const logProb = T.squeeze(logProbPreAt(policy, pre), 1);
  const q = T.stopGradient(criticAt('lr', critic, policy.forward(T.squeeze(pre, 1))));
  const baseline = sampledBaseline('lr', policy, critic, kb, baselineSamples);
  const advantage = T.stopGradient(T.sub(softValue(q, logProb, alpha), baseline));
  return withValue(T.mean(softValue(q, logProb, alpha)), T.mean(T.mul(logProb, advantage)));
}
