/**
 * The estimator API contract: scalar surrogates, values that are Monte Carlo estimates of J, errors
 * for unsupported policies, policy-head layouts and log-std bounds, and the actor-critic form with
 * `stateActionCritic`.
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src';
import * as D from '../../src/distributions';
import * as E from '../../src/rl/estimators';
import { arr, expectError, f64, grid, logSech2, logSumExp, M, normalLogPdf, softmax, trapezoid, zFor } from '../distributions/reference';
import { exactValue, policyOf, rewardFn, type Term, type Theta, toTensors } from './bandit';

const T = M;

const th: Theta = { logits: [0.4, -0.3, 0.1], mu: [-0.8, 0.1, 0.9], logstd: [-1, -0.5, -1.5] };
const terms: Term[] = [{ kind: 'bump', c: 1.5, m: 0.5, s: 0.4 }, { kind: 'sine', c: 0.5, f: 2, phase: 0.3 }];
const reward = rewardFn(terms);
const tau = 0.2;

/** The copies' parameters ([B, K]) for a B-state batch of identical policies. */
const tiled = (B: number, uniform = false) => {
  const t = toTensors(th, uniform);
  return {
    ...(uniform ? {} : { logits: T.broadcastTo(t.logits!, [B, 3]) }),
    mu: T.broadcastTo(t.mu, [B, 3]),
    logstd: T.broadcastTo(t.logstd, [B, 3]),
  };
};

/** sd of v(a) = r(a) - τ log π(a) under π, by quadrature over the pre-tanh x (independent formulas). */
function valueSd(uniform: boolean): number {
  const xs = grid(-10, 10, 20_000);
  const w = uniform ? [1 / 3, 1 / 3, 1 / 3] : softmax(th.logits);
  const logp = xs.map((x) => logSumExp(w.map((wk, k) => Math.log(wk) + normalLogPdf(x, th.mu[k], Math.exp(th.logstd[k])))));
  const r = arr(reward(T.tensor(xs.map((x) => [Math.tanh(x)]), f64)));
  const v = xs.map((x, i) => r[i] - tau * (logp[i] - logSech2(x)));
  const h = xs[1] - xs[0];
  const m = trapezoid(v.map((vi, i) => vi * Math.exp(logp[i])), h);
  return Math.sqrt(trapezoid(v.map((vi, i) => (vi - m) ** 2 * Math.exp(logp[i])), h));
}

describe('surrogate values are scalars and Monte Carlo estimates of J', () => {
  // Each value is a mean of B = 20000 i.i.d. terms whose variance is at most Var_π[r - τ log π]
  // (MRP's Σ_k w_k v(f_k) has Σ_k w_k² Var_k <= Var_π); CLT z-test at P(|Z| > z) = 1e-7 per
  // estimator, 6 estimators: false failure <= 6e-7.
  const B = 20_000;
  const z = zFor(1e-7);
  const cases: [E.EstimatorName, boolean][] = [
    ['mrp', false],
    ['halfRp', false],
    ['lr', false],
    ['gumbelRp', false],
    ['urp', true],
    ['rp', true],
  ];
  for (const [name, uniform] of cases) {
    it(`${name}: value ≈ exact J within z sd/√B, shape []`, () => {
      const value = E.estimators[name]({ policy: policyOf(tiled(B, uniform), uniform), critic: E.banditCritic(reward), alpha: tau, key: T.random.key(21) });
      expect(value.shape).toEqual([]);
      expect(value.dtype).toBe('float64');
      const exact = exactValue(th, reward, tau, uniform);
      expect(Math.abs(value.itemSync() - exact)).toBeLessThan((z * valueSd(uniform)) / Math.sqrt(B) + 1e-7);
    });
  }

  it('rp on a single squashed Gaussian (SG-RP) and lr on it return finite scalars with finite gradients', () => {
    const mk = (p: { mu: Tensor; ls: Tensor }) => D.squash(-1, 1)(D.normal(p.mu, T.exp(p.ls)));
    const p = { mu: T.tensor([[0.1], [0.5]], f64), ls: T.tensor([[-1], [0]], f64) };
    for (const est of [E.rp, E.lr]) {
      const [v, g] = M.valueAndGrad((q: typeof p) => est({ policy: mk(q), critic: E.banditCritic(reward), alpha: 0.1, key: T.random.key(3) }))(p);
      expect(v.shape).toEqual([]);
      expect([...arr(g.mu), ...arr(g.ls)].every(Number.isFinite)).toBe(true);
    }
  });
});

