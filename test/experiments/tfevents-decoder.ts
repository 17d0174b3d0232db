/**
 * An independent reader of TensorBoard event files for the tests: TFRecord framing checked with a
 * bitwise CRC-32C (no table), protobuf's wire format decoded field by field, `tensorflow.Event`
 * read from its field numbers (event.proto: wall_time 1 double, step 2 int64, file_version 3,
 * summary 5; summary.proto: Summary.value 1, Value.tag 1, Value.simple_value 2 float). It shares no
 * code with src/experiments/tensorboard.ts.
 */

/** CRC-32C bit by bit: reflected Castagnoli polynomial 0x82F63B78. */
export function bitwiseCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask, in BigInt arithmetic (a second way to the same number). */
export function bitwiseMasked(bytes: Uint8Array): number {
  const crc = BigInt(bitwiseCrc32c(bytes));
  const rotated = ((crc >> 15n) | (crc << 17n)) & 0xffffffffn;
  return Number((rotated + 0xa282ead8n) % 2n ** 32n);
}

/** The data of each record, after checking the lengths and both checksums of each. */
export function readRecords(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < file.length) {
    if (at + 12 > file.length) throw new Error(`record at byte ${at}: header cut short`);
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== bitwiseMasked(file.subarray(at, at + 8))) throw new Error(`record at byte ${at}: bad length checksum`);
    const data = file.subarray(at + 12, at + 12 + length);
    if (data.length !== length || at + 16 + length > file.length) throw new Error(`record at byte ${at}: data cut short`);
    if (view.getUint32(at + 12 + length, true) !== bitwiseMasked(data)) throw new Error(`record at byte ${at}: bad data checksum`);
    out.push(data);
    at += 16 + length;
  }
  return out;
}

/** One protobuf field: varints as BigInt, fixed64/fixed32 and length-delimited fields as bytes. */
export interface WireField {
  field: number;
  wireType: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

/** Decodes a message's fields in order; throws on anything malformed. */
export function readFields(data: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= data.length) throw new Error('varint cut short');
      const byte = data[at++];
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const take = (n: number) => {
    if (at + n > data.length) throw new Error('field cut short');
    return data.slice(at, (at += n));
  };
  while (at < data.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wireType = key & 7;
    if (wireType === 0) fields.push({ field, wireType, varint: varint() });
    else if (wireType === 1) fields.push({ field, wireType, bytes: take(8) });
    else if (wireType === 2) fields.push({ field, wireType, bytes: take(Number(varint())) });
    else if (wireType === 5) fields.push({ field, wireType, bytes: take(4) });
    else throw new Error(`wire type ${wireType} not expected`);
  }
  return fields;
}

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** [tag, float32 value] per Summary.Value. */
  values?: [string, number][];
}

const le = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** One `tensorflow.Event` from its bytes (proto3: absent wall_time and step are 0). */
export function decodeEvent(data: Uint8Array): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0 };
  for (const f of readFields(data)) {
    if (f.field === 1 && f.wireType === 1) event.wallTime = le(f.bytes!).getFloat64(0, true);
    else if (f.field === 2 && f.wireType === 0) event.step = Number(BigInt.asIntN(64, f.varint!));
    else if (f.field === 3 && f.wireType === 2) event.fileVersion = new TextDecoder('utf-8', { fatal: true }).decode(f.bytes!);
    else if (f.field === 5 && f.wireType === 2) {
      event.values ??= [];
      for (const v of readFields(f.bytes!)) {
        if (v.field !== 1 || v.wireType !== 2) throw new Error(`Summary field ${v.field} not expected`);
        let tag = '';
        let value = NaN;
        for (const x of readFields(v.bytes!)) {
          if (x.field === 1 && x.wireType === 2) tag = new TextDecoder('utf-8', { fatal: true }).decode(x.bytes!);
          else if (x.field === 2 && x.wireType === 5) value = le(x.bytes!).getFloat32(0, true);
          else throw new Error(`Summary.Value field ${x.field} not expected`);
        }
        event.values.push([tag, value]);
      }
    } else throw new Error(`Event field ${f.field} (wire type ${f.wireType}) not expected`);
  }
  return event;
}

/** Every event of an event file. */
export const decodeEventFile = (file: Uint8Array): DecodedEvent[] => readRecords(file).map(decodeEvent);

/** The scalars of an event file by tag: [step, value] pairs in file order. */
export function scalarsByTag(file: Uint8Array): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const e of decodeEventFile(file)) {
    for (const [tag, value] of e.values ?? []) {
      if (!out.has(tag)) out.set(tag, []);
      out.get(tag)!.push([e.step, value]);
    }
  }
  return out;
}
