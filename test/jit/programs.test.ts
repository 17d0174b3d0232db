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
