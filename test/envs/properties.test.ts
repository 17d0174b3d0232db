import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { angleNormalize, Box, envIds, makeEnv } from '../../src/envs';
import { rawKey } from '../../src/tensor/threefry';

const FC = { numRuns: 60, seed: 20240611 };

/** Actions inside each env's box, as fractions of the way from low to high. */
const fractions = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 120 });

describe.each(envIds())('%s', (id) => {
  it('never produces NaN and keeps observations in observationSpace under random valid actions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fractions, (seed, fs) => {
        const env = makeEnv(id);
        const { low, high } = env.actionSpace;
        let { obs } = env.reset({ seed });
        expect(env.observationSpace.contains(obs)).toBe(true);
        for (const f of fs) {
          const r = env.step([low[0] + (high[0] - low[0]) * f]);
          obs = r.obs;
          expect(Number.isFinite(r.reward)).toBe(true);
          expect(env.observationSpace.contains(obs)).toBe(true);
          expect(env.state.every(Number.isFinite)).toBe(true);
          if (r.terminated || r.truncated) obs = env.reset().obs;
        }
      }),
      FC,
    );
  });

  it('clips an out-of-range action exactly like stepping with the clipped action', () => {
    const outside = fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(-1e300, 1e300));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.nat(50), outside, (seed, warmup, a) => {
        const env = makeEnv(id, id.includes('Bandit') ? {} : { maxEpisodeSteps: Infinity });
        env.reset({ seed });
        for (let t = 0; t < warmup && !id.includes('Bandit'); t++) {
          if (env.step(env.actionSpace.sample(rawKey(seed + t))).terminated) env.reset();
        }
        const start = env.state;
        const clipped = Math.min(Math.max(a, env.actionSpace.low[0]), env.actionSpace.high[0]);
        const raw = env.step([a]);
        const rawState = env.state;
        env.reset({ options: { state: start } });
        const ref = env.step([clipped]);
        expect(Array.from(raw.obs)).toEqual(Array.from(ref.obs));
        expect(Array.from(rawState)).toEqual(Array.from(env.state));
        expect(raw.terminated).toBe(ref.terminated);
        if (id === 'MountainCarContinuous-v0') {
          // The original charges 0.1 a^2 on the action as given, before clipping.
          expect(raw.reward).toBe((ref.terminated ? 100 : 0) - a * a * 0.1);
        } else {
          expect(raw.reward).toBe(ref.reward);
        }
      }),
      FC,
    );
  });
});

describe('angleNormalize', () => {
  it('lands in [-pi, pi) and differs from x by a multiple of 2pi', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e4, max: 1e4, noNaN: true }), (x) => {
        const y = angleNormalize(x);
        expect(y >= -Math.PI && y < Math.PI).toBe(true);
        const turns = (x - y) / (2 * Math.PI);
        expect(Math.abs(turns - Math.round(turns))).toBeLessThan(1e-9);
      }),
      FC,
    );
  });
});

describe('Box', () => {
  it('samples are always contained', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (dims, seed) => {
          const box = new Box(
            dims.map(([lo]) => lo),
            dims.map(([lo, w]) => lo + w),
          );
          expect(box.contains(box.sample(rawKey(seed)))).toBe(true);
        },
      ),
      FC,
    );
  });
});
