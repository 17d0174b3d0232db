/**
 * `--estimator-module FILE [--estimator NAME]`: a researcher's own actor-gradient estimator in the
 * `mixrl` command. The module, written here, receives the command's mixrl namespace and returns
 * `myMrp` (the namespace's built-in MRP under a name of its own) and `scoreFunction` (written with
 * the namespace's ops). `myMrp` with `--agent sgm-mrp` must train bit for bit like the agent's own
 * MRP, through a new run, a resumed one and a sweep's; a run records the module and the name, and
 * loads them again or refuses a file that changed; a bad module writes nothing.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isLeft } from 'fp-ts/lib/Either.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { treeFlatten } from '../../src/autodiff';
import { loadCheckpoint } from '../../src/rl/checkpoint';
import type { Tensor } from '../../src/tensor';
import { bundleCli, expectSuccess, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';

const ESTIMATORS = `
export default function ({ estimators, add, expandDims, mean, mul, squeeze, stopGradient, sub }) {
  // Score function with the batch's mean soft value as baseline (no reparameterization).
  const scoreFunction = ({ policy, critic, alpha, key }) => {
    const [a, logProb] = policy.sampleAndLogProb(key);
    const v = stopGradient(sub(squeeze(critic(expandDims(a, 1)), 1), mul(logProb, alpha)));
    return add(mean(mul(logProb, sub(v, mean(v)))), mean(v));
  };
  return { myMrp: (input) => estimators.mrp(input), scoreFunction };
}
`;

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-estimator-module-'));
  writeFileSync(path.join(work, 'estimators.mjs'), ESTIMATORS);
});

const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, args, env);
const ok = (args: string[], env: Record<string, string> = {}) => expectSuccess(run(args, env));
const expectUserError = (args: string[], message: string | RegExp) => expectUserErrorResult(run(args), message);
const file = (name: string) => path.join(work, name);
const read = (name: string) => readFileSync(file(name), 'utf8');
const json = (name: string) => JSON.parse(read(name));
const sha256 = (name: string) => createHash('sha256').update(readFileSync(file(name))).digest('hex');
/** A module in the work folder with this source. */
const module = (name: string, source: string) => {
  writeFileSync(file(name), source);
  return name;
};

/** A run folder's checkpoint: its metadata, and the bits of every array of its agent (weights, optimizer states, alpha). */
async function checkpointOf(dir: string) {
  const loaded = await loadCheckpoint(file(`${dir}/checkpoint.mixrl`));
  if (isLeft(loaded)) throw new Error(loaded.left.message);
  const leaves = treeFlatten(loaded.right.trees.sac)[0] as Tensor[];
  const bits = leaves.map((t) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)).join());
  return { metadata: loaded.right.metadata as Record<string, any>, bits };
}

