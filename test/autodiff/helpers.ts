/**
 * Gradient checking in float64, JAX `check_grads` style, shared by the autodiff tests.
 *
 * The expected values never come from the code under test: the reference is a central finite
 * difference of a random projection, g(t) = <u, f(x + t v)>, with Richardson extrapolation
 * D = (4 D(h/2) - D(h)) / 3 (truncation error O(h^4)). With h = 1e-5 the truncation error is
 * negligible (~1e-20) and the rounding error about eps / h ≈ 1e-11 relative, far below the 1e-6
 * tolerance. The two central differences also tell smooth points from kinks: for a smooth g, D(h)
 * and D(h/2) agree to O(h^2) (~1e-10 relative); a kink or a jump within h of x makes them differ
 * by O(1). Tests that construct their points assert smoothness; random programs skip the rare
 * non-smooth draw and count it.
 *
 * Tests take a `backend` so they can be rerun per backend (the WebGPU backend has no float64, so
 * there the checks would run in float32 with looser tolerances; today only the CPU runs them).
 */
import { expect } from 'vitest';
import * as M from '../../src';
import type { Backend, Tensor } from '../../src';

export const BACKENDS: Backend[] = [M.cpu];

/** fast-check run counts, scaled by MIXRL_FC_SCALE (e.g. 20 for a soak run; default 1). */
export const runs = (n: number): number => Math.max(1, Math.round(n * Number(process.env.MIXRL_FC_SCALE ?? 1)));

/** A small seeded PRNG (mulberry32), so one fast-check integer fixes a whole random case. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.s += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** A uniform value in [lo, hi] with a random sign: |x| stays away from 0. */
  signed(lo: number, hi: number): number {
    return (this.bool() ? 1 : -1) * this.uniform(lo, hi);
  }
  shape(maxRank = 3, maxDim = 3, minRank = 0): number[] {
    const rank = this.int(minRank, maxRank);
    return Array.from({ length: rank }, () => this.int(1, maxDim));
  }
  /** A shape that broadcasts to `out`: some leading axes dropped, some axes set to 1. */
  broadcastableTo(out: readonly number[]): number[] {
    const drop = this.int(0, out.length);
    return out.slice(drop).map((d) => (this.bool(0.3) ? 1 : d));
  }
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A float64 tensor from a function of the flat index. */
export function f64(shape: readonly number[], value: (i: number) => number, backend: Backend = M.cpu): Tensor {
  const n = size(shape);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = value(i);
  return M.tensor(data, { shape, backend });
}

export const randn = (rng: Rng, shape: readonly number[], backend: Backend = M.cpu) => f64(shape, () => rng.normal(), backend);
export const randu = (rng: Rng, shape: readonly number[], lo: number, hi: number, backend: Backend = M.cpu) =>
  f64(shape, () => rng.uniform(lo, hi), backend);

export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

