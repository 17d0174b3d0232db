/**
 * jit on WebGPU, merged dispatches: the kernels of independent steps (a product, reductions, fused
 * groups, random bits: any kinds) recorded as one dispatch (`tensor/webgpu/merge.ts`). Each program
 * is compiled with merging and without: the merged plan agrees with the other bit for bit (each
 * member runs its own code on its own workgroups), with eager WebGPU within rounding and with the
 * CPU in float64 within float32 accumulation error, and dispatches exactly one kernel fewer per
 * kernel merged beyond the first of each merged dispatch. A merged dispatch takes at most one
 * kernel binding the caller's buffers (inputs not donated, values returned), so the programs here
 * put the kernels to merge between levels that read inputs and store outputs. Merging is asked for
 * (`merge: true`): software adapters, such as lavapipe in CI, do not merge by default.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { sacUpdateProgram } from './helpers';
import { checkProgram, comparePlans, gpuProgram, gradOfSquares } from './webgpu-plans';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { rawKey } from '../../src/tensor/threefry';
import { describeWebGPU, floats, randomInput, webgpu } from '../webgpu/gpu';
import { matmulWgsl } from '../../shaders/matmul';
import { argReduceWgsl } from '../../shaders/reduce';
import { memberShape, mergedWgsl } from '../../shaders/merge';
import { type DeferredDispatch, type MergeLimits, planMerge } from '../../src/tensor/webgpu/merge';

type Program = (...xs: Tensor[]) => Tensor[];

/** `checkProgram` with merging and without; asserts the dispatch count's identity and returns the merge stats. */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string) {
  const { on, without } = await checkProgram(f, inputs, terms, what, { merge: true }, { merge: false });
  expect(without.dispatchesPerCall - on.dispatchesPerCall, what).toBe(on.mergedKernels - on.mergedDispatches);
  return on;
}

describe('merged kernels: the WGSL', () => {
  it('reads a member\'s workgroup size and workgroup memory, and refuses forms it cannot merge', () => {
    // 16x16 invocations; two [16, 64] tiles, their rows of 16 vec4s padded by one: 2 * 16 * 17 * 16 bytes.
    expect(memberShape(matmulWgsl('f32'))).toEqual({ size: [16, 16, 1], workgroupBytes: 8704 });
    // 32x32 tiles: rows of 16 vec2s and one of padding; 128x128: rows of 32 vec4s, swizzled, not padded.
    expect(memberShape(matmulWgsl('f32', { tile: 32 }))?.workgroupBytes).toBe(2 * 16 * 17 * 8);
    expect(memberShape(matmulWgsl('f32', { tile: 128 }))?.workgroupBytes).toBe(16384);
    // Strips: 128 invocations, [128, 17] + [16, 5] floats.
    expect(memberShape(matmulWgsl('f32', { tile: 'strip', strip: { short: 'N', width: 5 } }))).toEqual({ size: [128, 1, 1], workgroupBytes: 4 * (128 * 17 + 16 * 5) });
    const argmax = argReduceWgsl('f32', '>');
    expect(memberShape(argmax)).toEqual({ size: [256, 1, 1], workgroupBytes: 0 });
    expect(memberShape(`enable f16;\n${argmax}`)).toBeUndefined();
    expect(memberShape(argmax.replace('@builtin(local_invocation_index) lid: u32', '@builtin(subgroup_invocation_id) lid: u32'))).toBeUndefined();
    expect(memberShape(argmax.replace('@workgroup_size(256)', '@workgroup_size(SIZE)'))).toBeUndefined();
  });

  it('prefixes each member\'s names, moves its bindings and params, and gives it its own workgroups', () => {
    const argmax = argReduceWgsl('f32', '>');
    const merged = mergedWgsl(
      [
        { source: matmulWgsl('f32'), groups: [2, 3, 1], size: [16, 16, 1], paramsAt: 0, bindingsAt: 1 },
        { source: argmax, groups: [4, 1, 1], size: [256, 1, 1], paramsAt: 9, bindingsAt: 4 },
      ],
      [256, 1, 1],
    );
    // One params binding; member 1's bindings 1 (out) and 2 (x) at 4 and 5, its params from word 9.
    expect(merged.match(/var<storage, read> params/g)).toHaveLength(1);
    expect(merged).toContain('@group(0) @binding(4) var<storage, read_write> m1_out: array<i32>;');
    expect(merged).toContain('@group(0) @binding(5) var<storage, read> m1_x: array<f32>;');
    expect(merged).toContain('params[9u + 0]');
    expect(merged).toContain('fn m0_main(');
    expect(merged).toContain('fn m1_main(');
    // Workgroups 0..5 run the product (a 2x3 grid: its workgroup id from the flat one), 6..9 the argmax.
    expect(merged).toContain('if (r < 6u)');
    expect(merged).toContain('if (r < 10u)');
    expect(merged).toContain('let q = r - 6u;');
    expect(merged).toContain('vec3u(q % 2u, (q / 2u) % 3u, q / 6u)');
    // The product's 16x16 local ids from the merged kernel's flat index.
    expect(merged).toContain('vec3u(lidx % 16u, (lidx / 16u) % 16u, lidx / 256u)');
  });
});

