/**
 * The Gumbel-softmax (Concrete) relaxation of a categorical (Maddison et al. 2017; Jang et al. 2017):
 * y = softmax((logits + g) / τ) with g standard Gumbel, and its straight-through form whose forward
 * value is the one-hot argmax and whose gradient is the relaxed sample's.
 */
import * as T from '../tensor';
import { ArgumentError, type Shape, type Tensor } from '../tensor';
import { checkedDraw, checkLogits, checkValue } from './checks';
import type { Reparameterized } from './types';

export interface GumbelSoftmax extends Reparameterized {
  readonly logits: Tensor;
  readonly temperature: number;
  /** One-hot draws whose gradient is that of the relaxed draw. */
  rsampleStraightThrough(key: Tensor, sampleShape?: Shape): Tensor;
}

function logGamma(n: number): number {
  let s = 0;
  for (let i = 2; i < n; i++) s += Math.log(i);
  return s;
}

/**
 * A relaxed categorical over the last axis of `logits` with temperature τ > 0.
 *
 * @example
 * const y = gumbelSoftmax(logits, 0.1).rsampleStraightThrough(key); // one-hot forward, soft gradient
 */
export function gumbelSoftmax(logits: Tensor, temperature: number): GumbelSoftmax {
  checkLogits('gumbelSoftmax', logits);
  if (!(temperature > 0)) throw new ArgumentError(`gumbelSoftmax: temperature must be positive, got ${temperature}`);
  const batchShape = logits.shape.slice(0, -1);
  const K = logits.shape[logits.ndim - 1];
  const dtype: 'float32' | 'float64' = logits.dtype === 'float64' ? 'float64' : 'float32';
  const rsample = (key: Tensor, sampleShape: Shape = []) => {
    const g = T.random.gumbel(key, [...sampleShape, ...logits.shape], dtype);
    return T.softmax(T.div(T.add(logits, g), temperature), -1);
  };
  /**
   * The Concrete density on the simplex (w.r.t. the first K - 1 coordinates):
   * log (K-1)! + (K-1) log τ + Σ_k (log π_k - (τ+1) log y_k) - K logsumexp_k (log π_k - τ log y_k).
   */
  const logProb = (y: Tensor) => {
    checkValue('gumbelSoftmax.logProb', 'y', y, batchShape, [K]);
    const logPi = T.logSoftmax(logits, -1);
    const logY = T.log(y);
    const terms = T.sum(T.sub(logPi, T.mul(logY, temperature + 1)), -1);
    const normalizer = T.mul(T.logsumexp(T.sub(logPi, T.mul(logY, temperature)), -1), K);
    return T.add(T.sub(terms, normalizer), logGamma(K) + (K - 1) * Math.log(temperature));
  };
  return {
    logits,
    temperature,
    batchShape,
    eventShape: [K],
    rsample: checkedDraw('gumbelSoftmax.rsample', rsample),
    sample: checkedDraw('gumbelSoftmax.sample', (key, sampleShape) => T.stopGradient(rsample(key, sampleShape))),
    logProb,
    sampleAndLogProb: checkedDraw('gumbelSoftmax.sampleAndLogProb', (key, sampleShape) => {
      const y = T.stopGradient(rsample(key, sampleShape));
      return [y, logProb(y)];
    }),
    rsampleStraightThrough: checkedDraw('gumbelSoftmax.rsampleStraightThrough', (key, sampleShape) => {
      const y = rsample(key, sampleShape);
      const hard = T.oneHot(T.argmax(y, -1), K, y.dtype);
      return T.add(T.stopGradient(T.sub(hard, y)), y);
    }),
  };
}
