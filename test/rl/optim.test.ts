import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import { expectGradsMatch, gradCheck, Rng } from '../autodiff/helpers';
import { describeWebGPU, webgpu } from '../webgpu/gpu';

interface Params {
  a: M.Tensor;
  nested: { c: M.Tensor };
}

const params64 = (): Params => ({
  a: M.tensor([0.5, -1.5, 2], { dtype: 'float64' }),
  nested: { c: M.tensor([[1, 0], [-3, 0.25]], { dtype: 'float64' }) },
});

/** A deterministic gradient for step t with leaf `leaf` and element i (not constant in t, with sign changes). */
const gradValue = (t: number, leaf: number, i: number) => Math.sin(1.3 * t + 0.7 * i + leaf) * (1 + i) + 0.1 * (leaf - 1);

const gradsAt = (t: number, dtype: 'float32' | 'float64'): Params => ({
  a: M.tensor([0, 1, 2].map((i) => gradValue(t, 0, i)), { dtype }),
  nested: { c: M.tensor([0, 1, 2, 3].map((i) => gradValue(t, 1, i)), { dtype, shape: [2, 2] }) },
});

/**
 * Adam from Kingma & Ba's Algorithm 1 on plain float64 numbers: m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t),
 * p ← p - lr m̂ / (√v̂ + ε). Mathematically PyTorch's update; written independently of the code under test.
 * With `decay` λ, PyTorch's AdamW: p ← p (1 - lr λ) first.
 */
function referenceAdam(p0: number[], grads: (t: number) => number[], steps: number, lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, decay = 0): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const g = grads(t);
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * decay;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mHat = m[i] / (1 - b1 ** t);
      const vHat = v[i] / (1 - b2 ** t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
  return p;
}

function run<S>(opt: M.Optimizer<S>, params: Params, steps: number, dtype: 'float32' | 'float64'): [Params, S] {
  let state = opt.init(params);
  for (let t = 1; t <= steps; t++) [params, state] = opt.update(gradsAt(t, dtype), state, params);
  return [params, state];
}

const flat = (p: Params) => [...p.a.dataSync(), ...p.nested.c.dataSync()];

