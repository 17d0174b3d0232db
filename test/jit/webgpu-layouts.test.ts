/**
 * jit on WebGPU, matrix layouts and plan buffers: a transpose of the last two axes read only by
 * matrix products is not dispatched (the products read its input in place through the matmul
 * kernel's transposed-layout variants), results equal eager WebGPU within 1e-5, and the folded plan
 * dispatches exactly that many kernels fewer than the same program compiled without folding. The
 * plan's intermediates live in buffers it keeps, handed out in the same order every call, so a
 * steady-state call creates no bind group for them.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor, Tensor } from '../../src';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';
import { compileWebGPUPlan, type WebGPUPlanStats } from '../../src/autodiff/jit/plan-webgpu';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { runs } from '../autodiff/helpers';
import { countBindGroups, describeWebGPU, expectGpuTreesClose, floats, webgpu } from '../webgpu/gpu';
import { smallSac } from '../sac-fixtures';

const TOL = 1e-5;

/** Lists of WebGPU results, compared within `tol` of each one's largest value too. */
const expectAllClose = (actual: readonly Tensor[], expected: readonly Tensor[], tol: number, message: string) =>
  expectGpuTreesClose(actual, expected, tol, message, { scaled: true });

/** Swaps the last two axes. */
const swapLast = (t: Tensor): Tensor => {
  const r = t.ndim;
  return M.transpose(t, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
};

/**
 * The program compiled twice (transposes folded and not), run on `inputs`: outputs and stats of both.
 * The eager reference is `f` itself.
 */
function bothPlans(f: (...xs: Tensor[]) => Tensor | Tensor[], inputs: readonly ArrayTensor[]) {
  // As jit optimizes for WebGPU plans (no narrowed products).
  const [program] = optimizeProgram(M.makeIR(f)(...inputs), { narrowProducts: false });
  // Concatenations run in both: a product reads one in place only through a folded transpose.
  // Outer products stay products (elementwise: false), so that every fold is a product's.
  const plan = compileWebGPUPlan(program, webgpu(), { concats: false, merge: false, elementwise: false });
  const unfolded = compileWebGPUPlan(program, webgpu(), { foldTransposes: false, concats: false, merge: false, elementwise: false });
  return { plan, unfolded, folded: plan.run(inputs), copied: unfolded.run(inputs) };
}

type Mode = 'plain' | 'chain' | 'shared' | 'returned';

/**
 * `a @ b` where `a` is `x` or `x` transposed and `b` is `y` or `y` transposed, and what else reads
 * them: `chain` adds `z @ zᵀ` (a computed value read transposed, its buffer bound twice), `shared`
 * has an elementwise op read `a` too and `returned` returns `a` (neither `a` may fold then).
 */
function program(tA: boolean, tB: boolean, mode: Mode) {
  const f = (x: Tensor, y: Tensor): Tensor[] => {
    const a = tA ? swapLast(x) : x;
    const b = tB ? swapLast(y) : y;
    const z = M.matmul(a, b);
    switch (mode) {
      case 'plain':
        return [z.mul(0.5)];
      case 'chain':
        return [M.matmul(z, swapLast(z)).tanh()];
      case 'shared':
        return [z, a.tanh()];
      case 'returned':
        return [z, a];
    }
  };
  const aFolds = tA && mode !== 'shared' && mode !== 'returned';
  return { f, expectedFolds: Number(aFolds) + Number(tB) + Number(mode === 'chain') };
}

/** Batch shapes of the two operands that broadcast against each other (trailing axes kept or 1). */
const batchShapes = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([batch, onesA, onesB, dropA, dropB]) => {
    const of = (ones: boolean[], drop: number) => batch.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, batch.length));
    return [of(onesA, dropA), of(onesB, dropB)] as const;
  });

