/**
 * A size-class pool of GPU storage buffers. Sizes round up to a class (powers of two with four
 * steps per octave, at least 256 bytes), so a freed buffer serves later requests of similar size;
 * the lowest-numbered free buffer of a class goes first (`acquire`): buffers are numbered as created,
 * and renumbered as the newest when the garbage collector gives them back (`releaseCollected`).
 *
 * A released buffer may still be named by commands recorded but not yet submitted; an upload
 * (`queue.writeBuffer`) into it would run before them. So releases wait in `pending` until the
 * batch is submitted (`recycle`); after that, queue order makes any reuse safe.
 *
 * Free buffers past the pool's budget are destroyed oldest first, and the budget never drops below
 * what one of the latest few batches released: a jit plan's call, or an eager loop's batch,
 * releases its working set in one batch and the next takes it back, so a working set larger than
 * the budget (100 agents' batched products: hundreds of MiB) is not destroyed and created again
 * every time, nor after a readback's short batch.
 */
/// <reference types="@webgpu/types" />

/** GPUBufferUsage flags (fixed by the WebGPU spec). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;

const MIN_BYTES = 256;
/** The batches whose releases the pool keeps room for, beyond its budget. */
const RECENT_BATCHES = 4;

/** The allocation size serving a request of `bytes`. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const octave = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

/** Counts of a pool, for tests and diagnostics. */
export interface PoolStats {
  /** Buffers created and not destroyed. */
  readonly buffers: number;
  /** Their total size in bytes. */
  readonly bytes: number;
  /** Buffers held by live tensors. */
  readonly inUse: number;
  /** Released buffers waiting for their batch to be submitted. */
  readonly pending: number;
  /** Buffers ready for reuse. */
  readonly free: number;
  /** Buffers created so far (a steady loop creates none). */
  readonly created: number;
}

export class BufferPool {
  private readonly freeLists = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private buffers = 0;
  private bytes = 0;
  private freeBytes = 0;
  private created = 0;
  /** The next serial: buffers are numbered when created, and again when collected (`releaseCollected`). */
  private serials = 0;
  /**
   * Each buffer's serial (free lists are kept in this order) and size. The size is kept
   * here rather than read from the buffer: Dawn's `size` getter crosses into native code (0.15-0.25
   * us a read on this project's CI machine), and a SAC-v2 update's call gives back about 80 buffers,
   * read four times each when the pool takes them back.
   */
  private readonly info = new Map<GPUBuffer, { readonly serial: number; readonly size: number }>();
  /** The free buffers in the order they were released, oldest first. */
  private readonly freeOrder = new Set<GPUBuffer>();
  /** Bytes released by each of the latest batches, newest last. */
  private readonly recentReleases: number[] = [];
  /** Buffers not destroyed however old, while `WebGPUBackend.profile` replays dispatches naming them. */
  readonly pinned = new Set<GPUBuffer>();
  /** The device's largest buffer, rounded down to whole words: classes near it are capped there. */
  private readonly maxBufferSize: number;

  constructor(
    private readonly device: GPUDevice,
    /** Free bytes kept for reuse (or what one of the latest batches released, if more); beyond that, the oldest free buffers are destroyed. */
    private readonly maxFreeBytes: number,
    /** Called before a buffer is destroyed. */
    private readonly onDestroy: (buffer: GPUBuffer) => void,
  ) {
    this.maxBufferSize = device.limits.maxBufferSize - (device.limits.maxBufferSize % 4);
  }

  /**
   * A storage buffer of at least `bytes` bytes, reused when one of its class is free: the
   * lowest-numbered of them (the earliest created, unless collected since). A loop that gives back
   * the same buffers each call then gets each tensor the buffer it had the last time it was in that
   * place, whatever order it disposed them in, so the bind groups cached for them are found again:
   * a jitted SAC update that returns a new state (not donated) while the loop disposes the old one
   * made 50 new bind groups per call handing out the last released buffer first; now 4 per call
   * over 300 calls and none over 10,000 (`test/jit/webgpu-memory.test.ts`, lavapipe).
   */
  acquire(bytes: number): GPUBuffer {
    const size = Math.max(bytes, Math.min(sizeClass(bytes), this.maxBufferSize));
    const reused = this.freeLists.get(size)?.shift();
    if (reused) {
      this.freeOrder.delete(reused);
      this.freeBytes -= size;
      return reused;
    }
    const buffer = this.device.createBuffer({
      label: `mixrl pool ${size}B`,
      size,
      usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
    });
    this.info.set(buffer, { serial: this.serials++, size });
    this.buffers++;
    this.bytes += size;
    this.created++;
    return buffer;
  }

  /** Returns a buffer; it becomes reusable after the current batch is submitted. */
  release(buffer: GPUBuffer): void {
    this.pending.push(buffer);
  }

  /**
   * Returns a buffer whose last tensor the garbage collector found unreachable: it is numbered as
   * the newest buffer, so it goes last in its class. The collector runs when it will, so without
   * this a loop that disposes everything could meet, mid-run, buffers older than its own, and take
   * them in place of the ones its bind groups name (CI saw 20 new bind groups in 60 steps of a
   * WebGPU training loop when the tensors left over from building the agent were collected there).
   */
  releaseCollected(buffer: GPUBuffer): void {
    const { size } = this.info.get(buffer) as { size: number };
    this.info.set(buffer, { serial: this.serials++, size });
    this.pending.push(buffer);
  }

  /**
   * Called after a submit: pending buffers become free; then the oldest free ones are destroyed
   * while free bytes exceed `maxFreeBytes` or, if more, the bytes one of the latest batches released.
   */
  recycle(): void {
    let released = 0;
    for (const buffer of this.pending) {
      const { size } = this.info.get(buffer) as { size: number };
      const list = this.freeLists.get(size);
      if (list) insertBySerial(list, buffer, this.info);
      else this.freeLists.set(size, [buffer]);
      this.freeOrder.add(buffer);
      this.freeBytes += size;
      released += size;
    }
    this.pending = [];
    this.recentReleases.push(released);
    if (this.recentReleases.length > RECENT_BATCHES) this.recentReleases.shift();
    const budget = Math.max(this.maxFreeBytes, ...this.recentReleases);
    for (const buffer of this.freeOrder) {
      if (this.freeBytes <= budget) break;
      if (this.pinned.has(buffer)) continue;
      const { size } = this.info.get(buffer) as { size: number };
      const list = this.freeLists.get(size) as GPUBuffer[];
      list.splice(list.indexOf(buffer), 1);
      this.freeOrder.delete(buffer);
      this.freeBytes -= size;
      this.onDestroy(buffer);
      this.info.delete(buffer);
      buffer.destroy();
      this.buffers--;
      this.bytes -= size;
    }
  }

  stats(): PoolStats {
    const pending = this.pending.length;
    return {
      buffers: this.buffers,
      bytes: this.bytes,
      inUse: this.buffers - this.freeOrder.size - pending,
      pending,
      free: this.freeOrder.size,
      created: this.created,
    };
  }
}

/** Inserts `buffer` into `list` (sorted by creation number) where its number belongs. */
function insertBySerial(list: GPUBuffer[], buffer: GPUBuffer, info: ReadonlyMap<GPUBuffer, { readonly serial: number }>): void {
  const serialOf = (b: GPUBuffer) => (info.get(b) as { serial: number }).serial;
  const serial = serialOf(buffer);
  let [low, high] = [0, list.length];
  while (low < high) {
    const mid = (low + high) >> 1;
    if (serialOf(list[mid]) < serial) low = mid + 1;
    else high = mid;
  }
  list.splice(low, 0, buffer);
}
