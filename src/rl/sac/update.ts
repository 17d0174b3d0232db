/**
 * Soft Actor-Critic as one pure function `(state, batch, key) -> [state, metrics]`: double Q with the
 * minimum in the target, target critics by Polyak averaging every update, fixed or automatic entropy
 * scale, and the actor gradient from the agent's estimator. Terminations (not time-limit truncations)
 * cut the bootstrap.
 */
import { treeMap } from '../../autodiff';
import { jit, valueAndGrad } from '../../autodiff';
import { headSize, type PolicyHeadConfig, policyFromHead, type SquashedPolicy } from '../../distributions';
import * as T from '../../tensor';
import type { Tensor } from '../../tensor';
import { type Estimator, estimators, type EstimatorName, stateActionCritic } from '../estimators';
import { initMlp, mlp, type MlpInit, type MlpParams } from '../mlp';
import { adam, type AdamState } from '../optim';
import { polyak } from '../polyak';
import type { ReplayBatch } from '../replay';

export interface SacHyperparameters {
  obsDim: number;
  head: PolicyHeadConfig;
  /** The actor gradient's estimator: a built-in one by name, or a function of your own. */
  estimator: EstimatorName | Estimator;
  hidden: readonly number[];
  /** Weight initialization of every network. */
  init: MlpInit;
  gamma: number;
  /** Polyak rate of the target critics. */
  tau: number;
  actorLr: number;
  criticLr: number;
  alphaLr: number;
  /** The entropy scale, fixed, or the initial value when `autoAlpha`. */
  alpha: number;
  autoAlpha: boolean;
  /** Target entropy for automatic α (SAC: -|A|). */
  targetEntropy: number;
  /** Baseline draws for LR and HalfRP. */
  baselineSamples: number;
  /** Gumbel-softmax temperature for GumbelRP. */
  gumbelTemperature: number;
  dtype: 'float32' | 'float64';
}

export interface SacState {
  readonly actor: MlpParams;
  readonly critics: readonly [MlpParams, MlpParams];
  readonly targets: readonly [MlpParams, MlpParams];
  readonly logAlpha: Tensor;
  readonly actorOpt: AdamState;
  readonly criticOpt: AdamState;
  readonly alphaOpt: AdamState;
}

export interface SacMetrics {
  readonly criticLoss: Tensor;
  readonly actorLoss: Tensor;
  readonly alpha: Tensor;
  /** -E[log π] estimated from the alpha-step draw. */
  readonly entropy: Tensor;
  readonly meanQ: Tensor;
}

/**
 * The policy at a batch of observations.
 *
 * @example
 * policyAt(h, state.actor, obs).sample(key); // [B, A] actions for [B, O] observations
 */
export function policyAt(h: SacHyperparameters, actor: MlpParams, obs: Tensor): SquashedPolicy {
  return policyFromHead(mlp(actor, obs), h.head);
}

/**
 * Q(s, a) for a batch: `[M, O]`, `[M, A]` -> `[M]`.
 *
 * @example
 * qValue(state.critics[0], obs, action); // [M] values for [M, O] and [M, A]
 */
export function qValue(critic: MlpParams, obs: Tensor, action: Tensor): Tensor {
  return T.squeeze(mlp(critic, T.concat([obs, action], -1)), -1);
}

/**
 * Fresh SAC state: actor and two critics (initialized as `h.init` says), targets equal to the critics.
 *
 * @example
 * const state = initSac(h, random.key(0));
 */
export function initSac(h: SacHyperparameters, key: Tensor): SacState {
  const [ka, k1, k2] = T.random.split(key, 3);
  const options = { dtype: h.dtype, backend: key.backend, init: h.init };
  const actor = initMlp(ka, [h.obsDim, ...h.hidden, headSize(h.head)], options);
  const criticSizes = [h.obsDim + h.head.actionDim, ...h.hidden, 1];
  const critics = [initMlp(k1, criticSizes, options), initMlp(k2, criticSizes, options)] as const;
  const logAlpha = T.full([], Math.log(h.alpha), options);
  return {
    actor,
    critics,
    targets: critics,
    logAlpha,
    actorOpt: adam({ lr: h.actorLr }).init(actor),
    criticOpt: adam({ lr: h.criticLr }).init(critics),
    alphaOpt: adam({ lr: h.alphaLr }).init(logAlpha),
  };
}

/** The pure SAC update `(state, batch, key) -> [state, metrics]`. */
export type SacUpdate = (state: SacState, batch: ReplayBatch, key: Tensor) => [SacState, SacMetrics];

