/**
 * The checkpoint file format, version 1 (all integers little-endian):
 *
 *     bytes 0..8     magic "MIXRLCK1"
 *     bytes 8..12    u32 format version (1)
 *     bytes 12..16   u32 manifest length L in bytes
 *     bytes 16..20   u32 CRC-32 of the manifest
 *     bytes 20..20+L the manifest, UTF-8 JSON (see `Manifest`)
 *     then zero padding to a multiple of 8, where the data section starts; the arrays' raw
 *     little-endian elements follow, packed in manifest order, each followed by zero padding to a
 *     multiple of 8; the file ends with the last array's padding.
 *
 * Every byte is checked on reading: the header by value, the manifest and each array by CRC-32,
 * padding by being zero, and nothing may follow the last array.
 *
 * Encoding and decoding are pure; `checkpoint.ts` does the file IO.
 */
import { type Either, left, right } from 'fp-ts/Either';
import { type TreeDef, treeFlatten, treeLeafCount, treePaths, treeUnflatten } from '../autodiff';
import { type Backend, type DType, formatShape, sizeOf, Tensor, tensor } from '../tensor';
import { crc32 } from './crc32';
import { CheckpointError, type CheckpointErrorCode } from './errors';
import { bytesOf, catching, fail } from './file-format';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The typed arrays a checkpoint stores raw (a `Uint8Array` is stored as `uint8`). */
export type RawArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

/**
 * What a checkpoint holds: JSON metadata (configs, step counters, the replay buffer's counters),
 * named pytrees whose leaves are tensors (params, target params, optimizer states; `null` and
 * `undefined` nodes are kept), and named raw typed arrays (the replay buffer's storage).
 */
export interface Checkpoint {
  readonly metadata: Json;
  readonly trees: Readonly<Record<string, unknown>>;
  readonly arrays: Readonly<Record<string, RawArray>>;
}

/** An array's element type in the file: a tensor dtype, or `uint8` for raw bytes. */
type FileDType = DType | 'uint8';

const ELEMENT_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  bool: Uint8Array,
  uint8: Uint8Array,
} as const;

/** One array in the data section; `tree` is set for pytree leaves, whose `name` is tree name plus leaf path. */
interface ArrayEntry {
  name: string;
  tree?: string;
  dtype: FileDType;
  shape: number[];
  offset: number;
  byteLength: number;
  crc32: number;
}

/** The JSON manifest. Leaves of tree `t` are its entries with `tree: t`, in `treeFlatten` order. */
interface Manifest {
  metadata: Json;
  trees: Record<string, TreeDef>;
  arrays: ArrayEntry[];
}

const MAGIC = 'MIXRLCK1';
const VERSION = 1;
const HEADER_BYTES = 20;
const ALIGN = 8;

