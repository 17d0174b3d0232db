import fs, { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Either, isLeft, isRight } from 'fp-ts/Either';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as M from '../../src';
import { rawKey } from '../../src/tensor/threefry';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'mixrl-checkpoint-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const ascii = (s: string) => new TextEncoder().encode(s);

function unwrap<T>(e: Either<M.CheckpointError, T>): T {
  if (isLeft(e)) throw e.left;
  return e.right;
}

async function expectError(path: string, code: M.CheckpointErrorCode, message: string): Promise<void> {
  const loaded = await M.loadCheckpoint(path);
  expect(isLeft(loaded) && loaded.left).toEqual(new M.CheckpointError(code, `${path}: ${message}`));
}

/** The layout of a checkpoint file, read from the format's description (serialize.ts), not from the reader. */
function parseLayout(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(12, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + length)));
  const dataStart = Math.ceil((20 + length) / 8) * 8;
  const at = (name: string) => {
    const entry = manifest.arrays.find((a: { name: string }) => a.name === name);
    return { start: dataStart + entry.offset, end: dataStart + entry.offset + entry.byteLength };
  };
  return { manifest, dataStart, at };
}

/** The file with its manifest replaced (header length and CRC fixed up, data section kept). */
function withManifest(bytes: Uint8Array, edit: (manifest: any) => unknown, raw?: string): Uint8Array {
  const { manifest, dataStart } = parseLayout(bytes);
  const text = ascii(raw ?? JSON.stringify(edit(manifest) ?? manifest));
  const start = Math.ceil((20 + text.length) / 8) * 8;
  const out = new Uint8Array(start + bytes.length - dataStart);
  out.set(bytes.subarray(0, 20));
  out.set(text, 20);
  out.set(bytes.subarray(dataStart), start);
  const view = new DataView(out.buffer);
  view.setUint32(12, text.length, true);
  view.setUint32(16, M.crc32(text), true);
  return out;
}

/** Tensors with awkward values in every dtype: signed zeros, infinities, NaN payloads, subnormals, extremes. */
function awkwardTree() {
  const f32 = new Float32Array(new Uint32Array([0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00001, 0xffc12345, 0x00000001, 0x7f7fffff]).buffer);
  const f64 = new Float64Array(new BigUint64Array([0x8000000000000000n, 0x7ff0000000000001n, 0x0000000000000001n, 0x3fb999999999999an]).buffer);
  return {
    f32: M.tensor(f32, { shape: [2, 4] }),
    nested: [M.tensor(f64, { shape: [2, 1, 2] }), null, { u: undefined, i32: M.tensor(Int32Array.of(-(2 ** 31), -1, 0, 2 ** 31 - 1)) }],
    u32: M.tensor(Uint32Array.of(0, 1, 0xffffffff)),
    flags: M.tensor([true, false, true]),
    scalar: M.tensor(Float64Array.of(-0), { shape: [] }),
    empty: M.zeros([0, 3]),
  };
}

async function expectSameTree(got: unknown, want: unknown): Promise<void> {
  const [gotLeaves, gotDef] = M.treeFlatten(got);
  const [wantLeaves, wantDef] = M.treeFlatten(want);
  expect(gotDef).toEqual(wantDef);
  expect(gotLeaves.length).toBe(wantLeaves.length);
  for (const [i, leaf] of (wantLeaves as M.Tensor[]).entries()) {
    const g = gotLeaves[i] as M.Tensor;
    expect([g.dtype, g.shape]).toEqual([leaf.dtype, leaf.shape]);
    const bits = async (t: M.Tensor) => {
      const d = await t.data();
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    };
    expect(await bits(g)).toEqual(await bits(leaf));
  }
}

