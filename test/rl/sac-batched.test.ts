/**
 * The batched SAC update (vmap of the pure update over agents, jitted or not) equals the single-agent
 * update run separately for each agent: own parameters, optimizer state, replay batch and key.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import { initSacBatch, makeBatchedSacUpdate } from '../../src/rl/sac/batched';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import type { Tensor } from '../../src/tensor';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { expectTreesClose, expectTreesIdentical } from '../jit/helpers';

import { AGENTS, hyperparameters, replays } from './sac-batched-setup';

const N = 3;
const agentKeys = (backend: M.Backend = M.cpu) => Array.from({ length: N }, (_, i) => M.tensor(rawFoldIn(rawKey(11), i), { backend }));

describe('batched SAC update (cpu)', () => {
  it('initSacBatch stacks initSac of each key, bit for bit (vmap path and the orthogonal path)', () => {
    for (const init of ['torch', 'orthogonal'] as const) {
      const h = { ...hyperparameters(AGENTS[0]), init };
      const keys = agentKeys();
      const states = initSacBatch(h, M.stack(keys, 0));
      keys.forEach((k, i) => expectTreesIdentical(M.treeRow(states, i), initSac(h, k), `${init} agent ${i}`));
    }
  });

  for (const agent of AGENTS) {
    it(`${N} agents in one call equal ${N} separate updates (${agent.name}, eager and jit)`, () => {
      const h = hyperparameters(agent);
      const buffers = replays(N);
      const single = makeSacUpdate(h, { jit: false });
      const batched = { eager: makeBatchedSacUpdate(h, N, { jit: false }), jit: makeBatchedSacUpdate(h, N) };
      const keys = agentKeys();
      let separate = keys.map((k) => initSac(h, k));
      let together = { eager: initSacBatch(h, M.stack(keys, 0)), jit: initSacBatch(h, M.stack(keys, 0)) };
      for (let step = 0; step < 3; step++) {
        const batches = buffers.map((b, i) => b.sample(rawFoldIn(rawKey(100 + i), step), 16));
        const stepKeys = keys.map((k) => M.random.foldIn(k, step));
        const results = separate.map((s, i) => single(s, batches[i], stepKeys[i]));
        const expected = M.treeStack(results);
        // Today the CPU results are bit-identical (each batch member of the batched matmul is summed as
        // the 2-D product is); 1e-6 leaves room for a kernel that blocks batched products differently.
        for (const mode of ['eager', 'jit'] as const) {
          const out = batched[mode](together[mode], M.treeStack(batches), M.stack(stepKeys, 0));
          expectTreesClose(out, expected, 1e-6, `${agent.name} ${mode} step ${step}`);
          together = { ...together, [mode]: out[0] };
        }
        separate = results.map(([s]) => s);
      }
    });
  }

  it('a donating batched update equals the copying one and disposes the states it is given', () => {
    const h = hyperparameters(AGENTS[1]);
    const keys = M.stack(agentKeys(), 0);
    const [copying, donating] = [makeBatchedSacUpdate(h, N), makeBatchedSacUpdate(h, N, { donate: true })];
    let [a, b] = [initSacBatch(h, keys), initSacBatch(h, keys)];
    for (let step = 0; step < 3; step++) {
      const batches = M.treeStack(replays(N).map((r, i) => r.sample(rawFoldIn(rawKey(7 + i), step), 16)));
      const given = b;
      const [na, ma] = copying(a, batches, keys);
      const [nb, mb] = donating(b, batches, keys);
      expectTreesIdentical([nb, mb], [na, ma], `step ${step}`);
      expect(() => given.critics[0].layers[0].w.dataSync()).toThrow(/donated to jit\(sac-mrp-x3\)/);
      [a, b] = [na, nb];
    }
  });

  it('the metrics are per agent and differ between agents', () => {
    const h = hyperparameters(AGENTS[0]);
    const keys = M.stack(agentKeys(), 0);
    const batches = M.treeStack(replays(N).map((b, i) => b.sample(rawFoldIn(rawKey(5), i), 16)));
    const [, metrics] = makeBatchedSacUpdate(h, N)(initSacBatch(h, keys), batches, keys);
    const loss = Array.from(metrics.criticLoss.dataSync());
    expect(metrics.criticLoss.shape).toEqual([N]);
    expect(new Set(loss).size).toBe(N);
  });

  it('the jitted batched update allocates per call only arrays it returns (sg-rp and sgm-mrp)', () => {
    for (const agent of AGENTS.slice(0, 2)) {
      const h = hyperparameters(agent);
      const keys = M.stack(agentKeys(), 0);
      const update = M.jit(M.vmap(makeSacUpdate(h, { jit: false })));
      const batches = M.treeStack(replays(N).map((b, i) => b.sample(rawFoldIn(rawKey(5), i), 16)));
      const outputs = M.treeFlatten(update(initSacBatch(h, keys), batches, keys))[0].length;
      const plan = M.jitStats(update).lastPlan;
      expect(plan?.internalAllocations, agent.name).toEqual({});
      expect(plan?.allocationsPerCall, agent.name).toBeLessThanOrEqual(outputs);
    }
  });

  it('names the leaf whose agent axis is wrong', () => {
    const h = hyperparameters(AGENTS[0]);
    const keys = M.stack(agentKeys(), 0);
    const states = initSacBatch(h, keys);
    const batch = replays(1)[0].sample(rawKey(0), 16);
    const update = makeBatchedSacUpdate(h, N);
    expect(() => update(states, batch, keys)).toThrow(/batches\.action must have a leading axis of 3, got f32\[16,2\]/);
    expect(() => update(states, M.treeStack([batch, batch, batch]), M.slice(keys, [0, 2]) as Tensor)).toThrow(/keys must have a leading axis of 3, got u32\[2,2\]/);
    expect(() => makeBatchedSacUpdate(h, 0)).toThrow(/n must be a positive integer/);
  });
});
