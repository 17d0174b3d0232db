/**
 * The WebAssembly side of the CPU backend: one compiled kernel module, instantiated over a memory
 * (`WasmArena`) whose regions are handed out as byte offsets. Kernels read and write the arena, so
 * data crosses from typed arrays by copying (`TypedArray.set`, a memcpy). A shared (threaded)
 * memory can also host guest arenas, whose kernels copy data from its other regions with
 * `memory.copy` (V8 copies out of a SharedArrayBuffer in JS about 4x slower than out of plain memory).
 */
import { COPY_FUNCTIONS, type CopyExports } from './copy';
import { type FunctionDef, type WasmMemory, wasm, wasmModule } from './emit';
import { MATMUL_FUNCTIONS, MATMUL_READ_SLACK, MatmulBlock, type MatmulExports, PackB } from './matmul';
import { MATMUL_F64_FUNCTIONS, type MatmulF64Exports } from './matmul-f64';
import { REDUCE_FUNCTIONS, type ReduceExports } from './reduce';
import { THREEFRY_FUNCTIONS, type ThreefryExports } from './threefry';
import { matmulThreads, THREADED_LANES_MIN_BYTES, THREADED_MATMUL_MIN, THREADED_SUM_MIN, THREADED_TRANSPOSE_MIN, threadedKernels } from './threads';

/** Every fixed kernel, in module order (the float32 product's calls index its first functions). */
const KERNELS = [...MATMUL_FUNCTIONS, ...REDUCE_FUNCTIONS, ...COPY_FUNCTIONS, ...THREEFRY_FUNCTIONS, ...MATMUL_F64_FUNCTIONS];


let compiled: object | null = null;

/** The kernel module, compiled on first use (synchronously: it is a few kilobytes). */
function kernelModule(): object {
  compiled ??= new wasm.Module(wasmModule(KERNELS.map((f) => f())));
  return compiled;
}

const PAGE = 65536;

/**
 * Pages a threaded arena's memory may grow by to host guest arenas (64 MiB; a shared memory
 * reserves its maximum as address space, not as memory).
 */
const GUEST_PAGES = 1024;

/** The arena that owns each memory's buffers (every buffer object a view was made from). */
const ownerOfBuffer = new WeakMap<ArrayBufferLike, WasmArena>();

/**
 * The threaded arena whose shared memory `buffer` is (where a typed array's data lives), or
 * undefined for any other buffer.
 *
 * @example
 * const host = arenaHolding(tensorData.buffer); // a guest of `host` copies tensorData with memory.copy
 */
export function arenaHolding(buffer: ArrayBufferLike): WasmArena | undefined {
  return ownerOfBuffer.get(buffer);
}

/**
 * Whether a product with A (`m x k`) stored transposed should transpose A into scratch first rather
 * than read it through strides: A read down its columns misses the L1 cache once it outgrows it
 * (256x256x256 ran at 52 instead of 60 GFLOP/s), while the transpose costs 6.5 us at 256 x 256.
 */
export const transposesA = (m: number, k: number): boolean => m * k >= 8192;

/**
 * Whether a product packs B in panels of eight columns first (`packF32`). B stored transposed is
 * copied before the product either way, and packing costs what transposing did: packed from 16 x 16
 * (16x64x64: -7%). B stored as it is: where its rows are 512 bytes apart or more, so that a tile's
 * column panel falls into few L1 cache sets and evicts itself before the next row block reuses it,
 * and enough row blocks reuse each panel to pay for the copy (one thread, paired, the copy
 * included: 256x256x256 -16%, 128x256x256 -18%, 32x128x128 -14%, 256x23x256 -7%; 32x256x64 +1.5%,
 * 64x64x64 +3%, 8x64x64 +32%).
 */
export const packsB = (m: number, k: number, n: number, transposeB: boolean): boolean => m >= 16 && n >= 16 && (transposeB || (m >= 32 && n >= 128));

/** Bytes of B packed in panels (`packF32`): k rows of each eight-column panel, the last padded. */
export const packedBytes = (k: number, n: number): number => 4 * k * 8 * Math.ceil(n / 8);

