/**
 * Finding a WebGPU adapter through Dawn (the `webgpu` package, loaded only when asked for) and
 * opening a device with the limits the kernels need.
 */
/// <reference types="@webgpu/types" />
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
 * Dawn's options for `create`: `dawnOptions`, with the `skip_validation` toggle added to its
 * `enable-dawn-features` list when `validation` is false.
 *
 * @example
 * dawnOptionsOf({ validation: false });                                                 // ['enable-dawn-features=skip_validation']
 * dawnOptionsOf({ dawnOptions: ['enable-dawn-features=disable_robustness'], validation: false }); // ['enable-dawn-features=disable_robustness,skip_validation']
 */
export function dawnOptionsOf({ dawnOptions = [], validation = true }: { readonly dawnOptions?: readonly string[]; readonly validation?: boolean }): string[] {
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
