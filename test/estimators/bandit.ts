/**
 * The 1-D bandit testbed for the estimator tests: a squashed Normal mixture on [-1, 1] with parameters
 * θ = {logits [K], mu [K], logstd [K]}, the exact objective J(θ) = E[r(a)] - τ E[log π(a)] by quadrature
 * over the pre-tanh x (the density written here from the formulas, not from src/distributions), and
 * per-draw estimator gradients.
 *
 * Per-draw gradients: every one of B i.i.d. copies gets its own copy of θ (shape [B, ...]); the
 * estimator's surrogate is a mean over copies and copy b depends only on its own parameters, so
 * B · ∂surrogate/∂θ_b is the b-th draw of the estimator, all B of them from one backward pass.
 */
import * as D from '../../src/distributions';
import * as E from '../../src/rl/estimators';
import { arr, f64, grid, M, mean, sampleVariance } from '../distributions/reference';
import type { Tensor } from '../../src';

const T = M;

export interface Theta {
  logits: number[];
  mu: number[];
  logstd: number[];
}
type ThetaT = { logits?: Tensor; mu: Tensor; logstd: Tensor };

/** A reward term on a ∈ [-1, 1]; rewards are sums of these (smooth, bounded on the box). */
export type Term =
  | { kind: 'bump'; c: number; m: number; s: number }
  | { kind: 'poly'; c: number; d: number }
  | { kind: 'sine'; c: number; f: number; phase: number };

/** r as a tensor function of actions [..., 1] -> [...]. */
export function rewardFn(terms: readonly Term[]): (a: Tensor) => Tensor {
  return (a) => {
    const x = T.squeeze(a, -1);
    let out: Tensor = T.zerosLike(x);
    for (const t of terms) {
      const v =
        t.kind === 'bump'
          ? T.mul(T.exp(T.mul(T.square(T.div(T.sub(x, t.m), t.s)), -0.5)), t.c)
          : t.kind === 'poly'
            ? T.mul(T.pow(x, t.d), t.c)
            : T.mul(T.sin(T.add(T.mul(x, t.f), t.phase)), t.c);
      out = T.add(out, v);
    }
    return out;
  };
}

/** The quadrature grid over the pre-tanh x: [-10, 10] with 20001 points (trapezoid ends negligible). */
const N_GRID = 20_000;
const XS = grid(-10, 10, N_GRID);
const H = 20 / N_GRID;

/**
 * Exact J(θ) = ∫ p(x) [r(h tanh x) - τ (log p(x) - log(h sech² x))] dx with p the Normal mixture density
 * of the pre-tanh x and h the half-width of the box [-h, h], as a differentiable function of θ
 * (float64). `uniform` fixes the weights to 1/K.
 */
export function exactJ(reward: (a: Tensor) => Tensor, tau: number, uniform = false, halfWidth = 1) {
  const x = T.tensor(XS, { ...f64, shape: [XS.length, 1] });
  const weights = T.tensor(XS.map((_, i) => (i === 0 || i === N_GRID ? 0.5 * H : H)), f64);
  // log sech² x = 2 (log 2 - |x| - log1p(exp(-2|x|)))
  const ax = T.abs(x);
  const logSech2 = T.add(T.squeeze(T.mul(T.sub(T.sub(Math.LN2, ax), T.log1p(T.exp(T.mul(ax, -2)))), 2), -1), Math.log(halfWidth));
  const r = reward(T.expandDims(T.mul(T.tanh(T.squeeze(x, -1)), halfWidth), -1));
  return (th: ThetaT) => {
    const K = th.mu.shape[0];
    const logw = uniform || !th.logits ? T.full([K], -Math.log(K), f64) : T.logSoftmax(th.logits, -1);
    const z = T.div(T.sub(x, th.mu), T.exp(th.logstd)); // [N, K]
    const logNormal = T.sub(T.sub(T.mul(T.square(z), -0.5), th.logstd), 0.5 * Math.log(2 * Math.PI));
    const logp = T.logsumexp(T.add(logNormal, logw), -1); // [N]
    const integrand = T.mul(T.exp(logp), T.sub(r, T.mul(T.sub(logp, logSech2), tau)));
    return T.sum(T.mul(integrand, weights));
  };
}

