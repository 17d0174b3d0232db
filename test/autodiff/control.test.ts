/**
 * Structured control flow (src/autodiff/control.ts): cond, switchCase, scan, foriLoop, whileLoop.
 *
 * Expected values never come from the code under test: they are plain JS loops over numbers
 * (cumulative sums, discounted returns, recurrences) or closed forms (derivatives of products and
 * powers), and gradients are also checked against float64 central finite differences
 * (`gradCheck`). Each function is run eagerly, under jit (traced once), under vmap (against a
 * per-example loop) and under grad; every error path is checked with its message. The WebGPU block
 * (float32, small sizes: lavapipe compiles every kernel) checks cond, switchCase and scan values
 * eagerly and under jit against the same JS references, and whileLoop's refusal of a condition
 * that can only be read asynchronously.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { describeWebGPU, webgpu } from '../webgpu/gpu';
import { expectGradsMatch, gradCheck, randn, Rng, runs } from './helpers';

const TOL = 1e-12;

/** A float64 tensor of plain numbers (shape from the nesting). */
const f64 = (values: M.NestedArray, shape?: number[]) =>
  M.tensor(values, { dtype: 'float64', ...(shape ? { shape } : {}) });
const i32 = (v: number) => M.tensor(v, { dtype: 'int32' });
const vals = (t: unknown) => Array.from((t as Tensor).dataSync(), Number);
const item = (t: unknown) => (t as Tensor).itemSync();

/** Asserts |a_i - e_i| <= TOL (1 + |e_i|) for every element. */
function expectClose(actual: readonly number[], expected: readonly number[], what = '', tol = TOL): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Number.isNaN(expected[i])) expect(a, `${what} [${i}]`).toBeNaN();
    else expect(Math.abs(a - expected[i]), `${what} [${i}]: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i])));
  });
}

/** Plain JS: G_t = r_t + γ (1 - d_t) G_{t+1}, G_T = 0. */
function discountedReturnsJs(r: readonly number[], gamma: number, done?: readonly number[]): number[] {
  const out = new Array<number>(r.length);
  let g = 0;
  for (let t = r.length - 1; t >= 0; t--) {
    g = r[t] + gamma * (1 - (done?.[t] ?? 0)) * g;
    out[t] = g;
  }
  return out;
}

/** The library's discounted returns: a reverse scan over the rewards. */
const discountedReturns = (r: Tensor, gamma: number | Tensor) =>
  M.scan(
    (g: Tensor, rt: Tensor) => {
      const G = rt.add(g.mul(gamma));
      return [G, G] as const;
    },
    M.zeros([], { dtype: r.dtype, backend: r.backend }),
    r,
    { reverse: true },
  );

const doubles = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

/** Asserts `f` throws an error of class `cls` whose message contains every one of `parts`. */
function expectThrows(f: () => unknown, cls: new (...args: never[]) => Error, ...parts: string[]): void {
  let error: unknown;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${cls.name}`).toBeInstanceOf(cls);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

