/**
 * Joint mixtures: a categorical over K components, each a diagonal distribution over the whole event
 * vector (the paper's SGM before squashing). The density is computed as
 * logsumexp_k(log w_k + log p_k(x)) with log-softmax weights, stable and gradient safe.
 */
import * as T from '../tensor';
import { ArgumentError, DTypeError, formatShape, ShapeError, type Shape, type Tensor } from '../tensor';
import { categorical, type Categorical } from './categorical';
import { checkedDraw, checkValue, describe, requireTensor } from './checks';
import type { LocScale, Reparameterized } from './types';

export interface Mixture extends Reparameterized {
  /** Component logits `[...batch, K]`; constant zeros for a uniform-weight mixture. */
  readonly logits: Tensor;
  /** Whether the weights are fixed to 1/K (no logits head, no weight gradient). */
  readonly uniform: boolean;
  readonly components: LocScale;
  readonly numComponents: number;
  /** The categorical over components. */
  weights(): Categorical;
  /** Log-densities of x under every component, `[...sample, ...batch, K]`. */
  componentLogProbs(x: Tensor): Tensor;
  /** One reparameterized draw from every component, `[...sample, ...batch, K, A]`. */
  componentRsample(key: Tensor, sampleShape?: Shape): Tensor;
  /** Picks component `z` (int32 `[...sample, ...batch]`) from per-component values `[..., K, A]`. */
  select(perComponent: Tensor, z: Tensor): Tensor;
  /** The location of the most likely component (an approximate mode, used for greedy actions). */
  readonly mode: Tensor;
}

/**
 * A joint mixture of `components` (batch `[...batch, K]`, event `[A]`) weighted by `softmax(logits)`.
 * `rsample` reparameterizes within the sampled component (no gradient reaches the weights; the
 * estimators handle the weights).
 *
 * @example
 * const m = mixture(logits, normal(means, stds)); // logits [B, K], means/stds [B, K, A]
 * m.logProb(actions); // [B]
 */
export function mixture(logits: Tensor, components: LocScale): Mixture {
  checkComponents('mixture', components);
  requireTensor('mixture', 'logits', logits);
  return buildMixture('mixture', logits, components, false);
}

/**
 * A mixture with weights fixed to 1/K (the paper's USGM): no logits head.
 *
 * @example
 * uniformMixture(normal(means, stds)).logProb(x);
 */
export function uniformMixture(components: LocScale): Mixture {
  checkComponents('uniformMixture', components);
  const logits = T.zeros(components.batchShape, { dtype: components.loc.dtype, backend: components.loc.backend });
  return buildMixture('uniformMixture', logits, components, true);
}

function checkComponents(where: string, components: unknown): asserts components is LocScale {
  const family = (components as Partial<LocScale> | null | undefined)?.family;
  if (family !== 'normal' && family !== 'cauchy') {
    throw new ArgumentError(`${where}: components must be normal(loc, scale) or cauchy(loc, scale) with loc [...batch, K, A], got ${describe(components)}`);
  }
}

function buildMixture(where: string, logits: Tensor, components: LocScale, uniform: boolean): Mixture {
  const batchShape = components.batchShape.slice(0, -1);
  if (logits.shape.join() !== components.batchShape.join()) {
    throw new ShapeError(
      `${where}: logits ${formatShape(logits.shape)} must have the components' batch shape ${formatShape(components.batchShape)} ([...batch, K])`,
    );
  }
  if (logits.dtype !== components.loc.dtype) {
    throw new DTypeError(`${where}: logits ${T.formatAval(logits.aval)} and the components' loc ${T.formatAval(components.loc.aval)} must share one dtype (cast one of them)`);
  }
  const K = logits.shape[logits.ndim - 1];
  if (!(K >= 1)) {
    throw new ShapeError(`${where}: components' batch shape ${formatShape(components.batchShape)} must end in K >= 1 components (loc [...batch, K, A])`);
  }
  const weights = () => categorical(logits);
  const componentLogProbs = (x: Tensor) => components.logProb(T.expandDims(x, -2));
  const logProb = (x: Tensor) => {
    checkValue('mixture.logProb', 'x', x, batchShape, components.eventShape);
    return T.logsumexp(T.add(T.logSoftmax(logits, -1), componentLogProbs(x)), -1);
  };
  const select = (perComponent: Tensor, z: Tensor) => T.squeeze(T.takeAlongAxis(perComponent, T.expandDims(T.expandDims(z, -1), -1), -2), -2);
  const componentRsample = (key: Tensor, sampleShape: Shape = []) => components.rsample(key, sampleShape);
  const rsample = (key: Tensor, sampleShape: Shape = []) => {
    const [kz, kx] = T.random.split(key);
    return select(componentRsample(kx, sampleShape), weights().sample(kz, sampleShape));
  };
  const sample = (key: Tensor, sampleShape: Shape = []) => T.stopGradient(rsample(key, sampleShape));
  const best = T.argmax(logits, -1);
  return {
    logits,
    uniform,
    components,
    numComponents: K,
    batchShape,
    eventShape: components.eventShape,
    weights,
    componentLogProbs: (x) => {
      checkValue('mixture.componentLogProbs', 'x', x, batchShape, components.eventShape);
      return componentLogProbs(x);
    },
    componentRsample: checkedDraw('mixture.componentRsample', componentRsample),
    select,
    rsample: checkedDraw('mixture.rsample', rsample),
    sample: checkedDraw('mixture.sample', sample),
    logProb,
    sampleAndLogProb: checkedDraw('mixture.sampleAndLogProb', (key, sampleShape) => {
      const x = sample(key, sampleShape);
      return [x, logProb(x)];
    }),
    mode: select(components.loc, best),
  };
}
