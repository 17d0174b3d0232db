/**
 * vmap on WebGPU: every primitive batched at random axes equals the rows stacked (both on WebGPU;
 * random bits also against the CPU hash), random float32 programs (built on the CPU, staged and
 * moved to the GPU as in test/jit/webgpu.test.ts) under vmap and jit(vmap), and the batched SAC
 * update of 3 agents against 3 separate updates.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Primitive, Tensor } from '../../src';
import { initSacBatch, makeBatchedSacUpdate } from '../../src/rl/sac/batched';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey, threefryHash } from '../../src/tensor/threefry';
import { Rng, runs } from '../autodiff/helpers';
import { buildProgram } from '../autodiff/programs';
import { another, caseFor, u32T } from '../autodiff/vmap-cases';
import { hyperparameters, replays } from '../rl/sac-batched-setup';
import { describeWebGPU, expectGpuTreesClose, webgpu } from './gpu';

/** A CPU tensor on the GPU, float64 as float32 (WGSL has no f64). */
const toGpu = (x: Tensor): Tensor =>
  M.tensor(x.dataSync(), { shape: x.shape, dtype: x.dtype === 'float64' ? 'float32' : x.dtype, backend: webgpu() });

const ALL_PRIMITIVES = Object.keys(M.ARITY) as Primitive[];

describeWebGPU('vmap on WebGPU', () => {
  it.each(ALL_PRIMITIVES)('%s: batched at random axes equals the rows stacked', async (prim) => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const rng = new Rng(seed);
        let { inputs, params } = caseFor(prim, rng);
        // No float64 on WebGPU: float64 random bits become float32 ones.
        if (prim === 'uniformFromBits' && (params as { dtype: string }).dtype === 'float64') {
          params = { dtype: 'float32' } as never;
          inputs = [M.reshape(inputs[0], [inputs[0].size])];
        }
        if (prim === 'cast' && (params as { dtype: string }).dtype === 'float64') return;
        const batch = rng.int(1, 3);
        const batched = inputs.map(() => rng.bool(0.6));
        batched[rng.int(0, inputs.length - 1)] = true;
        const rows = inputs.map((x, i) => (batched[i] ? Array.from({ length: batch }, (_, b) => toGpu(b === 0 ? x : another(x, rng))) : null));
        const axes = inputs.map((x, i) => (batched[i] ? rng.int(0, x.ndim) : null));
        const shared = inputs.map(toGpu);
        const stacked = shared.map((x, i) => (rows[i] ? M.stack(rows[i] as Tensor[], axes[i] as number) : x));
        const expected = M.stack(
          Array.from({ length: batch }, (_, b) => M.bind(prim, shared.map((x, i) => rows[i]?.[b] ?? x), params)),
          0,
        );
        const label = `${prim} seed ${seed} batch ${batch} axes ${JSON.stringify(axes)} shapes ${JSON.stringify(inputs.map((x) => x.shape))} params ${JSON.stringify(params)}`;
        const actual = M.vmap((...xs: Tensor[]) => M.bind(prim, xs, params), { inAxes: axes })(...stacked);
        await expectGpuTreesClose(actual, expected, prim === 'matmul' ? 1e-6 : 0, label);
      }),
      { numRuns: runs(15) },
    );
  });

  it('threefry with a batch of keys gives the CPU hash of each row, bit for bit (odd and even rows)', async () => {
    const rng = new Rng(4);
    for (const n of [1, 2, 5, 8, 33]) {
      const keys = u32T(rng, [3, 4, 2]);
      const counts = u32T(rng, [3, 4, n]);
      const out = await M.vmap(M.vmap((k: Tensor, c: Tensor) => M.bind('threefry', [k, c], {})))(toGpu(keys), toGpu(counts)).data();
      const [kv, cv] = [keys.dataSync() as Uint32Array, counts.dataSync() as Uint32Array];
      for (let r = 0; r < 12; r++) {
        const expected = threefryHash(kv.slice(2 * r, 2 * r + 2), cv.slice(r * n, (r + 1) * n));
        expect(Array.from(out.slice(r * n, (r + 1) * n)), `n ${n} row ${r}`).toEqual(Array.from(expected));
      }
    }
  });

  it('vmap(f) and jit(vmap(f)) equal the rows stacked on random float32 programs', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), async (seed, n) => {
        const program = buildProgram(seed, n, M.cpu, undefined, 'float32');
        const ir = M.makeIR(program.f)(...program.inputs);
        if ([...ir.equations.map((eq) => eq.out.aval), ...ir.constants.map((c) => c.value.aval)].some((a) => a.dtype === 'float64')) return;
        const staged: M.IRProgram = { ...ir, constants: ir.constants.map(({ v, value }) => ({ v, value: toGpu(value) })) };
        const f = (...xs: Tensor[]) => M.evalIR(staged, xs)[0];
        const rng = new Rng(seed ^ 0x3c6ef372);
        const batch = rng.int(1, 3);
        const rows = program.inputs.map((x) =>
          Array.from({ length: batch }, (_, b) => toGpu(b === 0 ? x : M.add(x, M.mul(M.random.normal(M.random.key(b), x.shape), 0.05 * b)))),
        );
        const stacked = rows.map((r) => M.stack(r, 0));
        const expected = M.stack(Array.from({ length: batch }, (_, b) => f(...rows.map((r) => r[b]))), 0);
        const listing = `seed ${seed}, batch ${batch}:\n  ${program.listing.join('\n  ')}`;
        await expectGpuTreesClose(M.vmap(f)(...stacked), expected, 1e-5, `vmap ${listing}`);
        await expectGpuTreesClose(M.jit(M.vmap(f))(...stacked), expected, 1e-5, `jit(vmap) ${listing}`);
        checked++;
      }),
      { numRuns: runs(40) },
    );
    expect(checked).toBeGreaterThan(runs(40) / 2);
  });

  it.each(['sg-rp', 'sgm-mrp'] as const)('3 agents of %s in one call equal 3 separate updates (eager and jit)', async (name) => {
    const agent = { 'sg-rp': { name, kind: 'single', estimator: 'rp' }, 'sgm-mrp': { name, kind: 'mixture', estimator: 'mrp' } }[name] as never;
    const h = hyperparameters(agent);
    const n = 3;
    const keys = Array.from({ length: n }, (_, i) => M.tensor(rawFoldIn(rawKey(11), i), { backend: webgpu() }));
    const buffers = replays(n);
    const batches = buffers.map((b, i) => b.sample(rawFoldIn(rawKey(100 + i), 0), 16, { backend: webgpu() }));
    const stepKeys = keys.map((k) => M.random.foldIn(k, 0));
    const single = makeSacUpdate(h);
    const expected = M.treeStack(keys.map((k, i) => single(initSac(h, k), batches[i], stepKeys[i])));
    for (const jit of [false, true]) {
      const states = initSacBatch(h, M.stack(keys, 0));
      const out = makeBatchedSacUpdate(h, n, { jit })(states, M.treeStack(batches), M.stack(stepKeys, 0));
      await expectGpuTreesClose(out, expected, 1e-5, `${name} jit ${jit}`);
    }
  });
});
