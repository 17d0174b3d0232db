/**
 * jacrev, jacfwd and hessian against closed forms (float64): y = A tanh(x) has Jacobian
 * A diag(1 - tanh² x); f(x) = Σ x³ + x0 x1 has Hessian diag(6x) + (e0 e1ᵀ + e1 e0ᵀ); a pytree
 * argument gets one Jacobian block per leaf, shaped [...output, ...leaf]. Also under jit and vmap.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';

const f64 = (values: number[], shape = [values.length]) => M.tensor(Float64Array.from(values), { shape });
const A = [
  [1, 2, -1],
  [0.5, -3, 2],
];
const x0 = [0.3, -0.7, 1.1];
const linearTanh = (x: Tensor) => M.matmul(f64(A.flat(), [2, 3]), M.tanh(x));
/** d(A tanh x)/dx = A diag(1 - tanh² x), written out. */
const expectedJacobian = A.map((row) => row.map((a, j) => a * (1 - Math.tanh(x0[j]) ** 2)));

function expectNested(actual: Tensor, expected: number[][], tol = 1e-14) {
  expect(actual.shape).toEqual([expected.length, expected[0].length]);
  (actual.toArraySync() as number[][]).forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i][j]), `[${i}][${j}]`).toBeLessThan(tol)));
}