describe('crc32', () => {
  it('gives the standard check values', () => {
    expect(M.crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(M.crc32(ascii(''))).toBe(0);
    expect(M.crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(M.crc32(new Uint8Array(32))).toBe(0x190a55ad);
  });
});

describe('checkpoint round trip', () => {
  it('is bit-exact for float32/float64/int32/uint32/bool tensors, pytree structure, raw arrays and metadata', async () => {
    const path = join(dir, 'round-trip', 'ck.mixrl');
    const trees = { awkward: awkwardTree(), root: M.tensor([1.5, 2.5]), actor: M.initMlp(M.random.key(0), [3, 4, 1]) };
    const arrays = { a: Float32Array.of(NaN, -0, 1e-45), b: Float64Array.of(Math.PI), c: Int32Array.of(-7), d: Uint32Array.of(7), e: Uint8Array.of(0, 255, 3) };
    const metadata = { step: 1234, name: 'run α', nested: { list: [1, null, true, 'x'] } };
    unwrap(await M.saveCheckpoint(path, { metadata, trees, arrays }));
    const loaded = unwrap(await M.loadCheckpoint(path));
    expect(loaded.metadata).toEqual(metadata);
    await expectSameTree(loaded.trees, trees);
    expect(Object.keys(loaded.arrays).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const [name, array] of Object.entries(arrays)) {
      const got = loaded.arrays[name];
      expect(got.constructor).toBe(array.constructor);
      expect(new Uint8Array(got.buffer, got.byteOffset, got.byteLength)).toEqual(new Uint8Array(array.buffer));
    }
  });

  it('lays the file out as documented: header, manifest, then 8-aligned arrays holding the raw elements', async () => {
    const path = join(dir, 'layout.mixrl');
    const w = M.tensor([[1, 2, 3]]);
    unwrap(await M.saveCheckpoint(path, { metadata: { k: 1 }, trees: { net: { w, flags: M.tensor([true]) } }, arrays: { r: Float64Array.of(0.5) } }));
    const bytes = new Uint8Array(await fsp.readFile(path));
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('MIXRLCK1');
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(8, true)).toBe(1);
    const { manifest, at } = parseLayout(bytes);
    expect(view.getUint32(16, true)).toBe(M.crc32(bytes.subarray(20, 20 + view.getUint32(12, true))));
    expect(manifest.metadata).toEqual({ k: 1 });
    expect(manifest.arrays.map((a: any) => [a.name, a.tree, a.dtype, a.shape, a.offset, a.byteLength])).toEqual([
      ['net.flags', 'net', 'bool', [1], 0, 1],
      ['net.w', 'net', 'float32', [1, 3], 8, 12],
      ['r', undefined, 'float64', [1], 24, 8],
    ]);
    const { start, end } = at('net.w');
    expect(new Float32Array(bytes.slice(start, end).buffer)).toEqual(Float32Array.of(1, 2, 3));
    expect(bytes.length).toBe(at('r').end);
  });

  it('resumes Adam exactly: 3 steps, save, load, 2 steps equals 5 steps straight', async () => {
    const path = join(dir, 'adam.mixrl');
    const opt = M.adam({ lr: 0.01 });
    const loss = (p: M.MlpParams) => M.mlp(p, M.tensor([[0.1, -0.2, 0.3]])).square().sum();
    const step = ([p, s]: [M.MlpParams, M.AdamState]) => opt.update(M.grad(loss)(p), s, p);
    const p0 = M.initMlp(M.random.key(5), [3, 8, 1]);
    let straight: [M.MlpParams, M.AdamState] = [p0, opt.init(p0)];
    for (let i = 0; i < 5; i++) straight = step(straight);
    let resumed: [M.MlpParams, M.AdamState] = [p0, opt.init(p0)];
    for (let i = 0; i < 3; i++) resumed = step(resumed);
    unwrap(await M.saveCheckpoint(path, { metadata: null, trees: { params: resumed[0], opt: resumed[1] }, arrays: {} }));
    const { trees } = unwrap(await M.loadCheckpoint(path));
    resumed = [trees.params as M.MlpParams, trees.opt as M.AdamState];
    expect(resumed[1].count.itemSync()).toBe(3);
    for (let i = 0; i < 2; i++) resumed = step(resumed);
    await expectSameTree(resumed, straight);
  });

  it('restores a replay buffer that samples the same batches', async () => {
    const path = join(dir, 'replay.mixrl');
    const buffer = new M.ReplayBuffer({ capacity: 6, obsDim: 2, actionDim: 1 });
    for (let i = 0; i < 9; i++) buffer.add({ obs: [i, -i], action: [i / 7], reward: [i], nextObs: [i + 1, 0], terminated: [i === 4] });
    const { meta, arrays } = buffer.state();
    unwrap(await M.saveCheckpoint(path, { metadata: { replay: meta }, trees: {}, arrays: { ...arrays } }));
    const loaded = unwrap(await M.loadCheckpoint(path));
    const restored = M.ReplayBuffer.fromState({ meta: (loaded.metadata as any).replay, arrays: loaded.arrays as unknown as M.ReplayArrays });
    if (!isRight(restored)) throw restored.left;
    expect(restored.right.state()).toEqual(buffer.state());
    expect(restored.right.sample(rawKey(8), 16).action.dataSync()).toEqual(buffer.sample(rawKey(8), 16).action.dataSync());
  });

  it('refuses leaves that are not tensors, odd arrays and non-JSON metadata, writing nothing', async () => {
    const path = join(dir, 'refused.mixrl');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [M.Checkpoint, string][] = [
      [{ metadata: cyclic as never, trees: {}, arrays: {} }, 'metadata.self refers back to itself'],
      [{ metadata: null, trees: { agent: { step: 5 } }, arrays: {} }, 'leaf agent.step is number, not a tensor (put plain values in metadata)'],
      [{ metadata: null, trees: {}, arrays: { x: new Int16Array(2) as never } }, 'array x is not a Float32/Float64/Int32/Uint32/Uint8Array'],
      [{ metadata: { big: 1n } as never, trees: {}, arrays: {} }, 'metadata.big is BigInt, not a JSON value'],
      [{ metadata: { loss: [1, NaN] }, trees: {}, arrays: {} }, 'metadata.loss[1] is NaN, which JSON cannot hold'],
      [{ metadata: { when: new Date(0) } as never, trees: {}, arrays: {} }, 'metadata.when is Date, not a JSON value'],
      [{ metadata: { gone: undefined } as never, trees: {}, arrays: {} }, 'metadata.gone is undefined, not a JSON value'],
      [{ metadata: null, trees: { r: M.zeros([1]) }, arrays: { r: new Float32Array(1) } }, 'two arrays would both be named r'],
    ];
    for (const [ckpt, message] of cases) {
      const saved = await M.saveCheckpoint(path, ckpt);
      expect(isLeft(saved) && saved.left).toEqual(new M.CheckpointError('unserializable', `${path}: ${message}`));
    }
    const disposed = M.zeros([2]);
    disposed.dispose();
    const saved = await M.saveCheckpoint(path, { metadata: null, trees: { t: disposed }, arrays: {} });
    expect(isLeft(saved) && saved.left.message).toMatch(/cannot read tensor t: tensor f32\[2\] was used after dispose\(\)/);
    expect(fs.existsSync(path)).toBe(false);
  });
});

describe('checkpoint validation', () => {
  let good: Uint8Array;
  const path = () => join(dir, 'corrupt.mixrl');
  const write = (bytes: Uint8Array) => fsp.writeFile(path(), bytes);
  beforeAll(async () => {
    const source = join(dir, 'good.mixrl');
    unwrap(
      await M.saveCheckpoint(source, {
        metadata: { step: 3 },
        trees: { net: { w: M.tensor([[1, 2, 3]]), flags: M.tensor([true, false, true]) } },
        arrays: { r: Float64Array.of(1, 2) },
      }),
    );
    good = new Uint8Array(await fsp.readFile(source));
  });

  it('reports a wrong magic at byte 0', async () => {
    const bytes = good.slice();
    bytes[0] = 'm'.charCodeAt(0);
    await write(bytes);
    await expectError(path(), 'bad-magic', 'byte 0: not a mixrl checkpoint: magic "mIXRLCK1", expected "MIXRLCK1"');
  });

  it('reports an unknown format version at byte 8', async () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(8, 2, true);
    await write(bytes);
    await expectError(path(), 'unsupported-version', 'byte 8: format version 2; this mixrl reads version 1');
  });

  it('reports truncation in the header, the manifest and an array', async () => {
    await write(good.slice(0, 11));
    await expectError(path(), 'truncated', 'byte 0: the file is 11 bytes, shorter than the 20-byte header');
    const manifestEnd = 20 + new DataView(good.buffer).getUint32(12, true);
    await write(good.slice(0, 40));
    await expectError(path(), 'truncated', `byte 20: the manifest needs bytes [20, ${manifestEnd}) but the file ends at byte 40`);
    const { start, end } = parseLayout(good).at('net.w');
    await write(good.slice(0, start + 5));
    await expectError(path(), 'truncated', `byte ${start}: array net.w needs bytes [${start}, ${end}) but the file ends at byte ${start + 5}`);
  });

  it('reports a changed manifest byte as a manifest checksum mismatch at byte 20', async () => {
    const bytes = good.slice();
    bytes[30] ^= 0x01;
    await write(bytes);
    const loaded = await M.loadCheckpoint(path());
    expect(isLeft(loaded) && loaded.left.code).toBe('checksum');
    expect(isLeft(loaded) && loaded.left.message).toMatch(new RegExp(`^${path()}: byte 20: manifest checksum mismatch \\(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\)$`));
  });

  it('reports a changed data byte as a checksum mismatch naming the array and its offset', async () => {
    const { start } = parseLayout(good).at('net.w');
    const bytes = good.slice();
    bytes[start + 7] ^= 0x80;
    await write(bytes);
    const loaded = await M.loadCheckpoint(path());
    expect(isLeft(loaded) && loaded.left.code).toBe('checksum');
    expect(isLeft(loaded) && loaded.left.message).toMatch(new RegExp(`^${path()}: byte ${start}: checksum mismatch in array net.w \\(stored 0x[0-9a-f]{8}`));
  });

  it('reports nonzero padding and bytes after the last array', async () => {
    const { end } = parseLayout(good).at('net.flags'); // 3 bool bytes, then 5 bytes of padding
    const bytes = good.slice();
    bytes[end + 2] = 9;
    await write(bytes);
    await expectError(path(), 'bad-layout', `byte ${end + 2}: padding byte is 9, not 0`);
    await write(Uint8Array.from([...good, 0, 0]));
    await expectError(path(), 'bad-layout', `byte ${good.length}: 2 unexpected bytes after the last array`);
  });

  it('reports an unknown dtype, a shape that does not fit the bytes, and manifest inconsistencies', async () => {
    const edit = (f: (m: any) => void) => write(withManifest(good, (m) => void f(m)));
    await edit((m) => (m.arrays[1].dtype = 'float16'));
    await expectError(path(), 'unknown-dtype', 'byte 20: manifest: array net.w has unknown dtype "float16"');
    await edit((m) => (m.arrays[1].shape = [2, 2]));
    await expectError(path(), 'shape-mismatch', 'byte 20: manifest: array net.w: shape [2,2] of float32 needs 16 bytes, the manifest says 12');
    await edit((m) => (m.arrays[2].name = 'net.w'));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: array name net.w appears twice');
    await edit((m) => m.arrays[1].tree = undefined);
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: tree net has 2 leaves but 1 arrays');
    await edit((m) => (m.arrays[2].offset = 32));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: array r is at offset 32, expected 24 (arrays are packed in order, 8-byte aligned)');
    await edit((m) => (m.trees.net = { kind: 'branch' }));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: tree net: invalid tree node {"kind":"branch"}');
    // Crafted trees: nested deep (5000 levels overflowed the stack: a RangeError, not a Left), keys that repeat or set a prototype.
    let deep: unknown = { kind: 'leaf' };
    for (let i = 0; i < 1000; i++) deep = { kind: 'array', children: [deep] };
    await edit((m) => (m.trees.net = deep));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: tree net: the tree nests deeper than 100 levels');
    await edit((m) => (m.trees.net = { kind: 'object', keys: ['w', 'w'], children: [{ kind: 'leaf' }, { kind: 'leaf' }] }));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: tree net: an object node has the key "w" twice');
    await edit((m) => (m.trees.net = { kind: 'object', keys: ['__proto__', 'w'], children: [{ kind: 'leaf' }, { kind: 'leaf' }] }));
    await expectError(path(), 'bad-manifest', 'byte 20: manifest: tree net: an object node has the key "__proto__" (not a field name)');
    await write(withManifest(good, () => undefined, '{"metadata": 1, '));
    const loaded = await M.loadCheckpoint(path());
    expect(isLeft(loaded) && loaded.left.code).toBe('bad-manifest');
    expect(isLeft(loaded) && loaded.left.message).toMatch(`${path()}: byte 20: the manifest is not JSON: `);
  });

  it('reports a missing file as an io error', async () => {
    const missing = join(dir, 'missing.mixrl');
    const loaded = await M.loadCheckpoint(missing);
    expect(isLeft(loaded) && loaded.left.code).toBe('io');
    expect(isLeft(loaded) && loaded.left.message).toMatch(`${missing}: cannot read the checkpoint: ENOENT`);
  });

  it('detects every single-byte change and every truncation (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const bytes = good.slice();
        bytes[at] ^= mask;
        await write(bytes);
        return isLeft(await M.loadCheckpoint(path()));
      }),
      { numRuns: 150, seed: 3 },
    );
    for (let length = 0; length < good.length; length += 7) {
      await write(good.slice(0, length));
      expect(isLeft(await M.loadCheckpoint(path()))).toBe(true);
    }
  });
});