describe('baselines and defaults', () => {
  const params = () => {
    const t = toTensors(th, false);
    return { logits: T.broadcastTo(t.logits!, [6, 3]), mu: T.broadcastTo(t.mu, [6, 3]), logstd: T.broadcastTo(t.logstd, [6, 3]) };
  };
  const gradientOf = (name: 'lr' | 'halfRp' | 'gumbelRp', critic: E.Critic, extra: object) =>
    M.grad((p: ReturnType<typeof params>) => E.estimators[name]({ policy: policyOf(p), critic, alpha: 0, key: T.random.key(5), ...extra }))(params());
  const values = (g: ReturnType<typeof params>) => [...arr(g.logits), ...arr(g.mu), ...arr(g.logstd)];

  it('lr and halfRp subtract the mean of the baseline draws: a constant critic (α 0) gives a zero gradient', () => {
    // Q ≡ 2.5 and b = mean of n draws of Q = 2.5: every advantage is 0, as is ∂Q/∂a (a sum of b's, not their mean, would leave (1 - n) 2.5).
    const constant: E.Critic = (a) => T.add(T.mul(T.sum(a, -1), 0), 2.5);
    for (const n of [1, 4]) {
      for (const name of ['lr', 'halfRp'] as const) expect(values(gradientOf(name, constant, { baselineSamples: n })).every((v) => v === 0), `${name}, ${n}`).toBe(true);
    }
  });

  it('their baseline draws are not the action draw (with one, Q(a) - Q(b) would be 0 for every critic)', () => {
    const linear: E.Critic = (a) => T.sum(a, -1);
    for (const name of ['lr', 'halfRp'] as const) {
      const g = gradientOf(name, linear, { baselineSamples: 1 });
      expect(arr(g.logits).some((v) => Math.abs(v) > 1e-6), name).toBe(true);
    }
  });

  it("halfRp's weight gradient is the score's alone: (onehot(z) - w) times the soft value, per draw (a zero critic)", () => {
    // With Q ≡ 0, α = 1 and no baseline, the soft value of draw b is -log π(a_b); the weights enter
    // only through the likelihood-ratio term (they are held fixed in the reparameterized one), so
    // ∂/∂logits_b of the mean over B = (onehot(z_b) - softmax(logits_b)) (-log π(a_b)) / B. The draws
    // are rebuilt from the key as halfRp splits it; log π by hand (mixture of normals, tanh Jacobian).
    const zero: E.Critic = (a) => T.mul(T.sum(a, -1), 0);
    const p = params();
    const g = M.grad((q: ReturnType<typeof params>) => E.halfRp({ policy: policyOf(q), critic: zero, alpha: 1, key: T.random.key(5) }))(p);
    const mix = policyOf(p) as D.Squashed & { base: D.Mixture };
    const [kz, kx] = T.random.split(T.random.key(5), 3);
    const z = arr(mix.base.weights().sample(kz));
    const pre = arr(mix.base.select(mix.base.componentRsample(kx), T.tensor(Int32Array.from(z), { shape: [6] })));
    const w = softmax(th.logits);
    const B = 6;
    const expected = z.flatMap((zb, b) => {
      const x = pre[b];
      const logPi = logSumExp(w.map((wk, k) => Math.log(wk) + normalLogPdf(x, th.mu[k], Math.exp(th.logstd[k])))) - logSech2(x);
      return w.map((wk, k) => ((k === zb ? 1 : 0) - wk) * -logPi / B);
    });
    arr(g.logits).forEach((v, i) => expect(v, `logits[${i}]`).toBeCloseTo(expected[i], 12));
  });

  it("gumbelRp's temperature is 0.1 unless given (the paper's)", () => {
    const linear: E.Critic = (a) => T.sum(a, -1);
    const byDefault = values(gradientOf('gumbelRp', linear, {}));
    expect(byDefault).toEqual(values(gradientOf('gumbelRp', linear, { temperature: 0.1 })));
    expect(byDefault).not.toEqual(values(gradientOf('gumbelRp', linear, { temperature: 1 })));
  });
});

