/**
 * Entropies without a closed form: `mixtureEntropyBounds` and `monteCarloEntropy` against the entropy
 * computed by quadrature in float64 here (1-D on x = sinh u, so Cauchy tails are covered; 2-D on a
 * grid), and against closed forms where one exists.
 *
 * Statistical checks (the Monte Carlo estimate within 4.5 standard errors of the quadrature value)
 * fail with probability about 7e-6 each for a fresh seed; the seeds here are fixed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as D from '../../src/distributions';
import { grad, jit } from '../../src/autodiff';
import { arr, expectError, f64, LOG_2PI, M, normalLogPdf, num, softmax } from './reference';

const T = M;

interface Mix1d {
  readonly logits: number[];
  readonly locs: number[];
  readonly scales: number[];
}

const cauchyLogPdf = (x: number, loc: number, scale: number) => -Math.log(Math.PI * scale) - Math.log1p(((x - loc) / scale) ** 2);

function mixtureDensity1d(m: Mix1d, family: 'normal' | 'cauchy'): (x: number) => number {
  const w = softmax(m.logits);
  const logPdf = family === 'normal' ? normalLogPdf : cauchyLogPdf;
  return (x) => w.reduce((s, wk, k) => s + wk * Math.exp(logPdf(x, m.locs[k], m.scales[k])), 0);
}

/**
 * -∫ p log p (and ∫ p (log p)²) over the real line by the midpoint rule in u with x = sinh u
 * (dx = cosh u du), u in [-40, 40]: the integrand then decays exponentially in u even for Cauchy
 * tails (p ~ 1/x² ~ e^-2|u|), so the truncation and the rule's error are both far below 1e-9.
 */
function entropy1d(p: (x: number) => number, n = 80_000): { entropy: number; secondMoment: number } {
  let h = 0;
  let m2 = 0;
  const du = 80 / n;
  for (let i = 0; i < n; i++) {
    const u = -40 + (i + 0.5) * du;
    const x = Math.sinh(u);
    const px = p(x);
    if (px > 0) {
      const lp = Math.log(px);
      const weight = px * Math.cosh(u) * du;
      h -= weight * lp;
      m2 += weight * lp * lp;
    }
  }
  return { entropy: h, secondMoment: m2 };
}

const mixture1d = (m: Mix1d, family: 'normal' | 'cauchy' = 'normal') => {
  const col = (xs: number[]) => T.tensor(xs, { ...f64, shape: [xs.length, 1] });
  const components = family === 'normal' ? D.normal(col(m.locs), col(m.scales)) : D.cauchy(col(m.locs), col(m.scales));
  return D.mixture(T.tensor(m.logits, f64), components);
};

const mix1d = (maxK: number, minScale = 0.2): fc.Arbitrary<Mix1d> =>
  fc.integer({ min: 1, max: maxK }).chain((K) =>
    fc.record({
      logits: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: K, maxLength: K }),
      locs: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: K, maxLength: K }),
      scales: fc.array(fc.double({ min: minScale, max: 2, noNaN: true }), { minLength: K, maxLength: K }),
    }),
  );

/** The 1-D quadrature's error bound, checked against the closed forms in the next test. */
const QUADRATURE_ERROR = 1e-9;

