import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';

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
 */
function referenceAdam(p0: number[], grads: (t: number) => number[], steps: number, lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const g = grads(t);
    for (let i = 0; i < p.length; i++) {
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
        let q = { x: M.tensor(start, { dtype: 'float64' }) };
        let state = opt.init(q);
        for (let t = 0; t < 600; t++) [q, state] = opt.update(M.grad(loss)(q), state, q);
        return loss(q).itemSync() < 1e-3 * start.length;
      }),
      { numRuns: 10, seed: 7 },
    );
  });

  it('rejects non-positive lr, betas outside [0, 1) and negative eps', () => {
    expect(() => M.adam({ lr: 0 })).toThrow('adam: lr must be a positive number, got 0');
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
    expect(() => M.sgd({ lr: NaN })).toThrow('sgd: lr must be a positive number, got NaN');
  });
});
