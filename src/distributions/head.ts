/**
 * Policy heads: from a network's output to the policy distribution. Layouts (last axis):
 * single: [mean (A) | log-std (A)] = 2A numbers; mixture: [logits (K) | means (K·A) | log-stds (K·A)]
 * = 2KA + K; uniform mixture: [means (K·A) | log-stds (K·A)] = 2KA.
 */
import * as T from '../tensor';
import { ArgumentError, formatShape, ShapeError, type Tensor } from '../tensor';
import { describe, requireTensor } from './checks';
import { cauchy, normal } from './loc-scale';
import { type Mixture, mixture, uniformMixture } from './mixture';
import { type Squashed, squash } from './squash';
import type { LocScale } from './types';

export interface PolicyHeadConfig {
  /** Action dimension A. */
  actionDim: number;
  /** `single` (K = 1, no weights), `mixture` (learned weights) or `uniform` (weights 1/K). */
  kind: 'single' | 'mixture' | 'uniform';
  /** Number of components K (ignored for `single`). */
  components?: number;
  family?: 'normal' | 'cauchy';
  low: number | readonly number[];
  high: number | readonly number[];
  /** Bounds for log-std (SAC: [-20, 2]; the paper's earlier code: ±ln 1000). */
  logStdMin?: number;
  logStdMax?: number;
  /** `clip` clamps log-std; `tanh` maps it smoothly into [min, max]. */
  logStdSquash?: 'clip' | 'tanh';
}

/** Squashed single-component or mixture policies, as the estimators consume them. */
export type SquashedPolicy = Squashed<LocScale> | Squashed<Mixture>;

/**
 * The number of outputs the network must produce for a head.
 *
 * @example
 * headSize({ actionDim: 1, kind: 'mixture', components: 5, low: -1, high: 1 }); // 15
 */
export function headSize(config: PolicyHeadConfig): number {
  const { A, K } = headDims('headSize', config);
  return config.kind === 'mixture' ? 2 * K * A + K : 2 * K * A;
}

/** A and K of `config`, checked with its kind, family and log-std squashing; errors name `where` and the key. */
function headDims(where: string, config: PolicyHeadConfig): { A: number; K: number } {
  if (typeof config !== 'object' || config === null) throw new ArgumentError(`${where}: config must be an object, got ${describe(config)}`);
  oneOf(where, 'kind', config.kind, ['single', 'mixture', 'uniform']);
  oneOf(where, 'family', config.family ?? 'normal', ['normal', 'cauchy']);
  oneOf(where, 'logStdSquash', config.logStdSquash ?? 'clip', ['clip', 'tanh']);
  const A = config.actionDim;
  const K = config.kind === 'single' ? 1 : (config.components ?? 5);
  if (!Number.isInteger(A) || A < 1) throw new ArgumentError(`${where}: actionDim must be a positive integer, got ${A}`);
  if (!Number.isInteger(K) || K < 1) throw new ArgumentError(`${where}: components must be a positive integer, got ${K}`);
  return { A, K };
}

function oneOf(where: string, key: string, value: unknown, known: readonly string[]): void {
  if (!known.includes(value as string)) throw new ArgumentError(`${where}: unknown ${key} '${String(value)}' (known: ${known.join(', ')})`);
}

/**
 * Builds the squashed policy distribution from head outputs `[...batch, headSize(config)]`.
 *
 * @example
 * const cfg = { actionDim: 1, kind: 'mixture', components: 5, low: -2, high: 2 } as const;
 * const policy = policyFromHead(mlp(params, obs), cfg); // Squashed<Mixture>, batch [B]
 */
export function policyFromHead(out: Tensor, config: PolicyHeadConfig): SquashedPolicy {
  requireTensor('policyFromHead', 'out', out);
  const { A, K } = headDims('policyFromHead', config);
  const size = headSize(config);
  if (out.shape[out.ndim - 1] !== size) {
    throw new ShapeError(`policyFromHead: head output ${formatShape(out.shape)} must end in ${size} for ${config.kind} with K=${K}, A=${A}`);
  }
  const batch = out.shape.slice(0, -1);
  const logitCount = config.kind === 'mixture' ? K : 0;
  const take = (start: number, count: number) => T.slice(out, ...batch.map(() => null), [start, start + count]);
  const means = take(logitCount, K * A);
  const rawLogStd = take(logitCount + K * A, K * A);
  const logStd = boundLogStd(rawLogStd, config);
  const family = config.family === 'cauchy' ? cauchy : normal;
  const squashing = squash(config.low, config.high);
  if (config.kind === 'single') return squashing(family(means, T.exp(logStd)));
  const shape = [...batch, K, A];
  const components = family(T.reshape(means, shape), T.exp(T.reshape(logStd, shape)));
  return squashing(config.kind === 'mixture' ? mixture(take(0, K), components) : uniformMixture(components));
}

function boundLogStd(raw: Tensor, config: PolicyHeadConfig): Tensor {
  const min = config.logStdMin ?? -20;
  const max = config.logStdMax ?? 2;
  for (const [key, v] of [['logStdMin', min], ['logStdMax', max]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new ArgumentError(`policyFromHead: ${key} must be a number, got ${typeof v === 'number' ? v : describe(v)}`);
  }
  if (!(min < max)) throw new ArgumentError(`policyFromHead: logStdMin ${min} must be below logStdMax ${max}`);
  if (config.logStdSquash === 'tanh') return T.add(T.mul(T.add(T.tanh(raw), 1), 0.5 * (max - min)), min);
  return T.clip(raw, min, max);
}
