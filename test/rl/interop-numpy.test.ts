/**
 * `.npy` and `.npz` against NumPy's own files (fixtures/interop.json, written by NumPy through
 * fixtures/interop.py): bytes identical to `np.save`'s, `np.savez` and `np.savez_compressed` archives
 * read bit for bit, what NumPy writes but mixrl cannot hold refused by name; broken archives refused
 * naming the byte; round trips over random arrays. interop-python.test.ts has NumPy read mixrl's files.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNpy, decodeNpz, encodeNpy, encodeNpz, type NamedArrays } from '../../src';
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

  it("pads a header that would end on a 64-byte boundary with 64 more spaces, as np.save does", () => {
    // np.save(f, np.zeros((2, 1, 100, 100, 100, 100, 100, 100, 100, 0), np.float32)), numpy 2.4: a 182-byte header.
    const shape = [2, 1, 100, 100, 100, 100, 100, 100, 100, 0];
    const text = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 100, 100, 100, 100, 100, 100, 100, 0), }";
    const numpy = Buffer.concat([Buffer.from('\x93NUMPY\x01\x00\xb6\x00', 'latin1'), Buffer.from(text.padEnd(181, ' ')), Buffer.from('\n')]);
    expect(hexOf(unwrap(encodeNpy('x.npy', { dtype: 'float32', shape, data: new Float32Array(0) })))).toBe(hexOf(numpy));
  });

  /** An .npy file of `data` whose header says `descr` and `shape` (padded as numpy pads). */
  const npyWith = (descr: string, shape: string, data: Uint8Array) => {
    const text = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    const length = text.length + 1 + 64 - ((10 + text.length + 1) % 64);
    const prefix = Uint8Array.of(0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, length & 0xff, length >> 8);
    return concat([prefix, new TextEncoder().encode(`${text.padEnd(length - 1, ' ')}\n`), data]);
  };

  it("reads the byte orders numpy reads: '<', '=' (native), '|' or none, and any for bool", () => {
    const f32 = new Uint8Array(Float32Array.of(1.5, -2).buffer);
    for (const descr of ['<f4', '=f4', '|f4', 'f4']) {
      expect(asNumpy(unwrap(decodeNpy('x.npy', npyWith(descr, '(2,)', f32)))), descr).toEqual({ descr: '<f4', shape: [2], hex: hexOf(f32) });
    }
    for (const descr of ['|b1', '<b1', '=b1', '>b1', 'b1']) {
      expect(asNumpy(unwrap(decodeNpy('x.npy', npyWith(descr, '(2,)', Uint8Array.of(1, 0))))), descr).toEqual({ descr: '|b1', shape: [2], hex: '0100' });
    }
    expect(messageOf(decodeNpy('x.npy', npyWith('>i4', '(2,)', f32)))).toMatch(/header has descr '>i4', big-endian/);
    expect(messageOf(decodeNpy('x.npy', npyWith('<f4 ', '(2,)', f32)))).toMatch(/header has descr '<f4 ', an unsupported dtype/);
  });

  it('refuses the object arrays np.savez writes with pickle, saying so', () => {
    // np.savez(f, a=np.array([1, 'x', None], dtype=object)): its member a.npy is '|O' followed by a pickle.
    const pickled = npyWith('|O', '(3,)', Uint8Array.of(0x80, 0x04, 0x95));
    expect(messageOf(decodeNpy('x.npy', pickled))).toBe(
      "x.npy: byte 10: the array: header has descr '|O': an array of Python objects, which only pickle can read (np.save's allow_pickle); mixrl reads numeric arrays (save x.astype('<f4'))",
    );
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

  it("reads a zip streamed by Python's zipfile: sizes after the data (flag bit 3), zip64 sizes in the local header", () => {
    // zipfile.ZipFile(unseekable, 'w').open('x.npy', 'w', force_zip64=True) of np.array([1.5, -2], np.float32), Python 3.11.
    const streamed =
      '504b03042d00080000000000210000000000ffffffffffffffff05001400782e6e70790100100000000000000000000000000000000000934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c0504b0708d6434b0588000000000000008800000000000000504b01022d032d000800000000002100d6434b058800000088000000050000000000000000000000800100000000782e6e7079504b0506000000000100010033000000d70000000000';
    expect(new DataView(bytes(streamed).buffer).getUint16(6, true) & 0x08).toBe(0x08);
    const arrays = unwrap(decodeNpz('s.npz', bytes(streamed)));
    expect(Object.keys(arrays)).toEqual(['x']);
    expect(Array.from(arrays.x.data)).toEqual([1.5, -2]);
  });

  it('keeps every name, __proto__ and constructor too', () => {
    const a = { dtype: 'int32', shape: [1], data: Int32Array.of(7) } as const;
    const arrays: NamedArrays = Object.fromEntries([['__proto__', a], ['constructor', a], ['a/b', a]]);
    const back = unwrap(decodeNpz('x.npz', concat(unwrap(encodeNpz('x.npz', arrays)))));
    expect(Object.keys(back)).toEqual(['__proto__', 'constructor', 'a/b']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(asNumpy(back.__proto__)).toEqual(asNumpy(a));
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
