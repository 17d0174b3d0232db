import fc from 'fast-check';
import { expect, it } from 'vitest';
import { jit, jitStats } from '../../src/autodiff';
import { matmul, relu, sizeOf, swapAxes, type Tensor, tensor } from '../../src/tensor';
import { createWebGPUBackend, type WebGPUBackend } from '../../src/tensor/webgpu';
import { matmulTile } from '../../src/tensor/webgpu/matmul-kernels';
import { matmulWgsl } from '../../shaders/matmul';
import { both, describeWebGPU, expectClose, expectEqual, expectSameUpToContraction, floats, pair, webgpu } from './gpu';

describeWebGPU('matmul on WebGPU matches the CPU', () => {
  it('on sizes that are not multiples of the 64x64 tile, with broadcast batch axes', async () => {
    const dims = fc.integer({ min: 1, max: 80 });
    const batch = fc.constantFrom([[], []], [[3], [3]], [[2, 1], [3]], [[1], [2, 2]], [[4], []]);
    await fc.assert(
      fc.asyncProperty(dims, dims, dims, batch, fc.integer(), async (m, k, n, [ba, bb], seed) => {
        const sa = [...ba, m, k];
        const sb = [...bb, k, n];
        const r = await both('matmul', [pair(floats(seed, sizeOf(sa), -1, 1), sa), pair(floats(seed + 1, sizeOf(sb), -1, 1), sb)], {});
        // |a| and |b| are below 1, so each output sums k products below 1 in float32.
        expectClose(r.gpu, r.cpu, 2e-7 * k, 1e-6, `matmul [${sa}] @ [${sb}]`);
      }),
      { numRuns: 8 },
    );
  });

  it('on exact tile multiples, a single element, and an empty contraction', async () => {
    for (const [m, k, n] of [
      [64, 64, 64],
      [128, 16, 64],
      [1, 1, 1],
      [65, 17, 129],
    ]) {
      const r = await both('matmul', [pair(floats(m, m * k, -1, 1), [m, k]), pair(floats(n, k * n, -1, 1), [k, n])], {});
      expectClose(r.gpu, r.cpu, 2e-7 * k, 1e-6, `matmul ${m}x${k}x${n}`);
    }
    const empty = await both('matmul', [pair(new Float32Array(0), [2, 0]), pair(new Float32Array(0), [0, 3])], {});
    expectEqual(empty.gpu, empty.cpu, 'matmul with k = 0');
    // Aligned (vec4-loaded) products with a broadcast operand: batch strides of 0 and of whole matrices.
    for (const [sa, sb] of [
      [[3, 64, 32], [32, 64]],
      [[64, 32], [3, 32, 64]],
      [[2, 1, 64, 16], [1, 3, 16, 64]],
    ]) {
      const r = await both('matmul', [pair(floats(5, sizeOf(sa), -1, 1), sa), pair(floats(6, sizeOf(sb), -1, 1), sb)], {});
      expectClose(r.gpu, r.cpu, 2e-7 * sa[sa.length - 1], 1e-6, `matmul [${sa}] @ [${sb}]`);
    }
  });

  it('on integers, exactly', async () => {
    const a = Int32Array.from({ length: 35 * 20 }, (_, i) => (i % 9) - 4);
    const b = Int32Array.from({ length: 20 * 70 }, (_, i) => (i % 5) - 2);
    const r = await both('matmul', [pair(a, [35, 20], 'int32'), pair(b, [20, 70], 'int32')], {});
    expectEqual(r.gpu, r.cpu, 'matmul i32');
    // A thin product (strips on a software adapter, by size on others), both sides short in turn.
    const thin = await both('matmul', [pair(a, [35, 20], 'int32'), pair(b.slice(0, 100), [20, 5], 'int32')], {});
    expectEqual(thin.gpu, thin.cpu, 'matmul i32, 5 columns');
    const flat = await both('matmul', [pair(b.slice(0, 60), [3, 20], 'int32'), pair(b, [20, 70], 'int32')], {});
    expectEqual(flat.gpu, flat.cpu, 'matmul i32, 3 rows');
  });

  it('on more batch matrices than a grid dimension holds (65535): the batch folds into y, eagerly and as jit siblings', async () => {
    // 70001 matrices (a vmap over as many examples), on broadcast batch axes: [70001, 1] @ [5, 2] batches.
    const [a, b] = [floats(5, 70001 * 3 * 2, -1, 1), floats(6, 5 * 2 * 4, -1, 1)];
    const r = await both('matmul', [pair(a, [70001, 1, 3, 2]), pair(b, [5, 2, 4])], {});
    expect(r.shape).toEqual([70001, 5, 3, 4]);
    expectClose(r.gpu, r.cpu, 1e-6, 1e-6, 'folded batch');
    // Two products of 40000 matrices each in one sibling dispatch: 80000 workgroups along z.
    const backend = webgpu();
    const [x, w1, w2] = [floats(7, 40000 * 8, -1, 1), floats(8, 40000 * 8, -1, 1), floats(9, 40000 * 8, -1, 1)].map((v) => tensor(v, { shape: [40000, 2, 4], backend }));
    const f = (x: Tensor, w1: Tensor, w2: Tensor) => [relu(matmul(x, swapAxes(w1, -1, -2))), matmul(x, swapAxes(w2, -1, -2))];
    const jitted = jit(f);
    const [got, want] = [jitted(x, w1, w2), f(x, w1, w2)];
    for (let j = 0; j < 2; j++) expectSameUpToContraction(await got[j].data(), await want[j].data(), `sibling ${j}`);
    expect((jitStats(jitted).lastPlan as unknown as { siblings: number }).siblings).toBe(1);
  });
});

