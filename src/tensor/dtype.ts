import { ArgumentError, DTypeError } from './errors';

/** Element types. `uint32` carries random bits; `bool` is stored as 0/1 bytes. */
export type DType = 'float32' | 'float64' | 'int32' | 'uint32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'uint32', 'bool'];

/**
 * `dtype` if it is one of `DTYPES`; else a DTypeError naming `op` (a misspelt or unsupported name
 * such as 'float16' would otherwise fail deep inside).
 *
 * @example
 * checkDtype('zeros', 'float64'); // 'float64'
 * checkDtype('zeros', 'float16'); // throws: zeros: unknown dtype 'float16' (known: float32, float64, int32, uint32, bool)
 */
export function checkDtype(op: string, dtype: unknown): DType {
  if (!(DTYPES as readonly unknown[]).includes(dtype)) {
    const shown = typeof dtype === 'string' ? `'${dtype}'` : String(dtype);
    throw new DTypeError(`${op}: unknown dtype ${shown} (known: ${DTYPES.join(', ')})`);
  }
  return dtype as DType;
}

/** The typed array that stores each dtype. */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  uint32: Uint32Array;
  bool: Uint8Array;
}
export type TypedArray = TypedArrayFor[DType];

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
} as const;

/** A typed array of `dtype` over `size` elements of `buffer` from byte `offset` (no copy). */
export function viewOf<D extends DType>(dtype: D, buffer: ArrayBuffer, offset: number, size: number): TypedArrayFor[D] {
  return new CONSTRUCTORS[dtype](buffer, offset, size) as TypedArrayFor[D];
}

/** Bytes per element of `dtype`. */
export const bytesOf = (dtype: DType): number => CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;

/**
 * A new zero-filled typed array for `dtype`; a size no typed array holds is an ArgumentError naming
 * `op` (V8's own is a bare RangeError).
 *
 * @example
 * allocate('float32', 4); // Float32Array [0, 0, 0, 0]
 * allocate('float32', 1e12, 'full'); // throws: full: 1000000000000 float32 elements do not fit in one typed array
 */
export function allocate<D extends DType>(dtype: D, size: number, op = 'allocate'): TypedArrayFor[D] {
  try {
    return new CONSTRUCTORS[dtype](size) as TypedArrayFor[D];
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ArgumentError(`${op}: ${size} ${dtype} elements do not fit in one typed array`);
  }
}

/** The values an integer dtype holds. */
const INTEGER_RANGE = { int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1] } as const;

/**
 * Copies `values` into a new typed array of `dtype`. For `bool` every value becomes 0 or 1 (`x != 0`,
 * so NaN is true, as in a cast), since kernels compare bools by their stored bytes. Integers drop
 * their fractions (as PyTorch's `torch.tensor`); a value outside the integer dtype's range, NaN or
 * infinite, is a DTypeError naming `op` and the element, where a typed array would wrap it.
 *
 * @example
 * typedArrayFrom('tensor', 'int32', [1.7, -2]); // Int32Array [1, -2]
 * typedArrayFrom('tensor', 'int32', [3e9]); // throws: tensor: element 0 is 3000000000, outside int32's range [-2147483648, 2147483647]
 */
export function typedArrayFrom(op: string, dtype: DType, values: ArrayLike<number | boolean>): TypedArray {
  const out = allocate(dtype, values.length);
  if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) !== 0 ? 1 : 0;
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  if (dtype === 'int32' || dtype === 'uint32') {
    const [low, high] = INTEGER_RANGE[dtype];
    for (let i = 0; i < values.length; i++) {
      const v = Number(values[i]);
      if (!(v > low - 1 && v < high + 1)) {
        throw new DTypeError(`${op}: element ${i} is ${v}, outside ${dtype}'s range [${low}, ${high}]`);
      }
    }
  }
  return out;
}

/** The dtype a typed array holds, or undefined for other values. */
export function dtypeOfTypedArray(values: unknown): DType | undefined {
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Float64Array) return 'float64';
  if (values instanceof Int32Array) return 'int32';
  if (values instanceof Uint32Array) return 'uint32';
  if (values instanceof Uint8Array) return 'bool';
  return undefined;
}

/**
 * Whether `dtype` is a floating-point type (float32 or float64).
 *
 * @example
 * isFloat('float64'); // true
 * isFloat('int32'); // false
 */
export function isFloat(dtype: DType): dtype is 'float32' | 'float64' {
  return dtype === 'float32' || dtype === 'float64';
}

/**
 * Whether `dtype` is an integer type (int32 or uint32; bool is not).
 *
 * @example
 * isInteger('uint32'); // true
 * isInteger('bool'); // false
 */
export function isInteger(dtype: DType): dtype is 'int32' | 'uint32' {
  return dtype === 'int32' || dtype === 'uint32';
}

/** Short names used when printing IR and shapes: f32, f64, i32, u32, bool. */
export const SHORT_NAME: Record<DType, string> = {
  float32: 'f32',
  float64: 'f64',
  int32: 'i32',
  uint32: 'u32',
  bool: 'bool',
};

const RANK: Record<DType, number> = { bool: 0, int32: 1, uint32: 1, float32: 2, float64: 3 };

/**
 * The dtype two tensor operands are promoted to (NumPy/JAX lattice: bool < int < float32 < float64).
 * int32 with uint32 has no common 32-bit type and must be cast explicitly.
 *
 * @example
 * promoteTypes('int32', 'float32'); // 'float32'
 */
export function promoteTypes(a: DType, b: DType, op = 'promote'): DType {
  if (a === b) return a;
  if (isInteger(a) && isInteger(b)) {
    throw new DTypeError(`${op}: cannot mix int32 and uint32 operands; cast one explicitly`);
  }
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype a plain JS number takes next to a tensor of `dtype` (JAX's weak typing): floats keep their
 * precision, integer and bool tensors stay integer for integer numbers and become float32 otherwise.
 */
export function weakDtypeFor(dtype: DType, value: number | boolean): DType {
  return weakDtypeOf(dtype, typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int32' : 'float32');
}

/**
 * `weakDtypeFor` of a weak-typed tensor (a number `jit` traced, see `Tensor.weak`) by its dtype: a
 * weak bool takes the other's dtype, a weak integer that of a float, integer or (as int32) bool tensor,
 * and a weak float that of a float tensor, float32 next to an integer or bool one.
 *
 * @example
 * weakDtypeOf('float32', 'float64'); // 'float32': a traced 0.1 next to float32 values
 * weakDtypeOf('int32', 'float64'); // 'float32'
 */
export function weakDtypeOf(dtype: DType, weak: DType): DType {
  if (weak === 'bool' || isFloat(dtype)) return dtype;
  if (isFloat(weak)) return 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}
