/**
 * Action selection for one observation: the policy's draw or its greedy (mode) action, as a plain
 * float64 array the environment can step with. By default the policy evaluation is jitted (on the CPU
 * and WebGPU), so a call replays one compiled plan; on the CPU the whole call is synchronous.
 */
import { jit, vmap } from '../../autodiff';
import * as T from '../../tensor';
import { ArgumentError, ArrayTensor, type Backend, cpu, MixrlError, type Tensor } from '../../tensor';
import type { RawKey } from '../../tensor/threefry';
import type { MlpParams } from '../mlp';
import { policyAt, type SacHyperparameters } from './update';

/** A draw from the policy, or its greedy action (`forward(base.mode)`). */
export type ActHow = 'sample' | 'mode';

/**
 * `(actor, obs, key, how) -> action`: the action for one observation (`obs.length === h.obsDim`),
 * with `key` a Threefry key (a raw `u32[2]` array, or a key tensor on the actor's backend); `mode`
 * ignores the key. The action is a fresh `Float64Array` of `h.head.actionDim` values, returned
 * directly where the backend reads synchronously (the CPU) and as a promise otherwise (WebGPU), so
 * `await` fits both.
 */
export type ActFn = (actor: MlpParams, obs: ArrayLike<number>, key: RawKey | Tensor, how: ActHow) => Float64Array | Promise<Float64Array>;

export interface ActorOptions {
  /**
   * Evaluate the policy through `jit` when the actor's tensors are on the CPU or WebGPU (default
   * true): traced once per `how`, then replayed; on the CPU bit-identical to eager mode. Other
   * backends, or `false`, evaluate eagerly.
   */
  jit?: boolean;
}

/** The policy's draw and mode for a batch of observations: what `makeActor` runs, and `makeBatchedActor` maps over agents. */
function policyActions(h: SacHyperparameters) {
  return {
    sampleAt: (actor: MlpParams, x: Tensor, key: Tensor): Tensor => policyAt(h, actor, x).sample(key),
    modeAt: (actor: MlpParams, x: Tensor): Tensor => {
      const mode = policyAt(h, actor, x).mode;
      if (!mode) throw new MixrlError('argument', `act: the ${h.head.kind} policy has no mode`);
      return mode;
    },
  };
}

/** Refuses a `how` other than 'sample' or 'mode'. */
function checkHow(how: unknown): void {
  if (how !== 'sample' && how !== 'mode') throw new MixrlError('argument', `act: how must be 'sample' or 'mode', got ${JSON.stringify(how) ?? String(how)}`);
}

/**
 * The action function of an agent with hyperparameters `h`. Draws use the same random bits as
 * `policyAt(h, actor, obs).sample(key)` on a `[1, obsDim]` batch, so a raw key `rawFoldIn(k, i)`
 * gives the action `random.foldIn(tensor(k), i)` would.
 *
 * @example
 * const actor = makeActor(h);
 * const a = actor(state.actor, obs, rawFoldIn(actKey, step), 'sample'); // Float64Array on the CPU
 * const greedy = await actor(state.actor, obs, actKey, 'mode');        // awaitable on every backend
 */
export function makeActor(h: SacHyperparameters, options: ActorOptions = {}): ActFn {
  const { sampleAt, modeAt } = policyActions(h);
  const useJit = options.jit !== false;
  const jittedSample = jit(sampleAt, { name: 'act-sample' });
  const jittedMode = jit(modeAt, { name: 'act-mode' });
  const shape = [1, h.obsDim] as const;
  // On the CPU a call writes the observation and the key into these arrays, kept for all calls: a
  // call reads them synchronously (a plan copies them in), and allocating them per call cost more
  // than the copy (a 17-float array, off V8's heap, ~0.5 us; the first read of a small array's
  // buffer, which a plan makes, ~0.3 us).
  const scratch = { obs: h.dtype === 'float32' ? new Float32Array(h.obsDim) : new Float64Array(h.obsDim), key: new Uint32Array(2) };

  return (actor, obs, key, how) => {
    const backend = key instanceof T.Tensor ? key.backend : actor.layers[0].w.backend;
    if (obs.length !== h.obsDim) {
      throw new MixrlError('argument', `act: observation of ${obs.length} values, the agent takes ${h.obsDim}`);
    }
    checkHow(how);
    const x = observation(obs, shape, h.dtype, backend, scratch.obs);
    const raw = how === 'sample' && !(key instanceof T.Tensor) ? key : undefined;
    if (raw && raw.length !== 2) throw new MixrlError('argument', `act: a key is 2 u32 words, got ${raw.length}`);
    const ownKey = raw && keyTensor(raw, [2], backend, scratch.key);
    const jitted = useJit && (backend.name === 'cpu' || backend.name === 'webgpu');
    let action: Tensor;
    if (how === 'mode') action = (jitted ? jittedMode : modeAt)(actor, x);
    else action = (jitted ? jittedSample : sampleAt)(actor, x, ownKey ?? (key as Tensor));
    // What this call made goes back to the pool now, not when the garbage collector runs (kernels
    // already recorded still read them: the queue keeps the order). On WebGPU a training loop then
    // takes the same buffers, and the bind groups made for them, every step.
    x.dispose();
    ownKey?.dispose();
    return read(action);
  };
}

