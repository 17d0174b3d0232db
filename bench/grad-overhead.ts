/**
 * Eager reverse-mode overhead: microseconds per primitive for `grad` of
 *   1. a chain of 100 small elementwise ops on f32[32] (sin, mul, add, tanh, ...), summed;
 *   2. a 2-layer MLP loss, batch 32, 16 inputs, hidden 64, one output (tanh, mean squared error),
 *      differentiated with respect to all four parameters;
 * next to @tensorflow/tfjs (cpu backend, `tf.grads`) computing the same in the same run. The two
 * libraries alternate in rounds and the medians are reported, so load on a shared machine hits
 * both alike. "Per primitive" divides the time of one gradient call (forward + backward) by the
 * number of primitives of the forward pass.
 *
 * tfjs is a devDependency used by this bench only (TFJS_PATH may point at another copy).
 *
 * Run: npx esbuild bench/grad-overhead.ts --bundle --platform=node --format=esm --external:@tensorflow/tfjs | node --input-type=module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as M from '../src';
import type { Tensor } from '../src';

const ROUNDS = 7;
const ROUND_SECONDS = 0.25;
const CHAIN = 100;

/** Calls run() repeatedly for about ROUND_SECONDS; returns microseconds per call. */
function timeRound(run: () => void): number {
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    run();
    n++;
    elapsed = performance.now() - t0;
  } while (elapsed < ROUND_SECONDS * 1000);
  return (elapsed * 1000) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternates the contenders round by round; median microseconds per call for each. */
function race(contenders: Record<string, () => void>): Record<string, number> {
  const samples: Record<string, number[]> = {};
  for (const [name, run] of Object.entries(contenders)) {
    for (let i = 0; i < 20; i++) run(); // warm-up
    samples[name] = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(contenders)) samples[name].push(timeRound(run));
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

// Deterministic data.
const pattern = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt * 78.233) * 0.5);

// --- the chain: 100 elementwise ops, cycling through 5 kinds ----------------------------------
type Ops<T> = {
  sin: (x: T) => T;
  tanh: (x: T) => T;
  scale: (x: T, c: number) => T;
  shift: (x: T, c: number) => T;
  square: (x: T) => T;
  sum: (x: T) => T;
};

function chain<T>(ops: Ops<T>, x: T): T {
  let h = x;
  for (let i = 0; i < CHAIN; i++) {
    switch (i % 5) {
      case 0:
        h = ops.sin(h);
        break;
      case 1:
        h = ops.scale(h, 2);
        break;
      case 2:
        h = ops.shift(h, 0.1);
        break;
      case 3:
        h = ops.tanh(h);
        break;
      case 4:
        h = ops.square(h);
        break;
    }
  }
  return ops.sum(h);
}

const mixrlOps: Ops<Tensor> = {
  sin: M.sin,
  tanh: M.tanh,
  scale: (x, c) => M.mul(x, c),
  shift: (x, c) => M.add(x, c),
  square: (x) => M.mul(x, x),
  sum: (x) => M.sum(x),
};

// --- the MLP ---------------------------------------------------------------------------------
const [B, D, H] = [32, 16, 64];
interface Params<T> {
  w1: T;
  b1: T;
  w2: T;
  b2: T;
}

function mixrlLoss(p: Params<Tensor>, x: Tensor, y: Tensor): Tensor {
  const h = M.tanh(M.add(M.matmul(x, p.w1), p.b1));
  const out = M.add(M.matmul(h, p.w2), p.b2);
  return M.mean(M.square(M.sub(out, y)));
}

/** Primitives in one forward pass (what "per primitive" divides by). */
function forwardPrimitives(f: (...args: any[]) => unknown, ...args: unknown[]): number {
  return M.makeIR(f)(...args).equations.length;
}

async function loadTfjs(): Promise<any | null> {
  const require = createRequire(import.meta.url);
  const path = process.env.TFJS_PATH ?? '@tensorflow/tfjs';
  if (process.env.TFJS_PATH !== undefined && !existsSync(path)) {
    console.log(`tfjs: not found at ${path}; showing mixrl only`);
    return null;
  }
  const tf = require(path);
  await tf.setBackend('cpu');
  await tf.ready();
  return tf;
}

