/**
 * Densities: normalization by quadrature (1-D and 2-D, squashed and unsquashed, mixtures, Cauchy with
 * analytic tail mass, Concrete), samples against CDFs (Kolmogorov-Smirnov), entropies against Monte
 * Carlo, the squashed mixture log-density against an independent float64 change of variables, and
 * float32 log-densities at the bounds of the box.
 *
 * Statistical tests state their false-failure probability (for the fixed seeds used, a failure is
 * reproducible; the bound is what a fresh seed would give). Deterministic checks use tolerances
 * derived from the quadrature error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as D from '../../src/distributions';
import {
  arr,
  cauchyCdf,
  cumulativeTrapezoid,
  f64,
  grid,
  interp,
  ksCritical,
  ksStatistic,
  logSech2,
  logSumExp,
  M,
  mean,
  normalLogPdf,
  sampleVariance,
  softmax,
  trapezoid,
  zFor,
} from './reference';

const T = M;
const col = (xs: number[]) => T.tensor(xs, { ...f64, shape: [xs.length, 1] });

/** Mass of a Cauchy(loc, scale) outside [lo, hi]. */
const cauchyTail = (lo: number, hi: number, loc: number, scale: number) => cauchyCdf(lo, loc, scale) + 1 - cauchyCdf(hi, loc, scale);

/**
 * ∫ π(a) da over the box of a squashed distribution with A = 1, by substituting a = s·tanh(u) + b
 * (da = s (1 - tanh² u) du) on u in [-U, U]; returns the integral (the mass of |x| > U is missing).
 */
function squashedMass1d(policy: D.Distribution & { forward(x: M.Tensor): M.Tensor }, low: number, high: number, U: number, n: number): number {
  const us = grid(-U, U, n);
  const a = policy.forward(col(us));
  const dens = arr(T.exp(policy.logProb(a)));
  const s = (high - low) / 2;
  const integrand = dens.map((p, i) => p * s * Math.exp(logSech2(us[i])));
  return trapezoid(integrand, (2 * U) / n);
}

