/**
 * The composite ops users bring from JAX, PyTorch and optax (logaddexp, std, norm, silu, gelu,
 * leakyRelu, elu, huberLoss, l2Loss) on the CPU: values against float64 closed forms written here
 * (never the code under test), in float64 (~1e-12 relative) and float32 (a few float32 ulps: each
 * primitive of the composition rounds once); gradients against float64 central differences
 * (`gradCheck`: vjp, jvp and finite differences agree) at random smooth points and by hand at the
 * awkward points, whose conventions are stated where they are tested; one `jit` and one `vmap`
 * check each. The WebGPU side is test/tensor/composites-webgpu.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { expectGradsMatch, f64, gradCheck, Rng } from '../autodiff/helpers';
import { geluRef, geluTanhRef, huberRef, logaddexpRef, normRef, sigmoidRef, stdRef } from './composites-refs';
import { expectClose, makeTensor, randomValues, TOL64, valuesOf } from './helpers';

/** One float32 ulp at |x| (2^-23 relative), with the smallest normal as the floor. */
const ulp32 = (x: number) => 2 ** -23 * Math.max(Math.abs(x), 2 ** -126);

/** d f(x)_i / d x_i of an elementwise f, by reverse mode (gradient of the sum) and by forward mode (tangent of ones); both asserted equal. */
function elementwiseDerivative(f: (x: Tensor) => Tensor, x: Tensor): number[] {
  const reverse = valuesOf(M.grad((t: Tensor) => M.sum(f(t)))(x));
  const [, tangent] = M.jvp(f, [x], [M.onesLike(x)]);
  expect(valuesOf(tangent as Tensor), 'forward mode equals reverse mode').toEqual(reverse);
  return reverse;
}

/** Float64 central difference (f(x + h) - f(x - h)) / 2h of a scalar function of plain numbers. */
const central = (f: (x: number) => number, x: number, h = 1e-6) => (f(x + h) - f(x - h)) / (2 * h);
/** f of one float64 number through the code under test. */
const at = (op: (x: Tensor) => Tensor) => (x: number) => op(M.tensor([x], { dtype: 'float64' })).dataSync()[0];

/** Every element of `a` equals `b`'s bit for bit (NaN equal to NaN). */
function expectSame(a: Tensor, b: Tensor, what: string): void {
  expect(a.shape, what).toEqual(b.shape);
  expect(a.dtype, what).toBe(b.dtype);
  const [x, y] = [valuesOf(a), valuesOf(b)];
  for (let i = 0; i < x.length; i++) expect(Object.is(x[i], y[i]) || x[i] === y[i], `${what}[${i}]: ${x[i]} vs ${y[i]}`).toBe(true);
}

interface UnaryCase {
  op: (x: Tensor) => Tensor;
  ref: (x: number) => number;
  lo: number;
  hi: number;
  /**
   * The result is 0.5 x (1 + f(x)) with f near -1 for x < 0 (gelu): the rounding of f, an ulp of 1,
   * times |x| / 2 is the absolute error there, in the code and in the reference alike.
   */
  cancels?: boolean;
}

const UNARY: Record<string, UnaryCase> = {
  silu: { op: M.silu, ref: (x) => x * sigmoidRef(x), lo: -20, hi: 20 },
  gelu: { op: (x) => M.gelu(x), ref: geluRef, lo: -6, hi: 6, cancels: true },
  'gelu tanh': { op: (x) => M.gelu(x, 'tanh'), ref: geluTanhRef, lo: -6, hi: 6, cancels: true },
  leakyRelu: { op: (x) => M.leakyRelu(x), ref: (x) => (x >= 0 ? x : 0.01 * x), lo: -5, hi: 5 },
  'leakyRelu 0.2': { op: (x) => M.leakyRelu(x, 0.2), ref: (x) => (x >= 0 ? x : 0.2 * x), lo: -5, hi: 5 },
  elu: { op: (x) => M.elu(x), ref: (x) => (x > 0 ? x : Math.expm1(x)), lo: -10, hi: 10 },
  'elu 1.5': { op: (x) => M.elu(x, 1.5), ref: (x) => (x > 0 ? x : 1.5 * Math.expm1(x)), lo: -10, hi: 10 },
};

