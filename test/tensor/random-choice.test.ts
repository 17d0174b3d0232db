/**
 * random.permutation and random.choice: exact properties (a permutation, the multiset of rows kept,
 * one permutation for every slice unless independent), and frequencies against their distributions
 * by chi-square tests: all 24 orders of 4 items equally likely; draws with replacement ∝ p; ordered
 * pairs drawn without replacement with probability p_i · p_j / (1 - p_i) (successive sampling).
 *
 * Each chi-square critical value is the Wilson-Hilferty approximation of the 1 - 1e-6 quantile, so
 * a correct sampler fails one for a random key with probability about 1e-6; the keys are fixed.
 * Every cell expects at least 500 counts. Values on WebGPU must equal the CPU's bit for bit (the
 * same random words sorted by a stable sort).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import { grad, jit, makeIR, vmap } from '../../src/autodiff';
import type { Tensor } from '../../src';
import { zFor } from '../distributions/reference';
import { describeWebGPU, webgpu } from '../webgpu/gpu';
import { expectError, valuesOf } from './helpers';

const { random } = M;
const i32 = { dtype: 'int32' } as const;

/** P(χ²_df > c) ≈ 1e-6 by Wilson-Hilferty: c = df (1 - 2/(9 df) + z √(2/(9 df)))³, z one-sided. */
function chiSquareCritical(df: number): number {
  const z = zFor(2e-6);
  const v = 2 / (9 * df);
  return df * (1 - v + z * Math.sqrt(v)) ** 3;
}

function chiSquare(counts: readonly number[], expected: readonly number[]): number {
  return counts.reduce((s, c, i) => s + (c - expected[i]) ** 2 / expected[i], 0);
}

