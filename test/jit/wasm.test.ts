/**
 * The CPU plan's WebAssembly steps against eager mode, bit for bit: fused loops over every lane
 * operation and broadcast pattern (row, column, scalar, full), float sums over every axis set (the
 * contiguous ones run in WebAssembly, the others in JS), matrix products read transposed,
 * slices, pads and concatenations copied as rows, transposes as matrix transposes, gathers along
 * an axis, and threefry hashes. The plan statistics show
 * the steps really ran in WebAssembly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { gatherAlongAxis, rowCopies, transposeAsMatrices } from '../../src/tensor/cpu/wasm/copy';
import { packsB } from '../../src/tensor/cpu/wasm/runtime';
import { prepareGather } from '../../src/tensor/cpu/gather';
import { LANE_SUM_MIN, reductionLayout } from '../../src/tensor/cpu/wasm/reduce';
import { runs } from '../autodiff/helpers';
import { randomValues } from '../tensor/helpers';

type DT = 'float32' | 'float64';

/** Values with repeats, zeros of both signs, an infinity and a NaN now and then (exercising IEEE edge cases). */
function values(seed: number, n: number): number[] {
  const base = randomValues(seed, n).map((v) => Math.round(v * 8) / 4);
  return base.map((v, i) => (i % 11 === 3 ? -0 : i % 17 === 5 ? Infinity : i % 23 === 7 ? NaN : v));
}

const bits = (t: Tensor) => Array.from(t.dataSync(), (v) => (Object.is(v, -0) ? '-0' : String(v)));

function expectIdentical(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], what: string): M.JitStats {
  const jitted = M.jit(f);
  const got = jitted(...inputs);
  expect(bits(got), what).toEqual(bits(f(...inputs)));
  return M.jitStats(jitted);
}

/**
 * A random chain over the lane operations, with the transcendentals (lanes in both float dtypes)
 * `withTranscendentals`, and sin (JS only: it keeps the group in JS) `withSin`.
 */
function laneProgram(seed: number, leaves: Tensor[], withTranscendentals: boolean, withSin = false): Tensor {
  let s = seed;
  const next = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const pool: Tensor[] = [...leaves];
  const pick = () => pool[next(pool.length)];
  for (let k = 0; k < 7; k++) {
    const [a, b] = [pick(), pick()];
    const ops: (() => Tensor)[] = [
      () => M.add(a, b),
      () => M.sub(a, b),
      () => M.mul(a, b),
      () => M.div(a, b),
      () => M.maximum(a, b),
      () => M.minimum(a, b),
      () => M.neg(a),
      () => M.abs(a),
      () => M.sqrt(M.abs(a)),
      () => M.floor(a),
      () => M.ceil(a),
      () => M.reciprocal(a),
      () => M.where(M.greater(a, b), a, b),
      () => M.where(M.logicalAnd(M.lessEqual(a, 0), M.notEqual(b, a)), b, M.neg(a)),
      () => M.where(M.logicalNot(M.equal(a, b)), M.mul(a, 2), a),
      () => M.add(M.cast(M.greaterEqual(a, b), a.dtype), a),
      () => M.stopGradient(M.add(a, 1)),
    ];
    if (withTranscendentals) {
      ops.push(
        () => M.exp(a),
        () => M.expm1(a),
        () => M.log(a),
        () => M.log1p(a),
        () => M.tanh(a),
        () => M.sigmoid(a),
        () => M.softplus(a),
        () => M.erfinv(M.mul(a, 0.25)),
        () => M.where(M.isFinite(a), a, b),
      );
    }
    if (withSin) ops.push(() => M.sin(a));
    pool.push(ops[next(ops.length)]());
  }
  return M.add(pool[pool.length - 1], pool[pool.length - 2]);
}

