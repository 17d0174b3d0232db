/**
 * NumPy's `.npz` files (`np.savez`, `np.savez_compressed`): a zip archive with one `<name>.npy`
 * member per array. Written uncompressed; compressed archives are read too.
 */
import type { Either } from 'fp-ts/Either';
import type { CheckpointError } from '../errors';
import { catching, checkHostArray, fail, type NamedArrays, setArray } from './format';
import { npyBytes, readNpy } from './npy';
import { unzip, zipStored } from './zip';

const SUFFIX = '.npy';

/**
 * The bytes of an `.npz` file holding `arrays` (`np.load(file)[name]` gives each back), as chunks to
 * write in order. `Left('unserializable')` for an empty name, an array whose data do not fit its
 * dtype and shape, or an archive too large for a zip without zip64.
 *
 * @example
 * const chunks = encodeNpz('w.npz', { w: { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } });
 */
export function encodeNpz(file: string, arrays: NamedArrays): Either<CheckpointError, Uint8Array[]> {
  return catching(() => {
    const entries = Object.entries(arrays).map(([name, array]) => {
      if (name === '') fail('unserializable', file, undefined, 'an array has an empty name');
      checkHostArray(file, `array '${name}'`, array);
      return { name: `${name}${SUFFIX}`, data: npyBytes(array) };
    });
    return zipStored(file, entries);
  });
}

/**
 * The arrays of an `.npz` file's bytes, by name (the member names without `.npy`), in archive
 * order: stored or deflated members, CRC-32 and every `.npy` header checked. Errors name the file,
 * the byte and the member.
 *
 * @example
 * const arrays = decodeNpz('w.npz', await readFile('w.npz')); // Right({ w: { dtype, shape, data } })
 */
export function decodeNpz(file: string, bytes: Uint8Array): Either<CheckpointError, NamedArrays> {
  return catching(() => {
    const arrays: NamedArrays = {};
    for (const { name, data, at, stored } of unzip(file, bytes)) {
      if (!name.endsWith(SUFFIX)) fail('bad-layout', file, at, `member '${name}' is not a .npy array (an .npz holds <name>.npy files)`);
      const key = name.slice(0, -SUFFIX.length);
      if (Object.hasOwn(arrays, key)) fail('bad-layout', file, at, `two members are named '${name}'`);
      // A deflated member's bytes are not the file's: its problems are placed by the member.
      setArray(arrays, key, stored ? readNpy(file, `array '${key}'`, data, at) : readNpy(file, `array '${key}' (deflated, at byte ${at})`, data, undefined));
    }
    return arrays;
  });
}
