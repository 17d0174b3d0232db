/**
 * Comparing two WebGPU plans of one program: the plan with `options` against the same plan with one
 * of its passes turned off. Each pass (siblings, views, scalars, random-number merging) must leave
 * every output bit for bit as it was.
 */
import { expect } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import type { IRProgram } from '../../src/autodiff/ir';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { compileWebGPUPlan, type WebGPUPlan, type WebGPUPlanOptions } from '../../src/autodiff/jit/plan-webgpu';
import { expectClose, expectEqual, webgpu } from '../webgpu/gpu';
import { buildProgram } from '../autodiff/programs';

const toGpu = (x: Tensor): Tensor => M.tensor(x.dataSync(), { shape: x.shape, dtype: x.dtype, backend: webgpu() });

/**
 * A random program (`buildProgram`) as a function on WebGPU, or null where it has a float64 value
 * (no f64 in WGSL). The program is built on the CPU (the builder reads intermediate values, which
 * WebGPU cannot do synchronously), staged with makeIR, and its constants copied to the GPU: the
 * function evaluates that program with evalIR, so eager and jitted runs share one fixed function.
 */
export function gpuProgram(seed: number, n: number): { f: (...xs: Tensor[]) => Tensor; inputs: Tensor[]; listing: string } | null {
  const program = buildProgram(seed, n, M.cpu, undefined, 'float32');
  const ir = M.makeIR(program.f)(...program.inputs);
  const avals = [...ir.equations.map((eq) => eq.out.aval), ...ir.constants.map((c) => c.value.aval)];
  if (avals.some((a) => a.dtype === 'float64')) return null;
  const staged: M.IRProgram = { ...ir, constants: ir.constants.map(({ v, value }) => ({ v, value: toGpu(value) })) };
  return {
    f: (...xs: Tensor[]) => M.evalIR(staged, xs)[0],
    inputs: program.inputs.map(toGpu),
    listing: `seed ${seed}:\n  ${program.listing.join('\n  ')}`,
  };
}

/** The gradient, with respect to every input, of the sum of `f`'s squares (a random program's scalar loss). */
export function gradOfSquares(f: (...xs: Tensor[]) => Tensor, inputs: number): (...xs: Tensor[]) => Tensor[] {
  const loss = (...xs: Tensor[]) => M.sum(M.mul(f(...xs), f(...xs)));
  return M.grad(loss, { argnums: Array.from({ length: inputs }, (_, i) => i) }) as (...xs: Tensor[]) => Tensor[];
}

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

/**
 * Traces and optimizes `f`, compares its plans with `options` and with `off` too (`comparePlans`),
 * and checks the replayed outputs against eager WebGPU within rounding and the CPU in float64
 * within float32 accumulation error (`terms`: the most terms summed into one value); returns both
 * plans' stats.
 */
export async function checkProgram(
  f: (...xs: Tensor[]) => Tensor[],
  inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[],
  terms: number,
  what: string,
  options: WebGPUPlanOptions,
  off: WebGPUPlanOptions,
) {
  const gpuInputs = inputs.map((x) => x.gpu);
  const [program] = optimizeProgram(M.makeIR(f)(...gpuInputs));
  const { on, without, actual } = await comparePlans(program, gpuInputs, options, off, what);
  const eager = f(...gpuInputs);
  const exact = f(...inputs.map((x) => x.cpu));
  for (let i = 0; i < exact.length; i++) {
    const values = await actual[i].data();
    expect(actual[i].shape, what).toEqual(exact[i].shape);
    expect(actual[i].dtype, what).toBe(eager[i].dtype);
    expectClose(values, await eager[i].data(), 1e-6, 1e-5, `${what}, output ${i} vs eager`);
    expectClose(values, exact[i].dataSync(), 2e-7 * terms + 1e-6, 1e-5, `${what}, output ${i} vs float64`);
  }
  return { on: on.stats, without: without.stats };
}
