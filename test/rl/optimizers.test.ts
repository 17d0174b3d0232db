/**
 * sgd (momentum, dampening, nesterov, weight decay), rmsprop, adagrad and chain against PyTorch: plain
 * float64 transcriptions of the pseudo-code in the torch.optim docs (written here, independently of
 * src/rl/optim), and a fixture from PyTorch itself (fixtures/torch-optimizers.json, made by
 * fixtures/torch-optimizers.py; the tests only read the JSON).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as M from '../../src';
import { describeWebGPU, webgpu } from '../webgpu/gpu';

type DT = 'float32' | 'float64';
const N = 7; // elements: a [3] and nested.c [2, 2]
const STEPS = 5;

interface Params {
  a: M.Tensor;
  nested: { c: M.Tensor };
}

const tree = (v: readonly number[], dtype: DT, backend: M.Backend = M.cpu): Params => ({
  a: M.tensor(v.slice(0, 3), { dtype, backend }),
  nested: { c: M.tensor(v.slice(3, 7), { dtype, shape: [2, 2], backend }) },
});
const flat = (p: Params) => [...p.a.dataSync(), ...p.nested.c.dataSync()];

/** The params after each of the steps, and the final state. */
function runSteps<S>(opt: M.Optimizer<S>, p0: readonly number[], grads: readonly (readonly number[])[], dtype: DT): [number[][], S] {
  let params = tree(p0, dtype);
  let state = opt.init(params);
  const out: number[][] = [];
  for (const g of grads) {
    [params, state] = opt.update(tree(g, dtype), state, params);
    out.push(flat(params));
  }
  return [out, state];
}

/** Fails with the largest error unless every |got - want| <= tol · (1 + |want|). */
function expectClose(got: readonly number[][], want: readonly number[][], tol: number, label: string): void {
  let worst = 0;
  got.forEach((row, t) => row.forEach((g, i) => (worst = Math.max(worst, Math.abs(g - want[t][i]) / (1 + Math.abs(want[t][i]))))));
  expect(worst, label).toBeLessThanOrEqual(tol);
  expect(got.flat().every(Number.isFinite), label).toBe(true);
}

// ---- References: torch.optim's documented algorithms, elementwise on float64 numbers. t counts from 1. ----

