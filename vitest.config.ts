import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Lavapipe (Mesa's CPU Vulkan driver, the WebGPU adapter where there is no GPU) compiles each kernel
// with LLVM the first time it runs it. At its default 8-lane SIMD width a jitted product took 1-2 s
// to compile and three sibling products in one kernel 4-14 s; at 4 lanes, 2-3x less, and the jitted
// SAC updates ran as fast or faster (docs/webgpu.md, "Tests"). Set before the test processes start,
// so they inherit it; a value already set is kept. GPUs ignore it.
process.env.LP_NATIVE_VECTOR_WIDTH ??= '128';
// Every command mixrl records is validated by Dawn in its tests, whatever the shell says (the
// library's default is off: `validationOf`).
process.env.MIXRL_WEBGPU_VALIDATION = 'on';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A guard against hangs. On a machine whose shader cache is empty every WebGPU test compiles
    // its kernels first: the longest took 90 s there (2 cores, two workers), 2 s with the cache warm.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: one on a 2-core machine, where two ran
    // the suite warm in 107 s instead of 182 s, and compile kernels on both cores when cold.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['test/webgpu/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
  },
});