describe('WebAssembly steps of CPU plans', () => {
  it('fused lane loops equal eager mode bit for bit, with row, column, scalar and full leaves', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.constantFrom<DT>('float32', 'float64'),
        fc.constantFrom<number[]>([3, 8], [2, 4, 4], [3, 2, 8], [2, 3, 4], [5, 3], [1, 12], [16], [2, 4, 2]),
        fc.boolean(),
        fc.boolean(),
        (seed, dtype, shape, withTranscendentals, withSin) => {
          const n = shape.reduce((a, b) => a * b, 1);
          const make = (s: number[], k: number) => M.tensor(values(seed + k, s.reduce((a, b) => a * b, 1)), { shape: s, dtype });
          // Full, a row repeated, a column spread, the middle axis broadcast ([a, 1, c] of [a, b, c]), a scalar.
          const middle = shape.length === 3 ? [shape[0], 1, shape[2]] : shape.slice(1);
          const leafShapes = [shape, shape.slice(1), [...shape.slice(0, 1), ...shape.slice(1).map(() => 1)], middle, []];
          const leaves = leafShapes.map((s, k) => make(s, k));
          const f = (...xs: Tensor[]) => laneProgram(seed, xs, withTranscendentals, withSin);
          const stats = expectIdentical(f, leaves, `${dtype} ${shape} seed ${seed} (${n} elements)`);
          expect(stats.lastPlan?.steps).toBeGreaterThan(0);
        },
      ),
      { numRuns: runs(120) },
    );
  });

  it('int32 lane loops (wrapping add, sub, mul; min, max, neg, abs, comparisons, where, casts to float32 and from bool) equal eager mode bit for bit', () => {
    const extremes = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 46341, -46341, 2 ** 24 + 1, -(2 ** 24) - 3, 123456789];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.constantFrom<number[]>([3, 8], [2, 4, 4], [5, 3], [16], []),
        (seed, shape) => {
          let s = seed;
          const next = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
          const n = shape.reduce((a, b) => a * b, 1);
          const ints = (k: number) => Int32Array.from({ length: n }, (_, i) => (next(3) === 0 ? extremes[(i + k) % extremes.length] : next(2001) - 1000));
          // Full leaves, a row repeated (int32) and a scalar.
          const [a, b] = [M.tensor(ints(0), { shape, dtype: 'int32' }), M.tensor(ints(3), { shape, dtype: 'int32' })];
          const row = M.tensor(Int32Array.from({ length: shape.length ? shape[shape.length - 1] : 1 }, (_, i) => extremes[i % 10]), { shape: shape.slice(-1), dtype: 'int32' });
          const x = M.tensor(Float32Array.from({ length: n }, (_, i) => i / 7 - 1), { shape });
          const f = (p: Tensor, q: Tensor, r: Tensor, y: Tensor) => {
            s = seed; // the same program on every call
            const pool: Tensor[] = [p, q, r];
            const pick = () => pool[next(pool.length)];
            for (let k = 0; k < 6; k++) {
              const [u, v] = [pick(), pick()];
              const ops = [
                () => M.add(u, v),
                () => M.sub(u, v),
                () => M.mul(u, v),
                () => M.maximum(u, v),
                () => M.minimum(u, v),
                () => M.neg(u),
                () => M.abs(u),
                () => M.where(M.less(u, v), u, v),
                () => M.add(M.cast([M.less, M.lessEqual, M.greater, M.greaterEqual, M.equal, M.notEqual][next(6)](u, v), 'int32'), u),
                () => M.where(M.logicalNot(M.cast(u, 'bool')), v, u),
              ];
              pool.push(ops[next(ops.length)]());
            }
            // The int32 results, and one cast to float32 inside a float loop.
            return [pool[pool.length - 1], M.mul(M.cast(pool[pool.length - 2], 'float32'), y)];
          };
          const jitted = M.jit(f);
          const what = `${shape} seed ${seed}`;
          const { plans } = M.profileCpu(() => expect(jitted(a, b, row, x).map(bits), what).toEqual(f(a, b, row, x).map(bits)));
          // Loops storing or reading booleans (a mask broadcast from the row) stay JS: those with a
          // cast, logicalNot or where, and a comparison stored alone (common-subexpression
          // elimination merges two equal comparisons into one with two readers in other loops).
          const js = plans[0].steps.filter(({ step }) => step.startsWith('fused') && step.endsWith(' js'));
          expect(js.filter(({ step }) => !/cast|logicalNot|where|\b(lt|le|gt|ge|eq|ne)\b/.test(step)).map(({ step }) => step), what).toEqual([]);
        },
      ),
      { numRuns: runs(150) },
    );
    // An optimizer's step counter: t + 1 and its float32 value, one loop in WebAssembly.
    const count = (t: Tensor) => {
      const next = M.add(t, 1);
      return [next, M.cast(next, 'float32')];
    };
    for (const t of [0, 7, 2 ** 31 - 1, 2 ** 24 + 1]) {
      const step = M.tensor([t], { shape: [], dtype: 'int32' });
      const jitted = M.jit(count);
      const { plans } = M.profileCpu(() => expect(jitted(step).map(bits), `t ${t}`).toEqual(count(step).map(bits)));
      expect(plans[0].steps.map(({ step: s }) => s)).toEqual(['fused[add,cast] [] (2 outputs) wasm']);
    }
  });

  it('runs supported fused loops in WebAssembly', () => {
    const x = M.tensor(values(1, 24), { shape: [3, 8] });
    const bias = M.tensor(values(2, 8), { shape: [8] });
    const f = (a: Tensor, b: Tensor) => M.relu(M.add(a, b));
    const stats = expectIdentical(f, [x, bias], 'relu(x + b)');
    expect(stats.lastPlan?.wasmSteps).toBe(1);
    // exp has a lane form in both float dtypes (its float64 programs); sin has none: the same loop runs in JS.
    const g = (a: Tensor, b: Tensor) => M.exp(M.add(a, b));
    expect(expectIdentical(g, [x, bias], 'exp(x + b)').lastPlan?.wasmSteps).toBe(1);
    const [x64, bias64] = [x, bias].map((t) => M.cast(t, 'float64'));
    expect(expectIdentical(g, [x64, bias64], 'float64 exp(x + b)').lastPlan?.wasmSteps).toBe(1);
    const h = (a: Tensor, b: Tensor) => M.sin(M.add(a, b));
    expect(expectIdentical(h, [x, bias], 'sin(x + b)').lastPlan?.wasmSteps).toBe(0);
  });

  it.each(['float32', 'float64'] as const)('%s transcendentals in lanes equal eager mode bit for bit on edge cases, with broadcast leaves (loaded or gathered)', (dtype) => {
    // NaN, ±∞, ±0, subnormals, extremes, exp's overflow and underflow edges, ±1, tanh's saturation, and random values.
    const tiny = dtype === 'float32' ? 2 ** -149 : 2 ** -1074;
    const edges =
      dtype === 'float32'
        ? [NaN, Infinity, -Infinity, 0, -0, tiny, -tiny, 1e-40, 3.4e38, -3.4e38, 88.72283, 88.7229, -87.33655, -103.2789, -103.9721, -104]
        : [NaN, Infinity, -Infinity, 0, -0, tiny, -tiny, 1e-310, 1.7976931348623157e308, -1.7976931348623157e308, 709.782712893384, 709.7827128933841, -708.4, -745.1332191019411, -745.1332191019412, -746];
    const special = [...edges, 1, -1, 1 - 2 ** -24, -1.5, 0.5, 9.0109, -9.0109, 20, 1e-8, -1e-8, ...randomValues(3, 38, -30, 30)];
    const rowValues = [1, -1, 0.5, 2, 1, 1, -0.25, 1, 1, 3, 1, 1, -1, 1, 0.5, 1];
    const columnValues = [1, -2, 0.001, 1, -1, 0.5, 1, 2];
    // [4, 16]: row and column vectors stay in one row (vector loads, splats); [8, 6]: they straddle rows (gathered, in float32).
    const layouts = [
      [4, 16],
      [8, 6],
    ].map(([m, n]) => ({
      x: M.tensor(special.slice(0, m * n), { shape: [m, n], dtype }),
      row: M.tensor(rowValues.slice(0, n), { shape: [n], dtype }),
      column: M.tensor(columnValues.slice(0, m), { shape: [m, 1], dtype }),
    }));
    const ops: Record<string, (t: Tensor) => Tensor> = {
      exp: M.exp,
      expm1: M.expm1,
      log: M.log,
      log1p: M.log1p,
      tanh: M.tanh,
      sigmoid: M.sigmoid,
      softplus: M.softplus,
      erfinv: M.erfinv,
      isFinite: (t) => M.where(M.isFinite(t), t, 0),
    };
    for (const [name, op] of Object.entries(ops)) {
      for (const { x, row, column } of layouts) {
        // The op alone on x, and on x scaled by a row and shifted by a column leaf (each one loop).
        const what = `${name} on ${x.shape}`;
        expect(expectIdentical(op, [x], what).lastPlan?.wasmSteps, what).toBe(1);
        const g = (a: Tensor, r: Tensor, c: Tensor) => M.mul(op(M.add(M.mul(a, r), c)), r);
        expect(expectIdentical(g, [x, row, column], `${what}: (x r + c) r`).lastPlan?.wasmSteps, what).toBe(1);
      }
    }
  });

  it('large loops with gathered leaves (up to 2^24 elements) run in WebAssembly, equal to eager mode bit for bit', () => {
    // [40, 5, 100, 5] (100,000 elements): a column [40, 5, 100, 1] and a middle leaf [40, 1, 100, 5]
    // straddle vectors (gathered); so at 2^18 + 5 elements (run as a JS loop when 2^18 was the cap).
    for (const [shape, inWasm] of [
      [[40, 5, 100, 5], 1],
      [[1, 1, 52429, 5], 1],
    ] as const) {
      const [a, b, c, d] = shape;
      const x = M.tensor(values(7, a * b * c * d), { shape: [a, b, c, d] });
      const column = M.tensor(values(8, a * b * c), { shape: [a, b, c, 1] });
      const middle = M.tensor(values(9, a * c * d), { shape: [a, 1, c, d] });
      const f = (p: Tensor, q: Tensor, r: Tensor) => M.sub(M.mul(M.exp(M.sub(p, q)), r), M.div(q, r));
      expect(expectIdentical(f, [x, column, middle], `${shape}`).lastPlan?.wasmSteps, `${shape}`).toBe(inWasm);
    }
  });

  it('loops gathering the same leaf pattern share one index array', () => {
    // Two loops (a reduction between them), each gathering the column [40, 5, 100, 1] into
    // [40, 5, 100, 5] (its 5 repeats straddle vectors; the middle leaf [40, 1, 100, 5] is read in
    // whole vectors): one index array, not two.
    const [a, b, c, d] = [40, 5, 100, 5];
    const x = M.tensor(values(7, a * b * c * d), { shape: [a, b, c, d] });
    const column = M.tensor(values(8, a * b * c), { shape: [a, b, c, 1] });
    const middle = M.tensor(values(9, a * c * d), { shape: [a, 1, c, d] });
    const f = (p: Tensor, q: Tensor, r: Tensor) => {
      const total = M.max(M.mul(M.exp(M.sub(p, q)), r), 0, true);
      return M.mul(M.add(M.add(p, total), q), r);
    };
    const plan = expectIdentical(f, [x, column, middle], 'two gathering loops').lastPlan;
    expect([plan?.wasmSteps, plan?.fusedGroups, plan?.gatherIndexArrays]).toEqual([3, 2, 1]);
  });

  it('float sums, maxima and minima over every axis set equal eager mode bit for bit (NaN, ±0, ±∞ included)', () => {
    const reductions = { sum: M.sum, max: M.max, min: M.min };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.constantFrom<DT>('float32', 'float64'),
        fc.constantFrom<keyof typeof reductions>('sum', 'max', 'min'),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        (seed, dtype, op, shape, chosen) => {
          const axes = shape.map((_, k) => k).filter((k) => chosen[k]);
          // Repeated values, ±0, an infinity and a NaN now and then (sums: finite values only).
          const n = shape.reduce((a, b) => a * b, 1);
          const data = op === 'sum' ? randomValues(seed, n) : values(seed, n);
          const x = M.tensor(data, { shape, dtype });
          const reduce = reductions[op];
          const stats = expectIdentical((a: Tensor) => reduce(M.mul(a, 3), axes), [x], `${op} ${dtype} ${shape} axes ${axes}`);
          // The fused multiply, plus the reduction where its axes are contiguous (none: no op).
          const expected = axes.length > 0 && reductionLayout(shape, axes) !== null ? 2 : 1;
          expect(stats.lastPlan?.wasmSteps, `${op} ${dtype} ${shape} axes ${axes}`).toBe(expected);
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('argmax and argmin over any axis equal eager mode (the first NaN wins, the first of ties, -0 and +0 tie) and run in WebAssembly', () => {
    const pool = [Number.NaN, -0, 0, 1, -1, 2, Infinity, -Infinity];
    fc.assert(
      fc.property(
        fc.constantFrom<DT>('float32', 'float64'),
        fc.constantFrom('argmax', 'argmin') as fc.Arbitrary<'argmax' | 'argmin'>,
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 216, maxLength: 216 }),
        (dtype, op, shape, axisPick, picks) => {
          const axis = axisPick % shape.length;
          const n = shape.reduce((a, b) => a * b, 1);
          const x = M.tensor(picks.slice(0, n).map((k) => pool[k]), { shape, dtype });
          const f = (a: Tensor) => M.add(M[op](a, axis), 1);
          const jitted = M.jit(f);
          const what = `${op} ${dtype} ${shape} axis ${axis} values ${picks.slice(0, n).map((k) => pool[k])}`;
          const { plans } = M.profileCpu(() => expect(Array.from(jitted(x).dataSync()), what).toEqual(Array.from(f(x).dataSync())));
          expect(plans[0].steps.filter(({ step }) => step.startsWith(op)).map(({ step }) => step.split(' ').pop()), what).toEqual(['wasm']);
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it('column sums (8 columns at a time in four chains, then pairs, then one) equal float64 sums down each column', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [outer, reduced, inner] of [[1, 7, 8], [2, 5, 19], [1, 1, 27], [2, 9, 16], [1, 3, 1]]) {
        const data = randomValues(outer * reduced * inner, outer * reduced * inner);
        const x = M.tensor(data, { shape: [outer, reduced, inner], dtype });
        const stored = dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data);
        const expected = Array.from({ length: outer * inner }, (_, q) => {
          const [o, i] = [Math.floor(q / inner), q % inner];
          let total = 0;
          for (let r = 0; r < reduced; r++) total += stored[(o * reduced + r) * inner + i];
          return dtype === 'float32' ? Math.fround(total) : total;
        });
        const jitted = M.jit((a: Tensor) => M.sum(a, 1));
        const what = `${dtype} [${outer}, ${reduced}, ${inner}]`;
        expect(Array.from(jitted(x).dataSync()), what).toEqual(expected);
        expect(M.jitStats(jitted).lastPlan?.wasmSteps, what).toBe(1);
      }
    }
  });

  it('long sums (LANE_SUM_MIN elements or more per output, contiguous) add in eight lanes, jitted and eager, and shorter ones in one chain', () => {
    // The documented order, written out here: s[r % 8] over whole groups of eight, then
    // ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7)), then the rest one by one.
    const inLanes = (v: ArrayLike<number>, start: number, n: number) => {
      const s = new Array<number>(8).fill(0);
      const whole = n - (n % 8);
      for (let r = 0; r < whole; r++) s[r % 8] += v[start + r];
      let total = s[0] + s[2] + (s[4] + s[6]) + (s[1] + s[3] + (s[5] + s[7]));
      for (let r = whole; r < n; r++) total += v[start + r];
      return total;
    };
    const inOrder = (v: ArrayLike<number>, start: number, n: number) => {
      let total = 0;
      for (let r = 0; r < n; r++) total += v[start + r];
      return total;
    };
    expect(LANE_SUM_MIN).toBe(4096);
    for (const dtype of ['float32', 'float64'] as const) {
      // [outer, ...reduced axes]: lengths on both sides of the threshold, every remainder mod 8 near it.
      for (const shape of [[1, 4095], [1, 4096], [3, 4097], [2, 4103], [1, 64, 64], [2, 70, 70], [1, 100_003]]) {
        const [outer, ...rest] = shape;
        const n = rest.reduce((a, b) => a * b, 1);
        // Values of mixed sign and magnitude, so that the order of the additions shows in the bits.
        const data = randomValues(n + outer, n * outer).map((v, i) => v * 10 ** (i % 7));
        const stored = dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data);
        const x = M.tensor(stored, { shape, dtype });
        const axes = rest.map((_, k) => k + 1);
        const round = dtype === 'float32' ? Math.fround : (v: number) => v;
        const expected = Array.from({ length: outer }, (_, o) => round((n >= 4096 ? inLanes : inOrder)(stored, o * n, n)));
        const what = `${dtype} [${shape}]`;
        const jitted = M.jit((a: Tensor) => M.sum(a, axes));
        expect(Array.from(jitted(x).dataSync()), what).toEqual(expected);
        expect(Array.from(M.sum(x, axes).dataSync()), `${what}, eager`).toEqual(expected);
        expect(M.jitStats(jitted).lastPlan?.wasmSteps, what).toBe(1);
        // One thread: a lone sum in lanes makes no plan threaded (its arena's memory stays unshared).
        if (n >= 4096) expect(M.jitStats(jitted).lastPlan?.threaded, what).toBe(false);
        // The two orders give other float64 sums here (else the float64 cases could not tell them apart).
        if (n >= 4096 && outer === 1) expect(inOrder(stored, 0, n), `${what}: the orders differ`).not.toBe(inLanes(stored, 0, n));
      }
    }
  });

  it('returned values stay intact across later calls (block copies, small copies, values other steps read)', () => {
    // a is returned and read by the sum after it; both run in WebAssembly. a has 96 elements (in the
    // shared output block), the sum 8 (copied alone), p = 2a + 1 is a fused multi-output result.
    const w = M.tensor(randomValues(7, 4 * 8), { shape: [4, 8] });
    const f = (x: Tensor) => {
      const a = M.matmul(x, w);
      return [a, M.sum(a, 0), M.add(M.mul(a, 2), 1)];
    };
    const jitted = M.jit(f);
    const x1 = M.tensor(randomValues(8, 12 * 4), { shape: [12, 4] });
    const x2 = M.tensor(randomValues(9, 12 * 4), { shape: [12, 4] });
    const first = jitted(x1);
    const kept = first.map(bits);
    expect(kept).toEqual(f(x1).map(bits));
    const second = jitted(x2);
    expect(second.map(bits)).toEqual(f(x2).map(bits));
    expect(first.map(bits), 'results of the first call after the second').toEqual(kept);
    expect(M.jitStats(jitted).lastPlan?.wasmSteps).toBe(3);
  });

  it('JS steps read a returned arena result of the current call, not the copy handed out before', () => {
    // a (a product, in the arena) is returned and read by sin (a JS step); the second call's sin must see the second a.
    for (const n of [2, 16]) {
      const w = M.tensor(randomValues(10, n * n), { shape: [n, n] });
      const f = (x: Tensor) => {
        const a = M.matmul(x, w);
        return [a, M.sin(a)];
      };
      const jitted = M.jit(f);
      const [x1, x2] = [11, 12].map((seed) => M.tensor(randomValues(seed, n * n), { shape: [n, n] }));
      expect(jitted(x1).map(bits), `${n} x ${n}, first call`).toEqual(f(x1).map(bits));
      expect(jitted(x2).map(bits), `${n} x ${n}, second call`).toEqual(f(x2).map(bits));
    }
  });

  it('reductionLayout finds [outer, reduced, inner] for contiguous axes, ignoring size-1 axes', () => {
    expect(reductionLayout([32, 64], [0])).toEqual({ outer: 1, reduced: 32, inner: 64 });
    expect(reductionLayout([32, 64], [1])).toEqual({ outer: 32, reduced: 64, inner: 1 });
    expect(reductionLayout([2, 3, 4], [0, 1])).toEqual({ outer: 1, reduced: 6, inner: 4 });
    expect(reductionLayout([2, 1, 4], [0, 2])).toEqual({ outer: 1, reduced: 8, inner: 1 });
    expect(reductionLayout([2, 3, 4], [0, 2])).toBeNull();
    expect(reductionLayout([2, 3], [])).toEqual({ outer: 6, reduced: 1, inner: 1 });
  });

  it('float32 products with transposed operands equal eager mode bit for bit', () => {
    const [a, b] = [M.tensor(randomValues(3, 5 * 7), { shape: [5, 7] }), M.tensor(randomValues(4, 5 * 9), { shape: [5, 9] })];
    const d = M.tensor(randomValues(5, 9 * 5), { shape: [9, 5] });
    const f = (x: Tensor, y: Tensor, z: Tensor) => M.add(M.matmul(M.transpose(x), y), M.matmul(M.transpose(x), M.transpose(z)));
    const stats = expectIdentical(f, [a, b, d], 'xᵀy + xᵀzᵀ');
    expect(stats.lastPlan?.wasmSteps).toBeGreaterThanOrEqual(3);
    // A small product of a transpose folded into it, of a value computed in the plan: it must not
    // move ahead of that value with the small values computed first.
    const late = (x: Tensor, y: Tensor) => M.matmul(M.transpose(M.exp(x)), y);
    expectIdentical(late, [M.tensor(randomValues(6, 40 * 4), { shape: [40, 4] }), M.tensor(randomValues(7, 40 * 2), { shape: [40, 2] })], 'exp(x)ᵀy');
    // A column times a transposed A (run as a row times A's storage), small and large (A past the
    // size that is otherwise transposed into scratch), B a column or a transposed row.
    for (const [m, k] of [[5, 7], [130, 77]]) {
      const x = M.tensor(randomValues(m, k * m, -2, 2), { shape: [k, m] });
      const column = M.tensor(randomValues(k, k), { shape: [k, 1] });
      const row = M.tensor(randomValues(k + 1, k), { shape: [1, k] });
      const g = (s: Tensor, c: Tensor, r: Tensor) => M.mul(M.matmul(M.transpose(s), c), M.matmul(M.transpose(s), M.transpose(r)));
      expectIdentical(g, [x, column, row], `xᵀc · xᵀrᵀ, ${m}x${k}`);
    }
  });

  it('float32 products that pack B in panels first (stored as it is or transposed, with an epilogue, across threads) equal eager mode bit for bit', () => {
    const cases = [
      { m: 40, k: 33, n: 139, transposeB: false },
      { m: 20, k: 19, n: 37, transposeB: true },
      { m: 256, k: 256, n: 256, transposeB: false },
      { m: 256, k: 255, n: 250, transposeB: true },
    ];
    for (const { m, k, n, transposeB } of cases) {
      expect(packsB(m, k, n, transposeB), `${m}x${k}x${n}`).toBe(true);
      const x = M.tensor(randomValues(m, m * k, -2, 2), { shape: [m, k] });
      const w = M.tensor(randomValues(n, k * n), { shape: transposeB ? [n, k] : [k, n] });
      const bias = M.tensor(randomValues(k, n), { shape: [n] });
      const f = (a: Tensor, b: Tensor, c: Tensor) => M.maximum(M.add(M.matmul(a, transposeB ? M.transpose(b) : b), c), 0);
      expectIdentical(f, [x, w, bias], `relu(x w${transposeB ? 'ᵀ' : ''} + b), ${m}x${k}x${n}`);
    }
  });
  it('float64 products run in WebAssembly in place and equal eager mode bit for bit: batched, broadcast, transposed operands, B packed or read by rows', () => {
    // [m, k, n]: n a multiple of 4 (B read by rows) or not (packed in a plan: rows would read past B's
    // end); 20x19x130 packs B for reuse; 70x64 transposes a large A stored transposed into scratch.
    const sizes = [
      [1, 64, 64],
      [3, 5, 7],
      [20, 19, 130],
      [70, 64, 9],
    ];
    for (const [m, k, n] of sizes) {
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        for (const batch of [[], [3], [2, 2]]) {
          // A batched, B broadcast over the batch when the batch has two axes (one B for each row of it).
          const bBatch = batch.length === 2 ? [batch[0], 1] : batch;
          const a = M.tensor(randomValues(m + k, M.sizeOf([...batch, m, k]), -2, 2), { shape: [...batch, ...(transposeA ? [k, m] : [m, k])], dtype: 'float64' });
          const b = M.tensor(randomValues(n + k, M.sizeOf([...bBatch, k, n]), -2, 2), { shape: [...bBatch, ...(transposeB ? [n, k] : [k, n])], dtype: 'float64' });
          const swap = (t: Tensor) => M.transpose(t, [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i)));
          const f = (x: Tensor, y: Tensor) => M.matmul(transposeA ? swap(x) : x, transposeB ? swap(y) : y);
          const what = `${batch.join('x') || 'one'} of ${m}x${k}${transposeA ? 'ᵀ' : ''}·${k}x${n}${transposeB ? 'ᵀ' : ''}`;
          const stats = expectIdentical(f, [a, b], what);
          expect(stats.lastPlan?.wasmSteps, what).toBe(1);
        }
      }
    }
  });
});