describe('densities integrate to 1', () => {
  it('Normal, 1-D, random loc and scale (trapezoid over loc ± 12 scale)', () => {
    fc.assert(
      fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: 0.05, max: 3, noNaN: true }), (loc, scale) => {
        const d = D.normal(T.tensor([loc], f64), T.tensor([scale], f64));
        const xs = grid(loc - 12 * scale, loc + 12 * scale, 4000);
        const mass = trapezoid(arr(T.exp(d.logProb(col(xs)))), (24 * scale) / 4000);
        expect(Math.abs(mass - 1)).toBeLessThan(1e-9);
      }),
      { seed: 101, numRuns: 20 },
    );
  });

  it('Normal, 2-D diagonal (tensor-product trapezoid, 301 x 301)', () => {
    const loc = [0.3, -0.7];
    const scale = [0.4, 1.3];
    const d = D.normal(T.tensor(loc, f64), T.tensor(scale, f64));
    const g0 = grid(loc[0] - 10 * scale[0], loc[0] + 10 * scale[0], 300);
    const g1 = grid(loc[1] - 10 * scale[1], loc[1] + 10 * scale[1], 300);
    const pts = g0.flatMap((x) => g1.flatMap((y) => [x, y]));
    const dens = arr(T.exp(d.logProb(T.tensor(pts, { ...f64, shape: [pts.length / 2, 2] }))));
    const rows = g0.map((_, i) => trapezoid(dens.slice(i * 301, (i + 1) * 301), g1[1] - g1[0]));
    expect(Math.abs(trapezoid(rows, g0[1] - g0[0]) - 1)).toBeLessThan(1e-8);
  });

  it('Cauchy, 1-D: quadrature over loc ± 200 scale plus the analytic tail mass', () => {
    fc.assert(
      fc.property(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0.1, max: 2, noNaN: true }), (loc, scale) => {
        const d = D.cauchy(T.tensor([loc], f64), T.tensor([scale], f64));
        const lo = loc - 200 * scale;
        const hi = loc + 200 * scale;
        const n = 200_000;
        const mass = trapezoid(arr(T.exp(d.logProb(col(grid(lo, hi, n))))), (hi - lo) / n);
        expect(Math.abs(mass + cauchyTail(lo, hi, loc, scale) - 1)).toBeLessThan(1e-8);
      }),
      { seed: 102, numRuns: 5 },
    );
  });

  it('squashed Normal and squashed Cauchy on a random box: ∫ π(a) da over the box = 1 (minus the analytic Cauchy tail)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 1.5, noNaN: true }),
        (low, width, loc, scale) => {
          const high = low + width;
          const U = 14; // the float64 inverse clips |tanh x| at 1 - 1e-12, i.e. |x| ~ 14.2
          for (const family of ['normal', 'cauchy'] as const) {
            const base = D[family](T.tensor([loc], f64), T.tensor([scale], f64));
            const mass = squashedMass1d(D.squash(low, high)(base), low, high, U, 40_000);
            const missing = family === 'cauchy' ? cauchyTail(-U, U, loc, scale) : 0;
            expect(Math.abs(mass + missing - 1)).toBeLessThan(1e-6);
          }
        },
      ),
      { seed: 103, numRuns: 10 },
    );
  });

  it('mixtures, unsquashed 1-D and squashed 1-D (random K, weights, means, stds)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((K) =>
          fc.record({
            logits: fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: K, maxLength: K }),
            mus: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: K, maxLength: K }),
            sigmas: fc.array(fc.double({ min: 0.05, max: 2, noNaN: true }), { minLength: K, maxLength: K }),
          }),
        ),
        ({ logits, mus, sigmas }) => {
          const K = logits.length;
          const mix = D.mixture(T.tensor(logits, f64), D.normal(T.tensor(mus, { ...f64, shape: [K, 1] }), T.tensor(sigmas, { ...f64, shape: [K, 1] })));
          const n = 40_000;
          const mass = trapezoid(arr(T.exp(mix.logProb(col(grid(-30, 30, n))))), 60 / n);
          expect(Math.abs(mass - 1)).toBeLessThan(1e-8);
          expect(Math.abs(squashedMass1d(D.squash(-2, 3)(mix), -2, 3, 14, 40_000) - 1)).toBeLessThan(1e-7);
        },
      ),
      { seed: 104, numRuns: 10 },
    );
  });

  it('squashed mixture, 2-D, on the box [-1, 2] x [0, 1] (tensor-product grid in u = atanh)', () => {
    const K = 3;
    const mix = D.mixture(
      T.tensor([0.5, -1, 0.2], f64),
      D.normal(T.tensor([[-0.5, 1], [0.8, -0.3], [0, 0]], f64), T.tensor([[0.3, 0.6], [1.1, 0.2], [0.5, 0.5]], f64)),
    );
    expect(mix.numComponents).toBe(K);
    const policy = D.squash([-1, 0], [2, 1])(mix);
    const n = 400;
    const us = grid(-8, 8, n);
    const pts = us.flatMap((x) => us.flatMap((y) => [x, y]));
    const a = policy.forward(T.tensor(pts, { ...f64, shape: [pts.length / 2, 2] }));
    const dens = arr(T.exp(policy.logProb(a)));
    const jac = (u: number, s: number) => s * Math.exp(logSech2(u));
    const h = 16 / n;
    const rows = us.map((u0, i) => jac(u0, 1.5) * trapezoid(dens.slice(i * (n + 1), (i + 1) * (n + 1)).map((p, j) => p * jac(us[j], 0.5)), h));
    expect(Math.abs(trapezoid(rows, h) - 1)).toBeLessThan(1e-6);
  });

  it('Concrete (Gumbel-softmax) density, K = 2, integrates to 1 over the simplex for several temperatures', () => {
    for (const tau of [0.1, 0.5, 1, 2]) {
      const logits = [0.7, -0.4];
      const d = D.gumbelSoftmax(T.tensor(logits, f64), tau);
      const S = (Math.abs(logits[0] - logits[1]) + 40) / tau;
      const n = 40_000;
      const ss = grid(-S, S, n);
      const sig = (s: number) => 1 / (1 + Math.exp(-s));
      // y1 = sigmoid(s), y2 = sigmoid(-s) (not 1 - y1, which loses y2 near the corner).
      const y = T.tensor(ss.flatMap((s) => [sig(s), sig(-s)]), { ...f64, shape: [n + 1, 2] });
      const dens = arr(T.exp(d.logProb(y)));
      const mass = trapezoid(dens.map((p, i) => p * sig(ss[i]) * sig(-ss[i])), (2 * S) / n);
      expect(Math.abs(mass - 1)).toBeLessThan(1e-6);
    }
  });

  it('Categorical probabilities sum to 1 and logProb is the log-softmax', () => {
    const logits = [1.5, -0.3, 0.2, -2];
    const c = D.categorical(T.tensor(logits, f64));
    const p = softmax(logits);
    arr(c.probs()).forEach((v, i) => expect(v).toBeCloseTo(p[i], 14));
    arr(c.logProb(T.tensor([0, 1, 2, 3], { dtype: 'int32' }))).forEach((v, i) => expect(v).toBeCloseTo(Math.log(p[i]), 13));
    expect(arr(c.probs()).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
  });
});