const alignUp = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Why `value` would not survive a JSON round trip unchanged (NaN, undefined, a BigInt, a class instance, a cycle), or undefined. */
function jsonProblem(value: unknown, path: string, seen: unknown[] = []): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
  const isPlain = isRecord(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));
  if (!Array.isArray(value) && !isPlain) return `${path} is ${value?.constructor?.name ?? typeof value}, not a JSON value`;
  if (seen.includes(value)) return `${path} refers back to itself`;
  const children = Array.isArray(value) ? value.map((v, i) => [`${path}[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [`${path}.${k}`, v] as const);
  for (const [childPath, child] of children) {
    const problem = jsonProblem(child, childPath, [...seen, value]);
    if (problem) return problem;
  }
  return undefined;
}

/** `t.data()` with a synchronous throw (a disposed tensor, a tracer) turned into a rejection. */
const readTensor = async (t: Tensor) => t.data();

function rawDType(a: unknown): FileDType | undefined {
  if (a instanceof Uint8Array) return 'uint8';
  return (['float32', 'float64', 'int32', 'uint32'] as const).find((d) => a instanceof ELEMENT_TYPES[d]);
}

/**
 * The bytes of a checkpoint file, as chunks to write in order (tensors are read with `await
 * t.data()`). `Left('unserializable')` for a leaf that is not a concrete tensor, an unsupported raw
 * array, two arrays of one name, or metadata that would not come back unchanged from JSON.
 *
 * @example
 * const chunks = await encodeCheckpoint('ck.mixrl', { metadata: { step: 10 }, trees: { actor }, arrays: {} });
 */
export async function encodeCheckpoint(file: string, ckpt: Checkpoint): Promise<Either<CheckpointError, Uint8Array[]>> {
  const entries: { entry: Omit<ArrayEntry, 'offset' | 'byteLength' | 'crc32'>; bytes: Uint8Array }[] = [];
  const trees: Record<string, TreeDef> = {};
  try {
    for (const [treeName, tree] of Object.entries(ckpt.trees)) {
      const [leaves, def] = treeFlatten(tree);
      trees[treeName] = def;
      const paths = treePaths(def);
      for (const [i, leaf] of leaves.entries()) {
        const name = paths[i] === '(root)' ? treeName : `${treeName}${paths[i]}`;
        if (!(leaf instanceof Tensor)) {
          fail('unserializable', file, undefined, `leaf ${name} is ${typeof leaf}, not a tensor (put plain values in metadata)`);
        }
        const data = await readTensor(leaf).catch((e: Error) => fail('unserializable', file, undefined, `cannot read tensor ${name}: ${e.message}`));
        entries.push({ entry: { name, tree: treeName, dtype: leaf.dtype, shape: [...leaf.shape] }, bytes: bytesOf(data) });
      }
    }
    for (const [name, array] of Object.entries(ckpt.arrays)) {
      const dtype = rawDType(array);
      if (dtype === undefined) fail('unserializable', file, undefined, `array ${name} is not a Float32/Float64/Int32/Uint32/Uint8Array`);
      entries.push({ entry: { name, dtype, shape: [array.length] }, bytes: bytesOf(array) });
    }
    const names = new Set<string>();
    for (const { entry } of entries) {
      if (names.has(entry.name)) fail('unserializable', file, undefined, `two arrays would both be named ${entry.name}`);
      names.add(entry.name);
    }
    const problem = jsonProblem(ckpt.metadata, 'metadata');
    if (problem) fail('unserializable', file, undefined, problem);
  } catch (e) {
    if (e instanceof CheckpointError) return left(e);
    throw e;
  }
  const arrays = entries.map(({ entry, bytes }, i) => ({
    ...entry,
    offset: dataLength(entries.slice(0, i).map((e) => e.bytes)),
    byteLength: bytes.length,
    crc32: crc32(bytes),
  }));
  const manifest = new TextEncoder().encode(JSON.stringify({ metadata: ckpt.metadata, trees, arrays } satisfies Manifest));
  const header = new Uint8Array(HEADER_BYTES);
  header.set(new TextEncoder().encode(MAGIC));
  const view = new DataView(header.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, manifest.length, true);
  view.setUint32(16, crc32(manifest), true);
  const chunks: Uint8Array[] = [header, manifest, new Uint8Array(alignUp(HEADER_BYTES + manifest.length) - HEADER_BYTES - manifest.length)];
  for (const { bytes } of entries) chunks.push(bytes, new Uint8Array(alignUp(bytes.length) - bytes.length));
  return right(chunks);
}

/**
 * The checkpoint in a file's bytes, every part validated: magic, version, lengths, the manifest's
 * checksum and shape, each array's bounds, dtype, size and checksum. Tensors are made on `backend`.
 *
 * @example
 * const ckpt = decodeCheckpoint('ck.mixrl', await readFile('ck.mixrl'), cpu); // Either<CheckpointError, Checkpoint>
 */
export function decodeCheckpoint(file: string, bytes: Uint8Array, backend: Backend): Either<CheckpointError, Checkpoint> {
  return catching(() => {
    const manifest = readManifest(file, bytes);
    const manifestEnd = HEADER_BYTES + new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
    const dataStart = alignUp(manifestEnd);
    checkPadding(file, bytes, manifestEnd, dataStart);
    const values = manifest.arrays.map((entry) => {
      const at = dataStart + entry.offset;
      if (at + entry.byteLength > bytes.length) {
        fail('truncated', file, at, `array ${entry.name} needs bytes [${at}, ${at + entry.byteLength}) but the file ends at byte ${bytes.length}`);
      }
      const data = new Uint8Array(entry.byteLength); // a fresh, aligned buffer (file bytes may be a pooled Buffer)
      data.set(bytes.subarray(at, at + entry.byteLength));
      const sum = crc32(data);
      if (sum !== entry.crc32) {
        fail('checksum', file, at, `checksum mismatch in array ${entry.name} (stored ${hex(entry.crc32)}, computed ${hex(sum)})`);
      }
      checkPadding(file, bytes, at + entry.byteLength, dataStart + alignUp(entry.offset + entry.byteLength));
      return new ELEMENT_TYPES[entry.dtype](data.buffer);
    });
    const end = dataStart + dataLength(manifest.arrays);
    if (bytes.length > end) fail('bad-layout', file, end, `${bytes.length - end} unexpected bytes after the last array`);
    const trees = Object.fromEntries(
      Object.entries(manifest.trees).map(([treeName, def]) => {
        const leaves = manifest.arrays.flatMap((entry, i) => (entry.tree === treeName ? [toTensor(file, dataStart, entry, values[i], backend)] : []));
        return [treeName, treeUnflatten(def, leaves)];
      }),
    );
    const arrays = Object.fromEntries(manifest.arrays.flatMap((entry, i) => (entry.tree === undefined ? [[entry.name, values[i]]] : [])));
    return { metadata: manifest.metadata, trees, arrays };
  });
}

/** The data section's length: arrays packed in order, each padded to a multiple of 8. */
const dataLength = (arrays: readonly { byteLength: number }[]) => arrays.reduce((end, a) => alignUp(end + a.byteLength), 0);

/** Padding bytes `[from, to)` must exist and be zero, so that no byte of a file goes unchecked. */
function checkPadding(file: string, bytes: Uint8Array, from: number, to: number): void {
  if (to > bytes.length) fail('truncated', file, from, `padding needs bytes [${from}, ${to}) but the file ends at byte ${bytes.length}`);
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 0) fail('bad-layout', file, i, `padding byte is ${bytes[i]}, not 0`);
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function toTensor(file: string, dataStart: number, entry: ArrayEntry, values: RawArray, backend: Backend): Tensor {
  const dtype = entry.dtype as DType;
  if (!backend.supports(dtype)) {
    fail('unknown-dtype', file, dataStart + entry.offset, `the ${backend.name} backend has no ${dtype} tensors (array ${entry.name})`);
  }
  return tensor(values, { shape: entry.shape, dtype, backend });
}

/** Header checks, then the manifest parsed and checked against itself. */
function readManifest(file: string, bytes: Uint8Array): Manifest {
  if (bytes.length < HEADER_BYTES) {
    fail('truncated', file, 0, `the file is ${bytes.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  }
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== MAGIC) fail('bad-magic', file, 0, `not a mixrl checkpoint: magic ${JSON.stringify(magic)}, expected "${MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) fail('unsupported-version', file, 8, `format version ${version}; this mixrl reads version ${VERSION}`);
  const length = view.getUint32(12, true);
  if (HEADER_BYTES + length > bytes.length) {
    fail('truncated', file, HEADER_BYTES, `the manifest needs bytes [${HEADER_BYTES}, ${HEADER_BYTES + length}) but the file ends at byte ${bytes.length}`);
  }
  const text = bytes.subarray(HEADER_BYTES, HEADER_BYTES + length);
  const sum = crc32(text);
  if (sum !== view.getUint32(16, true)) {
    fail('checksum', file, HEADER_BYTES, `manifest checksum mismatch (stored ${hex(view.getUint32(16, true))}, computed ${hex(sum)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(text));
  } catch (e) {
    fail('bad-manifest', file, HEADER_BYTES, `the manifest is not JSON: ${(e as Error).message}`);
  }
  return checkManifest(json, (code, what) => fail(code, file, HEADER_BYTES, `manifest: ${what}`));
}

type Report = (code: CheckpointErrorCode, what: string) => never;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function checkManifest(json: unknown, report: Report): Manifest {
  if (!isRecord(json) || !('metadata' in json) || !isRecord(json.trees) || !Array.isArray(json.arrays)) {
    report('bad-manifest', 'expected an object with metadata, trees and arrays');
  }
  const trees = Object.fromEntries(Object.entries(json.trees).map(([name, def]) => [name, checkTreeDef(def, `tree ${name}`, report)]));
  const arrays = json.arrays.map((entry, i) => checkEntry(entry, i, trees, report));
  const names = new Set<string>();
  arrays.forEach(({ name, offset }, i) => {
    if (names.has(name)) report('bad-manifest', `array name ${name} appears twice`);
    names.add(name);
    const expected = dataLength(arrays.slice(0, i));
    if (offset !== expected) report('bad-manifest', `array ${name} is at offset ${offset}, expected ${expected} (arrays are packed in order, 8-byte aligned)`);
  });
  for (const [name, def] of Object.entries(trees)) {
    const count = arrays.filter((a) => a.tree === name).length;
    if (count !== treeLeafCount(def)) report('bad-manifest', `tree ${name} has ${treeLeafCount(def)} leaves but ${count} arrays`);
  }
  return { metadata: json.metadata as Json, trees, arrays };
}

function checkEntry(entry: unknown, i: number, trees: Record<string, TreeDef>, report: Report): ArrayEntry {
  if (!isRecord(entry) || typeof entry.name !== 'string') report('bad-manifest', `arrays[${i}] has no name`);
  const where = `array ${entry.name}`;
  const { tree, dtype, shape, offset, byteLength } = entry;
  if (tree !== undefined && (typeof tree !== 'string' || !(tree in trees))) report('bad-manifest', `${where} names an unknown tree ${String(tree)}`);
  if (typeof dtype !== 'string' || !Object.hasOwn(ELEMENT_TYPES, dtype)) report('unknown-dtype', `${where} has unknown dtype ${JSON.stringify(dtype)}`);
  if (tree !== undefined && dtype === 'uint8') report('unknown-dtype', `${where} is a tree leaf of dtype uint8, which tensors do not have`);
  if (!Array.isArray(shape) || !shape.every(isCount)) report('bad-manifest', `${where} has an invalid shape ${JSON.stringify(shape)}`);
  if (!isCount(offset) || offset % ALIGN !== 0) report('bad-manifest', `${where} has an invalid offset ${JSON.stringify(offset)}`);
  if (!isCount(entry.crc32) || entry.crc32 > 0xffffffff) report('bad-manifest', `${where} has an invalid crc32 ${JSON.stringify(entry.crc32)}`);
  const needed = sizeOf(shape) * ELEMENT_TYPES[dtype as FileDType].BYTES_PER_ELEMENT;
  if (byteLength !== needed) {
    report('shape-mismatch', `${where}: shape ${formatShape(shape)} of ${dtype} needs ${needed} bytes, the manifest says ${JSON.stringify(byteLength)}`);
  }
  return entry as unknown as ArrayEntry;
}

/** Nesting a tree in a checkpoint may have (a SAC state is 5 deep; a crafted one could overflow the stack). */
const MAX_TREE_DEPTH = 100;

function checkTreeDef(def: unknown, where: string, report: Report, depth = 0): TreeDef {
  if (!isRecord(def)) report('bad-manifest', `${where}: a tree node is not an object`);
  if (depth > MAX_TREE_DEPTH) report('bad-manifest', `${where}: the tree nests deeper than ${MAX_TREE_DEPTH} levels`);
  switch (def.kind) {
    case 'leaf':
      return { kind: 'leaf' };
    case 'none':
      return { kind: 'none', value: def.value === null ? null : undefined };
    case 'array':
      if (!Array.isArray(def.children)) break;
      return { kind: 'array', children: def.children.map((c) => checkTreeDef(c, where, report, depth + 1)) };
    case 'object': {
      const { keys, children } = def;
      if (!Array.isArray(keys) || !Array.isArray(children) || keys.length !== children.length || !keys.every((k) => typeof k === 'string')) break;
      // Each key once, and none that would set the object's prototype instead of a field.
      const repeated = keys.find((k, i) => keys.indexOf(k) !== i || k === '__proto__');
      if (repeated !== undefined) report('bad-manifest', `${where}: an object node has the key ${JSON.stringify(repeated)} ${repeated === '__proto__' ? '(not a field name)' : 'twice'}`);
      return { kind: 'object', keys, children: children.map((c) => checkTreeDef(c, where, report, depth + 1)) };
    }
  }
  return report('bad-manifest', `${where}: invalid tree node ${JSON.stringify(def).slice(0, 80)}`);
}
