/**
 * The stratified percentile bootstrap of `bootstrap.ts`: its draws reproduced here from the Threefry
 * stream its module comment names, its intervals recomputed from those draws with this file's own
 * statistics and percentiles (and NumPy's `percentile` as a peer), and its coverage checked on data
 * of known mean. Every random number comes from fixed keys, so each test is deterministic; the
 * statistical ones state how often they would fail for a seed picked at random.
 */
import { describe, expect, it } from 'vitest';
import { bootstrap, bootstrapKey, percentile, resampleIndices } from '../../src/experiments/bootstrap';
import { rawKey, UniformStream } from '../../src/tensor/threefry';
import { PYTHON, pythonWith, runPython } from '../python-peer';

const average = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** `n` draws of a normal N(mu, sigma^2) by Box-Muller from the stream of `seed`. */
function normals(seed: number, n: number, mu: number, sigma: number): number[] {
  const u = new UniformStream(rawKey(seed));
  return Array.from({ length: n }, () => mu + sigma * Math.sqrt(-2 * Math.log(1 - u.next())) * Math.cos(2 * Math.PI * u.next()));
}

/** The textbook percentile: rank h = (n - 1) q / 100 of the sorted values, interpolated linearly. */
function textbookPercentile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = ((s.length - 1) * q) / 100;
  const j = Math.floor(h);
  return j === s.length - 1 ? s[j] : s[j] * (1 - (h - j)) + s[j + 1] * (h - j);
}

describe('resampleIndices', () => {
  it('draws floor(u n) from the stream, in order', () => {
    const ours = resampleIndices(new UniformStream(rawKey(5)), 7);
    const u = new UniformStream(rawKey(5));
    expect(Array.from(ours)).toEqual(Array.from({ length: 7 }, () => Math.floor(u.next() * 7)));
  });

  it('draws every index about equally often', () => {
    // 20000 draws of 10 indices: each count is Binomial(20000, 0.1), mean 2000, sd 42.4; 6 sd either
    // side fails for a random seed with probability below 2e-8 per index.
    const stream = new UniformStream(rawKey(9));
    const counts = new Array<number>(10).fill(0);
    for (let k = 0; k < 2000; k++) for (const i of resampleIndices(stream, 10)) counts[i]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(6 * 42.4);
  });
});

