/**
 * Environment throughput: steps per second for each registered env, single (`ModelEnv.step`, one
 * allocation-light call per step) and vectorized (`VectorEnv` with N = 1024 copies; one step counts N).
 * Actions are a fixed pseudo-random pattern inside the action box, so RNG cost is not measured.
 *
 * Run: npx esbuild bench/envs.ts --bundle --platform=node --format=esm | node --input-type=module
 */
import { envIds, makeEnv, makeVectorEnv } from '../src/envs';

const N = 1024;
const SECONDS = 0.5;

/** Calls `run(k)` with growing k until it has taken SECONDS; returns units per second. */
function rate(run: (iterations: number) => number): number {
  run(1000); // warm-up
  let iterations = 1000;
  for (;;) {
    const t0 = performance.now();
    const units = run(iterations);
    const seconds = (performance.now() - t0) / 1000;
    if (seconds >= SECONDS) return units / seconds;
    iterations *= 2;
  }
}

const pattern = (i: number) => Math.sin(i * 12.9898) * 0.5 + 0.5; // in [0, 1]

const rows: string[][] = [];
for (const id of envIds()) {
  const env = makeEnv(id);
  const { low, high } = env.actionSpace;
  const actions = Array.from({ length: 4096 }, (_, i) => Float64Array.of(low[0] + (high[0] - low[0]) * pattern(i)));
  env.reset({ seed: 0 });
  const single = rate((k) => {
    for (let i = 0; i < k; i++) {
      const r = env.step(actions[i & 4095]);
      if (r.terminated || r.truncated) env.reset();
    }
    return k;
  });

  const venv = makeVectorEnv(id, N);
  const batch = new Float64Array(N).map((_, i) => low[0] + (high[0] - low[0]) * pattern(i + 7));
  venv.reset({ seed: 0 });
  const vector = rate((k) => {
    for (let i = 0; i < k / 100; i++) venv.step(batch);
    return Math.ceil(k / 100) * N;
  });
  rows.push([id, Math.round(single).toLocaleString('en-US'), Math.round(vector).toLocaleString('en-US')]);
}

const header = ['env', 'single steps/s', `vector (N=${N}) steps/s`];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
const line = (r: string[]) => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
console.log(`node ${process.version}`);
console.log(line(header));
for (const r of rows) console.log(line(r));
