/**
 * Step profiles of CPU plans (`profileCpu`): one entry per plan called during the recording, one
 * step per step the plan runs (as `PlanStats.steps` counts them), named by what it computes, with
 * the steps' times inside the call's; results identical to an untimed call; nothing recorded
 * outside a recording; recordings refuse to nest.
 */
import { describe, expect, it, vi } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { randomValues } from '../tensor/helpers';
import { expectTreesIdentical } from './helpers';

const f32 = (shape: number[], seed: number) => M.tensor(Float32Array.from(randomValues(seed, shape.reduce((a, b) => a * b, 1))), { shape });

/** A layer and a loss: a product, a fused bias-and-ReLU loop, a sum. */
const layer = (x: Tensor, w: Tensor) => M.sum(M.maximum(M.add(M.matmul(x, w), 0.5), 0));

describe('profileCpu', () => {
  it('times every step of each plan called, under names saying what each computes', () => {
    const f = M.jit(layer, { name: 'layer' });
    const g = M.jit((x: Tensor) => M.mul(M.exp(x), 2), { name: 'scale' });
    const [x, w] = [f32([8, 16], 1), f32([16, 12], 2)];
    const untimed = f(x, w);
    const { plans } = M.profileCpu(() => {
      for (let t = 0; t < 5; t++) expectTreesIdentical(f(x, w), untimed);
      g(x);
    });
    expect(plans.map((p) => [p.plan, p.calls])).toEqual([
      ['layer', 5],
      ['scale', 1],
    ]);
    const [profile] = plans;
    expect(profile.steps).toHaveLength(M.jitStats(f).lastPlan?.steps as number);
    const names = profile.steps.map((s) => s.step);
    expect(names).toContain('matmul 8x16·16x12 wasm');
    expect(names.some((name) => /^fused\[add,maximum\] \[8,12\] (wasm|js)$/.test(name))).toBe(true);
    expect(names.some((name) => name.startsWith('reduceSum [8,12] → []'))).toBe(true);
    for (const { ms } of profile.steps) expect(ms).toBeGreaterThanOrEqual(0);
    const stepsMs = profile.steps.reduce((sum, s) => sum + s.ms, 0);
    expect(stepsMs).toBeLessThanOrEqual(profile.callMs * (1 + 1e-12));
    expect(plans[1].steps.map((s) => s.step)).toEqual(['fused[exp,mul] [8,16] wasm']);
  });

  it('gives each step the clock time from its start to its end', () => {
    const f = M.jit(layer);
    const [x, w] = [f32([4, 8], 5), f32([8, 4], 6)];
    f(x, w);
    // A clock that ticks 1 ms per reading: each step, timed between two readings, takes 1 ms.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock++);
    try {
      const [profile] = M.profileCpu(() => f(x, w)).plans;
      expect(profile.steps.map((s) => s.ms)).toEqual(profile.steps.map(() => 1));
      expect(profile.callMs).toBeGreaterThanOrEqual(profile.steps.length);
    } finally {
      now.mockRestore();
    }
  });

  it('records only inside a recording, and refuses to nest', () => {
    const f = M.jit(layer);
    const [x, w] = [f32([4, 4], 3), f32([4, 4], 4)];
    f(x, w);
    expect(M.profileCpu(() => undefined).plans).toEqual([]);
    expect(() => M.profileCpu(() => M.profileCpu(() => f(x, w)))).toThrow(/profileCpu: a recording is already running/);
    // The failed recording left none running: a new one records.
    expect(M.profileCpu(() => f(x, w)).plans.map((p) => [p.plan, p.calls])).toEqual([['layer', 1]]);
  });
});
