/**
 * bench/ab: WebGPU backend variants side by side in one process, each on its own backend, rounds
 * in turn (a host's speed drifts between processes and rounds, by up to 2x on the GPU host): per
 * variant, one SAC-v2-size update called one at a time (the host's part, the wait for the GPU,
 * Dawn's ticks per millisecond of that wait) and steady loops with 2 and 3 calls in flight.
 * Variants (`--variants`, default `merged,unmerged`): `paced` and `every-turn` (Dawn's polling,
 * `WebGPUBackendOptions.dawnTicks`), `merged`, `unmerged` and `merged-all` (a jit plan's merged
 * dispatches: on for kernels of up to 256 workgroups, off, on for every kernel), `validated` and
 * `unvalidated` (Dawn's validation on or off; the others follow `MIXRL_WEBGPU_VALIDATION`, else off).
 *
 *   npx esbuild bench/ab.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/ab.mjs
 *   node --expose-gc .tmp/ab.mjs [--variants merged,unmerged] [--agents sg-rp,sgm-mrp] [--n 1,100] [--rounds 3] [--sizes v2]
 */
import { createWebGPUBackend, type WebGPUBackend, type WebGPUBackendOptions } from '../src/tensor/webgpu';
import { AGENTS, arg, SIZES, updateStep } from './sac-setup';

const VARIANTS: Record<string, WebGPUBackendOptions> = {
  paced: { dawnTicks: 'paced' },
  'every-turn': { dawnTicks: 'every-turn' },
  merged: { mergeKernels: true },
  unmerged: { mergeKernels: false },
  'merged-all': { mergeMaxGroups: Infinity },
  validated: { validation: true },
  unvalidated: { validation: false },
};

const list = (name: string, fallback: string) => arg(name, fallback).split(',').map((s) => s.trim());
const rounds = Number(arg('rounds', '3'));
const POLICIES = list('variants', 'merged,unmerged');
const backends = new Map<string, WebGPUBackend>();
for (const policy of POLICIES) {
  const options = VARIANTS[policy];
  if (!options) throw new Error(`--variants: unknown variant '${policy}' (${Object.keys(VARIANTS).join(', ')})`);
  backends.set(policy, await createWebGPUBackend(options));
}
console.log(`node ${process.version}; ${backends.get(POLICIES[0])?.adapter.description}`);

// Counted outside the pacer: every native callback given to setImmediate is one of Dawn's ticks.
let dawnTicks = 0;
const inner = globalThis.setImmediate;
const counting = (callback: (...args: unknown[]) => void, ...args: unknown[]) => {
  if (Function.prototype.toString.call(callback).includes('[native code]')) dawnTicks++;
  return inner(callback, ...args);
};
globalThis.setImmediate = counting as unknown as typeof setImmediate;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const sizeName of list('sizes', 'v2') as (keyof typeof SIZES)[]) {
  const size = SIZES[sizeName];
  if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
  for (const agent of AGENTS.filter((a) => list('agents', 'sg-rp,sgm-mrp').includes(a.name))) {
    for (const n of list('n', '1,100').map(Number)) {
      const runs = POLICIES.map((policy) => {
        const backend = backends.get(policy) as WebGPUBackend;
        return { policy, backend, step: updateStep(agent, size, backend, n) };
      });
      for (const run of runs) {
        for (let t = 0; t < 5; t++) run.step(t);
        await run.backend.settle(0);
      }
      (globalThis as { gc?: () => void }).gc?.();
      for (let round = 0; round < rounds; round++) {
        for (const { policy, backend, step } of runs) {
          const host: number[] = [];
          const wait: number[] = [];
          const perMs: number[] = [];
          for (let t = 0; t < 10; t++) {
            const start = performance.now();
            step(t);
            const recorded = performance.now();
            const ticks = dawnTicks;
            await backend.settle(0);
            const done = performance.now();
            host.push(recorded - start);
            wait.push(done - recorded);
            perMs.push((dawnTicks - ticks) / Math.max(done - recorded, 1e-3));
          }
          const loops: string[] = [];
          for (const inFlight of [2, 3]) {
            let [calls, inCall] = [0, 0];
            const start = performance.now();
            while (calls < 10 || performance.now() - start < 600) {
              const before = performance.now();
              step(calls++);
              inCall += performance.now() - before;
              await backend.settle(inFlight);
            }
            await backend.settle(0);
            loops.push(`${inFlight} in flight ${((performance.now() - start) / calls).toFixed(3)} ms (call ${(inCall / calls).toFixed(3)})`);
          }
          const label = `${size.label.split(' (')[0]} ${agent.name} n=${n} round ${round} ${policy}`;
          console.log(
            `${label.padEnd(40)} one at a time: host ${median(host).toFixed(2)} ms, wait ${median(wait).toFixed(2)} ms, ${median(perMs).toFixed(1)} ticks/ms; ${loops.join('; ')}`,
          );
        }
      }
    }
  }
}
process.exit(0);
