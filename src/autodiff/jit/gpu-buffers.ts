/**
 * The buffers of a WebGPU plan: its intermediate values' own buffers, handed out in the same order
 * on every call (`PlanBuffers`), and the donated inputs' buffers that the next call's paired
 * outputs are written into (`TwinBuffers`).
 */
import { type Aval, sizeOf } from '../../tensor';
import type { WebGPUBackend } from '../../tensor/webgpu/backend';
import type { KernelHost } from '../../tensor/webgpu/kernel-common';
import type { MatmulTiles } from '../../tensor/webgpu/matmul-kernels';
import { sizeClass } from '../../tensor/webgpu/pool';
import { bytesOf, Storage } from '../../tensor/webgpu/storage';

/** `gpu` with its outputs taken from `output` (a returned value's buffer chosen by the plan). */
export function withOutput(gpu: KernelHost, output: KernelHost['output']): KernelHost {
  return {
    matmulTiles: gpu.matmulTiles,
    output,
    share: (storage) => gpu.share(storage),
    drop: (storage) => gpu.drop(storage),
    clear: (storage, bytes) => gpu.clear(storage, bytes),
    run: (...args) => gpu.run(...args),
  };
}

/**
 * Per donated pair, the buffer of the previous call's donated input, which the pair's output of
 * the next call is written into when no tensor uses it any more (reference count 1: the plan's).
 */
export class TwinBuffers {
  private readonly kept: (Storage | null)[];

  constructor(
    private readonly gpu: KernelHost,
    pairs: number,
  ) {
    this.kept = new Array(pairs).fill(null);
  }

  /** Holds `storage` (one more reference) for pair j's next output, letting go of any held before. */
  adopt(j: number, storage: Storage): void {
    const before = this.kept[j];
    if (before) this.gpu.drop(before);
    this.kept[j] = this.gpu.share(storage);
  }

  /** The kernel host whose `output` gives pair j its twin buffer when free, else fresh storage. */
  host(j: number): KernelHost {
    const { gpu, kept } = this;
    return withOutput(gpu, (aval) => {
      const twin = kept[j];
      kept[j] = null;
      if (twin && twin.refs === 1) return twin;
      if (twin) gpu.drop(twin);
      return gpu.output(aval);
    });
  }
}

/** A plan's buffers go back to the pool when the plan is garbage-collected, and its constants' references are dropped. */
const abandoned = new FinalizationRegistry<{ gpu: WebGPUBackend; owned: Map<GPUBuffer, number>; constants: Storage[] }>(({ gpu, owned, constants }) => {
  for (const buffer of owned.keys()) gpu.reclaim(new Storage(buffer));
  for (const storage of constants) gpu.drop(storage);
});

/**
 * The buffers of a plan's intermediate values (and its kernels' temporaries), kept by the plan
 * across calls and handed out in the same order on every call, so that a call's dispatches name the
 * same buffers as the previous call's and find their bind groups cached. (The pool's free lists
 * return buffers in release order, which differs from call to call; every dispatch of a plan then
 * created a bind group.) Free buffers sit in stacks per pool size class; each call starts from the
 * stacks in one fixed order (`reset`), so its sequence of acquisitions and releases, the same on
 * every call, meets the same buffers. A buffer is reused within a call once its value's last reader
 * has run; queue order makes that safe, as nothing else writes to it. A buffer still referenced at
 * the end of a call (a returned value sharing it) leaves the plan and goes to the pool when
 * released.
 */
export class PlanBuffers implements KernelHost {
  /** Every buffer the plan owns, with its size class, in a fixed order. */
  private readonly owned = new Map<GPUBuffer, number>();
  /** Free buffers by size class; `pop` takes the next. */
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Buffers handed out and not given back in this call. */
  private out = 0;
  /** Bytes of the owned buffers' size classes. */
  bytes = 0;
  /** The size class of each value's buffer: a plan's steps ask with the same avals every call. */
  private readonly classes = new WeakMap<Aval, number>();
  /** The storage of the tensors the traced function captured, referenced for as long as the plan lives. */
  private readonly constants: Storage[] = [];

  constructor(private readonly gpu: WebGPUBackend) {
    abandoned.register(this, { gpu, owned: this.owned, constants: this.constants });
  }

  /**
   * A captured tensor's storage, with a reference the plan holds: disposing the tensor leaves the
   * plan its values, and an in-place update sees a second holder and writes a copy instead.
   */
  constant(storage: Storage): Storage {
    this.constants.push(this.gpu.share(storage));
    return storage;
  }

  get matmulTiles(): MatmulTiles {
    return this.gpu.matmulTiles;
  }

  output(aval: Aval): Storage {
    let size = this.classes.get(aval);
    if (size === undefined) this.classes.set(aval, (size = sizeClass(bytesOf(sizeOf(aval.shape)))));
    this.out++;
    const buffer = this.free.get(size)?.pop();
    if (buffer) return new Storage(buffer);
    const storage = this.gpu.output(aval);
    this.owned.set(storage.buffer, size);
    this.bytes += size;
    return storage;
  }

  share(storage: Storage): Storage {
    return this.gpu.share(storage);
  }

  drop(storage: Storage): void {
    const size = storage.refs === 1 ? this.owned.get(storage.buffer) : undefined;
    if (size === undefined) {
      this.gpu.drop(storage);
      return;
    }
    storage.refs = 0;
    this.out--;
    const stack = this.free.get(size);
    if (stack) stack.push(storage.buffer);
    else this.free.set(size, [storage.buffer]);
  }

  clear(storage: Storage, bytes: number): void {
    this.gpu.clear(storage, bytes);
  }

  run(...args: Parameters<KernelHost['run']>): void {
    this.gpu.run(...args);
  }

  /**
   * Ends a call: buffers still referenced (shared with a returned value) leave the plan, and the
   * free stacks are refilled in the fixed order for the next call.
   */
  reset(): void {
    if (this.out > 0) {
      const free = new Set<GPUBuffer>();
      for (const stack of this.free.values()) for (const b of stack) free.add(b);
      for (const [b, size] of [...this.owned]) {
        if (free.has(b)) continue;
        this.owned.delete(b);
        this.bytes -= size;
      }
      this.out = 0;
    }
    for (const stack of this.free.values()) stack.length = 0;
    for (const [buffer, size] of this.owned) {
      const stack = this.free.get(size);
      if (stack) stack.push(buffer);
      else this.free.set(size, [buffer]);
    }
    // Pops take the first-owned buffers first.
    for (const stack of this.free.values()) stack.reverse();
  }

  /** How many buffers the plan owns. */
  get buffers(): number {
    return this.owned.size;
  }
}
