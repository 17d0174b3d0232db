/**
 * jit on WebGPU, fusion into products and reductions: a fused group applied to a product's or
 * reduction's result runs in that kernel's store (epilogue), a group only a reduction reads is
 * computed where the reduction reads it (prologue). Each form (bias rows and columns, activations,
 * batched and transposed products, multi-output groups, reductions of every schedule, prologues
 * with broadcast leaves) is compiled with these groups and without; the fused plan agrees with
 * eager WebGPU (float32, within rounding) and with the CPU in float64 (within float32 accumulation
 * error), and dispatches exactly one kernel fewer per group moved. Cases that must not fuse (a
 * product read twice, a group that would bind too many buffers) keep their dispatches.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { compileWebGPUPlan } from '../../src/autodiff/jit/plan-webgpu';
import { sacUpdateProgram } from './helpers';
import { describeWebGPU, expectClose, floats, gpuAndFloat64, randomInput, webgpu } from '../webgpu/gpu';

type Program = (...xs: Tensor[]) => Tensor | Tensor[];

const input = gpuAndFloat64;
const random = randomInput;

/**
 * Compiles `f` with and without epilogues, runs both twice, and checks the fused plan against eager
 * WebGPU and the float64 CPU (`terms`: the most products or terms summed into one value); returns
 * the dispatches of both plans and the groups the fused plan moved into kernels.
 */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string) {
  const gpuInputs = inputs.map((x) => x.gpu);
  const [program] = optimizeProgram(M.makeIR(f)(...gpuInputs));
  // Without siblings, so that each plan's dispatches count its groups alone.
  // Outer products and sums over axes of one element stay products and reductions (elementwise: false).
  const fused = compileWebGPUPlan(program, webgpu(), { siblings: false, merge: false, elementwise: false });
  const plain = compileWebGPUPlan(program, webgpu(), { kernelGroups: false, siblings: false, merge: false, elementwise: false });
  plain.run(gpuInputs);
  fused.run(gpuInputs);
  const actual = fused.run(gpuInputs); // the replayed plan
  const eager = [f(...gpuInputs)].flat();
  const exact = [f(...inputs.map((x) => x.cpu))].flat();
  expect(actual.length, what).toBe(exact.length);
  for (let i = 0; i < exact.length; i++) {
    expect(actual[i].shape, what).toEqual(exact[i].shape);
    expect(actual[i].dtype, what).toBe(eager[i].dtype);
    const values = await actual[i].data();
    expectClose(values, await eager[i].data(), 1e-6, 1e-5, `${what}, output ${i} vs eager`);
    expectClose(values, exact[i].dataSync(), 2e-7 * terms + 1e-6, 1e-5, `${what}, output ${i} vs float64`);
  }
  return {
    fused: fused.stats.dispatchesPerCall,
    plain: plain.stats.dispatchesPerCall,
    epilogues: fused.stats.epilogues,
    prologues: fused.stats.prologues,
  };
}

/** Swaps the last two axes. */
const swapLast = (t: Tensor): Tensor => M.swapAxes(t, -1, -2);

/** Elementwise groups applied to a product `z` of shape [..., m, n] (inputs: bias [n], column [m, 1], same [..., m, n]). */
const MATMUL_EPILOGUES = {
  biasRelu: (z: Tensor, b: Tensor) => M.relu(M.add(z, b)),
  rowTanh: (z: Tensor, b: Tensor) => M.tanh(M.add(z, M.reshape(b, [1, b.shape[0]]))),
  column: (z: Tensor, _b: Tensor, c: Tensor) => M.add(M.mul(z, c), 1),
  same: (z: Tensor, _b: Tensor, _c: Tensor, y: Tensor) => M.sub(M.exp(M.mul(z, 0.5)), y),
  scalarSigmoid: (z: Tensor) => M.sigmoid(M.mul(z, 3)),
} as const satisfies Record<string, (z: Tensor, b: Tensor, c: Tensor, y: Tensor) => Tensor>;

