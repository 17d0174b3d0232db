/** The one error type of the environments layer, a `MixrlError` like every error mixrl throws. */
import { MixrlError } from '../tensor/errors';

/** What went wrong, as a stable machine-readable string. */
export type EnvErrorCode =
  | 'invalid-action'
  | 'step-before-reset'
  | 'step-after-done'
  | 'invalid-state'
  | 'invalid-seed'
  | 'invalid-config'
  | 'unknown-env'
  | 'check-failed';

/**
 * An error raised (or returned in `Left`) by an environment, the registry or the checker. Messages name
 * the environment id first, then the step index and the offending value where there is one.
 *
 * @example
 * try {
 *   env.step(Float64Array.of(NaN));
 * } catch (e) {
 *   if (e instanceof EnvError && e.code === 'invalid-action') console.error(e.message);
 *   // "Pendulum: step 0: action [NaN] is not finite"
 * }
 */
export class EnvError extends MixrlError {
  declare readonly code: EnvErrorCode;
  constructor(code: EnvErrorCode, message: string) {
    super(code, message);
  }
}

/** Formats a vector for an error message: `[1, NaN, -Infinity]`. */
export function formatVector(x: ArrayLike<number>): string {
  return `[${Array.from(x, String).join(', ')}]`;
}
