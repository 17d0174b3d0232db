import { expect, it } from 'vitest';
import {
  ArgumentError,
  BackendError,
  cpu,
  defaultBackend,
  evaluate,
  getBackend,
  setDefaultBackend,
  take,
  type Tensor,
  tensor,
} from '../../src/tensor';
import { jit } from '../../src/autodiff';
import { type BackendChoice, createWebGPUBackend, initBackend, type WebGPUBackend, WebGPUError } from '../../src/tensor/webgpu';
import { describeWebGPU, webgpu } from './gpu';

describeWebGPU('WebGPU errors are clear', () => {
  it('a WebGPU tensor meeting a CPU tensor names both backends', () => {
    const g = tensor([1, 2], { backend: webgpu() });
    const c = tensor([1, 2], { backend: cpu });
    expect(() => g.add(c)).toThrow(BackendError);
    expect(() => g.add(c)).toThrow(/input 0 is on webgpu but input 1 is on cpu/);
  });

  it('float64 does not exist on WebGPU', () => {
    expect(webgpu().supports('float64')).toBe(false);
    expect(() => tensor([1], { dtype: 'float64', backend: webgpu() })).toThrow(/webgpu backend has no float64/);
    const x = tensor([1], { backend: webgpu() });
    expect(() => evaluate('cast', [x], { dtype: 'float64' })).toThrow(BackendError);
  });

  it('a kernel that fails to compile becomes a WebGPUError naming it, and the backend recovers', async () => {
    const gpu = webgpu();
    const out = gpu.output({ shape: [1], dtype: 'float32' });
    gpu.run('brokenKernel', 'test|broken', () => 'fn main( {', [1], [out], [1, 1, 1]);
    const x = tensor([1, 2], { backend: gpu });
    const failure = await x.data().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WebGPUError);
    expect((failure as Error).message).toMatch(/brokenKernel/);
    expect(Array.from(await x.add(x).data())).toEqual([2, 4]);
  });

  it('an out-of-range index in gather or scatterAdd is reported at the next readback', async () => {
    const gpu = webgpu();
    const x = tensor([[1, 2, 3]], { backend: gpu });
    const bad = tensor(Int32Array.of(0, 3), { shape: [1, 2], backend: gpu });
    const good = tensor(Int32Array.of(2, 0), { shape: [1, 2], backend: gpu });
    const g = evaluate('gather', [x, bad], { axis: 1 });
    await expect(g.data()).rejects.toThrow(/gather: an index was out of range/);
    expect(Array.from(await evaluate('gather', [x, good], { axis: 1 }).data())).toEqual([3, 1]);
    const s = evaluate('scatterAdd', [tensor([[5, 6]], { backend: gpu }), bad], { axis: 1, size: 3 });
    await expect(s.data()).rejects.toThrow(/scatterAdd: an index was out of range/);
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    // A uint32 index past 2^32 - 3 is not a negative one counting from the end (it read x[2] before).
    const huge = tensor(Uint32Array.of(0xffffffff, 1), { backend: gpu });
    await expect(take(x, huge, 1).data()).rejects.toThrow(/gather: an index was out of range/);
    await expect(jit((a: Tensor, i: Tensor) => take(a, i, 1))(x, huge).data()).rejects.toThrow(/gather: an index was out of range/);
    expect(Array.from(await take(x, tensor(Uint32Array.of(2, 0), { backend: gpu }), 1).data())).toEqual([3, 1]);
  });

  it('a lost device turns later work into WebGPUErrors instead of hangs', async () => {
    const other = await createWebGPUBackend();
    const x = tensor([1, 2, 3], { backend: other });
    other.device.destroy();
    await other.device.lost;
    expect(() => x.exp()).toThrow(/device was lost/);
    await expect(x.data()).rejects.toThrow(WebGPUError);
  });
});

describeWebGPU('initBackend', () => {
  it('cpu, webgpu and auto set the default backend; anything else is an ArgumentError', async () => {
    // The test config's value, put back after (later backends in this process stay validated).
    const validation = process.env.MIXRL_WEBGPU_VALIDATION;
    try {
      process.env.MIXRL_WEBGPU_VALIDATION = 'no';
      await expect(initBackend('webgpu')).rejects.toThrow(/MIXRL_WEBGPU_VALIDATION is 'no'; set it to on or off/);
      await expect(initBackend('auto')).rejects.toThrow(ArgumentError);
      process.env.MIXRL_WEBGPU_VALIDATION = 'on';
      process.env.MIXRL_DAWN_TICKS = 'sometimes';
      await expect(initBackend('webgpu')).rejects.toThrow(/MIXRL_DAWN_TICKS is 'sometimes'; set it to paced or every-turn/);
      delete process.env.MIXRL_DAWN_TICKS;
      process.env.MIXRL_WEBGPU_MERGE = 'yes';
      await expect(initBackend('webgpu')).rejects.toThrow(/MIXRL_WEBGPU_MERGE is 'yes'; set it to on or off, or unset it/);
      process.env.MIXRL_WEBGPU_MERGE = 'on';
      expect(await initBackend('cpu')).toBe(cpu);
      expect(defaultBackend()).toBe(cpu);
      const gpu = await initBackend('webgpu');
      expect(gpu.name).toBe('webgpu');
      // Asked for, merged dispatches even on a software adapter.
      expect((gpu as WebGPUBackend).mergeKernels).toBe(true);
      delete process.env.MIXRL_WEBGPU_MERGE;
      expect(defaultBackend()).toBe(gpu);
      expect(getBackend('webgpu')).toBe(gpu);
      expect(await initBackend('webgpu')).toBe(gpu);
      // auto takes the GPU only on a hardware adapter (lavapipe is slower than the CPU backend).
      const auto = await initBackend('auto');
      expect(auto).toBe(webgpu().adapter.software ? cpu : gpu);
      await expect(initBackend('tpu' as BackendChoice)).rejects.toThrow(ArgumentError);
      process.env.MIXRL_BACKEND = 'webgpu';
      expect(await initBackend()).toBe(gpu);
      expect((gpu as WebGPUBackend).validation).toBe(true);
      expect((gpu as WebGPUBackend).dawnTicks).toBe('paced');
    } finally {
      delete process.env.MIXRL_BACKEND;
      if (validation === undefined) delete process.env.MIXRL_WEBGPU_VALIDATION;
      else process.env.MIXRL_WEBGPU_VALIDATION = validation;
      delete process.env.MIXRL_WEBGPU_MERGE;
      setDefaultBackend(cpu);
    }
  });
});
