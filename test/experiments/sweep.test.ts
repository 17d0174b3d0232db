/**
 * The hyperparameter sweep (`mixrl sweep`, `mixrl reproduce --sweep`): grid parsing and the
 * Cartesian product with the paper's tied actor lr, the ranking by area under the curve against
 * areas computed by hand from synthetic run folders (no training), then tiny real sweeps through the
 * CLI (interrupted and resumed) and fig6-classic's --sweep path at quick scale.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isLeft, isRight, right } from 'fp-ts/lib/Either.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, expectUserErrorResult, interruptWhen, runCli, TINY_RUNS } from '../cli/harness';
import { PAPER_EXPERIMENTS } from '../../src/experiments';
import { parseCsv } from '../../src/experiments/paper/csv';
import { OVERRIDE_VARIABLE, useCliForRuns } from '../../src/experiments/paper/runs';
import { checkSettings, expandGrid, parseGrid, rerunSeeds, runSweep, type SweepTask } from '../../src/experiments/sweep';
import { cpu } from '../../src/tensor';

const grid = (texts: string[]) => {
  const r = parseGrid(texts);
  if (isLeft(r)) throw r.left;
  return r.right;
};
const gridError = (texts: string[]) => {
  const r = parseGrid(texts);
  expect(isRight(r), texts.join(' ')).toBe(false);
  return isLeft(r) ? r.left.message : '';
};

/** A run's learning curve and area as docs/experiments.md defines them, written out here on its own. */
function areaByHand(episodes: { step: number; return: number }[], steps: number, bins: number): number {
  const points: number[] = [];
  let previous = 0;
  let last = NaN;
  for (let i = 1; i <= bins; i++) {
    const x = Math.round((i * steps) / bins);
    const inBin = episodes.filter((e) => e.step > previous && e.step <= x).map((e) => e.return);
    const upTo = episodes.filter((e) => e.step <= x);
    if (upTo.length > 0) last = upTo[upTo.length - 1].return;
    points.push(inBin.length > 0 ? inBin.reduce((a, b) => a + b, 0) / inBin.length : last);
    previous = x;
  }
  const defined = points.filter(Number.isFinite);
  return defined.length === 0 ? NaN : defined.reduce((a, b) => a + b, 0) / defined.length;
}

