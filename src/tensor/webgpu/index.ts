/** The WebGPU backend: WGSL kernels on Dawn. */
export { type AdapterSummary, WebGPUBackend, type WebGPUBackendOptions } from './backend';
export { WebGPUError } from './errors';
export { type BackendChoice, createWebGPUBackend, initBackend } from './init';
export type { PoolStats } from './pool';
export type { MatmulTiles } from './matmul-kernels';
export type { KernelTime, Profile } from './profile';
export type { DawnTicks } from './ticks';
