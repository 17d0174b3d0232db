/**
 * The WebGPU backend: tensors live in pooled GPU buffers, primitives run as WGSL kernels recorded
 * into batched command buffers, `read` copies through a staging buffer. A tensor's buffer returns
 * to the pool on `dispose()` or, as a safety net, when the tensor is garbage-collected.
 */
/// <reference types="@webgpu/types" />
import type { Backend, Handle, KernelInput } from '../backend';
import { allocate, type DType, type TypedArray } from '../dtype';
import type { Aval, Params, Primitive } from '../primitives';
import { INDEX_FAULT } from '../../../shaders/gather';
import { sizeOf } from '../shape';
import { validationOf } from './device';
import { WebGPUError } from './errors';
import type { KernelHost } from './kernel-common';
import { webgpuKernels } from './kernels';
import type { MatmulTiles } from './matmul-kernels';
import { BufferPool, type PoolStats, USAGE } from './pool';
import { type CapturedDispatch, type Profile, profileDispatches } from './profile';
import { type MergeGroup, type MergeLimits, type MergeHost, fillMerged, planMerge } from './merge';
import { memberShape, type MemberShape } from '../../../shaders/merge';
import { MAX_GROUPS, Recorder } from './recorder';
import { bytesOf, type GpuHandle, Storage } from './storage';
import { type DawnTicks, type TickPacer, tickPacer } from './ticks';

export interface WebGPUBackendOptions {
  /** Dispatches recorded before a batch is submitted without a readback (default 128; a jit plan's call is one batch however long, `asOneBatch`). */
  readonly flushEvery?: number;
  /**
   * Bytes of free buffers the pool keeps for reuse (default 256 MiB), or more while one of the
   * latest four batches released more; past it the oldest free buffers are destroyed.
   */
  readonly maxPoolBytes?: number;
  /** Options passed to Dawn's `create`, e.g. `['adapter=...']`. */
  readonly dawnOptions?: readonly string[];
  /**
   * Dawn's validation of every command: default `MIXRL_WEBGPU_VALIDATION` (`on` or `off`), else off
   * (`validationOf`). Off, Dawn runs with its `skip_validation` toggle: on an H200 a jitted SAC-v2
   * update loop took 1.08 instead of 1.28 ms per sgm-mrp update, 0.78 instead of 0.79 per sg-rp
   * (its buffers reused; where each call created buffers and bind groups, 38% of the host time
   * went). An invalid command then goes unreported and does what it does, so mixrl's tests run
   * every command validated (the test config sets the variable to `on`): turn it on while writing
   * kernels. Shaders keep their bounds checks either way (a separate toggle).
   */
  readonly validation?: boolean;
  /**
   * Products' kernels (`KernelHost.matmulTiles`): `'sized'` (32x32, narrow or 64x64 tiles or strips
   * by the product's shape and count, `matmulTile`; the default on hardware adapters), `'thin-strip'`
   * (strips or 64x64 tiles; the default on software adapters) or one kernel for every product (32,
   * 64 or 128 tiles, `'narrow'` or `'strip'`).
   */
  readonly matmulTiles?: MatmulTiles;
  /**
   * How Dawn's polling turns run (`ticks.ts`): `'paced'` (the default: at most every millisecond,
   * except every turn while a readback or `settle(0)` waits) or `'every-turn'` (Dawn's own: each
   * event-loop turn while any GPU promise is pending, a busy loop whose garbage cost a jitted SAC
   * loop on lavapipe 1.9 ms per update).
   */
  readonly dawnTicks?: DawnTicks;
  /**
   * Whether a jit plan records the kernels of independent steps as merged dispatches (`merge.ts`;
   * default: on hardware adapters). On an H200 (session 11) one SAC-v2 update then took 46 / 68
   * dispatches instead of 60 / 89 (sg-rp / sgm-mrp) and 13-16% less GPU time (0.46 / 0.67 ms of
   * kernels instead of 0.53 / 0.79). Lavapipe runs merged kernels slower (a classic sgm-mrp update
   * 18-22 instead of 12-13 ms: its compiled kernel handles barriers for the whole merged kernel,
   * presumably), so software adapters dispatch each kernel alone unless asked.
   */
  readonly mergeKernels?: boolean;
  /**
   * Kernels of more workgroups than this are dispatched alone (default 256): such a kernel fills a
   * large GPU by itself, and merged with others it would run with the union's workgroup memory
   * and registers. Merging every kernel ran 100 batched sgm-mrp updates 0.07 ms slower on an H200
   * (kernels 9.60 against 9.54 ms) and large products 1.5x slower on lavapipe.
   */
  readonly mergeMaxGroups?: number;
}

