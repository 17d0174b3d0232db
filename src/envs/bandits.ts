/**
 * One-step continuous bandits whose reward is a scaled sum of Gaussian densities:
 *
 *     r(a) = scale * sum_k weights[k] * N(a; means[k], stds[k]),   scale = 1 / max_{low <= a <= high} of the sum
 *
 * so the best action in the box earns exactly 1 (up to rounding). An episode is one step: the
 * observation is the constant `[0]`, the action is clipped to `[low, high]`, and the step terminates.
 * The parameters are plain arrays so that a differentiable version can be rebuilt elsewhere.
 */
import { type EnvModel, clip } from './core';
import { EnvError, formatVector } from './errors';
import { Box } from './spaces';
import { rawKey, UniformStream } from '../tensor/threefry';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** A bandit model: an `EnvModel` that also exposes its reward function and parameters. */
export interface GaussianBandit extends EnvModel {
  readonly means: readonly number[];
  readonly stds: readonly number[];
  readonly weights: readonly number[];
  /** The normalizer: `1 / max` of the unscaled sum over the action box. */
  readonly scale: number;
  /** The action box's bounds (the action is 1-dimensional). */
  readonly low: number;
  readonly high: number;
  /** The reward at `a` (entry 0 of a vector), not clipped: a smooth function on the whole real line. */
  reward(a: Float64Array | number): number;
}

function densitySum(a: number, means: readonly number[], stds: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < means.length; k++) {
    const z = (a - means[k]) / stds[k];
    sum += (weights[k] * INV_SQRT_2PI * Math.exp(-0.5 * z * z)) / stds[k];
  }
  return sum;
}

/**
 * Fixed-point (mean-shift) ascent to a stationary point of the density sum: a <- sum_k p_k mu_k / s_k^2
 * / sum_k p_k / s_k^2 with p_k the k-th weighted density at a; each fixed point has zero derivative.
 */
function meanShift(a: number, means: readonly number[], stds: readonly number[], weights: readonly number[]): number {
  for (let it = 0; it < 10_000; it++) {
    let num = 0;
    let den = 0;
    for (let k = 0; k < means.length; k++) {
      const z = (a - means[k]) / stds[k];
      const p = (weights[k] * Math.exp(-0.5 * z * z)) / stds[k] / (stds[k] * stds[k]);
      num += p * means[k];
      den += p;
    }
    if (!(den > 0)) return a;
    const next = num / den;
    if (Math.abs(next - a) <= 1e-15 * Math.max(1, Math.abs(a))) return next;
    a = next;
  }
  return a;
}

/**
 * The maximum of the density sum over `[low, high]`: the best of the two ends and of mean-shift ascents
 * started from every mean and from the best point of a grid with spacing <= min(std) / 8, each kept in
 * the box.
 */
function maxOnBox(means: readonly number[], stds: readonly number[], weights: readonly number[], low: number, high: number): number {
  const f = (a: number) => densitySum(a, means, stds, weights);
  const n = Math.max(2, Math.ceil(((high - low) * 8) / Math.min(...stds)));
  let bestGrid = low;
  for (let i = 0; i <= n; i++) {
    const a = low + ((high - low) * i) / n;
    if (f(a) > f(bestGrid)) bestGrid = a;
  }
  let best = Math.max(f(low), f(high), f(bestGrid));
  for (const start of [...means, bestGrid]) {
    const a = clip(meanShift(clip(start, low, high), means, stds, weights), low, high);
    best = Math.max(best, f(a));
  }
  return best;
}

function banditModel(
  id: string,
  means: readonly number[],
  stds: readonly number[],
  weights: readonly number[],
  low: number,
  high: number,
): GaussianBandit {
  const scale = 1 / maxOnBox(means, stds, weights, low, high);
  const reward = (a: Float64Array | number): number =>
    scale * densitySum(typeof a === 'number' ? a : a[0], means, stds, weights);
  return {
    id,
    means: Object.freeze([...means]),
    stds: Object.freeze([...stds]),
    weights: Object.freeze([...weights]),
    scale,
    low,
    high,
    reward,
    observationSpace: new Box([0], [0]),
    actionSpace: new Box([low], [high]),
    stateLayout: [],
    maxEpisodeSteps: Infinity,
    initialState() {},
    transition(_s, _o, a, ao, out) {
      out.reward = reward(clip(a[ao], low, high));
      out.terminated = true;
    },
    observe(_s, _o, obs, oo) {
      obs[oo] = 0;
    },
  };
}

