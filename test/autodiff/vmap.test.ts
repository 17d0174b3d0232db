/**
 * vmap: `vmap(f)(xs)` must equal stacking `f(x_i)` for every row, where the expected side is plain
 * eager evaluation of f on each row and `stack` (no vmap involved). Checked on random programs (the
 * autodiff suite's generator) with random inAxes/outAxes, on every primitive directly with every
 * combination of batched and unbatched inputs at random batch axes, under grad/jvp/jit in both
 * orders and nested; random bits per key; and the errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Primitive, Tensor } from '../../src';
import { expectTreesClose } from '../jit/helpers';
import { randn, Rng, runs } from './helpers';
import { buildProgram } from './programs';
import { another, caseFor, u32T } from './vmap-cases';

const TOL = 1e-12;

/** Row i of x along axis (the slice with that axis removed). */
function row(x: Tensor, axis: number, i: number): Tensor {
  const starts = x.shape.map((_, a) => (a === axis ? i : 0));
  const stops = x.shape.map((d, a) => (a === axis ? i + 1 : d));
  const sliced = M.bind('slice', [x], { starts, stops, steps: x.shape.map(() => 1) });
  return M.reshape(sliced, x.shape.filter((_, a) => a !== axis));
}

/** Rows of `shape` that differ from `base` by a small perturbation growing with the row index. */
function perturbedRows(base: Tensor, n: number, rng: Rng): Tensor[] {
  return Array.from({ length: n }, (_, i) =>
    i === 0 ? base : M.add(base, M.mul(randn(rng, base.shape), 0.05 * i)),
  );
}

/** The stacked expectation: f applied row by row in eager mode, stacked along `outAxis`. */
function stackRows(rows: Tensor[], outAxis: number): Tensor {
  return M.stack(rows, outAxis);
}

