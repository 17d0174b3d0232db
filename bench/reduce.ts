/**
 * Full reductions on the CPU, in one run: `sum(x)` and `mean(square(x))` of 10^4, 10^5 and 10^6
 * float32 values, eager and jitted, next to PyTorch on one thread (`--python`, default
 * /usr/bin/python3; skipped with a note when torch is missing). Sums of 4096 or more elements add in
 * eight float64 lanes (`LANE_SUM_MIN`); a jitted call also copies its input into the plan's arena.
 *
 *   npx esbuild bench/reduce.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/reduce.mjs && node .tmp/reduce.mjs
 */
import { spawnSync } from 'node:child_process';
import { jit, mean, square, sum, type Tensor, tensor } from '../src';
import { arg } from './sac-setup';

const SIZES = [1e4, 1e5, 1e6];

/** Median microseconds per call over 15 rounds of about 20 ms each (after warm-up). */
function micros(f: () => unknown, n: number): number {
  const reps = Math.max(5, Math.round(2e6 / n));
  for (let i = 0; i < reps; i++) f();
  const samples: number[] = [];
  for (let round = 0; round < 15; round++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    samples.push(((performance.now() - t0) / reps) * 1000);
  }
  return samples.sort((a, b) => a - b)[7];
}

const TORCH = `
import json, time, torch
torch.set_num_threads(1)
out = []
for n in ${JSON.stringify(SIZES)}:
    x = torch.sin(torch.arange(int(n), dtype=torch.float32))
    row = []
    for f in (lambda: x.sum(), lambda: (x * x).mean()):
        reps = max(5, round(2e6 / n))
        for _ in range(reps): f()
        samples = []
        for _ in range(15):
            t0 = time.perf_counter()
            for _ in range(reps): f()
            samples.append((time.perf_counter() - t0) / reps * 1e6)
        row.append(sorted(samples)[7])
    out.append(row)
print(json.dumps(out))
`;

function torchMicros(): number[][] | null {
  const python = arg('python', '/usr/bin/python3');
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(python, ['-c', TORCH], { encoding: 'utf8', env });
  if (r.status !== 0) {
    console.log(`PyTorch baseline not run: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout) as number[][];
}

const meanSquare = (x: Tensor) => mean(square(x));
const torch = torchMicros();
console.log(`node ${process.version}; us per call (median of 15 rounds); PyTorch on one thread in the same run\n`);
console.log('| n | op | eager | jit | PyTorch | jit / PyTorch |\n|---|---|---|---|---|---|');
SIZES.forEach((n, row) => {
  const x = tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
  const cases = [
    { op: 'sum(x)', eager: () => sum(x), jitted: jit((t: Tensor) => sum(t)) },
    { op: 'mean(square(x))', eager: () => meanSquare(x), jitted: jit(meanSquare) },
  ];
  cases.forEach(({ op, eager, jitted }, col) => {
    const [e, j] = [micros(eager, n), micros(() => jitted(x), n)];
    const t = torch?.[row][col];
    console.log(`| ${n} | ${op} | ${e.toFixed(1)} | ${j.toFixed(1)} | ${t?.toFixed(1) ?? '-'} | ${t ? (j / t).toFixed(2) + 'x' : '-'} |`);
  });
});
process.exit(0);