interface SgdRef { lr: number; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
interface RmspropRef { lr: number; alpha?: number; eps?: number; momentum?: number; centered?: boolean; weightDecay?: number }
interface AdagradRef { lr: number; lrDecay?: number; initialAccumulatorValue?: number; eps?: number; weightDecay?: number }

/** torch.optim.SGD's pseudo-code: b_1 = g_1 (no dampening), then b_t = μ b + (1 - τ) g. */
function referenceSgd(c: SgdRef, p0: readonly number[], grads: readonly (readonly number[])[], lrAt = (_t: number) => c.lr): number[][] {
  const { momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = c;
  const theta = [...p0];
  let b: number[] = [];
  return grads.map((g0, i) => {
    const t = i + 1;
    const g = g0.map((gj, j) => (weightDecay !== 0 ? gj + weightDecay * theta[j] : gj));
    let d = g;
    if (momentum !== 0) {
      b = t > 1 ? b.map((bj, j) => momentum * bj + (1 - dampening) * g[j]) : [...g];
      d = nesterov ? g.map((gj, j) => gj + momentum * b[j]) : b;
    }
    for (let j = 0; j < theta.length; j++) theta[j] -= lrAt(t) * d[j];
    return [...theta];
  });
}

/** torch.optim.RMSprop's pseudo-code: ε outside the square root; centered subtracts (g^ave)². */
function referenceRmsprop(c: RmspropRef, p0: readonly number[], grads: readonly (readonly number[])[], lrAt = (_t: number) => c.lr): number[][] {
  const { alpha = 0.99, eps = 1e-8, momentum = 0, centered = false, weightDecay = 0 } = c;
  const theta = [...p0];
  const v = theta.map(() => 0);
  const gAve = theta.map(() => 0);
  const b = theta.map(() => 0);
  return grads.map((g0, i) => {
    const t = i + 1;
    for (let j = 0; j < theta.length; j++) {
      const g = weightDecay !== 0 ? g0[j] + weightDecay * theta[j] : g0[j];
      v[j] = alpha * v[j] + (1 - alpha) * g * g;
      let vTilde = v[j];
      if (centered) {
        gAve[j] = gAve[j] * alpha + (1 - alpha) * g;
        vTilde -= gAve[j] * gAve[j];
      }
      if (momentum > 0) {
        b[j] = momentum * b[j] + g / (Math.sqrt(vTilde) + eps);
        theta[j] -= lrAt(t) * b[j];
      } else {
        theta[j] -= (lrAt(t) * g) / (Math.sqrt(vTilde) + eps);
      }
    }
    return [...theta];
  });
}

/** torch.optim.Adagrad's pseudo-code: γ̃ = γ / (1 + (t - 1) η), sum starts at the initial accumulator value. */
function referenceAdagrad(c: AdagradRef, p0: readonly number[], grads: readonly (readonly number[])[], lrAt = (_t: number) => c.lr): number[][] {
  const { lrDecay = 0, initialAccumulatorValue = 0, eps = 1e-10, weightDecay = 0 } = c;
  const theta = [...p0];
  const sum = theta.map(() => initialAccumulatorValue);
  return grads.map((g0, i) => {
    const t = i + 1;
    const rate = lrAt(t) / (1 + (t - 1) * lrDecay);
    for (let j = 0; j < theta.length; j++) {
      const g = weightDecay !== 0 ? g0[j] + weightDecay * theta[j] : g0[j];
      sum[j] += g * g;
      theta[j] -= (rate * g) / (Math.sqrt(sum[j]) + eps);
    }
    return [...theta];
  });
}

// ---- Arbitraries ----

/** Uniform on [min, max] (fc.double favours values near 0 and the bounds, which would hide e.g. dampening). */
const uniform = (min: number, max: number) => fc.integer({ min: 0, max: 2 ** 30 }).map((i) => min + ((max - min) * i) / 2 ** 30);
/** Mostly uniform, sometimes fc.double's tiny and extreme values. */
const value = fc.oneof({ arbitrary: uniform(-3, 3), weight: 4 }, { arbitrary: fc.double({ min: -3, max: 3, noNaN: true }), weight: 1 });
const vector = fc.array(value, { minLength: N, maxLength: N });
const problem = fc.record({ p0: vector, grads: fc.array(vector, { minLength: STEPS, maxLength: STEPS }) });
const lr = uniform(1e-3, 0.5);
const decay = fc.oneof(fc.constant(0), uniform(1e-4, 0.2));
const momentum = uniform(0.01, 0.99);
const sgdConfig: fc.Arbitrary<SgdRef> = fc.oneof(
  fc.record({ lr, weightDecay: decay }),
  fc.record({ lr, momentum, dampening: fc.oneof(fc.constant(0), fc.constant(1), uniform(0, 1)), weightDecay: decay }),
  fc.record({ lr, momentum, nesterov: fc.constant(true), weightDecay: decay }),
);
const rmspropConfig: fc.Arbitrary<RmspropRef> = fc.record({
  lr,
  alpha: uniform(0.5, 0.999),
  eps: fc.constantFrom(1e-8, 1e-6, 1e-3),
  momentum: fc.oneof(fc.constant(0), uniform(0.01, 0.95)),
  centered: fc.boolean(),
  weightDecay: decay,
});
const adagradConfig: fc.Arbitrary<AdagradRef> = fc.record({
  lr,
  lrDecay: fc.oneof(fc.constant(0), uniform(1e-3, 0.5)),
  initialAccumulatorValue: fc.oneof(fc.constant(0), uniform(1e-3, 1)),
  eps: fc.constantFrom(1e-10, 1e-6),
  weightDecay: decay,
});

const f32 = (v: readonly number[]) => v.map(Math.fround);

/** Runs `opt` in float64 against the reference (tight) and in float32 from the same values rounded (loose). */
function checkAgainstReference<C>(
  config: fc.Arbitrary<C>,
  make: (c: C) => M.Optimizer<unknown>,
  reference: (c: C, p0: readonly number[], grads: readonly (readonly number[])[]) => number[][],
  seed: number,
): void {
  fc.assert(
    fc.property(config, problem, (c, { p0, grads }) => {
      const opt = make(c);
      expectClose(runSteps(opt, p0, grads, 'float64')[0], reference(c, p0, grads), 1e-14, `float64 ${JSON.stringify(c)}`);
      const [p32, g32] = [f32(p0), grads.map(f32)];
      expectClose(runSteps(opt, p32, g32, 'float32')[0], reference(c, p32, g32), 2e-6, `float32 ${JSON.stringify(c)}`);
    }),
    { numRuns: 40, seed },
  );
}

describe('sgd (torch.optim.SGD)', () => {
  it('matches the float64 transcription of PyTorch over 5 steps (random params, grads, momentum, dampening, nesterov, decay)', () => {
    checkAgainstReference(sgdConfig, (c) => M.sgd(c), referenceSgd, 101);
  });

  it("starts the momentum buffer at the first gradient, undamped, as PyTorch (hand numbers)", () => {
    // lr 1, μ 0.5, τ 0.5, g = 1 each step from p = 0: b = 1, then 0.5 · 1 + 0.5 · 1 = 1: p = -1, -2, -3.
    // A buffer started at 0 with the damped rule would give b = 0.5, 0.75, ...: p = -0.5, -1.25, ...
    const opt = M.sgd({ lr: 1, momentum: 0.5, dampening: 0.5 });
    const [steps] = runSteps(opt, [0, 0, 0, 0, 0, 0, 0], [1, 2, 3].map(() => Array(N).fill(1)), 'float64');
    expect(steps.map((row) => row[0])).toEqual([-1, -2, -3]);
    // Nesterov, lr 1, μ 0.5, g = 1: b = 1, step g + μ b = 1.5; b = 1.5, step 1 + 0.75 = 1.75.
    const [nesterov] = runSteps(M.sgd({ lr: 1, momentum: 0.5, nesterov: true }), Array(N).fill(0), [1, 2].map(() => Array(N).fill(1)), 'float64');
    expect(nesterov.map((row) => row[0])).toEqual([-1.5, -3.25]);
  });

  it("keeps plain SGD's state empty (with or without weight decay); momentum or a schedule add an int32 count", () => {
    const p = tree(Array(N).fill(1), 'float64');
    expect(M.sgd({ lr: 0.1 }).init(p)).toEqual({});
    const decayed = M.sgd({ lr: 0.1, weightDecay: 0.5 });
    const [next, state] = decayed.update(tree(Array(N).fill(2), 'float64'), decayed.init(p), p);
    expect(state).toEqual({});
    expect(flat(next)).toEqual(Array(N).fill(1 - 0.1 * (2 + 0.5)));
    const scheduled = M.sgd({ lr: M.linearSchedule({ init: 0.1, end: 0.01, steps: 5 }) }).init(p);
    expect(Object.keys(scheduled)).toEqual(['count']);
    const withMomentum = M.sgd({ lr: 0.1, momentum: 0.9 }).init(p);
    expect(Object.keys(withMomentum).sort()).toEqual(['count', 'momentumBuffer']);
    expect([withMomentum.count?.dtype, withMomentum.count?.shape, withMomentum.count?.itemSync()]).toEqual(['int32', [], 0]);
    expect(flat(withMomentum.momentumBuffer as Params)).toEqual(Array(N).fill(0));
  });
});

describe('rmsprop (torch.optim.RMSprop)', () => {
  it('matches the float64 transcription of PyTorch over 5 steps (random params, grads, alpha, eps, momentum, centered, decay)', () => {
    checkAgainstReference(rmspropConfig, (c) => M.rmsprop(c), referenceRmsprop, 202);
  });

  it('adds eps outside the square root (hand numbers) and keeps only the buffers it needs', () => {
    // From v = 0 with g = 1, α = 0.99, ε = 0.1: v = 0.01, step lr · 1 / (√0.01 + 0.1) = 5 lr (inside: 1/√0.11 ≈ 3.015 lr).
    const [steps] = runSteps(M.rmsprop({ lr: 0.1, eps: 0.1 }), Array(N).fill(0), [Array(N).fill(1)], 'float64');
    expect(Math.abs(steps[0][0] + 0.5)).toBeLessThan(1e-15);
    const p = tree(Array(N).fill(1), 'float64');
    expect(Object.keys(M.rmsprop({ lr: 0.1 }).init(p)).sort()).toEqual(['count', 'squareAvg']);
    expect(Object.keys(M.rmsprop({ lr: 0.1, centered: true, momentum: 0.9 }).init(p)).sort()).toEqual(['count', 'gradAvg', 'momentumBuffer', 'squareAvg']);
  });
});

describe('adagrad (torch.optim.Adagrad)', () => {
  it('matches the float64 transcription of PyTorch over 5 steps (random params, grads, lrDecay, initial accumulator, eps, decay)', () => {
    checkAgainstReference(adagradConfig, (c) => M.adagrad(c), referenceAdagrad, 303);
  });

  it('decays the rate as lr / (1 + (t - 1) lrDecay) and starts the sum at initialAccumulatorValue (hand numbers)', () => {
    // g = 1, sum starts at 3, lr 1, η 1, ε 0: t=1 sum 4, step 1/2; t=2 sum 5, step (1/2)/√5.
    const [steps, state] = runSteps(M.adagrad({ lr: 1, lrDecay: 1, initialAccumulatorValue: 3, eps: 0 }), Array(N).fill(0), [1, 2].map(() => Array(N).fill(1)), 'float64');
    expect(steps[0][0]).toBe(-0.5);
    expect(Math.abs(steps[1][0] - (-0.5 - 0.5 / Math.sqrt(5)))).toBeLessThan(1e-15);
    expect(state.count.itemSync()).toBe(2);
    expect(flat(state.sum as Params)).toEqual(Array(N).fill(5));
  });
});

interface FixtureRun { params: number[][]; grads: number[][][]; expected: number[][][] }
interface Fixture { torch: string; steps: number; cases: { optimizer: string; config: Record<string, number | boolean>; float64: FixtureRun; float32: FixtureRun }[] }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch-optimizers.json', import.meta.url), 'utf8')) as Fixture;
const flatLeaves = (leaves: readonly unknown[]) => (leaves as number[][]).flatMap((leaf) => leaf.flat());
const makers: Record<string, (c: never) => M.Optimizer<unknown>> = { sgd: M.sgd, rmsprop: M.rmsprop, adagrad: M.adagrad, adam: M.adam, adamw: M.adamw };

describe(`PyTorch's own numbers (fixture from torch ${fixture.torch})`, () => {
  it.each(fixture.cases.map((c) => [`${c.optimizer} ${JSON.stringify(c.config)}`, c] as const))('%s: float64 within 1e-14, float32 within 1e-6', (_name, c) => {
    const opt = makers[c.optimizer](c.config as never);
    for (const [dtype, tol] of [['float64', 1e-14], ['float32', 1e-6]] as const) {
      const run = c[dtype];
      const [got] = runSteps(opt, flatLeaves(run.params), run.grads.map(flatLeaves), dtype);
      expectClose(got, run.expected.map(flatLeaves), tol, `${c.optimizer} ${dtype}`);
    }
  });

  it('covers every new optimizer and option', () => {
    const seen = new Set(fixture.cases.flatMap((c) => Object.keys(c.config).map((k) => `${c.optimizer}.${k}`)));
    for (const key of ['sgd.momentum', 'sgd.dampening', 'sgd.nesterov', 'sgd.weightDecay', 'rmsprop.alpha', 'rmsprop.eps', 'rmsprop.momentum', 'rmsprop.centered', 'rmsprop.weightDecay', 'adagrad.lrDecay', 'adagrad.initialAccumulatorValue', 'adagrad.eps', 'adagrad.weightDecay']) {
      expect(seen.has(key), key).toBe(true);
    }
  });
});

/** linearSchedule({ init: 0.1, end: 0.01, steps: 4 }) at count, in float32 as the schedule computes it. */
const scheduleAt = (count: number) => Math.fround(Math.fround(Math.min(Math.fround(count / 4), 1) * Math.fround(0.01 - 0.1)) + Math.fround(0.1));
const schedule = () => M.linearSchedule({ init: 0.1, end: 0.01, steps: 4 });

describe('schedules', () => {
  it('each optimizer takes step t at the schedule of count t - 1', () => {
    const p0 = [0.5, -1.5, 2, 1, 0, -3, 0.25];
    const grads = Array.from({ length: 7 }, (_, t) => p0.map((_v, i) => Math.sin(1.3 * t + 0.7 * i) * (1 + i)));
    const lrAt = (t: number) => scheduleAt(t - 1);
    const cases: [M.Optimizer<unknown>, number[][]][] = [
      [M.sgd({ lr: schedule() }), referenceSgd({ lr: NaN }, p0, grads, lrAt)],
      [M.sgd({ lr: schedule(), momentum: 0.9, dampening: 0.1 }), referenceSgd({ lr: NaN, momentum: 0.9, dampening: 0.1 }, p0, grads, lrAt)],
      [M.rmsprop({ lr: schedule(), centered: true, momentum: 0.5 }), referenceRmsprop({ lr: NaN, centered: true, momentum: 0.5 }, p0, grads, lrAt)],
      [M.adagrad({ lr: schedule(), lrDecay: 0.3 }), referenceAdagrad({ lr: NaN, lrDecay: 0.3 }, p0, grads, lrAt)],
    ];
    for (const [opt, want] of cases) expectClose(runSteps(opt, p0, grads, 'float64')[0], want, 1e-14, 'scheduled');
  });
});

describe('jit', () => {
  const cases: [string, () => M.Optimizer<unknown>][] = [
    ['sgd momentum dampening, scheduled', () => M.sgd({ lr: schedule(), momentum: 0.9, dampening: 0.2, weightDecay: 0.01 })],
    ['sgd nesterov', () => M.sgd({ lr: 0.05, momentum: 0.8, nesterov: true })],
    ['rmsprop centered momentum, scheduled', () => M.rmsprop({ lr: schedule(), centered: true, momentum: 0.9, weightDecay: 0.1 })],
    ['adagrad lrDecay, scheduled', () => M.adagrad({ lr: schedule(), lrDecay: 0.1, initialAccumulatorValue: 0.1 })],
    ['chain(clip, sgd momentum)', () => M.chain(M.clipByGlobalNormTransform(1), M.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.5 }))],
    ['chain(clip, adam)', () => M.chain(M.clipByGlobalNormTransform(0.5), M.adam({ lr: 0.1 }))],
  ];
  it.each(cases)('%s: the jitted update traces once over 5 steps and equals eager mode', (_name, make) => {
    const opt = make();
    const p0 = [0.5, -1.5, 2, 1, 0, -3, 0.25];
    const grads = Array.from({ length: 5 }, (_, t) => p0.map((_v, i) => Math.cos(0.9 * t + i) * (2 + i)));
    const [eager] = runSteps(opt, p0, grads, 'float64');
    const step = M.jit((params: Params, state: unknown, g: Params) => opt.update(g, state, params));
    let params = tree(p0, 'float64');
    let state = opt.init(params);
    const jitted: number[][] = [];
    for (const g of grads) {
      [params, state] = step(params, state, tree(g, 'float64'));
      jitted.push(flat(params));
    }
    expectClose(jitted, eager, 1e-15, 'jit vs eager');
    expect(M.jitStats(step).traceCount).toBe(1);
    // The first step differs from the rest (momentum's first buffer, schedules), so eager must move each step.
    expect(new Set(eager.map((row) => row[0])).size).toBe(5);
  });
});

