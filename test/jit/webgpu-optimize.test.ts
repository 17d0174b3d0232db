/**
 * Optimization on WebGPU programs: small constants lifted from literals are merged by value as on
 * the CPU (WebGPU cannot read them back synchronously, but keeps the values of small uploads), so
 * a repeated scalar chain (Adam's bias corrections per parameter) is one kernel, not one per use;
 * and a comparison with such a constant can be known false.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import type { ArrayTensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { comparePlans } from './webgpu-plans';
import { describeWebGPU, webgpu } from '../webgpu/gpu';

describeWebGPU('jit optimizations on WebGPU', () => {
  it('merges small constants by value and the subexpressions they make equal', async () => {
    const backend = webgpu();
    const f = (x: Tensor, t: Tensor) => {
      const a = M.add(M.mul(x, M.neg(M.expm1(M.mul(t, 0.25)))), 1);
      const b = M.add(M.mul(x, M.neg(M.expm1(M.mul(t, 0.25)))), 1); // new constants 0.25 and 1
      return M.mul(a, b);
    };
    const x = M.tensor(Float32Array.from([0.5, -1, 2]), { backend });
    const t = M.tensor(Float32Array.from([3]), { shape: [], backend });
    const [optimized, stats] = optimizeProgram(M.makeIR(f)(x, t));
    // The five equations of b merge into a's (b's two constants having merged into a's first).
    expect(stats.merged).toBe(5);
    expect(optimized.constants).toHaveLength(2);
    const jitted = M.jit(f);
    expect(Array.from(await jitted(x, t).data())).toEqual(Array.from(await f(x, t).data()));
    // A tensor uploaded with more elements than are kept is not compared by value.
    const big = M.tensor(new Float32Array(17), { backend });
    expect(backend.uploadedValues(big.handle)).toBeUndefined();
    expect(Array.from(backend.uploadedValues(t.handle) ?? [])).toEqual([3]);
  });

  it('keeps a product whole when only a slice of it is read (narrowing pays on the CPU only)', async () => {
    const backend = webgpu();
    const x = M.tensor(Float32Array.from({ length: 72 }, (_, i) => Math.sin(i)), { shape: [9, 8], backend });
    const w = M.tensor(Float32Array.from({ length: 88 }, (_, i) => Math.cos(i)), { shape: [11, 8], backend });
    const columns = (x: Tensor, w: Tensor) => M.slice(M.matmul(x, M.swapAxes(w, 0, 1)), null, [7, 11]);
    const jitted = M.jit(columns);
    const out = jitted(x, w);
    expect(M.jitStats(jitted).lastOptimization?.narrowed).toBe(0);
    expect(Array.from(await out.data())).toEqual(Array.from(await columns(x, w).data()));
  });

  it("drops takeAlongAxis's shift of negative indices for an argmax's indices (the 0 read from the upload's kept values)", async () => {
    const backend = webgpu();
    const logits = M.tensor(Float32Array.from({ length: 12 }, (_, i) => Math.sin(3 * i)), { shape: [4, 3], backend });
    const means = M.tensor(Float32Array.from({ length: 12 }, (_, i) => 10 * i), { shape: [4, 3], backend });
    const pick = (l: Tensor, m: Tensor) => M.takeAlongAxis(m, M.expandDims(M.argmax(l, 1), 1), 1);
    const jitted = M.jit(pick);
    const out = jitted(logits, means);
    expect(M.jitStats(jitted).lastOptimization?.simplified).toBe(1);
    expect(Array.from(await out.data())).toEqual(Array.from(await pick(logits, means).data()));
  });

  it('runs sums over axes of one element and outer products as elementwise groups: fewer dispatches, the same bits (-0 summed is +0)', async () => {
    const backend = webgpu();
    const x = M.tensor(Float32Array.from([-0, 2, 0, -3, 0.5, 7, -1.5, 3]), { shape: [2, 1, 4], backend });
    const scale = M.tensor(Float32Array.from([1, 2, 3, 4]), { shape: [4], backend });
    const column = M.tensor(Float32Array.from([-1, 2, 0, 0.5]), { shape: [4, 1], backend });
    const row = M.tensor(Float32Array.from([0, 1.5, -2, 4]), { shape: [1, 4], backend });
    // The sum and the product each read by two groups, so neither takes an epilogue.
    const f = (a: Tensor, b: Tensor, c: Tensor, r: Tensor) => {
      const s = M.sum(a, 1);
      const p = M.matmul(c, r);
      return [M.mul(s, b), M.exp(s), M.maximum(p, 0), M.mul(p, p)];
    };
    const inputs = [x, scale, column, row] as ArrayTensor[];
    const [program] = optimizeProgram(M.makeIR(f)(x, scale, column, row));
    const { on, without, actual } = await comparePlans(program, inputs, {}, { elementwise: false });
    expect(on.stats.dispatchesPerCall).toBeLessThan(without.stats.dispatchesPerCall);
    // -0 summed alone is +0, as the reduction kernel gives.
    expect(Object.is((await actual[0].data())[0], 0)).toBe(true);
  });
});
