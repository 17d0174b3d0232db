/**
 * The robust aggregates of `aggregates.ts` (rliable's): the median, interquartile mean and
 * probability of improvement against examples worked by hand (ties, sample sizes not divisible by
 * 4) and against SciPy and NumPy run as a peer: `scipy.stats.trim_mean(x, 0.25)` (what rliable's
 * `aggregate_iqm` calls; it cuts int(0.25 n) values from each end), `numpy.median`, and
 * `scipy.stats.mannwhitneyu(x, y).statistic / (n m)` (rliable's probability of improvement on one
 * task).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interquartileMean, mean, median, probabilityOfImprovement } from '../../src/experiments/aggregates';
import { PYTHON, pythonWith, runPython } from '../python-peer';

describe('median, interquartile mean, mean', () => {
  it('match hand-worked examples, ties and every n mod 4 among them', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([2, 2, 2, 9])).toBe(2);
    // n < 4 cuts nothing: the mean.
    expect(interquartileMean([5])).toBe(5);
    expect(interquartileMean([1, 2])).toBe(1.5);
    expect(interquartileMean([1, 2, 9])).toBe(4);
    // n = 4 cuts 1 from each end: (2 + 3) / 2.
    expect(interquartileMean([100, 3, 1, 2])).toBe(2.5);
    // n = 5 cuts 1: (2 + 3 + 5) / 3.
    expect(interquartileMean([5, 1, 2, 3, 100])).toBeCloseTo(10 / 3, 14);
    // n = 7 cuts 1, with ties: sorted 1 1 1 2 2 9 10, kept 1 1 2 2 9.
    expect(interquartileMean([10, 1, 2, 9, 1, 2, 1])).toBe(3);
    // n = 8 cuts 2: sorted -5 0 0 1 1 1 4 40, kept 0 1 1 1.
    expect(interquartileMean([1, 40, 0, 1, -5, 0, 4, 1])).toBe(0.75);
    // n = 10 cuts 2: sorted 0 0 0 0 1 1 1 1 1 50, kept 0 0 1 1 1 1.
    expect(interquartileMean([0, 0, 0, 0, 1, 1, 1, 1, 1, 50])).toBeCloseTo(4 / 6, 14);
    expect(mean([1, 2, 6])).toBe(3);
    for (const f of [median, interquartileMean, mean]) expect(f([])).toBeNaN();
  });

  it('lie between the smallest and largest value, and do not depend on the order', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }), (xs) => {
        const lo = Math.min(...xs);
        const hi = Math.max(...xs);
        const reversed = [...xs].reverse();
        for (const f of [median, interquartileMean]) {
          const v = f(xs);
          expect(v).toBeGreaterThanOrEqual(lo - 1e-9 * Math.abs(lo));
          expect(v).toBeLessThanOrEqual(hi + 1e-9 * Math.abs(hi));
          expect(f(reversed)).toBeCloseTo(v, 6);
        }
      }),
    );
  });
});

describe('probabilityOfImprovement', () => {
  it('counts the pairs won, ties as one half, as worked by hand', () => {
    // 2 > 1, 2 = 2 (1/2), 3 > 1, 3 > 2: 3.5 of 4.
    expect(probabilityOfImprovement([2, 3], [1, 2])).toBe(0.875);
    // x = 1: beats 0 (1); x = 2: beats 0, ties 2 and 2 (2); x = 2 likewise (2); x = 3: beats all (3). 8 of 12.
    expect(probabilityOfImprovement([1, 2, 2, 3], [2, 2, 0])).toBe(8 / 12);
    expect(probabilityOfImprovement([5, 5], [5, 5, 5])).toBe(0.5);
    expect(probabilityOfImprovement([1], [2])).toBe(0);
    expect(probabilityOfImprovement([], [2])).toBeNaN();
  });

  it('P(X > Y) + P(Y > X) = 1', () => {
    const sample = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(sample, sample, (xs, ys) => {
        expect(probabilityOfImprovement(xs, ys) + probabilityOfImprovement(ys, xs)).toBeCloseTo(1, 14);
      }),
    );
  });
});

/** Samples for the peer: small and larger, integers (many ties) and doubles. */
function peerSamples(): number[][] {
  const ints = fc.sample(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 13 }), { seed: 1, numRuns: 60 });
  const doubles = fc.sample(fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1, maxLength: 50 }), { seed: 2, numRuns: 60 });
  return [...ints, ...doubles];
}

describe.skipIf(!pythonWith('numpy', 'scipy'))(`against SciPy and NumPy (${PYTHON})`, () => {
  it('interquartileMean is scipy.stats.trim_mean(x, 0.25), median is numpy.median, for n = 1..50', () => {
    const samples = peerSamples();
    const peer = runPython(
      `import json, sys
import numpy as np
from scipy import stats
xs = json.loads(sys.argv[1])
print(json.dumps([[float(stats.trim_mean(x, 0.25)), float(np.median(x))] for x in xs]))`,
      [JSON.stringify(samples)],
    ) as [number, number][];
    samples.forEach((xs, i) => {
      const [iqm, med] = peer[i];
      // Summed in another order (NumPy's pairwise sum): equal to rounding.
      expect(Math.abs(interquartileMean(xs) - iqm)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(iqm)));
      expect(median(xs)).toBe(med);
    });
  });

  it('probabilityOfImprovement is mannwhitneyu(x, y).statistic / (n m), ties included', () => {
    const samples = peerSamples();
    const pairs = samples.slice(0, -1).map((xs, i) => [xs, samples[i + 1]]);
    const peer = runPython(
      `import json, sys
from scipy import stats
pairs = json.loads(sys.argv[1])
print(json.dumps([float(stats.mannwhitneyu(x, y, alternative='greater').statistic) / (len(x) * len(y)) for x, y in pairs]))`,
      [JSON.stringify(pairs)],
    ) as number[];
    pairs.forEach(([xs, ys], i) => expect(probabilityOfImprovement(xs, ys)).toBeCloseTo(peer[i], 12));
  });
});
