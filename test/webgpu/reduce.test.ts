import fc from 'fast-check';
import { expect, it } from 'vitest';
import { ARG_REDUCE_OPS, REDUCE_OPS, sizeOf } from '../../src/tensor';
import { both, describeWebGPU, expectClose, expectEqual, floats, pair, shapes, webgpu } from './gpu';

/** Every subset of the axes 0..rank-1, as sorted lists. */
function subsets(rank: number): number[][] {
  return Array.from({ length: 2 ** rank }, (_, mask) => [...Array(rank).keys()].filter((a) => mask & (1 << a)));
}

describeWebGPU('reductions on WebGPU match the CPU', () => {
  it.each(REDUCE_OPS)('%s over every axis subset', async (op) => {
    // reduceProd takes values near 1 so that long products stay finite.
    const [lo, hi] = op === 'reduceProd' ? [0.8, 1.25] : [-2, 2];
    await fc.assert(
      fc.asyncProperty(shapes(4, 4), fc.integer(), async (shape, seed) => {
        const values = floats(seed, sizeOf(shape), lo, hi);
        const x = pair(values, shape);
        for (const axes of subsets(shape.length)) {
          const r = await both(op, [x], { axes });
          // float32 accumulation: error grows with the number of terms summed.
          const terms = sizeOf(axes.map((a) => shape[a]));
          expectClose(r.gpu, r.cpu, 1e-6 * terms, 1e-6 * terms, `${op} [${shape}] over [${axes}]`);
        }
      }),
      { numRuns: 3 },
    );
  });

  it('long reductions use the workgroup schedule (and short ones the serial one)', async () => {
    const shape = [3, 300, 5];
    const x = pair(floats(7, sizeOf(shape), -1, 1), shape);
    for (const op of REDUCE_OPS) {
      for (const axes of [[1], [0, 1], [1, 2], [0, 1, 2], [0, 2]]) {
        const r = await both(op === 'reduceProd' ? 'reduceMax' : op, [x], { axes });
        expectClose(r.gpu, r.cpu, 1e-4, 1e-5, `${op} over [${axes}]`);
      }
    }
  });

  it('many outputs whose neighbours read neighbouring words use one invocation per output', async () => {
    const gpu = webgpu();
    const keys: string[] = [];
    const run = gpu.run.bind(gpu);
    gpu.run = (kernel, key, ...rest) => {
      keys.push(key);
      return run(kernel, key, ...rest);
    };
    try {
      // 8200 outputs of 40 terms each: a batch axis summed away (neighbouring outputs read
      // neighbouring words), or rows summed (neighbouring outputs 40 words apart).
      const columns = pair(floats(13, 40 * 8200, -1, 1), [40, 8200]);
      const rows = pair(floats(14, 8200 * 40, -1, 1), [8200, 40]);
      for (const op of ['reduceSum', 'reduceMax'] as const) {
        for (const [x, axes, schedule] of [[columns, 0, 'thread'], [rows, 1, 'workgroup']] as const) {
          keys.length = 0;
          const r = await both(op, [x], { axes: [axes] });
          expectClose(r.gpu, r.cpu, 1e-6 * 40, 1e-5, `${op} over axis ${axes}`);
          expect(keys.some((key) => key.startsWith(`reduce|${op}|f32|${schedule}`)), `${op} over axis ${axes}: ${keys}`).toBe(true);
        }
      }
    } finally {
      gpu.run = run;
    }
  });

  it('one invocation per output sums its terms in order, whatever their count modulo the loads issued together', async () => {
    // Terms of magnitudes 2^-20 .. 2^20: float32 sums of them depend on the order. The expected
    // value is the float32 sum in index order, computed here term by term.
    for (const terms of [1, 7, 8, 9, 16, 21]) {
      const shape = [terms, 600];
      const values = floats(terms, sizeOf(shape), -1, 1).map((v, i) => Math.fround(v * 2 ** ((i * 7919) % 41 - 20)));
      const expected = new Float32Array(600);
      for (let c = 0; c < 600; c++) for (let r = 0; r < terms; r++) expected[c] = Math.fround(expected[c] + values[r * 600 + c]);
      const r = await both('reduceSum', [pair(values, shape)], { axes: [0] });
      expectEqual(r.gpu, expected, `sum of ${terms} terms in order`);
    }
  });

  it('long reductions into few outputs are split over workgroups and recombined', async () => {
    const shape = [2, 30_000];
    const x = pair(floats(11, sizeOf(shape), -1, 1), shape);
    for (const op of ['reduceSum', 'reduceMax', 'reduceMin'] as const) {
      for (const axes of [[1], [0, 1]]) {
        const r = await both(op, [x], { axes });
        expectClose(r.gpu, r.cpu, 1e-6 * 60_000, 1e-5, `${op} over [${axes}]`);
      }
    }
    const ints = pair(Int32Array.from({ length: 50_000 }, (_, i) => (i % 7) - 3), [50_000], 'int32');
    const r = await both('reduceSum', [ints], { axes: [0] });
    expectEqual(r.gpu, r.cpu, 'reduceSum i32 split');
  });

  it('integer and bool reductions are exact; empty reductions give the CPU values', async () => {
    const ints = pair(Int32Array.from({ length: 60 }, (_, i) => (i * 37) % 23 - 11), [3, 4, 5], 'int32');
    const bools = pair(Uint8Array.from({ length: 60 }, (_, i) => Number(i % 7 === 0)), [3, 4, 5], 'bool');
    for (const axes of subsets(3)) {
      for (const op of REDUCE_OPS) {
        const r = await both(op, [ints], { axes });
        expectEqual(r.gpu, r.cpu, `${op} i32 over [${axes}]`);
      }
      for (const op of ['reduceMax', 'reduceMin'] as const) {
        const r = await both(op, [bools], { axes });
        expectEqual(r.gpu, r.cpu, `${op} bool over [${axes}]`);
      }
    }
    for (const op of REDUCE_OPS) {
      const r = await both(op, [pair(new Float32Array(0), [2, 0])], { axes: [1] });
      expectEqual(r.gpu, r.cpu, `${op} f32 empty`);
      const s = await both(op, [pair(new Int32Array(0), [2, 0], 'int32')], { axes: [1] });
      expectEqual(s.gpu, s.cpu, `${op} i32 empty`);
    }
  });

  it.each(ARG_REDUCE_OPS)('%s along every axis, first index on ties', async (op) => {
    await fc.assert(
      fc.asyncProperty(shapes(3, 6).filter((s) => s.length > 0), fc.integer(), async (shape, seed) => {
        // Quarter steps in a small range make ties common.
        const values = Float32Array.from(floats(seed, sizeOf(shape), -1, 1), (v) => Math.round(v * 4) / 4);
        const x = pair(values, shape);
        for (let axis = 0; axis < shape.length; axis++) {
          const r = await both(op, [x], { axis });
          expectEqual(r.gpu, r.cpu, `${op} [${shape}] axis ${axis}`);
        }
      }),
      { numRuns: 4 },
    );
    const nanMax = await both('reduceMax', [pair(Float32Array.of(1, NaN, 3, 2, 5, 4), [2, 3])], { axes: [1] });
    expectEqual(nanMax.gpu, nanMax.cpu, 'reduceMax with NaN');
    // Signed zeros: +0 is the larger in either order on both backends (expectEqual takes -0 == +0).
    for (const extreme of ['reduceMax', 'reduceMin'] as const) {
      const zeros = await both(extreme, [pair(Float32Array.of(-0, 0, 0, -0, -0, -0), [3, 2])], { axes: [1] });
      const signs = (v: ArrayLike<number>) => Array.from(v, (x) => (Object.is(x, -0) ? '-0' : String(x)));
      expect(signs(zeros.gpu), extreme).toEqual(extreme === 'reduceMax' ? ['0', '0', '-0'] : ['-0', '-0', '-0']);
      expect(signs(zeros.cpu), extreme).toEqual(signs(zeros.gpu));
    }
    const withNan = await both(op, [pair(Float32Array.of(1, NaN, 3, 2, 5, 4), [2, 3])], { axis: 1 });
    expectEqual(withNan.gpu, withNan.cpu, `${op} with NaN`);
  });
});
