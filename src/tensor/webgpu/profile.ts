/**
 * Kernel timing (`WebGPUBackend.profile`): the dispatches of a recorded call, each replayed alone
 * on the GPU with its own params and buffers, so that a jitted update's time splits by kernel.
 *
 * Wall-clock, no timestamp queries (an optional feature Dawn may quantize): one submit of one
 * dispatch and one of `1 + repeats` back-to-back copies of it are each awaited, and the difference
 * of the best of a few trials of each, over `repeats`, is the kernel's time. The submit and wait
 * cancel out; what stays is the kernel and the barrier before it, as inside a plan.
 */
/// <reference types="@webgpu/types" />
import { PARAMS_BYTES } from './recorder';
import { USAGE } from './pool';

/** A dispatch as recorded: what replays it. */
export interface CapturedDispatch {
  readonly kernel: string;
  readonly pipeline: GPUComputePipeline;
  readonly params: readonly number[];
  readonly buffers: readonly GPUBuffer[];
  readonly layout: GPUBindGroupLayout;
  readonly groups: readonly [number, number, number];
}

/** One dispatch's GPU time. */
export interface KernelTime {
  /** The kernel's name, as in error messages (`matmul(NT)x2+epilogue`, `reduce(sum)`, ...). */
  readonly kernel: string;
  /** Its workgroup grid. */
  readonly groups: readonly [number, number, number];
  /** Milliseconds per run on the GPU. */
  readonly ms: number;
}

/** Replays below this total are repeated more, so the wait's jitter stays small beside them. */
const MIN_REPLAY_MS = 2;
const TRIALS = 3;

/** The GPU time of each captured dispatch, in capture order. */
export async function timeDispatches(device: GPUDevice, bindingLimit: number, captured: readonly CapturedDispatch[]): Promise<KernelTime[]> {
  const params = device.createBuffer({ label: 'mixrl profile params', size: PARAMS_BYTES, usage: USAGE.STORAGE | USAGE.COPY_DST });
  const words = new Uint32Array(PARAMS_BYTES / 4);
  const times: KernelTime[] = [];
  try {
    for (const d of captured) {
      words.fill(0);
      for (let k = 0; k < d.params.length; k++) words[k] = d.params[k] >>> 0;
      device.queue.writeBuffer(params, 0, words);
      const group = device.createBindGroup({
        layout: d.layout,
        entries: [
          { binding: 0, resource: { buffer: params, offset: 0, size: PARAMS_BYTES } },
          ...d.buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer, size: Math.min(buffer.size, bindingLimit) } })),
        ],
      });
      const replay = async (count: number): Promise<number> => {
        const encoder = device.createCommandEncoder({ label: `mixrl profile ${d.kernel}` });
        const pass = encoder.beginComputePass();
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, group, [0]);
        for (let i = 0; i < count; i++) pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
        pass.end();
        const start = performance.now();
        device.queue.submit([encoder.finish()]);
        await device.queue.onSubmittedWorkDone();
        return performance.now() - start;
      };
      await replay(1);
      let repeats = 8;
      let ms = 0;
      for (;;) {
        let one = Infinity;
        let many = Infinity;
        for (let t = 0; t < TRIALS; t++) {
          one = Math.min(one, await replay(1));
          many = Math.min(many, await replay(1 + repeats));
        }
        ms = Math.max(0, many - one) / repeats;
        if (many - one >= MIN_REPLAY_MS || repeats >= 1024) break;
        repeats = Math.min(1024, repeats * Math.max(2, Math.ceil(MIN_REPLAY_MS / Math.max(many - one, 0.01))));
      }
      times.push({ kernel: d.kernel, groups: d.groups, ms });
    }
  } finally {
    params.destroy();
  }
  return times;
}
