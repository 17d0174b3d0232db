/**
 * A size-class pool of GPU storage buffers. Sizes round up to a class (powers of two with four
 * steps per octave, at least 256 bytes), so a freed buffer serves later requests of similar size.
 *
 * A released buffer may still be named by commands recorded but not yet submitted; an upload
 * (`queue.writeBuffer`) into it would run before them. So releases wait in `pending` until the
 * batch is submitted (`recycle`); after that, queue order makes any reuse safe.
 */
/// <reference types="@webgpu/types" />

/** GPUBufferUsage flags (fixed by the WebGPU spec). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;

const MIN_BYTES = 256;

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
}

export class BufferPool {
  private readonly freeLists = new Map<number, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private buffers = 0;
  private bytes = 0;
  private freeCount = 0;
  private freeBytes = 0;
  /** The device's largest buffer, rounded down to whole words: classes near it are capped there. */
  private readonly maxBufferSize: number;

  constructor(
    private readonly device: GPUDevice,
    /** Free bytes kept for reuse; beyond that, recycled buffers are destroyed. */
    private readonly maxFreeBytes: number,
    /** Called before a buffer is destroyed. */
    private readonly onDestroy: (buffer: GPUBuffer) => void,
  ) {
    this.maxBufferSize = device.limits.maxBufferSize - (device.limits.maxBufferSize % 4);
  }

  /** A storage buffer of at least `bytes` bytes, reused when one of its class is free. */
  acquire(bytes: number): GPUBuffer {
    const size = Math.max(bytes, Math.min(sizeClass(bytes), this.maxBufferSize));
    const reused = this.freeLists.get(size)?.pop();
    if (reused) {
      this.freeCount--;
      this.freeBytes -= size;
      return reused;
    }
    const buffer = this.device.createBuffer({
      label: `mixrl pool ${size}B`,
      size,
      usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
    });
    this.buffers++;
    this.bytes += size;
    return buffer;
  }

  /** Returns a buffer; it becomes reusable after the current batch is submitted. */
  release(buffer: GPUBuffer): void {
    this.pending.push(buffer);
  }

  /** Called after a submit: pending buffers become free (or are destroyed past `maxFreeBytes`). */
  recycle(): void {
    for (const buffer of this.pending) {
      if (this.freeBytes + buffer.size > this.maxFreeBytes) {
        this.onDestroy(buffer);
        buffer.destroy();
        this.buffers--;
        this.bytes -= buffer.size;
        continue;
      }
      const list = this.freeLists.get(buffer.size);
      if (list) list.push(buffer);
      else this.freeLists.set(buffer.size, [buffer]);
      this.freeCount++;
      this.freeBytes += buffer.size;
    }
    this.pending = [];
  }

  stats(): PoolStats {
    const pending = this.pending.length;
    return {
      buffers: this.buffers,
      bytes: this.bytes,
      inUse: this.buffers - this.freeCount - pending,
      pending,
      free: this.freeCount,
    };
  }
}
