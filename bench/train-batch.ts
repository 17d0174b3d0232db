/**
 * bench/train-batch: training steps per second of N runs trained together (`trainBatch`: one
 * batched action call and SAC update per step) against the same N runs trained one after another
 * (`train`), in one process, rounds alternating (the host may be shared and noisy); medians. Both
 * sides run the whole loop (environment, replay, action selection, update) over the same window of
 * steps after a warm-up that compiles their plans; the ratio is this run's own baseline.
 *
 *   npx esbuild bench/train-batch.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/train-batch.mjs
 *   node .tmp/train-batch.mjs [--backends cpu,webgpu] [--agents sg-rp,sgm-mrp] [--n 5,10] [--hidden 64,64] [--batch 32]
 *                             [--env Pendulum] [--steps 1000] [--rounds 3]
 *
 * On WebGPU each side's window ends with a readback (every run's state read once), so queued work is timed.
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { disposeTree } from '../src/autodiff';
import { resolveConfig, type TrainConfig } from '../src/experiments/config';
import { createRun, type Run, train } from '../src/experiments/train';
import { trainBatch } from '../src/experiments/train-batch';
import type { Backend } from '../src/tensor';
import { arg, benchBackends } from './sac-setup';

const list = (name: string, fallback: string) => arg(name, fallback).split(',').map((s) => s.trim());
const counts = list('n', '5,10').map(Number);
const agents = list('agents', 'sg-rp,sgm-mrp');
const hidden = list('hidden', '64,64').map(Number);
const batchSize = Number(arg('batch', '32'));
const env = arg('env', 'Pendulum');
const window = Number(arg('steps', '1000'));
const rounds = Number(arg('rounds', '3'));
/** Steps before the timed window: learning starts at 100, then plans compile and settle. */
const WARMUP = 300;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function config(agent: string, seed: number): TrainConfig {
  const c = resolveConfig([{ env, agent: agent as TrainConfig['agent'], seed, hidden, batchSize, learningStarts: 100, steps: WARMUP + window, logEvery: 1e9, checkpointEvery: 0 }]);
  if (!isRight(c)) throw new Error(c.left.message);
  return c.right;
}

/** Waits for every run's queued work (a read of one of its parameters). */
async function settled(runs: readonly Run[]): Promise<void> {
  for (const run of runs) await run.sac.actor.layers[0].w.data();
}

/** Seconds for the window of steps: the runs together, or one after another. */
async function timeWindow(backend: Backend, agent: string, n: number, together: boolean): Promise<number> {
  const runs = Array.from({ length: n }, (_, i) => createRun(config(agent, i), backend));
  const to = async (until: number) => {
    if (together) await trainBatch(runs, { until });
    else for (const run of runs) await train(run, { until });
    await settled(runs);
  };
  await to(WARMUP);
  const t0 = performance.now();
  await to(WARMUP + window);
  const seconds = (performance.now() - t0) / 1000;
  for (const run of runs) disposeTree([run.sac, run.lastMetrics]);
  return seconds;
}

console.log(`node ${process.version}, ${process.platform}-${process.arch}; ${env}, hidden ${hidden.join('x')}, batch ${batchSize}; ${window} timed steps per run after ${WARMUP}; ${rounds} rounds, medians`);
const backends = await benchBackends(list('backends', 'cpu'));
console.log('');
console.log('| backend | agent | runs | one by one, steps/s (all runs) | together, steps/s (all runs) | together / one by one |');
console.log('|---|---|---|---|---|---|');
for (const [name, backend] of backends) {
  for (const agent of agents) {
    for (const n of counts) {
      const times = { alone: [] as number[], together: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        times.alone.push(await timeWindow(backend, agent, n, false));
        times.together.push(await timeWindow(backend, agent, n, true));
      }
      const [alone, together] = [(n * window) / median(times.alone), (n * window) / median(times.together)];
      console.log(`| ${name} | ${agent} | ${n} | ${alone.toFixed(0)} | ${together.toFixed(0)} | ${(together / alone).toFixed(2)} |`);
    }
  }
}
