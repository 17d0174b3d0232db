/** Comparison helpers for the jit tests (expected values always come from eager mode), and a small SAC update's program. */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Backend, Tensor } from '../../src';
import type { IRProgram } from '../../src/autodiff/ir';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { smallSac } from '../sac-fixtures';

/** Asserts two pytrees of tensors have one structure and close values (relative + absolute `tol`). */
export function expectTreesClose(actual: unknown, expected: unknown, tol: number, message = ''): void {
  const [a, defA] = M.treeFlatten(actual);
  const [e, defE] = M.treeFlatten(expected);
  expect(JSON.stringify(defA), message).toBe(JSON.stringify(defE));
  a.forEach((x, i) => {
    const [ta, te] = [x as Tensor, e[i] as Tensor];
    expect(ta.shape, message).toEqual(te.shape);
    expect(ta.dtype, message).toBe(te.dtype);
    const [va, ve] = [ta.dataSync(), te.dataSync()];
    for (let j = 0; j < ve.length; j++) {
      const [p, q] = [Number(va[j]), Number(ve[j])];
      if (Number.isNaN(q)) expect(p, `${message} leaf ${i} [${j}]`).toBeNaN();
      else expect(Math.abs(p - q), `${message} leaf ${i} [${j}]: ${p} vs ${q}`).toBeLessThanOrEqual(tol * (1 + Math.abs(q)));
    }
  });
}

/** Asserts two pytrees of tensors are identical bit for bit. */
export function expectTreesIdentical(actual: unknown, expected: unknown, message = ''): void {
  const [a] = M.treeFlatten(actual);
  const [e] = M.treeFlatten(expected);
  expect(a.map((x) => Array.from((x as Tensor).dataSync())), message).toEqual(e.map((x) => Array.from((x as Tensor).dataSync())));
}

/**
 * Heap growth over 1e4 calls of `step` after 200 warm-up calls, and the bound it must stay under:
 * 2 MB when the test can collect garbage (`--expose-gc`), 64 MB otherwise (the heap then still holds
 * uncollected garbage, and the plan's allocation counts are the strict check).
 */
export function heapGrowth(step: () => void): { grown: number; bound: number } {
  const run = (n: number) => {
    for (let i = 0; i < n; i++) step();
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  run(200);
  gc?.();
  const before = process.memoryUsage().heapUsed;
  run(10_000);
  gc?.();
  return { grown: process.memoryUsage().heapUsed - before, bound: gc ? 2e6 : 64e6 };
}

/**
 * The garbage collector: `globalThis.gc` under `--expose-gc`, else enabled at run time (the flag
 * set through `v8`, the function taken from a fresh context).
 */
export function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * `heapGrowth` for steps that must await now and then (WebGPU): `calls` calls of `step(i)` after
 * `warmup` calls. Each measurement collects garbage (always: the collector is enabled at run time
 * when the process lacks `--expose-gc`, so the bound is 2 MB), lets finalizers run, then awaits
 * `settle()` (e.g. submit and wait for the GPU, and take the caller's own snapshots).
 */
export async function heapGrowthAsync(
  step: (i: number) => void | Promise<void>,
  { calls = 10_000, warmup = 200, settle = async () => {} }: { calls?: number; warmup?: number; settle?: () => Promise<void> } = {},
): Promise<{ grown: number; bound: number }> {
  const gc = collector();
  // Collect, let finalizers run, then settle (which sees what they released) and measure.
  const measure = async () => {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await settle();
    gc();
    return process.memoryUsage().heapUsed;
  };
  for (let i = 0; i < warmup; i++) await step(i);
  const before = await measure();
  for (let i = 0; i < calls; i++) await step(warmup + i);
  return { grown: (await measure()) - before, bound: 2e6 };
}

/**
 * The optimized program of one small SAC update (obs 3, hidden [16, 16], batch 8 from a fixed replay
 * buffer) on `backend`, its flattened inputs (the state's leaves first) and the state's leaf count:
 * what the plan suites compile two ways and compare.
 */
export function sacUpdateProgram(
  backend: Backend,
  kind: 'single' | 'mixture',
  estimator: SacHyperparameters['estimator'],
  actionDim: number,
): { program: IRProgram; inputs: ArrayTensor[]; stateLeaves: number } {
  const h = smallSac({ obsDim: 3, head: { actionDim, kind, components: 5, low: -1, high: 1 }, estimator, hidden: [16, 16] });
  const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim });
  const action = (i: number) => Array.from({ length: actionDim }, (_, j) => (j % 2 ? Math.cos(i) : Math.sin(i)));
  for (let i = 0; i < 64; i++) replay.add({ obs: [i, -i, 1], action: action(i), reward: [Math.cos(i)], nextObs: [i + 1, -i, 1], terminated: [0] });
  const state = initSac(h, M.tensor(rawKey(0), { backend }));
  const batch = replay.sample(rawFoldIn(rawKey(1), 0), 8, { backend });
  const args = [state, batch, M.tensor(rawKey(2), { backend })] as const;
  const [program] = optimizeProgram(M.makeIR(makeSacUpdate(h, { jit: false }))(...args));
  return { program, inputs: M.treeFlatten(args)[0] as ArrayTensor[], stateLeaves: M.treeFlatten(state)[0].length };
}