describe('squashed log-density near the bounds (float32)', () => {
  it('log π(a) of a = tanh(x) for x in [4, 7] (|a| up to 1 - 2e-6) matches float64 at the same float32 a', () => {
    // The float32 inverse clips a to 1 - 1e-6 only where float32 cannot tell a from 1 (x past ~7.2);
    // below, atanh(a) recovers x to float32's precision. Reference: float64 atanh of the same float32
    // a, its Normal(0, 2) log-density less log(1 - tanh² x) (log sech²).
    const policy = D.squash(-1, 1)(D.normal(M.tensor([0]), M.tensor([2])));
    for (const x of [4, 5, 6, 7, -5, -7]) {
      const a = Math.fround(Math.tanh(x));
      const got = arr(policy.logProb(M.tensor([a])))[0];
      const u = Math.atanh(a);
      const want = normalLogPdf(u, 0, 2) - logSech2(u);
      expect(Math.abs(got - want), `x = ${x}: ${got} vs ${want}`).toBeLessThan(1e-3 * Math.abs(want));
    }
  });
});

describe('samples match the density (Kolmogorov-Smirnov)', () => {
  // Each KS check: false-failure probability <= 1e-6 by DKW-Massart (ksCritical), plus a slack of
  // 1e-4 for CDFs computed by quadrature. 8 checks in this block: <= 8e-6 in all.
  const P = 1e-6;
  const n = 3000;

  it('Normal: samples against the CDF of the independent density by cumulative trapezoid', () => {
    const [loc, scale] = [0.4, 1.7];
    const d = D.normal(T.tensor([loc], f64), T.tensor([scale], f64));
    const xs = arr(d.sample(T.random.key(1), [n]));
    const g = grid(loc - 12 * scale, loc + 12 * scale, 20_000);
    const cdf = cumulativeTrapezoid(g.map((x) => Math.exp(normalLogPdf(x, loc, scale))), g[1] - g[0]);
    expect(ksStatistic(xs, (x) => interp(g, cdf, x))).toBeLessThan(ksCritical(n, P, 1e-4));
  });

  it('Cauchy: samples against the closed-form CDF', () => {
    const [loc, scale] = [-0.5, 0.3];
    const d = D.cauchy(T.tensor([loc], f64), T.tensor([scale], f64));
    const xs = arr(d.sample(T.random.key(2), [n]));
    expect(ksStatistic(xs, (x) => cauchyCdf(x, loc, scale))).toBeLessThan(ksCritical(n, P));
    // float32 draws too
    const d32 = D.cauchy(T.tensor([loc]), T.tensor([scale]));
    const xs32 = arr(d32.sample(T.random.key(3), [n]));
    expect(xs32.every(Number.isFinite)).toBe(true);
    expect(ksStatistic(xs32, (x) => cauchyCdf(x, loc, scale))).toBeLessThan(ksCritical(n, P, 1e-6));
  });

  it('squashed mixture: samples against (a) the CDF of its own logProb by quadrature, (b) the independent mixture CDF through tanh', () => {
    const logits = [0.3, -0.8, 1.0];
    const mus = [-1.2, 0.1, 0.9];
    const sigmas = [0.3, 0.8, 0.25];
    const policy = D.squash(-2, 2)(D.mixture(T.tensor(logits, f64), D.normal(T.tensor(mus, { ...f64, shape: [3, 1] }), T.tensor(sigmas, { ...f64, shape: [3, 1] }))));
    const as = arr(policy.sample(T.random.key(4), [n]));
    expect(as.every((a) => a > -2 && a < 2)).toBe(true);
    // (a): F(a) = ∫_{-U}^{atanh(a/2)} π(2 tanh u) 2 sech² u du.
    const us = grid(-10, 10, 40_000);
    const dens = arr(T.exp(policy.logProb(policy.forward(col(us)))));
    const cdf = cumulativeTrapezoid(dens.map((p, i) => p * 2 * Math.exp(logSech2(us[i]))), us[1] - us[0]);
    const aGrid = us.map((u) => 2 * Math.tanh(u));
    expect(ksStatistic(as, (a) => interp(aGrid, cdf, a))).toBeLessThan(ksCritical(n, P, 1e-4));
    // (b): F(a) = Σ w_k Φ((atanh(a/2) - μ_k)/σ_k), Φ by cumulative trapezoid of the standard density.
    const z = grid(-40, 40, 80_000);
    const phi = cumulativeTrapezoid(z.map((v) => Math.exp(normalLogPdf(v, 0, 1))), z[1] - z[0]);
    const w = softmax(logits);
    const ref = (a: number) => w.reduce((s, wk, k) => s + wk * interp(z, phi, (Math.atanh(a / 2) - mus[k]) / sigmas[k]), 0);
    expect(ksStatistic(as, ref)).toBeLessThan(ksCritical(n, P, 1e-4));
  });

  it('componentRsample draws every component from its own Normal', () => {
    const mus = [-1, 2];
    const sigmas = [0.5, 0.1];
    const mix = D.mixture(T.tensor([0, 3], f64), D.normal(T.tensor(mus, { ...f64, shape: [2, 1] }), T.tensor(sigmas, { ...f64, shape: [2, 1] })));
    const draws = mix.componentRsample(T.random.key(5), [n]);
    expect(draws.shape).toEqual([n, 2, 1]);
    const flat = arr(draws);
    for (let k = 0; k < 2; k++) {
      const xs = flat.filter((_, i) => i % 2 === k);
      const g = grid(mus[k] - 12 * sigmas[k], mus[k] + 12 * sigmas[k], 20_000);
      const cdf = cumulativeTrapezoid(g.map((x) => Math.exp(normalLogPdf(x, mus[k], sigmas[k]))), g[1] - g[0]);
      expect(ksStatistic(xs, (x) => interp(g, cdf, x))).toBeLessThan(ksCritical(n, P, 1e-4));
    }
  });

  it('Gumbel-softmax K = 2: relaxed y1 against the closed form P(y1 <= t) = sigmoid(τ logit t - (l1 - l2))', () => {
    const logits = [0.7, -0.4];
    const tau = 0.5;
    const d = D.gumbelSoftmax(T.tensor(logits, f64), tau);
    const y = arr(d.rsample(T.random.key(6), [n])).filter((_, i) => i % 2 === 0);
    const cdf = (t: number) => (t <= 0 ? 0 : t >= 1 ? 1 : 1 / (1 + Math.exp(-(tau * Math.log(t / (1 - t)) - (logits[0] - logits[1])))));
    expect(ksStatistic(y, cdf)).toBeLessThan(ksCritical(n, P));
  });

  it("Gumbel-softmax's own float32 draws at τ = 0.1 have finite log-densities equal to float64 ones from the same noise", () => {
    // At small τ a relaxed draw's small entries underflow to 0 in float32 (y = [1, 5e-47, 2e-50]
    // happens), where log y made the density inf - inf. The reference: the Concrete density
    // (Maddison et al. 2017, eq. 1) from log y = z - logsumexp(z), z = (logits + g) / τ, in float64
    // over the same float32 Gumbel noise g.
    const tau = 0.1;
    const m = 10_000;
    for (const logits of [[0, 0, 0], [0, -3, 2]]) {
      const key = T.random.key(1);
      const [, lp] = D.gumbelSoftmax(T.tensor(logits), tau).sampleAndLogProb(key, [m]);
      const got = arr(lp);
      const g = arr(T.random.gumbel(key, [m, 3]));
      const logPi = logits.map((l) => l - Math.log(logits.reduce((s, v) => s + Math.exp(v), 0)));
      const lse = (v: number[]) => {
        const hi = Math.max(...v);
        return hi + Math.log(v.reduce((s, x) => s + Math.exp(x - hi), 0));
      };
      const K = 3;
      for (let i = 0; i < m; i++) {
        const z = logits.map((l, k) => (l + g[3 * i + k]) / tau);
        const logY = z.map((v) => v - lse(z));
        const terms = logY.reduce((s, ly, k) => s + logPi[k] - (tau + 1) * ly, 0);
        const want = Math.log(2) + (K - 1) * Math.log(tau) + terms - K * lse(logY.map((ly, k) => logPi[k] - tau * ly));
        // float32 relative rounding of z (|z| up to ~200) and of the sums: 1e-4 relative, 1e-3 absolute.
        expect(Math.abs(got[i] - want)).toBeLessThan(1e-3 + 1e-4 * Math.abs(want));
      }
    }
  });

  it('Categorical and straight-through Gumbel-softmax class frequencies match softmax (binomial z-tests)', () => {
    // Per class a normal-approximation z-test at P(|Z| > z) = 1e-7 (8 classes in all: <= 1e-6).
    const logits = [1.0, -0.5, 0.2, 0];
    const p = softmax(logits);
    const m = 20_000;
    const z = zFor(1e-7);
    const ks = arr(D.categorical(T.tensor(logits, f64)).sample(T.random.key(7), [m]));
    const st = D.gumbelSoftmax(T.tensor(logits, f64), 0.1).rsampleStraightThrough(T.random.key(8), [m]);
    const oneHot = arr(st);
    expect(oneHot.every((v) => v === 0 || v === 1)).toBe(true);
    p.forEach((pk, k) => {
      const se = Math.sqrt((pk * (1 - pk)) / m);
      expect(Math.abs(ks.filter((c) => c === k).length / m - pk)).toBeLessThan(z * se);
      expect(Math.abs(oneHot.filter((v, i) => i % 4 === k && v === 1).length / m - pk)).toBeLessThan(z * se);
    });
  });
});

