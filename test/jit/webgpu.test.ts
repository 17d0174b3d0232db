/**
 * jit on WebGPU: the plan of fused WGSL kernels agrees with eager WebGPU on random programs (values
 * and gradients, float32) and on a SAC update, and needs fewer dispatches than eager mode.
 *
 * The random programs are `gpuProgram`'s (webgpu-plans.ts): built on the CPU, run on WebGPU.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import type { WebGPUPlanStats } from '../../src/autodiff/jit/plan-webgpu';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate, type SacHyperparameters } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { runs } from '../autodiff/helpers';
import { createWebGPUBackend } from '../../src/tensor/webgpu';
import { describeWebGPU, expectGpuTreesClose, webgpu } from '../webgpu/gpu';
import { smallSac } from '../sac-fixtures';
import { gpuProgram, gradOfSquares } from './webgpu-plans';

/** Results of jitted and eager WebGPU programs, compared within `tol` of each leaf's largest value too. */
const expectTreesClose = (actual: unknown, expected: unknown, tol: number, message: string) =>
  expectGpuTreesClose(actual, expected, tol, message, { scaled: true });

const TOL = 1e-5;

describeWebGPU('jit on WebGPU', () => {
  it('jit(f)(x) equals eager f(x) on random float32 programs', async () => {
    let checked = 0;
    let fused = 0;
    let epilogues = 0;
    let prologues = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 8 }), async (seed, n) => {
        const p = gpuProgram(seed, n);
        if (!p) return;
        const f = M.jit(p.f);
        await expectTreesClose(f(...p.inputs), p.f(...p.inputs), TOL, p.listing);
        // The replayed plan (pooled buffers come back) gives the same values.
        await expectTreesClose(f(...p.inputs), p.f(...p.inputs), TOL, p.listing);
        expect(M.jitStats(f).lastPlan?.dispatchesPerCall, p.listing).toBeTypeOf('number');
        checked++;
        fused += M.jitStats(f).lastPlan?.fusedEquations ?? 0;
        epilogues += (M.jitStats(f).lastPlan as WebGPUPlanStats).epilogues;
        prologues += (M.jitStats(f).lastPlan as WebGPUPlanStats).prologues;
      }),
      { numRuns: runs(60) },
    );
    // Programs with a float64 value are skipped; nearly all are float32 throughout, and fuse;
    // some groups are computed inside products and reductions.
    expect(checked).toBeGreaterThan(runs(60) / 2);
    expect(fused).toBeGreaterThan(checked);
    console.log(`[jit webgpu] random programs: ${checked} checked, ${epilogues} epilogues, ${prologues} prologues`);
    expect(epilogues).toBeGreaterThan(0);
    expect(prologues).toBeGreaterThan(0);
  });

  it('jit(grad(f))(x) equals eager grad(f)(x) on random float32 programs', async () => {
    let gradEpilogues = 0;
    let gradPrologues = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), async (seed, n) => {
        const p = gpuProgram(seed, n);
        if (!p) return;
        const g = gradOfSquares(p.f, p.inputs.length);
        const jg = M.jit(g);
        await expectTreesClose(jg(...p.inputs), g(...p.inputs), TOL, p.listing);
        await expectTreesClose(jg(...p.inputs), g(...p.inputs), TOL, p.listing);
        gradEpilogues += (M.jitStats(jg).lastPlan as WebGPUPlanStats).epilogues;
        gradPrologues += (M.jitStats(jg).lastPlan as WebGPUPlanStats).prologues;
      }),
      { numRuns: runs(40) },
    );
    console.log(`[jit webgpu] gradients of random programs: ${gradEpilogues} epilogues, ${gradPrologues} prologues`);
    expect(gradEpilogues).toBeGreaterThan(0);
    expect(gradPrologues).toBeGreaterThan(0);
  });

  it('keeps NaN and infinities where a fused kernel computes x - x (the compiler may fold it to 0), as eager does', async () => {
    const backend = webgpu();
    const x = M.tensor([NaN, Infinity, -Infinity, 1, -0], { backend });
    const programs: [string, (v: Tensor) => Tensor][] = [
      ['x - x', (v) => M.sub(v, v)],
      ['exp(x) - exp(x)', (v) => { const e = M.exp(v); return M.sub(e, e); }],
      // withValue's pattern: stopGradient is the identity in a plan.
      ['e + (s - stopGradient(s))', (v) => { const s = M.mul(v, 2); return M.add(M.mul(v, 3), M.sub(s, M.stopGradient(s))); }],
    ];
    for (const [name, f] of programs) {
      const eager = Array.from(await f(x).data());
      expect(Array.from(await M.jit(f)(x).data()), name).toEqual(eager);
      expect(eager.slice(0, 2).every(Number.isNaN), name).toBe(true);
    }
  });

  it('refuses what the backend cannot hold with the error eager mode gives (a float64 cast), and an index into an empty axis', async () => {
    const backend = webgpu();
    const x = M.tensor([1, 2], { backend });
    expect(() => M.jit((v: Tensor) => M.cast(M.cast(v, 'float64'), 'float32'))(x)).toThrow(M.BackendError);
    expect(() => M.jit((v: Tensor) => M.cast(M.cast(v, 'float64'), 'float32'))(x)).toThrow('cast: the webgpu backend has no float64 tensors (in a jit plan)');
    // The gradient of take from an empty slice scatters into an axis of size 0: every index is out of range.
    const idx = M.tensor([0], { dtype: 'int32', backend });
    const g = M.jit(M.grad((y: Tensor) => M.sum(M.take(M.slice(y, [0, 0]), idx))));
    expect(() => g(M.tensor([1, 2, 3], { backend }))).toThrow(/scatterAdd: 1 indices into axis \d of shape \[[\d,]*\], which has no elements: every index is out of range/);
  });

  it('a fused group with more leaves than a kernel binds is split, and agrees', async () => {
    const gpu = webgpu();
    const n = gpu.storageBuffersPerKernel + 3;
    const xs = Array.from({ length: n }, (_, i) => M.tensor(Float32Array.from({ length: 6 }, (_, j) => i + j / 7), { shape: [2, 3], backend: gpu }));
    const f = (...vs: Tensor[]) => vs.reduce((acc, v, i) => (i % 2 ? acc.mul(v.tanh()) : acc.add(v.exp())));
    const jf = M.jit(f);
    await expectTreesClose(jf(...xs), f(...xs), TOL, 'chain');
    const stats = M.jitStats(jf).lastPlan;
    expect(stats?.fusedGroups).toBeGreaterThan(1);
    expect(stats?.dispatchesPerCall).toBeLessThan(2 * n - 1);
  });

  it('stores several values from one kernel (Adam: moments and parameters), and agrees', async () => {
    const gpu = webgpu();
    const adam = (...[p, g, m, v]: Tensor[]) => {
      const m1 = M.add(M.mul(m, 0.9), M.mul(g, 0.1));
      const v1 = M.add(M.mul(v, 0.999), M.mul(M.mul(g, g), 0.001));
      return [M.sub(p, M.div(M.mul(m1, 0.01), M.add(M.sqrt(v1), 1e-8))), m1, v1];
    };
    const xs = [0, 1, 2, 3].map((k) => M.tensor(Float32Array.from([1, -2, 3, 0.5, 7, -0.25].map((x) => x + k)), { shape: [2, 3], backend: gpu }));
    const jf = M.jit(adam);
    await expectTreesClose(jf(...xs), adam(...xs), TOL, 'adam');
    // One kernel when its 4 leaves, 7 scalar constants and 3 outputs fit the bindings; else a few.
    const bound = gpu.storageBuffersPerKernel >= 15 ? 1 : 3;
    expect(M.jitStats(jf).lastPlan?.dispatchesPerCall).toBeLessThanOrEqual(bound);
  });

  it('settle bounds the calls in flight: each call is one batch until the GPU finishes it', async () => {
    const gpu = webgpu();
    const f = M.jit((x: Tensor) => M.tanh(M.matmul(x, x)).add(1));
    let x: Tensor = M.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) / 8), { shape: [8, 8], backend: gpu });
    await gpu.settle();
    expect(gpu.inFlight).toBe(0);
    // No await in the loop: no completion can be delivered, so all 20 submitted calls are in flight.
    for (let i = 0; i < 20; i++) x = f(x);
    expect(gpu.inFlight).toBe(20);
    await gpu.settle(2);
    expect(gpu.inFlight).toBeLessThanOrEqual(2);
    await gpu.settle();
    expect(gpu.inFlight).toBe(0);
    expect(Number.isFinite((await x.data())[0])).toBe(true);
  });

  it('repeated calls reuse pooled buffers: one submit per call, the pool stays flat', async () => {
    const gpu = webgpu();
    const w = M.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), { shape: [8, 8], backend: gpu });
    const f = M.jit((x: Tensor) => M.matmul(x.tanh(), w).mul(2).add(x).exp().sum(1).softmax(0));
    let x: Tensor = M.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.cos(i) / 8), { shape: [8, 8], backend: gpu });
    // Every temporary is disposed (a plain 1e-3 would upload a new scalar per step), so the pool's
    // size does not depend on when the garbage collector runs.
    const rate = M.full([], 1e-3, { backend: gpu });
    const step = () => {
      const y = f(x);
      const column = y.reshape([8, 1]);
      const delta = column.mul(rate);
      const next = x.add(delta);
      for (const t of [x, y, column, delta]) t.dispose();
      x = next;
    };
    for (let i = 0; i < 5; i++) step();
    await x.data();
    const before = gpu.poolStats();
    const submitted = before.submitted;
    for (let i = 0; i < 200; i++) step();
    await x.data();
    const after = gpu.poolStats();
    expect(after.buffers).toBe(before.buffers);
    expect(after.pipelines).toBe(before.pipelines);
    // Each call's dispatches go out in one submit, counted when submitted.
    const perCall = M.jitStats(f).lastPlan?.dispatchesPerCall ?? 0;
    expect(perCall).toBeGreaterThan(0);
    expect(after.submitted - submitted).toBe(200 * (perCall + 2));
  });

  it('a call is one submit however many dispatches it has; eager ops submit every flushEvery', async () => {
    const gpu = await createWebGPUBackend({ flushEvery: 4 });
    const x = M.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) / 4), { shape: [8, 8], backend: gpu });
    // Ten dependent products: ten dispatches, none fused or merged.
    const chain = (x: Tensor) => Array.from({ length: 10 }).reduce<Tensor>((y) => M.matmul(y, x), x);
    const f = M.jit(chain);
    f(x);
    await gpu.settle();
    let submits = 0;
    const queue = gpu.device.queue;
    const submit = queue.submit.bind(queue);
    queue.submit = (buffers) => {
      submits++;
      submit(buffers);
    };
    const y = f(x);
    expect(M.jitStats(f).lastPlan?.dispatchesPerCall).toBe(10);
    expect(submits).toBe(1);
    const eager = chain(x);
    expect(submits).toBe(3); // after the 4th and 8th dispatches
    expect(Array.from(await y.data())).toEqual(Array.from(await eager.data()));
  });

  it('returns inputs and shared values as tensors of their own', async () => {
    const gpu = webgpu();
    const x = M.tensor([1, 2, 3, 4], { shape: [2, 2], backend: gpu });
    const f = M.jit((v: Tensor) => {
      const y = v.exp();
      return { v, y, z: y, r: y.reshape([4]) };
    });
    const out = f(x);
    out.y.dispose();
    out.v.dispose();
    expect(Array.from(await out.z.data())).toEqual(Array.from(await x.exp().data()));
    expect(Array.from(await out.r.data())).toEqual(Array.from(await x.exp().data()));
    expect(Array.from(await x.data())).toEqual([1, 2, 3, 4]);
  });

  it.each([
    ['sg-rp', 'single', 'rp'],
    ['sgm-mrp', 'mixture', 'mrp'],
  ] as const)('a jitted %s SAC update agrees with eager WebGPU within 1e-5 and dispatches less', async (_name, kind, estimator) => {
    const gpu = webgpu();
    const h: SacHyperparameters = smallSac({ obsDim: 3, head: { actionDim: 1, kind, components: 5, low: -1, high: 1 }, estimator, hidden: [32, 32] });
    const replay = new ReplayBuffer({ capacity: 256, obsDim: 3, actionDim: 1 });
    const noise = (i: number, n: number) => Array.from({ length: n }, (_, j) => Math.sin(i * 12.9898 + j * 78.233));
    for (let i = 0; i < 256; i++) {
      replay.add({ obs: noise(i, 3), action: noise(i + 7, 1), reward: [Math.cos(i)], nextObs: noise(i + 1, 3), terminated: [i % 50 === 0 ? 1 : 0] });
    }
    const key = M.tensor(rawKey(0), { backend: gpu });
    const batch = replay.sample(rawFoldIn(rawKey(1), 0), 32, { backend: gpu });
    const state = initSac(h, key);
    const eager = makeSacUpdate(h, { jit: false });
    const jitted = makeSacUpdate(h);

    const count = (run: () => unknown) => {
      gpu.flush();
      const before = gpu.dispatched;
      const result = run();
      return { result, dispatches: gpu.dispatched - before };
    };
    const e = count(() => eager(state, batch, M.random.foldIn(key, 0)));
    jitted(state, batch, M.random.foldIn(key, 0)); // traces and compiles
    const j = count(() => jitted(state, batch, M.random.foldIn(key, 0)));
    await expectTreesClose(j.result, e.result, 1e-5, 'sac update');
    // foldIn runs one kernel eagerly outside the jitted update in both counts.
    expect(j.dispatches).toBeLessThan(e.dispatches);
    console.log(`[jit webgpu] ${_name}: dispatches per update eager ${e.dispatches}, jit ${j.dispatches}`);
  });
});
