/** Categorical distributions over K classes, from unnormalized log-probabilities. */
import * as T from '../tensor';
import type { Shape, Tensor } from '../tensor';
import type { Distribution } from './types';

export interface Categorical extends Distribution {
  readonly logits: Tensor;
  /** log-probabilities, normalized (log-softmax of the logits). */
  logProbs(): Tensor;
  probs(): Tensor;
  entropy(): Tensor;
  /** The most likely class. */
  readonly mode: Tensor;
}

/** Gathers `table[..., k]` for integer `k` of shape `[...extra, ...batch]` (table `[...batch, K]`). */
export function pickClass(table: Tensor, k: Tensor): Tensor {
  const lead = k.ndim + 1 - table.ndim;
  const expanded = lead > 0 ? T.reshape(table, [...Array<number>(lead).fill(1), ...table.shape]) : table;
  return T.squeeze(T.takeAlongAxis(expanded, T.expandDims(k, -1), -1), -1);
}

/**
 * Categorical over the last axis of `logits` (`[...batch, K]`); draws are int32 class indices.
 *
 * @example
 * const c = categorical(tensor([[0, Math.log(3)]]));
 * c.probs(); // [[0.25, 0.75]]
 */
export function categorical(logits: Tensor): Categorical {
  const logProbs = () => T.logSoftmax(logits, -1);
  const sample = (key: Tensor, sampleShape: Shape = []) =>
    T.random.categorical(key, T.broadcastTo(T.stopGradient(logits), [...sampleShape, ...logits.shape]), -1);
  const logProb = (k: Tensor) => pickClass(logProbs(), k);
  return {
    logits,
    batchShape: logits.shape.slice(0, -1),
    eventShape: [],
    logProbs,
    probs: () => T.softmax(logits, -1),
    entropy: () => {
      const lp = logProbs();
      return T.neg(T.sum(T.mul(T.exp(lp), lp), -1));
    },
    mode: T.argmax(logits, -1),
    sample,
    logProb,
    sampleAndLogProb(key, sampleShape) {
      const k = sample(key, sampleShape);
      return [k, logProb(k)];
    },
  };
}
