/**
 * `--env-module FILE`: a researcher's own environments in the `mixrl` command. The module is the
 * fixture test/envs/fixtures/tracking.ts bundled into an .mjs (its default export receives the envs
 * API and returns `{ Tracking: { make, keys, description } }`); the CLI registers what it returns in
 * its own registry. A run records the file's path and SHA-256; resume, eval and a sweep's runs load it.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, appendFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, bundleTrackingEnv, expectSuccess, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-env-module-'));
  bundleTrackingEnv(work);
});

const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, args, env);
const ok = (args: string[], env: Record<string, string> = {}) => expectSuccess(run(args, env));
const expectUserError = (args: string[], message: string | RegExp) => expectUserErrorResult(run(args), message);
const read = (file: string) => readFileSync(path.join(work, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(path.join(work, file))).digest('hex');
/** A module in the work folder with this source. */
const module = (name: string, source: string) => {
  writeFileSync(path.join(work, name), source);
  return name;
};

const TINY = ['--agent', 'sg-rp', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--replay-capacity', '10000', '--log-every', '100'];
const TRACKING = ['--env', 'Tracking', '--env-module', 'tracking.mjs', ...TINY];

describe('mixrl train --env-module', () => {
  it('lists the module\'s envs after the built-in ones (mixrl envs)', () => {
    const listed = ok(['envs', '--env-module', 'tracking.mjs']).stdout.trim().split('\n');
    expect(listed).toHaveLength(11);
    expect(listed.at(-1)).toBe('Tracking                   obs 1, action 1, steps 10  follow a target moving on a circle; the best action is the target');
    expect(ok(['envs']).stdout).not.toContain('Tracking');
  });

  it('trains, records the module (absolute path, SHA-256), resumes bit for bit and evaluates', () => {
    ok(['train', ...TRACKING, '--steps', '300', '--checkpoint-every', '100', '--out', 'straight']);
    const config = json('straight/config.json');
    expect(config.env).toBe('Tracking');
    expect(config.envModule).toEqual({ path: path.join(work, 'tracking.mjs'), sha256: sha256('tracking.mjs') });
    expect(config.batchSize).toBe(8);
    expect(config.init).toBe('torch'); // SAC-v2's defaults for an env of one's own
    expect(read('straight/episodes.jsonl').trim().split('\n')).toHaveLength(30);

    ok(['train', ...TRACKING, '--steps', '200', '--checkpoint-every', '100', '--out', 'resumed']);
    expect(ok(['train', '--resume', 'resumed', '--steps', '300']).stdout).toContain('resuming resumed at step 200 of 300');
    expect(read('resumed/episodes.jsonl')).toBe(read('straight/episodes.jsonl'));

    ok(['train', '--config', 'straight/config.json', '--steps', '60', '--out', 'from-config']);
    expect(json('from-config/config.json').envModule).toEqual(config.envModule);

    const evaluated = ok(['eval', '--checkpoint', 'straight', '--episodes', '3']).stdout;
    expect(evaluated).toMatch(/^sg-rp on Tracking, trained 300 steps\ndeterministic  mean return -?\d+\.\d\d ± \d+\.\d\d over 3 episodes\nstochastic {5}mean return/);
  });

  it('refuses a recorded module that changed or is gone, unless --env-module names the file to use', () => {
    copyFileSync(path.join(work, 'tracking.mjs'), path.join(work, 'changing.mjs'));
    ok(['train', '--env', 'Tracking', '--env-module', 'changing.mjs', ...TINY, '--steps', '100', '--out', 'changing']);
    const before = sha256('changing.mjs');
    appendFileSync(path.join(work, 'changing.mjs'), '// an edit\n');
    const after = sha256('changing.mjs');
    const file = path.join(work, 'changing.mjs');
    const changed = `its env module ${file} changed since it was recorded (sha256 ${before.slice(0, 12)}... then, ${after.slice(0, 12)}... now); restore it, or give --env-module ${file} to go on with it as it is now`;
    expectUserError(['train', '--resume', 'changing', '--steps', '200'], `mixrl train: --resume changing: ${changed}`);
    expectUserError(['eval', '--checkpoint', 'changing'], `mixrl eval: --checkpoint changing: ${changed}`);
    expectUserError(['train', '--config', 'changing/config.json', '--out', 'again'], `mixrl train: --config changing/config.json: ${changed}`);
    // Another env than the config file's leaves its module out.
    ok(['train', '--config', 'changing/config.json', '--env', 'Pendulum', '--steps', '60', '--out', 'pendulum']);
    expect(json('pendulum/config.json')).not.toHaveProperty('envModule');

    ok(['train', '--resume', 'changing', '--steps', '200', '--env-module', 'changing.mjs']);
    expect(json('changing/config.json').envModule).toEqual({ path: file, sha256: after });
    ok(['eval', '--checkpoint', 'changing', '--episodes', '1']);

    renameSync(file, path.join(work, 'moved.mjs'));
    expectUserError(
      ['train', '--resume', 'changing', '--steps', '300'],
      `mixrl train: --resume changing: its env module ${file}: no such file; put it back, or give --env-module FILE to load the env from another file`,
    );
    expectUserError(['eval', '--checkpoint', 'changing/checkpoint.mixrl'], `mixrl eval: --checkpoint changing/checkpoint.mixrl: its env module ${file}: no such file; put it back, or give --env-module FILE to load the env from another file`);
    ok(['eval', '--checkpoint', 'changing', '--episodes', '1', '--env-module', 'moved.mjs']);
    ok(['train', '--resume', 'changing', '--steps', '300', '--env-module', 'moved.mjs']);
    expect(json('changing/config.json').envModule.path).toBe(path.join(work, 'moved.mjs'));
  });
});

describe('mixrl train --env-module: errors', () => {
  it('a missing file, and a flag without one', () => {
    expectUserError(['train', '--env', 'Tracking', '--env-module', 'nope.mjs'], 'mixrl train: --env-module nope.mjs: no such file');
    expectUserError(['envs', '--env-module', 'nope.mjs'], 'mixrl envs: --env-module nope.mjs: no such file');
    expectUserError(['train', '--env', 'Tracking', '--env-module'], 'mixrl train: flag --env-module needs a file name');
    expectUserError(['envs', 'extra'], "mixrl envs: unexpected argument 'extra'");
  });

  it('a module whose import throws: its message, one line, no stack', () => {
    module('throws.mjs', "throw new Error('no such dataset: data/targets.csv\\nsecond line');\n");
    expectUserError(['train', '--env', 'Tracking', '--env-module', 'throws.mjs'], 'mixrl train: --env-module throws.mjs: importing it threw: no such dataset: data/targets.csv');
    module('syntax.mjs', 'export default function ( {\n');
    expectUserError(['eval', '--checkpoint', 'straight', '--env-module', 'syntax.mjs'], 'mixrl eval: --env-module syntax.mjs: importing it threw: SyntaxError: Unexpected end of input');
    module('fn-throws.mjs', "export default function () { throw new TypeError('envs.Bx is not a constructor'); }\n");
    expectUserError(['train', '--env', 'Tracking', '--env-module', 'fn-throws.mjs'], 'mixrl train: --env-module fn-throws.mjs: its exported function threw: TypeError: envs.Bx is not a constructor');
  });

  it('a module that exports nothing usable: the shape expected', () => {
    const expected = '; expected `export default function (envs) { return { ID: { make(options) { return anEnvModel; }, keys: [...] } }; }` (or that record itself, or the same as `export const environments`; docs/envs.md)';
    module('nothing.mjs', 'export const tracking = 1;\n');
    expectUserError(['train', '--env', 'Tracking', '--env-module', 'nothing.mjs'], `mixrl train: --env-module nothing.mjs: exports no environments (no default export, no 'environments')${expected}`);
    module('list.mjs', 'export default () => [];\n');
    expectUserError(['sweep', '--env', 'Tracking', '--agent', 'sg-rp', '--grid', 'alpha=1', '--env-module', 'list.mjs'], `mixrl sweep: --env-module list.mjs: exports no environments (got a list)${expected}`);
    module('empty.mjs', 'export const environments = {};\n');
    expectUserError(['envs', '--env-module', 'empty.mjs'], `mixrl envs: --env-module empty.mjs: exports no environments (got an empty object)${expected}`);
  });

  it('an id that is taken, a spec or a model that is refused, an env the module does not define', () => {
    module('clash.mjs', "import * as m from './tracking.mjs';\nexport default (envs) => ({ Pendulum: m.default(envs).Tracking });\n");
    expectUserError(['train', '--env', 'Pendulum', '--env-module', 'clash.mjs'], "mixrl train: --env-module clash.mjs: registerEnv: the id 'Pendulum' is taken by a built-in environment");
    module('no-make.mjs', 'export default { Mine: { keys: [] } };\n');
    expectUserError(['train', '--env', 'Mine', '--env-module', 'no-make.mjs'], "mixrl train: --env-module no-make.mjs: Mine: the spec's 'make' must be a function (options) => EnvModel, got undefined");
    module(
      'nan.mjs',
      "import * as m from './tracking.mjs';\nexport default (envs) => ({ Nan: { make: () => { const t = m.default(envs).Tracking.make({}); return { ...t, id: 'Nan', transition: (s, so, a, ao, out) => { t.transition(s, so, a, ao, out); out.reward = NaN; } }; } } });\n",
    );
    expectUserError(
      ['train', '--env', 'Nan', '--env-module', 'nan.mjs'],
      /^mixrl train: --env-module nan\.mjs: Nan: make\(\{\}\) fails checkEnv \(seed 0, at most 100 steps per episode\): step 0: reward NaN is not finite; step 1: reward NaN is not finite; /,
    );
    // A module building its spaces with a Box of its own (as `import { envs } from 'mixrl'` would give it: another copy).
    module(
      'own-box.mjs',
      "import * as m from './tracking.mjs';\nclass Box { constructor(low, high) { Object.assign(this, { low, high, size: low.length }); } }\nexport default (envs) => ({ Boxed: { make: () => ({ ...m.default({ ...envs, Box }).Tracking.make({}), id: 'Boxed' }) } });\n",
    );
    expectUserError(
      ['train', '--env', 'Boxed', '--env-module', 'own-box.mjs'],
      'mixrl train: --env-module own-box.mjs: Boxed: make({}) is not an EnvModel: observationSpace is not a Box of this mixrl; actionSpace is not a Box of this mixrl; stateBounds is not a Box of this mixrl (spaces must be built with the Box of the mixrl that registers the env: in an env module, the one its function receives)',
    );
    expectUserError(['train', '--env', 'Pendulum', '--env-module', 'tracking.mjs'], "mixrl train: --env-module tracking.mjs defines Tracking, not the run's env 'Pendulum' (--env Tracking)");
    expectUserError(['train', '--env', 'Tracking', '--env-module', 'tracking.mjs', '--config', 'nope.json'], 'mixrl train: nope.json: cannot read: ENOENT');
  });
});

describe('mixrl sweep --env-module', () => {
  const override = { MIXRL_REPRODUCE_OVERRIDE: JSON.stringify({ hidden: [8, 8], batchSize: 8, learningStarts: 50, replayCapacity: 10_000, checkpointEvery: 100 }) };
  const sweep = (file: string, out: string) => ['sweep', '--env', 'Tracking', '--env-module', file, '--agent', 'sg-rp', '--grid', 'alpha=0.01,0.1', '--seeds', '1', '--steps', '200', '--out', out];

  it('gives its runs the module: 2 settings x 1 seed, each run recording it; the best setting\'s command names it', () => {
    const out = ok(sweep('tracking.mjs', 'sw'), override).stdout;
    expect(out).toContain('2 settings x 1 seeds');
    const ref = { path: path.join(work, 'tracking.mjs'), sha256: sha256('tracking.mjs') };
    for (const alpha of ['0.01', '0.1']) {
      const config = json(`sw/runs/Tracking-sg-rp-alpha${alpha}-seed0/config.json`);
      expect([config.env, config.alpha, config.envModule]).toEqual(['Tracking', Number(alpha), ref]);
    }
    expect(json('sw/sweep.json').envModule).toEqual(ref);
    expect(json('sw/best.json').trainCommand).toMatch(new RegExp(`^mixrl train --env Tracking --agent sg-rp --alpha 0\\.0?1 --steps 200 --env-module ${ref.path}$`));
  });

  it('refuses to continue a sweep whose module changed, or without the module', () => {
    copyFileSync(path.join(work, 'tracking.mjs'), path.join(work, 'swept.mjs'));
    ok(sweep('swept.mjs', 'sw2'), override);
    rmSync(path.join(work, 'sw2/best.json')); // unfinished again
    const file = path.join(work, 'swept.mjs');
    const before = sha256('swept.mjs');
    appendFileSync(file, '// an edit\n');
    expectUserErrorResult(
      run(sweep('swept.mjs', 'sw2'), override),
      `mixrl sweep: --out sw2 holds an unfinished sweep whose env module ${file} has changed since it started (sha256 ${before.slice(0, 12)}... then, ${sha256('swept.mjs').slice(0, 12)}... now): its runs so far trained on the old one; restore the file, or choose another --out`,
    );
    expectUserErrorResult(run(sweep('tracking.mjs', 'sw2'), override), /^mixrl sweep: --out sw2 holds an unfinished sweep of Tracking, sg-rp with other options; continue it with mixrl sweep .* --env-module \S*swept\.mjs --out sw2, or choose another --out$/);
  });
});
