import { expect, it } from 'vitest';
import { compareSacUpdate } from '../../src/experiments/agreement';
import { cpu } from '../../src/tensor';
import { describeWebGPU, webgpu } from './gpu';

describeWebGPU('SAC on WebGPU', () => {
  // Float32 on both sides; the differences are rounding (erfinv, exp, summation order), measured at
  // about 5e-7 relative on lavapipe.
  it.each(['sg-rp', 'sgm-mrp'] as const)('one %s update agrees with the CPU backend', async (agent) => {
    const { maxRelative, worst } = await compareSacUpdate(agent, cpu, webgpu());
    expect(maxRelative, `worst leaf ${worst}`).toBeLessThan(1e-4);
  });
});
