/**
 * Finding a WebGPU adapter through Dawn (the `webgpu` package, loaded only when asked for) and
 * opening a device with the limits the kernels need.
 */
/// <reference types="@webgpu/types" />
import { ArgumentError } from '../errors';
import { WebGPUError } from './errors';

/** What `auto` needs to know about an adapter before opening a device on it. */
export interface AdapterChoice {
  /** Dawn's instance: it must outlive every device made from it, so whoever holds a device holds it. */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  /** `vendor architecture device description`, as far as the driver tells. */
  readonly description: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, WARP). */
  readonly software: boolean;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp|cpu/i;

/**
 * Whether Dawn validates a backend's commands: `option` when given, else the
 * `MIXRL_WEBGPU_VALIDATION` environment variable (`on` or `off`), else off. Every command comes
 * from mixrl's own kernels and plans, which the test suite runs validated (its config sets the
 * variable to `on`); validation is a debugging aid, as Vulkan's validation layers are, and it cost
 * an H200 1.28 instead of 1.08 ms per one-agent SGM-MRP update (and 2.8 instead of 0.6 ms before
 * a call's results were ready, its work running after the submit).
 *
 * @example
 * validationOf(true);                                         // true, whatever the environment says
 * validationOf(undefined, {});                                 // false
 * validationOf(undefined, { MIXRL_WEBGPU_VALIDATION: 'on' }); // true
 */
export function validationOf(option: boolean | undefined, environment: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (option !== undefined) return option;
  const env = environment.MIXRL_WEBGPU_VALIDATION;
  if (env === undefined || env === 'off') return false;
  if (env === 'on') return true;
  throw new ArgumentError(`WebGPU: MIXRL_WEBGPU_VALIDATION is '${env}'; set it to on or off, or unset it (off)`);
}

/**
 * Dawn's options for `create`: `dawnOptions`, with the `skip_validation` toggle added to its
 * `enable-dawn-features` list when `validation` is false.
 *
 * @example
 * dawnOptionsOf({ validation: false });                                                 // ['enable-dawn-features=skip_validation']
 * dawnOptionsOf({ dawnOptions: ['enable-dawn-features=disable_robustness'], validation: false }); // ['enable-dawn-features=disable_robustness,skip_validation']
 */
export function dawnOptionsOf({ dawnOptions = [], validation }: { readonly dawnOptions?: readonly string[]; readonly validation: boolean }): string[] {
  if (validation) return [...dawnOptions];
  const FEATURES = 'enable-dawn-features=';
  const at = dawnOptions.findIndex((option) => option.startsWith(FEATURES));
  if (at < 0) return [...dawnOptions, `${FEATURES}skip_validation`];
  return dawnOptions.map((option, i) => (i === at ? `${option},skip_validation` : option));
}

/**
 * The best adapter Dawn offers, or a WebGPUError saying why there is none.
 *
 * @example
 * const { description, software } = await requestAdapter();
 */
export async function requestAdapter(dawnOptions: readonly string[] = []): Promise<AdapterChoice> {
  let gpu: GPU;
  try {
    const { create } = await import('webgpu');
    gpu = create([...dawnOptions]);
  } catch (error) {
    throw new WebGPUError(`cannot load Dawn (the 'webgpu' package): ${(error as Error).message}`);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new WebGPUError(
      'no WebGPU adapter found; on a machine without a GPU install Mesa lavapipe (scripts/setup-webgpu-cpu.sh)',
    );
  }
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ');
  return { gpu, adapter, description, software: info.isFallbackAdapter || SOFTWARE.test(description) };
}

/** Storage buffers one kernel binds at most: params, output and up to three inputs (`where`). */
const STORAGE_BUFFERS_PER_KERNEL = 5;

/**
 * Opens a device asking for the adapter's largest buffers and the bindings the kernels need.
 *
 * @example
 * const device = await requestDevice((await requestAdapter()).adapter);
 */
export async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const limits = adapter.limits;
  if (limits.maxStorageBuffersPerShaderStage < STORAGE_BUFFERS_PER_KERNEL) {
    throw new WebGPUError(
      `the adapter binds ${limits.maxStorageBuffersPerShaderStage} storage buffers per kernel; mixrl needs ${STORAGE_BUFFERS_PER_KERNEL}`,
    );
  }
  try {
    return await adapter.requestDevice({
      label: 'mixrl',
      requiredLimits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        // Fused kernels bind every leaf and stored value: take what the adapter offers, up to 16.
        maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 16),
      },
    });
  } catch (error) {
    throw new WebGPUError(`requestDevice failed: ${(error as Error).message}`);
  }
}
