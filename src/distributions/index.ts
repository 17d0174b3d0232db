/** Distributions as values: Normal, Cauchy, Categorical, tanh squashing, mixtures, Gumbel-softmax. */
export type { Distribution, LocScale, Reparameterized } from './types';
export { isReparameterized } from './types';
export { cauchy, normal } from './loc-scale';
export { type Categorical, categorical } from './categorical';
export { type Mixture, mixture, uniformMixture } from './mixture';
export { type Squashed, squash } from './squash';
export { type GumbelSoftmax, gumbelSoftmax } from './gumbel-softmax';
export { headSize, type PolicyHeadConfig, policyFromHead, type SquashedPolicy } from './head';
export { type EntropyBounds, type EntropyEstimate, mixtureEntropyBounds, monteCarloEntropy } from './entropy';
