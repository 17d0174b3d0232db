/**
 * Hugging Face's `.safetensors` format (github.com/huggingface/safetensors):
 *
 *     bytes 0..8      u64 little-endian N, the header's length
 *     bytes 8..8+N    the header: a UTF-8 JSON object starting with '{', padded with spaces to a
 *                     multiple of 8 bytes: {"__metadata__": {string: string}, (optional)
 *                     "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 *     then            the data buffer; offsets are relative to its start, the arrays' row-major
 *                     little-endian elements tile it exactly (no overlaps, no holes, nothing after)
 *
 * Written as the reference writer writes it: arrays ordered by dtype alignment (F64, F32, U32, I32,
 * BOOL), then by name, so each starts aligned to its element size; the header's keys in that order,
 * `__metadata__` first. Every rule above is checked on reading.
 */
import type { Either } from 'fp-ts/Either';
import { type DType, formatShape, sizeOf } from '../../tensor';
import { bytesOf as elementBytes } from '../../tensor/dtype';
import type { CheckpointError } from '../errors';
import { bytesOf, catching, checkHostArray, elementsOf, fail, type NamedArrays, setArray } from './format';

/** The header key of the file's string-to-string metadata. */
const METADATA = '__metadata__';
/** The reference reader's limit on the header (100 MB). */
const MAX_HEADER = 100_000_000;
const ALIGN = 8;

/** The format's dtype names, in the reference writer's order (descending alignment). */
const DTYPE_NAMES: Record<DType, string> = { float64: 'F64', float32: 'F32', uint32: 'U32', int32: 'I32', bool: 'BOOL' };
const ORDER = Object.keys(DTYPE_NAMES) as DType[];
const FROM_NAME = new Map(ORDER.map((d) => [DTYPE_NAMES[d], d]));

/** The arrays and the metadata of a `.safetensors` file. */
export interface Safetensors {
  readonly arrays: NamedArrays;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The bytes of a `.safetensors` file holding `arrays` and, under `__metadata__`, `metadata`, as
 * chunks to write in order. `Left('unserializable')` for the name `__metadata__`, an array whose data
 * do not fit its dtype and shape, or metadata that is not strings.
 *
 * @example
 * const chunks = encodeSafetensors('w.safetensors', { w: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } }, { env: 'Pendulum' });
 */
