/**
 * `donateArgnums` on WebGPU: donated tensors are disposed after each call (their buffers go back to
 * the pool while the call's kernels may still be queued), and the results equal a copying jitted
 * update's bit for bit over several calls, whose later allocations reuse those buffers.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { describeWebGPU, webgpu } from '../webgpu/gpu';
import { smallSac } from '../sac-fixtures';

/** The leaves' values, read back. */
const values = async (tree: unknown) => Promise.all(M.treeFlatten(tree)[0].map(async (x) => Array.from(await (x as Tensor).data())));

describeWebGPU('jit donateArgnums on WebGPU', () => {
  it('a donating SAC update equals the copying one and disposes the state it is given', async () => {
    const backend = webgpu();
    const h = smallSac({ obsDim: 3, head: { actionDim: 1, kind: 'mixture', components: 3, low: -1, high: 1 }, estimator: 'mrp', hidden: [16, 16], lr: 3e-3 });
    const key = M.tensor(rawKey(4), { backend });
    const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 1 });
    for (let i = 0; i < 64; i++) replay.add({ obs: [Math.sin(i), Math.cos(i), i / 64], action: [Math.sin(3 * i)], reward: [Math.cos(i)], nextObs: [Math.sin(i + 1), Math.cos(i + 1), (i + 1) / 64], terminated: [0] });
    const [copying, donating] = [makeSacUpdate(h), makeSacUpdate(h, { donate: true })];
    let [a, b] = [initSac(h, key), initSac(h, key)];
    for (let i = 0; i < 4; i++) {
      const batch = replay.sample(rawFoldIn(rawKey(1), i), 16, { backend });
      const k = M.random.foldIn(key, i);
      const given = b;
      const [na, ma] = copying(a, batch, k);
      const [nb, mb] = donating(b, batch, k);
      expect(await values([nb, mb]), `update ${i}`).toEqual(await values([na, ma]));
      expect(() => given.actor.layers[0].w.data()).toThrow(/donated to jit\(sac-mrp\)/);
      [a, b] = [na, nb];
    }
  });
});
