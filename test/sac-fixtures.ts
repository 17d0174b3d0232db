/** Small SAC hyperparameters for tests: what the tests vary is named, the rest is SAC-v2's defaults. */
import type { PolicyHeadConfig } from '../src/distributions/head';
import type { SacHyperparameters } from '../src/rl/sac/update';

export interface SmallSac {
  readonly obsDim: number;
  readonly head: PolicyHeadConfig;
  readonly estimator: SacHyperparameters['estimator'];
  readonly hidden: readonly number[];
  /** Actor, critic and alpha learning rate (default 3e-4). */
  readonly lr?: number;
  readonly alpha?: number;
  readonly baselineSamples?: number;
  readonly dtype?: 'float32' | 'float64';
}

/** SAC hyperparameters with automatic alpha (target entropy -actionDim), tau 0.005, Torch init. */
export function smallSac({ obsDim, head, estimator, hidden, lr = 3e-4, alpha = 0.1, baselineSamples = 0, dtype = 'float32' }: SmallSac): SacHyperparameters {
  return {
    obsDim,
    head,
    estimator,
    hidden: [...hidden],
    init: 'torch',
    gamma: 0.99,
    tau: 0.005,
    actorLr: lr,
    criticLr: lr,
    alphaLr: lr,
    alpha,
    autoAlpha: true,
    targetEntropy: -head.actionDim,
    baselineSamples,
    gumbelTemperature: 0.1,
    dtype,
  };
}