describe('checkpoint atomicity', () => {
  const save = (path: string, step: number) => M.saveCheckpoint(path, { metadata: { step }, trees: { w: M.full([64], step) }, arrays: {} });

  it('leaves only the checkpoint in the directory and replaces an existing one on success', async () => {
    const sub = join(dir, 'atomic-ok');
    const path = join(sub, 'ck.mixrl');
    unwrap(await save(path, 1));
    unwrap(await save(path, 2));
    expect(await fsp.readdir(sub)).toEqual(['ck.mixrl']);
    expect(unwrap(await M.loadCheckpoint(path)).metadata).toEqual({ step: 2 });
  });

  it('keeps the old checkpoint and removes the temporary file when a write fails midway', async () => {
    const sub = join(dir, 'atomic-fail');
    const path = join(sub, 'ck.mixrl');
    unwrap(await save(path, 1));
    const before = await fsp.readFile(path);
    const open = fs.promises.open;
    vi.spyOn(fs.promises, 'open').mockImplementation(async (...args: Parameters<typeof open>) => {
      const handle = await open(...args);
      if (!String(args[0]).endsWith('.tmp')) return handle;
      let writes = 0;
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === 'write') {
            return async (...a: unknown[]) => {
              if (++writes > 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
              return (target.write as (...b: unknown[]) => unknown)(...a);
            };
          }
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    });
    const saved = await save(path, 2);
    expect(isLeft(saved) && saved.left).toEqual(new M.CheckpointError('io', `${path}: cannot write the checkpoint: ENOSPC: no space left on device, write`));
    expect(fs.promises.open).toHaveBeenCalled();
    vi.restoreAllMocks();
    expect(await fsp.readdir(sub)).toEqual(['ck.mixrl']);
    expect(await fsp.readFile(path)).toEqual(before);
    expect(unwrap(await M.loadCheckpoint(path)).metadata).toEqual({ step: 1 });
  });

  it('removes the temporary file when the final rename fails', async () => {
    const sub = join(dir, 'atomic-rename');
    const path = join(sub, 'ck.mixrl');
    await fsp.mkdir(join(path, 'occupied'), { recursive: true }); // a non-empty directory where the file should go
    const saved = await save(path, 1);
    expect(isLeft(saved) && saved.left.code).toBe('io');
    expect(isLeft(saved) && saved.left.message).toMatch(`${path}: cannot write the checkpoint: E`);
    expect(await fsp.readdir(sub)).toEqual(['ck.mixrl']);
    expect(await fsp.readdir(path)).toEqual(['occupied']);
  });
});

