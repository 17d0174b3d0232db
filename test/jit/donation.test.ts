/**
 * `jit(f, { donateArgnums })`: donated tensors are disposed after the call; on the CPU, outputs
 * reuse the donated inputs' memory (two regions per pair, alternating) and every result equals the
 * eager function's bit for bit, whatever the caller does with the tensors it holds: feeding outputs
 * back, keeping an old output, passing fresh inputs, passing an output as a non-donated argument.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { smallSac } from '../sac-fixtures';
import { randomValues } from '../tensor/helpers';
import { expectTreesIdentical } from './helpers';

interface State {
  w: Tensor;
  b: Tensor;
  m: Tensor;
}

/** One step of heavy-ball descent on a least-squares loss: the state's leaves are matmul / fused outputs. */
const step = (s: State, x: Tensor, y: Tensor): [State, Tensor] => {
  const [loss, g] = M.valueAndGrad((p: { w: Tensor; b: Tensor }) => M.mean(M.square(M.sub(M.add(M.matmul(x, p.w), p.b), y))))({ w: s.w, b: s.b });
  const m = M.add(M.mul(s.m, 0.9), g.w);
  return [{ w: M.sub(s.w, M.mul(m, 0.1)), b: M.sub(s.b, M.mul(g.b, 0.1)), m }, loss];
};

const tensor = (seed: number, shape: number[]) => M.tensor(Float32Array.from(randomValues(seed, shape.reduce((a, b) => a * b, 1))), { shape });
const initial = (): State => ({ w: tensor(1, [8, 4]), b: tensor(2, [4]), m: M.zeros([8, 4]) });
const [x, y] = [tensor(3, [16, 8]), tensor(4, [16, 4])];
const copy = (s: State): State => ({ w: M.tensor(s.w.dataSync(), { shape: s.w.shape }), b: M.tensor(s.b.dataSync(), { shape: s.b.shape }), m: M.tensor(s.m.dataSync(), { shape: s.m.shape }) });

