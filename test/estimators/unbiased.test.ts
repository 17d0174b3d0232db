/**
 * Unbiasedness: for random squashed Normal mixtures and random smooth rewards, the mean of B
 * estimator draws equals the exact gradient of J(θ) = E[r(a)] - τ E[log π(a)] (quadrature over the
 * pre-tanh x + autodiff, float64) within z·SE + quadrature slack; GumbelRP's bias is detected on a
 * designed case.
 *
 * False-failure bound (for a fresh seed): each coordinate is a CLT z-test of a mean of B = 20000
 * i.i.d. draws with the sample SE; z is chosen so that P(|Z| > z) = 1e-4 / C with C = 4 estimators
 * x 8 runs x 18 coordinates (the most, K = 6) = 576 comparisons (Bonferroni), so the whole block
 * fails falsely with probability <= 1e-4 (up to the CLT approximation at B = 20000); rp on a single
 * squashed Gaussian and gumbelRp at K = 1 add 1e-5 each (see their blocks). The quadrature
 * slack (1e-7 + 1e-6 |exact|) covers the trapezoid error on [-10, 10] with step 1e-3 (the smallest
 * std is e^-2 ~ 0.135, the largest |mean| + 7 std is 1.5 + 7 e^0.4 < 10).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zFor } from '../distributions/reference';
import { type EstimatorName, exactGradient, exactValue, meanAndSE, perDrawGradients, rewardFn, type Term, type Theta } from './bandit';

const B = 20_000;
const RUNS = 8;
const Z = zFor(1e-4 / (4 * RUNS * 18));

const term: fc.Arbitrary<Term> = fc.oneof(
  fc.record({
    kind: fc.constant('bump' as const),
    c: fc.double({ min: -2, max: 2, noNaN: true }),
    m: fc.double({ min: -1, max: 1, noNaN: true }),
    s: fc.double({ min: 0.2, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('poly' as const), c: fc.double({ min: -2, max: 2, noNaN: true }), d: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    kind: fc.constant('sine' as const),
    c: fc.double({ min: -1, max: 1, noNaN: true }),
    f: fc.double({ min: 0.5, max: 4, noNaN: true }),
    phase: fc.double({ min: -3, max: 3, noNaN: true }),
  }),
);

const vec = (K: number, min: number, max: number) => fc.array(fc.double({ min, max, noNaN: true }), { minLength: K, maxLength: K });
const theta: fc.Arbitrary<Theta> = fc
  .integer({ min: 1, max: 6 })
  .chain((K) => fc.record({ logits: vec(K, -2, 2), mu: vec(K, -1.5, 1.5), logstd: vec(K, -2, 0.4) }));

const caseArb = fc.record({
  theta,
  terms: fc.array(term, { minLength: 1, maxLength: 3 }),
  tau: fc.constantFrom(0, 0.1, 0.5),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

function checkUnbiased(name: EstimatorName, th: Theta, terms: Term[], tau: number, seed: number, extra = {}) {
  const reward = rewardFn(terms);
  const exact = exactGradient(th, reward, tau, name === 'urp' || name === 'rp');
  const { mean, se } = meanAndSE(perDrawGradients(name, th, reward, tau, B, seed, extra));
  exact.forEach((e, j) => {
    const bound = Z * se[j] + 1e-7 + 1e-6 * Math.abs(e);
    if (!(Math.abs(mean[j] - e) <= bound)) {
      throw new Error(`${name}: coordinate ${j}: mean ${mean[j]} vs exact ${e} (SE ${se[j]}, bound ${bound}); θ=${JSON.stringify(th)}`);
    }
  });
}

describe('the exact gradient the estimators are checked against', () => {
  it("equals central differences of J's quadrature (not only the library's autodiff of it)", () => {
    // Central differences of the value alone (forward ops, h = 1e-5, truncation O(h²) ~ 1e-10 of
    // these O(1) derivatives, rounding ~ 1e-16 / 1e-5 = 1e-11): an autodiff bug shared by the
    // estimators and exactGradient would show here.
    const th: Theta = { logits: [0.3, -0.8, 1.1], mu: [-0.6, 0.2, 0.9], logstd: [-0.5, 0.1, -1.2] };
    const reward = rewardFn([{ kind: 'bump', c: 1.5, m: 0.3, s: 0.5 }, { kind: 'sine', c: 0.4, f: 2, phase: 0.7 }]);
    for (const [tau, uniform] of [[0.1, false], [0.5, true]] as const) {
      const exact = exactGradient(th, reward, tau, uniform);
      const keys = (uniform ? ['mu', 'logstd'] : ['logits', 'mu', 'logstd']) as (keyof Theta)[];
      const flat = keys.flatMap((k) => th[k].map((_, i) => [k, i] as const));
      flat.forEach(([k, i], j) => {
        const at = (d: number) => exactValue({ ...th, [k]: th[k].map((v, m) => (m === i ? v + d : v)) }, reward, tau, uniform);
        const fd = (at(1e-5) - at(-1e-5)) / 2e-5;
        expect(Math.abs(exact[j] - fd), `${k}[${i}] (tau ${tau}${uniform ? ', uniform' : ''}): ${exact[j]} vs ${fd}`).toBeLessThan(1e-7);
      });
    }
  });
});

describe('estimators are unbiased for the exact gradient of J', () => {
  for (const name of ['mrp', 'halfRp', 'lr', 'urp'] as const) {
    it(`${name}: random mixtures (K 1..6), random smooth rewards, τ in {0, 0.1, 0.5}`, () => {
      fc.assert(
        fc.property(caseArb, ({ theta: th, terms, tau, seed }) => {
          checkUnbiased(name, th, terms, tau, seed, name === 'lr' || name === 'halfRp' ? { baselineSamples: 4 } : {});
        }),
        { seed: 500 + name.length, numRuns: RUNS },
      );
    });
  }
});

/**
 * `name` on one squashed Gaussian component is unbiased: over RUNS random components, rewards and τ,
 * each coordinate of the mean per-draw gradient within z SE of the exact one, z for a budget of 1e-5
 * over its RUNS x coordinates comparisons (2 for urp's parameterization, 3 with the logits).
 */
