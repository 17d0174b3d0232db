/** Turning user values (numbers, nested arrays, typed arrays) into tensors. */
import type { Backend } from '../backend';
import { checkBackend, defaultBackend } from '../backends';
import { checkDtype, type DType, dtypeOfTypedArray, isInteger, promoteTypes, type TypedArray, typedArrayFrom, weakDtypeFor, weakDtypeOf } from '../dtype';
import { ArgumentError, DTypeError } from '../errors';
import { bind } from '../interpreter';
import { formatAval } from '../primitives';
import { checkShape, formatShape, type Shape, sizeOf } from '../shape';
import { ArrayTensor, type NestedArray, Tensor } from '../tensor';

/** What ops accept where a tensor is expected: a tensor, or plain values made into one. */
export type TensorLike = Tensor | number | boolean | NestedArray;

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
}

/**
 * A tensor from nested arrays, a typed array (with `shape`) or a number. The dtype defaults to the
 * typed array's, `bool` when every value is a boolean, and `float32` otherwise (booleans among numbers
 * count as 1 and 0, as in NumPy). A typed array is copied unless `copy`
 * is false (as `torch.as_tensor`): a CPU tensor of the array's own dtype then holds the array itself,
 * for arrays made to become a tensor (a sampled batch); writing to it later changes the tensor.
 *
 * @example
 * tensor([[1, 2], [3, 4]]); // f32[2,2]
 * tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] }); // f64[2,2]
 * tensor(new Float32Array(64), { shape: [32, 2], copy: false }); // f32[32,2] over that array
 * tensor([true, 2]); // f32[2] [1, 2]
 */
export function tensor(values: NestedArray | TypedArray, options: CreateOptions & { shape?: Shape; copy?: boolean } = {}): ArrayTensor {
  const backend = options.backend === undefined ? defaultBackend() : checkBackend('tensor', options.backend);
  if (options.dtype !== undefined) checkDtype('tensor', options.dtype);
  const fromTyped = dtypeOfTypedArray(values);
  if (fromTyped !== undefined) {
    const flat = values as TypedArray;
    const shape = checkShape('tensor', options.shape ?? [flat.length]);
    if (sizeOf(shape) !== flat.length) {
      throw new ArgumentError(`tensor: ${flat.length} values do not fill shape ${formatShape(shape)}`);
    }
    const dtype = options.dtype ?? fromTyped;
    // A Uint8Array taken as bool may hold bytes other than 0/1; typedArrayFrom normalizes them.
    const data = dtype === fromTyped && dtype !== 'bool' ? (options.copy === false ? flat : flat.slice()) : typedArrayFrom('tensor', dtype, flat);
    return upload(backend, data, shape, dtype);
  }
  const { shape, flat } = flatten(values as NestedArray);
  const dtype = options.dtype ?? (flat.length > 0 && flat.every((v) => typeof v === 'boolean') ? 'bool' : 'float32');
  for (let i = 0; i < flat.length; i++) {
    if (typeof flat[i] !== 'number' && typeof flat[i] !== 'boolean') {
      throw new ArgumentError(`tensor: element ${i} is ${typeof flat[i]}, not a number or boolean`);
    }
  }
  if (options.shape !== undefined) {
    checkShape('tensor', options.shape);
    if (sizeOf(options.shape) !== flat.length) {
      throw new ArgumentError(`tensor: ${flat.length} values do not fill shape ${formatShape(options.shape)}`);
    }
  }
  return upload(backend, typedArrayFrom('tensor', dtype, flat), options.shape ?? shape, dtype);
}

function upload(backend: Backend, data: TypedArray, shape: Shape, dtype: DType): ArrayTensor {
  const aval = { shape, dtype };
  if (!backend.supports(dtype)) {
    throw new ArgumentError(`tensor: the ${backend.name} backend has no ${dtype} tensors`);
  }
  return new ArrayTensor(backend, backend.upload(data, aval), shape, dtype);
}

/** Shape and row-major values of nested arrays; throws on ragged nesting, naming the path. */
function flatten(values: NestedArray): { shape: number[]; flat: (number | boolean)[] } {
  const shape: number[] = [];
  let level: unknown = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const flat: (number | boolean)[] = [];
  const visit = (v: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new ArgumentError(`tensor: ragged nested array at ${path || 'the top'}: expected a number`);
      flat.push(v as number | boolean);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ArgumentError(
        `tensor: ragged nested array at ${path || 'the top'}: expected ${shape[depth]} entries, got ${Array.isArray(v) ? v.length : 'a number'}`,
      );
    }
    // An index loop, not forEach: a hole ([1, , 3]) must reach the element check as undefined.
    for (let i = 0; i < v.length; i++) visit(v[i], depth + 1, `${path}[${i}]`);
  };
  visit(values, 0, '');
  return { shape, flat };
}

/**
 * A tensor from any TensorLike; plain values take `dtype` (or the defaults of `tensor`).
 *
 * @example
 * asTensor([1, 2]); // float32 [2]
 * asTensor(x) === x; // true
 */
export function asTensor(value: TensorLike, dtype?: DType, backend?: Backend): Tensor {
  if (value instanceof Tensor) return value.weak ? settled(value, dtype ?? numberDtype(value)) : value;
  return tensor(value, { dtype, backend });
}

/**
 * The dtype eager mode gives a number where no tensor gives it one (`tensor(k)`): float32, or bool for
 * a boolean; of a weak value (a number or boolean `jit` traced, `Tensor.weak`).
 */
