/**
 * Randomness: Threefry-2x32 against the Random123 known-answer vectors, JAX's key derivation
 * (PRNGKey, split, fold_in, random_bits, uniform) against an independent re-implementation written
 * here from the published algorithms, and the samplers against their distributions.
 *
 * Statistical tests use fixed keys, so they are deterministic; each one states the significance level
 * α of its critical value, i.e. the probability that a correct sampler fails it for a random key.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import * as T from '../../src/tensor';
import { rawFoldIn, rawKey, rawSplit, threefry2x32Block, threefryHash, UniformStream } from '../../src/tensor/threefry';
import { erfSeries, valuesOf } from './helpers';

// ---------------------------------------------------------------------------------------------
// An independent Threefry-2x32-20, written from the Random123 specification (Salmon et al. 2011):
// rotation constants R_32x2 = 13 15 26 6 17 29 16 24, key injection after every 4th round with
// x0 += ks[s mod 3], x1 += ks[(s+1) mod 3] + s, and ks[2] = k0 ^ k1 ^ 0x1BD11BDA.
// ---------------------------------------------------------------------------------------------
const R = [13, 15, 26, 6, 17, 29, 16, 24];

function refThreefry(k0: number, k1: number, c0: number, c1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]) >>> 0;
  let x1 = (c1 + ks[1]) >>> 0;
  for (let round = 0; round < 20; round++) {
    x0 = (x0 + x1) >>> 0;
    const r = R[round % 8];
    x1 = ((x1 << r) | (x1 >>> (32 - r))) >>> 0;
    x1 = (x1 ^ x0) >>> 0;
    if (round % 4 === 3) {
      const s = (round + 1) / 4;
      x0 = (x0 + ks[s % 3]) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3] + s) >>> 0;
    }
  }
  return [x0, x1];
}

/**
 * JAX's threefry_2x32(key, count): pad an odd count with one 0, split it into halves x0, x1, encrypt
 * the pairs (x0[i], x1[i]), concatenate the two output halves, drop the pad.
 */
function refHash(key: readonly number[], counts: readonly number[]): number[] {
  const odd = counts.length % 2 === 1;
  const padded = odd ? [...counts, 0] : [...counts];
  const h = padded.length / 2;
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < h; i++) {
    const [a, b] = refThreefry(key[0], key[1], padded[i], padded[h + i]);
    first.push(a);
    second.push(b);
  }
  const out = [...first, ...second];
  return odd ? out.slice(0, -1) : out;
}

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
/** JAX: PRNGKey(seed) = [seed >> 32, seed & 0xffffffff]; split(key, n) = threefry_2x32(key, iota(2n)) as [n, 2]. */
const refSplit = (key: number[], n: number) => {
  const w = refHash(key, iota(2 * n));
  return iota(n).map((i) => [w[2 * i], w[2 * i + 1]]);
};
/** JAX: fold_in(key, d) = threefry_2x32(key, threefry_seed(uint32(d))) = threefry_2x32(key, [0, d]). */
const refFoldIn = (key: number[], d: number) => refHash(key, [0, d >>> 0]);
/** JAX: random_bits(key, 32, shape) = threefry_2x32(key, iota(size)). */
const refBits = (key: number[], n: number) => refHash(key, iota(n));

const keyWords = (k: T.Tensor) => valuesOf(k);

// Random123 kat_vectors for threefry2x32_20 (counter, key -> output).
const KAT: { key: [number, number]; ctr: [number, number]; out: [number, number] }[] = [
  { key: [0, 0], ctr: [0, 0], out: [0x6b200159, 0x99ba4efe] },
  { key: [0xffffffff, 0xffffffff], ctr: [0xffffffff, 0xffffffff], out: [0x1cb996fc, 0xbb002be7] },
  { key: [0x13198a2e, 0x03707344], ctr: [0x243f6a88, 0x85a308d3], out: [0xc4923a9c, 0x483df7a0] },
];

