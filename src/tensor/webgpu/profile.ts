/**
 * Kernel timing (`WebGPUBackend.profile`): the dispatches of a recorded call, each replayed alone
 * on the GPU with its own params and buffers, so that a jitted update's time splits by kernel.
 *
 * Wall-clock, no timestamp queries (an optional feature Dawn may quantize): one submit of one
 * dispatch and one of `1 + repeats` back-to-back copies of it are each awaited, and the difference
 * of the best of a few trials of each, over `repeats`, is the kernel's time. The submit and wait
 * cancel out; what stays is the kernel and the barrier before it, as inside a plan. Then all the
 * dispatches are replayed in order in one submit, as the call ran them (less an empty submit), and
 * the host's time to record them so is kept too.
 */
/// <reference types="@webgpu/types" />
import { bindGroupEntries, PARAMS_BYTES } from './recorder';
import { USAGE } from './pool';
import type { TickPacer } from './ticks';

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
  /** The kernel's name, as in error messages (`matmul(NT)x2+epilogue`, `prologue+reduceSum`, ...). */
  readonly kernel: string;
  /** Its workgroup grid. */
  readonly groups: readonly [number, number, number];
  /** Milliseconds per run on the GPU. */
  readonly ms: number;
}

/** What `WebGPUBackend.profile` measures of a recorded call. */
export interface Profile {
  /** Each dispatch replayed alone, in order. */
  readonly kernels: readonly KernelTime[];
  /**
   * Milliseconds for all the dispatches replayed in order in one submit (the best of three, less
   * an empty submit's wait): beside the kernels' sum, what running in sequence adds or saves.
   */
  readonly sequenceMs: number;
  /**
   * Host milliseconds Dawn takes to record all the dispatches into a pass (setPipeline, setBindGroup
   * with its dynamic offset, dispatchWorkgroups; the best of three), with no other code between
   * them: the part of a call's host time that fewer dispatches, not faster JS, would cut.
   */
  readonly recordMs: number;
}

/** Replays below this total are repeated more, so the wait's jitter stays small beside them. */
const MIN_REPLAY_MS = 2;
const TRIALS = 3;

/** The GPU time of each captured dispatch, in capture order, and of all of them in sequence. */
export async function profileDispatches(
  device: GPUDevice,
  bindingLimit: number,
  captured: readonly CapturedDispatch[],
  ticks: TickPacer,
): Promise<Profile> {
  // Each dispatch's params at its own offset of one buffer, as the recorder's arena holds them.
  const stride = Math.max(PARAMS_BYTES, device.limits.minStorageBufferOffsetAlignment);
  const slots = Math.max(1, captured.length);
  const params = device.createBuffer({ label: 'mixrl profile params', size: stride * slots, usage: USAGE.STORAGE | USAGE.COPY_DST });
  const words = new Uint32Array((stride / 4) * slots);
  captured.forEach((d, j) => d.params.forEach((p, k) => (words[(j * stride) / 4 + k] = p >>> 0)));
  device.queue.writeBuffer(params, 0, words);
  const groups = captured.map((d) => device.createBindGroup({ layout: d.layout, entries: bindGroupEntries(params, d.buffers, bindingLimit) }));
  let recordMs = Infinity;
  /** Waits for one submit of the dispatches `indices` (into `captured`), each `count` times; its milliseconds. */
  const replay = async (indices: readonly number[], count: number): Promise<number> => {
    const encoder = device.createCommandEncoder({ label: 'mixrl profile' });
    const pass = encoder.beginComputePass();
    const offset = [0];
    const recording = performance.now();
    for (const j of indices) {
      const d = captured[j];
      pass.setPipeline(d.pipeline);
      offset[0] = j * stride;
      pass.setBindGroup(0, groups[j], offset);
      for (let i = 0; i < count; i++) pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
    }
    if (indices.length === captured.length && count === 1) recordMs = Math.min(recordMs, performance.now() - recording);
    pass.end();
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await ticks.urgently(ticks.from(() => device.queue.onSubmittedWorkDone()));
    return performance.now() - start;
  };
  const best = async (indices: readonly number[], count: number): Promise<number> => {
    let ms = Infinity;
    for (let t = 0; t < TRIALS; t++) ms = Math.min(ms, await replay(indices, count));
    return ms;
  };
  try {
    const kernels: KernelTime[] = [];
    for (let j = 0; j < captured.length; j++) {
      await replay([j], 1);
      let repeats = 8;
      let ms = 0;
      for (;;) {
        const one = await best([j], 1);
        const many = await best([j], 1 + repeats);
        ms = Math.max(0, many - one) / repeats;
        if (many - one >= MIN_REPLAY_MS || repeats >= 1024) break;
        repeats = Math.min(1024, repeats * Math.max(2, Math.ceil(MIN_REPLAY_MS / Math.max(many - one, 0.01))));
      }
      kernels.push({ kernel: captured[j].kernel, groups: captured[j].groups, ms });
    }
    const all = captured.map((_, j) => j);
    await replay(all, 1);
    const sequenceMs = Math.max(0, (await best(all, 1)) - (await best([], 0)));
    return { kernels, sequenceMs, recordMs: captured.length > 0 ? recordMs : 0 };
  } finally {
    params.destroy();
  }
}