const round16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * The arena layout of a batched float32 product run by `matmulBatchF32` (`WasmArena.matmulBlock`):
 * its parameter block, its operands' per-product offsets, and transpose scratch for `chunks` chunks
 * (A stored transposed is transposed into scratch when `transposesA`, else read through its
 * strides; B stored transposed always is). `bytes` from the block's address; `write` fills them
 * once the arena exists, with the operands' and result's addresses, and returns the block's words
 * (a caller reading an operand where it lies that call sets `MatmulBlock.a` / `.b` per call).
 *
 * @example
 * const layout = matmulBlockLayout(m, k, n, matmulBatchOffsets(aShape, bShape, batch), { transposeA: false, transposeB: true }, 1);
 * const words = layout.write(arena.buffer, at, { a, b, c });
 * arena.matmulBlock(at, layout.batch, layout.work);
 */
export function matmulBlockLayout(
  m: number,
  k: number,
  n: number,
  offsets: { readonly a: Int32Array; readonly b: Int32Array },
  { transposeA, transposeB }: { readonly transposeA: boolean; readonly transposeB: boolean },
  chunks: number,
) {
  const batch = offsets.a.length;
  const scratchA = transposeA && transposesA(m, k) ? round16(4 * m * k) : 0;
  const packB = packsB(m, k, n, transposeB) ? (transposeB ? PackB.fromTransposed : PackB.asStored) : PackB.no;
  const scratchB = packB !== PackB.no ? packedBytes(k, n) : transposeB ? round16(4 * k * n) : 0;
  const offsetsAt = round16(4 * MatmulBlock.words);
  const scratchAt = offsetsAt + 2 * round16(4 * batch);
  return {
    batch,
    /** Multiply-adds of all the products. */
    work: batch * m * k * n,
    bytes: scratchAt + chunks * (scratchA + scratchB),
    write(buffer: ArrayBuffer, at: number, operands: { readonly a: number; readonly b: number; readonly c: number }): Int32Array {
      const words = new Int32Array(buffer, at, MatmulBlock.words);
      new Int32Array(buffer, at + offsetsAt, batch).set(offsets.a);
      new Int32Array(buffer, at + offsetsAt + round16(4 * batch), batch).set(offsets.b);
      words[MatmulBlock.a] = operands.a;
      words[MatmulBlock.b] = operands.b;
      words[MatmulBlock.c] = operands.c;
      words[MatmulBlock.m] = m;
      words[MatmulBlock.k] = k;
      words[MatmulBlock.n] = n;
      words[MatmulBlock.offsetsA] = at + offsetsAt;
      words[MatmulBlock.offsetsB] = at + offsetsAt + round16(4 * batch);
      words[MatmulBlock.stridedA] = transposeA && !scratchA ? 1 : 0;
      words[MatmulBlock.scratchA] = scratchA ? at + scratchAt : 0;
      words[MatmulBlock.scratchB] = scratchB ? at + scratchAt + scratchA : 0;
      words[MatmulBlock.scratchStride] = scratchA + scratchB;
      words[MatmulBlock.packB] = packB;
      return words;
    },
  };
}

/** Frees the worker threads' instances of an arena once the arena itself is garbage. */
const releaseWhenCollected = new FinalizationRegistry<() => void>((release) => release());

/** Generated loops of a module, by name, over output bytes [start, end) (their addresses are baked in). */
export type GeneratedExports = Readonly<Record<string, (start: number, end: number) => void>>;

/**
 * A WebAssembly memory with the kernels instantiated over it, and any `generated` functions (jit
 * plans add their fused loops; those are compiled into a module of their own). Regions are reserved by `reserve`
 * (16-byte aligned) until `reset`; growing the memory replaces its `ArrayBuffer`, so views are made
 * fresh from `buffer` after any `reserve`.
 *
 * @example
 * const arena = new WasmArena();
 * const a = arena.reserve(4 * 6);
 * new Float32Array(arena.buffer, a, 6).set([1, 2, 3, 4, 5, 6]);
 */
