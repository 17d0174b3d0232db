/**
 * No state leaks between transformations: repeated, nested and concurrent calls are independent,
 * and nested derivatives keep their perturbations apart (Siskind & Pearlmutter's perturbation
 * confusion example).
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, expectClose, randn, Rng, values } from './helpers';
import { buildProgram } from './programs';

for (const backend of BACKENDS) {
  const s = (v: number) => M.tensor(new Float64Array([v]), { shape: [], backend });

  describe(`no leakage between calls (${backend.name})`, () => {
    it('a gradient function called twice (and after other gradients) gives identical results', async () => {
      for (let seed = 1; seed <= 20; seed++) {
        const program = buildProgram(seed * 7919, 4, backend);
        const f = (...xs: Tensor[]) => M.sum(M.mul(program.f(...xs), 0.5));
        const argnums = program.inputs.map((_, i) => i);
        const g = M.grad(f, { argnums });
        const first = await Promise.all((g(...program.inputs) as Tensor[]).map(values));
        // Something else in between.
        M.grad((x: Tensor) => M.sum(M.exp(x)))(randn(new Rng(seed), [3], backend));
        const second = await Promise.all((g(...program.inputs) as Tensor[]).map(values));
        expect(second).toEqual(first);
        // A vjp function can be applied several times.
        const [out, back] = M.vjp(f, ...program.inputs);
        const a = await Promise.all((back(M.onesLike(out)) as Tensor[]).map(values));
        const b = await Promise.all((back(M.onesLike(out)) as Tensor[]).map(values));
        expect(b).toEqual(a);
        expect(a).toEqual(first);
      }
    });

    it('perturbation confusion: d/dx [x * d/dy (x + y)] = 1 (grad, jvp, and mixed)', async () => {
      const inner = (x: Tensor) => M.grad((y: Tensor) => M.add(x, y))(s(2)) as Tensor;
      for (const x0 of [-1, 0.5, 3]) {
        expect(await values(M.grad((x: Tensor) => M.mul(x, inner(x)))(s(x0)) as Tensor)).toEqual([1]);
        // Forward over forward.
        const innerF = (x: Tensor) => M.jvp((y: Tensor) => M.add(x, y), [s(2)], [s(1)])[1] as Tensor;
        expect(await values(M.jvp((x: Tensor) => M.mul(x, innerF(x)), [s(x0)], [s(1)])[1] as Tensor)).toEqual([1]);
        // Forward over reverse and reverse over forward.
        expect(await values(M.jvp((x: Tensor) => M.mul(x, inner(x)), [s(x0)], [s(1)])[1] as Tensor)).toEqual([1]);
        expect(await values(M.grad((x: Tensor) => M.mul(x, innerF(x)))(s(x0)) as Tensor)).toEqual([1]);
      }
    });

    it('d/dx [x * d/dy (x y)] = 2x: the inner derivative closes over the outer variable', async () => {
      const f = (x: Tensor) => M.mul(x, M.grad((y: Tensor) => M.mul(x, y))(s(5)) as Tensor);
      for (const x0 of [-1.5, 0, 2]) await expectClose(M.grad(f)(s(x0)) as Tensor, [2 * x0], 0);
      // An inner function that ignores its own argument has a zero inner gradient.
      const g = (x: Tensor) => M.add(x, M.grad((_y: Tensor) => M.mul(x, x))(s(1)) as Tensor);
      expect(await values(M.grad(g)(s(3)) as Tensor)).toEqual([1]);
    });

    it('nested gradients of different functions do not see each other', async () => {
      // Inside f's gradient, an unrelated gradient of h is computed and used as a constant factor.
      const h = (z: Tensor) => M.sum(M.mul(z, z));
      const f = (x: Tensor) => {
        const c = M.grad(h)(M.tensor(Float64Array.from([1, 2]), { backend })) as Tensor; // [2, 4]
        return M.sum(M.mul(M.sin(x), c));
      };
      const x = M.tensor(Float64Array.from([0.3, -0.7]), { backend });
      await expectClose(M.grad(f)(x) as Tensor, [2 * Math.cos(0.3), 4 * Math.cos(-0.7)], 1e-15);
    });

    it('a value that escapes a transformation (a leaked tracer) acts as its value afterwards', async () => {
      // E.g. logging the loss from inside the loss function. Ops on it later must give plain tensors:
      // otherwise each one is recorded on the finished tape, and a running sum over training steps
      // chains every step's tape (memory grows, and each op recurses through all of them).
      let running: Tensor = s(0);
      let w: Tensor = M.tensor(Float64Array.from([0.5, -0.3]), { backend });
      let expected = 0;
      for (let step = 0; step < 300; step++) {
        let leaked: Tensor | undefined;
        const g = M.grad((w: Tensor) => {
          const loss = M.sum(M.square(w));
          leaked = loss;
          return loss;
        })(w) as Tensor;
        expected += (await values(w)).reduce((a, v) => a + v * v, 0);
        running = M.add(running, leaked as Tensor);
        expect(running).toBeInstanceOf(M.ArrayTensor);
        w = M.sub(w, M.mul(g, 0.01));
      }
      expect(Math.abs((await values(running))[0] - expected)).toBeLessThan(1e-12);
      // The same for forward mode.
      let leakedJ: Tensor | undefined;
      M.jvp((x: Tensor) => (leakedJ = M.sin(x)), [s(1)], [s(1)]);
      const later = M.mul(leakedJ as Tensor, 2);
      expect(later).toBeInstanceOf(M.ArrayTensor);
      expect(await values(later)).toEqual([2 * Math.sin(1)]);
      // Inside an enclosing grad, a value leaked from an inner grad still carries the outer derivative.
      const outer = M.grad((x: Tensor) => {
        let inner: Tensor | undefined;
        M.grad((y: Tensor) => (inner = M.mul(M.mul(y, x), x)))(s(2));
        return inner as Tensor; // 2 x^2 as a function of x
      })(s(3)) as Tensor;
      expect(await values(outer)).toEqual([12]);
    });

    it('a value that escapes makeIR cannot be used afterwards, and the program stays as staged', () => {
      let leaked: Tensor | undefined;
      const ir = M.makeIR((x: Tensor) => (leaked = M.sin(x)))(M.zeros([2], { dtype: 'float64', backend }));
      const listing = String(ir);
      expect(() => M.mul(leaked as Tensor, 2)).toThrow('mul: a value staged by makeIR was used after makeIR returned');
      expect(String(ir)).toBe(listing);
      expect(ir.equations).toHaveLength(1);
    });

    it('concurrent async computations (await between steps) do not interfere', async () => {
      const task = async (seed: number) => {
        const rng = new Rng(seed);
        const x = randn(rng, [4], backend);
        const w = randn(rng, [4], backend);
        const f = (x: Tensor) => M.sum(M.mul(M.tanh(M.mul(x, w)), x));
        const [y, back] = M.vjp(f, x);
        await y.data(); // yield while the tape is alive
        await new Promise((r) => setTimeout(r, (seed % 3) * 2));
        const g1 = (back(M.onesLike(y)) as Tensor[])[0];
        await g1.data();
        const g2 = M.grad(f)(x) as Tensor;
        await new Promise((r) => setTimeout(r, 1));
        const hvp = M.jvp((z: Tensor) => M.grad(f)(z) as Tensor, [x], [w])[1] as Tensor;
        // Closed forms: f = sum(tanh(w x) x), f' = tanh(w x) + w x sech^2(w x).
        const [xv, wv] = [await values(x), await values(w)];
        const expected = xv.map((xi, i) => {
          const t = Math.tanh(wv[i] * xi);
          return t + wv[i] * xi * (1 - t * t);
        });
        const expectedHv = xv.map((xi, i) => {
          const t = Math.tanh(wv[i] * xi);
          const s2 = 1 - t * t;
          return (2 * wv[i] * s2 - 2 * wv[i] * wv[i] * xi * t * s2) * wv[i];
        });
        return { g1: await values(g1), g2: await values(g2), hv: await values(hvp), expected, expectedHv };
      };
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => task(100 + i)));
      for (const r of results) {
        expect(r.g1).toEqual(r.g2);
        r.g1.forEach((v, i) => expect(Math.abs(v - r.expected[i])).toBeLessThan(1e-12));
        r.hv.forEach((v, i) => expect(Math.abs(v - r.expectedHv[i])).toBeLessThan(1e-12));
      }
    });
  });
}