describe('activations: values', () => {
  for (const [name, c] of Object.entries(UNARY)) {
    it(`${name} in float64 and float32 against its closed form`, () => {
      const xs = [...randomValues(7, 64, c.lo, c.hi), 0, -0.5, 0.5, 1, -1, 1e-8, -1e-8];
      const cancel = (x: number, eps: number) => (c.cancels ? 2 * eps * Math.abs(x) : 0);
      const tol64 = xs.map((x) => 1e-13 * Math.abs(c.ref(x)) + cancel(x, 2 ** -52) + 1e-300);
      expectClose(valuesOf(c.op(makeTensor(xs, [xs.length]))), xs.map(c.ref), tol64, `${name} f64`);
      const xs32 = xs.map(Math.fround);
      const got = valuesOf(c.op(makeTensor(xs32, [xs32.length], 'float32')));
      // Each primitive of the composition rounds once: a few ulps of the result.
      expectClose(got, xs32.map(c.ref), xs32.map((x) => 6 * ulp32(c.ref(x)) + cancel(x, 2 ** -23)), `${name} f32`);
    });
  }

  it('gelu is x·Φ(x) (tabulated normal CDF), its tanh form within 1e-3 of it, and finite far out', () => {
    // Φ(1), Φ(2), Φ(3) to 15 digits (standard tables); Φ(-x) = 1 - Φ(x).
    const phi = [0.841344746068543, 0.977249868051821, 0.99865010196837];
    const x = [1, 2, 3, -1, -2];
    const expected = [phi[0], 2 * phi[1], 3 * phi[2], -(1 - phi[0]), -2 * (1 - phi[1])];
    expectClose(valuesOf(M.gelu(makeTensor(x, [5]))), expected, { rtol: 1e-13 });
    const approx = valuesOf(M.gelu(makeTensor(x, [5]), 'tanh'));
    approx.forEach((v, i) => {
      expect(Math.abs(v - expected[i])).toBeLessThan(1e-3);
      expect(v).not.toBe(valuesOf(M.gelu(makeTensor(x, [5])))[i]);
    });
    const far = valuesOf(M.gelu(makeTensor([40, -40], [2])));
    expect(far[0]).toBe(40);
    expect(Math.abs(far[1])).toBeLessThan(1e-300);
  });

  it('elu does not overflow for large x, and integers become float32', () => {
    expect(valuesOf(M.elu(makeTensor([1000, -1000], [2])))).toEqual([1000, -1]);
    expect(valuesOf(M.grad((x: Tensor) => M.sum(M.elu(x)))(makeTensor([1000], [1])))).toEqual([1]);
    for (const op of [M.silu, M.gelu, M.leakyRelu, M.elu]) expect(op(M.tensor([1, -2], { dtype: 'int32' })).dtype).toBe('float32');
  });
});

describe('activations: gradients', () => {
  for (const [name, c] of Object.entries(UNARY)) {
    it(`${name}: vjp and jvp against finite differences at random points`, async () => {
      const rng = new Rng(11);
      for (let trial = 0; trial < 4; trial++) {
        // Away from 0 by more than the difference steps, where leakyRelu and elu have kinks.
        const x = f64([2, 3], () => rng.signed(0.05, Math.min(4, c.hi)));
        expectGradsMatch(await gradCheck(c.op, [x], rng), `${name} trial ${trial}`);
      }
    });
  }

  it('silu and gelu are smooth at 0 (finite differences there too)', async () => {
    const rng = new Rng(3);
    for (const op of [M.silu, (x: Tensor) => M.gelu(x), (x: Tensor) => M.gelu(x, 'tanh')]) {
      expectGradsMatch(await gradCheck(op, [f64([3], () => 0)], rng), 'at 0');
    }
    expect(elementwiseDerivative(M.silu, makeTensor([0], [1]))).toEqual([0.5]);
    expect(elementwiseDerivative((x) => M.gelu(x), makeTensor([0], [1]))).toEqual([0.5]);
  });

  it("leakyRelu'(0) = 1 (JAX's where(x >= 0, ...)), between the one-sided derivatives negativeSlope and 1", () => {
    for (const slope of [0.01, 0.2, 3]) {
      const f = (x: Tensor) => M.leakyRelu(x, slope);
      expect(elementwiseDerivative(f, makeTensor([0, -2, 2], [3]))).toEqual([1, slope, 1]);
      const h = 1e-6;
      expect((at(f)(0) - at(f)(-h)) / h).toBeCloseTo(slope, 9);
      expect((at(f)(h) - at(f)(0)) / h).toBeCloseTo(1, 9);
    }
  });

  it("elu'(0) = alpha, the left-hand derivative (JAX and PyTorch); for alpha = 1 both sides agree", () => {
    for (const alpha of [1, 0.5, 2]) {
      const f = (x: Tensor) => M.elu(x, alpha);
      expect(elementwiseDerivative(f, makeTensor([0], [1]))).toEqual([alpha]);
      const h = 1e-7;
      expect(Math.abs((at(f)(0) - at(f)(-h)) / h - alpha)).toBeLessThan(1e-6 * alpha + 1e-9);
    }
    // alpha = 1: C¹ at 0, so the central difference there is the derivative.
    expect(Math.abs(central(at(M.elu), 0) - 1)).toBeLessThan(1e-6);
  });
});

