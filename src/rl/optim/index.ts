/**
 * Gradient-descent optimizers in the optax style: a pair of pure functions over pytrees,
 * `init(params) -> state` and `update(grads, state, params) -> [newParams, newState]`, the state a
 * pytree of tensors. The updates are PyTorch's (`torch.optim`); `chain` composes gradient
 * transformations (clipping) with an optimizer, as optax's.
 */
export { type EmptyState, type GradientTransformation, type Optimizer, type Schedule } from './core';
export { cosineDecaySchedule, linearSchedule } from './schedules';
export { adam, type AdamConfig, type AdamState, adamw, type AdamWConfig } from './adam';
export { sgd, type SgdConfig, type SgdState } from './sgd';
export { rmsprop, type RmspropConfig, type RmspropState } from './rmsprop';
export { adagrad, type AdagradConfig, type AdagradState } from './adagrad';
export { clipByGlobalNorm, clipByGlobalNormTransform, globalNorm } from './clip';
export { chain, type StatesOf } from './chain';