describeWebGPU('jit on WebGPU: transposes folded into matrix products', () => {
  it('equals eager WebGPU on random products of transposed operands (both layouts, broadcast batches)', async () => {
    const gpu = webgpu();
    const dims = fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 60, max: 70 }));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        dims,
        dims,
        dims,
        batchShapes,
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<Mode>('plain', 'chain', 'shared', 'returned'),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (m, k, n, [batchA, batchB], tA, tB, mode, seed) => {
          const xShape = [...batchA, tA ? k : m, tA ? m : k];
          const yShape = [...batchB, tB ? n : k, tB ? k : n];
          const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
          const x = M.tensor(floats(seed, size(xShape), -1, 1), { shape: xShape, backend: gpu }) as ArrayTensor;
          const y = M.tensor(floats(seed + 1, size(yShape), -1, 1), { shape: yShape, backend: gpu }) as ArrayTensor;
          const { f, expectedFolds } = program(tA, tB, mode);
          const what = `x ${JSON.stringify(xShape)}${tA ? 'ᵀ' : ''} @ y ${JSON.stringify(yShape)}${tB ? 'ᵀ' : ''}, ${mode}`;
          const { plan, unfolded, folded, copied } = bothPlans(f, [x, y]);
          const eager = f(x, y);
          await expectAllClose(folded, eager, TOL, what);
          await expectAllClose(copied, eager, TOL, what);
          // Through jit too, twice (the second call replays with the plan's buffers handed out again).
          const jf = M.jit(f);
          await expectAllClose(jf(x, y), eager, TOL, what);
          await expectAllClose(jf(x, y), eager, TOL, what);
          expect(plan.stats.foldedTransposes, what).toBe(expectedFolds);
          expect(unfolded.stats.dispatchesPerCall - plan.stats.dispatchesPerCall, what).toBe(expectedFolds);
          seen.add(`${tA}${tB}${mode}`);
        },
      ),
      { numRuns: runs(60) },
    );
    // Both layouts of both operands, in every mode, were exercised.
    expect(seen.size).toBeGreaterThanOrEqual(12);
  });

  it('a product of two folded transposes is one dispatch instead of three', async () => {
    const gpu = webgpu();
    const x = M.tensor(floats(1, 2 * 5 * 3, -1, 1), { shape: [2, 5, 3], backend: gpu }) as ArrayTensor;
    const y = M.tensor(floats(2, 4 * 5, -1, 1), { shape: [4, 5], backend: gpu }) as ArrayTensor;
    const f = (a: Tensor, b: Tensor) => M.matmul(swapLast(a), swapLast(b)); // [2, 3, 5] @ [5, 4]
    const { plan, unfolded, folded } = bothPlans(f, [x, y]);
    await expectAllClose(folded, [f(x, y)], TOL, 'xᵀ @ yᵀ');
    expect(plan.stats.dispatchesPerCall).toBe(1);
    expect(unfolded.stats.dispatchesPerCall).toBe(3);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a %s SAC update dispatches fewer kernels with transposes folded, with equal results', async (name, kind, estimator) => {
    const gpu = webgpu();
    const h: SacHyperparameters = smallSac({ obsDim: 3, head: { actionDim: 1, kind, components: 5, low: -1, high: 1 }, estimator, hidden: [32, 32] });
    const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 1 });
    for (let i = 0; i < 64; i++) {
      const obs = [Math.sin(i), Math.cos(i), Math.sin(0.3 * i)];
      replay.add({ obs, action: [Math.sin(7 * i)], reward: [Math.cos(2 * i)], nextObs: obs.map((v) => v + 0.1), terminated: [0] });
    }
    const key = M.tensor(rawKey(0), { backend: gpu });
    const batch = replay.sample(rawFoldIn(rawKey(1), 0), 32, { backend: gpu });
    const state = initSac(h, key);
    const update = makeSacUpdate(h, { jit: false });
    const inputs = M.treeFlatten([state, batch, key])[0] as ArrayTensor[];
    const { plan, unfolded, folded, copied } = bothPlans((...xs: Tensor[]) => {
      const [s, b, k] = M.treeUnflatten<Parameters<typeof update>>(M.treeFlatten([state, batch, key])[1], xs);
      return M.treeFlatten(update(s, b, k))[0] as Tensor[];
    }, inputs);
    await expectAllClose(folded, copied, TOL, name);
    // Every product's transposed operand (weights in the backward pass, activations for weight gradients).
    expect(plan.stats.foldedTransposes).toBeGreaterThan(0);
    expect(plan.stats.dispatchesPerCall).toBe(unfolded.stats.dispatchesPerCall - plan.stats.foldedTransposes);
    console.log(
      `[jit webgpu] ${name}: dispatches per update ${unfolded.stats.dispatchesPerCall} unfolded, ${plan.stats.dispatchesPerCall} folded ` +
        `(${plan.stats.foldedTransposes} transposes)`,
    );
  });
});