describe('logaddexp', () => {
  it('float64 and float32 against log of the larger term plus log1p, with broadcasting', () => {
    const a = randomValues(1, 12, -30, 30);
    const b = randomValues(2, 4, -30, 30);
    const got = M.logaddexp(makeTensor(a, [3, 4]), makeTensor(b, [4]));
    expect(got.shape).toEqual([3, 4]);
    const expected = a.map((x, i) => logaddexpRef(x, b[i % 4]));
    expectClose(valuesOf(got), expected, TOL64, 'f64');
    const [a32, b32] = [a.map(Math.fround), b.map(Math.fround)];
    const got32 = M.logaddexp(makeTensor(a32, [3, 4], 'float32'), makeTensor(b32, [4], 'float32'));
    const expected32 = a32.map((x, i) => logaddexpRef(x, b32[i % 4]));
    expectClose(valuesOf(got32), expected32, expected32.map((e, i) => 3 * ulp32(e) + 2 * ulp32(Math.max(a32[i], b32[i % 4]))), 'f32');
  });

  it('is exact where the naive log(exp(a) + exp(b)) overflows or loses the small term', () => {
    const a = makeTensor([1000, -1000, 1e4, 0, 50, 800], [6]);
    const b = makeTensor([1000, -1000, 0, -1e4, 50 - 40, -800], [6]);
    expectClose(valuesOf(M.logaddexp(a, b)), [1000 + Math.LN2, -1000 + Math.LN2, 1e4, 0, 50 + Math.log1p(Math.exp(-40)), 800], TOL64);
    // log(1 + e^-40) = e^-40 (1 - e^-40 / 2 + ...): not lost to 1 + e^-40 = 1.
    expectClose(valuesOf(M.logaddexp(makeTensor([0], [1]), makeTensor([-40], [1]))), [Math.exp(-40)], TOL64);
  });

  it('infinities and NaN: two -Infinity give -Infinity (not NaN), as JAX', () => {
    const inf = Infinity;
    const a = makeTensor([-inf, inf, -inf, 3, inf, NaN, 1], [7]);
    const b = makeTensor([-inf, inf, 3, -inf, -inf, 1, NaN], [7]);
    expectClose(valuesOf(M.logaddexp(a, b)), [-inf, inf, 3, 3, inf, NaN, NaN], TOL64);
    const a32 = makeTensor([-inf, inf, -inf], [3], 'float32');
    expectClose(valuesOf(M.logaddexp(a32, a32)), [-inf, inf, -inf], TOL64, 'f32');
  });

  it('gradients against finite differences at random points and at ties a = b (smooth there)', async () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 4; trial++) {
      const a = f64([2, 3], () => rng.uniform(-5, 5));
      const b = trial < 2 ? f64([3], () => rng.uniform(-5, 5)) : M.add(a, 0); // trials 2, 3: every element tied
      expectGradsMatch(await gradCheck(M.logaddexp, [a, b], rng), `trial ${trial}`);
    }
  });

  it('gradient: sigmoid(a - b) for a; 1/2 : 1/2 at ties and at two infinities of one sign; (1, 0) against -Infinity', () => {
    const inf = Infinity;
    const av = [0, 1e4, -1e4, 2, -inf, inf, 7, -inf];
    const bv = [0, 1e4, -1e4, -1, -inf, inf, -inf, 7];
    const [ga, gb] = M.grad((a: Tensor, b: Tensor) => M.sum(M.logaddexp(a, b)), { argnums: [0, 1] })(makeTensor(av, [8]), makeTensor(bv, [8])) as Tensor[];
    expectClose(valuesOf(ga), [0.5, 0.5, 0.5, sigmoidRef(3), 0.5, 0.5, 1, 0], TOL64, 'd/da');
    expectClose(valuesOf(gb), [0.5, 0.5, 0.5, sigmoidRef(-3), 0.5, 0.5, 0, 1], TOL64, 'd/db');
    // Forward mode agrees, tangents (1, 0) and (0, 1).
    const [a, b] = [makeTensor(av, [8]), makeTensor(bv, [8])];
    const [, ta] = M.jvp(M.logaddexp, [a, b], [M.onesLike(a), M.zerosLike(b)]);
    expect(valuesOf(ta as Tensor)).toEqual(valuesOf(ga));
  });

  it('second derivatives are smooth across a = b: sigmoid\'(a - b), against finite differences of the gradient', async () => {
    const rng = new Rng(6);
    // The gradient with respect to a, sigmoid(a - b), as a function of (a, b): its derivatives are the Hessian's.
    const da = (a: Tensor, b: Tensor) => M.grad((x: Tensor) => M.sum(M.logaddexp(x, b)))(a) as Tensor;
    for (const tied of [true, false]) {
      const a = f64([4], () => rng.uniform(-3, 3));
      const b = tied ? M.add(a, 0) : f64([4], () => rng.uniform(-3, 3));
      expectGradsMatch(await gradCheck(da, [a, b], rng), tied ? 'at ties' : 'apart');
    }
    const [haa, hab] = M.grad((a: Tensor, b: Tensor) => M.sum(da(a, b)), { argnums: [0, 1] })(makeTensor([0, 5, 2], [3]), makeTensor([0, 5, -1], [3])) as Tensor[];
    const s3 = sigmoidRef(3) * (1 - sigmoidRef(3));
    expectClose(valuesOf(haa), [0.25, 0.25, s3], TOL64, 'd²/da²');
    expectClose(valuesOf(hab), [-0.25, -0.25, -s3], TOL64, 'd²/da db');
  });

  it('names itself in shape errors; integer inputs give float32', () => {
    expect(() => M.logaddexp(M.zeros([2, 3]), M.zeros([4]))).toThrow(/^logaddexp: shapes \[2,3\] and \[4\] do not broadcast/);
    expect(M.logaddexp(M.tensor([1], { dtype: 'int32' }), 1).dtype).toBe('float32');
  });
});

