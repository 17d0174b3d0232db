/**
 * `mixrl train --seeds N` (N runs trained together) and `mixrl train --resume DIR DIR ...`: each run
 * folder holds, byte for byte, what `mixrl train --seed S` alone writes (episodes.jsonl,
 * checkpoint.mixrl, config.json), stopped and resumed or not.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, bundleTrackingEnv, expectSuccess, expectUserErrorResult, interruptWhen, runCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-seeds-'));
  bundleTrackingEnv(work);
  writeFileSync(path.join(work, 'estimators.mjs'), 'export default ({ estimators }) => ({ myMrp: (input) => estimators.mrp(input) });\n');
});

const run = (args: string[]) => runCli(cli, work, ['train', ...args]);
const TINY = ['--env', 'ShapedPendulum', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--components', '2', '--log-every', '100', '--checkpoint-every', '200'];
const bytes = (...parts: string[]) => readFileSync(path.join(work, ...parts));
const SAME_FILES = ['episodes.jsonl', 'checkpoint.mixrl', 'config.json'];

describe('mixrl train --seeds', () => {
  it('writes a folder per seed holding what each seed trained alone writes, byte for byte', () => {
    const together = expectSuccess(run([...TINY, '--steps', '600', '--seed', '7', '--seeds', '3', '--out', 'three']));
    expect(together.stdout).toContain('(seeds 7-9, together, 600 steps) -> three/seed7, three/seed8, three/seed9');
    expect(together.stdout).toMatch(/^400\/600 steps {2}3 runs {2}\d+ steps\/s each {2}return\(10\) -?\d+\.\d \(-?\d+\.\d to -?\d+\.\d\) {2}ETA/m);
    expect(together.stdout).toMatch(/^seed 9 done: 600 steps, 3 episodes, /m);
    for (const seed of [7, 8, 9]) {
      expectSuccess(run([...TINY, '--steps', '600', '--seed', String(seed), '--out', `alone${seed}`]));
      for (const file of SAME_FILES) expect(bytes('three', `seed${seed}`, file).equals(bytes(`alone${seed}`, file)), `seed ${seed} ${file}`).toBe(true);
      expect(JSON.parse(bytes('three', `seed${seed}`, 'summary.json').toString())).toMatchObject({ seed, steps: 600, episodes: 3, finished: true });
    }
    // {seed} in --out names each folder.
    expectSuccess(run([...TINY, '--steps', '100', '--seeds', '2', '--out', 'named-{seed}-run']));
    expect(readdirSync(work).filter((f) => f.startsWith('named-')).sort()).toEqual(['named-0-run', 'named-1-run']);
  });

  it('stops on SIGINT with a checkpoint in every folder, and --resume DIR DIR DIR ends each run as alone', async () => {
    const { code, output: stdout } = await interruptWhen(cli, work, ['train', ...TINY, '--steps', '1400', '--seeds', '3', '--out', 'stopped'], (out) => /^600\/1400 steps/m.test(out));
    expect(code, stdout).toBe(130);
    expect(stdout).toMatch(/stopped by SIGINT at step \d+; checkpoint saved; continue with: mixrl train --resume stopped\/seed0 stopped\/seed1 stopped\/seed2\n/);
    const resumed = expectSuccess(run(['--resume', 'stopped/seed0', 'stopped/seed1', 'stopped/seed2']));
    expect(resumed.stdout).toMatch(/^resuming stopped\/seed2 at step \d+ of 1400$/m);
    for (const seed of [0, 1, 2]) {
      expectSuccess(run([...TINY, '--steps', '1400', '--seed', String(seed), '--out', `straight${seed}`]));
      for (const file of SAME_FILES) expect(bytes('stopped', `seed${seed}`, file).equals(bytes(`straight${seed}`, file)), `seed ${seed} ${file}`).toBe(true);
    }
    // Further, together, with --steps: as alone.
    expectSuccess(run(['--resume', 'stopped/seed0', 'stopped/seed1', '--steps', '1600']));
    expectSuccess(run(['--resume', 'straight0', '--steps', '1600']));
    expect(bytes('stopped', 'seed0', 'checkpoint.mixrl').equals(bytes('straight0', 'checkpoint.mixrl'))).toBe(true);
  });

  it('resumes runs of an env module and a custom estimator together (each module loaded once), as alone', () => {
    const MODULES = ['--env', 'Tracking', '--env-module', 'tracking.mjs', '--agent', 'sgm-mrp', '--estimator-module', 'estimators.mjs', ...TINY.slice(2)];
    expectSuccess(run([...MODULES, '--steps', '300', '--seeds', '2', '--out', 'mods']));
    expectSuccess(run(['--resume', 'mods/seed0', 'mods/seed1', '--steps', '500']));
    expectSuccess(run([...MODULES, '--steps', '300', '--seed', '1', '--out', 'mods-alone']));
    expectSuccess(run(['--resume', 'mods-alone', '--steps', '500']));
    for (const file of SAME_FILES.slice(0, 2)) expect(bytes('mods', 'seed1', file).equals(bytes('mods-alone', file)), file).toBe(true);
  });

  it('resumes runs of one seed apart in α and learning rates together, naming each by its folder, as alone', () => {
    expectSuccess(run([...TINY, '--steps', '300', '--alpha', '0.1', '--out', 'apart/a']));
    expectSuccess(run([...TINY, '--steps', '300', '--alpha', '0.5', '--actor-lr', '3e-4', '--out', 'apart/b']));
    expectSuccess(run([...TINY, '--steps', '300', '--alpha', '0.5', '--actor-lr', '3e-4', '--out', 'apart-alone']));
    const r = expectSuccess(run(['--resume', 'apart/a', 'apart/b', '--steps', '500']));
    expect(r.stdout).toMatch(/^apart\/a done: 500 steps, /m);
    expect(r.stdout).toMatch(/^apart\/b done: 500 steps, /m);
    expectSuccess(run(['--resume', 'apart-alone', '--steps', '500']));
    for (const file of SAME_FILES.slice(0, 2)) expect(bytes('apart', 'b', file).equals(bytes('apart-alone', file)), file).toBe(true);
  });

  it("starts from the config file's seed, and refuses seeds past the safe integers", () => {
    writeFileSync(path.join(work, 'seed5.json'), JSON.stringify({ env: 'ShapedPendulum', seed: 5, steps: 60, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2 }));
    const r = expectSuccess(run(['--config', 'seed5.json', '--seeds', '2', '--out', 'from5']));
    expect(r.stdout).toContain('(seeds 5-6, together, 60 steps) -> from5/seed5, from5/seed6');
    expectUserErrorResult(run([...TINY, '--seed', '9007199254740991', '--seeds', '2']), 'mixrl train: --seeds 2 from seed 9007199254740991: the last seed, 9007199254740992, is not a safe integer');
    // One seed is a run alone, and says so.
    expect(expectSuccess(run([...TINY, '--steps', '60', '--seed', '3', '--seeds', '1', '--out', 'one'])).stdout).toContain('(seed 3, 60 steps) -> one/seed3');
  });

  it('refuses bad --seeds, a run folder taken, runs that differ in more than their seed, and a folder given twice', () => {
    expectUserErrorResult(run([...TINY, '--seeds', '0']), "mixrl train: flag --seeds must be a positive integer (how many runs, seeds --seed on), got '0'");
    expectUserErrorResult(run([...TINY, '--seeds', 'two']), "mixrl train: flag --seeds must be a positive integer (how many runs, seeds --seed on), got 'two'");
    expectSuccess(run([...TINY, '--steps', '60', '--seed', '1', '--out', 'taken/seed1']));
    expectUserErrorResult(run([...TINY, '--steps', '60', '--seeds', '3', '--out', 'taken']), /^mixrl train: --out taken\/seed1 already holds a run/);
    expect(existsSync(path.join(work, 'taken', 'seed0'))).toBe(false);
    expectSuccess(run([...TINY, '--steps', '60', '--tau', '0.05', '--out', 'other']));
    expectUserErrorResult(
      run(['--resume', 'taken/seed1', 'other', '--steps', '100']),
      "mixrl train: --resume taken/seed1 other: these runs cannot be trained together: other differs from taken/seed1 in tau (0.05 there, 0.01 in taken/seed1); only seed, alpha, actorLr, criticLr, alphaLr may differ; resume them one by one",
    );
    expectUserErrorResult(run(['--resume', 'other', './other']), 'mixrl train: --resume: ./other is the folder other again');
    mkdirSync(path.join(work, 'links'));
    symlinkSync(path.join(work, 'other'), path.join(work, 'links', 'other'));
    expectUserErrorResult(run(['--resume', 'other', 'links/other', '--steps', '100']), 'mixrl train: --resume: links/other is the folder other again');
    // Two seeds into one folder (through '..') are refused before anything is written.
    expectUserErrorResult(run([...TINY, '--steps', '60', '--seeds', '2', '--out', 'col/{seed}/..']), 'mixrl train: --seeds: seeds 0 and 1 would share the folder col/1/.. (--out col/{seed}/..)');
    expect(existsSync(path.join(work, 'col'))).toBe(false);
    // Neither was touched: their configs still say 60 steps.
    expect(JSON.parse(bytes('other', 'config.json').toString()).steps).toBe(60);
  });
});