describeWebGPU('matmul tiles', () => {
  it('aligned products (vec4 loads) read transposed, as siblings and with epilogues in a jit plan give the bits of guarded ones, in every tile', async () => {
    // x is [R, K] (stored [K, R] when read transposed), y [K, R] (stored [R, K]), R = 64 (128 for
    // 128x128 tiles): aligned; with one more row of x the same rows run through the guarded kernel.
    // The kernels loading the next K step early (64x64 in 16x8 invocations, narrow 32x32 in 8x8) also with one K step.
    for (const [tile, k] of [[32, 48], ['narrow', 16], ['narrow', 48], [64, 16], [64, 48], [128, 48]] as const) {
      const r = tile === 128 ? 128 : 64;
      const gpu = await createWebGPUBackend({ matmulTiles: tile });
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const f = (x: Tensor, y1: Tensor, y2: Tensor): Tensor[] => {
          const a = tA ? swapAxes(x, -1, -2) : x;
          const [b1, b2] = [y1, y2].map((y) => (tB ? swapAxes(y, -1, -2) : y));
          return [relu(matmul(a, b1).add(1)), matmul(a, b2).mul(2)];
        };
        const ys = [9, 10].map((seed) => tensor(floats(seed, k * r, -1, 1), { shape: tB ? [r, k] : [k, r], backend: gpu }));
        const values = floats(11, (r + 1) * k, -1, 1);
        const longer = tensor(values, { shape: tA ? [k, r + 1] : [r + 1, k], backend: gpu });
        const firstRows = tA ? values.filter((_, i) => i % (r + 1) < r) : values.slice(0, r * k);
        const x = tensor(firstRows, { shape: tA ? [k, r] : [r, k], backend: gpu });
        const aligned = jit(f)(x, ys[0], ys[1]);
        const guarded = jit(f)(longer, ys[0], ys[1]);
        for (let q = 0; q < 2; q++) {
          const what = `${tile} tiles, K ${k}, ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}, output ${q}`;
          expect(Array.from(await aligned[q].data()), what).toEqual(Array.from((await guarded[q].data()).slice(0, r * r)));
        }
      }
    }
  });

  it('aligned kernels (M, N multiples of the tile, K of 16) check no edge and give the bits of the guarded kernel', async () => {
    const unguarded = matmulWgsl('f32', { aligned: true });
    expect(unguarded).not.toMatch(/row0 \+ m < M|col0 \+ n < N|row < M/);
    // Aligned operands are read as vec4s, except a concatenation's pieces; vec4-read 64x64 tiles run
    // 16x8 invocations, narrow tiles 8x8 (aligned or not), other tiles 16x16.
    expect(unguarded).toMatch(/var<storage, read> x0: array<vec4<f32>>/);
    expect(unguarded).toMatch(/@workgroup_size\(16, 8\)/);
    for (const aligned of [true, false]) expect(matmulWgsl('f32', { aligned, tile: 'narrow' })).toMatch(/@workgroup_size\(8, 8\)/);
    expect(matmulWgsl('f32', { aligned: true, tile: 32 })).toMatch(/@workgroup_size\(16, 16\)/);
    expect(matmulWgsl('f32', { aligned: true, piecesA: [16, 32] })).toMatch(/var<storage, read> x0: array<f32>/);
    expect(matmulWgsl('f32')).toMatch(/row0 \+ m < M/);
    // [64, 48] @ [48, 128] is aligned; with one more row of A (65) the same rows run through the guarded kernel.
    for (const tiles of [64, 32, 'narrow'] as const) {
      const gpu = await createWebGPUBackend({ matmulTiles: tiles });
      const a = floats(7, 65 * 48, -1, 1);
      const b = tensor(floats(8, 48 * 128, -1, 1), { shape: [48, 128], backend: gpu });
      const aligned = await matmul(tensor(a.slice(0, 64 * 48), { shape: [64, 48], backend: gpu }), b).data();
      const pipelines = gpu.poolStats().pipelines;
      const guarded = await matmul(tensor(a, { shape: [65, 48], backend: gpu }), b).data();
      // The guarded product compiled a pipeline of its own: the first was the aligned variant.
      expect(gpu.poolStats().pipelines, `${tiles}x${tiles} tiles`).toBe(pipelines + 1);
      expect(Array.from(aligned), `${tiles}x${tiles} tiles`).toEqual(Array.from(guarded.slice(0, 64 * 128)));
    }
  });

  it('products of a plain B compute columns 16 apart (a warp stores neighbouring words), of a transposed B neighbouring columns', () => {
    // 64x64 aligned: 16x8 invocations; columns tx + 16j (plain B) or 4tx + j (transposed B).
    for (const transposeA of [false, true]) {
      const plain = matmulWgsl('f32', { aligned: true, transposeA });
      expect(plain).toMatch(/col0 \+ tx \+ 16u/);
      expect(plain).not.toMatch(/col0 \+ 4u \* tx/);
      const transposed = matmulWgsl('f32', { aligned: true, transposeA, transposeB: true });
      expect(transposed).toMatch(/col0 \+ 4u \* tx \+ 1u/);
      expect(transposed).not.toMatch(/col0 \+ tx \+ 16u/);
    }
  });

  it('sized tiles: 32x32 where 64x64 ones leave fewer than 128 workgroups, else strips for products of at most 16 rows or columns, narrow tiles for at most 32, else 64x64; thin-strip: strips or 64x64; a fixed kernel is kept', () => {
    expect(webgpu().matmulTiles).toBe(webgpu().adapter.software ? 'thin-strip' : 'sized');
    for (const tiles of ['sized', 'thin-strip'] as const) {
      expect(matmulTile(tiles, 256, 1, 100)).toBe('strip'); // 100 critics' outputs
      expect(matmulTile(tiles, 16, 4096, 8)).toBe('strip');
      expect(matmulTile(tiles, 33, 4096, 8)).toBe(64);
    }
    expect(matmulTile('sized', 1280, 23, 200)).toBe('narrow'); // 100 agents' twin critics' input gradients
    expect(matmulTile('sized', 17, 4096, 8)).toBe('narrow');
    expect(matmulTile('sized', 4096, 32, 8)).toBe('narrow');
    expect(matmulTile('thin-strip', 1280, 23, 200)).toBe(64);
    expect(matmulTile('sized', 256, 1, 1)).toBe(32); // one critic's: 4 workgroups of 64x64
    expect(matmulTile('thin-strip', 256, 1, 1)).toBe('strip');
    expect(matmulTile('thin-strip', 256, 256, 1)).toBe(64);
    expect(matmulTile('sized', 256, 256, 1)).toBe(32); // 16 workgroups of 64x64
    expect(matmulTile('sized', 32, 64, 100)).toBe(32); // 100
    expect(matmulTile('sized', 704, 768, 1)).toBe(64); // 11 · 12 = 132
    expect(matmulTile('sized', 256, 256, 100)).toBe(64); // 1600
    expect(matmulTile('sized', 2048, 2048, 1)).toBe(64); // 1024: 128x128 only when asked for
    for (const tile of [32, 64, 128, 'narrow', 'strip'] as const) expect(matmulTile(tile, 4, 4096, 8)).toBe(tile);
  });

  for (const tile of [32, 128, 'narrow', 'strip'] as const) {
    it(`${tile === 'strip' ? 'strips' : tile === 'narrow' ? 'narrow tiles' : `${tile}x${tile} tiles`} give the bits of 64x64 tiles, eager and in a plan with folded transposes and siblings`, async () => {
      const other = await createWebGPUBackend({ matmulTiles: tile });
      const large = await createWebGPUBackend({ matmulTiles: 64 });
      const keys = new Set<string>();
      const run = other.run.bind(other);
      other.run = (kernel, key, ...rest) => {
        keys.add(key);
        return run(kernel, key, ...rest);
      };
      const dims = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 60, max: 140 }), fc.integer({ min: 120, max: 270 }));
      const batches = fc.constantFrom<[number[], number[]]>([[], []], [[3], [3]], [[2, 1], [3]], [[], [2]]);
      await fc.assert(
        fc.asyncProperty(dims, dims, dims, batches, fc.boolean(), fc.integer(), async (m, k, n, [ba, bb], transposed, seed) => {
          const on = (backend: WebGPUBackend) => {
            const x = tensor(floats(seed, sizeOf([...ba, m, k]), -1, 1), { shape: [...ba, m, k], backend });
            const w = tensor(floats(seed + 1, sizeOf([...bb, k, n]), -1, 1), { shape: transposed ? [...bb, n, k] : [...bb, k, n], backend });
            const v = tensor(floats(seed + 2, sizeOf([...bb, k, n]), -1, 1), { shape: transposed ? [...bb, n, k] : [...bb, k, n], backend });
            const right = (t: Tensor) => (transposed ? swapAxes(t, -1, -2) : t);
            // Two products of one shape: siblings in the plan, each with a relu epilogue.
            const f = jit((x: Tensor, w: Tensor, v: Tensor) => [relu(matmul(x, right(w))), relu(matmul(x, right(v)))]);
            return [matmul(x, right(w)), ...f(x, w, v)];
          };
          const [got, want] = [on(other), on(large)];
          // Square tiles share their multiply-adds' form (bit for bit on the H200 too); a hardware
          // compiler may contract the strips' scalar multiply-add where it does not the tiles' vector one.
          const same = tile === 'strip' ? expectSameUpToContraction : expectEqual;
          for (let i = 0; i < want.length; i++) same(await got[i].data(), await want[i].data(), `[${ba}] ${m}x${k} @ [${bb}] ${k}x${n}${transposed ? 'ᵀ' : ''}, output ${i}`);
        }),
        { numRuns: 12 },
      );
      // Both kernels ran in these tiles: the single product's and the two siblings' (keyed by their operand buffers).
      for (const members of ['x1', '\\[\\[']) expect([...keys].some((key) => new RegExp(`^matmul\\|f32\\|[NT]{2}${tile === 'strip' ? 'strip[MN]\\d+' : tile}\\|${members}`).test(key))).toBe(true);
    });
  }
});
