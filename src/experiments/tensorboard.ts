/**
 * TensorBoard event files, written by hand (no dependency): TFRecord framing around protobuf-encoded
 * `tensorflow.Event` messages, scalars as `Summary.Value.simple_value`. TensorBoard reads any file
 * whose name holds `tfevents` in a folder under its `--logdir`; each folder is one run.
 *
 * Record: uint64 length (little-endian), masked CRC-32C of those 8 bytes, the data, masked CRC-32C
 * of the data. Event: wall_time (double, field 1), step (int64, field 2), file_version (string,
 * field 3; the first record, "brain.Event:2"), summary (field 5) holding Summary.Value entries
 * (field 1) of tag (string, field 1) and simple_value (float, field 2). As proto3 serializes them,
 * a wall_time or step of 0 is left out; simple_value is a oneof member and always written.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { crc32c } from '../rl/crc32';

/** CRC-32C (Castagnoli), shared with the checkpoint files' CRC-32 table code. */
export { crc32c };

/**
 * TFRecord's masked CRC-32C: the CRC rotated right by 15 bits plus 0xa282ead8 (mod 2^32).
 *
 * @example
 * maskedCrc32c(new Uint8Array(0)); // 0xa282ead8 (the CRC of nothing is 0)
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** Protobuf wire format, field by field, into a growing list of bytes. */
class ProtoWriter {
  private readonly chunks: number[] = [];

  varint(value: bigint): this {
    let v = BigInt.asUintN(64, value); // negative int64: ten bytes of two's complement, as protobuf does
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      this.chunks.push(v === 0n ? byte : byte | 0x80);
    } while (v !== 0n);
    return this;
  }

  key(field: number, wireType: number): this {
    return this.varint(BigInt((field << 3) | wireType));
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(BigInt(data.length));
    for (const b of data) this.chunks.push(b);
    return this;
  }

  double(field: number, value: number): this {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    return this.fixed(field, 1, new Uint8Array(view.buffer));
  }

  float(field: number, value: number): this {
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    return this.fixed(field, 5, new Uint8Array(view.buffer));
  }

  private fixed(field: number, wireType: number, data: Uint8Array): this {
    this.key(field, wireType);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** What one Event holds: a file version or scalars. */
export interface EventFields {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  /** An integer (int64); 0 is left out of the bytes, as proto3 does. */
  step: number;
  fileVersion?: string;
  /** Tag -> value, each written as a float32 `simple_value`. */
  scalars?: readonly (readonly [string, number])[];
}

/**
 * The protobuf bytes of a `tensorflow.Event`.
 *
 * @example
 * encodeEvent({ wallTime: 1.5, step: 7, scalars: [['loss', 0.25]] }); // 09 (1.5 as double) 10 07 2a ...
 */
export function encodeEvent(event: EventFields): Uint8Array {
  if (!Number.isSafeInteger(event.step)) throw new RangeError(`TensorBoard event: step must be an integer, got ${event.step}`);
  const w = new ProtoWriter();
  if (event.wallTime !== 0) w.double(1, event.wallTime);
  if (event.step !== 0) w.key(2, 0).varint(BigInt(event.step));
  if (event.fileVersion !== undefined) w.bytes(3, new TextEncoder().encode(event.fileVersion));
  if (event.scalars !== undefined) {
    const summary = new ProtoWriter();
    for (const [tag, value] of event.scalars) {
      summary.bytes(1, new ProtoWriter().bytes(1, new TextEncoder().encode(tag)).float(2, value).finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/**
 * One TFRecord: length, masked CRC-32C of the length, the data, masked CRC-32C of the data.
 *
 * @example
 * tfRecord(encodeEvent({ wallTime: 1, step: 0, fileVersion: 'brain.Event:2' })).length; // 16 + the event's bytes
 */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** A new file `events.out.tfevents.<seconds>.<host>.mixrl` in `dir`, moving the seconds on past names taken. */
function createNew(dir: string, seconds: number, host: string): [number, string] {
  for (let s = seconds; ; s++) {
    const file = path.join(dir, `events.out.tfevents.${s}.${host}.mixrl`);
    try {
      return [openSync(file, 'wx'), file];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** Options of `EventFileWriter`. */
export interface EventFileWriterOptions {
  /** The clock, in seconds since the Unix epoch (default `Date.now() / 1000`); tests fix it. */
  now?: () => number;
  /** The host name in the file's name (default `os.hostname()`). */
  host?: string;
}

/**
 * A TensorBoard event file in `dir`, `events.out.tfevents.<unix seconds>.<host>.mixrl`, created new
 * (never appended to or overwritten: a name taken moves the seconds on). Scalars are kept in memory
 * until `flush`; `close` flushes.
 *
 * @example
 * const tb = new EventFileWriter('runs/p');
 * tb.scalar('rollout/ep_rew', -812.5, 200);
 * tb.flush();
 * tb.close();
 */
export class EventFileWriter {
  /** The file's path. */
  readonly file: string;
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private readonly now: () => number;

  constructor(dir: string, options: EventFileWriterOptions = {}) {
    this.now = options.now ?? (() => Date.now() / 1000);
    const host = (options.host ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '_');
    const start = this.now();
    [this.fd, this.file] = createNew(dir, Math.floor(start), host);
    this.pending.push(tfRecord(encodeEvent({ wallTime: start, step: 0, fileVersion: 'brain.Event:2' })));
    this.flush();
  }

  /** Queues one scalar at `step`, stamped with the clock's time now. */
  scalar(tag: string, value: number, step: number): void {
    this.checkOpen();
    this.pending.push(tfRecord(encodeEvent({ wallTime: this.now(), step, scalars: [[tag, value]] })));
  }

  /** Writes the queued records to the file. */
  flush(): void {
    const fd = this.checkOpen();
    for (const record of this.pending) {
      for (let done = 0; done < record.length; ) done += writeSync(fd, record, done);
    }
    this.pending = [];
  }

  private checkOpen(): number {
    if (this.fd === null) throw new Error(`${this.file}: the event file is closed`);
    return this.fd;
  }

  /** Flushes and closes the file; later calls do nothing. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}