describe('cumsum', () => {
  it('equals running sums computed left to right, over any axis, in float64, float32 and int32', () => {
    const rng = new Rng(41);
    const cases: [number[], number][] = [[[1], 0], [[7], 0], [[5, 9], 1], [[5, 9], 0], [[2, 33, 3], 1], [[4, 64], -1]];
    for (const [shape, axis] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, () => rng.normal());
      const x = makeTensor(values, shape, 'float64');
      const a = axis < 0 ? shape.length + axis : axis;
      const stride = shape.slice(a + 1).reduce((p, d) => p * d, 1);
      // The sequential reference: walk each line along the axis, adding as we go.
      const expected = values.slice();
      for (let i = 0; i < n; i++) if (Math.floor(i / stride) % shape[a] > 0) expected[i] = expected[i - stride] + values[i];
      // Tree against chain: rounding of at most 64 O(1) terms, a few 1e-15 each (absolute, since
      // running sums cross zero).
      expectClose(valuesOf(M.cumsum(x, axis)), expected, { rtol: 1e-13, atol: 1e-12 }, `float64 ${shape} axis ${axis}`);
      const x32 = makeTensor(values, shape, 'float32');
      expectClose(valuesOf(M.cumsum(x32, axis)), expected, { rtol: 1e-5, atol: 1e-4 }, `float32 ${shape} axis ${axis}`);
    }
    expect(M.cumsum(M.tensor([1, 2, 3, 4], { dtype: 'int32' })).toArraySync()).toEqual([1, 3, 6, 10]);
    expect(M.tensor([[1, 2], [3, 4]], { dtype: 'int32' }).cumsum(0).toArraySync()).toEqual([[1, 2], [4, 6]]);
    const flags = M.cumsum(M.tensor([true, false, true]));
    expect([flags.dtype, flags.toArraySync()]).toEqual(['int32', [1, 1, 2]]);
    expect(() => M.cumsum(M.tensor(1))).toThrow('cumsum');
  });

  it('cumprod: running products left to right, over any axis, inclusive and exclusive, exact at zeros', () => {
    const rng = new Rng(43);
    for (const [shape, axis] of [[[1], 0], [[7], 0], [[5, 9], 1], [[5, 9], 0], [[2, 33, 3], 1]] as [number[], number][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // Factors near 1 (some exactly 0), so that 33 of them stay O(1).
      const values = Array.from({ length: n }, (_, i) => (i % 11 === 5 ? 0 : 1 + 0.3 * rng.normal()));
      const x = makeTensor(values, shape, 'float64');
      const stride = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
      const first = (i: number) => Math.floor(i / stride) % shape[axis] === 0;
      const inclusive = values.slice();
      for (let i = 0; i < n; i++) if (!first(i)) inclusive[i] = inclusive[i - stride] * values[i];
      const exclusive = values.map((_, i) => (first(i) ? 1 : inclusive[i - stride]));
      expectClose(valuesOf(M.cumprod(x, axis)), inclusive, { rtol: 1e-13, atol: 0 }, `${shape} axis ${axis}`);
      expectClose(valuesOf(M.cumprod(x, axis, { exclusive: true })), exclusive, { rtol: 1e-13, atol: 0 }, `${shape} axis ${axis} exclusive`);
    }
    expect(M.tensor([1, 2, 3, 4], { dtype: 'int32' }).cumprod().toArraySync()).toEqual([1, 2, 6, 24]);
    expect(M.cumprod(M.tensor([[1, 2], [3, 4]]), 0, { exclusive: true }).toArraySync()).toEqual([[1, 1], [1, 2]]);
    const flags = M.cumprod(M.tensor([true, true, false]));
    expect([flags.dtype, flags.toArraySync()]).toEqual(['int32', [1, 1, 0]]);
    expect(() => M.cumprod(M.tensor(1))).toThrow('cumprod');
  });

  it('its gradient is the reversed running sum of the cotangent (and matches finite differences), under jit too', async () => {
    const w = [0.5, -1, 2, 0.25, 3];
    const f = (x: Tensor) => M.sum(M.mul(M.cumsum(x), M.tensor(w, { dtype: 'float64' })));
    const x = f64([5], (i) => Math.sin(i));
    // d/dx_j Σ_i w_i Σ_{k ≤ i} x_k = Σ_{i ≥ j} w_i.
    const expected = w.map((_, j) => w.slice(j).reduce((a, b) => a + b, 0));
    expect(valuesOf(M.grad(f)(x) as Tensor)).toEqual(expected);
    expect(valuesOf(M.jit(M.grad(f))(x) as Tensor)).toEqual(expected);
    expectGradsMatch(await gradCheck((y: Tensor) => M.cumsum(M.mul(y, y), 0), [f64([3, 4], (i) => Math.cos(i))], new Rng(5)), 'cumsum');
  });
});