export class WasmArena {
  readonly memory: WasmMemory;
  readonly kernels: MatmulExports & MatmulF64Exports & ReduceExports & CopyExports & ThreefryExports;
  readonly generated: GeneratedExports;
  /**
   * The float32 product: large ones split across worker threads when the arena was made `threaded`
   * (and threads are available), the others on this thread.
   */
  readonly matmulF32: MatmulExports['matmulF32'];
  /**
   * The generated loop `s<index>` over output bytes [0, bytes) as a call ready to run (its function
   * looked up once), across threads when `shared` (default: when large) and the arena is threaded.
   */
  readonly loop: (index: number, bytes: number, shared?: boolean) => () => void;
  /**
   * The float32 product (`matmulF32`'s arguments) followed by the generated loop `s<index>` over
   * output bytes [0, bytes), for a loop that reads the product's result elementwise (an epilogue:
   * bias and ReLU, a ReLU's mask). Split across threads like the product, each thread running the
   * loop over the rows it has just computed, while they are in its cache; results bit for bit those
   * of the product and the loop run one after the other.
   */
  readonly matmulThenLoop: (index: number, bytes: number) => MatmulExports['matmulF32'];
  /**
   * `out[i] = Σ_r x[r, i]` over a `reduced x inner` array of float32 (or `float64`) values
   * (`sumF32`'s order and rounding), its columns split across threads when the arena is threaded
   * and the array has at least THREADED_SUM_MIN elements.
   */
  readonly sumColumns: (float64: boolean, x: number, reduced: number, inner: number, out: number) => void;
  /**
   * `transposeF32` of a whole `rows x cols` float32 matrix at `src` into `dst` (a product's
   * operand stored transposed, copied before the product), its source rows split across threads
   * when the arena is threaded and the matrix has at least THREADED_TRANSPOSE_MIN elements.
   */
  readonly transpose: (src: number, rows: number, cols: number, dst: number) => void;
  /**
   * `packF32` of a `k x n` float32 matrix at `src` (stored as it is, or `transposed`) into panels at
   * `dst` (`packedBytes(k, n)`), its panels shared across threads when the arena is threaded and the
   * matrix has at least THREADED_TRANSPOSE_MIN elements.
   */
  readonly pack: (src: number, transposed: boolean, k: number, n: number, dst: number) => void;
  /**
   * Runs the batched product whose block is at `block` (`matmulBlockLayout`): `batch` products of
   * `work` multiply-adds in all, whole products shared across threads when the arena is threaded
   * and `work` is at least THREADED_MATMUL_MIN (the block then needs scratch for `batchChunks(batch)`
   * chunks).
   */
  readonly matmulBlock: (block: number, batch: number, work: number) => void;
  /** The threaded arena whose memory this one shares (itself, when it owns a shared memory). */
  readonly owner: WasmArena | null;
  private top = 0;
  /** The shared memory's maximum in bytes (0 for a plain memory, which grows without one). */
  private readonly maximumBytes: number;
  private lastBuffer: ArrayBuffer | null = null;

