/**
 * The passes one by one: what optimization removes, what fusion groups, how buffers are reused, and
 * that fused loops store intermediates as eager mode does (float32 rounding, integer wrap-around).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { fuseElementwise } from '../../src/autodiff/jit/fuse';
import { runs } from '../autodiff/helpers';
import { buildProgram } from '../autodiff/programs';
import { expectTreesIdentical } from './helpers';

const f64 = (values: number[], shape = [values.length]) => M.tensor(Float64Array.from(values), { shape });

describe('jit optimizations', () => {
  it('merges common subexpressions and small constants, and drops dead code', () => {
    const f = (x: Tensor) => {
      M.sin(x); // dead
      const a = M.add(M.tanh(x), 1);
      const b = M.add(M.tanh(x), 1); // same as a (a new constant 1 is merged by value)
      return M.mul(a, b);
    };
    const c = f64([1, 2, 3]);
    const [optimized, stats] = optimizeProgram(M.makeIR(f)(c));
    expect(stats.merged).toBe(2);
    expect(stats.dead).toBe(1);
    expect(optimized.equations.map((eq) => eq.prim)).toEqual(['tanh', 'add', 'mul']);
    expect(optimized.constants).toHaveLength(1);
    const x = f64([0.5, -1, 2]);
    expectTreesIdentical(M.jit(f)(x), f(x));
  });

  it('folds equations whose inputs are all constants', () => {
    // makeIR evaluates values computed from constants alone while tracing, so a hand-built program.
    const traced = M.makeIR((x: Tensor) => M.add(x, x))(f64([0]));
    const x = traced.inputs[0];
    const [c, t, out] = [100, 101, 102].map((id) => ({ id, aval: x.aval }));
    const program = {
      ...traced,
      constants: [{ v: c, value: f64([2]) }],
      equations: [
        { prim: 'exp' as const, inputs: [c], params: {}, out: t },
        { prim: 'add' as const, inputs: [x, t], params: {}, out },
      ],
      outputs: [out],
    };
    const [optimized, stats] = optimizeProgram(program);
    expect(stats.folded).toBe(1);
    expect(optimized.equations.map((eq) => eq.prim)).toEqual(['add']);
    expectTreesIdentical(M.evalIR(optimized, [f64([1])]), M.evalIR(program, [f64([1])]));
  });

  it('drops the shift of negative indices for indices from argmax or argmin (moved too), and keeps it for other indices', () => {
    const x = f64([3, 1, 4, 1, 5, 9, 2, 6, -5, 3, 5, 8], [4, 3]);
    const mu = f64([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120], [4, 3]);
    // A mixture's sampled component: argmax, then a column of indices read along the same axis.
    const pick = (logits: Tensor, means: Tensor) => M.takeAlongAxis(means, M.expandDims(M.argmax(logits, 1), 1), 1);
    const picked = (logits: Tensor, means: Tensor) => M.takeAlongAxis(means, M.expandDims(M.argmin(M.transpose(logits), 0), 1), 1);
    const given = (idx: Tensor, means: Tensor) => M.takeAlongAxis(means, idx, 1);
    const prims = (f: (a: Tensor, b: Tensor) => Tensor, a: Tensor) => {
      const [optimized, stats] = optimizeProgram(M.makeIR(f)(a, mu));
      return { prims: optimized.equations.map((eq) => eq.prim), simplified: stats.simplified };
    };
    expect(prims(pick, x)).toEqual({ prims: ['argmax', 'reshape', 'gather'], simplified: 1 });
    expect(prims(picked, x).simplified).toBe(1);
    const idx = M.tensor([[0], [-1], [2], [-3]], { dtype: 'int32' });
    expect(prims(given, idx)).toEqual({ prims: ['lt', 'add', 'where', 'gather'], simplified: 0 });
    // Compared with a constant above 0, an index may be below it: kept.
    const below = (logits: Tensor) => M.where(M.less(M.argmax(logits, 1), 1), 7, M.argmax(logits, 1));
    const [kept, keptStats] = optimizeProgram(M.makeIR(below)(x));
    expect(keptStats.simplified).toBe(0);
    expect(kept.equations.map((eq) => eq.prim)).toContain('where');
    expectTreesIdentical(M.jit(pick)(x, mu), pick(x, mu));
    expectTreesIdentical(M.jit(picked)(x, mu), picked(x, mu));
    expectTreesIdentical(M.jit(given)(idx, mu), given(idx, mu));
    expectTreesIdentical(M.jit(below)(x), below(x));
  });

  it('fuses an elementwise chain into one group, with broadcast leaves', () => {
    const f = (x: Tensor, y: Tensor) => M.mul(M.exp(M.sin(M.add(x, y))), 3);
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = f64([0.5, -1, 2]);
    const nodes = fuseElementwise(optimizeProgram(M.makeIR(f)(x, y))[0]);
    expect(nodes).toHaveLength(1);
    expect(nodes[0].kind).toBe('fused');
    const jf = M.jit(f);
    expectTreesIdentical(jf(x, y), f(x, y));
    expect(M.jitStats(jf).lastPlan).toMatchObject({ steps: 1, fusedGroups: 1, fusedEquations: 4 });
  });

  it('does not fuse an intermediate that is read outside the group or that is smaller than the root', () => {
    const shared = (x: Tensor) => {
      const t = M.exp(x);
      return [M.add(t, 1), M.sum(t)];
    };
    const x = f64([1, 2, 3]);
    const nodes = fuseElementwise(optimizeProgram(M.makeIR(shared)(x))[0]);
    expect(nodes.map((n) => n.kind)).toEqual(['fused', 'fused', 'single']);
    const small = (x: Tensor, y: Tensor) => M.mul(M.exp(x), y); // exp(x) is [3], the root [2, 3]
    const nodes2 = fuseElementwise(optimizeProgram(M.makeIR(small)(x, f64([1, 2, 3, 4, 5, 6], [2, 3])))[0]);
    expect(nodes2).toHaveLength(2);
    expectTreesIdentical(M.jit(shared)(x), shared(x));
  });

  it('with multiOutput, stores values used later from the group that computes them (Adam in one loop)', () => {
    // Adam: m' = b1 m + (1 - b1) g, v' = b2 v + (1 - b2) g², p' = p - lr m' / (√v' + ε); all three returned.
    const adam = (...[p, g, m, v]: Tensor[]) => {
      const m1 = M.add(M.mul(m, 0.9), M.mul(g, 0.1));
      const v1 = M.add(M.mul(v, 0.999), M.mul(M.mul(g, g), 0.001));
      const p1 = M.sub(p, M.div(M.mul(m1, 0.01), M.add(M.sqrt(v1), 1e-8)));
      return [p1, m1, v1];
    };
    const xs = [0, 1, 2, 3].map((k) => f64([1, -2, 3, 0.5].map((v) => v + k)));
    const program = optimizeProgram(M.makeIR(adam)(...xs))[0];
    expect(fuseElementwise(program).length).toBe(3);
    const nodes = fuseElementwise(program, { multiOutput: true });
    expect(nodes).toHaveLength(1);
    const [group] = nodes;
    if (group.kind !== 'fused') throw new Error('expected a fused group');
    expect(group.outputs).toEqual([program.outputs[1], program.outputs[2], program.outputs[0]]);
    const jitted = M.jit(adam);
    expectTreesIdentical(jitted(...xs), adam(...xs));
    expect(M.jitStats(jitted).lastPlan).toMatchObject({ steps: 1, fusedGroups: 1 });
    for (const dtype of ['float32', 'float64'] as const) {
      const ys = xs.map((x) => M.cast(x, dtype));
      expectTreesIdentical(M.jit(adam)(...ys), adam(...ys), dtype);
    }
  });

  it('with multiOutput, keeps a value out of a group when something before the root reads it', () => {
    // t is read by the sum, which runs before the root that would absorb t: t must be stored first.
    const f = (x: Tensor) => {
      const t = M.exp(x);
      return M.mul(M.add(t, 1), M.sum(t));
    };
    const x = f64([1, 2, 3]);
    const nodes = fuseElementwise(optimizeProgram(M.makeIR(f)(x))[0], { multiOutput: true });
    expect(nodes.map((n) => n.kind)).toEqual(['fused', 'single', 'fused']);
    expectTreesIdentical(M.jit(f)(x), f(x));
  });

  it('reuses buffers by liveness', () => {
    const w = f64(Array.from({ length: 16 }, (_, i) => Math.sin(i)), [4, 4]);
    const f = (x: Tensor) => {
      let h = x;
      for (let i = 0; i < 6; i++) h = M.matmul(h, w);
      return M.sum(h);
    };
    const x = f64(Array.from({ length: 8 }, (_, i) => i), [2, 4]);
    const jf = M.jit(f);
    expectTreesIdentical(jf(x), f(x));
    expect(jf(x).dataSync()).toEqual(f(x).dataSync());
    // Six [2, 4] intermediates alive one or two at a time.
    expect(M.jitStats(jf).lastPlan?.pooledBuffers).toBe(2);
    expect(M.jitStats(jf).lastPlan?.allocationsPerCall).toBe(1);
  });

  it('folds transposes read only by matrix products into them', () => {
    const a = f64(Array.from({ length: 30 }, (_, i) => Math.sin(i)), [2, 5, 3]);
    const b = f64(Array.from({ length: 35 }, (_, i) => Math.cos(i)), [5, 7]);
    const c = f64(Array.from({ length: 56 }, (_, i) => i / 7), [2, 4, 7]);
    const both = (x: Tensor, y: Tensor, z: Tensor) => M.matmul(M.matmul(M.swapAxes(x, -1, -2), y), M.swapAxes(z, -1, -2));
    const jb = M.jit(both);
    expectTreesIdentical(jb(a, b, c), both(a, b, c));
    expect(M.jitStats(jb).lastPlan?.steps).toBe(2);
    // A transpose that is also returned is computed.
    const returned = (x: Tensor, y: Tensor) => {
      const t = M.swapAxes(x, -1, -2);
      return [M.matmul(t, y), t];
    };
    const jr = M.jit(returned);
    expectTreesIdentical(jr(a, b), returned(a, b));
    expect(M.jitStats(jr).lastPlan?.steps).toBe(2);
  });

  it('narrows a product of which only a slice is read to a product of sliced operands, with the same bits', () => {
    const rand = (seed: number, shape: number[]) => M.tensor(Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(seed * 1000 + i * 1.7)), { shape });
    const [x, w, a] = [rand(1, [2, 9, 8]), rand(2, [11, 8]), rand(3, [9, 8])];
    // A critic's input gradient x @ wᵀ of which only the last 4 columns are kept: w's rows are sliced, and the transpose still folds.
    const columns = (x: Tensor, w: Tensor) => M.slice(M.matmul(x, M.swapAxes(w, -1, -2)), null, null, [7, 11]);
    // Every other row of a product, and columns 1, 3, 5 of another (the batch axis kept whole).
    const strided = (x: Tensor, a: Tensor) => [M.slice(M.matmul(a, M.swapAxes(a, 0, 1)), [0, null, 2]), M.slice(M.matmul(x, M.swapAxes(a, 0, 1)), null, null, [1, 6, 2])];
    for (const [f, args, count] of [
      [columns, [x, w], 1],
      [strided, [x, a], 2],
    ] as const) {
      const [optimized, stats] = optimizeProgram(M.makeIR(f as (...xs: Tensor[]) => Tensor | Tensor[])(...args));
      expect(stats.narrowed).toBe(count);
      // No product's output is sliced any more.
      const products = new Set(optimized.equations.filter((eq) => eq.prim === 'matmul').map((eq) => eq.out));
      expect(optimized.equations.some((eq) => eq.prim === 'slice' && products.has(eq.inputs[0]))).toBe(false);
      const jitted = M.jit(f as (...xs: Tensor[]) => Tensor | Tensor[]);
      expectTreesIdentical(jitted(...args), (f as (...xs: Tensor[]) => Tensor | Tensor[])(...args));
    }
    const [optimized] = optimizeProgram(M.makeIR(columns)(x, w));
    expect(optimized.equations.map((eq) => eq.prim)).toEqual(['slice', 'transpose', 'matmul']);
    // jit narrows for CPU plans (WebGPU plans keep the product whole: test/jit/webgpu-optimize.test.ts).
    const jitted = M.jit(columns);
    jitted(x, w);
    expect(M.jitStats(jitted).lastOptimization?.narrowed).toBe(1);
    expect(optimizeProgram(M.makeIR(columns)(x, w), { narrowProducts: false })[1].narrowed).toBe(0);
    expect(optimized.equations[2].out.aval.shape).toEqual([2, 9, 4]);
    // Not narrowed: a product also read whole or returned, a slice across the batch axis.
    const readTwice = (x: Tensor, w: Tensor) => {
      const y = M.matmul(x, M.swapAxes(w, -1, -2));
      return [M.slice(y, null, null, [7, 11]), M.sum(y)];
    };
    const returned = (x: Tensor, w: Tensor) => {
      const y = M.matmul(x, M.swapAxes(w, -1, -2));
      return [M.slice(y, null, null, [7, 11]), y];
    };
    const batchSliced = (x: Tensor, w: Tensor) => M.slice(M.matmul(x, M.swapAxes(w, -1, -2)), [1, 2]);
    for (const f of [readTwice, returned, batchSliced] as ((x: Tensor, w: Tensor) => Tensor | Tensor[])[]) {
      expect(optimizeProgram(M.makeIR(f)(x, w))[1].narrowed).toBe(0);
      expectTreesIdentical(M.jit(f)(x, w), f(x, w));
    }
  });

  it('reads constants of one repeated value as a broadcast scalar in each elementwise reader, and keeps the others', () => {
    // grad(sum(x * x)) seeds with a concrete 1 that sum's rule broadcasts to x's shape: an [8, 16]
    // array of ones, read by the traced multiply. -0 differs from 0, so an array of both stays.
    const x = f64(Array.from({ length: 128 }, (_, i) => Math.sin(i)), [8, 16]);
    const squares = M.grad((a: Tensor) => M.sum(M.mul(a, a)));
    const [optimized, stats] = optimizeProgram(M.makeIR(squares)(x));
    expect(stats.uniformConstants).toBe(1);
    expect(optimized.constants.map((c) => c.value.shape)).toEqual([[]]);
    const broadcasts = optimized.equations.filter((eq) => eq.prim === 'broadcastTo');
    expect(broadcasts.map((eq) => eq.out.aval.shape)).toEqual([[8, 16]]);
    expectTreesIdentical(M.jit(squares)(x), squares(x));
    // Kept: varied values, -0 beside 0, a constant a product reads, a returned constant.
    const signedZeros = M.tensor(Float64Array.from({ length: 128 }, (_, i) => (i === 5 ? -0 : 0)), { shape: [8, 16] });
    const ones = M.ones([16, 16], { dtype: 'float64' });
    const kept = [
      (a: Tensor) => M.mul(a, M.tensor(Float64Array.from({ length: 128 }, (_, i) => i), { shape: [8, 16] })),
      (a: Tensor) => M.add(a, signedZeros),
      (a: Tensor) => M.matmul(a, ones),
      (a: Tensor) => [M.add(a, 1), M.full([8, 16], 2, { dtype: 'float64' })],
    ];
    for (const f of kept) {
      const [program, keptStats] = optimizeProgram(M.makeIR(f as (a: Tensor) => Tensor)(x));
      expect(keptStats.uniformConstants, String(f)).toBe(0);
      expect(program.constants.some((c) => c.value.size === 128 || c.value.size === 256), String(f)).toBe(true);
      expectTreesIdentical(M.jit(f as (a: Tensor) => Tensor)(x), (f as (a: Tensor) => Tensor)(x));
    }
  });

  it('stores fused intermediates as eager mode does: integer wrap-around, float32 rounding, bools', () => {
    const ints = (x: Tensor) => M.cast(M.add(M.mul(M.mul(M.cast(x, 'int32'), 100_000), 100_000), 7), 'float64');
    const uints = (k: Tensor) => M.cast(M.sub(M.mul(k, k), M.add(k, 3)), 'float64');
    const floats = (x: Tensor) => M.div(M.sub(M.add(M.mul(x, 1e-3), 1), 1), 1e-3);
    const bools = (x: Tensor) => M.where(M.logicalAnd(M.greater(x, 0), M.isFinite(x)), M.cast(M.less(x, 2), 'float64'), -1);
    const x = f64([1, 2.5, -3.7, 40000, 1e9, -0.5, 0]);
    expectTreesIdentical(M.jit(ints)(x), ints(x));
    const k = M.tensor(Uint32Array.from([0, 1, 70000, 4294967295, 123456789]));
    expectTreesIdentical(M.jit(uints)(k), uints(k));
    const x32 = M.tensor([0.1, 0.7, 1.3, 1e-4, 3.3], { dtype: 'float32' });
    expectTreesIdentical(M.jit(floats)(x32), floats(x32));
    expectTreesIdentical(M.jit(bools)(x), bools(x));
  });

  it('random float32 programs are bit-identical to eager mode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 8 }), (seed, n) => {
        const program = buildProgram(seed, n, M.cpu, undefined, 'float32');
        const loss = (...xs: Tensor[]) => M.sum(M.square(program.f(...xs)));
        const g = M.valueAndGrad(loss, { argnums: program.inputs.map((_, i) => i) });
        expectTreesIdentical(M.jit(g)(...program.inputs), g(...program.inputs), `seed ${seed}:\n  ${program.listing.join('\n  ')}`);
      }),
      { numRuns: runs(100) },
    );
  });
});
