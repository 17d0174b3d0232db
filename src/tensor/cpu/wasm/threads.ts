/**
 * Worker threads that run float32 matrix products and large fused loops on a shared WebAssembly
 * memory, so a large product is split by rows (a loop by ranges) across cores. Each worker instantiates a plan's module over the plan's (shared)
 * memory once; a product is then handed over through a small shared control block (Atomics), with
 * no message per product. Every element is computed by the same kernel as on one thread (tiles do
 * not change an element's value), so the split changes no bit of the result.
 *
 * The number of threads is `MIXRL_THREADS` (default: the available cores, at most 4); 1 turns them off.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';

/** Control block words. */
const SEQ = 0; // bumped by the main thread per command
const DONE = 1; // the worker stores the command's SEQ when finished
const CMD = 2; // 1: instantiate (module and memory arrive on the port), 2: matmul, 3: forget an instance, 4: a generated loop over a range
const ID = 3; // the instance (arena) id
const ARGS = 4; // matmul arguments, 9 words
const FAILED = 13; // set when the command threw
const WORDS = 16;
const TIMEOUT_MS = 60_000;
/**
 * How long a worker polls for the next command before it sleeps, and the main thread for a result
 * before it sleeps: a sleeping thread takes tens of microseconds to wake (a 256x23x256 product took
 * 80 us threaded against 54 us on one thread), and a SAC update's products come well within 1 ms of
 * each other. Polling is what OpenMP and OpenBLAS threads do too.
 */
const SPIN_MS = 1;

