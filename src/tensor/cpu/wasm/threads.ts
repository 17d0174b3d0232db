/**
 * Worker threads that share float32 products and large fused loops with the main thread, on a
 * shared WebAssembly memory. Each worker instantiates a plan's module over the plan's memory once;
 * a product (a loop) is then posted through a small shared control block (Atomics), with no message
 * per product, as a number of chunks (row blocks, byte ranges) that every thread, the main one
 * included, claims one at a time until none is left, those of its own range first (the same rows
 * of every product, still in its cache). A thread that is slow to wake or descheduled (a busy
 * machine) therefore costs at most the chunk it holds: the others take the rest. Every
 * element is computed by the same kernel as on one thread (tiles do not change an element's value),
 * so the split changes no bit of the result.
 *
 * The number of threads is `setCpuThreads`'s, or `MIXRL_THREADS` (default: the available cores, at
 * most 4); 1 turns them off.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { ArgumentError } from '../../errors';

/**
 * Control block words (one block shared by all workers). Work commands (a product, a loop) are
 * shared out by chunks and need no worker; set-up commands (instantiate, forget) are run by every
 * worker, which acknowledges each. Each kind has its own words, so a worker that reads a work
 * command late can never mistake it for a set-up command or the reverse.
 */
const SEQ = 0; // bumped by the main thread per command of either kind (what workers wait on)
const CMD = 1; // work: 2 matmul, 3 batched matmul, 4 a generated loop, 5 matmul then a loop over its rows, 6 a sum by columns, 7 a transpose, 8 packing B in panels
const ID = 2; // work: the instance (arena) id
const CHUNKS = 3; // work: its chunks
const COMPLETED = 4; // work: chunks finished
const FAILED = 5; // set when a command threw
const ARGS = 6; // work: matmul arguments (10 words) and a loop's index and byte count, or a loop's alone
const ARG_WORDS = 12;
const SETUP_SEQ = ARGS + ARG_WORDS; // set-up: bumped per command
const SETUP_CMD = SETUP_SEQ + 1; // set-up: 1 instantiate (module and memory arrive on the port), 3 forget an instance
const SETUP_ID = SETUP_SEQ + 2; // set-up: the instance id
const DONE = SETUP_SEQ + 3; // DONE + w: worker w stores SETUP_SEQ when it has run that set-up command
const MAX_WORKERS = 16;
// Work: per thread t (0 the main one, w + 1 worker w), (its SEQ & 0xffffff) << 8 | the next
// unclaimed chunk of its own range of chunks (`openClaims`), which it claims before any other's.
const CLAIMS = DONE + MAX_WORKERS;
const THREADS = CLAIMS + MAX_WORKERS + 1; // how many threads share the work, the main one included
const WORDS = THREADS + 2; // the last word stays 0 (a worker's short sleeps wait on it)
const TIMEOUT_MS = 60_000;
/**
 * How long a worker polls for the next command before it sleeps, and the main thread for the last
 * chunk before it sleeps: a sleeping thread takes tens of microseconds to wake (a 256x23x256
 * product took 80 us threaded against 54 us on one thread), and a SAC update's products come
 * within a few tens of microseconds of each other. OpenMP and OpenBLAS threads poll likewise. Kept
 * short: on a busy machine a polling thread takes a core from one that has work (1 ms of polling
 * made a SAC update twice as slow as one thread while other processes ran).
 */
const WORKER_SPIN_MS = 0.2;
const SPIN_MS = 0.05;
/** Chunks per thread: small enough that a late thread leaves little to wait for. */
const CHUNKS_PER_THREAD = 4;

/**
 * The chunk bounds both sides compute: chunk c of `chunks` covers units [bound(c), bound(c + 1)),
 * rows of 4 for products (`4 * bound`, capped at m) and 16-byte vectors for loops.
 */
const BOUND_SOURCE = '(units, c, chunks) => Math.round((units * c) / chunks)';

