/**
 * NumPy and a spec-following safetensors reader in Python read the files mixrl writes, and NumPy
 * writes random files mixrl reads: the expected values are what Python reads and writes. Skipped
 * where /usr/bin/python3 with NumPy is missing (interop-numpy.test.ts and interop-safetensors.test.ts
 * check against files Python wrote, without it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpz, decodeSafetensors, encodeNpz, encodeSafetensors, type NamedArrays } from '../../src';
import { PYTHON, pythonWith, runPython } from '../python-peer';
import { arbArrays, asNumpy, type NumpyArray, unwrap } from './interop-fixture';

const dir = mkdtempSync(join(tmpdir(), 'mixrl-interop-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A safetensors reader written from the README of github.com/huggingface/safetensors, with its rules
 * checked: the header's length a multiple of 8, space padding, offsets tiling the data buffer.
 */
const SAFETENSORS_READER = `
import json, struct
import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "U32": "<u4", "BOOL": "|b1"}

def read_safetensors(path):
    b = open(path, "rb").read()
    (n,) = struct.unpack("<Q", b[:8])
    assert n % 8 == 0, "header length not aligned"
    text = b[8 : 8 + n].decode("utf-8")
    assert text.startswith("{") and text.rstrip(" ").endswith("}"), "header not a space-padded object"
    header = json.loads(text)
    metadata = header.pop("__metadata__", {})
    data = b[8 + n :]
    end = 0
    for begin, stop in sorted(tuple(v["data_offsets"]) for v in header.values()):
        assert begin == end and stop >= begin, "offsets do not tile the data"
        end = stop
    assert end == len(data), "bytes after the last array"
    arrays = {}
    for name, info in header.items():
        s, e = info["data_offsets"]
        dtype = np.dtype(DTYPES[info["dtype"]])
        assert s % dtype.itemsize == 0, "unaligned array"
        arrays[name] = np.frombuffer(data[s:e], dtype).reshape(info["shape"])
    return arrays, metadata
`;

const DESCRIBE = `
def describe(a):
    return {"descr": a.dtype.str, "shape": list(a.shape), "hex": a.tobytes().hex()}
`;

/** Random named arrays: the property tests' arrays, at a fixed seed, and one of every special case. */
function samples(): NamedArrays[] {
  const specials: NamedArrays = {
    'specials.f32': { dtype: 'float32', shape: [7], data: Float32Array.of(-0, NaN, Infinity, -Infinity, 1e-45, -3e-39, 3.4028234663852886e38) },
    'specials.f64': { dtype: 'float64', shape: [2, 2], data: Float64Array.of(-0, NaN, 5e-324, -Number.MAX_VALUE) },
    'specials.scalar': { dtype: 'int32', shape: [], data: Int32Array.of(-(2 ** 31)) },
    'specials.empty': { dtype: 'uint32', shape: [0, 3], data: new Uint32Array(0) },
    'specials.bool': { dtype: 'bool', shape: [1, 3], data: Uint8Array.of(1, 0, 1) },
  };
  return [specials, ...fc.sample(arbArrays, { seed: 7, numRuns: 25 })];
}

const byNumpy = (arrays: NamedArrays) => Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, asNumpy(a)]));

describe.skipIf(!pythonWith('numpy'))(`Python reads mixrl's files (${PYTHON}, NumPy)`, () => {
  it('numpy.load reads every .npz bit for bit, and zipfile finds every CRC right', () => {
    const cases = samples();
    const paths = cases.map((arrays, i) => {
      const path = join(dir, `ours-${i}.npz`);
      writeFileSync(path, Buffer.concat(unwrap(encodeNpz(path, arrays))));
      return path;
    });
    const read = runPython(
      `${DESCRIBE}
import json, sys, zipfile
import numpy as np
out = []
for path in sys.argv[1:]:
    assert zipfile.ZipFile(path).testzip() is None
    with np.load(path) as z:
        out.append([[k, describe(z[k])] for k in z.files])
print(json.dumps(out))`,
      paths,
    ) as [string, NumpyArray][][];
    read.forEach((arrays, i) => expect(arrays).toEqual(Object.entries(byNumpy(cases[i]))));
  });

  it('a spec-following reader reads every .safetensors bit for bit, with its metadata', () => {
    const cases = samples();
    const paths = cases.map((arrays, i) => {
      const path = join(dir, `ours-${i}.safetensors`);
      writeFileSync(path, Buffer.concat(unwrap(encodeSafetensors(path, arrays, { case: String(i), 'ünïcode': '✓' }))));
      return path;
    });
    const read = runPython(
      `${SAFETENSORS_READER}${DESCRIBE}
import sys
out = []
for path in sys.argv[1:]:
    arrays, metadata = read_safetensors(path)
    out.append({"arrays": {k: describe(a) for k, a in arrays.items()}, "metadata": metadata})
print(json.dumps(out))`,
      paths,
    ) as { arrays: Record<string, NumpyArray>; metadata: Record<string, string> }[];
    read.forEach((file, i) => {
      expect(file.metadata).toEqual({ case: String(i), 'ünïcode': '✓' });
      expect(file.arrays).toEqual(byNumpy(cases[i]));
    });
  });
});

describe.skipIf(!pythonWith('numpy'))(`mixrl reads what Python writes (${PYTHON}, NumPy)`, () => {
  it('np.savez, np.savez_compressed and a spec-following safetensors writer, random arrays', () => {
    const expected = runPython(
      `${DESCRIBE}
import io, json, struct, sys
import numpy as np
rng = np.random.default_rng(11)
DTYPES = {"<f4": "F32", "<f8": "F64", "<i4": "I32", "<u4": "U32", "|b1": "BOOL"}
arrays = {}
for i in range(12):
    dtype = np.dtype(list(DTYPES)[i % 5])
    shape = tuple(rng.integers(0, 4, rng.integers(0, 4)))
    raw = rng.integers(0, 256, int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
    a = (raw % 2).astype(np.bool_) if dtype.kind == "b" else raw.view(dtype)
    arrays[f"net.{i}.w" if i % 2 else f"a{i}"] = a.reshape(shape)
np.savez(sys.argv[1], **arrays)
np.savez_compressed(sys.argv[2], **arrays)
header, data = {"__metadata__": {"seed": "11"}}, b""
for name, a in arrays.items():
    header[name] = {"dtype": DTYPES[a.dtype.str], "shape": list(a.shape), "data_offsets": [len(data), len(data) + a.nbytes]}
    data += a.tobytes()
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[3], "wb").write(struct.pack("<Q", len(text)) + text + data)
print(json.dumps({k: describe(a) for k, a in arrays.items()}))`,
      ['savez', 'compressed', 'st'].map((f) => join(dir, `py-${f}.${f === 'st' ? 'safetensors' : 'npz'}`)),
    ) as Record<string, NumpyArray>;
    const read = (f: string) => readFileSync(join(dir, f));
    expect(byNumpy(unwrap(decodeNpz('savez', read('py-savez.npz'))))).toEqual(expected);
    expect(byNumpy(unwrap(decodeNpz('compressed', read('py-compressed.npz'))))).toEqual(expected);
    const st = unwrap(decodeSafetensors('st', read('py-st.safetensors')));
    expect(st.metadata).toEqual({ seed: '11' });
    expect(byNumpy(st.arrays)).toEqual(expected);
  });
});