describe('checkpoints', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'mixrl-optimizers-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['sgd', () => M.sgd({ lr: 0.1 })],
    ['sgd momentum', () => M.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.3 })],
    ['rmsprop centered momentum', () => M.rmsprop({ lr: 0.01, centered: true, momentum: 0.9 })],
    ['adagrad', () => M.adagrad({ lr: 0.1, lrDecay: 0.01 })],
    ['chain(clip, rmsprop)', () => M.chain(M.clipByGlobalNormTransform(1), M.rmsprop({ lr: 0.01 }))],
  ] as [string, () => M.Optimizer<unknown>][])('%s: the state is a pytree of tensors that survives save/load, and resuming from it continues exactly', async (name, make) => {
    const opt = make();
    const p0 = [0.5, -1.5, 2, 1, 0, -3, 0.25];
    const grads = Array.from({ length: 6 }, (_, t) => p0.map((_v, i) => Math.sin(t + 0.3 * i) * 3));
    const [straight] = runSteps(opt, p0, grads, 'float64');
    let params = tree(p0, 'float64');
    let state = opt.init(params);
    for (const g of grads.slice(0, 3)) [params, state] = opt.update(tree(g, 'float64'), state, params);
    // Every leaf is a tensor (plain sgd's state and the chain's clip member are {}, with none).
    expect(M.treeFlatten(state)[0].filter((leaf) => !(leaf instanceof M.Tensor))).toEqual([]);
    const path = join(dir, `${name.replace(/\W+/g, '-')}.mixrl`);
    const saved = await M.saveCheckpoint(path, { metadata: null, trees: { params, state }, arrays: {} });
    expect(M.isRight(saved)).toBe(true);
    const loaded = await M.loadCheckpoint(path);
    if (M.isLeft(loaded)) throw loaded.left;
    const restored = loaded.right.trees;
    expect(M.treeFlatten(restored.state)[1]).toEqual(M.treeFlatten(state)[1]);
    expect(M.treeLeaves(restored.state).map((t) => [t.dtype, t.shape, Array.from(t.dataSync())])).toEqual(
      M.treeLeaves(state).map((t) => [t.dtype, t.shape, Array.from(t.dataSync())]),
    );
    params = restored.params as Params;
    state = restored.state;
    const resumed: number[][] = [];
    for (const g of grads.slice(3)) {
      [params, state] = opt.update(tree(g, 'float64'), state, params);
      resumed.push(flat(params));
    }
    expect(resumed).toEqual(straight.slice(3));
  });
});