function checkBox(id: string, low: number, high: number): void {
  if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) {
    throw new EnvError('invalid-config', `${id}: the action box needs finite low < high, got [${low}, ${high}]`);
  }
}

function checkRange(id: string, name: string, range: readonly [number, number], positive: boolean): void {
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi && (!positive || lo > 0))) {
    throw new EnvError(
      'invalid-config',
      `${id}: ${name} must be a finite range lo <= hi${positive ? ' with lo > 0' : ''}, got ${formatVector(range)}`,
    );
  }
}

/** Options of `bimodalBandit`. */
export interface BimodalBanditConfig {
  /** The two modes; default `[-1, 1]`. */
  means?: readonly [number, number];
  /** The common standard deviation; default 0.1 (the paper studies 0.05 .. 0.2). */
  std?: number;
  /** The action box; default -2 .. 2 (the authors' code). */
  low?: number;
  high?: number;
}

/**
 * The bimodal bandit of the paper's Sec. 3.2: two equal Gaussian bumps (weights 1, 1), normalized so
 * that the best action in the box earns 1.
 *
 * @example
 * const bandit = bimodalBandit({ std: 0.2 });
 * bandit.reward(1); // ~1: the right mode
 * new ModelEnv(bandit).reset().obs; // Float64Array [0]
 */
export function bimodalBandit(config: BimodalBanditConfig = {}): GaussianBandit {
  const id = 'BimodalBandit';
  const means = config.means ?? [-1, 1];
  const std = config.std ?? 0.1;
  const low = config.low ?? -2;
  const high = config.high ?? 2;
  checkBox(id, low, high);
  if (means.length !== 2 || !means.every(Number.isFinite)) {
    throw new EnvError('invalid-config', `${id}: means must be two finite numbers, got ${formatVector(means)}`);
  }
  if (!(Number.isFinite(std) && std > 0)) {
    throw new EnvError('invalid-config', `${id}: std must be a positive number, got ${std}`);
  }
  return banditModel(id, [...means], [std, std], [1, 1], low, high);
}

/** Options of `syntheticBandit`. The paper's ranges were lost in extraction; these defaults are ours. */
export interface SyntheticBanditConfig {
  /** Seed of the generator (a safe integer); default 0. */
  seed?: number;
  /** Number of Gaussian densities N; default 5. */
  modes?: number;
  /** Means are drawn from U[lo, hi); default `[-1.5, 1.5]`. */
  meanRange?: readonly [number, number];
  /** Standard deviations are drawn from U[lo, hi); default `[0.05, 0.2]`. */
  stdRange?: readonly [number, number];
  /** The action box; default -2 .. 2. */
  low?: number;
  high?: number;
}

/**
 * A synthetic multimodal bandit (paper Sec. 5.1): the reward is proportional to the sum of N Gaussian
 * densities (weights 1) whose means and then standard deviations are drawn, in that order, from
 * `UniformStream(rawKey(seed))`. Same seed and options, same bandit.
 *
 * @example
 * const bandit = syntheticBandit({ seed: 3, modes: 4 });
 * bandit.means; // 4 numbers in [-1.5, 1.5)
 */
export function syntheticBandit(config: SyntheticBanditConfig = {}): GaussianBandit {
  const id = 'SyntheticBandit';
  const seed = config.seed ?? 0;
  const modes = config.modes ?? 5;
  const meanRange = config.meanRange ?? [-1.5, 1.5];
  const stdRange = config.stdRange ?? [0.05, 0.2];
  const low = config.low ?? -2;
  const high = config.high ?? 2;
  if (!Number.isSafeInteger(seed)) {
    throw new EnvError('invalid-seed', `${id}: seed must be a safe integer, got ${seed}`);
  }
  if (!(Number.isSafeInteger(modes) && modes > 0)) {
    throw new EnvError('invalid-config', `${id}: modes must be a positive integer, got ${modes}`);
  }
  checkBox(id, low, high);
  checkRange(id, 'meanRange', meanRange, false);
  checkRange(id, 'stdRange', stdRange, true);
  const rng = new UniformStream(rawKey(seed));
  const means = Array.from({ length: modes }, () => rng.uniform(meanRange[0], meanRange[1]));
  const stds = Array.from({ length: modes }, () => rng.uniform(stdRange[0], stdRange[1]));
  return banditModel(id, means, stds, new Array<number>(modes).fill(1), low, high);
}
