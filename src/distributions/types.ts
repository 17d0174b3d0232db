/**
 * Distributions are values: plain objects of tensors and pure functions of them. Every method is a
 * pure function of the distribution's parameters and its arguments (randomness only through explicit
 * keys), so distributions can be built inside `grad` and `jit`.
 */
import type { Shape, Tensor } from '../tensor';

export interface Distribution {
  /** Independent copies, e.g. `[B]` for a batch of states. */
  readonly batchShape: Shape;
  /** The shape of one draw, e.g. `[A]` for an action vector, `[]` for a category. */
  readonly eventShape: Shape;
  /** A draw of shape `[...sampleShape, ...batchShape, ...eventShape]`; no gradient flows through it. */
  sample(key: Tensor, sampleShape?: Shape): Tensor;
  /** Log-density (or log-mass) of `x`, shape `[...sampleShape, ...batchShape]`. */
  logProb(x: Tensor): Tensor;
  /** A draw and its log-density in one pass (cheaper and more accurate than logProb(sample)). */
  sampleAndLogProb(key: Tensor, sampleShape?: Shape): [Tensor, Tensor];
}

/** A distribution whose draws are differentiable functions of its parameters and a noise draw. */
export interface Reparameterized extends Distribution {
  /** Like `sample`, but gradients flow to the parameters. */
  rsample(key: Tensor, sampleShape?: Shape): Tensor;
}

/** A location-scale family with a diagonal scale over the last axis (the event axis). */
export interface LocScale extends Reparameterized {
  readonly family: 'normal' | 'cauchy';
  readonly loc: Tensor;
  readonly scale: Tensor;
  /** Closed-form differential entropy, shape `batchShape`. */
  entropy(): Tensor;
  /** Noise of shape `[...sampleShape, ...batchShape, ...eventShape]` mapped to a draw: loc + scale * noise. */
  noise(key: Tensor, sampleShape?: Shape): Tensor;
  readonly mode: Tensor;
}

/**
 * Whether `d` has a reparameterized draw (`rsample`), so gradients flow through its samples.
 *
 * @example
 * if (isReparameterized(d)) d.rsample(key); // a draw differentiable in d's parameters
 */
export function isReparameterized(d: Distribution): d is Reparameterized {
  return typeof (d as Partial<Reparameterized>).rsample === 'function';
}
