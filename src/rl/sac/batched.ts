/**
 * SAC for a batch of independent agents: `vmap` of the pure update over a leading agent axis of
 * the state, the replay batch and the key, then `jit` of the result, so one call updates every
 * agent (each with its own parameters, optimizer state, replay batch and key) as one program:
 * batched matmuls, one random hash per draw for all keys. Row i of the result equals the single-
 * agent update of row i.
 */
import { jit, treeFlatten, treePaths, treeStack, vmap } from '../../autodiff';
import * as T from '../../tensor';
import { ArgumentError, formatAval, formatShape, type Tensor } from '../../tensor';
import type { ReplayBatch } from '../replay';
import { estimatorName, initSac, makeEagerUpdate, type SacHyperparameters, type SacMetrics, type SacRates, type SacState, type SacUpdateOptions } from './update';

/**
 * The batched update `(states, batches, keys, rates?) -> [states, metrics]`: every leaf of `states`
 * and `batches` has a leading axis of the `n` agents, `keys` is `u32[n, 2]`, and every metric is
 * `[n]`. With `rates` (each leaf `[n]`, the agents' float dtype) agent i learns at its own rates in
 * place of `h`'s (agents that differ in their learning rates train together, bit for bit as alone).
 */
export type BatchedSacUpdate = (states: SacState, batches: ReplayBatch, keys: Tensor, rates?: SacRates) => [SacState, SacMetrics];

/**
 * The SAC update of `n` independent agents with hyperparameters `h`, as one call: `vmap` of the pure
 * single-agent update, compiled with `jit` on the CPU and WebGPU unless `{ jit: false }`. With
 * `{ donate: true }` the jitted update gives up the states passed in, as `makeSacUpdate`'s does
 * (for `states = update(states, ...)[0]` loops: on WebGPU the new states reuse the old ones'
 * buffers and bind groups). Each agent's entropy scale is its own state (`logAlpha`), so agents
 * may differ in α as in their learning rates (`rates`).
 *
 * @example
 * const n = 100;
 * const keys = stack(Array.from({ length: n }, (_, i) => random.foldIn(random.key(0), i)));
 * let states = initSacBatch(h, keys);
 * const update = makeBatchedSacUpdate(h, n);
 * const batches = treeStack(buffers.map((b, i) => b.sample(rawKeys[i], 256)));
 * const [next, metrics] = update(states, batches, stepKeys); // metrics.criticLoss: [n]
 * const lrs = full([n], 3e-4); // or each agent's own
 * update(states, batches, stepKeys, { actorLr: lrs, criticLr: lrs, alphaLr: lrs });
 */
export function makeBatchedSacUpdate(h: SacHyperparameters, n: number, options: SacUpdateOptions = {}): BatchedSacUpdate {
  if (!Number.isSafeInteger(n) || n < 1) throw new ArgumentError(`makeBatchedSacUpdate: n must be a positive integer, got ${n}`);
  const step = makeEagerUpdate(h);
  const mapped = vmap((state: SacState, batch: ReplayBatch, key: Tensor) => step(state, batch, key)) as BatchedSacUpdate;
  const mappedWithRates = vmap((state: SacState, batch: ReplayBatch, key: Tensor, rates: SacRates) => step(state, batch, key, rates)) as BatchedSacUpdate;
  const compile = (f: BatchedSacUpdate, suffix: string) =>
    options.jit === false ? null : jit(f, { name: `sac-${estimatorName(h)}-x${n}${suffix}`, donateArgnums: options.donate ? [0] : [] });
  const [compiled, compiledWithRates] = [compile(mapped, ''), compile(mappedWithRates, '-rates')];
  return (states, batches, keys, rates) => {
    checkLeading(n, rates === undefined ? { states, batches, keys } : { states, batches, keys, rates });
    const jitted = keys.backend.name === 'cpu' || keys.backend.name === 'webgpu';
    if (rates === undefined) return jitted && compiled ? compiled(states, batches, keys) : mapped(states, batches, keys);
    return jitted && compiledWithRates ? compiledWithRates(states, batches, keys, rates) : mappedWithRates(states, batches, keys, rates);
  };
}

/** Every leaf must lead with the agent axis of size n (else vmap would map a wrong axis silently). */
function checkLeading(n: number, tree: unknown): void {
  const [leaves, def] = treeFlatten(tree);
  const bad = leaves.findIndex((leaf) => !(leaf instanceof T.Tensor) || leaf.ndim === 0 || leaf.shape[0] !== n);
  if (bad < 0) return;
  // The paths only for the message: naming every leaf costs more than the check, on every call.
  const path = treePaths(def)[bad].replace(/^\./, '');
  const t = leaves[bad];
  const got = t instanceof T.Tensor ? formatAval(t.aval) : typeof t;
  throw new ArgumentError(`batched SAC update for ${n} agents: ${path} must have a leading axis of ${n}, got ${got}`);
}

/**
 * Fresh states of `keys.shape[0]` agents, agent i initialized as `initSac(h, key i)` (`keys` is
 * `u32[n, 2]`), stacked along a leading axis.
 *
 * @example
 * const states = initSacBatch(h, stack([random.key(0), random.key(1), random.key(2)]));
 */
export function initSacBatch(h: SacHyperparameters, keys: Tensor): SacState {
  if (keys.dtype !== 'uint32' || keys.ndim !== 2 || keys.shape[1] !== 2) {
    throw new ArgumentError(`initSacBatch: keys must be u32[n, 2], got ${keys.dtype}${formatShape(keys.shape)}`);
  }
  // The orthogonal init reads its random normals on the host, so it cannot run under vmap: those
  // agents are initialized one by one and stacked.
  if (h.init === 'orthogonal') {
    const rows = Array.from({ length: keys.shape[0] }, (_, i) =>
      initSac(h, T.slice(keys, i)),
    );
    return treeStack(rows);
  }
  return vmap((key: Tensor) => initSac(h, key))(keys) as SacState;
}
