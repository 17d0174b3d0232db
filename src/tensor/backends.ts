/** Which backend new tensors go to, and the backends known by name. */
import type { Backend } from './backend';
import { ArgumentError, BackendError } from './errors';
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
 * `backend` if it is a backend object; else an ArgumentError naming `op` (a backend's name, say,
 * where the object is expected).
 *
 * @example
 * checkBackend('tensor', cpu); // cpu
 * checkBackend('tensor', 'cpu'); // throws: tensor: backend must be a Backend object such as cpu or getBackend('cpu'), got the string 'cpu'
 */
export function checkBackend(op: string, backend: unknown): Backend {
  const candidate = backend as Partial<Backend> | null;
  if (typeof candidate?.supports !== 'function' || typeof candidate.execute !== 'function' || typeof candidate.name !== 'string') {
    const got = typeof backend === 'string' ? `the string '${backend}'` : backend === null ? 'null' : typeof backend === 'object' ? 'an object that is not one' : typeof backend;
    throw new ArgumentError(`${op}: backend must be a Backend object such as cpu or getBackend('cpu'), got ${got}`);
  }
  return backend as Backend;
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
  current = typeof backend === 'string' ? getBackend(backend) : checkBackend('setDefaultBackend', backend);
}

export { cpu };
