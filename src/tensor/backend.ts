import type { DType, TypedArray } from './dtype';
import type { Aval, Params, Primitive } from './primitives';

/** Storage of one tensor on a backend: a typed array on the CPU, a GPU buffer on WebGPU. */
export type Handle = unknown;

/** An input to a kernel: its storage and abstract value. */
export interface KernelInput {
  readonly handle: Handle;
  readonly aval: Aval;
}

/**
 * What a backend offers the tensor layer: make storage from host values, run one primitive, read
 * storage back, release it. Backends never see tracers or gradients.
 */
export interface Backend {
  /** `cpu` or `webgpu`; shown in errors and `toString`. */
  readonly name: string;
  /** Whether float64 tensors can live here (WebGPU has no f64). */
  supports(dtype: DType): boolean;
  /** Storage holding `values` (already of the aval's dtype and size). */
  upload(values: TypedArray, aval: Aval): Handle;
  /** Runs one primitive; `out` is the output aval from the shape rule. */
  execute<P extends Primitive>(prim: P, inputs: readonly KernelInput[], params: Params<P>, out: Aval): Handle;
  /** Reads storage back to the host. */
  read(handle: Handle, aval: Aval): Promise<TypedArray>;
  /** Synchronous read, where the backend can (CPU only). */
  readSync?(handle: Handle, aval: Aval): TypedArray;
  /**
   * The values of a small tensor uploaded from the host, known without reading the device (how a
   * jit program's scalar constants are compared on WebGPU); undefined when not kept.
   */
  uploadedValues?(handle: Handle): TypedArray | undefined;
  /** Returns storage to the backend; the handle is not used afterwards. */
  release(handle: Handle): void;
}