describeWebGPU('jit on WebGPU: groups fused into matrix products and reductions', () => {
  it('matmul epilogues on random sizes, batches and folded layouts equal eager and float64, one dispatch fewer', async () => {
    const dims = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 70 }));
    const batches = fc.constantFrom<[number[], number[]]>([[], []], [[3], [3]], [[2, 1], [3]], [[2], []], [[], [2]]);
    const kinds = fc.constantFrom(...(Object.keys(MATMUL_EPILOGUES) as (keyof typeof MATMUL_EPILOGUES)[]));
    await fc.assert(
      fc.asyncProperty(dims, dims, dims, batches, fc.boolean(), fc.boolean(), kinds, fc.integer({ min: 1, max: 2 ** 30 }), async (m, k, n, [ba, bb], tA, tB, kind, seed) => {
        const batch = ba.length >= bb.length ? ba.map((d, i) => Math.max(d, bb[i - ba.length + bb.length] ?? 1)) : bb;
        const inputs = [
          random(seed, ...ba, ...(tA ? [k, m] : [m, k])),
          random(seed + 1, ...bb, ...(tB ? [n, k] : [k, n])),
          random(seed + 2, n),
          random(seed + 3, m, 1),
          random(seed + 4, ...batch, m, n),
        ];
        const f = (x: Tensor, w: Tensor, b: Tensor, c: Tensor, y: Tensor) =>
          MATMUL_EPILOGUES[kind](M.matmul(tA ? swapLast(x) : x, tB ? swapLast(w) : w), b, c, y);
        const what = `${kind}: [${ba}] ${tA ? 'ᵀ' : ''} @ [${bb}] ${tB ? 'ᵀ' : ''}, m ${m} k ${k} n ${n}`;
        const r = await check(f, inputs, k, what);
        expect(r.epilogues, what).toBe(1);
        expect(r.plain - r.fused, what).toBe(1);
      }),
      { numRuns: 24 },
    );
  });

  it('stores a multi-output group (pre-activation and activation) and a comparison (bool) from the product', async () => {
    const [x, w, b] = [random(1, 5, 7), random(2, 7, 66), random(3, 66)];
    const multi = (x: Tensor, w: Tensor, b: Tensor) => {
      const h = M.add(M.matmul(x, w), b);
      return [M.mean(M.relu(h)), h];
    };
    const r = await check(multi, [x, w, b], 7 * 66, 'h and relu(h)');
    // The product's group and the mean's scale are epilogues (relu(h) is the product's, so no prologue).
    expect(r).toMatchObject({ epilogues: 2, prologues: 0, fused: r.plain - 2 });
    // Small integers: every product and sum is exact, so the comparison is too.
    const ints = (seed: number, ...shape: number[]) => input(shape, floats(seed, shape.reduce((p, d) => p * d, 1), -4, 4).map(Math.round));
    const compare = (x: Tensor, w: Tensor, b: Tensor) => M.greater(M.matmul(x, w), b);
    const c = await check(compare, [ints(4, 6, 9), ints(5, 9, 10), ints(6, 10)], 0, 'x @ w > b');
    expect(c).toMatchObject({ epilogues: 1, fused: c.plain - 1 });
  });

  it('epilogues read through a reshape: by row and column where it keeps the last two axes, by flat index where it does not', async () => {
    // The product [2, 6, 5]: viewed as [1, 2, 6, 5] its rows and columns are the group's last two
    // axes (bias and column vector found by row and column); viewed as [2, 3, 10] they are not, so
    // the store walks the flat index over the group's own shape.
    const [x, w] = [random(1, 2, 6, 7), random(2, 2, 7, 5)];
    const kept = (x: Tensor, w: Tensor, b: Tensor, c: Tensor) => M.relu(M.add(M.mul(M.reshape(M.matmul(x, w), [1, 2, 6, 5]), c), b));
    const r = await check(kept, [x, w, random(3, 5), random(4, 6, 1)], 7, 'reshape keeping [6, 5]');
    expect(r).toMatchObject({ epilogues: 1, fused: r.plain - 1 });
    const regrouped = (x: Tensor, w: Tensor, b: Tensor, c: Tensor) => M.tanh(M.add(M.mul(M.reshape(M.matmul(x, w), [2, 3, 10]), c), b));
    const s = await check(regrouped, [x, w, random(5, 10), random(6, 3, 1)], 7, 'reshape to [2, 3, 10]');
    expect(s).toMatchObject({ epilogues: 1, fused: s.plain - 1 });
  });

  it('an empty contraction stores the epilogue of zero (b + 0)', async () => {
    const r = await check((x: Tensor, w: Tensor, b: Tensor) => M.add(M.matmul(x, w), b), [random(1, 3, 0), random(2, 0, 4), random(3, 4)], 0, 'k = 0');
    // Without the epilogue the product is a clear (no dispatch) and the add a kernel.
    expect(r).toEqual({ epilogues: 1, prologues: 0, fused: 1, plain: 1 });
  });

  it('reduction epilogues in every schedule (thread, workgroup, split) and over middle axes equal eager and float64', async () => {
    const cases: [string, Program, number[], number][] = [
      ['mean over 5 terms (thread)', (x) => M.mean(x, [1]), [7, 5], 5],
      ['log of a sum over 40 terms (workgroup)', (x) => M.log(M.add(M.sum(M.mul(x, x), [0]), 1)), [40, 3], 40],
      ['sum of 20000 terms times 1/2 (split into parts)', (x) => M.mul(M.sum(x), 0.5), [20000], 20000],
      ['max over axis 1 of [3, 4, 5], exp, times a [3, 5] tensor plus a bias [5]', (x, y, b) => M.add(M.mul(M.exp(M.max(x, [1])), y), b), [3, 4, 5], 4],
      ['min over axes 0 and 2, negated, keeping the axes (through a reshape)', (x) => M.neg(M.min(x, [0, 2], true)), [3, 4, 5], 15],
      ['logsumexp over 64 terms', (x) => M.logsumexp(x, [1]), [3, 64], 64],
    ];
    for (const [what, f, shape, terms] of cases) {
      const inputs = [random(11, ...shape), random(12, 3, 5), random(13, 5)].slice(0, f.length);
      const r = await check(f, inputs, terms, what);
      expect(r.epilogues, what).toBeGreaterThanOrEqual(1);
      expect(r.plain - r.fused, what).toBe(r.epilogues + r.prologues);
    }
  });

  it('reduction prologues (broadcast leaves, every schedule, extra values stored) equal eager and float64', async () => {
    const cases: [string, Program, number[][], number, { epilogues: number; prologues: number }][] = [
      ['mean((q - y)²) over 7 terms (thread)', (q, y) => M.mean(M.square(M.sub(q, y)), [1]), [[5, 7], [5, 7]], 7, { epilogues: 1, prologues: 1 }],
      ['sum over axis 0 of (x - b[n])² with 40 terms (workgroup)', (x, b) => M.sum(M.square(M.sub(x, b)), [0]), [[40, 6], [6]], 40, { epilogues: 0, prologues: 1 }],
      ['sum over axis 1 of x * c[m, 1] (a column)', (x, c) => M.sum(M.mul(x, c), [1]), [[6, 9], [6, 1]], 9, { epilogues: 0, prologues: 1 }],
      ['sum over axes 0 and 2 of exp(x) * y[4, 1] (middle axis kept)', (x, y) => M.sum(M.mul(M.exp(x), y), [0, 2]), [[3, 4, 5], [4, 1]], 15, { epilogues: 0, prologues: 1 }],
      ['count of x > 0.25 over axis 1 (a comparison cast to int32)', (x) => M.sum(M.greater(x, 0.25), [1]), [[6, 50]], 0, { epilogues: 0, prologues: 1 }],
      ['max of x * y over 20000 terms (split into parts)', (x, y) => M.max(M.mul(x, y)), [[20000], [20000]], 1, { epilogues: 0, prologues: 1 }],
      ['h = 2x returned, sum of exp(h) over axis 1', (x) => {
        const h = M.mul(x, 2);
        return [M.sum(M.exp(h), [1]), h];
      }, [[4, 70]], 70 * 8, { epilogues: 0, prologues: 1 }],
      // max, then exp(x - max) summed, then log(sum) + max: five kernels become two.
      ['logsumexp over 64 terms', (x) => M.logsumexp(x, [1]), [[3, 64]], 64, { epilogues: 2, prologues: 1 }],
      // Split into parts, each group storing a value: the prologue's in the first pass, the epilogue's in the second.
      ['e = exp(x) and s = 2 sum(e y) returned, over 20000 terms (split into parts)', (x, y) => {
        const e = M.exp(x);
        const s = M.mul(M.sum(M.mul(e, y)), 2);
        return [M.add(s, 1), e, s];
      }, [[20000], [20000]], 20000 * 3, { epilogues: 1, prologues: 1 }],
    ];
    for (const [what, f, shapes, terms, groups] of cases) {
      const r = await check(f, shapes.map((shape, i) => random(21 + i, ...shape)), terms, what);
      expect(r, what).toMatchObject({ ...groups, fused: r.plain - groups.epilogues - groups.prologues });
    }
  });

  it('random reductions with a prologue and an epilogue (random shapes, axes, broadcast leaves) equal eager and float64', async () => {
    const ops = { sum: M.sum, max: M.max, min: M.min } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.constantFrom<keyof typeof ops>('sum', 'max', 'min'),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (shape, reduced, keptInB, keptInC, op, seed) => {
          const axes = shape.map((_, i) => i).filter((i) => reduced[i]);
          if (axes.length === 0) axes.push(shape.length - 1);
          const outShape = shape.filter((_, i) => !axes.includes(i));
          // b broadcasts over x (the prologue's leaf), c over the result (the epilogue's).
          const bShape = shape.map((d, i) => (keptInB[i] ? d : 1));
          const cShape = outShape.map((d, i) => (keptInC[i] ? d : 1));
          const f = (x: Tensor, b: Tensor, c: Tensor) => M.mul(M.add(ops[op](M.mul(M.tanh(M.sub(x, b)), x), axes), c), 0.5);
          const terms = axes.reduce((n, a) => n * shape[a], 1);
          const what = `${op} over ${JSON.stringify(axes)} of [${shape}], b [${bShape}], c [${cShape}]`;
          const r = await check(f, [random(seed, ...shape), random(seed + 1, ...bShape), random(seed + 2, ...cShape)], terms, what);
          expect(r, what).toMatchObject({ prologues: 1, epilogues: 1, fused: r.plain - 2 });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('the same groups over shapes of another rank compile a kernel of their own (their params start elsewhere)', async () => {
    // A prologue and an epilogue each reading a broadcast leaf: the epilogue's params follow the
    // prologue's, whose length grows with the rank.
    const f = (x: Tensor, b: Tensor, c: Tensor) => M.mul(M.sum(M.square(M.sub(x, b)), [-1]), c);
    for (const shape of [[2, 4, 6], [3, 2, 4, 6], [2, 3, 2, 4, 6]]) {
      const r = await check(f, [random(31, ...shape), random(32, 6), random(33, 4)], 6, `rank ${shape.length}`);
      expect(r).toMatchObject({ prologues: 1, epilogues: 1 });
    }
  });

  it('a two-layer network is two dispatches (four without epilogues)', async () => {
    const mlp = (x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => M.tanh(M.add(M.matmul(M.relu(M.add(M.matmul(x, w1), b1)), w2), b2));
    const r = await check(mlp, [random(1, 32, 3), random(2, 3, 64), random(3, 64), random(4, 64, 2), random(5, 2)], 64, 'mlp');
    expect(r).toEqual({ fused: 2, plain: 4, epilogues: 2, prologues: 0 });
  });

  it('does not fuse a product read twice, nor a group that would bind more buffers than a kernel may', async () => {
    const twice = (x: Tensor, w: Tensor) => {
      const z = M.matmul(x, w);
      return [M.tanh(z), M.mul(z, 2)];
    };
    const r = await check(twice, [random(1, 4, 6), random(2, 6, 5)], 6, 'read twice');
    expect(r).toMatchObject({ epilogues: 0, fused: r.plain });
    // A group reading the product and `others` tensors binds params, output and `others + 1` leaves;
    // in the product's kernel it binds params, output, 2 operands and `others` leaves.
    const limit = webgpu().storageBuffersPerKernel;
    const chain = (x: Tensor, w: Tensor, ...cs: Tensor[]) => cs.reduce((acc, c, i) => (i % 2 ? M.mul(acc, c) : M.add(acc, c)), M.matmul(x, w));
    for (const others of [limit - 4, limit - 3]) {
      const inputs = [random(1, 4, 6), random(2, 6, 5), ...Array.from({ length: others }, (_, i) => random(10 + i, 4, 5))];
      const s = await check(chain, inputs, 6, `${others} other leaves`);
      const fits = others <= limit - 4;
      expect(s, `${others} other leaves`).toMatchObject({ epilogues: fits ? 1 : 0, fused: fits ? 1 : 2, plain: 2 });
    }
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update dispatches one kernel fewer per group moved into a kernel', async (_name, kind, estimator) => {
    const gpu = webgpu();
    const { program, inputs } = sacUpdateProgram(gpu, kind, estimator, 1);
    const [fused, plain] = [compileWebGPUPlan(program, gpu, { siblings: false, merge: false }), compileWebGPUPlan(program, gpu, { kernelGroups: false, siblings: false, merge: false })];
    fused.run(inputs);
    plain.run(inputs);
    expect(fused.stats.epilogues).toBeGreaterThan(40);
    expect(fused.stats.prologues).toBeGreaterThan(2);
    expect(plain.stats.dispatchesPerCall - fused.stats.dispatchesPerCall).toBe(fused.stats.epilogues + fused.stats.prologues);
  });
});