// One step per episode: every step is a line of episodes.jsonl.
const BANDIT = ['--env', 'BimodalBandit', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--components', '2', '--log-every', '100'];
const TINY = [...BANDIT, '--agent', 'sgm-mrp'];
const MY_MRP_OF = ['--estimator-module', 'estimators.mjs', '--estimator', 'myMrp'];
const MY_MRP = [...TINY, ...MY_MRP_OF];

describe('mixrl train --estimator-module', () => {
  it("trains bit for bit like the agent's own estimator, records the module and the name, resumes bit for bit and evaluates", async () => {
    ok(['train', ...TINY, '--steps', '300', '--out', 'builtin']);
    expect(ok(['train', ...MY_MRP, '--steps', '300', '--out', 'mine']).stdout).toContain('training sgm-mrp with the estimator myMrp on BimodalBandit (seed 0, 300 steps) -> mine');
    expect(read('mine/episodes.jsonl').trim().split('\n')).toHaveLength(300);
    expect(read('mine/episodes.jsonl')).toBe(read('builtin/episodes.jsonl'));
    const [builtin, mine] = [await checkpointOf('builtin'), await checkpointOf('mine')];
    expect(mine.bits).toEqual(builtin.bits);
    const ref = { path: file('estimators.mjs'), sha256: sha256('estimators.mjs') };
    const config = json('mine/config.json');
    expect([config.agent, config.estimator, config.estimatorModule]).toEqual(['sgm-mrp', 'myMrp', ref]);
    expect([mine.metadata.customEstimator, mine.metadata.config.estimator, mine.metadata.config.estimatorModule]).toEqual(['myMrp', 'myMrp', ref]);

    // The other estimator of the module trains otherwise.
    ok(['train', ...TINY, '--estimator-module', 'estimators.mjs', '--estimator', 'scoreFunction', '--steps', '300', '--out', 'score']);
    expect(read('score/episodes.jsonl')).not.toBe(read('builtin/episodes.jsonl'));

    ok(['train', ...MY_MRP, '--steps', '200', '--checkpoint-every', '100', '--out', 'resumed']);
    expect(ok(['train', '--resume', 'resumed', '--steps', '300']).stdout).toContain('resuming resumed at step 200 of 300');
    expect(read('resumed/episodes.jsonl')).toBe(read('builtin/episodes.jsonl'));
    expect((await checkpointOf('resumed')).bits).toEqual(builtin.bits);

    const evaluated = ok(['eval', '--checkpoint', 'mine', '--episodes', '3']).stdout;
    expect(evaluated).toMatch(/^sgm-mrp with the estimator myMrp on BimodalBandit, trained 300 steps\ndeterministic  mean return -?\d+\.\d\d ± \d+\.\d\d over 3 episodes\nstochastic {5}mean return/);

    // A config file carries the module and the name to a new run.
    ok(['train', '--config', 'mine/config.json', '--steps', '60', '--out', 'from-config']);
    expect(json('from-config/config.json')).toMatchObject({ estimator: 'myMrp', estimatorModule: ref });
  });

  it("takes the export 'estimators' before the default one, and a module's only estimator without --estimator", () => {
    module('only.mjs', "export function estimators({ estimators }) { return { onlyMrp: (input) => estimators.mrp(input) }; }\nexport default 'not this';\n");
    ok(['train', ...TINY, '--estimator-module', 'only.mjs', '--steps', '60', '--out', 'only']);
    expect(json('only/config.json').estimator).toBe('onlyMrp');
  });

  it('refuses a recorded module that changed or is gone, unless --estimator-module names the file to use; eval and export need none', async () => {
    copyFileSync(file('estimators.mjs'), file('changing.mjs'));
    ok(['train', ...TINY, '--estimator-module', 'changing.mjs', '--estimator', 'myMrp', '--steps', '100', '--out', 'changing']);
    const before = sha256('changing.mjs');
    appendFileSync(file('changing.mjs'), '// an edit\n');
    const after = sha256('changing.mjs');
    const abs = file('changing.mjs');
    const changed = `its estimator module ${abs} changed since it was recorded (sha256 ${before.slice(0, 12)}... then, ${after.slice(0, 12)}... now); restore it, or give --estimator-module ${abs} to go on with it as it is now`;
    expectUserError(['train', '--resume', 'changing', '--steps', '200'], `mixrl train: --resume changing: ${changed}`);
    expectUserError(['train', '--config', 'changing/config.json', '--out', 'again'], `mixrl train: --config changing/config.json: ${changed}`);
    // The policy acts without its estimator: eval needs no module.
    expect(ok(['eval', '--checkpoint', 'changing', '--episodes', '1']).stdout).toMatch(/^sgm-mrp with the estimator myMrp on BimodalBandit, trained 100 steps\n/);

    ok(['train', '--resume', 'changing', '--steps', '200', '--estimator-module', 'changing.mjs']);
    expect(json('changing/config.json').estimatorModule).toEqual({ path: abs, sha256: after });
    expect((await checkpointOf('changing')).metadata.config.estimatorModule).toEqual({ path: abs, sha256: after });
    ok(['eval', '--checkpoint', 'changing', '--episodes', '1']);

    renameSync(abs, file('moved.mjs'));
    const gone = `its estimator module ${abs}: no such file; put it back, or give --estimator-module FILE to load the estimator from another file`;
    expectUserError(['train', '--resume', 'changing', '--steps', '300'], `mixrl train: --resume changing: ${gone}`);
    // Neither the weights nor the policy's returns need an estimator.
    expect(ok(['export', 'changing', '--format', 'npz']).stdout).toContain('sgm-mrp on BimodalBandit at step 200 -> changing/weights.npz');
    expect(existsSync(file('changing/weights.npz'))).toBe(true);
    ok(['eval', '--checkpoint', 'changing/checkpoint.mixrl', '--episodes', '1']);
    expectUserError(['eval', '--checkpoint', 'changing', '--estimator-module', 'moved.mjs'], /^mixrl eval: unknown flag --estimator-module; known flags: /);
    ok(['train', '--resume', 'changing', '--steps', '300', '--estimator-module', 'moved.mjs']);
    expect(json('changing/config.json').estimatorModule.path).toBe(file('moved.mjs'));

    // The override must define the run's estimator, and a run of its agent's own takes none.
    module('other.mjs', "export default ({ estimators }) => ({ otherMrp: (input) => estimators.mrp(input) });\n");
    expectUserError(['train', '--resume', 'changing', '--steps', '400', '--estimator-module', 'other.mjs'], "mixrl train: --estimator-module other.mjs defines otherMrp, not the estimator 'myMrp'");
    expectUserError(
      ['train', '--resume', 'builtin', '--steps', '400', '--estimator-module', 'moved.mjs'],
      "mixrl train: --resume builtin: the run trains its agent's own estimator, not one of an estimator module; leave out --estimator-module",
    );
  });
});

describe('mixrl train --estimator-module: errors name the file and the problem, and write nothing', () => {
  const EXPECTED =
    '; expected `export default function (mixrl) { return { NAME: ({ policy, critic, alpha, key }) => aScalarSurrogate }; }` (or the same as `export function estimators`; docs/estimators.md)';
  let count = 0;
  /** `mixrl train` on a fresh --out with the module `source` (or the file `name` as it is): the error, and no --out folder. */
  const refused = (name: string, source: string | null, message: string | RegExp, extra: string[] = []) => {
    if (source !== null) module(name, source);
    const out = `bad-${count++}`;
    expectUserError(['train', ...TINY, '--estimator-module', name, ...extra, '--out', out], message);
    expect(existsSync(file(out))).toBe(false);
  };

  it('a missing file, a module that throws, exports no function or no record of functions', () => {
    refused('nope.mjs', null, 'mixrl train: --estimator-module nope.mjs: no such file');
    refused('throws.mjs', "throw new Error('no such table: weights.csv\\nsecond line');\n", 'mixrl train: --estimator-module throws.mjs: importing it threw: no such table: weights.csv');
    refused('fn-throws.mjs', "export default () => { throw new TypeError('mixrl.mrp is not a function'); };\n", 'mixrl train: --estimator-module fn-throws.mjs: its exported function threw: TypeError: mixrl.mrp is not a function');
    refused('nothing.mjs', 'export const mine = 1;\n', `mixrl train: --estimator-module nothing.mjs: exports no estimators (no default export, no 'estimators')${EXPECTED}`);
    refused(
      'record.mjs',
      'export default { mine: () => 0 };\n',
      `mixrl train: --estimator-module record.mjs: exports an object, not a function of mixrl's namespace (its estimators must use this command's tensor ops)${EXPECTED}`,
    );
    refused('number.mjs', 'export default () => 5;\n', `mixrl train: --estimator-module number.mjs: its exported function returned a number, not a record of estimators${EXPECTED}`);
    refused('entry.mjs', 'export default () => ({ mine: 3 });\n', "mixrl train: --estimator-module entry.mjs: its estimator 'mine' is a number, not a function ({ policy, critic, alpha, key, ... }) => a scalar surrogate");
  });

  it("a built-in estimator's name, a name the module lacks or needs", () => {
    refused(
      'clash.mjs',
      'export default ({ estimators }) => ({ mrp: estimators.mrp });\n',
      "mixrl train: --estimator-module clash.mjs: 'mrp' is the name of a built-in estimator (rp, urp, lr, halfRp, mrp, gumbelRp); give yours another (the agents use the built-in ones)",
    );
    refused('estimators.mjs', null, "mixrl train: --estimator-module estimators.mjs defines myMrp, scoreFunction, not the estimator 'nope'", ['--estimator', 'nope']);
    refused('estimators.mjs', null, 'mixrl train: --estimator-module estimators.mjs defines myMrp, scoreFunction: choose one with --estimator NAME');
    expectUserError(
      ['train', ...TINY, '--estimator', 'myMrp', '--out', 'no-module'],
      "mixrl train: flags: 'estimator' 'myMrp' names an estimator of an estimator module, and none is given ('estimatorModule', or mixrl train --estimator-module FILE)",
    );
    expectUserError(['train', ...TINY, '--estimator-module'], 'mixrl train: flag --estimator-module needs a file name');
    expect(existsSync(file('no-module'))).toBe(false);
  });

  it('an estimator that fails a traced update (named, with its module), before the run starts', () => {
    const abs = file('vector.mjs');
    refused(
      'vector.mjs',
      'export default () => ({ perState: ({ policy, key }) => policy.sample(key).sum(-1) });\n',
      `mixrl train: custom estimator 'perState' of ${abs}, in a traced SAC update: it returned f32[8], not a float scalar tensor (the surrogate whose gradient is the estimate)`,
    );
    // MRP needs a mixture: the agent's single Gaussian is refused by the estimator's own check.
    const single = run(['train', ...BANDIT, '--agent', 'sg-rp', ...MY_MRP_OF, '--out', 'single']);
    expectUserErrorResult(single, `mixrl train: custom estimator 'myMrp' of ${file('estimators.mjs')}, in a traced SAC update: mrp: `);
    expect(existsSync(file('single'))).toBe(false);
  });

  it('are listed in the help of train and sweep, not of eval (which needs no estimator)', () => {
    expect(ok(['train', '--help']).stdout).toMatch(/^ {2}--estimator-module FILE +an ES module defining actor-gradient estimators of your own/m);
    expect(ok(['train', '--help']).stdout).toMatch(/^ {2}--estimator NAME +which estimator of --estimator-module to train/m);
    expect(ok(['eval', '--help']).stdout).not.toContain('--estimator-module');
    expect(ok(['sweep', '--help']).stdout).toContain('--estimator-module FILE [--estimator NAME]');
    expect(ok(['help']).stdout).toContain('--estimator-module FILE [--estimator NAME]');
  });
});

describe('mixrl sweep --estimator-module', () => {
  const override = { MIXRL_REPRODUCE_OVERRIDE: JSON.stringify({ hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2, checkpointEvery: 100 }) };
  const sweep = (name: string, out: string) =>
    ['sweep', '--env', 'BimodalBandit', '--agent', 'sgm-mrp', '--grid', 'alpha=0.01', '--seeds', '1', '--steps', '200', '--estimator-module', name, '--estimator', 'myMrp', '--out', out];

  it("gives its runs the flags (each run records them), names them in the best setting's command, refuses to continue on a changed file", () => {
    copyFileSync(file('estimators.mjs'), file('swept.mjs'));
    ok(sweep('swept.mjs', 'sw'), override);
    const ref = { path: file('swept.mjs'), sha256: sha256('swept.mjs') };
    expect(json('sw/runs/BimodalBandit-sgm-mrp-alpha0.01-seed0/config.json')).toMatchObject({ estimator: 'myMrp', estimatorModule: ref });
    expect(json('sw/sweep.json')).toMatchObject({ estimator: 'myMrp', estimatorModule: ref });
    expect(json('sw/best.json').trainCommand).toBe(`mixrl train --env BimodalBandit --agent sgm-mrp --alpha 0.01 --steps 200 --estimator-module ${ref.path} --estimator myMrp`);

    rmSync(file('sw/best.json')); // unfinished again: its run is reused
    expect(ok(sweep('swept.mjs', 'sw'), override).stdout).toContain('BimodalBandit-sgm-mrp-alpha0.01-seed0: finished before, reused');
    rmSync(file('sw/best.json'));
    appendFileSync(file('swept.mjs'), '// an edit\n');
    expectUserErrorResult(
      run(sweep('swept.mjs', 'sw'), override),
      `mixrl sweep: --out sw holds an unfinished sweep whose estimator module ${ref.path} has changed since it started (sha256 ${ref.sha256.slice(0, 12)}... then, ${sha256('swept.mjs').slice(0, 12)}... now): its runs so far trained on the old one; restore the file, or choose another --out`,
    );
  });

  it('records a run whose policy diverged as an outcome (no area), not a failure of the sweep', () => {
    // The surrogate times NaN at α = 0.1 (α a traced tensor): the first update makes the actor NaN, the next action too.
    module(
      'explode.mjs',
      `export default function ({ estimators, greater, mul, where }) {
  return { explode: (input) => mul(estimators.mrp(input), where(greater(input.alpha, 0.05), NaN, 1)) };
}
`,
    );
    const diverging = 'BimodalBandit-sgm-mrp-alpha0.1-seed0';
    const args = ['sweep', '--env', 'BimodalBandit', '--agent', 'sgm-mrp', '--grid', 'alpha=0.1,0.01', '--seeds', '1', '--steps', '200', '--rerun-seeds', '0'];
    const r = ok([...args, '--estimator-module', 'explode.mjs', '--estimator', 'explode', '--out', 'sw-diverged'], override);
    // The two settings (α apart) train together; the other one finishes.
    expect(r.stdout).toMatch(new RegExp(`${diverging}: trained in [0-9.]+ s \\(2 runs together\\); \\d+ episodes, DIVERGED, no area \\(step \\d+: the policy's action is \\[NaN\\], not finite`));
    const summary = json(`sw-diverged/runs/${diverging}/summary.json`);
    expect(summary).toMatchObject({ finished: false });
    expect(summary.diverged).toMatch(/^step \d+: the policy's action is \[NaN\], not finite: the actor's parameters have diverged/);
    // No checkpoint, as alone: it diverged before its first (the step-0 one it was started with, to train with the other, is gone).
    expect(existsSync(file(`sw-diverged/runs/${diverging}/checkpoint.mixrl`))).toBe(false);
    expect(json('sw-diverged/best.json')).toMatchObject({ setting: { alpha: 0.01 } });
    expect(r.stdout).toContain('Runner-up: alpha 0.1, area none; one seed gives no interval.');
    // Continued, the diverged run is read back as it stopped, not trained again.
    rmSync(file('sw-diverged/best.json'));
    expect(ok([...args, '--estimator-module', 'explode.mjs', '--estimator', 'explode', '--out', 'sw-diverged'], override).stdout).toContain(`${diverging}: diverged before;`);
  });

  it('starts no run on the module once it changed while the sweep runs', () => {
    // Edited by the first run that loads it (a `mixrl train` child; the sweep itself leaves it), as
    // by a researcher editing the file during a long sweep: the second run would train other code.
    module(
      'edited.mjs',
      `import { appendFileSync } from 'node:fs';
export default function ({ estimators }) {
  if (process.argv.includes('train')) appendFileSync(new URL(import.meta.url), '// edited while the sweep runs\\n');
  return { myMrp: (input) => estimators.mrp(input) };
}
`,
    );
    const ref = { path: file('edited.mjs'), sha256: sha256('edited.mjs') };
    // One run a child (together, both runs would load the module once, in one child).
    const args = ['sweep', '--env', 'BimodalBandit', '--agent', 'sgm-mrp', '--grid', 'alpha=0.01,0.1', '--seeds', '1', '--steps', '200', '--rerun-seeds', '0', '--together', '1'];
    const r = run([...args, '--estimator-module', 'edited.mjs', '--out', 'sw-edited'], override);
    expectUserErrorResult(
      r,
      `mixrl sweep: run BimodalBandit-sgm-mrp-alpha0.1-seed0 not started: its estimator module ${ref.path} changed since this command started (sha256 ${ref.sha256.slice(0, 12)}... then, ${sha256('edited.mjs').slice(0, 12)}... now); the runs so far trained on it as it was: restore it and run the same command to continue, or choose another --out`,
    );
    expect(readdirSync(file('sw-edited/runs'))).toEqual(['BimodalBandit-sgm-mrp-alpha0.01-seed0']);
  });
});
