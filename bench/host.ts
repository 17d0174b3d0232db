/**
 * bench/host: where the host's time and memory go in a jitted SAC update on WebGPU, one call at a
 * time (`settle(0)` after each, so the GPU is idle while the host records): the call's median time
 * and the time Dawn's own methods take in it (each wrapped and timed: setPipeline, setBindGroup,
 * dispatchWorkgroups, submit, ...), the serial call's wall time with the wait, and the bytes it
 * allocates (V8's sampling heap profiler, keeping the objects the collector has already freed),
 * with the functions that allocate most. Session 10 found Dawn's every-turn polling this way (95% of
 * 465 MB over 200 calls).
 *
 *   npx esbuild bench/host.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/host.mjs
 *   node --expose-gc .tmp/host.mjs [--sizes classic] [--agents sg-rp,sgm-mrp] [--calls 200] [--top 8] [--dawn-ticks every-turn]
 */
import { Session } from 'node:inspector/promises';
import { globals } from 'webgpu';
import { AGENTS, arg, benchBackends, SIZES, updateStep } from './sac-setup';

const list = (name: string, fallback: string) => arg(name, fallback).split(',').map((s) => s.trim());
const calls = Number(arg('calls', '200'));
const top = Number(arg('top', '8'));
const [[, backend]] = await benchBackends(['webgpu']);
if (!('settle' in backend)) throw new Error('bench/host needs a WebGPU adapter');
const gpu = backend as typeof backend & { settle(max?: number): Promise<void> };

/** Milliseconds spent in each wrapped Dawn method since the last reset, and its calls. */
const inDawn = new Map<string, { ms: number; count: number }>();
const dawnClasses = globals as unknown as Record<string, { prototype: Record<string, unknown> }>;
const WRAPPED: Record<string, readonly string[]> = {
  GPUComputePassEncoder: ['setPipeline', 'setBindGroup', 'dispatchWorkgroups', 'end'],
  GPUCommandEncoder: ['beginComputePass', 'finish', 'copyBufferToBuffer', 'clearBuffer'],
  GPUQueue: ['submit', 'writeBuffer', 'onSubmittedWorkDone'],
  GPUDevice: ['createCommandEncoder', 'pushErrorScope', 'popErrorScope', 'createBuffer', 'createBindGroup'],
};
for (const [className, methods] of Object.entries(WRAPPED)) {
  const proto = dawnClasses[className].prototype;
  for (const method of methods) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    const label = `${className.replace(/^GPU/, '')}.${method}`;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      const start = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        const entry = inDawn.get(label) ?? { ms: 0, count: 0 };
        entry.ms += performance.now() - start;
        entry.count++;
        inDawn.set(label, entry);
      }
    };
  }
}

interface HeapNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children: readonly HeapNode[];
}
/** Bytes sampled per allocating function (name and line in the bundle), most first. */
function allocations(profile: { head: HeapNode; samples: readonly { nodeId: number; size: number }[] }) {
  const bytesOf = new Map<number, number>();
  for (const s of profile.samples) bytesOf.set(s.nodeId, (bytesOf.get(s.nodeId) ?? 0) + s.size);
  const byFunction = new Map<string, number>();
  const visit = (node: HeapNode) => {
    const bytes = bytesOf.get(node.id);
    if (bytes) {
      const name = `${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + bytes);
    }
    node.children.forEach(visit);
  };
  visit(profile.head);
  return [...byFunction.entries()].sort((a, b) => b[1] - a[1]);
}

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const sizeName of list('sizes', 'classic') as (keyof typeof SIZES)[]) {
  const size = SIZES[sizeName];
  if (!size) throw new Error(`--sizes: unknown size '${sizeName}' (classic, v2)`);
  for (const agent of AGENTS.filter((a) => list('agents', 'sg-rp,sgm-mrp').includes(a.name))) {
    const step = updateStep(agent, size, backend, 1);
    for (let t = 0; t < 30; t++) {
      step(t);
      await gpu.settle(0);
    }
    (globalThis as { gc?: () => void }).gc?.();
    inDawn.clear();
    // Sampling every 8 KiB allocated, objects already collected included (V8 >= 11).
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 8192,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
    const inCall: number[] = [];
    const wall: number[] = [];
    for (let t = 0; t < calls; t++) {
      const start = performance.now();
      step(t);
      inCall.push(performance.now() - start);
      await gpu.settle(0);
      wall.push(performance.now() - start);
    }
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: Parameters<typeof allocations>[0] };
    const sites = allocations(profile);
    const total = sites.reduce((sum, [, bytes]) => sum + bytes, 0);
    const dawnMs = [...inDawn.values()].reduce((sum, e) => sum + e.ms, 0);
    console.log(`\n### ${size.label}, ${agent.name}: ${calls} calls one at a time`);
    console.log(
      `in the call: median ${(1000 * median(inCall)).toFixed(0)} us, Dawn's methods ${((1000 * dawnMs) / calls).toFixed(0)} us of it on average; ` +
        `with the wait: median ${median(wall).toFixed(2)} ms, mean ${mean(wall).toFixed(2)} ms; allocated ${(total / calls / 1024).toFixed(0)} KiB per call`,
    );
    console.log('\n| Dawn method | calls per update | us per update |\n|---|---|---|');
    for (const [label, e] of [...inDawn.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
      console.log(`| ${label} | ${(e.count / calls).toFixed(1)} | ${((1000 * e.ms) / calls).toFixed(1)} |`);
    }
    console.log('\n| allocating function (bundle line) | KiB per update |\n|---|---|');
    for (const [name, bytes] of sites.slice(0, top)) console.log(`| ${name} | ${(bytes / calls / 1024).toFixed(1)} |`);
  }
}
process.exit(0);
