/** Which backend new tensors go to, and the backends known by name. */
import type { Backend } from './backend';
import { BackendError } from './errors';
import { cpu } from './cpu';

const registry = new Map<string, Backend>([['cpu', cpu]]);
let current: Backend = cpu;

/**
 * Makes a backend known by its name (the WebGPU backend registers itself once initialized).
 *
 * @example
 * registerBackend({ ...cpu, name: 'traced-cpu' });
 * tensor([1, 2], { backend: getBackend('traced-cpu') });
 */
export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/**
 * A registered backend by name; throws listing the known ones.
 *
 * @example
 * tensor([1, 2], { backend: getBackend('cpu') });
 */
export function getBackend(name: string): Backend {
  const backend = registry.get(name);
  if (!backend) {
    throw new BackendError(`unknown or uninitialized backend '${name}'; known: ${[...registry.keys()].join(', ')}`);
  }
  return backend;
}

/**
 * The backend that creation ops use when none is given.
 *
 * @example
 * defaultBackend().name; // 'cpu' unless setDefaultBackend (or MIXRL_BACKEND in the CLI) chose another
 */
export function defaultBackend(): Backend {
  return current;
}

/**
 * Sets the backend that creation ops use when none is given.
 *
 * @example
 * setDefaultBackend('cpu');
 */
export function setDefaultBackend(backend: Backend | string): void {
  current = typeof backend === 'string' ? getBackend(backend) : backend;
}

export { cpu };
