import fc from 'fast-check';
import { expect, it } from 'vitest';
import { cpu, evaluate, random, tensor } from '../../src/tensor';
import { threefryHash } from '../../src/tensor/threefry';
import { describeWebGPU, expectClose, expectEqual, webgpu } from './gpu';

describeWebGPU('randomness on WebGPU is the CPU bits', () => {
  it('threefry gives the bits of the CPU implementation for any key and counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
        fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 300 }),
        async (key, counts) => {
          const k = Uint32Array.from(key);
          const c = Uint32Array.from(counts);
          const out = evaluate('threefry', [tensor(k, { backend: webgpu() }), tensor(c, { backend: webgpu() })], {});
          expectEqual(await out.data(), threefryHash(k, c), 'threefry');
        },
      ),
      { numRuns: 20 },
    );
  });

  it('split, foldIn and randomBits match the CPU', async () => {
    const [g, c] = [random.key(42, webgpu()), random.key(42, cpu)];
    for (const [kg, kc] of random.split(g, 3).map((k, i) => [k, random.split(c, 3)[i]])) {
      expectEqual(await kg.data(), kc.dataSync(), 'split');
    }
    expectEqual(await random.foldIn(g, 7).data(), random.foldIn(c, 7).dataSync(), 'foldIn');
    const traced = random.foldIn(g, tensor(-3, { dtype: 'int32', backend: webgpu() }));
    expectEqual(await traced.data(), random.foldIn(c, -3).dataSync(), 'foldIn of an int32 tensor');
    expectEqual(await random.randomBits(g, [5, 7]).data(), random.randomBits(c, [5, 7]).dataSync(), 'randomBits');
    expectEqual(await random.randint(g, [5, 7], -3, 1000).data(), random.randint(c, [5, 7], -3, 1000).dataSync(), 'randint');
  });

  it("plain arrays given with a WebGPU key are made on the key's backend (categorical, bernoulli, permutation, choice)", async () => {
    // The default backend here is the CPU: the arrays must not land there, next to a WebGPU key.
    const [g, c] = [random.key(5, webgpu()), random.key(5, cpu)];
    const cases: [string, (k: typeof g) => typeof g][] = [
      ['categorical', (k) => random.categorical(k, [0, 1, 2])],
      ['bernoulli', (k) => random.bernoulli(k, 0.3, [8])],
      ['permutation', (k) => random.permutation(k, [1, 2, 3, 4])],
      ['choice', (k) => random.choice(k, [1, 2, 3], [5])],
    ];
    for (const [name, draw] of cases) {
      const out = draw(g);
      expect(out.backend, name).toBe(webgpu());
      expectEqual(await out.data(), draw(c).dataSync(), name);
    }
  });

  it('uniform is bit-identical and normal agrees within float32 error', async () => {
    for (const seed of [0, 1, 12345]) {
      const [g, c] = [random.key(seed, webgpu()), random.key(seed, cpu)];
      expectEqual(await random.uniform(g, [1001]).data(), random.uniform(c, [1001]).dataSync(), 'uniform');
      expectEqual(
        await random.uniform(g, [10, 3], { minval: -2, maxval: 5 }).data(),
        random.uniform(c, [10, 3], { minval: -2, maxval: 5 }).dataSync(),
        'uniform in [-2, 5)',
      );
      // Both use Giles' polynomial for float32: the CPU evaluates it in float64, the GPU in float32.
      expectClose(await random.normal(g, [2001]).data(), random.normal(c, [2001]).dataSync(), 1e-5, 1e-5, 'normal');
    }
  });
});
