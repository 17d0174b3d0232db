import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

let cli = '';
let work = '';

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'mixrl-cli-'));
  cli = path.join(work, 'cli.mjs');
  buildSync({
    entryPoints: [path.resolve(__dirname, '../../src/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: cli,
    external: ['webgpu'],
    logLevel: 'error',
  });
});

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: exit code 2, one line on stderr, no stack trace. */
function expectUserError(args: string[], message: string | RegExp, env: Record<string, string> = {}) {
  const r = run(args, env);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trim()).toMatch(message);
}

const TINY = ['--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--components', '2'];

describe('mixrl command: bad input', () => {
  it('unknown env', () => expectUserError(['train', '--env', 'Nope'], /^mixrl train: unknown env 'Nope'; known envs: Pendulum, /));
  it('unknown agent', () => expectUserError(['train', '--agent', 'sg-zz'], /^mixrl train: unknown agent 'sg-zz'; known agents: sg-rp, /));
  it('negative step count', () =>
    expectUserError(['train', '--steps', '-5'], "mixrl train: flags: 'steps' must be a positive integer, got -5"));
  it('unknown flag', () => {
    expectUserError(['train', '--stepz', '5'], /^mixrl train: unknown flag --stepz; known flags: --env --agent --seed --steps .* --batch --config --out --resume --threads$/);
    expectUserError(['eval', '--episodez', '5'], 'mixrl eval: unknown flag --episodez; known flags: --checkpoint --episodes --seed --threads');
  });
  it('malformed config file', () => {
    writeFileSync(path.join(work, 'bad.json'), '{"steps": 10,');
    expectUserError(['train', '--config', 'bad.json'], /^mixrl train: bad\.json: malformed JSON: /);
  });
  it('config file with a bad key', () => {
    writeFileSync(path.join(work, 'badkey.json'), '{"alpah": 0.1}');
    expectUserError(['train', '--config', 'badkey.json'], /^mixrl train: badkey\.json: unknown key 'alpah'/);
  });
  it('bad MIXRL_WASM_FMA (read at the first float32 product)', () =>
    expectUserError(['train', ...TINY, '--steps', '60', '--out', 'runs/fma'], "mixrl: MIXRL_WASM_FMA is 'maybe'; set it to on or off, or unset it", { MIXRL_WASM_FMA: 'maybe' }));
  it('bad thread count', () => {
    expectUserError(['train', '--threads', '0'], "mixrl train: flag --threads must be a positive integer, got '0'");
    expectUserError(['train', '--threads'], "mixrl train: flag --threads must be a positive integer, got 'true'");
    expectUserError(['eval', '--threads', '2.5', '--checkpoint', 'nope'], "mixrl eval: flag --threads must be a positive integer, got '2.5'");
  });
  it('missing config file', () => expectUserError(['train', '--config', 'nope.json'], 'mixrl train: nope.json: cannot read: ENOENT'));
  it('corrupt checkpoint', () => {
    mkdirSync(path.join(work, 'corrupt'), { recursive: true });
    writeFileSync(path.join(work, 'corrupt', 'checkpoint.mixrl'), 'definitely not a checkpoint');
    expectUserError(['train', '--resume', 'corrupt'], /^mixrl train: corrupt\/checkpoint\.mixrl: byte 0: /);
    expectUserError(['eval', '--checkpoint', 'corrupt'], /^mixrl eval: corrupt\/checkpoint\.mixrl: byte 0: /);
  });
  it('unknown command', () => {
    const r = run(['fly']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mixrl: unknown command 'fly'/);
  });
});

describe('mixrl command: training', () => {
  it('trains, writes its files, and evaluates the checkpoint', () => {
    const r = run(['train', '--env', 'ShapedPendulum', '--agent', 'sgm-mrp', '--steps', '300', '--out', 'short', ...TINY, '--log-every', '100']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['config.json', 'episodes.jsonl', 'summary.json', 'checkpoint.mixrl']) expect(existsSync(path.join(work, 'short', f))).toBe(true);
    const config = JSON.parse(readFileSync(path.join(work, 'short', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ env: 'ShapedPendulum', agent: 'sgm-mrp', steps: 300, hidden: [8, 8], components: 2, batchSize: 8 });
    const episodes = readFileSync(path.join(work, 'short', 'episodes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(episodes.map((e) => e.length)).toEqual([200]);
    expect(JSON.parse(readFileSync(path.join(work, 'short', 'summary.json'), 'utf8'))).toMatchObject({ steps: 300, episodes: 1, finished: true });
    const e = run(['eval', '--checkpoint', 'short', '--episodes', '2']);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/deterministic {2}mean return -\d+\.\d+ ± \d+\.\d+ over 2 episodes/);
    expect(e.stdout).toMatch(/stochastic +mean return -\d/);
    // --threads sets this process's CPU threads, not the run's config: the same run, the same episodes.
    const one = run(['train', '--env', 'ShapedPendulum', '--agent', 'sgm-mrp', '--steps', '300', '--out', 'short-one-thread', ...TINY, '--log-every', '100', '--threads', '1']);
    expect(one.code, one.stderr).toBe(0);
    expect(readFileSync(path.join(work, 'short-one-thread', 'config.json'), 'utf8')).toBe(readFileSync(path.join(work, 'short', 'config.json'), 'utf8'));
    expect(readFileSync(path.join(work, 'short-one-thread', 'episodes.jsonl'), 'utf8')).toBe(readFileSync(path.join(work, 'short', 'episodes.jsonl'), 'utf8'));
  });

  it('stops on SIGINT with a checkpoint, and --resume finishes the run', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [cli, 'train', '--env', 'ShapedPendulum', '--agent', 'sg-rp', '--steps', '100000', '--out', 'interrupted', ...TINY, '--log-every', '50'],
      { cwd: work },
    );
    let output = '';
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // One signal: a second Ctrl-C is the user insisting, and ends the process at once.
        if (!sent && /\n100\/100000 steps/.test(output)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(output).toMatch(/stopped by SIGINT at step \d+; checkpoint saved; continue with: mixrl train --resume interrupted/);
    const summary = JSON.parse(readFileSync(path.join(work, 'interrupted', 'summary.json'), 'utf8'));
    expect(summary.finished).toBe(false);
    const resumed = run(['train', '--resume', 'interrupted', '--steps', String(summary.steps + 150)]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`resuming interrupted at step ${summary.steps}`));
    expect(JSON.parse(readFileSync(path.join(work, 'interrupted', 'summary.json'), 'utf8'))).toMatchObject({ steps: summary.steps + 150, finished: true });
    expectUserError(['train', '--resume', 'interrupted', '--alpha', '0.5'], /only --steps may be given with it, not --alpha/);
  });

  it('lists agents and envs', () => {
    const a = run(['agents']);
    expect(a.code).toBe(0);
    expect(a.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0])).toEqual([
      'sg-rp', 'usgm-rp', 'sgm-mrp', 'sgm-halfrp', 'sgm-gumbelrp', 'sgm-lr', 'cauchy-rp', 'cm-mrp',
    ]);
    expect(run(['envs']).stdout).toMatch(/^MountainCar {16}obs 2, action 1, steps 1000$/m);
  });
});
