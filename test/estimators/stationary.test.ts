/**
 * Stationary points on the bimodal bandit (paper Sec. 3.2): r(a) = normalized sum of two equal Gaussian
 * bumps at ±1 (std 0.2), rebuilt from `bimodalBandit`'s parameters as a differentiable function.
 *
 * Lemma C.1: a stationary point of the single squashed Gaussian, copied into every component of a
 *   mixture with any weights, is stationary for the mixture (exact J by quadrature + autodiff).
 * Proposition 3.3: for a Gaussian policy (unsquashed, on the real line, where r is bounded and
 *   integrable) ∂J/∂log σ = E[r(x)(ε² - 1)] + τ >= τ - sup|r| E|ε² - 1|, so once τ exceeds that bound
 *   there is no stationary point: the exact gradient in log σ is positive over a whole (μ, log σ) grid;
 *   for small τ a stationary point exists (found by Newton's method).
 * Deterministic (quadrature + Newton): no false-failure probability beyond float64 rounding.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src';
import { arr, f64, grid, M } from '../distributions/reference';
import { exactJ, type Theta, toTensors } from './bandit';

const T = M;
const bandit = M.envs.bimodalBandit({ std: 0.2 });
const H = 2; // the action box [-2, 2]

/** r(a) = scale Σ_k w_k N(a; m_k, s_k) on actions [..., 1] -> [...]. */
const reward = (a: Tensor): Tensor => {
  const x = T.squeeze(a, -1);
  let out: Tensor = T.zerosLike(x);
  bandit.means.forEach((m, k) => {
    const s = bandit.stds[k];
    const dens = T.mul(T.exp(T.mul(T.square(T.div(T.sub(x, m), s)), -0.5)), (bandit.weights[k] * bandit.scale) / (s * Math.sqrt(2 * Math.PI)));
    out = T.add(out, dens);
  });
  return out;
};

/** Newton's method on a function of a 2-vector with the autodiff gradient and a central-difference Hessian. */
function newton(gradient: (p: number[]) => number[], start: number[], iterations = 30): number[] {
  let p = [...start];
  for (let it = 0; it < iterations; it++) {
    const g = gradient(p);
    const h = 1e-5;
    const cols = [0, 1].map((j) => {
      const up = [...p];
      const down = [...p];
      up[j] += h;
      down[j] -= h;
      const [gu, gd] = [gradient(up), gradient(down)];
      return [0, 1].map((i) => (gu[i] - gd[i]) / (2 * h));
    });
    const [[a, c], [b, d]] = cols; // Hessian [[a, b], [c, d]] (column j = ∂g/∂p_j)
    const det = a * d - b * c;
    const step = [(d * g[0] - b * g[1]) / det, (-c * g[0] + a * g[1]) / det];
    // backtracking on the gradient norm keeps the iteration from jumping to far-away flat regions
    let t = 1;
    while (t > 1e-6 && !(Math.hypot(...gradient([p[0] - t * step[0], p[1] - t * step[1]])) < Math.hypot(...g))) t /= 2;
    p = [p[0] - t * step[0], p[1] - t * step[1]];
    if (Math.hypot(...step) * t < 1e-13) break;
  }
  return p;
}

