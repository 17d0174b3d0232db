/** The SAC update refuses a batch whose fields do not match the agent (rather than broadcasting them). */
import { describe, expect, it } from 'vitest';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { type ReplayBatch, ReplayBuffer } from '../../src/rl/replay';
import * as T from '../../src/tensor';
import { rawKey } from '../../src/tensor/threefry';
import { actHyperparameters, observation } from './act-setup';

describe('SAC update: batch checks', () => {
  const h = actHyperparameters('sg-rp');
  const replay = new ReplayBuffer({ capacity: 32, obsDim: 3, actionDim: 2 });
  for (let i = 0; i < 32; i++) replay.add({ obs: observation(i), action: [0.5, 0.25], reward: [1], nextObs: observation(i + 1), terminated: [0] });
  const batch = replay.sample(rawKey(1), 8);
  const key = T.tensor(rawKey(2));

  it('refuses an unknown estimator by name', () => {
    expect(() => makeSacUpdate({ ...h, estimator: 'foo' as never })).toThrow("sac update: unknown estimator \"foo\" (known: ");
  });

  for (const jit of [true, false]) {
    const update = makeSacUpdate(h, { jit });
    const expectRefused = (bad: Partial<ReplayBatch>, message: string) =>
      expect(() => update(initSac(h, T.tensor(rawKey(3))), { ...batch, ...bad }, key)).toThrow(message);

    it(`names the field, the expected and the given shape (${jit ? 'jitted' : 'eager'})`, () => {
      expect(() => update(initSac(h, T.tensor(rawKey(3))), batch, key)).not.toThrow();
      // [B, 1] rewards would broadcast against [B] into a [B, B] target.
      expectRefused({ reward: T.reshape(batch.reward, [8, 1]) }, 'sac update: batch.reward must be f32[8] (batch.obs has B = 8 rows), got f32[8,1]');
      expectRefused({ terminated: T.reshape(batch.terminated, [8, 1]) }, 'sac update: batch.terminated must be f32[8] (batch.obs has B = 8 rows), got f32[8,1]');
      expectRefused({ action: T.slice(batch.action, [0, 4]) }, 'sac update: batch.action must be f32[8,2] (batch.obs has B = 8 rows), got f32[4,2]');
      expectRefused({ nextObs: T.cast(batch.nextObs, 'float64') }, 'sac update: batch.nextObs must be f32[8,3] (batch.obs has B = 8 rows), got f64[8,3]');
      expectRefused({ obs: T.concat([batch.obs, batch.obs], 1) }, 'sac update: batch.obs must be f32[B,3] (B transitions), got f32[8,6]');
      expectRefused({ reward: undefined }, 'sac update: batch.reward must be f32[8] (batch.obs has B = 8 rows), got undefined');
    });
  }
});
