import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { CLASSIC_DEFAULTS, flagKinds, resolveConfig, validatePartial } from '../../src/experiments/config';
import { parseArgs, typedFlags } from '../../src/cli/args';

const leftMessage = (e: ReturnType<typeof resolveConfig> | ReturnType<typeof validatePartial>) => {
  if (!isLeft(e)) throw new Error('expected Left');
  return e.left.message;
};

describe('training config', () => {
  it('defaults to the paper classic-control setup for classic envs', () => {
    const c = resolveConfig([{ env: 'Pendulum', agent: 'sg-rp' }]);
    expect(isRight(c)).toBe(true);
    if (isRight(c)) {
      expect(c.right.hidden).toEqual([64, 64]);
      expect(c.right.batchSize).toBe(32);
      expect(c.right.replayCapacity).toBe(100_000);
      expect(c.right.tau).toBe(0.01);
      expect(c.right.autoAlpha).toBe(false);
      expect(c.right.learningStarts).toBe(CLASSIC_DEFAULTS.learningStarts);
    }
  });

  it('later layers win', () => {
    const c = resolveConfig([{ env: 'Pendulum', steps: 10 }, { steps: 20, alpha: 0.5 }]);
    expect(isRight(c) && c.right.steps).toBe(20);
    expect(isRight(c) && c.right.alpha).toBe(0.5);
  });

  it('rejects unknown envs and agents, listing the known ones', () => {
    expect(leftMessage(resolveConfig([{ env: 'Nope' }]))).toMatch(/^unknown env 'Nope'; known envs: Pendulum, ShapedPendulum/);
    expect(leftMessage(resolveConfig([{ agent: 'sg-xx' as never }]))).toMatch(/^unknown agent 'sg-xx'; known agents: sg-rp, usgm-rp, sgm-mrp/);
  });

  it('names the key and the value of a bad entry', () => {
    expect(leftMessage(validatePartial({ steps: -5 }, 'flags'))).toBe("flags: 'steps' must be a positive integer, got -5");
    expect(leftMessage(validatePartial({ hidden: [64, 0] }, 'c.json'))).toBe("c.json: 'hidden' must be a non-empty list of positive integers, got [64,0]");
    expect(leftMessage(validatePartial({ bogus: 1 }, 'c.json'))).toMatch(/^c.json: unknown key 'bogus'; known keys: env, envOptions/);
    expect(leftMessage(validatePartial([1], 'c.json'))).toBe('c.json: the config must be a JSON object');
    expect(leftMessage(resolveConfig([{ logStdMin: 3, logStdMax: 2 }]))).toBe("config: 'logStdMin' (3) must be below 'logStdMax' (2)");
    expect(leftMessage(resolveConfig([{ gamma: 1.5 }]))).toBe("config: 'gamma' must be in [0, 1], got 1.5");
    expect(leftMessage(resolveConfig([{ batchSize: 64, replayCapacity: 10 }]))).toBe("config: 'batchSize' (64) exceeds 'replayCapacity' (10)");
  });
});

describe('flags', () => {
  it('parses --key value, --key=value and bare booleans', () => {
    const p = parseArgs(['--env', 'MountainCar', '--steps=1000', '--auto-alpha', '--hidden', '32,32']);
    expect(isRight(p)).toBe(true);
    if (!isRight(p)) return;
    const t = typedFlags(p.right.flags, flagKinds());
    expect(isRight(t) && t.right).toEqual({ env: 'MountainCar', steps: 1000, autoAlpha: true, hidden: [32, 32] });
  });

  it('names unknown and malformed flags', () => {
    const p = parseArgs(['--stepz', '10']);
    if (!isRight(p)) throw new Error('parse failed');
    const t = typedFlags(p.right.flags, flagKinds());
    expect(isLeft(t) && t.left.message).toMatch(/^unknown flag --stepz; known flags: --env /);
    const q = parseArgs(['--steps', 'ten']);
    if (!isRight(q)) throw new Error('parse failed');
    const u = typedFlags(q.right.flags, flagKinds());
    expect(isLeft(u) && u.left.message).toBe("flag --steps must be an integer, got 'ten'");
    const r = parseArgs(['--seed', '1', '--seed', '2']);
    expect(isLeft(r) && r.left.message).toBe('flag --seed is given twice');
  });
});
