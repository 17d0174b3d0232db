/**
 * Conventions at non-smooth points and NaN safety, matching JAX (the expected numbers are JAX's):
 * d|x|/dx = 1 at 0, maximum(x, x) splits 1/2 : 1/2, max-reductions share ties equally,
 * sqrt'(0) = log'(0) = +inf, and the single-where / double-where behaviour of `where` gradients.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, expectClose, values } from './helpers';

for (const backend of BACKENDS) {
  const t = (v: number | number[]) => M.tensor(typeof v === 'number' ? new Float64Array([v]) : Float64Array.from(v), { shape: typeof v === 'number' ? [] : [v.length], backend });

  describe(`JAX conventions at non-smooth points (${backend.name})`, () => {
    it('d|x|/dx at 0 is 1 (jax.grad(jnp.abs)(0.) == 1.)', async () => {
      expect(await values(M.grad((x: Tensor) => M.abs(x))(t(0)) as Tensor)).toEqual([1]);
      const [, dt] = M.jvp((x: Tensor) => M.abs(x), [t(0)], [t(1)]);
      expect(await values(dt as Tensor)).toEqual([1]);
      expect(await values(M.grad((x: Tensor) => M.sum(M.abs(x)))(t([-2, 0, 3])) as Tensor)).toEqual([-1, 1, 1]);
    });

    it('maximum(x, y) and minimum(x, y) split 1/2 : 1/2 on ties, and 0 to both where one is NaN', async () => {
      for (const op of [M.maximum, M.minimum]) {
        const [gx, gy] = M.grad((x: Tensor, y: Tensor) => op(x, y), { argnums: [0, 1] })(t(1.5), t(1.5)) as Tensor[];
        expect([await values(gx), await values(gy)]).toEqual([[0.5], [0.5]]);
        expect(await values(M.grad((x: Tensor) => op(x, x))(t(2)) as Tensor)).toEqual([1]);
        const [, tan] = M.jvp((x: Tensor, y: Tensor) => op(x, y), [t(1.5), t(1.5)], [t(1), t(3)]);
        expect(await values(tan as Tensor)).toEqual([2]);
        // A NaN operand beats neither (JAX's _balanced_eq): both gradients 0, in either order.
        for (const [a, b] of [[NaN, 1], [1, NaN]]) {
          const [ga, gb] = M.grad((x: Tensor, y: Tensor) => op(x, y), { argnums: [0, 1] })(t(a), t(b)) as Tensor[];
          expect([await values(ga), await values(gb)]).toEqual([[0], [0]]);
        }
      }
    });

    it("relu' is 0 at 0 (jax.nn.relu, PyTorch), relu keeps NaN and gives +0 for -0 and -inf", async () => {
      expect(await values(M.grad((x: Tensor) => M.sum(M.relu(x)))(t([-1, 0, -0, 2])) as Tensor)).toEqual([0, 0, 0, 1]);
      const [, tangent] = M.jvp((x: Tensor) => M.relu(x), [t([0, 3])], [t([1, 1])]);
      expect(await values(tangent as Tensor)).toEqual([0, 1]);
      const y = await values(M.relu(t([NaN, -0, -Infinity, Infinity, -2, 0.5])));
      expect(y.map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(['NaN', '0', '0', 'Infinity', '0', '0.5']);
    });

    it('the gradients of maximum, minimum and abs select among scalars: staged, they hold no constant of the input\'s shape', () => {
      // Under jit a constant array is stored by the plan and read by every loop: a ReLU's gradient
      // in a SAC-v2 update read two 256x256 arrays of ones and halves.
      const x = M.tensor(new Float64Array(64 * 64), { shape: [64, 64], backend });
      for (const [name, f] of [
        ['maximum', (a: Tensor) => M.maximum(a, 0)],
        ['minimum', (a: Tensor) => M.minimum(a, 0)],
        ['abs', (a: Tensor) => M.abs(a)],
      ] as const) {
        const ir = M.makeIR((a: Tensor, g: Tensor) => M.vjp(f, a)[1](g)[0])(x, x);
        expect(ir.constants.map((c) => c.value.size).filter((size) => size > 1), name).toEqual([]);
      }
    });

    it('max and min reductions share the gradient equally among tied elements', async () => {
      expect(await values(M.grad((x: Tensor) => M.max(x))(t([1, 3, 3])) as Tensor)).toEqual([0, 0.5, 0.5]);
      expect(await values(M.grad((x: Tensor) => M.min(x))(t([2, 2, 2, 5])) as Tensor)).toEqual([1 / 3, 1 / 3, 1 / 3, 0]);
      const x = M.tensor(Float64Array.from([1, 4, 4, 4, 0, 0]), { shape: [2, 3], backend });
      expect(await values(M.grad((x: Tensor) => M.sum(M.max(x, 1)))(x) as Tensor)).toEqual([0, 0.5, 0.5, 1, 0, 0]);
      const y = M.tensor(Float64Array.from([2, 2, 1, 5, 5, 5]), { shape: [2, 3], backend });
      expect(await values(M.grad((x: Tensor) => M.sum(M.max(x, 1)))(y) as Tensor)).toEqual([0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3]);
      const [, tan] = M.jvp((x: Tensor) => M.max(x), [t([1, 3, 3])], [t([5, 1, 2])]);
      expect(await values(tan as Tensor)).toEqual([1.5]);
    });

    it("sqrt'(0) = +inf, log'(0) = +inf, rsqrt'(0) = -inf", async () => {
      expect(await values(M.grad((x: Tensor) => M.sqrt(x))(t(0)) as Tensor)).toEqual([Infinity]);
      expect(await values(M.grad((x: Tensor) => M.log(x))(t(0)) as Tensor)).toEqual([Infinity]);
      expect(await values(M.grad((x: Tensor) => M.rsqrt(x))(t(0)) as Tensor)).toEqual([-Infinity]);
      const [, tan] = M.jvp((x: Tensor) => M.sqrt(x), [t(0)], [t(1)]);
      expect(await values(tan as Tensor)).toEqual([Infinity]);
    });

    it('pow at 0 follows JAX: d/dx x^0 = 0, d/dy 0^y = 0, d/dx x^2 at 0 = 0', async () => {
      const dPow = (x: number, y: number) => M.grad((a: Tensor, b: Tensor) => M.pow(a, b), { argnums: [0, 1] })(t(x), t(y)) as Tensor[];
      const [gx0, gy0] = dPow(0, 0);
      expect([await values(gx0), await values(gy0)]).toEqual([[0], [0]]);
      const [gx2, gy2] = dPow(0, 2);
      expect([await values(gx2), await values(gy2)]).toEqual([[0], [0]]);
      const [gx, gy] = dPow(2, 3);
      await expectClose(gx, [12], 1e-14);
      await expectClose(gy, [8 * Math.log(2)], 1e-14);
    });

    it('floor, ceil, round, sign, comparisons and argmax have zero derivative', async () => {
      for (const f of [M.floor, M.ceil, M.round, M.sign]) {
        expect(await values(M.grad((x: Tensor) => M.sum(f(x)))(t([-1.5, 0.3, 2.7])) as Tensor)).toEqual([0, 0, 0]);
      }
      const g = M.grad((x: Tensor) => M.sum(M.mul(M.cast(M.greater(x, 0), 'float64'), M.cast(M.argmax(x), 'float64'))))(t([-1, 2, 1]));
      expect(await values(g as Tensor)).toEqual([0, 0, 0]);
    });
  });

  describe(`NaN safety of where gradients (${backend.name})`, () => {
    const xs = [-2, -1e-3, 0];

    it('single where: grad of where(x > 0, sqrt(x), 0) at x <= 0 is NaN, as in JAX (0 * NaN, 0 * inf)', async () => {
      const f = (x: Tensor) => M.where(M.greater(x, 0), M.sqrt(x), 0);
      for (const x0 of xs) {
        expect(Number.isNaN((await values(M.grad(f)(t(x0)) as Tensor))[0]), `x = ${x0}`).toBe(true);
      }
      // Where x > 0 the single where is fine.
      await expectClose(M.grad(f)(t(4)) as Tensor, [0.25], 1e-15);
    });

    it('double where: where(x > 0, sqrt(where(x > 0, x, 1)), 0) has a finite gradient (0) at x <= 0', async () => {
      const f = (x: Tensor) => {
        const pos = M.greater(x, 0);
        return M.where(pos, M.sqrt(M.where(pos, x, 1)), 0);
      };
      for (const x0 of xs) expect(await values(M.grad(f)(t(x0)) as Tensor), `x = ${x0}`).toEqual([0]);
      await expectClose(M.grad(f)(t(4)) as Tensor, [0.25], 1e-15);
      // The same for log, and elementwise over a vector.
      const g = (x: Tensor) => {
        const pos = M.greater(x, 0);
        return M.sum(M.where(pos, M.log(M.where(pos, x, 1)), 0));
      };
      await expectClose(M.grad(g)(t([-1, 0, 2])) as Tensor, [0, 0, 0.5], 1e-15);
    });

    it('logsumexp and logSoftmax with -inf entries have finite gradients', async () => {
      await expectClose(M.grad((x: Tensor) => M.logsumexp(x))(t([-Infinity, 0, Math.log(3)])) as Tensor, [0, 0.25, 0.75], 1e-15);
      const g = M.grad((x: Tensor) => M.sum(M.mul(M.softmax(x), t([1, 2, 3]))))(t([-Infinity, 0, 0])) as Tensor;
      const v = await values(g);
      expect(v.every(Number.isFinite), `${v}`).toBe(true);
      await expectClose(g, [0, -0.25, 0.25], 1e-15);
    });
  });
}