describe('slices, pads and concatenations of CPU plans as row copies', () => {
  it('rowCopies collapses axes that both sides lay out as one run, and refuses strided runs', () => {
    // [256, 17] and [256, 6] into [256, 23]: 256 rows each, 23 floats apart in the output.
    expect(rowCopies({ prim: 'concat', axis: 1 }, [[256, 17], [256, 6]], [256, 23], 4)?.copies).toEqual([
      { input: 0, src: 0, srcStride: 68, dst: 0, dstStride: 92, rowBytes: 68, rows: 256 },
      { input: 1, src: 0, srcStride: 24, dst: 68, dstStride: 92, rowBytes: 24, rows: 256 },
    ]);
    // Along the first axis each input is one run; size-1 axes are dropped.
    expect(rowCopies({ prim: 'concat', axis: 0 }, [[2, 1, 3], [4, 1, 3]], [6, 1, 3], 8)?.copies).toEqual([
      { input: 0, src: 0, srcStride: 0, dst: 0, dstStride: 0, rowBytes: 48, rows: 1 },
      { input: 1, src: 0, srcStride: 0, dst: 48, dstStride: 0, rowBytes: 96, rows: 1 },
    ]);
    // x[1:3, 2:5] of [4, 6]: two rows of three from element 8.
    expect(rowCopies({ prim: 'slice', starts: [1, 2], steps: [1, 1] }, [[4, 6]], [2, 3], 4)?.copies).toEqual([
      { input: 0, src: 32, srcStride: 24, dst: 0, dstStride: 12, rowBytes: 12, rows: 2 },
    ]);
    const pad = rowCopies({ prim: 'pad', lo: [1, 0], interior: [0, 0] }, [[2, 3]], [4, 5], 4);
    expect(pad).toEqual({ zero: true, copies: [{ input: 0, src: 0, srcStride: 12, dst: 20, dstStride: 20, rowBytes: 12, rows: 2 }] });
    // A column into every third one: rows of one element.
    expect(rowCopies({ prim: 'concat', axis: 1 }, [[2, 1], [2, 2]], [2, 3], 4)?.copies[0]).toEqual({ input: 0, src: 0, srcStride: 4, dst: 0, dstStride: 12, rowBytes: 4, rows: 2 });
    // Every other element of a matrix's rows, an interior pad along the last axis, three uncollapsible axes, a crop.
    expect(rowCopies({ prim: 'slice', starts: [0, 0], steps: [1, 2] }, [[4, 5]], [4, 3], 4)).toBeNull();
    // ... though every other element of rows of 6 is every other element: one axis of one-element rows.
    expect(rowCopies({ prim: 'slice', starts: [0, 0], steps: [1, 2] }, [[4, 6]], [4, 3], 4)?.copies).toEqual([
      { input: 0, src: 0, srcStride: 8, dst: 0, dstStride: 4, rowBytes: 4, rows: 12 },
    ]);
    expect(rowCopies({ prim: 'pad', lo: [0, 0], interior: [0, 1] }, [[2, 3]], [2, 5], 4)).toBeNull();
    expect(rowCopies({ prim: 'slice', starts: [0, 0, 0], steps: [1, 1, 1] }, [[3, 4, 5]], [2, 3, 4], 4)).toBeNull();
    expect(rowCopies({ prim: 'pad', lo: [-1, 0], interior: [0, 0] }, [[3, 2]], [2, 2], 4)).toBeNull();
    // A transpose keeping rows of 6 in place: one copy per index of the smaller outer axis.
    const moved = rowCopies({ prim: 'transpose', perm: [1, 0, 2] }, [[256, 5, 6]], [5, 256, 6], 4)?.copies;
    expect(moved).toEqual(Array.from({ length: 5 }, (_, j) => ({ input: 0, src: 24 * j, srcStride: 120, dst: 6144 * j, dstStride: 24, rowBytes: 24, rows: 256 })));
    expect(rowCopies({ prim: 'transpose', perm: [1, 0, 2] }, [[5, 256, 6]], [256, 5, 6], 8)?.copies).toEqual(
      Array.from({ length: 5 }, (_, j) => ({ input: 0, src: 12288 * j, srcStride: 48, dst: 48 * j, dstStride: 240, rowBytes: 48, rows: 256 })),
    );
    // [2, 3, 4, 5] -> [3, 2, 4, 5]: rows of 20 (the last two axes stay together), two copies of three rows.
    expect(rowCopies({ prim: 'transpose', perm: [1, 0, 2, 3] }, [[2, 3, 4, 5]], [3, 2, 4, 5], 4)?.copies).toEqual([
      { input: 0, src: 0, srcStride: 80, dst: 0, dstStride: 160, rowBytes: 80, rows: 3 },
      { input: 0, src: 240, srcStride: 80, dst: 80, dstStride: 160, rowBytes: 80, rows: 3 },
    ]);
    // Matrix transposes move single elements (transposeAsMatrices's); more than 64 copies: null.
    expect(rowCopies({ prim: 'transpose', perm: [1, 0] }, [[3, 4]], [4, 3], 4)).toBeNull();
    expect(rowCopies({ prim: 'transpose', perm: [0, 2, 1] }, [[2, 3, 4]], [2, 4, 3], 4)).toBeNull();
    expect(rowCopies({ prim: 'transpose', perm: [1, 0, 2] }, [[65, 65, 2]], [65, 65, 2], 4)).toBeNull();
  });

  it('random slices, pads and concatenations of float32, float64 and int32 equal eager mode bit for bit', () => {
    const shapeArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(
        shapeArb,
        fc.constantFrom('float32', 'float64', 'int32'),
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        (shape, dtype, seed, knobs) => {
          const axis = knobs[0] % shape.length;
          const make = (s: number, sh: number[]) => M.tensor(values(s, sh.reduce((a, b) => a * b, 1)).map((v) => (dtype === 'int32' ? (Number.isFinite(v) ? Math.round(v * 4) : 7) : v)), { shape: sh, dtype });
          const x = make(seed, shape);
          const other = shape.map((d, i) => (i === axis ? knobs[1] + 1 : d));
          const y = make(seed + 1, other);
          const specs = shape.map((d, i) => [i === axis ? Math.min(knobs[2], d - 1) : 0, d, i === shape.length - 1 && knobs[1] === 2 ? 2 : 1] as const);
          const f = (a: Tensor, b: Tensor) => {
            const joined = M.concat([a, b, a], axis);
            const padded = M.pad(joined, joined.shape.map((_, i) => [i === axis ? knobs[1] : 0, i === 0 ? knobs[2] : 0] as [number, number]));
            return [padded, M.slice(a, ...specs)];
          };
          const jitted = M.jit(f);
          const got = jitted(x, y);
          const expected = f(x, y);
          expect(got.map(bits), `${dtype} ${shape} axis ${axis} knobs ${knobs}`).toEqual(expected.map(bits));
          // A concatenation is always rows; in rank 2 so are the others, unless the slice steps by 2
          // along the last axis of a matrix of several rows.
          const plan = M.jitStats(jitted).lastPlan;
          expect(plan?.wasmSteps).toBeGreaterThanOrEqual(1);
          const stepsAlongRows = knobs[1] === 2 && shape[shape.length - 1] > 1 && shape.length === 2 && shape[0] - (axis === 0 ? specs[0][0] : 0) > 1;
          if (shape.length <= 2 && !stepsAlongRows) expect(plan?.wasmSteps).toBe(plan?.steps);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('transposes of CPU plans as matrix transposes', () => {
  it('transposeAsMatrices drops axes of one element, merges axes that stay neighbours, and refuses other permutations', () => {
    expect(transposeAsMatrices([32, 5], [1, 0])).toEqual({ batch: 1, rows: 32, cols: 5 });
    expect(transposeAsMatrices([32, 5, 1], [1, 0, 2])).toEqual({ batch: 1, rows: 32, cols: 5 });
    expect(transposeAsMatrices([1, 32, 1, 5], [3, 2, 0, 1])).toEqual({ batch: 1, rows: 32, cols: 5 });
    expect(transposeAsMatrices([2, 3, 4], [2, 0, 1])).toEqual({ batch: 1, rows: 6, cols: 4 });
    expect(transposeAsMatrices([2, 3, 4], [1, 2, 0])).toEqual({ batch: 1, rows: 2, cols: 12 });
    expect(transposeAsMatrices([4, 2, 3, 5], [0, 3, 1, 2])).toEqual({ batch: 4, rows: 6, cols: 5 });
    expect(transposeAsMatrices([7, 1, 3], [1, 0, 2])).toEqual({ batch: 1, rows: 1, cols: 21 });
    expect(transposeAsMatrices([], [])).toEqual({ batch: 1, rows: 1, cols: 1 });
    expect(transposeAsMatrices([3, 0], [1, 0])).toEqual({ batch: 1, rows: 3, cols: 0 });
    expect(transposeAsMatrices([2, 3, 4], [1, 0, 2])).toBeNull();
    expect(transposeAsMatrices([2, 3, 4], [2, 1, 0])).toBeNull();
    expect(transposeAsMatrices([2, 3, 4, 5], [1, 0, 3, 2])).toBeNull();
  });

  it('random transposes of float32, int32 and float64 equal eager mode bit for bit; those that collapse to matrices, and those that keep rows, run in WebAssembly', () => {
    const shapeAndPerm = fc
      .array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 })
      .chain((shape) => fc.tuple(fc.constant(shape), fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length })));
    fc.assert(
      fc.property(shapeAndPerm, fc.constantFrom('float32', 'int32', 'float64'), fc.integer({ min: 0, max: 1000 }), ([shape, perm], dtype, seed) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = M.tensor(values(seed, n).map((v) => (dtype === 'int32' ? (Number.isFinite(v) ? Math.round(v * 4) : 7) : v)), { shape, dtype });
        // The transpose feeds a loop, as inside a SAC update (not returned).
        const f = (a: Tensor) => M.add(M.transpose(a, perm), 1);
        const jitted = M.jit(f);
        const { plans } = M.profileCpu(() => expect(bits(jitted(x)), `${dtype} ${shape} perm ${perm}`).toEqual(bits(f(x))));
        // Where the plan still transposes (the optimizer drops a transpose that moves nothing).
        const where = plans[0].steps.filter(({ step }) => step.startsWith('transpose')).map(({ step }) => step.split(' ').pop());
        const outShape = perm.map((d) => shape[d]);
        const asRows = rowCopies({ prim: 'transpose', perm }, [shape], outShape, dtype === 'float64' ? 8 : 4) !== null;
        const inWasm = transposeAsMatrices(shape, perm) !== null || asRows;
        expect(where.length, `${dtype} ${shape} perm ${perm}`).toBeLessThanOrEqual(1);
        if (where.length === 1) expect(where[0], `${dtype} ${shape} perm ${perm}`).toBe(inWasm ? 'wasm' : 'js');
      }),
      { numRuns: 120 },
    );
  });
});

describe('gathers along an axis in CPU plans', () => {
  it('gatherAlongAxis views x as [outer, n, inner] and the indices as [outer, count, inner] or one per row, refusing other broadcast operands', () => {
    const along = (outer: number, n: number, count: number, inner: number, indexPerRow = false) => ({ outer, n, count, inner, indexPerRow });
    expect(gatherAlongAxis([32, 5, 1], [32, 1, 1], 1, [32, 1, 1])).toEqual(along(32, 5, 1, 1));
    expect(gatherAlongAxis([4, 3, 6], [4, 2, 6], 1, [4, 2, 6])).toEqual(along(4, 3, 2, 6));
    expect(gatherAlongAxis([7, 2], [7, 9], 1, [7, 9])).toEqual(along(7, 2, 9, 1));
    expect(gatherAlongAxis([5, 3], [2, 3], 0, [2, 3])).toEqual(along(1, 5, 2, 3));
    expect(gatherAlongAxis([256, 5, 6], [256, 1, 1], 1, [256, 1, 6])).toEqual(along(256, 5, 1, 6, true));
    expect(gatherAlongAxis([5, 3, 2], [2, 1, 1], 0, [2, 3, 2])).toEqual(along(1, 5, 2, 6, true));
    expect(gatherAlongAxis([1, 5], [32, 1], 1, [32, 1])).toBeNull();
    expect(gatherAlongAxis([3, 1, 5], [1, 4, 1], 2, [3, 4, 1])).toBeNull();
    // Indices broadcast along some of the axes after `axis` only, or along one before it.
    expect(gatherAlongAxis([4, 3, 6, 2], [4, 2, 1, 2], 1, [4, 2, 6, 2])).toBeNull();
    expect(gatherAlongAxis([4, 3, 6], [1, 2, 1], 1, [4, 2, 6])).toBeNull();
  });

  it('random gathers of float32, int32 and float64 (one index per element or per row) equal eager mode bit for bit, and report an index out of range as the JS kernel does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('float32', 'int32', 'float64'),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        fc.boolean(),
        (xShape, axisPick, count, dtype, seed, outOfRange, perRow) => {
          const axis = axisPick % xShape.length;
          const n = xShape[axis];
          // One index per row (broadcast along the axes after `axis`), or one per element.
          const idxShape = xShape.map((d, a) => (a === axis ? count : perRow && a > axis ? 1 : d));
          const outShape = xShape.map((d, a) => (a === axis ? count : d));
          const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
          const x = M.tensor(values(seed, size(xShape)).map((v) => (dtype === 'int32' ? (Number.isFinite(v) ? Math.round(v * 4) : 7) : v)), { shape: xShape, dtype });
          const indices = Int32Array.from({ length: size(idxShape) }, (_, i) => (i * 7 + seed) % n);
          if (outOfRange) indices[seed % indices.length] = seed % 2 === 0 ? n : -1 - (seed % 3);
          const idx = M.tensor(indices, { shape: idxShape, dtype: 'int32' });
          // The gather as a plan runs it (no shift of negative indices), feeding a loop.
          const f = (a: Tensor, i: Tensor) => M.mul(M.bind('gather', [a, i], { axis }), 2);
          const jitted = M.jit(f);
          const what = `${dtype} x ${xShape} idx ${idxShape} axis ${axis}: ${indices}`;
          if (outOfRange) {
            let expected = '';
            try {
              prepareGather(xShape, idxShape, axis, outShape)(x.dataSync(), indices, new Float64Array(size(outShape)));
            } catch (e) {
              expected = (e as Error).message;
            }
            expect(expected, what).toMatch(/^gather: index -?\d+ is out of range/);
            expect(() => jitted(x, idx), what).toThrow(expected);
            // The plan stays usable.
            const fine = M.tensor(indices.map((i) => ((i % n) + n) % n), { shape: idxShape, dtype: 'int32' });
            expect(bits(jitted(x, fine)), what).toEqual(bits(f(x, fine)));
            return;
          }
          const { plans } = M.profileCpu(() => expect(bits(jitted(x, idx)), what).toEqual(bits(f(x, idx))));
          const where = plans[0].steps.filter(({ step }) => step.startsWith('gather')).map(({ step }) => step.split(' ').pop());
          expect(where, what).toEqual([dtype === 'float64' ? 'js' : 'wasm']);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('threefry hashes of CPU plans', () => {
  it('equal the JS hash bit for bit for any count of counters (four at a time, the rest one by one, odd counts paired with 0) and batched keys', () => {
    for (const n of [1, 2, 3, 7, 8, 9, 15, 16, 17, 100, 1001]) {
      const bitsOf = (k: Tensor) => [M.random.randomBits(k, [n])];
      const key = M.random.key(n * 7919);
      const jitted = M.jit(bitsOf);
      expect(Array.from(jitted(key)[0].dataSync()), `n ${n}`).toEqual(Array.from(bitsOf(key)[0].dataSync()));
      expect(M.jitStats(jitted).lastPlan?.wasmSteps, `n ${n}`).toBeGreaterThanOrEqual(1);
      // Three keys, one row of counters each.
      const keys = M.stack([0, 1, 2].map((i) => M.random.key(n + i)));
      const batched = (k: Tensor) => M.vmap((one: Tensor) => M.random.randomBits(one, [n]))(k);
      expect(Array.from(M.jit(batched)(keys).dataSync()), `batched, n ${n}`).toEqual(Array.from(batched(keys).dataSync()));
    }
  });
});

describe('float32 uniforms of CPU plans', () => {
  it('equal the JS kernel bit for bit (the extreme words included) and run in WebAssembly, for any count', () => {
    const extremes = [0, 1, 0x1ff, 0x200, 0x3ff, 0x7fffffff, 0x80000000, 0x800001ff, 0xfffffe00, 0xffffffff];
    for (const n of [1, 3, 4, 10, 17, 1001]) {
      const words = Uint32Array.from({ length: n }, (_, i) => (i < extremes.length ? extremes[i] : Math.imul(i + 1, 0x9e3779b9) >>> 0));
      const bitsTensor = M.tensor(words, { shape: [n], dtype: 'uint32' });
      // As a SAC update draws noise: uniforms read by a loop.
      const uniforms = (b: Tensor) => M.mul(M.bind('uniformFromBits', [b], { dtype: 'float32' }), 2);
      const jitted = M.jit(uniforms);
      const { plans } = M.profileCpu(() => expect(bits(jitted(bitsTensor)), `n ${n}`).toEqual(bits(uniforms(bitsTensor))));
      expect(plans[0].steps.map(({ step }) => step).filter((step) => step.startsWith('uniformFromBits')), `n ${n}`).toEqual([`uniformFromBits [${n}] → [${n}] wasm`]);
    }
  });
});

describe('outer products of CPU plans', () => {
  it('fuse into the loop that reads them as broadcast products, bit for bit (a -0 product comes out +0, as from the kernel)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      // g · wᵀ with w stored as a column (a critic's output layer), masked as a ReLU's gradient; and a batched one.
      const g = M.tensor([-1, 2, 0, -3, 0.5, NaN], { shape: [6, 1], dtype });
      const w = M.tensor([0, 1.5, -2, Infinity, -0], { shape: [5, 1], dtype });
      const h = M.tensor(values(31, 30), { shape: [6, 5], dtype });
      const f = (x: Tensor, y: Tensor, z: Tensor) => M.where(M.greater(z, 0), M.matmul(x, M.transpose(y)), 0);
      const stats = expectIdentical(f, [g, w, h], `${dtype} masked outer product`);
      expect(stats.lastPlan?.steps, dtype).toBe(1);
      const product = (x: Tensor, y: Tensor) => M.matmul(x, y);
      const a = M.tensor(values(32, 2 * 4), { shape: [2, 4, 1], dtype });
      const b = M.tensor(values(33, 3), { shape: [1, 3], dtype });
      expectIdentical(product, [a, b], `${dtype} batched outer product`);
      // The product kernel's +0 for a -0 product: -1 · 0 is -0 alone, +0 from the matmul.
      expect(Object.is(M.jit(product)(M.tensor([-1], { shape: [1, 1], dtype }), M.tensor([0], { shape: [1, 1], dtype })).dataSync()[0], 0)).toBe(true);
    }
  });
});

describe('sums over axes of one element in CPU plans', () => {
  it('fuse into the loop that reads them as x + 0, bit for bit (-0 comes out +0, as from the sum kernel), in every summed dtype', () => {
    for (const dtype of ['float32', 'float64', 'int32', 'uint32'] as const) {
      const raw = [-0, 2, 0, -3, 0.5, NaN, Infinity, -7, 1e-40, 3];
      const data = dtype === 'int32' ? raw.map((v) => (Number.isFinite(v) ? Math.trunc(v) : 5)) : dtype === 'uint32' ? raw.map((_, i) => 4294967295 - i) : raw;
      const x = M.tensor(data, { shape: [2, 1, 5, 1], dtype });
      const scale = M.tensor([1, 2, 3, 4, 5], { shape: [5], dtype });
      // A sum over the two axes of one element, then a loop reading it.
      const f = (a: Tensor, b: Tensor) => M.mul(M.sum(a, [1, 3]), b);
      const stats = expectIdentical(f, [x, scale], `${dtype} sum over [1, 3] of [2, 1, 5, 1]`);
      expect(stats.lastPlan?.steps, dtype).toBe(1);
      // The sum alone, -0 included (the plan's loop must give the kernel's +0).
      const sum = (a: Tensor) => M.sum(a, [1, 3]);
      expectIdentical(sum, [x], `${dtype} sum alone`);
      if (dtype.startsWith('float')) expect(Object.is(M.jit(sum)(x).dataSync()[0], 0), dtype).toBe(true);
    }
  });
});

describe('comparisons shared by several loops in CPU plans', () => {
  it('are computed again in each loop, so no bool mask is stored and every loop runs in WebAssembly (a ReLU layer and its gradient)', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = M.tensor(values(41, 8 * 6), { shape: [8, 6], dtype });
      const w = M.tensor(values(42, 6 * 5), { shape: [6, 5], dtype });
      const c = M.tensor(values(43, 8 * 5), { shape: [8, 5], dtype });
      // relu's mask x @ w <= 0 is read by the forward select and by the gradient's.
      const loss = (a: Tensor, b: Tensor) => M.sum(M.mul(M.relu(M.matmul(a, b)), c));
      const f = (a: Tensor, b: Tensor) => {
        const [value, g] = M.valueAndGrad(loss, { argnums: 1 })(a, b) as [Tensor, Tensor];
        return M.add(g, value);
      };
      const stats = expectIdentical(f, [x, w], `${dtype} gradient through a ReLU layer`);
      const plan = stats.lastPlan as { steps: number; wasmSteps: number };
      expect(plan.wasmSteps, dtype).toBe(plan.steps);
    }
  });
});