describe('unsupported policies fail clearly', () => {
  const mixture = policyOf(tiled(4));
  const uniform = policyOf(tiled(4, true), true);
  const single = D.squash(-1, 1)(D.normal(T.zeros([4, 1], f64), T.ones([4, 1], f64)));
  const input = (policy: D.SquashedPolicy) => ({ policy, critic: E.banditCritic(reward), alpha: 0.1, key: T.random.key(0) });

  it('rp on a learned-weight mixture throws and names the alternatives', () => {
    expect(() => E.rp(input(mixture))).toThrow(/mixture weights have no reparameterization.*mrp/);
    expect(() => E.rp(input(uniform))).not.toThrow();
  });
  it('urp needs a uniform mixture; mrp, halfRp, gumbelRp need a mixture', () => {
    expect(() => E.urp(input(mixture))).toThrow(/uniform-weight mixture/);
    expect(() => E.urp(input(single))).toThrow(/uniform-weight mixture/);
    for (const est of [E.mrp, E.halfRp, E.gumbelRp]) expect(() => est(input(single))).toThrow(/needs a mixture policy/);
  });
  it('a negative or fractional baseline count is rejected, naming the estimator', () => {
    expectError(() => E.lr({ ...input(mixture), baselineSamples: -1 }), M.ArgumentError, 'lr: baselineSamples must be a non-negative integer, got -1');
    expectError(() => E.halfRp({ ...input(mixture), baselineSamples: 1.5 }), M.ArgumentError, 'halfRp: baselineSamples must be a non-negative integer, got 1.5');
  });
});

describe('bad input fails clearly, naming the estimator', () => {
  const mixture = policyOf(tiled(4));
  const uniform = policyOf(tiled(4, true), true);
  const single = D.squash(-1, 1)(D.normal(T.zeros([4, 1], f64), T.ones([4, 1], f64)));
  const cases: [E.EstimatorName, D.SquashedPolicy][] = [
    ['rp', single],
    ['urp', uniform],
    ['lr', mixture],
    ['halfRp', mixture],
    ['mrp', mixture],
    ['gumbelRp', mixture],
  ];
  const input = (policy: D.SquashedPolicy) => ({ policy, critic: E.banditCritic(reward), alpha: 0.1, key: T.random.key(0) });
  for (const [name, policy] of cases) {
    const run = (changes: object) => () => E.estimators[name]({ ...input(policy), ...changes });
    it(`${name}: a random key is required`, () => {
      expectError(run({ key: undefined }), M.ArgumentError, `${name}: a random key is required (random.key(seed)), got undefined`);
      expectError(run({ key: T.tensor([0, 1]) }), M.DTypeError, `${name}: the key must be a PRNG key u32[2] (random.key(seed)), got a tensor f32[2]`);
    });
    it(`${name}: alpha must be a finite number >= 0 or a scalar float tensor`, () => {
      for (const alpha of [Number.NaN, -0.1, Number.POSITIVE_INFINITY]) {
        expectError(run({ alpha }), M.ArgumentError, `${name}: alpha must be a finite number >= 0 or a scalar tensor, got ${alpha}`);
      }
      expectError(run({ alpha: '0.1' }), M.ArgumentError, `${name}: alpha must be a finite number >= 0 or a scalar tensor, got string`);
      // One α per state or per component would broadcast differently in each estimator's surrogate.
      expectError(run({ alpha: T.tensor([0, 0, 5, 1], f64) }), M.ShapeError, `${name}: alpha must be a scalar float tensor (shape []), got a tensor f64[4]`);
      expectError(run({ alpha: T.tensor(1, { dtype: 'int32' }) }), M.ShapeError, `${name}: alpha must be a scalar float tensor (shape []), got a tensor i32[]`);
      expect(run({ alpha: T.tensor(0.1, f64) })().shape).toEqual([]);
    });
    it(`${name}: the critic's output must be [B, N]`, () => {
      const N = name === 'mrp' ? 3 : 1; // mrp evaluates every component's draw
      expectError(
        run({ critic: (a: Tensor) => a }),
        M.ShapeError,
        `${name}: the critic returned a tensor f64[4,${N},1] for actions [4,${N},1]; expected [4,${N}] (one value per state and action)`,
      );
      expectError(run({ critic: 'q' }), M.ArgumentError, `${name}: critic must be a function from actions [B, N, A] to values [B, N], got string`);
    });
    it(`${name}: the policy must be a squashed distribution with batch [B] and event [A]`, () => {
      expectError(run({ policy: (policy as D.Squashed).base }), M.ArgumentError, `${name}: policy must be a squashed distribution (squash(low, high)(...) or policyFromHead), got object`);
      const unbatched = D.squash(-1, 1)(D.normal(T.zeros([1], f64), T.ones([1], f64)));
      expectError(run({ policy: unbatched }), M.ShapeError, `${name}: the policy must have batch [B] and event [A], got batch [] and event [1]`);
      expectError(() => E.estimators[name](undefined as never), M.ArgumentError, `${name}: expected an input { policy, critic, alpha, key }, got undefined`);
    });
  }
  it('lr and halfRp check the baseline critic too; gumbelRp checks its temperature', () => {
    const critic = (a: Tensor) => (a.shape[1] === 1 ? E.banditCritic(reward)(a) : a);
    expectError(() => E.lr({ ...input(mixture), critic, baselineSamples: 2 }), M.ShapeError, 'lr: the critic returned a tensor f64[4,2,1] for actions [4,2,1]; expected [4,2] (one value per state and action)');
    expectError(() => E.halfRp({ ...input(mixture), critic, baselineSamples: 2 }), M.ShapeError, 'halfRp: the critic returned a tensor f64[4,2,1] for actions [4,2,1]; expected [4,2] (one value per state and action)');
    for (const temperature of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectError(() => E.gumbelRp({ ...input(mixture), temperature }), M.ArgumentError, `gumbelRp: temperature must be a finite number > 0, got ${temperature}`);
    }
    expectError(() => E.gumbelRp({ ...input(mixture), temperature: '0.1' as never }), M.ArgumentError, 'gumbelRp: temperature must be a finite number > 0, got string');
  });
});

