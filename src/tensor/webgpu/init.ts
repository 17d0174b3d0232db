/** Creating the WebGPU backend and choosing the default backend. */
import type { Backend } from '../backend';
import { cpu, registerBackend, setDefaultBackend } from '../backends';
import { ArgumentError } from '../errors';
import { WebGPUBackend, type WebGPUBackendOptions } from './backend';
import { type AdapterChoice, requestAdapter, requestDevice } from './device';

/**
 * A new WebGPU backend on the best adapter Dawn finds; throws a WebGPUError when there is none.
 *
 * @example
 * const gpu = await createWebGPUBackend({ flushEvery: 64 });
 * const x = tensor([1, 2, 3], { backend: gpu });
 * await x.exp().data();
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  return open(await requestAdapter(options.dawnOptions), options);
}

async function open(choice: AdapterChoice, options: WebGPUBackendOptions): Promise<WebGPUBackend> {
  const device = await requestDevice(choice.adapter);
  return new WebGPUBackend(device, { gpu: choice.gpu, description: choice.description, software: choice.software }, options);
}

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';
const CHOICES: readonly string[] = ['cpu', 'webgpu', 'auto'];

let shared: Promise<WebGPUBackend> | undefined;

/**
 * Sets up the default backend: `cpu`, `webgpu` (throws a WebGPUError without an adapter) or `auto`
 * (WebGPU on a hardware adapter, the CPU otherwise: a software adapter such as lavapipe is slower
 * than the CPU backend). The WebGPU backend is created once per process and registered as
 * `webgpu`. The choice defaults to the `MIXRL_BACKEND` environment variable, else `cpu`.
 *
 * @example
 * const backend = await initBackend('auto');
 * console.log(backend.name); // 'webgpu' or 'cpu'
 */
export async function initBackend(choice: string = process.env.MIXRL_BACKEND ?? 'cpu'): Promise<Backend> {
  if (!CHOICES.includes(choice)) {
    throw new ArgumentError(`initBackend: unknown backend '${choice}' (MIXRL_BACKEND); choose cpu, webgpu or auto`);
  }
  let backend: Backend = cpu;
  if (choice === 'webgpu') {
    shared ??= requestAdapter().then((adapter) => open(adapter, {}));
    backend = await sharedBackend();
  } else if (choice === 'auto') {
    const adapter = shared ? undefined : await requestAdapter().catch(() => undefined);
    if (shared || (adapter && !adapter.software)) {
      shared ??= open(adapter as AdapterChoice, {});
      backend = await sharedBackend();
    }
  }
  setDefaultBackend(backend);
  return backend;
}

async function sharedBackend(): Promise<WebGPUBackend> {
  const pending = shared as Promise<WebGPUBackend>;
  try {
    const backend = await pending;
    registerBackend(backend);
    return backend;
  } catch (error) {
    if (shared === pending) shared = undefined;
    throw error;
  }
}