describe('cond', () => {
  it('a JS boolean calls only the chosen branch, which may return any structure', () => {
    const calls = { t: 0, f: 0 };
    const t = (x: Tensor) => (calls.t++, { a: x.mul(2) });
    const f = (x: Tensor) => (calls.f++, [x.neg(), 7]);
    const x = f64([1.5, -2]);
    const out = M.cond<[Tensor], unknown>(true, t, f, x) as { a: Tensor };
    expect(calls).toEqual({ t: 1, f: 0 });
    expect(vals(out.a)).toEqual([3, -4]);
    const out2 = M.cond<[Tensor], unknown>(false, t, f, x) as [Tensor, number];
    expect(calls).toEqual({ t: 1, f: 1 });
    expect(vals(out2[0])).toEqual([-1.5, 2]);
    expect(out2[1]).toBe(7);
  });

  it('a tensor predicate computes both branches and selects leaf by leaf (pytrees, operands)', () => {
    fc.assert(
      fc.property(fc.array(doubles(-10, 10), { minLength: 1, maxLength: 6 }), doubles(-5, 5), fc.boolean(), (xs, y, p) => {
        const calls = { t: 0, f: 0 };
        const out = M.cond(
          M.tensor(p),
          (a: Tensor, b: Tensor) => (calls.t++, { s: a.add(b), p: [a.mul(b), 'tag'] as const }),
          (a: Tensor, b: Tensor) => (calls.f++, { s: a.sub(b), p: [a.div(2), 'tag'] as const }),
          f64(xs),
          f64(y),
        );
        expect(calls).toEqual({ t: 1, f: 1 });
        expectClose(vals(out.s), xs.map((x) => (p ? x + y : x - y)), 's');
        expectClose(vals(out.p[0]), xs.map((x) => (p ? x * y : x / 2)), 'p[0]');
        expect(out.p[1]).toBe('tag');
      }),
      { numRuns: runs(25) },
    );
  });

  it('a numeric predicate is true where nonzero (NaN included), as notEqual(pred, 0)', () => {
    const pick = (pred: Tensor) => item(M.cond(pred, () => f64(1), () => f64(2)));
    expect(pick(f64(0))).toBe(2);
    expect(pick(f64(-0))).toBe(2);
    expect(pick(f64(-2.5))).toBe(1);
    expect(pick(f64(Number.NaN))).toBe(1);
    expect(pick(M.tensor(0, { dtype: 'float32' }))).toBe(2);
    expect(pick(i32(0))).toBe(2);
    expect(pick(i32(3))).toBe(1);
    expect(pick(M.tensor(false))).toBe(2);
  });

  it('under jit the traced predicate selects at run time, and one trace serves both outcomes', () => {
    const f = (x: Tensor) => M.cond(x.sum().greater(0), (v: Tensor) => v.mul(v), (v: Tensor) => v.neg().add(1), x);
    const jf = M.jit(f);
    for (const xs of [[1, 2, -0.5], [-1, -2, 0.5], [3, -3, 0.25]]) {
      const positive = xs.reduce((a, b) => a + b, 0) > 0;
      expectClose(vals(jf(f64(xs))), xs.map((x) => (positive ? x * x : 1 - x)), `jit ${xs}`);
      expect(vals(jf(f64(xs)))).toEqual(vals(f(f64(xs))));
    }
    expect(M.jitStats(jf).traceCount).toBe(1);
  });

  it('under vmap a per-example predicate selects per example (against a per-row JS loop)', () => {
    const rng = new Rng(5);
    const rows = Array.from({ length: 7 }, () => Array.from({ length: 3 }, () => rng.normal()));
    const f = (x: Tensor, k: Tensor) => M.cond(x.sum().greater(k), (v: Tensor) => v.mul(3), (v: Tensor) => v.exp(), x);
    const out = M.vmap(f, { inAxes: [0, null] })(f64(rows), f64(0.1));
    const expected = rows.flatMap((r) => (r.reduce((a, b) => a + b, 0) > 0.1 ? r.map((x) => 3 * x) : r.map(Math.exp)));
    expect(out.shape).toEqual([7, 3]);
    expectClose(vals(out), expected, 'vmap cond');
    // Batched operands with an unbatched (concrete) predicate, and jit(vmap(...)).
    const g = M.jit(M.vmap((x: Tensor) => M.cond(f64(1), (v: Tensor) => v.mul(2), (v: Tensor) => v, x)));
    expectClose(vals(g(f64(rows))), rows.flat().map((x) => 2 * x), 'unbatched predicate');
  });

  it('grad differentiates the taken branch (closed forms), also under jit', () => {
    const f = (x: Tensor) => M.cond(x.greater(0), (v: Tensor) => v.mul(v), (v: Tensor) => v.mul(v).mul(v), x);
    const g = M.grad(f);
    const jg = M.jit(g);
    for (const x of [1.5, -2, 0.25, -0.75]) {
      const expected = x > 0 ? 2 * x : 3 * x * x;
      expect(item(g(f64(x)))).toBeCloseTo(expected, 12);
      expect(item(jg(f64(x)))).toBeCloseTo(expected, 12);
    }
    expect(M.jitStats(jg).traceCount).toBe(1);
  });

  it('gradient caveat: a NaN derivative in the untaken branch reaches the gradient; double-where avoids it', () => {
    const naive = (x: Tensor) => M.cond(x.greater(0), (v: Tensor) => M.sqrt(v), (v: Tensor) => M.zerosLike(v), x);
    const guarded = (x: Tensor) =>
      M.cond(x.greater(0), (v: Tensor) => M.sqrt(M.where(v.greater(0), v, 1)), (v: Tensor) => M.zerosLike(v), x);
    // Untaken sqrt at -1: value 0 either way, but sqrt'(-1) = NaN times a zero cotangent is NaN.
    expect(item(naive(f64(-1)))).toBe(0);
    expect(item(M.grad(naive)(f64(-1)))).toBeNaN();
    expect(item(guarded(f64(-1)))).toBe(0);
    expect(item(M.grad(guarded)(f64(-1)))).toBe(0);
    // Taken branch: d sqrt(x)/dx = 1 / (2 sqrt x) = 0.25 at 4, with or without the guard.
    expect(item(M.grad(naive)(f64(4)))).toBeCloseTo(0.25, 14);
    expect(item(M.grad(guarded)(f64(4)))).toBeCloseTo(0.25, 14);
    // A JS boolean predicate calls one branch only, so there is nothing to leak.
    expect(item(M.grad((x: Tensor) => M.cond(false, M.sqrt, M.zerosLike, x))(f64(-1)))).toBe(0);
  });

  it('errors: mismatched branches name cond, the leaf path, shapes and dtypes; bad predicates', () => {
    const x = f64([1, 2, 3]);
    const p = M.tensor(true);
    expectThrows(
      () => M.cond(p, (v: Tensor) => ({ a: v, b: [v] }), (v: Tensor) => ({ a: v, b: [v.sum()] }), x),
      M.TransformError,
      'cond: the branches return different outputs',
      'leaf at .b[0]',
      'f64[3] in the true branch but f64[] in the false branch',
    );
    expectThrows(
      () => M.cond(p, (v: Tensor) => ({ a: v }), (v: Tensor) => ({ a: v.cast('float32') }), x),
      M.TransformError,
      'cond:',
      'leaf at .a',
      'f64[3]',
      'f32[3]',
    );
    expectThrows(
      () => M.cond<[Tensor], unknown>(p, (v: Tensor) => ({ a: v }), (v: Tensor) => ({ b: v }), x),
      M.TreeError,
      'cond: the branches return different outputs',
      'keys {a} vs {b}',
    );
    expectThrows(() => M.cond<[Tensor], unknown>(p, (v: Tensor) => [v, 1], (v: Tensor) => [v, 2], x), M.TransformError, 'leaf at [1] is number 1');
    expectThrows(() => M.cond(M.tensor([true, false]), (v: Tensor) => v, (v: Tensor) => v, x), M.ShapeError, 'cond: the predicate must be a scalar', 'bool[2]', 'where(');
    expectThrows(() => M.cond(1 as unknown as boolean, (v: Tensor) => v, (v: Tensor) => v, x), M.ArgumentError, 'cond: pred must be a JS boolean or a scalar tensor, got number 1');
    expectThrows(() => M.cond(true, null as unknown as () => Tensor, () => x), M.ArgumentError, 'cond: trueFn must be a function');
  });
});

