/**
 * makeActor: the jitted action for one observation equals the eager policy's draw and mode bit for
 * bit (raw keys folded on plain numbers give the bits the key tensors would), and a run of calls
 * traces once per `how`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from '../../src/experiments/train';
import { makeActor, makeBatchedActor } from '../../src/rl/sac/act';
import { initSacBatch } from '../../src/rl/sac/batched';
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

describe('makeBatchedActor', () => {
  for (const [agent, dtype] of [
    ['sg-rp', 'float32'],
    ['sgm-mrp', 'float32'],
    ['cm-mrp', 'float32'],
    ['sgm-mrp', 'float64'],
  ] as const) {
    it(`agent i's sample and mode equal makeActor's for its params, observation and key, bit for bit (${agent}, ${dtype})`, () => {
      const h = actHyperparameters(agent, dtype);
      const n = 4;
      const keys = Array.from({ length: n }, (_, i) => T.tensor(rawKey(10 + i)));
      const actors = keys.map((k) => initSac(h, k).actor);
      const stacked = initSacBatch(h, T.stack(keys, 0)).actor;
      const single = makeActor(h);
      for (const batched of [makeBatchedActor(h, n), makeBatchedActor(h, n, { jit: false })]) {
        for (let step = 0; step < 6; step++) {
          const obs = Float64Array.from({ length: 3 * n }, (_, j) => observation(step * n + Math.floor(j / 3))[j % 3]);
          const raw = actors.map((_, i) => rawFoldIn(rawKey(i), step));
          const sampled = batched(stacked, obs, Uint32Array.from(raw.flatMap((k) => [...k])), 'sample') as Float64Array;
          const modes = batched(stacked, obs, new Uint32Array(0), 'mode') as Float64Array;
          expect(sampled).toHaveLength(2 * n);
          actors.forEach((actor, i) => {
            const own = obs.subarray(3 * i, 3 * i + 3);
            expect(bits(sampled.slice(2 * i, 2 * i + 2)), `agent ${i} step ${step}`).toEqual(bits(single(actor, own, raw[i], 'sample') as Float64Array));
            expect(bits(modes.slice(2 * i, 2 * i + 2)), `agent ${i} step ${step} mode`).toEqual(bits(single(actor, own, raw[i], 'mode') as Float64Array));
          });
          expect(new Set(actors.map((_, i) => sampled[2 * i])).size).toBe(n); // the agents differ
        }
      }
    });
  }

  it('refuses observations or keys of the wrong length and a bad agent count, naming them', () => {
    const h = actHyperparameters('sg-rp');
    const actors = initSacBatch(h, T.stack([T.tensor(rawKey(1)), T.tensor(rawKey(2))], 0)).actor;
    const act2 = makeBatchedActor(h, 2);
    expect(() => act2(actors, new Float64Array(3), new Uint32Array(4), 'sample')).toThrow('act: 3 observation values for 2 agents of 3 each (6)');
    expect(() => act2(actors, new Float64Array(6), new Uint32Array(2), 'sample')).toThrow('act: 2 key words for 2 agents (2 each)');
    expect(() => act2(actors, new Float64Array(6), new Uint32Array(4), 'best' as never)).toThrow("act: how must be 'sample' or 'mode', got \"best\"");
    expect(() => makeBatchedActor(h, 0)).toThrow('makeBatchedActor: n must be a positive integer, got 0');
  });
});
