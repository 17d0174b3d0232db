/**
 * Every primitive's vjp and jvp rule against float64 finite differences at random points and random
 * broadcastable shapes, and the inner-product identity <u, J v> = <J^T u, v>. Primitives without a
 * derivative must give a zero gradient. The table below is keyed by `Primitive`, and a coverage test
 * walks the primitive lists exported by the tensor layer, so a new primitive without a test fails.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Backend, Primitive, Tensor } from '../../src';
import { BACKENDS, expectGradsMatch, f64, gradCheck, randn, randu, Rng, size, values, runs } from './helpers';

/** One random instance: the float64 inputs to differentiate and the function of them. */
interface Case {
  xs: Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  label: string;
}

/**
 * smooth: vjp and jvp must match finite differences.
 * zero: the output is float but piecewise constant in the inputs: gradient exactly 0.
 * none: the output is not a float (or the inputs are not): nothing flows; we check through a
 *       float function built on it that the gradient is exactly 0.
 */
type Kind = 'smooth' | 'zero' | 'none';
interface Spec {
  kind: Kind;
  gen: (rng: Rng, backend: Backend) => Case;
}

const bind = M.bind;

function unary(prim: Primitive, lo: number, hi: number, signed = false): (rng: Rng, b: Backend) => Case {
  return (rng, b) => {
    const shape = rng.shape();
    const x = f64(shape, () => (signed ? rng.signed(lo, hi) : rng.uniform(lo, hi)), b);
    return { xs: [x], f: (x) => bind(prim, [x], {} as never), label: `${prim} ${JSON.stringify(shape)}` };
  };
}

/** Values at least 0.05 away from the integers and half-integers (kinks of floor, ceil, round). */
const offGrid = (rng: Rng) => rng.int(-3, 3) + rng.pick([rng.uniform(0.05, 0.45), rng.uniform(0.55, 0.95)]);

function binary(
  prim: Primitive,
  genX: (rng: Rng) => number,
  genY: (rng: Rng) => number,
): (rng: Rng, b: Backend) => Case {
  return (rng, b) => {
    const out = rng.shape();
    const [sx, sy] = [rng.broadcastableTo(out), rng.broadcastableTo(out)];
    const x = f64(sx, () => genX(rng), b);
    const y = f64(sy, () => genY(rng), b);
    return { xs: [x, y], f: (x, y) => bind(prim, [x, y], {} as never), label: `${prim} ${JSON.stringify(sx)} ${JSON.stringify(sy)}` };
  };
}

/** Pairs of values with |x - y| >= 0.1 (no ties for maximum/minimum). */
const lowBand = (rng: Rng) => 2 * rng.int(-1, 1) + rng.uniform(0.05, 0.95);
const highBand = (rng: Rng) => 2 * rng.int(-1, 1) + rng.uniform(1.05, 1.95);

/** A comparison-like primitive: float inputs, bool output; checked through a float function of it. */
function comparison(prim: Primitive): (rng: Rng, b: Backend) => Case {
  return (rng, b) => {
    const out = rng.shape();
    const [sx, sy] = [rng.broadcastableTo(out), rng.broadcastableTo(out)];
    const x = f64(sx, () => lowBand(rng), b);
    const y = f64(sy, () => highBand(rng), b);
    return {
      xs: [x, y],
      f: (x, y) => M.mul(M.cast(bind(prim, [x, y], {}), 'float64'), 1),
      label: `${prim} ${JSON.stringify(sx)} ${JSON.stringify(sy)}`,
    };
  };
}

/** A bool -> bool primitive fed by comparisons of float inputs. */
function logical(prim: 'logicalNot' | 'logicalAnd' | 'logicalOr'): (rng: Rng, b: Backend) => Case {
  return (rng, b) => {
    const shape = rng.shape();
    const x = f64(shape, () => rng.signed(0.1, 2), b);
    const y = f64(shape, () => rng.signed(0.1, 2), b);
    const f = (x: Tensor, y: Tensor) => {
      const [p, q] = [M.greater(x, 0), M.greater(y, 0)];
      const r = prim === 'logicalNot' ? bind(prim, [p], {}) : bind(prim, [p, q], {});
      return M.where(r, x, y);
    };
    // where(r, x, y) is smooth in x and y; the logical op itself contributes nothing.
    return { xs: [x, y], f, label: `${prim} ${JSON.stringify(shape)}` };
  };
}

