/** Tensors made from sizes and values rather than data. */
import { allocate, checkDtype, type DType, isFloat, type TypedArray, typedArrayFrom } from '../dtype';
import { ArgumentError } from '../errors';
import { checkShape, type Shape, sizeOf } from '../shape';
import type { Backend } from '../backend';
import type { ArrayTensor, Tensor } from '../tensor';
import { type CreateOptions, tensor } from './convert';

/**
 * A tensor of `shape` filled with `value` (float32 unless `dtype` says otherwise).
 *
 * @example
 * full([2, 3], 7); // f32[2,3] of sevens
 */
export function full(shape: Shape, value: number | boolean, options: CreateOptions = {}): ArrayTensor {
  return filled('full', shape, value, options);
}

/** `full` under the name of the op the user called, so that shape errors name it. */
function filled(op: string, shape: Shape, value: number | boolean, options: CreateOptions): ArrayTensor {
  checkShape(op, shape);
  const dtype = checkDtype(op, options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32'));
  const data = allocate(dtype, sizeOf(shape), op);
  // The value stored as `tensor` stores it: a bool as 0 or 1 (NaN true), an integer only in range.
  data.fill(typedArrayFrom(op, dtype, [value])[0]);
  return tensor(data, { shape, dtype, backend: options.backend });
}

/** @example zeros([3]); // f32[3] [0, 0, 0] */
export const zeros = (shape: Shape, options: CreateOptions = {}): ArrayTensor => filled('zeros', shape, 0, options);

/** @example ones([2, 2], { dtype: 'float64' }); */
export const ones = (shape: Shape, options: CreateOptions = {}): ArrayTensor => filled('ones', shape, 1, options);

const likeOptions = (x: Tensor, options: CreateOptions): CreateOptions => ({
  dtype: options.dtype ?? x.dtype,
  backend: options.backend ?? x.backend,
});

/** @example zerosLike(x); // zeros with x's shape, dtype and backend */
export const zerosLike = (x: Tensor, options: CreateOptions = {}): ArrayTensor => full(x.shape, 0, likeOptions(x, options));

/** @example onesLike(x); */
export const onesLike = (x: Tensor, options: CreateOptions = {}): ArrayTensor => full(x.shape, 1, likeOptions(x, options));

/** @example fullLike(x, -1); */
export const fullLike = (x: Tensor, value: number | boolean, options: CreateOptions = {}): ArrayTensor =>
  full(x.shape, value, likeOptions(x, options));

/**
 * Evenly spaced values in [start, stop) (NumPy's `arange`): int32 when all arguments are integers,
 * float32 otherwise.
 *
 * @example
 * arange(4); // i32[4] [0, 1, 2, 3]
 * arange(0, 1, 0.25); // f32[4] [0, 0.25, 0.5, 0.75]
 */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): ArrayTensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step) || step === 0) {
    throw new ArgumentError(`arange: need finite start, stop and a nonzero step, got ${start}, ${stop}, ${step}`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDtype('arange', options.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'int32' : 'float32'));
  return tensor(spaced('arange', dtype, n, (i) => start + i * step), { shape: [n], dtype, backend: options.backend });
}

/**
 * `value(i)` for i < n as `dtype`, stored as `tensor` stores numbers: an integer outside the dtype's
 * range (or NaN) is a DTypeError naming `op`, not a wrapped value; a bool is `value != 0`.
 */
function spaced(op: string, dtype: DType, n: number, value: (i: number) => number): TypedArray {
  const out = allocate(dtype, n, op);
  if (isFloat(dtype)) {
    for (let i = 0; i < n; i++) out[i] = value(i);
    return out;
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = value(i);
  return typedArrayFrom(op, dtype, values);
}

/**
 * `num` evenly spaced values from `start` to `stop` inclusive.
 *
 * @example
 * linspace(0, 1, 5); // f32[5] [0, 0.25, 0.5, 0.75, 1]
 */
export function linspace(start: number, stop: number, num: number, options: CreateOptions = {}): ArrayTensor {
  if (!Number.isInteger(num) || num < 0) throw new ArgumentError(`linspace: num must be a non-negative integer, got ${num}`);
  const dtype = checkDtype('linspace', options.dtype ?? 'float32');
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  // Integer dtypes floor (NumPy, JAX).
  const at = (i: number) => (i === num - 1 && num > 1 ? stop : start + i * step);
  const values = spaced('linspace', dtype, num, dtype === 'int32' || dtype === 'uint32' ? (i) => Math.floor(at(i)) : at);
  return tensor(values, { shape: [num], dtype, backend: options.backend });
}

/**
 * An `n` x `m` matrix with ones on the diagonal `k` (0 = main, positive = above).
 *
 * @example
 * eye(3); // f32[3,3] identity
 */
export function eye(n: number, m = n, k = 0, options: CreateOptions = {}): ArrayTensor {
  checkShape('eye', [n, m]);
  const dtype = checkDtype('eye', options.dtype ?? 'float32');
  const data = allocate(dtype, n * m, 'eye');
  for (let i = 0; i < n; i++) {
    const j = i + k;
    if (j >= 0 && j < m) data[i * m + j] = 1;
  }
  return tensor(data, { shape: [n, m], dtype, backend: options.backend });
}

/**
 * A copy of a concrete tensor on another backend (reads it back, then uploads).
 *
 * @example
 * const onGpu = await toBackend(x, getBackend('webgpu'));
 */
export async function toBackend(x: Tensor, backend: Backend): Promise<ArrayTensor> {
  const values = await x.data();
  return tensor(values, { shape: x.shape, dtype: x.dtype, backend });
}
