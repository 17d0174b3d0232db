/**
 * Batched submission: every kernel is recorded into one shared command encoder (inside one compute
 * pass while dispatches follow each other) and the batch is submitted on readback or every
 * `flushEvery` dispatches. Kernel parameters of a batch are packed into one arena buffer, written
 * just before the submit, and bound with a dynamic offset; so a bind group depends only on the
 * tensors' buffers and is cached (pooled buffers recur, so most dispatches create no GPU object).
 * That matters beyond speed: Dawn frees GPU objects only when the event loop turns, and a
 * synchronous loop creating some 65k bind groups crashes lavapipe.
 *
 * Each batch runs inside error scopes; an error is kept, with the names of the batch's kernels, and
 * thrown by the next `execute` or `read`.
 */
/// <reference types="@webgpu/types" />
import { WebGPUError } from './errors';
import type { BufferPool } from './pool';
import { USAGE } from './pool';
import type { TickPacer } from './ticks';

/** GPUShaderStage.COMPUTE (fixed by the WebGPU spec). */
const STAGE_COMPUTE = 0x4;

/** Dispatch sizes per grid dimension (WebGPU's default maxComputeWorkgroupsPerDimension). */
export const MAX_GROUPS = 65535;

// 512 dispatches at the usual 256-byte offset alignment: a jitted update's batch fits one arena.
const ARENA_BYTES = 1 << 17;
/** The parameter window each dispatch sees (256 words: rank up to about 60). */
export const PARAMS_BYTES = 1024;
/** Bind groups remembered per pipeline for lookups without a key (the steps using a pipeline, and the buffers each alternates between). */
const RECENT_PER_PIPELINE = 16;
/** Cached bind groups kept before the cache starts over. */
const MAX_BIND_GROUPS = 4096;

/** A dispatch's bind group entries: the params window of `params` at binding 0, `buffers` at 1, 2, .... */
export function bindGroupEntries(params: GPUBuffer, buffers: readonly GPUBuffer[], bindingLimit: number): GPUBindGroupEntry[] {
  return [
    { binding: 0, resource: { buffer: params, offset: 0, size: PARAMS_BYTES } },
    ...buffers.map((buffer, k) => ({ binding: k + 1, resource: { buffer, size: Math.min(buffer.size, bindingLimit) } })),
  ];
}

/** The bind group and pipeline layout of kernels whose buffers after the params have `access`. */
interface Layout {
  readonly bindGroup: GPUBindGroupLayout;
  readonly pipeline: GPUPipelineLayout;
  /** One letter per buffer: `w` read-write, `r` read-only. */
  readonly access: string;
}

