/**
 * What the interchange formats (`.npy`, `.npz`, `.safetensors`) share: the array value they store,
 * and errors that name the file and the byte where its structure is wrong.
 */
import { type DType, formatShape, sizeOf, type TypedArray } from '../../tensor';
import { allocate, bytesOf as elementBytes, DTYPES, dtypeOfTypedArray, viewOf } from '../../tensor/dtype';
import { fail } from '../file-format';

export { bytesOf, catching, fail } from '../file-format';

/**
 * An array as the interchange files hold it: a dtype, a C-order (row-major) shape, and the elements
 * in that order. `bool` elements are bytes 0 and 1.
 */
export interface HostArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** Named arrays, in the order a file lists them. */
export type NamedArrays = Record<string, HostArray>;

/**
 * Adds `array` to `arrays` under `name` as an own property, so that every name a file can hold is
 * kept: `arrays['__proto__'] = array` would set the object's prototype and lose the array.
 *
 * @example
 * setArray(arrays, '__proto__', a); // Object.keys(arrays) includes '__proto__'
 */
export function setArray(arrays: NamedArrays, name: string, array: HostArray): void {
  Object.defineProperty(arrays, name, { value: array, enumerable: true, writable: true, configurable: true });
}

/**
 * A fresh, aligned typed array of `dtype` holding a copy of `bytes` (file bytes may sit at any offset).
 *
 * @example
 * elementsOf('float32', fileBytes.subarray(131, 139)); // Float32Array(2)
 */
export function elementsOf(dtype: DType, bytes: Uint8Array): TypedArray {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return viewOf(dtype, copy.buffer, 0, bytes.length / elementBytes(dtype));
}

/**
 * Throws unless `array` is a HostArray whose data fits its dtype and shape; `where` names it.
 *
 * @example
 * checkHostArray('w.npz', "array 'w'", { dtype: 'float32', shape: [2], data: Float32Array.of(1) }); // throws: ... needs 2 elements ...
 */
export function checkHostArray(file: string, where: string, array: HostArray): void {
  const { dtype, shape, data } = array;
  if (!DTYPES.includes(dtype)) fail('unserializable', file, undefined, `${where} has unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    fail('unserializable', file, undefined, `${where} has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (dtypeOfTypedArray(data) !== dtype || data.length !== sizeOf(shape)) {
    const got = ArrayBuffer.isView(data) ? `${data.constructor.name} of ${(data as TypedArray).length}` : typeof data;
    fail('unserializable', file, undefined, `${where}: ${dtype}${formatShape(shape)} needs ${sizeOf(shape)} elements as ${allocate(dtype, 0).constructor.name}, got ${got}`);
  }
}
