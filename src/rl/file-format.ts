/**
 * What mixrl's binary file formats share (checkpoints in `serialize.ts`, the interchange formats in
 * `interop/`): errors that name the file and the byte where its structure is wrong, thrown inside the
 * format code and returned as `Left` at its entry points.
 */
import { type Either, left, right } from 'fp-ts/Either';
import { CheckpointError, type CheckpointErrorCode } from './errors';

/**
 * The bytes of a typed array (a view, no copy).
 *
 * @example
 * bytesOf(new Float32Array([1])); // Uint8Array [0, 0, 128, 63]
 */
export const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Throws a CheckpointError naming the file and, when known, the byte: `runs/p/actor.npz: byte 30: ...`.
 *
 * @example
 * if (bytes.length < 8) fail('truncated', file, bytes.length, 'the header length needs 8 bytes');
 */
export function fail(code: CheckpointErrorCode, file: string, at: number | undefined, what: string): never {
  throw new CheckpointError(code, `${file}: ${at === undefined ? '' : `byte ${at}: `}${what}`);
}

/**
 * `body`'s result, or the CheckpointError it threw (`fail`) as `Left`; other errors propagate.
 *
 * @example
 * const header = catching(() => (bytes.length < 8 ? fail('truncated', file, bytes.length, 'the header length needs 8 bytes') : bytes.subarray(0, 8)));
 */
export function catching<T>(body: () => T): Either<CheckpointError, T> {
  try {
    return right(body());
  } catch (e) {
    if (e instanceof CheckpointError) return left(e);
    throw e;
  }
}