describe('chain', () => {
  const p0 = [0.5, -1.5, 2, 1, 0, -3, 0.25];
  const g = [3, -4, 1, 0.5, -2, 6, 1.5]; // norm ≈ 8.28

  it('chain(clipByGlobalNormTransform, sgd) equals clipByGlobalNorm then sgd by hand, clipping or not', () => {
    for (const maxNorm of [1, 100]) {
      for (const config of [{ lr: 0.1 }, { lr: 0.1, momentum: 0.9, dampening: 0.5 }]) {
        const chained = M.chain(M.clipByGlobalNormTransform(maxNorm), M.sgd(config));
        const plain = M.sgd(config);
        let [pc, pp] = [tree(p0, 'float64'), tree(p0, 'float64')];
        let sc = chained.init(pc);
        let sp = plain.init(pp);
        expect(sc).toEqual([{}, sp]);
        for (let t = 0; t < 3; t++) {
          const grads = tree(g.map((v) => v * (t + 1)), 'float64');
          [pc, sc] = chained.update(grads, sc, pc);
          [pp, sp] = plain.update(M.clipByGlobalNorm(grads, maxNorm), sp, pp);
          expect(flat(pc)).toEqual(flat(pp));
        }
        // Clipped: the first step moves by lr · maxNorm in norm; unclipped by lr · |g|.
        const [firstStep] = runSteps(chained, p0, [g], 'float64')[0];
        const moved = Math.hypot(...firstStep.map((v, i) => v - p0[i]));
        expect(Math.abs(moved - 0.1 * Math.min(maxNorm, Math.hypot(...g)))).toBeLessThan(1e-12);
      }
    }
  });

  it('chain(clip, adam) is adam on clipped gradients, its state [{}, AdamState]', () => {
    const chained = M.chain(M.clipByGlobalNormTransform(1), M.adam({ lr: 0.1 }));
    const state: [M.EmptyState, M.AdamState] = chained.init(tree(p0, 'float64'));
    expect(state[1].count.itemSync()).toBe(0);
    const [viaChain] = runSteps(chained, p0, [g, g.map((v) => -v)], 'float64');
    const adam = M.adam({ lr: 0.1 });
    let p = tree(p0, 'float64');
    let s = adam.init(p);
    const byHand: number[][] = [];
    for (const grads of [g, g.map((v) => -v)]) {
      [p, s] = adam.update(M.clipByGlobalNorm(tree(grads, 'float64'), 1), s, p);
      byHand.push(flat(p));
    }
    expect(viaChain).toEqual(byHand);
  });

  it('of transformations only is a transformation (clip 2 then clip 1 is clip 1); nested chains compose', () => {
    const both = M.chain(M.clipByGlobalNormTransform(2), M.clipByGlobalNormTransform(1));
    const grads = tree(g, 'float64');
    const [out, state] = both.transform(grads, both.init(grads), grads);
    expect(state).toEqual([{}, {}]);
    flat(out).forEach((v, i) => expect(v).toBeCloseTo(flat(M.clipByGlobalNorm(grads, 1))[i], 15));
    const nested = M.chain(both, M.sgd({ lr: 1 }));
    const [next] = nested.update(grads, nested.init(grads), tree(p0, 'float64'));
    flat(next).forEach((v, i) => expect(v).toBeCloseTo(p0[i] - flat(out)[i], 15));
  });

  it('refuses an optimizer before the last member, a non-member and a state of the wrong shape', () => {
    const adam = M.adam({ lr: 0.1 });
    // @ts-expect-error an optimizer may only come last
    expect(() => M.chain(adam, M.clipByGlobalNormTransform(1))).toThrow('chain: member 0 is an optimizer (it has update, not transform); only the last member may be one');
    // @ts-expect-error not a transformation
    expect(() => M.chain({ init: 1 })).toThrow('chain: member 0 is not a gradient transformation or an optimizer');
    const opt = M.chain(M.clipByGlobalNormTransform(1), adam);
    const p = tree(p0, 'float64');
    // @ts-expect-error a bare AdamState is not the chain's state
    expect(() => opt.update(p, adam.init(p), p)).toThrow("chain: the state must be an array of the 2 members' states");
    expect(() => M.clipByGlobalNormTransform(0)).toThrow('clipByGlobalNormTransform: maxNorm must be a positive finite number, got 0');
  });
});

