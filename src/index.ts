/**
 * mixrl: entropy-regularized actor-critic research in TypeScript.
 *
 * Layers (each imports only from the ones before it): tensor, autodiff, distributions, rl, envs,
 * experiments. See docs/ARCHITECTURE.md.
 */
export * from './tensor';
export * from './autodiff';
export * from './distributions';
export * from './rl';
export * as envs from './envs';
export * as experiments from './experiments';
