/**
 * Variance (paper Prop. 4.7, bandit form, τ = 0): trace Cov(MRP) <= trace Cov(LR) when the reward is
 * smooth relative to the noise scale, and a rough-reward counterexample where it fails.
 *
 * What is checked of the assumptions. PAPER.md's Theory section (the equations of Assumptions
 * 4.5/4.6 were lost in extraction) reduces the proof (App. C.3, Eq. 25) to a per-component
 * comparison of the reparameterization and likelihood-ratio variances of a single Gaussian, in the
 * style of Gal (2016). With r̃(x) = r(tanh x) the reward as a function of the pre-tanh x, x = μ + σε,
 * we compute by quadrature, for every component k:
 *   (mean)    Var[r̃'(x)]        <= Var[r̃(x) (x - μ)/σ²]     (RP vs LR derivative in μ)
 *   (log-std) Var[σ ε r̃'(x)]     <= Var[r̃(x) (ε² - 1)]       (RP vs LR derivative in log σ)
 * and the ratio max_x |r̃'| · σ to sup |r̃| (smoothness relative to the noise scale). The smooth cases
 * must satisfy both inequalities for every component; the rough case must violate them. Assumption 4.6
 * (an importance-sampling condition on the weights' LR terms) is not checked separately: its
 * conclusion, the trace inequality itself, is tested directly.
 *
 * False-failure bound: each trace is a mean of B = 20000 i.i.d. squared deviations with sample SE;
 * each comparison requires the two z-intervals (P(|Z| > z) = 1e-6 each) to be disjoint in the claimed
 * order, so a comparison fails falsely with probability <= 2e-6; 4 comparisons: <= 1e-5.
 */
import { describe, expect, it } from 'vitest';
import { arr, f64, grid, M, trapezoid, zFor } from '../distributions/reference';
import { perDrawGradients, rewardFn, type Term, type Theta, traceCov } from './bandit';

const T = M;
const B = 20_000;
const Z = zFor(1e-6);

const theta: Theta = { logits: [0.3, -0.2, 0.1], mu: [-0.5, 0.2, 0.7], logstd: [Math.log(0.3), Math.log(0.5), Math.log(0.2)] };

/** The per-component variances by quadrature over ε in [-10, 10]. */
function componentConditions(terms: Term[], mu: number, sigma: number) {
  const eps = grid(-10, 10, 20_000);
  const h = eps[1] - eps[0];
  const phi = eps.map((e) => Math.exp(-0.5 * e * e) / Math.sqrt(2 * Math.PI));
  const reward = rewardFn(terms);
  const rTilde = (x: M.Tensor) => reward(T.expandDims(T.tanh(x), -1));
  const x = T.tensor(eps.map((e) => mu + sigma * e), f64);
  const r = arr(rTilde(x));
  const dr = arr(M.grad((v: M.Tensor) => T.sum(rTilde(v)))(x)); // elementwise r̃'(x)
  const variance = (f: number[]) => {
    const m = trapezoid(f.map((v, i) => v * phi[i]), h);
    return trapezoid(f.map((v, i) => (v - m) ** 2 * phi[i]), h);
  };
  return {
    rpMean: variance(dr),
    lrMean: variance(r.map((v, i) => (v * eps[i]) / sigma)),
    rpLogStd: variance(dr.map((v, i) => sigma * eps[i] * v)),
    lrLogStd: variance(r.map((v, i) => v * (eps[i] ** 2 - 1))),
    smoothness: (Math.max(...dr.map(Math.abs)) * sigma) / Math.max(...r.map(Math.abs)),
  };
}

function traces(terms: Term[]) {
  const reward = rewardFn(terms);
  return {
    mrp: traceCov(perDrawGradients('mrp', theta, reward, 0, B, 11)),
    lr: traceCov(perDrawGradients('lr', theta, reward, 0, B, 12)),
  };
}

describe('trace Cov(MRP) <= trace Cov(LR) under smoothness (Prop. 4.7)', () => {
  const smooth: Record<string, Term[]> = {
    'r(a) = a²': [{ kind: 'poly', c: 1, d: 2 }],
    'r(a) = sin(a)': [{ kind: 'sine', c: 1, f: 1, phase: 0 }],
    'r(a) = bump at 0.3, width 0.5': [{ kind: 'bump', c: 1, m: 0.3, s: 0.5 }],
  };
  for (const [name, terms] of Object.entries(smooth)) {
    it(`${name}: the per-component conditions hold and MRP's trace is below LR's`, () => {
      theta.mu.forEach((mu, k) => {
        const c = componentConditions(terms, mu, Math.exp(theta.logstd[k]));
        expect(c.rpMean).toBeLessThan(c.lrMean);
        expect(c.rpLogStd).toBeLessThan(c.lrLogStd);
      });
      const { mrp, lr } = traces(terms);
      expect(mrp.trace + Z * mrp.se).toBeLessThan(lr.trace - Z * lr.se);
    });
  }
});

describe('a rough reward breaks it', () => {
  it('r(a) = sin(40 a): the conditions fail and MRP has the larger trace', () => {
    const terms: Term[] = [{ kind: 'sine', c: 1, f: 40, phase: 0 }];
    const conds = theta.mu.map((mu, k) => componentConditions(terms, mu, Math.exp(theta.logstd[k])));
    expect(conds.every((c) => c.rpMean > c.lrMean && c.rpLogStd > c.lrLogStd)).toBe(true);
    expect(Math.min(...conds.map((c) => c.smoothness))).toBeGreaterThan(1);
    const { mrp, lr } = traces(terms);
    expect(lr.trace + Z * lr.se).toBeLessThan(mrp.trace - Z * mrp.se);
  });
});
