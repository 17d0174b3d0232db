/**
 * What every optimizer shares: the `Optimizer` interface, schedules' type, the step count and the
 * configuration checks.
 */
import { treeLeaves } from '../../autodiff';
import { ArgumentError, cast, defaultBackend, full, Tensor } from '../../tensor';

/** An optimizer: pure functions, the state an immutable pytree of tensors (checkpointable as is). */
export interface Optimizer<S> {
  init<P>(params: P): S;
  update<P>(grads: P, state: S, params: P): [P, S];
}

/**
 * A gradient transformation, as optax's `GradientTransformation`: `transform` (optax's `update`) maps
 * updates (at first the gradients) to new updates, the params' structure. It is not an `Optimizer`,
 * whose `update` returns new params; `chain` runs transformations and then, last, an optimizer. The
 * method has its own name so that neither can be passed where the other is expected.
 */
export interface GradientTransformation<S> {
  init<P>(params: P): S;
  transform<P>(updates: P, state: S, params: P): [P, S];
}

/**
 * A learning rate by step, as optax's schedules: `count` is the number of updates done before this
 * one (the optimizer state's count, an int32 scalar tensor, so a jitted update does not bake it in).
 */
export type Schedule = (count: Tensor) => Tensor;

/** The state of an optimizer or transformation that keeps nothing. */
export type EmptyState = Record<string, never>;

/** Throws an `ArgumentError` unless `lr` is a positive finite number or a schedule. */
export function checkRate(what: string, lr: number | Schedule): void {
  if (typeof lr === 'function') return;
  if (!(Number.isFinite(lr) && lr > 0)) throw new ArgumentError(`${what}: lr must be a positive number or a schedule, got ${lr}`);
}

/** Throws `<what>: <key> must be a non-negative number, got <value>` unless 0 <= value < ∞. */
export function checkNonNegative(what: string, key: string, value: unknown): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new ArgumentError(`${what}: ${key} must be a non-negative number, got ${String(value)}`);
  }
}

/** Throws `<what>: <key> must be in [0, 1], got <value>` unless 0 <= value <= 1. */
export function checkUnit(what: string, key: string, value: unknown): void {
  if (!(typeof value === 'number' && value >= 0 && value <= 1)) throw new ArgumentError(`${what}: ${key} must be in [0, 1], got ${String(value)}`);
}

/** Throws `<what>: <key> must be a boolean, got <value>` unless it is one. */
export function checkBoolean(what: string, key: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new ArgumentError(`${what}: ${key} must be a boolean, got ${String(value)}`);
}

/**
 * Throws unless `config` is an object whose keys are all in `known` (so `{ weight_decay: 0.1 }`, a
 * PyTorch spelling, is refused rather than ignored).
 */
export function checkKeys(what: string, config: unknown, known: readonly string[]): void {
  if (config === null || typeof config !== 'object') throw new ArgumentError(`${what}: expected a config object, got ${String(config)}`);
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) throw new ArgumentError(`${what}: unknown config key ${key} (known: ${known.join(', ')})`);
  }
}

/** The int32 scalar 0 on the params' backend: a fresh state's update count. */
export function initCount(params: unknown): Tensor {
  const backend = treeLeaves(params)[0]?.backend ?? defaultBackend();
  return full([], 0, { dtype: 'int32', backend });
}

/** The state's count, or an `ArgumentError` for a state that has none (not made by this optimizer's init). */
export function countOf(what: string, state: { readonly count?: Tensor }): Tensor {
  if (!(state?.count instanceof Tensor)) throw new ArgumentError(`${what}: the state has no count tensor; make it with this optimizer's init`);
  return state.count;
}

/** The rate of this update: the number itself, or the schedule at the count of updates done before it. */
export function rateAt(lr: number | Schedule, count: () => Tensor): number | Tensor {
  return typeof lr === 'number' ? lr : lr(count());
}

/** x · rate, a schedule's tensor rate cast to x's dtype (a number multiplies in x's dtype, weakly typed). */
export function scale(x: Tensor, rate: number | Tensor): Tensor {
  return typeof rate === 'number' ? x.mul(rate) : x.mul(cast(rate, x.dtype));
}