const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const ctrl = new Int32Array(workerData.control);
const port = workerData.port;
const instances = new Map();
let seen = 0;
for (;;) {
  const until = performance.now() + ${SPIN_MS};
  while (Atomics.load(ctrl, ${SEQ}) === seen && performance.now() < until) for (let i = 0; i < 64; i++);
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  try {
    const cmd = ctrl[${CMD}];
    if (cmd === 1) {
      let msg;
      while (!(msg = receiveMessageOnPort(port))) Atomics.wait(ctrl, ${WORDS - 1}, 0, 1);
      const { id, module, memory } = msg.message;
      instances.set(id, new WebAssembly.Instance(module, { env: { memory } }).exports);
    } else if (cmd === 2) {
      const a = ctrl.subarray(${ARGS}, ${ARGS + 9});
      instances.get(ctrl[${ID}]).matmulF32(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
    } else if (cmd === 3) {
      instances.delete(ctrl[${ID}]);
    } else if (cmd === 4) {
      instances.get(ctrl[${ID}])['s' + ctrl[${ARGS}]](ctrl[${ARGS + 1}], ctrl[${ARGS + 2}]);
    }
  } catch (e) {
    ctrl[${FAILED}] = 1;
  }
  Atomics.store(ctrl, ${DONE}, seen);
  Atomics.notify(ctrl, ${DONE});
}
`;

interface Helper {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly ctrl: Int32Array;
  seq: number;
}

let helpers: Helper[] | null = null;
let nextId = 1;

/** Worker threads besides the main one (0 when threads are off or unavailable). */
function pool(): Helper[] {
  if (helpers) return helpers;
  const wanted = Number(process.env.MIXRL_THREADS ?? Math.min(availableParallelism(), 4));
  helpers = [];
  for (let t = 1; t < wanted; t++) {
    try {
      const control = new SharedArrayBuffer(WORDS * 4);
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { control, port: port2 }, transferList: [port2] });
      worker.unref();
      port1.unref();
      helpers.push({ worker, port: port1, ctrl: new Int32Array(control), seq: 0 });
    } catch {
      break; // no worker threads here: the products run on the main thread
    }
  }
  return helpers;
}

function send(helper: Helper, cmd: number, id: number, args: readonly number[] = []): void {
  const { ctrl } = helper;
  ctrl[CMD] = cmd;
  ctrl[ID] = id;
  for (let i = 0; i < args.length; i++) ctrl[ARGS + i] = args[i];
  ctrl[FAILED] = 0;
  helper.seq = (helper.seq + 1) | 0;
  Atomics.store(ctrl, SEQ, helper.seq);
  Atomics.notify(ctrl, SEQ);
}

function wait(helper: Helper): void {
  const { ctrl } = helper;
  const until = performance.now() + SPIN_MS;
  while (Atomics.load(ctrl, DONE) !== helper.seq && performance.now() < until);
  const start = Date.now();
  for (let done = Atomics.load(ctrl, DONE); done !== helper.seq; done = Atomics.load(ctrl, DONE)) {
    Atomics.wait(ctrl, DONE, done, 1000);
    if (Date.now() - start > TIMEOUT_MS) throw new Error('mixrl: a matmul worker thread did not answer within 60 s');
  }
  if (ctrl[FAILED]) throw new Error('mixrl: a matmul worker thread failed');
}

/** Products at least this large (m·k·n) are split across threads; below it the handover costs more. */
export const THREADED_MATMUL_MIN = 1 << 20;

/** Fused loops over at least this many bytes of output are split across threads (smaller ones finish
 * before the handover pays: 64 KiB loops take a few microseconds). */
export const THREADED_LANES_MIN_BYTES = 1 << 17;

/** How many threads (the main one included) products can use. */
export const matmulThreads = (): number => pool().length + 1;

/** The kernels' matmul signature. */
type MatmulF32 = (a: number, ars: number, acs: number, b: number, brs: number, c: number, m: number, k: number, n: number) => void;

/** A generated fused loop over output bytes [start, end). */
type RangeLoop = (start: number, end: number) => void;

/**
 * Kernels over a shared memory split across the worker threads, which instantiate `module` over
 * `memory` now. `run` is one float32 product (the kernel's `matmulF32` arguments), its rows dealt
 * out, the main thread taking the first. `lanes` runs the generated loop `s<index>` over output
 * bytes [0, bytes) cut into 16-byte-aligned ranges. `release` frees the workers' instances.
 *
 * @example
 * const threaded = threadedKernels(module, memory, kernels.matmulF32);
 * threaded.run(a, k, 1, b, n, c, m, k, n);
 * threaded.lanes(3, generated.s3, 1 << 20);
 */
export function threadedKernels(
  module: object,
  memory: object,
  local: MatmulF32,
): { run: MatmulF32; lanes(index: number, loop: RangeLoop, bytes: number): void; release(): void } {
  const workers = pool();
  const id = nextId++;
  for (const helper of workers) {
    helper.port.postMessage({ id, module, memory });
    send(helper, 1, id);
  }
  for (const helper of workers) wait(helper);
  const parts = workers.length + 1;
  return {
    run(a, ars, acs, b, brs, c, m, k, n) {
      // Row blocks of 4 (the kernel's tile height), dealt out evenly; the main thread takes the first.
      const blocks = Math.ceil(m / 4);
      const rowsOf = (t: number) => Math.min(m, 4 * Math.round((blocks * t) / parts));
      for (let t = 1; t < parts; t++) {
        const [r0, r1] = [rowsOf(t), rowsOf(t + 1)];
        if (r1 > r0) send(workers[t - 1], 2, id, [a + 4 * r0 * ars, ars, acs, b, brs, c + 4 * r0 * n, r1 - r0, k, n]);
      }
      local(a, ars, acs, b, brs, c, rowsOf(1), k, n);
      for (let t = 1; t < parts; t++) if (rowsOf(t + 1) > rowsOf(t)) wait(workers[t - 1]);
    },
    lanes(index, loop, bytes) {
      const vectors = bytes / 16;
      const at = (t: number) => 16 * Math.round((vectors * t) / parts);
      for (let t = 1; t < parts; t++) if (at(t + 1) > at(t)) send(workers[t - 1], 4, id, [index, at(t), at(t + 1)]);
      loop(0, at(1));
      for (let t = 1; t < parts; t++) if (at(t + 1) > at(t)) wait(workers[t - 1]);
    },
    release() {
      for (const helper of workers) send(helper, 3, id);
      for (const helper of workers) wait(helper);
    },
  };
}
