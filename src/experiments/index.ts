/** Training runs: configuration, the loop, checkpoints of whole runs, evaluation, diagnostics. */
export { CLASSIC_DEFAULTS, ConfigError, defaultsFor, resolveConfig, SAC_V2_DEFAULTS, type TrainConfig, validatePartial } from './config';
export {
  act,
  createRun,
  type EpisodeRecord,
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
export { batchProblem, type RunHooks, trainBatch } from './train-batch';
export {
  type EpisodeResults,
  evalSeed,
  evaluate,
  evaluateEpisodes,
  evaluateRun,
  type EvaluationRecord,
  type EvaluationStats,
  evaluationStats,
} from './evaluation';
export { crc32c, encodeEvent, EventFileWriter, type EventFileWriterOptions, type EventFields, maskedCrc32c, tfRecord } from './tensorboard';
export { type Agreement, compareSacUpdate } from './agreement';
export {
  type ExperimentContext,
  type ExperimentResult,
  type Figure,
  PAPER_EXPERIMENTS,
  type PaperExperiment,
  renderSvg,
  type Scale,
  type Series,
  type Table,
  tableToCsv,
} from './paper';
export {
  ACTOR_LR_RATIO,
  checkSettings,
  defaultCriticLr,
  expandGrid,
  type GridAxis,
  parseGrid,
  parseGridAxis,
  type RankedSetting,
  rankSettings,
  type Rerun,
  rerunSeeds,
  runName,
  runSweep,
  type Setting,
  settingSpecs,
  type SweepResult,
  type SweepTask,
  sweepSpecs,
  summarizeRerun,
} from './sweep';