/** `WebGPUBackendOptions.mergeMaxGroups`' default. */
const MERGE_MAX_GROUPS = 256;

/** What the adapter says about itself, and Dawn's instance, which must outlive the device. */
export interface AdapterSummary {
  readonly gpu: GPU;
  readonly description: string;
  readonly software: boolean;
}

/** GPUMapMode.READ (fixed by the WebGPU spec). */
const MAP_MODE_READ = 0x1;
/** Uploads of at most this many elements keep a host copy of their values (`uploadedValues`). */
const KEPT_UPLOAD_ELEMENTS = 16;

/**
 * The WebGPU backend (create it with `createWebGPUBackend` or `initBackend('webgpu')`). Besides the
 * `Backend` interface it offers `flush()`, `poolStats()`, the `device` and the `adapter` summary;
 * `output`, `share`, `drop`, `clear` and `run` are what its kernels use.
 *
 * @example
 * const gpu = await createWebGPUBackend();
 * const y = tensor([1, 2, 3], { backend: gpu }).mul(2);
 * await y.data(); // Float32Array [2, 4, 6]
 * gpu.poolStats(); // { buffers, bytes, inUse, pending, free, created, pipelines, submitted, bindGroups, unsettledChecks }
 */
export class WebGPUBackend implements Backend, KernelHost {
  readonly name = 'webgpu';
  private readonly pool: BufferPool;
  private readonly recorder: Recorder;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Host copies of small uploads, by handle (gone with the handle). */
  private readonly uploaded = new WeakMap<GpuHandle, TypedArray>();
  private readonly collected = new FinalizationRegistry<Storage>((storage) => this.reclaim(storage));
  private readonly lost: Promise<never>;
  private lostReason: string | undefined;
  /** One word that gather/scatterAdd set when they meet an out-of-range index. */
  private readonly indexFault: GPUBuffer;
  /** Whether an index kernel ran since the fault word was last read. */
  private indexFaultUnread = false;
  private readonly bindingLimit: number;
  /** Storage buffers one kernel may bind (params and output included). */
  readonly storageBuffersPerKernel: number;
  readonly matmulTiles: MatmulTiles;
  /** Whether Dawn validates its commands (`WebGPUBackendOptions.validation`). */
  readonly validation: boolean;
  /** How Dawn's polling turns run (`WebGPUBackendOptions.dawnTicks`). */
  readonly dawnTicks: DawnTicks;
  private readonly ticks: TickPacer;
  /** Dispatches recorded so far (a jit plan reports its dispatches per call from it). */
  dispatched = 0;
  /** Of those, merged dispatches (`merged`), and the kernels they ran. */
  mergedDispatches = 0;
  mergedKernels = 0;
  /** The primitive (or `upload`, `read`) being run, to name it in errors. */
  private current = 'idle';
  /** While `profile` records: each dispatch (its buffers pinned in the pool until replayed). */
  private capture: CapturedDispatch[] | undefined;
  /** Whether jit plans merge the kernels of independent steps (`WebGPUBackendOptions.mergeKernels`). */
  readonly mergeKernels: boolean;
  private readonly mergeLimits: MergeLimits;
  /** While a merge group records (`merged`): where `run` defers its dispatches. */
  private merging: MergeGroup | undefined;
  /** Each kernel's shape as a merge member (`memberShape`), by key; `null`: not mergeable. */
  private readonly memberShapes = new Map<string, MemberShape | null>();
  private readonly mergeHost: MergeHost = {
    shapeOf: (key, source) => {
      let shape = this.memberShapes.get(key);
      if (shape === undefined) {
        shape = memberShape(source()) ?? null;
        this.memberShapes.set(key, shape);
      }
      return shape ?? undefined;
    },
    pipeline: (kernel, key, source, access) => this.pipeline(kernel, key, source, access),
  };

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    options: WebGPUBackendOptions = {},
  ) {
    this.dawnTicks = options.dawnTicks ?? 'paced';
    this.ticks = tickPacer(this.dawnTicks);
    this.pool = new BufferPool(device, options.maxPoolBytes ?? 256 * 2 ** 20, (buffer) => this.recorder.forget(buffer));
    this.recorder = new Recorder(device, this.pool, options.flushEvery ?? 128, this.ticks);
    this.bindingLimit = device.limits.maxStorageBufferBindingSize;
    this.storageBuffersPerKernel = device.limits.maxStorageBuffersPerShaderStage;
    this.matmulTiles = options.matmulTiles ?? (adapter.software ? 'thin-strip' : 'sized');
    this.validation = validationOf(options.validation);
    this.mergeKernels = options.mergeKernels ?? !adapter.software;
    this.mergeLimits = {
      storageBuffers: this.storageBuffersPerKernel,
      workgroupBytes: device.limits.maxComputeWorkgroupStorageSize,
      groupsPerDimension: MAX_GROUPS,
      memberGroups: options.mergeMaxGroups ?? MERGE_MAX_GROUPS,
    };
    this.indexFault = device.createBuffer({ label: 'mixrl index fault', size: 4, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
    this.lost = device.lost.then((info) => {
      this.lostReason = `the WebGPU device was lost (${info.reason}): ${info.message}`;
      throw new WebGPUError(this.lostReason);
    });
    this.lost.catch(() => {});
    // Dawn raises uncaptured errors synchronously, inside the call that caused them.
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.recorder.fail(new WebGPUError(`WebGPU error in '${this.current}': ${message}`));
    });
  }

  supports(dtype: DType): boolean {
    return dtype !== 'float64';
  }

  upload(values: TypedArray, aval: Aval): Handle {
    this.checkUsable('upload');
    const storage = this.output(aval);
    const words = aval.dtype === 'bool' ? Uint32Array.from(values) : values;
    if (words.byteLength > 0) this.device.queue.writeBuffer(storage.buffer, 0, words.buffer, words.byteOffset, words.byteLength);
    const handle = this.handleOf(storage);
    if (values.length <= KEPT_UPLOAD_ELEMENTS) this.uploaded.set(handle as GpuHandle, values.slice());
    return handle;
  }

  uploadedValues(handle: Handle): TypedArray | undefined {
    return this.uploaded.get(handle as GpuHandle);
  }

  execute<P extends Primitive>(prim: P, inputs: readonly KernelInput[], params: Params<P>, out: Aval): Handle {
    this.checkUsable(prim);
    const gpuInputs = inputs.map((x) => ({ storage: (x.handle as GpuHandle).storage, aval: x.aval }));
    return this.handleOf(webgpuKernels[prim](this, gpuInputs, params, out));
  }

  async read(handle: Handle, aval: Aval): Promise<TypedArray> {
    this.checkUsable('read');
    const { storage } = handle as GpuHandle;
    const bytes = bytesOf(sizeOf(aval.shape));
    // The fault word rides along after the values when an index kernel ran since it was last read.
    const faultAt = this.indexFaultUnread ? bytes : -1;
    this.indexFaultUnread = false;
    if (bytes === 0 && faultAt < 0) {
      await this.ticks.urgently(this.recorder.check());
      return allocate(aval.dtype, 0);
    }
    const size = bytes + (faultAt < 0 ? 0 : 4);
    const staging = this.device.createBuffer({ label: 'mixrl readback', size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    try {
      if (bytes > 0) this.recorder.copy(storage.buffer, staging, bytes);
      if (faultAt >= 0) {
        this.recorder.copy(this.indexFault, staging, 4, faultAt);
        this.recorder.clear(this.indexFault, 4);
      }
      this.recorder.flush();
      await this.ticks.urgently(Promise.race([this.ticks.from(() => staging.mapAsync(MAP_MODE_READ)), this.lost]));
      await this.ticks.urgently(this.recorder.check());
      const words = staging.getMappedRange().slice(0);
      staging.unmap();
      if (faultAt >= 0) throwIndexFault(new Uint32Array(words, faultAt, 1)[0]);
      return fromWords(words.slice(0, bytes), aval.dtype);
    } catch (error) {
      await this.ticks.urgently(this.recorder.check());
      if (error instanceof WebGPUError) throw error;
      throw new WebGPUError(`read: mapping the readback buffer failed: ${(error as Error).message}`);
    } finally {
      staging.destroy();
    }
  }

  release(handle: Handle): void {
    const h = handle as GpuHandle;
    if (h.released) return;
    h.released = true;
    this.collected.unregister(h);
    this.unref(h.storage);
  }

  /** Submits recorded kernels now (readback does this itself). */
  flush(): void {
    this.recorder.flush();
  }

  /** Submitted batches (a jitted call is one) the GPU has not finished yet. */
  get inFlight(): number {
    return this.recorder.inFlight;
  }

  /**
   * Submits what is recorded, then waits until at most `max` batches are unfinished on the GPU. A
   * loop that never reads back bounds the work it queues by awaiting this every call.
   *
   * @example
   * for (let i = 0; i < steps; i++) {
   *   [state] = update(state, batch, key);
   *   await gpu.settle(2); // at most 2 updates in flight
   * }
   */
  async settle(max = 0): Promise<void> {
    this.recorder.flush();
    if (max === 0) {
      await this.ticks.urgently(this.recorder.settle(0));
    } else {
      // A loop bounding its queue: finished work is seen next turn, later completions within the pace.
      this.ticks.nudge();
      await this.recorder.settle(max);
    }
  }

  /**
   * Buffer pool counts, flat across a loop that disposes what it no longer needs, with the
   * pipelines compiled, the dispatches submitted, the bind groups cached and the error-scope checks
   * of submitted batches not yet settled (both bounded however long the loop).
   *
   * @example
   * const { buffers, inUse } = backend.poolStats();
   */
  poolStats(): PoolStats & {
    readonly pipelines: number;
    readonly submitted: number;
    readonly bindGroups: number;
    readonly unsettledChecks: number;
  } {
    return {
      ...this.pool.stats(),
      pipelines: this.pipelines.size,
      submitted: this.recorder.submitted,
      bindGroups: this.recorder.cachedBindGroups,
      unsettledChecks: this.recorder.unsettledChecks,
    };
  }

  // ---- KernelHost: what kernels use ----

  output(aval: Aval): Storage {
    const bytes = bytesOf(sizeOf(aval.shape));
    const limit = this.bindingLimit;
    if (bytes > limit) {
      throw new WebGPUError(`a tensor of ${sizeOf(aval.shape)} elements exceeds the device's ${limit}-byte storage binding limit`);
    }
    return new Storage(this.pool.acquire(bytes));
  }

  share(storage: Storage): Storage {
    storage.refs++;
    return storage;
  }

  drop(storage: Storage): void {
    this.unref(storage);
  }

  clear(storage: Storage, bytes: number): void {
    if (bytes > 0) this.recorder.clear(storage.buffer, bytes);
  }

  /**
   * Forgets the cached bind groups (up to 4096, and a few per pipeline), which are made again when
   * next needed: memory back, or a heap measurement that the caches' fill does not blur.
   */
  dropBindGroups(): void {
    this.recorder.dropBindGroups();
  }

  /** Records a copy of the first `bytes` bytes of `source` into `target`. */
  copy(source: Storage, target: Storage, bytes: number): void {
    if (bytes > 0) this.recorder.copy(source.buffer, target.buffer, bytes);
  }

  private readonly dispatchBuffers: GPUBuffer[] = [];

  run(
    kernel: string,
    key: string,
    source: () => string,
    params: readonly number[],
    buffers: readonly Storage[],
    groups: readonly [number, number, number],
    checksIndices = false,
    extraOutputs = 0,
  ): void {
    // One array reused (the recorder reads it before returning): no garbage per dispatch.
    const gpuBuffers = this.dispatchBuffers;
    // Set only when it changes: setting an array's length costs a runtime call, per dispatch.
    if (gpuBuffers.length !== buffers.length) gpuBuffers.length = buffers.length;
    for (let i = 0; i < buffers.length; i++) gpuBuffers[i] = buffers[i].buffer;
    if (checksIndices) {
      gpuBuffers.push(this.indexFault);
      this.indexFaultUnread = true;
    }
    const access = accessOf(buffers.length - 1 - extraOutputs, extraOutputs, checksIndices);
    const pipeline = this.pipeline(kernel, key, source, access);
    if (this.merging) this.merging.defer(kernel, key, source, pipeline, params, gpuBuffers, access, groups, checksIndices);
    else this.dispatch(kernel, pipeline, params, gpuBuffers, access, groups);
  }

  private dispatch(kernel: string, pipeline: GPUComputePipeline, params: readonly number[], buffers: readonly GPUBuffer[], access: string, groups: readonly [number, number, number]): void {
    this.dispatched++;
    if (this.capture) {
      const layout = this.recorder.layout(access).bindGroup;
      this.capture.push({ kernel, pipeline, params: params.slice(), buffers: buffers.slice(), layout, groups: [groups[0], groups[1], groups[2]] });
      for (const buffer of buffers) this.pool.pinned.add(buffer);
    }
    this.recorder.dispatch(kernel, pipeline, params, buffers, access, groups);
  }

  /**
   * Runs `record` (independent steps of a jit plan, `group.step` set before each) with its
   * dispatches deferred, then dispatches them: those that merge as merged kernels, the others
   * alone (`merge.ts`). Returns whether any merged, so that a plan can stop deferring a group in
   * which nothing does.
   *
   * @example
   * const merges = gpu.merged(group, () => { group.step = 0; a(); group.step = 1; b(); });
   */
  merged(group: MergeGroup, record: () => void): boolean {
    group.count = 0;
    this.merging = group;
    try {
      record();
    } finally {
      this.merging = undefined;
    }
    const deferred = group.deferred;
    let plan = group.plan;
    if (!plan || !group.fits(plan)) {
      plan = planMerge(deferred.slice(0, group.count), this.mergeLimits, this.mergeHost, group.varying);
      group.plan = plan;
    }
    for (const i of plan.alone) {
      const d = deferred[i];
      this.dispatch(d.kernel, d.pipeline, d.params, d.buffers, d.access, d.groups);
    }
    for (const m of plan.merged) {
      fillMerged(m, deferred);
      this.dispatch(m.kernel, m.pipeline, m.params, m.buffers, m.access, m.groups);
      this.mergedDispatches++;
      this.mergedKernels += m.members.length;
    }
    return plan.merged.length > 0;
  }

  /**
   * The GPU time of each kernel `record` dispatches (say, one call of a jitted update), in order,
   * and of all of them in sequence: `record` runs as usual, then each of its dispatches is replayed
   * alone, repeated, and then all in order, on the same buffers (which the pool does not destroy
   * until then), and timed by the wall clock (`profile.ts`). Copies and clears are not timed. Replays write those buffers again, whoever
   * holds them now: profile a call whose results, and whose donated inputs, are not used after.
   *
   * @example
   * const { kernels, sequenceMs } = await gpu.profile(() => void update(state, batch, key));
   * kernels.reduce((sum, t) => sum + t.ms, 0); // GPU milliseconds per update, kernel by kernel
   */
  async profile(record: () => void): Promise<Profile> {
    await this.settle(0);
    const captured: CapturedDispatch[] = [];
    this.capture = captured;
    try {
      try {
        record();
      } finally {
        this.capture = undefined;
      }
      await this.settle(0);
      await this.ticks.urgently(this.recorder.check());
      return await profileDispatches(this.device, this.bindingLimit, captured, this.ticks);
    } finally {
      this.pool.pinned.clear();
    }
  }

  private pipeline(kernel: string, key: string, source: () => string, access: string): GPUComputePipeline {
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: kernel, code: source() });
    const layout = this.recorder.layout(access).pipeline;
    const pipeline = this.device.createComputePipeline({ label: kernel, layout, compute: { module, entryPoint: 'main' } });
    this.recorder.watch(this.ticks.from(() => this.device.popErrorScope()), () => `the WGSL kernel '${kernel}'`);
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** A tensor handle owning one reference to `storage` (what a jit plan returns). */
  handleOf(storage: Storage): GpuHandle {
    const handle: GpuHandle = { storage, released: false };
    this.collected.register(handle, storage, handle);
    return handle;
  }

  /**
   * Drops a reference the garbage collector found unreachable (a tensor or a jit plan not disposed):
   * its buffer, once free, is handed out after those given back by `dispose()`.
   */
  reclaim(storage: Storage): void {
    this.unref(storage, 'collected');
  }

  private unref(storage: Storage, by: 'disposed' | 'collected' = 'disposed'): void {
    if (--storage.refs > 0) return;
    if (by === 'collected') this.pool.releaseCollected(storage.buffer);
    else this.pool.release(storage.buffer);
  }

  /**
   * Runs `record` with no submit forced by the dispatch count (`flushEvery`; the params arena's
   * size still bounds a batch, at 512 dispatches): a jit plan's call is one submit. Eager loops keep
   * the count, since the buffers they release wait for the batch's submit before the pool reuses them.
   */
  asOneBatch<T>(record: () => T): T {
    this.recorder.countsDispatches = false;
    try {
      return record();
    } finally {
      this.recorder.countsDispatches = true;
    }
  }

  /** Throws an error left by an earlier batch, or device loss; names `what` in later errors. */
  checkUsable(what: string): void {
    this.current = what;
    if (this.lostReason) throw new WebGPUError(`${what}: ${this.lostReason}`);
    this.recorder.throwIfFailed();
  }
}