export interface SacUpdateOptions {
  /**
   * Compile the update with `jit` when its tensors are on the CPU or WebGPU (default true): traced
   * once per batch shape, then replayed as fused kernels (on the CPU over reused buffers,
   * bit-identical to eager mode; on WebGPU as generated WGSL kernels, one submit per update). Other
   * backends run it eagerly.
   */
  jit?: boolean;
  /**
   * Give up the state passed in (default false): the jitted update disposes it after each call
   * (using it later throws) and, on the CPU, writes the new state into its memory's twin instead of
   * copying the state in and out of the plan (`jit`'s `donateArgnums`). For loops of the form
   * `state = update(state, ...)`, such as `train`.
   */
  donate?: boolean;
}

/**
 * The SAC update for these hyperparameters.
 *
 * @example
 * const update = makeSacUpdate(h);
 * const [next, metrics] = update(state, replay.sample(rawKey, 32), random.foldIn(key, step));
 * const eager = makeSacUpdate(h, { jit: false });
 * const inPlace = makeSacUpdate(h, { donate: true }); // state = inPlace(state, batch, key)[0]
 */
export function makeSacUpdate(h: SacHyperparameters, options: SacUpdateOptions = {}): SacUpdate {
  const update = makeEagerUpdate(h);
  if (options.jit === false) return update;
  const compiled = jit(update, { name: `sac-${estimatorName(h)}`, donateArgnums: options.donate ? [0] : [] });
  const jitted = (backend: T.Backend) => backend.name === 'cpu' || backend.name === 'webgpu';
  return (state, batch, key) => (jitted(key.backend) ? compiled(state, batch, key) : update(state, batch, key));
}

/**
 * A batch of B transitions must be `obs [B, obsDim]`, `action [B, actionDim]`, `reward`,
 * `terminated [B]` and `nextObs [B, obsDim]`, all of the agent's float dtype: a reward of
 * `[B, 1]` would broadcast against `[B]` into a `[B, B]` target and train on the wrong loss.
 */
function checkBatch(h: SacHyperparameters, batch: ReplayBatch): void {
  const avalOf = (x: unknown) => (x instanceof T.Tensor ? T.formatAval(x.aval) : typeof x);
  const { obs } = batch;
  const dtype = T.formatAval({ dtype: h.dtype, shape: [] }).replace('[]', '');
  if (!(obs instanceof T.Tensor) || obs.ndim !== 2 || obs.shape[1] !== h.obsDim || obs.dtype !== h.dtype) {
    throw new T.ShapeError(`sac update: batch.obs must be ${dtype}[B,${h.obsDim}] (B transitions), got ${avalOf(obs)}`);
  }
  const b = obs.shape[0];
  const want = { action: [b, h.head.actionDim], reward: [b], nextObs: [b, h.obsDim], terminated: [b] };
  for (const [field, shape] of Object.entries(want) as [keyof typeof want, number[]][]) {
    const expected = T.formatAval({ dtype: h.dtype, shape });
    const got = avalOf(batch[field]);
    if (got !== expected) throw new T.ShapeError(`sac update: batch.${field} must be ${expected} (batch.obs has B = ${b} rows), got ${got}`);
  }
}

/** `h.estimator` as a function: a built-in one by name, or the caller's own. */
function estimatorOf(h: SacHyperparameters): Estimator {
  if (typeof h.estimator === 'function') return h.estimator;
  if (!Object.hasOwn(estimators, h.estimator)) {
    throw new T.ArgumentError(`sac update: unknown estimator ${JSON.stringify(h.estimator)} (known: ${Object.keys(estimators).join(', ')}, or a function)`);
  }
  return estimators[h.estimator];
}

/**
 * The estimator's name, for jit's logs and profiles.
 *
 * @example
 * estimatorName({ ...h, estimator: 'mrp' }); // 'mrp'
 */
export const estimatorName = (h: Pick<SacHyperparameters, 'estimator'>): string =>
  typeof h.estimator === 'function' ? h.estimator.name || 'custom' : h.estimator;

/**
 * One run's learning rates as float scalar tensors, in place of `h`'s numbers: runs trained
 * together in one batched update may differ in them (`makeBatchedSacUpdate`'s `{ rates: true }`).
 * A rate given so takes Adam's schedule path, which computes what the number does, bit for bit.
 */
export interface SacRates {
  readonly actorLr: Tensor;
  readonly criticLr: Tensor;
  readonly alphaLr: Tensor;
}

