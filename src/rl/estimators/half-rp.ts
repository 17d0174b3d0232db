/**
 * HalfRP: draw a component z ~ w(·|s) and reparameterize within it, a = f_z(ε; s). The weights get the
 * likelihood-ratio term (∇ log w_z(s)) [Q - b - α log π]; the component parameters get
 * ∇ [Q(s, f_z(ε; s)) - α log π(f_z(ε; s)|s)] with the weights held fixed.
 */
import * as T from '../../tensor';
import type { Tensor } from '../../tensor';
import { pickClass } from '../../distributions/categorical';
import { checkInput, criticAt, type EstimatorInput, requireMixture, sampledBaseline, softValue, withValue } from './common';

export interface HalfRpInput extends EstimatorInput {
  /** Draws for the baseline b(s) of the weights' LR term; 0 for none. */
  baselineSamples?: number;
}

/**
 * @example
 * halfRp({ policy: sgmPolicy, critic, alpha, key, baselineSamples: 8 });
 */
export function halfRp(input: HalfRpInput): Tensor {
  const { policy, critic, alpha, key, baselineSamples = 0 } = checkInput('halfRp', input);
  const mix = requireMixture('halfRp', policy);
  const base = mix.base;
  const [kz, kx, kb] = T.random.split(key, 3);
  const z = base.weights().sample(kz);
  const pre = base.select(base.componentRsample(kx), z);
  const q = criticAt('halfRp', critic, mix.forward(pre));
  const logWeights = T.logSoftmax(base.logits, -1);
  // log π with the weights held fixed: the component parameters' reparameterized path.
  const fixedWeights = T.add(T.stopGradient(logWeights), base.componentLogProbs(pre));
  const logProbFixedWeights = T.sub(T.logsumexp(fixedWeights, -1), mix.logDetJacobian(pre));
  const componentTerm = softValue(q, logProbFixedWeights, alpha);
  const baseline = sampledBaseline('halfRp', policy, critic, kb, baselineSamples);
  const advantage = T.stopGradient(T.sub(componentTerm, baseline));
  const weightTerm = T.mul(pickClass(logWeights, z), advantage);
  return withValue(T.mean(componentTerm), T.mean(T.add(componentTerm, weightTerm)));
}
