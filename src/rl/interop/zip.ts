/**
 * Zip archives as `.npz` files use them (PKWARE APPNOTE 6.3): local file headers each followed by its
 * data, a central directory listing them, and the end-of-central-directory record. Written with
 * STORED (uncompressed) entries; read with STORED or DEFLATED ones (`np.savez_compressed`), every
 * entry's CRC-32 and size checked. Zip64 sizes (archives over 4 GiB or 65,535 entries) are refused;
 * the zip64 extra field numpy puts in each local header (`force_zip64`) is skipped, the central
 * directory's sizes being the ones read.
 */
import { inflateRawSync } from 'node:zlib';
import { crc32 } from '../crc32';
import { fail } from './format';

/** One file of an archive. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/** An entry read back: the byte of the file where its data start, and whether they are stored there as they are (not deflated). */
export interface ZipMember extends ZipEntry {
  readonly at: number;
  readonly stored: boolean;
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const LOCAL_BYTES = 30;
const CENTRAL_BYTES = 46;
const END_BYTES = 22;
const STORED = 0;
const DEFLATED = 8;
/** Version 2.0 of the format: what reading a stored or deflated entry needs. */
const VERSION = 20;
/** Flag bit 11: the name is UTF-8. */
const UTF8 = 0x0800;
/** DOS date of 1980-01-01, the earliest a zip can say (entries carry no real time, so archives are reproducible). */
const DOS_DATE = (1 << 5) | 1;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/**
 * The bytes of a zip archive of `entries`, uncompressed, as chunks to write in order; throws when the
 * archive would need zip64 (over 4 GiB or 65,535 entries).
 *
 * @example
 * const chunks = zipStored('w.npz', [{ name: 'w.npy', data: npyBytes(w) }]);
 */
export function zipStored(file: string, entries: readonly ZipEntry[]): Uint8Array[] {
  if (entries.length >= U16_MAX) fail('unserializable', file, undefined, `${entries.length} arrays are too many for a zip without zip64 (at most 65,534)`);
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = new TextEncoder().encode(name);
    const fields = { flags: /^[\x20-\x7e]*$/.test(name) ? 0 : UTF8, crc: crc32(data), size: data.length, nameLength: nameBytes.length };
    if (offset + LOCAL_BYTES + nameBytes.length + data.length >= U32_MAX) fail('unserializable', file, undefined, 'the archive would pass 4 GiB, which needs zip64');
    const local = new Uint8Array(LOCAL_BYTES + nameBytes.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, LOCAL, true);
    l.setUint16(4, VERSION, true);
    l.setUint16(6, fields.flags, true);
    l.setUint16(8, STORED, true);
    l.setUint16(12, DOS_DATE, true);
    l.setUint32(14, fields.crc, true);
    l.setUint32(18, fields.size, true);
    l.setUint32(22, fields.size, true);
    l.setUint16(26, fields.nameLength, true);
    local.set(nameBytes, LOCAL_BYTES);
    const entry = new Uint8Array(CENTRAL_BYTES + nameBytes.length);
    const c = new DataView(entry.buffer);
    c.setUint32(0, CENTRAL, true);
    c.setUint16(4, VERSION, true);
    c.setUint16(6, VERSION, true);
    c.setUint16(8, fields.flags, true);
    c.setUint16(10, STORED, true);
    c.setUint16(14, DOS_DATE, true);
    c.setUint32(16, fields.crc, true);
    c.setUint32(20, fields.size, true);
    c.setUint32(24, fields.size, true);
    c.setUint16(28, fields.nameLength, true);
    c.setUint32(42, offset, true);
    entry.set(nameBytes, CENTRAL_BYTES);
    chunks.push(local, data);
    central.push(entry);
    offset += local.length + data.length;
  }
  const centralSize = central.reduce((n, e) => n + e.length, 0);
  if (offset + centralSize >= U32_MAX) fail('unserializable', file, undefined, 'the archive would pass 4 GiB, which needs zip64');
  const end = new Uint8Array(END_BYTES);
  const e = new DataView(end.buffer);
  e.setUint32(0, END, true);
  e.setUint16(8, entries.length, true);
  e.setUint16(10, entries.length, true);
  e.setUint32(12, centralSize, true);
  e.setUint32(16, offset, true);
  return [...chunks, ...central, end];
}

/**
 * The entries of the zip archive in `bytes`, in central-directory order, checked; throws a
 * CheckpointError naming the byte.
 *
 * @example
 * for (const { name, data } of unzip('w.npz', bytes)) console.log(name, data.length); // w.npy 136
 */
