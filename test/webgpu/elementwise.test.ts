import fc from 'fast-check';
import { expect, it } from 'vitest';
import { BINARY_OPS, type BinaryOp, cpu, type DType, evaluate, logicalAnd, logicalOr, sizeOf, take, tensor, UNARY_OPS, type UnaryOp, where } from '../../src/tensor';
import { both, describeWebGPU, expectClose, expectEqual, floats, pair, rng, shapes, webgpu } from './gpu';

/**
 * Input range and tolerance of each float unary op. rsqrt, on the WGSL builtin, gets 1e-5, as builtin
 * accuracy varies between adapters; those computed by mixrl's own float32 code (shaders/math.ts)
 * must be within 2e-6 (17 ulp). Whole-range ulp bounds for sin, cos, tan and exp are further down.
 */
const UNARY_CASES: Record<UnaryOp, { lo: number; hi: number; atol?: number; rtol?: number; dtype?: DType }> = {
  neg: { lo: -5, hi: 5 },
  abs: { lo: -5, hi: 5 },
  sign: { lo: -5, hi: 5 },
  exp: { lo: -10, hi: 10 },
  log: { lo: 0.01, hi: 10 },
  log1p: { lo: -0.9, hi: 10 },
  expm1: { lo: -5, hi: 5 },
  sqrt: { lo: 0, hi: 10 },
  rsqrt: { lo: 0.01, hi: 10, rtol: 1e-5 },
  reciprocal: { lo: 0.1, hi: 10 },
  sin: { lo: -6, hi: 6 },
  cos: { lo: -6, hi: 6 },
  tan: { lo: -1.4, hi: 1.4 },
  atan: { lo: -10, hi: 10 },
  tanh: { lo: -10, hi: 10 },
  atanh: { lo: -0.95, hi: 0.95 },
  sigmoid: { lo: -20, hi: 20 },
  softplus: { lo: -20, hi: 20 },
  erf: { lo: -4, hi: 4 },
  erfinv: { lo: -0.99, hi: 0.99 },
  floor: { lo: -5, hi: 5 },
  ceil: { lo: -5, hi: 5 },
  round: { lo: -5, hi: 5 },
  logicalNot: { lo: 0, hi: 2, dtype: 'bool' },
  isFinite: { lo: -5, hi: 5 },
};

/** Values of `dtype` drawn from [lo, hi): float32, or integers (bools 0/1). */
function values(seed: number, n: number, lo: number, hi: number, dtype: DType): Float32Array | Int32Array | Uint8Array {
  const f = floats(seed, n, lo, hi);
  if (dtype === 'bool') return Uint8Array.from(f, (v) => Math.floor(v) & 1);
  if (dtype === 'int32') return Int32Array.from(f, Math.floor);
  return f;
}

