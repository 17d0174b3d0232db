/**
 * CPU matmul throughput, in one run: the engine's float32 product (the WebAssembly SIMD kernel), its
 * float64 product (the WebAssembly f64x2 kernel, `prepareMatmul`'s eager path) beside the 4 x 4
 * register-blocked JS kernel float64 products ran in before (and small ones still do: the same
 * bits), a naive i-j-p triple loop over Float32Arrays, and PyTorch on one thread (`--python`,
 * default /usr/bin/python3; skipped with a note when torch is missing). Shapes: square 64³, 256³ and
 * 512³, and the products of one classic-size SAC layer (batch 32, 64 x 64) in the three layouts a
 * training step uses.
 *
 * Run: npx esbuild bench/matmul.ts --bundle --platform=node --format=esm --outfile=.tmp/matmul.mjs && node .tmp/matmul.mjs
 */
import { prepareMatmul, prepareMatmulF64 } from '../src/tensor/cpu/matmul';
import { fusesMultiplyAdd, matmulUsesFma } from '../src/tensor/cpu/wasm/fma';
import { random, runPython, timeIt as medianSeconds } from './timing';

/** The median over at most 100 samples, after 5 warm-up calls (this file's figures since session 1). */
const timeIt = (f: () => unknown) => medianSeconds(f, { warmup: 5, maxSamples: 100 });

/** The textbook loop: out[i][j] = Σ_p a[i][p] b[p][j], float32 storage, double accumulation. */
function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      out[i * n + j] = s;
    }
  }
}

const CASES = [
  { label: '64³', m: 64, k: 64, n: 64, layout: {} },
  { label: '256³', m: 256, k: 256, n: 256, layout: {} },
  { label: '512³', m: 512, k: 512, n: 512, layout: {} },
  { label: 'x W (32x64 · 64x64)', m: 32, k: 64, n: 64, layout: {} },
  { label: 'dy Wᵀ (32x64 · (64x64)ᵀ)', m: 32, k: 64, n: 64, layout: { transposeB: true } },
  { label: 'xᵀ dy ((32x64)ᵀ · 32x64)', m: 64, k: 32, n: 64, layout: { transposeA: true } },
] as const;

const TORCH = `
import json, sys, time, torch
torch.set_num_threads(1)
out = []
for m, k, n, ta, tb in json.loads(sys.argv[1]):
    a = torch.rand(k, m).t() if ta else torch.rand(m, k)
    b = torch.rand(n, k).t() if tb else torch.rand(k, n)
    for _ in range(20): torch.mm(a, b)
    reps, best = 1, []
    while True:
        t0 = time.perf_counter()
        for _ in range(reps): torch.mm(a, b)
        if time.perf_counter() - t0 > 0.002: break
        reps *= 2
    for _ in range(31):
        t0 = time.perf_counter()
        for _ in range(reps): torch.mm(a, b)
        best.append((time.perf_counter() - t0) / reps)
    best.sort()
    out.append(best[len(best) // 2])
print(json.dumps(out))
`;

function torchSeconds(): number[] | null {
  const shapes = CASES.map((c) => [c.m, c.k, c.n, 'transposeA' in c.layout, 'transposeB' in c.layout]);
  return runPython<number[]>(TORCH, JSON.stringify(shapes));
}

const multiplyAdds = matmulUsesFma() ? `f32x4.relaxed_madd, ${fusesMultiplyAdd() ? 'fused' : 'not fused on this CPU'}` : 'multiply then add (MIXRL_WASM_FMA=off or no relaxed SIMD)';
console.log(`node ${process.version}, ${process.platform}/${process.arch}; GFLOP/s (median), one thread; the SIMD kernel's multiply-adds: ${multiplyAdds}`);
const torch = torchSeconds();
console.log('');
console.log('| product | f32 WebAssembly SIMD | f64 WebAssembly SIMD | f64 JS blocked | naive JS f32 | PyTorch f32 | f32 SIMD / f64 JS | f64 SIMD / f64 JS | f32 SIMD / PyTorch |');
console.log('|---|---|---|---|---|---|---|---|---|');
CASES.forEach((c, index) => {
  const { m, k, n, layout } = c;
  const run32 = prepareMatmul([m, k], [k, n], [m, n], layout);
  const a = random(m * k, 1);
  const b = random(k * n, 2);
  const out = new Float32Array(m * n);
  const [a64, b64, out64] = [Float64Array.from(a), Float64Array.from(b), new Float64Array(m * n)];
  const flops = 2 * m * k * n;
  const simd = timeIt(() => run32(a, b, out));
  const simd64 = timeIt(() => run32(a64, b64, out64));
  const js64 = prepareMatmulF64('js', [m, k], [k, n], [m, n], layout);
  const blocked = timeIt(() => js64(a64, b64, out64));
  const naive = 'transposeA' in layout || 'transposeB' in layout ? NaN : timeIt(() => naiveMatmul(a, b, m, k, n, out));
  const t = torch ? torch[index] : NaN;
  const g = (s: number) => (Number.isNaN(s) ? '—' : (flops / s / 1e9).toFixed(2));
  console.log(
    `| ${c.label} | ${g(simd)} | ${g(simd64)} | ${g(blocked)} | ${g(naive)} | ${g(t)} | ${(blocked / simd).toFixed(2)} | ${(blocked / simd64).toFixed(2)} | ${Number.isNaN(t) ? '—' : (t / simd).toFixed(2)} |`,
  );
});