describe('Threefry-2x32', () => {
  it('the test reference reproduces the Random123 known answers', () => {
    for (const { key, ctr, out } of KAT) expect(refThreefry(key[0], key[1], ctr[0], ctr[1])).toEqual(out);
  });

  it('the library block reproduces the Random123 known answers', () => {
    const out = new Uint32Array(2);
    for (const { key, ctr, out: expected } of KAT) {
      threefry2x32Block(key[0], key[1], ctr[0], ctr[1], out);
      expect(Array.from(out)).toEqual(expected);
    }
  });

  it('the threefry primitive on tensors reproduces the known answers', () => {
    for (const { key, ctr, out } of KAT) {
      const k = T.tensor(Uint32Array.from(key));
      // JAX layout: counts [c0, c1] encrypt the single pair (c0, c1).
      expect(valuesOf(T.bind('threefry', [k, T.tensor(Uint32Array.from(ctr))], {}))).toEqual(out);
    }
  });

  it('threefryHash over odd and even counts matches the JAX scheme', () => {
    const key = [0x12345678, 0x9abcdef0];
    for (const n of [0, 1, 2, 3, 7, 10]) {
      const counts = iota(n).map((i) => (i * 2654435761) >>> 0);
      expect(Array.from(threefryHash(Uint32Array.from(key), Uint32Array.from(counts)))).toEqual(refHash(key, counts));
      expect(valuesOf(T.bind('threefry', [T.tensor(Uint32Array.from(key)), T.tensor(Uint32Array.from(counts))], {}))).toEqual(refHash(key, counts));
    }
  });
});