describe('mixtureEntropyBounds', () => {
  for (const family of ['normal', 'cauchy'] as const) {
    it(`brackets the quadrature entropy of 1-D ${family} mixtures`, () => {
      fc.assert(
        fc.property(mix1d(4), (m) => {
          const { entropy } = entropy1d(mixtureDensity1d(m, family));
          const { lower, upper } = D.mixtureEntropyBounds(mixture1d(m, family));
          expect(num(lower)).toBeLessThanOrEqual(entropy + QUADRATURE_ERROR);
          expect(num(upper)).toBeGreaterThanOrEqual(entropy - QUADRATURE_ERROR);
        }),
        { numRuns: 25, seed: 11 },
      );
    });
  }

  it('both bounds are the entropy itself for one component (normal and Cauchy closed forms)', () => {
    for (const scale of [0.2, 0.7, 2]) {
      const m = { logits: [0.3], locs: [2.5], scales: [scale] };
      const exact = { normal: 0.5 * (1 + LOG_2PI) + Math.log(scale), cauchy: Math.log(4 * Math.PI * scale) };
      for (const family of ['normal', 'cauchy'] as const) {
        const { lower, upper } = D.mixtureEntropyBounds(mixture1d(m, family));
        expect(num(lower)).toBeCloseTo(exact[family], 12);
        expect(num(upper)).toBeCloseTo(exact[family], 12);
        // The quadrature's own error, which the bracketing test allows for.
        const quadrature = entropy1d(mixtureDensity1d(m, family)).entropy;
        expect(Math.abs(quadrature - exact[family])).toBeLessThan(QUADRATURE_ERROR);
      }
    }
  });

  it("lower bound in closed form: Jensen's -Σ wᵢ log Σ wⱼ N(μᵢ; μⱼ, σᵢ² + σⱼ²) apart, Σ wᵢ H(pᵢ) overlapping", () => {
    const w = softmax([0, Math.log(3)]);
    const scales = [1, 1.3];
    const conditional = w.reduce((s, wi, i) => s + wi * (0.5 * (1 + LOG_2PI) + Math.log(scales[i])), 0);
    const jensenAt = (locs: number[]) => {
      const z = (i: number, j: number) => Math.exp(normalLogPdf(locs[i], locs[j], Math.hypot(scales[i], scales[j])));
      return -w.reduce((s, wi, i) => s + wi * Math.log(w[0] * z(i, 0) + w[1] * z(i, 1)), 0);
    };
    // Apart: Jensen's bound is the larger, H(w) - ½(1 - log 2) above Σ w H; the upper bound nearly exact.
    const far = { logits: [0, Math.log(3)], locs: [-20, 20], scales };
    expect(jensenAt(far.locs)).toBeGreaterThan(conditional);
    const farBounds = D.mixtureEntropyBounds(mixture1d(far));
    expect(num(farBounds.lower)).toBeCloseTo(jensenAt(far.locs), 12);
    expect(num(farBounds.upper)).toBeCloseTo(entropy1d(mixtureDensity1d(far, 'normal')).entropy, 5);
    // Overlapping: Σ w H is the larger.
    const near = { logits: [0, Math.log(3)], locs: [0, 0.2], scales };
    expect(jensenAt(near.locs)).toBeLessThan(conditional);
    expect(num(D.mixtureEntropyBounds(mixture1d(near)).lower)).toBeCloseTo(conditional, 12);
  });

  it('a component masked out by a -∞ logit adds nothing: the two-component closed forms, and a finite gradient', () => {
    // Weights 1/4, 3/4 on N(-20, 1) and N(20, 1.3); the third component has weight exactly 0.
    const logits = [0, Math.log(3), -Infinity];
    const m = (l: M.Tensor) => D.mixture(l, D.normal(T.tensor([[-20], [20], [0]], f64), T.tensor([[1], [1.3], [0.5]], f64)));
    const w = [0.25, 0.75];
    const hw = -w.reduce((s, wi) => s + wi * Math.log(wi), 0);
    const hk = [1, 1.3].map((sigma) => 0.5 * (1 + LOG_2PI) + Math.log(sigma));
    const conditional = w[0] * hk[0] + w[1] * hk[1];
    expect(num(D.categorical(T.tensor(logits, f64)).entropy())).toBeCloseTo(hw, 14);
    const { lower, upper } = D.mixtureEntropyBounds(m(T.tensor(logits, f64)));
    expect(num(upper)).toBeCloseTo(hw + conditional, 12);
    // Apart, Jensen's bound is H(w) + Σ w H - ½(1 - log 2) (the overlaps of the two are ~e^-180).
    expect(num(lower)).toBeCloseTo(hw + conditional - 0.5 * (1 - Math.LN2), 12);
    // d upper / d logit_j = w_j (H_j - Σ w H) - w_j (log w_j + H(w)); 0 for the masked one.
    const g = arr(grad((l: M.Tensor) => D.mixtureEntropyBounds(m(l)).upper)(T.tensor(logits, f64)));
    const expected = [...w.map((wj, j) => wj * (hk[j] - conditional) - wj * (Math.log(wj) + hw)), 0];
    g.forEach((gj, j) => expect(gj).toBeCloseTo(expected[j], 12));
  });

  it('brackets a 2-D diagonal normal mixture (grid quadrature), per batch element', () => {
    // Batch of two mixtures of K = 3 components in 2-D.
    const locs = [
      [[0, 0], [1, -1], [-1.5, 0.5]],
      [[0.5, 0.5], [0.4, 0.6], [3, -2]],
    ];
    const scales = [
      [[1, 0.5], [0.6, 0.8], [0.7, 1.2]],
      [[0.5, 0.5], [1.5, 0.3], [0.4, 0.9]],
    ];
    const logits = [[0, 0.5, -0.5], [1, 0, -1]];
    const m = D.mixture(T.tensor(logits, f64), D.normal(T.tensor(locs, f64), T.tensor(scales, f64)));
    const { lower, upper } = D.mixtureEntropyBounds(m);
    expect(lower.shape).toEqual([2]);
    for (let b = 0; b < 2; b++) {
      const w = softmax(logits[b]);
      const p = (x: number, y: number) =>
        w.reduce((s, wk, k) => s + wk * Math.exp(normalLogPdf(x, locs[b][k][0], scales[b][k][0]) + normalLogPdf(y, locs[b][k][1], scales[b][k][1])), 0);
      const n = 1200;
      const [lo, hi] = [-12, 12];
      const h = (hi - lo) / n;
      let entropy = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const px = p(lo + (i + 0.5) * h, lo + (j + 0.5) * h);
          if (px > 0) entropy -= px * Math.log(px) * h * h;
        }
      }
      expect(arr(lower)[b]).toBeLessThanOrEqual(entropy + 1e-4);
      expect(arr(upper)[b]).toBeGreaterThanOrEqual(entropy - 1e-4);
      // Not vacuous: the bracket is narrower than H(w) (the most the two can differ by).
      expect(arr(upper)[b] - arr(lower)[b]).toBeLessThan(-w.reduce((s, wk) => s + wk * Math.log(wk), 0) + 1e-12);
    }
  });

  it('batched 3-D Cauchy and uniform normal mixtures: the formulas per batch element, in float64 and float32', () => {
    // loc, scale [B = 2, K = 3, A = 3]; logits [2, 3].
    const locs = [
      [[0, 1, -1], [2, -0.5, 0.3], [-1.5, 0.2, 2]],
      [[0.1, 0.1, 0.1], [0.3, -0.2, 0], [4, 4, -4]],
    ];
    const scales = [
      [[1, 0.5, 0.8], [0.6, 0.9, 1.2], [0.7, 1.5, 0.4]],
      [[0.5, 0.5, 0.5], [1.5, 0.3, 0.8], [0.4, 0.9, 2]],
    ];
    const logits = [[0, 0.5, -0.5], [1, 0, -1]];
    const lnCauchy = (x: number, g: number) => -Math.log(Math.PI * g) - Math.log1p((x / g) ** 2);
    const lnNormal = (x: number, v: number) => -0.5 * (x * x) / v - 0.5 * Math.log(2 * Math.PI * v);
    /** [lower, upper] for batch element b, from the definitions (H of a component summed over its 3 axes). */
    const expected = (b: number, family: 'normal' | 'cauchy', w: number[]): [number, number] => {
      const h = scales[b].map((s) => s.reduce((acc, g) => acc + Math.log(g) + (family === 'normal' ? 0.5 * (1 + LOG_2PI) : Math.log(4 * Math.PI)), 0));
      const conditional = w.reduce((acc, wk, k) => acc + wk * h[k], 0);
      const overlap = (i: number, j: number) =>
        [0, 1, 2].reduce((acc, d) => {
          const gap = locs[b][i][d] - locs[b][j][d];
          const [si, sj] = [scales[b][i][d], scales[b][j][d]];
          return acc + (family === 'normal' ? lnNormal(gap, si * si + sj * sj) : lnCauchy(gap, si + sj));
        }, 0);
      const jensen = -w.reduce((acc, wi, i) => acc + wi * Math.log(w.reduce((s, wj, j) => s + wj * Math.exp(overlap(i, j)), 0)), 0);
      return [Math.max(jensen, conditional), -w.reduce((acc, wk) => acc + wk * Math.log(wk), 0) + conditional];
    };
    for (const dtype of ['float64', 'float32'] as const) {
      const tol = dtype === 'float64' ? 1e-12 : 1e-5;
      const [loc, scale] = [T.tensor(locs, { dtype }), T.tensor(scales, { dtype })];
      const cases = [
        { family: 'cauchy' as const, m: D.mixture(T.tensor(logits, { dtype }), D.cauchy(loc, scale)), w: logits.map(softmax) },
        { family: 'normal' as const, m: D.uniformMixture(D.normal(loc, scale)), w: [0, 1].map(() => [1 / 3, 1 / 3, 1 / 3]) },
      ];
      for (const { family, m, w } of cases) {
        const { lower, upper } = D.mixtureEntropyBounds(m);
        expect([lower.dtype, upper.dtype, lower.shape]).toEqual([dtype, dtype, [2]]);
        for (let b = 0; b < 2; b++) {
          const [lo, hi] = expected(b, family, w[b]);
          expect(Math.abs(arr(lower)[b] - lo), `${dtype} ${family} lower [${b}]`).toBeLessThan(tol * (1 + Math.abs(lo)));
          expect(Math.abs(arr(upper)[b] - hi), `${dtype} ${family} upper [${b}]`).toBeLessThan(tol * (1 + Math.abs(hi)));
        }
      }
    }
  });

  it('gradients match central differences in float64, and jit gives the same values', () => {
    const bounds = (theta: M.Tensor) => {
      const [logits, locs, logScales] = [T.slice(theta, [0, 3]), T.reshape(T.slice(theta, [3, 9]), [3, 2]), T.reshape(T.slice(theta, [9, 15]), [3, 2])];
      const { lower, upper } = D.mixtureEntropyBounds(D.mixture(logits, D.normal(locs, T.exp(logScales))));
      return T.add(lower, T.mul(upper, 0.37));
    };
    const theta0 = [0.1, -0.4, 0.3, 0, 0.2, 0.5, -0.1, -0.3, 0.4, 0, -0.2, 0.1, 0.3, -0.5, 0];
    const g = arr(grad(bounds)(T.tensor(theta0, f64)));
    const eps = 1e-6;
    theta0.forEach((_, i) => {
      const at = (d: number) => num(bounds(T.tensor(theta0.map((v, j) => (j === i ? v + d : v)), f64)));
      expect(g[i]).toBeCloseTo((at(eps) - at(-eps)) / (2 * eps), 6);
    });
    expect(num(jit(bounds)(T.tensor(theta0, f64)))).toBeCloseTo(num(bounds(T.tensor(theta0, f64))), 12);
  });

  it('refuses what is not a mixture of normals or Cauchys', () => {
    expectError(() => D.mixtureEntropyBounds(D.normal(T.zeros([2]), T.ones([2])) as never), T.ArgumentError, /^mixtureEntropyBounds: m must be a mixture of normal or cauchy components, got object$/);
    expectError(() => D.mixtureEntropyBounds(undefined as never), T.ArgumentError, /, got undefined$/);
  });
});

