/**
 * Gradient-descent optimizers in the optax style: a pair of pure functions over pytrees,
 * `init(params) -> state` and `update(grads, state, params) -> [newParams, newState]`.
 */
import { treeLeaves, treeMap } from '../autodiff';
import {
  add,
  ArgumentError,
  cast,
  cos,
  defaultBackend,
  div,
  equal,
  expm1,
  full,
  isFloat,
  less,
  minimum,
  mul,
  sqrt,
  square,
  sub,
  sum,
  Tensor,
  where,
  zerosLike,
} from '../tensor';

/** An optimizer: pure functions, the state an immutable pytree of tensors (checkpointable as is). */
export interface Optimizer<S> {
  init<P>(params: P): S;
  update<P>(grads: P, state: S, params: P): [P, S];
}

/** Plain SGD's state: nothing. */
export type SgdState = Record<string, never>;

/**
 * Plain gradient descent, p ← p - lr · g (for tests and baselines).
 *
 * @example
 * const opt = sgd({ lr: 0.1 });
 * const [next] = opt.update(grads, opt.init(params), params);
 */
export function sgd(config: { lr: number }): Optimizer<SgdState> {
  const { lr } = config;
  checkRate('sgd', lr);
  return {
    init: () => ({}),
    update: (grads, state, params) => [treeMap((p: Tensor, g: Tensor) => p.sub(g.mul(lr)), params, grads), state],
  };
}

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

/**
 * A learning rate by step, as optax's schedules: `count` is the number of updates done before this
 * one (Adam's state count, an int32 scalar tensor, so a jitted update does not bake it in).
 */
export type Schedule = (count: Tensor) => Tensor;

export interface AdamConfig {
  /** A fixed rate, or a `Schedule` (`linearSchedule`, `cosineDecaySchedule`, or your own). */
  lr: number | Schedule;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

function checkRate(what: string, lr: number | Schedule): void {
  if (typeof lr === 'function') return;
  if (!(Number.isFinite(lr) && lr > 0)) throw new ArgumentError(`${what}: lr must be a positive number or a schedule, got ${lr}`);
}

/**
 * optax's `linear_schedule`: `init` at count 0, moving linearly to `end` over `steps` updates, then
 * `end`.
 *
 * @example
 * const opt = adam({ lr: linearSchedule({ init: 3e-4, end: 3e-5, steps: 100_000 }) });
 */
export function linearSchedule(config: { init: number; end: number; steps: number }): Schedule {
  const { init, end, steps } = config;
  if (![init, end].every(Number.isFinite) || !(Number.isInteger(steps) && steps > 0)) {
    throw new ArgumentError(`linearSchedule: need finite init and end and a positive integer steps, got ${init}, ${end}, ${steps}`);
  }
  return (count) => add(mul(minimum(div(cast(count, 'float32'), steps), 1), end - init), init);
}

/**
 * optax's `cosine_decay_schedule`: init · ((1 - alpha) · (1 + cos(π · min(count, steps) / steps)) / 2
 * + alpha), from `init` down to `alpha · init` at `steps`.
 *
 * @example
 * const opt = adam({ lr: cosineDecaySchedule({ init: 1e-3, steps: 50_000 }) });
 */
export function cosineDecaySchedule(config: { init: number; steps: number; alpha?: number }): Schedule {
  const { init, steps, alpha = 0 } = config;
  if (!Number.isFinite(init) || !(Number.isInteger(steps) && steps > 0) || !(alpha >= 0 && alpha <= 1)) {
    throw new ArgumentError(`cosineDecaySchedule: need a finite init, a positive integer steps and alpha in [0, 1], got ${init}, ${steps}, ${alpha}`);
  }
  return (count) => {
    const progress = minimum(div(cast(count, 'float32'), steps), 1);
    const decay = mul(add(cos(mul(progress, Math.PI)), 1), 0.5);
    return mul(add(mul(decay, 1 - alpha), alpha), init);
  };
}

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
      const backend = treeLeaves(params)[0]?.backend ?? defaultBackend();
      return {
        count: full([], 0, { dtype: 'int32', backend }),
        mu: treeMap((p: Tensor) => zerosLike(p), params),
        nu: treeMap((p: Tensor) => zerosLike(p), params),
      };
    },
    update(grads, state, params) {
      const count = state.count.add(1);
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

/**
 * The 2-norm of all the tensor leaves of a pytree together, sqrt(Σ over leaves Σ x²), as
 * `optax.global_norm` (integer leaves count as float32; the result has the leaves' promoted dtype;
 * an empty tree gives a float32 0). Its gradient where the norm is 0 is 0, not optax's NaN (the
 * double-where pattern, as `norm` does), so a clipped update of zero gradients differentiates.
 *
 * @example
 * globalNorm({ w: tensor([3]), b: [tensor([4])] }); // 5
 */
export function globalNorm(tree: unknown): Tensor {
  const leaves = treeLeaves(tree);
  if (leaves.length === 0) return full([], 0, { dtype: 'float32', backend: defaultBackend() });
  const squares = leaves.map((leaf) => sum(square(isFloat(leaf.dtype) ? leaf : cast(leaf, 'float32'))));
  const total = squares.reduce((a, b) => add(a, b));
  const zero = equal(total, 0);
  return where(zero, 0, sqrt(where(zero, 1, total)));
}

/**
 * The tree scaled by min(1, maxNorm / globalNorm(tree)), as `optax.clip_by_global_norm`: unchanged
 * when its global norm is below `maxNorm`, else every tensor leaf becomes leaf / norm · maxNorm (the
 * norm cast to the leaf's dtype). A tree of zeros stays zeros, its gradient finite (the divisor is
 * guarded on both passes). Non-tensor leaves are returned as they are.
 *
 * @example
 * const g = grad(loss)(params, batch);
 * [params, state] = opt.update(clipByGlobalNorm(g, 1), state, params);
 */
export function clipByGlobalNorm<T>(tree: T, maxNorm: number): T {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new ArgumentError(`clipByGlobalNorm: maxNorm must be a positive finite number, got ${String(maxNorm)}`);
  }
  const norm = globalNorm(tree);
  const keep = less(norm, maxNorm);
  // The divisor is 1 where the tree is kept, so a zero norm never divides (value or gradient).
  const divisor = where(keep, 1, norm);
  return treeMap(
    (leaf: unknown) =>
      leaf instanceof Tensor ? where(keep, leaf, mul(div(leaf, cast(divisor, leaf.dtype)), maxNorm)) : leaf,
    tree,
  );
}