describe('switchCase', () => {
  const branches = (calls: number[]) =>
    [1, 10, 100].map((c, k) => (x: Tensor) => {
      calls[k]++;
      return x.mul(c).add(k);
    });

  it('a JS integer calls only that branch; out of range or fractional is an error', () => {
    const calls = [0, 0, 0];
    const out = M.switchCase(1, branches(calls), f64([2, 3]));
    expect(calls).toEqual([0, 1, 0]);
    expect(vals(out)).toEqual([21, 31]);
    for (const bad of [3, -1, 1.5]) {
      expectThrows(() => M.switchCase(bad, branches(calls), f64(1)), M.ArgumentError, `switchCase: index ${bad} is not an integer in [0, 2] (3 branches)`);
    }
  });

  it('a tensor index evaluates every branch and selects with the index clamped to [0, n-1]', () => {
    for (const dtype of ['int32', 'uint32'] as const) {
      for (const k of dtype === 'int32' ? [-3, -1, 0, 1, 2, 3, 7] : [0, 1, 2, 9]) {
        const calls = [0, 0, 0];
        const out = M.switchCase(M.tensor(k, { dtype }), branches(calls), f64([2, -3]));
        expect(calls).toEqual([1, 1, 1]);
        const c = Math.min(2, Math.max(0, k));
        expect(vals(out), `${dtype} ${k}`).toEqual([2, -3].map((x) => x * [1, 10, 100][c] + c));
      }
    }
    // One branch: nothing to select.
    expect(item(M.switchCase(i32(5), [(x: Tensor) => x.add(1)], f64(1)))).toBe(2);
  });

  it('under jit (traced once) and vmap (a batched index) it matches the clamped JS choice', () => {
    const f = (k: Tensor, x: Tensor) => M.switchCase(k, [(v: Tensor) => v.neg(), (v: Tensor) => v.mul(v), (v: Tensor) => v.add(10)], x);
    const jf = M.jit(f);
    const ref = (k: number, x: number) => [-x, x * x, x + 10][Math.min(2, Math.max(0, k))];
    for (const k of [-2, 0, 1, 2, 5]) expect(item(jf(i32(k), f64(1.5)))).toBe(ref(k, 1.5));
    expect(M.jitStats(jf).traceCount).toBe(1);
    const ks = [-1, 0, 1, 2, 3, 1];
    const xs = [0.5, -2, 3, 4, -1, 0.25];
    const out = M.vmap(f)(M.tensor(ks, { dtype: 'int32' }), f64(xs));
    expect(vals(out)).toEqual(ks.map((k, i) => ref(k, xs[i])));
    // grad through a tensor-indexed switch: the chosen branch's derivative.
    const g = M.grad((x: Tensor, k: Tensor) => f(k, x));
    expect(item(g(f64(1.5), i32(1)))).toBe(3);
    expect(item(g(f64(1.5), i32(-4)))).toBe(-1);
  });

  it('errors: index dtype and shape, empty or non-function branches, mismatched outputs naming the branch', () => {
    const x = f64([1, 2]);
    const id = (v: Tensor) => v;
    expectThrows(() => M.switchCase(f64(1), [id, id], x), M.DTypeError, 'switchCase: a tensor index must be int32 or uint32, got f64[]');
    expectThrows(() => M.switchCase(M.tensor([0, 1], { dtype: 'int32' }), [id, id], x), M.ShapeError, 'switchCase: the index must be a scalar tensor', 'i32[2]');
    expectThrows(() => M.switchCase(0, [], x), M.ArgumentError, 'switchCase: branches must be a non-empty array');
    expectThrows(() => M.switchCase(0, [id, 3 as unknown as typeof id], x), M.ArgumentError, 'switchCase: branch 1 must be a function');
    expectThrows(
      () => M.switchCase(i32(0), [id, id, (v: Tensor) => v.cast('float32')], x),
      M.TransformError,
      'switchCase: the branches return different outputs',
      'f64[2] in branch 0 but f32[2] in branch 2',
    );
  });
});

