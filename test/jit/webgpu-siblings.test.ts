/**
 * jit on WebGPU, sibling kernels: independent products of one shape (with their epilogues),
 * independent reductions of one shape (with their prologues and epilogues) and independent fused
 * groups run as one dispatch each (`siblings.ts`). Each form is compiled with
 * siblings and without: the sibling plan agrees with the plan without them bit for bit (the same
 * arithmetic per element), with eager WebGPU within rounding and with the CPU in float64 within
 * float32 accumulation error, and dispatches exactly one kernel fewer per member merged. Kernels
 * that would bind too many buffers are split.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { sacUpdateProgram } from './helpers';
import { checkProgram, comparePlans } from './webgpu-plans';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { rawKey } from '../../src/tensor/threefry';
import { describeWebGPU, expectEqual, floats, gpuAndFloat64, randomInput, webgpu } from '../webgpu/gpu';

type Program = (...xs: Tensor[]) => Tensor[];

/** `checkProgram` with siblings and without: both plans' dispatches and the members merged. */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string) {
  const { on, without } = await checkProgram(f, inputs, terms, what, { merge: false }, { siblings: false });
  return { merged: on.dispatchesPerCall, alone: without.dispatchesPerCall, siblings: on.siblings };
}

const swapLast = (t: Tensor): Tensor => M.swapAxes(t, -1, -2);

