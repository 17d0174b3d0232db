/**
 * bench/cpu-profile: where the time of a jitted SAC update goes on the CPU, step by step
 * (`profileCpu`): the slowest steps, and the time by kind of step (products, fused WebAssembly
 * loops, generated JS loops, eager kernels, copies and reductions), beside the whole call's.
 * The host's speed drifts, so read the shares, and compare variants in one process (bench/ab.ts's way).
 *
 *   npx esbuild bench/cpu-profile.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/cpu-profile.mjs
 *   node --expose-gc .tmp/cpu-profile.mjs [--sizes v2] [--agents sg-rp,sgm-mrp] [--n 1] [--updates 200] [--top 20]
 *
 * `--n 100` profiles the batched update of 100 agents (`jit(vmap(update))`) instead of one agent's.
 */
import { profileCpu, type StepTime } from '../src/autodiff';
import { cpu } from '../src/tensor';
import { AGENTS, arg, SIZES, updateStep } from './sac-setup';

const list = (name: string, fallback: string) => arg(name, fallback).split(',').map((s) => s.trim());
const sizeNames = list('sizes', 'v2') as (keyof typeof SIZES)[];
const agentNames = list('agents', 'sg-rp,sgm-mrp');
const updates = Number(arg('updates', '200'));
const top = Number(arg('top', '20'));
const n = Number(arg('n', '1'));

/** The kind of a step, from its label (`plan-cpu.ts`'s `labelOf`). */
function kindOf({ step }: StepTime): string {
  if (step.includes('matmul')) return step.includes('epilogue') ? 'products with epilogues' : 'products';
  if (step.startsWith('fused')) return step.endsWith('wasm') ? 'fused loops, wasm' : 'fused loops, js';
  if (step.endsWith('eager kernel')) return 'eager kernels';
  return `${step.split(' ')[0]} (${step.endsWith('wasm') ? 'wasm' : 'js'})`;
}

for (const sizeName of sizeNames) {
  const size = SIZES[sizeName];
  for (const agentName of agentNames) {
    const agent = AGENTS.find((a) => a.name === agentName);
    if (!agent) throw new Error(`--agents: unknown agent '${agentName}' (${AGENTS.map((a) => a.name).join(', ')})`);
    const step = updateStep(agent, size, cpu, n);
    for (let t = 0; t < Math.min(20, updates); t++) step(t);
    const { plans } = profileCpu(() => {
      for (let t = 0; t < updates; t++) step(t);
    });
    for (const plan of plans) {
      const stepsMs = plan.steps.reduce((sum, s) => sum + s.ms, 0);
      console.log(`\n## ${size.label}, ${agent.name}${n > 1 ? ` x ${n} agents` : ''}: ${plan.plan}, ${plan.calls} calls`);
      console.log(`${plan.callMs.toFixed(3)} ms per call: ${stepsMs.toFixed(3)} in ${plan.steps.length} steps, ${(plan.callMs - stepsMs).toFixed(3)} copying in and out\n`);
      const kinds = new Map<string, { ms: number; count: number }>();
      for (const s of plan.steps) {
        const k = kinds.get(kindOf(s)) ?? { ms: 0, count: 0 };
        kinds.set(kindOf(s), { ms: k.ms + s.ms, count: k.count + 1 });
      }
      console.log('| kind | steps | ms | share |\n|---|---|---|---|');
      for (const [kind, { ms, count }] of [...kinds].sort((a, b) => b[1].ms - a[1].ms)) {
        console.log(`| ${kind} | ${count} | ${ms.toFixed(3)} | ${((100 * ms) / plan.callMs).toFixed(1)}% |`);
      }
      console.log(`\n| step # | ms | step |\n|---|---|---|`);
      const ranked = plan.steps.map((s, i) => ({ ...s, i })).sort((a, b) => b.ms - a.ms);
      for (const s of ranked.slice(0, top)) console.log(`| ${s.i} | ${s.ms.toFixed(4)} | ${s.step} |`);
    }
  }
}
