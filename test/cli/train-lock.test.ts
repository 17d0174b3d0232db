/**
 * `mixrl train` holds its run folder's lock (`train.lock`, its process id) while it writes there: a
 * second training on the folder (`--out` or `--resume`) is refused and writes nothing; a lock left
 * by a process that has ended is taken over; the lock goes when the run finishes, fails or stops on
 * Ctrl-C; `mixrl eval` reads a held folder; the `mixrl train` children of `mixrl reproduce` lock
 * their own run folders.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { bundleCli, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-train-lock-'));
});

const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, args, env);
const file = (...parts: string[]) => path.join(work, ...parts);
const TINY = ['--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--components', '2'];
const PENDULUM = ['train', '--env', 'Pendulum', '--agent', 'sg-rp', ...TINY];
const LOCK = 'train.lock';

/** Every file of a folder, name to bytes (base64), for byte-for-byte comparisons. */
const snapshot = (dir: string) => Object.fromEntries(readdirSync(file(dir)).sort().map((f) => [f, readFileSync(file(dir, f)).toString('base64')]));

/** The id of a process that has ended: what a lock left by a killed training holds. */
const endedPid = () => {
  const pid = spawnSync(process.execPath, ['-e', '0']).pid;
  expect(pid).toBeGreaterThan(0);
  return pid as number;
};

/** Polls every 10 ms until `ready` holds or `child` exits (about 60 s at most); whether it held. */
async function until(child: ChildProcess, ready: () => boolean): Promise<boolean> {
  for (let i = 0; i < 6000 && child.exitCode === null && child.signalCode === null; i++) {
    if (ready()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return ready();
}

/** A file's text, or '' while it is not there. */
const textOf = (f: string) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};

const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (c) => resolve(c));
  });