describe('scan', () => {
  it('cumulative sums: the final carry is the total, ys the running sums (plain JS loop)', () => {
    fc.assert(
      fc.property(fc.array(doubles(-100, 100), { minLength: 1, maxLength: 20 }), (xs) => {
        const [total, cums] = M.scan(
          (c: Tensor, x: Tensor) => {
            const s = c.add(x);
            return [s, s] as const;
          },
          f64(0),
          f64(xs),
        );
        const expected: number[] = [];
        let s = 0;
        for (const x of xs) expected.push((s += x));
        expect(cums.shape).toEqual([xs.length]);
        expectClose(vals(cums), expected, 'cumsum');
        expectClose([item(total)], [s], 'total');
      }),
      { numRuns: runs(25) },
    );
  });

  it('discounted returns with reverse: G_t = r_t + γ (1 - d_t) G_{t+1}, xs a pytree (plain JS loop)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(doubles(-5, 5), fc.boolean()), { minLength: 1, maxLength: 16 }),
        doubles(0, 1),
        (steps, gamma) => {
          const r = steps.map(([x]) => x);
          const d = steps.map(([, done]) => (done ? 1 : 0));
          const [g0, returns] = M.scan(
            (g: Tensor, { r: rt, d: dt }: { r: Tensor; d: Tensor }) => {
              const G = rt.add(g.mul(dt.neg().add(1)).mul(gamma));
              return [G, { G, t: dt.mul(0) }] as const;
            },
            f64(0),
            { r: f64(r), d: f64(d) },
            { reverse: true },
          );
          const expected = discountedReturnsJs(r, gamma, d);
          // ys stay in the order of xs: returns.G[t] is G_t.
          expectClose(vals(returns.G), expected, 'returns');
          expect(returns.t.shape).toEqual([r.length]);
          expectClose([item(g0)], [expected[0]], 'G_0');
        },
      ),
      { numRuns: runs(25) },
    );
  });

  it('pytree carry and ys: a linear recurrence against a JS loop; xs null with length', () => {
    const rng = new Rng(11);
    const T = 6;
    const xs = Array.from({ length: T }, () => [rng.normal(), rng.normal()]);
    const [final, ys] = M.scan(
      (c: { h: Tensor; n: Tensor }, x: Tensor) => {
        const h = M.stack([c.h.slice(1).add(x.slice(0)), c.h.slice(0).mul(0.5).add(x.slice(1))]);
        return [{ h, n: c.n.add(1) }, [h.sum(), { h }]] as const;
      },
      { h: f64([1, -1]), n: i32(0) },
      f64(xs),
    );
    let h = [1, -1];
    const sums: number[] = [];
    const hs: number[] = [];
    for (const [x0, x1] of xs) {
      h = [h[1] + x0, h[0] * 0.5 + x1];
      sums.push(h[0] + h[1]);
      hs.push(...h);
    }
    expectClose(vals(final.h), h, 'final h');
    expect(item(final.n)).toBe(T);
    expect(final.n.dtype).toBe('int32');
    expectClose(vals(ys[0]), sums, 'sums');
    expect(ys[1].h.shape).toEqual([T, 2]);
    expectClose(vals(ys[1].h), hs, 'hs');

    // No xs: the logistic map for 8 steps, ys the trajectory; f gets xs itself (null).
    const seen: unknown[] = [];
    const [, traj] = M.scan(
      (s: Tensor, x: null) => {
        seen.push(x);
        return [s.mul(s.neg().add(1)).mul(3.7), s] as const;
      },
      f64(0.2),
      null,
      { length: 8 },
    );
    const expected: number[] = [];
    let s = 0.2;
    for (let t = 0; t < 8; t++) {
      expected.push(s);
      s = 3.7 * s * (1 - s);
    }
    expectClose(vals(traj), expected, 'logistic');
    expect(seen).toEqual(Array(8).fill(null));
  });

  it('grad through scan: float64 finite differences (vjp and jvp), and the closed form dG_0/dr_t = γ^t', async () => {
    const rng = new Rng(3);
    const rnn = (h0: Tensor, xs: Tensor, w: Tensor) => {
      const [hT, hs] = M.scan(
        (h: Tensor, x: Tensor) => {
          const hn = M.tanh(M.reshape(M.matmul(M.reshape(h, [1, 3]), w), [3]).add(x));
          return [hn, hn.mul(hn)] as const;
        },
        h0,
        xs,
      );
      return M.concat([M.reshape(hs, [-1]), hT]);
    };
    const args = [randn(rng, [3]), randn(rng, [5, 3]), M.mul(randn(rng, [3, 3]), 0.5)];
    expectGradsMatch(await gradCheck(rnn, args, rng), 'rnn scan');
    const reversed = (h0: Tensor, xs: Tensor) => M.scan((h: Tensor, x: Tensor) => [M.sin(h.mul(x)).add(h), h.mul(x)] as const, h0, xs, { reverse: true })[1];
    expectGradsMatch(await gradCheck(reversed, [randn(rng, [2]), randn(rng, [4, 2])], rng), 'reverse scan');

    const r = [0.5, -1, 2, 0.25, 3];
    const gamma = 0.9;
    const [dr, dgamma] = M.grad((rs: Tensor, g: Tensor) => discountedReturns(rs, g)[0], { argnums: [0, 1] })(f64(r), f64(gamma));
    expectClose(vals(dr), r.map((_, t) => gamma ** t), 'dG0/dr');
    // dG_0/dγ = Σ t γ^(t-1) r_t
    expectClose([item(dgamma)], [r.reduce((acc, x, t) => acc + t * gamma ** (t - 1) * x, 0)], 'dG0/dγ');
  });

  it('jit(scan) equals eager, traces once, and unrolls: the staged program grows with length', () => {
    const f = (r: Tensor) => discountedReturns(r, 0.95);
    const jf = M.jit(f);
    const rng = new Rng(8);
    for (let k = 0; k < 3; k++) {
      const r = Array.from({ length: 6 }, () => rng.normal());
      const [g0, rets] = jf(f64(r));
      const [e0, eRets] = f(f64(r));
      expectClose(vals(rets), vals(eRets), 'jit vs eager');
      expectClose([item(g0)], [item(e0)], 'jit vs eager G_0');
      expectClose(vals(rets), discountedReturnsJs(r, 0.95), 'jit vs JS');
    }
    expect(M.jitStats(jf).traceCount).toBe(1);
    const size = (n: number) => M.makeIR(f)(M.zeros([n], { dtype: 'float64' })).equations.length;
    expect(size(8) - size(4)).toBe(size(12) - size(8));
    expect(size(8)).toBeGreaterThan(size(4));
  });

  it('vmap over scan equals a per-example loop (batched xs, shared init; batched init, shared xs)', () => {
    const rng = new Rng(21);
    const B = 5;
    const T = 7;
    const rows = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.normal()));
    const gammas = Array.from({ length: B }, () => rng.uniform(0.5, 1));
    const [g0, rets] = M.vmap((r: Tensor, g: Tensor) => discountedReturns(r, g))(f64(rows), f64(gammas));
    expect(rets.shape).toEqual([B, T]);
    expectClose(vals(rets), rows.flatMap((r, b) => discountedReturnsJs(r, gammas[b])), 'vmap returns');
    expectClose(vals(g0), rows.map((r, b) => discountedReturnsJs(r, gammas[b])[0]), 'vmap G_0');
    // Batched initial carry, xs shared: c_{t+1} = c_t * x_t, under jit(vmap).
    const xs = [1.5, -0.5, 2];
    const prod = M.jit(M.vmap((c: Tensor, x: Tensor) => M.scan((a: Tensor, v: Tensor) => [a.mul(v), a] as const, c, x), { inAxes: [0, null] }));
    const [cT, ys] = prod(f64([1, 2, -3]), f64(xs));
    expect(vals(cT)).toEqual([1, 2, -3].map((c) => c * 1.5 * -0.5 * 2));
    expect(vals(ys)).toEqual([1, 2, -3].flatMap((c) => [c, c * 1.5, c * 1.5 * -0.5]));
  });

  it('length 0: returns init and empty ys shaped like y (f traced without values), also under jit', () => {
    const init = { c: f64([1, 2]) };
    const f = (carry: { c: Tensor }, x: Tensor) => [{ c: carry.c.add(x.sum()) }, { y: x.mul(2), z: carry.c.sum().cast('float32') }] as const;
    const [final, ys] = M.scan(f, init, M.zeros([0, 3], { dtype: 'float64' }));
    expect(final).toBe(init);
    expect(ys.y.shape).toEqual([0, 3]);
    expect(ys.y.dtype).toBe('float64');
    expect(ys.z.shape).toEqual([0]);
    expect(ys.z.dtype).toBe('float32');
    const [, traj] = M.scan((s: Tensor) => [s, M.stack([s, s])] as const, f64(1), undefined, { length: 0 });
    expect(traj.shape).toEqual([0, 2]);
    const jf = M.jit((c: Tensor, xs: Tensor) => M.scan((a: Tensor, x: Tensor) => [a.add(x), a.mul(x)] as const, c, xs));
    const [jc, jys] = jf(f64(4), M.zeros([0], { dtype: 'float64' }));
    expect(item(jc)).toBe(4);
    expect(jys.shape).toEqual([0]);
  });

  it('length 0 refuses when y cannot be known without running f, and still checks the carry', () => {
    const xs = M.zeros([0, 2], { dtype: 'float64' });
    expectThrows(
      () => M.scan((c: Tensor, x: Tensor) => [c, x.sum().itemSync() > 0 ? x : x.neg()] as const, f64(0), xs),
      M.TransformError,
      'scan: cannot run a scan of length 0 here',
      'tracing f once without values',
      'cannot read the value',
    );
    expectThrows(
      () => M.scan((c: Tensor) => [c, 3] as const, f64(0), null, { length: 0 }),
      M.TransformError,
      'scan: cannot run a scan of length 0 here',
      'y is number 3, not a tensor',
    );
    expectThrows(
      () => M.scan((c: Tensor, x: Tensor) => [c.cast('float32'), x] as const, f64(0), xs),
      M.TransformError,
      'scan: the carry changed when traced for length 0',
      'f64[] in the initial carry but f32[] in the returned carry',
    );
  });

  it('errors: carry and y changes name the step and leaf; bad xs, length and return values', () => {
    const xs = f64([1, 2, 3, 4]);
    expectThrows(
      () => M.scan((c: { h: Tensor }, x: Tensor) => [{ h: x.equal(3).itemSync() ? c.h.cast('float32') : c.h.add(x) }, x] as const, { h: f64(0) }, xs),
      M.TransformError,
      'scan: the carry changed at step 2',
      'leaf at .h is f64[] in the initial carry but f32[] in the returned carry',
      'must keep its structure, shapes and dtypes',
    );
    expectThrows(
      () => M.scan((c: Tensor, x: Tensor) => [M.stack([c, x]).sum(0, true), x] as const, f64(0), xs),
      M.TransformError,
      'scan: the carry changed at step 0',
      'f64[] in the initial carry but f64[1]',
    );
    expectThrows(
      () => M.scan<unknown, Tensor, Tensor>((c, x) => [{ c }, x], f64(0), xs),
      M.TreeError,
      'scan: the carry changed at step 0',
    );
    expectThrows(
      () => M.scan((c: Tensor, x: Tensor) => [c, x.equal(2).itemSync() ? M.stack([x, x]) : x] as const, f64(0), xs, { reverse: true }),
      M.TransformError,
      "scan: y changed at step 2 (xs index 1, reverse)",
      "f64[] in the first step's y but f64[2] in this step's y",
    );
    expectThrows(() => M.scan((c: Tensor, x: Tensor) => [c, 'no'] as const, f64(0), xs), M.TransformError, 'scan: y is string no at step 0, not a tensor');
    expectThrows(() => M.scan((c: Tensor) => c as unknown as [Tensor, Tensor], f64(0), xs), M.TransformError, 'scan: f must return [carry, y], got f64[] at step 0');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), { a: xs, b: f64([1, 2]) }), M.ShapeError, 'scan: the leading sizes differ: xs at .a f64[4] has leading size 4, but xs at .b f64[2] has leading size 2');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), xs, { length: 3 }), M.ShapeError, 'scan: the leading sizes differ: length 3, but xs f64[4] has leading size 4');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), null), M.ArgumentError, 'scan: xs has no tensor leaves', 'pass { length }');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), null, { length: -1 }), M.ArgumentError, 'scan: length must be a non-negative integer, got -1');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), { s: f64(2) }), M.ShapeError, 'scan: xs at .s is a scalar f64[]');
    expectThrows(() => M.scan((c: Tensor) => [c, c] as const, f64(0), [xs, 5]), M.TransformError, 'scan: xs at [1] is number 5, not a tensor');
  });
});