describe('entropy matches Monte Carlo -mean log p', () => {
  // Each check: |H - (-mean log p)| <= z SE with z for a two-sided normal tail of 1e-7 (CLT; log p has
  // finite variance for all three families); 3 checks: <= 3e-7.
  const z = zFor(1e-7);
  const n = 20_000;
  const check = (h: number, logps: number[]) => {
    const se = Math.sqrt(sampleVariance(logps) / logps.length);
    expect(Math.abs(h + mean(logps))).toBeLessThan(z * se);
  };

  it('Normal (A = 2) and the closed form 0.5 log(2πe σ²) per coordinate', () => {
    const scale = [0.3, 2.2];
    const d = D.normal(T.tensor([1, -1], f64), T.tensor(scale, f64));
    const h = arr(d.entropy())[0];
    expect(h).toBeCloseTo(scale.reduce((s, v) => s + 0.5 * Math.log(2 * Math.PI * Math.E * v * v), 0), 12);
    const [x, lp] = d.sampleAndLogProb(T.random.key(9), [n]);
    expect(x.shape).toEqual([n, 2]);
    check(h, arr(lp));
  });

  it('Cauchy (A = 2) and the closed form log(4π scale) per coordinate', () => {
    const scale = [0.5, 3];
    const d = D.cauchy(T.tensor([0, 2], f64), T.tensor(scale, f64));
    const h = arr(d.entropy())[0];
    expect(h).toBeCloseTo(scale.reduce((s, v) => s + Math.log(4 * Math.PI * v), 0), 12);
    check(h, arr(d.logProb(d.sample(T.random.key(10), [n]))));
  });

  it('Categorical and the closed form -Σ p log p', () => {
    const logits = [2, 0, -1, 0.5, 0.5];
    const p = softmax(logits);
    const c = D.categorical(T.tensor(logits, f64));
    const h = arr(c.entropy())[0];
    expect(h).toBeCloseTo(-p.reduce((s, v) => s + v * Math.log(v), 0), 13);
    check(h, arr(c.logProb(c.sample(T.random.key(11), [n]))));
  });
});