function checkOneComponent(name: 'rp' | 'gumbelRp', uniform: boolean, fcSeed: number): void {
  const z = zFor(1e-5 / (RUNS * (uniform ? 2 : 3)));
  const one = fc.record({ logits: fc.constant<number[]>([0]), mu: vec(1, -1.5, 1.5), logstd: vec(1, -2, 0.4) });
  fc.assert(
    fc.property(fc.record({ theta: one, terms: fc.array(term, { minLength: 1, maxLength: 3 }), tau: fc.constantFrom(0, 0.1, 0.5), seed: fc.integer({ min: 0, max: 2 ** 30 }) }), ({ theta: th, terms, tau, seed }) => {
      const reward = rewardFn(terms);
      const exact = exactGradient(th, reward, tau, uniform);
      const { mean, se } = meanAndSE(perDrawGradients(name, th, reward, tau, B, seed));
      exact.forEach((e, j) => {
        const bound = z * se[j] + 1e-7 + 1e-6 * Math.abs(e);
        if (!(Math.abs(mean[j] - e) <= bound)) throw new Error(`${name} (K = 1): coordinate ${j}: mean ${mean[j]} vs exact ${e} (SE ${se[j]}, bound ${bound}); θ=${JSON.stringify(th)}`);
      });
    }),
    { seed: fcSeed, numRuns: RUNS },
  );
}

describe('rp on a single squashed Gaussian (SAC-v2) is unbiased', () => {
  // K = 1: two coordinates (mu, logstd) per run. Its own Bonferroni budget: 1e-5 over RUNS x 2
  // comparisons, so the file's false-failure bound becomes <= 1.1e-4.
  it('random components, random smooth rewards, τ in {0, 0.1, 0.5}', () => checkOneComponent('rp', true, 777));
});

describe('gumbelRp at K = 1 is unbiased (its one-hot always picks the one component: RP)', () => {
  // Three coordinates (logits, mu, logstd; the logits' exact gradient is 0) per run, 1e-5 over
  // RUNS x 3 comparisons: the file's false-failure bound becomes <= 1.2e-4.
  it('random components, random smooth rewards, τ in {0, 0.1, 0.5}', () => checkOneComponent('gumbelRp', false, 779));
});

describe('GumbelRP is biased', () => {
  // Two well-separated components, r(a) = a, τ = 0: the logits gradient of the straight-through
  // estimator misses the exact one by far more than its noise (measured: exact -0.2455, GumbelRP mean
  // -0.1948, SE 0.0035, i.e. a bias of ~14.6 SE and ~21% of the gradient). False failure would need
  // the observed bias to fall below 10 SE (P(Z < -4.6) ~ 2e-6) or below 10% of |exact| (7 SE below
  // the true bias: P ~ 1e-12); MRP's control check is the z-test above (P(|Z| > Z) per coordinate).
  const th: Theta = { logits: [0, 0.5], mu: [-0.6, 0.6], logstd: [Math.log(0.2), Math.log(0.2)] };
  const terms: Term[] = [{ kind: 'poly', c: 1, d: 1 }];

  it('the mean of GumbelRP draws misses the exact logits gradient by > 10 SE; MRP on the same case does not', () => {
    const reward = rewardFn(terms);
    const exact = exactGradient(th, reward, 0);
    const { mean, se } = meanAndSE(perDrawGradients('gumbelRp', th, reward, 0, B, 7));
    const z0 = Math.abs(mean[0] - exact[0]) / se[0];
    expect(z0).toBeGreaterThan(10);
    expect(Math.abs(mean[0] - exact[0])).toBeGreaterThan(0.1 * Math.abs(exact[0])); // a large relative bias
    checkUnbiased('mrp', th, terms, 0, 7);
  });
});