/** Runs chunk c of the posted command with kernels `k` (shared by workers and the main thread). */
const RUN_CHUNK_SOURCE = `(k, a, c, chunks, cmd) => {
  // The first row chunk 'at' covers of 'rows' rows shared out in fours.
  const rowBound = (rows, at) => Math.min(rows, 4 * bound(Math.ceil(rows / 4), at, chunks));
  if (cmd === 2 || cmd === 5) {
    const m = a[7], r0 = rowBound(m, c), r1 = rowBound(m, c + 1);
    if (r1 > r0) k.matmulF32(a[0] + 4 * r0 * a[1], a[1], a[2], a[3], a[4], a[5], a[6] + 4 * r0 * a[9], r1 - r0, a[8], a[9]);
    // The loop over the result rows just computed (16-byte aligned: rows come in fours), to its last byte.
    if (cmd === 5 && r1 > r0) k['s' + a[10]](4 * r0 * a[9], r1 === m ? a[11] : 4 * r1 * a[9]);
  } else if (cmd === 6) {
    // Columns [i0, i1) of a sum over rows (a[0]: float64), rows a[3] elements apart.
    const bytes = a[0] ? 8 : 4, i0 = bound(a[3], c, chunks), i1 = bound(a[3], c + 1, chunks);
    if (i1 > i0) k[a[0] ? 'sumF64' : 'sumF32'](a[1] + bytes * i0, 1, a[2], i1 - i0, a[4] + bytes * i0, a[3]);
  } else if (cmd === 3) {
    const t0 = bound(a[1], c, chunks), t1 = bound(a[1], c + 1, chunks);
    if (t1 > t0) k.matmulBatchF32(a[0], t0, t1, c);
  } else if (cmd === 7) {
    // Source rows [r0, r1) (in fours) of a[1] x a[2] at a[0], into their columns of the transpose at a[3].
    const rows = a[1], cols = a[2], r0 = rowBound(rows, c), r1 = rowBound(rows, c + 1);
    if (r1 > r0) k.transposeF32(a[0] + 4 * r0 * cols, r1 - r0, cols, a[3] + 4 * r0, rows);
  } else if (cmd === 8) {
    // Panels [q0, q1) of packF32(src a[0], rs a[1], cs a[2], k a[3], n a[4], dst a[5]): columns from 8 q0.
    const panels = Math.ceil(a[4] / 8), q0 = bound(panels, c, chunks), q1 = bound(panels, c + 1, chunks);
    if (q1 > q0) k.packF32(a[0] + 32 * q0 * a[2], a[1], a[2], a[3], Math.min(a[4], 8 * q1) - 8 * q0, a[5] + 32 * q0 * a[3]);
  } else {
    const vectors = a[1] / 16;
    const b0 = 16 * bound(vectors, c, chunks), b1 = 16 * bound(vectors, c + 1, chunks);
    if (b1 > b0) k['s' + a[0]](b0, b1);
  }
}`;

/**
 * Claims and runs chunks of command `seq` until none is left (or another command is current): thread
 * `me` first the chunks of its own range, then those left in the others' (a late or descheduled
 * thread's). Each thread starting with the same range of every command (the same rows of products
 * of one height, the same bytes of their loops) finds the rows it computed last in its own cache.
 */
const WORK_SOURCE = `(ctrl, seq, me, run) => {
  const chunks = Atomics.load(ctrl, ${CHUNKS});
  const threads = ctrl[${THREADS}];
  const tag = (seq & 0xffffff) << 8;
  for (let k = 0; k < threads; k++) {
    const t = (me + k) % threads;
    const end = bound(chunks, t + 1, threads);
    for (;;) {
      const claim = Atomics.load(ctrl, ${CLAIMS} + t);
      if ((claim & ~255) !== tag) return;
      if ((claim & 255) >= end) break;
      if (Atomics.compareExchange(ctrl, ${CLAIMS} + t, claim, claim + 1) !== claim) continue;
      try {
        run(claim & 255, chunks);
      } catch (e) {
        Atomics.store(ctrl, ${FAILED}, 1);
      }
      if (Atomics.add(ctrl, ${COMPLETED}, 1) + 1 === chunks) Atomics.notify(ctrl, ${COMPLETED});
    }
  }
}`;

