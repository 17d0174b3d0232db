import { isLeft, isRight } from 'fp-ts/Either';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import { makeVectorEnv } from '../../src/envs';
import { rawFoldIn, rawKey, UniformStream } from '../../src/tensor/threefry';

/** Transition i, every field derived from i so a sampled row reveals which transition it came from. */
const transition = (i: number) => ({
  obs: [i, i + 0.5],
  action: [-i],
  reward: [10 * i],
  nextObs: [i + 1, i + 1.5],
  terminated: [i % 3 === 0],
});

function filled(capacity: number, count: number, storage: M.ReplayStorage = 'float32'): M.ReplayBuffer {
  const buffer = new M.ReplayBuffer({ capacity, obsDim: 2, actionDim: 1, storage });
  for (let i = 0; i < count; i++) buffer.add(transition(i));
  return buffer;
}

/** The chi-square quantile by Wilson and Hilferty's cube-root approximation (accurate to ~0.1% at df 49). */
const chiSquareQuantile = (df: number, z: number) => df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;

describe('ReplayBuffer: storage', () => {
  it('fills up to capacity, then overwrites the oldest transition (ring order)', () => {
    const buffer = filled(5, 3);
    expect(buffer.size).toBe(3);
    expect(buffer.state().meta).toMatchObject({ size: 3, next: 3 });
    for (let i = 3; i < 7; i++) buffer.add(transition(i));
    expect(buffer.size).toBe(5);
    const { meta, arrays } = buffer.state();
    expect(meta).toEqual({ capacity: 5, obsDim: 2, actionDim: 1, storage: 'float32', size: 5, next: 2 });
    expect(Array.from(arrays.action)).toEqual([-5, -6, -2, -3, -4]);
    expect(Array.from(arrays.obs)).toEqual([5, 5.5, 6, 6.5, 2, 2.5, 3, 3.5, 4, 4.5]);
    expect(Array.from(arrays.reward)).toEqual([50, 60, 20, 30, 40]);
    expect(Array.from(arrays.terminated)).toEqual([0, 1, 0, 1, 0]);
    expect(Array.from(arrays.nextObs.subarray(0, 2))).toEqual([6, 6.5]);
  });

  it('stores float32 by default (rounding once) and float64 on request (exactly)', () => {
    const t = { obs: [0.1, 1 / 3], action: [Math.PI], reward: [Math.E], nextObs: [0.2, 0.3], terminated: [0] };
    const b32 = new M.ReplayBuffer({ capacity: 2, obsDim: 2, actionDim: 1 });
    const b64 = new M.ReplayBuffer({ capacity: 2, obsDim: 2, actionDim: 1, storage: 'float64' });
    b32.add(t);
    b64.add(t);
    expect(Array.from(b32.state().arrays.obs)).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
    expect(b64.state().arrays.reward).toEqual(Float64Array.of(Math.E));
    const batch = b64.sample(rawKey(0), 4, { dtype: 'float64' });
    expect(batch.action.dtype).toBe('float64');
    expect(batch.action.toArraySync()).toEqual([[Math.PI], [Math.PI], [Math.PI], [Math.PI]]);
  });

  it('addBatch of N rows equals N single adds, across wrap-around (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 6 }), (capacity, batches) => {
        const one = new M.ReplayBuffer({ capacity, obsDim: 2, actionDim: 1 });
        const many = new M.ReplayBuffer({ capacity, obsDim: 2, actionDim: 1 });
        let i = 0;
        for (const n of batches) {
          const rows = Array.from({ length: n }, (_, k) => transition(i + k));
          rows.forEach((t) => one.add(t));
          many.addBatch({
            obs: rows.flatMap((t) => t.obs),
            action: rows.flatMap((t) => t.action),
            reward: rows.flatMap((t) => t.reward),
            nextObs: rows.flatMap((t) => t.nextObs),
            terminated: rows.flatMap((t) => t.terminated),
          });
          i += n;
        }
        expect(many.state()).toEqual(one.state());
      }),
      { numRuns: 100, seed: 5 },
    );
  });

  it('takes a vector env step as it comes (flat float64 rows, Uint8Array flags)', () => {
    const venv = makeVectorEnv('ShapedPendulum', 4);
    const obs = Float64Array.from(venv.reset({ seed: 0 }).obs);
    const actions = Float64Array.of(1, -1, 0.5, 2);
    const r = venv.step(actions);
    const buffer = new M.ReplayBuffer({ capacity: 10, obsDim: 3, actionDim: 1, storage: 'float64' });
    buffer.addBatch({ obs, action: actions, reward: r.rewards, nextObs: r.finalObs, terminated: r.terminated });
    const { arrays } = buffer.state();
    expect(arrays.obs).toEqual(obs);
    expect(arrays.nextObs).toEqual(r.finalObs);
    expect(arrays.reward).toEqual(r.rewards);
    expect(arrays.terminated).toEqual(r.terminated);
  });

  it('rejects bad configs and transitions of the wrong length, naming them', () => {
    expect(() => new M.ReplayBuffer({ capacity: 0, obsDim: 1, actionDim: 1 })).toThrow('ReplayBuffer: capacity must be a positive integer, got 0');
    expect(() => new M.ReplayBuffer({ capacity: 1, obsDim: 1.5, actionDim: 1 })).toThrow(M.ReplayError);
    expect(() => new M.ReplayBuffer({ capacity: 1, obsDim: 1, actionDim: 1, storage: 'int32' as never })).toThrow(
      "ReplayBuffer: storage must be 'float32' or 'float64', got int32",
    );
    const buffer = filled(3, 0);
    expect(() => buffer.add({ ...transition(0), obs: [1] })).toThrow('ReplayBuffer: obs has 1 values, expected 2 for 1 transition(s)');
    expect(() => buffer.add({ ...transition(0), reward: [1, 2] })).toThrow('ReplayBuffer: add takes one transition (reward of length 1), got 2; use addBatch');
    expect(() => buffer.addBatch({ ...transition(0), reward: [1, 2] })).toThrow('ReplayBuffer: obs has 2 values, expected 4 for 2 transition(s)');
    expect(buffer.size).toBe(0);
  });

  it('rejects a missing field and values that are not finite numbers, storing nothing', () => {
    const buffer = filled(3, 0);
    expect(() => buffer.add({ ...transition(0), terminated: undefined as never })).toThrow("ReplayBuffer: the transition's terminated must be an array of values, got undefined");
    expect(() => buffer.add({ ...transition(0), reward: [NaN] })).toThrow('ReplayBuffer: reward[0] is NaN, not a finite number');
    expect(() => buffer.add({ ...transition(0), obs: [0, 'a' as never] })).toThrow('ReplayBuffer: obs[1] is "a", not a finite number');
    const rows = { obs: [0, 0, 0, Infinity], action: [0, 0], reward: [0, 0], nextObs: [0, 0, 0, 0], terminated: [0, 0] }; // obsDim 2
    expect(() => buffer.addBatch(rows)).toThrow('ReplayBuffer: obs[3] (transition 1) is Infinity, not a finite number');
    expect(buffer.size).toBe(0);
  });
});

