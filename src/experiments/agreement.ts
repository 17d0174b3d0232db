/**
 * A diagnostic for a new machine or backend: one SAC update from the same state and the same batch on
 * two backends, compared leaf by leaf. Float32 kernels differ in rounding between backends, so the
 * results agree to a small relative tolerance, not bit for bit.
 */
import { treeFlatten, treePaths } from '../autodiff';
import { makeModel, type Transition } from '../envs';
import { ReplayBuffer } from '../rl/replay';
import type { AgentName } from '../rl/sac/agents';
import { initSac, makeSacUpdate } from '../rl/sac/update';
import * as T from '../tensor';
import type { Backend, Tensor } from '../tensor';
import { rawFoldIn, rawKey, UniformStream } from '../tensor/threefry';
import { resolveConfig } from './config';
import { hyperparameters } from './train';

export interface Agreement {
  /** Largest over leaves of max |a - b| / max |a| (with a floor of 1e-3 on the scale). */
  maxRelative: number;
  /** Path of the leaf where it occurs. */
  worst: string;
}

/**
 * Runs one update of `agent` (classic-control size, ShapedPendulum data) on `a` and on `b`.
 *
 * @example
 * const { maxRelative } = await compareSacUpdate('sgm-mrp', cpu, await initBackend('webgpu'));
 */
export async function compareSacUpdate(agent: AgentName, a: Backend, b: Backend, seed = 0): Promise<Agreement> {
  const resolved = resolveConfig([{ env: 'ShapedPendulum', agent, seed }]);
  if (resolved._tag === 'Left') throw resolved.left;
  const model = makeModel('ShapedPendulum');
  const h = hyperparameters(resolved.right, model);
  const replay = new ReplayBuffer({ capacity: 256, obsDim: model.observationSpace.size, actionDim: model.actionSpace.size });
  const stream = new UniformStream(rawFoldIn(rawKey(seed), 7));
  const state = new Float64Array(model.stateLayout.length);
  const obs = new Float64Array(model.observationSpace.size);
  const next = new Float64Array(obs.length);
  const step: Transition = { reward: 0, terminated: false };
  model.initialState(stream, state, 0);
  model.observe(state, 0, obs, 0);
  for (let i = 0; i < 256; i++) {
    const action = Float64Array.of(stream.uniform(-2, 2));
    model.transition(state, 0, action, 0, step);
    model.observe(state, 0, next, 0);
    replay.add({ obs, action, reward: [step.reward], nextObs: next, terminated: [step.terminated] });
    obs.set(next);
  }
  const leaves = async (backend: Backend) => {
    const key = T.tensor(rawKey(seed), { backend });
    const batch = replay.sample(rawFoldIn(rawKey(seed), 1), 32, { backend });
    const result = makeSacUpdate(h)(initSac(h, key), batch, T.random.foldIn(key, 0));
    const [values, def] = treeFlatten(result);
    return { paths: treePaths(def), data: await Promise.all((values as Tensor[]).map((t) => t.data())) };
  };
  const [x, y] = [await leaves(a), await leaves(b)];
  let maxRelative = 0;
  let worst = '';
  x.data.forEach((xs, i) => {
    let diff = 0;
    let scale = 1e-3;
    for (let j = 0; j < xs.length; j++) {
      diff = Math.max(diff, Math.abs(xs[j] - y.data[i][j]));
      scale = Math.max(scale, Math.abs(xs[j]));
    }
    if (diff / scale > maxRelative) [maxRelative, worst] = [diff / scale, x.paths[i]];
  });
  return { maxRelative, worst };
}
