/**
 * Entropies without a closed form: a Monte Carlo estimate for any distribution (mixtures, squashed
 * policies), and closed-form bounds for mixtures of normals or Cauchys (Huber et al., "On entropy
 * approximation for Gaussian mixture random vectors", 2008).
 */
import * as T from '../tensor';
import { ArgumentError, type Tensor } from '../tensor';
import { checkKey, describe } from './checks';
import { elementLogDensity } from './loc-scale';
import type { Mixture } from './mixture';
import type { Distribution } from './types';

/** A Monte Carlo estimate and its standard error, each of the distribution's batch shape. */
export interface EntropyEstimate {
  readonly estimate: Tensor;
  readonly standardError: Tensor;
}

/**
 * H(d) ≈ -(1/n) Σ log d(xᵢ) over n draws xᵢ ~ d, with its standard error sd(log d(x)) / √n (sample
 * standard deviation, n - 1 in the divisor). Any distribution with `sampleAndLogProb` works: a
 * mixture, a squashed policy (whose entropy includes the tanh Jacobian), a categorical.
 *
 * For reporting, not for gradients: both results are wrapped in `stopGradient`, since the gradient of
 * this sum with the draws held fixed is the mean score, zero in expectation, not ∇H. Policy losses
 * get the entropy's gradient through the estimators (`src/rl/estimators`).
 *
 * @example
 * const { estimate, standardError } = monteCarloEntropy(mixture(logits, normal(mu, sigma)), key, 10_000);
 */
export function monteCarloEntropy(d: Distribution, key: Tensor, samples: number): EntropyEstimate {
  if (typeof d?.sampleAndLogProb !== 'function') {
    throw new ArgumentError(`monteCarloEntropy: d must be a distribution (normal, mixture, squash(...)(...), ...), got ${describe(d)}`);
  }
  checkKey('monteCarloEntropy', key);
  if (!(Number.isInteger(samples) && samples >= 2)) {
    throw new ArgumentError(`monteCarloEntropy: samples must be an integer >= 2 (the standard error needs two), got ${String(samples)}`);
  }
  const logProb = T.stopGradient(d.sampleAndLogProb(key, [samples])[1]);
  return {
    estimate: T.neg(T.mean(logProb, 0)),
    standardError: T.div(T.std(logProb, 0, false, 1), Math.sqrt(samples)),
  };
}

/** Lower and upper bounds on an entropy, each of the distribution's batch shape. */
export interface EntropyBounds {
  readonly lower: Tensor;
  readonly upper: Tensor;
}

/**
 * Closed-form bounds on the differential entropy of a mixture with weights w and components pₖ
 * (normal or Cauchy, diagonal):
 * - upper: H(w) + Σₖ wₖ H(pₖ), exact when the components do not overlap;
 * - lower: the larger of Σₖ wₖ H(pₖ) (H is concave), the tighter where the components overlap, and
 *   Jensen's -Σᵢ wᵢ log Σⱼ wⱼ ∫ pᵢ pⱼ, the tighter where they are apart (normals far apart in A dimensions:
 *   H(w) - (A/2)(1 - log 2) above Σₖ wₖ H(pₖ)).
 * With one component the upper bound is the entropy itself.
 *
 * ∫ pᵢ pⱼ is a density of the difference of two independent draws at 0: per dimension a normal with
 * variance σᵢ² + σⱼ², or a Cauchy with scale γᵢ + γⱼ. Differentiable in every parameter (useful as a
 * surrogate entropy regularizer for mixture policies before squashing).
 *
 * @example
 * const { lower, upper } = mixtureEntropyBounds(mixture(logits, normal(mu, sigma))); // each [B]
 */
export function mixtureEntropyBounds(m: Mixture): EntropyBounds {
  const components = m?.components;
  if (components?.family !== 'normal' && components?.family !== 'cauchy') {
    throw new ArgumentError(`mixtureEntropyBounds: m must be a mixture of normal or cauchy components, got ${describe(m)}`);
  }
  const weights = m.weights();
  const logW = weights.logProbs(); // [...batch, K]
  const w = T.exp(logW);
  const componentEntropy = components.entropy(); // [...batch, K]
  const conditional = T.sum(T.mul(w, componentEntropy), -1);
  const upper = T.add(weights.entropy(), conditional);
  // log ∫ pᵢ pⱼ for every pair: [...batch, K (i), K (j)].
  const [locI, locJ] = [T.expandDims(components.loc, -2), T.expandDims(components.loc, -3)];
  const [scaleI, scaleJ] = [T.expandDims(components.scale, -2), T.expandDims(components.scale, -3)];
  const scale = components.family === 'normal' ? T.sqrt(T.add(T.square(scaleI), T.square(scaleJ))) : T.add(scaleI, scaleJ);
  const overlap = T.sum(elementLogDensity(components.family, T.sub(locI, locJ), scale), -1);
  const jensen = T.neg(T.sum(T.mul(w, T.logsumexp(T.add(T.expandDims(logW, -2), overlap), -1)), -1));
  return { lower: T.maximum(jensen, conditional), upper };
}
