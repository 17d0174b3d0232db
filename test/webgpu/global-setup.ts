/**
 * Runs once per test run: probes for a WebGPU adapter, prints the one skip line when there is none
 * (or fails the run under MIXRL_REQUIRE_WEBGPU=1), and tells the WebGPU suites through `inject`.
 */
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the WebGPU suites are skipped; empty when an adapter exists. */
    webgpuSkipReason: string;
  }
}

async function probe(): Promise<string> {
  try {
    const { create } = await import('webgpu');
    const adapter = await create([]).requestAdapter();
    return adapter ? '' : 'no WebGPU adapter found';
  } catch (error) {
    return (error as Error).message;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const reason = await probe();
  if (reason && process.env.MIXRL_REQUIRE_WEBGPU === '1') {
    throw new Error(`MIXRL_REQUIRE_WEBGPU=1 but WebGPU is unavailable: ${reason}`);
  }
  if (reason) {
    console.warn(
      `*** WebGPU tests SKIPPED (${reason}); to run them install Mesa lavapipe (sudo bash scripts/setup-webgpu-cpu.sh) ` +
        'or use a GPU; MIXRL_REQUIRE_WEBGPU=1 makes this a failure ***',
    );
  }
  project.provide('webgpuSkipReason', reason);
}
