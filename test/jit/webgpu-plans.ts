/**
 * Comparing two WebGPU plans of one program: the plan with `options` against the same plan with one
 * of its passes turned off. Each pass (siblings, views, scalars, random-number merging) must leave
 * every output bit for bit as it was.
 */
import type { ArrayTensor } from '../../src';
import type { IRProgram } from '../../src/autodiff/ir';
import { compileWebGPUPlan, type WebGPUPlan, type WebGPUPlanOptions } from '../../src/autodiff/jit/plan-webgpu';
import { expectEqual, webgpu } from '../webgpu/gpu';

/**
 * Compiles `program` with `options` and with `options` and `off`, runs the second once and the first
 * twice (compiled, then replayed), asserts that each output of the replay equals the other plan's
 * bit for bit; returns both plans and the replay's outputs.
 */
export async function comparePlans(program: IRProgram, inputs: readonly ArrayTensor[], options: WebGPUPlanOptions, off: WebGPUPlanOptions, what = '') {
  const on: WebGPUPlan = compileWebGPUPlan(program, webgpu(), options);
  const without: WebGPUPlan = compileWebGPUPlan(program, webgpu(), { ...options, ...off });
  const expected = without.run(inputs);
  on.run(inputs);
  const actual = on.run(inputs);
  for (let i = 0; i < expected.length; i++) {
    expectEqual(await actual[i].data(), await expected[i].data(), `${what ? `${what}, ` : ''}output ${i} vs the plan with ${JSON.stringify(off)}`);
  }
  return { on, without, actual };
}