/** Access strings (`w` then `r` per input, `w` per extra output and the index-fault word), made once each. */
const accessStrings = new Map<number, string>();

/** The bind-group access string of a dispatch: its output, `reads` inputs, `writes` extra outputs, the fault word. */
function accessOf(reads: number, writes: number, checksIndices: boolean): string {
  const code = (reads << 9) | (writes << 1) | (checksIndices ? 1 : 0);
  let access = accessStrings.get(code);
  if (access === undefined) {
    access = `w${'r'.repeat(reads)}${'w'.repeat(writes)}${checksIndices ? 'w' : ''}`;
    accessStrings.set(code, access);
  }
  return access;
}

/** Throws the error an index kernel flagged in the fault word, if any. */
function throwIndexFault(word: number): void {
  const ops = Object.entries(INDEX_FAULT)
    .filter(([, bit]) => word & bit)
    .map(([op]) => op);
  if (ops.length > 0) {
    throw new WebGPUError(
      `${ops.join(' and ')}: an index was out of range for its axis ` +
        '(found at this readback; the op ran earlier, where the CPU backend would have thrown)',
    );
  }
}

function fromWords(words: ArrayBuffer, dtype: DType): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(words);
    case 'int32':
      return new Int32Array(words);
    case 'uint32':
      return new Uint32Array(words);
    case 'bool':
      return Uint8Array.from(new Uint32Array(words));
    case 'float64':
      throw new WebGPUError('read: the webgpu backend has no float64 tensors');
  }
}
