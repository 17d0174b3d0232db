/**
 * What every estimator shares. An estimator is a pure function of a policy, a critic, an entropy scale
 * and a key that returns a scalar *surrogate*: its gradient (by the autodiff) is the estimator of
 * ∇θ J with J = E_s E_{a~π}[Q(s, a) - α log π(a|s)] (ascent form), and its value is the Monte Carlo
 * estimate of J. The estimators differ only in the surrogate.
 */
import * as T from '../../tensor';
import { ArgumentError, formatShape, ShapeError, type Tensor } from '../../tensor';
import type { Mixture, SquashedPolicy, Squashed } from '../../distributions';
import { checkKey, describe } from '../../distributions/checks';

/** Q over actions with an explicit samples axis: `[B, N, A] -> [B, N]`. */
export type Critic = (actions: Tensor) => Tensor;

export interface EstimatorInput {
  /** The policy for a batch of states: batch `[B]`, event `[A]`. */
  policy: SquashedPolicy;
  critic: Critic;
  /** Entropy scale α (τ in the paper). */
  alpha: number | Tensor;
  key: Tensor;
}

/**
 * `input`, after checking what can be checked while tracing: a squashed policy with batch `[B]` and
 * event `[A]`, a critic function, α a scalar float tensor or a finite number >= 0, and a key. Errors
 * name `name`.
 *
 * @example
 * const { policy, critic, alpha, key } = checkInput('mrp', input);
 */
export function checkInput<I extends EstimatorInput>(name: string, input: I): I {
  if (typeof input !== 'object' || input === null) throw new ArgumentError(`${name}: expected an input { policy, critic, alpha, key }, got ${describe(input)}`);
  const { policy, critic, alpha, key } = input;
  if (typeof policy?.logProbPre !== 'function') {
    throw new ArgumentError(`${name}: policy must be a squashed distribution (squash(low, high)(...) or policyFromHead), got ${describe(policy)}`);
  }
  if (policy.batchShape.length !== 1 || policy.eventShape.length !== 1) {
    throw new ShapeError(`${name}: the policy must have batch [B] and event [A], got batch ${formatShape(policy.batchShape)} and event ${formatShape(policy.eventShape)}`);
  }
  if (typeof critic !== 'function') throw new ArgumentError(`${name}: critic must be a function from actions [B, N, A] to values [B, N], got ${describe(critic)}`);
  if (alpha instanceof T.Tensor) {
    // One α for the whole batch: a per-state or per-component α would broadcast differently in each
    // estimator's surrogate (against [B] log-densities here, [B, K] ones there).
    if (alpha.ndim !== 0 || !T.isFloat(alpha.dtype)) throw new ShapeError(`${name}: alpha must be a scalar float tensor (shape []), got ${describe(alpha)}`);
  } else if (!(typeof alpha === 'number' && Number.isFinite(alpha) && alpha >= 0)) {
    throw new ArgumentError(`${name}: alpha must be a finite number >= 0 or a scalar tensor, got ${typeof alpha === 'number' ? alpha : describe(alpha)}`);
  }
  checkKey(name, key);
  return input;
}

/**
 * A scalar whose value is `estimate` and whose gradient is that of `gradientSurrogate`.
 *
 * @example
 * // a loss that reports E[Q - α log π] and whose gradient is the estimator's
 * return withValue(mean(values), surrogate);
 */
export function withValue(estimate: Tensor, gradientSurrogate: Tensor): Tensor {
  return T.add(T.stopGradient(estimate), T.sub(gradientSurrogate, T.stopGradient(gradientSurrogate)));
}

/** Q(a) - α log π(a), the per-sample objective. */
export function softValue(q: Tensor, logProb: Tensor, alpha: number | Tensor): Tensor {
  return T.sub(q, T.mul(logProb, alpha));
}

/**
 * `critic(actions)` for actions `[B, N, A]`, checked to be `[B, N]`; errors name the estimator `name`.
 *
 * @example
 * const q = evalCritic('mrp', critic, actions); // [B, K] for actions [B, K, A]
 */
export function evalCritic(name: string, critic: Critic, actions: Tensor): Tensor {
  const q = critic(actions);
  const expected = actions.shape.slice(0, 2);
  if (!(q instanceof T.Tensor) || q.shape.join() !== expected.join()) {
    throw new ShapeError(`${name}: the critic returned ${describe(q)} for actions ${formatShape(actions.shape)}; expected ${formatShape(expected)} (one value per state and action)`);
  }
  return q;
}

/** The critic at one action per state: `[B, A] -> [B]`. */
export function criticAt(name: string, critic: Critic, action: Tensor): Tensor {
  return T.squeeze(evalCritic(name, critic, T.expandDims(action, 1)), 1);
}

export function isMixturePolicy(policy: SquashedPolicy): policy is Squashed<Mixture> {
  return 'numComponents' in policy.base;
}

export function requireMixture(name: string, policy: SquashedPolicy): Squashed<Mixture> {
  if (!isMixturePolicy(policy)) {
    throw new ArgumentError(`${name}: needs a mixture policy (kind 'mixture' or 'uniform'), got a single-component policy`);
  }
  return policy;
}

/**
 * Pre-tanh draws of `n` actions per state without gradient, `[B, n, A]`.
 */
export function presWithoutGradient(policy: SquashedPolicy, key: Tensor, n: number): Tensor {
  return T.swapAxes(policy.base.sample(key, [n]), 0, 1);
}

/**
 * log π at pre-tanh values with a samples axis, `[B, N, A] -> [B, N]` (the distributions put sample
 * axes first).
 */
export function logProbPreAt(policy: SquashedPolicy, pres: Tensor): Tensor {
  return T.swapAxes(policy.logProbPre(T.swapAxes(pres, 0, 1)), 0, 1);
}

/**
 * The sampled-action baseline b(s) = mean_j Q(s, a_j) over `n` fresh draws a_j ~ π (no gradient);
 * zero when n = 0. Errors name the estimator `name`.
 */
export function sampledBaseline(name: string, policy: SquashedPolicy, critic: Critic, key: Tensor, n: number): Tensor | number {
  if (n === 0) return 0;
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`${name}: baselineSamples must be a non-negative integer, got ${n}`);
  const actions = policy.forward(presWithoutGradient(policy, key, n));
  return T.stopGradient(T.mean(evalCritic(name, critic, actions), 1));
}

/**
 * A critic for the bandit setting: the reward r maps actions `[..., A]` to `[...]`.
 *
 * @example
 * const critic = banditCritic((a) => a.square().sum(-1).neg());
 */
export function banditCritic(reward: (actions: Tensor) => Tensor): Critic {
  return (actions) => reward(actions);
}

/**
 * A critic for the actor-critic setting: Q(s, a) over a batch of states `obs [B, O]`, with `q` mapping
 * `[M, O]` states and `[M, A]` actions to `[M]` values.
 *
 * @example
 * const critic = stateActionCritic((s, a) => qNet(params, s, a), obs);
 */
export function stateActionCritic(q: (obs: Tensor, actions: Tensor) => Tensor, obs: Tensor): Critic {
  return (actions) => {
    const [B, N, A] = actions.shape;
    const O = obs.shape[1];
    const states = T.reshape(T.broadcastTo(T.expandDims(obs, 1), [B, N, O]), [B * N, O]);
    return T.reshape(q(states, T.reshape(actions, [B * N, A])), [B, N]);
  };
}
