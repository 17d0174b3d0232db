/**
 * `mixrl plot`: run folders found below its arguments, the files it writes (checked against the
 * runs' own episodes, averaged here), and its user errors. One real `mixrl train` run checks that it
 * reads the files training writes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
    expectUserErrorResult(run(['plot', 'no-evals', '--group-by', 'agent,lr']), /^mixrl plot: --group-by: no run's config has 'lr'; config keys: agent, env, seed, steps$/);
    expectUserErrorResult(run(['plot', 'no-evals', '--bins', '0']), 'mixrl plot: flag --bins must be a positive integer, got 0');
  });
});