describeWebGPU('jit on WebGPU: plan buffers', () => {
  it('steady-state calls create no bind groups for intermediates, and keep the pool flat', async () => {
    const gpu = webgpu();
    // An MLP gradient step: many returned values, and intermediates released in another order than
    // taken (from the pool's free lists, such a plan met different buffers on every call).
    const lossOf = (params: M.MlpParams, x: Tensor, y: Tensor) => M.mean(M.square(M.sub(M.mlp(params, x), y)));
    const f = M.jit((params: M.MlpParams, x: Tensor, y: Tensor) => {
      const [loss, g] = M.valueAndGrad(lossOf)(params, x, y);
      return [M.treeMap((p: Tensor, d: Tensor) => M.sub(p, M.mul(d, 0.01)), params, g) as M.MlpParams, loss] as const;
    });
    const key = M.tensor(rawKey(3), { backend: gpu });
    let params = M.initMlp(key, [3, 16, 16, 1]);
    const x = M.tensor(floats(5, 24, -1, 1), { shape: [8, 3], backend: gpu });
    const y = M.tensor(floats(6, 8, -1, 1), { shape: [8, 1], backend: gpu });
    const step = () => {
      const [next, loss] = f(params, x, y);
      for (const t of M.treeFlatten([params, loss])[0]) (t as Tensor).dispose();
      params = next;
    };
    const counter = countBindGroups(gpu.device);
    try {
      for (let i = 0; i < 5; i++) step();
      await x.data();
      const before = { created: counter.made, pool: gpu.poolStats() };
      const calls = 40;
      for (let i = 0; i < calls; i++) step();
      await x.data();
      const plan = M.jitStats(f).lastPlan as WebGPUPlanStats;
      const perCall = plan.dispatchesPerCall;
      const outputs = M.treeFlatten(params)[0].length + 1;
      // Most kernels bind intermediates (epilogues store the new parameters from the products' kernels).
      expect(perCall + plan.mergedKernels - plan.mergedDispatches).toBeGreaterThan(outputs);
      // New bind groups could come only from dispatches naming the caller's buffers (parameters passed
      // in, values returned), and those cycle through a few pool buffers whose bind groups are cached
      // too: about none per call (plus one refill if the 4096-entry cache starts over, about 30).
      // Handing out the pool's buffers instead made 8 per call here.
      const createdPerCall = (counter.made - before.created) / calls;
      expect(createdPerCall).toBeLessThan(2);
      const after = gpu.poolStats();
      expect(after.buffers).toBe(before.pool.buffers);
      // Can only fall: garbage of earlier tests is finalized whenever the collector runs.
      expect(after.inUse).toBeLessThanOrEqual(before.pool.inUse);
      console.log(`[jit webgpu] MLP step: ${perCall} dispatches, ${createdPerCall.toFixed(1)} new bind groups per call`);
    } finally {
      counter.restore();
    }
  });

  it('values a multi-output kernel stores are returned from the pool, intact after later calls', async () => {
    const gpu = webgpu();
    // m1 and v1 are stored by the kernel whose root is the new parameter; the parameter is returned
    // only in the second function (the first returns what the root feeds).
    const adam = (p: Tensor, g: Tensor, m: Tensor, v: Tensor) => {
      const m1 = M.add(M.mul(m, 0.9), M.mul(g, 0.1));
      const v1 = M.add(M.mul(v, 0.999), M.mul(M.mul(g, g), 0.001));
      return { p1: M.sub(p, M.div(M.mul(m1, 0.01), M.add(M.sqrt(v1), 1e-8))), m1, v1 };
    };
    const fs = [
      (...[p, g, m, v]: Tensor[]) => {
        const { p1, m1, v1 } = adam(p, g, m, v);
        return [m1, v1, M.sum(p1)];
      },
      (...[p, g, m, v]: Tensor[]) => {
        const { p1, m1 } = adam(p, g, m, v);
        return [p1, M.sum(m1)];
      },
    ];
    for (const f of fs) {
      const jf = M.jit(f);
      const inputs = [0, 1, 2].map((c) => [0, 1, 2, 3].map((k) => M.tensor(floats(10 * c + k, 6, 0.1, 2), { shape: [2, 3], backend: gpu })));
      const results = inputs.map((xs) => jf(...xs));
      for (let c = 0; c < inputs.length; c++) await expectAllClose(results[c], f(...inputs[c]), TOL, `call ${c}`);
    }
  });

  it('a returned value sharing an intermediate buffer is not overwritten by later calls', async () => {
    const gpu = webgpu();
    const f = M.jit((v: Tensor) => {
      const h = M.matmul(v, swapLast(v)).exp(); // an intermediate in a plan buffer...
      return [h.reshape([16]), h.sum()]; // ...returned through a reshape (shares it)
    });
    const xs = [1, 2, 3].map((s) => M.tensor(floats(s, 16, -1, 1), { shape: [4, 4], backend: gpu }));
    const results = xs.map((x) => f(x));
    for (let i = 0; i < xs.length; i++) {
      const eager = M.matmul(xs[i], swapLast(xs[i])).exp();
      await expectAllClose(results[i], [eager.reshape([16]), eager.sum()], TOL, `call ${i}`);
    }
    for (const r of results) for (const t of r) t.dispose();
    const calls = async (n: number) => {
      for (let i = 0; i < n; i++) for (const t of f(xs[0])) t.dispose();
      await xs[0].data();
      return { pool: gpu.poolStats().buffers, plan: M.jitStats(f).lastPlan?.pooledBuffers };
    };
    // Each call's shared buffer leaves the plan and, once disposed, returns to the pool: later
    // calls reuse it, so neither the pool nor the plan grows.
    const settled = await calls(5);
    expect(await calls(20)).toEqual(settled);
  });
});
