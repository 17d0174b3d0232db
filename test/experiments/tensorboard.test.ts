/**
 * The TensorBoard event writer against an independent reader (tfevents-decoder.ts: bitwise CRC-32C,
 * protobuf wire format by hand) and against bytes made by Python's protobuf
 * (fixtures/tfevents.json, from fixtures/tfevents.py; python is not needed to run this).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c, encodeEvent, EventFileWriter, maskedCrc32c, tfRecord } from '../../src/experiments/tensorboard';
import { bitwiseCrc32c, bitwiseMasked, decodeEventFile, readFields, readRecords } from './tfevents-decoder';

const ascii = (s: string) => new TextEncoder().encode(s);
const tmp = () => mkdtempSync(path.join(tmpdir(), 'mixrl-tb-'));

/** A clock reading out the given times one after another. */
const clock = (times: number[]) => {
  let i = 0;
  return () => {
    if (i >= times.length) throw new Error('clock read more often than expected');
    return times[i++];
  };
};

describe('CRC-32C', () => {
  // RFC 3720 (iSCSI), appendix B.4, and the check value of the Castagnoli CRC catalogue.
  const vectors: [string, Uint8Array, number][] = [
    ['"123456789"', ascii('123456789'), 0xe3069283],
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0..31', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['bytes 31..0', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['nothing', new Uint8Array(0), 0],
  ];
  it.each(vectors)('of %s is the published value (the test\'s bitwise CRC too)', (_, bytes, want) => {
    expect(bitwiseCrc32c(bytes)).toBe(want);
    expect(crc32c(bytes)).toBe(want);
  });

  it('agrees with the bitwise CRC on random bytes, and the mask with BigInt arithmetic', () => {
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: n * 3 }, next);
      expect(crc32c(bytes)).toBe(bitwiseCrc32c(bytes));
      expect(maskedCrc32c(bytes)).toBe(bitwiseMasked(bytes));
    }
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});

describe('Event encoding', () => {
  it('writes the fields proto3 writes: wall_time double, step varint, summary value tag and float', () => {
    // Bytes written out by hand from the wire format: key = field << 3 | wire type.
    const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [['a/b', 0.25]] });
    expect(Array.from(bytes)).toEqual([
      0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 1: double 1.5
      0x10, 0xac, 0x02, // 2: varint 300
      0x2a, 12, 0x0a, 10, // 5: Summary (12 bytes), 1: Value (10 bytes)
      0x0a, 3, 0x61, 0x2f, 0x62, // 1: tag 'a/b'
      0x15, 0, 0, 0x80, 0x3e, // 2: float 0.25
    ]);
    // wall_time and step of 0 are left out; the file version is field 3.
    expect(Array.from(encodeEvent({ wallTime: 0, step: 0, fileVersion: 'v' }))).toEqual([0x1a, 1, 0x76]);
    expect(() => encodeEvent({ wallTime: 1, step: 0.5 })).toThrow(/step must be an integer, got 0.5/);
  });

  it('frames a record: length, its masked CRC, data, the data\'s masked CRC', () => {
    const data = ascii('hello');
    const r = tfRecord(data);
    const view = new DataView(r.buffer);
    expect(r.length).toBe(21);
    expect(view.getBigUint64(0, true)).toBe(5n);
    expect(view.getUint32(8, true)).toBe(bitwiseMasked(r.subarray(0, 8)));
    expect(Array.from(r.subarray(12, 17))).toEqual(Array.from(data));
    expect(view.getUint32(17, true)).toBe(bitwiseMasked(data));
    expect(readRecords(r).map((d) => Array.from(d))).toEqual([Array.from(data)]);
  });
});

interface Fixture {
  start: number;
  scalars: { wallTime: number; step: number; tag: string; value: number }[];
  records: string[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/tfevents.json', import.meta.url), 'utf8')) as Fixture;

describe('EventFileWriter', () => {
  it("writes the bytes Python's protobuf serializer gives for the same events", () => {
    const dir = tmp();
    const tb = new EventFileWriter(dir, { now: clock([fixture.start, ...fixture.scalars.map((s) => s.wallTime)]), host: 'fixture' });
    for (const s of fixture.scalars) tb.scalar(s.tag, s.value, s.step);
    tb.close();
    expect(Buffer.from(readFileSync(tb.file)).toString('hex')).toBe(fixture.records.join(''));
    expect(path.basename(tb.file)).toBe(`events.out.tfevents.${Math.floor(fixture.start)}.fixture.mixrl`);
  });

  it('reads back with an independent decoder: file_version first, then tags, steps, float32 values', () => {
    const dir = tmp();
    const times = [1764412800.5, 1764412801, 1764412802.25, 1764412803];
    const tb = new EventFileWriter(dir, { now: clock(times) });
    tb.scalar('rollout/ep_rew', -812.3, 200);
    tb.scalar('train/critic_loss', 0.1, 1000);
    tb.flush();
    tb.scalar('eval/mean_reward', -1234.5678, 2 ** 33);
    tb.close();
    tb.close(); // a second close does nothing
    const events = decodeEventFile(readFileSync(tb.file));
    expect(events).toEqual([
      { wallTime: 1764412800.5, step: 0, fileVersion: 'brain.Event:2' },
      { wallTime: 1764412801, step: 200, values: [['rollout/ep_rew', Math.fround(-812.3)]] },
      { wallTime: 1764412802.25, step: 1000, values: [['train/critic_loss', Math.fround(0.1)]] },
      { wallTime: 1764412803, step: 2 ** 33, values: [['eval/mean_reward', Math.fround(-1234.5678)]] },
    ]);
    expect(Math.fround(0.1)).not.toBe(0.1); // the values really went through float32
  });

  it('names its file as TensorBoard expects and never writes over another one', () => {
    const dir = tmp();
    const a = new EventFileWriter(dir, { now: () => 1764412800.9 });
    const b = new EventFileWriter(dir, { now: () => 1764412800.1 }); // the same second: the next free name
    a.close();
    b.close();
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
    expect(path.basename(a.file)).toBe(`events.out.tfevents.1764412800.${host}.mixrl`);
    expect(path.basename(b.file)).toBe(`events.out.tfevents.1764412801.${host}.mixrl`);
    expect(readdirSync(dir).sort()).toEqual([path.basename(a.file), path.basename(b.file)].sort());
    expect(decodeEventFile(readFileSync(a.file))).toEqual([{ wallTime: 1764412800.9, step: 0, fileVersion: 'brain.Event:2' }]);
  });

  it('keeps scalars in memory until flush, and refuses scalars after close', () => {
    const dir = tmp();
    const tb = new EventFileWriter(dir, { now: () => 1 });
    const size = () => statSync(tb.file).size;
    const header = size();
    expect(readRecords(readFileSync(tb.file))).toHaveLength(1); // the file version is on disk at once
    tb.scalar('x', 1, 1);
    expect(size()).toBe(header);
    tb.flush();
    expect(size()).toBeGreaterThan(header);
    tb.close();
    expect(() => tb.scalar('y', 2, 2)).toThrow(/the event file is closed/);
    expect(() => tb.flush()).toThrow(/the event file is closed/);
    expect(readFields(readRecords(readFileSync(tb.file))[1]).map((f) => f.field)).toEqual([1, 2, 5]);
  });
});
