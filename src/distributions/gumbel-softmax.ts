/**
 * The Gumbel-softmax (Concrete) relaxation of a categorical (Maddison et al. 2017; Jang et al. 2017):
 * y = softmax((logits + g) / τ) with g standard Gumbel, and its straight-through form whose forward
 * value is the one-hot argmax and whose gradient is the relaxed sample's.
 */
import * as T from '../tensor';
import { ArgumentError, type Shape, type Tensor } from '../tensor';
import { checkedDraw, checkLogits, checkValue, describe } from './checks';
import type { Reparameterized } from './types';

export interface GumbelSoftmax extends Reparameterized {
  readonly logits: Tensor;
  readonly temperature: number;
  /** One-hot draws whose gradient is that of the relaxed draw. */
  rsampleStraightThrough(key: Tensor, sampleShape?: Shape): Tensor;
}

/**
 * Throws unless τ is a finite number > 0 (an infinite one makes every draw uniform, and the
 * straight-through argmax then always component 0).
 *
 * @example
 * checkTemperature('gumbelRp', 0); // ArgumentError: gumbelRp: temperature must be a finite number > 0, got 0
 */
export function checkTemperature(where: string, temperature: unknown): asserts temperature is number {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || !(temperature > 0)) {
    throw new ArgumentError(`${where}: temperature must be a finite number > 0, got ${typeof temperature === 'number' ? temperature : describe(temperature)}`);
  }
}

function logGamma(n: number): number {
  let s = 0;
  for (let i = 2; i < n; i++) s += Math.log(i);
  return s;
}

/**
 * A relaxed categorical over the last axis of `logits` with temperature τ > 0 (finite).
 * `sampleAndLogProb` evaluates its own draws' density from log y computed as a log-softmax, so it
 * stays finite where a draw's small entries underflow to 0 (float32 at τ = 0.1 does that now and
 * then); `logProb(y)` of a given y with zero entries (the simplex's boundary) is NaN.
 *
 * @example
 * const y = gumbelSoftmax(logits, 0.1).rsampleStraightThrough(key); // one-hot forward, soft gradient
 */
export function gumbelSoftmax(logits: Tensor, temperature: number): GumbelSoftmax {
  checkLogits('gumbelSoftmax', logits);
  checkTemperature('gumbelSoftmax', temperature);
  const batchShape = logits.shape.slice(0, -1);
  const K = logits.shape[logits.ndim - 1];
  const dtype: 'float32' | 'float64' = logits.dtype === 'float64' ? 'float64' : 'float32';
  /** (logits + g) / τ, whose softmax is the relaxed draw. */
  const scaledLogits = (key: Tensor, sampleShape: Shape) => {
    const g = T.random.gumbel(key, [...sampleShape, ...logits.shape], dtype);
    return T.div(T.add(logits, g), temperature);
  };
  const rsample = (key: Tensor, sampleShape: Shape = []) => T.softmax(scaledLogits(key, sampleShape), -1);
  /**
   * The Concrete density on the simplex (w.r.t. the first K - 1 coordinates), from log y:
   * log (K-1)! + (K-1) log τ + Σ_k (log π_k - (τ+1) log y_k) - K logsumexp_k (log π_k - τ log y_k).
   */
  const logDensity = (logY: Tensor) => {
    const logPi = T.logSoftmax(logits, -1);
    const terms = T.sum(T.sub(logPi, T.mul(logY, temperature + 1)), -1);
    const normalizer = T.mul(T.logsumexp(T.sub(logPi, T.mul(logY, temperature)), -1), K);
    return T.add(T.sub(terms, normalizer), logGamma(K) + (K - 1) * Math.log(temperature));
  };
  const logProb = (y: Tensor) => {
    checkValue('gumbelSoftmax.logProb', 'y', y, batchShape, [K]);
    return logDensity(T.log(y));
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
      // log y as a log-softmax: at small τ a draw's small entries underflow to 0 (float32 often),
      // where log(y) would make the density inf - inf.
      const z = T.stopGradient(scaledLogits(key, sampleShape));
      return [T.softmax(z, -1), logDensity(T.logSoftmax(z, -1))];
    }),
    rsampleStraightThrough: checkedDraw('gumbelSoftmax.rsampleStraightThrough', (key, sampleShape) => {
      const y = rsample(key, sampleShape);
      const hard = T.oneHot(T.argmax(y, -1), K, y.dtype);
      return T.add(T.stopGradient(T.sub(hard, y)), y);
    }),
  };
}
