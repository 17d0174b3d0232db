/**
 * `.npy` and `.npz` against NumPy's own files (fixtures/interop.json, written by NumPy through
 * fixtures/interop.py): bytes identical to `np.save`'s, `np.savez` and `np.savez_compressed` archives
 * read bit for bit, what NumPy writes but mixrl cannot hold refused by name; broken archives refused
 * naming the byte; round trips over random arrays. interop-python.test.ts has NumPy read mixrl's files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNpy, decodeNpz, encodeNpy, encodeNpz } from '../../src';
import { arbArray, arbArrays, asNumpy, bytes, DESCR, fixture, hexOf, messageOf, unwrap } from './interop-fixture';

const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));
const numpyArrays = Object.entries(fixture.arrays);
const dtypeOf = (descr: string) => Object.entries(DESCR).find(([, d]) => d === descr)![0] as keyof typeof DESCR;

describe(`.npy against NumPy ${fixture.numpy}`, () => {
  it.each(numpyArrays)("encodeNpy writes np.save's bytes for %s", (name, a) => {
    const data = unwrap(decodeNpy('x.npy', bytes(fixture.npy[name])));
    expect(asNumpy(data)).toEqual(a);
    expect(hexOf(unwrap(encodeNpy('x.npy', { dtype: dtypeOf(a.descr), shape: a.shape, data: data.data })))).toBe(fixture.npy[name]);
  });

  it('reads format versions 2.0 and 3.0', () => {
    expect(bytes(fixture.npyV2).subarray(6, 8)).toEqual(Uint8Array.of(2, 0));
    expect(bytes(fixture.npyV3).subarray(6, 8)).toEqual(Uint8Array.of(3, 0));
    expect(asNumpy(unwrap(decodeNpy('v2.npy', bytes(fixture.npyV2))))).toEqual(fixture.arrays.f32);
    expect(asNumpy(unwrap(decodeNpy('v3.npy', bytes(fixture.npyV3))))).toEqual(fixture.arrays.f64);
  });

  it('refuses Fortran order, big-endian and other dtypes, naming the descr', () => {
    const refusal = (hex: string) => messageOf(decodeNpy('x.npy', bytes(hex)));
    expect(refusal(fixture.refused.fortran)).toMatch(/^x\.npy: byte 10: the array: header says fortran_order true: only C-order arrays are read/);
    expect(refusal(fixture.refused.bigEndian)).toMatch(/^x\.npy: byte 10: the array: header has descr '>f4', big-endian; mixrl reads <f4, <f8, <i4, <u4, \|b1/);
    expect(refusal(fixture.refused.int64)).toMatch(/header has descr '<i8', an unsupported dtype/);
    expect(refusal(fixture.refused.float16)).toMatch(/header has descr '<f2', an unsupported dtype/);
  });

  it('refuses to write data that do not fit the dtype and shape', () => {
    expect(messageOf(encodeNpy('x.npy', { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2) }))).toBe('x.npy: the array: float32[3] needs 3 elements as Float32Array, got Float32Array of 2');
    expect(messageOf(encodeNpy('x.npy', { dtype: 'float64', shape: [2], data: Float32Array.of(1, 2) }))).toBe('x.npy: the array: float64[2] needs 2 elements as Float64Array, got Float32Array of 2');
  });

  it('refuses malformed headers and data of the wrong length', () => {
    const good = unwrap(encodeNpy('x.npy', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) }));
    const header = (text: string) => {
      const out = good.slice();
      out.set(new TextEncoder().encode(text.padEnd(117, ' ')), 10);
      return out;
    };
    const refusal = (b: Uint8Array) => messageOf(decodeNpy('x.npy', b));
    expect(refusal(header("{'descr': '<f4', 'shape': (2,), }"))).toMatch(/header has keys \["descr","shape"\]; expected descr, fortran_order and shape/);
    expect(refusal(header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"))).toMatch(/structured dtypes are not read/);
    expect(refusal(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x"))).toMatch(/^x\.npy: byte \d+: the array: header has 'x' at character/);
    expect(refusal(good.subarray(0, good.length - 1))).toBe('x.npy: byte 128: the array: float32 (2) needs 8 data bytes, found 7');
    expect(refusal(concat([good, Uint8Array.of(0)]))).toBe('x.npy: byte 136: the array: 1 unexpected bytes after the data');
    expect(refusal(good.subarray(0, 60))).toMatch(/^x\.npy: byte 8: the array: a 118-byte header after 10 bytes, in 60 bytes$/);
    expect(refusal(new TextEncoder().encode('PK\x03\x04 not numpy'))).toMatch(/^x\.npy: byte 0: the array: not \.npy data/);
  });

  it('round-trips any array', () => {
    fc.assert(
      fc.property(arbArray, (a) => {
        expect(asNumpy(unwrap(decodeNpy('x.npy', unwrap(encodeNpy('x.npy', a)))))).toEqual(asNumpy(a));
      }),
    );
  });
});

describe(`.npz against NumPy ${fixture.numpy}`, () => {
  it.each([
    ['np.savez', fixture.npz],
    ['np.savez_compressed', fixture.npzCompressed],
  ])('reads %s bit for bit, in order', (_, hex) => {
    const arrays = unwrap(decodeNpz('x.npz', bytes(hex)));
    expect(Object.keys(arrays)).toEqual(Object.keys(fixture.arrays));
    expect(Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, asNumpy(a)]))).toEqual(fixture.arrays);
  });

  it('round-trips any named arrays', () => {
    fc.assert(
      fc.property(arbArrays, (arrays) => {
        const back = unwrap(decodeNpz('x.npz', concat(unwrap(encodeNpz('x.npz', arrays)))));
        expect(Object.keys(back)).toEqual(Object.keys(arrays));
        for (const [k, a] of Object.entries(arrays)) expect(asNumpy(back[k])).toEqual(asNumpy(a));
      }),
    );
  });

  it('refuses to write an empty name or data that do not fit', () => {
    const a = { dtype: 'int32', shape: [1], data: Int32Array.of(1) } as const;
    expect(messageOf(encodeNpz('o.npz', { '': a }))).toBe('o.npz: an array has an empty name');
    expect(messageOf(encodeNpz('o.npz', { a: { ...a, shape: [2] } }))).toBe("o.npz: array 'a': int32[2] needs 2 elements as Int32Array, got Int32Array of 1");
  });

  /** Our archive of one array, and where its parts are (from the zip spec: 30-byte local header, then name, then data). */
  function oneMember() {
    const file = concat(unwrap(encodeNpz('a.npz', { w: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } })));
    const dataAt = 30 + 'w.npy'.length;
    return { file, dataAt, dataEnd: dataAt + 128 + 8, endAt: file.length - 22 };
  }

  it('refuses a CRC mismatch, naming the member and its byte', () => {
    const { file, dataEnd, dataAt } = oneMember();
    file[dataEnd - 1] ^= 0x40;
    expect(messageOf(decodeNpz('a.npz', file))).toMatch(new RegExp(`^a\\.npz: byte ${dataAt}: entry 'w\\.npy': CRC-32 mismatch \\(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\)$`));
  });

  it('refuses truncated archives, zip64 records and members that are not .npy', () => {
    const { file, endAt } = oneMember();
    expect(messageOf(decodeNpz('a.npz', file.subarray(0, file.length - 5)))).toMatch(/^a\.npz: byte 0: not a zip archive \(no end-of-central-directory record/);
    const zip64 = file.slice();
    new DataView(zip64.buffer).setUint16(endAt + 10, 0xffff, true);
    expect(messageOf(decodeNpz('a.npz', zip64))).toBe(`a.npz: byte ${endAt}: a zip64 archive (over 4 GiB or 65,535 entries); mixrl reads zips without zip64 records`);
    const renamed = Buffer.from(file.slice());
    for (let i = renamed.indexOf('w.npy'); i >= 0; i = renamed.indexOf('w.npy', i + 1)) renamed.write('w.txt', i);
    expect(messageOf(decodeNpz('a.npz', renamed))).toMatch(/^a\.npz: byte 35: member 'w\.txt' is not a \.npy array/);
  });

  it('names the member of a broken deflated array', () => {
    const file = bytes(fixture.npzCompressed);
    file[60] ^= 0xff;
    expect(messageOf(decodeNpz('c.npz', file))).toMatch(/^c\.npz: byte \d+: (entry 'f32\.npy'|array 'f32' \(deflated, at byte \d+\))/);
  });
});
