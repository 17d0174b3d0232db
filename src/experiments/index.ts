/** Training runs: configuration, the loop, checkpoints of whole runs, evaluation, diagnostics. */
export { CLASSIC_DEFAULTS, ConfigError, defaultsFor, resolveConfig, SAC_V2_DEFAULTS, type TrainConfig, validatePartial } from './config';
export {
  act,
  createRun,
  type EpisodeRecord,
  evaluate,
  hyperparameters,
  loadRun,
  recentReturn,
  type Rollout,
  type Run,
  type RunOptions,
  saveRun,
  train,
  type TrainHooks,
} from './train';
export { type Agreement, compareSacUpdate } from './agreement';