describeWebGPU('elementwise primitives on WebGPU match the CPU', () => {
  it.each(UNARY_OPS)('%s', async (op) => {
    const { lo, hi, atol = 1e-6, rtol = 2e-6, dtype = 'float32' } = UNARY_CASES[op];
    await fc.assert(
      fc.asyncProperty(shapes(), fc.integer(), async (shape, seed) => {
        const x = pair(values(seed, sizeOf(shape), lo, hi, dtype), shape, dtype);
        const r = await both(op, [x], {});
        expectClose(r.gpu, r.cpu, atol, rtol, op);
      }),
      { numRuns: 4 },
    );
  });

  it('rounds halves to even, and floor/ceil/round hit exact integers', async () => {
    const halves = Float32Array.from({ length: 41 }, (_, i) => (i - 20) / 2);
    for (const op of ['round', 'floor', 'ceil'] as const) {
      const r = await both(op, [pair(halves, [41])], {});
      expectEqual(r.gpu, r.cpu, op);
    }
  });

  it('integer neg, abs and sign', async () => {
    const ints = Int32Array.from({ length: 21 }, (_, i) => i - 10);
    for (const op of ['neg', 'abs', 'sign'] as const) {
      const r = await both(op, [pair(ints, [21], 'int32')], {});
      expectEqual(r.gpu, r.cpu, op);
    }
    const words = Uint32Array.of(0, 1, 7, 0xffffffff);
    const r = await both('neg', [pair(words, [4], 'uint32')], {});
    expectEqual(r.gpu, r.cpu, 'neg u32');
  });

  const BINARY_RANGES: Record<BinaryOp, { a: [number, number]; b: [number, number]; dtype?: DType; rtol?: number }> = {
    add: { a: [-5, 5], b: [-5, 5] },
    sub: { a: [-5, 5], b: [-5, 5] },
    mul: { a: [-5, 5], b: [-5, 5] },
    div: { a: [-5, 5], b: [0.1, 5] },
    pow: { a: [0.1, 5], b: [-3, 3] },
    maximum: { a: [-5, 5], b: [-5, 5] },
    minimum: { a: [-5, 5], b: [-5, 5] },
    atan2: { a: [-5, 5], b: [-5, 5], rtol: 2e-6 },
    eq: { a: [-2, 2], b: [-2, 2] },
    ne: { a: [-2, 2], b: [-2, 2] },
    lt: { a: [-2, 2], b: [-2, 2] },
    le: { a: [-2, 2], b: [-2, 2] },
    gt: { a: [-2, 2], b: [-2, 2] },
    ge: { a: [-2, 2], b: [-2, 2] },
    logicalAnd: { a: [0, 2], b: [0, 2], dtype: 'bool' },
    logicalOr: { a: [0, 2], b: [0, 2], dtype: 'bool' },
  };

  /** Two shapes that broadcast: drop leading axes and set some sizes to 1. */
  const broadcastPair = shapes(4, 4).chain((out) =>
    fc.tuple(fc.constant(out), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }), fc.nat(out.length)),
  );

  it.each(BINARY_OPS)('%s with broadcasting', async (op) => {
    const { a, b, dtype = 'float32', rtol = 2e-7 } = BINARY_RANGES[op];
    await fc.assert(
      fc.asyncProperty(broadcastPair, fc.integer(), async ([out, ones, drop], seed) => {
        const sa = out;
        const sb = out.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
        // Comparisons use quarter-steps so that ties occur.
        const quant = (v: Float32Array) => (op.length <= 2 ? Float32Array.from(v, (x) => Math.round(x * 4) / 4) : v);
        const va = quant(values(seed, sizeOf(sa), a[0], a[1], dtype) as Float32Array);
        const vb = quant(values(seed + 1, sizeOf(sb), b[0], b[1], dtype) as Float32Array);
        const r = await both(op, [pair(va, sa, dtype), pair(vb, sb, dtype)], {});
        expectClose(r.gpu, r.cpu, 1e-6, rtol, op);
      }),
      { numRuns: 4 },
    );
  });

  it('pow of negative bases with integer exponents', async () => {
    const a = Float32Array.of(-2, -2, -3, -0.5, 2);
    const b = Float32Array.of(3, 2, -1, 2, 0.5);
    const r = await both('pow', [pair(a, [5]), pair(b, [5])], {});
    expectClose(r.gpu, r.cpu, 1e-6, 2e-7, 'pow');
  });

  it('pow stays within 2 ulp where b log2|a| is large (it was exp2(b log2|a|): 198 ulp at 1.88^93)', async () => {
    const next = rng(11);
    const draw = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
    const cases: [Float32Array, Float32Array][] = [
      [draw(4096, () => 0.5 + 1.5 * next()), draw(4096, () => -100 + 200 * next())],
      [draw(4096, () => 2 ** (-60 + 120 * next())), draw(4096, () => -2 + 4 * next())],
      [draw(4096, () => -10 + 20 * next()), draw(4096, () => Math.round(-16 + 32 * next()))],
      [draw(4096, () => 1 + 2 ** -12 * next()), draw(4096, () => 2 ** 20 * next())],
      // Next to 1 with |b| near 1e9 (b log2 a from -149 to 120): the overflow test once took the
      // builtin log2, 2^-21 off near 1, and gave Infinity for 1.27e30.
      [draw(64, () => 1 - 2 ** -24), Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1) * (2 ** 28 + i * 2 ** 24))],
      [draw(64, () => 1 + 2 ** -23), Float32Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : -1) * (2 ** 27 + i * 2 ** 23))],
    ];
    for (const [a, b] of cases) {
      const r = await both('pow', [pair(a, [a.length]), pair(b, [b.length])], {});
      const exact = r.cpu;
      const normal = Array.from(exact, (e) => Math.abs(e) >= 2 ** -126 && Math.abs(e) < 2 ** 128);
      const kept = (v: ArrayLike<number>) => Float64Array.from(Array.from(v).filter((_, i) => normal[i]));
      const { ulps, at } = worstUlps(kept(a), kept(r.gpu), kept(exact));
      expect(ulps, `pow at a = ${at}: ${ulps.toFixed(2)} ulp`).toBeLessThanOrEqual(2);
    }
  });

  it("pow's special cases are C's (NumPy's) on both backends: 1^NaN, (-1)^±Infinity, -Infinity and signed zeros", async () => {
    const cases: [number, number, number][] = [
      [1, NaN, 1], [1, -Infinity, 1], [-1, Infinity, 1], [-1, -Infinity, 1], [NaN, 0, 1], [NaN, -0, 1], [0, NaN, NaN], [-2, 0.5, NaN],
      [-Infinity, -2.5, 0], [-Infinity, 0.5, Infinity], [-Infinity, 3, -Infinity], [-Infinity, -3, -0], [-0, 3, -0], [-0, -3, -Infinity],
      [-0, 2, 0], [-0, -Infinity, Infinity], [0.5, Infinity, 0], [2, -Infinity, 0],
    ];
    const n = cases.length;
    const r = await both('pow', [pair(Float32Array.from(cases, (c) => c[0]), [n]), pair(Float32Array.from(cases, (c) => c[1]), [n])], {});
    const show = (v: ArrayLike<number>) => Array.from(v, (x) => (Object.is(x, -0) ? '-0' : String(x)));
    expect(show(r.gpu)).toEqual(show(cases.map((c) => c[2])));
    expect(show(r.cpu)).toEqual(show(cases.map((c) => c[2])));
  });

  /** The worst |gpu - exact| over the array in float32 ulps of the exact value (the CPU's float64 result). */
  function worstUlps(inputs: ArrayLike<number>, gpuValues: ArrayLike<number>, exact: ArrayLike<number>): { ulps: number; at: number } {
    let worst = { ulps: 0, at: NaN };
    for (let i = 0; i < inputs.length; i++) {
      const e = exact[i];
      const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(Math.fround(e)))), -126) - 23);
      const ulps = Math.abs(gpuValues[i] - e) / ulp;
      if (!(ulps <= worst.ulps)) worst = { ulps, at: inputs[i] };
    }
    return worst;
  }

  it('sin, cos, tan and exp stay within a few ulp over the whole float32 range (own range reductions, not the builtins)', async () => {
    // Magnitudes 2^-10 .. 2^127.9 of both signs, the floats nearest to k pi/2 for k up to 2^20, and
    // 16367173 2^72, the float32 closest to a multiple of pi/2 relative to its size (its cos is
    // -1.6e-9: the reduction keeps its last bits). WGSL promises its builtin sin and cos only 2^-11
    // absolute inside [-pi, pi], and lavapipe's return -1 for sin(3e38) (exact: 0.875).
    const next = rng(7);
    const wide = Float32Array.from({ length: 4096 }, () => (next() < 0.5 ? -1 : 1) * 2 ** (-10 + 137.9 * next()));
    const nearMultiples = Float32Array.from({ length: 1024 }, () => (Math.floor(next() * 2 ** 20) * Math.PI) / 2);
    const bounds = { sin: 2, cos: 2, tan: 5 } as const;
    for (const inputs of [wide, nearMultiples, Float32Array.of(3e38, -3.4028234663852886e38, 1e30, 0.7853981, 0.78539818, 1.5707964, 3.1415927, 16367173 * 2 ** 72)]) {
      for (const op of ['sin', 'cos', 'tan'] as const) {
        const r = await both(op, [pair(inputs, [inputs.length])], {});
        const { ulps, at } = worstUlps(inputs, r.gpu, r.cpu);
        expect(ulps, `${op}(${at}): ${ulps.toFixed(2)} ulp`).toBeLessThanOrEqual(bounds[op]);
      }
    }
    // exp over every normal result; WGSL promises its builtin 3 + 2|x| ulp (lavapipe's was 28 ulp off at 88).
    const expInputs = floats(8, 4096, -87.33, 88.72);
    const r = await both('exp', [pair(expInputs, [expInputs.length])], {});
    const { ulps, at } = worstUlps(expInputs, r.gpu, r.cpu);
    expect(ulps, `exp(${at}): ${ulps.toFixed(2)} ulp`).toBeLessThanOrEqual(1.5);
  });

  it('atanh keeps a few ulp near -1 as near 1 (it was 216 ulp off at -0.9989)', async () => {
    const x = Float32Array.from({ length: 2048 }, (_, i) => (i % 2 ? 1 : -1) * (1 - 2 ** (-24 + (i >> 1) / 64)));
    const r = await both('atanh', [pair(x, [x.length])], {});
    const { ulps, at } = worstUlps(x, r.gpu, r.cpu);
    expect(ulps, `atanh(${at}): ${ulps.toFixed(2)} ulp`).toBeLessThanOrEqual(4);
    const ends = await both('atanh', [pair(Float32Array.of(-1, 1, -0, -2), [4])], {});
    expect(Array.from(ends.gpu, (v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(['-Infinity', 'Infinity', '-0', 'NaN']);
  });

  it('sin, cos, tan and exp at zeros, infinities, NaN and the ends of the range', async () => {
    const x = Float32Array.of(0, -0, Infinity, -Infinity, NaN);
    const show = (v: ArrayLike<number>) => Array.from(v, (q) => (Object.is(q, -0) ? '-0' : String(q)));
    const expected = { sin: ['0', '-0', 'NaN', 'NaN', 'NaN'], cos: ['1', '1', 'NaN', 'NaN', 'NaN'], tan: ['0', '-0', 'NaN', 'NaN', 'NaN'], exp: ['1', '1', 'Infinity', '0', 'NaN'] };
    for (const op of ['sin', 'cos', 'tan', 'exp'] as const) {
      const r = await both(op, [pair(x, [5])], {});
      expect(show(r.gpu), op).toEqual(expected[op]);
    }
    // 88.72284 is the first float32 whose exp overflows; below -103.97208 exp rounds to 0.
    const ends = Float32Array.of(88.72283, 88.72284, -103.98, -200);
    const r = await both('exp', [pair(ends, [4])], {});
    expect(show(r.gpu)).toEqual(show(Float32Array.from(r.cpu)));
  });

  it('atan2 at infinities and NaN as the CPU (and C): ±pi/4 and ±3pi/4 where both are infinite', async () => {
    const values = [Infinity, -Infinity, NaN, 2, -2, 0, -0];
    const ys = Float32Array.from(values.flatMap((y) => values.map(() => y)));
    const xs = Float32Array.from(values.flatMap(() => values));
    const r = await both('atan2', [pair(ys, [ys.length]), pair(xs, [xs.length])], {});
    expectClose(r.gpu, r.cpu, 0, 2e-7, 'atan2');
    expect(Array.from(r.gpu.slice(0, 2))).toEqual([Math.fround(Math.PI / 4), Math.fround((3 * Math.PI) / 4)]);
  });

  it('log and log1p of subnormals, and signed zeros through tanh, sign, maximum and minimum, as on the CPU', async () => {
    const tiny = Float32Array.of(1e-40, 1.4e-45, 5.877e-39, 1.1754942e-38);
    const r = await both('log', [pair(tiny, [4])], {});
    expectClose(r.gpu, r.cpu, 0, 2e-7, 'log of subnormals');
    // log1p(x) = x for |x| this small (x - x²/2 rounds to x), subnormals and signed zeros included.
    const small = Float32Array.of(1.4e-45, -1.4e-45, 4.2e-45, 1.1754942e-38, -0, 3e-9, -3e-9);
    const l = await both('log1p', [pair(small, [small.length])], {});
    expect(Array.from(l.gpu, (q) => (Object.is(q, -0) ? '-0' : q))).toEqual(Array.from(small, (q) => (Object.is(q, -0) ? '-0' : q)));
    const show = (v: ArrayLike<number>) => Array.from(v, (q) => (Object.is(q, -0) ? '-0' : String(q)));
    const zeros = Float32Array.of(-0, 0, -0, 0);
    const others = Float32Array.of(0, -0, -0, 0);
    for (const op of ['tanh', 'sign'] as const) {
      const u = await both(op, [pair(zeros, [4])], {});
      expect(show(u.gpu), op).toEqual(show(u.cpu));
    }
    for (const op of ['maximum', 'minimum'] as const) {
      const b = await both(op, [pair(zeros, [4]), pair(others, [4])], {});
      expect(show(b.gpu), op).toEqual(show(b.cpu));
    }
  });

  it('atan and atan2 keep the sign of zero', async () => {
    const r = await both('atan', [pair(Float32Array.of(-0, 0), [2])], {});
    expect([Object.is(r.gpu[0], -0), Object.is(r.gpu[1], 0)]).toEqual([true, true]);
    const t = await both('atan2', [pair(Float32Array.of(-0, 0, -0), [3]), pair(Float32Array.of(2, 2, -2), [3])], {});
    expect([Object.is(t.gpu[0], -0), Object.is(t.gpu[1], 0)]).toEqual([true, true]);
    expectClose(t.gpu, t.cpu, 0, 1e-6, 'atan2(-0, -2) = -π');
  });

  it('plain numbers next to WebGPU tensors are made on WebGPU (where, logicalAnd, logicalOr, take)', async () => {
    using x = tensor(Float32Array.of(3, -1, 2), { backend: webgpu() });
    using c = tensor(Uint8Array.of(1, 0, 1), { dtype: 'bool', backend: webgpu() });
    expect(Array.from(await where(c, 1, 0).data())).toEqual([1, 0, 1]);
    expect(Array.from(await where(true, x, 0).data())).toEqual([3, -1, 2]);
    expect(Array.from(await logicalAnd(x, true).data())).toEqual([1, 1, 1]);
    expect(Array.from(await logicalOr(0, c).data())).toEqual([1, 0, 1]);
    expect(Array.from(await take(x, 2).data())).toEqual([2]);
    expect(Array.from(await take(x, [-1, 0]).data())).toEqual([2, 3]);
  });

  it('integer arithmetic wraps and truncates like the CPU', async () => {
    const next = rng(3);
    const a = Int32Array.from({ length: 64 }, () => Math.floor((next() - 0.5) * 2 ** 32));
    const b = Int32Array.from({ length: 64 }, (_, i) => (i % 8 === 0 ? 0 : Math.floor((next() - 0.5) * 200)));
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'lt', 'eq'] as const) {
      const r = await both(op, [pair(a, [64], 'int32'), pair(b, [64], 'int32')], {});
      expectEqual(r.gpu, r.cpu, op);
    }
    const ua = Uint32Array.from(a);
    const ub = Uint32Array.from(b);
    for (const op of ['add', 'mul', 'div', 'maximum', 'gt'] as const) {
      const r = await both(op, [pair(ua, [64], 'uint32'), pair(ub, [64], 'uint32')], {});
      expectEqual(r.gpu, r.cpu, `${op} u32`);
    }
  });

  it('past 65535 workgroups the grid folds into two dimensions', async () => {
    const n = 65535 * 256 + 1000;
    const x = Float32Array.from({ length: n }, (_, i) => i % 1024);
    using a = tensor(x, { backend: webgpu() });
    using one = tensor(Float32Array.of(1), { backend: webgpu() });
    using y = a.add(one);
    const out = await y.data();
    for (const i of [0, 1, 255, 65535 * 256 - 1, 65535 * 256, n - 1]) expect(out[i]).toBe((i % 1024) + 1);
  });

  it('where broadcasts its three operands', async () => {
    const cond = Uint8Array.of(1, 0, 1);
    const x = floats(1, 6, -1, 1);
    const y = Float32Array.of(7);
    const r = await both('where', [pair(cond, [3], 'bool'), pair(x, [2, 3]), pair(y, [])], {});
    expectEqual(r.gpu, r.cpu, 'where');
  });

  it('NaN and infinities: isFinite, sign, maximum, minimum and comparisons as on the CPU', async () => {
    const x = pair(Float32Array.of(1, Infinity, -Infinity, NaN, -0, 3e38, NaN, 2), [8]);
    const y = pair(Float32Array.of(NaN, 1, 2, 3, 0, -1, NaN, 5), [8]);
    for (const op of ['isFinite', 'sign'] as const) {
      const r = await both(op, [x], {});
      expectEqual(r.gpu, r.cpu, op);
    }
    for (const op of ['maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
      const r = await both(op, [x, y], {});
      expectEqual(r.gpu, r.cpu, op);
    }
  });

  const GPU_DTYPES: DType[] = ['float32', 'int32', 'uint32', 'bool'];
  it.each(GPU_DTYPES)('cast from %s to every dtype', async (from) => {
    const source = {
      // Includes values outside int32 range and non-finite ones, which wrap / become 0 as in JS.
      float32: Float32Array.of(-3.75, -1, -0.5, 0, 0.5, 1.25, 7, 1e6, 3e9, -3e9, 5e12, NaN, Infinity, -Infinity),
      int32: Int32Array.of(-2147483648, -7, -1, 0, 1, 2, 1000, 2147483647, 16777217),
      uint32: Uint32Array.of(0, 1, 2, 7, 1000, 0x7fffffff, 0x80000000, 0xffffffff, 16777217),
      bool: Uint8Array.of(0, 1, 1, 0, 0, 1, 0, 1),
    }[from as 'float32'];
    for (const to of GPU_DTYPES) {
      const g = evaluate('cast', [tensor(source, { dtype: from, backend: webgpu() })], { dtype: to });
      const c = evaluate('cast', [tensor(source, { dtype: from, backend: cpu })], { dtype: to });
      expectEqual(await g.data(), c.dataSync(), `${from} -> ${to}`);
    }
  });

  it('reshape and stopGradient share the buffer; disposing one keeps the other readable', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6], { backend: webgpu() });
    const before = webgpu().poolStats().inUse;
    const y = evaluate('reshape', [x], { shape: [2, 3] });
    const z = evaluate('stopGradient', [y], {});
    expect(webgpu().poolStats().inUse).toBe(before);
    x.dispose();
    y.dispose();
    expect(Array.from(await z.data())).toEqual([1, 2, 3, 4, 5, 6]);
    z.dispose();
  });
});
