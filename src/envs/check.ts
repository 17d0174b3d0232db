import { rawFoldIn, rawKey } from '../tensor/threefry';
import type { Env, StepResult } from './core';
import { EnvError, formatVector } from './errors';
import { Box } from './spaces';

/** Options of `checkEnv`. */
export interface CheckOptions {
  /** The seed of the checked episodes and of their random actions; default 0. */
  seed?: number;
  /** At most this many steps per episode; default 1000. */
  maxSteps?: number;
}

interface Trace {
  obs: number[][];
  rewards: number[];
  flags: string[];
}

const sameNumbers = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/**
 * Gymnasium's `check_env` for this layer: both spaces are `Box`es; `reset` and `step` return the
 * documented shapes and types; observations are finite and inside `observationSpace`; rewards are
 * finite; `reset({ options: { state: env.state } })` reproduces the observation; the same seed gives
 * the same trajectory bit for bit (random actions from `actionSpace.sample`); a NaN action and a step
 * after the episode's end throw `EnvError`. Throws `EnvError('check-failed')` listing every problem.
 *
 * @example
 * for (const id of envIds()) checkEnv(makeEnv(id));
 */
export function checkEnv(env: Env, options: CheckOptions = {}): void {
  const seed = options.seed ?? 0;
  const maxSteps = options.maxSteps ?? 1000;
  const problems: string[] = [];
  const fail = (what: string): void => {
    problems.push(what);
  };
  if (!(env.observationSpace instanceof Box)) fail('observationSpace is not a Box');
  if (!(env.actionSpace instanceof Box)) fail('actionSpace is not a Box');
  if (problems.length > 0) throw report(env, problems);

  const checkObs = (obs: unknown, where: string): obs is Float64Array => {
    if (!(obs instanceof Float64Array)) {
      fail(`${where}: obs is not a Float64Array`);
      return false;
    }
    if (obs.length !== env.observationSpace.size) {
      fail(`${where}: obs has length ${obs.length}, expected ${env.observationSpace.size}`);
      return false;
    }
    if (!obs.every(Number.isFinite)) fail(`${where}: obs ${formatVector(obs)} is not finite`);
    else if (!env.observationSpace.contains(obs)) fail(`${where}: obs ${formatVector(obs)} is outside observationSpace`);
    return true;
  };
  const checkStep = (r: StepResult, where: string) => {
    checkObs(r?.obs, where);
    if (typeof r.reward !== 'number' || !Number.isFinite(r.reward)) fail(`${where}: reward ${r.reward} is not finite`);
    if (typeof r.terminated !== 'boolean') fail(`${where}: terminated is not a boolean`);
    if (typeof r.truncated !== 'boolean') fail(`${where}: truncated is not a boolean`);
    if (typeof r.info !== 'object' || r.info === null) fail(`${where}: info is not an object`);
  };

  const episode = (): Trace => {
    const trace: Trace = { obs: [], rewards: [], flags: [] };
    const first = env.reset({ seed });
    if (typeof first?.info !== 'object' || first.info === null) fail('reset: info is not an object');
    if (checkObs(first?.obs, 'reset')) trace.obs.push(Array.from(first.obs));
    const key = rawKey(seed);
    for (let t = 0; t < maxSteps; t++) {
      const r = env.step(env.actionSpace.sample(rawFoldIn(key, t)));
      checkStep(r, `step ${t}`);
      trace.obs.push(Array.from(r.obs));
      trace.rewards.push(r.reward);
      trace.flags.push(`${r.terminated}/${r.truncated}`);
      if (r.terminated || r.truncated) {
        expectThrow(() => env.step(env.actionSpace.sample(key)), 'step-after-done', `step ${t + 1} after the end`);
        break;
      }
    }
    return trace;
  };
  const expectThrow = (f: () => unknown, code: string, what: string) => {
    try {
      f();
      fail(`${what} did not throw`);
    } catch (e) {
      if (!(e instanceof EnvError) || e.code !== code) fail(`${what} threw ${String(e)}, expected EnvError '${code}'`);
    }
  };

  const a = episode();
  const b = episode();
  const t = a.obs.findIndex((o, i) => !sameNumbers(o, b.obs[i] ?? []));
  if (t >= 0 || a.obs.length !== b.obs.length || !sameNumbers(a.rewards, b.rewards) || a.flags.join() !== b.flags.join()) {
    fail(`not deterministic under seed ${seed}${t >= 0 ? `: observations differ after ${t} steps` : ''}`);
  }

  const start = env.reset({ seed });
  const state = env.state;
  if (!(state instanceof Float64Array)) fail('state is not a Float64Array');
  else {
    const again = env.reset({ options: { state } });
    if (!sameNumbers(Array.from(start.obs), Array.from(again.obs))) {
      fail('reset({ options: { state: env.state } }) does not reproduce the observation');
    }
  }
  const nan = new Float64Array(env.actionSpace.size).fill(NaN);
  expectThrow(() => env.step(nan), 'invalid-action', 'a NaN action');

  if (problems.length > 0) throw report(env, problems);
}

function report(env: Env, problems: string[]): EnvError {
  return new EnvError('check-failed', `${env.id}: checkEnv found ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}
