/**
 * `.safetensors` against the format's reference: the byte vectors of the reference implementation's
 * own tests (huggingface/safetensors, safetensors/src/tensor.rs: test_serialization, test_empty,
 * test_serialization_forced_alignement), a file written by an independent writer from the README
 * (fixtures/interop.py), and invalid files built here by hand. interop-python.test.ts has a Python
 * reader read mixrl's files.
 */
import fc from 'fast-check';
import { isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type HostArray, type NamedArrays } from '../../src';
import { arbArrays, asNumpy, bytes, fixture, messageOf, unwrap } from './interop-fixture';

const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

/** A file from its header text (padded with spaces to a multiple of 8 unless `pad` is false) and data. */
function file(header: string, data: ArrayLike<number> = [], { pad = true, length }: { pad?: boolean; length?: number } = {}): Uint8Array {
  const text = Buffer.from(pad ? header.padEnd(Math.ceil(header.length / 8) * 8, ' ') : header);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(length ?? text.length));
  return new Uint8Array(Buffer.concat([n, text, Buffer.from(Uint8Array.from(data))]));
}

const f32 = (...xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

describe('the reference implementation\'s test vectors', () => {
  const attn = (shape: number[]): HostArray => ({ dtype: 'float32', shape, data: Float32Array.of(0, 1, 2, 3, 4, 5) });
  const cases: [string, Record<string, HostArray>, Record<string, string>, Uint8Array][] = [
    ['test_serialization', { 'attn.0': attn([1, 2, 3]) }, {}, file('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', f32(0, 1, 2, 3, 4, 5))],
    ['test_serialization_forced_alignement', { attn0: attn([1, 1, 2, 3]) }, {}, file('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}', f32(0, 1, 2, 3, 4, 5))],
    ['test_empty', {}, {}, file('{}')],
    ['test_empty with metadata', {}, { framework: 'pt' }, file('{"__metadata__":{"framework":"pt"}}')],
  ];

  it.each(cases)('%s: the same bytes, read back', (_, arrays, metadata, expected) => {
    expect(expected.length % 8).toBe(0);
    expect(Buffer.from(concat(unwrap(encodeSafetensors('t.safetensors', arrays, metadata))))).toEqual(Buffer.from(expected));
    const read = unwrap(decodeSafetensors('t.safetensors', expected));
    expect(read.metadata).toEqual(metadata);
    expect(Object.keys(read.arrays)).toEqual(Object.keys(arrays));
    for (const [k, a] of Object.entries(arrays)) expect(asNumpy(read.arrays[k])).toEqual(asNumpy(a));
  });
});

describe('files of the independent writer (fixtures/interop.py)', () => {
  it('reads every array bit for bit, and the metadata', () => {
    const { arrays, metadata } = unwrap(decodeSafetensors('py.safetensors', bytes(fixture.safetensors)));
    expect(metadata).toEqual({ env: 'Pendulum', note: 'written by interop.py' });
    expect(Object.keys(arrays).sort()).toEqual(Object.keys(fixture.arrays).sort());
    for (const [k, a] of Object.entries(fixture.arrays)) expect(asNumpy(arrays[k])).toEqual(a);
  });
});

describe('writing', () => {
  it('orders arrays by alignment then name, so each starts at a multiple of its element size', () => {
    const one = (dtype: HostArray['dtype'], n: number) => ({ dtype, shape: [n], data: new { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array, bool: Uint8Array }[dtype](n) });
    const out = concat(unwrap(encodeSafetensors('o.safetensors', { z: one('bool', 3), b: one('float64', 1), a: one('float32', 1), c: one('int32', 1), d: one('uint32', 1), '0': one('float64', 2) })));
    const n = Number(Buffer.from(out).readBigUInt64LE(0));
    const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + n)));
    expect(Object.entries(header).map(([k, v]) => [k, (v as { data_offsets: number[] }).data_offsets])).toEqual([
      ['0', [0, 16]],
      ['b', [16, 24]],
      ['a', [24, 28]],
      ['d', [28, 32]],
      ['c', [32, 36]],
      ['z', [36, 39]],
    ]);
  });

  it('refuses the name __metadata__ and metadata that are not strings', () => {
    const a = { dtype: 'float32', shape: [], data: Float32Array.of(1) } as const;
    expect(messageOf(encodeSafetensors('o.safetensors', { __metadata__: a }))).toBe('o.safetensors: an array may not be named __metadata__');
    expect(messageOf(encodeSafetensors('o.safetensors', { a }, { step: 3 as unknown as string }))).toBe("o.safetensors: metadata 'step' is number; safetensors metadata are strings");
  });

  it('keeps every name, __proto__ and constructor too', () => {
    const a = { dtype: 'float32', shape: [], data: Float32Array.of(1) } as const;
    const arrays: NamedArrays = Object.fromEntries([['__proto__', a], ['constructor', a]]);
    const back = unwrap(decodeSafetensors('p.safetensors', concat(unwrap(encodeSafetensors('p.safetensors', arrays)))));
    expect(Object.keys(back.arrays)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(back.arrays)).toBe(Object.prototype);
  });

  it('round-trips any named arrays and metadata', () => {
    fc.assert(
      fc.property(arbArrays, fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), (arrays, metadata) => {
        const back = unwrap(decodeSafetensors('r.safetensors', concat(unwrap(encodeSafetensors('r.safetensors', arrays, metadata)))));
        expect(back.metadata).toEqual(metadata);
        expect(Object.keys(back.arrays).sort()).toEqual(Object.keys(arrays).sort());
        for (const [k, a] of Object.entries(arrays)) expect(asNumpy(back.arrays[k])).toEqual(asNumpy(a));
      }),
    );
  });
});

