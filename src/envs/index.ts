/**
 * mixrl's environments: the paper's classic-control worlds and bandits with Gymnasium's conventions on
 * plain float64 arrays, and a researcher's own through `registerEnv`. See docs/envs.md.
 */
export { EnvError, type EnvErrorCode } from './errors';
export { Box } from './spaces';
export {
  type Env,
  type EnvModel,
  type ResetArgs,
  type ResetResult,
  type StepResult,
  type TimeLimitConfig,
  type Transition,
  ModelEnv,
} from './core';
export { VectorEnv, type VectorResetArgs, type VectorStepResult } from './vector';
export { angleNormalize, pendulum, shapedPendulum, pendulumV1, type PendulumConfig } from './pendulum';
export { acrobot, shapedAcrobot } from './acrobot';
export { mountainCar, shapedMountainCar, mountainCarContinuousV0 } from './mountain-car';
export {
  bimodalBandit,
  syntheticBandit,
  type GaussianBandit,
  type BimodalBanditConfig,
  type SyntheticBanditConfig,
} from './bandits';
export {
  envIds,
  makeModel,
  makeEnv,
  makeEnvEither,
  makeVectorEnv,
  registerEnv,
  isBuiltInEnv,
  envDescription,
  type EnvId,
  type EnvOptions,
} from './registry';
export { type EnvSpec } from './custom';
export { checkEnv, type CheckOptions } from './check';