/** The rows of a [n, m] result, as arrays. */
function rows(t: Tensor): number[][] {
  const [n, m] = t.shape;
  const v = valuesOf(t);
  return Array.from({ length: n }, (_, i) => Array.from(v.slice(i * m, (i + 1) * m)));
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

describe('random.permutation', () => {
  it('is a permutation of 0..n-1 (int32), for any n and key', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
        const p = random.permutation(random.key(seed), n);
        expect(p.dtype).toBe('int32');
        expect(p.shape).toEqual([n]);
        expect(sorted(Array.from(valuesOf(p)))).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 40, seed: 5 },
    );
  });

  it('draws all 24 orders of 4 items equally often (chi-square, 24000 keys)', () => {
    const draws = 24_000;
    const perms = rows(vmap((k: Tensor) => random.permutation(k, 4))(random.splitStacked(random.key(11), draws)));
    const counts = new Map<string, number>();
    for (const p of perms) counts.set(p.join(), (counts.get(p.join()) ?? 0) + 1);
    expect(counts.size).toBe(24);
    expect(chiSquare([...counts.values()], Array(24).fill(draws / 24))).toBeLessThan(chiSquareCritical(23));
  });

  it('each position is uniform over the items for n = 50 (chi-square per position, 25000 keys)', () => {
    const draws = 25_000;
    const perms = rows(vmap((k: Tensor) => random.permutation(k, 50))(random.splitStacked(random.key(12), draws)));
    for (const position of [0, 17, 49]) {
      const counts = Array(50).fill(0);
      for (const p of perms) counts[p[position]]++;
      expect(chiSquare(counts, Array(50).fill(draws / 50))).toBeLessThan(chiSquareCritical(49));
    }
  });

  it('shuffles x along axis by one permutation for every slice: permutation(k, x) is take(x, permutation(k, n))', () => {
    const x = M.reshape(M.arange(24), [2, 12]);
    const k = random.key(3);
    const shuffled = random.permutation(k, x, { axis: 1 });
    const idx = Array.from(valuesOf(random.permutation(k, 12)));
    expect(rows(shuffled)).toEqual([idx, idx.map((i) => i + 12)]);
    expect(idx).not.toEqual(Array.from({ length: 12 }, (_, i) => i));
    // Default axis 0: rows move whole.
    const rowsShuffled = rows(random.permutation(random.key(4), M.reshape(M.arange(30), [10, 3])));
    expect(sorted(rowsShuffled.map((r) => r[0]))).toEqual(Array.from({ length: 10 }, (_, i) => 3 * i));
    rowsShuffled.forEach((r) => expect(r).toEqual([r[0], r[0] + 1, r[0] + 2]));
  });

  it('independent: each slice shuffled on its own, keeping its entries', () => {
    const x = M.reshape(M.arange(80), [8, 10]);
    const out = rows(random.permutation(random.key(5), x, { axis: 1, independent: true }));
    out.forEach((r, i) => expect(sorted(r)).toEqual(Array.from({ length: 10 }, (_, j) => 10 * i + j)));
    const orders = new Set(out.map((r, i) => r.map((v) => v - 10 * i).join()));
    expect(orders.size).toBeGreaterThan(1); // 8 rows sharing one order: probability (1/10!)^7
  });

  it('sorts by fresh random words in ceil(3 ln n / ln(2^32 - 1)) rounds (JAX\'s rule): 1 at n = 1600, 2 at n = 1700', () => {
    const sorts = (n: number) => makeIR((k: Tensor) => random.permutation(k, n))(random.key(0)).toString().split('argsort').length - 1;
    expect(sorts(1600)).toBe(1);
    expect(sorts(1700)).toBe(2);
    expect(sorts(1)).toBe(0);
    // Two rounds still give a permutation.
    expect(sorted(Array.from(valuesOf(random.permutation(random.key(9), 1700))))).toEqual(Array.from({ length: 1700 }, (_, i) => i));
  });

  it('is JAX\'s algorithm spelled out (split, random words, argsort, take along the axis each round), with no gather of arange and no index shift', () => {
    // The reference: each round gathers the items by the argsort of fresh words (arange first).
    const spelled = (k: Tensor, x: Tensor, axis: number, n: number): Tensor => {
      let [out, rest] = [x, k];
      for (let round = 0; round < Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(2 ** 32 - 1)); round++) {
        const [next, sub] = random.split(rest);
        out = M.takeAlongAxis(out, M.argsort(random.randomBits(sub, out.shape), { axis }), axis);
        rest = next;
      }
      return out;
    };
    for (const [n, seed] of [[0, 1], [1, 1], [2, 2], [10, 3], [1600, 4], [1700, 5], [5000, 6]]) {
      const k = random.key(seed);
      expect(Array.from(valuesOf(random.permutation(k, n))), `n ${n}`).toEqual(Array.from(valuesOf(spelled(k, M.arange(n, undefined, 1, i32), 0, n))));
    }
    const x = M.reshape(M.arange(3 * 1700 * 2), [3, 1700, 2]);
    for (const axis of [0, 1, 2]) {
      const k = random.key(10 + axis);
      const n = x.shape[axis];
      const one = spelled(k, M.arange(n, undefined, 1, i32), 0, n);
      expect(Array.from(valuesOf(random.permutation(k, x, { axis }))), `axis ${axis}`).toEqual(Array.from(valuesOf(M.take(x, one, axis))));
      const each = spelled(k, x, axis, 3 * 1700 * 2);
      expect(Array.from(valuesOf(random.permutation(k, x, { axis, independent: true }))), `independent axis ${axis}`).toEqual(Array.from(valuesOf(each)));
    }
    // The first round's permutation is the shuffled arange itself, and an argsort's indices need no
    // negative-index shift: one gather per later round, no where.
    const prims = (n: number) => makeIR((kk: Tensor) => random.permutation(kk, n))(random.key(0)).equations.map((eq) => eq.prim);
    expect(prims(1600).filter((p) => p === 'gather').length).toBe(0);
    expect(prims(1700).filter((p) => p === 'gather').length).toBe(1);
    expect(prims(1700)).not.toContain('where');
  });

  it('is differentiable in x (the gradient is the cotangent permuted back), and jit gives the same bits', () => {
    const k = random.key(6);
    const w = M.tensor([1, 2, 3, 4, 5, 6], { dtype: 'float64' });
    const idx = Array.from(valuesOf(random.permutation(k, 6)));
    const g = valuesOf(grad((x: Tensor) => M.sum(M.mul(random.permutation(k, x), w)))(M.zeros([6], { dtype: 'float64' })));
    const expected = Array(6).fill(0);
    idx.forEach((from, to) => (expected[from] = to + 1));
    expect(Array.from(g)).toEqual(expected);
    expect(Array.from(valuesOf(jit((kk: Tensor) => random.permutation(kk, 100))(k)))).toEqual(Array.from(valuesOf(random.permutation(k, 100))));
  });

  it('refuses bad arguments, naming them', () => {
    expectError(() => random.permutation(random.key(0), 2.5), M.ArgumentError, 'permutation: n must be an integer in [0, 2^31), got 2.5');
    expectError(() => random.permutation(random.key(0), M.tensor(3)), M.ShapeError, 'permutation: x must have an axis to shuffle, got a scalar float32[]; for arange(n) shuffled pass the number n');
    expectError(() => random.permutation(M.tensor([1, 2]), 3), M.DTypeError, 'permutation: expected a PRNG key u32[2] (from key(seed)), got float32[2]');
    expect(() => random.permutation(random.key(0), M.zeros([2, 3]), { axis: 2 })).toThrow(/permutation/);
  });
});

