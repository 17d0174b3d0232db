/**
 * WebGPU backend benchmark, next to the CPU backend in the same run: per-dispatch overhead, the
 * latency of one op read back, and matmul GFLOP/s at 64^3, 256^3, 1024^3 and 2048^3 and for 100
 * batched 256^3 products (the 100-agent SAC-v2 update's size) on whatever adapter Dawn finds, with
 * the products' tiles picked by size (the default) and with every product in 32x32, 64x64 and
 * 128x128 tiles. The CPU runs the sizes up to 1024^3. Run from the repo root:
 *
 *   npx esbuild bench/webgpu.ts --bundle --platform=node --format=esm --external:webgpu | node --input-type=module
 *   (--seconds S: time per matmul measure, default 0.5)
 */
import { type Backend, cpu, flatten, matmul, slice, type Tensor, tensor } from '../src/tensor';
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
async function matmulRate(backend: Backend, n: number, batch: number, seconds: number): Promise<number> {
  const shape = batch === 1 ? [n, n] : [batch, n, n];
  const a = tensor(values(batch * n * n), { shape, backend });
  const b = tensor(values(batch * n * n), { shape, backend });
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
    // One element read back: the wait covers the products, not a copy of a large output.
    await slice(flatten(last as Tensor), [0, 1]).data();
    last?.dispose();
    reps += batch;
  }
  const elapsed = (performance.now() - start) / 1000;
  return (2 * batch * n ** 3 * reps) / elapsed / 1e9;
}
/** Microseconds from recording one small add to having its values on the host, each op read alone. */
async function readLatency(backend: Backend, reads: number): Promise<number> {
  const x = tensor(values(256), { backend });
  const run = async (count: number) => {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const y = x.add(1);
      await y.data();
      y.dispose();
    }
    return ((performance.now() - start) * 1000) / count;
  };
  await run(20);
  return run(reads);
}

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 0.5);
const tiled = await Promise.all(([32, 64, 128] as const).map((tile) => createWebGPUBackend({ matmulTiles: tile })));
const rows: string[][] = [['measure', `webgpu (${gpu.matmulTiles})`, 'webgpu 32', 'webgpu 64', 'webgpu 128', 'cpu']];
const g = await dispatchOverhead(gpu, 5000);
const c = await dispatchOverhead(cpu, 5000);
rows.push(['add of 256 floats: host recording (us/op)', g.record.toFixed(1), '', '', '', c.record.toFixed(1)]);
rows.push(['add of 256 floats: until read back (us/op)', g.total.toFixed(1), '', '', '', c.total.toFixed(1)]);
rows.push(['one add, then read back (latency, us)', (await readLatency(gpu, 300)).toFixed(1), '', '', '', (await readLatency(cpu, 300)).toFixed(1)]);
for (const [n, batch] of [[64, 1], [256, 1], [1024, 1], [2048, 1], [256, 100]]) {
  const rates = [];
  for (const backend of [gpu, ...tiled]) rates.push((await matmulRate(backend, n, batch, n >= 1024 ? 4 * seconds : seconds)).toFixed(0));
  const onCpu = n * n * batch <= 1024 * 1024 ? (await matmulRate(cpu, n, batch, seconds)).toFixed(2) : '-';
  rows.push([`matmul ${batch === 1 ? '' : `${batch} x `}${n}^3 (GFLOP/s)`, ...rates, onCpu]);
}
const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
for (const r of rows) console.log(r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
