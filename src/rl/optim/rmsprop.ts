/** RMSprop as PyTorch's `torch.optim.RMSprop`. */
import { treeMap } from '../../autodiff';
import { ArgumentError, type Tensor, zerosLike } from '../../tensor';
import { checkBoolean, checkKeys, checkNonNegative, checkRate, checkUnit, countOf, initCount, type Optimizer, rateAt, scale, type Schedule } from './core';

export interface RmspropConfig {
  /** A fixed rate, or a `Schedule` of the update count. */
  lr: number | Schedule;
  /** Smoothing constant α of the averages, in [0, 1] (default 0.99). */
  alpha?: number;
  /** Added to the root mean square, outside the square root (default 1e-8). */
  eps?: number;
  /** The momentum factor μ (default 0: no buffer). */
  momentum?: number;
  /** Normalize by the variance estimate v - ḡ² instead of v (default false). */
  centered?: boolean;
  /** L2 penalty λ, added to the gradient as λ p (default 0). */
  weightDecay?: number;
}

/**
 * RMSprop's state: `count` (updates done, int32 scalar), `squareAvg` (v), and, as configured,
 * `gradAvg` (ḡ, centered) and `momentumBuffer` (b, momentum > 0), each the params' structure.
 */
export interface RmspropState {
  readonly count: Tensor;
  readonly squareAvg: unknown;
  readonly gradAvg?: unknown;
  readonly momentumBuffer?: unknown;
}

const RMSPROP_KEYS = ['lr', 'alpha', 'eps', 'momentum', 'centered', 'weightDecay'] as const;

/**
 * RMSprop as PyTorch's `torch.optim.RMSprop` (`maximize` aside): with g the gradient,
 *
 *     g ← g + λ p                                   (weightDecay λ > 0)
 *     v ← α v + (1 - α) g²
 *     ḡ ← α ḡ + (1 - α) g,  s ← √(v - ḡ²) + ε        (centered)
 *     s ← √v + ε                                    (otherwise)
 *     b ← μ b + g / s,  p ← p - lr · b              (momentum μ > 0)
 *     p ← p - lr · g / s                            (otherwise)
 *
 * v, ḡ and b start at zero. ε is added outside the square root, as PyTorch (Keras and optax add it
 * inside by default).
 *
 * @example
 * const opt = rmsprop({ lr: 1e-3, alpha: 0.99, centered: true });
 * let state = opt.init(params);
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function rmsprop(config: RmspropConfig): Optimizer<RmspropState> {
  checkKeys('rmsprop', config, RMSPROP_KEYS);
  const { lr, alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, weightDecay = 0 } = config;
  checkRate('rmsprop', lr);
  checkUnit('rmsprop', 'alpha', alpha);
  checkNonNegative('rmsprop', 'eps', eps);
  checkNonNegative('rmsprop', 'momentum', momentum);
  checkBoolean('rmsprop', 'centered', centered);
  checkNonNegative('rmsprop', 'weightDecay', weightDecay);
  const zeros = (params: unknown) => treeMap((p: Tensor) => zerosLike(p), params);
  return {
    init(params) {
      return {
        count: initCount(params),
        squareAvg: zeros(params),
        ...(centered ? { gradAvg: zeros(params) } : {}),
        ...(momentum > 0 ? { momentumBuffer: zeros(params) } : {}),
      };
    },
    update(grads, state, params) {
      const count = countOf('rmsprop', state);
      for (const [key, needed] of [['squareAvg', true], ['gradAvg', centered], ['momentumBuffer', momentum > 0]] as const) {
        if (needed && state[key] === undefined) throw new ArgumentError(`rmsprop: the state has no ${key}; make it with this optimizer's init`);
      }
      const rate = rateAt(lr, () => count);
      const g = weightDecay === 0 ? grads : treeMap((gi: Tensor, p: Tensor) => gi.add(p.mul(weightDecay)), grads, params);
      const squareAvg = treeMap((v: Tensor, gi: Tensor) => v.mul(alpha).add(gi.square().mul(1 - alpha)), state.squareAvg, g);
      const gradAvg = centered ? treeMap((a: Tensor, gi: Tensor) => a.mul(alpha).add(gi.mul(1 - alpha)), state.gradAvg, g) : undefined;
      const denom = centered
        ? treeMap((v: Tensor, a: Tensor) => v.sub(a.square()).sqrt().add(eps), squareAvg, gradAvg)
        : treeMap((v: Tensor) => v.sqrt().add(eps), squareAvg);
      const scaled = treeMap((gi: Tensor, s: Tensor) => gi.div(s), g, denom);
      const momentumBuffer = momentum > 0 ? treeMap((b: Tensor, u: Tensor) => b.mul(momentum).add(u), state.momentumBuffer, scaled) : undefined;
      const newParams = treeMap((p: Tensor, d: Tensor) => p.sub(scale(d, rate)), params, momentumBuffer ?? scaled) as typeof params;
      return [
        newParams,
        { count: count.add(1), squareAvg, ...(centered ? { gradAvg } : {}), ...(momentum > 0 ? { momentumBuffer } : {}) },
      ];
    },
  };
}
