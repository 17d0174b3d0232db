/**
 * One SAC update against SAC's formulas written out in plain JS (float64, no library op): the
 * networks are run by hand on the update's inputs and its noise draws (the library's normal draws,
 * tested bit for bit against JAX elsewhere), and the test recomputes
 *   y = r + γ (1 - d) (min(Q'1, Q'2)(s', a') - α log π(a' | s')),
 *   critic loss = mean (Q1(s, a) - y)² + mean (Q2(s, a) - y)²,
 *   actor loss = -mean (min(Q1, Q2)(s, ã) - α log π(ã | s)) with the updated critics,
 *   entropy = -mean log π(â | s), and the first Adam step of log α on -(log α)(H̄ - H),
 *   targets' = (1 - τ) targets + τ critics'.
 * Each of the update's terms is checked: min/max, the terminal mask, γ, α, the signs, which critics
 * the actor and the targets read. log π of the squashed Gaussian is the Gaussian log-density minus
 * Σ log(scale (1 - tanh² u)), here with log(1 - tanh² u) computed directly.
 */
import { describe, expect, it } from 'vitest';
import type { MlpParams } from '../../src/rl/mlp';
import { initSac, makeSacUpdate, type SacHyperparameters } from '../../src/rl/sac/update';
import * as T from '../../src/tensor';
import { smallSac } from '../sac-fixtures';

type Matrix = number[][];
const rows = (t: T.Tensor): Matrix => t.toArraySync() as Matrix;
const vector = (t: T.Tensor): number[] => Array.from(t.dataSync());
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The MLP by hand: x @ w + b per layer, ReLU between layers. */
function mlpByHand(params: MlpParams, x: Matrix): Matrix {
  let h = x;
  params.layers.forEach((layer, l) => {
    const w = rows(layer.w);
    const b = vector(layer.b);
    h = h.map((row) => b.map((bj, j) => row.reduce((acc, xi, i) => acc + xi * w[i][j], bj)));
    if (l < params.layers.length - 1) h = h.map((row) => row.map((v) => Math.max(v, 0)));
  });
  return h;
}

const q = (critic: MlpParams, obs: Matrix, action: Matrix) => mlpByHand(critic, obs.map((o, i) => [...o, ...action[i]])).map((r) => r[0]);

/** A draw of the squashed Gaussian policy with noise eps: the action and log π(action | s). */
function policyDraw(h: SacHyperparameters, actor: MlpParams, obs: Matrix, eps: Matrix) {
  const A = h.head.actionDim;
  const [low, high] = [h.head.low as number[], h.head.high as number[]];
  return mlpByHand(actor, obs).map((out, i) => {
    let action: number[] = [];
    let logProb = 0;
    for (let j = 0; j < A; j++) {
      const logStd = Math.min(Math.max(out[A + j], h.head.logStdMin ?? -20), h.head.logStdMax ?? 2);
      const sigma = Math.exp(logStd);
      const u = out[j] + sigma * eps[i][j];
      const scale = (high[j] - low[j]) / 2;
      action = [...action, scale * Math.tanh(u) + (high[j] + low[j]) / 2];
      const gaussian = -0.5 * eps[i][j] ** 2 - logStd - 0.5 * Math.log(2 * Math.PI);
      logProb += gaussian - Math.log(scale * (1 - Math.tanh(u) ** 2));
    }
    return { action, logProb };
  });
}