  /**
   * An arena of at least `bytes` with the fixed kernels and `generated` loops. `threaded`: a shared
   * memory that worker threads run large products and loops on (where threads are available).
   * `host`: a guest, whose regions are bytes [host.guestBase(), bytes) of the host's shared memory
   * (grown to hold them; see `canHost`), run on this thread only.
   */
  constructor(bytes = PAGE, generated: readonly FunctionDef[] = [], options: { threaded?: boolean; host?: WasmArena } = {}) {
    const pages = Math.max(1, Math.ceil((bytes + MATMUL_READ_SLACK) / PAGE));
    const host = options.host?.owner;
    const threaded = !host && options.threaded === true && matmulThreads() > 1;
    if (options.host && !host) throw new Error('WasmArena: a guest needs a host with a shared (threaded) memory');
    if (host) {
      this.memory = host.memory;
      const have = this.memory.buffer.byteLength / PAGE;
      if (pages > have) this.memory.grow(pages - have);
    } else {
      // A shared memory has a fixed maximum: room for its own regions and for guests'.
      this.memory = threaded ? new wasm.Memory({ initial: pages, maximum: pages + GUEST_PAGES, shared: true }) : new wasm.Memory({ initial: pages });
    }
    this.owner = host ?? (threaded ? this : null);
    this.maximumBytes = host ? host.maximumBytes : threaded ? (pages + GUEST_PAGES) * PAGE : 0;
    const shared = threaded || host !== undefined;
    const module =
      generated.length || shared ? new wasm.Module(wasmModule([...KERNELS.map((f) => f()), ...generated], { sharedMemory: shared })) : kernelModule();
    const exports = new wasm.Instance(module, { env: { memory: this.memory } }).exports;
    this.kernels = exports as unknown as MatmulExports & MatmulF64Exports & ReduceExports & CopyExports & ThreefryExports;
    this.generated = exports as unknown as GeneratedExports;
    this.matmulF32 = this.kernels.matmulF32;
    const loops = this.generated;
    this.loop = (index, bytes) => {
      const here = loops[`s${index}`];
      return () => here(0, bytes);
    };
    const productHere = this.kernels.matmulF32;
    this.matmulThenLoop = (index, bytes) => {
      const loopHere = loops[`s${index}`];
      return (a, ars, acs, b, brs, bps, c, m, k, n) => {
        productHere(a, ars, acs, b, brs, bps, c, m, k, n);
        loopHere(0, bytes);
      };
    };
    const { sumF32, sumF64 } = this.kernels;
    this.sumColumns = (float64, x, reduced, inner, out) => (float64 ? sumF64 : sumF32)(x, 1, reduced, inner, out, inner);
    const transposeF32 = this.kernels.transposeF32;
    this.transpose = (src, rows, cols, dst) => transposeF32(src, rows, cols, dst, rows);
    let packF32 = this.kernels.packF32;
    const batchHere = this.kernels.matmulBatchF32;
    this.matmulBlock = (block, batch) => batchHere(block, 0, batch, 0);
    if (threaded) {
      const { run, runThenLoop, sumColumns, batch: batchShared, lanes, transpose, pack, release } = threadedKernels(module, this.memory, exports);
      const transposeHere = this.transpose;
      this.transpose = (src, rows, cols, dst) => (rows * cols >= THREADED_TRANSPOSE_MIN ? transpose : transposeHere)(src, rows, cols, dst);
      const packHere = packF32;
      packF32 = (src, rs, cs, k, n, dst) => (k * n >= THREADED_TRANSPOSE_MIN ? pack : packHere)(src, rs, cs, k, n, dst);
      const sumHere = this.sumColumns;
      this.sumColumns = (float64, x, reduced, inner, out) => (reduced * inner >= THREADED_SUM_MIN ? sumColumns : sumHere)(float64, x, reduced, inner, out);
      this.matmulBlock = (block, batch, work) => (work >= THREADED_MATMUL_MIN ? batchShared(block, batch) : batchHere(block, 0, batch, 0));
      this.matmulF32 = (a, ars, acs, b, brs, bps, c, m, k, n) => (m * k * n >= THREADED_MATMUL_MIN ? run : productHere)(a, ars, acs, b, brs, bps, c, m, k, n);
      const thenLoopHere = this.matmulThenLoop;
      this.matmulThenLoop = (index, bytes) => {
        const [shared, here] = [runThenLoop(index, bytes), thenLoopHere(index, bytes)];
        return (a, ars, acs, b, brs, bps, c, m, k, n) => (m * k * n >= THREADED_MATMUL_MIN ? shared : here)(a, ars, acs, b, brs, bps, c, m, k, n);
      };
      const loopHere = this.loop;
      this.loop = (index, bytes, shared = bytes >= THREADED_LANES_MIN_BYTES) => (shared ? () => lanes(index, bytes) : loopHere(index, bytes));
      releaseWhenCollected.register(this, release);
    }
    // B's rows n apart and columns 1 as stored, 1 and k transposed.
    this.pack = (src, transposed, k, n, dst) => packF32(src, transposed ? 1 : n, transposed ? k : 1, k, n, dst);
  }

