/**
 * The library's strongest claim: gradients of arbitrary compositions match finite differences.
 * fast-check draws small programs (see programs.ts) and every one is checked in reverse and forward
 * mode against float64 finite differences. A sweep forces each catalog op into a few programs, and
 * the last test asserts (by staging the programs with makeIR) that the generated programs used every
 * primitive of the tensor layer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as M from '../../src';
import type { Primitive, Tensor } from '../../src';
import { BACKENDS, expectGradsMatch, gradCheck, randn, Rng, runs, values } from './helpers';
import { buildProgram, CATALOG_OPS, type Program } from './programs';

for (const backend of BACKENDS) {
  describe(`random programs: gradients vs finite differences (${backend.name}, float64)`, () => {
    /** Primitives applied to traced values (staged by makeIR): the ones gradients flow through. */
    const seen = new Set<Primitive>();
    /** Primitives the backend ran, constants included (random bits are computed from constant keys). */
    const executed = new Set<Primitive>();
    let spy: ReturnType<typeof vi.spyOn> | undefined;
    beforeAll(() => {
      const original = backend.execute.bind(backend);
      spy = vi.spyOn(backend, 'execute').mockImplementation(((prim: Primitive, ...rest: never[]) => {
        executed.add(prim);
        return (original as (...a: unknown[]) => unknown)(prim, ...rest);
      }) as never);
    });
    afterAll(() => spy?.mockRestore());
    let checked = 0;
    let skipped = 0;

    const check = async (program: Program, seed: number) => {
      for (const eq of M.makeIR(program.f)(...program.inputs).equations) seen.add(eq.prim);
      const r = await gradCheck(program.f, program.inputs, new Rng(seed ^ 0x5bd1e995), backend);
      if (!r.smooth) {
        // A kink or jump (abs, max, floor, where, ...) within the FD step of the point: rare, skipped.
        skipped++;
        return;
      }
      checked++;
      expectGradsMatch(r, `program (seed ${seed}):\n  ${program.listing.join('\n  ')}\n`);
    };

    it('random compositions', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 6 }), async (seed, n) => {
          await check(buildProgram(seed, n, backend), seed);
        }),
        { numRuns: runs(300) },
      );
    });

    it('every catalog op, forced into random programs', async () => {
      for (const op of CATALOG_OPS) {
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, n) => {
            const program = buildProgram(seed, n, backend, op);
            expect(program.ops, `${op} was not emitted:\n  ${program.listing.join('\n  ')}`).toContain(op);
            await check(program, seed);
          }),
          { numRuns: runs(3) },
        );
      }
    });

    it('float32 programs: gradients keep float32, and <u, J v> = <J^T u, v> to float32 precision', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), async (seed, n) => {
          const program = buildProgram(seed, n, backend, undefined, 'float32');
          const rng = new Rng(seed);
          const out = program.f(...program.inputs);
          const u = M.cast(randn(rng, out.shape, backend), 'float32');
          const vs = program.inputs.map((x) => M.cast(randn(rng, x.shape, backend), 'float32'));
          const [, back] = M.vjp(program.f, ...program.inputs);
          const cts = back(u) as Tensor[];
          const [, tangent] = M.jvp(program.f, [...program.inputs], vs);
          expect((tangent as Tensor).aval).toEqual(out.aval);
          let reverse = 0;
          let scale = 0;
          for (let i = 0; i < cts.length; i++) {
            expect(cts[i].aval, `cotangent ${i}`).toEqual(program.inputs[i].aval);
            const [c, v] = [await values(cts[i]), await values(vs[i])];
            c.forEach((ci, k) => ((reverse += ci * v[k]), (scale += Math.abs(ci * v[k]))));
          }
          const [uv, tv] = [await values(u), await values(tangent as Tensor)];
          let forward = 0;
          uv.forEach((ui, k) => ((forward += ui * tv[k]), (scale += Math.abs(ui * tv[k]))));
          const ok = Math.abs(forward - reverse) <= 1e-4 * scale + 1e-6 * Math.sqrt(uv.length);
          expect(ok, `f32 program (seed ${seed}): jvp ${forward}, vjp ${reverse}, scale ${scale}\n  ${program.listing.join('\n  ')}`).toBe(true);
        }),
        { numRuns: runs(80) },
      );
    });

    it('the generated programs covered every primitive, and few draws were skipped as non-smooth', () => {
      const all = Object.keys(M.ARITY) as Primitive[];
      expect(all.filter((p) => !executed.has(p)), 'primitives never run by a generated program').toEqual([]);
      // Random bits come from constant keys, so they are never traced; every other primitive must
      // have been applied to traced values, i.e. lie on a differentiated path.
      const constantOnly = new Set<Primitive>(['threefry', 'uniformFromBits']);
      expect(all.filter((p) => !constantOnly.has(p) && !seen.has(p)), 'primitives never on a traced path').toEqual([]);
      expect(checked).toBeGreaterThan(200);
      expect(skipped / (checked + skipped)).toBeLessThan(0.05);
    });
  });
}
