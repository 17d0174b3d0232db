/** customVjp: straight-through estimators, several inputs, pytree outputs, residuals, errors. */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, expectClose, f64, randn, Rng, values } from './helpers';

for (const backend of BACKENDS) {
  describe(`customVjp (${backend.name})`, () => {
    const roundST = M.customVjp({
      forward: (x: Tensor) => [M.round(x), null] as [Tensor, null],
      backward: (_res: null, ct: Tensor) => [ct],
    });

    it("a straight-through estimator's gradient is the custom backward, its value the forward", async () => {
      const rng = new Rng(1);
      const x = f64([5], () => rng.uniform(-3, 3), backend);
      const w = randn(rng, [5], backend);
      expect(await values(roundST(x))).toEqual((await values(x)).map((v) => Math.round(v)));
      // d/dx sum(roundST(x) * w) = w (the true derivative would be 0).
      expect(await values(M.grad((x: Tensor) => M.sum(M.mul(roundST(x), w)))(x) as Tensor)).toEqual(await values(w));
      // Inside a larger function: d/dx sum(sin(roundST(3x))) = 3 cos(round(3x)).
      const g = M.grad((x: Tensor) => M.sum(M.sin(roundST(M.mul(x, 3)))))(x) as Tensor;
      await expectClose(g, (await values(x)).map((v) => 3 * Math.cos(Math.round(3 * v))), 1e-14);
      // A clipped straight-through backward.
      const clipST = M.customVjp({
        forward: (x: Tensor) => [M.sign(x), x] as [Tensor, Tensor],
        backward: (x: Tensor, ct: Tensor) => [M.where(M.lessEqual(M.abs(x), 1), ct, 0)],
      });
      const xs = M.tensor(Float64Array.from([-2, -0.5, 0.25, 1.5]), { backend });
      expect(await values(M.grad((x: Tensor) => M.sum(clipST(x)))(xs) as Tensor)).toEqual([0, 1, 1, 0]);
    });

    it('several inputs (one a pytree), a pytree output and residuals', async () => {
      // f(x, {a, b}) = { prod: x * a, sum: [x + b] }, with a backward that scales every cotangent
      // by 10, so a correct answer proves the custom rule was used.
      const f = M.customVjp({
        forward: (x: Tensor, p: { a: Tensor; b: Tensor }) =>
          [{ prod: M.mul(x, p.a), sum: [M.add(x, p.b)] }, { x, a: p.a }] as [{ prod: Tensor; sum: Tensor[] }, { x: Tensor; a: Tensor }],
        backward: (res: { x: Tensor; a: Tensor }, ct: { prod: Tensor; sum: Tensor[] }) => [
          M.mul(M.add(M.mul(ct.prod, res.a), ct.sum[0]), 10),
          { a: M.mul(M.mul(ct.prod, res.x), 10), b: M.mul(ct.sum[0], 10) },
        ],
      });
      const [x, a, b] = [2, 3, 5].map((v) => f64([], () => v, backend));
      const out = f(x, { a, b });
      expect([await values(out.prod), await values(out.sum[0])]).toEqual([[6], [7]]);
      const loss = (x: Tensor, p: { a: Tensor; b: Tensor }) => {
        const o = f(x, p);
        return M.add(M.mul(o.prod, 2), M.mul(o.sum[0], 7));
      };
      const [gx, gp] = M.grad(loss, { argnums: [0, 1] })(x, { a, b }) as [Tensor, { a: Tensor; b: Tensor }];
      // ct.prod = 2, ct.sum = 7: gx = 10 (2 a + 7) = 130, ga = 10 * 2 x = 40, gb = 70.
      expect([await values(gx), await values(gp.a), await values(gp.b)]).toEqual([[130], [40], [70]]);
      // vjp with the pytree output's cotangent directly.
      const [, back] = M.vjp((x: Tensor, p: { a: Tensor; b: Tensor }) => f(x, p), x, { a, b });
      const [cx, cp] = back({ prod: f64([], () => 1, backend), sum: [f64([], () => 0, backend)] }) as [Tensor, { a: Tensor; b: Tensor }];
      expect([await values(cx), await values(cp.a), await values(cp.b)]).toEqual([[30], [20], [0]]);
    });

    it('a null cotangent means no gradient for that argument', async () => {
      const f = M.customVjp({
        forward: (x: Tensor, y: Tensor) => [M.mul(x, y), null] as [Tensor, null],
        backward: (_r: null, ct: Tensor) => [ct, null],
      });
      const [gx, gy] = M.grad((x: Tensor, y: Tensor) => f(x, y), { argnums: [0, 1] })(f64([], () => 2, backend), f64([], () => 3, backend)) as Tensor[];
      expect([await values(gx), await values(gy)]).toEqual([[1], [0]]);
    });

    it('second order differentiates the custom backward (as JAX does)', async () => {
      // Backward 3 ct x^2 (the true derivative of x^3, computed from the residual x).
      const cube = M.customVjp({
        forward: (x: Tensor) => [M.mul(M.mul(x, x), x), x] as [Tensor, Tensor],
        backward: (x: Tensor, ct: Tensor) => [M.mul(M.mul(ct, M.square(x)), 3)],
      });
      for (const x0 of [-1, 0.5, 2]) {
        await expectClose(M.grad((x: Tensor) => M.grad(cube)(x) as Tensor)(f64([], () => x0, backend)) as Tensor, [6 * x0], 1e-14);
        const [, hv] = M.jvp((x: Tensor) => M.grad(cube)(x) as Tensor, [f64([], () => x0, backend)], [f64([], () => 1, backend)]);
        await expectClose(hv as Tensor, [6 * x0], 1e-14);
      }
    });

    it('outside reverse mode (eager, jvp) the forward runs as written', async () => {
      const x = f64([], () => 0.3, backend);
      const [y, t] = M.jvp((x: Tensor) => roundST(x), [x], [f64([], () => 1, backend)]);
      expect([await values(y as Tensor), await values(t as Tensor)]).toEqual([[0], [0]]);
    });

    it('a forward that closes over the value being differentiated is refused (as in JAX)', async () => {
      // The custom backward only covers explicit arguments; the dependence through the closure would
      // be dropped silently, and the backward would return tracers of a finished transformation.
      const s = (v: number) => f64([], () => v, backend);
      const closing = (x: Tensor) =>
        M.customVjp({ forward: (y: Tensor) => [M.mul(y, x), y] as [Tensor, Tensor], backward: (_r: Tensor, ct: Tensor) => [M.mul(ct, 10)] });
      expect(() => M.grad((x: Tensor) => M.sin(closing(x)(x)))(s(0.5))).toThrow(
        'customVjp: the forward closes over a value that grad differentiates (output at (root)); pass it as an argument instead',
      );
      const closingRes = (x: Tensor) =>
        M.customVjp({ forward: (y: Tensor) => [M.mul(y, 2), x] as [Tensor, Tensor], backward: (r: Tensor, ct: Tensor) => [M.mul(ct, r)] });
      expect(() => M.grad((x: Tensor) => closingRes(x)(x))(s(0.5))).toThrow(
        'customVjp: the forward closes over a value that grad differentiates (residual at (root)); pass it as an argument instead',
      );
      // Closing over constants, or over values of an enclosing transformation, is fine.
      const c = s(3);
      const scaled = M.customVjp({ forward: (y: Tensor) => [M.mul(y, c), null] as [Tensor, null], backward: (_r: null, ct: Tensor) => [M.mul(ct, c)] });
      expect(await values(M.grad((x: Tensor) => scaled(x))(s(1)) as Tensor)).toEqual([3]);
      const outer = M.grad((x: Tensor) => M.grad((y: Tensor) => closing(x)(y))(s(2)) as Tensor)(s(0.5)) as Tensor;
      expect(await values(outer)).toEqual([0]);
    });

    it('errors: wrong number of cotangents, wrong cotangent structure', () => {
      const bad = M.customVjp({
        forward: (x: Tensor, y: Tensor) => [M.mul(x, y), null] as [Tensor, null],
        backward: (_r: null, ct: Tensor) => [ct],
      });
      const s = f64([], () => 1, backend);
      expect(() => M.grad((x: Tensor) => bad(x, s))(s)).toThrow('customVjp: backward must return one cotangent per argument (2)');
      const badTree = M.customVjp({
        forward: (p: { a: Tensor; b: Tensor }) => [M.mul(p.a, p.b), null] as [Tensor, null],
        backward: (_r: null, ct: Tensor) => [{ a: ct }],
      });
      expect(() => M.grad((p: { a: Tensor; b: Tensor }) => badTree(p))({ a: s, b: s })).toThrow(
        'customVjp: cotangent of argument 0: structure differs at (root): keys {a, b} vs {a}',
      );
    });

    it('errors: a cotangent of another shape or dtype than its argument, a rule that is not one', () => {
      const x = f64([3], () => 1, backend);
      const wrongShape = M.customVjp({
        forward: (p: { w: Tensor }) => [M.sum(M.mul(p.w, 2)), null] as [Tensor, null],
        backward: () => [{ w: M.ones([1], { dtype: 'float64', backend }) }],
      });
      expect(() => M.grad((p: { w: Tensor }) => wrongShape(p))({ w: x })).toThrow(
        'customVjp: cotangent of argument 0.w must be f64[3] like the argument, got f64[1]',
      );
      const wrongDtype = M.customVjp({
        forward: (w: Tensor) => [M.sum(w), null] as [Tensor, null],
        backward: () => [M.ones([3], { dtype: 'float32', backend })],
      });
      expect(() => M.grad(wrongDtype)(x)).toThrow('customVjp: cotangent of argument 0 must be f64[3] like the argument, got f32[3]');
      const notAPair = M.customVjp({ forward: (w: Tensor) => M.sum(w) as unknown as [Tensor, null], backward: (_r: null, ct: Tensor) => [ct] });
      expect(() => notAPair(x)).toThrow('customVjp: forward must return a pair [output, residuals], got object');
      expect(() => M.grad(notAPair)(x)).toThrow('customVjp: forward must return a pair [output, residuals], got object');
      expect(() => M.customVjp({ forward: (w: Tensor) => [w, null] } as never)).toThrow("customVjp: the rule's backward must be a function, got undefined");
    });
  });
}