export const toTensors = (th: Theta, uniform = false): ThetaT => ({
  ...(uniform ? {} : { logits: T.tensor(th.logits, f64) }),
  mu: T.tensor(th.mu, f64),
  logstd: T.tensor(th.logstd, f64),
});

/** The exact gradient as one flat vector [logits..., mu..., logstd...] (logits omitted when uniform). */
export function exactGradient(th: Theta, reward: (a: Tensor) => Tensor, tau: number, uniform = false): number[] {
  const g = M.grad(exactJ(reward, tau, uniform))(toTensors(th, uniform));
  return [...(uniform ? [] : arr(g.logits as Tensor)), ...arr(g.mu), ...arr(g.logstd)];
}

export function exactValue(th: Theta, reward: (a: Tensor) => Tensor, tau: number, uniform = false): number {
  return exactJ(reward, tau, uniform)(toTensors(th, uniform)).itemSync();
}

/** The squashed policy over B copies, each with its own parameters θ_b ([B, K], [B, K, 1]). */
export function policyOf(th: ThetaT, uniform = false): D.SquashedPolicy {
  const [B, K] = th.mu.shape;
  const comps = D.normal(T.reshape(th.mu, [B, K, 1]), T.exp(T.reshape(th.logstd, [B, K, 1])));
  return D.squash(-1, 1)(uniform || !th.logits ? D.uniformMixture(comps) : D.mixture(th.logits, comps));
}

/** The single squashed Gaussian over B copies of one component's parameters ([B, 1] each). */
const singleOf = (th: ThetaT): D.SquashedPolicy => D.squash(-1, 1)(D.normal(th.mu, T.exp(th.logstd)));

export type EstimatorName = 'mrp' | 'halfRp' | 'lr' | 'urp' | 'gumbelRp' | 'rp';

/**
 * B per-draw estimator gradients at θ: a [B][P] array with P = 3K (2K when uniform), in the order of
 * exactGradient.
 */
export function perDrawGradients(
  name: EstimatorName,
  th: Theta,
  reward: (a: Tensor) => Tensor,
  tau: number,
  B: number,
  seed: number,
  extra: Record<string, unknown> = {},
): number[][] {
  // rp runs on a single squashed Gaussian (SAC-v2's policy; K must be 1), parameterized as urp's.
  const single = name === 'rp';
  const uniform = name === 'urp' || single;
  const K = th.mu.length;
  if (single && K !== 1) throw new Error('perDrawGradients: rp takes one component');
  const tile = (v: number[]) => T.broadcastTo(T.tensor([v], f64), [B, K]);
  const thB: ThetaT = { mu: tile(th.mu), logstd: tile(th.logstd), ...(uniform ? {} : { logits: tile(th.logits) }) };
  const estimator = E.estimators[name] as (input: E.EstimatorInput & Record<string, unknown>) => Tensor;
  const g = M.grad((p: ThetaT) =>
    estimator({ policy: single ? singleOf(p) : policyOf(p, uniform), critic: E.banditCritic(reward), alpha: tau, key: T.random.key(seed), ...extra }),
  )(thB);
  const parts = [...(uniform ? [] : [arr(g.logits as Tensor)]), arr(g.mu), arr(g.logstd)];
  return Array.from({ length: B }, (_, b) => parts.flatMap((part) => part.slice(b * K, (b + 1) * K).map((v) => v * B)));
}

/** Per-coordinate mean and standard error of per-draw vectors. */
export function meanAndSE(draws: number[][]): { mean: number[]; se: number[] } {
  const P = draws[0].length;
  const cols = Array.from({ length: P }, (_, j) => draws.map((d) => d[j]));
  return { mean: cols.map(mean), se: cols.map((c) => Math.sqrt(sampleVariance(c) / c.length)) };
}

/**
 * The trace of the covariance of per-draw vectors and its standard error (the trace is the mean of
 * |g_b - ḡ|² up to the factor B/(B-1); its SE is that of a mean of i.i.d. terms).
 */
export function traceCov(draws: number[][]): { trace: number; se: number } {
  const { mean: m } = meanAndSE(draws);
  const sq = draws.map((d) => d.reduce((s, v, j) => s + (v - m[j]) ** 2, 0));
  return { trace: (mean(sq) * draws.length) / (draws.length - 1), se: Math.sqrt(sampleVariance(sq) / sq.length) };
}
