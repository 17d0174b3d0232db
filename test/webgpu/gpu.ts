/**
 * Shared setup of the WebGPU suites: one backend per test file, or a silent skip when the run's probe
 * (global-setup.ts: one loud line, or a failure under MIXRL_REQUIRE_WEBGPU=1) found no adapter.
 */
import fc from 'fast-check';
import { describe, expect, inject } from 'vitest';
import { treeFlatten } from '../../src/autodiff/pytree';
import {
  type ArrayTensor,
  cpu,
  type DType,
  evaluate,
  type Params,
  type Primitive,
  type Shape,
  tensor,
  type TypedArray,
} from '../../src/tensor';
import { createWebGPUBackend, type WebGPUBackend } from '../../src/tensor/webgpu';
import { rng } from '../tensor/helpers';

export { rng };

/** The backend when the run's probe (global-setup.ts, which prints the one skip line) found an adapter. */
async function open(): Promise<WebGPUBackend | undefined> {
  return inject('webgpuSkipReason') ? undefined : createWebGPUBackend();
}

/** The WebGPU backend, or undefined where the suites are skipped. */
export const gpu = await open();

/** `describe` when WebGPU is available, `describe.skip` otherwise. */
export const describeWebGPU = gpu ? describe : describe.skip;

/** The backend, for code inside `describeWebGPU` (which only runs when it exists). */
export function webgpu(): WebGPUBackend {
  if (!gpu) throw new Error('describeWebGPU ran without a WebGPU backend');
  return gpu;
}


/**
 * Asserts two pytrees of GPU tensors have one structure, shapes and dtypes, and values within
 * `tol · (1 + |expected|)` (plus `tol · max |expected|` over the leaf with `scaled`: for results
 * such as a SAC update's, whose rounding follows the leaf's largest terms); NaN only where expected.
 */
export async function expectGpuTreesClose(
  actual: unknown,
  expected: unknown,
  tol: number,
  message: string,
  options: { scaled?: boolean } = {},
): Promise<void> {
  const [a, defA] = treeFlatten(actual);
  const [e, defE] = treeFlatten(expected);
  expect(JSON.stringify(defA), message).toBe(JSON.stringify(defE));
  for (let i = 0; i < e.length; i++) {
    const [ta, te] = [a[i] as ArrayTensor, e[i] as ArrayTensor];
    expect(ta.shape, message).toEqual(te.shape);
    expect(ta.dtype, message).toBe(te.dtype);
    const [va, ve] = [await ta.data(), await te.data()];
    let scale = 0;
    if (options.scaled) for (const q of ve) scale = Math.max(scale, Math.abs(Number(q)));
    for (let j = 0; j < ve.length; j++) {
      const [p, q] = [Number(va[j]), Number(ve[j])];
      if (Number.isNaN(q)) expect(p, `${message} leaf ${i} [${j}]`).toBeNaN();
      else expect(Math.abs(p - q), `${message} leaf ${i} [${j}]: ${p} vs ${q}`).toBeLessThanOrEqual(tol * (1 + Math.abs(q) + scale));
    }
  }
}

/** Float32-representable values uniform in [lo, hi). */
export function floats(seed: number, n: number, lo: number, hi: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** An input: its shape and values (float32-representable), on WebGPU and on the CPU in float64. */
export function gpuAndFloat64(shape: readonly number[], values: Float32Array): { gpu: ArrayTensor; cpu: ArrayTensor } {
  return {
    gpu: tensor(values, { shape, backend: webgpu() }) as ArrayTensor,
    cpu: tensor(Float64Array.from(values), { shape, dtype: 'float64' }) as ArrayTensor,
  };
}

/** `gpuAndFloat64` of values uniform in [-1, 1) drawn from `seed`. */
export const randomInput = (seed: number, ...shape: number[]) => gpuAndFloat64(shape, floats(seed, shape.reduce((p, d) => p * d, 1), -1, 1));

/** Shapes of rank 0..maxRank with sizes 1..maxSize. */
export const shapes = (maxRank = 3, maxSize = 5): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: 0, maxLength: maxRank });