export async function dotT(a: Tensor, b: Tensor): Promise<number> {
  const [x, y] = [await values(a), await values(b)];
  expect(x.length).toBe(y.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** x + t v, leaf by leaf. */
const axpy = (xs: readonly Tensor[], vs: readonly Tensor[], t: number) => xs.map((x, i) => M.add(x, M.mul(vs[i], t)));

export interface GradCheck {
  /** <u, J v> by extrapolated finite differences. */
  fd: number;
  /** <J^T u, v> from vjp. */
  reverse: number;
  /** <u, J v> from jvp. */
  forward: number;
  /** Magnitude of the terms summed in the projection, for tolerances under cancellation. */
  scale: number;
  /** False when D(h) and D(h/2) disagree: a kink or jump within h of x. */
  smooth: boolean;
}

export const FD_STEP = 1e-5;

/**
 * `vs` rescaled to the length √n that n standard normals have on average: a random direction with
 * every element O(1). Unscaled, a short draw (a scalar input's `v` of 1e-5, once in ~10^5 draws)
 * moves `x` by too little for the differences to rise above the rounding of `f`, whose error does
 * not shrink with `v`; the tolerances, which scale with |u| |v|, then fail a correct gradient.
 */
async function unitScaled(vs: readonly Tensor[]): Promise<Tensor[]> {
  const squares = await Promise.all(vs.map((v) => dotT(v, v)));
  const norm = Math.sqrt(squares.reduce((a, b) => a + b, 0));
  const n = vs.reduce((count, v) => count + v.size, 0);
  return norm > 0 ? vs.map((v) => M.mul(v, Math.sqrt(n) / norm)) : [...vs];
}

/**
 * Compares reverse mode, forward mode and finite differences of `f` at `xs` along random `v`
 * (per input) and a random output cotangent `u`. Returns the numbers; `expectGradsMatch` asserts.
 */
export async function gradCheck(
  f: (...xs: Tensor[]) => Tensor,
  xs: readonly Tensor[],
  rng: Rng,
  backend: Backend = M.cpu,
): Promise<GradCheck> {
  const out = f(...xs);
  const u = randn(rng, out.shape, backend);
  const vs = await unitScaled(xs.map((x) => randn(rng, x.shape, backend)));
  const uVals = await values(u);

  const project = async (t: number) => {
    const y = await values(f(...axpy(xs, vs, t)));
    return y;
  };
  const h = FD_STEP;
  const [p1, m1, p2, m2] = [await project(h), await project(-h), await project(h / 2), await project(-h / 2)];
  const p0 = await values(out);
  let d1 = 0;
  let d2 = 0;
  let scale = 0;
  // Second differences S(h) = g(h) + g(-h) - 2 g(0): for a smooth g, S(h) = 4 S(h/2) + O(h^4).
  let s1 = 0;
  let s2 = 0;
  let magnitude = 0;
  for (let i = 0; i < uVals.length; i++) {
    d1 += (uVals[i] * (p1[i] - m1[i])) / (2 * h);
    d2 += (uVals[i] * (p2[i] - m2[i])) / h;
    scale += Math.abs((uVals[i] * (p1[i] - m1[i])) / (2 * h));
    s1 += uVals[i] * (p1[i] + m1[i] - 2 * p0[i]);
    s2 += uVals[i] * (p2[i] + m2[i] - 2 * p0[i]);
    magnitude += Math.abs(uVals[i] * p0[i]);
  }
  const fd = (4 * d2 - d1) / 3;
  // A kink or jump near x makes D(h) and D(h/2) disagree. A value at x itself that differs from its
  // neighbours (where(eq(a, b), ...) exactly at a tie) is invisible to central differences, which
  // never evaluate g(0); the second differences catch it.
  const smooth = Math.abs(d1 - d2) <= 1e-6 * scale + 1e-12 && Math.abs(s1 - 4 * s2) <= 1e-9 * magnitude + 1e-12;
  // Terms that cancel exactly (f(b) = b - logsumexp(b) + log 2, say) leave rounding noise of the
  // size of the gradient's parts, which are O(1) per element: floor the scale at |u| |v|.
  const norm = async (ts: readonly Tensor[]) => Math.sqrt((await Promise.all(ts.map((t) => dotT(t, t)))).reduce((a, b) => a + b, 0));
  scale = Math.max(scale, (await norm([u])) * (await norm(vs)));

  const [, back] = M.vjp(f, ...xs);
  const cts = back(u) as Tensor[];
  let reverse = 0;
  for (let i = 0; i < xs.length; i++) {
    // Every cotangent has its primal's shape and dtype.
    expect(cts[i].aval, `cotangent ${i}`).toEqual(xs[i].aval);
    reverse += await dotT(cts[i], vs[i]);
  }

  const [, tangentOut] = M.jvp(f, [...xs], vs);
  expect((tangentOut as Tensor).aval, 'output tangent').toEqual(out.aval);
  const forward = await dotT(u, tangentOut as Tensor);
  return { fd, reverse, forward, scale, smooth };
}

/** Relative closeness with a floor for results that cancel to ~0. */
export function close(a: number, b: number, rtol: number, scale: number): boolean {
  return Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b), scale * 1e-3, 1e-12);
}

/** Asserts vjp ≈ FD (1e-6), jvp ≈ FD (1e-6) and <u, J v> = <J^T u, v> (1e-10). */
export function expectGradsMatch(r: GradCheck, what: string): void {
  const show = `${what}: fd ${r.fd}, vjp ${r.reverse}, jvp ${r.forward}, scale ${r.scale}`;
  expect(r.smooth, `${show} (the test point is not smooth)`).toBe(true);
  expect(Number.isFinite(r.reverse) && Number.isFinite(r.forward), show).toBe(true);
  expect(close(r.reverse, r.fd, 1e-6, r.scale), `vjp vs finite differences; ${show}`).toBe(true);
  expect(close(r.forward, r.fd, 1e-6, r.scale), `jvp vs finite differences; ${show}`).toBe(true);
  expect(close(r.forward, r.reverse, 1e-10, r.scale), `<u, J v> vs <J^T u, v>; ${show}`).toBe(true);
}

/** Closed-form comparison of two tensors, elementwise. */
export async function expectClose(actual: Tensor, expected: readonly number[] | Tensor, tol = 1e-10, what = ''): Promise<void> {
  const a = await values(actual);
  const e = Array.isArray(expected) ? (expected as number[]) : await values(expected as Tensor);
  expect(a.length, `${what} length`).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const ok = Object.is(a[i], e[i]) || Math.abs(a[i] - e[i]) <= tol * Math.max(1, Math.abs(e[i]));
    expect(ok, `${what}[${i}]: got ${a[i]}, expected ${e[i]}`).toBe(true);
  }
}