describe('one SAC update against its formulas by hand', () => {
  it('matches the target, both losses, the entropy, the α step and the Polyak step (float64)', () => {
    // Each optimizer its own learning rate, so a step taken with another's is seen.
    const h: SacHyperparameters = {
      ...smallSac({ obsDim: 2, head: { actionDim: 1, kind: 'single', family: 'normal', low: [-2], high: [2] }, estimator: 'rp', hidden: [3], lr: 0.01, alpha: 0.3, dtype: 'float64' }),
      gamma: 0.9,
      tau: 0.25,
      actorLr: 0.01,
      criticLr: 0.02,
      alphaLr: 0.03,
    };
    const B = 4;
    const f64 = (values: number[], shape: number[]) => T.tensor(Float64Array.from(values), { shape });
    const obs = [[0.5, -1], [1.5, 0.2], [-0.3, 0.8], [0, 2]];
    const action = [[0.7], [-1.2], [1.9], [0]];
    const reward = [1, -0.5, 2, 0.25];
    const nextObs = [[0.4, -0.9], [1.2, 0.5], [-1, 1], [0.3, 1.7]];
    const terminated = [0, 1, 0, 0]; // the second bootstraps nothing
    const batch = { obs: f64(obs.flat(), [B, 2]), action: f64(action.flat(), [B, 1]), reward: f64(reward, [B]), nextObs: f64(nextObs.flat(), [B, 2]), terminated: f64(terminated, [B]) };
    // Targets other than the critics (as after any update), so that the target value, the Polyak
    // step and the critics' Adam step each show which of the two they read.
    const initial = initSac(h, T.random.key(11));
    const shifted = (p: MlpParams, by: number): MlpParams => ({
      layers: p.layers.map((l) => ({ w: T.add(l.w, T.mul(T.sin(T.arange(0, l.w.shape[0] * l.w.shape[1], 1, { dtype: 'float64' }).reshape(l.w.shape)), by)), b: T.add(l.b, by) })),
    });
    const state = { ...initial, targets: [shifted(initial.critics[0], 0.1), shifted(initial.critics[1], -0.07)] as const };
    const key = T.random.key(12);
    const [next, metrics] = makeSacUpdate(h, { jit: false })(state, batch, key);

    // The update's noise: split(key, 3) for the target, the actor and α, one normal per action.
    const [kTarget, kActor, kAlpha] = T.random.split(key, 3);
    const noise = (k: T.Tensor) => rows(T.random.normal(k, [B, 1], 'float64'));
    const alpha = Math.exp(state.logAlpha.itemSync());

    const target = policyDraw(h, state.actor, nextObs, noise(kTarget));
    const nextAction = target.map((d) => d.action);
    const [t1, t2] = [q(state.targets[0], nextObs, nextAction), q(state.targets[1], nextObs, nextAction)];
    const y = reward.map((r, i) => r + h.gamma * (1 - terminated[i]) * (Math.min(t1[i], t2[i]) - alpha * target[i].logProb));
    const [q1, q2] = [q(state.critics[0], obs, action), q(state.critics[1], obs, action)];
    const criticLoss = mean(q1.map((v, i) => (v - y[i]) ** 2)) + mean(q2.map((v, i) => (v - y[i]) ** 2));

    const drawn = policyDraw(h, state.actor, obs, noise(kActor));
    const acted = drawn.map((d) => d.action);
    const [c1, c2] = [q(next.critics[0], obs, acted), q(next.critics[1], obs, acted)];
    const actorLoss = -mean(drawn.map((d, i) => Math.min(c1[i], c2[i]) - alpha * d.logProb));

    const entropy = -mean(policyDraw(h, state.actor, obs, noise(kAlpha)).map((d) => d.logProb));
    // d/d(log α) of -(log α)(H̄ - H) is H - H̄; Adam's first step moves by lr · g / (|g| + eps).
    const g = entropy - h.targetEntropy;
    const logAlpha = Math.log(alpha) - (h.alphaLr * g) / (Math.abs(g) + 1e-8);

    const close = (actual: number, expected: number, what: string) => expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected)));
    close(metrics.criticLoss.itemSync(), criticLoss, 'critic loss');
    close(metrics.meanQ.itemSync(), mean(q1), 'mean Q1');
    close(metrics.alpha.itemSync(), alpha, 'alpha');
    close(metrics.entropy.itemSync(), entropy, 'entropy');
    close(metrics.actorLoss.itemSync(), actorLoss, 'actor loss');
    close(next.logAlpha.itemSync(), logAlpha, 'log alpha after one step');

    // Polyak toward the updated critics, every leaf.
    [0, 1].forEach((c) =>
      next.targets[c].layers.forEach((layer, l) => {
        for (const part of ['w', 'b'] as const) {
          const [old, online, updated] = [state.targets[c], next.critics[c], next.targets[c]].map((p) => vector(p.layers[l][part]));
          updated.forEach((v, i) => close(v, (1 - h.tau) * old[i] + h.tau * online[i], `target ${c} layer ${l} ${part}[${i}]`));
        }
      }),
    );
    // Adam's first step moves each parameter by lr · g / (|g| + eps), about lr · sign(g): the actor
    // by actorLr against the sign of its loss's derivative, the critics by criticLr, each derivative a
    // central difference of the losses above (the noise held, the updated critics held for the actor).
    const nudged = (p: MlpParams, l: number, part: 'w' | 'b', i: number, by: number): MlpParams => ({
      layers: p.layers.map((layer, k) => {
        if (k !== l) return layer;
        const values = vector(layer[part]);
        values[i] += by;
        return { ...layer, [part]: T.tensor(Float64Array.from(values), { shape: layer[part].shape }) };
      }),
    });
    const actorLossOf = (actor: MlpParams) => {
      const d = policyDraw(h, actor, obs, noise(kActor));
      const [a1, a2] = [q(next.critics[0], obs, d.map((x) => x.action)), q(next.critics[1], obs, d.map((x) => x.action))];
      return -mean(d.map((x, i) => Math.min(a1[i], a2[i]) - alpha * x.logProb));
    };
    const criticLossOf = (c: 0 | 1) => (critic: MlpParams) => mean(q(critic, obs, action).map((v, i) => (v - y[i]) ** 2));
    const checkSteps = (before: MlpParams, after: MlpParams, loss: (p: MlpParams) => number, lr: number, what: string) => {
      let checked = 0;
      before.layers.forEach((layer, l) => {
        for (const part of ['w', 'b'] as const) {
          vector(layer[part]).forEach((v, i) => {
            const eps = 1e-6;
            const g = (loss(nudged(before, l, part, i, eps)) - loss(nudged(before, l, part, i, -eps))) / (2 * eps);
            if (Math.abs(g) < 1e-4) return; // a ReLU's dead unit, or too flat for the sign to be sure
            const step = vector(after.layers[l][part])[i] - v;
            expect(Math.abs(step + lr * Math.sign(g)), `${what} layer ${l} ${part}[${i}]: step ${step}, g ${g}`).toBeLessThan(lr * 1e-3);
            checked++;
          });
        }
      });
      expect(checked, what).toBeGreaterThan(3);
    };
    checkSteps(state.actor, next.actor, actorLossOf, h.actorLr, 'actor');
    checkSteps(state.critics[0], next.critics[0], criticLossOf(0), h.criticLr, 'critic 0');
    checkSteps(state.critics[1], next.critics[1], criticLossOf(1), h.criticLr, 'critic 1');
  });

  it('with a fixed α (autoAlpha false) leaves log α and its optimizer as they were', () => {
    const h: SacHyperparameters = {
      ...smallSac({ obsDim: 2, head: { actionDim: 1, kind: 'single', family: 'normal', low: [-2], high: [2] }, estimator: 'rp', hidden: [3], lr: 0.01, alpha: 0.3, dtype: 'float64' }),
      autoAlpha: false,
    };
    const f64 = (values: number[], shape: number[]) => T.tensor(Float64Array.from(values), { shape });
    const batch = { obs: f64([0.5, -1, 1.5, 0.2], [2, 2]), action: f64([0.7, -1.2], [2, 1]), reward: f64([1, -0.5], [2]), nextObs: f64([0.4, -0.9, 1.2, 0.5], [2, 2]), terminated: f64([0, 0], [2]) };
    const state = initSac(h, T.random.key(3));
    for (const jit of [false, true]) {
      const [next] = makeSacUpdate(h, { jit })(state, batch, T.random.key(4));
      expect(next.logAlpha.itemSync()).toBe(state.logAlpha.itemSync());
      expect(next.logAlpha.itemSync()).toBe(Math.log(0.3));
      expect(next.alphaOpt.count.itemSync()).toBe(0);
    }
  });
});
