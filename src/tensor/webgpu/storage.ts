/** GPU storage of tensors: a pooled buffer shared, with a reference count, by the tensors viewing it. */
/// <reference types="@webgpu/types" />
import type { Aval } from '../primitives';

/** One pooled buffer and the number of live tensor handles that use it. */
export class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer) {}
}

/**
 * What a WebGPU tensor holds: a fresh object per tensor (so the garbage collector can tell when a
 * tensor is gone) pointing at possibly shared storage.
 */
export interface GpuHandle {
  readonly storage: Storage;
  released: boolean;
}

/** A kernel's view of one input. */
export interface GpuInput {
  readonly storage: Storage;
  readonly aval: Aval;
}

/** Bytes of a tensor on the GPU: every dtype is stored in 32-bit words. */
export const bytesOf = (size: number): number => size * 4;