describe('Lemma C.1: a base stationary point copied into every component is stationary for the mixture', () => {
  for (const tau of [0.01, 0.1]) {
    it(`squashed Gaussian on the bimodal bandit, τ = ${tau}`, () => {
      const single = exactJ(reward, tau, false, H);
      const gradSingle = (p: number[]) => {
        const g = M.grad(single)(toTensors({ logits: [0], mu: [p[0]], logstd: [p[1]] }));
        return [...arr(g.mu), ...arr(g.logstd)];
      };
      // start near the right mode: pre-tanh atanh(1/2), std ~ 0.1
      const [mu, logstd] = newton(gradSingle, [Math.atanh(0.5), Math.log(0.1)]);
      const g1 = gradSingle([mu, logstd]);
      expect(Math.hypot(...g1)).toBeLessThan(1e-9);
      expect(Math.abs(H * Math.tanh(mu) - 1)).toBeLessThan(0.2); // it is the mode near a = 1
      const mixture = exactJ(reward, tau, false, H);
      for (const logits of [[0, 0, 0], [1.3, -0.4, 0.2], [-2, 0.5, 3]]) {
        const th: Theta = { logits, mu: [mu, mu, mu], logstd: [logstd, logstd, logstd] };
        const g = M.grad(mixture)(toTensors(th));
        const all = [...arr(g.logits as Tensor), ...arr(g.mu), ...arr(g.logstd)];
        expect(Math.max(...all.map(Math.abs))).toBeLessThan(1e-9);
        // power: moving one component off the point gives a clearly non-zero gradient
        const moved = M.grad(mixture)(toTensors({ ...th, mu: [mu + 0.1, mu, mu] }));
        expect(Math.max(...arr(moved.mu).map(Math.abs))).toBeGreaterThan(1e-3);
      }
    });
  }
});

describe('Proposition 3.3: a Gaussian has no stationary point once τ is large enough', () => {
  // J(μ, log σ) = ∫ N(x; μ, σ) r(x) dx + τ (log σ + ½ log 2πe); r < e^-50 outside [-3, 3].
  const xs = grid(-3, 3, 6000);
  const dx = xs[1] - xs[0];
  const x = T.tensor(xs, f64);
  const r = reward(T.expandDims(x, -1));
  const J = (tau: number) => (p: Tensor) => {
    const [mu, logstd] = [T.slice(p, [0, 1]), T.slice(p, [1, 2])];
    const logN = T.sub(T.sub(T.mul(T.square(T.div(T.sub(x, mu), T.exp(logstd))), -0.5), logstd), 0.5 * Math.log(2 * Math.PI));
    return T.add(T.mul(T.sum(T.mul(T.exp(logN), r)), dx), T.mul(T.sum(logstd), tau));
  };
  const gradAt = (tau: number, p: number[]) => arr(M.grad(J(tau))(T.tensor(p, f64)));

  it('τ above sup|r| E|ε² - 1|: ∂J/∂log σ > 0 on a grid of (μ, log σ)', () => {
    // E|ε² - 1| = 4 φ(1) (closed form: 2 ∫_0^1 (1 - ε²) φ dε doubled = 4 φ(1) ≈ 0.968)
    const bound = (1 * 4 * Math.exp(-0.5)) / Math.sqrt(2 * Math.PI);
    expect(Math.max(...arr(r))).toBeLessThanOrEqual(1 + 1e-12);
    const tau = 1;
    expect(tau).toBeGreaterThan(bound);
    let minimum = Infinity;
    for (const mu of grid(-3, 3, 24)) for (const ls of grid(-3.5, 2, 22)) minimum = Math.min(minimum, gradAt(tau, [mu, ls])[1]);
    expect(minimum).toBeGreaterThan(0);
  });

  it('small τ: Newton finds a stationary point (finite σ near a mode)', () => {
    const tau = 0.01;
    // near μ = 1, E[r] ≈ s/√(s² + σ²) with s = 0.2, so ∂J/∂log σ ≈ τ - σ²/s² vanishes near σ = 0.02
    const [mu, logstd] = newton((p) => gradAt(tau, p), [0.95, Math.log(0.03)]);
    expect(Math.hypot(...gradAt(tau, [mu, logstd]))).toBeLessThan(1e-10);
    expect(Math.abs(mu - 1)).toBeLessThan(0.05);
    expect(Math.exp(logstd)).toBeLessThan(1);
    // and at the same τ the log σ derivative does change sign (negative for wide policies)
    expect(gradAt(tau, [1, Math.log(0.5)])[1]).toBeLessThan(0);
  });
});