describe('std', () => {
  it('float64 and float32 against a two-pass reference, over axes with keepdims and ddof', () => {
    const v = randomValues(9, 24, -3, 3);
    const x = makeTensor(v, [2, 3, 4]);
    // Over axis 1 with ddof 1, keepdims: groups (i, :, k).
    const expected: number[] = [];
    for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) expected.push(stdRef([0, 1, 2].map((j) => v[i * 12 + j * 4 + k]), 1));
    const got = M.std(x, 1, true, 1);
    expect(got.shape).toEqual([2, 1, 4]);
    expectClose(valuesOf(got), expected, { rtol: 1e-13 });
    expectClose(valuesOf(M.std(x)), [stdRef(v, 0)], { rtol: 1e-13 });
    const v32 = v.map(Math.fround);
    // float32 sums of 24 terms: the usual n·eps bound.
    expectClose(valuesOf(M.std(makeTensor(v32, [24], 'float32'))), [stdRef(v32, 0)], { rtol: 24 * 2 ** -24 });
    expect(M.std(M.tensor([1, 2, 3, 4], { dtype: 'int32' }), undefined, false, 1).dtype).toBe('float32');
  });

  it('gradients against finite differences; at a constant slice the gradient is NaN, as in JAX and PyTorch', async () => {
    const rng = new Rng(8);
    expectGradsMatch(await gradCheck((x) => M.std(x, 1, false, 1), [f64([3, 4], () => rng.normal())], rng), 'std axis 1 ddof 1');
    expectGradsMatch(await gradCheck((x) => M.std(x, [0, 1], true), [f64([3, 4], () => rng.normal())], rng), 'std all keepdims');
    const g = valuesOf(M.grad((x: Tensor) => M.std(x))(makeTensor([2, 2, 2], [3])));
    expect(g.every(Number.isNaN)).toBe(true);
  });
});

