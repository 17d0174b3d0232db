/**
 * A reader that stops early (`mixrl ... | head -1`) ends the command quietly with SIGPIPE's status
 * (141), as it ends other Unix tools, not with Node's stack trace for the EPIPE it throws instead; a
 * training stops as on SIGTERM first: its checkpoint and summary saved, its lock released.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { bundleCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-closed-pipe-'));
});

/** The command run with its stdout closed after the first output: its exit code and stderr. */
async function closedAfterFirstLine(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stderr };
}

it('ends with status 141 and nothing on stderr when stdout is closed after its first line', async () => {
  // reproduce at quick scale writes a line per run for seconds: most lines come after the close.
  expect(await closedAfterFirstLine(['reproduce', 'fig2-bandits', '--out', 'closed-pipe'])).toEqual({ code: 141, stderr: '' });
}, 60_000);

it('stops a training as SIGTERM does: checkpoint and summary saved, lock released, status 141', async () => {
  const args = ['train', '--env', 'Pendulum', '--agent', 'sg-rp', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--steps', '1000000', '--log-every', '200', '--out', 'piped'];
  expect(await closedAfterFirstLine(args)).toEqual({ code: 141, stderr: '' });
  const run = (f: string) => path.join(work, 'piped', f);
  const summary = JSON.parse(readFileSync(run('summary.json'), 'utf8'));
  expect(summary.finished).toBe(false);
  expect(summary.steps).toBeGreaterThan(0);
  expect(existsSync(run('checkpoint.mixrl'))).toBe(true);
  expect(existsSync(run('train.lock'))).toBe(false);
}, 60_000);