describe('jit donateArgnums (CPU)', () => {
  it('equals eager mode over repeated calls, the outputs reusing the donated memory', () => {
    const jitted = M.jit(step, { donateArgnums: 0 });
    let eager = initial();
    let state = initial();
    const buffers: ArrayBufferLike[] = [];
    for (let i = 0; i < 5; i++) {
      const [ne, le] = step(eager, x, y);
      const [nj, lj] = jitted(state, x, y);
      expectTreesIdentical([nj, lj], [ne, le], `call ${i}`);
      buffers.push(((nj.w as M.ArrayTensor).handle as Float32Array).buffer);
      [eager, state] = [ne, nj];
    }
    expect(M.jitStats(jitted).lastPlan?.donatedInPlace).toBe(3);
    // Views of the plan's memory, not fresh copies: every output shares one buffer.
    expect(new Set(buffers).size).toBe(1);
  });

  it('disposes donated arguments: a later use throws naming the function', () => {
    const jitted = M.jit(step, { donateArgnums: [0], name: 'descend' });
    const s = initial();
    jitted(s, x, y);
    expect(() => s.w.dataSync()).toThrow(/donated to jit\(descend\)/);
    // Arguments not donated stay usable.
    expect(x.dataSync().length).toBe(128);
  });

  it('keeps the values of outputs the caller holds on to, and of outputs passed as other arguments', () => {
    const jitted = M.jit(step, { donateArgnums: 0 });
    const [s1] = jitted(initial(), x, y);
    const [s2] = jitted(s1, x, y);
    const kept = copy(s2);
    // Fresh inputs are copied in where s2 is, the outputs go where s1 was: s2 must keep its values.
    const [t1] = jitted(initial(), x, y);
    expectTreesIdentical(s2, kept, 'held output, fresh inputs');
    // t1 fed back: its outputs go where s2 first was.
    const [t2] = jitted(t1, M.mul(x, 2), y);
    expectTreesIdentical(s2, kept, 'held output, outputs written');
    expectTreesIdentical(t2, step(step(initial(), x, y)[0], M.mul(x, 2), y)[0], 'other computation');
    // A donated state's leaf passed again as a non-donated argument: read before anything is written.
    const nudge = (s: State, e: Tensor) => step({ ...s, w: M.add(s.w, M.mul(e, 0.01)) }, x, y);
    const g = M.jit(nudge, { donateArgnums: 0 });
    const [v1] = g(initial(), M.zeros([8, 4]));
    const expected = nudge(copy(v1), copy(v1).m);
    expectTreesIdentical(g(v1, v1.m), expected, 'leaf passed twice');
    expect(() => v1.w.dataSync()).toThrow(/donated/);
    // Leaves donated out of place (so outputs overwrite where they were), one also read late by a JS
    // step (flip) as a non-donated argument: it must be read from a copy.
    const late = (s: State, e: Tensor) => [...step(s, x, y), M.flip(e, [0])] as const;
    const h = M.jit(late, { donateArgnums: 0 });
    const [w1] = h(initial(), M.zeros([8, 4]));
    const flipped = M.flip(copy(w1).w, [0]).dataSync();
    expect(Array.from(h({ w: w1.m, b: w1.b, m: w1.w }, w1.w)[2].dataSync())).toEqual(Array.from(flipped));
  });

  it('keeps the values of tensors sharing a held output\'s memory: a reshape, stopGradient, another plan\'s pass-through', () => {
    const count = M.jit((c: Tensor) => M.add(c, 1), { donateArgnums: 0 });
    let c = count(M.tensor([0, 0, 0]));
    // Each shares c's array (the CPU's reshape and stopGradient, a plan returning its input).
    const sharers = [M.reshape(c, [1, 3]), M.stopGradient(c), M.jit((v: Tensor) => v)(c), M.jit((v: Tensor) => M.reshape(v, [3, 1]))(c)];
    for (let i = 0; i < 3; i++) c = count(c);
    expect(Array.from(c.dataSync())).toEqual([4, 4, 4]);
    for (const t of sharers) expect(Array.from(t.dataSync())).toEqual([1, 1, 1]);
    // A sharer passed back as the donated input: read before its region is written.
    const r = M.reshape(count(M.tensor([5, 5, 5])), [3]);
    expect(Array.from(count(r).dataSync())).toEqual([7, 7, 7]);
  });

  it('returns a donated input passed through unchanged as a valid tensor', () => {
    // Input c is paired with output d (same shape) and also returned as output a: a must be a copy.
    type Pair = { a: Tensor; c: Tensor };
    const swap = (s: Pair) => ({ a: s.c, c: M.mul(s.a, 2), d: M.add(s.c, 1) });
    const f = M.jit(swap, { donateArgnums: 0 });
    let [s, e]: Pair[] = [{ a: tensor(5, [8, 4]), c: tensor(6, [8, 4]) }, { a: tensor(5, [8, 4]), c: tensor(6, [8, 4]) }];
    const outs: [ReturnType<typeof swap>, ReturnType<typeof swap>][] = [];
    for (let i = 0; i < 4; i++) {
      const [out, ref] = [f(s), swap(e)];
      expectTreesIdentical(out, ref, `call ${i}`);
      outs.push([out, ref]);
      // Output a goes back as a copy: the one returned is kept, never donated.
      [s, e] = [{ a: M.add(out.a, 0), c: out.d }, { a: ref.a, c: ref.d }];
    }
    expect(M.jitStats(f).lastPlan?.donatedInPlace).toBe(2);
    // Outputs not donated back (a, c) keep their values after later calls.
    for (const [out, ref] of outs) expectTreesIdentical([out.a, out.c], [ref.a, ref.c], 'kept outputs');
  });

  it('gives up every donated input, as JAX and WebGPU do; an output handing one back as it is or reshaped keeps its storage and values', () => {
    const f = M.jit((s: { x: Tensor; y: Tensor; z: Tensor }) => ({ x: s.x, y: M.add(s.y, 1), z: M.reshape(s.z, [6]) }), { donateArgnums: 0 });
    for (let i = 0; i < 3; i++) {
      const s = { x: tensor(1 + i, [3]), y: tensor(4 + i, [5]), z: tensor(7 + i, [2, 3]) };
      const [x, z] = [Array.from(s.x.dataSync()), Array.from(s.z.dataSync())];
      const out = f(s);
      expect([s.x.isDisposed, s.y.isDisposed, s.z.isDisposed], `call ${i}`).toEqual([true, true, true]);
      expect(() => s.x.dataSync()).toThrow(/was used after it was donated to jit/);
      expect(Array.from(out.x.dataSync())).toEqual(x);
      expect(Array.from(out.z.dataSync())).toEqual(z);
    }
  });

  it('refuses an argument both static and donated', () => {
    expect(() => M.jit((a: Tensor, k: number) => M.mul(a, k), { staticArgnums: 1, donateArgnums: 1 })).toThrow(/both static and donated/);
  });

  it('the donating SAC update equals the copying one bit for bit (sg-rp, sgm-mrp)', () => {
    for (const [kind, estimator] of [['single', 'rp'], ['mixture', 'mrp']] as const) {
      const h = smallSac({ obsDim: 3, head: { actionDim: 1, kind, components: 3, low: -1, high: 1 }, estimator, hidden: [16, 16], lr: 3e-3 });
      const key = M.tensor(rawKey(2));
      const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 1 });
      for (let i = 0; i < 64; i++) replay.add({ obs: [Math.sin(i), Math.cos(i), i / 64], action: [Math.sin(3 * i)], reward: [Math.cos(i)], nextObs: [Math.sin(i + 1), Math.cos(i + 1), (i + 1) / 64], terminated: [0] });
      const [copying, donating] = [makeSacUpdate(h), makeSacUpdate(h, { donate: true })];
      let [a, b] = [initSac(h, key), initSac(h, key)];
      for (let i = 0; i < 4; i++) {
        const batch = replay.sample(rawFoldIn(rawKey(1), i), 16);
        const k = M.random.foldIn(key, i);
        const [na, ma] = copying(a, batch, k);
        const [nb, mb] = donating(b, batch, k);
        expectTreesIdentical([nb, mb], [na, ma], `${estimator} update ${i}`);
        [a, b] = [na, nb];
      }
    }
  });
});
