/**
 * CPU matmul throughput: the tensor engine's float32 matmul next to a naive i-j-p triple loop over
 * Float32Arrays, in the same process, at 64³ and 256³.
 *
 * Run: npx esbuild bench/matmul.ts --bundle --platform=node --format=esm | node --input-type=module
 */
import * as T from '../src/tensor';

/** The textbook loop: out[i][j] = Σ_p a[i][p] b[p][j], float32 storage, double accumulation. */
function naiveMatmul(a: Float32Array, b: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += a[i * n + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Median seconds per call over enough repetitions to fill ~`budget` seconds (after warm-up). */
function timeIt(f: () => unknown, budget = 1.0): number {
  for (let i = 0; i < 3; i++) f();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start) / 1000 < budget) {
    const t0 = performance.now();
    f();
    samples.push((performance.now() - t0) / 1000);
    if (samples.length >= 200) break;
  }
  samples.sort((x, y) => x - y);
  return samples[Math.floor(samples.length / 2)];
}

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
console.log('size   engine GFLOP/s   naive GFLOP/s   engine/naive   max |diff|');
for (const n of [64, 256]) {
  const a = random(n * n, 1);
  const b = random(n * n, 2);
  const ta = T.tensor(a, { shape: [n, n] });
  const tb = T.tensor(b, { shape: [n, n] });
  const flops = 2 * n ** 3;
  const engine = timeIt(() => T.matmul(ta, tb).dataSync());
  const naive = timeIt(() => naiveMatmul(a, b, n));
  const x = T.matmul(ta, tb).dataSync();
  const y = naiveMatmul(a, b, n);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i] - y[i]));
  const row = `${String(n).padEnd(6)} ${(flops / engine / 1e9).toFixed(3).padStart(15)} ${(flops / naive / 1e9).toFixed(3).padStart(15)} ${(naive / engine).toFixed(2).padStart(14)}   ${diff.toExponential(1)}`;
  console.log(row);
}