/** Distinct values (gap >= 0.06) in random order: reduceMax/Min and argmax have no ties. */
function distinct(rng: Rng, shape: readonly number[], b: Backend): Tensor {
  const n = size(shape);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return f64(shape, (i) => 0.3 * (order[i] - n / 2 + rng.uniform(0.1, 0.9)), b);
}

function randomAxes(rng: Rng, ndim: number): number[] {
  return Array.from({ length: ndim }, (_, i) => i).filter(() => rng.bool());
}

function reduction(prim: 'reduceSum' | 'reduceMax' | 'reduceMin' | 'reduceProd'): (rng: Rng, b: Backend) => Case {
  return (rng, b) => {
    const shape = rng.shape(3, 3, 1);
    const axes = randomAxes(rng, shape.length);
    const x =
      prim === 'reduceMax' || prim === 'reduceMin'
        ? distinct(rng, shape, b)
        : prim === 'reduceProd'
          ? f64(shape, () => rng.signed(0.5, 1.5), b)
          : randn(rng, shape, b);
    return { xs: [x], f: (x) => bind(prim, [x], { axes }), label: `${prim} ${JSON.stringify(shape)} axes ${axes}` };
  };
}

function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const SPECS: Record<Primitive, Spec> = {
  // --- unary ---
  neg: { kind: 'smooth', gen: unary('neg', -2, 2) },
  abs: { kind: 'smooth', gen: unary('abs', 0.1, 2, true) },
  sign: { kind: 'zero', gen: unary('sign', 0.1, 2, true) },
  exp: { kind: 'smooth', gen: unary('exp', -2, 2) },
  log: { kind: 'smooth', gen: unary('log', 0.3, 3) },
  log1p: { kind: 'smooth', gen: unary('log1p', -0.7, 3) },
  expm1: { kind: 'smooth', gen: unary('expm1', -2, 2) },
  sqrt: { kind: 'smooth', gen: unary('sqrt', 0.3, 3) },
  rsqrt: { kind: 'smooth', gen: unary('rsqrt', 0.3, 3) },
  reciprocal: { kind: 'smooth', gen: unary('reciprocal', 0.3, 2, true) },
  sin: { kind: 'smooth', gen: unary('sin', -3, 3) },
  cos: { kind: 'smooth', gen: unary('cos', -3, 3) },
  tan: { kind: 'smooth', gen: unary('tan', -1.2, 1.2) },
  atan: { kind: 'smooth', gen: unary('atan', -3, 3) },
  tanh: { kind: 'smooth', gen: unary('tanh', -3, 3) },
  atanh: { kind: 'smooth', gen: unary('atanh', -0.9, 0.9) },
  sigmoid: { kind: 'smooth', gen: unary('sigmoid', -4, 4) },
  softplus: { kind: 'smooth', gen: unary('softplus', -4, 4) },
  erf: { kind: 'smooth', gen: unary('erf', -2, 2) },
  erfinv: { kind: 'smooth', gen: unary('erfinv', -0.9, 0.9) },
  floor: { kind: 'zero', gen: (rng, b) => ({ ...unary('floor', 0, 1)(rng, b), xs: [f64(rng.shape(), () => offGrid(rng), b)] }) },
  ceil: { kind: 'zero', gen: (rng, b) => ({ ...unary('ceil', 0, 1)(rng, b), xs: [f64(rng.shape(), () => offGrid(rng), b)] }) },
  round: { kind: 'zero', gen: (rng, b) => ({ ...unary('round', 0, 1)(rng, b), xs: [f64(rng.shape(), () => offGrid(rng), b)] }) },
  logicalNot: { kind: 'none', gen: logical('logicalNot') },
  isFinite: {
    kind: 'none',
    gen: (rng, b) => {
      const shape = rng.shape();
      const x = randn(rng, shape, b);
      return { xs: [x], f: (x) => M.cast(bind('isFinite', [x], {}), 'float64'), label: `isFinite ${JSON.stringify(shape)}` };
    },
  },

  // --- binary ---
  add: { kind: 'smooth', gen: binary('add', (r) => r.normal(), (r) => r.normal()) },
  sub: { kind: 'smooth', gen: binary('sub', (r) => r.normal(), (r) => r.normal()) },
  mul: { kind: 'smooth', gen: binary('mul', (r) => r.normal(), (r) => r.normal()) },
  div: { kind: 'smooth', gen: binary('div', (r) => r.normal(), (r) => r.signed(0.3, 2)) },
  pow: { kind: 'smooth', gen: binary('pow', (r) => r.uniform(0.3, 2.5), (r) => r.uniform(-2, 2)) },
  maximum: { kind: 'smooth', gen: binary('maximum', lowBand, highBand) },
  minimum: { kind: 'smooth', gen: binary('minimum', highBand, lowBand) },
  atan2: { kind: 'smooth', gen: binary('atan2', (r) => r.signed(0.3, 2), (r) => r.uniform(-2, 2)) },
  eq: { kind: 'none', gen: comparison('eq') },
  ne: { kind: 'none', gen: comparison('ne') },
  lt: { kind: 'none', gen: comparison('lt') },
  le: { kind: 'none', gen: comparison('le') },
  gt: { kind: 'none', gen: comparison('gt') },
  ge: { kind: 'none', gen: comparison('ge') },
  logicalAnd: { kind: 'none', gen: logical('logicalAnd') },
  logicalOr: { kind: 'none', gen: logical('logicalOr') },

  // --- reductions ---
  reduceSum: { kind: 'smooth', gen: reduction('reduceSum') },
  reduceMax: { kind: 'smooth', gen: reduction('reduceMax') },
  reduceMin: { kind: 'smooth', gen: reduction('reduceMin') },
  reduceProd: { kind: 'smooth', gen: reduction('reduceProd') },
  argmax: {
    kind: 'none',
    gen: (rng, b) => {
      const shape = rng.shape(3, 3, 1);
      const axis = rng.int(0, shape.length - 1);
      const x = distinct(rng, shape, b);
      return { xs: [x], f: (x) => M.cast(bind('argmax', [x], { axis }), 'float64'), label: `argmax ${JSON.stringify(shape)} ${axis}` };
    },
  },
  argmin: {
    kind: 'none',
    gen: (rng, b) => {
      const shape = rng.shape(3, 3, 1);
      const axis = rng.int(0, shape.length - 1);
      const x = distinct(rng, shape, b);
      return { xs: [x], f: (x) => M.cast(bind('argmin', [x], { axis }), 'float64'), label: `argmin ${JSON.stringify(shape)} ${axis}` };
    },
  },
  argsort: {
    kind: 'none',
    gen: (rng, b) => {
      const shape = rng.shape(3, 3, 1);
      const descending = rng.bool();
      // The first k sorted positions: none, some or all of the row.
      const k = rng.int(0, shape[shape.length - 1]);
      const x = distinct(rng, shape, b);
      return { xs: [x], f: (x) => M.cast(bind('argsort', [x], { descending, k }), 'float64'), label: `argsort ${JSON.stringify(shape)} descending ${descending} k ${k}` };
    },
  },

  // --- the rest ---
  where: {
    kind: 'smooth',
    gen: (rng, b) => {
      const out = rng.shape();
      const [sc, sx, sy] = [rng.broadcastableTo(out), rng.broadcastableTo(out), rng.broadcastableTo(out)];
      const cond = M.tensor(Uint8Array.from({ length: size(sc) }, () => (rng.bool() ? 1 : 0)), { shape: sc, dtype: 'bool', backend: b });
      const [x, y] = [randn(rng, sx, b), randn(rng, sy, b)];
      return { xs: [x, y], f: (x, y) => bind('where', [cond, x, y], {}), label: `where ${[sc, sx, sy].map((s) => JSON.stringify(s))}` };
    },
  },
  cast: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape();
      return { xs: [randn(rng, shape, b)], f: (x) => bind('cast', [x], { dtype: 'float64' }), label: `cast ${JSON.stringify(shape)}` };
    },
  },
  stopGradient: { kind: 'zero', gen: unary('stopGradient', -2, 2) },
  matmul: {
    kind: 'smooth',
    gen: (rng, b) => {
      const batch = rng.shape(2, 3);
      const [m, k, n] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)];
      const sa = [...rng.broadcastableTo(batch), m, k];
      const sb = [...rng.broadcastableTo(batch), k, n];
      return { xs: [randn(rng, sa, b), randn(rng, sb, b)], f: (a, c) => bind('matmul', [a, c], {}), label: `matmul ${JSON.stringify(sa)} ${JSON.stringify(sb)}` };
    },
  },
  reshape: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(3, 4);
      // Shuffle the axis sizes, merge some neighbours, insert some 1s: same number of elements.
      let dims = shuffled(rng, shape);
      const merged: number[] = [];
      for (const d of dims) {
        if (merged.length > 0 && rng.bool(0.3)) merged[merged.length - 1] *= d;
        else merged.push(d);
      }
      dims = merged.flatMap((d) => (rng.bool(0.2) ? [d, 1] : [d]));
      return { xs: [randn(rng, shape, b)], f: (x) => bind('reshape', [x], { shape: dims }), label: `reshape ${JSON.stringify(shape)} -> ${JSON.stringify(dims)}` };
    },
  },
  transpose: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(4, 3);
      const perm = shuffled(rng, shape.map((_, i) => i));
      return { xs: [randn(rng, shape, b)], f: (x) => bind('transpose', [x], { perm }), label: `transpose ${JSON.stringify(shape)} ${perm}` };
    },
  },
  broadcastTo: {
    kind: 'smooth',
    gen: (rng, b) => {
      const target = rng.shape(3, 3);
      const shape = rng.broadcastableTo(target);
      return { xs: [randn(rng, shape, b)], f: (x) => bind('broadcastTo', [x], { shape: target }), label: `broadcastTo ${JSON.stringify(shape)} -> ${JSON.stringify(target)}` };
    },
  },
  slice: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(3, 5, 1);
      const starts = shape.map((d) => rng.int(0, d - 1));
      const stops = shape.map((d, i) => rng.int(starts[i] + 1, d));
      const steps = shape.map(() => rng.int(1, 3));
      return { xs: [randn(rng, shape, b)], f: (x) => bind('slice', [x], { starts, stops, steps }), label: `slice ${JSON.stringify(shape)} ${starts}:${stops}:${steps}` };
    },
  },
  flip: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(3, 3, 1);
      const axes = randomAxes(rng, shape.length);
      return { xs: [randn(rng, shape, b)], f: (x) => bind('flip', [x], { axes }), label: `flip ${JSON.stringify(shape)} ${axes}` };
    },
  },
  pad: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(3, 3);
      const lo = shape.map(() => rng.int(0, 2));
      const hi = shape.map(() => rng.int(0, 2));
      const interior = shape.map(() => rng.int(0, 2));
      return { xs: [randn(rng, shape, b)], f: (x) => bind('pad', [x], { lo, hi, interior }), label: `pad ${JSON.stringify(shape)} ${lo}/${hi}/${interior}` };
    },
  },
  concat: {
    kind: 'smooth',
    gen: (rng, b) => {
      const base = rng.shape(3, 3, 1);
      const axis = rng.int(0, base.length - 1);
      const shapes = Array.from({ length: rng.int(1, 3) }, () => base.map((d, i) => (i === axis ? rng.int(1, 3) : d)));
      const xs = shapes.map((s) => randn(rng, s, b));
      return { xs, f: (...xs) => bind('concat', xs, { axis }), label: `concat ${JSON.stringify(shapes)} axis ${axis}` };
    },
  },
  gather: {
    kind: 'smooth',
    gen: (rng, b) => {
      // The other axes broadcast both ways: x or idx may have 1 where the other has more.
      const out = rng.shape(3, 3, 1);
      const axis = rng.int(0, out.length - 1);
      const shape = out.map((d, i) => (i !== axis && rng.bool(0.3) ? 1 : d));
      const idxShape = out.map((d, i) => (i === axis ? rng.int(1, 4) : shape[i] !== 1 && rng.bool(0.3) ? 1 : d));
      const idx = M.tensor(Int32Array.from({ length: size(idxShape) }, () => rng.int(0, shape[axis] - 1)), { shape: idxShape, backend: b });
      return { xs: [randn(rng, shape, b)], f: (x) => bind('gather', [x, idx], { axis }), label: `gather ${JSON.stringify(shape)} idx ${JSON.stringify(idxShape)} axis ${axis}` };
    },
  },
  scatterAdd: {
    kind: 'smooth',
    gen: (rng, b) => {
      const out = rng.shape(3, 3, 1);
      const axis = rng.int(0, out.length - 1);
      const shape = out.map((d, i) => (i !== axis && rng.bool(0.3) ? 1 : d));
      const idxShape = out.map((d, i) => (i === axis ? shape[i] : shape[i] !== 1 && rng.bool(0.3) ? 1 : d));
      const outSize = rng.int(1, 4);
      const idx = M.tensor(Int32Array.from({ length: size(idxShape) }, () => rng.int(0, outSize - 1)), { shape: idxShape, backend: b });
      return {
        xs: [randn(rng, shape, b)],
        f: (u) => bind('scatterAdd', [u, idx], { axis, size: outSize }),
        label: `scatterAdd ${JSON.stringify(shape)} idx ${JSON.stringify(idxShape)} axis ${axis} size ${outSize}`,
      };
    },
  },
  // Random bits are constants: x * uniform(bits) must have gradient uniform(bits), by FD as well.
  threefry: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(2, 3, 1);
      const k = M.tensor(Uint32Array.of(rng.int(0, 1000), rng.int(0, 1000)), { backend: b });
      const counts = M.tensor(Uint32Array.from({ length: 2 * size(shape) }, (_, i) => i), { shape: [2, ...shape], backend: b });
      const f = (x: Tensor) => M.mul(x, bind('uniformFromBits', [bind('threefry', [k, counts], {})], { dtype: 'float64' }));
      return { xs: [randn(rng, shape, b)], f, label: `threefry ${JSON.stringify(shape)}` };
    },
  },
  uniformFromBits: {
    kind: 'smooth',
    gen: (rng, b) => {
      const shape = rng.shape(2, 3, 1);
      const bits = M.tensor(Uint32Array.from({ length: 2 * size(shape) }, () => rng.int(0, 2 ** 32 - 1)), { shape: [2, ...shape], backend: b });
      const f = (x: Tensor) => M.mul(M.sin(x), bind('uniformFromBits', [bits], { dtype: 'float64' }));
      return { xs: [randn(rng, shape, b)], f, label: `uniformFromBits ${JSON.stringify(shape)}` };
    },
  },
};