/**
 * `(actors, obs, keys, how) -> actions` for `n` agents at once: `actors` stacked along a leading
 * agent axis (as `initSacBatch` makes them), `obs` the `n` observations one after another
 * (`n * h.obsDim` values), `keys` the `n` raw keys one after another (`2n` words; ignored by
 * `mode`); the actions come back the same way, `n * h.head.actionDim` values. A synchronous
 * `Float64Array` on the CPU, a promise on WebGPU.
 */
export type BatchedActFn = (actors: MlpParams, obs: ArrayLike<number>, keys: Uint32Array, how: ActHow) => Float64Array | Promise<Float64Array>;

/**
 * The action function of `n` agents with hyperparameters `h`, as one call (`vmap` of the
 * single agent's policy over the agent axis; jitted on the CPU and WebGPU unless `{ jit: false }`):
 * agent i's action is the one `makeActor(h)` gives for its parameters, observation and key, on the
 * CPU bit for bit (each agent's rows are computed as the single agent's are). A training loop of
 * many agents then pays one call and, on a GPU, one readback per step for all of them.
 *
 * @example
 * const act = makeBatchedActor(h, 3);
 * const keys = Uint32Array.from([0, 1, 2].flatMap((i) => [...rawFoldIn(agentKeys[i], step)]));
 * const actions = await act(states.actor, obs, keys, 'sample'); // 3 * actionDim values, agent by agent
 */
export function makeBatchedActor(h: SacHyperparameters, n: number, options: ActorOptions = {}): BatchedActFn {
  if (!Number.isSafeInteger(n) || n < 1) throw new ArgumentError(`makeBatchedActor: n must be a positive integer, got ${n}`);
  const single = policyActions(h);
  const [sampleAt, modeAt] = [vmap(single.sampleAt), vmap(single.modeAt)];
  const useJit = options.jit !== false;
  const jittedSample = jit(sampleAt, { name: `act-sample-x${n}` });
  const jittedMode = jit(modeAt, { name: `act-mode-x${n}` });
  const shape = [n, 1, h.obsDim] as const;
  const scratch = { obs: h.dtype === 'float32' ? new Float32Array(n * h.obsDim) : new Float64Array(n * h.obsDim), key: new Uint32Array(2 * n) };

  return (actors, obs, keys, how) => {
    const backend = actors.layers[0].w.backend;
    if (obs.length !== n * h.obsDim) {
      throw new MixrlError('argument', `act: ${obs.length} observation values for ${n} agents of ${h.obsDim} each (${n * h.obsDim})`);
    }
    checkHow(how);
    const x = observation(obs, shape, h.dtype, backend, scratch.obs);
    const jitted = useJit && (backend.name === 'cpu' || backend.name === 'webgpu');
    let action: Tensor;
    if (how === 'mode') action = (jitted ? jittedMode : modeAt)(actors, x);
    else {
      if (keys.length !== 2 * n) throw new MixrlError('argument', `act: ${keys.length} key words for ${n} agents (2 each)`);
      const key = keyTensor(keys, [n, 2], backend, scratch.key);
      action = (jitted ? jittedSample : sampleAt)(actors, x, key);
      key.dispose();
    }
    x.dispose();
    return read(action);
  };
}

/** The observation tensor of `shape` (`[1, n]`, or `[agents, 1, n]`); on the CPU `values` (of the dtype) is filled directly (no validation pass) and wrapped. */
function observation(obs: ArrayLike<number>, shape: readonly number[], dtype: 'float32' | 'float64', backend: Backend, values: Float32Array | Float64Array): Tensor {
  if (backend !== cpu) return T.tensor(Float64Array.from(obs), { shape, dtype, backend });
  for (let i = 0; i < obs.length; i++) values[i] = obs[i];
  return new ArrayTensor(cpu, values, shape, dtype);
}

/** The key tensor of `shape` holding raw key words; on the CPU `scratch` (of their length) is filled and wrapped. */
function keyTensor(words: ArrayLike<number>, shape: readonly number[], backend: Backend, scratch: Uint32Array): Tensor {
  if (backend !== cpu) return T.tensor(Uint32Array.from(words), { shape, dtype: 'uint32', backend });
  scratch.set(words);
  return new ArrayTensor(cpu, scratch, shape, 'uint32');
}

/** The action's values as float64 (synchronously from CPU storage, else through the async read); disposes it. */
function read(action: Tensor): Float64Array | Promise<Float64Array> {
  if (action instanceof ArrayTensor && action.backend === cpu) {
    const values = new Float64Array(action.handle as ArrayLike<number>);
    action.dispose();
    return values;
  }
  return action.data().then((values) => {
    action.dispose();
    return Float64Array.from(values as ArrayLike<number>);
  });
}