describe('foriLoop', () => {
  it('x_{k+1} = x_k / 2 + k for k in [lower, upper), i an int32 scalar tensor (plain JS loop)', () => {
    fc.assert(
      fc.property(doubles(-50, 50), fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 8 }), (x0, lower, steps) => {
        const upper = lower + steps;
        const seen: string[] = [];
        const out = M.foriLoop(
          lower,
          upper,
          (i, x: Tensor) => {
            seen.push(`${i.dtype}[${i.shape.join(',')}]=${i.itemSync()}`);
            return x.div(2).add(i.cast('float64'));
          },
          f64(x0),
        );
        let x = x0;
        for (let k = lower; k < upper; k++) x = x / 2 + k;
        expectClose([item(out)], [x], 'fori');
        expect(seen).toEqual(Array.from({ length: steps }, (_, k) => `int32[]=${lower + k}`));
      }),
      { numRuns: runs(25) },
    );
  });

  it('an empty range returns init without calling the body', () => {
    const init = { a: f64(1) };
    let calls = 0;
    expect(M.foriLoop(3, 3, (_, c) => (calls++, c), init)).toBe(init);
    expect(M.foriLoop(5, 2, (_, c) => (calls++, c), init)).toBe(init);
    expect(calls).toBe(0);
  });

  it('jit (traced once, program grows with the range), vmap and grad (closed forms)', () => {
    const f = (x: Tensor) => M.foriLoop(0, 5, (i, c: Tensor) => c.mul(i.cast('float64').add(1)), x);
    const jf = M.jit(f);
    expect(item(jf(f64(2)))).toBe(2 * 120);
    expect(item(jf(f64(-0.5)))).toBe(-0.5 * 120);
    expect(M.jitStats(jf).traceCount).toBe(1);
    // d/dx (x * 5!) = 5!; d/dx x^(2^n) through repeated squaring = 2^n x^(2^n - 1).
    expect(item(M.grad(f)(f64(3)))).toBe(120);
    const sq = (x: Tensor) => M.foriLoop(0, 3, (_, c: Tensor) => c.mul(c), x);
    expect(item(M.grad(sq)(f64(1.1)))).toBeCloseTo(8 * 1.1 ** 7, 12);
    expect(item(M.jit(M.grad(sq))(f64(1.1)))).toBeCloseTo(8 * 1.1 ** 7, 12);
    expect(vals(M.vmap(sq)(f64([0.5, -2, 1.25])))).toEqual([0.5, -2, 1.25].map((x) => x ** 8));
    const size = (n: number) => M.makeIR((x: Tensor) => M.foriLoop(0, n, (_, c: Tensor) => c.mul(1.5), x))(f64(1)).equations.length;
    // Unannotated bodies type-check against a concrete initial carry (Traced<C>).
    expect(item(M.foriLoop(0, 3, (_, c) => c.mul(2), f64(1)))).toBe(8);
    const [, ys] = M.scan((c, x) => [c.add(x), { c }], f64(0), f64([1, 2, 3]));
    expect(vals(ys.c)).toEqual([0, 1, 3]);
    expect(item(M.whileLoop(({ i }) => i.less(3), ({ i, x }) => ({ i: i.add(1), x: x.mul(2) }), { i: i32(0), x: f64(1) }).x)).toBe(8);
    expect([size(3), size(6)]).toEqual([3, 6]);
  });

  it('errors: bounds that are not JS integers, a changing carry naming i and the leaf', () => {
    const id = (_: Tensor, c: Tensor) => c;
    expectThrows(() => M.foriLoop(0, 2.5, id, f64(1)), M.ArgumentError, 'foriLoop: upper must be a JS integer within int32, got number 2.5');
    expectThrows(() => M.foriLoop(i32(0) as unknown as number, 2, id, f64(1)), M.ArgumentError, 'foriLoop: lower must be a JS integer', 'got i32[]', 'cannot be a tensor');
    expectThrows(() => M.foriLoop(0, 2, 'f' as unknown as typeof id, f64(1)), M.ArgumentError, 'foriLoop: body must be a function');
    expectThrows(
      () => M.foriLoop(0, 5, (i, c: [Tensor]) => (i.itemSync() === 2 ? [M.stack([c[0], c[0]])] : c) as [Tensor], [f64(1)] as [Tensor]),
      M.TransformError,
      'foriLoop: the carry changed at step i = 2',
      'leaf at [0] is f64[] in the initial carry but f64[2] in the returned carry',
    );
  });
});

