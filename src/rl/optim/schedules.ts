/** Learning-rate schedules as optax's: functions of the update count. */
import { add, ArgumentError, cast, cos, div, minimum, mul } from '../../tensor';
import type { Schedule } from './core';

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