describe('bad config', () => {
  it('names the optimizer and the key', () => {
    const cases: [() => unknown, string][] = [
      [() => M.sgd({ lr: -1 }), 'sgd: lr must be a positive number or a schedule, got -1'],
      [() => M.sgd({ lr: 0.1, momentum: -0.9 }), 'sgd: momentum must be a non-negative number, got -0.9'],
      [() => M.sgd({ lr: 0.1, momentum: 0.9, dampening: 1.5 }), 'sgd: dampening must be in [0, 1], got 1.5'],
      [() => M.sgd({ lr: 0.1, weightDecay: NaN }), 'sgd: weightDecay must be a non-negative number, got NaN'],
      [() => M.sgd({ lr: 0.1, nesterov: true }), 'sgd: nesterov needs momentum > 0 and dampening 0, got momentum 0 and dampening 0'],
      [() => M.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'sgd: nesterov needs momentum > 0 and dampening 0'],
      [() => M.sgd({ lr: 0.1, nesterov: 'yes' as never }), 'sgd: nesterov must be a boolean, got yes'],
      [() => M.sgd({ lr: 0.1, weight_decay: 0.1 } as never), 'sgd: unknown config key weight_decay'],
      [() => M.rmsprop({ lr: 0 }), 'rmsprop: lr must be a positive number or a schedule, got 0'],
      [() => M.rmsprop({ lr: 0.1, alpha: 1.1 }), 'rmsprop: alpha must be in [0, 1], got 1.1'],
      [() => M.rmsprop({ lr: 0.1, eps: -1e-8 }), 'rmsprop: eps must be a non-negative number, got -1e-8'],
      [() => M.rmsprop({ lr: 0.1, momentum: Infinity }), 'rmsprop: momentum must be a non-negative number, got Infinity'],
      [() => M.rmsprop({ lr: 0.1, centered: 1 as never }), 'rmsprop: centered must be a boolean, got 1'],
      [() => M.rmsprop({ lr: 0.1, weightDecay: -1 }), 'rmsprop: weightDecay must be a non-negative number, got -1'],
      [() => M.adagrad({ lr: NaN }), 'adagrad: lr must be a positive number or a schedule, got NaN'],
      [() => M.adagrad({ lr: 0.1, lrDecay: -0.1 }), 'adagrad: lrDecay must be a non-negative number, got -0.1'],
      [() => M.adagrad({ lr: 0.1, initialAccumulatorValue: -1 }), 'adagrad: initialAccumulatorValue must be a non-negative number, got -1'],
      [() => M.adagrad({ lr: 0.1, eps: -1 }), 'adagrad: eps must be a non-negative number, got -1'],
      [() => M.adagrad({ lr: 0.1, weightDecay: -1 }), 'adagrad: weightDecay must be a non-negative number, got -1'],
      [() => M.adagrad({ lr: 0.1, lr_decay: 0.1 } as never), 'adagrad: unknown config key lr_decay'],
      // PyTorch's Adam takes an L2 weight_decay; this adam has none, and must not ignore one.
      [() => M.adam({ lr: 0.1, weightDecay: 0.1 } as never), 'adam: unknown config key weightDecay'],
      [() => M.adamw({ lr: 0.1, weight_decay: 0.1 } as never), 'adamw: unknown config key weight_decay'],
      [() => M.adam(undefined as never), 'adam: expected a config object, got undefined'],
    ];
    for (const [make, message] of cases) {
      expect(make, message).toThrow(M.ArgumentError);
      expect(make, message).toThrow(message);
    }
  });

  it('refuses a state not made by the same optimizer', () => {
    const p = tree(Array(N).fill(1), 'float64');
    const momentum = M.sgd({ lr: 0.1, momentum: 0.9 });
    expect(() => momentum.update(p, {}, p)).toThrow("sgd: the state has no count tensor; make it with this optimizer's init");
    const centered = M.rmsprop({ lr: 0.1, centered: true });
    expect(() => centered.update(p, M.rmsprop({ lr: 0.1 }).init(p), p)).toThrow("rmsprop: the state has no gradAvg; make it with this optimizer's init");
    expect(() => M.adam({ lr: 0.1 }).update(p, M.sgd({ lr: 0.1 }).init(p) as never, p)).toThrow("adam: the state has no count tensor; make it with this optimizer's init");
    expect(() => M.adamw({ lr: 0.1 }).update(p, momentum.init(p) as never, p)).toThrow("adamw: the state has no mu; make it with this optimizer's init");
  });
});