describe('whileLoop', () => {
  it('a concrete CPU condition: halve until below 1, counting steps (plain JS loop)', () => {
    fc.assert(
      fc.property(doubles(-5, 5000), (x0) => {
        const [x, n] = M.whileLoop(
          ([v]: [Tensor, Tensor]) => v.greaterEqual(1),
          ([v, k]) => [v.div(2), k.add(1)] as [Tensor, Tensor],
          [f64(x0), i32(0)] as [Tensor, Tensor],
        );
        let y = x0;
        let m = 0;
        while (y >= 1) {
          y /= 2;
          m++;
        }
        expect(item(x)).toBe(y);
        expect(item(n)).toBe(m);
      }),
      { numRuns: runs(25) },
    );
  });

  it('a JS boolean condition and a numeric tensor condition (nonzero is true)', () => {
    let steps = 0;
    const out = M.whileLoop(() => steps < 4, (c: Tensor) => (steps++, c.mul(3)), f64(1));
    expect(item(out)).toBe(81);
    // A float countdown: loops while c != 0.
    expect(item(M.whileLoop((c: Tensor) => c, (c: Tensor) => c.sub(1), f64(3)))).toBe(0);
  });

  it('under grad the condition has a value: the loop runs and is differentiated (2^k)', () => {
    const f = (x: Tensor) => M.whileLoop((v: Tensor) => v.less(10), (v: Tensor) => v.mul(2), x);
    for (const x0 of [3, 0.7, 12, 9.99]) {
      let k = 0;
      for (let y = x0; y < 10; y *= 2) k++;
      expect(item(M.grad(f)(f64(x0))), `x0 ${x0}`).toBe(2 ** k);
    }
  });

  it('a traced condition (jit, vmap, jit of grad) is refused, suggesting foriLoop or scan', () => {
    const f = (x: Tensor) => M.whileLoop((v: Tensor) => v.less(10), (v: Tensor) => v.mul(2), x);
    for (const [name, run] of [
      ['jit', () => M.jit(f)(f64(1))],
      ['vmap', () => M.vmap(f)(f64([1, 2]))],
      ['jit', () => M.jit(M.grad(f))(f64(1))],
    ] as const) {
      expectThrows(
        run,
        M.ConcretizationError,
        'whileLoop: the loop condition is a traced bool[]',
        `inside ${name}`,
        'cannot be traced into a program of fixed length',
        'use foriLoop or scan with a fixed bound',
      );
    }
    // A JS boolean condition is fine under jit (the loop runs while tracing).
    let k = 0;
    const jf = M.jit((x: Tensor) => M.whileLoop(() => k++ % 3 !== 2, (v: Tensor) => v.add(1), x));
    expect(item(jf(f64(0)))).toBe(2);
  });

  it('errors: a condition that is not a boolean or scalar tensor; a changing carry', () => {
    expectThrows(() => M.whileLoop(() => 1 as unknown as boolean, (c: Tensor) => c, f64(0)), M.ArgumentError, 'whileLoop: condFn must return a JS boolean or a scalar tensor, got number 1 at step 0');
    expectThrows(() => M.whileLoop(() => M.tensor([true]), (c: Tensor) => c, f64(0)), M.ShapeError, 'whileLoop: condFn must return a scalar (shape [])', 'bool[1]');
    expectThrows(
      () => M.whileLoop((c: { a: Tensor }) => c.a.less(3), (c: { a: Tensor }) => ({ a: c.a.add(1).cast('float32') }), { a: f64(0) }),
      M.TransformError,
      'whileLoop: the carry changed at step 0',
      'leaf at .a is f64[] in the initial carry but f32[]',
    );
  });
});