describe('ReplayBuffer: sampling', () => {
  it('returns [B, dim] float32 tensors (terminated as 0/1) on the default backend, rows from one transition', () => {
    const batch = filled(8, 8).sample(rawKey(1), 16);
    expect([batch.obs.shape, batch.action.shape, batch.reward.shape, batch.nextObs.shape, batch.terminated.shape]).toEqual([[16, 2], [16, 1], [16], [16, 2], [16]]);
    expect([batch.obs.dtype, batch.terminated.dtype, batch.obs.backend.name]).toEqual(['float32', 'float32', 'cpu']);
    const obs = batch.obs.toArraySync() as number[][];
    obs.forEach(([i, half], j) => {
      expect(half).toBe(i + 0.5);
      expect((batch.action.toArraySync() as number[][])[j]).toEqual([-i]);
      expect((batch.reward.toArraySync() as number[])[j]).toBe(10 * i);
      expect((batch.nextObs.toArraySync() as number[][])[j]).toEqual([i + 1, i + 1.5]);
      expect((batch.terminated.toArraySync() as number[])[j]).toBe(i % 3 === 0 ? 1 : 0);
    });
  });

  it('draws row j as floor(u_j · size) with u_j the j-th uniform of UniformStream(key)', () => {
    const buffer = filled(100, 37);
    const key = rawFoldIn(rawKey(9), 3);
    const stream = new UniformStream(key);
    const expected = Array.from({ length: 64 }, () => Math.floor(stream.next() * 37));
    const got = (buffer.sample(key, 64).action.toArraySync() as number[][]).map(([a]) => -a);
    expect(got).toEqual(expected);
  });

  it('is a pure function of the key and the contents: same key, same batch; another key, another batch', () => {
    const buffer = filled(50, 80);
    const a = buffer.sample(rawKey(3), 32).obs.dataSync();
    expect(buffer.sample(rawKey(3), 32).obs.dataSync()).toEqual(a);
    expect(filled(50, 80).sample(rawKey(3), 32).obs.dataSync()).toEqual(a);
    expect(buffer.sample(rawKey(4), 32).obs.dataSync()).not.toEqual(a);
  });

  it('is uniform over the stored transitions after wrap-around (chi-square, alpha = 1e-4)', () => {
    // Capacity 50 after 80 adds holds transitions 30..79. 100,000 draws in 100 batches of 1000 (one key
    // each); under uniformity the statistic is chi-square with 49 degrees of freedom, and exceeding its
    // 1 - 1e-4 quantile (z = 3.719) has probability 1e-4 over keys.
    const buffer = filled(50, 80);
    const counts = new Map<number, number>();
    for (let b = 0; b < 100; b++) {
      for (const [a] of buffer.sample(rawFoldIn(rawKey(2024), b), 1000).action.toArraySync() as number[][]) counts.set(-a, (counts.get(-a) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => 30 + i));
    const expected = 100_000 / 50;
    const chi2 = [...counts.values()].reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(chiSquareQuantile(49, 3.719));
  });

  it('rejects an empty buffer, a bad batch size and a key tensor in place of a raw key', () => {
    expect(() => filled(4, 0).sample(rawKey(0), 1)).toThrow(new M.ReplayError('empty', 'ReplayBuffer: cannot sample from an empty buffer'));
    expect(() => filled(4, 2).sample(rawKey(0), 0)).toThrow('ReplayBuffer: batchSize must be a positive integer, got 0');
    const needs = 'ReplayBuffer: sample: needs a raw key, a Uint32Array of 2 words such as rawKey(seed) or rawFoldIn(key, i); got';
    expect(() => filled(4, 2).sample(M.random.key(0) as never, 1)).toThrow(`${needs} a key tensor (its words: key.dataSync())`);
    expect(() => filled(4, 2).sample(0 as never, 1)).toThrow(`${needs} number`);
    // The helpers to make one come with the package.
    expect(Array.from(filled(4, 2).sample(M.rawFoldIn(M.rawKey(0), 3), 2).reward.dataSync())).toHaveLength(2);
  });
});

describe('ReplayBuffer.sampleStacked', () => {
  it("row i is buffer i's sample by key i, bit for bit, for both storages and dtypes", () => {
    for (const storage of ['float32', 'float64'] as const) {
      for (const dtype of ['float32', 'float64'] as const) {
        const buffers = [filled(8, 5, storage), filled(8, 11, storage), filled(8, 2, storage)];
        const keys = buffers.map((_, i) => rawFoldIn(rawKey(i), 7));
        const stacked = M.ReplayBuffer.sampleStacked(buffers, keys, 6, { dtype });
        expect(stacked.obs.shape).toEqual([3, 6, 2]);
        expect(stacked.reward.shape).toEqual([3, 6]);
        expect(stacked.obs.dtype).toBe(dtype);
        buffers.forEach((buffer, i) => {
          const alone = buffer.sample(keys[i], 6, { dtype });
          for (const field of ['obs', 'action', 'reward', 'nextObs', 'terminated'] as const) {
            expect(Array.from(M.slice(stacked[field], i).dataSync()), `${storage} ${dtype} buffer ${i} ${field}`).toEqual(Array.from(alone[field].dataSync()));
          }
        });
      }
    }
  });

  it('refuses a key count unlike the buffer count, an empty buffer and buffers of other widths, naming the buffer', () => {
    const key = rawKey(0);
    expect(() => M.ReplayBuffer.sampleStacked([filled(4, 2)], [key, key], 1)).toThrow('ReplayBuffer.sampleStacked: one key per buffer, got 2 keys for 1 buffers');
    expect(() => M.ReplayBuffer.sampleStacked([filled(4, 2), filled(4, 0)], [key, key], 1)).toThrow('ReplayBuffer.sampleStacked: cannot sample from an empty buffer (buffer 1)');
    const wide = new M.ReplayBuffer({ capacity: 4, obsDim: 3, actionDim: 1 });
    wide.add({ obs: [1, 2, 3], action: [0], reward: [0], nextObs: [1, 2, 3], terminated: [0] });
    expect(() => M.ReplayBuffer.sampleStacked([filled(4, 2), wide], [key, key], 1)).toThrow('ReplayBuffer.sampleStacked: buffer 1 holds obsDim 3, actionDim 1; buffer 0 2, 1');
  });
});

describe('ReplayBuffer: state', () => {
  it('round-trips through state() and fromState(), before and after wrap-around, for both storages', () => {
    for (const [count, storage] of [[3, 'float32'], [13, 'float64'], [0, 'float32']] as const) {
      const buffer = filled(5, count, storage);
      const restored = M.ReplayBuffer.fromState(buffer.state());
      if (!isRight(restored)) throw restored.left;
      expect(restored.right.state()).toEqual(buffer.state());
      restored.right.add(transition(100));
      buffer.add(transition(100));
      expect(restored.right.state()).toEqual(buffer.state());
      expect(restored.right.sample(rawKey(1), 8).obs.dataSync()).toEqual(buffer.sample(rawKey(1), 8).obs.dataSync());
    }
  });

  it('returns a copy: later adds do not change a saved state', () => {
    const buffer = filled(4, 4);
    const saved = buffer.state();
    buffer.add(transition(9));
    expect(Array.from(saved.arrays.action)).toEqual([-0, -1, -2, -3]);
  });

  it('rejects inconsistent states with a message naming the problem', () => {
    const good = filled(5, 3).state();
    const cases: [M.ReplayState, string][] = [
      [{ meta: null, arrays: good.arrays } as unknown as M.ReplayState, 'a state must be { meta, arrays } objects'],
      [{ ...good, meta: { ...good.meta, size: 6 } }, 'size must be an integer in [0, 5], got 6'],
      [{ ...good, meta: { ...good.meta, next: 1 } }, 'next must be 3 for size 3, got 1'],
      [{ ...good, meta: { ...good.meta, capacity: -1 } }, 'capacity must be a positive integer, got -1'],
      [{ ...good, arrays: { ...good.arrays, obs: new Float64Array(6) } }, 'array obs must be a Float32Array, got Float64Array'],
      [{ ...good, arrays: { ...good.arrays, reward: new Float32Array(2) } }, 'array reward has 2 values, expected 3 for size 3'],
      [{ ...good, arrays: { ...good.arrays, terminated: Uint8Array.of(0, 2, 1) } }, 'array terminated must hold only 0 and 1'],
    ];
    for (const [state, message] of cases) {
      const result = M.ReplayBuffer.fromState(state);
      expect(isLeft(result) && result.left).toEqual(new M.ReplayError('invalid-state', `ReplayBuffer: ${message}`));
    }
  });
});
