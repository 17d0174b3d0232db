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
// Boundaries that read user input (makeEnvEither, loadRun, resolveConfig, ...) return fp-ts's Either:
// its type and guards come with the package, so a caller needs no import of fp-ts.
export { type Either, isLeft, isRight } from 'fp-ts/lib/Either.js';
