/**
 * bench/sac: milliseconds per full SAC update (critic + actor + alpha + Polyak) and action-selection
 * latency, for SG-RP and SGM-MRP (K = 5) at the paper's classic-control size and at SAC-v2 size, on
 * each available backend, next to PyTorch running the same update (bench/sac_torch.py) in the same run
 * when `python3` has torch (WebGPU updates as `train` runs them: at most 3 queued on the device).
 * PyTorch runs with each of `--torch-threads` (default 1,2: one thread, and as many as this
 * machine's two cores that mixrl's CPU plans use), its OpenMP and OpenBLAS threads set to match
 * (OpenBLAS built with OpenMP ignores `torch.set_num_threads`: its products used both cores in
 * the "one thread" baseline before 2026-11-27); ratios are against the first.
 * The CPU rows run the jitted update (`makeSacUpdate`'s default);
 * `bench/jit.ts` compares eager and jit. Action selection is one observation through `makeActor`
 * (the path training takes: a raw key folded with the step, jitted policy, float64 action), timed
 * jitted and eager in alternating rounds (median of the rounds).
 *
 *   npx esbuild bench/sac.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/sac.mjs
 * Each backend's updates are timed in `--rounds` (default 5) rounds of at least `--updates` (default
 * 30) updates and `--seconds` / rounds (default 1 s in all), and the median round is reported;
 * PyTorch's too (rounds of `--updates`), each of its rounds run just before each of ours (a
 * `--serve` process per thread count) so that both sides meet the same load, with `--rest-ms`
 * (default 200) between PyTorch's rounds and ours, for its BLAS threads to stop spinning. On a
 * shared 2-core host a burst of other load then moves the figure only when it covers most rounds
 * (single windows moved by 30% between runs minutes apart; one run's SG-RP rounds, 2026-11-27:
 * 7.87-8.49 ms in six of nine, 9.31, 10.27 and 14.88 in the others).
 *
 *   node .tmp/sac.mjs [--backends cpu,webgpu] [--sizes classic,v2] [--updates N] [--seconds S] [--rounds N] [--act-rounds N]
 *                     [--warmup seconds] [--torch-device cpu|cuda] [--torch-threads 1,2] [--rest-ms 200] [--python python3] [--torch-script bench/sac_torch.py]
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { makeActor } from '../src/rl/sac/act';
import { disposeTree } from '../src/autodiff';
import { makeSacUpdate, type SacMetrics } from '../src/rl/sac/update';
import { type Backend, cpu, WebGPUBackend } from '../src/tensor';
import { rawFoldIn, rawKey } from '../src/tensor/threefry';
import { AGENTS, arg, type BenchAgent, sacSetup, type Size, SIZES } from './sac-setup';

async function backends(): Promise<Backend[]> {
  const wanted = arg('backends', 'cpu,webgpu').split(',');
  const out: Backend[] = [];
  if (wanted.includes('cpu')) out.push(cpu);
  if (wanted.includes('webgpu')) {
    try {
      const { initBackend } = await import('../src/tensor/webgpu');
      const gpu = (await initBackend('webgpu')) as WebGPUBackend;
      // The shared backend's settings (MIXRL_WEBGPU_VALIDATION, MIXRL_DAWN_TICKS, MIXRL_WEBGPU_MERGE).
      const settings = `validation ${gpu.validation ? 'on' : 'off'}, Dawn ticks ${gpu.dawnTicks}, merged dispatches ${gpu.mergeKernels ? 'on' : 'off'}`;
      console.log(`webgpu: ${gpu.adapter.description}${gpu.adapter.software ? ' (software)' : ''}; ${settings}`);
      out.push(gpu);
    } catch (e) {
      console.log(`webgpu: not available (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * One backend's update of (size, agent), set up and warmed up: `round()` times a round of updates
 * (ms per update), `act()` the action latency, jitted and eager (us).
 */