describe('vmap on random programs (cpu, float64)', () => {
  it('vmap(f, {inAxes, outAxes})(xs) equals stacking f(x_i)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 8 }), (seed, nSteps) => {
        const program = buildProgram(seed, nSteps, M.cpu);
        const rng = new Rng(seed ^ 0x2545f491);
        const batch = rng.int(1, 3);
        // Each input: mapped at a random axis (negative sometimes) or shared (null).
        const specs = program.inputs.map((x, i) => {
          if (i > 0 && rng.bool(0.3)) return null;
          const axis = rng.int(0, x.ndim);
          return rng.bool(0.3) ? axis - (x.ndim + 1) : axis;
        });
        const rowsOf = program.inputs.map((x, i) => (specs[i] === null ? null : perturbedRows(x, batch, rng)));
        const stacked = program.inputs.map((x, i) => {
          const rows = rowsOf[i];
          const spec = specs[i];
          return rows === null || spec === null ? x : M.stack(rows, spec < 0 ? spec + x.ndim + 1 : spec);
        });
        const perRow = Array.from({ length: batch }, (_, b) => program.f(...program.inputs.map((x, i) => rowsOf[i]?.[b] ?? x)));
        const outRank = perRow[0].ndim;
        const outAxis = rng.int(0, outRank);
        const listing = `seed ${seed}, batch ${batch}, inAxes ${JSON.stringify(specs)}, outAxes ${outAxis}:\n  ${program.listing.join('\n  ')}`;
        const actual = M.vmap(program.f, { inAxes: specs, outAxes: outAxis })(...stacked);
        expectTreesClose(actual, stackRows(perRow, outAxis), TOL, listing);
      }),
      { numRuns: runs(300) },
    );
  });

  it('jit(vmap(f)) and vmap(jit(f)) equal stacking f(x_i)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, nSteps) => {
        const program = buildProgram(seed, nSteps, M.cpu);
        const rng = new Rng(seed ^ 0x68e31da4);
        const batch = rng.int(1, 3);
        const rows = program.inputs.map((x) => perturbedRows(x, batch, rng));
        const stacked = rows.map((r) => M.stack(r, 0));
        const expected = M.stack(
          Array.from({ length: batch }, (_, b) => program.f(...rows.map((r) => r[b]))),
          0,
        );
        const listing = `seed ${seed}, batch ${batch}:\n  ${program.listing.join('\n  ')}`;
        const jv = M.jit(M.vmap(program.f));
        expectTreesClose(jv(...stacked), expected, TOL, `jit(vmap) ${listing}`);
        expectTreesClose(jv(...stacked), expected, TOL, `jit(vmap) replayed ${listing}`);
        const jf = M.jit(program.f);
        expectTreesClose(M.vmap(jf)(...stacked), expected, TOL, `vmap(jit) ${listing}`);
        // jit inside vmap sees per-example shapes: one trace, reused by the next call.
        expectTreesClose(M.vmap(jf)(...stacked), expected, TOL, `vmap(jit) again ${listing}`);
        expect(M.jitStats(jf).traceCount, listing).toBe(1);
        expect(M.jitStats(jv).traceCount, listing).toBe(1);
      }),
      { numRuns: runs(150) },
    );
  });

  it('vmap(grad(f)) equals per-row gradients; grad of a vmapped sum equals their sum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, nSteps) => {
        const program = buildProgram(seed, nSteps, M.cpu);
        const rng = new Rng(seed ^ 0x1b873593);
        const batch = rng.int(1, 3);
        const rows = program.inputs.map((x) => perturbedRows(x, batch, rng));
        const stacked = rows.map((r) => M.stack(r, 0));
        const loss = (...xs: Tensor[]) => M.sum(M.square(program.f(...xs)));
        const argnums = program.inputs.map((_, i) => i);
        const g = M.grad(loss, { argnums });
        const perRow = Array.from({ length: batch }, (_, b) => g(...rows.map((r) => r[b])) as Tensor[]);
        const expected = program.inputs.map((_, i) => M.stack(perRow.map((p) => p[i]), 0));
        const listing = `seed ${seed}, batch ${batch}:\n  ${program.listing.join('\n  ')}`;
        expectTreesClose(M.vmap(g)(...stacked), expected, TOL, `vmap(grad) ${listing}`);
        // grad(sum_b loss(x_b)) with respect to the stacked inputs is the stacked per-row gradient.
        const total = (...xs: Tensor[]) => M.sum(M.vmap(loss)(...xs));
        expectTreesClose(M.grad(total, { argnums })(...stacked), expected, TOL, `grad(vmap) ${listing}`);
        // jit of vmap of grad: one compiled per-example-gradient program.
        expectTreesClose(M.jit(M.vmap(g))(...stacked), expected, TOL, `jit(vmap(grad)) ${listing}`);
      }),
      { numRuns: runs(150) },
    );
  });

  it('nested vmap equals a double loop; vmap(jvp) equals per-row jvp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, nSteps) => {
        const program = buildProgram(seed, nSteps, M.cpu);
        const rng = new Rng(seed ^ 0x7feb352d);
        const [b1, b2] = [rng.int(1, 3), rng.int(1, 3)];
        const rows = program.inputs.map((x) => perturbedRows(x, b1 * b2, rng));
        const listing = `seed ${seed}, batch ${b1}x${b2}:\n  ${program.listing.join('\n  ')}`;
        // Inner axis 1 of the [b1, b2, ...] stack is mapped by the outer vmap, axis 0 by the inner.
        const grid = rows.map((r) => M.stack(Array.from({ length: b1 }, (_, i) => M.stack(r.slice(i * b2, (i + 1) * b2), 0)), 0));
        const expected = M.stack(
          Array.from({ length: b2 }, (_, j) => M.stack(Array.from({ length: b1 }, (_, i) => program.f(...rows.map((r) => r[i * b2 + j]))), 0)),
          0,
        );
        const nested = M.vmap(M.vmap(program.f), { inAxes: 1 });
        expectTreesClose(nested(...grid), expected, TOL, `vmap(vmap) ${listing}`);

        const tangents = program.inputs.map((x) => randn(rng, x.shape));
        const pushed = (...xs: Tensor[]) => M.jvp(program.f, xs, tangents)[1];
        const perRow = M.stack(Array.from({ length: b1 }, (_, b) => pushed(...rows.map((r) => r[b]))), 0);
        const stacked = rows.map((r) => M.stack(r.slice(0, b1), 0));
        expectTreesClose(M.vmap(pushed)(...stacked), perRow, TOL, `vmap(jvp) ${listing}`);
      }),
      { numRuns: runs(100) },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Every primitive, directly: each input batched (at a random axis) or shared.
