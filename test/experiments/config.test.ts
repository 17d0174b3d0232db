import { isLeft, isRight } from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { CLASSIC_DEFAULTS, defaultsFor, flagKinds, resolveConfig, validatePartial } from '../../src/experiments/config';
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

  it("other envs get SAC-v2's setup (Haarnoja et al. 2018, Table 1): 2x256, lr 3e-4, batch 256, replay 1e6, tau 0.005, learned alpha", () => {
    const d = defaultsFor('HalfCheetah-v4');
    expect([d.hidden, d.actorLr, d.criticLr, d.alphaLr, d.batchSize, d.replayCapacity, d.tau, d.autoAlpha, d.gamma]).toEqual([
      [256, 256], 3e-4, 3e-4, 3e-4, 256, 1_000_000, 0.005, true, 0.99,
    ]);
    expect(defaultsFor('MountainCar').criticLr).toBe(1e-4); // the authors' best MountainCar setting
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
    // What config.json cannot hold is refused before training (it was trained, then not checkpointed).
    expect(leftMessage(resolveConfig([{ env: 'Pendulum', envOptions: { maxEpisodeSteps: Infinity } }]))).toMatch(
      /^config: 'envOptions.maxEpisodeSteps' is Infinity, which config.json \(JSON\) cannot hold/,
    );
    expect(leftMessage(resolveConfig([{ env: 'Pendulum', envOptions: { maxEpisodeSteps: null } }]))).toMatch(/^config: 'envOptions.maxEpisodeSteps' is null, .*remove the key for its default$/);
  });
});

