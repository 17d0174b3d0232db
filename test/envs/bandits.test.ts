import { describe, expect, it } from 'vitest';
import { bimodalBandit, EnvError, type GaussianBandit, makeEnv, ModelEnv, syntheticBandit } from '../../src/envs';

/** The reward rebuilt from the exposed parameters, as the tensor layer will: scale * sum w N(a; mu, s). */
function fromParameters(b: GaussianBandit, a: number): number {
  let sum = 0;
  for (let k = 0; k < b.means.length; k++) {
    const z = (a - b.means[k]) / b.stds[k];
    sum += (b.weights[k] * Math.exp(-(z * z) / 2)) / (b.stds[k] * Math.sqrt(2 * Math.PI));
  }
  return b.scale * sum;
}

/** Max of the rebuilt reward on a grid of step 1e-5 over [low, high]. */
function gridMax(b: GaussianBandit): number {
  let best = -Infinity;
  const n = Math.round((b.high - b.low) / 1e-5);
  for (let i = 0; i <= n; i++) best = Math.max(best, fromParameters(b, b.low + ((b.high - b.low) * i) / n));
  return best;
}

describe('BimodalBandit', () => {
  it('is two equal bumps at -1, +1 of std 0.1 on [-2, 2], normalized to a maximum of 1', () => {
    const b = bimodalBandit();
    expect([b.means, b.stds, b.weights, b.low, b.high]).toEqual([[-1, 1], [0.1, 0.1], [1, 1], -2, 2]);
    // At a mode the other bump adds N(2; 0, 0.1) / N(0; 0, 0.1) = e^-200 of the peak: scale = 0.1 sqrt(2pi).
    expect(b.scale).toBeCloseTo(0.1 * Math.sqrt(2 * Math.PI), 15);
    expect(b.reward(1)).toBeCloseTo(1, 14);
    expect(b.reward(Float64Array.of(-1))).toBeCloseTo(1, 14);
    expect(b.reward(0) / (2 * Math.exp(-50))).toBeCloseTo(1, 12); // both bumps, each e^-50 of a peak
  });

  it('normalizes overlapping bumps too (the maximum is then between the means)', () => {
    const b = bimodalBandit({ means: [-0.1, 0.1], std: 0.2 });
    expect(b.reward(0)).toBeCloseTo(1, 12); // the bumps merge into one peak at 0
    const m = gridMax(b);
    expect(m).toBeLessThanOrEqual(1 + 1e-12);
    expect(m).toBeGreaterThan(1 - 1e-9);
  });

  it('exposes parameters that rebuild its reward exactly', () => {
    const b = bimodalBandit({ means: [-0.7, 1.2], std: 0.05 });
    for (let a = -2.5; a <= 2.5; a += 0.01) expect(b.reward(a)).toBeCloseTo(fromParameters(b, a), 14);
    expect([b.means, b.stds, b.weights].every(Object.isFrozen)).toBe(true); // cannot drift from reward()
  });

  it('is a one-step episode with a constant zero observation, clipping the action to the box', () => {
    const env = makeEnv('BimodalBandit', { high: 1.5 });
    expect(Array.from(env.reset({ seed: 3 }).obs)).toEqual([0]);
    const r = env.step([7]);
    expect(r).toMatchObject({ terminated: true, truncated: false });
    expect(Array.from(r.obs)).toEqual([0]);
    expect(r.reward).toBe((env.model as GaussianBandit).reward(1.5));
  });

  it('rejects bad parameters', () => {
    expect(() => bimodalBandit({ std: 0 })).toThrow(new EnvError('invalid-config', 'BimodalBandit: std must be a positive number, got 0'));
    expect(() => bimodalBandit({ low: 1, high: 1 })).toThrow('BimodalBandit: the action box needs finite low < high, got [1, 1]');
  });
});

describe('SyntheticBandit', () => {
  it('draws N means and stds uniformly within the configured ranges, deterministically per seed', () => {
    const config = { seed: 11, modes: 7, meanRange: [-1, 0.5] as const, stdRange: [0.1, 0.3] as const };
    const b = syntheticBandit(config);
    expect(b.means.length).toBe(7);
    expect(b.means.every((m) => m >= -1 && m < 0.5)).toBe(true);
    expect(b.stds.every((s) => s >= 0.1 && s < 0.3)).toBe(true);
    expect(b.weights).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(syntheticBandit(config).means).toEqual(b.means);
    expect(syntheticBandit({ ...config, seed: 12 }).means).not.toEqual(b.means);
  });

  it('spreads the means over their range (fixed seeds, 400 draws: each quarter holds 25% +- 7.5%)', () => {
    const means = Array.from({ length: 80 }, (_, seed) => syntheticBandit({ seed, modes: 5 }).means).flat();
    for (let q = 0; q < 4; q++) {
      const lo = -1.5 + 0.75 * q;
      const share = means.filter((m) => m >= lo && m < lo + 0.75).length / means.length;
      expect(Math.abs(share - 0.25)).toBeLessThan(0.075);
    }
  });

  it.each([0, 1, 2, 3, 4])('seed %i: its maximum over the action box is 1 (dense grid check)', (seed) => {
    const b = syntheticBandit({ seed });
    const m = gridMax(b);
    expect(m).toBeLessThanOrEqual(1 + 1e-12);
    expect(m).toBeGreaterThan(1 - 1e-8);
    for (let a = -2; a <= 2; a += 0.013) expect(b.reward(a)).toBeCloseTo(fromParameters(b, a), 14);
  });

  it('rejects bad configurations', () => {
    expect(() => syntheticBandit({ modes: 0 })).toThrow('SyntheticBandit: modes must be a positive integer, got 0');
    expect(() => syntheticBandit({ stdRange: [0, 1] })).toThrow(
      'SyntheticBandit: stdRange must be a finite range lo <= hi with lo > 0, got [0, 1]',
    );
    expect(() => syntheticBandit({ seed: 0.5 })).toThrow('SyntheticBandit: seed must be a safe integer, got 0.5');
  });

  it('works as an env through ModelEnv', () => {
    const env = new ModelEnv(syntheticBandit({ seed: 2 }));
    env.reset();
    const best = env.model.means[0];
    expect(env.step([best]).reward).toBe(env.model.reward(best));
  });
});