// ---------------------------------------------------------------------------------------------

const ALL_PRIMITIVES = Object.keys(M.ARITY) as Primitive[];

describe('vmap of every primitive (cpu)', () => {
  it('the batching rule table covers every primitive', () => {
    for (const p of ALL_PRIMITIVES) expect(M.batchRules[p], `no batching rule for ${p}`).toBeTypeOf('function');
  });

  it.each(ALL_PRIMITIVES)('%s: batched at random axes equals the rows stacked', (prim) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const rng = new Rng(seed);
        const { inputs, params } = caseFor(prim, rng);
        const batch = rng.int(1, 3);
        // At least one input batched; each batched input at a random axis of its stack.
        const batched = inputs.map(() => rng.bool(0.6));
        batched[rng.int(0, inputs.length - 1)] = true;
        const rows = inputs.map((x, i) => (batched[i] ? Array.from({ length: batch }, (_, b) => (b === 0 ? x : another(x, rng))) : null));
        const axes = inputs.map((x, i) => (batched[i] ? rng.int(0, x.ndim) : null));
        const stacked = inputs.map((x, i) => (rows[i] ? M.stack(rows[i] as Tensor[], axes[i] as number) : x));
        const expected = M.stack(
          Array.from({ length: batch }, (_, b) => M.evaluate(prim, inputs.map((x, i) => (rows[i]?.[b] ?? x) as M.ArrayTensor), params)),
          0,
        );
        const f = (...xs: Tensor[]) => M.bind(prim, xs, params);
        const label = `${prim} seed ${seed} batch ${batch} axes ${JSON.stringify(axes)} shapes ${JSON.stringify(inputs.map((x) => x.shape))} params ${JSON.stringify(params)}`;
        const actual = M.vmap(f, { inAxes: axes })(...stacked) as Tensor;
        expect(actual.shape, label).toEqual(expected.shape);
        expect(actual.dtype, label).toBe(expected.dtype);
        expect(Array.from(actual.dataSync()), label).toEqual(Array.from(expected.dataSync()));
      }),
      { numRuns: runs(40) },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('vmap axes', () => {
  const x = M.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const y = M.tensor([10, 20, 30]);

  it('inAxes per argument, null broadcasts, negative axes count from the end', () => {
    // Map over the columns of x (axis 1 = -1) with y shared: out[j] = sum_i x[i, j] * y
    const f = (col: Tensor, v: Tensor) => M.mul(M.sum(col), v);
    const out = M.vmap(f, { inAxes: [-1, null] })(x, y);
    expect(out.toArraySync()).toEqual([
      [50, 100, 150],
      [70, 140, 210],
      [90, 180, 270],
    ]);
  });

  it('outAxes puts the batch axis where asked, for each output of a pytree (prefix)', () => {
    const f = (r: Tensor) => ({ a: M.mul(r, 2), b: [M.sum(r), M.stack([r, r], 0)] });
    const out = M.vmap(f, { outAxes: { a: 1, b: [0, -1] } })(x);
    expect(out.a.toArraySync()).toEqual([
      [2, 8],
      [4, 10],
      [6, 12],
    ]);
    expect(out.b[0].toArraySync()).toEqual([6, 15]);
    expect(out.b[1].shape).toEqual([2, 3, 2]);
    expect(out.b[1].toArraySync()).toEqual([
      [
        [1, 4],
        [2, 5],
        [3, 6],
      ],
      [
        [1, 4],
        [2, 5],
        [3, 6],
      ],
    ]);
  });

  it('inAxes as a pytree prefix of an argument; an unbatched output is broadcast', () => {
    const params = { w: x, b: y };
    const f = (p: { w: Tensor; b: Tensor }) => ({ s: M.add(M.sum(p.w), M.sum(p.b)), c: M.tensor(7) });
    const out = M.vmap(f, { inAxes: [{ w: 0, b: null }] })(params);
    expect(out.s.toArraySync()).toEqual([66, 75]);
    expect(out.c.toArraySync()).toEqual([7, 7]);
  });

  it('outAxes null returns an unbatched output as is; axisSize maps with no mapped argument', () => {
    const out = M.vmap((r: Tensor) => [M.sum(r), y], { outAxes: [0, null] })(x);
    expect(out[1]).toBe(y);
    expect(M.vmap(() => M.tensor(1), { axisSize: 3 })().toArraySync()).toEqual([1, 1, 1]);
  });

  it('a batched matmul is one matmul on the whole batch, not a loop', () => {
    const w = M.zeros([4, 3, 5]);
    const v = M.zeros([4, 5, 2]);
    const ir = M.makeIR(M.vmap((a: Tensor, b: Tensor) => M.matmul(a, b)))(w, v);
    const matmuls = ir.equations.filter((e) => e.prim === 'matmul');
    expect(matmuls.length).toBe(1);
    expect(matmuls[0].out.aval.shape).toEqual([4, 3, 2]);
    expect(ir.equations.length).toBe(1);
    // A batch of inputs times a shared matrix folds the batch into the rows of one 2-D product.
    const shared = M.makeIR(M.vmap((a: Tensor) => M.matmul(a, M.ones([5, 2])), { inAxes: 0 }))(w);
    const mm = shared.equations.filter((e) => e.prim === 'matmul');
    expect(mm.map((e) => e.inputs[0].aval.shape)).toEqual([[12, 5]]);
  });
});

describe('vmap over PRNG keys', () => {
  const keys = (n: number, seed: number) => M.stack(Array.from({ length: n }, (_, i) => M.random.foldIn(M.random.key(seed), i)), 0);
  const ops: Record<string, (k: Tensor) => Tensor> = {
    split: (k) => M.stack(M.random.split(k, 3), 0),
    foldIn: (k) => M.random.foldIn(k, 12345),
    randomBits: (k) => M.random.randomBits(k, [2, 3]),
    randomBitsOdd: (k) => M.random.randomBits(k, [5]),
    uniform32: (k) => M.random.uniform(k, [3, 3]),
    uniform64: (k) => M.random.uniform(k, [7], { dtype: 'float64' }),
    normal64: (k) => M.random.normal(k, [2, 2], 'float64'),
  };

  it.each(Object.keys(ops))('%s: each row has exactly the bits of the call with that key', (name) => {
    const op = ops[name];
    const ks = keys(5, 42);
    const expected = M.stack(Array.from({ length: 5 }, (_, i) => op(row(ks, 0, i))), 0);
    const actual = M.vmap(op)(ks) as Tensor;
    expect(actual.shape).toEqual(expected.shape);
    expect(Array.from(actual.dataSync())).toEqual(Array.from(expected.dataSync()));
    // Also jitted, and with the keys along axis 1.
    expect(Array.from((M.jit(M.vmap(op))(ks) as Tensor).dataSync())).toEqual(Array.from(expected.dataSync()));
    expect(Array.from((M.vmap(op, { inAxes: 1 })(M.transpose(ks)) as Tensor).dataSync())).toEqual(Array.from(expected.dataSync()));
  });

  it('nested vmap over a [3, 4] grid of keys, and a shared key with batched counts', () => {
    const ks = M.reshape(keys(12, 7), [3, 4, 2]);
    const op = (k: Tensor) => M.random.uniform(k, [5]);
    const out = M.vmap(M.vmap(op))(ks) as Tensor;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        expect(Array.from(row(row(out, 0, i), 0, j).dataSync())).toEqual(Array.from(op(row(row(ks, 0, i), 0, j)).dataSync()));
      }
    }
    const k = M.random.key(3);
    const counts = u32T(new Rng(9), [4, 5]);
    const hashed = M.vmap((c: Tensor) => M.bind('threefry', [k, c], {}))(counts) as Tensor;
    for (let i = 0; i < 4; i++) {
      expect(Array.from(row(hashed, 0, i).dataSync())).toEqual(Array.from(M.bind('threefry', [k, row(counts, 0, i)], {}).dataSync()));
    }
  });

  it('differently keyed rows differ (the batch of keys is used, not the first key)', () => {
    const out = M.vmap((k: Tensor) => M.random.uniform(k, [4]))(keys(3, 0)) as Tensor;
    const [a, b] = [row(out, 0, 0).dataSync(), row(out, 0, 1).dataSync()];
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});

describe('vmap errors', () => {
  const x = M.zeros([3, 4]);
  it('names the arguments and shapes when batch sizes differ', () => {
    expect(() => M.vmap((a: Tensor, b: Tensor) => M.add(a, b))(x, M.zeros([5, 4]))).toThrow(
      /different sizes: argument 0 f32\[3,4\] has size 3 along axis 0, but argument 1 f32\[5,4\] has size 5 along axis 0/,
    );
    expect(() => M.vmap((p: { w: Tensor; b: Tensor }) => p.w, { inAxes: [{ w: 1, b: 0 }] })({ w: x, b: x })).toThrow(
      /argument 0 at \.b f32\[3,4\] has size 3 along axis 0, but argument 0 at \.w f32\[3,4\] has size 4 along axis 1|argument 0 at \.w .* size 4 along axis 1/,
    );
  });

  it('names the argument when an axis is out of range or a spec does not fit', () => {
    expect(() => M.vmap((a: Tensor) => a, { inAxes: [2] })(x)).toThrow(/inAxes 2 for argument 0 f32\[3,4\] is out of range/);
    expect(() => M.vmap((a: Tensor) => a, { inAxes: [-3] })(x)).toThrow(/inAxes -3 for argument 0/);
    expect(() => M.vmap((a: Tensor) => a)(M.tensor(1))).toThrow(
      'vmap: inAxes 0 for argument 0 f32[]: a scalar has no axis to map over; give it inAxes null to pass it to every example',
    );
    expect(() => M.vmap((a: Tensor) => a, { outAxes: 2 })(x)).toThrow(/outAxes 2 for the output f32\[4\] is out of range/);
    expect(() => M.vmap((a: Tensor, b: Tensor) => a, { inAxes: [0] })(x, x)).toThrow(/inAxes has 1 entries but .* 2 argument/);
    expect(() => M.vmap((a: Tensor[]) => a[0], { inAxes: [[0, 0]] })([x])).toThrow(/inAxes of argument 0 at \(root\) is an array of 2 specs/);
    expect(() => M.vmap((n: number) => M.tensor(n))(3 as never)).toThrow(/argument 0 is number, not a tensor/);
    expect(() => M.vmap((a: Tensor) => a, { inAxes: null })(x)).toThrow(/no argument is mapped/);
    expect(() => M.vmap((a: Tensor) => a, { outAxes: null })(x)).toThrow(/outAxes is null for the output, but it varies over the batch/);
  });

  it('reports shape errors with the per-example shapes', () => {
    expect(() => M.vmap((a: Tensor) => M.matmul(a, M.zeros([3, 2])))(x)).toThrow(/contracting sizes differ: f32\[1,4\] @ f32\[3,2\]/);
    expect(() => M.vmap((a: Tensor) => M.add(a, M.zeros([5])))(x)).toThrow(/\[4\].*\[5\]|\[5\].*\[4\]/);
  });

  it('refuses to read a batched value, and a batched value that escaped', () => {
    expect(() => M.vmap((a: Tensor) => M.tensor(a.dataSync()))(x)).toThrow(M.ConcretizationError);
    let leaked: Tensor | undefined;
    M.vmap((a: Tensor) => {
      leaked = a;
      return a;
    })(x);
    expect(() => M.add(leaked as Tensor, 1)).toThrow(/used after vmap returned/);
  });
});

describe('vmap and customVjp', () => {
  // Straight-through rounding scaled by 10 in the backward: a correct gradient proves the custom
  // backward ran (the forward's own derivative is 0).
  const roundST = M.customVjp({
    forward: (x: Tensor, s: Tensor) => [M.mul(M.round(x), s), s] as [Tensor, Tensor],
    backward: (s: Tensor, ct: Tensor) => [M.mul(M.mul(ct, s), 10), M.neg(ct)],
  });
  const rng = new Rng(3);
  const xs = randn(rng, [4, 3]);
  const s = randn(rng, [3]);
  const w = randn(rng, [4, 3]);

  it('vmap of a custom function computes its forward per row', () => {
    const out = M.vmap(roundST, { inAxes: [0, null] })(xs, s) as Tensor;
    expectTreesClose(out, M.mul(M.round(xs), s), 0);
  });

  it('grad(vmap(f)) and vmap(grad(f)) use the custom backward; a shared argument gets the summed cotangent', () => {
    const loss = (x: Tensor, scale: Tensor) => M.sum(M.mul(M.vmap(roundST, { inAxes: [0, null] })(x, scale) as Tensor, w));
    const [gx, gs] = M.grad(loss, { argnums: [0, 1] })(xs, s) as [Tensor, Tensor];
    // d/dx: 10 * w * s per row; d/ds: the backward's -ct per row, summed over the rows.
    expectTreesClose(gx, M.mul(M.mul(w, s), 10), TOL);
    expectTreesClose(gs, M.neg(M.sum(w, 0)), TOL);
    const perRow = M.vmap(M.grad((x: Tensor, wr: Tensor) => M.sum(M.mul(roundST(x, s), wr))))(xs, w) as Tensor;
    expectTreesClose(perRow, M.mul(M.mul(w, s), 10), TOL);
    // The batch axis of x elsewhere than 0.
    const lossT = (xt: Tensor) => M.sum(M.mul(M.vmap(roundST, { inAxes: [1, null] })(xt, s) as Tensor, w));
    expectTreesClose(M.grad(lossT)(M.transpose(xs)), M.transpose(M.mul(M.mul(w, s), 10)), TOL);
  });

  it('residuals that are not tensors (a number, a string in an object) pass through vmap unbatched', () => {
    // x^p with the power p kept as a JS number among the residuals; d/dx sum(x^3) = 3 x^2.
    const powc = M.customVjp({
      forward: (x: Tensor, p: number) => [M.pow(x, p), { x, p, note: 'power' }] as [Tensor, { x: Tensor; p: number; note: string }],
      backward: ({ x, p, note }: { x: Tensor; p: number; note: string }, ct: Tensor) => {
        expect(note).toBe('power');
        return [M.mul(ct, M.mul(M.pow(x, p - 1), p)), null];
      },
    });
    const x = M.tensor(Float64Array.from([1, 2, 3, 4]), { shape: [2, 2] });
    expectTreesClose(M.vmap((r: Tensor) => powc(r, 3))(x) as Tensor, M.tensor(Float64Array.from([1, 8, 27, 64]), { shape: [2, 2] }), 0);
    const threeXSquared = M.tensor(Float64Array.from([3, 12, 27, 48]), { shape: [2, 2] });
    expectTreesClose(M.grad((v: Tensor) => M.sum(M.vmap((r: Tensor) => powc(r, 3))(v) as Tensor))(x), threeXSquared, 0);
    expectTreesClose(M.vmap(M.grad((r: Tensor) => M.sum(powc(r, 3))))(x) as Tensor, threeXSquared, 0);
  });
});
