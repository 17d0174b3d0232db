/**
 * Shared by the interop tests: the fixture NumPy wrote (fixtures/interop.json, from
 * fixtures/interop.py), random arrays for property tests, and comparison of arrays by their bytes.
 */
import { readFileSync } from 'node:fs';
import { type Either, isLeft } from 'fp-ts/Either';
import fc from 'fast-check';
import type { CheckpointError, DType, HostArray, NamedArrays } from '../../src';

/** An array as NumPy describes it: descr, shape and `a.tobytes()` in hex. */
export interface NumpyArray {
  descr: string;
  shape: number[];
  hex: string;
}

export const fixture = JSON.parse(readFileSync(new URL('./fixtures/interop.json', import.meta.url), 'utf8')) as {
  numpy: string;
  arrays: Record<string, NumpyArray>;
  npy: Record<string, string>;
  npyV2: string;
  npyV3: string;
  npz: string;
  npzCompressed: string;
  refused: Record<'fortran' | 'bigEndian' | 'int64' | 'float16', string>;
  safetensors: string;
};

export const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
export const hexOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** NumPy's descr of each dtype (numpy.dtype(...).str), written here from NumPy's docs. */
export const DESCR: Record<DType, string> = { float32: '<f4', float64: '<f8', int32: '<i4', uint32: '<u4', bool: '|b1' };

/** A HostArray as NumPy would describe it. */
export const asNumpy = (a: HostArray): NumpyArray => ({ descr: DESCR[a.dtype], shape: [...a.shape], hex: hexOf(a.data) });

export function unwrap<T>(e: Either<CheckpointError, T>): T {
  if (isLeft(e)) throw e.left;
  return e.right;
}

/** The message of a `Left`, or a failure when it is `Right`. */
export function messageOf(e: Either<CheckpointError, unknown>): string {
  if (!isLeft(e)) throw new Error('expected an error, got a value');
  return e.left.message;
}

const ELEMENTS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array } as const;

/** Any array: every dtype, 0-3 axes of sizes 0-4, random bits (NaN payloads, -0, subnormals, ...); bools 0 or 1. */
export const arbArray: fc.Arbitrary<HostArray> = fc
  .record({ dtype: fc.constantFrom<DType>('float32', 'float64', 'int32', 'uint32', 'bool'), shape: fc.array(fc.nat(4), { maxLength: 3 }) })
  .chain(({ dtype, shape }) => {
    const size = shape.reduce((n, d) => n * d, 1);
    const width = ELEMENTS[dtype].BYTES_PER_ELEMENT;
    const raw = dtype === 'bool' ? fc.uint8Array({ min: 0, max: 1, minLength: size, maxLength: size }) : fc.uint8Array({ minLength: size * width, maxLength: size * width });
    return raw.map((b) => ({ dtype, shape, data: new ELEMENTS[dtype](b.slice().buffer) }));
  });

/** Names as PyTorch state dicts have them: dotted paths of words and indices. */
export const arbName = fc.array(fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/), fc.nat(9).map(String)), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('.'));

export const arbArrays: fc.Arbitrary<NamedArrays> = fc.dictionary(arbName, arbArray, { maxKeys: 6 });
