/** The tensor layer: immutable tensors, the primitive op set, backends and explicit randomness. */
import './methods';

export * from './ops';
export * as random from './random';
// Keys on the host, for code that draws on plain numbers (environments, the replay buffer).
export { checkRawKey, rawFoldIn, type RawKey, rawKey, rawSplit, UniformStream } from './threefry';
export { ArrayTensor, type Interpreter, type NestedArray, Tensor, Tracer } from './tensor';
export { bind, evaluate, newLevel } from './interpreter';
export type { Backend, Handle, KernelInput } from './backend';
export { cpu, defaultBackend, getBackend, registerBackend, setDefaultBackend } from './backends';
export { setCpuThreads } from './cpu/wasm/threads';
export { type DType, DTYPES, isFloat, isInteger, promoteTypes, type TypedArray } from './dtype';
export { ArgumentError, BackendError, DTypeError, MixrlError, ShapeError } from './errors';
export * from './primitives';
export { broadcastShapes, formatShape, type Shape, sizeOf } from './shape';
export * from './webgpu';
