/**
 * The `mixrl` command as the CLI tests run it: bundled once per suite from src/cli/main.ts into a
 * fresh temporary folder, run there as a child process; user errors checked for one line, exit code
 * 2 and no stack trace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { expect } from 'vitest';

/** What a run of the command gave. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A bundled CLI in its own working folder (`work`), for `beforeAll`. */
export function bundleCli(prefix: string): { cli: string; work: string } {
  const work = mkdtempSync(path.join(tmpdir(), prefix));
  const cli = path.join(work, 'cli.mjs');
  buildSync({ entryPoints: [path.resolve(__dirname, '../../src/cli/main.ts')], bundle: true, platform: 'node', format: 'esm', outfile: cli, external: ['webgpu'], logLevel: 'error' });
  return { cli, work };
}

/** The env module test/envs/fixtures/tracking.ts (its env `Tracking`) bundled as `work/tracking.mjs`. */
export function bundleTrackingEnv(work: string): void {
  const fixture = path.resolve(__dirname, '../envs/fixtures/tracking.ts');
  buildSync({ entryPoints: [fixture], bundle: true, platform: 'node', format: 'esm', outfile: path.join(work, 'tracking.mjs'), logLevel: 'error' });
}

/** Runs `node cli ...args` in `work` (2 minutes at most), with `env` added to this process's. */
export function runCli(cli: string, work: string, args: readonly string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A success: exit code 0 (else the run's output in the failure message); returns the result. */
export function expectSuccess(r: CliResult): CliResult {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r;
}

/** A user error: exit code 2, one line on stderr matching `message`, no stack trace. */
export function expectUserErrorResult(r: CliResult, message: string | RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim()).toMatch(message);
}

/** Config keys that make a training run tiny (for `MIXRL_REPRODUCE_OVERRIDE`). */
export const TINY_RUNS = JSON.stringify({ steps: 2000, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2, checkpointEvery: 200 });

/**
 * Runs `node cli ...args` in `work` and sends it `signal` (default SIGINT) once `ready(output)`
 * holds (its stdout and stderr so far; polled every 5 ms); resolves with its exit code and output.
 */
export function interruptWhen(
  cli: string,
  work: string,
  args: readonly string[],
  ready: (output: string) => boolean,
  { env = {}, signal = 'SIGINT' }: { env?: Record<string, string>; signal?: NodeJS.Signals } = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (ready(output)) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 5);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, output });
    });
  });
}