/**
 * The eager update, with the learning rates of `h`, or those `rates` gives at each call
 * (`makeSacUpdate(h, { jit: false })` is it with `h`'s).
 *
 * @example
 * const step = makeEagerUpdate(h);
 * const f32 = (x: number) => tensor(x, { dtype: 'float32' });
 * const [next] = step(state, batch, key, { actorLr: f32(1e-3), criticLr: f32(1e-4), alphaLr: f32(3e-4) });
 */
export function makeEagerUpdate(h: SacHyperparameters): (state: SacState, batch: ReplayBatch, key: Tensor, rates?: SacRates) => [SacState, SacMetrics] {
  const fixed = { actorOpt: adam({ lr: h.actorLr }), criticOpt: adam({ lr: h.criticLr }), alphaOpt: adam({ lr: h.alphaLr }) };
  const estimator = estimatorOf(h);

  return (state: SacState, batch: ReplayBatch, key: Tensor, rates?: SacRates): [SacState, SacMetrics] => {
    checkBatch(h, batch);
    const { actorOpt, criticOpt, alphaOpt } = rates
      ? { actorOpt: adam({ lr: () => rates.actorLr }), criticOpt: adam({ lr: () => rates.criticLr }), alphaOpt: adam({ lr: () => rates.alphaLr }) }
      : fixed;
    const [kTarget, kActor, kAlpha] = T.random.split(key, 3);
    const alpha = T.exp(state.logAlpha);

    // Critics: regress both on y = r + γ (1 - terminated) (min Q'(s', a') - α log π(a'|s')).
    const [nextAction, nextLogProb] = policyAt(h, state.actor, batch.nextObs).sampleAndLogProb(kTarget);
    const [t1, t2] = state.targets;
    const nextQ = T.minimum(qValue(t1, batch.nextObs, nextAction), qValue(t2, batch.nextObs, nextAction));
    const notDone = T.sub(1, batch.terminated);
    const y = T.stopGradient(T.add(batch.reward, T.mul(T.mul(notDone, h.gamma), T.sub(nextQ, T.mul(alpha, nextLogProb)))));
    const criticLoss = (critics: readonly [MlpParams, MlpParams]) => {
      const q1 = qValue(critics[0], batch.obs, batch.action);
      const q2 = qValue(critics[1], batch.obs, batch.action);
      return [T.add(T.mean(T.square(T.sub(q1, y))), T.mean(T.square(T.sub(q2, y)))), T.mean(q1)];
    };
    const [[criticLossValue, meanQ], criticGrads] = valueAndGrad(criticLoss, { hasAux: true })(state.critics);
    const [critics, criticOptState] = criticOpt.update(criticGrads, state.criticOpt, state.critics);

    // Actor: ascend the estimator's surrogate against min(Q1, Q2) of the updated critics, held fixed.
    const frozen = treeMap((p: Tensor) => T.stopGradient(p), critics);
    const critic = stateActionCritic((s, a) => T.minimum(qValue(frozen[0], s, a), qValue(frozen[1], s, a)), batch.obs);
    const actorLoss = (actor: MlpParams) =>
      T.neg(
        estimator({
          policy: policyAt(h, actor, batch.obs),
          critic,
          alpha: T.stopGradient(alpha),
          key: kActor,
          baselineSamples: h.baselineSamples,
          temperature: h.gumbelTemperature,
        }),
      );
    const [actorLossValue, actorGrads] = valueAndGrad(actorLoss)(state.actor);
    const [actor, actorOptState] = actorOpt.update(actorGrads, state.actorOpt, state.actor);

    // Entropy scale: descend -log α · (log π + target entropy), with log π from the pre-update actor.
    const [, logProb] = policyAt(h, state.actor, batch.obs).sampleAndLogProb(kAlpha);
    const entropy = T.neg(T.mean(logProb));
    let logAlpha = state.logAlpha;
    let alphaOptState = state.alphaOpt;
    if (h.autoAlpha) {
      const gap = T.stopGradient(T.sub(h.targetEntropy, entropy));
      const alphaLoss = (la: Tensor) => T.neg(T.mul(la, gap));
      const [, alphaGrad] = valueAndGrad(alphaLoss)(state.logAlpha);
      [logAlpha, alphaOptState] = alphaOpt.update(alphaGrad, state.alphaOpt, state.logAlpha);
    }

    const targets = [polyak(state.targets[0], critics[0], h.tau), polyak(state.targets[1], critics[1], h.tau)] as const;
    return [
      { actor, critics, targets, logAlpha, actorOpt: actorOptState, criticOpt: criticOptState, alphaOpt: alphaOptState },
      { criticLoss: criticLossValue, actorLoss: actorLossValue, alpha, entropy, meanQ },
    ];
  };
}