export function unzip(file: string, bytes: Uint8Array): ZipMember[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const endAt = findEnd(file, bytes, view);
  if (view.getUint16(endAt + 4, true) !== 0 || view.getUint16(endAt + 6, true) !== 0) fail('bad-layout', file, endAt, 'a multi-disk zip archive');
  const count = view.getUint16(endAt + 10, true);
  const centralSize = view.getUint32(endAt + 12, true);
  const centralAt = view.getUint32(endAt + 16, true);
  if (count === U16_MAX || centralSize === U32_MAX || centralAt === U32_MAX || (endAt >= 20 && view.getUint32(endAt - 20, true) === ZIP64_LOCATOR)) {
    fail('unsupported-version', file, endAt, 'a zip64 archive (over 4 GiB or 65,535 entries); mixrl reads zips without zip64 records');
  }
  if (centralAt + centralSize > endAt) {
    fail('bad-layout', file, endAt, `the central directory [${centralAt}, ${centralAt + centralSize}) overlaps the end record at byte ${endAt}`);
  }
  const members: ZipMember[] = [];
  for (let at = centralAt, i = 0; i < count; i++) {
    if (at + CENTRAL_BYTES > centralAt + centralSize || view.getUint32(at, true) !== CENTRAL) fail('bad-layout', file, at, `central directory entry ${i} of ${count} is missing`);
    const nameLength = view.getUint16(at + 28, true);
    const next = at + CENTRAL_BYTES + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (next > centralAt + centralSize) fail('bad-layout', file, at, `central directory entry ${i} runs past the directory's end`);
    members.push(
      readMember(file, bytes, view, at, {
        flags: view.getUint16(at + 8, true),
        method: view.getUint16(at + 10, true),
        crc: view.getUint32(at + 16, true),
        compressedSize: view.getUint32(at + 20, true),
        size: view.getUint32(at + 24, true),
        localAt: view.getUint32(at + 42, true),
        name: new TextDecoder().decode(bytes.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength)),
      }),
    );
    at = next;
  }
  return members;
}

/** The end-of-central-directory record's byte: the last signature whose comment reaches the file's end exactly. */
function findEnd(file: string, bytes: Uint8Array, view: DataView): number {
  for (let at = bytes.length - END_BYTES; at >= Math.max(0, bytes.length - END_BYTES - U16_MAX); at--) {
    if (view.getUint32(at, true) === END && at + END_BYTES + view.getUint16(at + 20, true) === bytes.length) return at;
  }
  return fail('bad-magic', file, 0, `not a zip archive (no end-of-central-directory record in its ${bytes.length} bytes)`);
}

/** What the central directory says of one entry. */
interface CentralEntry {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localAt: number;
  name: string;
}

/** One entry's data, from its local header on, decompressed and checked against its central directory entry at `at`. */
function readMember(file: string, bytes: Uint8Array, view: DataView, at: number, entry: CentralEntry): ZipMember {
  const { flags, method, crc, compressedSize, size, localAt, name } = entry;
  const what = `entry '${name}'`;
  if (flags & 1) fail('bad-layout', file, at, `${what} is encrypted`);
  if (method !== STORED && method !== DEFLATED) fail('bad-layout', file, at, `${what} uses compression method ${method}; mixrl reads stored (0) and deflated (8) entries`);
  if (compressedSize === U32_MAX || size === U32_MAX || localAt === U32_MAX) fail('unsupported-version', file, at, `${what} needs zip64 sizes (over 4 GiB)`);
  if (localAt + LOCAL_BYTES > bytes.length || view.getUint32(localAt, true) !== LOCAL) fail('bad-layout', file, localAt, `${what}: no local file header where the directory says`);
  const localName = bytes.subarray(localAt + LOCAL_BYTES, localAt + LOCAL_BYTES + view.getUint16(localAt + 26, true));
  if (new TextDecoder().decode(localName) !== name) fail('bad-layout', file, localAt, `${what}: the local header names '${new TextDecoder().decode(localName)}'`);
  const dataAt = localAt + LOCAL_BYTES + localName.length + view.getUint16(localAt + 28, true);
  if (dataAt + compressedSize > bytes.length) {
    fail('truncated', file, dataAt, `${what} needs bytes [${dataAt}, ${dataAt + compressedSize}) but the file ends at byte ${bytes.length}`);
  }
  const stored = bytes.subarray(dataAt, dataAt + compressedSize);
  let data = stored;
  if (method === DEFLATED) {
    try {
      data = inflateRawSync(stored, { maxOutputLength: Math.max(size, 1) });
    } catch (e) {
      fail('bad-layout', file, dataAt, `${what} does not inflate to the ${size} bytes the directory says: ${(e as Error).message}`);
    }
  }
  if (data.length !== size) fail('bad-layout', file, dataAt, `${what} holds ${data.length} bytes; the directory says ${size}`);
  const sum = crc32(data);
  if (sum !== crc) fail('checksum', file, dataAt, `${what}: CRC-32 mismatch (stored ${hex(crc)}, computed ${hex(sum)})`);
  return { name, data, at: dataAt, stored: method === STORED };
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
