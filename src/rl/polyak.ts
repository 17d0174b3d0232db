/** Polyak averaging of target networks. */
import { assertSameStructure, treeFlatten, treeMap, treePaths } from '../autodiff';
import { ArgumentError, formatAval, ShapeError, Tensor } from '../tensor';

/**
 * The soft target update (1 - τ) · target + τ · online, leaf by leaf over two pytrees of one
 * structure. τ = 1 copies the online params; τ = 0 keeps the target.
 *
 * @example
 * targetCritic = polyak(targetCritic, critic, 0.005);
 */
export function polyak<T>(target: T, online: T, tau: number): T {
  if (!(tau >= 0 && tau <= 1)) throw new ArgumentError(`polyak: tau must be in [0, 1], got ${tau}`);
  const [targets, def] = treeFlatten(target);
  const [onlines, onlineDef] = treeFlatten(online);
  assertSameStructure(def, onlineDef, 'polyak: online params');
  const paths = treePaths(def);
  targets.forEach((t, i) => {
    const [want, got] = [t, onlines[i]].map((x) => (x instanceof Tensor ? formatAval(x.aval) : typeof x));
    if (got !== want) throw new ShapeError(`polyak: online params at ${paths[i]} are ${got}, the target's ${want}`);
  });
  return treeMap((t: Tensor, o: Tensor) => t.mul(1 - tau).add(o.mul(tau)), target, online);
}
