/**
 * One SAC update (SG-RP and SGM-MRP, classic size) from the same state and batch on the CPU and on
 * WebGPU: prints the largest relative difference over every parameter and metric. The same check runs
 * in test/rl/sac-backends.test.ts on lavapipe; this script runs it on whatever adapter is present.
 *
 *   npx esbuild bench/backend-agreement.ts --bundle --platform=node --format=esm --external:webgpu | node --input-type=module
 */
import { compareSacUpdate } from '../src/experiments/agreement';
import { cpu } from '../src/tensor';
import { initBackend } from '../src/tensor/webgpu';

const gpu = await initBackend('webgpu');
for (const agent of ['sg-rp', 'sgm-mrp'] as const) {
  const { maxRelative, worst } = await compareSacUpdate(agent, cpu, gpu);
  console.log(`${agent}: one SAC update, cpu vs ${gpu.name}: max relative difference ${maxRelative.toExponential(2)} (at ${worst})`);
}
process.exit(0);