describe('monteCarloEntropy', () => {
  const key = (seed: number) => T.random.key(seed);

  it('a 1-D normal mixture: within 4.5 standard errors of the quadrature entropy; the error is sd(log p)/√n', () => {
    const m = { logits: [0, 1, -0.5], locs: [-2, 0.5, 2.5], scales: [0.5, 1, 0.3] };
    const { entropy, secondMoment } = entropy1d(mixtureDensity1d(m, 'normal'));
    const sd = Math.sqrt(secondMoment - entropy * entropy);
    const n = 20_000;
    for (const seed of [1, 2, 3]) {
      const { estimate, standardError } = D.monteCarloEntropy(mixture1d(m), key(seed), n);
      expect(Math.abs(num(estimate) - entropy)).toBeLessThan(4.5 * num(standardError));
      // The sample sd of log p over 20000 draws is within 5% of the true sd (its own relative sd here is ~1%).
      expect(Math.abs(num(standardError) * Math.sqrt(n) - sd) / sd).toBeLessThan(0.05);
    }
  });

  it('with few draws its error is the sample sd (n - 1 in the divisor) over √n, by hand from the same draws', () => {
    const normal = D.normal(T.tensor([0.3], f64), T.tensor([1.7], f64));
    for (const n of [2, 5]) {
      const [, logProb] = normal.sampleAndLogProb(key(9), [n]);
      const l = arr(logProb);
      const mean = l.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(l.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
      const { estimate, standardError } = D.monteCarloEntropy(normal, key(9), n);
      expect(num(estimate)).toBeCloseTo(-mean, 14);
      expect(num(standardError)).toBeCloseTo(sd / Math.sqrt(n), 14);
    }
  });

  it('a squashed normal: H(u) + E[log |d tanh(u)/du|] by quadrature', () => {
    const [mu, sigma] = [0.8, 1.3];
    // H(a) = H(u) + ∫ N(u) log(scale · (1 - tanh² u)) du, scale = (high - low) / 2 = 2.
    let jac = 0;
    const n = 200_000;
    const [lo, hi] = [mu - 14 * sigma, mu + 14 * sigma];
    const h = (hi - lo) / n;
    for (let i = 0; i < n; i++) {
      const u = lo + (i + 0.5) * h;
      jac += Math.exp(normalLogPdf(u, mu, sigma)) * (Math.log(2) + 2 * (Math.log(2) - Math.abs(u) - Math.log1p(Math.exp(-2 * Math.abs(u))))) * h;
    }
    const entropy = 0.5 * (1 + LOG_2PI) + Math.log(sigma) + jac;
    const policy = D.squash(-2, 2)(D.normal(T.tensor([mu], f64), T.tensor([sigma], f64)));
    const { estimate, standardError } = D.monteCarloEntropy(policy, key(7), 20_000);
    expect(Math.abs(num(estimate) - entropy)).toBeLessThan(4.5 * num(standardError));
  });

  it('a categorical: the estimate of an exact entropy, batch shape kept', () => {
    const c = D.categorical(T.tensor([[0, 1, 2], [0, 0, 0]], f64));
    const { estimate, standardError } = D.monteCarloEntropy(c, key(3), 50_000);
    expect(estimate.shape).toEqual([2]);
    const exact = [[0, 1, 2], [0, 0, 0]].map((l) => -softmax(l).reduce((s, p) => s + p * Math.log(p), 0));
    arr(estimate).forEach((e, b) => expect(Math.abs(e - exact[b])).toBeLessThan(4.5 * arr(standardError)[b] + 1e-12));
    expect(arr(standardError)[1]).toBeLessThan(1e-12); // uniform: log p is constant
  });

  it('is for reporting: no gradient reaches the parameters', () => {
    const g = grad((loc: M.Tensor) => D.monteCarloEntropy(D.normal(loc, T.ones([1], f64)), key(0), 10).estimate)(T.zeros([1], f64));
    expect(arr(g)).toEqual([0]);
  });

  it('refuses bad arguments, naming them', () => {
    const d = D.normal(T.zeros([1]), T.ones([1]));
    expectError(() => D.monteCarloEntropy({} as never, key(0), 10), T.ArgumentError, /^monteCarloEntropy: d must be a distribution .*, got object$/);
    expectError(() => D.monteCarloEntropy(d, undefined as never, 10), T.ArgumentError, 'monteCarloEntropy: a random key is required (random.key(seed)), got undefined');
    expectError(() => D.monteCarloEntropy(d, key(0), 1), T.ArgumentError, 'monteCarloEntropy: samples must be an integer >= 2 (the standard error needs two), got 1');
    expectError(() => D.monteCarloEntropy(d, key(0), 2.5), T.ArgumentError, /, got 2\.5$/);
  });
});
