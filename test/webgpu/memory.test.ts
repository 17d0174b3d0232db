import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { build, type PluginBuild } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { jit } from '../../src/autodiff';
import { matmul, type Tensor, tensor } from '../../src/tensor';
import { createWebGPUBackend } from '../../src/tensor/webgpu';
import { BufferPool, sizeClass } from '../../src/tensor/webgpu/pool';
import { describeWebGPU, floats, webgpu } from './gpu';

/** Bundles `source` (TypeScript importing the library by absolute path) to a runnable .mjs file. */
async function bundle(source: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mixrl-webgpu-'));
  const entry = join(dir, 'child.ts');
  writeFileSync(entry, source);
  const outfile = join(dir, 'child.mjs');
  // Dawn stays outside the bundle (it loads a native addon), imported by absolute path.
  const dawn = createRequire(import.meta.url).resolve('webgpu');
  const external = { name: 'dawn', setup: (b: PluginBuild) => b.onResolve({ filter: /^webgpu$/ }, () => ({ path: dawn, external: true })) };
  const plugins = [external];
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', plugins, outfile, logLevel: 'error' });
  return outfile;
}

const library = join(process.cwd(), 'src/tensor/index.ts');

describe('the size classes of the buffer pool', () => {
  it('are at least 256 bytes, grow with the request and waste under a quarter', () => {
    let previous = 0;
    for (let bytes = 1; bytes < 1 << 22; bytes = Math.ceil(bytes * 1.37) + 3) {
      const size = sizeClass(bytes);
      expect(size).toBeGreaterThanOrEqual(Math.max(bytes, 256));
      expect(size).toBeGreaterThanOrEqual(previous);
      if (bytes > 256) expect(size / bytes).toBeLessThan(1.25);
      expect(size % 4).toBe(0);
      previous = size;
    }
  });
});

