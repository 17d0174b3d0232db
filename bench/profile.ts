/**
 * bench/profile: where the GPU time of a jitted SAC update goes, kernel by kernel
 * (`WebGPUBackend.profile`), for one agent and for N agents batched (`--n`, default 1 and 100).
 * Each config also gives the update's wall time in a steady loop (`--in-flight` calls in flight,
 * default 3 as `train` runs them; at least 10 calls and `--wall-seconds`, default 1) with the part
 * spent in the call (recording and submitting), and for 10 calls one at a time the host's part
 * (record and submit) and the wait for the GPU after it, so the kernels' sum tells how much of the
 * time is the GPU working.
 *
 *   npx esbuild bench/profile.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/profile.mjs
 *   node --expose-gc .tmp/profile.mjs [--backends webgpu] [--sizes classic,v2] [--agents sg-rp,sgm-mrp] [--n 1,100] [--top 12] [--wall-seconds 1] [--in-flight 2] [--validation on|off] [--dawn-ticks every-turn] [--kernels off] [--dispatches on]
 *
 * `--kernels off` skips the kernel-by-kernel replay (the wall times alone, for A/B runs);
 * `--dispatches on` also lists every dispatch of the call in order (its grid, time and kernel), to
 * see which levels of a plan split into several dispatches.
 */
import { type KernelTime, WebGPUBackend } from '../src/tensor/webgpu';
import { AGENTS, arg, benchBackends, SIZES, updateStep } from './sac-setup';

const list = (name: string, fallback: string) => arg(name, fallback).split(',').map((s) => s.trim());
const sizeNames = list('sizes', 'v2') as (keyof typeof SIZES)[];
const agentNames = list('agents', 'sg-rp,sgm-mrp');
const counts = list('n', '1,100').map(Number);
const top = Number(arg('top', '12'));
const wallSeconds = Number(arg('wall-seconds', '1'));
const inFlight = Number(arg('in-flight', '3'));
if (!Number.isInteger(inFlight) || inFlight < 0) throw new Error(`--in-flight: '${arg('in-flight', '3')}' (a count of calls, 0 or more)`);
const kernelsArg = arg('kernels', 'on');
if (kernelsArg !== 'on' && kernelsArg !== 'off') throw new Error(`--kernels: '${kernelsArg}' (on or off)`);
const dispatchesArg = arg('dispatches', 'off');
if (dispatchesArg !== 'on' && dispatchesArg !== 'off') throw new Error(`--dispatches: '${dispatchesArg}' (on or off)`);
const WALL_CALLS = 10;

/** Kernel times summed by kernel name, largest first. */
function byKernel(times: readonly KernelTime[]) {
  const rows = new Map<string, { kernel: string; count: number; ms: number; slowest: KernelTime }>();
  for (const t of times) {
    const row = rows.get(t.kernel) ?? { kernel: t.kernel, count: 0, ms: 0, slowest: t };
    row.count++;
    row.ms += t.ms;
    if (t.ms > row.slowest.ms) row.slowest = t;
    rows.set(t.kernel, row);
  }
  return [...rows.values()].sort((a, b) => b.ms - a.ms);
}

console.log(`node ${process.version}, ${process.platform}-${process.arch}`);
for (const [backendName, backend] of await benchBackends(list('backends', 'webgpu'))) {
  if (!(backend instanceof WebGPUBackend)) throw new Error(`--backends: ${backendName} is not a WebGPU backend`);
  for (const sizeName of sizeNames) {
    const size = SIZES[sizeName];
    if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
    for (const agent of AGENTS.filter((a) => agentNames.includes(a.name))) {
      for (const n of counts) {
        const step = updateStep(agent, size, backend, n);
        for (let t = 0; t < 3; t++) step(t);
        await backend.settle(0);
        // The trace's and earlier configs' garbage collected now, not in the timed calls (with --expose-gc).
        (globalThis as { gc?: () => void }).gc?.();
        // Serial calls: the host's part (record and submit) and the wait for the GPU, each call alone.
        const serial: { call: number; wait: number }[] = [];
        for (let t = 0; t < WALL_CALLS; t++) {
          const start = performance.now();
          step(t);
          const recorded = performance.now();
          await backend.settle(0);
          serial.push({ call: recorded - start, wait: performance.now() - recorded });
        }
        // The steady loop, as `train` runs it: at least WALL_CALLS calls and `--wall-seconds`.
        let [calls, inCall] = [0, 0];
        const start = performance.now();
        while (calls < WALL_CALLS || performance.now() - start < wallSeconds * 1000) {
          const before = performance.now();
          step(calls++);
          inCall += performance.now() - before;
          await backend.settle(inFlight);
        }
        await backend.settle(0);
        const wall = (performance.now() - start) / calls;
        console.log(`\n### ${backendName}, ${size.label}, ${agent.name}, ${n} agent${n > 1 ? 's batched' : ''}`);
        const ms = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
        const wallLine = `wall ${wall.toFixed(3)} ms / update over ${calls} calls (${inFlight} in flight), ${(inCall / calls).toFixed(3)} ms of it in the call`;
        const serialLine = `serial calls, host ms: ${ms(serial.map((c) => c.call))}; then GPU wait ms: ${ms(serial.map((c) => c.wait))}\n`;
        if (kernelsArg === 'off') {
          console.log(wallLine);
          console.log(serialLine);
          continue;
        }
        const { kernels: times, sequenceMs, recordMs } = await backend.profile(() => step(0));
        const gpuMs = times.reduce((sum, t) => sum + t.ms, 0);
        console.log(
          `${wallLine}; kernels ${gpuMs.toFixed(3)} ms in ${times.length} dispatches, ${sequenceMs.toFixed(3)} ms replayed in sequence; ` +
            `Dawn records them in ${recordMs.toFixed(3)} ms (${((1000 * recordMs) / Math.max(1, times.length)).toFixed(1)} us each)`,
        );
        console.log(serialLine);
        console.log('| kernel | dispatches | ms | share | slowest grid | slowest ms |');
        console.log('|---|---|---|---|---|---|');
        for (const row of byKernel(times).slice(0, top)) {
          const share = ((100 * row.ms) / gpuMs).toFixed(1);
          const name = row.kernel.length > 60 ? `${row.kernel.slice(0, 57)}...` : row.kernel;
          console.log(`| ${name} | ${row.count} | ${row.ms.toFixed(3)} | ${share}% | ${row.slowest.groups.join('x')} | ${row.slowest.ms.toFixed(3)} |`);
        }
        if (dispatchesArg === 'on') {
          console.log('\n| dispatch | grid | ms | kernel |\n|---|---|---|---|');
          times.forEach((t, i) => console.log(`| ${i} | ${t.groups.join('x')} | ${t.ms.toFixed(3)} | ${t.kernel} |`));
        }
      }
    }
  }
}
process.exit(0);