describe('invalid files', () => {
  const refusal = (b: Uint8Array) => messageOf(decodeSafetensors('bad.safetensors', b));
  const entry = (name: string, dtype: string, shape: number[], offsets: number[]) => `"${name}":{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":${JSON.stringify(offsets)}}`;
  const two = (b: number[], data: Uint8Array) => file(`{${entry('a', 'F32', [2], [0, 8])},${entry('b', 'F32', [2], b)}}`, data);

  it('truncated: the header length, the header, the data', () => {
    expect(refusal(Uint8Array.of(8, 0, 0))).toBe('bad.safetensors: byte 0: the file is 3 bytes, shorter than the 8-byte header length');
    const good = file(`{${entry('a', 'F32', [2], [0, 8])}}`, f32(1, 2));
    expect(refusal(good.subarray(0, 20))).toBe('bad.safetensors: byte 0: the header length 56 needs bytes [8, 64) but the file ends at byte 20');
    expect(refusal(good.subarray(0, good.length - 4))).toBe("bad.safetensors: byte 64: tensor 'a' (data_offsets [0, 8]) needs bytes [64, 72) but the file ends at byte 68");
  });

  it('a header length past the limit', () => {
    expect(refusal(file('{}', [], { length: 200_000_000 }))).toBe("bad.safetensors: byte 0: the header length 200000000 is over the format's limit of 100000000 bytes");
  });

  it('reads a header not padded to a multiple of 8, as the reference reader does (older writers did not pad)', () => {
    const decoded = decodeSafetensors('old.safetensors', file('{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}', [1], { pad: false }));
    expect(isRight(decoded) && decoded.right.arrays.a).toEqual({ dtype: 'bool', shape: [1], data: Uint8Array.of(1) });
  });

  it('overlapping offsets, holes and bytes after the last array', () => {
    expect(refusal(two([4, 12], new Uint8Array(12)))).toBe("bad.safetensors: byte 124: tensor 'b' (data_offsets [4, 12]) overlaps tensor 'a', which ends at data offset 8");
    expect(refusal(two([12, 20], new Uint8Array(20)))).toBe("bad.safetensors: byte 128: data bytes [8, 12) belong to no tensor (a hole before tensor 'b' (data_offsets [12, 20]))");
    expect(refusal(two([8, 16], new Uint8Array(18)))).toBe('bad.safetensors: byte 136: 2 bytes after the last tensor\'s data');
  });

  it('unknown dtypes, sizes that disagree with the shape, bad offsets', () => {
    expect(refusal(file(`{${entry('h', 'F16', [2], [0, 4])}}`, new Uint8Array(4)))).toBe(
      'bad.safetensors: byte 8: header: tensor \'h\' has dtype "F16"; mixrl reads F64, F32, U32, I32, BOOL',
    );
    expect(refusal(file(`{${entry('a', 'F32', [3], [0, 8])}}`, new Uint8Array(8)))).toBe(
      "bad.safetensors: byte 8: header: tensor 'a' is F32[3], 12 bytes, but its data_offsets [0, 8] span 8",
    );
    expect(refusal(file(`{${entry('a', 'F32', [2], [8, 0])}}`, new Uint8Array(8)))).toMatch(/tensor 'a' has invalid data_offsets \[8,0\] \(expected \[begin, end\], begin <= end\)$/);
    expect(refusal(file(`{${entry('a', 'F32', [-1], [0, 0])}}`))).toMatch(/tensor 'a' has an invalid shape \[-1\]$/);
  });

  it('headers that are not a space-padded JSON object, and bad metadata', () => {
    expect(refusal(file(' {}'))).toBe('bad.safetensors: byte 8: the header must start with \'{\', found " "');
    expect(refusal(file('{}\n'))).toBe("bad.safetensors: byte 8: the header must end in '}' and padding spaces");
    expect(refusal(file('{"a":}'))).toMatch(/^bad\.safetensors: byte 8: the header is not JSON: /);
    expect(refusal(file('{"__metadata__":{"step":3}}'))).toBe('bad.safetensors: byte 8: header: __metadata__.step is 3, not a string');
    expect(refusal(file('{"a":[1]}'))).toMatch(/^bad\.safetensors: byte 8: header: tensor 'a' has dtype undefined/);
  });
});
