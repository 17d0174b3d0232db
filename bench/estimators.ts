/**
 * Time per actor-gradient step for each estimator: grad of the surrogate w.r.t. the actor MLP's
 * parameters for the paper's classic-control actor (obs 3, hidden 64 x 2 ReLU, K = 5, A = 1,
 * batch 32) on the CPU backend, float32. The critic is an MLP (obs + act -> 64 -> 64 -> 1) whose
 * parameters are stopGradient'd. SG-RP (a single squashed Gaussian, SAC-v2's actor) is the baseline;
 * every row prints ms per gradient (best of 3 interleaved rounds of 0.5 s) and the ratio to it.
 *
 * Run: npx esbuild bench/estimators.ts --bundle --platform=node --format=esm | node --input-type=module
 */
import * as M from '../src';
import type { Tensor } from '../src';
import * as D from '../src/distributions';
import * as E from '../src/rl/estimators';

const T = M;
const OBS = 3;
const HIDDEN = 64;
const K = 5;
const A = 1;
const BATCH = 32;
const SECONDS = 0.5;
const ROUNDS = 3;

interface Mlp {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
}

function initMlp(seed: number, input: number, output: number): Mlp {
  const [k1, k2, k3] = T.random.split(T.random.key(seed), 3);
  const layer = (k: Tensor, n: number, m: number) => T.mul(T.random.normal(k, [n, m]), Math.sqrt(2 / n));
  return {
    w1: layer(k1, input, HIDDEN),
    b1: T.zeros([HIDDEN]),
    w2: layer(k2, HIDDEN, HIDDEN),
    b2: T.zeros([HIDDEN]),
    w3: T.mul(layer(k3, HIDDEN, output), 0.1),
    b3: T.zeros([output]),
  };
}

function mlp(p: Mlp, x: Tensor): Tensor {
  const h1 = T.relu(T.add(T.matmul(x, p.w1), p.b1));
  const h2 = T.relu(T.add(T.matmul(h1, p.w2), p.b2));
  return T.add(T.matmul(h2, p.w3), p.b3);
}

const obs = T.random.uniform(T.random.key(1), [BATCH, OBS], { minval: -1, maxval: 1 });
const criticParams = initMlp(2, OBS + A, 1);
const q = (s: Tensor, a: Tensor) => {
  const frozen = { ...criticParams };
  for (const k of Object.keys(frozen) as (keyof Mlp)[]) frozen[k] = T.stopGradient(frozen[k]);
  return T.squeeze(mlp(frozen, T.concat([s, a], -1)), -1);
};
const critic = E.stateActionCritic(q, obs);

const box = { low: -2, high: 2 };
const heads = {
  single: { actionDim: A, kind: 'single', ...box } as const,
  mixture: { actionDim: A, kind: 'mixture', components: K, ...box } as const,
  uniform: { actionDim: A, kind: 'uniform', components: K, ...box } as const,
};

type Row = { name: string; head: keyof typeof heads; estimator: E.EstimatorName; extra?: Record<string, unknown> };
const rows: Row[] = [
  { name: 'SG-RP (baseline)', head: 'single', estimator: 'rp' },
  { name: 'SGM-MRP', head: 'mixture', estimator: 'mrp' },
  { name: 'SGM-HalfRP', head: 'mixture', estimator: 'halfRp' },
  { name: 'SGM-LR', head: 'mixture', estimator: 'lr' },
  { name: 'SGM-LR (baseline 8)', head: 'mixture', estimator: 'lr', extra: { baselineSamples: 8 } },
  { name: 'SGM-GumbelRP', head: 'mixture', estimator: 'gumbelRp' },
  { name: 'USGM-URP', head: 'uniform', estimator: 'urp' },
];

function makeStep(row: Row): () => void {
  const config = heads[row.head];
  const params = initMlp(3, OBS, D.headSize(config));
  const estimator = E.estimators[row.estimator] as (input: E.EstimatorInput & Record<string, unknown>) => Tensor;
  let step = 0;
  return () => {
    const g = M.grad((p: Mlp) => estimator({ policy: D.policyFromHead(mlp(p, obs), config), critic, alpha: 0.1, key: T.random.key(step++), ...row.extra }))(params);
    g.w1.dataSync(); // force the computation
  };
}

/** ms per call of `once` over SECONDS (after warm-up elsewhere). */
function msPerGradient(once: () => void): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    once();
    n++;
  }
  return (performance.now() - t0) / n;
}

// Rounds interleave the rows (so drift on a shared machine hits all of them) and keep each row's best.
const steps = rows.map(makeStep);
for (const once of steps) for (let i = 0; i < 20; i++) once(); // warm-up
const best = rows.map(() => Infinity);
for (let round = 0; round < ROUNDS; round++) steps.forEach((once, i) => (best[i] = Math.min(best[i], msPerGradient(once))));
const results = rows.map((row, i) => ({ ...row, ms: best[i] }));
const base = results[0].ms;
console.log(`actor gradient, obs ${OBS}, 2x${HIDDEN} ReLU, K ${K}, A ${A}, batch ${BATCH}, CPU float32 (node ${process.version})`);
console.log('estimator'.padEnd(22) + 'ms/grad'.padStart(10) + 'x SG-RP'.padStart(10));
for (const r of results) console.log(r.name.padEnd(22) + r.ms.toFixed(3).padStart(10) + (r.ms / base).toFixed(2).padStart(10));