/** Independent float64 log π(a) of a squashed joint Gaussian mixture from the pre-tanh x. */
function referenceLogProbPre(x: number[], logits: number[], mus: number[][], sigmas: number[][], low: number[], high: number[]): number {
  const logw = softmax(logits).map(Math.log);
  const logp = logSumExp(logw.map((lw, k) => lw + x.reduce((s, xd, d) => s + normalLogPdf(xd, mus[k][d], sigmas[k][d]), 0)));
  const logDet = x.reduce((s, xd, d) => s + Math.log((high[d] - low[d]) / 2) + logSech2(xd), 0);
  return logp - logDet;
}

describe('squashed mixture log-density against an independent change of variables', () => {
  it('logProbPre(x) and logProb(forward(x)) equal log p(x) - Σ_d log(s_d sech² x_d) (random K, A, box, parameters)', () => {
    const arbitrary = fc
      .record({ K: fc.integer({ min: 1, max: 4 }), A: fc.integer({ min: 1, max: 3 }) })
      .chain(({ K, A }) => {
        const vec = (n: number, min: number, max: number) => fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });
        return fc.record({
          logits: vec(K, -3, 3),
          mus: fc.array(vec(A, -2, 2), { minLength: K, maxLength: K }),
          sigmas: fc.array(vec(A, 0.05, 2), { minLength: K, maxLength: K }),
          low: vec(A, -3, 0),
          width: vec(A, 0.1, 4),
          xs: fc.array(vec(A, -4, 4), { minLength: 5, maxLength: 5 }),
        });
      });
    fc.assert(
      fc.property(arbitrary, ({ logits, mus, sigmas, low, width, xs }) => {
        const K = logits.length;
        const A = low.length;
        const high = low.map((l, d) => l + width[d]);
        const mix = D.mixture(T.tensor(logits, f64), D.normal(T.tensor(mus, f64), T.tensor(sigmas, f64)));
        const policy = D.squash(low, high)(mix);
        const x = T.tensor(xs, f64);
        const expected = xs.map((xi) => referenceLogProbPre(xi, logits, mus, sigmas, low, high));
        const pre = arr(policy.logProbPre(x));
        const viaAction = arr(policy.logProb(policy.forward(x)));
        expected.forEach((e, i) => {
          expect(Math.abs(pre[i] - e)).toBeLessThan(1e-10 * (1 + Math.abs(e)));
          expect(Math.abs(viaAction[i] - e)).toBeLessThan(1e-7 * (1 + Math.abs(e)));
        });
        // componentLogProbs against the per-component reference
        const comp = arr(mix.componentLogProbs(x));
        xs.forEach((xi, i) =>
          mus.forEach((mu, k) => {
            const e = xi.reduce((s, xd, d) => s + normalLogPdf(xd, mu[d], sigmas[k][d]), 0);
            expect(Math.abs(comp[i * K + k] - e)).toBeLessThan(1e-10 * (1 + Math.abs(e)));
          }),
        );
        expect(policy.logDetJacobian(x).shape).toEqual([xs.length]);
        expect(A).toBe(policy.eventShape[0]);
      }),
      { seed: 105, numRuns: 30 },
    );
  });

  it('select picks the given component of per-component values', () => {
    const values = T.tensor([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]], f64); // [B=2, K=3, A=2]
    const mix = D.mixture(T.zeros([2, 3], f64), D.normal(T.zeros([2, 3, 2], f64), T.ones([2, 3, 2], f64)));
    expect(arr(mix.select(values, T.tensor([2, 0], { dtype: 'int32' })))).toEqual([5, 6, 7, 8]);
  });
});

