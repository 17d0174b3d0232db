/**
 * makeActor: the jitted action for one observation equals the eager policy's draw and mode bit for
 * bit (raw keys folded on plain numbers give the bits the key tensors would), and a run of calls
 * traces once per `how`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from '../../src/experiments/train';
import { makeActor } from '../../src/rl/sac/act';
import { initSac, makeSacUpdate, policyAt, type SacHyperparameters } from '../../src/rl/sac/update';
import { ReplayBuffer } from '../../src/rl/replay';
import * as T from '../../src/tensor';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { actHyperparameters, bits, observation } from './act-setup';

/** The eager reference, written as the training loop used to: key tensors, a [1, O] batch. */
function eagerAction(h: SacHyperparameters, actor: ReturnType<typeof initSac>['actor'], obs: Float64Array, key: T.Tensor | null) {
  const policy = policyAt(h, actor, T.tensor(obs, { shape: [1, obs.length], dtype: h.dtype, backend: actor.layers[0].w.backend }));
  const action = key ? policy.sample(key) : policy.mode;
  if (!action) throw new Error('no mode');
  return Float64Array.from(action.dataSync());
}

describe('makeActor', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  for (const [agent, dtype] of [
    ['sg-rp', 'float32'],
    ['sgm-mrp', 'float32'],
    ['cm-mrp', 'float32'],
    ['usgm-rp', 'float32'],
    ['sgm-mrp', 'float64'],
  ] as const) {
    it(`jitted sample and mode equal the eager policy bit for bit (${agent}, ${dtype})`, () => {
      const h = actHyperparameters(agent, dtype);
      const { actor } = initSac(h, T.tensor(rawKey(3)));
      const jitted = makeActor(h);
      const eager = makeActor(h, { jit: false });
      const base = rawKey(42);
      const seen = new Set<string>();
      for (let i = 0; i < 24; i++) {
        const obs = observation(i);
        const reference = eagerAction(h, actor, obs, T.random.foldIn(T.tensor(base), i));
        const fromJit = jitted(actor, obs, rawFoldIn(base, i), 'sample');
        expect(fromJit).toBeInstanceOf(Float64Array); // synchronous on the CPU
        expect(bits(fromJit as Float64Array), `step ${i}`).toEqual(bits(reference));
        expect(bits(eager(actor, obs, rawFoldIn(base, i), 'sample') as Float64Array)).toEqual(bits(reference));
        // A key tensor and the raw key draw the same action.
        expect(bits(jitted(actor, obs, T.random.foldIn(T.tensor(base), i), 'sample') as Float64Array)).toEqual(bits(reference));
        seen.add(Array.from(reference).join());

        const mode = eagerAction(h, actor, obs, null);
        expect(bits(jitted(actor, obs, base, 'mode') as Float64Array)).toEqual(bits(mode));
        expect(bits(eager(actor, obs, base, 'mode') as Float64Array)).toEqual(bits(mode));
      }
      expect(seen.size).toBe(24); // the draws do depend on the key and the observation
    });
  }

  it("refuses a how other than 'sample' or 'mode'", () => {
    const h = actHyperparameters('sg-rp');
    const { actor } = initSac(h, T.tensor(rawKey(3)));
    expect(() => makeActor(h)(actor, observation(0), rawKey(1), 'greedy' as never)).toThrow("act: how must be 'sample' or 'mode', got \"greedy\"");
  });

  it('act() draws what the eager policy draws, and stays equal after updates', () => {
    const h = actHyperparameters('sgm-mrp');
    let state = initSac(h, T.tensor(rawKey(1)));
    const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 2 });
    for (let i = 0; i < 64; i++) {
      replay.add({ obs: observation(i), action: [Math.sin(i), 0.5], reward: [Math.cos(i)], nextObs: observation(i + 1), terminated: [0] });
    }
    const update = makeSacUpdate(h);
    for (let step = 0; step < 3; step++) {
      const obs = observation(step);
      const a = act(h, state.actor, obs, rawFoldIn(rawKey(9), step), 'sample') as Float64Array;
      expect(bits(a)).toEqual(bits(eagerAction(h, state.actor, obs, T.random.foldIn(T.tensor(rawKey(9)), step))));
      [state] = update(state, replay.sample(rawFoldIn(rawKey(2), step), 16), T.random.foldIn(T.tensor(rawKey(5)), step));
    }
  });

  it('traces once per how: new observations, keys and actor params of the same shapes replay the plan', () => {
    vi.stubEnv('MIXRL_DEBUG', 'jit');
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const traces = (name: string) => log.mock.calls.filter(([line]) => String(line).includes(`tracing ${name} `)).length;
    const h = actHyperparameters('sg-rp');
    const actor = makeActor(h);
    const params = [initSac(h, T.tensor(rawKey(1))).actor, initSac(h, T.tensor(rawKey(2))).actor];
    const first = actor(params[0], observation(0), rawKey(0), 'sample') as Float64Array;
    for (let i = 1; i < 20; i++) {
      actor(params[i % 2], observation(i), rawFoldIn(rawKey(0), i), 'sample');
      actor(params[i % 2], observation(i), rawKey(0), 'mode');
    }
    expect(traces('act-sample')).toBe(1);
    expect(traces('act-mode')).toBe(1);
    // The replayed call still computes: same inputs, same action; other params, another action.
    expect(bits(actor(params[0], observation(0), rawKey(0), 'sample') as Float64Array)).toEqual(bits(first));
    expect(bits(actor(params[1], observation(0), rawKey(0), 'sample') as Float64Array)).not.toEqual(bits(first));
    expect(traces('act-sample')).toBe(1);
  });

  it('refuses observations of the wrong length', () => {
    const h = actHyperparameters('usgm-rp');
    const { actor } = initSac(h, T.tensor(rawKey(1)));
    const actorFn = makeActor(h);
    expect(() => actorFn(actor, [1, 2], rawKey(0), 'sample')).toThrow(/observation of 2 values, the agent takes 3/);
    expect(actorFn(actor, observation(0), rawKey(0), 'sample')).toHaveLength(2);
  });
});
