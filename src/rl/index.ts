/**
 * The RL layer's building blocks: MLPs as pytrees, optimizers, Polyak averaging, the replay buffer,
 * checkpoint files and weight files for NumPy, PyTorch and JAX (`.npz`, `.safetensors`). See docs/rl.md.
 */
export { type Activation, type Dense, initMlp, type InitMlpOptions, mlp, type MlpInit, type MlpOptions, type MlpParams } from './mlp';
export {
  adagrad,
  type AdagradConfig,
  type AdagradState,
  adam,
  type AdamConfig,
  type AdamState,
  adamw,
  type AdamWConfig,
  chain,
  clipByGlobalNorm,
  clipByGlobalNormTransform,
  cosineDecaySchedule,
  type EmptyState,
  globalNorm,
  type GradientTransformation,
  linearSchedule,
  type Optimizer,
  rmsprop,
  type RmspropConfig,
  type RmspropState,
  type Schedule,
  sgd,
  type SgdConfig,
  type SgdState,
  type StatesOf,
} from './optim';
export { polyak } from './polyak';
export {
  ReplayBuffer,
  type ReplayArrays,
  type ReplayBatch,
  type ReplayConfig,
  type ReplayState,
  type ReplayStorage,
  type SampleOptions,
  type Transitions,
} from './replay';
export { loadCheckpoint, type LoadOptions, saveCheckpoint } from './checkpoint';
export { type Checkpoint, decodeCheckpoint, encodeCheckpoint, type Json, type RawArray } from './serialize';
export * from './interop';
export { crc32 } from './crc32';
export { CheckpointError, type CheckpointErrorCode, ReplayError, type ReplayErrorCode } from './errors';
export * as estimators from './estimators';
export * from './sac';
