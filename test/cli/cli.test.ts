import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeEventFile, scalarsByTag } from '../experiments/tfevents-decoder';
import { bundleCli, expectUserErrorResult, runCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-cli-'));
});

const run = (args: string[], env: Record<string, string> = {}) => runCli(cli, work, args, env);

function expectUserError(args: string[], message: string | RegExp, env: Record<string, string> = {}) {
  expectUserErrorResult(run(args, env), message);
}

const TINY = ['--hidden', '8,8', '--batch', '8', '--learning-starts', '50', '--components', '2'];

describe('mixrl command: bad input', () => {
  it('unknown env', () => expectUserError(['train', '--env', 'Nope'], /^mixrl train: flags: unknown env 'Nope'; known envs: Pendulum, /));
  it('unknown agent', () => expectUserError(['train', '--agent', 'sg-zz'], /^mixrl train: flags: unknown agent 'sg-zz'; known agents: sg-rp, /));
  it('negative step count', () =>
    expectUserError(['train', '--steps', '-5'], "mixrl train: flags: 'steps' must be a positive integer, got -5"));
  it('unknown flag', () => {
    expectUserError(['train', '--stepz', '5'], /^mixrl train: unknown flag --stepz; known flags: --env --agent --estimator --seed --steps .* --batch --config --out --seeds --resume --threads --env-module --estimator-module$/);
    expectUserError(['eval', '--episodez', '5'], 'mixrl eval: unknown flag --episodez; known flags: --checkpoint --episodes --seed --env-module --threads');
  });
  it('malformed config file', () => {
    writeFileSync(path.join(work, 'bad.json'), '{"steps": 10,');
    expectUserError(['train', '--config', 'bad.json'], 'mixrl train: bad.json: malformed JSON at line 1, column 14 (byte 13): expected a key in double quotes, found the end of the file');
  });
  it('config file with a bad key', () => {
    writeFileSync(path.join(work, 'badkey.json'), '{"alpah": 0.1}');
    expectUserError(['train', '--config', 'badkey.json'], /^mixrl train: badkey\.json: unknown key 'alpah'/);
  });
  it('bad MIXRL_WASM_FMA (read at the first float32 product)', () =>
    expectUserError(['train', ...TINY, '--steps', '60', '--out', 'runs/fma'], "mixrl: MIXRL_WASM_FMA is 'maybe'; set it to on or off, or unset it", { MIXRL_WASM_FMA: 'maybe' }));
  it('bad thread count', () => {
    expectUserError(['train', '--threads', '0'], "mixrl train: flag --threads must be a positive integer, got '0'");
    expectUserError(['train', '--threads'], 'mixrl train: flag --threads needs a value');
    expectUserError(['eval', '--threads', '2.5', '--checkpoint', 'nope'], "mixrl eval: flag --threads must be a positive integer, got '2.5'");
  });
  it('missing config file', () => expectUserError(['train', '--config', 'nope.json'], 'mixrl train: nope.json: cannot read: ENOENT'));
  it('corrupt checkpoint', () => {
    mkdirSync(path.join(work, 'corrupt'), { recursive: true });
    writeFileSync(path.join(work, 'corrupt', 'checkpoint.mixrl'), 'definitely not a checkpoint');
    writeFileSync(path.join(work, 'corrupt', 'config.json'), '{}');
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
    // config.json holds the new target (plot groups runs by it; --config reruns it).
    expect(JSON.parse(readFileSync(path.join(work, 'interrupted', 'config.json'), 'utf8')).steps).toBe(summary.steps + 150);
    expectUserError(['train', '--resume', 'interrupted', '--alpha', '0.5'], /only --steps, --env-module and --estimator-module may be given with it, not --alpha/);
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

describe('mixrl command: run folders and resuming', () => {
  const file = (...parts: string[]) => path.join(work, ...parts);
  const snapshot = (dir: string) => ['config.json', 'episodes.jsonl', 'checkpoint.mixrl'].map((f) => readFileSync(file(dir, f)).toString('base64'));
  /** A finished 120-step Pendulum run in `dir`. */
  function base(dir: string) {
    const r = run(['train', '--env', 'Pendulum', '--agent', 'sg-rp', '--steps', '120', '--out', dir, ...TINY, '--log-every', '60']);
    expect(r.code, r.stderr).toBe(0);
  }

  it('refuses an --out folder that holds a run, and writes nothing when a run cannot start', () => {
    base('base');
    const before = snapshot('base');
    expectUserError(['train', '--env', 'Pendulum', '--steps', '60', '--out', 'base', ...TINY], "mixrl train: --out base already holds a run (config.json, episodes.jsonl, checkpoint.mixrl, summary.json); continue it with --resume base, or choose another --out");
    expect(snapshot('base')).toEqual(before);
    expectUserError(['train', '--out', 'huge', '--env', 'Pendulum', '--replay-capacity', '2000000000'], /^mixrl train: flags: 'replayCapacity' 2000000000 is too large for Pendulum: /);
    expect(existsSync(file('huge'))).toBe(false);
  });

  it('without --out, a second run of the same command goes to the next free folder', () => {
    const args = ['train', '--env', 'Pendulum', '--agent', 'sg-rp', '--seed', '7', '--steps', '60', ...TINY];
    const first = run(args);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(path.join('runs', 'Pendulum-sg-rp-seed7'));
    const second = run(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`-> ${path.join('runs', 'Pendulum-sg-rp-seed7-2')}`);
    expect(snapshot(path.join('runs', 'Pendulum-sg-rp-seed7'))).toEqual(before);
    expect(existsSync(file('runs', 'Pendulum-sg-rp-seed7-2', 'checkpoint.mixrl'))).toBe(true);
  });

  it('says how to start again a run killed before its first checkpoint (neither --out nor --resume takes it)', () => {
    // What a run killed (SIGKILL) before its first checkpoint leaves: its config and logs, no checkpoint.
    mkdirSync(file('killed-early'));
    writeFileSync(file('killed-early', 'config.json'), '{}');
    writeFileSync(file('killed-early', 'episodes.jsonl'), '');
    expectUserError(['train', '--resume', 'killed-early'], 'mixrl train: --resume killed-early: no checkpoint.mixrl there to resume (the run stopped before its first checkpoint: remove the folder to start it again)');
    expectUserError(['train', '--out', 'killed-early'], 'mixrl train: --out killed-early holds a run stopped before its first checkpoint (config.json, episodes.jsonl); remove the folder to start it again, or choose another --out');
    expectUserError(['train', '--resume', 'no-such-run'], /^mixrl train: --resume no-such-run: no checkpoint\.mixrl there to resume$/);
  });

  it('gives one line for --out paths it cannot use', () => {
    writeFileSync(file('a-file'), 'x');
    expectUserError(['train', '--out', 'a-file'], 'mixrl train: --out a-file is a file, not a folder');
    expectUserError(['train', '--out', 'a-file/sub'], 'mixrl train: --out a-file/sub: a part of the path is a file, not a folder');
    expectUserError(['train', '--out='], 'mixrl train: flag --out needs a folder');
  });

  it.skipIf(!existsSync('/proc/self'))('refuses an --out under /proc at once (Node\'s recursive mkdir spun there for ever)', () => {
    const r = spawnSync(process.execPath, [cli, 'train', '--env', 'Pendulum', '--steps', '10', ...TINY, '--out', '/proc/mixrl-no-such/run'], { cwd: work, encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('mixrl train: --out /proc/mixrl-no-such/run: cannot write the run there: ENOENT');
  });

  it('--resume refuses an episode log that disagrees with the checkpoint, writing nothing', () => {
    writeFileSync(path.join(work, 'short-episodes.json'), '{"env": "Pendulum", "envOptions": {"maxEpisodeSteps": 20}}');
    const r = run(['train', '--config', 'short-episodes.json', '--agent', 'sg-rp', '--steps', '120', '--out', 'logged', ...TINY]);
    expect(r.code, r.stderr).toBe(0);
    const log = file('logged', 'episodes.jsonl');
    const config = file('logged', 'config.json');
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBe(6);
    const configBefore = readFileSync(config, 'utf8');
    const cases: [string, string][] = [
      [lines.slice(0, 3).join('\n'), 'mixrl train: logged/episodes.jsonl holds 3 episodes, the checkpoint 6; the log disagrees with the checkpoint: restore it'],
      [[...lines.slice(0, 2), 'garbage!!', ...lines.slice(3)].join('\n'), "mixrl train: logged/episodes.jsonl: line 3 is not an episode record, where the checkpoint's episode 2 belongs; the log disagrees with the checkpoint: restore it"],
      [[...lines.slice(0, 3), ...lines.slice(4)].join('\n'), "mixrl train: logged/episodes.jsonl: line 4 is episode 4, where the checkpoint's episode 3 belongs; the log disagrees with the checkpoint: restore it"],
    ];
    for (const [text, message] of cases) {
      writeFileSync(log, `${text}\n`);
      expectUserError(['train', '--resume', 'logged', '--steps', '140'], message);
      expect(readFileSync(config, 'utf8')).toBe(configBefore);
      expect(readFileSync(log, 'utf8')).toBe(`${text}\n`);
    }
    rmSync(log);
    expectUserError(['train', '--resume', 'logged', '--steps', '140'], 'mixrl train: logged/episodes.jsonl: cannot read it (ENOENT), and the checkpoint has 6 episodes to keep there; restore the log');
    // The whole log, a line cut short after it (a kill while writing the next): resumed.
    writeFileSync(log, `${lines.join('\n')}\n{"episode": 6, "st`);
    const resumed = run(['train', '--resume', 'logged', '--steps', '140']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(log, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l).episode)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('--resume refuses a best.mixrl it cannot read before writing anything', () => {
    const r = run(['train', '--env', 'Pendulum', '--agent', 'sg-rp', '--steps', '120', '--eval-every', '60', '--eval-episodes', '1', '--out', 'evaluated', ...TINY]);
    expect(r.code, r.stderr).toBe(0);
    const config = file('evaluated', 'config.json');
    const before = readFileSync(config, 'utf8');
    writeFileSync(file('evaluated', 'best.mixrl'), 'not a checkpoint');
    expectUserError(['train', '--resume', 'evaluated', '--steps', '180'], /^mixrl train: cannot read best\.mixrl to check its step: .*evaluated\/best\.mixrl: /);
    expect(readFileSync(config, 'utf8')).toBe(before);
  });

  it('checks --steps and config.json on --resume', () => {
    base('resumable');
    expectUserError(['train', '--resume', 'resumable'], 'mixrl train: resumable is finished at step 120; give --steps N (more than 120) to train it further');
    // Stopped after its last checkpoint, before its summary: --resume writes the end (no step left).
    const summaryFile = file('resumable', 'summary.json');
    const episodes = readFileSync(file('resumable', 'episodes.jsonl'), 'utf8');
    rmSync(summaryFile);
    const ended = run(['train', '--resume', 'resumable']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toContain('resumable reached step 120 but its summary.json does not say finished: writing the end of the run');
    expect(JSON.parse(readFileSync(summaryFile, 'utf8'))).toMatchObject({ steps: 120, finished: true });
    expect(readFileSync(file('resumable', 'episodes.jsonl'), 'utf8')).toBe(episodes);
    expectUserError(['train', '--resume', 'resumable'], 'mixrl train: resumable is finished at step 120; give --steps N (more than 120) to train it further');
    expectUserError(['train', '--resume', 'resumable', '--steps'], 'mixrl train: flag --steps needs a value');
    expectUserError(['train', '--resume', 'resumable', '--steps', '0x200'], "mixrl train: flag --steps must be a positive integer, got '0x200'");
    expectUserError(['train', '--resume', 'resumable', '--steps', '100'], "mixrl train: flag --steps must be greater than the run's current step 120, got 100");
    expectUserError(['train', '--resume', 'resumable', '--checkpoint-every', '0'], 'mixrl train: --resume continues a run as configured; only --steps, --env-module and --estimator-module may be given with it, not --checkpoint-every');
    const configFile = file('resumable', 'config.json');
    const saved = readFileSync(configFile, 'utf8');
    const edited = { ...JSON.parse(saved), env: 'Acrobot', alpha: 0.5, steps: 5000 };
    writeFileSync(configFile, JSON.stringify(edited));
    expectUserError(['train', '--resume', 'resumable', '--steps', '200'], /^mixrl train: resumable\/config\.json disagrees with checkpoint\.mixrl on alpha, env; the checkpoint is the run: /);
    writeFileSync(configFile, JSON.stringify({ ...edited, env: 'Pendulum', alpha: 0.01, backend: 'tpu' }));
    expectUserError(['train', '--resume', 'resumable', '--steps', '200'], "mixrl train: resumable/config.json: 'backend' must be auto, cpu or webgpu, got 'tpu'");
    writeFileSync(configFile, '{"env": "Pendulum",\n  "é" 0.01}'); // é: 2 bytes, 1 column
    expectUserError(['train', '--resume', 'resumable', '--steps', '200'], "mixrl train: resumable/config.json: malformed JSON at line 2, column 7 (byte 27): expected ':', found '0'");
    writeFileSync(configFile, saved.replace('"alpha": 0.01', '"alpha": 1e999'));
    expectUserError(['train', '--resume', 'resumable', '--steps', '200'], "mixrl train: resumable/config.json: 'alpha' must be a positive number, got Infinity, not a finite number");
    rmSync(configFile);
    expectUserError(['train', '--resume', 'resumable', '--steps', '200'], 'mixrl train: resumable/config.json: cannot read: ENOENT');
    writeFileSync(configFile, `\uFEFF${saved}`); // a byte order mark is fine, and `steps` may differ
    const resumed = run(['train', '--resume', 'resumable', '--steps', '150']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming resumable at step 120 of 150$/m);
  });

  it('resumes a run with --train-freq 3 --gradient-steps 2 to the bytes of an uninterrupted one', () => {
    const args = ['train', '--env', 'Pendulum', '--agent', 'sg-rp', ...TINY, '--train-freq', '3', '--gradient-steps', '2', '--log-every', '70'];
    const straight = run([...args, '--steps', '280', '--out', 'schedule-straight']);
    expect(straight.code, straight.stderr).toBe(0);
    // Stopped mid-episode, between two update steps (after steps 137 and 140).
    const first = run([...args, '--steps', '140', '--out', 'schedule-resumed']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file('schedule-resumed', 'config.json'), 'utf8'))).toMatchObject({ trainFreq: 3, gradientSteps: 2, targetEntropy: 'auto' });
    const resumed = run(['train', '--resume', 'schedule-resumed', '--steps', '280']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const bytes = (dir: string) => ['episodes.jsonl', 'checkpoint.mixrl'].map((f) => readFileSync(file(dir, f)).toString('base64'));
    expect(bytes('schedule-resumed')).toEqual(bytes('schedule-straight'));
  });

  it('resumes a run whose config.json predates trainFreq, gradientSteps and targetEntropy with their defaults', () => {
    base('schedule-old');
    const configFile = file('schedule-old', 'config.json');
    const { trainFreq, gradientSteps, targetEntropy, ...old } = JSON.parse(readFileSync(configFile, 'utf8'));
    expect([trainFreq, gradientSteps, targetEntropy]).toEqual([1, 1, 'auto']);
    writeFileSync(configFile, JSON.stringify(old, null, 2));
    const resumed = run(['train', '--resume', 'schedule-old', '--steps', '150']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^resuming schedule-old at step 120 of 150$/m);
  });
});

describe('mixrl command: errors in one line', () => {
  it('names the source of config errors', () => {
    writeFileSync(path.join(work, 'foo-env.json'), '{"env": "Foo"}');
    expectUserError(['train', '--config', 'foo-env.json'], /^mixrl train: foo-env\.json: unknown env 'Foo'; known envs: /);
    writeFileSync(path.join(work, 'bogus-option.json'), '{"env": "Pendulum", "envOptions": {"bogus": 1}}');
    expectUserError(['train', '--config', 'bogus-option.json'], /^mixrl train: bogus-option\.json: 'envOptions': Pendulum: unknown option 'bogus'; known options: /);
    writeFileSync(path.join(work, 'twice.json'), '{"alpha": 0.1, "alpha": 0.2}');
    expectUserError(['train', '--config', 'twice.json'], "mixrl train: twice.json: malformed JSON at line 1, column 16 (byte 15): key 'alpha' is given twice");
    expectUserError(['train', '--steps', '60'], "mixrl train: MIXRL_BACKEND: 'backend' must be auto, cpu or webgpu, got 'tpu'", { MIXRL_BACKEND: 'tpu' });
    expectUserError(['train', '--backend', 'webgpu', '--dtype', 'float64'], "mixrl train: flags: 'backend' webgpu has no float64 tensors; set 'dtype' to float32 or 'backend' to cpu");
  });

  it('rejects a bad MIXRL_THREADS before a small run starts', () => {
    expectUserError(['train', ...TINY, '--steps', '60', '--out', 'runs/threads'], "mixrl: MIXRL_THREADS: 'abc' is not a whole number of threads (1 or more)", { MIXRL_THREADS: 'abc' });
    expect(existsSync(path.join(work, 'runs', 'threads'))).toBe(false);
  });

  it('names flags as they are written', () => {
    expectUserError(['train', '--constructor', '5'], /^mixrl train: unknown flag --constructor; known flags: /);
    expectUserError(['train', '--hidden', '64,,64'], "mixrl train: flag --hidden must be a comma-separated list of integers, got '64,,64'");
    expectUserError(['train', 'foo'], "mixrl train: unexpected argument 'foo' (mixrl train --help lists the flags)");
    expectUserError(['eval', 'foo'], "mixrl eval: unexpected argument 'foo' (mixrl eval --help lists the flags)");
    expectUserError(['eval'], 'mixrl eval: --checkpoint DIR is required');
  });

  it('prints each command\'s flags for --help and -h', () => {
    for (const help of ['--help', '-h']) {
      const t = run(['train', help]);
      expect(t.code).toBe(0);
      for (const flag of ['--env ID', '--replay-capacity N', '--checkpoint-every N', '--auto-alpha', '--config FILE', '--out DIR', '--resume DIR', '--threads N']) expect(t.stdout).toContain(flag);
      expect(t.stdout).toMatch(/^ {2}--hidden N,N,\.\.\. +default 64,64$/m);
      expect(t.stdout).toMatch(/^ {2}--batch-size N +default 32 \(also --batch\)$/m);
      const e = run(['eval', help]);
      expect(e.code).toBe(0);
      expect(e.stdout).toMatch(/^ {2}--episodes N +episodes per way of acting \(default 10\)$/m);
      const r = run(['reproduce', help]);
      expect(r.code).toBe(0);
      for (const flag of ['--scale quick|paper', '--seeds N', '--jobs N', '--out DIR', '--backend cpu|webgpu', '--list', '--sweep']) expect(r.stdout).toMatch(new RegExp(`^ {2}${flag.replace(/\|/g, '\\|')} +\\S`, 'm'));
      const s = run(['sweep', help]);
      expect(s.code).toBe(0);
      for (const flag of ['--grid KEY=V1,V2,...', '--seeds N', '--steps N', '--rerun-seeds M', '--jobs N', '--out DIR', '--max-runs N', '--backend cpu|webgpu']) expect(s.stdout).toMatch(new RegExp(`^ {2}${flag.replace(/[|.]/g, '\\$&')} +\\S`, 'm'));
      expect(s.stdout).toContain('actor lr = critic lr x R');
    }
    // The overview names every command's --help.
    expect(run(['help']).stdout).toMatch(/mixrl <command> --help lists every flag of train, eval, export, plot, reproduce and sweep/);
  });
});

describe('mixrl command: evaluations and TensorBoard', () => {
  const file = (...parts: string[]) => path.join(work, ...parts);
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const eventFiles = (dir: string) => readdirSync(file(dir)).filter((f) => f.includes('tfevents')).sort();
  /** An evaluation line without its clock readings. */
  const timeless = ({ wallTime: _w, seconds: _s, ...rest }: Record<string, unknown>) => rest;
  const PENDULUM_ANY_LOG = ['train', '--env', 'ShapedPendulum', '--agent', 'sgm-mrp', ...TINY];
  const PENDULUM = [...PENDULUM_ANY_LOG, '--log-every', '100'];

  it('refuses bad values with one line naming the flag', () => {
    expectUserError(['train', '--eval-every', '-1'], "mixrl train: flags: 'evalEvery' must be a non-negative integer, got -1");
    expectUserError(['train', '--eval-every', '1.5'], "mixrl train: flag --eval-every must be an integer, got '1.5'");
    // A bare flag: the message quotes no value the user did not type (it said "got 'true'").
    expectUserError(['train', '--eval-every'], 'mixrl train: flag --eval-every needs a value');
    expectUserError(['train', '--eval-episodes', '--tensorboard'], 'mixrl train: flag --eval-episodes needs a value');
    expectUserError(['train', '--eval-episodes', '0'], "mixrl train: flags: 'evalEpisodes' must be a positive integer, got 0");
    expectUserError(['train', '--tensorboard', 'yes'], "mixrl train: flag --tensorboard must be true or false, got 'yes'");
    writeFileSync(file('bad-eval.json'), '{"evalEvery": "1000"}');
    expectUserError(['train', '--config', 'bad-eval.json'], 'mixrl train: bad-eval.json: \'evalEvery\' must be a non-negative integer, got "1000"');
    expectUserError(['train', '--train-freq', '0'], "mixrl train: flags: 'trainFreq' must be a positive integer, got 0");
    expectUserError(['train', '--gradient-steps', '-1'], /^mixrl train: flags: 'gradientSteps' must be a positive integer, got -1 \(Stable-Baselines3's -1, as many updates as steps collected, is 'gradientSteps' equal to 'trainFreq' here\)$/);
    expectUserError(['train', '--target-entropy', 'high'], "mixrl train: flag --target-entropy must be a decimal number or auto, got 'high'");
    expectUserError(['train', '--env', 'Pendulum', '--target-entropy', '-2'], /^mixrl train: flags: 'targetEntropy' -2 is the target of automatic alpha, and 'autoAlpha' is false \(alpha stays 0\.01\); set 'autoAlpha' to true/);
  });

  it('lists the flags in --help with their defaults', () => {
    const t = run(['train', '--help']);
    expect(t.stdout).toMatch(/^ {2}--eval-every N +default 0 \(off\); N: evaluate greedy and sampled actions every N steps into evaluations\.jsonl$/m);
    expect(t.stdout).toMatch(/^ {2}--eval-episodes N +default 10: episodes per way of acting at each evaluation$/m);
    expect(t.stdout).toMatch(/^ {2}--tensorboard \[true\|false\] +default false; true: write a TensorBoard event file \(events\.out\.tfevents\.\*\) in the run folder$/m);
    expect(t.stdout).toMatch(/^ {2}--train-freq N +default 1: update after every N-th environment step \(SB3 train_freq\)$/m);
    expect(t.stdout).toMatch(/^ {2}--gradient-steps N +default 1: SAC updates each time \(SB3 gradient_steps; its -1 is --train-freq's N\)$/m);
    expect(t.stdout).toMatch(/^ {2}--target-entropy X\|auto +default auto \(-A, A the action dimensions\): automatic alpha's target entropy \(with --auto-alpha only\)$/m);
  });

  it('writes evaluations.jsonl, the event file and the summary, and trains the same episodes as without them', () => {
    const plain = run([...PENDULUM, '--steps', '300', '--out', 'eval-off']);
    expect(plain.code, plain.stderr).toBe(0);
    const r = run([...PENDULUM, '--steps', '300', '--out', 'eval-on', '--eval-every', '100', '--eval-episodes', '2', '--tensorboard']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(file('eval-on', 'episodes.jsonl'), 'utf8')).toBe(readFileSync(file('eval-off', 'episodes.jsonl'), 'utf8'));
    expect(existsSync(file('eval-off', 'evaluations.jsonl'))).toBe(false);
    expect(eventFiles('eval-off')).toEqual([]);
    expect(JSON.parse(readFileSync(file('eval-off', 'summary.json'), 'utf8'))).not.toHaveProperty('lastEvaluation');

    const evals = lines(file('eval-on', 'evaluations.jsonl'));
    expect(evals.map((e) => [e.step, e.seed, e.episodes, e.mode.lengths, e.sample.lengths])).toEqual([
      [100, 1_000_003, 2, [200, 200], [200, 200]],
      [200, 1_000_003, 2, [200, 200], [200, 200]],
      [300, 1_000_003, 2, [200, 200], [200, 200]],
    ]);
    for (const e of evals) {
      for (const how of ['mode', 'sample']) {
        const { returns, mean, std, min, max, meanLength } = e[how];
        expect(returns).toHaveLength(2);
        expect(mean).toBeCloseTo((returns[0] + returns[1]) / 2, 9);
        expect(std).toBeCloseTo(Math.abs(returns[0] - returns[1]) / 2, 9);
        expect([min, max, meanLength]).toEqual([Math.min(...returns), Math.max(...returns), 200]);
      }
    }
    // A new best greedy mean (above every earlier one) says so: best.mixrl was saved then.
    evals.forEach((e, i) => {
      const stats = (x: { mean: number; std: number }) => `${x.mean.toFixed(2)} ± ${x.std.toFixed(2)} (length 200)`;
      const best = evals.slice(0, i).every((earlier) => e.mode.mean > earlier.mode.mean);
      expect(r.stdout).toContain(`\neval at step ${e.step}: greedy ${stats(e.mode)}, sampled ${stats(e.sample)} over 2 episodes${best ? ' (best so far: best.mixrl)' : ''}\n`);
    });
    // `mixrl eval` with the line's seed, on the checkpoint of the same step, repeats the evaluation.
    const again = run(['eval', '--checkpoint', 'eval-on', '--seed', String(evals[2].seed), '--episodes', '2']);
    expect(again.stdout).toContain(`deterministic  mean return ${evals[2].mode.mean.toFixed(2)} ± ${evals[2].mode.std.toFixed(2)} over 2 episodes`);
    expect(again.stdout).toContain(`stochastic     mean return ${evals[2].sample.mean.toFixed(2)} ± ${evals[2].sample.std.toFixed(2)} over 2 episodes`);
    const summary = JSON.parse(readFileSync(file('eval-on', 'summary.json'), 'utf8'));
    expect(summary.lastEvaluation).toEqual(evals[2]);
    const best = evals.reduce((a, b) => (b.mode.mean > a.mode.mean ? b : a));
    expect(summary.bestEvaluation).toEqual(best);
    // best.mixrl is the run at that evaluation: `mixrl eval` on it repeats the best line's greedy mean.
    const atBest = run(['eval', '--checkpoint', 'eval-on/best.mixrl', '--seed', String(best.seed), '--episodes', '2']);
    expect(atBest.code, atBest.stderr).toBe(0);
    expect(atBest.stdout).toContain(`deterministic  mean return ${best.mode.mean.toFixed(2)} ± ${best.mode.std.toFixed(2)} over 2 episodes`);
    expect(atBest.stdout).toContain(`trained ${best.step} steps`);
    expect(existsSync(file('eval-off', 'best.mixrl'))).toBe(false);

    // The event file, read by the tests' own decoder.
    const names = eventFiles('eval-on');
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^events\.out\.tfevents\.\d{10}\.[A-Za-z0-9._-]+\.mixrl$/);
    const bytes = readFileSync(file('eval-on', names[0]));
    expect(decodeEventFile(bytes)[0]).toMatchObject({ step: 0, fileVersion: 'brain.Event:2' });
    const tags = scalarsByTag(bytes);
    const episode = lines(file('eval-on', 'episodes.jsonl'))[0];
    expect(tags.get('rollout/ep_rew')).toEqual([[200, Math.fround(episode.return)]]);
    expect(tags.get('rollout/ep_len')).toEqual([[200, 200]]);
    expect(tags.get('rollout/ep_rew_mean')).toEqual([[200, Math.fround(episode.return)], [300, Math.fround(episode.return)]]);
    expect(tags.get('eval/mean_reward')).toEqual(evals.map((e) => [e.step, Math.fround(e.mode.mean)]));
    expect(tags.get('eval/mean_reward_sample')).toEqual(evals.map((e) => [e.step, Math.fround(e.sample.mean)]));
    expect(tags.get('eval/mean_ep_length')).toEqual([[100, 200], [200, 200], [300, 200]]);
    expect(tags.get('eval/mean_ep_length_sample')).toEqual([[100, 200], [200, 200], [300, 200]]);
    for (const tag of ['train/critic_loss', 'train/actor_loss', 'train/ent_coef', 'train/entropy', 'train/mean_q', 'time/fps']) {
      expect(tags.get(tag)?.map(([step]) => step), tag).toEqual([100, 200, 300]);
      expect(tags.get(tag)?.every(([, v]) => Number.isFinite(v)), tag).toBe(true);
    }
    expect(tags.get('train/ent_coef')?.map(([, v]) => v)).toEqual([0.01, 0.01, 0.01].map(Math.fround)); // fixed alpha
    expect([...tags.keys()].sort()).toEqual([
      'eval/mean_ep_length', 'eval/mean_ep_length_sample', 'eval/mean_reward', 'eval/mean_reward_sample',
      'rollout/ep_len', 'rollout/ep_rew', 'rollout/ep_rew_mean',
      'time/fps', 'train/actor_loss', 'train/critic_loss', 'train/ent_coef', 'train/entropy', 'train/mean_q',
    ]);
    // The progress line's critic loss is the one logged (printed to 3 decimals).
    const printed = [...plain.stdout.matchAll(/critic (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(tags.get('train/critic_loss')?.map(([, v]) => Number(v.toFixed(3)))).toEqual(printed);
  });

  it('flushes the event file when stopped by SIGINT', async () => {
    // Progress every 1000 steps: the episode at step 200 is on disk only if the stop flushes it.
    const child: ChildProcess = spawn(process.execPath, [cli, ...PENDULUM_ANY_LOG, '--log-every', '1000', '--steps', '100000', '--out', 'tb-interrupted', '--tensorboard'], {
      cwd: work,
    });
    let code: number | null | undefined;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve((code = c))));
    const episodes = file('tb-interrupted', 'episodes.jsonl');
    for (let i = 0; i < 3000 && code === undefined && !(existsSync(episodes) && readFileSync(episodes, 'utf8').length > 0); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const summary = JSON.parse(readFileSync(file('tb-interrupted', 'summary.json'), 'utf8'));
    const names = eventFiles('tb-interrupted');
    expect(names).toHaveLength(1);
    const tags = scalarsByTag(readFileSync(file('tb-interrupted', names[0])));
    const logged = lines(episodes);
    expect(logged.length).toBeGreaterThan(0);
    expect(tags.get('rollout/ep_rew')).toEqual(logged.map((e) => [e.step, Math.fround(e.return)]));
    const multiples = Array.from({ length: Math.floor(summary.steps / 1000) }, (_, i) => 1000 * (i + 1));
    expect(tags.get('time/fps')?.map(([step]) => step) ?? []).toEqual(multiples);
  });

  it('on --resume, removes a best.mixrl saved after the checkpoint and keeps one saved before it', () => {
    const args = [...PENDULUM, '--eval-every', '100', '--eval-episodes', '2'];
    const first = run([...args, '--steps', '250', '--out', 'best-resumed']);
    expect(first.code, first.stderr).toBe(0);
    const saved = readFileSync(file('best-resumed', 'best.mixrl'));
    // A checkpoint write a kill cut short left its temporary: the resume removes it.
    const temp = file('best-resumed', '.checkpoint.mixrl.0b7e1c4a-3f2d-4c1e-9a8b-7d6c5b4a3f2e.tmp');
    writeFileSync(temp, 'x');
    // Resumed to a step with no evaluation in between: the best model of step 100 or 200 stays.
    expect(run(['train', '--resume', 'best-resumed', '--steps', '260']).code).toBe(0);
    expect(existsSync(temp)).toBe(false);
    expect(readFileSync(file('best-resumed', 'best.mixrl'))).toEqual(saved);
    // As if the process had died after saving a best model beyond its last checkpoint (step 260).
    const later = run([...args, '--steps', '400', '--out', 'best-later']);
    expect(later.code, later.stderr).toBe(0);
    copyFileSync(file('best-later', 'checkpoint.mixrl'), file('best-resumed', 'best.mixrl'));
    expect(run(['train', '--resume', 'best-resumed', '--steps', '270']).code).toBe(0);
    expect(existsSync(file('best-resumed', 'best.mixrl'))).toBe(false);
  });

  it('keeps the best as of the checkpoint when killed after a newer best: --resume puts it back', async () => {
    // Checkpoints only at the end: the one at step 250 is the last until the kill.
    const args = [...PENDULUM, '--eval-every', '100', '--eval-episodes', '2', '--checkpoint-every', '100000'];
    const first = run([...args, '--steps', '250', '--out', 'best-killed']);
    expect(first.code, first.stderr).toBe(0);
    const saved = readFileSync(file('best-killed', 'best.mixrl'));
    const bestBefore = JSON.parse(readFileSync(file('best-killed', 'summary.json'), 'utf8')).bestEvaluation;
    // Killed once a best beyond step 250 is saved (the next evaluation's line comes after the save).
    const child = spawn(process.execPath, [cli, 'train', '--resume', 'best-killed', '--steps', '100000'], { cwd: work });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const newerBest = () => {
      const evals = [...stdout.matchAll(/^eval at step (\d+): .*$/gm)].map((m) => ({ step: Number(m[1]), best: m[0].endsWith('(best so far: best.mixrl)') }));
      const at = evals.findIndex((e) => e.step > 250 && e.best);
      return at >= 0 && at < evals.length - 1;
    };
    for (let i = 0; i < 6000 && child.exitCode === null && !newerBest(); i++) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await exited;
    expect(newerBest(), stdout).toBe(true);
    expect(readFileSync(file('best-killed', 'best.mixrl'))).not.toEqual(saved);
    // Resumed from step 250 to a step before any evaluation: its best is the one of step 250's log.
    const resumed = run(['train', '--resume', 'best-killed', '--steps', '260']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(file('best-killed', 'summary.json'), 'utf8')).bestEvaluation.step).toBe(bestBefore.step);
    expect(readFileSync(file('best-killed', 'best.mixrl'))).toEqual(saved);
    expect(existsSync(file('best-killed', 'best-at-checkpoint.mixrl'))).toBe(false);
  });

  it('continues the evaluations on --resume without repeating or skipping one, in a new event file', () => {
    const args = [...PENDULUM, '--eval-every', '100', '--eval-episodes', '2', '--tensorboard'];
    const straight = run([...args, '--steps', '450', '--out', 'eval-straight']);
    expect(straight.code, straight.stderr).toBe(0);
    const first = run([...args, '--steps', '250', '--out', 'eval-resumed']);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(file('eval-resumed', 'evaluations.jsonl')).map((e) => e.step)).toEqual([100, 200]);
    // As if the process had died after an evaluation beyond its last checkpoint, mid-way through a line.
    const stale = { ...lines(file('eval-straight', 'evaluations.jsonl'))[2], step: 300, mode: { mean: 1e9 } };
    appendFileSync(file('eval-resumed', 'evaluations.jsonl'), `${JSON.stringify(stale)}\n{"step": 40`);
    // ... and had saved that evaluation's model as the best (a model of step 450 stands in for it).
    copyFileSync(file('eval-straight', 'checkpoint.mixrl'), file('eval-resumed', 'best.mixrl'));
    const firstEvents = eventFiles('eval-resumed');
    expect(firstEvents).toHaveLength(1);
    const resumed = run(['train', '--resume', 'eval-resumed', '--steps', '450']);
    expect(resumed.code, resumed.stderr).toBe(0);

    const got = lines(file('eval-resumed', 'evaluations.jsonl'));
    const want = lines(file('eval-straight', 'evaluations.jsonl'));
    expect(got.map((e) => e.step)).toEqual([100, 200, 300, 400]);
    expect(got.map(timeless)).toEqual(want.map(timeless));
    expect(readFileSync(file('eval-resumed', 'episodes.jsonl'), 'utf8')).toBe(readFileSync(file('eval-straight', 'episodes.jsonl'), 'utf8'));
    const summary = JSON.parse(readFileSync(file('eval-resumed', 'summary.json'), 'utf8'));
    expect(summary.lastEvaluation.step).toBe(400);
    expect(timeless(summary.bestEvaluation)).toEqual(timeless(want.reduce((a, b) => (b.mode.mean > a.mode.mean ? b : a))));
    // The stale best model went with its line; the run's own best is the straight run's, byte for byte.
    expect(readFileSync(file('eval-resumed', 'best.mixrl'))).toEqual(readFileSync(file('eval-straight', 'best.mixrl')));

    // A second event file for the resumed part; the first one is left as it was.
    const events = eventFiles('eval-resumed');
    expect(events).toHaveLength(2);
    expect(events).toContain(firstEvents[0]);
    const before = scalarsByTag(readFileSync(file('eval-resumed', firstEvents[0])));
    const after = scalarsByTag(readFileSync(file('eval-resumed', events.find((f) => f !== firstEvents[0])!)));
    expect(before.get('eval/mean_reward')?.map(([s]) => s)).toEqual([100, 200]);
    expect(after.get('eval/mean_reward')?.map(([s]) => s)).toEqual([300, 400]);
    expect(after.get('eval/mean_reward')).toEqual(want.slice(2).map((e) => [e.step, Math.fround(e.mode.mean)]));
    expect(after.get('time/fps')?.map(([s]) => s)).toEqual([300, 400]);
  });
});
