/**
 * jit on WebGPU, scalar constants in the params: a group reading a scalar constant whose value the
 * backend kept reads its bits from the kernel's params instead of binding a buffer. Special values
 * (NaN, ±infinity, -0, a subnormal, extreme integers, booleans) give the results of the plan that
 * binds them bit for bit, and eager WebGPU's; a SAC update is unchanged bit for bit.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { sacUpdateProgram } from './helpers';
import { comparePlans } from './webgpu-plans';
import { describeWebGPU, expectEqual, floats, webgpu } from '../webgpu/gpu';

/** Runs `f` through plans with scalars in the params and bound; checks them against each other and eager WebGPU bit for bit. */
async function check(f: (...xs: Tensor[]) => Tensor[], inputs: readonly ArrayTensor[]) {
  const [program] = optimizeProgram(M.makeIR(f)(...inputs));
  const { on: passed, actual } = await comparePlans(program, inputs, {}, { scalars: false });
  const eager = f(...inputs);
  for (let i = 0; i < eager.length; i++) expectEqual(await actual[i].data(), await eager[i].data(), `output ${i} vs eager`);
  return passed.stats.scalars;
}

describeWebGPU('jit on WebGPU: scalar constants in the params', () => {
  it('special float values, integers and booleans compute as when bound', async () => {
    const gpu = webgpu();
    const x = M.tensor(floats(1, 64, -3, 3), { shape: [8, 8], backend: gpu }) as ArrayTensor;
    const i = M.tensor(Int32Array.from({ length: 8 }, (_, k) => k * 300_000_007 - 5), { backend: gpu }) as ArrayTensor;
    const u = M.tensor(Uint32Array.from({ length: 8 }, (_, k) => k * 600_000_001), { backend: gpu }) as ArrayTensor;
    const b = M.tensor(Uint8Array.from({ length: 8 }, (_, k) => k & 1), { dtype: 'bool', backend: gpu }) as ArrayTensor;
    const f = (x: Tensor, i: Tensor, u: Tensor, b: Tensor) => [
      M.add(M.mul(x, -0), 1e-40), // -0 and a subnormal
      M.where(M.greater(x, 0), M.mul(x, Infinity), M.add(x, -Infinity)),
      M.maximum(x, NaN),
      M.add(M.mul(i, -2147483647), 2147483647),
      M.add(u, 4294967295),
      M.logicalAnd(b, M.tensor(true, { backend: gpu })),
    ];
    expect(await check(f, [x, i, u, b])).toBeGreaterThanOrEqual(8);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit with its scalar constants in the params', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    const { on: passed } = await comparePlans(program, inputs, {}, { scalars: false });
    // Adam's betas, epsilon and learning rates, the discount, the loss scales.
    expect(passed.stats.scalars).toBeGreaterThan(5);
  });
});
