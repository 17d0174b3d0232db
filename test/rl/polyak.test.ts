import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';

const tree = (a: number[], c: number[]) => ({
  layers: [{ w: M.tensor(a, { dtype: 'float64' }), b: M.tensor(c, { dtype: 'float64' }) }],
});

describe('polyak', () => {
  it('is (1 - tau) target + tau online, leaf by leaf (fast-check, float64)', () => {
    const values = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(values, values, fc.double({ min: 0, max: 1, noNaN: true }), (t, o, tau) => {
        const out = M.polyak(tree(t, t.slice(1)), tree(o, o.slice(1)), tau);
        const w = out.layers[0].w.dataSync();
        const b = out.layers[0].b.dataSync();
        // Two products and a sum, each rounded once: within 3 ulps of the larger term.
        const close = (got: number, i: number) => Math.abs(got - ((1 - tau) * t[i] + tau * o[i])) <= 4e-16 * (Math.abs(t[i]) + Math.abs(o[i]));
        return Array.from(w).every((v, i) => close(v, i)) && Array.from(b).every((v, i) => close(v, i + 1));
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it('keeps the target at tau = 0 and copies the online params at tau = 1, exactly', () => {
    const target = tree([1.1, -2.2, 3.3], [0.1]);
    const online = tree([7, 8, 9], [-0.5]);
    expect(M.polyak(target, online, 0).layers[0].w.toArraySync()).toEqual([1.1, -2.2, 3.3]);
    expect(M.polyak(target, online, 1).layers[0].b.toArraySync()).toEqual([-0.5]);
  });

  it('after n updates toward a fixed online tree leaves (1 - tau)^n of the gap', () => {
    let target = tree([1, 0, -1], [2]);
    const online = tree([0, 0, 0], [0]);
    for (let i = 0; i < 100; i++) target = M.polyak(target, online, 0.01);
    const left = 0.99 ** 100;
    (target.layers[0].w.toArraySync() as number[]).forEach((v, i) => expect(v).toBeCloseTo([1, 0, -1][i] * left, 13));
    expect(target.layers[0].b.itemSync()).toBeCloseTo(2 * left, 13);
  });

  it('rejects tau outside [0, 1] and trees of different structures', () => {
    expect(() => M.polyak(tree([1], []), tree([1], []), 1.5)).toThrow('polyak: tau must be in [0, 1], got 1.5');
    expect(() => M.polyak(tree([1], []), tree([1], []), NaN)).toThrow(M.ArgumentError);
    expect(() => M.polyak({ a: M.zeros([1]) }, { b: M.zeros([1]) }, 0.5)).toThrow(M.TreeError);
  });

  it('names the leaf whose shape or dtype differs (rather than the add it would broadcast in)', () => {
    expect(() => M.polyak(tree([1, 2, 3], [0]), tree([1, 2, 3, 4], [0]), 0.5)).toThrow("polyak: online params at .layers[0].w are f64[4], the target's f64[3]");
    expect(() => M.polyak({ w: M.zeros([2]) }, { w: M.zeros([2], { dtype: 'float64' }) }, 0.5)).toThrow("polyak: online params at .w are f64[2], the target's f32[2]");
  });
});