describe('random.choice', () => {
  const key = random.key(21);

  it('with replacement, uniform: shape, range and frequencies (chi-square, 30000 draws of 6)', () => {
    const draws = valuesOf(random.choice(key, 6, [30_000]));
    const counts = Array(6).fill(0);
    draws.forEach((d) => counts[d]++);
    expect(chiSquare(counts, Array(6).fill(5000))).toBeLessThan(chiSquareCritical(5));
    expect(random.choice(key, 6, [2, 3]).shape).toEqual([2, 3]);
    expect(random.choice(key, 6).shape).toEqual([]);
  });

  it('with replacement, p: frequencies ∝ p, never an item of probability 0 (chi-square, 40000 draws)', () => {
    const p = [0.1, 0.4, 0, 0.2, 0.3];
    const draws = valuesOf(random.choice(key, 5, [40_000], { p: M.tensor(p) }));
    const counts = Array(5).fill(0);
    draws.forEach((d) => counts[d]++);
    expect(counts[2]).toBe(0);
    const kept = [0, 1, 3, 4];
    expect(chiSquare(kept.map((i) => counts[i]), kept.map((i) => 40_000 * p[i]))).toBeLessThan(chiSquareCritical(3));
    // Unnormalized weights draw the same.
    expect(Array.from(valuesOf(random.choice(key, 5, [50], { p: p.map((v) => 7 * v) })))).toEqual(Array.from(valuesOf(random.choice(key, 5, [50], { p }))));
  });

  it('without replacement: distinct items; uniform pairs; weighted pairs with probability p_i p_j / (1 - p_i)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
        const m = 1 + (seed % n);
        const d = Array.from(valuesOf(random.choice(random.key(seed), n, [m], { replace: false })));
        expect(new Set(d).size).toBe(m);
        d.forEach((v) => expect(v >= 0 && v < n).toBe(true));
      }),
      { numRuns: 40, seed: 8 },
    );
    const trials = 24_000;
    const keys = random.splitStacked(random.key(22), trials);
    const p = [0.1, 0.2, 0.3, 0.4];
    for (const weights of [undefined, p]) {
      const pairs = rows(vmap((k: Tensor) => random.choice(k, 4, [2], { replace: false, p: weights && M.tensor(weights) }))(keys));
      const counts = new Map<string, number>();
      for (const [a, b] of pairs) counts.set(`${a},${b}`, (counts.get(`${a},${b}`) ?? 0) + 1);
      const cells: string[] = [];
      const expected: number[] = [];
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          if (i === j) continue;
          cells.push(`${i},${j}`);
          expected.push(weights ? (trials * weights[i] * weights[j]) / (1 - weights[i]) : trials / 12);
        }
      }
      expect([...counts.keys()].every((c) => cells.includes(c))).toBe(true);
      expect(chiSquare(cells.map((c) => counts.get(c) ?? 0), expected)).toBeLessThan(chiSquareCritical(11));
    }
  });

  it('from a tensor: entries along axis, shape in place of the axis', () => {
    const a = M.reshape(M.arange(12), [3, 4]); // rows [0..3], [4..7], [8..11]
    const picked = random.choice(key, a, [5], { axis: 1 });
    expect(picked.shape).toEqual([3, 5]);
    rows(picked).forEach((r, i) => r.forEach((v) => expect(v - 4 * i >= 0 && v - 4 * i < 4).toBe(true)));
    // The columns picked are the same in every row, and are choice(key, 4, [5]).
    const cols = Array.from(valuesOf(random.choice(key, 4, [5])));
    expect(rows(picked)).toEqual([0, 1, 2].map((i) => cols.map((c) => c + 4 * i)));
    expect(random.choice(key, a, [2, 2]).shape).toEqual([2, 2, 4]);
  });

  it('refuses bad arguments, naming them', () => {
    expectError(() => random.choice(key, 3, [4], { replace: false }), M.ShapeError, 'choice: cannot draw 4 of 3 items without replacement (shape [4])');
    expectError(() => random.choice(key, 0), M.ArgumentError, 'choice: a must be an integer in [1, 2^31) or a tensor, got 0');
    expectError(() => random.choice(key, 3, [2], { p: [0.5, 0.5] }), M.ShapeError, 'choice: p must have shape [3] (one probability per item), got [2]');
    expectError(() => random.choice(key, 3, [2], { p: M.tensor([1, 2, 3], i32) }), M.DTypeError, 'choice: p must be float32 or float64, got int32');
    expectError(() => random.choice(key, 3, [2], { replace: 'no' as never }), M.ArgumentError, 'choice: replace must be a boolean, got no');
    expectError(() => random.choice(key, M.zeros([2, 0]), [1], { axis: 1 }), M.ShapeError, 'choice: cannot draw from an empty axis 1 of [2,0]');
  });
});

describeWebGPU('random.permutation and random.choice on WebGPU', () => {
  it('the same bits as on the CPU', async () => {
    const gpu = webgpu();
    const [kc, kg] = [random.key(31), random.key(31, gpu)];
    const same = async (f: (k: Tensor) => Tensor) => expect(Array.from(await f(kg).data())).toEqual(Array.from(valuesOf(f(kc))));
    await same((k) => random.permutation(k, 3000)); // two rounds
    await same((k) => random.permutation(k, M.reshape(M.arange(40, undefined, 1, { backend: k.backend }), [4, 10]), { axis: 1, independent: true }));
    await same((k) => random.choice(k, 50, [20], { replace: false }));
    await same((k) => random.choice(k, 5, [30], { p: M.tensor([0.1, 0.2, 0.3, 0.2, 0.2], { backend: k.backend }) }));
    await same((k) => random.choice(k, 5, [3], { replace: false, p: M.tensor([0.1, 0.2, 0.3, 0.2, 0.2], { backend: k.backend }) }));
  });
});