describeWebGPU('the new optimizers on WebGPU', () => {
  it('sgd, rmsprop and adagrad in float32 agree with the CPU, eagerly and jitted', async () => {
    const p0 = [0.5, -1.5, 2, 1, 0, -3, 0.25];
    const grads = Array.from({ length: 4 }, (_, t) => p0.map((_v, i) => Math.sin(1.1 * t + i) * 2));
    for (const opt of [
      M.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }),
      M.rmsprop({ lr: 0.01, centered: true, momentum: 0.5 }),
      M.adagrad({ lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.1 }),
      M.chain(M.clipByGlobalNormTransform(1), M.sgd({ lr: 0.1, momentum: 0.9, nesterov: true })),
    ] as M.Optimizer<unknown>[]) {
      const [cpu] = runSteps(opt, p0, grads, 'float32');
      const step = M.jit((params: Params, state: unknown, g: Params) => opt.update(g, state, params));
      for (const jitted of [false, true]) {
        let params = tree(p0, 'float32', webgpu());
        let state = opt.init(params);
        for (const g of grads) [params, state] = jitted ? step(params, state, tree(g, 'float32', webgpu())) : opt.update(tree(g, 'float32', webgpu()), state, params);
        const got = [...(await params.a.data()), ...(await params.nested.c.data())];
        got.forEach((v, i) => expect(Math.abs(v - cpu[3][i])).toBeLessThan(1e-5 * (1 + Math.abs(cpu[3][i]))));
      }
      expect(M.jitStats(step).traceCount).toBe(1);
    }
  });
});