describe('norm', () => {
  const ORDS = [2, 1, Infinity, -Infinity, 3, 0.5, 1.5];

  it('every ord in float64 and float32, over all axes and over one axis with keepdims', () => {
    const v = randomValues(4, 12, -2, 2);
    const rows = [0, 1, 2].map((i) => v.slice(i * 4, i * 4 + 4));
    for (const ord of ORDS) {
      const x = makeTensor(v, [3, 4]);
      expectClose(valuesOf(M.norm(x, ord)), [normRef(v, ord)], { rtol: 1e-13 }, `ord ${ord}`);
      const byRow = M.norm(x, ord, -1, true);
      expect(byRow.shape).toEqual([3, 1]);
      expectClose(valuesOf(byRow), rows.map((r) => normRef(r, ord)), { rtol: 1e-13 }, `ord ${ord} rows`);
      const v32 = v.map(Math.fround);
      const e32 = normRef(v32, ord);
      // Sums of 12 float32 terms (n·eps) plus the rounding of pow and the root.
      expectClose(valuesOf(M.norm(makeTensor(v32, [3, 4], 'float32'), ord)), [e32], [16 * ulp32(e32)], `ord ${ord} f32`);
    }
    expect(valuesOf(M.norm(makeTensor([3, -4], [2])))).toEqual([5]);
    expect(M.norm(M.tensor([3, 4], { dtype: 'int32' })).dtype).toBe('float32');
  });

  it('gradients against finite differences at random points (distinct |x|, away from 0)', async () => {
    const rng = new Rng(21);
    for (const ord of ORDS) {
      const x = f64([2, 3], (i) => (rng.bool() ? 1 : -1) * (0.3 + 0.25 * i + 0.05 * rng.next()));
      expectGradsMatch(await gradCheck((t) => M.norm(t, ord), [x], rng), `ord ${ord}`);
      expectGradsMatch(await gradCheck((t) => M.norm(t, ord, 1), [x], rng), `ord ${ord} axis 1`);
    }
  });

  it('at 0 the gradient is a subgradient: 0 for ord 2 and p > 1 (PyTorch; JAX gives NaN), sign with 1 at 0 for ord 1, 1/n for ±Infinity', () => {
    const zero = makeTensor([0, 0, 0, 0], [4]);
    const expected: [number, number][] = [[2, 0], [3, 0], [1.5, 0], [1, 1], [Infinity, 0.25], [-Infinity, 0.25]];
    for (const [ord, g] of expected) {
      const got = valuesOf(M.grad((x: Tensor) => M.norm(x, ord))(zero));
      expect(got, `ord ${ord}`).toEqual([g, g, g, g]);
      const [value, tangent] = M.jvp((x: Tensor) => M.norm(x, ord), [zero], [makeTensor([1, -2, 0.5, 3], [4])]);
      expect((value as Tensor).itemSync()).toBe(0);
      expect((tangent as Tensor).itemSync(), `ord ${ord} jvp`).toBeCloseTo(g * (1 - 2 + 0.5 + 3), 15);
      // Subgradient inequality of a convex function at 0: norm(y) >= <g, y> for every y (min |x| is not convex).
      for (const seed of ord === -Infinity ? [] : [1, 2, 3]) {
        const y = randomValues(seed, 4, -1, 1);
        expect(normRef(y, ord)).toBeGreaterThanOrEqual(y.reduce((s, v, i) => s + got[i] * v, 0) - 1e-15);
      }
    }
    // Only the all-zero slice is guarded: a zero element next to others has its true partial 0 (ord 2).
    expectClose(valuesOf(M.grad((x: Tensor) => M.norm(x))(makeTensor([0, 3, 4], [3]))), [0, 0.6, 0.8], TOL64);
  });

  it('over an empty axis: 0 for every positive ord, Infinity included; Infinity (min\'s identity) for -Infinity', () => {
    const empty = M.zeros([0, 3], { dtype: 'float64' });
    for (const ord of [2, 1, Infinity, 3, 0.5]) expect(valuesOf(M.norm(empty, ord, 0)), `ord ${ord}`).toEqual([0, 0, 0]);
    expect(valuesOf(M.norm(empty, -Infinity, 0))).toEqual([Infinity, Infinity, Infinity]);
    expect(valuesOf(M.norm(M.zeros([2, 0]), Infinity, 1, true))).toEqual([0, 0]);
    expect(valuesOf(M.norm(M.zeros([0]), Infinity))).toEqual([0]);
  });

  it('refuses an ord that is not a vector norm', () => {
    for (const ord of [0, -1, NaN]) expect(() => M.norm(M.zeros([2]), ord)).toThrow(M.ArgumentError);
    expect(() => M.norm(M.zeros([2]), 0)).toThrow(/^norm: ord must be/);
    expect(() => M.norm(M.zeros([2]), 2, 3)).toThrow(/^norm: axis 3 is out of range/);
  });
});