export function encodeSafetensors(file: string, arrays: NamedArrays, metadata: Readonly<Record<string, string>> = {}): Either<CheckpointError, Uint8Array[]> {
  return catching(() => {
    for (const [name, array] of Object.entries(arrays)) {
      if (name === METADATA) fail('unserializable', file, undefined, `an array may not be named ${METADATA}`);
      checkHostArray(file, `array '${name}'`, array);
    }
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') fail('unserializable', file, undefined, `metadata '${key}' is ${typeof value}; safetensors metadata are strings`);
    }
    const sorted = Object.entries(arrays).sort(([a, x], [b, y]) => ORDER.indexOf(x.dtype) - ORDER.indexOf(y.dtype) || (a < b ? -1 : a > b ? 1 : 0));
    // Built entry by entry: an object literal would put integer-like names ("0") first.
    const object = (entries: [string, unknown][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
    const entries: [string, unknown][] = Object.keys(metadata).length > 0 ? [[METADATA, object(Object.entries(metadata).map(([k, v]) => [k, JSON.stringify(v)]))]] : [];
    let offset = 0;
    for (const [name, { dtype, shape, data }] of sorted) {
      entries.push([name, JSON.stringify({ dtype: DTYPE_NAMES[dtype], shape, data_offsets: [offset, offset + data.byteLength] })]);
      offset += data.byteLength;
    }
    const json = new TextEncoder().encode(object(entries));
    const header = new Uint8Array(Math.ceil(json.length / ALIGN) * ALIGN).fill(0x20);
    header.set(json);
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
    return [length, header, ...sorted.map(([, { data }]) => bytesOf(data))];
  });
}

/**
 * The arrays (in data order) and metadata of a `.safetensors` file's bytes, every rule of the
 * format checked: the header's length (within the file, at most 100 MB; a length that is not a
 * multiple of 8, which the writers pad to, is read as the reference reader reads it), its JSON
 * (an object starting with '{', padded with spaces), each entry's dtype, shape and offsets, and that
 * the arrays tile the data buffer exactly. Errors name the file, the byte and the array.
 *
 * @example
 * const { arrays, metadata } = decodeSafetensors('w.safetensors', await readFile('w.safetensors')).right;
 */
export function decodeSafetensors(file: string, bytes: Uint8Array): Either<CheckpointError, Safetensors> {
  return catching(() => {
    const { entries, metadata, dataStart } = readHeader(file, bytes);
    const dataLength = bytes.length - dataStart;
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    let covered = 0;
    let previous = '';
    const arrays: NamedArrays = {};
    for (const { name, dtype, shape, begin, end } of entries) {
      const where = `tensor '${name}' (data_offsets [${begin}, ${end}])`;
      if (end > dataLength) {
        fail('truncated', file, dataStart + begin, `${where} needs bytes [${dataStart + begin}, ${dataStart + end}) but the file ends at byte ${bytes.length}`);
      }
      if (begin < covered) fail('bad-layout', file, dataStart + begin, `${where} overlaps tensor '${previous}', which ends at data offset ${covered}`);
      if (begin > covered) fail('bad-layout', file, dataStart + covered, `data bytes [${covered}, ${begin}) belong to no tensor (a hole before ${where})`);
      setArray(arrays, name, { dtype, shape, data: elementsOf(dtype, bytes.subarray(dataStart + begin, dataStart + end)) });
      covered = end;
      previous = name;
    }
    if (covered < dataLength) fail('bad-layout', file, dataStart + covered, `${dataLength - covered} bytes after the last tensor's data`);
    return { arrays, metadata };
  });
}

/** One header entry, checked on its own. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** The header's entries and metadata, and where the data buffer starts. */
function readHeader(file: string, bytes: Uint8Array): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) fail('truncated', file, 0, `the file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail('bad-manifest', file, 0, `the header length ${n} is over the format's limit of ${MAX_HEADER} bytes`);
  const length = Number(n);
  if (8 + length > bytes.length) fail('truncated', file, 0, `the header length ${length} needs bytes [8, ${8 + length}) but the file ends at byte ${bytes.length}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + length));
  } catch {
    return fail('bad-manifest', file, 8, 'the header is not UTF-8');
  }
  if (!text.startsWith('{')) fail('bad-manifest', file, 8, `the header must start with '{', found ${JSON.stringify(text.slice(0, 1))}`);
  if (!/\} *$/.test(text)) fail('bad-manifest', file, 8, "the header must end in '}' and padding spaces");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail('bad-manifest', file, 8, `the header is not JSON: ${(e as Error).message}`);
  }
  const bad = (what: string): never => fail('bad-manifest', file, 8, `header: ${what}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('not a JSON object');
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(json)) {
    if (name === METADATA) {
      metadata = readMetadata(info, bad);
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof info !== 'object' || info === null) return bad(`${where} is ${JSON.stringify(info)}, not an object`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = FROM_NAME.get(dtypeName as string);
    if (dtype === undefined) {
      fail('unknown-dtype', file, 8, `header: ${where} has dtype ${JSON.stringify(dtypeName)}; mixrl reads ${ORDER.map((d) => DTYPE_NAMES[d]).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) return bad(`${where} has an invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      return bad(`${where} has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end], begin <= end)`);
    }
    const [begin, end] = offsets as number[];
    const needed = sizeOf(shape) * elementBytes(dtype);
    if (end - begin !== needed) {
      fail('shape-mismatch', file, 8, `header: ${where} is ${DTYPE_NAMES[dtype]}${formatShape(shape)}, ${needed} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  return { entries, metadata, dataStart: 8 + length };
}

function readMetadata(info: unknown, bad: (what: string) => never): Record<string, string> {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) return bad(`${METADATA} is not an object`);
  for (const [key, value] of Object.entries(info)) {
    if (typeof value !== 'string') bad(`${METADATA}.${key} is ${JSON.stringify(value)}, not a string`);
  }
  return { ...(info as Record<string, string>) };
}
