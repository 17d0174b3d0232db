/** Polyak averaging of target networks. */
import { treeMap } from '../autodiff';
import { ArgumentError, type Tensor } from '../tensor';

/**
 * The soft target update (1 - τ) · target + τ · online, leaf by leaf over two pytrees of one
 * structure. τ = 1 copies the online params; τ = 0 keeps the target.
 *
 * @example
 * targetCritic = polyak(targetCritic, critic, 0.005);
 */
export function polyak<T>(target: T, online: T, tau: number): T {
  if (!(tau >= 0 && tau <= 1)) throw new ArgumentError(`polyak: tau must be in [0, 1], got ${tau}`);
  return treeMap((t: Tensor, o: Tensor) => t.mul(1 - tau).add(o.mul(tau)), target, online);
}