describe('huberLoss and l2Loss', () => {
  it('float64 and float32 against the piecewise definition, with and without targets, broadcasting', () => {
    const p = randomValues(3, 12, -4, 4);
    const t = randomValues(4, 4, -1, 1);
    for (const delta of [1, 0.5, 2.5]) {
      const got = M.huberLoss(makeTensor(p, [3, 4]), makeTensor(t, [4]), delta);
      expectClose(valuesOf(got), p.map((x, i) => huberRef(x - t[i % 4], delta)), { rtol: 1e-14, atol: 1e-300 }, `delta ${delta}`);
      const p32 = p.map(Math.fround);
      const e32 = p32.map((x) => huberRef(x, delta));
      expectClose(valuesOf(M.huberLoss(makeTensor(p32, [12], 'float32'), undefined, delta)), e32, e32.map((e) => 4 * ulp32(e)), `delta ${delta} f32`);
    }
    // Both sides of |e| = delta and the point itself: 0.5 δ² there.
    expectClose(valuesOf(M.huberLoss(makeTensor([-2, 2, 3, 0], [4]), 0, 2)), [2, 2, 4, 0], TOL64);
    expectClose(valuesOf(M.l2Loss(makeTensor(p, [3, 4]), makeTensor(t, [4]))), p.map((x, i) => 0.5 * (x - t[i % 4]) ** 2), { rtol: 1e-15 });
    expect(valuesOf(M.l2Loss(makeTensor([3, -1], [2])))).toEqual([4.5, 0.5]);
    expect(M.l2Loss(M.tensor([3], { dtype: 'int32' }), 1).dtype).toBe('float32');
  });

  it('gradients against finite differences at random points, both arguments', async () => {
    const rng = new Rng(31);
    for (let trial = 0; trial < 3; trial++) {
      // |e| kept away from delta = 1 by more than the difference steps.
      const p = f64([2, 3], () => rng.signed(1.1, 3) * (rng.bool() ? 1 : 0.3));
      const t = f64([3], () => 0);
      expectGradsMatch(await gradCheck((a, b) => M.huberLoss(a, b), [p, t], rng), `huber ${trial}`);
      expectGradsMatch(await gradCheck((a, b) => M.l2Loss(a, b), [p, f64([3], () => rng.normal())], rng), `l2 ${trial}`);
    }
  });

  it('at |e| = delta the gradient is delta · sign(e), both one-sided limits (the loss is C¹ there)', () => {
    for (const delta of [1, 0.5, 3]) {
      const e = makeTensor([delta, -delta, 0], [3]);
      expect(elementwiseDerivative((x) => M.huberLoss(x, undefined, delta), e)).toEqual([delta, -delta, 0]);
      // Central differences straddle the switch; their error is h/4 (the second derivative jumps).
      const f = at((x) => M.huberLoss(x, undefined, delta));
      expect(Math.abs(central(f, delta) - delta)).toBeLessThan(1e-6);
      expect(Math.abs(central(f, -delta) + delta)).toBeLessThan(1e-6);
      // Gradient with respect to the targets: the opposite sign.
      const gt = M.grad((t: Tensor) => M.sum(M.huberLoss(makeTensor([0, 0], [2]), t, delta)))(makeTensor([delta, -delta], [2]));
      expect(valuesOf(gt)).toEqual([delta, -delta]);
    }
  });

  it('refuses a delta that is not positive; shape errors name the loss', () => {
    for (const delta of [0, -1, NaN, Infinity]) expect(() => M.huberLoss(M.zeros([2]), undefined, delta)).toThrow(/^huberLoss: delta must be a positive finite number/);
    expect(() => M.huberLoss(M.zeros([2]), M.zeros([3]))).toThrow(/^huberLoss: shapes \[2\] and \[3\] do not broadcast/);
    expect(() => M.l2Loss(M.zeros([2]), M.zeros([3]))).toThrow(/^l2Loss: shapes/);
    expect(() => M.gelu(M.zeros([2]), 'erf' as 'none')).toThrow(/^gelu: approximate must be 'none' or 'tanh', got "erf"/);
    expect(() => M.leakyRelu(M.zeros([2]), NaN)).toThrow(/^leakyRelu: negativeSlope must be a finite number/);
    expect(() => M.elu(M.zeros([2]), Infinity)).toThrow(/^elu: alpha must be a finite number/);
  });
});