describe('merged kernels: what merges', () => {
  const source1d = argReduceWgsl('f32', '>');
  const tiled = matmulWgsl('f32');
  const strip = matmulWgsl('f32', { tile: 'strip', strip: { short: 'N', width: 5 } });
  /** A deferred dispatch of `source` by step `step`, binding `buffers` buffers and `params` words. */
  const dispatch = (step: number, source: string, { buffers = 2, params = 3, groups = 4, checksIndices = false } = {}): DeferredDispatch => ({
    kernel: `k${step}`,
    key: source,
    source: () => source,
    pipeline: { step } as unknown as GPUComputePipeline,
    params: new Array(params).fill(0),
    buffers: Array.from({ length: buffers }, () => ({}) as GPUBuffer),
    access: 'w'.padEnd(buffers, 'r'),
    groups: [groups, 1, 1],
    checksIndices,
    step,
  });
  const limits: MergeLimits = { storageBuffers: 16, workgroupBytes: 16384, groupsPerDimension: 65535, memberGroups: 256 };
  const host = { shapeOf: (_key: string, source: () => string) => memberShape(source()), pipeline: () => ({}) as GPUComputePipeline };
  const plan = (deferred: DeferredDispatch[], varying: boolean[] = []) => {
    const p = planMerge(deferred, limits, host, varying);
    return { alone: p.alone, merged: p.merged.map((m) => m.members) };
  };

  it('packs kernels of one invocation count in order, each into the first pack its bindings, params and workgroup memory fit', () => {
    // 1-D kernels and 16x16 tiles (256 invocations) merge; strips (128) could merge only with
    // strips, and two strips' workgroup memory (8.8 KiB each) passes WebGPU's default 16 KiB.
    expect(plan([dispatch(0, source1d), dispatch(1, tiled), dispatch(2, strip), dispatch(3, source1d), dispatch(4, strip)])).toEqual({ alone: [2, 4], merged: [[0, 1, 3]] });
    expect(planMerge([dispatch(0, strip), dispatch(1, strip)], { ...limits, workgroupBytes: 32768 }, host).merged.map((m) => m.members)).toEqual([[0, 1]]);
    // 1 + 5 + 5 + 5 bindings fit 16; a fourth kernel of 5 starts a pack of its own.
    expect(plan([0, 1, 2, 3].map((s) => dispatch(s, source1d, { buffers: 5 })))).toEqual({ alone: [3], merged: [[0, 1, 2]] });
    // The params window holds 256 words.
    expect(plan([0, 1, 2].map((s) => dispatch(s, source1d, { params: 100 })))).toEqual({ alone: [2], merged: [[0, 1]] });
    // 64x64 tiles take 8.5 KiB of workgroup memory: two pass 16 KiB, so each runs alone. 32x32
    // tiles take 4.25 KiB: three fit, and a fourth starts a pack of its own (alone here).
    expect(plan([0, 1, 2].map((s) => dispatch(s, tiled)))).toEqual({ alone: [0, 1, 2], merged: [] });
    const tiled32 = matmulWgsl('f32', { tile: 32 });
    expect(plan([0, 1, 2, 3].map((s) => dispatch(s, tiled32)))).toEqual({ alone: [3], merged: [[0, 1, 2]] });
    // First fit: 1 + 4 + 12 passes 16, so 12 starts a pack, and 5 joins the first one (a one-agent
    // SGM-MRP level on lavapipe: two dispatches where packing into the latest pack made three).
    expect(plan([4, 12, 5].map((buffers, s) => dispatch(s, source1d, { buffers })))).toEqual({ alone: [1], merged: [[0, 2]] });
  });

  it('runs alone what must not merge: a step\'s second dispatch, index kernels, large or empty grids, forms it cannot read', () => {
    const twoPasses = [dispatch(0, source1d), dispatch(0, source1d)];
    expect(plan([...twoPasses, dispatch(1, source1d)])).toEqual({ alone: [0, 1, 2], merged: [] });
    expect(plan([dispatch(0, source1d, { checksIndices: true }), dispatch(1, source1d, { checksIndices: true }), dispatch(2, source1d)])).toEqual({ alone: [0, 1, 2], merged: [] });
    expect(plan([dispatch(0, source1d, { groups: 257 }), dispatch(1, source1d, { groups: 0 }), dispatch(2, source1d), dispatch(3, `enable f16;\n${source1d}`)])).toEqual({ alone: [0, 1, 2, 3], merged: [] });
  });

  it('takes at most one kernel binding the caller\'s buffers per merged dispatch', () => {
    const four = [0, 1, 2, 3].map((s) => dispatch(s, source1d));
    // Each into the first pack it may join: 1 cannot join 0's, 2 joins 0's, 3 joins neither.
    expect(plan(four, [true, true, false, true])).toEqual({ alone: [1, 3], merged: [[0, 2]] });
    expect(plan(four, [true, false, false, false])).toEqual({ alone: [], merged: [[0, 1, 2, 3]] });
  });
});