const readEpisodes = (dir: string) =>
  readFileSync(path.join(dir, 'episodes.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { step: number; return: number });

describe('grids', () => {
  it('the Cartesian product, first axis slowest, with actor lr = critic lr x ratio', () => {
    const axes = grid(['alpha=0.001,0.01', 'critic-lr=1e-3,1e-4', 'actor-lr-ratio=0.01,10']);
    expect(axes).toEqual([
      { key: 'alpha', values: [0.001, 0.01] },
      { key: 'criticLr', values: [0.001, 0.0001] },
      { key: 'actorLrRatio', values: [0.01, 10] },
    ]);
    const settings = expandGrid(axes, 1e-3);
    expect(settings).toHaveLength(8);
    // By hand: 1e-3 x 0.01 = 1e-5, 1e-3 x 10 = 1e-2, 1e-4 x 0.01 = 1e-6, 1e-4 x 10 = 1e-3 (exactly as written,
    // not 1e-4 * 10 = 0.0010000000000000002).
    expect(settings.map((s) => s.config)).toEqual([
      { alpha: 0.001, criticLr: 0.001, actorLr: 0.00001 },
      { alpha: 0.001, criticLr: 0.001, actorLr: 0.01 },
      { alpha: 0.001, criticLr: 0.0001, actorLr: 0.000001 },
      { alpha: 0.001, criticLr: 0.0001, actorLr: 0.001 },
      { alpha: 0.01, criticLr: 0.001, actorLr: 0.00001 },
      { alpha: 0.01, criticLr: 0.001, actorLr: 0.01 },
      { alpha: 0.01, criticLr: 0.0001, actorLr: 0.000001 },
      { alpha: 0.01, criticLr: 0.0001, actorLr: 0.001 },
    ]);
    expect(settings.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(settings[3].id).toBe('alpha0.001_critic-lr0.0001_actor-lr-ratio10');
    expect(new Set(settings.map((s) => s.id)).size).toBe(8);
    // No critic-lr axis: the ratio ties the actor lr to the env's default critic lr (MountainCar's is 1e-4).
    expect(expandGrid(grid(['actor-lr-ratio=0.1,10']), 1e-4).map((s) => s.config)).toEqual([{ actorLr: 0.00001 }, { actorLr: 0.001 }]);
    // Other kinds of keys: integers, booleans, strings.
    expect(expandGrid(grid(['batch-size=16,32', 'auto-alpha=true,false', 'init=torch']), 1e-3).map((s) => s.config)).toEqual([
      { batchSize: 16, autoAlpha: true, init: 'torch' },
      { batchSize: 16, autoAlpha: false, init: 'torch' },
      { batchSize: 32, autoAlpha: true, init: 'torch' },
      { batchSize: 32, autoAlpha: false, init: 'torch' },
    ]);
    expect(rerunSeeds([0, 1, 2], 2)).toEqual([3, 4]);
  });

  it('sweeps the update schedule and the entropy target, checked as mixrl train checks them', () => {
    const schedule = expandGrid(grid(['train-freq=1,4', 'gradient-steps=1,20']), 1e-3);
    expect(schedule.map((s) => [s.id, s.config])).toEqual([
      ['train-freq1_gradient-steps1', { trainFreq: 1, gradientSteps: 1 }],
      ['train-freq1_gradient-steps20', { trainFreq: 1, gradientSteps: 20 }],
      ['train-freq4_gradient-steps1', { trainFreq: 4, gradientSteps: 1 }],
      ['train-freq4_gradient-steps20', { trainFreq: 4, gradientSteps: 20 }],
    ]);
    expect(checkSettings('Pendulum', 'sg-rp', schedule)).toEqual(right(true));
    const problem = (texts: string[]) => {
      const checked = checkSettings('Pendulum', 'sg-rp', expandGrid(grid(texts), 1e-3));
      return isLeft(checked) ? checked.left.message : 'accepted';
    };
    expect(problem(['gradient-steps=1,-1'])).toBe(
      "--grid setting gradient-steps-1: 'gradientSteps' must be a positive integer, got -1 (Stable-Baselines3's -1, as many updates as steps collected, is 'gradientSteps' equal to 'trainFreq' here)",
    );
    expect(problem(['train-freq=0'])).toBe("--grid setting train-freq0: 'trainFreq' must be a positive integer, got 0");
    // A number or auto; a number only with automatic alpha (the classic setup's alpha is fixed).
    expect(grid(['target-entropy=auto,-2'])).toEqual([{ key: 'targetEntropy', values: ['auto', -2] }]);
    expect(problem(['auto-alpha=true', 'target-entropy=auto,-2,0.5'])).toBe('accepted');
    expect(problem(['target-entropy=auto,-2'])).toMatch(/^--grid setting target-entropy-2: 'targetEntropy' -2 is the target of automatic alpha, and 'autoAlpha' is false/);
    expect(gridError(['target-entropy=high'])).toBe("--grid target-entropy=high: 'target-entropy' takes numbers or auto, got 'high'");
  });

  it('refuses bad axes with one line naming the problem', () => {
    expect(gridError(['alpah=1'])).toMatch(/^--grid alpah=1: unknown key 'alpah'; keys: .*\balpha\b.*\bcritic-lr\b.*\bactor-lr-ratio\b/);
    expect(gridError(['alpha=0.1', 'alpha=1'])).toMatch(/^--grid: the key 'alpha' is given twice/);
    expect(gridError(['alpha='])).toBe("--grid alpha=: no values after 'alpha='");
    expect(gridError(['alpha=0.1,,1'])).toMatch(/^--grid alpha=0.1,,1: an empty value/);
    expect(gridError(['alpha=abc'])).toBe("--grid alpha=abc: 'alpha' takes numbers, got 'abc'");
    expect(gridError(['alpha=0x10'])).toBe("--grid alpha=0x10: 'alpha' takes numbers, got '0x10'");
    expect(gridError(['batch-size=1.5'])).toBe("--grid batch-size=1.5: 'batch-size' takes integers, got '1.5'");
    expect(gridError(['auto-alpha=yes'])).toBe("--grid auto-alpha=yes: 'auto-alpha' takes true or false, got 'yes'");
    expect(gridError(['alpha=0.1,0.1'])).toBe('--grid alpha=0.1,0.1: the value 0.1 is given twice');
    expect(gridError(['actor-lr-ratio=0,1'])).toMatch(/takes positive numbers, got '0'/);
    expect(gridError(['actor-lr=1e-3', 'actor-lr-ratio=1'])).toMatch(/'actor-lr' and 'actor-lr-ratio' both set the actor lr/);
    expect(gridError(['seed=1,2'])).toMatch(/^--grid seed=1,2: 'seed' cannot be swept/);
    expect(gridError(['steps=100,200'])).toMatch(/'steps' cannot be swept/);
    expect(gridError(['hidden=64'])).toMatch(/'hidden' cannot be swept/);
    expect(gridError(['alpha'])).toMatch(/^--grid alpha: write key=v1,v2,\.\.\./);
  });
});

describe('ranking by area under the curve', () => {
  const saved = process.env[OVERRIDE_VARIABLE];
  afterEach(() => {
    if (saved === undefined) delete process.env[OVERRIDE_VARIABLE];
    else process.env[OVERRIDE_VARIABLE] = saved;
  });

  it('ranks synthetic finished runs by their mean area (read back, nothing trained)', async () => {
    delete process.env[OVERRIDE_VARIABLE];
    const workDir = mkdtempSync(path.join(tmpdir(), 'mixrl-sweep-rank-'));
    const settings = expandGrid(grid(['alpha=0.1,1,0.01,0.001,10']), 1e-3);
    const task: SweepTask = { env: 'Pendulum', agent: 'sg-rp', settings, seeds: [0, 1], steps: 400, bins: 4 };
    // Episodes per (alpha, seed); the curve grid is 100, 200, 300, 400.
    const episodes: Record<string, { step: number; return: number }[]> = {
      // [2, 2, 4, 4] -> 3; [-, 6, 6, 0] -> 4; mean 3.5
      '0.1/0': [{ step: 100, return: 2 }, { step: 300, return: 4 }],
      '0.1/1': [{ step: 200, return: 6 }, { step: 400, return: 0 }],
      // [10, 0, 0, 0] -> 2.5; [mean(1, 3) = 2, 3, 3, 3] -> 2.75; mean 2.625
      '1/0': [{ step: 100, return: 10 }, { step: 200, return: 0 }, { step: 300, return: 0 }, { step: 400, return: 0 }],
      '1/1': [{ step: 50, return: 1 }, { step: 100, return: 3 }],
      // no episode: no area; [-, -, -, 100] -> 100; mean over the seed that has one: 100, ranked
      // after the settings whose two seeds have areas
      '0.01/0': [],
      '0.01/1': [{ step: 400, return: 100 }],
      // no episodes at all: no area, ranked last
      '0.001/0': [],
      '0.001/1': [],
      // seed 0's policy diverged (summary.json says so): no area, whatever its episodes before; seed
      // 1's [1000, 1000, 1000, 1000] -> 1000: one seed with an area, ahead of 0.01's 100
      '10/0': [{ step: 100, return: 5000 }],
      '10/1': [{ step: 100, return: 1000 }],
    };
    const summaryOf = (alpha: number, seed: number) =>
      alpha === 10 && seed === 0 ? { finished: false, steps: 150, diverged: "step 150: the policy's action is [NaN], not finite" } : { finished: true };
    for (const s of settings) {
      for (const seed of task.seeds) {
        const dir = path.join(workDir, `Pendulum-sg-rp-${s.id}-seed${seed}`);
        mkdirSync(dir);
        // A finished run as `mixrl train` leaves it: its config, a checkpoint, a finished summary, its episodes.
        writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...s.config, env: 'Pendulum', agent: 'sg-rp', seed, steps: 400 }));
        writeFileSync(path.join(dir, 'checkpoint.mixrl'), 'x');
        writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summaryOf(s.values.alpha as number, seed)));
        writeFileSync(path.join(dir, 'episodes.jsonl'), episodes[`${s.values.alpha}/${seed}`].map((e) => `${JSON.stringify(e)}\n`).join(''));
      }
    }
    const lines: string[] = [];
    useCliForRuns(null);
    const result = await runSweep({ backend: cpu, workDir, log: (l) => lines.push(l) }, task, 0);
    expect(lines.filter((l) => /finished before, reused/.test(l))).toHaveLength(9);
    // The diverged run is read back as it stopped (not resumed, not a failure of the sweep).
    expect(lines.filter((l) => /alpha10-seed0: diverged before; 1 episodes, DIVERGED, no area \(step 150: the policy's action is \[NaN\], not finite\)$/.test(l))).toHaveLength(1);
    expect(result.rerun).toBeUndefined();
    const r = result.ranking;
    expect(r.map((x) => x.setting.values.alpha)).toEqual([0.1, 1, 10, 0.01, 0.001]);
    expect(r.map((x) => x.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(r[2].areas).toEqual([NaN, 1000]);
    expect(r[0].areas).toEqual([3, 4]);
    expect(r[0].area.mean).toBe(3.5);
    // Two seeds 3 and 4: s = sqrt(0.5), half-width t(0.975, 1) s / sqrt(2) = 12.706205 / 2.
    expect(r[0].area.lo).toBeCloseTo(3.5 - 6.3531025, 6);
    expect(r[0].area.hi).toBeCloseTo(3.5 + 6.3531025, 6);
    // Final return over the last 10% (steps after 360): seed 0 has none there (its last, 4), seed 1 has 0.
    expect(r[0].final.mean).toBe(2);
    expect(r[1].areas).toEqual([2.5, 2.75]);
    expect(r[1].area.mean).toBeCloseTo(2.625, 12);
    // One seed with an area: its mean, and no interval.
    expect(r[3].areas).toEqual([NaN, 100]);
    expect(r[3].area).toEqual({ n: 1, mean: 100, lo: NaN, hi: NaN });
    expect(r[4].area.mean).toBeNaN();
    // The hand-written curve function agrees with the numbers above.
    expect(areaByHand(episodes['1/1'], 400, 4)).toBe(2.75);
    // The best setting's curve, over its two seeds: [2, 2, 4, 4] and [-, 6, 6, 0].
    expect(result.bestCurve.mean).toEqual([2, 4, 5, 2]);
    // A best setting with a diverged seed: its curve is the other seed's, as its area is (it was the mean with 5000).
    const diverging = settings.filter((s) => s.values.alpha === 10);
    const alone = await runSweep({ backend: cpu, workDir, log: () => {} }, { ...task, settings: diverging }, 0);
    expect(alone.bestCurve.mean).toEqual([1000, 1000, 1000, 1000]);

    // No setting with an area at all: nothing to pick (the first of the grid was picked and rerun).
    const none = mkdtempSync(path.join(tmpdir(), 'mixrl-sweep-none-'));
    const short: SweepTask = { ...task, settings: settings.slice(0, 2), seeds: [0] };
    for (const s of short.settings) {
      const dir = path.join(none, `Pendulum-sg-rp-${s.id}-seed0`);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...s.config, env: 'Pendulum', agent: 'sg-rp', seed: 0, steps: 400 }));
      writeFileSync(path.join(dir, 'checkpoint.mixrl'), 'x');
      writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ finished: true }));
      writeFileSync(path.join(dir, 'episodes.jsonl'), '');
    }
    await expect(runSweep({ backend: cpu, workDir: none, log: () => {} }, short, 1)).rejects.toThrow(
      'sweep: no run of any setting finished an episode in 400 steps, so no setting has an area to rank by; give more steps than an episode of Pendulum lasts',
    );
  });
});

