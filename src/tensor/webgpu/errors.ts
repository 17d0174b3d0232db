import { MixrlError } from '../errors';

/**
 * A failure on the WebGPU device: no adapter, a kernel that did not compile or validate, memory
 * exhausted, or the device lost. The message names the kernel (or the batch of kernels) involved.
 */
export class WebGPUError extends MixrlError {
  constructor(message: string) {
    super('webgpu', message);
  }
}
