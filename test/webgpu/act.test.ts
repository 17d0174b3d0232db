/**
 * makeActor on WebGPU: the jitted action (one plan replay, read back asynchronously) equals the eager
 * WebGPU policy's draw and mode, and agrees with the CPU's.
 *
 * On a software adapter (lavapipe, what CI runs) the fused kernels give eager WebGPU's bits exactly.
 * A hardware compiler may contract a fused `a * b + c` into one rounding (docs/ARCHITECTURE.md, jit),
 * so there the comparison allows 1e-6 relative: the same random bits still give the same action to
 * a few float32 ulps, and a wrong key or observation moves it by far more.
 */
import { expect, it } from 'vitest';
import { treeMap } from '../../src/autodiff';
import { makeActor } from '../../src/rl/sac/act';
import { initSac, policyAt } from '../../src/rl/sac/update';
import * as T from '../../src/tensor';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { actHyperparameters, bits, observation } from '../rl/act-setup';
import { describeWebGPU, webgpu } from './gpu';

describeWebGPU('makeActor on WebGPU', () => {
  it.each(['sg-rp', 'sgm-mrp'] as const)('jitted sample and mode equal eager WebGPU (%s)', async (agent) => {
    const gpu = webgpu();
    const expectSame = (actual: Float64Array, expected: Float64Array, message: string) => {
      if (gpu.adapter.software) expect(bits(actual), message).toEqual(bits(expected));
      else expected.forEach((e, j) => expect(Math.abs(actual[j] - e), message).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(e))));
    };
    const h = actHyperparameters(agent);
    const onCpu = initSac(h, T.tensor(rawKey(3))).actor;
    const actor = treeMap((p: T.Tensor) => T.tensor(p.dataSync(), { shape: p.shape, dtype: p.dtype, backend: gpu }), onCpu);
    const jitted = makeActor(h);
    const base = rawKey(42);
    const draws = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const obs = observation(i);
      const policy = policyAt(h, actor, T.tensor(obs, { shape: [1, 3], dtype: h.dtype, backend: gpu }));
      const sample = Float64Array.from(await policy.sample(T.random.foldIn(T.tensor(base, { backend: gpu }), i)).data());
      const mode = Float64Array.from(await (policy.mode as T.Tensor).data());
      draws.add(Array.from(sample).join());

      const pending = jitted(actor, obs, rawFoldIn(base, i), 'sample');
      expect(pending).toBeInstanceOf(Promise); // WebGPU reads asynchronously
      expectSame(await pending, sample, `sample, step ${i}`);
      expectSame(await jitted(actor, obs, T.random.foldIn(T.tensor(base, { backend: gpu }), i), 'sample'), sample, `key tensor, step ${i}`);
      expectSame(await jitted(actor, obs, base, 'mode'), mode, `mode, step ${i}`);

      // The same random bits as the CPU: the actions agree to float32 rounding.
      const fromCpu = makeActor(h)(onCpu, obs, rawFoldIn(base, i), 'sample') as Float64Array;
      fromCpu.forEach((a, j) => expect(Math.abs(sample[j] - a)).toBeLessThan(1e-5 * (1 + Math.abs(a))));
    }
    expect(draws.size).toBe(6);
  });
});
