/**
 * Higher order: Hessians by reverse-over-reverse and forward-over-reverse against closed forms,
 * grad(grad(f)) of scalar functions against their known derivatives, Hessian-vector products, and
 * second-order gradients of random programs against finite differences of the first-order gradient.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, expectClose, expectGradsMatch, f64, gradCheck, randn, Rng, values, runs } from './helpers';
import { buildProgram } from './programs';

/** The Hessian of f at x (a vector), row by row: reverse over reverse (vjp of grad). */
async function hessianRev(f: (x: Tensor) => Tensor, x: Tensor): Promise<number[][]> {
  const n = x.shape[0];
  const [, back] = M.vjp((y: Tensor) => M.grad(f)(y) as Tensor, x);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const e = f64([n], (j) => (j === i ? 1 : 0), x.backend);
    rows.push(await values((back(e) as Tensor[])[0]));
  }
  return rows;
}

/** The Hessian of f at x, column by column: forward over reverse (jvp of grad). */
async function hessianFwd(f: (x: Tensor) => Tensor, x: Tensor): Promise<number[][]> {
  const n = x.shape[0];
  const cols: number[][] = [];
  for (let i = 0; i < n; i++) {
    const e = f64([n], (j) => (j === i ? 1 : 0), x.backend);
    const [, t] = M.jvp((y: Tensor) => M.grad(f)(y) as Tensor, [x], [e]);
    cols.push(await values(t as Tensor));
  }
  return cols[0].map((_, r) => cols.map((c) => c[r]));
}

function expectMatrixClose(actual: number[][], expected: number[][], tol: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, j) => {
      expect(Math.abs(v - expected[i][j]) <= tol * Math.max(1, Math.abs(expected[i][j])), `${what}[${i}][${j}]: ${v} vs ${expected[i][j]}`).toBe(true);
    }),
  );
}