describe('the update schedule and the entropy target', () => {
  it('default to one update per step and a target of -A (auto), as before these keys existed', () => {
    const c = resolveConfig([{ env: 'Pendulum' }]);
    expect(isRight(c) && [c.right.trainFreq, c.right.gradientSteps, c.right.targetEntropy]).toEqual([1, 1, 'auto']);
    expect(isRight(resolveConfig([{ trainFreq: 4, gradientSteps: 20, autoAlpha: true, targetEntropy: -0.5 }]))).toBe(true);
  });

  it('name the key of a bad value, and what to write for SB3 values that mean something else here', () => {
    expect(leftMessage(validatePartial({ trainFreq: 0 }, 'flags'))).toBe("flags: 'trainFreq' must be a positive integer, got 0");
    expect(leftMessage(validatePartial({ gradientSteps: 1.5 }, 'c.json'))).toBe("c.json: 'gradientSteps' must be a positive integer, got 1.5");
    expect(leftMessage(validatePartial({ gradientSteps: -1 }, 'c.json'))).toBe(
      "c.json: 'gradientSteps' must be a positive integer, got -1 (Stable-Baselines3's -1, as many updates as steps collected, is 'gradientSteps' equal to 'trainFreq' here)",
    );
    expect(leftMessage(validatePartial({ targetEntropy: 'high' }, 'c.json'))).toBe("c.json: 'targetEntropy' must be a finite number or 'auto', got \"high\"");
    expect(leftMessage(validatePartial({ targetEntropy: null }, 'c.json'))).toBe("c.json: 'targetEntropy' must be a finite number or 'auto', got null");
  });

  it('refuse a numeric targetEntropy without autoAlpha (SB3 ignores it silently)', () => {
    expect(leftMessage(resolveConfig([{ env: 'Pendulum', targetEntropy: -2 }], ['flags']))).toBe(
      "flags: 'targetEntropy' -2 is the target of automatic alpha, and 'autoAlpha' is false (alpha stays 0.01); set 'autoAlpha' to true, or remove 'targetEntropy'",
    );
    expect(isRight(resolveConfig([{ env: 'Pendulum', targetEntropy: 'auto' }]))).toBe(true);
  });

  it('read from flags: --train-freq N, --gradient-steps N, --target-entropy X or auto', () => {
    const typed = (...argv: string[]) => {
      const p = parseArgs(argv);
      if (!isRight(p)) throw new Error(p.left.message);
      const t = typedFlags(p.right.flags, flagKinds());
      return isRight(t) ? t.right : t.left.message;
    };
    expect(typed('--train-freq', '4', '--gradient-steps', '20', '--target-entropy', '-3')).toEqual({ trainFreq: 4, gradientSteps: 20, targetEntropy: -3 });
    expect(typed('--target-entropy', 'auto')).toEqual({ targetEntropy: 'auto' });
    expect(typed('--target-entropy', 'high')).toBe("flag --target-entropy must be a decimal number or auto, got 'high'");
    expect(typed('--train-freq', '2.5')).toBe("flag --train-freq must be an integer, got '2.5'");
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

describe('config checks found by the audit', () => {
  it('names the source of a bad value: file, flags or environment variable', () => {
    const layers = [{ backend: 'tpu' as never }, { env: 'Pendulum' }];
    expect(leftMessage(resolveConfig(layers, ['MIXRL_BACKEND', 'flags']))).toBe("MIXRL_BACKEND: 'backend' must be auto, cpu or webgpu, got 'tpu'");
    expect(leftMessage(resolveConfig([{ env: 'Foo' }], ['c.json']))).toMatch(/^c\.json: unknown env 'Foo'; known envs: /);
    // A later layer that does not set the key does not take the blame.
    expect(leftMessage(resolveConfig([{ gamma: 2 }, { alpha: 0.5 }], ['c.json', 'flags']))).toBe("c.json: 'gamma' must be in [0, 1], got 2");
  });

  it('checks envOptions against the env, naming the key and where it came from (a Left, not a throw)', () => {
    const c = resolveConfig([{ env: 'Pendulum', envOptions: { bogus: 1 } }], ['c.json']);
    expect(leftMessage(c)).toMatch(/^c\.json: 'envOptions': Pendulum: unknown option 'bogus'; known options: /);
  });

  it('rejects the webgpu backend with float64, naming both keys and their sources', () => {
    expect(leftMessage(resolveConfig([{ dtype: 'float64' }, { backend: 'webgpu' }], ['c.json', 'flags']))).toBe(
      "flags and c.json: 'backend' webgpu has no float64 tensors; set 'dtype' to float32 or 'backend' to cpu",
    );
    expect(isRight(resolveConfig([{ backend: 'auto', dtype: 'float64' }]))).toBe(true);
  });

  it('rejects a replay capacity whose arrays cannot be allocated', () => {
    expect(leftMessage(resolveConfig([{ env: 'Pendulum', replayCapacity: 2_000_000_000 }], ['flags']))).toMatch(
      /^flags: 'replayCapacity' 2000000000 is too large for Pendulum: 2000000000 x 3 values exceed a typed array's \d+ elements$/,
    );
  });

  it('takes no names from Object.prototype', () => {
    expect(leftMessage(validatePartial(JSON.parse('{"constructor": 5}'), 'c.json'))).toMatch(/^c\.json: unknown key 'constructor'/);
    expect(leftMessage(validatePartial(JSON.parse('{"__proto__": {"steps": 5}}'), 'c.json'))).toMatch(/^c\.json: unknown key '__proto__'/);
    expect(leftMessage(resolveConfig([{ agent: 'constructor' as never }]))).toMatch(/^unknown agent 'constructor'/);
    const p = parseArgs(['--constructor', '5']);
    if (!isRight(p)) throw new Error(p.left.message);
    const t = typedFlags(p.right.flags, flagKinds());
    expect(isLeft(t) && t.left.message).toMatch(/^unknown flag --constructor; /);
    const q = parseArgs(['--__proto__', '5']);
    if (!isRight(q)) throw new Error(q.left.message);
    expect(isLeft(typedFlags(q.right.flags, flagKinds()))).toBe(true);
  });

  it('says a number is not finite rather than null', () => {
    expect(leftMessage(validatePartial(JSON.parse('{"alpha": 1e999}'), 'c.json'))).toBe("c.json: 'alpha' must be a positive number, got Infinity, not a finite number");
  });

  it('takes decimal numbers and lists without empty entries from flags', () => {
    const typed = (...argv: string[]) => {
      const p = parseArgs(argv);
      if (!isRight(p)) throw new Error(p.left.message);
      return typedFlags(p.right.flags, flagKinds());
    };
    const problem = (...argv: string[]) => {
      const t = typed(...argv);
      return isLeft(t) ? t.left.message : 'accepted';
    };
    expect(problem('--hidden', '64,,64')).toBe("flag --hidden must be a comma-separated list of integers, got '64,,64'");
    expect(problem('--steps', '0x10')).toBe("flag --steps must be an integer, got '0x10'");
    expect(problem('--alpha', 'Infinity')).toBe("flag --alpha must be a decimal number, got 'Infinity'");
    const t = typed('--steps', '1e4', '--alpha', '.5', '--actor-lr', '3E-4');
    expect(isRight(t) && t.right).toEqual({ steps: 10_000, alpha: 0.5, actorLr: 3e-4 });
  });
});
