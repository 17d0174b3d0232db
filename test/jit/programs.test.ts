/**
 * jit agrees with eager mode on random programs (the autodiff suite's generator): values and
 * gradients, float64, tight tolerance. The expected values are eager results.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { runs } from '../autodiff/helpers';
import { buildProgram } from '../autodiff/programs';
import { expectTreesClose } from './helpers';

const TOL = 1e-12;

describe('jit on random programs (cpu, float64)', () => {
  it('jit(f)(x) equals f(x)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 8 }), (seed, n) => {
        const program = buildProgram(seed, n, M.cpu);
        const listing = `seed ${seed}:\n  ${program.listing.join('\n  ')}`;
        const f = M.jit(program.f);
        expectTreesClose(f(...program.inputs), program.f(...program.inputs), TOL, listing);
        // The replayed plan (second call, reused buffers) gives the same values.
        expectTreesClose(f(...program.inputs), program.f(...program.inputs), TOL, listing);
      }),
      { numRuns: runs(300) },
    );
  });

  it('jit(grad(f))(x) equals grad(f)(x)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, n) => {
        const program = buildProgram(seed, n, M.cpu);
        const listing = `seed ${seed}:\n  ${program.listing.join('\n  ')}`;
        const loss = (...xs: Tensor[]) => M.sum(M.mul(program.f(...xs), program.f(...xs)));
        const argnums = program.inputs.map((_, i) => i);
        const g = M.grad(loss, { argnums });
        const jg = M.jit(g);
        expectTreesClose(jg(...program.inputs), g(...program.inputs), TOL, listing);
        expectTreesClose(jg(...program.inputs), g(...program.inputs), TOL, listing);
      }),
      { numRuns: runs(200) },
    );
  });

  it('grad(jit(f))(x) equals grad(f)(x)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, n) => {
        const program = buildProgram(seed, n, M.cpu);
        const listing = `seed ${seed}:\n  ${program.listing.join('\n  ')}`;
        const loss = (...xs: Tensor[]) => M.sum(program.f(...xs));
        const jloss = M.jit(loss);
        const argnums = program.inputs.map((_, i) => i);
        expectTreesClose(M.grad(jloss, { argnums })(...program.inputs), M.grad(loss, { argnums })(...program.inputs), TOL, listing);
      }),
      { numRuns: runs(100) },
    );
  });
});

describe('jit on empty tensors (cpu)', () => {
  it('broadcasts into a size-0 output, reductions over a size-0 axis and products with K = 0 equal eager', () => {
    // A [2, 1] leaf broadcast into a [2, 0] output once made the SIMD loop divide by its row of 0.
    const cases: [number[], number[]][] = [[[2, 1], [1, 0]], [[0, 3], [1, 3]], [[2, 0, 3], [2, 1, 3]], [[0], [0]]];
    for (const dtype of ['float32', 'float64'] as const) {
      const f = (x: Tensor, y: Tensor) => M.exp(M.mul(x, y)).add(1);
      for (const [a, b] of cases) {
        const [x, y] = [M.ones(a, { dtype }), M.ones(b, { dtype })];
        expectTreesClose(M.jit(f)(x, y), f(x, y), 0, `${dtype} ${JSON.stringify(a)} * ${JSON.stringify(b)}`);
      }
      const g = (x: Tensor) => [M.sum(M.exp(x), 1).add(2), M.matmul(x, M.transpose(x)).add(1)];
      expectTreesClose(M.jit(g)(M.zeros([3, 0], { dtype })), g(M.zeros([3, 0], { dtype })), 0, `${dtype} [3, 0]`);
    }
  });
});
