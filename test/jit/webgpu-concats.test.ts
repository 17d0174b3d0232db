/**
 * jit on WebGPU, concatenations read in place by products (`concats.ts`): a concatenation along
 * its last axis that only matrix products read as operands (plain, or through a folded transpose)
 * is not run; each product reads its pieces, picking the piece by the stored column. Each form is
 * compiled with and without: the plan reading pieces agrees with the other bit for bit, with eager
 * WebGPU within rounding and with the CPU in float64, and dispatches one kernel fewer per
 * concatenation. Concatenations read otherwise are run.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { sacUpdateProgram } from './helpers';
import { checkProgram, comparePlans } from './webgpu-plans';
import { describeWebGPU, randomInput, webgpu } from '../webgpu/gpu';

type Program = (...xs: Tensor[]) => Tensor[];

/** `checkProgram` with concatenations read in place and without (siblings as `siblings` says). */
async function check(f: Program, inputs: readonly { gpu: ArrayTensor; cpu: ArrayTensor }[], terms: number, what: string, siblings = false) {
  const { on, without } = await checkProgram(f, inputs, terms, what, { siblings, merge: false }, { concats: false });
  return { inPlace: on.dispatchesPerCall, stored: without.dispatchesPerCall, concats: on.concats };
}

const swapLast = (t: Tensor): Tensor => M.swapAxes(t, -1, -2);

describeWebGPU('jit on WebGPU: concatenations read in place by products', () => {
  // Products with 5 rows or columns run in strips (on every adapter), with 20 and 60-70 in tiles.
  it.each([
    ['strip', 5, fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 70 }))],
    ['tiled', 20, fc.integer({ min: 60, max: 70 })],
  ] as const)('either operand, plain or transposed, of random widths, batches and epilogues, alone or as siblings: %s products', async (kind, other, dim) => {
    const widths = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 2, maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(
        widths,
        dim,
        fc.constantFrom<'A' | 'B'>('A', 'B'),
        fc.boolean(),
        fc.constantFrom<number[]>([], [3]),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (parts, rows, side, transposed, batch, withEpilogue, twins, seed) => {
          // x = concat(parts) [...batch, rows, width] is the left operand (plain: M = rows and K =
          // width; transposed: M = width, K = rows) or the right one (plain: K = rows, N = width;
          // transposed: K = width, N = rows), against one other operand, or two (twin products).
          const width = parts.reduce((a, b) => a + b, 0);
          const n = parts.length;
          const shapes = { A: transposed ? [rows, other] : [width, other], B: transposed ? [other, width] : [other, rows] };
          const others = [0, 1].map((j) => randomInput(seed + 10 + j, ...batch, ...shapes[side]));
          const inputs = [...parts.map((w, j) => randomInput(seed + j, ...batch, rows, w)), ...others, randomInput(seed + 12, other)];
          const f = (...xs: Tensor[]) => {
            const [w1, w2, b] = xs.slice(n);
            const x = M.concat(xs.slice(0, n), -1);
            const read = transposed ? swapLast(x) : x;
            const product = (w: Tensor) => {
              const q = side === 'A' ? M.matmul(read, w) : M.matmul(w, read);
              return withEpilogue ? M.tanh(M.add(q, M.mean(b))) : q;
            };
            return twins ? [product(w1), product(w2)] : [product(w1)];
          };
          const what = `${kind}: ${side}${transposed ? 'ᵀ' : ''} = concat of [${parts}] x ${rows} rows against ${other}, batch [${batch}]${withEpilogue ? ', epilogue' : ''}${twins ? ', twins' : ''}`;
          const r = await check(f, inputs, Math.max(rows, width), what, twins);
          expect(r.concats, what).toBe(1);
          expect(r.stored - r.inPlace, what).toBe(1);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('a concatenation read otherwise (by a group, returned, along another axis, by a product that would bind too many buffers) is run', async () => {
    const [s, u, w, v] = [randomInput(1, 4, 3), randomInput(2, 4, 2), randomInput(3, 5, 6), randomInput(4, 4, 8)];
    const grouped = await check((s, u, w) => [M.matmul(M.concat([s, u], -1), w), M.exp(M.concat([s, u], -1))], [s, u, w], 5, 'also read by a group');
    expect(grouped.concats).toBe(0);
    const returned = await check((s, u, w) => [M.matmul(M.concat([s, u], -1), w), M.concat([s, u], -1)], [s, u, w], 5, 'returned');
    expect(returned.concats).toBe(0);
    const rows = await check((s, u, v) => [M.matmul(M.concat([swapLast(s), swapLast(u)], 0), v)], [s, u, v], 4, 'joined along the first axis');
    expect(rows.concats).toBe(0);
    // 16 pieces and its output and params: more than a kernel binds.
    const many = Array.from({ length: 16 }, (_, j) => randomInput(10 + j, 2, 1));
    const wide = await check((...xs) => [M.matmul(M.concat(xs.slice(0, 16), -1), xs[16])], [...many, randomInput(30, 16, 3)], 16, 'sixteen pieces');
    expect(wide.concats).toBe(0);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update is the same bit for bit with the critics\' inputs read in place', async (_name, kind, estimator) => {
    const { program, inputs } = sacUpdateProgram(webgpu(), kind, estimator, 2);
    // Siblings off, so that dispatches count the concatenations alone.
    const { on, without } = await comparePlans(program, inputs, { siblings: false, merge: false }, { concats: false });
    // concat([observation, action]) for the target, the critic loss and the policy loss.
    expect(on.stats.concats).toBe(3);
    expect(without.stats.dispatchesPerCall - on.stats.dispatchesPerCall).toBe(3);
  });
});
