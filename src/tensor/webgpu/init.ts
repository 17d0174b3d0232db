/** Creating the WebGPU backend and choosing the default backend. */
import type { Backend } from '../backend';
import { cpu, registerBackend, setDefaultBackend } from '../backends';
import { ArgumentError } from '../errors';
import { WebGPUBackend, type WebGPUBackendOptions } from './backend';
import { type AdapterChoice, dawnOptionsOf, requestAdapter, requestDevice, validationOf } from './device';

/**
 * A new WebGPU backend on the best adapter Dawn finds; throws a WebGPUError when there is none.
 *
 * @example
 * const gpu = await createWebGPUBackend({ flushEvery: 64 });
 * const x = tensor([1, 2, 3], { backend: gpu });
 * await x.exp().data();
 */
export async function createWebGPUBackend(options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const resolved = { ...options, validation: validationOf(options.validation) };
  return open(await requestAdapter(dawnOptionsOf(resolved)), resolved);
}

async function open(choice: AdapterChoice, options: WebGPUBackendOptions): Promise<WebGPUBackend> {
  const device = await requestDevice(choice.adapter);
  return new WebGPUBackend(device, { gpu: choice.gpu, description: choice.description, software: choice.software }, options);
}

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';
const CHOICES: readonly string[] = ['cpu', 'webgpu', 'auto'];

let adapter: Promise<AdapterChoice> | undefined;
let shared: Promise<WebGPUBackend> | undefined;

/**
 * The shared backend's options: Dawn's validation with `MIXRL_WEBGPU_VALIDATION=on` (`validationOf`;
 * `off` or unset: none), Dawn's polling every turn with `MIXRL_DAWN_TICKS=every-turn` (`paced` or
 * unset: paced), jit plans' merged dispatches with `MIXRL_WEBGPU_MERGE=on` or `off` (unset: on
 * hardware adapters).
 */
function sharedOptions(): WebGPUBackendOptions & { readonly validation: boolean } {
  const ticks = process.env.MIXRL_DAWN_TICKS ?? 'paced';
  if (ticks !== 'paced' && ticks !== 'every-turn') {
    throw new ArgumentError(`initBackend: MIXRL_DAWN_TICKS is '${ticks}'; set it to paced or every-turn`);
  }
  const merge = process.env.MIXRL_WEBGPU_MERGE;
  if (merge !== undefined && merge !== 'on' && merge !== 'off') {
    throw new ArgumentError(`initBackend: MIXRL_WEBGPU_MERGE is '${merge}'; set it to on or off, or unset it`);
  }
  return { validation: validationOf(undefined), dawnTicks: ticks, ...(merge !== undefined && { mergeKernels: merge === 'on' }) };
}

/** The process's adapter, asked for once (a failure is not remembered, so a later call retries). */
function sharedAdapter(): Promise<AdapterChoice> {
  adapter ??= requestAdapter(dawnOptionsOf(sharedOptions())).catch((error: unknown) => {
    adapter = undefined;
    throw error;
  });
  return adapter;
}

/** The process's WebGPU backend, created once and registered as `webgpu`. */
function sharedBackend(): Promise<WebGPUBackend> {
  shared ??= sharedAdapter()
    .then((choice) => open(choice, sharedOptions()))
    .then(
      (backend) => {
        registerBackend(backend);
        return backend;
      },
      (error: unknown) => {
        shared = undefined;
        throw error;
      },
    );
  return shared;
}

/**
 * Sets up the default backend: `cpu`, `webgpu` (throws a WebGPUError without an adapter) or `auto`
 * (WebGPU on a hardware adapter, the CPU otherwise: a software adapter such as lavapipe is slower
 * than the CPU backend). The WebGPU backend is created once per process and registered as
 * `webgpu`. The choice defaults to the `MIXRL_BACKEND` environment variable, else `cpu`;
 * `MIXRL_WEBGPU_VALIDATION=on` opens it with Dawn's validation (`WebGPUBackendOptions.validation`),
 * `MIXRL_DAWN_TICKS=every-turn` leaves Dawn's polling unpaced (`WebGPUBackendOptions.dawnTicks`).
 *
 * @example
 * const backend = await initBackend('auto');
 * console.log(backend.name); // 'webgpu' or 'cpu'
 */
export async function initBackend(
  // The environment variable may hold anything; the check below names it.
  choice: BackendChoice = (process.env.MIXRL_BACKEND ?? 'cpu') as BackendChoice,
): Promise<Backend> {
  if (!CHOICES.includes(choice)) {
    throw new ArgumentError(`initBackend: unknown backend '${choice}' (MIXRL_BACKEND); choose cpu, webgpu or auto`);
  }
  let backend: Backend = cpu;
  if (choice === 'webgpu') {
    backend = await sharedBackend();
  } else if (choice === 'auto') {
    const found = await sharedAdapter().catch(() => undefined);
    if (found && !found.software) backend = await sharedBackend();
  }
  setDefaultBackend(backend);
  return backend;
}
