/** Stochastic gradient descent as PyTorch's `torch.optim.SGD`. */
import { treeMap } from '../../autodiff';
import { ArgumentError, equal, type Tensor, where, zerosLike } from '../../tensor';
import { checkBoolean, checkKeys, checkNonNegative, checkRate, checkUnit, countOf, initCount, type Optimizer, rateAt, scale, type Schedule } from './core';

export interface SgdConfig {
  /** A fixed rate, or a `Schedule` of the update count. */
  lr: number | Schedule;
  /** The momentum factor μ (default 0: no momentum buffer). */
  momentum?: number;
  /** Dampening d of the gradient added to the buffer, in [0, 1] (default 0). */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0, as PyTorch). */
  nesterov?: boolean;
  /** L2 penalty λ, added to the gradient as λ p (default 0). */
  weightDecay?: number;
}

/**
 * SGD's state: empty for a fixed rate without momentum (plain SGD, as it always was); `count` (the
 * updates done, an int32 scalar tensor) with a schedule or momentum; `momentumBuffer` (the params'
 * structure) with momentum.
 */
export interface SgdState {
  readonly count?: Tensor;
  readonly momentumBuffer?: unknown;
}

const SGD_KEYS = ['lr', 'momentum', 'dampening', 'nesterov', 'weightDecay'] as const;

/**
 * SGD as PyTorch's `torch.optim.SGD` (`maximize` aside): with g the gradient,
 *
 *     g ← g + λ p                      (weightDecay λ > 0)
 *     b ← g at the first update, else μ b + (1 - d) g     (momentum μ > 0)
 *     g ← g + μ b if nesterov, else b                      (momentum μ > 0)
 *     p ← p - lr · g
 *
 * The first update is told apart by the state's count with `where`, not a branch, so a jitted update
 * traces once. With the defaults this is plain gradient descent, p ← p - lr · g, and its state `{}`.
 *
 * @example
 * const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * let state = opt.init(params);
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function sgd(config: SgdConfig): Optimizer<SgdState> {
  checkKeys('sgd', config, SGD_KEYS);
  const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = config;
  checkRate('sgd', lr);
  checkNonNegative('sgd', 'momentum', momentum);
  checkUnit('sgd', 'dampening', dampening);
  checkBoolean('sgd', 'nesterov', nesterov);
  checkNonNegative('sgd', 'weightDecay', weightDecay);
  if (nesterov && (momentum === 0 || dampening !== 0)) {
    throw new ArgumentError(`sgd: nesterov needs momentum > 0 and dampening 0, got momentum ${momentum} and dampening ${dampening}`);
  }
  const counted = momentum > 0 || typeof lr === 'function';
  return {
    init(params) {
      if (!counted) return {};
      const count = initCount(params);
      return momentum > 0 ? { count, momentumBuffer: treeMap((p: Tensor) => zerosLike(p), params) } : { count };
    },
    update(grads, state, params) {
      const count = counted ? countOf('sgd', state) : undefined;
      const rate = rateAt(lr, () => count as Tensor);
      const g = weightDecay === 0 ? grads : treeMap((gi: Tensor, p: Tensor) => gi.add(p.mul(weightDecay)), grads, params);
      const step = (direction: unknown) => treeMap((p: Tensor, d: Tensor) => p.sub(scale(d, rate)), params, direction) as typeof params;
      if (count === undefined) return [step(g), state];
      if (momentum === 0) return [step(g), { count: count.add(1) }];
      if (state.momentumBuffer === undefined) throw new ArgumentError("sgd: the state has no momentumBuffer; make it with this optimizer's init");
      const first = equal(count, 0);
      const buffer = treeMap((b: Tensor, gi: Tensor) => where(first, gi, b.mul(momentum).add(gi.mul(1 - dampening))), state.momentumBuffer, g);
      const direction = nesterov ? treeMap((gi: Tensor, b: Tensor) => gi.add(b.mul(momentum)), g, buffer) : buffer;
      return [step(direction), { count: count.add(1), momentumBuffer: buffer }];
    },
  };
}