describe('percentile', () => {
  it('interpolates linearly between ranks, as numpy.percentile', () => {
    expect(percentile([1, 2, 3, 4, 10], 2.5)).toBeCloseTo(1.1, 14);
    expect(percentile([10, 4, 3, 2, 1], 97.5)).toBeCloseTo(9.4, 14);
    expect(percentile([3], 50)).toBe(3);
    expect(percentile([1, 2], 100)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('bootstrap', () => {
  it('is the percentile interval of the statistics on the replicates the stream draws, stratum by stratum', () => {
    const xs = [3, 1, 4, 1, 5, 9, 2];
    const ys = [2, 7, 1, 8];
    const key = bootstrapKey(3, 'check');
    const resamples = 300;
    const diff = ([a, b]: readonly (readonly number[])[]) => average(a) - average(b);
    const wins = ([a, b]: readonly (readonly number[])[]) => a.flatMap((x) => b.map((y) => (x > y ? 1 : x === y ? 0.5 : 0))).reduce((p: number, q) => p + q, 0) / (a.length * b.length);
    const [d, w] = bootstrap([xs, ys], [diff, wins], { resamples, key });
    // The draws by hand: replicate by replicate, xs's 7 indices then ys's 4.
    const u = new UniformStream(key);
    const draw = (s: number[]) => s.map(() => s[Math.floor(u.next() * s.length)]);
    const replicates = Array.from({ length: resamples }, () => [draw(xs), draw(ys)]);
    const ds = replicates.map(diff);
    const ws = replicates.map(wins);
    expect(d.value).toBe(diff([xs, ys]));
    expect(d.lo).toBeCloseTo(textbookPercentile(ds, 2.5), 12);
    expect(d.hi).toBeCloseTo(textbookPercentile(ds, 97.5), 12);
    expect(w.value).toBe(wins([xs, ys]));
    expect(w.lo).toBeCloseTo(textbookPercentile(ws, 2.5), 12);
    expect(w.hi).toBeCloseTo(textbookPercentile(ws, 97.5), 12);
    // Same key, same intervals; another seed, others.
    expect(bootstrap([xs, ys], [diff], { resamples, key: bootstrapKey(3, 'check') })).toEqual([d]);
    expect(bootstrap([xs, ys], [diff], { resamples, key: bootstrapKey(4, 'check') })).not.toEqual([d]);
  });

  it('has no interval for a stratum of one value, and no value for an empty one; refuses a non-positive count', () => {
    const key = bootstrapKey(0, 'edge');
    expect(bootstrap([[1, 2], [5]], [([a, b]) => a[0] + b[0]], { resamples: 10, key })).toEqual([{ value: 6, lo: NaN, hi: NaN }]);
    expect(bootstrap([[], [5, 6]], [([a]) => a.length], { resamples: 10, key })).toEqual([{ value: NaN, lo: NaN, hi: NaN }]);
    expect(() => bootstrap([[1, 2]], [([a]) => a[0]], { resamples: 0, key })).toThrow('bootstrap: resamples must be a positive integer, got 0');
    expect(() => bootstrap([[1, 2]], [([a]) => a[0]], { resamples: 2.5, key })).toThrow(RangeError);
  });

  it('keys differ by seed and by label', () => {
    expect(bootstrapKey(1, 'a')).toEqual(bootstrapKey(1, 'a'));
    expect(bootstrapKey(1, 'a')).not.toEqual(bootstrapKey(2, 'a'));
    expect(bootstrapKey(1, 'a')).not.toEqual(bootstrapKey(1, 'b'));
    expect(bootstrapKey(1, 'ab')).not.toEqual(bootstrapKey(1, 'a'));
  });

  it('on a large normal sample, the mean\'s interval covers the true mean and is about 2 · 1.96 · s / sqrt(n) wide', () => {
    // n = 1000 draws of N(3, 2^2), 2000 replicates. For a seed picked at random the interval would
    // miss the true mean 5% of the time (this seed's does not, and the test is deterministic). The
    // width is checked against the normal interval's, 2 · 1.96 · s / sqrt(n) with s the sample's
    // standard deviation: their ratio has mean 0.996 and sd 0.022 (NumPy, 300 repetitions), so 10% is
    // 4.5 sd, failing for fewer than 1 seed in 10^5; the centre, within 10% of the half-width of the
    // sample mean (sd 2.1% of it), is as safe.
    const xs = normals(2021, 1000, 3, 2);
    const [m] = bootstrap([xs], [([a]) => average(a)], { resamples: 2000, key: bootstrapKey(0, 'normal') });
    const mu = average(xs);
    const s = Math.sqrt(xs.reduce((a, x) => a + (x - mu) ** 2, 0) / (xs.length - 1));
    const normalWidth = (2 * 1.959964 * s) / Math.sqrt(xs.length);
    expect(m.lo).toBeLessThan(3);
    expect(m.hi).toBeGreaterThan(3);
    expect(Math.abs(m.hi - m.lo - normalWidth) / normalWidth).toBeLessThan(0.1);
    expect(Math.abs((m.lo + m.hi) / 2 - mu)).toBeLessThan(0.1 * (normalWidth / 2));
  });

  it('covers the true mean about 93% of the time with 30 runs', () => {
    // 400 samples of n = 30 from N(3, 2^2), 500 replicates each. The percentile interval of a mean
    // is about mean ± 1.96 · s sqrt((n-1)/n) / sqrt(n), narrower than the t-interval: coverage
    // P(|t_29| < 1.927) = 0.936, 0.933 with 500 replicates (NumPy, 4000 repetitions). The count is
    // Binomial(400, 0.933): the bounds 87%..98% fail for a random seed with probability 6e-6 (below
    // 1e-4 for a true coverage anywhere in 0.923..0.943).
    const covered = Array.from({ length: 400 }, (_, k) => {
      const [m] = bootstrap([normals(10_000 + k, 30, 3, 2)], [([a]) => average(a)], { resamples: 500, key: bootstrapKey(k, 'coverage') });
      return m.lo <= 3 && 3 <= m.hi;
    }).filter(Boolean).length;
    expect(covered / 400).toBeGreaterThanOrEqual(0.87);
    expect(covered / 400).toBeLessThanOrEqual(0.98);
  });
});

describe.skipIf(!pythonWith('numpy'))(`percentile against NumPy (${PYTHON})`, () => {
  it('equals numpy.percentile at 2.5 and 97.5 on samples of 1 to 2000 values', () => {
    const samples = [1, 2, 3, 7, 40, 401, 2000].map((n, i) => normals(i, n, 0, 1).map((v) => Math.round(v * 4) / 4));
    const peer = runPython(
      `import json, sys
import numpy as np
print(json.dumps([[float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))] for x in json.loads(sys.argv[1])]))`,
      [JSON.stringify(samples)],
    ) as [number, number][];
    samples.forEach((xs, i) => {
      expect(percentile(xs, 2.5)).toBeCloseTo(peer[i][0], 12);
      expect(percentile(xs, 97.5)).toBeCloseTo(peer[i][1], 12);
    });
  });
});