describe('policyFromHead', () => {
  it('headSize: 2A (single), 2KA + K (mixture), 2KA (uniform)', () => {
    expect(D.headSize({ actionDim: 3, kind: 'single', low: -1, high: 1 })).toBe(6);
    expect(D.headSize({ actionDim: 3, kind: 'mixture', components: 4, low: -1, high: 1 })).toBe(28);
    expect(D.headSize({ actionDim: 3, kind: 'uniform', components: 4, low: -1, high: 1 })).toBe(24);
    expect(D.headSize({ actionDim: 1, kind: 'mixture', low: -1, high: 1 })).toBe(15); // K defaults to 5
  });

  it('single layout [mean (A) | log-std (A)]', () => {
    const out = T.tensor([[0.1, 0.2, -1, -2]], f64);
    const p = D.policyFromHead(out, { actionDim: 2, kind: 'single', low: -1, high: 1 });
    const base = p.base as D.LocScale;
    expect(arr(base.loc)).toEqual([0.1, 0.2]);
    arr(base.scale).forEach((s, i) => expect(s).toBeCloseTo(Math.exp([-1, -2][i]), 14));
  });

  it('mixture layout [logits (K) | means (K·A, component-major) | log-stds (K·A)] and uniform layout without logits', () => {
    const K = 2;
    const A = 3;
    const values = Array.from({ length: 2 * K * A + K }, (_, i) => i / 10 - 0.5);
    const p = D.policyFromHead(T.tensor([values], f64), { actionDim: A, kind: 'mixture', components: K, low: -1, high: 1 });
    const mix = p.base as D.Mixture;
    expect(mix.numComponents).toBe(K);
    expect(arr(mix.logits)).toEqual(values.slice(0, K));
    expect(mix.components.loc.shape).toEqual([1, K, A]);
    expect(arr(mix.components.loc)).toEqual(values.slice(K, K + K * A));
    arr(mix.components.scale).forEach((s, i) => expect(s).toBeCloseTo(Math.exp(values[K + K * A + i]), 14));
    const u = D.policyFromHead(T.tensor([values.slice(K)], f64), { actionDim: A, kind: 'uniform', components: K, low: -1, high: 1 }).base as D.Mixture;
    expect(u.uniform).toBe(true);
    expect(arr(u.components.loc)).toEqual(values.slice(K, K + K * A));
    expect(arr(T.softmax(u.logits, -1))).toEqual([0.5, 0.5]);
    expect(() => D.policyFromHead(T.tensor([values], f64), { actionDim: A, kind: 'uniform', components: K, low: -1, high: 1 })).toThrow(/must end in 12/);
  });

  it('log-std bounds: clip clamps, tanh maps smoothly and monotonically into (min, max)', () => {
    const raw = [-30, -5, 0, 1, 5, 30];
    const out = T.tensor(raw.map((r) => [0, r]), f64);
    const logStd = (cfg: Partial<D.PolicyHeadConfig>) =>
      arr(T.log((D.policyFromHead(out, { actionDim: 1, kind: 'single', low: -1, high: 1, ...cfg }).base as D.LocScale).scale));
    const clip = logStd({});
    raw.forEach((r, i) => expect(clip[i]).toBeCloseTo(Math.min(2, Math.max(-20, r)), 12)); // SAC defaults [-20, 2]
    const clip2 = logStd({ logStdMin: -5, logStdMax: 2 });
    raw.forEach((r, i) => expect(clip2[i]).toBeCloseTo(Math.min(2, Math.max(-5, r)), 12));
    const th2 = logStd({ logStdMin: -5, logStdMax: 2, logStdSquash: 'tanh' });
    raw.forEach((r, i) => expect(th2[i]).toBeCloseTo(-5 + 3.5 * (Math.tanh(r) + 1), 12));
    expect(th2[2]).toBeCloseTo(-1.5, 12); // raw 0 -> midpoint
    th2.slice(1).forEach((v, i) => expect(v).toBeGreaterThanOrEqual(th2[i]));
    expect(th2.every((v) => v >= -5 && v <= 2)).toBe(true);
    expect(() => logStd({ logStdMin: 2, logStdMax: 1 })).toThrow(/logStdMin/);
    // gradient of the clamped log-std is zero outside the bounds, one inside
    const g = arr(M.grad((o: Tensor) => T.sum(T.log((D.policyFromHead(o, { actionDim: 1, kind: 'single', low: -1, high: 1 }).base as D.LocScale).scale)))(out));
    expect(g.filter((_, i) => i % 2 === 1)).toEqual([0, 1, 1, 1, 0, 0]);
  });
});