describe('jacrev, jacfwd, hessian', () => {
  it('equal the closed-form Jacobian of A tanh(x), reverse and forward', () => {
    expectNested(M.jacrev(linearTanh)(f64(x0)), expectedJacobian);
    expectNested(M.jacfwd(linearTanh)(f64(x0)), expectedJacobian);
  });

  it('give the Hessian of Σ x³ + x0 x1', () => {
    const f = (x: Tensor) => M.add(M.sum(M.pow(x, 3)), M.mul(M.slice(x, 0), M.slice(x, 1)));
    const expected = x0.map((xi, i) => x0.map((_, j) => (i === j ? 6 * xi : (i + j === 1 ? 1 : 0))));
    expectNested(M.hessian(f)(f64(x0)), expected, 1e-13);
    expectNested(M.jit(M.hessian(f))(f64(x0)), expected, 1e-13);
  });

  it('take argnums and a pytree argument: one block per leaf, [...output, ...leaf]', () => {
    const x = f64([0.5, -1, 2, 0.25], [2, 2]);
    const layer = (p: { w: Tensor; b: Tensor }, input: Tensor) => M.add(M.matmul(input, p.w), p.b); // [2, 3]
    const params = { w: f64([1, 2, 3, 4, 5, 6], [2, 3]), b: f64([0.1, 0.2, 0.3]) };
    for (const jac of [M.jacrev, M.jacfwd]) {
      const J = jac(layer)(params, x) as { w: Tensor; b: Tensor };
      expect(J.w.shape).toEqual([2, 3, 2, 3]);
      expect(J.b.shape).toEqual([2, 3, 3]);
      // y[i, k] = Σ_j x[i, j] w[j, k] + b[k]: dy[i,k]/dw[j,l] = x[i,j] δ(k,l), dy[i,k]/db[l] = δ(k,l).
      const w = J.w.toArraySync() as number[][][][];
      const b = J.b.toArraySync() as number[][][];
      const xs = x.toArraySync() as number[][];
      for (let i = 0; i < 2; i++) {
        for (let k = 0; k < 3; k++) {
          for (let l = 0; l < 3; l++) {
            expect(b[i][k][l]).toBe(k === l ? 1 : 0);
            for (let j = 0; j < 2; j++) expect(w[i][k][j][l]).toBe(k === l ? xs[i][j] : 0);
          }
        }
      }
      const dx = jac(layer, { argnums: 1 })(params, x) as Tensor; // dy[i,k]/dx[m,j] = δ(i,m) w[j,k]
      expect(dx.shape).toEqual([2, 3, 2, 2]);
      expect((dx.toArraySync() as number[][][][])[1][2][1][0]).toBe(3);
      expect((dx.toArraySync() as number[][][][])[1][2][0][0]).toBe(0);
    }
  });

  it('take an array of argnums: an array of Jacobians, one per argument (JAX tuple argnums)', () => {
    // f(a, s, b) = a * s * b elementwise (s a scalar held fixed): df/da = diag(s b), df/db = diag(s a).
    const [a, b] = [f64([1, -2, 3]), f64([0.5, 4, -1])];
    const s = 2;
    const f = (x: Tensor, scale: number, y: Tensor) => M.mul(M.mul(x, scale), y);
    const diag = (v: number[]) => v.map((vi, i) => v.map((_, j) => (i === j ? vi : 0)));
    for (const jac of [M.jacrev, M.jacfwd]) {
      const [ja, jb] = jac(f, { argnums: [0, 2] })(a, s, b) as Tensor[];
      expectNested(ja, diag([1, 8, -2]));
      expectNested(jb, diag([2, -4, 6]));
      const [only] = jac(f, { argnums: [2] })(a, s, b) as Tensor[];
      expectNested(only, diag([2, -4, 6]));
      expect(() => jac(f, { argnums: [0, 0] })(a, s, b)).toThrow(/argnums \[0,0\] repeats an argument/);
      expect(() => jac(f, { argnums: [] })(a, s, b)).toThrow(/argnums must be an argument index or a non-empty array/);
    }
  });

  it('take pytree outputs: a Jacobian like the output whose leaves are like the input (JAX nesting), and nest Hessians of several arguments', () => {
    const [a, b] = [f64([1, -2, 3]), f64([0.5, 4, -1])];
    const diag = (v: number[]) => v.map((vi, i) => v.map((_, j) => (i === j ? vi : 0)));
    // f(a, b) = { p: a * b, s: [sum(a^2)] }: dp/da = diag(b), dp/db = diag(a), ds/da = 2a, ds/db = 0.
    const f = (x: Tensor, y: Tensor) => ({ p: M.mul(x, y), s: [M.sum(M.square(x))] });
    for (const jac of [M.jacrev, M.jacfwd]) {
      const J = jac(f, { argnums: [0, 1] })(a, b) as { p: Tensor[]; s: Tensor[][] };
      expectNested(J.p[0], diag([0.5, 4, -1]));
      expectNested(J.p[1], diag([1, -2, 3]));
      expect(J.s[0][0].shape).toEqual([3]);
      expect(Array.from(J.s[0][0].dataSync())).toEqual([2, -4, 6]);
      expect(Array.from(J.s[0][1].dataSync(), (v) => v + 0)).toEqual([0, 0, 0]);
    }
    // hessian of sum(a^2 b) in (a, b): [[diag(2b), diag(2a)], [diag(2a), 0]].
    const H = M.hessian((x: Tensor, y: Tensor) => M.sum(M.mul(M.square(x), y)), { argnums: [0, 1] })(a, b) as Tensor[][];
    expectNested(H[0][0], diag([1, 8, -2]));
    expectNested(H[0][1], diag([2, -4, 6]));
    expectNested(H[1][0], diag([2, -4, 6]));
    expectNested(H[1][1], diag([0, 0, 0]));
    // A pytree argument: its Hessian nests { a: { a } }.
    const Hp = M.hessian((p: { a: Tensor }) => M.sum(M.pow(p.a, 3)))({ a: f64([1, 2]) }) as { a: { a: Tensor } };
    expectNested(Hp.a.a, [[6, 0], [0, 12]]);
  });

  it('compose with jit and vmap', () => {
    const xs = f64([0.3, -0.7, 1.1, 2, 0, -1], [2, 3]);
    const perRow = M.vmap(M.jacrev(linearTanh))(xs); // [2, 2, 3]
    const jitted = M.jit(M.jacfwd(linearTanh))(f64(x0));
    expectNested(jitted, expectedJacobian);
    expect(perRow.shape).toEqual([2, 2, 3]);
    expectNested(M.slice(perRow, 0) as Tensor, expectedJacobian);
    // Row 1 is its own point, x = [2, 0, -1]: a vmap repeating row 0 would fail here.
    const x1 = [2, 0, -1];
    expectNested(M.slice(perRow, 1) as Tensor, A.map((row) => row.map((a, j) => a * (1 - Math.tanh(x1[j]) ** 2))));
  });

  it('name what is wrong', () => {
    expect(() => M.jacrev((x: Tensor) => ({ y: x, n: 3 }))(f64([1]))).toThrow('jacrev: the function must return a tensor or a pytree of them, got number at .n');
    expect(() => M.jacfwd((x: Tensor) => x, { argnums: 1 })(f64([1]))).toThrow('jacfwd: argnums 1 is out of range for a call with 1 argument(s)');
    expect(() => M.jacrev(linearTanh, { argnum: 0 } as never)).toThrow("jacrev: unknown option 'argnum' (known: argnums)");
  });
});