/** Every new op as a function of one [4, 5] tensor, for the jit and vmap checks. */
const FUNCTIONS: Record<string, (x: Tensor) => Tensor> = {
  logaddexp: (x) => M.logaddexp(x, M.mul(x, -0.5)),
  std: (x) => M.std(x, -1, false, 1),
  'norm 2': (x) => M.norm(x, 2, -1),
  'norm 1': (x) => M.norm(x, 1, -1),
  'norm inf': (x) => M.norm(x, Infinity, -1),
  'norm -inf': (x) => M.norm(x, -Infinity, -1),
  'norm 3': (x) => M.norm(x, 3, -1),
  silu: M.silu,
  gelu: (x) => M.gelu(x),
  'gelu tanh': (x) => M.gelu(x, 'tanh'),
  leakyRelu: (x) => M.leakyRelu(x, 0.1),
  elu: (x) => M.elu(x),
  huberLoss: (x) => M.huberLoss(x, M.mul(x, 0.25), 0.5),
  l2Loss: (x) => M.l2Loss(x, 1),
};

describe('under jit and vmap', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`jit(f)(x) equals f(x) bit for bit, and jit(grad f) equals grad f (${dtype})`, () => {
      const x = makeTensor(randomValues(12, 20, -3, 3), [4, 5], dtype);
      for (const [name, f] of Object.entries(FUNCTIONS)) {
        expectSame(M.jit(f)(x), f(x), `${name} jit`);
        const g = M.grad((t: Tensor) => M.sum(f(t)));
        expectSame(M.jit(g)(x), g(x), `${name} jit grad`);
      }
    });
  }

  it('vmap(f) over the rows equals f row by row, and vmap(grad f) the gradients row by row', () => {
    const x = makeTensor(randomValues(13, 20, -3, 3), [4, 5]);
    for (const [name, f] of Object.entries(FUNCTIONS)) {
      const batched = M.vmap(f)(x);
      const g = M.grad((t: Tensor) => M.sum(f(t)));
      const batchedGrad = M.vmap(g)(x);
      for (let i = 0; i < 4; i++) {
        const row = M.slice(x, i);
        expectClose(valuesOf(M.slice(batched, i)), valuesOf(f(row)), { rtol: 1e-15 }, `${name} row ${i}`);
        expectClose(valuesOf(M.slice(batchedGrad, i)), valuesOf(g(row)), { rtol: 1e-15 }, `${name} grad row ${i}`);
      }
    }
  });
});

describe('method forms', () => {
  it('x.silu(), x.gelu(...), x.leakyRelu(...), x.elu(...), x.std(...), x.norm(...), x.logaddexp(y) compute their functions', () => {
    const x = makeTensor([0.5, -0.25, 0.75, 2, -3, 1.5], [2, 3]);
    const same = (a: Tensor, b: Tensor) => expect(valuesOf(a)).toEqual(valuesOf(b));
    same(x.silu(), M.silu(x));
    same(x.gelu(), M.gelu(x));
    same(x.gelu('tanh'), M.gelu(x, 'tanh'));
    same(x.leakyRelu(0.3), M.leakyRelu(x, 0.3));
    same(x.elu(2), M.elu(x, 2));
    same(x.std(1, true, 1), M.std(x, 1, true, 1));
    same(x.norm(1, 0), M.norm(x, 1, 0));
    same(x.norm(), M.norm(x));
    same(x.logaddexp(1), M.logaddexp(x, 1));
    expect(valuesOf(x.gelu('tanh'))).not.toEqual(valuesOf(x.gelu()));
  });
});