describe('actor-critic form with stateActionCritic', () => {
  // A linear actor head on a batch of states and a critic Q(s, a) = -(a - s_0)^2 + s_1 a.
  const B = 6;
  const O = 2;
  const obs = T.tensor(Array.from({ length: B * O }, (_, i) => Math.sin(i + 1)), { ...f64, shape: [B, O] });
  const q = (s: Tensor, a: Tensor) => {
    const s0 = T.slice(s, null, [0, 1]);
    const s1 = T.slice(s, null, [1, 2]);
    return T.squeeze(T.add(T.neg(T.square(T.sub(a, s0))), T.mul(s1, a)), -1);
  };
  const cfg = { actionDim: 1, kind: 'mixture', components: 3, low: -1, high: 1 } as const;
  const W = T.tensor(Array.from({ length: O * 9 }, (_, i) => Math.cos(i) * 0.3), { ...f64, shape: [O, 9] });

  it('the critic evaluates Q(s_b, a_bn) for every state and sample', () => {
    const actions = T.tensor(Array.from({ length: B * 4 }, (_, i) => Math.sin(3 * i) * 0.9), { ...f64, shape: [B, 4, 1] });
    const got = arr(E.stateActionCritic(q, obs)(actions));
    const o = arr(obs);
    const a = arr(actions);
    got.forEach((v, i) => {
      const b = Math.floor(i / 4);
      expect(v).toBeCloseTo(-((a[i] - o[b * O]) ** 2) + o[b * O + 1] * a[i], 12);
    });
  });

  it('every estimator runs on a batch of states, the value matches a hand-written critic, gradients are finite', () => {
    const handCritic: E.Critic = (actions) => {
      const s0 = T.reshape(T.slice(obs, null, [0, 1]), [B, 1]);
      const s1 = T.reshape(T.slice(obs, null, [1, 2]), [B, 1]);
      const a = T.squeeze(actions, -1);
      return T.add(T.neg(T.square(T.sub(a, s0))), T.mul(s1, a));
    };
    for (const name of ['mrp', 'halfRp', 'lr', 'gumbelRp'] as const) {
      const run = (critic: E.Critic) => (w: Tensor) => E.estimators[name]({ policy: D.policyFromHead(T.matmul(obs, w), cfg), critic, alpha: 0.05, key: T.random.key(4) });
      const [v1, g] = M.valueAndGrad(run(E.stateActionCritic(q, obs)))(W);
      const v2 = run(handCritic)(W);
      expect(v1.shape).toEqual([]);
      expect(v1.itemSync()).toBeCloseTo(v2.itemSync(), 12);
      expect(g.shape).toEqual([O, 9]);
      expect(arr(g).every(Number.isFinite)).toBe(true);
    }
  });
});