describeWebGPU('WebGPU memory', () => {
  it('1e5 eager ops that dispose what they replace keep the pool flat', async () => {
    const gpu = webgpu();
    const one = tensor([1, 1, 1, 1], { backend: gpu });
    let x: Tensor = tensor([0, 0, 0, 0], { backend: gpu });
    const sizes: number[] = [];
    for (let i = 1; i <= 100_000; i++) {
      const next = x.add(one);
      x.dispose();
      x = next;
      if (i % 20_000 === 0) sizes.push(gpu.poolStats().buffers);
    }
    expect(Array.from(await x.data())).toEqual([1e5, 1e5, 1e5, 1e5]);
    expect(new Set(sizes).size).toBe(1);
    expect(sizes[0]).toBeLessThan(300);
  });

  it('hands out the earliest created free buffer of a class, whatever order they came back in', () => {
    const pool = new BufferPool(webgpu().device, 1 << 20, () => {});
    const [a, b, c] = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
    for (const buffer of [c, a, b]) pool.release(buffer);
    pool.recycle();
    const again = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
    expect(again[0]).toBe(a);
    expect(again[1]).toBe(b);
    expect(again[2]).toBe(c);
    expect(pool.stats().created).toBe(3);
    for (const buffer of again) buffer.destroy();
  });

  it('hands out a buffer the garbage collector gave back after those given back by dispose, however old', () => {
    const pool = new BufferPool(webgpu().device, 1 << 20, () => {});
    const [old, a, b] = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
    pool.releaseCollected(old);
    pool.release(b);
    pool.release(a);
    pool.recycle();
    // Named by index: buffers have no fields for toEqual to compare.
    const names = (buffers: GPUBuffer[]) => buffers.map((buffer) => ['old', 'a', 'b'][[old, a, b].indexOf(buffer)]);
    const again = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
    expect(names(again)).toEqual(['a', 'b', 'old']);
    // Renumbered once: disposed from now on, it keeps its place behind a and b.
    for (const buffer of [old, b, a]) pool.release(buffer);
    pool.recycle();
    expect(names([pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)])).toEqual(['a', 'b', 'old']);
    expect(pool.stats().created).toBe(3);
    for (const buffer of again) buffer.destroy();
  });

  it("past the pool's budget the oldest free buffers go first, and what the latest batch released stays", async () => {
    const gpu = await createWebGPUBackend({ maxPoolBytes: 4096 });
    const small = tensor(new Float32Array(1000), { backend: gpu }); // a 4000-byte class
    const large = tensor(new Float32Array(2000), { backend: gpu }); // an 8000-byte class
    small.mul(small).dispose();
    gpu.flush(); // frees 4000 bytes: within the budget
    large.mul(large).dispose();
    gpu.flush(); // frees 8000 more: the older 4000 go
    const { created } = gpu.poolStats();
    large.mul(large).dispose();
    expect(gpu.poolStats().created).toBe(created);
    small.mul(small).dispose();
    expect(gpu.poolStats().created).toBe(created + 1);
  });

  it("a readback's short batch does not push out what the batches before it released", async () => {
    const gpu = await createWebGPUBackend({ maxPoolBytes: 0 });
    const large = tensor(new Float32Array(2000), { backend: gpu });
    const small = tensor([1, 2, 3, 4], { backend: gpu });
    for (let i = 0; i < 3; i++) large.mul(large).dispose();
    gpu.flush(); // releases three 8000-byte buffers
    await small.mul(small).data(); // a batch releasing almost nothing
    const { created } = gpu.poolStats();
    for (let i = 0; i < 3; i++) large.mul(large).dispose();
    expect(gpu.poolStats().created).toBe(created);
  });

  it('a jitted call whose working set exceeds the budget creates no buffer after the first calls', async () => {
    const gpu = await createWebGPUBackend({ maxPoolBytes: 0 });
    const w = tensor(floats(3, 64 * 64, -0.2, 0.2), { shape: [64, 64], backend: gpu });
    const f = jit((x: Tensor) => matmul(matmul(x, w).relu(), w).tanh().sum());
    const x = tensor(floats(4, 128 * 64, -1, 1), { shape: [128, 64], backend: gpu });
    for (let i = 0; i < 3; i++) f(x).dispose();
    const before = gpu.poolStats();
    for (let i = 0; i < 5; i++) f(x).dispose();
    expect(gpu.poolStats().created).toBe(before.created);
    expect(gpu.poolStats().buffers).toBe(before.buffers);
  });

  it('a buffer released while commands that read it are unsubmitted is not overwritten by an upload', async () => {
    const gpu = webgpu();
    gpu.flush();
    const a = tensor([1, 2, 3, 4], { backend: gpu });
    const b = a.mul(a); // recorded, not submitted
    a.dispose();
    // Uploads of the same size class: had a's buffer been free, one would overwrite it before b runs.
    const others = Array.from({ length: 8 }, () => tensor([-1, -1, -1, -1], { backend: gpu }));
    expect(Array.from(await b.data())).toEqual([1, 4, 9, 16]);
    for (const t of others) t.dispose();
  });

  it('dispose() and `using` return buffers to the pool; reuse does not corrupt live tensors', async () => {
    const gpu = webgpu();
    const keep = tensor([1, 2, 3], { backend: gpu });
    gpu.flush();
    const before = gpu.poolStats().inUse;
    let inside: number;
    {
      using a = tensor([4, 5, 6], { backend: gpu });
      using b = a.add(a);
      expect(gpu.poolStats().inUse).toBe(before + 2);
      expect(Array.from(await b.data())).toEqual([8, 10, 12]);
      // Counted again after the await: earlier tests' garbage may be finalized while it waits.
      inside = gpu.poolStats().inUse;
    }
    expect(gpu.poolStats().inUse).toBe(inside - 2);
    for (let i = 0; i < 10; i++) tensor([9, 9, 9], { backend: gpu }).dispose();
    expect(Array.from(await keep.data())).toEqual([1, 2, 3]);
    expect(() => keep.dispose()).not.toThrow();
    expect(() => keep.exp()).toThrow(/after dispose/);
  });

  it('garbage-collected tensors return their buffers, and the process exits after readback', async () => {
    const child = await bundle(`
      import { createWebGPUBackend, tensor } from ${JSON.stringify(library)};
      const gpu = await createWebGPUBackend();
      const x = tensor([1, 2, 3], { backend: gpu });
      for (let i = 0; i < 2000; i++) x.mul(i); // never disposed
      gpu.flush();
      const leaked = gpu.poolStats().inUse;
      for (let i = 0; i < 5 && gpu.poolStats().inUse > 10; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20));
        gpu.flush();
      }
      const values = Array.from(await x.exp().data());
      console.log(JSON.stringify({ leaked, collected: gpu.poolStats().inUse, values }));
    `);
    const run = spawnSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8', timeout: 60_000 });
    expect(run.signal, `child timed out or was killed; stderr: ${run.stderr}`).toBeNull();
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout.trim().split('\n').pop() as string);
    expect(report.leaked).toBeGreaterThanOrEqual(2000);
    expect(report.collected).toBeLessThan(100);
    expect(report.values[0]).toBeCloseTo(Math.E, 5);
  });
});