export class Recorder {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  /** The pipeline the open pass has set (a dispatch of the same one skips `setPipeline`: about 1 us). */
  private passPipeline: GPUComputePipeline | undefined;
  private readonly arena: GPUBuffer;
  private readonly arenaWords = new Uint32Array(ARENA_BYTES / 4);
  private readonly dynamicOffset = [0];
  private arenaUsed = 0;
  private dispatches = 0;
  private batchKernels = new Set<string>();
  private readonly layouts = new Map<string, Layout>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  /** Per pipeline, the bind groups of its latest dispatches with other buffers (newest first). */
  private readonly recent = new Map<GPUComputePipeline, { readonly buffers: readonly GPUBuffer[]; readonly group: GPUBindGroup }[]>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  /** Error-scope results not yet settled (each removes itself when it settles). */
  private readonly checks = new Set<Promise<void>>();
  private failure: WebGPUError | undefined;
  /** Dispatches submitted so far. */
  submitted = 0;
  /** Whether `flushEvery` dispatches submit a batch (off while a jit plan records a call). */
  countsDispatches = true;
  /** Completion of each submitted batch still running on the GPU, in submission order. */
  private readonly running = new Set<Promise<void>>();
  // Read once: every access of `device.limits` crosses into Dawn.
  private readonly offsetAlignment: number;
  private readonly bindingLimit: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly flushEvery: number,
    private readonly ticks: TickPacer,
  ) {
    this.offsetAlignment = device.limits.minStorageBufferOffsetAlignment;
    this.bindingLimit = device.limits.maxStorageBufferBindingSize;
    this.arena = device.createBuffer({ label: 'mixrl kernel params', size: ARENA_BYTES, usage: USAGE.STORAGE | USAGE.COPY_DST });
  }

  /** The layout shared by every kernel whose buffers (after the params) have `access` (`w`/`r` each). */
  layout(access: string): Layout {
    let layout = this.layouts.get(access);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'read-only-storage', hasDynamicOffset: true } },
        ...[...access].map((a, k) => ({
          binding: k + 1,
          visibility: STAGE_COMPUTE,
          buffer: { type: a === 'w' ? ('storage' as const) : ('read-only-storage' as const) },
        })),
      ];
      const bindGroup = this.device.createBindGroupLayout({ label: `mixrl ${access}`, entries });
      const pipeline = this.device.createPipelineLayout({ bindGroupLayouts: [bindGroup] });
      layout = { bindGroup, pipeline, access };
      this.layouts.set(access, layout);
    }
    return layout;
  }

  /** Records a dispatch of `pipeline` with `params` at binding 0 and `buffers` at bindings 1, 2, .... */
  dispatch(
    kernel: string,
    pipeline: GPUComputePipeline,
    params: readonly number[],
    buffers: readonly GPUBuffer[],
    access: string,
    groups: readonly [number, number, number],
  ): void {
    if (params.length * 4 > PARAMS_BYTES) {
      throw new WebGPUError(`${kernel}: ${params.length} kernel parameters exceed ${PARAMS_BYTES / 4} (tensor rank too high)`);
    }
    if (this.arenaUsed + PARAMS_BYTES > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    for (let k = 0; k < params.length; k++) this.arenaWords[offset / 4 + k] = params[k] >>> 0;
    const align = this.offsetAlignment;
    this.arenaUsed = Math.ceil((offset + Math.max(4, params.length * 4)) / align) * align;
    const pass = this.computePass();
    if (pipeline !== this.passPipeline) {
      pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
    }
    // The dynamic offset through one reused array, the grid without a spread: no garbage per dispatch.
    // A plain array: Dawn's binding takes it about 5% faster than a Uint32Array with start and length.
    this.dynamicOffset[0] = offset;
    pass.setBindGroup(0, this.recentGroup(pipeline, buffers) ?? this.bindGroup(pipeline, this.layout(access), buffers), this.dynamicOffset);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.batchKernels.add(kernel);
    if (++this.dispatches >= this.flushEvery && this.countsDispatches) this.flush();
  }

  /** Forgets every cached bind group (made again when next needed). */
  dropBindGroups(): void {
    this.bindGroups.clear();
    this.recent.clear();
  }

  /** Forgets the bind groups naming `buffer` (it is about to be destroyed). */
  forget(buffer: GPUBuffer): void {
    const id = this.bufferIds.get(buffer);
    if (id === undefined) return;
    for (const key of this.bindGroups.keys()) {
      if (key.split('|').slice(1).includes(String(id))) this.bindGroups.delete(key);
    }
    for (const [pipeline, entries] of this.recent) {
      const kept = entries.filter((e) => !e.buffers.includes(buffer));
      if (kept.length < entries.length) this.recent.set(pipeline, kept);
    }
  }

  /**
   * The bind group a recent dispatch of `pipeline` used with these buffers, found without building
   * a key: a jit plan's step binds the same buffers call after call (or a few sets in turn).
   */
  private recentGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup | undefined {
    const entries = this.recent.get(pipeline);
    if (!entries) return undefined;
    for (const entry of entries) {
      const known = entry.buffers;
      if (known.length !== buffers.length) continue;
      let same = true;
      for (let k = 0; same && k < known.length; k++) same = known[k] === buffers[k];
      if (same) return entry.group;
    }
    return undefined;
  }

  private bindGroup(pipeline: GPUComputePipeline, layout: Layout, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = layout.access;
    for (let k = 0; k < buffers.length; k++) key += `|${this.idOf(buffers[k])}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      group = this.device.createBindGroup({
        layout: layout.bindGroup,
        entries: bindGroupEntries(this.arena, buffers, this.bindingLimit),
      });
      this.bindGroups.set(key, group);
    }
    const entries = this.recent.get(pipeline) ?? [];
    if (entries.length === 0) this.recent.set(pipeline, entries);
    // The newest first; the oldest falls out past RECENT_PER_PIPELINE.
    entries.unshift({ buffers: buffers.slice(), group });
    if (entries.length > RECENT_PER_PIPELINE) entries.pop();
    return group;
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** Records a copy of `bytes` bytes from the start of `source` to `target` at `targetOffset`. */
  copy(source: GPUBuffer, target: GPUBuffer, bytes: number, targetOffset = 0): void {
    this.endPass();
    this.begin().copyBufferToBuffer(source, 0, target, targetOffset, bytes);
  }

  /** Records zero-filling the first `bytes` bytes of `buffer`. */
  clear(buffer: GPUBuffer, bytes: number): void {
    this.endPass();
    this.begin().clearBuffer(buffer, 0, bytes);
  }

  /** Submits the recorded batch (if any) and lets the pool reuse the buffers released during it. */
  flush(): void {
    if (this.encoder) {
      this.endPass();
      if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaWords.buffer, 0, this.arenaUsed);
      this.device.queue.submit([this.encoder.finish()]);
      const kernels = [...this.batchKernels];
      const device = this.device;
      const [scopes, finished] = this.ticks.from(() => [
        [device.popErrorScope(), device.popErrorScope(), device.popErrorScope()],
        device.queue.onSubmittedWorkDone(),
      ] as const);
      this.watch(Promise.all(scopes).then((errors) => errors.find((e) => e !== null)), () => `kernels [${kernels.join(', ')}]`);
      const done: Promise<void> = finished.then(
        () => void this.running.delete(done),
        () => void this.running.delete(done),
      );
      this.running.add(done);
      this.submitted += this.dispatches;
      this.encoder = undefined;
      this.arenaUsed = 0;
      this.dispatches = 0;
      this.batchKernels = new Set();
    }
    this.pool.recycle();
  }

  /**
   * Remembers `error` (a GPU error promise) so that the next `check` throws it, naming `what`. The
   * promise is held only until it settles (its error, if any, is kept in `failure`): a loop that
   * submits without ever reading back would otherwise keep one promise per batch.
   */
  watch(error: Promise<GPUError | null | undefined>, what: () => string): void {
    const settled: Promise<void> = error.then(
      (e) => {
        this.checks.delete(settled);
        if (e && !this.failure) this.failure = new WebGPUError(`WebGPU error in ${what()}: ${e.message}`);
      },
      (reason: unknown) => {
        this.checks.delete(settled);
        this.failure ??= new WebGPUError(`WebGPU error in ${what()}: ${(reason as Error)?.message ?? String(reason)}`);
      },
    );
    this.checks.add(settled);
  }

  /** Submitted batches the GPU has not finished. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Resolves once at most `max` submitted batches are unfinished (oldest awaited first). */
  async settle(max: number): Promise<void> {
    while (this.running.size > max) await this.running.values().next().value;
  }

  /** Error-scope results not yet settled: bounded by the batches in flight, not by those submitted. */
  get unsettledChecks(): number {
    return this.checks.size;
  }

  /** Bind groups cached (at most 4096). */
  get cachedBindGroups(): number {
    return this.bindGroups.size;
  }

  /** Records an error found outside the scopes (uncaptured errors, device loss). */
  fail(error: WebGPUError): void {
    this.failure ??= error;
  }

  /** Throws the first error seen since the last check. */
  throwIfFailed(): void {
    const failure = this.failure;
    if (failure) {
      this.failure = undefined;
      throw failure;
    }
  }

  /** Waits for the error scopes of submitted batches, then throws the first error seen. */
  async check(): Promise<void> {
    await Promise.all([...this.checks]);
    this.throwIfFailed();
  }

  private begin(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('internal');
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'mixrl batch' });
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.begin().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
    this.passPipeline = undefined;
  }
}