/** The same values as a float32 WebGPU tensor and a float64 CPU tensor (or both of `dtype`). */
export function pair(values: TypedArray, shape: Shape, dtype: DType = 'float32'): [ArrayTensor, ArrayTensor] {
  const onGpu = tensor(values, { shape, dtype, backend: webgpu() });
  const onCpu = tensor(values, { shape, dtype: dtype === 'float32' ? 'float64' : dtype, backend: cpu });
  return [onGpu, onCpu];
}

/** Runs one primitive on WebGPU and on the CPU (float64 for float inputs); returns both results. */
export async function both<P extends Primitive>(
  prim: P,
  inputs: readonly [ArrayTensor, ArrayTensor][],
  params: Params<P>,
): Promise<{ gpu: TypedArray; cpu: TypedArray; shape: Shape }> {
  const g = evaluate(prim, inputs.map(([x]) => x), params);
  const c = evaluate(prim, inputs.map(([, x]) => x), params);
  expect(g.shape).toEqual(c.shape);
  return { gpu: await g.data(), cpu: c.dataSync(), shape: g.shape };
}

/** Checks |gpu - cpu| <= atol + rtol |cpu| elementwise (NaN only where the CPU has NaN). */
export function expectClose(gpuValues: TypedArray, cpuValues: TypedArray, atol: number, rtol: number, what = ''): void {
  expect(gpuValues.length).toBe(cpuValues.length);
  for (let i = 0; i < cpuValues.length; i++) {
    const [g, c] = [gpuValues[i], cpuValues[i]];
    if (Number.isNaN(c) && Number.isNaN(g)) continue;
    if (g === c) continue;
    if (!(Math.abs(g - c) <= atol + rtol * Math.abs(c))) {
      expect.fail(`${what}: element ${i}: webgpu ${g} vs cpu ${c} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Checks exact equality elementwise. */
export function expectEqual(gpuValues: TypedArray, cpuValues: TypedArray, what = ''): void {
  expectClose(gpuValues, cpuValues, 0, 0, what);
}

/**
 * Checks a fused (jitted) WebGPU result against the same computation unfused: bit for bit on a
 * software adapter (lavapipe, what CI runs), which holds for the programs these tests draw but not
 * for every fused chain (lavapipe's `exp(x · x)` fused differs by up to 23 ulp: docs/ARCHITECTURE.md,
 * jit). A hardware compiler may contract a fused `a * b + c` into one rounding, so there each
 * element may differ by `rtol` of the largest magnitude in the array: a few float32 ulps by
 * default, where a wrong key, buffer or operand moves values by far more.
 *
 * @example
 * expectSameUpToContraction(await jitted.data(), await eager.data(), 'output 0');
 */
export function expectSameUpToContraction(actual: ArrayLike<number>, expected: ArrayLike<number>, what = '', rtol = 1e-6): void {
  const values = (x: ArrayLike<number>) => Float64Array.from(x as ArrayLike<number>);
  const [a, e] = [values(actual), values(expected)];
  if (webgpu().adapter.software) return expectEqual(a, e, what);
  const scale = e.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  expectClose(a, e, rtol * scale, rtol, what);
}

/**
 * Counts the bind groups `device` creates from now until `restore()` (`counter.made`; set it to 0 to
 * start over).
 *
 * @example
 * const counter = countBindGroups(gpu.device);
 * try { step(); expect(counter.made).toBe(0); } finally { counter.restore(); }
 */
export function countBindGroups(device: GPUDevice): { made: number; restore(): void } {
  const d = device as GPUDevice & { createBindGroup: GPUDevice['createBindGroup'] };
  const createBindGroup = d.createBindGroup;
  const counter = {
    made: 0,
    restore: () => {
      d.createBindGroup = createBindGroup;
    },
  };
  d.createBindGroup = (descriptor: GPUBindGroupDescriptor) => {
    counter.made++;
    return createBindGroup.call(d, descriptor);
  };
  return counter;
}