describeWebGPU('control flow on WebGPU (float32)', () => {
  const F32 = 1e-5;
  const onGpu = (values: number[], shape?: number[]) => M.tensor(Float32Array.from(values), { shape: shape ?? [values.length], backend: webgpu() });
  const read = async (t: Tensor) => Array.from(await t.data(), Number);
  const f32 = (x: number) => Math.fround(x);

  it('cond with a tensor predicate (concrete and traced under jit) and a tensor-indexed switchCase', async () => {
    const xs = [0.5, -1.25, 2, 3.5].map(f32);
    const f = (x: Tensor) => M.cond(x.sum().greater(1), (v: Tensor) => v.mul(v), (v: Tensor) => v.neg().add(1), x);
    const jf = M.jit(f);
    for (const sign of [1, -1]) {
      const data = xs.map((x) => sign * x);
      const expected = data.reduce((a, b) => a + b, 0) > 1 ? data.map((x) => x * x) : data.map((x) => 1 - x);
      const x = onGpu(data);
      expectClose(await read(f(x)), expected, `eager ${sign}`, F32);
      expectClose(await read(jf(x)), expected, `jit ${sign}`, F32);
    }
    expect(M.jitStats(jf).traceCount).toBe(1);
    const branches = [(v: Tensor) => v.neg(), (v: Tensor) => v.mul(3), (v: Tensor) => v.add(10)];
    for (const k of [-1, 1, 4]) {
      const out = M.switchCase(M.tensor(k, { dtype: 'int32', backend: webgpu() }), branches, onGpu(xs));
      const c = Math.min(2, Math.max(0, k));
      expectClose(await read(out), xs.map((x) => [-x, 3 * x, x + 10][c]), `switch ${k}`, F32);
    }
  });

  it('scan: cumulative sums and discounted returns (reverse), eager, jit and vmap', async () => {
    const r = [1, -0.5, 2, 0.25, -1.5].map(f32);
    const [total, cums] = M.scan(
      (c: Tensor, x: Tensor) => {
        const s = c.add(x);
        return [s, s] as const;
      },
      M.zeros([], { backend: webgpu() }),
      onGpu(r),
    );
    const expectedCums = r.map((_, t) => r.slice(0, t + 1).reduce((a, b) => a + b, 0));
    expectClose(await read(cums), expectedCums, 'cumsum', F32);
    expectClose(await read(total), [expectedCums[4]], 'total', F32);
    const jf = M.jit((rs: Tensor) => discountedReturns(rs, 0.9));
    const [g0, rets] = jf(onGpu(r));
    expectClose(await read(rets), discountedReturnsJs(r, 0.9), 'returns', F32);
    expectClose(await read(g0), [discountedReturnsJs(r, 0.9)[0]], 'G_0', F32);
    const rows = [r, r.map((x) => -2 * x)];
    const [, batched] = M.vmap((rs: Tensor) => discountedReturns(rs, 0.5))(onGpu(rows.flat(), [2, 5]));
    expectClose(await read(batched), rows.flatMap((row) => discountedReturnsJs(row, 0.5)), 'vmap returns', F32);
    // Length 0: empty ys on the carry's backend.
    const [, empty] = M.scan((c: Tensor, x: Tensor) => [c, x.mul(2)] as const, M.zeros([], { backend: webgpu() }), M.zeros([0, 3], { backend: webgpu() }));
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.backend).toBe(webgpu());
  });

  it('whileLoop refuses a condition on WebGPU (read only asynchronously)', () => {
    expectThrows(
      () => M.whileLoop((c: Tensor) => c.less(3), (c: Tensor) => c.add(1), M.zeros([], { backend: webgpu() })),
      M.BackendError,
      'whileLoop: the loop condition is a bool[] on the webgpu backend, which reads values only asynchronously',
      'foriLoop/scan with a fixed bound',
    );
  });
});