describeWebGPU('jit on WebGPU: merged dispatches', () => {
  it('a product, a reduction and fused groups, independent, are one dispatch, on random sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Products at least 17 wide run in square tiles (256 invocations per workgroup, as the others).
        fc.integer({ min: 17, max: 70 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 17, max: 70 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (m, k, n, width, seed) => {
          const inputs = [randomInput(seed, m, k), randomInput(seed + 1, k, n), randomInput(seed + 2, 3, width), randomInput(seed + 3, width)];
          // Level 0 reads the caller's buffers; level 1, only the plan's own: a product, a sum over
          // rows and two elementwise groups (one kernel of siblings), read by products on level 2.
          const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => {
            const [x, y, z, v] = [a, b, c, d].map((t) => M.tanh(t));
            const product = M.matmul(x, y);
            const rowSums = M.sum(z, 0);
            const [e, t] = [M.exp(M.mul(v, 0.5)), M.tanh(M.add(z, 1))];
            const column = M.reshape(e, [width, 1]);
            return [M.matmul(product, M.swapAxes(y, 0, 1)), M.matmul(M.reshape(rowSums, [1, width]), column), M.matmul(t, column)];
          };
          const what = `[${m}, ${k}] @ [${k}, ${n}], sum of [3, ${width}]`;
          const on = await check(f, inputs, Math.max(k, 3) * width, what);
          expect(on.mergedDispatches, what).toBe(1);
          expect(on.mergedKernels, what).toBe(3);
        },
      ),
      { numRuns: 4 },
    );
  });

  it('kernels binding the caller\'s buffers are not merged with each other', async () => {
    // Both read an input and store a returned value: buffers that can change every call, whose
    // combinations in one merged kernel would each need a bind group of their own.
    const f = (a: Tensor, b: Tensor) => [M.sum(a, 0), M.mul(M.matmul(b, b), 2)];
    const on = await check(f, [randomInput(8, 40, 30), randomInput(9, 20, 20)], 40, 'a sum beside a product, each of inputs into outputs');
    expect(on.mergedKernels).toBe(0);
    expect(on.dispatchesPerCall).toBe(2);
  });

  it('a buffer a member reads last is not another member\'s output in the same dispatch', async () => {
    // Level 0: p = a @ b and relu(q). Level 1: the row sums of p (its last reader) and u = relu(q) @ e,
    // an intermediate of p's size, in one merged dispatch. Had p's buffer been given back before u
    // took one, that dispatch would read and write it (a usage Dawn's validation rejects, and a race).
    // 60, not 64: an aligned product's 64x64 kernel runs 16x8 invocations, so it would not be merged
    // with the 256-invocation reduction.
    const inputs = [1, 2, 3, 4].map((seed) => randomInput(seed, 60, 60));
    const f = (a: Tensor, b: Tensor, q: Tensor, e: Tensor) => {
      const rowSums = M.sum(M.matmul(a, b), 1);
      const u = M.matmul(M.relu(q), e);
      return [M.add(M.matmul(u, e), M.reshape(rowSums, [60, 1]))];
    };
    const on = await check(f, inputs, 60 * 60, 'row sums of a @ b beside relu(q) @ e');
    expect(on.mergedDispatches).toBe(1);
  });

  it('a reduction in two passes and index kernels run alone, and right', async () => {
    const n = 20_000;
    const indices = (seed: number) => {
      const values = Int32Array.from(floats(seed, 40, 0, 64), Math.floor);
      return { gpu: M.tensor(values, { backend: webgpu() }) as ArrayTensor, cpu: M.tensor(values) as ArrayTensor };
    };
    const inputs = [randomInput(3, n), randomInput(4, 64), randomInput(5, 64), indices(6), indices(7)];
    // Two dependent passes (partial sums, then their total) beside two gathers, which check their
    // indices through the backend's one fault word (bound twice, a merged dispatch would be invalid).
    const f = (x: Tensor, y: Tensor, z: Tensor, i: Tensor, j: Tensor) => [M.sum(x), M.take(y, i, 0), M.take(z, j, 0), M.exp(z)];
    await check(f, inputs, n, 'two-pass sum, two gathers');
  });

  it('random bits merged with other kernels are eager\'s bits', async () => {
    const key = M.tensor(rawKey(7), { backend: webgpu() }) as ArrayTensor;
    // Level 1: uniforms from a split key and the row sums of a product (exp as their epilogue), one dispatch.
    const f = (k: Tensor, a: Tensor) => {
      const [k1] = M.random.split(k, 2);
      const u = M.random.uniform(k1, [17, 9]);
      const e = M.exp(M.mul(M.sum(M.matmul(a, M.swapAxes(a, 0, 1)), 1), 0.1));
      return [M.matmul(M.swapAxes(u, 0, 1), M.reshape(e, [17, 1])), u];
    };
    const on = await check(f, [{ gpu: key, cpu: M.tensor(rawKey(7)) as ArrayTensor }, randomInput(5, 17, 9)], 9 * 17, 'uniforms beside the row sums of a product');
    expect(on.mergedKernels).toBe(2);
  });

  it('random programs and their gradients are the same bit for bit merged, whatever kernels they merge', async () => {
    // Every kind of kernel the plans make, rewritten into merged kernels: a form the rewriting gets
    // wrong fails to compile (an error at the next check) or computes other bits.
    let merged = 0;
    const property = fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 8 }), async (seed, n) => {
      const p = gpuProgram(seed, n);
      if (!p) return;
      const grads = gradOfSquares(p.f, p.inputs.length);
      const valueAndGrads = (...xs: Tensor[]) => [p.f(...xs), ...grads(...xs)];
      const [program] = optimizeProgram(M.makeIR(valueAndGrads)(...p.inputs));
      const { on } = await comparePlans(program, p.inputs as ArrayTensor[], { merge: true }, { merge: false }, p.listing);
      merged += on.stats.mergedKernels;
    });
    // Batches of 25 programs until more than 10 merged kernels have been compared, at most 8 batches.
    // Over 400 seeds (session 27) 19% of the programs merged kernels, at least 2 each, 0.56 per
    // program on average: 25 programs fall short for about one seed in three (resampled), which a
    // soak run with random seeds met; 200 fall short only if at most 5 of them merge, probability
    // 1e-12 (binomial). The fixed CI seed's first batch has enough: CI checks the same 25 programs.
    const { seed } = fc.readConfigureGlobal();
    for (let batch = 0; batch < 8 && merged <= 10; batch++) {
      await fc.assert(property, { numRuns: 25, ...(batch > 0 && seed !== undefined ? { seed: seed + batch } : {}) });
    }
    expect(merged).toBeGreaterThan(10);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit, one dispatch fewer per kernel merged', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    const { on, without } = await comparePlans(program, inputs, { merge: true }, { merge: false });
    expect(on.stats.mergedKernels).toBeGreaterThan(5);
    expect(without.stats.dispatchesPerCall - on.stats.dispatchesPerCall).toBe(on.stats.mergedKernels - on.stats.mergedDispatches);
    console.log(`[jit webgpu] ${_name}: ${without.stats.dispatchesPerCall} dispatches per update alone, ${on.stats.dispatchesPerCall} merged (${on.stats.mergedKernels} kernels in ${on.stats.mergedDispatches} merged dispatches)`);
  });
});