describe('mixrl train: the run folder lock', () => {
  it('refuses a second training on a folder a running one holds (--out and --resume), writing nothing; the lock goes on Ctrl-C; --resume works after', async () => {
    const dir = 'busy';
    const first = spawn(
      process.execPath,
      [cli, ...PENDULUM, '--steps', '100000', '--out', dir, '--checkpoint-every', '100', '--log-every', '100', '--eval-every', '100', '--eval-episodes', '1', '--tensorboard'],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    first.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    first.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = exitOf(first);
    // A failed check leaves no training running behind the suite.
    onTestFinished(() => {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    });
    try {
      const ready = await until(first, () => existsSync(file(dir, 'checkpoint.mixrl')) && existsSync(file(dir, LOCK)));
      expect(ready, output).toBe(true);
      expect(readFileSync(file(dir, LOCK), 'utf8')).toBe(`${first.pid}\n`);
      // Stopped, it writes nothing while the others try: any change to the folder is theirs.
      first.kill('SIGSTOP');
      const before = snapshot(dir);
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['config.json', 'episodes.jsonl', 'checkpoint.mixrl', 'evaluations.jsonl', LOCK]));
      const held = (flag: string) =>
        `mixrl train: ${flag} ${dir} is in use by another mixrl train (process ${first.pid}); two trainings in one run folder would interleave their checkpoints, logs and summary; wait for it or stop it (if none runs, remove ${path.join(dir, LOCK)})`;
      expectUserErrorResult(run([...PENDULUM, '--steps', '300', '--out', dir]), held('--out'));
      expectUserErrorResult(run(['train', '--resume', dir]), held('--resume'));
      expectUserErrorResult(run(['train', '--resume', dir, '--steps', '200000']), held('--resume'));
      // Reading is not refused: mixrl eval reads the last checkpoint (written whole, by a rename).
      const evaluated = run(['eval', '--checkpoint', dir, '--episodes', '1']);
      expect(evaluated.code, evaluated.stderr).toBe(0);
      expect(evaluated.stdout).toMatch(/^sg-rp on Pendulum, trained \d+ steps$/m);
      expect(snapshot(dir)).toEqual(before);
    } finally {
      first.kill('SIGCONT');
    }
    // One Ctrl-C: the run checkpoints, writes its summary and lets go of the folder.
    first.kill('SIGINT');
    expect(await exited, output).toBe(130);
    expect(output).toMatch(new RegExp(`stopped by SIGINT at step \\d+; checkpoint saved; continue with: mixrl train --resume ${dir}`));
    expect(existsSync(file(dir, LOCK))).toBe(false);
    const summary = JSON.parse(readFileSync(file(dir, 'summary.json'), 'utf8'));
    expect(summary.finished).toBe(false);
    const resumed = run(['train', '--resume', dir, '--steps', String(summary.steps + 100)]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming ${dir} at step ${summary.steps}`);
    expect(JSON.parse(readFileSync(file(dir, 'summary.json'), 'utf8'))).toMatchObject({ steps: summary.steps + 100, finished: true });
    expect(existsSync(file(dir, LOCK))).toBe(false);
  });

  it('takes over a lock whose process has ended (--out and --resume) and lets go of it when the run finishes', () => {
    mkdirSync(file('stale'));
    writeFileSync(file('stale', LOCK), `${endedPid()}\n`);
    const r = run([...PENDULUM, '--steps', '120', '--out', 'stale', '--log-every', '60']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(file('stale')).sort()).toEqual(['checkpoint.mixrl', 'config.json', 'episodes.jsonl', 'summary.json']);
    writeFileSync(file('stale', LOCK), `${endedPid()}\n`);
    const resumed = run(['train', '--resume', 'stale', '--steps', '180']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file('stale', 'summary.json'), 'utf8'))).toMatchObject({ steps: 180, finished: true });
    expect(existsSync(file('stale', LOCK))).toBe(false);
    // A lock file without a process id in it (cut short) is no lock either.
    writeFileSync(file('stale', LOCK), '');
    expect(run(['train', '--resume', 'stale', '--steps', '240']).code).toBe(0);
    expect(existsSync(file('stale', LOCK))).toBe(false);
  });

  it('lets go of the lock when it ends with an error, before or during training', () => {
    // A user error after the lock is taken (a stale one, taken over here): nothing left behind.
    mkdirSync(file('errors'));
    writeFileSync(file('errors', LOCK), `${endedPid()}\n`);
    expect(run([...PENDULUM, '--steps', '60', '--out', 'errors']).code).toBe(0);
    writeFileSync(file('errors', LOCK), `${endedPid()}\n`);
    const before = snapshot('errors');
    expectUserErrorResult(run(['train', '--resume', 'errors']), 'mixrl train: errors is finished at step 60; give --steps N (more than 60) to train it further');
    const { [LOCK]: _lock, ...files } = before;
    expect(snapshot('errors')).toEqual(files);
    // An error thrown while training (a bad setting read at the first product).
    mkdirSync(file('thrown'));
    writeFileSync(file('thrown', LOCK), `${endedPid()}\n`);
    expectUserErrorResult(run([...PENDULUM, '--steps', '60', '--out', 'thrown'], { MIXRL_WASM_FMA: 'maybe' }), "mixrl: MIXRL_WASM_FMA is 'maybe'; set it to on or off, or unset it");
    expect(existsSync(file('thrown', LOCK))).toBe(false);
  });

  it('does not count a lock held on a folder around the run folder (a reproduce or sweep results folder)', () => {
    // This test's own process stands for a `mixrl reproduce` working in `experiment`.
    mkdirSync(file('experiment', 'runs'), { recursive: true });
    writeFileSync(file('experiment', 'reproduce.lock'), `${process.pid}\n`);
    const r = run([...PENDULUM, '--steps', '60', '--out', path.join('experiment', 'runs', 'r')]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file('experiment', 'reproduce.lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(existsSync(file('experiment', 'runs', 'r', LOCK))).toBe(false);
  });

  it("mixrl reproduce's training children each lock their own run folder, beside the parent's lock on the results folder", async () => {
    const override = JSON.stringify({ steps: 600, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2, checkpointEvery: 200 });
    const parent = spawn(process.execPath, [cli, 'reproduce', 'fig6-classic', '--seeds', '1', '--out', 'f6'], {
      cwd: work,
      env: { ...process.env, MIXRL_REPRODUCE_OVERRIDE: override },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    parent.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    parent.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const exited = exitOf(parent);
    onTestFinished(() => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGTERM');
    });
    const runs = file('f6', 'runs');
    /** Each run folder's lock seen while the parent ran, with the parent's lock at that moment. */
    const seen = new Map<string, { child: string; parent: string }>();
    await until(parent, () => {
      for (const name of existsSync(runs) ? readdirSync(runs) : []) {
        const child = textOf(path.join(runs, name, LOCK)).trim();
        if (child) seen.set(name, { child, parent: textOf(file('f6', 'reproduce.lock')).trim() });
      }
      return false;
    });
    expect(await exited, output).toBe(0);
    expect(seen.size, output).toBeGreaterThan(0);
    for (const { child, parent: held } of seen.values()) {
      expect(held).toBe(String(parent.pid));
      expect(Number(child)).toBeGreaterThan(0);
      expect(child).not.toBe(held);
    }
    expect(existsSync(file('f6', 'reproduce.lock'))).toBe(false);
    for (const name of readdirSync(runs)) expect(readdirSync(path.join(runs, name)).sort()).toEqual(['checkpoint.mixrl', 'config.json', 'episodes.jsonl', 'summary.json']);
  });
});
