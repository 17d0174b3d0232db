/**
 * WebGPU backend benchmark, next to the CPU backend in the same run: per-dispatch overhead and
 * matmul GFLOP/s at 64^3, 256^3 and 1024^3 on whatever adapter Dawn finds. Run from the repo root:
 *
 *   npx esbuild bench/webgpu.ts --bundle --platform=node --format=esm --external:webgpu | node --input-type=module
 */
import { type Backend, cpu, matmul, type Tensor, tensor } from '../src/tensor';
import { createWebGPUBackend } from '../src/tensor/webgpu';

const gpu = await createWebGPUBackend();
const limits = gpu.device.limits;
console.log(`adapter: ${gpu.adapter.description}${gpu.adapter.software ? ' (software)' : ''}`);
console.log(
  `limits: maxBufferSize ${limits.maxBufferSize}, maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, ` +
    `workgroup storage ${limits.maxComputeWorkgroupStorageSize} B, invocations ${limits.maxComputeInvocationsPerWorkgroup}`,
);
console.log(`node ${process.version}, ${process.platform}-${process.arch}\n`);

function values(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
}

/** Microseconds per op of a chain of small adds: host recording alone, and until the result is read. */
async function dispatchOverhead(backend: Backend, ops: number): Promise<{ record: number; total: number }> {
  const one = tensor(values(256), { backend });
  const run = async (count: number) => {
    let x: Tensor = tensor(values(256), { backend });
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const next = x.add(one);
      x.dispose();
      x = next;
    }
    const recorded = performance.now();
    await x.data();
    const done = performance.now();
    return { record: ((recorded - start) * 1000) / count, total: ((done - start) * 1000) / count };
  };
  await run(200);
  return run(ops);
}

/** GFLOP/s of an n x n x n float32 matmul, repeated for about `seconds`. */
async function matmulRate(backend: Backend, n: number, seconds: number): Promise<number> {
  const a = tensor(values(n * n), { shape: [n, n], backend });
  const b = tensor(values(n * n), { shape: [n, n], backend });
  await matmul(a, b).data();
  let reps = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || reps === 0) {
    const batch = Math.max(1, reps);
    let last: Tensor | undefined;
    for (let i = 0; i < batch; i++) {
      last?.dispose();
      last = matmul(a, b);
    }
    await (last as Tensor).data();
    last?.dispose();
    reps += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  return (2 * n ** 3 * reps) / elapsed / 1e9;
}

const rows: string[][] = [['measure', 'webgpu', 'cpu']];
const g = await dispatchOverhead(gpu, 5000);
const c = await dispatchOverhead(cpu, 5000);
rows.push(['add of 256 floats: host recording (us/op)', g.record.toFixed(1), c.record.toFixed(1)]);
rows.push(['add of 256 floats: until read back (us/op)', g.total.toFixed(1), c.total.toFixed(1)]);
for (const n of [64, 256, 1024]) {
  const seconds = n === 1024 ? 2 : 0.5;
  rows.push([`matmul ${n}^3 (GFLOP/s)`, (await matmulRate(gpu, n, seconds)).toFixed(2), (await matmulRate(cpu, n, seconds)).toFixed(2)]);
}
const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