describe('JAX-compatible keys', () => {
  it('key(seed) is the [hi, lo] words of the 64-bit seed', () => {
    expect(keyWords(T.random.key(0))).toEqual([0, 0]);
    expect(keyWords(T.random.key(42))).toEqual([0, 42]);
    expect(keyWords(T.random.key(-1))).toEqual([0xffffffff, 0xffffffff]);
    expect(keyWords(T.random.key(2 ** 32 + 5))).toEqual([1, 5]);
    expect(Array.from(rawKey(-2))).toEqual([0xffffffff, 0xfffffffe]);
  });

  it('split(key(0)) is [[4146024105, 967050713], [2718843009, 1272950319]] (JAX), derived here from the algorithm', () => {
    const expected = [
      [4146024105, 967050713],
      [2718843009, 1272950319],
    ];
    expect(refSplit([0, 0], 2)).toEqual(expected);
    expect(T.random.split(T.random.key(0)).map(keyWords)).toEqual(expected);
    expect(rawSplit(rawKey(0), 2).map((k) => Array.from(k))).toEqual(expected);
  });

  it('fold_in(key(0), 1) is [928981903, 3453687069], derived here from the algorithm', () => {
    const expected = [928981903, 3453687069];
    expect(refFoldIn([0, 0], 1)).toEqual(expected);
    expect(keyWords(T.random.foldIn(T.random.key(0), 1))).toEqual(expected);
    expect(Array.from(rawFoldIn(rawKey(0), 1))).toEqual(expected);
    // negative data is taken modulo 2^32 as jnp.uint32 does
    expect(keyWords(T.random.foldIn(T.random.key(7), -1))).toEqual(refFoldIn([0, 7], 0xffffffff));
  });

  it('randint is minval + (word mod range) of the key\'s random words, exactly, for any shape', () => {
    for (const [seed, shape, lo, hi] of [[3, [7], 0, 10], [4, [2, 3], -5, 5], [5, [], 100, 101], [6, [64], -(2 ** 30), 2 ** 30]] as const) {
      const k = T.random.key(seed);
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const drawn = T.random.randint(k, [...shape], lo, hi);
      expect([drawn.dtype, drawn.shape]).toEqual(['int32', [...shape]]);
      expect(valuesOf(drawn)).toEqual(refBits(keyWords(k), n).map((b) => lo + (b % (hi - lo))));
    }
    expect(() => T.random.randint(T.random.key(0), [2], 3, 3)).toThrow('randint: need integers minval < maxval within int32, at most 2^31 apart, got 3 and 3');
    expect(() => T.random.randint(T.random.key(0), [2], -(2 ** 31), 2 ** 31)).toThrow('at most 2^31 apart');
    expect(() => T.random.randint(T.random.key(0), [2], 0, 2.5)).toThrow('randint');
  });

  it('splitStacked(k, n) is split(k, n) as one u32[n, 2] tensor', () => {
    for (const n of [1, 3, 64]) {
      const stacked = T.random.splitStacked(T.random.key(9), n);
      expect(stacked.shape).toEqual([n, 2]);
      expect(stacked.toArraySync()).toEqual(T.random.split(T.random.key(9), n).map(keyWords));
    }
    expect(() => T.random.splitStacked(T.random.key(9), 0)).toThrow('splitStacked: n must be a positive integer, got 0');
  });

  it('foldIn takes a traced counter: a scalar int tensor, under vmap and jit, folds in its 32 bits', () => {
    const k = T.random.key(7);
    const data = [0, 1, 17, -1, 2 ** 31 - 1];
    const expected = data.map((d) => refFoldIn([0, 7], d >>> 0));
    expect(data.map((d) => keyWords(T.random.foldIn(k, T.tensor(d, { dtype: 'int32' }))))).toEqual(expected);
    expect(keyWords(T.random.foldIn(k, T.tensor(2 ** 32 - 1, { dtype: 'uint32' })))).toEqual(refFoldIn([0, 7], 2 ** 32 - 1));
    const batched = M.vmap((i: T.Tensor) => T.random.foldIn(k, i))(T.tensor(data, { dtype: 'int32' }));
    expect(batched.toArraySync()).toEqual(expected);
    const jitted = M.jit((key: T.Tensor, i: T.Tensor) => T.random.foldIn(key, i));
    expect(keyWords(jitted(k, T.tensor(17, { dtype: 'int32' })))).toEqual(refFoldIn([0, 7], 17));
    expect(() => T.random.foldIn(k, T.tensor(1.5))).toThrow('foldIn: data must be an integer or an int32/uint32 scalar tensor, got float32[]');
  });

  it('split(k, n), foldIn and randomBits match the reference for other keys and sizes', () => {
    for (const seed of [1, 123456789, -5]) {
      const k = keyWords(T.random.key(seed));
      for (const n of [1, 3, 5]) expect(T.random.split(T.random.key(seed), n).map(keyWords)).toEqual(refSplit(k, n));
      for (const d of [0, 17, 2 ** 31]) expect(keyWords(T.random.foldIn(T.random.key(seed), d))).toEqual(refFoldIn(k, d));
      const bits = T.random.randomBits(T.random.key(seed), [3, 5]);
      expect(bits.shape).toEqual([3, 5]);
      expect(bits.dtype).toBe('uint32');
      expect(valuesOf(bits)).toEqual(refBits(k, 15));
    }
  });

  it('uniform float32 is (bits >>> 9) · 2^-23 and float64 is the top 52 of 64 bits (high words first)', () => {
    const k = [0, 3];
    const u32 = valuesOf(T.random.uniform(T.random.key(3), [7]));
    expect(u32).toEqual(refBits(k, 7).map((b) => (b >>> 9) / 2 ** 23));
    const u64 = valuesOf(T.random.uniform(T.random.key(3), [7], { dtype: 'float64' }));
    const w = refBits(k, 14);
    expect(u64).toEqual(iota(7).map((i) => (w[i] * 2 ** 20 + (w[7 + i] >>> 12)) / 2 ** 52));
  });

  it('normal, gumbel and bounded uniform are the JAX transforms of those uniforms (float64, exact recomputation)', () => {
    // The statistical tests below cannot see a scale error of 0.5%; these pin the transforms down.
    const k = [0, 21];
    const n = 64;
    const w = refBits(k, 2 * n);
    const unit = iota(n).map((i) => (w[i] * 2 ** 20 + (w[n + i] >>> 12)) / 2 ** 52);
    const bounded = (lo: number, hi: number) => unit.map((u) => Math.max(u * (hi - lo) + lo, lo));
    expect(valuesOf(T.random.uniform(T.random.key(21), [n], { dtype: 'float64', minval: -3, maxval: 5 }))).toEqual(bounded(-3, 5));
    // normal: z = √2 · erfinv(u), u uniform on [nextafter(-1, 0), 1); check erf(z/√2) = u with the
    // test's own erf series (valid to ~1e-13 here since |z| < 4).
    const u = bounded(-1 + 2 ** -53, 1);
    const z = valuesOf(T.random.normal(T.random.key(21), [n], 'float64'));
    z.forEach((zi, i) => expect(Math.abs(erfSeries(zi / Math.SQRT2) - u[i]), `z = ${zi}`).toBeLessThan(1e-12));
    // gumbel: -log(-log(u)), u uniform on [tiny, 1)
    const g = valuesOf(T.random.gumbel(T.random.key(21), [n], 'float64'));
    const ug = bounded(2.2250738585072014e-308, 1);
    g.forEach((gi, i) => expect(Math.abs(gi - -Math.log(-Math.log(ug[i])))).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(gi))));
  });

  it('is deterministic and stateless: the same key gives the same values, whatever ran before', () => {
    const k = T.random.key(11);
    const a = valuesOf(T.random.normal(k, [50]));
    valuesOf(T.random.uniform(T.random.key(12), [100]));
    const b = valuesOf(T.random.normal(T.random.key(11), [50]));
    expect(a).toEqual(b);
    expect(valuesOf(T.random.gumbel(k, [20]))).toEqual(valuesOf(T.random.gumbel(k, [20])));
    expect(keyWords(T.random.key(11))).toEqual([0, 11]);
  });

  it('split keys give distinct streams', () => {
    // Among N independent uniform 32-bit words a repeat has probability ≈ N²/2³³: for the 4096 words
    // below about 0.2%, for the 2048 key words 0.05%. Keys are fixed, so the test is deterministic.
    const keys = T.random.split(T.random.key(0), 64);
    const words = keys.flatMap((k) => valuesOf(T.random.randomBits(k, [64])));
    expect(new Set(words).size).toBe(words.length);
    // nested splits and fold-ins do not collide with each other or their parents
    const family = [
      ...keys,
      ...T.random.split(keys[0], 64),
      ...iota(64).map((i) => T.random.foldIn(T.random.key(0), i)),
      ...iota(64).map((i) => T.random.foldIn(keys[1], i)),
      ...iota(768).map((i) => T.random.split(T.random.key(i + 1), 1)[0]),
    ].flatMap(keyWords);
    expect(new Set(family).size).toBe(family.length);
  });

  it('UniformStream draws are a pure function of (key, counter) with 53 bits', () => {
    const key = rawKey(9);
    const s = new UniformStream(key);
    const draws = iota(5).map(() => s.next());
    const [a, b] = refThreefry(0, 9, 3, 0);
    expect(draws[3]).toBe((a * 2 ** 21 + (b >>> 11)) / 2 ** 53);
    expect(new UniformStream(key, 3).next()).toBe(draws[3]);
    expect(s.position).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------
// Distribution tests
// ---------------------------------------------------------------------------------------------

/** Φ via Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the KS resolution here). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfz = 1 - poly * Math.exp(-z * z);
  return 0.5 * (1 + (x < 0 ? -erfz : erfz));
}

/** Kolmogorov–Smirnov statistic D_n = sup |F_n(x) - F(x)|. */
function ksStatistic(samples: readonly number[], cdf: (x: number) => number): number {
  const xs = [...samples].sort((p, q) => p - q);
  const n = xs.length;
  let d = 0;
  xs.forEach((x, i) => {
    const f = cdf(x);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  });
  return d;
}

/**
 * KS critical value at significance α = 0.001 from the asymptotic Kolmogorov distribution:
 * P(√n D_n > c) ≈ 2 e^{-2c²}, so c = √(ln(2/α)/2) = 1.9495 (the exact finite-n value at n = 10⁴ is
 * 1.9477, so this is slightly conservative). A correct sampler fails with probability ≤ 0.1%.
 */
const KS_C = Math.sqrt(Math.log(2 / 0.001) / 2);
const N = 10_000;

function expectKs(samples: readonly number[], cdf: (x: number) => number, what: string): void {
  const d = ksStatistic(samples, cdf);
  expect(d, `${what}: KS D = ${d}, critical ${KS_C / Math.sqrt(samples.length)}`).toBeLessThan(KS_C / Math.sqrt(samples.length));
}

describe('samplers follow their distributions (KS / chi-square at α = 0.001)', () => {
  it('uniform in [0, 1) and [minval, maxval)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const u = valuesOf(T.random.uniform(T.random.key(1), [N], { dtype }));
      expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
      expectKs(u, (x) => Math.min(1, Math.max(0, x)), `uniform ${dtype}`);
      const v = valuesOf(T.random.uniform(T.random.key(2), [N], { dtype, minval: -3, maxval: 5 }));
      expect(v.every((x) => x >= -3 && x <= 5)).toBe(true);
      expectKs(v, (x) => Math.min(1, Math.max(0, (x + 3) / 8)), `uniform(-3, 5) ${dtype}`);
    }
  });

  it('normal', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const z = valuesOf(T.random.normal(T.random.key(3), [N], dtype));
      expect(z.every(Number.isFinite)).toBe(true);
      expectKs(z, normalCdf, `normal ${dtype}`);
    }
  });

  it('gumbel', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const g = valuesOf(T.random.gumbel(T.random.key(4), [N], dtype));
      expect(g.every(Number.isFinite)).toBe(true);
      expectKs(g, (x) => Math.exp(-Math.exp(-x)), `gumbel ${dtype}`);
    }
  });

  it('truncatedNormal stays strictly within its bounds and follows the truncated law', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const [a, b] = [-1, 2];
      const z = valuesOf(T.random.truncatedNormal(T.random.key(5), a, b, [N], dtype));
      expect(z.every((x) => x > a && x < b)).toBe(true);
      const [fa, fb] = [normalCdf(a), normalCdf(b)];
      expectKs(z, (x) => Math.min(1, Math.max(0, (normalCdf(x) - fa) / (fb - fa))), `truncatedNormal ${dtype}`);
      // a far tail interval: still within bounds
      const tail = valuesOf(T.random.truncatedNormal(T.random.key(6), 2.5, 4, [2000], dtype));
      expect(tail.every((x) => x > 2.5 && x < 4)).toBe(true);
    }
  });

  it('categorical frequencies (chi-square, 3 degrees of freedom)', () => {
    const p = [0.1, 0.2, 0.3, 0.4];
    const logits = T.broadcastTo(T.tensor(p.map(Math.log), { dtype: 'float32' }), [N, 4]);
    const draws = valuesOf(T.random.categorical(T.random.key(7), logits));
    expect(draws.every((c) => Number.isInteger(c) && c >= 0 && c < 4)).toBe(true);
    const counts = [0, 0, 0, 0];
    for (const c of draws) counts[c]++;
    const chi2 = counts.reduce((s, c, i) => s + (c - N * p[i]) ** 2 / (N * p[i]), 0);
    // χ²₃ upper 0.001 quantile = 16.266: a correct sampler fails with probability 0.1%.
    expect(chi2, `counts ${counts}`).toBeLessThan(16.266);
    // unnormalized logits along another axis
    const col = valuesOf(T.random.categorical(T.random.key(8), T.tensor([[0, -60], [-60, 0], [-60, -60]]), 0));
    expect(col).toEqual([0, 1]);
  });

  it('bernoulli rate (normal approximation, two-sided α = 0.001: |z| < 3.29)', () => {
    for (const p of [0.3, 0.9]) {
      const b = T.random.bernoulli(T.random.key(9), p, [N]);
      expect(b.dtype).toBe('bool');
      const k = valuesOf(b).reduce((s, v) => s + v, 0);
      const z = (k - N * p) / Math.sqrt(N * p * (1 - p));
      expect(Math.abs(z), `k = ${k}`).toBeLessThan(3.29);
    }
    // per-element probabilities broadcast to the shape
    const pb = valuesOf(T.random.bernoulli(T.random.key(10), T.tensor([0, 1]), [500, 2]));
    expect(pb.filter((_, i) => i % 2 === 0).every((v) => v === 0)).toBe(true);
    expect(pb.filter((_, i) => i % 2 === 1).every((v) => v === 1)).toBe(true);
  });

  it('KS tests can fail: a shifted normal is rejected', () => {
    const z = valuesOf(T.random.normal(T.random.key(3), [N], 'float64')).map((x) => x + 0.05);
    expect(ksStatistic(z, normalCdf)).toBeGreaterThan(KS_C / Math.sqrt(N));
  });
});