async function main(): Promise<void> {
  const tf = await loadTfjs();
  const rows: string[][] = [];

  // Chain.
  const x = M.tensor(pattern(32, 1));
  const chainGrad = M.grad((x: Tensor) => chain(mixrlOps, x));
  const chainPrims = forwardPrimitives((x: Tensor) => chain(mixrlOps, x), x);
  const contenders: Record<string, () => void> = { mixrl: () => void chainGrad(x) };
  if (tf) {
    const tx = tf.tensor1d(pattern(32, 1));
    const tfOps: Ops<any> = {
      sin: (a) => tf.sin(a),
      tanh: (a) => tf.tanh(a),
      scale: (a, c) => tf.mul(a, c),
      shift: (a, c) => tf.add(a, c),
      square: (a) => tf.mul(a, a),
      sum: (a) => tf.sum(a),
    };
    const g = tf.grad((a: any) => chain(tfOps, a));
    contenders.tfjs = () => tf.tidy(() => void g(tx));
    const ours = Array.from(chainGrad(x).dataSync(), Number);
    const theirs = tf.tidy(() => Array.from(g(tx).dataSync() as Float32Array));
    const top = Math.max(...theirs.map(Math.abs));
    console.log(`chain gradients, max |mixrl - tfjs| / max |tfjs| = ${(Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]))) / top).toExponential(2)} (max |tfjs| = ${top.toExponential(2)})`);
  }
  const chainTimes = race(contenders);
  rows.push(row(`chain of ${CHAIN} elementwise ops, f32[32]`, chainPrims, chainTimes));

  // MLP.
  const p: Params<Tensor> = {
    w1: M.tensor(pattern(D * H, 2), { shape: [D, H] }),
    b1: M.tensor(pattern(H, 3)),
    w2: M.tensor(pattern(H, 4), { shape: [H, 1] }),
    b2: M.tensor(pattern(1, 5)),
  };
  const xb = M.tensor(pattern(B * D, 6), { shape: [B, D] });
  const yb = M.tensor(pattern(B, 7), { shape: [B, 1] });
  const mlpGrad = M.grad(mixrlLoss);
  const mlpPrims = forwardPrimitives(mixrlLoss, p, xb, yb);
  const mlpContenders: Record<string, () => void> = { mixrl: () => void mlpGrad(p, xb, yb) };
  if (tf) {
    const tp = {
      w1: tf.tensor2d(pattern(D * H, 2), [D, H]),
      b1: tf.tensor1d(pattern(H, 3)),
      w2: tf.tensor2d(pattern(H, 4), [H, 1]),
      b2: tf.tensor1d(pattern(1, 5)),
    };
    const tfx = tf.tensor2d(pattern(B * D, 6), [B, D]);
    const tfy = tf.tensor2d(pattern(B, 7), [B, 1]);
    const loss = (w1: any, b1: any, w2: any, b2: any) => {
      const h = tf.tanh(tf.add(tf.matMul(tfx, w1), b1));
      const out = tf.add(tf.matMul(h, w2), b2);
      return tf.mean(tf.square(tf.sub(out, tfy)));
    };
    const g = tf.grads(loss);
    mlpContenders.tfjs = () => tf.tidy(() => void g([tp.w1, tp.b1, tp.w2, tp.b2]));
    // Same numbers? (a check on the benchmark, not on the library)
    const ours = mlpGrad(p, xb, yb) as Params<Tensor>;
    const theirs = tf.tidy(() => g([tp.w1, tp.b1, tp.w2, tp.b2]).map((t: any) => Array.from(t.dataSync() as Float32Array)));
    const diff = Math.max(
      ...(['w1', 'b1', 'w2', 'b2'] as const).flatMap((k, i) => Array.from(ours[k].dataSync(), (v, j) => Math.abs(Number(v) - theirs[i][j]))),
    );
    const top = Math.max(...theirs.flat().map(Math.abs));
    console.log(`MLP gradients, max |mixrl - tfjs| / max |tfjs| = ${(diff / top).toExponential(2)}`);
  }
  const mlpTimes = race(mlpContenders);
  rows.push(row(`2-layer MLP loss, batch ${B}, ${D} -> ${H} -> 1`, mlpPrims, mlpTimes));

  console.log(`eager grad overhead (cpu backend, float32; medians of ${ROUNDS} rounds)`);
  const header = ['workload', 'fwd prims', 'mixrl us/call', 'mixrl us/prim', 'tfjs us/call', 'tfjs us/prim', 'mixrl / tfjs'];
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
}

function row(name: string, prims: number, times: Record<string, number>): string[] {
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const ratio = times.tfjs === undefined ? '-' : `${(times.mixrl / times.tfjs).toFixed(2)}x`;
  return [name, String(prims), fmt(times.mixrl), fmt(times.mixrl / prims), fmt(times.tfjs), fmt(times.tfjs && times.tfjs / prims), ratio];
}

await main();