const ALL_PRIMITIVES = Object.keys(M.ARITY) as Primitive[];

describe('primitive coverage', () => {
  it('every primitive of the tensor layer has a gradient test', () => {
    const listed = [...M.UNARY_OPS, ...M.BINARY_OPS, ...M.REDUCE_OPS, ...M.ARG_REDUCE_OPS];
    for (const p of listed) expect(ALL_PRIMITIVES, `${p} is in a primitive list but not in ARITY`).toContain(p);
    for (const p of ALL_PRIMITIVES) expect(Object.keys(SPECS), `no gradient test for primitive ${p}`).toContain(p);
    for (const p of ALL_PRIMITIVES) {
      expect(M.vjpRules[p], `no vjp rule for ${p}`).toBeTypeOf('function');
      expect(M.jvpRules[p], `no jvp rule for ${p}`).toBeTypeOf('function');
    }
  });

  it('every primitive that is not differentiable has a null vjp', () => {
    const x = f64([2], (i) => i + 0.5);
    const k = M.tensor(Uint32Array.of(0, 1));
    expect(M.vjpRules.argmax(x, [x], x, { axis: 0 }, [true])).toEqual([null]);
    expect(M.vjpRules.argsort(x, [x], x, { descending: false, k: 2 }, [true])).toEqual([null]);
    expect(M.vjpRules.threefry(x, [k, k], x, {}, [false, false])).toEqual([null, null]);
    expect(M.vjpRules.uniformFromBits(x, [k], x, { dtype: 'float64' }, [false])).toEqual([null]);
    expect(M.vjpRules.stopGradient(x, [x], x, {}, [true])).toEqual([null]);
    for (const p of ['floor', 'ceil', 'round', 'sign'] as const) expect(M.vjpRules[p](x, [x], x, {}, [true])).toEqual([null]);
    for (const p of ['eq', 'lt', 'gt', 'le', 'ge', 'ne'] as const) expect(M.vjpRules[p](x, [x, x], x, {}, [true, true])).toEqual([null, null]);
  });
});

