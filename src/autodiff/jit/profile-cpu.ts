/**
 * Step timing of CPU plans (`profileCpu`): while a recording runs, every CPU plan call times each of
 * its steps by the wall clock (a threaded step until all its threads are done), so a jitted update's
 * time splits by fused loop, product and kernel, as `WebGPUBackend.profile` splits a GPU call. Outside
 * a recording a call checks one variable and runs its steps untimed.
 */
import { MixrlError } from '../../tensor';

/** One step of a plan: what it is, and its mean time per call. */
export interface StepTime {
  /** The step as the plan runs it (`matmul 256x256·256x256ᵀ + epilogue[add,max] wasm`, `fused[mul,add] 256x6 js`, ...). */
  readonly step: string;
  /** Milliseconds per call, the mean over the recorded calls. */
  readonly ms: number;
}

/** One plan's calls during a recording. */
export interface PlanProfile {
  /** The jitted function's name (`JitOptions.name`), with ` (guest)` for a guest plan. */
  readonly plan: string;
  /** Calls recorded. */
  readonly calls: number;
  /** Milliseconds per call, the mean: the steps, and copying inputs in and results out. */
  readonly callMs: number;
  /** Its steps in the order they run. */
  readonly steps: readonly StepTime[];
}

/** The plan calls of one recording, by plan in the order each first ran. */
export interface CpuProfile {
  readonly plans: readonly PlanProfile[];
}

/** A plan's running totals during a recording. */
export interface PlanTimes {
  calls: number;
  callMs: number;
  readonly stepMs: Float64Array;
}

interface Recording {
  readonly byPlan: Map<object, { readonly name: string; readonly labels: readonly string[]; readonly times: PlanTimes }>;
}

let recording: Recording | null = null;

/** The totals plan `key` adds its call to, or null when nothing is recording (the common case). */
export function recordingFor(key: object, name: string, labels: readonly string[]): PlanTimes | null {
  if (recording === null) return null;
  let entry = recording.byPlan.get(key);
  if (!entry) {
    entry = { name, labels, times: { calls: 0, callMs: 0, stepMs: new Float64Array(labels.length) } };
    recording.byPlan.set(key, entry);
  }
  return entry.times;
}

/** Runs `steps` in order, adding each one's wall time to `times`. */
export function runTimed(steps: readonly (() => void)[], times: PlanTimes): void {
  let t = performance.now();
  for (let s = 0; s < steps.length; s++) {
    steps[s]();
    const now = performance.now();
    times.stepMs[s] += now - t;
    t = now;
  }
}

/**
 * Runs `record` and times every step of the CPU plans it calls (jitted functions on the CPU backend),
 * step by step: where a jitted update's time goes. Call the function many times inside `record`
 * for stable figures (each step's time is a mean over the calls); the timing adds about 0.1 us per step.
 * Recordings do not nest.
 *
 * @example
 * const { plans } = profileCpu(() => { for (let i = 0; i < 50; i++) state = update(state, batch, key); });
 * for (const { step, ms } of plans[0].steps) console.log(ms.toFixed(3), step);
 */
export function profileCpu(record: () => void): CpuProfile {
  if (recording !== null) throw new MixrlError('argument', 'profileCpu: a recording is already running (recordings do not nest)');
  const current: Recording = { byPlan: new Map() };
  recording = current;
  try {
    record();
  } finally {
    recording = null;
  }
  return {
    plans: [...current.byPlan.values()].map(({ name, labels, times }) => ({
      plan: name,
      calls: times.calls,
      callMs: times.calls === 0 ? 0 : times.callMs / times.calls,
      steps: labels.map((step, s) => ({ step, ms: times.calls === 0 ? 0 : times.stepMs[s] / times.calls })),
    })),
  };
}