const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const bound = ${BOUND_SOURCE};
const runChunk = ${RUN_CHUNK_SOURCE};
const work = ${WORK_SOURCE};
const ctrl = new Int32Array(workerData.control);
const port = workerData.port;
const me = workerData.index;
const instances = new Map();
let seen = 0;
let setUp = 0;
for (;;) {
  const until = performance.now() + ${WORKER_SPIN_MS};
  while (Atomics.load(ctrl, ${SEQ}) === seen && performance.now() < until);
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  const setUpSeq = Atomics.load(ctrl, ${SETUP_SEQ});
  if (setUpSeq !== setUp) {
    try {
      if (ctrl[${SETUP_CMD}] === 1) {
        let msg;
        while (!(msg = receiveMessageOnPort(port))) Atomics.wait(ctrl, ${WORDS - 1}, 0, 1);
        const { id, module, memory } = msg.message;
        instances.set(id, new WebAssembly.Instance(module, { env: { memory } }).exports);
      } else {
        instances.delete(ctrl[${SETUP_ID}]);
      }
    } catch (e) {
      Atomics.store(ctrl, ${FAILED}, 1);
    }
    setUp = setUpSeq;
    Atomics.store(ctrl, ${DONE} + me, setUp);
    Atomics.notify(ctrl, ${DONE} + me);
    continue;
  }
  // Read before claiming: a claim succeeds only while command 'seen' is current, so these are its.
  const cmd = ctrl[${CMD}];
  const kernels = instances.get(ctrl[${ID}]);
  const args = ctrl.slice(${ARGS}, ${ARGS + ARG_WORDS});
  work(ctrl, seen, me + 1, (c, chunks) => runChunk(kernels, args, c, chunks, cmd));
}
`;

/** The main thread's copies of the functions the workers evaluate from the sources above. */
const bound = new Function(`return ${BOUND_SOURCE};`)() as (units: number, c: number, chunks: number) => number;
const runChunk = new Function('bound', `return ${RUN_CHUNK_SOURCE};`)(bound) as (
  kernels: object,
  args: ArrayLike<number>,
  c: number,
  chunks: number,
  cmd: number,
) => void;
const work = new Function('bound', `return ${WORK_SOURCE};`)(bound) as (
  ctrl: Int32Array,
  seq: number,
  me: number,
  run: (c: number, chunks: number) => void,
) => void;

/** Opens command `seq`'s `chunks` to claims: each thread's claim word at the first chunk of its range. */
function openClaims(ctrl: Int32Array, seq: number, chunks: number): void {
  const threads = ctrl[THREADS];
  for (let t = 0; t < threads; t++) Atomics.store(ctrl, CLAIMS + t, (seq << 8) | bound(chunks, t, threads));
}

/**
 * Writes work command `seq` into the control block, its chunks closed to claims (`openClaims` opens
 * them). The claim words are closed first, tagged `seq` and past any range: a worker still in the
 * previous command's `work`, late enough to read this command's chunk count, would otherwise find
 * the previous command's exhausted claim words below that count and claim a chunk past the
 * previous command's end, running it with either command's arguments and counting it into either
 * command's completions. A SAC-v2 loop beside two PyTorch processes hung once that way (the main
 * thread waiting for a count already passed); an update writing in place could have run a chunk twice.
 */
function writeCommand(ctrl: Int32Array, seq: number, cmd: number, id: number, args: readonly number[], chunks: number): void {
  const threads = ctrl[THREADS];
  for (let t = 0; t < threads; t++) Atomics.store(ctrl, CLAIMS + t, (seq << 8) | 255);
  ctrl[CMD] = cmd;
  ctrl[ID] = id;
  for (let i = 0; i < args.length; i++) ctrl[ARGS + i] = args[i];
  // Atomic, as `work` reads it: a worker that sees this count sees the claim words closed.
  Atomics.store(ctrl, CHUNKS, chunks);
  ctrl[FAILED] = 0;
  Atomics.store(ctrl, COMPLETED, 0);
}

/**
 * The chunks thread `me` of `threads` claims, in order, of a command of `chunks` chunks when the
 * others claim none (what `work` does on the threads' shared control block).
 *
 * @example
 * claimOrder(8, 2, 1); // [4, 5, 6, 7, 0, 1, 2, 3]: its own range, then the main thread's
 */
export function claimOrder(chunks: number, threads: number, me: number): number[] {
  const ctrl = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  ctrl[THREADS] = threads;
  writeCommand(ctrl, 1, 2, 0, [], chunks);
  openClaims(ctrl, 1, chunks);
  const order: number[] = [];
  work(ctrl, 1, me, (c) => order.push(c));
  return order;
}

/**
 * The chunks a worker still on command 1 (of `before` chunks, all claimed) claims once the main
 * thread has written command 2 (of `after` chunks) and not yet opened it: none, since
 * `writeCommand` closes the claim words before it writes the new chunk count.
 *
 * @example
 * staleClaims(2, 8, 2, 1); // []
 */
export function staleClaims(before: number, after: number, threads: number, me: number): number[] {
  const ctrl = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  ctrl[THREADS] = threads;
  writeCommand(ctrl, 1, 2, 0, [], before);
  openClaims(ctrl, 1, before);
  work(ctrl, 1, 0, () => {});
  writeCommand(ctrl, 2, 2, 0, [], after);
  const claimed: number[] = [];
  work(ctrl, 1, me, (c) => claimed.push(c));
  return claimed;
}

interface Pool {
  readonly workers: { readonly worker: Worker; readonly port: MessagePort }[];
  readonly ctrl: Int32Array;
  seq: number;
  setUp: number;
}

let shared: Pool | null = null;
let nextId = 1;
/** The thread count `setCpuThreads` asked for, if it was called. */
let requested: number | undefined;

/**
 * Sets how many threads (the main one included) CPU plans share their large products and loops
 * with, in place of `MIXRL_THREADS` (default: the available cores, at most 4). Call it before the
 * first jitted CPU call that shares work: the workers start then, and their number stays. 1 turns
 * them off, which is what runs side by side want: as many trainings as cores, each with workers,
 * ran a SAC-v2 update in 31 ms against 19-23 ms each on one thread (14 ms alone with two threads).
 * Results are the same bits whatever the count.
 *
 * @example
 * setCpuThreads(1); // this process's plans run on the main thread only
 */
export function setCpuThreads(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS + 1) {
    throw new ArgumentError(`setCpuThreads: the thread count must be a whole number from 1 to ${MAX_WORKERS + 1}, got ${count}`);
  }
  const started = shared ? shared.workers.length + 1 : undefined;
  if (started !== undefined && started !== count) {
    throw new ArgumentError(`setCpuThreads(${count}): the worker threads have started, ${started} in all; set the count before the first jitted CPU call that shares work`);
  }
  requested = count;
}

/**
 * The threads `MIXRL_THREADS` asks for (`env`, its value), or `cores` up to 4 when it is unset or
 * empty; at most 17 (16 workers).
 *
 * @example
 * threadsFromEnv(undefined, 2); // 2
 * threadsFromEnv('1', 8); // 1
 * threadsFromEnv('two', 8); // throws ArgumentError: MIXRL_THREADS: 'two' is not a whole number of threads (1 or more)
 */
export function threadsFromEnv(env: string | undefined, cores: number): number {
  if (env === undefined || env.trim() === '') return Math.min(cores, 4);
  const count = Number(env);
  if (!Number.isInteger(count) || count < 1) throw new ArgumentError(`MIXRL_THREADS: '${env}' is not a whole number of threads (1 or more)`);
  return Math.min(MAX_WORKERS + 1, count);
}

/** The worker threads besides the main one (none when threads are off or unavailable). */
function pool(): Pool {
  if (shared) return shared;
  const wanted = requested ?? threadsFromEnv(process.env.MIXRL_THREADS, availableParallelism());
  const control = new SharedArrayBuffer(WORDS * 4);
  shared = { workers: [], ctrl: new Int32Array(control), seq: 0, setUp: 0 };
  for (let t = 1; t < wanted; t++) {
    try {
      const { port1, port2 } = new MessageChannel();
      const index = shared.workers.length;
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { control, port: port2, index }, transferList: [port2] });
      worker.unref();
      port1.unref();
      shared.workers.push({ worker, port: port1 });
    } catch {
      break; // no worker threads here: the products run on the main thread
    }
  }
  shared.ctrl[THREADS] = shared.workers.length + 1;
  return shared;
}

/** Wakes the workers for the command just written. */
function wake(p: Pool): number {
  p.seq = (p.seq + 1) & 0xffffff;
  Atomics.store(p.ctrl, SEQ, p.seq);
  Atomics.notify(p.ctrl, SEQ);
  return p.seq;
}

/** Waits until `ctrl[index]` is `value` (polling first, then sleeping). */
function waitFor(ctrl: Int32Array, index: number, value: number): void {
  const until = performance.now() + SPIN_MS;
  while (Atomics.load(ctrl, index) !== value && performance.now() < until);
  const start = Date.now();
  for (let now = Atomics.load(ctrl, index); now !== value; now = Atomics.load(ctrl, index)) {
    Atomics.wait(ctrl, index, now, 1000);
    if (Date.now() - start > TIMEOUT_MS) throw new Error('mixrl: a worker thread did not answer within 60 s');
  }
}

/** Posts a set-up command (instantiate, forget) and waits for every worker to run it. */
function everyWorker(p: Pool, cmd: number, id: number): void {
  const { ctrl } = p;
  ctrl[SETUP_CMD] = cmd;
  ctrl[SETUP_ID] = id;
  ctrl[FAILED] = 0;
  p.setUp = (p.setUp + 1) | 0;
  Atomics.store(ctrl, SETUP_SEQ, p.setUp);
  wake(p);
  p.workers.forEach((_, w) => waitFor(ctrl, DONE + w, p.setUp));
  if (ctrl[FAILED]) throw new Error('mixrl: a worker thread could not instantiate a kernel module');
}

/** Posts a work command in chunks, works on it with the workers, and waits for its last chunk. */
function share(p: Pool, cmd: number, id: number, args: readonly number[], chunks: number, kernels: object): void {
  const { ctrl } = p;
  const seq = (p.seq + 1) & 0xffffff;
  writeCommand(ctrl, seq, cmd, id, args, chunks);
  openClaims(ctrl, seq, chunks);
  wake(p);
  work(ctrl, seq, 0, (c, n) => runChunk(kernels, args, c, n, cmd));
  waitFor(ctrl, COMPLETED, chunks);
  if (ctrl[FAILED]) throw new Error('mixrl: a worker thread failed');
}

/**
 * Products at least this large (m·k·n) are split across threads; below it the handover costs more
 * than it saves, and a plan with no larger step leaves the workers asleep. At 1 << 18 the classic
 * SGM-MRP update's four 160 x 64 x 64 products (655,360) were split: the update took no less time
 * (paired, 101 rounds: within ±0.01 ms), while a worker polling after each of them kept the second
 * core busy, so two training runs side by side (the usual way to run seeds) ran at 950-975 steps/s
 * each against 1350-1520 with these products on one thread (2026-11-29, this 2-core host). The
 * SAC-v2 update's narrow products (256 x 256 x 12 and 256 x 12 x 256, 786,432) stay on one thread
 * too: split, they took 20 instead of 36 us (hot, 2026-11-28), about 0.1 ms of a 13 ms update.
 * A matrix times a column (256 x 256 x 1) reads 256 KiB for little arithmetic and ran slower split
 * (13 against 9 us).
 */
export const THREADED_MATMUL_MIN = 1 << 20;

/** Fused loops over at least this many bytes of output are split across threads (smaller ones finish
 * before the handover pays: 64 KiB loops take a few microseconds). */
export const THREADED_LANES_MIN_BYTES = 1 << 17;

/**
 * Fused loops evaluating at least this many float32 transcendentals (elements times transcendental
 * members) are split across threads however small their output: a SAC-v2 policy's sampling loop,
 * 1536 elements through exp, erfinv and tanh, took 42 us on one thread.
 */
export const THREADED_TRANSCENDENTALS_MIN = 4096;

/** Sums over the rows of at least this many elements are split across threads by columns. */
export const THREADED_SUM_MIN = 1 << 16;

/**
 * Transposes of at least this many elements (a product's operand stored transposed, copied into
 * scratch before it) are split across threads by bands of source rows: a SAC-v2 SG-RP update's
 * twelve (eight of 256 x 256) took ~0.35 ms on the main thread alone while the other
 * threads waited (39 us for a 256 x 256 one whose source was out of cache, 9 us in it).
 */
export const THREADED_TRANSPOSE_MIN = 1 << 14;

/** How many threads (the main one included) products can use. */
export const matmulThreads = (): number => pool().workers.length + 1;

/** The chunks a batched product of `batch` matrices is shared out in (each runs whole products, with its own transpose scratch). */
export const batchChunks = (batch: number): number => Math.min(batch, CHUNKS_PER_THREAD * matmulThreads());

/** The kernels' matmul signature. */
type MatmulF32 = (a: number, ars: number, acs: number, b: number, brs: number, bps: number, c: number, m: number, k: number, n: number) => void;

/**
 * Kernels over a shared memory split across the worker threads, which instantiate `module` over
 * `memory` now. `run` is one float32 product (the kernel's `matmulF32` arguments), its row blocks
 * shared out; `runThenLoop(index, bytes)` such a product followed by the generated loop `s<index>`
 * over the result's bytes [0, bytes), each thread running the loop over the rows it has just
 * computed (still in its cache); `sumColumns` a sum over the rows of a `reduced x inner` array
 * (float32 or float64), its columns shared out; `batch` the `count` products of a batched product's block (`matmulBatchF32`), whole
 * products shared out in `batchChunks(count)` chunks; `lanes` runs the generated loop `s<index>`
 * over output bytes [0, bytes) in 16-byte-aligned ranges. `kernels` are this thread's instance's
 * exports. `transpose` is `transposeF32` of a whole matrix, its source rows shared out in bands;
 * `pack` is `packF32`, its panels shared out.
 * `release` frees the workers' instances.
 *
 * @example
 * const threaded = threadedKernels(module, memory, exports);
 * threaded.run(a, k, 1, b, n, 8, c, m, k, n);
 * threaded.runThenLoop(3, 4 * m * n)(a, k, 1, b, n, 8, c, m, k, n); // then s3 over C's rows
 * threaded.batch(block, 100);
 * threaded.lanes(3, 1 << 20);
 * threaded.transpose(a, 256, 256, scratch);
 * threaded.pack(b, 256, 1, 256, 256, panels);
 */
export function threadedKernels(
  module: object,
  memory: object,
  kernels: object,
): {
  run: MatmulF32;
  runThenLoop(index: number, bytes: number): MatmulF32;
  sumColumns(float64: boolean, x: number, reduced: number, inner: number, out: number): void;
  batch(block: number, count: number): void;
  lanes(index: number, bytes: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  pack(src: number, rs: number, cs: number, k: number, n: number, dst: number): void;
  release(): void;
} {
  const p = pool();
  const id = nextId++;
  for (const { port } of p.workers) port.postMessage({ id, module, memory });
  everyWorker(p, 1, id);
  const threads = p.workers.length + 1;
  /** Chunks for `count` rows or columns shared out at least four at a time. */
  const inFours = (count: number) => Math.min(Math.ceil(count / 4), CHUNKS_PER_THREAD * threads);
  return {
    run(a, ars, acs, b, brs, bps, c, m, k, n) {
      share(p, 2, id, [a, ars, acs, b, brs, bps, c, m, k, n], inFours(m), kernels);
    },
    runThenLoop(index, bytes) {
      return (a, ars, acs, b, brs, bps, c, m, k, n) => share(p, 5, id, [a, ars, acs, b, brs, bps, c, m, k, n, index, bytes], inFours(m), kernels);
    },
    sumColumns(float64, x, reduced, inner, out) {
      share(p, 6, id, [float64 ? 1 : 0, x, reduced, inner, out], inFours(inner), kernels);
    },
    batch(block, count) {
      share(p, 3, id, [block, count], batchChunks(count), kernels);
    },
    lanes(index, bytes) {
      share(p, 4, id, [index, bytes], Math.min(bytes / 16, CHUNKS_PER_THREAD * threads), kernels);
    },
    transpose(src, rows, cols, dst) {
      share(p, 7, id, [src, rows, cols, dst], inFours(rows), kernels);
    },
    pack(src, rs, cs, k, n, dst) {
      share(p, 8, id, [src, rs, cs, k, n, dst], Math.min(Math.ceil(n / 8), CHUNKS_PER_THREAD * threads), kernels);
    },
    release() {
      everyWorker(p, 3, id);
    },
  };
}