for (const backend of BACKENDS) {
  describe(`primitive gradients vs finite differences (${backend.name}, float64)`, () => {
    for (const prim of ALL_PRIMITIVES) {
      const spec = SPECS[prim];
      it(`${prim} (${spec.kind})`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
            const rng = new Rng(seed);
            const c = spec.gen(rng, backend);
            const r = await gradCheck(c.f, c.xs, rng, backend);
            if (spec.kind === 'smooth') {
              expectGradsMatch(r, c.label);
            } else {
              // Piecewise constant at a point away from its jumps: FD, vjp and jvp are all exactly 0.
              expect(r.smooth, c.label).toBe(true);
              if (prim === 'logicalNot' || prim === 'logicalAnd' || prim === 'logicalOr') {
                // where(r, x, y) is smooth and the logical op adds nothing: plain agreement.
                expectGradsMatch(r, c.label);
              } else {
                // stopGradient is the identity as a function, so only its derivative rules are zero.
                if (prim !== 'stopGradient') expect(r.fd, c.label).toBe(0);
                expect([r.reverse, r.forward], c.label).toEqual([0, 0]);
                const [, back] = M.vjp(c.f, ...c.xs);
                for (const g of back(M.onesLike(c.f(...c.xs))) as Tensor[]) {
                  expect((await values(g)).every((v) => v === 0), `${c.label}: gradient not zero`).toBe(true);
                }
              }
            }
          }),
          { numRuns: runs(25) },
        );
      });
    }

    it('cast float64 -> float32 passes the cotangent back as float64; cast to int32 passes nothing', async () => {
      const rng = new Rng(7);
      const x = randn(rng, [2, 3], backend);
      const w = randu(rng, [2, 3], -1, 1, backend);
      const w32 = M.cast(w, 'float32');
      const g = M.grad((x: Tensor) => M.sum(M.mul(bind('cast', [x], { dtype: 'float32' }), w32)))(x) as Tensor;
      expect(g.dtype).toBe('float64');
      expect(await values(g)).toEqual(Array.from(await w32.data(), Number));
      const gi = M.grad((x: Tensor) => M.sum(M.mul(M.cast(M.cast(M.mul(x, 3), 'int32'), 'float64'), x)))(x) as Tensor;
      // d/dx [int(3x) x] = int(3x): the cast to int32 is a constant.
      const expected = (await values(x)).map((v) => Math.trunc(3 * v) + 0);
      expect((await values(gi)).map((v) => v + 0)).toEqual(expected);
    });

    it('reduceProd is exact at zeros: one zero, two zeros', async () => {
      const gradProd = M.grad((x: Tensor) => M.prod(x));
      expect(await values(gradProd(M.tensor(new Float64Array([2, 0, 3, 4]), { backend })) as Tensor)).toEqual([0, 24, 0, 0]);
      expect(await values(gradProd(M.tensor(new Float64Array([2, 0, 3, 0]), { backend })) as Tensor)).toEqual([0, 0, 0, 0]);
      expect(await values(gradProd(M.tensor(new Float64Array([2, 5, 3, 4]), { backend })) as Tensor)).toEqual([60, 24, 40, 30]);
    });

    it("take's gradient scatter-adds onto x's shape, nothing larger (an embedding lookup's)", async () => {
      // d/dx sum(take(x, i, axis)²) = 2 x · (times each row is taken), for x [6, 5, 4] along each axis.
      const rng = new Rng(7);
      const x = f64([6, 5, 4], () => rng.normal(), backend);
      const xs = await values(x);
      for (const axis of [0, 1, 2]) {
        const n = x.shape[axis];
        const picks = [0, n - 1, 1, 0, -1, 2, 0];
        const i = M.tensor(Int32Array.from(picks), { shape: [7], backend });
        const f = (v: Tensor) => M.sum(M.square(M.take(v, i, axis)));
        const counts = Array.from({ length: n }, (_, k) => picks.filter((p) => (p + n) % n === k).length);
        const expected = xs.map((v, flat) => {
          const coord = [Math.floor(flat / 20), Math.floor(flat / 4) % 5, flat % 4];
          return 2 * v * counts[coord[axis]];
        });
        const plusZero = (v: number) => v + 0; // -0 (2x times 0 for negative x) as +0
        expect((await values(M.grad(f)(x) as Tensor)).map(plusZero), `axis ${axis}`).toEqual(expected.map(plusZero));
        // Every staged value is at most as large as x or the gathered [.., 7, ..] (before: 7 * 120).
        const program = M.makeIR(M.grad(f))(x);
        const largest = Math.max(...program.equations.map((eq) => size(eq.out.aval.shape)));
        expect(largest, `axis ${axis}`).toBe(Math.max(120, (120 / n) * 7));
      }
    });
  });
}
