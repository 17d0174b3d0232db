import fc from 'fast-check';
import { expect, it } from 'vitest';
import { cpu, sizeOf, tensor, toBackend } from '../../src/tensor';
import { both, describeWebGPU, expectClose, expectEqual, floats, pair, rng, shapes, webgpu } from './gpu';

const nonEmpty = shapes(4, 4).filter((s) => s.length > 0);

/** A random permutation of 0..n-1. */
function permutation(seed: number, n: number): number[] {
  const next = rng(seed);
  const perm = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

describeWebGPU('data movement on WebGPU matches the CPU exactly', () => {
  it('transpose, flip and broadcastTo', async () => {
    await fc.assert(
      fc.asyncProperty(nonEmpty, fc.integer(), async (shape, seed) => {
        const x = pair(floats(seed, sizeOf(shape), -1, 1), shape);
        const t = await both('transpose', [x], { perm: permutation(seed, shape.length) });
        expectEqual(t.gpu, t.cpu, 'transpose');
        const axes = [...shape.keys()].filter((a) => (seed >> a) & 1);
        const f = await both('flip', [x], { axes });
        expectEqual(f.gpu, f.cpu, 'flip');
        const b = await both('broadcastTo', [x], { shape: [2, ...shape.map((d, i) => (i === 0 ? d : d))] });
        expectEqual(b.gpu, b.cpu, 'broadcastTo');
      }),
      { numRuns: 6 },
    );
    const ones = pair(floats(1, 3, -1, 1), [3, 1]);
    const b = await both('broadcastTo', [ones], { shape: [2, 3, 4] });
    expectEqual(b.gpu, b.cpu, 'broadcastTo of size-1 axes');
  });

  it('slice with steps, pad with interior padding, concat', async () => {
    await fc.assert(
      fc.asyncProperty(nonEmpty, fc.integer(), async (shape, seed) => {
        const next = rng(seed);
        const x = pair(floats(seed, sizeOf(shape), -1, 1), shape);
        const starts = shape.map((d) => Math.floor(next() * d));
        const stops = shape.map((d, i) => starts[i] + Math.floor(next() * (d - starts[i] + 1)));
        const steps = shape.map(() => 1 + Math.floor(next() * 3));
        const s = await both('slice', [x], { starts, stops, steps });
        expectEqual(s.gpu, s.cpu, 'slice');
        const lo = shape.map(() => Math.floor(next() * 3));
        const hi = shape.map(() => Math.floor(next() * 3));
        const interior = shape.map(() => Math.floor(next() * 2));
        const p = await both('pad', [x], { lo, hi, interior });
        expectEqual(p.gpu, p.cpu, 'pad');
        const axis = Math.floor(next() * shape.length);
        const other = shape.map((d, i) => (i === axis ? 2 : d));
        const y = pair(floats(seed + 1, sizeOf(other), -1, 1), other);
        const c = await both('concat', [x, y, x], { axis });
        expectEqual(c.gpu, c.cpu, 'concat');
        // More inputs than one kernel binds (two runs), one of them empty along the axis.
        const none = pair(new Float32Array(0), shape.map((d, i) => (i === axis ? 0 : d)));
        const many = await both('concat', [x, y, none, x, y, x, y, x, y], { axis });
        expectEqual(many.gpu, many.cpu, 'concat of 9');
      }),
      { numRuns: 6 },
    );
  });

  it('gather and scatterAdd along every axis, with broadcast', async () => {
    await fc.assert(
      fc.asyncProperty(nonEmpty, fc.integer(), fc.integer({ min: 1, max: 4 }), async (shape, seed, j) => {
        const next = rng(seed);
        const x = pair(floats(seed, sizeOf(shape), -1, 1), shape);
        for (let axis = 0; axis < shape.length; axis++) {
          // Indices with j entries on the axis and size 1 on a random other axis (broadcast).
          const idxShape = shape.map((d, i) => (i === axis ? j : next() < 0.3 ? 1 : d));
          const idx = Int32Array.from({ length: sizeOf(idxShape) }, () => Math.floor(next() * shape[axis]));
          const ix = pair(idx, idxShape, 'int32');
          const g = await both('gather', [x, ix], { axis });
          expectEqual(g.gpu, g.cpu, `gather axis ${axis}`);
          const updShape = shape.map((d, i) => (i === axis ? j : d));
          const upd = pair(floats(seed + axis, sizeOf(updShape), -1, 1), updShape);
          const s = await both('scatterAdd', [upd, ix], { axis, size: shape[axis] });
          expectClose(s.gpu, s.cpu, 1e-6 * j, 1e-6, `scatterAdd axis ${axis}`);
        }
      }),
      { numRuns: 6 },
    );
  });

  it('toBackend moves every dtype to the GPU and back unchanged', async () => {
    const values = [
      tensor(Float32Array.of(1.5, -0, NaN, Infinity), { backend: cpu }),
      tensor(Int32Array.of(-2147483648, -1, 0, 2147483647), { backend: cpu }),
      tensor(Uint32Array.of(0, 1, 0x80000000, 0xffffffff), { backend: cpu }),
      tensor([true, false, true, true], { backend: cpu }),
    ];
    for (const x of values) {
      const there = await toBackend(x, webgpu());
      expect(there.backend.name).toBe('webgpu');
      const back = await toBackend(there, cpu);
      expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
      expect(back.dtype).toBe(x.dtype);
    }
  });

  it('int32 and bool tensors move bit for bit', async () => {
    const ints = pair(Int32Array.from({ length: 24 }, (_, i) => i * 1_000_003 - 7), [2, 3, 4], 'int32');
    const bools = pair(Uint8Array.from({ length: 24 }, (_, i) => i % 3 & 1), [2, 3, 4], 'bool');
    for (const x of [ints, bools]) {
      const t = await both('transpose', [x], { perm: [2, 0, 1] });
      expectEqual(t.gpu, t.cpu, 'transpose');
      const c = await both('concat', [x, x], { axis: 1 });
      expectEqual(c.gpu, c.cpu, 'concat');
    }
    const s = await both('scatterAdd', [ints, pair(Int32Array.of(0, 2, 2, 1), [1, 1, 4], 'int32')], { axis: 2, size: 3 });
    expectEqual(s.gpu, s.cpu, 'scatterAdd i32');
  });
});
