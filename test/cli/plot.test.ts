/**
 * `mixrl plot`: run folders found below its arguments, the files it writes (checked against the
 * runs' own episodes, averaged here; the rliable statistics against values worked by hand), and its
 * user errors. One real `mixrl train` run checks that it
 * reads the files training writes.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/experiments/paper/csv';
import { bundleCli, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-plot-'));
});

const run = (args: string[]) => runCli(cli, work, args);

/** A run folder as `mixrl train` leaves it: config.json, episodes.jsonl, summary.json. */
function writeRun(dir: string, config: Record<string, unknown>, returns: number[], length = 50, extra: Record<string, string> = {}): void {
  const folder = path.join(work, dir);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ env: 'Pendulum', agent: 'sg-rp', seed: 0, steps: returns.length * length, ...config }));
  writeFileSync(path.join(folder, 'episodes.jsonl'), returns.map((r, i) => `${JSON.stringify({ episode: i, step: (i + 1) * length, return: r, length })}\n`).join(''));
  writeFileSync(path.join(folder, 'summary.json'), JSON.stringify({ steps: returns.length * length, finished: true }));
  for (const [name, text] of Object.entries(extra)) writeFileSync(path.join(folder, name), text);
}

const csv = (file: string) => {
  const [header, ...rows] = parseCsv(readFileSync(path.join(work, file), 'utf8'));
  return rows.map((row) => Object.fromEntries(header.map((h, i) => [h, row[i]])));
};

