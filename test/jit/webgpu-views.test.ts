/**
 * jit on WebGPU, slices, transposes and zero paddings read in place (`views.ts`): one that only
 * fused groups read, as leaves (a fused node's, a product's epilogue, a reduction's prologue, an
 * identity prologue a reduction takes to read it), is
 * not run; the groups read its input at its offset and strides (a padding: zero outside its bounds). Each form is compiled with views and without: the plan
 * with views agrees with the one without bit for bit (the same arithmetic on the same values), with
 * eager WebGPU within rounding and with the CPU in float64, and dispatches one kernel fewer per
 * slice viewed. Slices read otherwise (a product's operand, a returned value) are run.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { bind } from '../../src/tensor';
import { sacUpdateProgram } from './helpers';
import { checkProgram, comparePlans } from './webgpu-plans';
import { describeWebGPU, randomInput, webgpu } from '../webgpu/gpu';

type Program = (...xs: Tensor[]) => Tensor[];

/** `checkProgram` with views and without (siblings off, so that dispatches count the views alone). */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string) {
  const { on, without } = await checkProgram(f, inputs, terms, what, { siblings: false, merge: false }, { views: false });
  return { viewed: on.dispatchesPerCall, copied: without.dispatchesPerCall, views: on.views };
}

describeWebGPU('jit on WebGPU: slices read in place', () => {
  it('slices with random offsets and steps, read by groups with broadcasting, by epilogues, by prologues and by reductions', async () => {
    const dim = fc.integer({ min: 1, max: 9 });
    const cut = fc.record({ start: fc.nat(), step: fc.integer({ min: 1, max: 3 }), extra: fc.nat({ max: 4 }) });
    await fc.assert(
      fc.asyncProperty(dim, dim, cut, cut, fc.constantFrom('group', 'broadcast', 'epilogue', 'prologue', 'reduced'), fc.integer({ min: 1, max: 2 ** 30 }), async (m, n, rows, cols, use, seed) => {
        // x [R, C] holds the slice x[r0 : r0 + m·sr : sr, c0 : c0 + n·sc : sc] of shape [m, n].
        const [r, c] = [rows.start % 4 + (m - 1) * rows.step + 1 + rows.extra, cols.start % 4 + (n - 1) * cols.step + 1 + cols.extra];
        const [r0, c0] = [rows.start % 4, cols.start % 4];
        const inputs = [randomInput(seed, r, c), randomInput(seed + 1, m, n), randomInput(seed + 2, 3, m, n), randomInput(seed + 3, m, m)];
        const part = (x: Tensor) => M.slice(x, [r0, r0 + (m - 1) * rows.step + 1, rows.step], [c0, c0 + (n - 1) * cols.step + 1, cols.step]);
        const programs: Record<typeof use, Program> = {
          group: (x, y) => [M.add(M.mul(M.exp(part(x)), y), 1)],
          broadcast: (x, _y, z) => [M.mul(z, M.tanh(part(x)))], // [m, n] against [3, m, n]
          epilogue: (x, y, _z, w) => [M.relu(M.add(M.matmul(w, y), part(x)))], // stored by the product's kernel
          prologue: (x, y) => [M.sum(M.square(M.sub(part(x), y)), [1])],
          // A reduction of the slice itself: it takes an identity prologue reading the slice as a leaf.
          reduced: (x) => [M.max(part(x), [1])],
        };
        const what = `${use}: [${r}, ${c}][${r0}::${rows.step}, ${c0}::${cols.step}] -> [${m}, ${n}]`;
        const result = await check(programs[use], inputs, m * n, what);
        // A slice of the whole input is no slice at all (the optimizer drops it).
        if (r !== m || c !== n) expect(result.views, what).toBeGreaterThanOrEqual(1);
        expect(result.copied - result.viewed, what).toBe(result.views);
      }),
      { numRuns: 30 },
    );
  });

  it('transposes of random permutations, read by groups and by a reduction\'s prologue', async () => {
    const dim = fc.integer({ min: 1, max: 7 });
    await fc.assert(
      fc.asyncProperty(fc.tuple(dim, dim, dim), fc.constantFrom([1, 0, 2], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 2, 0]), fc.boolean(), fc.integer({ min: 1, max: 2 ** 30 }), async (shape, perm, reduced, seed) => {
        const out = perm.map((p) => shape[p]);
        const inputs = [randomInput(seed, ...shape), randomInput(seed + 1, ...out)];
        const f = (x: Tensor, y: Tensor) => {
          const t = M.transpose(x, perm);
          return [reduced ? M.sum(M.mul(M.sub(t, y), t), [1]) : M.add(M.exp(t), y)];
        };
        const what = `transpose [${shape}] by [${perm}]${reduced ? ' into a reduction' : ''}`;
        const result = await check(f, inputs, out[1], what);
        // A transpose that moves no axis of more than one element is a reshape (no step at all).
        if (perm.some((p, j) => p !== j && shape[p] > 1)) expect(result.views, what).toBe(1);
        expect(result.copied - result.viewed, what).toBe(result.views);
      }),
      { numRuns: 20 },
    );
  });

  it('zero paddings of random widths, read by groups with broadcasting, by epilogues and by prologues', async () => {
    const dim = fc.integer({ min: 1, max: 6 });
    const edge = fc.nat({ max: 3 });
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(dim, dim),
        fc.tuple(edge, edge, edge, edge),
        fc.constantFrom('group', 'broadcast', 'epilogue', 'prologue', 'sum of pads'),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async ([r, c], [top, bottom, left, right], use, seed) => {
          // x [r, c] padded to [m, n].
          const [m, n] = [r + top + bottom, c + left + right];
          const inputs = [randomInput(seed, r, c), randomInput(seed + 1, m, n), randomInput(seed + 2, 3, m, n), randomInput(seed + 3, m, m)];
          const padded = (x: Tensor) => M.pad(x, [[top, bottom], [left, right]]);
          const programs: Record<typeof use, Program> = {
            group: (x, y) => [M.add(M.mul(M.exp(padded(x)), y), 1)],
            broadcast: (x, _y, z) => [M.tanh(M.mul(z, padded(x)))], // [m, n] against [3, m, n]
            epilogue: (x, y, _z, w) => [M.relu(M.add(M.matmul(w, y), padded(x)))], // stored by the product's kernel
            prologue: (x, y) => [M.sum(M.square(M.sub(padded(x), y)), [1])],
            // The gradient of two slices: each part padded back to the whole and added.
            'sum of pads': (x) => [M.add(M.pad(x, [[top, bottom], [0, left + right]]), M.pad(M.mul(x, 2), [[top, bottom], [left + right, 0]]))],
          };
          const what = `${use}: [${r}, ${c}] padded by [${top}, ${bottom}], [${left}, ${right}]`;
          const result = await check(programs[use], inputs, m * n, what);
          // A padding by nothing is no padding at all (the optimizer drops it).
          if (m !== r || n !== c) expect(result.views, what).toBeGreaterThanOrEqual(1);
          expect(result.copied - result.viewed, what).toBe(result.views);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a padding broadcast along an axis of one element is read in place; one with interior zeros, or of an empty input, is run', async () => {
    const [row, z] = [randomInput(1, 1, 3), randomInput(2, 4, 6)];
    const broadcast = await check((row, z) => [M.exp(M.add(z, M.pad(row, [[0, 0], [1, 2]])))], [row, z], 1, 'padded [1, 6] against [4, 6]');
    expect(broadcast.views).toBe(1);
    const x = randomInput(3, 3, 4);
    const inside = await check((x) => [M.exp(bind('pad', [x], { lo: [0, 1], hi: [0, 1], interior: [1, 1] }))], [x], 1, 'interior padding');
    expect(inside.views).toBe(0);
    const empty = randomInput(4, 0, 6);
    const zeros = await check((e, z) => [M.add(z, M.pad(e, [[1, 0], [0, 0]]))], [empty, z], 1, 'padded [0, 6] against [4, 6]');
    expect(zeros.views).toBe(0);
  });

  it('through reshapes that only add or drop axes of one element, a slice, transpose or padding is still read in place', async () => {
    const [x, y, z, w] = [randomInput(1, 4, 10), randomInput(2, 4, 5, 3), randomInput(3, 5, 4, 3), randomInput(4, 4, 5)];
    // A mixture's head: its component logits sliced, an axis added for the components, broadcast.
    const slice = await check((x, y) => [M.exp(M.add(M.reshape(M.slice(x, null, [5, 10]), [4, 5, 1]), y))], [x, y], 1, 'slice, then [4, 5] -> [4, 5, 1]');
    expect(slice.views).toBe(1);
    const transpose = await check((w, z) => [M.mul(M.reshape(M.reshape(M.transpose(w, [1, 0]), [5, 1, 4, 1]), [5, 4, 1]), z)], [w, z], 1, 'transpose, then [5, 4] -> [5, 1, 4, 1] -> [5, 4, 1]');
    expect(transpose.views).toBe(1);
    const pad = await check((x, y) => [M.tanh(M.mul(M.reshape(M.pad(x, [[0, 0], [0, 5]]), [4, 1, 15]), M.reshape(M.slice(y, null, null, [0, 1]), [4, 5, 1])))], [x, y], 1, 'pad, then an axis added');
    expect(pad.views).toBe(2);
    const column = randomInput(5, 4, 1, 10);
    const dropped = await check((c, x) => [M.exp(M.add(M.reshape(M.pad(c, [[0, 0], [0, 0], [3, 2]]), [4, 15]), M.pad(x, [[0, 0], [5, 0]])))], [column, x], 1, 'pad of [4, 1, 10], then its axis of one dropped');
    expect(dropped.views).toBe(2);
    // [4, 5] -> [20] moves elements between axes: the slice is run.
    const flat = await check((x) => [M.exp(M.reshape(M.slice(x, null, [5, 10]), [20]))], [x], 1, 'slice, then [4, 5] -> [20]');
    expect(flat.views).toBe(0);
  });

  it('a slice a product reads as an operand, or a returned slice, is run', async () => {
    const [x, w] = [randomInput(1, 6, 8), randomInput(2, 4, 6)];
    const operand = await check((x, w) => [M.matmul(w, M.slice(x, null, [2, 6])), M.exp(M.slice(x, null, [2, 6]))], [x, w], 6, 'operand');
    expect(operand.views).toBe(0);
    const returned = await check((x) => [M.slice(x, [1, 5]), M.exp(M.slice(x, [1, 5]))], [x], 1, 'returned');
    expect(returned.views).toBe(0);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit with its slices read in place', async (_name, kind, estimator) => {
    const gpu = webgpu();
    const { program, inputs } = sacUpdateProgram(gpu, kind, estimator, 2);
    const { on: viewed, without: copied } = await comparePlans(program, inputs, { siblings: false, merge: false }, { views: false });
    // The head's mean and log-std, the action's part of the critics' input gradients, and the
    // head's gradient: its parts' gradients padded back to its width.
    expect(viewed.stats.views).toBeGreaterThanOrEqual(6);
    expect(copied.stats.dispatchesPerCall - viewed.stats.dispatchesPerCall).toBe(viewed.stats.views);
  });
});