const numberDtype = (k: Tensor): DType => (k.dtype === 'bool' ? 'bool' : 'float32');

/**
 * `x` as a tensor of `dtype`: cast where its dtype differs, and a weak value (`Tensor.weak`) always,
 * even to the dtype it has, so the result is an ordinary tensor: ops past `asTensor` and
 * `binaryOperands` never see a weak value (which reshape or sum would take for a number again), and a
 * function returning `asTensor(k)` returns a tensor where one returning `k` returns the number (`jit`
 * tells them apart by the value).
 */
function settled(x: Tensor, dtype: DType): Tensor {
  return x.weak ? bind('cast', [x], { dtype }) : castIfNeeded(x, dtype);
}

/**
 * The dtype `jit` holds a fractional number argument in until it meets a tensor (`Tensor.weak`):
 * float64 where the backend has it, so that next to a float64 tensor it has the full value a JS
 * number has in eager mode; float32 elsewhere.
 *
 * @example
 * weakFloatDtype(cpu); // 'float64'
 */
export function weakFloatDtype(backend: Backend): 'float32' | 'float64' {
  return backend.supports('float64') ? 'float64' : 'float32';
}

/**
 * Both operands of a binary op as tensors of one dtype: plain numbers take the other operand's dtype
 * (weak typing), two tensors are promoted.
 *
 * @example
 * const [a, b] = binaryOperands('add', x, 2); // a is x; b is 2 as a scalar of x's dtype
 */
export function binaryOperands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  // A weak value (a number `jit` traced, `Tensor.weak`) takes the part the number takes in eager mode:
  // next to a tensor it takes that tensor's dtype; next to another number, the first becomes a tensor.
  if (a instanceof Tensor && b instanceof Tensor) {
    const dtype =
      !a.weak && !b.weak
        ? promoteTypes(a.dtype, b.dtype, op)
        : !a.weak
          ? weakDtypeOf(a.dtype, b.dtype)
          : !b.weak
            ? weakDtypeOf(b.dtype, a.dtype)
            : weakDtypeOf(numberDtype(a), b.dtype);
    return [settled(a, dtype), settled(b, dtype)];
  }
  if (a instanceof Tensor) return weakPair(op, asTensor(a), b as Exclude<TensorLike, Tensor>);
  if (b instanceof Tensor && b.weak) return binaryOperands(op, asTensor(a), b);
  if (b instanceof Tensor) {
    const [tb, ta] = weakPair(op, b, a as Exclude<TensorLike, Tensor>);
    return [ta, tb];
  }
  return binaryOperands(op, asTensor(a), b);
}

/**
 * `a` and `b` as the binary ops take them, refused if bool: a product of bools is no arithmetic here
 * (`dot`, `vecdot`, `outer` name themselves, not the `mul` they are built from).
 *
 * @example
 * const [x, y] = numericOperands('outer', a, b);
 */
export function numericOperands(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const [x, y] = binaryOperands(op, a, b);
  if (x.dtype === 'bool') throw new DTypeError(`${op}: operands must be numeric, got ${formatAval(x.aval)} and ${formatAval(y.aval)} (cast bools first)`);
  return [x, y];
}

/** A tensor and a plain value: the value takes the tensor's dtype where it can. */
function weakPair(op: string, t: Tensor, other: Exclude<TensorLike, Tensor>): [Tensor, Tensor] {
  if (typeof other === 'number' || typeof other === 'boolean') {
    const dtype = weakDtypeFor(t.dtype, other);
    if (typeof other === 'number' && isInteger(dtype) && !fitsInteger(other, dtype)) {
      throw new DTypeError(`${op}: the number ${other} does not fit in ${dtype}; make it a tensor of a wider dtype or cast`);
    }
    return [castIfNeeded(t, dtype), tensor(other, { dtype, backend: t.backend })];
  }
  // Nested values take the tensor's dtype, except that fractions next to an integer tensor make both
  // float32 (as a single fractional number does) instead of being truncated.
  const valueDtype = t.dtype === 'bool' ? undefined : isInteger(t.dtype) && hasFraction(other) ? 'float32' : t.dtype;
  const o = tensor(other, { dtype: valueDtype, backend: t.backend });
  const dtype = promoteTypes(t.dtype, o.dtype);
  return [castIfNeeded(t, dtype), castIfNeeded(o, dtype)];
}

/** Whether an integer is representable in int32 / uint32 (a weak number must not wrap silently, as in JAX). */
function fitsInteger(value: number, dtype: 'int32' | 'uint32'): boolean {
  return dtype === 'int32' ? value >= -(2 ** 31) && value < 2 ** 31 : value >= 0 && value < 2 ** 32;
}

/** Whether nested values hold a number that is not an integer (NaN and infinities included). */
function hasFraction(values: NestedArray): boolean {
  return firstFraction(values) !== undefined;
}

/**
 * The first number in nested values that is not an integer, if any.
 *
 * @example
 * firstFraction([[1, 2], [3.5, 4]]); // 3.5
 * firstFraction([1, 2]); // undefined
 */
export function firstFraction(values: NestedArray): number | undefined {
  if (Array.isArray(values)) {
    for (const v of values) {
      const found = firstFraction(v);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return typeof values === 'number' && !Number.isInteger(values) ? values : undefined;
}

/**
 * `x` cast to `dtype`, or `x` itself when it already has it.
 *
 * @example
 * castIfNeeded(x, x.dtype) === x; // true
 * castIfNeeded(x, 'int32').dtype; // 'int32'
 */
export function castIfNeeded(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : bind('cast', [x], { dtype });
}
