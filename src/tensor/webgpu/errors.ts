import { MixrlError } from '../errors';

/**
 * A failure on the WebGPU device: no adapter, a kernel that did not compile or validate, memory
 * exhausted, an out-of-range index in gather/scatterAdd, or the device lost. The message names the
 * kernel (or the batch of kernels) involved.
 *
 * @example
 * try {
 *   await initBackend('webgpu');
 * } catch (error) {
 *   if (error instanceof WebGPUError) await initBackend('cpu'); // no adapter here
 * }
 */
export class WebGPUError extends MixrlError {
  constructor(message: string) {
    super('webgpu', message);
  }
}
