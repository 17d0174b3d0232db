/**
 * What the benchmarks share: the median time per call of a function (here and, the same loop, in
 * Python for the PyTorch side), and running a Python script with one thread's worth of BLAS.
 */
import { spawnSync } from 'node:child_process';

/**
 * Median seconds per call: `warmup` calls first, then enough repetitions per sample to last over
 * 2 ms, and samples until `budget` seconds have passed (at least 7, at most `maxSamples`).
 *
 * @example
 * const seconds = timeIt(() => M.argsort(x));
 */
export function timeIt(f: () => unknown, { budget = 0.5, warmup = 3, maxSamples = 60 } = {}): number {
  for (let i = 0; i < warmup; i++) f();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) f();
    if (performance.now() - t0 > 2) break;
    reps *= 2;
  }
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 7 || (performance.now() - start) / 1000 < budget) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) f();
    samples.push((performance.now() - t0) / 1000 / reps);
    if (samples.length >= maxSamples) break;
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)];
}

/** `timeIt`'s loop in Python, as `median_seconds(f)` (warm-up 3, budget 0.5 s, 7 to 60 samples). */
export const PYTHON_MEDIAN_SECONDS = `
import time
def median_seconds(f):
    for _ in range(3): f()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps): f()
        if time.perf_counter() - t0 > 0.002: break
        reps *= 2
    samples = []
    start = time.perf_counter()
    while len(samples) < 7 or time.perf_counter() - start < 0.5:
        t0 = time.perf_counter()
        for _ in range(reps): f()
        samples.append((time.perf_counter() - t0) / reps)
        if len(samples) >= 60: break
    samples.sort()
    return samples[len(samples) // 2]
`;

/** The head of a one-thread PyTorch timing script: imports, one thread, seed 0, `median_seconds`, an empty `out` list. */
export const TORCH_PRELUDE = `
import json, sys, torch
torch.set_num_threads(1)
torch.manual_seed(0)
${PYTHON_MEDIAN_SECONDS}
out = []`;

/**
 * Runs `script` with `--python` (default /usr/bin/python3) on one BLAS thread (OpenBLAS built with
 * OpenMP ignores torch.set_num_threads), passing `arg` as argv[1]; returns its stdout parsed as
 * JSON, or null after printing why it did not run (PyTorch missing, say).
 *
 * @example
 * const seconds = runPython<number[]>(TORCH_SCRIPT, JSON.stringify(cases)) ?? [];
 */
export function runPython<T>(script: string, arg: string): T | null {
  const python = process.argv.includes('--python') ? process.argv[process.argv.indexOf('--python') + 1] : '/usr/bin/python3';
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(python, ['-c', script, arg], { encoding: 'utf8', env });
  if (r.status !== 0) {
    console.log(`PyTorch baseline not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout) as T;
}

/**
 * `n` numbers in [-0.5, 0.5) from a linear congruential generator seeded with `seed`: operands that
 * are the same in every run, without the cost of the library's Threefry.
 *
 * @example
 * const a = random(256 * 256, 1);
 */
export function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}