describe('mixrl plot', () => {
  it('finds the runs below a folder, groups them by what differs and writes one SVG per env and the tables', () => {
    // A sweep-like folder: two agents x two seeds, returns chosen so the means are easy to check.
    writeRun('exp/runs/a0', { agent: 'sg-rp', seed: 0 }, [0, 2, 4, 6]);
    writeRun('exp/runs/a1', { agent: 'sg-rp', seed: 1 }, [2, 4, 6, 8]);
    writeRun('exp/runs/b0', { agent: 'sgm-mrp', seed: 0 }, [10, 10, 10, 10]);
    writeRun('exp/runs/b1', { agent: 'sgm-mrp', seed: 1 }, [10, 10, 10, 12]);
    writeFileSync(path.join(work, 'exp', 'reproduce.json'), '{}');
    const r = run(['plot', 'exp', '--out', 'plots-exp', '--bins', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('4 runs, 2 curves by agent');
    const svg = readFileSync(path.join(work, 'plots-exp', 'Pendulum.svg'), 'utf8');
    expect(svg).toContain('agent=SG-RP');
    expect(svg).toContain('agent=SGM-MRP');
    // Grid [100, 200]: per run the mean of episodes 1-2 and of 3-4.
    const points = csv('plots-exp/curves.csv');
    expect(points.map((p) => [p.curve, Number(p.step), Number(p.mean)])).toEqual([
      ['agent=SG-RP', 100, (1 + 3) / 2],
      ['agent=SG-RP', 200, (5 + 7) / 2],
      ['agent=SGM-MRP', 100, 10],
      ['agent=SGM-MRP', 200, (10 + 11) / 2],
    ]);
    const summary = csv('plots-exp/summary.csv');
    // Final return: the episodes in the last 10% of steps (the 4th): 6 and 8; area: the mean of each run's two points.
    expect(summary.map((s) => [s.curve, Number(s.runs), Number(s.final_mean), Number(s.auc_mean)])).toEqual([
      ['agent=SG-RP', 2, 7, (3 + 5) / 2],
      ['agent=SGM-MRP', 2, 11, (10 + 10.5) / 2],
    ]);
  });

  it('fills a config\'s missing keys with their defaults, so runs from before a key existed join their curve', () => {
    writeRun('old-and-new/old', { seed: 0 }, [1, 3]);
    writeRun('old-and-new/new', { seed: 1, trainFreq: 1, gradientSteps: 1, targetEntropy: 'auto' }, [3, 5]);
    writeRun('old-and-new/utd', { seed: 2, gradientSteps: 4 }, [5, 7]);
    const r = run(['plot', 'old-and-new', '--out', 'plots-old-and-new', '--bins', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(csv('plots-old-and-new/summary.csv').map((s) => [s.curve, Number(s.runs)])).toEqual([
      ['gradientSteps=1', 2],
      ['gradientSteps=4', 1],
    ]);
  });

  it('reads the files a real mixrl train run writes, and its evaluations with --metric eval', () => {
    const args = ['--env', 'Pendulum', '--agent', 'sg-rp', '--steps', '600', '--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--eval-every', '200', '--eval-episodes', '1'];
    for (const seed of ['0', '1']) expect(runCli(cli, work, ['train', ...args, '--seed', seed, '--out', `real/s${seed}`]).code).toBe(0);
    const r = run(['plot', 'real', '--out', 'plots-real', '--metric', 'eval']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 runs, 1 curve;');
    const points = csv('plots-real/curves.csv');
    expect(points.map((p) => Number(p.step))).toEqual([200, 400, 600]);
    const evals = ['s0', 's1'].map((s) =>
      readFileSync(path.join(work, 'real', s, 'evaluations.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).mode.mean as number),
    );
    points.forEach((p, i) => expect(Number(p.mean)).toBeCloseTo((evals[0][i] + evals[1][i]) / 2, 3));
  });

  it('adds the median, IQM and bootstrap intervals to summary.csv, writes comparisons.csv and aggregate.csv, the same bytes for the same seed', () => {
    // Final returns (the last episode): SG-RP 1 2 3 4, SGM-MRP 2 3 5 6 in each env.
    for (const env of ['Pendulum', 'Acrobot']) {
      [1, 2, 3, 4].forEach((r, seed) => writeRun(`rl/${env}-a${seed}`, { env, agent: 'sg-rp', seed }, [0, 0, 0, r]));
      [2, 3, 5, 6].forEach((r, seed) => writeRun(`rl/${env}-b${seed}`, { env, agent: 'sgm-mrp', seed }, [0, 0, 0, r]));
    }
    const r = run(['plot', 'rl', '--out', 'plots-rl', '--bins', '2', '--bootstrap', '500', '--seed', '3', '--normalize', 'Pendulum=0:10,Acrobot=-10:10']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IQM (95% percentile bootstrap interval, 500 resamples, seed 3)');
    expect(r.stdout).toMatch(/ {2}Pendulum {2}P\(agent=SG-RP > agent=SGM-MRP\) = 0\.250 \[[0-9.]+, [0-9.]+\] {2}\(4 vs 4 finished runs\)/);
    // Every file written whole (atomically: no temporary file left beside them).
    expect(readdirSync(path.join(work, 'plots-rl')).sort()).toEqual(['Acrobot.svg', 'Pendulum.svg', 'aggregate.csv', 'comparisons.csv', 'curves.csv', 'summary.csv']);
    const header = readFileSync(path.join(work, 'plots-rl', 'summary.csv'), 'utf8').split('\n')[0];
    const robust = (p: string) => [`${p}_median`, `${p}_median_lo95`, `${p}_median_hi95`, `${p}_iqm`, `${p}_iqm_lo95`, `${p}_iqm_hi95`, `${p}_mean_boot_lo95`, `${p}_mean_boot_hi95`];
    expect(header.split(',')).toEqual(['env', 'curve', 'runs', 'auc_mean', 'auc_lo95', 'auc_hi95', 'final_mean', 'final_lo95', 'final_hi95', ...robust('auc'), ...robust('final')]);
    const summary = csv('plots-rl/summary.csv');
    // IQM of 4 runs cuts one from each end: (2 + 3) / 2 and (3 + 5) / 2; the medians are the same here.
    expect(summary.map((s) => [s.env, s.curve, Number(s.final_mean), Number(s.final_median), Number(s.final_iqm)])).toEqual([
      ['Acrobot', 'agent=SG-RP', 2.5, 2.5, 2.5],
      ['Acrobot', 'agent=SGM-MRP', 4, 4, 4],
      ['Pendulum', 'agent=SG-RP', 2.5, 2.5, 2.5],
      ['Pendulum', 'agent=SGM-MRP', 4, 4, 4],
    ]);
    // P(SG-RP > SGM-MRP): 1 beats none; 2 ties 2 (1/2); 3 beats 2, ties 3 (3/2); 4 beats 2 and 3 (2): 4 of 16.
    const pairs = csv('plots-rl/comparisons.csv');
    expect(Object.keys(pairs[0])).toEqual(['env', 'curve_x', 'curve_y', 'p_improvement', 'lo95', 'hi95', 'runs_x', 'runs_y', 'score']);
    // Over the two envs: the mean of their P, (0.25 + 0.25) / 2.
    expect(pairs.map((p) => [p.env, p.curve_x, p.curve_y, Number(p.p_improvement), Number(p.runs_x), Number(p.runs_y), p.score])).toEqual([
      ['Acrobot', 'agent=SG-RP', 'agent=SGM-MRP', 0.25, 4, 4, 'final'],
      ['Pendulum', 'agent=SG-RP', 'agent=SGM-MRP', 0.25, 4, 4, 'final'],
      ['all (2 envs)', 'agent=SG-RP', 'agent=SGM-MRP', 0.25, 8, 8, 'final'],
    ]);
    expect(r.stdout).toMatch(/ {2}all \(2 envs: Acrobot, Pendulum\) {2}P\(agent=SG-RP > agent=SGM-MRP\) = 0\.250 \[[0-9.]+, [0-9.]+\] {2}\(8 vs 8 finished runs\)/);
    // --compare auc: each run's area is a quarter of its last return (grid 100, 200: 0, then r/2), so the same P, of areas.
    const auc = run(['plot', 'rl', '--out', 'plots-rl-auc', '--bins', '2', '--bootstrap', '50', '--compare', 'auc']);
    expect(auc.code, auc.stderr).toBe(0);
    expect(auc.stdout).toContain('probability of improvement of the area under the curve, P(X > Y)');
    expect(auc.stdout).toMatch(/ {2}Pendulum {2}P\(agent=SG-RP > agent=SGM-MRP\) = 0\.250 \[[0-9.]+, [0-9.]+\] {2}\(4 vs 4 runs\)/);
    expect(csv('plots-rl-auc/comparisons.csv').map((p) => [p.env, Number(p.p_improvement), p.score])).toEqual([
      ['Acrobot', 0.25, 'auc'],
      ['Pendulum', 0.25, 'auc'],
      ['all (2 envs)', 0.25, 'auc'],
    ]);
    // Normalized: SG-RP's finals are 0.1..0.4 in Pendulum, 0.55..0.7 in Acrobot; the IQM of the 8 cuts 2 from each end.
    const aggregate = csv('plots-rl/aggregate.csv');
    expect(aggregate.map((a) => [a.curve, a.envs, Number(a.runs)])).toEqual([
      ['agent=SG-RP', 'Acrobot;Pendulum', 8],
      ['agent=SGM-MRP', 'Acrobot;Pendulum', 8],
    ]);
    expect(Number(aggregate[0].final_iqm)).toBeCloseTo((0.3 + 0.4 + 0.55 + 0.6) / 4, 5);
    // The same seed: the same bytes; another: other intervals.
    expect(run(['plot', 'rl', '--out', 'plots-rl-again', '--bins', '2', '--bootstrap', '500', '--seed', '3', '--normalize', 'Pendulum=0:10,Acrobot=-10:10']).code).toBe(0);
    for (const file of ['summary.csv', 'comparisons.csv', 'aggregate.csv', 'curves.csv']) {
      expect(readFileSync(path.join(work, 'plots-rl-again', file))).toEqual(readFileSync(path.join(work, 'plots-rl', file)));
    }
    expect(run(['plot', 'rl', '--out', 'plots-rl-other', '--bins', '2', '--bootstrap', '500', '--seed', '4']).code).toBe(0);
    expect(readFileSync(path.join(work, 'plots-rl-other', 'summary.csv'), 'utf8')).not.toBe(readFileSync(path.join(work, 'plots-rl', 'summary.csv'), 'utf8'));
    // Without --normalize, aggregate.csv is its header alone.
    expect(readFileSync(path.join(work, 'plots-rl-other', 'aggregate.csv'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('follows links to run folders, counts a run reached twice once, and ends a loop of links', () => {
    writeRun('linked/runs/a0', { agent: 'sg-rp', seed: 0 }, [1, 2]);
    writeRun('linked/runs/a1', { agent: 'sg-rp', seed: 1 }, [3, 4]);
    mkdirSync(path.join(work, 'linked', 'compare'));
    symlinkSync(path.join('..', 'runs', 'a0'), path.join(work, 'linked', 'compare', 'a0'));
    symlinkSync(path.join(work, 'linked', 'runs', 'a1'), path.join(work, 'linked', 'compare', 'a1'));
    symlinkSync('..', path.join(work, 'linked', 'compare', 'up')); // a loop: compare/up/compare/up/...
    const r = run(['plot', 'linked/compare', '--out', 'plots-linked']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^2 runs, 1 curve;/);
    const twice = run(['plot', 'linked/runs', 'linked/runs/a0/', path.join(work, 'linked', 'runs', 'a1'), 'linked/compare', '--out', 'plots-linked']);
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stdout).toMatch(/^2 runs, 1 curve;/);
    expect(csv('plots-linked/summary.csv').map((row) => [row.curve, row.runs, row.final_mean])).toEqual([['all runs', '2', '3']]);
  });

  it('says which runs had episodes of a NaN or infinite return (null in episodes.jsonl), which their curves leave out', () => {
    writeRun('diverged/s0', { seed: 0 }, [1, 2, 3]);
    writeRun('diverged/s1', { seed: 1 }, [1, 2, 3]);
    const file = path.join(work, 'diverged', 's1', 'episodes.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"return":2', '"return":null').replace('"return":3', '"return":null'));
    const r = run(['plot', 'diverged', '--out', 'plots-diverged']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`note: ${path.join('diverged', 's1')}: 2 episodes with a NaN or infinite return (episodes.jsonl says null) left out of its curve; did the run diverge?`);
    expect(r.stdout).not.toContain('diverged/s0:');
  });

  it('says which runs diverged (summary.json) and which summary.json does not parse', () => {
    writeRun('ended/s0', { seed: 0 }, [1, 2, 3], 50, { 'summary.json': JSON.stringify({ steps: 160, finished: false, diverged: "step 160: the policy's action is [NaN], not finite: ..." }) });
    writeRun('ended/s1', { seed: 1 }, [1, 2, 3], 50, { 'summary.json': '{"steps": 150,' });
    const r = run(['plot', 'ended', '--out', 'plots-ended']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`note: ${path.join('ended', 's0')}: its policy diverged (step 160): drawn as far as it got, left out of the final return`);
    expect(r.stdout).toContain(`note: ${path.join('ended', 's1', 'summary.json')} is not JSON: the run is drawn as unfinished`);
  });

  it('writes comparisons.csv as its header alone when no env has two curves', () => {
    writeRun('lonely/s0', { seed: 0 }, [1, 2]);
    writeRun('lonely/s1', { seed: 1 }, [3, 4]);
    const r = run(['plot', 'lonely', '--out', 'plots-lonely']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('probability of improvement');
    expect(readFileSync(path.join(work, 'plots-lonely', 'comparisons.csv'), 'utf8')).toBe('env,curve_x,curve_y,p_improvement,lo95,hi95,runs_x,runs_y,score\n');
  });

  it('refuses what it cannot plot, naming the folder, file or flag', () => {
    expectUserErrorResult(run(['plot']), "mixrl plot: give one or more run folders, or folders holding them (a sweep's or reproduction's --out)");
    expectUserErrorResult(run(['plot', 'nowhere']), 'mixrl plot: nowhere: no such folder');
    mkdirSync(path.join(work, 'empty', 'deep'), { recursive: true });
    expectUserErrorResult(run(['plot', 'empty']), 'mixrl plot: empty holds no run folder (config.json beside episodes.jsonl) within 4 levels');
    writeRun('broken', {}, [1]);
    writeFileSync(path.join(work, 'broken', 'config.json'), '{"env": "Pendulum",, }');
    expectUserErrorResult(run(['plot', 'broken']), /^mixrl plot: broken\/config\.json: not JSON \(.*position 19.*\)$/);
    writeRun('no-evals', {}, [1, 2]);
    expectUserErrorResult(run(['plot', 'no-evals', '--metric', 'eval']), 'mixrl plot: --metric eval: no run holds evaluations.jsonl (train with --eval-every N)');
    expectUserErrorResult(run(['plot', 'no-evals', '--metric', 'best']), "mixrl plot: flag --metric must be return or eval, got 'best'");
    // The keys a config lacks count with their defaults (a run from before a key existed ran with it).
    expectUserErrorResult(run(['plot', 'no-evals', '--group-by', 'agent,lr']), /^mixrl plot: --group-by: no run's config has 'lr'; config keys: actorLr, agent, .*, targetEntropy, tau, tensorboard, trainFreq$/);
    expectUserErrorResult(run(['plot', 'no-evals', '--compare', 'median']), "mixrl plot: flag --compare must be final or auc, got 'median'");
    expectUserErrorResult(run(['plot', 'no-evals', '--bins', '0']), 'mixrl plot: flag --bins must be a positive integer, got 0');
    expectUserErrorResult(run(['plot', 'no-evals', '--bootstrap', '0']), 'mixrl plot: flag --bootstrap must be a positive integer (resamples of the runs), got 0');
    expectUserErrorResult(run(['plot', 'no-evals', '--bootstrap', '-3']), 'mixrl plot: flag --bootstrap must be a positive integer (resamples of the runs), got -3');
    expectUserErrorResult(run(['plot', 'no-evals', '--bootstrap', '1.5']), "mixrl plot: flag --bootstrap must be an integer, got '1.5'");
    expectUserErrorResult(run(['plot', 'no-evals', '--normalize', 'Pendulum=-1500']), "mixrl plot: --normalize: 'Pendulum=-1500' is not ENV=MIN:MAX (e.g. Pendulum=-1500:0)");
    expectUserErrorResult(run(['plot', 'no-evals', '--normalize', 'Pendulum=0:0']), "mixrl plot: --normalize: Pendulum's MIN must be below its MAX, got 0:0");
    expectUserErrorResult(run(['plot', 'no-evals', '--normalize', 'Acrobot=0:1']), "mixrl plot: --normalize: no run is of env 'Acrobot'; the runs' envs: Pendulum");
    expectUserErrorResult(run(['plot', 'no-evals', '--normalize', 'Pendulum=0:1,Pendulum=0:2']), 'mixrl plot: --normalize: Pendulum is given twice');
  });
});