async function prepareUpdate(size: Size, agent: BenchAgent, backend: Backend, updates: number) {
  const { h, keyAt, batches, state: initial } = sacSetup(agent, size, backend);
  let state = initial;
  // As in `train`: the update takes the state it is given over (no copies in or out on the CPU).
  const update = makeSacUpdate(h, { donate: true });
  // The latest metrics are read; the ones before and each call's key go back to the pool (as in `train`).
  let metrics: SacMetrics | undefined;
  const step = (i: number) => {
    const key = keyAt(i);
    const [next, latest] = update(state, batches[i % batches.length], key);
    disposeTree([metrics, key]);
    [state, metrics] = [next, latest];
    return latest;
  };
  // As `train` runs them: on WebGPU at most 3 updates queued on the device.
  const settle = backend instanceof WebGPUBackend ? () => backend.settle(3) : async () => {};
  /** Updates back to back from `from`, at least `count` and `ms` milliseconds; their count. */
  const loop = async (from: number, count: number, ms: number) => {
    const start = performance.now();
    let i = 0;
    for (; i < count || performance.now() - start < ms; i++) {
      step(from + i);
      await settle();
    }
    await metrics?.criticLoss.data();
    return i;
  };
  // Warm up for `--warmup` seconds in the timed loop's pattern: V8 optimizes generated loops only
  // after they have run a while, a GPU raises its clocks only under sustained load, and training
  // runs tens of thousands of updates, so the steady state is what is reported.
  let from = await loop(0, 3, warmupSeconds * 1000);
  const round = async () => {
    const t0 = performance.now();
    const timed = await loop(from, updates, (timedSeconds * 1000) / rounds);
    from += timed;
    return (performance.now() - t0) / timed;
  };
  const act = async () => {
    const obs = new Float64Array(size.obs).fill(0.1);
    const actKey = rawKey(0);
    const actors = [makeActor(h), makeActor(h, { jit: false })];
    const reps = 200;
    const actRounds: [number[], number[]] = [[], []];
    // Warm up each actor for a second (V8 optimizes the generated loops only after a while).
    for (const actor of actors) {
      const warmAct = performance.now();
      for (let i = 0; performance.now() - warmAct < 1000; i++) {
        const a = actor(state.actor, obs, rawFoldIn(actKey, i), 'sample');
        if (!(a instanceof Float64Array)) await a;
      }
    }
    for (let r = -1; r < Number(arg('act-rounds', '7')); r++) {
      for (const [which, actor] of actors.entries()) {
        const t1 = performance.now();
        for (let i = 0; i < reps; i++) {
          const a = actor(state.actor, obs, rawFoldIn(actKey, i), 'sample');
          if (!(a instanceof Float64Array)) await a;
        }
        if (r >= 0) actRounds[which].push(((performance.now() - t1) / reps) * 1000); // round -1 warms up
      }
    }
    return { actUs: median(actRounds[0]), actEagerUs: median(actRounds[1]) };
  };
  return { round, act };
}

/**
 * bench/sac_torch.py serving requests (`--serve`) with `threads` threads: the same update timed a
 * round at a time, so that its rounds alternate with mixrl's and both meet the same load on a
 * shared host (run one after the other, the side that ran second was slower here: mixrl's SAC-v2
 * SG-RP update took 9.7 ms after PyTorch's rounds and 7.7 ms without them, session 14).
 */
class TorchPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: ((line: string | null) => void)[] = [];
  private stderr = '';
  readonly label: string;

  constructor(readonly threads: number) {
    const script = path.resolve(arg('torch-script', 'bench/sac_torch.py'));
    const device = arg('torch-device', 'cpu');
    // Passive: OpenMP's threads otherwise spin on after each parallel region, through mixrl's next round
    // (its SAC-v2 SGM-MRP update took 23.4 ms right after the 2-thread PyTorch's rounds, 16 alone).
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' };
    this.label = `PyTorch, ${threads} thread${threads > 1 ? 's' : ''}`;
    this.child = spawn(arg('python', 'python3'), [script, '--serve', '--device', device, '--threads', String(threads)], { env });
    this.child.on('error', (e) => (this.stderr += e.message));
    // A child that exited (no torch for this python) closes its stdin: the write's EPIPE is that exit, reported by `ask`.
    this.child.stdin.on('error', () => {});
    this.child.stderr.on('data', (chunk) => (this.stderr += chunk));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.(line));
    this.child.on('close', () => this.replies.splice(0).forEach((reply) => reply(null)));
  }

  /** The reply to `request`; null when the baseline does not run (no torch), with the reason logged once. */
  async ask(request: object): Promise<Record<string, number> | null> {
    if (this.child.exitCode !== null || this.child.killed) return null;
    const line = await new Promise<string | null>((resolve) => {
      this.replies.push(resolve);
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
    if (line === null) {
      console.log(`PyTorch baseline not run: ${this.stderr.trim().split('\n').pop()}`);
      this.child.kill();
      return null;
    }
    return JSON.parse(line);
  }

  close(): void {
    this.child.stdin.end();
  }
}

if (process.argv.includes('--help')) {
  console.log(
    'node .tmp/sac.mjs [--backends cpu,webgpu] [--sizes classic,v2] [--updates N] [--seconds S] [--act-rounds N] [--warmup seconds]\n' +
      '                  [--torch-device cpu|cuda] [--torch-threads 1,2] [--rest-ms 200] [--python python3] [--torch-script bench/sac_torch.py]',
  );
  process.exit(0);
}
const updates = Number(arg('updates', '30'));
const warmupSeconds = Number(arg('warmup', '3'));
const timedSeconds = Number(arg('seconds', '1'));
/**
 * Milliseconds of rest after PyTorch's rounds, before mixrl's: Debian's torch runs its products on
 * OpenBLAS's pthread build (the `libblas.so.3` alternative), whose threads spin after each call
 * before they sleep, whatever OpenMP's wait policy: one core stayed busy ~100 ms after each
 * 2-thread round here, through mixrl's next round (SAC-v2 SG-RP 9.6 ms right after the 2-thread
 * PyTorch's rounds, 7.6 ms with only the 1-thread one).
 */
const restMs = Number(arg('rest-ms', '200'));
if (!Number.isFinite(restMs) || restMs < 0) throw new Error(`--rest-ms: '${arg('rest-ms', '')}' (milliseconds, 0 or more)`);
const rounds = Number(arg('rounds', '5'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: '${arg('rounds', '')}' (a whole number, at least 1)`);
const sizes = arg('sizes', 'classic,v2').split(',');
const list = await backends();
const torchThreads = arg('torch-threads', '1,2').split(',').map(Number);
if (torchThreads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error(`--torch-threads: '${arg('torch-threads', '')}' (thread counts, such as 1,2)`);
const peers = torchThreads.map((threads) => new TorchPeer(threads));
console.log(`PyTorch baseline: torch on ${arg('torch-device', 'cpu')}, ${torchThreads.join(' and ')} thread(s), rounds alternating with mixrl's`);
console.log('\n| size | agent | backend | ms / update | x PyTorch | action us | x PyTorch | action us, eager |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [si, [sizeName, size]] of Object.entries(SIZES).entries()) {
  if (!sizes.includes(sizeName)) continue;
  for (const agent of AGENTS) {
    const ours = [];
    for (const backend of list) ours.push({ backend, ...(await prepareUpdate(size, agent, backend, backend.name === 'cpu' && si === 1 ? Math.max(5, Math.floor(updates / 3)) : updates)) });
    const theirs = peers.map(() => [] as number[]);
    const mine = ours.map(() => [] as number[]);
    // Round -1 warms PyTorch's update up (built and run 3 times at its first request) and ours once more.
    for (let r = -1; r < rounds; r++) {
      for (const [p, peer] of peers.entries()) {
        const reply = await peer.ask({ round: [si, agent.name], updates });
        if (reply && r >= 0) theirs[p].push(reply.updateMs);
      }
      if (peers.length > 0) await new Promise((resolve) => setTimeout(resolve, restMs));
      for (const [b, { round }] of ours.entries()) {
        const ms = await round();
        if (r >= 0) mine[b].push(ms);
      }
    }
    const peerRows = [];
    for (const [p, peer] of peers.entries()) {
      const reply = theirs[p].length ? await peer.ask({ act: [si, agent.name] }) : null;
      if (reply) peerRows.push({ label: peer.label, updateMs: median(theirs[p]), actUs: reply.actUs });
    }
    const base = peerRows[0];
    const ratio = (a: number, b?: number) => (b ? (a / b).toFixed(2) : '-');
    for (const row of peerRows) {
      console.log(`| ${size.label} | ${agent.name} | ${row.label} | ${row.updateMs.toFixed(2)} | ${ratio(row.updateMs, base.updateMs)} | ${row.actUs.toFixed(0)} | ${ratio(row.actUs, base.actUs)} | |`);
    }
    for (const [b, { backend, act }] of ours.entries()) {
      const updateMs = median(mine[b]);
      const { actUs, actEagerUs } = await act();
      console.log(
        `| ${size.label} | ${agent.name} | ${backend.name} | ${updateMs.toFixed(2)} | ${ratio(updateMs, base?.updateMs)} | ${actUs.toFixed(1)} | ${ratio(actUs, base?.actUs)} | ${actEagerUs.toFixed(0)} |`,
      );
    }
  }
}
for (const peer of peers) peer.close();
process.exit(0);
