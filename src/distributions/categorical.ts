/** Categorical distributions over K classes, from unnormalized log-probabilities. */
import * as T from '../tensor';
import { ArgumentError, DTypeError, type Shape, type Tensor } from '../tensor';
import { checkedDraw, checkLogits, checkValue } from './checks';
import type { Distribution } from './types';

export interface Categorical extends Distribution {
  readonly logits: Tensor;
  /**
   * log P(k) for integer class indices `k` (`[...sample, ...batch]`). A plain number must be a class
   * in [0, K); the values of a tensor `k` are not checked (a negative index counts from the end).
   */
  logProb(k: Tensor | number): Tensor;
  /** log-probabilities, normalized (log-softmax of the logits). */
  logProbs(): Tensor;
  probs(): Tensor;
  entropy(): Tensor;
  /** The most likely class. */
  readonly mode: Tensor;
}

/**
 * Gathers `table[..., k]` for integer `k` of shape `[...extra, ...batch]` (table `[...batch, K]`);
 * the batch axes of `k` may broadcast.
 */
export function pickClass(table: Tensor, k: Tensor): Tensor {
  const lead = k.ndim + 1 - table.ndim;
  const ones = (n: number) => Array<number>(Math.abs(n)).fill(1);
  const expanded = lead > 0 ? T.reshape(table, [...ones(lead), ...table.shape]) : table;
  const indices = lead < 0 ? T.reshape(k, [...ones(lead), ...k.shape]) : k;
  return T.squeeze(T.takeAlongAxis(expanded, T.expandDims(indices, -1), -1), -1);
}

/**
 * Categorical over the last axis of `logits` (`[...batch, K]`); draws are int32 class indices.
 *
 * @example
 * const c = categorical(tensor([[0, Math.log(3)]]));
 * c.probs(); // [[0.25, 0.75]]
 */
export function categorical(logits: Tensor): Categorical {
  checkLogits('categorical', logits);
  const batchShape = logits.shape.slice(0, -1);
  const K = logits.shape[logits.ndim - 1];
  const logProbs = () => T.logSoftmax(logits, -1);
  const sample = (key: Tensor, sampleShape: Shape = []) =>
    T.random.categorical(key, T.broadcastTo(T.stopGradient(logits), [...sampleShape, ...logits.shape]), -1);
  const logProb = (k: Tensor | number) => {
    if (typeof k === 'number') {
      if (!Number.isInteger(k) || k < 0 || k >= K) throw new ArgumentError(`categorical.logProb: class ${k} is not an integer in [0, ${K})`);
      return pickClass(logProbs(), T.tensor(k, { dtype: 'int32', backend: logits.backend }));
    }
    checkValue('categorical.logProb', 'k', k, batchShape, []);
    if (!T.isInteger(k.dtype)) throw new DTypeError(`categorical.logProb: k must hold integer class indices, got ${k.dtype}`);
    return pickClass(logProbs(), k);
  };
  return {
    logits,
    batchShape,
    eventShape: [],
    logProbs,
    probs: () => T.softmax(logits, -1),
    entropy: () => {
      // p log p with 0 log 0 = 0: a class masked out by a -∞ logit adds nothing (not 0 · -∞ = NaN),
      // and the where keeps -∞ out of the gradient too (as PyTorch and distrax).
      const lp = logProbs();
      const p = T.exp(lp);
      return T.neg(T.sum(T.mul(p, T.where(T.greater(p, 0), lp, 0)), -1));
    },
    mode: T.argmax(logits, -1),
    sample: checkedDraw('categorical.sample', sample),
    logProb,
    sampleAndLogProb: checkedDraw('categorical.sampleAndLogProb', (key, sampleShape) => {
      const k = sample(key, sampleShape);
      return [k, logProb(k)];
    }),
  };
}
