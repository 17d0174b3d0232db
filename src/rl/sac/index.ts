/** Soft Actor-Critic: the agents by name and the pure update. */
export { type ActFn, type ActHow, type ActorOptions, type BatchedActFn, makeActor, makeBatchedActor } from './act';
export { AGENTS, type AgentName, type AgentSpec, agentNames } from './agents';
export {
  initSac,
  makeEagerUpdate,
  makeSacUpdate,
  policyAt,
  qValue,
  type SacHyperparameters,
  type SacMetrics,
  type SacRates,
  type SacState,
  type SacUpdate,
  type SacUpdateOptions,
} from './update';
export { type BatchedSacUpdate, initSacBatch, makeBatchedSacUpdate } from './batched';
