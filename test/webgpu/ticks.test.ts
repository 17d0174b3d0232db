/**
 * `WebGPUBackendOptions.dawnTicks`: under `'paced'` (the default) Dawn's polling turns, counted at
 * the global `setImmediate` that Dawn's bindings call, run at most about once per millisecond while
 * a loop waits in a bounded `settle`; under `'every-turn'` (Dawn's own) many more in the same wait,
 * so the count is what the first check measures. Readbacks still come back with the right values,
 * and other code's `setImmediate` calls run in the next turn, not on the pace. Without a GPU: which
 * callbacks the pacer holds (native ones given inside `from`) and that it runs them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as M from '../../src';
import { createWebGPUBackend, type WebGPUBackend } from '../../src/tensor/webgpu';
import { heldTicks, tickPacer } from '../../src/tensor/webgpu/ticks';
import { describeWebGPU, webgpu } from './gpu';

/** Native callbacks given to the global `setImmediate` (Dawn's ticks; each tick queues the next). */
let dawnCalls = 0;
let restore: (() => void) | undefined;

beforeAll(() => {
  const inner = globalThis.setImmediate;
  const counting = (callback: (...args: unknown[]) => void, ...args: unknown[]) => {
    if (Function.prototype.toString.call(callback).includes('[native code]')) dawnCalls++;
    return inner(callback, ...args);
  };
  globalThis.setImmediate = counting as unknown as typeof setImmediate;
  restore = () => (globalThis.setImmediate = inner);
});
afterAll(() => restore?.());

/**
 * Ticks per millisecond while `backend` works through a chain of products (6 at 192 on lavapipe,
 * 15-30 ms; 16 at 4096 on a GPU, some 60 ms on an H200) and the test waits in `settle(1)`. The
 * kernels are compiled first: compiling them inside the chain left an H200 with nothing to wait
 * for once its products ran at 35 TFLOP/s (session 15). The chain is submitted as two batches, all
 * but its last product, then that one, so the GPU starts once the host has recorded them: submitted
 * one by one, an H200 kept pace with the host creating each product's 64 MiB buffers and had
 * nothing left when `settle(1)` began (session 17).
 */
async function ticksPerMs(backend: WebGPUBackend): Promise<{ perMs: number; ms: number }> {
  const [n, steps] = backend.adapter.software ? [192, 6] : [4096, 16];
  const values = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i));
  const a = M.tensor(values, { backend }).reshape([n, n]);
  let x = a;
  M.matmul(a, a).mul(1 / n).dispose();
  await backend.settle(0);
  const results: M.Tensor[] = [];
  for (let i = 0; i < steps; i++) {
    x = M.matmul(x, a).mul(1 / n);
    results.push(x);
    if (i >= steps - 2) backend.flush();
  }
  const before = dawnCalls;
  const start = performance.now();
  await backend.settle(1);
  const ms = performance.now() - start;
  const perMs = (dawnCalls - before) / Math.max(ms, 1);
  await backend.settle(0);
  for (const r of results) r.dispose();
  a.dispose();
  return { perMs, ms };
}

it('holds only the native callbacks given inside a call routed through the pacer, and runs them on the pace', async () => {
  const pacer = tickPacer('paced');
  expect(tickPacer('every-turn').from(() => 7)).toBe(7);
  const held = heldTicks();
  // A promise's resolve is a native function, as Dawn's ticks are: outside `from` it passes through.
  await new Promise<void>((resolve) => {
    setImmediate(resolve);
    expect(heldTicks()).toBe(held);
  });
  // Inside `from`: held, then run by the pacer's timer (or sooner, by a turn someone asked for).
  const start = performance.now();
  await new Promise<void>((resolve) => {
    pacer.from(() => setImmediate(resolve));
    expect(heldTicks()).toBe(held + 1);
  });
  expect(performance.now() - start).toBeLessThan(1000);
  // A JavaScript callback inside `from` is someone else's: it passes through.
  await new Promise<void>((resolve) => {
    pacer.from(() => setImmediate(() => resolve()));
    expect(heldTicks()).toBe(held);
  });
});

describeWebGPU("Dawn's polling turns", () => {
  it('are paced by default: about one per millisecond in a bounded settle, many more every turn', async () => {
    const paced = webgpu();
    expect(paced.dawnTicks).toBe('paced');
    const eager = await createWebGPUBackend({ dawnTicks: 'every-turn' });
    expect(eager.dawnTicks).toBe('every-turn');
    const p = await ticksPerMs(paced);
    const e = await ticksPerMs(eager);
    // The pace is 1 ms (timers fire no sooner); one nudged turn at the start, a few turns of slack.
    expect(p.perMs * p.ms).toBeLessThanOrEqual(p.ms + 4);
    expect(e.perMs, `every-turn ${e.perMs.toFixed(1)}/ms over ${e.ms.toFixed(0)} ms`).toBeGreaterThan(3 * Math.max(p.perMs, 1));
    expect(heldTicks()).toBe(0);
    eager.device.destroy();
  });

  it('read back the right values, and leave other callbacks to the next turn', async () => {
    const gpu = webgpu();
    const x = M.tensor([1, 2, 3, 4], { backend: gpu });
    const y = x.mul(x).add(1);
    expect(Array.from(await y.data())).toEqual([2, 5, 10, 17]);
    // While a readback waits: a promise resolved through setImmediate (a native function, as
    // Dawn's ticks are) and a plain callback, both in the next turn, before a 50 ms timer.
    const pending = M.matmul(x.reshape([2, 2]), x.reshape([2, 2])).data();
    const order: string[] = [];
    const timer = new Promise<void>((resolve) => setTimeout(() => resolve(void order.push('timer')), 50));
    const immediate = new Promise<void>((resolve) => setImmediate(resolve)).then(() => order.push('resolve'));
    const callback = new Promise<void>((resolve) => setImmediate(() => resolve(void order.push('callback'))));
    await Promise.all([timer, immediate, callback]);
    expect(order.indexOf('timer')).toBe(2);
    expect(Array.from(await pending)).toEqual([7, 10, 15, 22]);
    x.dispose();
    y.dispose();
  });
});