  /**
   * The float32 product `C = A B` of one pair of matrices at byte addresses `a`, `b`, C row-major at
   * `c`. A stored transposed (`transposeA`) is transposed into the `m x k` scratch region at
   * `transposedA` when one is given (see `transposesA`), else read through its strides. B goes
   * through the scratch region at `scratchB` when one is given: packed in panels there (`packsB`,
   * `packedBytes` of scratch) from its storage as it is or transposed, else (B stored transposed)
   * transposed there, since the kernel reads B by rows or panels. A column (`n` 1) times A stored
   * transposed runs as a row times A's storage, and needs no scratch for A. The transposes run
   * through `transpose` (shared across threads when large). `product` runs it (`matmulF32`, or
   * `matmulThenLoop`'s with an epilogue). Batches of products run in one kernel call, `matmulBlock`.
   *
   * @example
   * arena.matmulOne({ a: pa, b: pb, c: pc, transposedA: null, scratchB: null }, { m, k, n, transposeA: false, transposeB: false });
   */
  matmulOne(
    at: { readonly a: number; readonly b: number; readonly c: number; readonly transposedA: number | null; readonly scratchB: number | null },
    { m, k, n, transposeA, transposeB }: { readonly m: number; readonly k: number; readonly n: number; readonly transposeA: boolean; readonly transposeB: boolean },
    product: MatmulExports['matmulF32'] = this.matmulF32,
  ): void {
    let b = at.b;
    let brs = n;
    let bps = 8;
    if (at.scratchB !== null) {
      if (packsB(m, k, n, transposeB)) {
        this.pack(b, transposeB, k, n, at.scratchB);
        brs = 8;
        bps = 8 * k;
      } else {
        this.transpose(b, n, k, at.scratchB);
      }
      b = at.scratchB;
    }
    if (transposeA && n === 1) {
      // A stored [k, m] times a column: the row bᵀ (1 x k) times A's storage (k x m) in 1 x 16
      // tiles (4.4 us at k = m = 256, where 4 x 4 tiles over A read down its columns took 27),
      // each element the same products summed in the same order.
      product(b, k, 1, at.a, m, 8, at.c, 1, k, m);
      return;
    }
    const inPlace = transposeA && at.transposedA === null;
    let rowsA = at.a;
    if (transposeA && at.transposedA !== null) {
      this.transpose(rowsA, k, m, at.transposedA);
      rowsA = at.transposedA;
    }
    product(rowsA, inPlace ? 1 : k, inPlace ? m : 1, b, brs, bps, at.c, m, k, n);
  }

  /** The memory's current buffer (a new object after the memory grows; views made before stay valid only if it is shared). */
  get buffer(): ArrayBuffer {
    const buffer = this.memory.buffer;
    if (buffer !== this.lastBuffer) {
      this.lastBuffer = buffer;
      if (this.owner) ownerOfBuffer.set(buffer, this.owner);
    }
    return buffer;
  }

  /** Where a guest's regions start in this arena's shared memory: past everything it holds now. */
  guestBase(): number {
    return this.memory.buffer.byteLength;
  }

  /** Whether a guest whose regions end at byte `end` (from `guestBase`) fits in this arena's shared memory. */
  canHost(end: number): boolean {
    return this.owner !== null && end + MATMUL_READ_SLACK <= this.maximumBytes;
  }

  /** Reserves `bytes` and returns their offset, growing the memory if needed (kernels may read a few bytes past the last region). */
  reserve(bytes: number): number {
    const offset = this.top;
    this.top = offset + Math.ceil(bytes / 16) * 16;
    const have = this.memory.buffer.byteLength;
    if (this.top + MATMUL_READ_SLACK > have) this.memory.grow(Math.ceil((this.top + MATMUL_READ_SLACK - have) / PAGE));
    return offset;
  }

  /** Frees every region. */
  reset(): void {
    this.top = 0;
  }
}
