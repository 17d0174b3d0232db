/**
 * `donateArgnums` on WebGPU: donated tensors are disposed after each call, the results equal a
 * copying jitted update's over several calls: bit for bit on lavapipe; on hardware to 1e-5 of each
 * leaf's largest value, since writing in place changes the fused kernels and so where the compiler
 * contracts `a * b + c` (a wrong or overwritten buffer moves values by far more). A donated input's update is written into
 * the input's own buffer in the call (`in-place.ts`) when the group computing it reads the input
 * last, else the paired output goes into the previous call's donated buffer; either way a loop
 * reuses its bind groups instead of making new ones. A buffer another tensor (or argument) still
 * uses is never written.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { compileWebGPUPlan, type WebGPUPlanStats } from '../../src/autodiff/jit/plan-webgpu';
import { countBindGroups, describeWebGPU, expectSameUpToContraction, webgpu } from '../webgpu/gpu';
import { sacUpdateProgram } from './helpers';
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
      const [actual, expected] = [await values([nb, mb]), await values([na, ma])];
      expect(actual.length).toBe(expected.length);
      actual.forEach((leaf, j) => expectSameUpToContraction(leaf, expected[j], `update ${i}, leaf ${j}`, 1e-5));
      expect(() => given.actor.layers[0].w.data()).toThrow(/donated to jit\(sac-mrp\)/);
      [a, b] = [na, nb];
    }
  });

  it('never writes into a buffer a live tensor still uses (an input passed through, a reshape of it)', async () => {
    const backend = webgpu();
    type Pair = { a: Tensor; c: Tensor };
    const swap = (s: Pair) => ({ a: s.c, c: M.mul(s.a, 2), d: M.add(s.c, 1) });
    const f = M.jit(swap, { donateArgnums: 0 });
    const start = (): Pair => ({ a: M.tensor(Float32Array.from({ length: 12 }, (_, i) => i), { shape: [3, 4], backend }), c: M.tensor(Float32Array.from({ length: 12 }, (_, i) => 10 - i), { shape: [3, 4], backend }) });
    let [s, e] = [start(), start()];
    const kept: [Tensor, Tensor][] = [];
    for (let i = 0; i < 5; i++) {
      const view = M.reshape(s.c, [12]); // shares s.c's buffer: that buffer must not be reused
      const [out, ref] = [f(s), swap(e)];
      expect(await values(out), `call ${i}`).toEqual(await values(ref));
      kept.push([view, M.reshape(ref.a, [12])]);
      [s, e] = [{ a: M.add(out.a, 0), c: out.d }, { a: ref.a, c: ref.d }];
    }
    for (const [view, ref] of kept) expect(await values(view)).toEqual(await values(ref));
  });

  it('updates what the groups read last in place: Adam and Polyak on the state, not inputs read afterwards', async () => {
    const backend = webgpu();
    const { program, inputs, stateLeaves } = sacUpdateProgram(backend, 'single', 'rp', 1);
    const donated = inputs.map((_, i) => i < stateLeaves);
    const plan = compileWebGPUPlan(program, backend, { donated });
    // Parameters, both moments, target parameters and alpha's state: every state tensor but the step counts.
    expect(plan.stats.inPlace).toBeGreaterThan(30);
    // x is read after the group computing x' (by the product): not overwritten; x' goes into y's buffer.
    type State = { x: Tensor; y: Tensor };
    const step = (s: State): State => {
      const x = M.add(M.mul(s.x, 2), s.y);
      return { x, y: M.matmul(x, s.x) };
    };
    const f = M.jit(step, { donateArgnums: 0 });
    const start = (): State => ({ x: M.tensor([1, 2, 3, 4], { shape: [2, 2], backend }), y: M.tensor([5, 6, 7, 8], { shape: [2, 2], backend }) });
    let [a, b] = [start(), start()];
    for (let i = 0; i < 3; i++) {
      const [next, ref] = [f(a), step(b)];
      expect(await values(next), `call ${i}`).toEqual(await values(ref));
      [a, b] = [next, ref];
    }
    expect((M.jitStats(f).lastPlan as WebGPUPlanStats | undefined)?.inPlace).toBe(1);
  });

  it('never updates in place an input its group also reads transposed or as a product operand', async () => {
    const backend = webgpu();
    const n = 64;
    const onGpu = (t: Tensor) => M.tensor((t as M.ArrayTensor).dataSync() as Float32Array, { shape: [n, n], backend });
    const a = onGpu(M.random.normal(M.random.key(5), [n, n]));
    // Each with the in-place updates expected: none where the group or its product reads x twice;
    // one for the padded slice, which a step of its own computes before the group runs.
    const steps: [string, (x: Tensor) => Tensor, number][] = [
      ['x + x^T', (x) => M.add(x, M.transpose(x)), 0],
      ['2x + x^T', (x) => M.add(M.mul(x, 2), M.transpose(x)), 0],
      ['x + a x^T', (x) => M.add(x, M.matmul(a, M.transpose(x))), 0],
      ['x + x^T a', (x) => M.add(x, M.matmul(M.transpose(x), a)), 0],
      ['x + x shifted by a row', (x) => M.add(x, M.pad(M.slice(x, [1, null]), [[0, 1], [0, 0]])), 1],
    ];
    for (const [name, step, inPlace] of steps) {
      const x0 = M.random.normal(M.random.key(3), [n, n]);
      const expected = await step(onGpu(x0)).data();
      const f = M.jit(step, { donateArgnums: 0 });
      const actual = await f(onGpu(x0)).data();
      // A float32 sum of 64 products on both backends: 1e-4 of its size, where a read of an
      // overwritten element moves it by about 1.
      actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `${name} [${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(expected[i]))));
      expect((M.jitStats(f).lastPlan as WebGPUPlanStats | undefined)?.inPlace, name).toBe(inPlace);
    }
  });

  it('never updates in place a buffer passed as two donated arguments or held by another tensor', async () => {
    const backend = webgpu();
    const step = (s: { a: Tensor; b: Tensor }) => ({ a: M.mul(s.a, 2), b: M.add(s.b, 1) });
    const f = M.jit(step, { donateArgnums: 0 });
    const t = M.tensor([1, 2, 3], { backend });
    // The same tensor as both leaves: the first update must not overwrite what the second reads.
    expect(await values(f({ a: t, b: t }))).toEqual([[2, 4, 6], [2, 3, 4]]);
    const u = M.tensor([1, 2, 3], { backend });
    const held = M.reshape(u, [3, 1]); // shares u's buffer
    expect(await values(f({ a: u, b: M.tensor([0, 0, 0], { backend }) }))).toEqual([[2, 4, 6], [1, 1, 1]]);
    expect(await values(held)).toEqual([[1, 2, 3]]);
  });

  it('holds the tensors a plan captured: disposed by the caller, or donated to it, they keep their values in the plan', async () => {
    const backend = webgpu();
    const w = M.tensor(Array.from({ length: 1024 }, (_, i) => i % 2), { backend });
    const sum = M.jit((x: Tensor) => M.sum(M.add(x, w)));
    const zeros = M.zeros([1024], { backend });
    expect(await sum(zeros).item()).toBe(512);
    w.dispose();
    // Tensors of w's size made now would take its buffer, were it back in the pool.
    const others = Array.from({ length: 4 }, () => M.add(M.zeros([1024], { backend }), 7));
    await others[3].data();
    expect(await sum(zeros).item()).toBe(512);
    // A captured tensor donated to the plan that captured it: its update must not write the constant.
    const c = M.tensor([10, 20, 30], { backend });
    const plus = M.jit((x: Tensor) => M.add(x, c), { donateArgnums: 0 });
    expect(await values(plus(M.tensor([1, 1, 1], { backend })))).toEqual([[11, 21, 31]]);
    expect(await values(plus(c))).toEqual([[20, 40, 60]]);
    expect(await values(plus(M.tensor([1, 1, 1], { backend })))).toEqual([[11, 21, 31]]);
  });

  it('a donating loop alternates between two sets of state buffers and reuses their bind groups', async () => {
    const backend = webgpu();
    const h = smallSac({ obsDim: 3, head: { actionDim: 1, kind: 'single', components: 1, low: -1, high: 1 }, estimator: 'rp', hidden: [16, 16] });
    const key = M.tensor(rawKey(6), { backend });
    const replay = new ReplayBuffer({ capacity: 32, obsDim: 3, actionDim: 1 });
    for (let i = 0; i < 32; i++) replay.add({ obs: [i / 32, 0, 1], action: [0.1], reward: [1], nextObs: [(i + 1) / 32, 0, 1], terminated: [0] });
    const batch = replay.sample(rawKey(2), 16, { backend });
    const counter = countBindGroups(backend.device);
    try {
      const perCall: Record<string, number> = {};
      for (const donate of [false, true]) {
        const update = makeSacUpdate(h, { donate });
        let state = initSac(h, key);
        for (let i = 0; i < 4; i++) [state] = update(state, batch, key);
        await state.actor.layers[0].w.data();
        counter.made = 0;
        for (let i = 0; i < 6; i++) [state] = update(state, batch, key);
        await state.actor.layers[0].w.data();
        perCall[String(donate)] = counter.made / 6;
      }
      // Copying: every call's returned state is in new pool buffers, so the kernels reading or
      // writing it bind new groups (88 per call here); donating: the same two sets of state buffers
      // over and over (9 per call).
      // (The few left when donating are the kernels writing the metrics, fresh buffers every call.)
      expect(perCall.false).toBeGreaterThan(40);
      expect(perCall.true * 5).toBeLessThan(perCall.false);
    } finally {
      counter.restore();
    }
  });
});
