/** Adagrad as PyTorch's `torch.optim.Adagrad`. */
import { treeMap } from '../../autodiff';
import { ArgumentError, cast, div, type Tensor, zerosLike } from '../../tensor';
import { checkKeys, checkNonNegative, checkRate, countOf, initCount, type Optimizer, rateAt, scale, type Schedule } from './core';

export interface AdagradConfig {
  /** A fixed rate, or a `Schedule` of the update count. */
  lr: number | Schedule;
  /** The rate at update t (from 1) is lr / (1 + (t - 1) · lrDecay) (default 0). */
  lrDecay?: number;
  /** The accumulator's starting value (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the square root of the accumulator (default 1e-10, PyTorch's). */
  eps?: number;
  /** L2 penalty λ, added to the gradient as λ p (default 0). */
  weightDecay?: number;
}

/** Adagrad's state: `count` (updates done, int32 scalar) and `sum` (Σ g², the params' structure). */
export interface AdagradState {
  readonly count: Tensor;
  readonly sum: unknown;
}

const ADAGRAD_KEYS = ['lr', 'lrDecay', 'initialAccumulatorValue', 'eps', 'weightDecay'] as const;

/**
 * Adagrad as PyTorch's `torch.optim.Adagrad` (`maximize` aside): with g the gradient and count the
 * updates done before this one,
 *
 *     g ← g + λ p                               (weightDecay λ > 0)
 *     rate ← lr / (1 + count · lrDecay)
 *     s ← s + g²,   p ← p - rate · g / (√s + ε)
 *
 * s starts at `initialAccumulatorValue`. With a schedule, lr is the schedule at count.
 *
 * @example
 * const opt = adagrad({ lr: 0.01, lrDecay: 1e-4 });
 * let state = opt.init(params);
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function adagrad(config: AdagradConfig): Optimizer<AdagradState> {
  checkKeys('adagrad', config, ADAGRAD_KEYS);
  const { lr, lrDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, weightDecay = 0 } = config;
  checkRate('adagrad', lr);
  checkNonNegative('adagrad', 'lrDecay', lrDecay);
  checkNonNegative('adagrad', 'initialAccumulatorValue', initialAccumulatorValue);
  checkNonNegative('adagrad', 'eps', eps);
  checkNonNegative('adagrad', 'weightDecay', weightDecay);
  return {
    init(params) {
      const start = (p: Tensor) => (initialAccumulatorValue === 0 ? zerosLike(p) : zerosLike(p).add(initialAccumulatorValue));
      return { count: initCount(params), sum: treeMap(start, params) };
    },
    update(grads, state, params) {
      const count = countOf('adagrad', state);
      if (state.sum === undefined) throw new ArgumentError("adagrad: the state has no sum; make it with this optimizer's init");
      const lrNow = rateAt(lr, () => count);
      const g = weightDecay === 0 ? grads : treeMap((gi: Tensor, p: Tensor) => gi.add(p.mul(weightDecay)), grads, params);
      const sum = treeMap((s: Tensor, gi: Tensor) => s.add(gi.square()), state.sum, g);
      const newParams = treeMap(
        (p: Tensor, gi: Tensor, s: Tensor) => {
          const rate = lrDecay === 0 ? lrNow : div(typeof lrNow === 'number' ? lrNow : cast(lrNow, p.dtype), cast(count, p.dtype).mul(lrDecay).add(1));
          return p.sub(scale(gi.div(s.sqrt().add(eps)), rate));
        },
        params,
        g,
        sum,
      ) as typeof params;
      return [newParams, { count: count.add(1), sum }];
    },
  };
}
