/**
 * Whole jitted SAC-v2-size updates give the same bits on one, two and three threads: the products,
 * loops and sums the threads share (each thread starting with its own range of chunks, then taking
 * what the others left) compute every element as one thread does. Each thread count needs a process
 * of its own (the worker pool is made once per process), so a bundled child runs the updates.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, expect, it } from 'vitest';

let child = '';

beforeAll(async () => {
  child = path.join(mkdtempSync(path.join(tmpdir(), 'mixrl-threads-')), 'child.mjs');
  await build({
    entryPoints: [path.resolve(__dirname, 'threads-sac-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: child,
    external: ['webgpu'],
    logLevel: 'error',
  });
});

/** The child's digests of every state and metric after three updates, with `threads` threads. */
function digests(threads: number): Record<string, string> {
  const run = spawnSync(process.execPath, [child], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, MIXRL_THREADS: String(threads) } });
  expect(run.signal, `child timed out or was killed; stderr: ${run.stderr}`).toBeNull();
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string);
}

it('three jitted SAC-v2 updates (sg-rp, sgm-mrp) give the same bits on 1, 2 and 3 threads', () => {
  const one = digests(1);
  expect(Object.keys(one)).toEqual(['sg-rp', 'sgm-mrp']);
  expect(digests(2)).toEqual(one);
  expect(digests(3)).toEqual(one);
}, 240_000);
