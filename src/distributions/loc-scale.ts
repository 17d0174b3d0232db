/** Diagonal Normal and Cauchy distributions over the last axis. */
import * as T from '../tensor';
import { DTypeError, formatShape, ShapeError, type Shape, type Tensor } from '../tensor';
import { checkedDraw, checkValue, requireTensor } from './checks';
import type { LocScale } from './types';

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

interface Family {
  /** Standard noise of `shape` (dtype float32 or float64). */
  noise(key: Tensor, shape: Shape, dtype: 'float32' | 'float64'): Tensor;
  /** Log-density of the standardized value z, elementwise. */
  standardLogDensity(z: Tensor): Tensor;
  /** Entropy of the standard member, per dimension. */
  standardEntropy: number;
}

const FAMILIES: Record<LocScale['family'], Family> = {
  normal: {
    noise: (key, shape, dtype) => T.random.normal(key, shape, dtype),
    standardLogDensity: (z) => T.sub(T.mul(T.square(z), -0.5), HALF_LOG_TWO_PI),
    standardEntropy: 0.5 + HALF_LOG_TWO_PI,
  },
  cauchy: {
    // tan(pi (u - 1/2)) with u uniform on (0, 1).
    noise: (key, shape, dtype) => T.tan(T.mul(T.sub(T.random.uniform(key, shape, { dtype, minval: 2 ** -24, maxval: 1 }), 0.5), Math.PI)),
    standardLogDensity: (z) => T.neg(T.add(T.log1p(T.square(z)), Math.log(Math.PI))),
    standardEntropy: Math.log(4 * Math.PI),
  },
};

/**
 * The family's log-density of `offset` = x - loc at `scale`, element by element (no sum over the
 * event axis).
 *
 * @example
 * elementLogDensity('normal', tensor([0]), tensor([1])); // [-0.919] (-½ log 2π)
 */
export function elementLogDensity(family: LocScale['family'], offset: Tensor, scale: Tensor): Tensor {
  return T.sub(FAMILIES[family].standardLogDensity(T.div(offset, scale)), T.log(scale));
}

function locScale(family: LocScale['family'], loc: Tensor, scale: Tensor): LocScale {
  requireTensor(family, 'loc', loc);
  requireTensor(family, 'scale', scale);
  if (loc.ndim < 1 || loc.shape.join() !== scale.shape.join()) {
    throw new ShapeError(`${family}: loc ${formatShape(loc.shape)} and scale ${formatShape(scale.shape)} must share one shape of rank >= 1 (the last axis is the event)`);
  }
  if (loc.dtype !== scale.dtype) {
    throw new DTypeError(`${family}: loc ${T.formatAval(loc.aval)} and scale ${T.formatAval(scale.aval)} must share one dtype (cast one of them)`);
  }
  const f = FAMILIES[family];
  const batchShape = loc.shape.slice(0, -1);
  const eventShape = loc.shape.slice(-1);
  const dtype: 'float32' | 'float64' = loc.dtype === 'float64' ? 'float64' : 'float32';
  const noise = (key: Tensor, sampleShape: Shape = []) => f.noise(key, [...sampleShape, ...loc.shape], dtype);
  const rsample = (key: Tensor, sampleShape: Shape = []) => T.add(loc, T.mul(scale, noise(key, sampleShape)));
  const logProb = (x: Tensor) => {
    checkValue(`${family}.logProb`, 'x', x, batchShape, eventShape);
    return T.sum(elementLogDensity(family, T.sub(x, loc), scale), -1);
  };
  return {
    family,
    loc,
    scale,
    batchShape,
    eventShape,
    mode: loc,
    noise: checkedDraw(`${family}.noise`, noise),
    rsample: checkedDraw(`${family}.rsample`, rsample),
    sample: checkedDraw(`${family}.sample`, (key, sampleShape) => T.stopGradient(rsample(key, sampleShape))),
    logProb,
    sampleAndLogProb: checkedDraw(`${family}.sampleAndLogProb`, (key, sampleShape) => {
      const x = T.stopGradient(rsample(key, sampleShape));
      return [x, logProb(x)];
    }),
    entropy: () => T.sum(T.add(T.log(scale), f.standardEntropy), -1),
  };
}

/**
 * A Normal with diagonal covariance over the last axis: `loc` and `scale` of shape `[...batch, A]`.
 *
 * @example
 * const d = normal(zeros([32, 2]), ones([32, 2]));
 * d.logProb(d.sample(key(0))); // f32[32]
 */
export const normal = (loc: Tensor, scale: Tensor): LocScale => locScale('normal', loc, scale);

/**
 * A Cauchy with independent coordinates over the last axis (heavy tails; paper F.4).
 *
 * @example
 * cauchy(zeros([2]), ones([2])).entropy(); // 2 log(4 pi)
 */
export const cauchy = (loc: Tensor, scale: Tensor): LocScale => locScale('cauchy', loc, scale);