describe('removeLeftoverTemps', () => {
  it("removes writeAtomically's temporaries of the named files only, and what a kill mid-write leaves is one", async () => {
    const { removeLeftoverTemps, writeAtomically } = await import('../../src/rl/checkpoint');
    const dir = await fsp.mkdtemp(join(tmpdir(), 'mixrl-temps-'));
    const uuid = '0b7e1c4a-3f2d-4c1e-9a8b-7d6c5b4a3f2e';
    // A write cut short: the temporary `writeAtomically` makes, caught before its rename.
    const renamed = vi.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('killed'), { code: 'EIO' }));
    const removed = vi.spyOn(fsp, 'rm').mockResolvedValueOnce(undefined);
    await expect(writeAtomically(join(dir, 'checkpoint.mixrl'), [Uint8Array.of(1, 2, 3)])).rejects.toThrow('killed');
    renamed.mockRestore();
    removed.mockRestore();
    const names = [
      `.summary.json.${uuid}.tmp`, // a named file's: removed
      `.other.json.${uuid}.tmp`, // not named: kept
      '.summary.json.not-a-uuid.tmp', // not writeAtomically's: kept
      'summary.json', // the file itself: kept
    ];
    for (const name of names) await fsp.writeFile(join(dir, name), 'x');
    const left = (await fsp.readdir(dir)).filter((f) => f.startsWith('.checkpoint.mixrl.'));
    expect(left).toHaveLength(1);
    expect(await removeLeftoverTemps(dir, ['checkpoint.mixrl', 'summary.json'])).toBe(2);
    expect((await fsp.readdir(dir)).sort()).toEqual([`.other.json.${uuid}.tmp`, '.summary.json.not-a-uuid.tmp', 'summary.json']);
    expect(await removeLeftoverTemps(join(dir, 'missing'), ['x'])).toBe(0);
  });
});