describeWebGPU('jit on WebGPU: sibling kernels', () => {
  it('independent products of one shape and layout, each with its own epilogue or none, are one dispatch, on random sizes, batches and layouts', async () => {
    const dims = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 70 }));
    const batches = fc.constantFrom<[number[], number[]]>([[], []], [[3], [3]], [[2, 1], [3]], [[2], []], [[], [2]]);
    await fc.assert(
      fc.asyncProperty(
        dims,
        dims,
        dims,
        batches,
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.constantFrom('none', 'relu(z + b)', 'tanh(2z) > 0.25'), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (m, k, n, [ba, bb], tA, tB, epilogues, members, seed) => {
          // One left operand, `members` right operands: the critics' first layers.
          const inputs = [
            randomInput(seed, ...ba, ...(tA ? [k, m] : [m, k])),
            ...Array.from({ length: members }, (_, j) => randomInput(seed + 1 + j, ...bb, ...(tB ? [n, k] : [k, n]))),
            ...Array.from({ length: members }, (_, j) => randomInput(seed + 10 + j, n)),
          ];
          // Each member its own epilogue: none, a bias and relu, or a comparison (a bool output).
          const f = (x: Tensor, ...rest: Tensor[]) =>
            rest.slice(0, members).map((w, j) => {
              const z = M.matmul(tA ? swapLast(x) : x, tB ? swapLast(w) : w);
              if (epilogues[j] === 'relu(z + b)') return M.relu(M.add(z, rest[members + j]));
              return epilogues[j] === 'none' ? z : M.greater(M.tanh(M.mul(z, 2)), 0.25);
            });
          const what = `${members}x [${ba}]${tA ? 'ᵀ' : ''} @ [${bb}]${tB ? 'ᵀ' : ''}, m ${m} k ${k} n ${n}, epilogues ${epilogues.slice(0, members).join(' | ')}`;
          const r = await check(f, inputs, k, what);
          expect(r.siblings, what).toBe(members - 1);
          expect(r.alone - r.merged, what).toBe(members - 1);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('sibling products bind an operand buffer they share once, so more of them fit a kernel', async () => {
    // Four products x @ w_j with relu(z + b_j): 1 + 4 · 4 = 17 bindings with x bound per product,
    // 1 + 1 + 4 · 3 = 14 with x bound once.
    const inputs = [randomInput(1, 6, 5), ...Array.from({ length: 4 }, (_, j) => randomInput(2 + j, 5, 7)), ...Array.from({ length: 4 }, (_, j) => randomInput(10 + j, 7))];
    const f = (x: Tensor, ...rest: Tensor[]) => rest.slice(0, 4).map((w, j) => M.relu(M.add(M.matmul(x, w), rest[4 + j])));
    const r = await check(f, inputs, 5, 'four products of one x');
    if (webgpu().storageBuffersPerKernel === 16) expect(r.merged).toBe(1);
    expect(r.siblings).toBe(r.alone - r.merged);
  });

  it('products of different shapes or layouts are not siblings', async () => {
    const [x, w1, w2] = [randomInput(1, 4, 5), randomInput(2, 5, 6), randomInput(3, 5, 7)];
    const shapes = await check((x, w1, w2) => [M.matmul(x, w1), M.matmul(x, w2)], [x, w1, w2], 5, 'different n');
    expect(shapes.siblings).toBe(0);
    // The same logical shapes, one right operand stored transposed (read in place by its product).
    const w2t = randomInput(5, 6, 5);
    const layouts = await check((x, w1, w2t) => [M.matmul(x, w1), M.matmul(x, swapLast(w2t))], [x, w1, w2t], 5, 'plain and transposed layouts');
    expect(layouts.siblings).toBe(0);
    // Products over K = 0 (zeros, a transposed operand among them) and empty products run alone.
    const [x0, w0, w0t, e] = [randomInput(6, 3, 0), randomInput(7, 0, 4), randomInput(8, 4, 0), randomInput(9, 0, 5)];
    const empty = await check((x0, w0, w0t, e, w1) => [M.matmul(x0, w0), M.matmul(x0, swapLast(w0t)), M.matmul(e, w1)], [x0, w0, w0t, e, randomInput(10, 5, 4)], 1, 'empty');
    expect(empty.siblings).toBe(0);
  });

  it('independent fused groups of different sizes, dtypes, broadcasts and stored intermediates are one dispatch', async () => {
    const ints = gpuAndFloat64([4], floats(9, 4, -4, 4).map(Math.round));
    const inputs = [randomInput(1, 5, 7), randomInput(2, 300), randomInput(3, 3, 1), randomInput(4, 1, 4), randomInput(5), ints, randomInput(6, 70)];
    const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor, s: Tensor, i: Tensor, e: Tensor) => {
      const stored = M.exp(M.mul(e, 0.5)); // returned and read by the next value: a multi-output group
      return [
        M.add(M.mul(M.tanh(a), 2), s),
        M.add(M.mul(b, b), s), // shares the scalar leaf with the group above
        M.sub(M.add(c, d), s), // broadcast [3, 1] + [1, 4]
        M.less(M.mul(i, 0.5), s), // boolean output
        stored,
        M.add(stored, s),
      ];
    };
    const r = await check(f, inputs, 1, 'six groups');
    // 16 bindings: the params, 9 leaves (7 inputs, the constants 2 and 0.5), 6 stored values.
    if (webgpu().storageBuffersPerKernel >= 16) expect(r.merged).toBe(1);
    expect(r.merged).toBeLessThan(r.alone);
    expect(r.siblings).toBe(r.alone - r.merged);
  });

  it('packs no more groups into a kernel than it can bind', async () => {
    // Each group binds two leaves of its own and its output: (limit - 1) / 3 groups per kernel.
    const limit = webgpu().storageBuffersPerKernel;
    const groups = 12;
    const inputs = Array.from({ length: 2 * groups }, (_, j) => randomInput(j + 1, 33));
    const f = (...xs: Tensor[]) => Array.from({ length: groups }, (_, j) => M.add(M.mul(xs[2 * j], 3), xs[2 * j + 1]));
    const r = await check(f, inputs, 1, `${groups} groups`);
    expect(r.merged).toBe(Math.ceil(groups / Math.floor((limit - 1) / 3)));
  });

  it('independent reductions of one shape and axes, each with its own groups, are one dispatch, on random shapes, axes and both schedules', async () => {
    const shapes = fc.oneof(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }), fc.array(fc.integer({ min: 30, max: 80 }), { minLength: 1, maxLength: 2 }));
    await fc.assert(
      fc.asyncProperty(
        shapes,
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.constantFrom('sum', 'max') as fc.Arbitrary<'sum' | 'max'>,
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        fc.array(fc.constantFrom('none', 'half', 'log'), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 2, max: 3 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (shape, pickAxes, op, prologues, epilogues, members, seed) => {
          const axes = shape.map((_, i) => i).filter((i) => pickAxes[i]);
          if (axes.length === 0) axes.push(shape.length - 1);
          // Per member x and y; one scalar s that the members' groups read (bound once).
          const inputs = [randomInput(seed), ...Array.from({ length: 2 * members }, (_, j) => randomInput(seed + 1 + j, ...shape))];
          const reduce = op === 'sum' ? M.sum : M.max;
          const f = (s: Tensor, ...xs: Tensor[]) =>
            Array.from({ length: members }, (_, j) => {
              const [x, y] = [xs[2 * j], xs[2 * j + 1]];
              // Prologue: (x y - s)², computed where the reduction reads it.
              const r = reduce(prologues[j] ? M.square(M.sub(M.mul(x, y), s)) : x, axes);
              // Epilogues: half the result (also returned: an extra output) plus s, or log(1 + r²).
              if (epilogues[j] === 'none') return [r];
              if (epilogues[j] === 'log') return [M.log1p(M.square(r))];
              const half = M.mul(r, 0.5);
              return [half, M.add(half, s)];
            }).flat();
          const groups = Array.from({ length: members }, (_, j) => `${prologues[j] ? 'prologue ' : ''}${epilogues[j]}`).join(' | ');
          const what = `${members}x ${op} of [${shape}] over [${axes}]: ${groups}`;
          const terms = axes.reduce((p, a) => p * shape[a], 1);
          const r = await check(f, inputs, terms, what);
          expect(r.siblings, what).toBe(members - 1);
          expect(r.alone - r.merged, what).toBe(members - 1);
        },
      ),
      { numRuns: 24 },
    );
  });

  it('reductions of different shapes, axes or ops, and long reductions into few outputs, are not siblings', async () => {
    const [a, b, c] = [randomInput(1, 6, 5), randomInput(2, 6, 5), randomInput(3, 6, 4)];
    const shapes = await check((a, _b, c) => [M.sum(a, 1), M.sum(c, 1)], [a, b, c], 5, 'different shapes');
    expect(shapes.siblings).toBe(0);
    const axes = await check((a, b) => [M.sum(a, 1), M.sum(b, 0)], [a, b, c], 6, 'different axes');
    expect(axes.siblings).toBe(0);
    const ops = await check((a, b) => [M.sum(a, 1), M.max(b, 1)], [a, b, c], 5, 'sum and max');
    expect(ops.siblings).toBe(0);
    // 3 x 10,000 terms: partial sums from several workgroups per output, then their combination.
    const [long1, long2] = [randomInput(4, 3, 10000), randomInput(5, 3, 10000)];
    const long = await check((x, y) => [M.sum(x, 1), M.sum(y, 1)], [long1, long2], 10000, 'two-pass reductions');
    expect(long.siblings).toBe(0);
  });

  it('independent threefry steps (uniforms and words, rows of one split key read in place, under vmap too) are one dispatch, with eager bits', async () => {
    const key = M.tensor(rawKey(5), { backend: webgpu() }) as ArrayTensor;
    const keys = M.stack([0, 1, 2].map((i) => M.tensor(rawKey(20 + i), { backend: webgpu() })), 0) as ArrayTensor;
    const draws = (k: Tensor) => {
      const [a, b, c, d] = M.random.split(k, 4);
      return [M.random.uniform(a, [5, 7]), M.random.uniform(b, [300]), M.random.randomBits(c, [9]), M.random.uniform(d, [1])];
    };
    for (const [what, f, input] of [
      ['one key', draws, key],
      ['three keys under vmap', (k: Tensor) => M.vmap(draws)(k) as Tensor[], keys],
    ] as const) {
      const [program] = optimizeProgram(M.makeIR(f)(input));
      const { on, without, actual } = await comparePlans(program, [input], { merge: false }, { siblings: false }, what);
      const eager = f(input);
      for (let i = 0; i < eager.length; i++) expectEqual(await actual[i].data(), await eager[i].data(), `${what}, output ${i} vs eager`);
      // The four draws: one kernel.
      expect(on.stats.dispatchesPerCall, what).toBe(without.stats.dispatchesPerCall - 3);
      expect(on.stats.siblings, what).toBe(3);
    }
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit, one dispatch fewer per member merged', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    const { on: merged, without: alone } = await comparePlans(program, inputs, { merge: false }, { siblings: false });
    // The critics' twin products alone give a dozen.
    expect(merged.stats.siblings).toBeGreaterThan(12);
    expect(alone.stats.dispatchesPerCall - merged.stats.dispatchesPerCall).toBe(merged.stats.siblings);
  });
});
