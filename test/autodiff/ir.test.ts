/** makeIR / evalIR: the listing format, evaluation and differentiation of staged programs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, values, runs } from './helpers';
import { buildProgram } from './programs';

for (const backend of BACKENDS) {
  const z = (s: number[]) => M.zeros(s, { dtype: 'float64', backend });

  describe(`makeIR and evalIR (${backend.name})`, () => {
    it('prints a jaxpr-like listing: constants, typed inputs, params, outputs', () => {
      const ir = M.makeIR((x: Tensor, y: Tensor) => M.sum(M.mul(M.add(x, 2), y), 0))(z([2, 3]), z([3]));
      expect(String(ir)).toBe(
        [
          '{ lambda c:f64[] ; a:f64[2,3] b:f64[3]. let',
          '    d:f64[2,3] = add a c',
          '    e:f64[2,3] = mul d b',
          '    f:f64[3] = reduceSum[axes=[0]] e',
          '  in (f) }',
        ].join('\n'),
      );
      // Pytree inputs are flattened with sorted keys (b before w); several outputs.
      const mlp = M.makeIR((p: { w: Tensor; b: Tensor }, x: Tensor) => [M.tanh(M.add(M.matmul(x, p.w), p.b)), M.max(x, 0)])(
        { w: z([3, 2]), b: z([2]) },
        M.zeros([4, 3], { dtype: 'float64', backend }),
      );
      expect(String(mlp)).toBe(
        [
          '{ lambda ; a:f64[2] b:f64[3,2] c:f64[4,3]. let',
          '    d:f64[4,2] = matmul c b',
          '    e:f64[4,2] = add d a',
          '    f:f64[4,2] = tanh e',
          '    g:f64[3] = reduceMax[axes=[0]] c',
          '  in (f, g) }',
        ].join('\n'),
      );
      expect(mlp.equations.map((e) => e.prim)).toEqual(['matmul', 'add', 'tanh', 'reduceMax']);
    });

    it('evalIR(makeIR(f)(x), x) equals f(x), and grad through evalIR equals grad of f, for random programs', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), async (seed, n) => {
          const program = buildProgram(seed, n, backend);
          const ir = M.makeIR(program.f)(...program.inputs);
          const [out] = M.evalIR(ir, program.inputs);
          expect(await values(out)).toEqual(await values(program.f(...program.inputs)));
          const argnums = program.inputs.map((_, i) => i);
          const loss = (g: (...xs: Tensor[]) => Tensor) => (...xs: Tensor[]) => M.sum(M.sin(g(...xs)));
          const direct = M.grad(loss(program.f), { argnums })(...program.inputs) as Tensor[];
          const staged = M.grad(loss((...xs) => M.evalIR(ir, xs)[0]), { argnums })(...program.inputs) as Tensor[];
          for (let i = 0; i < direct.length; i++) expect(await values(staged[i])).toEqual(await values(direct[i]));
          // Staging the gradient itself and replaying it gives the same numbers.
          const gradIR = M.makeIR(M.grad(loss(program.f), { argnums }))(...program.inputs);
          const replayed = M.evalIR(gradIR, program.inputs);
          for (let i = 0; i < direct.length; i++) expect(await values(replayed[i])).toEqual(await values(direct[i]));
        }),
        { numRuns: runs(60) },
      );
    });

    it('evalIR checks its inputs against the program: count, shapes and dtypes', () => {
      const ir = M.makeIR((x: Tensor, y: Tensor) => M.sum(M.mul(x, y)))(z([3]), z([3]));
      expect(() => M.evalIR(ir, [z([3])])).toThrow('evalIR: the program takes 2 inputs, got 1');
      // A [1] would broadcast and silently compute another function than the one staged.
      expect(() => M.evalIR(ir, [z([3]), z([1])])).toThrow('evalIR: input 1 must be f64[3], got f64[1]');
      expect(() => M.evalIR(ir, [z([3]), M.zeros([3], { backend })])).toThrow('evalIR: input 1 must be f64[3], got f32[3]');
      expect(M.evalIR(ir, [z([3]), z([3])])[0].shape).toEqual([]);
    });

    it('reading a staged value throws ConcretizationError; under grad values can be read', async () => {
      const read = [(x: Tensor) => x.dataSync(), (x: Tensor) => x.itemSync(), (x: Tensor) => x.toArraySync()];
      for (const r of read) {
        expect(() => M.makeIR((x: Tensor) => (r(x), x))(z([]))).toThrow(M.ConcretizationError);
      }
      expect(() => M.makeIR((x: Tensor) => (x.dataSync(), x))(z([2]))).toThrow(
        'cannot read the value of a staged f64[2] inside makeIR: values exist only when the program runs',
      );
      // The async read fails too (before any promise exists, so an awaiting caller sees it at once).
      expect(() => M.makeIR((x: Tensor) => (void x.data(), x))(z([]))).toThrow(M.ConcretizationError);
      // Python-style control flow on values works under grad (as in JAX).
      const f = (x: Tensor) => (x.itemSync() > 0 ? M.mul(x, x) : M.neg(x));
      expect(await values(M.grad(f)(M.tensor(new Float64Array([3]), { shape: [], backend })) as Tensor)).toEqual([6]);
      expect(await values(M.grad(f)(M.tensor(new Float64Array([-3]), { shape: [], backend })) as Tensor)).toEqual([-1]);
      // ...but not inside makeIR of grad.
      expect(() => M.makeIR(M.grad(f))(z([]))).toThrow(M.ConcretizationError);
    });
  });
}