describe('learning-rate schedules', () => {
  it("linearSchedule and cosineDecaySchedule give optax's values by count", () => {
    const linear = M.linearSchedule({ init: 1, end: 0.25, steps: 4 });
    const cosine = M.cosineDecaySchedule({ init: 2, steps: 8, alpha: 0.1 });
    for (const count of [0, 1, 3, 4, 8, 20]) {
      const c = M.tensor(count, { dtype: 'int32' });
      expect(linear(c).itemSync()).toBeCloseTo(1 + Math.min(count / 4, 1) * (0.25 - 1), 7);
      expect(cosine(c).itemSync()).toBeCloseTo(2 * (0.9 * 0.5 * (1 + Math.cos((Math.PI * Math.min(count, 8)) / 8)) + 0.1), 6);
    }
    expect(() => M.linearSchedule({ init: 1, end: 0, steps: 0 })).toThrow('linearSchedule');
  });

  it("Adam with a schedule takes step t at the rate of count t - 1, eagerly and jitted", () => {
    const schedule = M.linearSchedule({ init: 0.1, end: 0.01, steps: 10 });
    const f = Math.fround;
    const rateAt = (count: number) => f(f(Math.min(f(count / 10), 1) * f(0.01 - 0.1)) + f(0.1));
    // The reference: Adam with lr_t = schedule(t - 1) (float32 schedule values, as the schedule computes them).
    const p0 = flat(params64());
    const allGrads = (t: number) => [0, 1, 2].map((i) => gradValue(t, 0, i)).concat([0, 1, 2, 3].map((i) => gradValue(t, 1, i)));
    const p = [...p0];
    const m = p.map(() => 0);
    const v = p.map(() => 0);
    for (let t = 1; t <= 15; t++) {
      const g = allGrads(t);
      for (let i = 0; i < p.length; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        p[i] -= (rateAt(t - 1) * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    const opt = M.adam({ lr: schedule });
    const [eager] = run(opt, params64(), 15, 'float64');
    flat(eager).forEach((value, i) => expect(value).toBeCloseTo(p[i], 12));
    const step = M.jit((params: Params, state: M.AdamState, grads: Params) => opt.update(grads, state, params));
    let [params, state] = [params64(), opt.init(params64())];
    for (let t = 1; t <= 15; t++) [params, state] = step(params, state, gradsAt(t, 'float64'));
    expect(flat(params)).toEqual(flat(eager));
    expect(M.jitStats(step).traceCount).toBe(1); // the count is traced, not baked in
  });
});

describe('adamw', () => {
  const allGrads = (t: number) => [0, 1, 2].map((i) => gradValue(t, 0, i)).concat([0, 1, 2, 3].map((i) => gradValue(t, 1, i)));

  it('matches the float64 reference (decay, then the Adam step) over 20 steps', () => {
    for (const [lr, weightDecay] of [[0.1, 0.01], [0.01, 0.5]]) {
      const [p] = run(M.adamw({ lr, weightDecay }), params64(), 20, 'float64');
      const reference = referenceAdam(flat(params64()), allGrads, 20, lr, 0.9, 0.999, 1e-8, weightDecay);
      flat(p).forEach((v, i) => expect(v).toBeCloseTo(reference[i], 13));
    }
    // Without a gradient the params only decay: p (1 - lr λ)^t.
    const opt = M.adamw({ lr: 0.1, weightDecay: 0.2 });
    let p = { w: M.tensor([2, -1], { dtype: 'float64' }) };
    let state = opt.init(p);
    for (let t = 0; t < 5; t++) [p, state] = opt.update({ w: M.zeros([2], { dtype: 'float64' }) }, state, p);
    expect(Math.abs(p.w.dataSync()[0] - 2 * 0.98 ** 5)).toBeLessThan(1e-15);
  });

  it('with a schedule decays by the step\'s rate: p (1 - lr_t λ), then the Adam step at lr_t (optax)', () => {
    const f = Math.fround;
    const rateAt = (count: number) => f(f(Math.min(f(count / 10), 1) * f(0.01 - 0.1)) + f(0.1));
    const weightDecay = 0.5;
    const p = flat(params64());
    const m = p.map(() => 0);
    const v = p.map(() => 0);
    for (let t = 1; t <= 12; t++) {
      const g = allGrads(t);
      const lr = rateAt(t - 1);
      for (let i = 0; i < p.length; i++) {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        p[i] = p[i] * (1 - lr * weightDecay) - (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    const [scheduled] = run(M.adamw({ lr: M.linearSchedule({ init: 0.1, end: 0.01, steps: 10 }), weightDecay }), params64(), 12, 'float64');
    flat(scheduled).forEach((value, i) => expect(value).toBeCloseTo(p[i], 12));
  });

  it('is adam bit for bit with weightDecay 0, and refuses a negative decay', () => {
    const [withoutDecay] = run(M.adamw({ lr: 0.05, weightDecay: 0 }), params64(), 10, 'float64');
    const [plain] = run(M.adam({ lr: 0.05 }), params64(), 10, 'float64');
    expect(flat(withoutDecay)).toEqual(flat(plain));
    expect(() => M.adamw({ lr: 0.1, weightDecay: -1 })).toThrow('adamw: weightDecay must be a non-negative number, got -1');
    expect(() => M.adamw({ lr: 0 })).toThrow('adamw: lr must be a positive number or a schedule, got 0');
  });
});

describe('adam', () => {
  it('starts with count 0 (int32 scalar) and zero moments shaped like the params', () => {
    const state = M.adam({ lr: 0.1 }).init(params64());
    expect([state.count.dtype, state.count.shape, state.count.itemSync()]).toEqual(['int32', [], 0]);
    const mu = state.mu as Params;
    expect(mu.a.toArraySync()).toEqual([0, 0, 0]);
    expect(mu.nested.c.toArraySync()).toEqual([[0, 0], [0, 0]]);
    expect((state.nu as Params).nested.c.dtype).toBe('float64');
  });

  it('matches the float64 reference over 20 steps of varying gradients (several hyperparameters)', () => {
    for (const config of [{ lr: 0.1 }, { lr: 1e-3, beta1: 0.5, beta2: 0.9, eps: 1e-3 }, { lr: 0.05, beta1: 0, beta2: 0.99 }]) {
      const [p, state] = run(M.adam(config), params64(), 20, 'float64');
      const reference = referenceAdam(flat(params64()), (t) => [0, 1, 2].map((i) => gradValue(t, 0, i)).concat([0, 1, 2, 3].map((i) => gradValue(t, 1, i))), 20, config.lr, config.beta1, config.beta2, config.eps);
      flat(p).forEach((v, i) => expect(v).toBeCloseTo(reference[i], 13));
      expect(state.count.itemSync()).toBe(20);
    }
  });

  it('moves each param by exactly lr·g/(|g| + eps) per step under a constant gradient (the bias corrections cancel)', () => {
    // With g constant: m_t = (1 - β1^t) g and v_t = (1 - β2^t) g², so m̂ = g and v̂ = g² at every t.
    const opt = M.adam({ lr: 0.1 });
    let p = { w: M.tensor([1, -2, 0], { dtype: 'float64' }) };
    const g = { w: M.tensor([0.5, -4, 1e-3], { dtype: 'float64' }) };
    let state = opt.init(p);
    for (let t = 1; t <= 50; t++) {
      [p, state] = opt.update(g, state, p);
      const expected = [1 - (t * 0.1 * 0.5) / (0.5 + 1e-8), -2 + (t * 0.1 * 4) / (4 + 1e-8), -(t * 0.1 * 1e-3) / (1e-3 + 1e-8)];
      (p.w.toArraySync() as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
    }
  });

  it('gives the hand-derived PyTorch numbers for gradients +1 then -1 from p = 0 (lr 0.1, defaults)', () => {
    // t=1: m = 0.1, v = 0.001, m̂ = 1, v̂ = 1 -> p1 = -0.1 / (1 + 1e-8).
    // t=2: m = 0.09 - 0.1 = -0.01, v = 0.000999 + 0.001 = 0.001999 = 1 - 0.999², so v̂ = 1 and
    //      m̂ = -0.01 / (1 - 0.81) = -1/19 -> p2 = p1 + (0.1/19) / (1 + 1e-8) = -(0.1 · 18/19) / (1 + 1e-8).
    const opt = M.adam({ lr: 0.1 });
    let p = { x: M.zeros([1], { dtype: 'float64' }) };
    let state = opt.init(p);
    [p, state] = opt.update({ x: M.ones([1], { dtype: 'float64' }) }, state, p);
    expect(p.x.itemSync()).toBeCloseTo(-0.1 / (1 + 1e-8), 15);
    [p, state] = opt.update({ x: M.full([1], -1, { dtype: 'float64' }) }, state, p);
    expect(p.x.itemSync()).toBeCloseTo(-(0.1 * 18) / 19 / (1 + 1e-8), 15);
  });

  it('keeps float32 bias corrections accurate: the first steps move by lr to float32 precision', () => {
    // Naively 1 - fround(0.999)^1 = 0.99998713e-3 would make the first step 6.4e-6 too large (relative).
    const opt = M.adam({ lr: 1e-3 });
    let p = { w: M.zeros([1]) };
    let state = opt.init(p);
    for (let t = 1; t <= 1000; t++) {
      [p, state] = opt.update({ w: M.ones([1]) }, state, p);
      if (t === 1 || t === 10 || t === 1000) expect(Math.abs(p.w.itemSync() / (-t * 1e-3) - 1)).toBeLessThan(2e-6 * Math.sqrt(t));
    }
  });

  it('tracks the float64 reference in float32 to float32 precision', () => {
    const p32 = (): Params => M.treeMap((x: M.Tensor) => x.cast('float32'), params64());
    const [p] = run(M.adam({ lr: 0.01 }), p32(), 30, 'float32');
    const reference = referenceAdam(flat(p32()), (t) => [0, 1, 2].map((i) => Math.fround(gradValue(t, 0, i))).concat([0, 1, 2, 3].map((i) => Math.fround(gradValue(t, 1, i)))), 30, 0.01);
    // 30 steps of size <= lr = 0.01 with ~1e-7 relative rounding each: errors well under 1e-6.
    flat(p).forEach((v, i) => expect(Math.abs(v - reference[i])).toBeLessThan(1e-6));
  });

  it('is pure: updating does not change the inputs, and the same inputs give the same outputs', () => {
    const opt = M.adam({ lr: 0.1 });
    const p = params64();
    const state = opt.init(p);
    const g = gradsAt(1, 'float64');
    const [p1, s1] = opt.update(g, state, p);
    const [p2, s2] = opt.update(g, state, p);
    expect(flat(p)).toEqual(flat(params64()));
    expect(state.count.itemSync()).toBe(0);
    expect(flat(p1)).toEqual(flat(p2));
    expect(s1.count.itemSync()).toBe(s2.count.itemSync());
  });

  it('minimizes a quadratic from any start (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 4 }), (start) => {
        const loss = (q: { x: M.Tensor }) => q.x.sub(1).square().sum();
        const opt = M.adam({ lr: 0.05 });
        let q: { x: M.Tensor } = { x: M.tensor(start, { dtype: 'float64' }) };
        let state = opt.init(q);
        for (let t = 0; t < 600; t++) [q, state] = opt.update(M.grad(loss)(q), state, q);
        return loss(q).itemSync() < 1e-3 * start.length;
      }),
      { numRuns: 10, seed: 7 },
    );
  });

  it('rejects non-positive lr, betas outside [0, 1) and negative eps', () => {
    expect(() => M.adam({ lr: 0 })).toThrow('adam: lr must be a positive number or a schedule, got 0');
    expect(() => M.adam({ lr: 1, beta2: 1 })).toThrow('adam: beta2 must be in [0, 1), got 1');
    expect(() => M.adam({ lr: 1, beta1: -0.1 })).toThrow(M.ArgumentError);
    expect(() => M.adam({ lr: 1, eps: -1 })).toThrow('adam: eps must be non-negative, got -1');
  });
});

describe('sgd', () => {
  it('takes p - lr·g exactly, with an empty state', () => {
    const opt = M.sgd({ lr: 0.25 });
    const p = params64();
    const state = opt.init(p);
    expect(state).toEqual({});
    const [next] = opt.update(gradsAt(1, 'float64'), state, p);
    const g = flat(gradsAt(1, 'float64'));
    expect(flat(next)).toEqual(flat(p).map((v, i) => v - 0.25 * g[i]));
    expect(() => M.sgd({ lr: NaN })).toThrow('sgd: lr must be a positive number or a schedule, got NaN');
  });
});

/** A pytree with leaves of several shapes, nested objects, an array and a null node. */
interface Tree {
  a: M.Tensor;
  nested: { c: M.Tensor; none: null };
  list: M.Tensor[];
}

const makeTree = (values: readonly number[], dtype: 'float32' | 'float64' = 'float64', backend: M.Backend = M.cpu): Tree => ({
  a: M.tensor(values.slice(0, 3), { dtype, backend }),
  nested: { c: M.tensor(values.slice(3, 7), { dtype, shape: [2, 2], backend }), none: null },
  list: [M.tensor(values.slice(7, 9), { dtype, backend }), M.tensor(values[9], { dtype, backend })],
});
/** The leaves' values in treeFlatten's order (keys sorted: a, list, nested). */
const leafValues = (t: Tree) => M.treeLeaves(t).flatMap((leaf) => Array.from(leaf.dataSync(), Number));
const VALUES = [0.5, -1.5, 2, 1, 0, -3, 0.25, 4, -0.75, 1.25];
/** The same values in treeFlatten's order. */
const inLeafOrder = (v: readonly number[]) => [...v.slice(0, 3), ...v.slice(7, 10), ...v.slice(3, 7)];
/** √Σ x² by Math.hypot (scaled internally, accurate to an ulp or two). */
const hypot = (v: readonly number[]) => Math.hypot(...v);

describe('globalNorm', () => {
  it('is √Σ x² over every leaf of a nested tree, in float64 and float32; an empty tree gives 0', () => {
    const got = M.globalNorm(makeTree(VALUES));
    expect([got.shape, got.dtype]).toEqual([[], 'float64']);
    expect(Math.abs(got.itemSync() / hypot(VALUES) - 1)).toBeLessThan(4e-16);
    const v32 = VALUES.map((v) => Math.fround(v * 1.1));
    const got32 = M.globalNorm(makeTree(v32, 'float32'));
    expect(got32.dtype).toBe('float32');
    expect(Math.abs(got32.itemSync() / hypot(v32) - 1)).toBeLessThan(10 * 2 ** -24);
    // Mixed dtypes promote; integer leaves count as float32.
    expect(M.globalNorm({ x: M.tensor([3], { dtype: 'float32' }), y: M.tensor([4], { dtype: 'float64' }) }).itemSync()).toBe(5);
    expect(M.globalNorm([M.tensor([3, 4], { dtype: 'int32' })]).dtype).toBe('float32');
    expect(M.globalNorm({}).itemSync()).toBe(0);
  });

  it('gradient: x / norm against finite differences, and 0 (not NaN) where every leaf is 0', async () => {
    const rng = new Rng(41);
    const f = (a: M.Tensor, c: M.Tensor) => M.globalNorm({ a, n: [c] });
    expectGradsMatch(await gradCheck(f, [M.tensor([0.3, -1, 2], { dtype: 'float64' }), M.tensor([[1, -0.5], [0.25, 4]], { dtype: 'float64' })], rng), 'globalNorm');
    const zero = makeTree(VALUES.map(() => 0));
    const g = M.grad((t: Tree) => M.globalNorm(t))(zero) as Tree;
    expect(leafValues(g)).toEqual(VALUES.map(() => 0));
    expect(M.globalNorm(zero).itemSync()).toBe(0);
  });
});

describe('clipByGlobalNorm', () => {
  it('leaves a tree whose norm is below maxNorm unchanged, keeping its structure', () => {
    const tree = makeTree(VALUES);
    const clipped = M.clipByGlobalNorm(tree, 100);
    expect(clipped.nested.none).toBeNull();
    expect(clipped.list.length).toBe(2);
    expect(clipped.nested.c.shape).toEqual([2, 2]);
    expect(leafValues(clipped)).toEqual(inLeafOrder(VALUES));
  });

  it('scales a tree whose norm is above maxNorm to norm maxNorm (leaf / norm · maxNorm), float64 and float32', () => {
    const norm = hypot(VALUES);
    for (const maxNorm of [1, 0.1, norm]) {
      const clipped = M.clipByGlobalNorm(makeTree(VALUES), maxNorm);
      const expected = inLeafOrder(VALUES).map((v) => (v / norm) * maxNorm);
      leafValues(clipped).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(4e-16 * Math.abs(expected[i])));
      expect(Math.abs(M.globalNorm(clipped).itemSync() / maxNorm - 1)).toBeLessThan(1e-15);
    }
    const v32 = VALUES.map(Math.fround);
    const clipped32 = M.clipByGlobalNorm(makeTree(v32, 'float32'), 2);
    expect(clipped32.a.dtype).toBe('float32');
    const expected32 = inLeafOrder(v32).map((v) => (v / hypot(v32)) * 2);
    leafValues(clipped32).forEach((v, i) => expect(Math.abs(v - expected32[i])).toBeLessThanOrEqual(8 * 2 ** -24 * Math.abs(expected32[i]) + 1e-30));
  });

  it('keeps a zero tree zero, with a finite (identity) gradient', () => {
    const zero = makeTree(VALUES.map(() => 0));
    const clipped = M.clipByGlobalNorm(zero, 1);
    expect(leafValues(clipped)).toEqual(VALUES.map(() => 0));
    // d/dt Σ w · clip(t) at t = 0 is w: below maxNorm the clip is the identity.
    const w = makeTree(VALUES);
    const g = M.grad((t: Tree) => M.sum(M.stack(M.treeLeaves(M.clipByGlobalNorm(t, 1)).map((leaf, i) => M.sum(leaf.mul(M.treeLeaves(w)[i]))))))(zero) as Tree;
    expect(leafValues(g)).toEqual(inLeafOrder(VALUES));
  });

  it('gradients against finite differences in both regimes (norm below and above maxNorm)', async () => {
    const rng = new Rng(43);
    const f = (maxNorm: number) => (a: M.Tensor, c: M.Tensor) => {
      const out = M.clipByGlobalNorm({ a, n: [c] }, maxNorm);
      return M.concat([out.a, M.reshape(out.n[0], [-1])]);
    };
    const a = M.tensor([0.3, -1, 2], { dtype: 'float64' });
    const c = M.tensor([[1, -0.5], [0.25, 4]], { dtype: 'float64' });
    expectGradsMatch(await gradCheck(f(10), [a, c], rng), 'below');
    expectGradsMatch(await gradCheck(f(1.5), [a, c], rng), 'above');
  });

  it('under jit equals eager mode bit for bit; under vmap clips each tree of the batch by its own norm', () => {
    for (const maxNorm of [1, 100]) {
      const clip = (t: Tree) => M.clipByGlobalNorm(t, maxNorm);
      expect(leafValues(M.jit(clip)(makeTree(VALUES)))).toEqual(leafValues(clip(makeTree(VALUES))));
      expect(M.jit(M.globalNorm)(makeTree(VALUES)).itemSync()).toBe(M.globalNorm(makeTree(VALUES)).itemSync());
    }
    // A batch of two trees: the second is the first times 10 (norms ~7.6 and ~76, maxNorm 20).
    const batch = { w: M.tensor([VALUES.slice(0, 5), VALUES.slice(0, 5).map((v) => 10 * v)], { dtype: 'float64' }) };
    const clipped = M.vmap((t: { w: M.Tensor }) => M.clipByGlobalNorm(t, 20))(batch);
    const norms = M.vmap(M.globalNorm)(batch);
    const rows = [0, 1].map((i) => M.clipByGlobalNorm({ w: M.slice(batch.w, i) }, 20).w.dataSync());
    expect(Array.from(clipped.w.dataSync())).toEqual([...rows[0], ...rows[1]]);
    expect(Array.from(norms.dataSync())).toEqual([0, 1].map((i) => M.globalNorm({ w: M.slice(batch.w, i) }).itemSync()));
    expect(Math.abs(M.globalNorm({ w: M.slice(clipped.w, 1) }).itemSync() - 20)).toBeLessThan(1e-13);
  });

  it('refuses a maxNorm that is not a positive finite number', () => {
    for (const maxNorm of [0, -1, NaN, Infinity]) {
      expect(() => M.clipByGlobalNorm(makeTree(VALUES), maxNorm)).toThrow(/^clipByGlobalNorm: maxNorm must be a positive finite number/);
    }
  });
});

describeWebGPU('globalNorm and clipByGlobalNorm on WebGPU', () => {
  it('values against Math.hypot, a zero tree and its gradient, and jit against eager', async () => {
    const v32 = VALUES.map(Math.fround);
    const tree = makeTree(v32, 'float32', webgpu());
    const leaves = async (t: Tree) => (await Promise.all(M.treeLeaves(t).map((leaf) => leaf.data()))).flatMap((d) => Array.from(d, Number));
    expect(Math.abs((await M.globalNorm(tree).item()) / hypot(v32) - 1)).toBeLessThan(1e-6);
    const clipped = M.clipByGlobalNorm(tree, 2);
    const expected = inLeafOrder(v32).map((v) => (v / hypot(v32)) * 2);
    (await leaves(clipped)).forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(2e-6 * Math.abs(expected[i]) + 1e-7));
    expect(await leaves(M.clipByGlobalNorm(tree, 100))).toEqual(inLeafOrder(v32));
    const zero = makeTree(VALUES.map(() => 0), 'float32', webgpu());
    expect(await leaves(M.clipByGlobalNorm(zero, 1))).toEqual(VALUES.map(() => 0));
    expect(await leaves(M.grad((t: Tree) => M.globalNorm(t))(zero) as Tree)).toEqual(VALUES.map(() => 0));
    expect(await leaves(M.jit((t: Tree) => M.clipByGlobalNorm(t, 2))(tree))).toEqual(await leaves(clipped));
  });
});
