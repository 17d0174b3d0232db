/**
 * Steady state of a jitted training step: the plan allocates only the arrays it returns, and 1e4
 * calls keep the heap flat (measured after GC, with a 2 MB bound, under
 * `NODE_OPTIONS=--expose-gc npx vitest run test/jit`; about 0.1 MB grew when this was written).
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { MlpParams, Tensor } from '../../src';
import { expectTreesIdentical, heapGrowth } from './helpers';

const lossOf = (params: MlpParams, x: Tensor, y: Tensor) => M.mean(M.square(M.sub(M.mlp(params, x), y)));
const sgdStep = (params: MlpParams, x: Tensor, y: Tensor) => {
  const [loss, g] = M.valueAndGrad(lossOf)(params, x, y);
  return [M.treeMap((p: Tensor, d: Tensor) => M.sub(p, M.mul(d, 0.01)), params, g) as MlpParams, loss] as const;
};

describe('jit memory', () => {
  const key = M.random.key(3);
  const params0 = M.initMlp(key, [3, 16, 16, 1]);
  const x = M.random.normal(M.random.foldIn(key, 1), [8, 3]);
  const y = M.random.normal(M.random.foldIn(key, 2), [8, 1]);

  it('a jitted MLP gradient step equals the eager one and allocates only its outputs', () => {
    const step = M.jit(sgdStep);
    let [pe, pj] = [params0, params0];
    for (let i = 0; i < 5; i++) {
      const [e, le] = sgdStep(pe, x, y);
      const [j, lj] = step(pj, x, y);
      expectTreesIdentical([j, lj], [e, le], `step ${i}`);
      [pe, pj] = [e, j];
    }
    const plan = M.jitStats(step).lastPlan;
    expect(plan?.internalAllocations).toEqual({});
    const outputs = M.treeFlatten(step(params0, x, y))[0].length;
    expect(plan?.allocationsPerCall).toBe(outputs);
    expect(plan?.fusedGroups).toBeGreaterThan(0);
    expect(M.jitStats(step).traceCount).toBe(1);
  });

  it('1e4 calls keep the heap roughly flat', () => {
    const step = M.jit(sgdStep);
    let params = params0;
    const { grown, bound } = heapGrowth(() => {
      [params] = step(params, x, y);
    });
    expect(M.jitStats(step).traceCount).toBe(1);
    expect(grown).toBeLessThan(bound);
  });
});
