/**
 * Pacing Dawn's event polling. Dawn's node bindings learn that GPU work has finished by ticking the
 * device: while any of its promises is pending (a readback, `onSubmittedWorkDone`, an error scope)
 * they pass a new native function to the global `setImmediate`, every event-loop turn. A loop that
 * waits for the GPU thus spins: on lavapipe 0.5 s of waiting made 126k such calls, and a steady
 * jitted SAC loop spent 1.1 ms per update in the ticks and 1.9 ms collecting their garbage.
 *
 * Under the `'paced'` policy the ticks that mixrl's own calls into Dawn start (`from`), and the ones
 * those ticks queue in turn, run at most every `PACE_MS` on a timer, except while a readback or a
 * full `settle` waits for them (`urgently`: every turn, as Dawn does, but at most one tick per
 * `URGENT_GAP_MS`, the thread sleeping in between), and once at the start of a
 * bounded `settle` (`nudge`: the next turn), so work already done is seen at once. Other code's
 * use of `setImmediate` (and Dawn's ticks that other code starts) passes through untouched.
 */

/** How Dawn's polling turns run: `'paced'` (see above) or `'every-turn'` (Dawn's own). */
export type DawnTicks = 'paced' | 'every-turn';

/** Milliseconds between paced ticks. */
const PACE_MS = 1;
/**
 * Milliseconds between urgent ticks: the thread sleeps the rest of it (`Atomics.wait`) before the
 * next. Every turn, a lavapipe readback wait ticked 100-190 times per millisecond, each tick leaving
 * about 1.5 KB of garbage (Dawn's new function, an Immediate) that outlives scavenges.
 */
const URGENT_GAP_MS = 0.05;
/** What `Atomics.wait` sleeps on (nobody notifies it: each wait runs to its timeout). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** What a backend's calls into Dawn go through: a pacer, or a pass-through for `'every-turn'`. */
export interface TickPacer {
  /** Runs `call`, a Dawn method that may start polling, so that the polling it starts is paced. */
  from<T>(call: () => T): T;
  /** Awaits `promise`, ticking every turn (at most every `URGENT_GAP_MS`) until it settles: someone waits on the GPU now. */
  urgently<T>(promise: Promise<T>): Promise<T>;
  /** Runs the ticks held for the pace in the next turn instead. */
  nudge(): void;
}

const passThrough: TickPacer = {
  from: (call) => call(),
  urgently: (promise) => promise,
  nudge: () => {},
};

/** `setImmediate` as it was before the pacer took its place. */
let immediate: typeof setImmediate | undefined;
/** Above zero inside `from` or inside a held tick: a native callback then given to `setImmediate` is Dawn's. */
let depth = 0;
/** Dawn's tick callbacks waiting for their turn (and the array they are moved to while they run). */
let held: (() => void)[] = [];
let running: (() => void)[] = [];
/** When the held ticks last ran (`performance.now()`). */
let lastRun = -Infinity;
let timer: ReturnType<typeof setTimeout> | undefined;
/** Whether the held ticks are queued for the next turn. */
let soon = false;
/** Awaits in `urgently` not yet settled. */
let urgent = 0;

const isNative = (f: unknown): f is () => void =>
  typeof f === 'function' && f.name === '' && Function.prototype.toString.call(f).includes('[native code]');

function install(): void {
  if (immediate) return;
  const original = globalThis.setImmediate;
  immediate = original;
  // A plain function reading `arguments`: no rest array per call.
  const paced = function (this: unknown, callback: unknown) {
    if (depth > 0 && arguments.length === 1 && isNative(callback)) {
      held.push(callback);
      schedule();
      return undefined;
    }
    return Reflect.apply(original, this, arguments);
  };
  // Keep what hangs on the original (`util.promisify`'s custom form).
  Object.assign(paced, original);
  globalThis.setImmediate = paced as unknown as typeof setImmediate;
}

function schedule(): void {
  if (urgent > 0) runSoon();
  else if (!timer && !soon) timer = setTimeout(runHeld, PACE_MS);
}

function runSoon(): void {
  if (soon || held.length === 0) return;
  soon = true;
  (immediate ?? setImmediate)(runHeld);
}

function runHeld(): void {
  soon = false;
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (urgent > 0) {
    const rest = lastRun + URGENT_GAP_MS - performance.now();
    if (rest > 0) Atomics.wait(sleeper, 0, 0, rest);
  }
  lastRun = performance.now();
  const ticks = held;
  held = running;
  running = ticks;
  depth++;
  try {
    for (const tick of ticks) {
      try {
        tick();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  } finally {
    depth--;
    ticks.length = 0;
  }
}

const pacer: TickPacer = {
  from(call) {
    depth++;
    try {
      return call();
    } finally {
      depth--;
    }
  },
  async urgently(promise) {
    urgent++;
    runSoon();
    try {
      return await promise;
    } finally {
      urgent--;
    }
  },
  nudge: runSoon,
};

/**
 * The pacer for `policy`: `'paced'` takes the place of the global `setImmediate` (once per process)
 * with one that holds Dawn's ticks started through `from`; `'every-turn'` changes nothing.
 *
 * @example
 * const ticks = tickPacer('paced');
 * const done = ticks.from(() => device.queue.onSubmittedWorkDone());
 * await ticks.urgently(done); // ticks every turn until the GPU is done
 */
export function tickPacer(policy: DawnTicks): TickPacer {
  if (policy === 'every-turn') return passThrough;
  install();
  return pacer;
}

/** Dawn's ticks held now, waiting for the pace or the next turn (for tests). */
export function heldTicks(): number {
  return held.length;
}
