/** Gradient clipping by global norm, as a function and as a gradient transformation for `chain`. */
import { treeLeaves, treeMap } from '../../autodiff';
import { add, ArgumentError, cast, defaultBackend, div, equal, full, isFloat, less, mul, sqrt, square, sum, Tensor, where } from '../../tensor';
import type { EmptyState, GradientTransformation } from './core';

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
  checkMaxNorm('clipByGlobalNorm', maxNorm);
  return clip(tree, maxNorm);
}

function checkMaxNorm(what: string, maxNorm: unknown): void {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new ArgumentError(`${what}: maxNorm must be a positive finite number, got ${String(maxNorm)}`);
  }
}

function clip<T>(tree: T, maxNorm: number): T {
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

/**
 * `clipByGlobalNorm` as a gradient transformation (optax's `clip_by_global_norm`), stateless, for
 * `chain`: the updates scaled by min(1, maxNorm / globalNorm(updates)).
 *
 * @example
 * const opt = chain(clipByGlobalNormTransform(1), adam({ lr: 3e-4 }));
 * let state = opt.init(params); // [{}, AdamState]
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function clipByGlobalNormTransform(maxNorm: number): GradientTransformation<EmptyState> {
  checkMaxNorm('clipByGlobalNormTransform', maxNorm);
  return {
    init: () => ({}),
    transform: (updates, state) => [clip(updates, maxNorm), state],
  };
}
