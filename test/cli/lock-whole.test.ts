/**
 * A folder's lock is never seen empty: another process polling it while this one takes and releases
 * it reads either no file or this process's id, never a file cut short (an empty lock reads as one
 * left by a killed process, and the poller would take the folder over). The poller's reads are as
 * fast as the system allows; with the lock written after it was made, it saw the empty file within
 * 1,500 cycles about 10,000 times on this 2-core machine (the old `lockOut`, which wrote the id after
 * making the file).
 *
 * Nor is a lock left by a process that has ended taken over by two commands at once: processes
 * that take the lock, hold it a moment and either release it or end holding it (their lock turned
 * into one of a process that has ended) never hold it together. Taking such a lock over by removing
 * it and making one's own let two contenders of three both hold it in about 1 of 5 tries.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isRight } from 'fp-ts/lib/Either.js';
import { buildSync } from 'esbuild';
import { expect, it } from 'vitest';
import { lockOut } from '../../src/cli/out-folder';

const POLLER = `
const fs = require('node:fs');
const [file, stopFile] = process.argv.slice(1);
const seen = { empty: 0, whole: 0, absent: 0, other: [] };
process.stdout.write('ready\\n');
while (!fs.existsSync(stopFile)) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch { seen.absent++; continue; }
  if (text === '') seen.empty++;
  else if (/^\\d+\\n$/.test(text)) seen.whole++;
  else seen.other.push(text);
}
process.stdout.write(JSON.stringify(seen));
`;

it('is made whole: a poller in another process never reads it empty', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-lock-'));
  const kind = { command: 'mixrl train', lock: 'train.lock' };
  const stop = path.join(dir, 'stop');
  const poller = spawn(process.execPath, ['-e', POLLER, path.join(dir, kind.lock), stop]);
  let out = '';
  poller.stdout.on('data', (d) => (out += d));
  while (!out.startsWith('ready')) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 1500; i++) {
    const held = await lockOut(kind, dir);
    expect(isRight(held)).toBe(true);
    if (isRight(held)) await held.right();
  }
  writeFileSync(stop, '');
  await new Promise((r) => poller.on('exit', r));
  const seen = JSON.parse(out.slice('ready\n'.length)) as { empty: number; whole: number; absent: number; other: string[] };
  expect(seen.whole).toBeGreaterThan(0); // the poller did see locks
  expect(seen.other).toEqual([]);
  expect(seen.empty).toBe(0);
}, 60_000);

/**
 * A contender: takes the lock `cycles` times (retrying when refused); while it holds it, it makes
 * `owner` exclusively (EEXIST: another contender holds the lock too, counted), then either releases
 * the lock or, every other time, ends holding it: its lock is replaced by one of the process `dead`.
 */
const CONTENDER = `
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { lockOut } from ${JSON.stringify(path.resolve(__dirname, '../../src/cli/out-folder.ts'))};
const [dir, dead, cycles, go] = process.argv.slice(2);
const kind = { command: 'mixrl train', lock: 'train.lock' };
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
while (!existsSync(go)) await pause(1);
let together = 0;
for (let taken = 0; taken < Number(cycles); ) {
  const held = await lockOut(kind, dir);
  if (held._tag === 'Left') { await pause(Math.random() * 2); continue; }
  taken++;
  try { writeFileSync(dir + '/owner', String(process.pid), { flag: 'wx' }); } catch { together++; await held.right(); continue; }
  await pause(Math.random() * 2);
  rmSync(dir + '/owner');
  if (taken % 2 === 0) await held.right();
  else { writeFileSync(dir + '/stale.' + process.pid, dead + '\\n'); renameSync(dir + '/stale.' + process.pid, dir + '/train.lock'); }
}
process.stdout.write(JSON.stringify({ together }));
`;

it('is taken over from a process that has ended by one command at a time', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-lock-'));
  const script = path.join(dir, 'contender.mjs');
  writeFileSync(path.join(dir, 'contender.ts'), CONTENDER);
  buildSync({ entryPoints: [path.join(dir, 'contender.ts')], bundle: true, platform: 'node', format: 'esm', outfile: script, logLevel: 'error' });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  const work = path.join(dir, 'folder');
  mkdirSync(work);
  const go = path.join(dir, 'go');
  const contenders = Array.from({ length: 3 }, () => spawn(process.execPath, [script, work, String(dead), '150', go]));
  const outputs = contenders.map((child) => {
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    return new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  });
  writeFileSync(go, '');
  const results = (await Promise.all(outputs)).map((out) => JSON.parse(out) as { together: number });
  expect(results.map((r) => r.together)).toEqual([0, 0, 0]);
  // A takeover's guard left by a process that ended mid-takeover does not keep the folder locked.
  const kind = { command: 'mixrl train', lock: 'train.lock' };
  writeFileSync(path.join(work, 'train.lock'), `${dead}\n`);
  writeFileSync(path.join(work, 'train.lock.takeover'), `${dead}\n`);
  const held = await lockOut(kind, work);
  expect(isRight(held)).toBe(true);
  expect(readFileSync(path.join(work, 'train.lock'), 'utf8')).toBe(`${process.pid}\n`);
  if (isRight(held)) await held.right();
  expect(readdirSync(work).filter((f) => f !== 'owner')).toEqual([]);
}, 120_000);