describe('float32 log-densities at the bounds of the box (pre-tanh x = ±15)', () => {
  it('logProbPre, logProb(forward(x)) and their gradients are finite and logProbPre matches float64', () => {
    const mus = [[14], [-15], [0]];
    const sigmas = [[0.5], [1], [2]];
    const logits = [0.1, 0.2, -0.3];
    const build = (dtype: 'float32' | 'float64') =>
      D.squash(-1, 1)(D.mixture(T.tensor(logits, { dtype }), D.normal(T.tensor(mus, { dtype }), T.tensor(sigmas, { dtype }))));
    const xs = [[15], [-15], [14.9], [-14.7]];
    const p32 = build('float32');
    const x32 = T.tensor(xs);
    const a32 = arr(p32.forward(x32));
    expect(a32.map(Math.abs)).toEqual([1, 1, 1, 1]); // saturated in float32
    const pre = arr(p32.logProbPre(x32));
    const viaAction = arr(p32.logProb(p32.forward(x32)));
    expect(pre.every(Number.isFinite)).toBe(true);
    expect(viaAction.every(Number.isFinite)).toBe(true);
    xs.forEach((x, i) => {
      const e = referenceLogProbPre(x, logits, mus, sigmas, [-1], [1]);
      expect(Math.abs(pre[i] - e)).toBeLessThan(1e-4 * (1 + Math.abs(e)));
    });
    const g = M.grad((x: M.Tensor) => T.sum(p32.logProbPre(x)))(x32);
    expect(arr(g).every(Number.isFinite)).toBe(true);
    // a reparameterized draw from a component centred at 14: finite log-density and gradients
    const gp = M.grad((mu: M.Tensor) => {
      const p = D.squash(-1, 1)(D.normal(mu, T.tensor([[0.3]])));
      const { action, logProb } = p.rsampleWithLogProb(T.random.key(12), [64]);
      expect(arr(action).every((a) => Math.abs(a) <= 1)).toBe(true);
      expect(arr(logProb).every(Number.isFinite)).toBe(true);
      return T.sum(logProb);
    })(T.tensor([[14.5]]));
    expect(arr(gp).every(Number.isFinite)).toBe(true);
  });
});