for (const backend of BACKENDS) {
  describe(`second order (${backend.name})`, () => {
    it('Hessian of x^T A x is A + A^T (reverse-over-reverse and forward-over-reverse)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 5 }), async (seed, n) => {
          const rng = new Rng(seed);
          const a = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
          const A = M.tensor(Float64Array.from(a.flat()), { shape: [n, n], backend });
          const x = randn(rng, [n], backend);
          const f = (x: Tensor) => M.matmul(x, M.matmul(A, x));
          const expected = a.map((row, i) => row.map((v, j) => v + a[j][i]));
          expectMatrixClose(await hessianRev(f, x), expected, 1e-12, 'rev');
          expectMatrixClose(await hessianFwd(f, x), expected, 1e-12, 'fwd');
        }),
        { numRuns: runs(15) },
      );
    });

    it('Hessian of logsumexp is diag(p) - p p^T', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 5 }), async (seed, n) => {
          const rng = new Rng(seed);
          const xs = Array.from({ length: n }, () => 3 * rng.normal());
          const x = M.tensor(Float64Array.from(xs), { backend });
          const m = Math.max(...xs);
          const z = xs.reduce((s, v) => s + Math.exp(v - m), 0);
          const p = xs.map((v) => Math.exp(v - m) / z);
          const expected = p.map((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
          expectMatrixClose(await hessianRev((x) => M.logsumexp(x), x), expected, 1e-12, 'rev');
          expectMatrixClose(await hessianFwd((x) => M.logsumexp(x), x), expected, 1e-12, 'fwd');
        }),
        { numRuns: runs(15) },
      );
    });

    it('Hessian of prod is the product of the other elements off the diagonal, at zeros too', async () => {
      // H_ij = prod over k != i, j of x_k (i != j), 0 on the diagonal: with one zero, only its row
      // and column; with two, only the entry between them; with three, nothing.
      const points = [[2, 0, 4], [0, 0, 3], [0, 0, 0], [2, -3, 0.5, 4], [1.5, 0, -2, 0, 3]];
      for (const xs of points) {
        const x = M.tensor(Float64Array.from(xs), { backend });
        const expected = xs.map((_, i) => xs.map((_, j) => (i === j ? 0 : xs.reduce((p, v, k) => (k === i || k === j ? p : p * v), 1))));
        expectMatrixClose(await hessianRev((x) => M.prod(x), x), expected, 1e-12, `rev at ${xs}`);
        expectMatrixClose(await hessianFwd((x) => M.prod(x), x), expected, 1e-12, `fwd at ${xs}`);
      }
      // Over some axes of a matrix: each row's own Hessian, and none between rows.
      const x = M.tensor(Float64Array.of(2, 0, 4, 0, 5, 6), { shape: [2, 3], backend });
      const h = (await values(M.hessian((y: Tensor) => M.sum(M.prod(y, 1)))(x) as Tensor));
      const rows = [[2, 0, 4], [0, 5, 6]];
      const blocks = rows.map((r) => r.map((_, i) => r.map((_, j) => (i === j ? 0 : r.reduce((p, v, k) => (k === i || k === j ? p : p * v), 1)))));
      const expectedFull = Array.from({ length: 36 }, (_, q) => {
        const [ri, i, rj, j] = [Math.floor(q / 18), Math.floor(q / 6) % 3, Math.floor(q / 3) % 2, q % 3];
        return ri === rj ? blocks[ri][i][j] : 0;
      });
      expect(h).toEqual(expectedFull);
    });

    it('grad(grad(f)) of scalar functions equals the known second derivative', async () => {
      const cases: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
        ['x^3', (x) => M.mul(M.mul(x, x), x), (x) => 6 * x],
        ['sin x * x', (x) => M.mul(M.sin(x), x), (x) => 2 * Math.cos(x) - x * Math.sin(x)],
        ['exp(sin x)', (x) => M.exp(M.sin(x)), (x) => Math.exp(Math.sin(x)) * (Math.cos(x) ** 2 - Math.sin(x))],
        ['tanh', M.tanh, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
        ['sigmoid', M.sigmoid, (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s) * (1 - 2 * s); }],
        ['softplus', M.softplus, (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }],
        ['log(1 + x^2)', (x) => M.log(M.add(M.square(x), 1)), (x) => (2 - 2 * x * x) / (1 + x * x) ** 2],
        ['sqrt(1 + x^2)', (x) => M.sqrt(M.add(M.square(x), 1)), (x) => (1 + x * x) ** -1.5],
        ['1 / (2 + x^2)', (x) => M.reciprocal(M.add(M.square(x), 2)), (x) => (6 * x * x - 4) / (2 + x * x) ** 3],
        ['atan', M.atan, (x) => (-2 * x) / (1 + x * x) ** 2],
        ['erf', M.erf, (x) => (-4 * x * Math.exp(-x * x)) / Math.sqrt(Math.PI)],
        ['pow(2 + sin x, 1.5)', (x) => M.pow(M.add(M.sin(x), 2), 1.5), (x) => {
          const b = 2 + Math.sin(x);
          return 0.75 * b ** -0.5 * Math.cos(x) ** 2 - 1.5 * b ** 0.5 * Math.sin(x);
        }],
        ['x^x (pow both ways)', (x) => M.pow(M.add(M.abs(x), 1), M.add(M.abs(x), 1)), (x) => {
          // y = u^u, u = |x| + 1: y'' = u^u ((1 + ln u)^2 + 1/u) (sign of x squared away).
          const u = Math.abs(x) + 1;
          return u ** u * ((1 + Math.log(u)) ** 2 + 1 / u);
        }],
      ];
      const rng = new Rng(11);
      for (const [name, f, d2] of cases) {
        for (let k = 0; k < 4; k++) {
          const x0 = rng.signed(0.2, 1.5);
          const g2 = M.grad((x: Tensor) => M.grad(f)(x) as Tensor)(f64([], () => x0, backend)) as Tensor;
          await expectClose(g2, [d2(x0)], 1e-12, `${name} at ${x0}`);
        }
      }
    });

    it('third order: d^3/dx^3 sin(2x) = -8 cos(2x)', async () => {
      const d3 = M.grad((x: Tensor) => M.grad((y: Tensor) => M.grad((z: Tensor) => M.sin(M.mul(z, 2)))(y) as Tensor)(x) as Tensor);
      for (const x0 of [-1.3, 0, 0.4, 2]) await expectClose(d3(f64([], () => x0, backend)) as Tensor, [-8 * Math.cos(2 * x0)], 1e-12);
    });

    it('Hessian-vector products jvp(grad f)(x; v) equal H v (closed forms)', async () => {
      const rng = new Rng(5);
      for (let trial = 0; trial < 10; trial++) {
        const n = rng.int(1, 6);
        const a = Array.from({ length: n * n }, () => rng.normal());
        const A = M.tensor(Float64Array.from(a), { shape: [n, n], backend });
        const xs = Array.from({ length: n }, () => rng.normal());
        const vs = Array.from({ length: n }, () => rng.normal());
        const [x, v] = [M.tensor(Float64Array.from(xs), { backend }), M.tensor(Float64Array.from(vs), { backend })];
        // f(x) = x^T A x + logsumexp(x): H v = (A + A^T) v + p * v - p (p . v)
        const f = (x: Tensor) => M.add(M.matmul(x, M.matmul(A, x)), M.logsumexp(x));
        const m = Math.max(...xs);
        const z = xs.reduce((s, t) => s + Math.exp(t - m), 0);
        const p = xs.map((t) => Math.exp(t - m) / z);
        const pv = p.reduce((s, pi, i) => s + pi * vs[i], 0);
        const expected = xs.map((_, i) => {
          let s = p[i] * vs[i] - p[i] * pv;
          for (let j = 0; j < n; j++) s += (a[i * n + j] + a[j * n + i]) * vs[j];
          return s;
        });
        const [g, hv] = M.jvp((y: Tensor) => M.grad(f)(y) as Tensor, [x], [v]);
        await expectClose(hv as Tensor, expected, 1e-12, 'Hv');
        // The primal output of the jvp is the gradient itself: (A + A^T) x + p.
        const gExpected = xs.map((_, i) => {
          let s = p[i];
          for (let j = 0; j < n; j++) s += (a[i * n + j] + a[j * n + i]) * xs[j];
          return s;
        });
        await expectClose(g as Tensor, gExpected, 1e-12, 'grad');
      }
    });

    it('derivatives of jvp (forward-over-forward, reverse-over-forward) of random programs match finite differences', async () => {
      let checked = 0;
      let skipped = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, n) => {
          const program = buildProgram(seed, n, backend);
          const rng = new Rng(seed ^ 0x7654321);
          const ts = program.inputs.map((x) => randn(rng, x.shape, backend));
          // h(x) = J(x) t: the jvp's tangent output as a function of the primals. gradCheck then
          // runs vjp (reverse over forward) and jvp (forward over forward) of it.
          const h = (...xs: Tensor[]) => M.jvp(program.f, xs, ts)[1] as Tensor;
          const r = await gradCheck(h, program.inputs, rng, backend);
          if (!r.smooth) {
            skipped++;
            return;
          }
          checked++;
          expectGradsMatch(r, `derivative of the jvp of program (seed ${seed}):\n  ${program.listing.join('\n  ')}\n`);
        }),
        { numRuns: runs(100) },
      );
      expect(skipped / (checked + skipped)).toBeLessThan(0.1);
    });

    it('second-order gradients of random programs match finite differences of the gradient', async () => {
      let checked = 0;
      let skipped = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 4 }), async (seed, n) => {
          const program = buildProgram(seed, n, backend);
          const rng = new Rng(seed ^ 0x1234567);
          const out = program.f(...program.inputs);
          const w = randn(rng, out.shape, backend);
          const argnums = program.inputs.map((_, i) => i);
          // g(x) = <grad_x <w, f(x)>, c>: its gradient needs the vjp rules differentiated again.
          const cs = program.inputs.map((x) => randn(rng, x.shape, backend));
          const g = (...xs: Tensor[]) => {
            const grads = M.grad((...ys: Tensor[]) => M.sum(M.mul(program.f(...ys), w)), { argnums })(...xs) as Tensor[];
            return grads.map((gr, i) => M.sum(M.mul(gr, cs[i]))).reduce((s, t) => M.add(s, t));
          };
          const r = await gradCheck(g, program.inputs, rng, backend);
          if (!r.smooth) {
            skipped++;
            return;
          }
          checked++;
          expectGradsMatch(r, `second order of program (seed ${seed}):\n  ${program.listing.join('\n  ')}\n`);
        }),
        { numRuns: runs(150) },
      );
      expect(skipped / (checked + skipped)).toBeLessThan(0.1);
    });
  });
}
