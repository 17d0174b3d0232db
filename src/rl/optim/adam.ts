/** Adam and AdamW as PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`. */
import { treeMap } from '../../autodiff';
import { ArgumentError, cast, div, expm1, mul, sqrt, sub, Tensor, zerosLike } from '../../tensor';
import { checkKeys, checkRate, countOf, initCount, type Optimizer, type Schedule } from './core';

/**
 * Adam's state. `count` is the number of updates done so far, an int32 scalar tensor as in optax: a
 * tensor so that a jitted update does not bake the step in as a constant, and so that the whole state
 * is a pytree of tensors a checkpoint stores like any other.
 */
export interface AdamState {
  readonly count: Tensor;
  /** First-moment estimates, the params' structure. */
  readonly mu: unknown;
  /** Second-moment estimates, the params' structure. */
  readonly nu: unknown;
}

export interface AdamConfig {
  /** A fixed rate, or a `Schedule` (`linearSchedule`, `cosineDecaySchedule`, or your own). */
  lr: number | Schedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Adam's config keys: no weightDecay, so `adam({ lr, weightDecay })` (PyTorch's Adam takes an L2
 * `weight_decay`, which this one lacks) is refused rather than ignored; `adamw` has the decoupled kind.
 */
const ADAM_KEYS = ['lr', 'beta1', 'beta2', 'eps'] as const;

/**
 * Adam as PyTorch's `torch.optim.Adam` (no weight decay, no amsgrad): with t = count + 1,
 *
 *     m ← β1 m + (1 - β1) g,   v ← β2 v + (1 - β2) g²,
 *     p ← p - (lr / (1 - β1^t)) · m / (√v / √(1 - β2^t) + ε).
 *
 * The bias corrections 1 - β^t are computed as -expm1(t · log β) in the params' dtype (log β in
 * float64 on the host), which keeps them accurate to a few ulps in float32 even for β close to 1,
 * where 1 - β^t would cancel; β = 0 gives log β = -∞ and a correction of exactly 1.
 *
 * @example
 * const opt = adam({ lr: 3e-4 });
 * let state = opt.init(params);
 * const g = grad(loss)(params, batch);
 * [params, state] = opt.update(g, state, params);
 */
export function adam(config: AdamConfig): Optimizer<AdamState> {
  checkKeys('adam', config, ADAM_KEYS);
  return adamWithDecay('adam', config, 0);
}

export interface AdamWConfig extends AdamConfig {
  /** Decoupled weight decay λ (default 0.01, PyTorch's). */
  weightDecay?: number;
}

/**
 * AdamW as PyTorch's `torch.optim.AdamW` (Loshchilov & Hutter's decoupled weight decay): each step
 * first shrinks the params, p ← p · (1 - lr · λ), then takes `adam`'s step from the shrunk p. The
 * state is Adam's. λ = 0 is `adam`, bit for bit.
 *
 * @example
 * const opt = adamw({ lr: 1e-3, weightDecay: 0.01 });
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function adamw(config: AdamWConfig): Optimizer<AdamState> {
  checkKeys('adamw', config, [...ADAM_KEYS, 'weightDecay']);
  const { weightDecay = 0.01, ...adamConfig } = config;
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) {
    throw new ArgumentError(`adamw: weightDecay must be a non-negative number, got ${weightDecay}`);
  }
  return adamWithDecay('adamw', adamConfig, weightDecay);
}

/** Adam, its params first shrunk by 1 - lr · decay (decay 0: plain Adam, no multiply). */
function adamWithDecay(name: string, config: AdamConfig, decay: number): Optimizer<AdamState> {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = config;
  checkRate(name, lr);
  for (const [key, beta] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(beta >= 0 && beta < 1)) throw new ArgumentError(`${name}: ${key} must be in [0, 1), got ${beta}`);
  }
  if (!(eps >= 0)) throw new ArgumentError(`${name}: eps must be non-negative, got ${eps}`);
  const [logBeta1, logBeta2] = [Math.log(beta1), Math.log(beta2)];
  return {
    init(params) {
      return {
        count: initCount(params),
        mu: treeMap((p: Tensor) => zerosLike(p), params),
        nu: treeMap((p: Tensor) => zerosLike(p), params),
      };
    },
    update(grads, state, params) {
      const count = countOf(name, state).add(1);
      for (const key of ['mu', 'nu'] as const) {
        if (state[key] === undefined) throw new ArgumentError(`${name}: the state has no ${key}; make it with this optimizer's init`);
      }
      // A schedule's rate at the updates done before this one, as optax counts.
      const rate = typeof lr === 'number' ? null : lr(state.count);
      const mu = treeMap((m: Tensor, g: Tensor) => m.mul(beta1).add(g.mul(1 - beta1)), state.mu, grads);
      const nu = treeMap((v: Tensor, g: Tensor) => v.mul(beta2).add(g.square().mul(1 - beta2)), state.nu, grads);
      const newParams = treeMap(
        (p: Tensor, m: Tensor, v: Tensor) => {
          const t = count.cast(p.dtype);
          const correction1 = expm1(t.mul(logBeta1)).neg();
          const correction2 = expm1(t.mul(logBeta2)).neg();
          const denom = v.sqrt().div(sqrt(correction2)).add(eps);
          if (rate === null) {
            const shrunk = decay === 0 ? p : p.mul(1 - (lr as number) * decay);
            return shrunk.sub(m.div(denom).mul(div(lr as number, correction1)));
          }
          const r = cast(rate, p.dtype);
          const shrunk = decay === 0 ? p : p.mul(sub(1, mul(r, decay)));
          return shrunk.sub(m.div(denom).mul(div(r, correction1)));
        },
        params,
        mu,
        nu,
      );
      return [newParams as typeof params, { count, mu, nu }];
    },
  };
}