describe('mixrl sweep and reproduce --sweep (tiny runs)', () => {
  let cli = '';
  let work = '';
  const TINY = TINY_RUNS;

  beforeAll(() => {
    ({ cli, work } = bundleCli('mixrl-sweep-'));
  });

  const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, [...args], env);
  const expectUserError = expectUserErrorResult;

  it('bad input: one line each, nothing written', () => {
    const base = ['sweep', '--env', 'Pendulum', '--agent', 'sg-rp', '--out', 'bad'];
    expectUserError(run([...base, '--grid', 'alpah=1']), /^mixrl sweep: --grid alpah=1: unknown key 'alpah'/);
    expectUserError(run([...base, '--grid', 'alpha=0.1', '--grid', 'alpha=1']), /^mixrl sweep: --grid: the key 'alpha' is given twice/);
    expectUserError(run([...base, '--grid', 'alpha=']), /^mixrl sweep: --grid alpha=: no values/);
    expectUserError(run([...base, '--grid', 'critic-lr=fast']), /^mixrl sweep: --grid critic-lr=fast: 'critic-lr' takes numbers, got 'fast'$/);
    expectUserError(run([...base, '--grid', 'alpha=-1,1']), /^mixrl sweep: --grid setting alpha-1: 'alpha' must be a positive number, got -1$/);
    expectUserError(run([...base, '--grid']), /^mixrl sweep: flag --grid needs a value/);
    expectUserError(run([...base]), /^mixrl sweep: give at least one --grid/);
    expectUserError(run(['sweep', '--agent', 'sg-rp', '--grid', 'alpha=1']), /^mixrl sweep: --env ENV is required/);
    expectUserError(run(['sweep', '--env', 'Pendulum', '--agent', 'nope', '--grid', 'alpha=1']), /^mixrl sweep: unknown agent 'nope'/);
    expectUserError(run([...base, '--gird', 'alpha=1']), /^mixrl sweep: unknown flag --gird; known flags: .*--grid/);
    // The paper's grid, 80 settings x 10 seeds: 800 runs, over the default limit of 500.
    const paper = ['--grid', 'alpha=0.001,0.01,0.1,1', '--grid', 'critic-lr=0.1,0.01,0.001,0.0001,0.00001', '--grid', 'actor-lr-ratio=0.01,0.1,1,10'];
    expectUserError(run([...base, ...paper, '--seeds', '10']), /^mixrl sweep: the sweep is 800 runs \(80 settings x 10 seeds of 30000 steps\), more than --max-runs 500; raise --max-runs to run it$/);
    expect(existsSync(path.join(work, 'bad'))).toBe(false);
    expectUserError(run(['reproduce', 'fig1-stationary', '--sweep']), /^mixrl reproduce: --sweep: fig1-stationary has no hyperparameter sweep \(only fig6-classic, fig8-estimators\)$/);
  });

  it('a sweep: interrupted, continued (finished runs reused), ranked as the episodes say, the best rerun; finished refused', async () => {
    const env = { [OVERRIDE_VARIABLE]: TINY };
    // One run at a time (the settings differ only in α and rates, so by default they train together).
    const args = ['sweep', '--env', 'ShapedPendulum', '--agent', 'sg-rp', '--grid', 'alpha=0.01,0.5', '--grid', 'actor-lr-ratio=0.1', '--seeds', '1', '--rerun-seeds', '1', '--together', '1', '--out', 'sw'];
    const out = path.join(work, 'sw');
    const runDir = (name: string) => path.join(out, 'runs', name);
    const second = 'ShapedPendulum-sg-rp-alpha0.5_actor-lr-ratio0.1-seed0';
    const ready = (out: string) => /\[1\/2\]/.test(out) && existsSync(path.join(runDir(second), 'checkpoint.mixrl'));
    const { code, output: stdout } = await interruptWhen(cli, work, args, ready, { env });
    expect(code, stdout).toBe(130);
    expect(stdout).toContain(
      'continue with the same command: mixrl sweep --env ShapedPendulum --agent sg-rp --grid alpha=0.01,0.5 --grid actor-lr-ratio=0.1 --seeds 1 --steps 30000 --rerun-seeds 1 --jobs 1 --together 1 --backend cpu --out sw\n',
    );
    expect(existsSync(path.join(out, 'best.json'))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(runDir(second), 'summary.json'), 'utf8')).finished).toBe(false);

    // Other options in the unfinished folder: refused, naming the command that continues it.
    expectUserError(run(args.map((a, i) => (args[i - 1] === '--seeds' ? '2' : a)), env), /^mixrl sweep: --out sw holds an unfinished sweep of ShapedPendulum, sg-rp with other options; continue it with mixrl sweep .* --seeds 1 /);

    // A run's config.json that no longer parses, beside its checkpoint: an error, the run kept.
    const secondConfig = path.join(runDir(second), 'config.json');
    const configText = readFileSync(secondConfig, 'utf8');
    writeFileSync(secondConfig, configText.replace('{', '{,'));
    expectUserError(run(args, env), new RegExp(`config\\.json is not valid JSON \\(.*\\), beside the run's checkpoint: restore it, or remove .*${second} to train that run again`));
    expect(existsSync(path.join(runDir(second), 'checkpoint.mixrl'))).toBe(true);
    writeFileSync(secondConfig, configText);

    const done = run([...args, '--jobs', '2'], env);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout).toMatch(/ShapedPendulum-sg-rp-alpha0.01_actor-lr-ratio0.1-seed0: finished before, reused/);
    expect(done.stdout).toMatch(new RegExp(`${second}: resumed and trained`));
    expect(readdirSync(out).sort()).toEqual(['best-curve.svg', 'best.json', 'findings.md', 'runs', 'sweep.csv', 'sweep.json']);
    // The areas by hand from each run's episodes (2000 steps on a grid of 50 points, every 40 steps).
    const names = ['ShapedPendulum-sg-rp-alpha0.01_actor-lr-ratio0.1-seed0', second];
    const areas = names.map((n) => areaByHand(readEpisodes(runDir(n)), 2000, 50));
    const bestIndex = areas[0] >= areas[1] ? 0 : 1;
    const rows = parseCsv(readFileSync(path.join(out, 'sweep.csv'), 'utf8'));
    expect(rows[0]).toEqual(['rank', 'alpha', 'actor-lr-ratio', 'actor-lr', 'seeds', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95', 'auc_seed0']);
    expect(rows.slice(1).map((r) => r[1])).toEqual(bestIndex === 0 ? ['0.01', '0.5'] : ['0.5', '0.01']);
    // actor lr = the env's default critic lr (1e-3) x 0.1.
    expect(rows[1][3]).toBe('0.0001');
    const ordered = bestIndex === 0 ? areas : [areas[1], areas[0]];
    rows.slice(1).forEach((r, i) => {
      expect(Number(r[5])).toBeCloseTo(ordered[i], 2);
      expect(Number(r[11])).toBeCloseTo(ordered[i], 2);
    });
    const best = JSON.parse(readFileSync(path.join(out, 'best.json'), 'utf8'));
    const bestAlpha = bestIndex === 0 ? 0.01 : 0.5;
    expect(best).toMatchObject({ env: 'ShapedPendulum', agent: 'sg-rp', setting: { alpha: bestAlpha, 'actor-lr-ratio': 0.1 }, config: { alpha: bestAlpha, actorLr: 0.0001 }, continued: true });
    expect(best.trainCommand).toBe(`mixrl train --env ShapedPendulum --agent sg-rp --alpha ${bestAlpha} --actor-lr 0.0001 --steps 30000`);
    // The rerun: seed 1 (after the sweep's seed 0), its area by hand.
    const rerunDir = runDir(`ShapedPendulum-sg-rp-alpha${bestAlpha}_actor-lr-ratio0.1-seed1`);
    expect(best.rerun.seeds).toEqual([1]);
    expect(best.rerun.area.mean).toBeCloseTo(areaByHand(readEpisodes(rerunDir), 2000, 50), 6);
    expect(JSON.parse(readFileSync(path.join(rerunDir, 'config.json'), 'utf8'))).toMatchObject({ seed: 1, alpha: bestAlpha, actorLr: 0.0001, steps: 2000 });
    const svg = readFileSync(path.join(out, 'best-curve.svg'), 'utf8');
    expect(svg.match(/<g class="legend-entry">/g)).toHaveLength(2);
    expect(readFileSync(path.join(out, 'findings.md'), 'utf8')).toMatch(/^# Sweep: ShapedPendulum, sg-rp\n/);
    expectUserError(run(args, env), /^mixrl sweep: --out sw already holds finished results \(best\.json\)/);
  });

  it('fig6-classic --sweep at quick scale: a 2x2 sweep per env and agent, the figures made of the best settings\' reruns', async () => {
    const before = process.env[OVERRIDE_VARIABLE];
    process.env[OVERRIDE_VARIABLE] = JSON.stringify({ steps: 400, hidden: [8, 8], batchSize: 8, learningStarts: 50, components: 2 });
    const workDir = mkdtempSync(path.join(tmpdir(), 'mixrl-fig6-sweep-'));
    try {
      useCliForRuns(null);
      const ctx = { scale: 'quick' as const, seeds: [0], backend: cpu, workDir, sweep: true, log: () => {} };
      const result = await PAPER_EXPERIMENTS['fig6-classic'].run(ctx);
      // 2 envs x 2 agents x 4 settings x 1 seed, then 4 reruns on seed 1.
      const dirs = readdirSync(workDir);
      expect(dirs).toHaveLength(20);
      expect(dirs.filter((d) => d.endsWith('-seed1'))).toHaveLength(4);
      expect(result.tables.map((t) => t.id)).toEqual(['fig6-summary', 'fig6-sweep', 'fig6-best']);
      const summary = result.tables[0];
      const best = result.tables[2];
      expect(best.columns.slice(0, 4)).toEqual(['env', 'agent', 'alpha', 'critic_lr']);
      for (const env of ['Pendulum', 'ShapedPendulum']) {
        for (const [agent, label] of [['sg-rp', 'SG-RP'], ['sgm-mrp', 'SGM-MRP']]) {
          // The best of the four by the areas recomputed here (grid of 10 points over 400 steps).
          const candidates = [0.01, 0.1].flatMap((alpha) => [0.001, 0.0001].map((lr) => ({ alpha, lr, id: `alpha${alpha}_critic-lr${lr}` })));
          const scored = candidates.map((c) => ({ ...c, area: areaByHand(readEpisodes(path.join(workDir, `${env}-${agent}-${c.id}-seed0`)), 400, 10) }));
          const top = scored.reduce((a, b) => (b.area > a.area ? b : a));
          const row = best.rows.find((r) => r[0] === env && r[1] === label)!;
          expect(row.slice(2, 4), `${env} ${agent}`).toEqual([top.alpha, top.lr]);
          // The summary's area is the rerun's (seed 1), not the sweep's.
          const rerunArea = areaByHand(readEpisodes(path.join(workDir, `${env}-${agent}-${top.id}-seed1`)), 400, 10);
          const summaryRow = summary.rows.find((r) => r[0] === env && r[2] === label)!;
          expect(Number(summaryRow[4])).toBeCloseTo(rerunArea, 2);
          expect(summaryRow[3]).toBe(1);
        }
      }
      expect(result.findings.at(-1)).toMatch(/^Settings chosen by the paper's protocol \(sweep of 4 settings on 1 seed/);
    } finally {
      if (before === undefined) delete process.env[OVERRIDE_VARIABLE];
      else process.env[OVERRIDE_VARIABLE] = before;
    }
  });

  it('reproduce refuses to continue a --sweep folder without --sweep, naming the command with it', () => {
    const out = path.join(work, 'f6s');
    mkdirSync(path.join(out, 'runs'), { recursive: true });
    writeFileSync(path.join(out, 'reproduce.json'), JSON.stringify({ experiment: 'fig6-classic', scale: 'quick', seeds: [0], jobs: 1, out: 'f6s', backend: 'cpu', sweep: true }));
    const r = run(['reproduce', 'fig6-classic', '--seeds', '1', '--out', 'f6s'], { [OVERRIDE_VARIABLE]: TINY });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'mixrl reproduce: --out f6s holds an unfinished fig6-classic (quick scale, 1 seed, cpu, --sweep); continue it with mixrl reproduce fig6-classic --sweep --scale quick --seeds 1 --jobs 1 --backend cpu --out f6s, or choose another --out',
    );
  });
});
