/**
 * The bandit experiments of the paper (Fig. 1, Fig. 2, Fig. 23) at `quick` scale, checked against
 * independent computations written here:
 *
 * - Fig. 1: every reported Gaussian stationary point has a zero gradient and the reported type by a
 *   float64 quadrature of J (trapezoid on a fixed x grid, a different rule from the experiment's) with
 *   central differences; the α past which the Gaussian has no stationary point is recomputed from the
 *   closed-form E[r] (the largest -∂J/∂log σ on the curves where ∂J/∂μ = 0) and the experiment's
 *   count must change there; every converged mixture solution is stationary by the same quadrature.
 * - Fig. 2: the sweep is deterministic (re-run equals the experiment's per-run table), the summary
 *   is the mean of the best step size's runs, and each final policy's E[r] equals a quadrature over
 *   its pre-tanh components written here.
 * - Fig. 2, continued: a sweep stopped mid-part and run again equals one run straight through, bit
 *   for bit, and reads its finished parts back; a work folder of another sweep is refused.
 * - Fig. 23: the trace equals a two-pass per-parameter variance sum; MRP's trace is below LR's and
 *   LR+baseline's (z-intervals at P(|Z| > z) = 1e-6 each disjoint: false failure <= 2e-6 per
 *   comparison, asymptotically), and the estimators' means agree along an independent direction
 *   (two-sided z-test at 1e-5 each, two comparisons: false failure <= 2e-5).
 * Deterministic parts (seeds fixed) have no false-failure rate beyond float rounding.
 */
import { isRight } from 'fp-ts/lib/Either.js';
import { existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bimodalBandit, syntheticBandit } from '../../src/envs/bandits';
import { ConfigError, resolveConfig } from '../../src/experiments/config';
import { Interrupted } from '../../src/experiments/paper/runs';
import { solve, symmetricEigenvalues } from '../../src/experiments/paper/small-linalg';
import { FIG1_BANDIT, prop33Bound, stationaryPoints } from '../../src/experiments/paper/stationary';
import { BANDIT_SWEEPS, banditMean, bestSettings, pairedBanditGap, syntheticBandits, trainBanditSweep } from '../../src/experiments/paper/synthetic-bandits';
import { rankTable } from '../../src/experiments/paper/estimators';
import type { AgentName } from '../../src/rl/sac/agents';
import type { ExperimentContext, ExperimentResult, Table } from '../../src/experiments/paper/types';
import { gradientSampler, gradientVariance, traceOfCovariance, type VarianceEstimator } from '../../src/experiments/paper/variance';
import { createRun, train } from '../../src/experiments/train';
import * as T from '../../src/tensor';
import { rawKey } from '../../src/tensor/threefry';
import { zFor } from '../distributions/reference';

const workDir = mkdtempSync(path.join(tmpdir(), 'mixrl-paper-'));
const ctx = (seeds: number[]): ExperimentContext => ({ scale: 'quick', seeds, backend: T.cpu, workDir, log: () => {} });

function checkShape(result: ExperimentResult, tables: string[], figures: string[]): void {
  expect(result.tables.map((t) => t.id)).toEqual(tables);
  expect(result.figures.map((f) => f.id)).toEqual(figures);
  for (const t of result.tables) {
    expect(t.rows.length).toBeGreaterThan(0);
    for (const row of t.rows) expect(row.length).toBe(t.columns.length);
  }
  for (const f of result.figures) {
    expect(f.series.length).toBeGreaterThan(0);
    for (const s of f.series) {
      expect(s.x.length).toBeGreaterThan(0);
      expect(s.y.length).toBe(s.x.length);
      for (const band of [s.lo, s.hi]) if (band) expect(band.length).toBe(s.x.length);
      expect([...s.x, ...(s.lo ?? []), ...(s.hi ?? [])].every(Number.isFinite)).toBe(true);
      // y may be NaN (a gap: no point at that x), never infinite, and is somewhere a number.
      expect(s.y.every((v) => Number.isFinite(v) || Number.isNaN(v))).toBe(true);
      expect(s.y.some(Number.isFinite)).toBe(true);
    }
  }
  expect(result.findings.length).toBeGreaterThan(0);
}

/** Rows of a table as records by column name. */
const records = (t: Table) => t.rows.map((row) => Object.fromEntries(t.columns.map((c, i) => [c, row[i]])) as Record<string, number | string>);
const table = (r: ExperimentResult, id: string) => r.tables.find((t) => t.id === id) as Table;

describe('small dense linear algebra (Newton steps, Hessian types)', () => {
  it('recovers the eigenvalues of Q diag(d) Qᵀ and solves H d = g', () => {
    // Q = I - 2 v vᵀ / |v|², a reflection (orthogonal)
    const v = [1, -2, 0.5, 3, -1];
    const vv = v.reduce((s, x) => s + x * x, 0);
    const Q = v.map((vi, i) => v.map((vj, j) => (i === j ? 1 : 0) - (2 * vi * vj) / vv));
    const d = [-3, -0.5, 1e-3, 2, 7];
    const H = Q.flatMap((_, i) => Q.map((_, j) => d.reduce((s, dk, k) => s + Q[i][k] * dk * Q[j][k], 0)));
    symmetricEigenvalues(H, 5).forEach((e, k) => expect(Math.abs(e - d[k])).toBeLessThan(1e-12));
    const g = [1, 2, 3, 4, 5];
    const x = solve(H, g, 5) as number[];
    g.forEach((gi, i) => expect(Math.abs(x.reduce((s, xj, j) => s + H[i * 5 + j] * xj, 0) - gi)).toBeLessThan(1e-9));
    expect(solve([1, 2, 2, 4], [1, 1], 2)).toBeNull();
  });
});

describe('fig1-stationary (quick)', () => {
  const bandit = bimodalBandit(FIG1_BANDIT);
  let result: ExperimentResult;
  beforeAll(async () => {
    result = await stationaryPoints.run(ctx([0]));
  });

  // J by the trapezoid rule on x in [-8, 8] (r < 1e-50 outside [-6, 6]), h = 5e-4.
  const N = 32_000;
  const xs = Array.from({ length: N + 1 }, (_, i) => -8 + (16 * i) / N);
  const h = 16 / N;
  const r = xs.map((x) => bandit.reward(x));
  const normal = (x: number, m: number, s: number) => Math.exp(-0.5 * ((x - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
  const gaussianJ = (alpha: number, mu: number, logStd: number) => {
    const s = Math.exp(logStd);
    let e = 0;
    for (let i = 0; i <= N; i++) e += (i === 0 || i === N ? 0.5 : 1) * normal(xs[i], mu, s) * r[i];
    return e * h + alpha * (logStd + 0.5 * Math.log(2 * Math.PI * Math.E));
  };
  /** Central-difference gradient and Hessian of f at p (steps d). */
  const derivatives = (f: (p: number[]) => number, p: number[], d: number[]) => {
    const at = (delta: number[]) => f(p.map((v, i) => v + delta[i]));
    const e = (i: number, s: number) => p.map((_, j) => (j === i ? s * d[i] : 0));
    const g = p.map((_, i) => (at(e(i, 1)) - at(e(i, -1))) / (2 * d[i]));
    const H = p.map((_, i) =>
      p.map((_, j) => {
        const both = (si: number, sj: number) => at(e(i, si).map((v, k) => v + e(j, sj)[k]));
        return (both(1, 1) - both(1, -1) - both(-1, 1) + both(-1, -1)) / (4 * d[i] * d[j]);
      }),
    );
    return { g, H };
  };

  it('has the tables and figures of Fig. 1, every series well formed', () => {
    checkShape(result, ['fig1-gaussian-stationary-points', 'fig1-mixture-ascent'], ['fig1-policies', 'fig1-gaussian-mu', 'fig1-mixture-mu', 'fig1-expected-reward', 'fig1-bimodal-frequency']);
  });

  it("plots each branch of Gaussian stationary points only where the table has it, saddles dashed", () => {
    const rows = records(table(result, 'fig1-gaussian-stationary-points')) as { alpha: number; kind: string; mu: number }[];
    // The α grid: the mixture table has a row for every α (the Gaussian's, none past its last point).
    const alphas = [...new Set(records(table(result, 'fig1-mixture-ascent')).map((r) => r.alpha as number))];
    const figure = result.figures.find((f) => f.id === 'fig1-gaussian-mu')!;
    const side = (mu: number) => (mu < -0.05 ? 'left' : mu > 0.05 ? 'right' : 'centre');
    for (const s of figure.series) {
      const [, kind, where, rank] = /^Gaussian (max|saddle|min), (left|right|centre)( #\d+)?$/.exec(s.name) ?? [];
      expect(kind, s.name).toBeDefined();
      // Every α on the grid: a point where the table has one of this kind and side, a gap elsewhere (the line used to join across gaps).
      expect(s.x).toEqual(alphas);
      // (A branch ranked by σ among points of one kind and side is not matched to rows here.)
      for (const alpha of rank ? [] : alphas) {
        const here = rows.filter((r) => r.alpha === alpha && r.kind === kind && side(r.mu) === where);
        expect(here.length).toBeLessThanOrEqual(1);
        const y = s.y[s.x.indexOf(alpha)];
        if (here.length === 1) expect(y).toBeCloseTo(here[0].mu, 12);
        else expect(y, `${s.name} at ${alpha}`).toBeNaN();
      }
      // A saddle and a maximum at the same μ (the centre) stay both visible: saddles are dashed.
      expect(s.dashed === true, s.name).toBe(kind === 'saddle');
    }
    expect(figure.series.some((s) => s.name === 'Gaussian saddle, left' && s.y.some(Number.isNaN))).toBe(true);
  });

  it('every Gaussian point is stationary, of the reported type, by an independent quadrature', () => {
    const rows = records(table(result, 'fig1-gaussian-stationary-points'));
    expect(rows.length).toBeGreaterThan(4);
    for (const row of rows) {
      const [alpha, mu, sigma] = [row.alpha, row.mu, row.sigma] as number[];
      const f = (p: number[]) => gaussianJ(alpha, p[0], p[1]);
      const p = [mu, Math.log(sigma)];
      const { g, H } = derivatives(f, p, [1e-4 * sigma, 1e-4]);
      expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-6);
      expect(Math.abs(f(p) - (row.J as number))).toBeLessThan(1e-6);
      const det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
      if (row.kind === 'max') expect(det > 0 && H[0][0] < 0).toBe(true);
      if (row.kind === 'saddle') expect(det).toBeLessThan(0);
    }
    // power: a point moved by a tenth of σ is not stationary
    const first = rows[0] as Record<string, number>;
    const moved = derivatives((p) => gaussianJ(first.alpha, p[0], p[1]), [first.mu + 0.1 * first.sigma, Math.log(first.sigma)], [1e-4 * first.sigma, 1e-4]);
    expect(Math.max(...moved.g.map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it('the Gaussian loses its stationary points at the α the closed form predicts (and below Prop. 3.3 bound)', () => {
    // E[r](μ, σ) = Σ_j c_j N(μ; m_j, σ² + s_j²); stationary points need ∂E/∂μ = 0 and α = -∂E/∂log σ,
    // so they exist exactly for α below the largest -∂E/∂log σ on the curves ∂E/∂μ = 0.
    const terms = bandit.means.map((m, j) => ({ m, s2: bandit.stds[j] ** 2, c: bandit.weights[j] * bandit.scale }));
    const dMu = (mu: number, s: number) => terms.reduce((acc, t) => acc - (t.c * normal(mu, t.m, Math.sqrt(s * s + t.s2)) * (mu - t.m)) / (s * s + t.s2), 0);
    const dLogStd = (mu: number, s: number) =>
      terms.reduce((acc, t) => {
        const v = s * s + t.s2;
        return acc + t.c * normal(mu, t.m, Math.sqrt(v)) * s * s * ((mu - t.m) ** 2 / (v * v) - 1 / v);
      }, 0);
    let alphaStar = 0;
    for (let i = 0; i <= 1500; i++) {
      const s = 1e-3 * 20_000 ** (i / 1500);
      const mus = Array.from({ length: 2001 }, (_, k) => -2.5 + k * 0.0025);
      for (let k = 0; k < mus.length - 1; k++) {
        let [a, b] = [mus[k], mus[k + 1]];
        const [fa, fb] = [dMu(a, s), dMu(b, s)];
        if (fa !== 0 && fa * fb > 0) continue;
        for (let it = 0; it < 60 && fa !== 0; it++) {
          const mid = (a + b) / 2;
          if (dMu(mid, s) * fa > 0) a = mid;
          else b = mid;
        }
        alphaStar = Math.max(alphaStar, -dLogStd(fa === 0 ? a : (a + b) / 2, s));
      }
    }
    expect(alphaStar).toBeLessThan(prop33Bound(1));
    const gaussianAlphas = new Set(records(table(result, 'fig1-gaussian-stationary-points')).map((row) => row.alpha));
    const alphas = [...new Set(records(table(result, 'fig1-mixture-ascent')).map((row) => row.alpha as number))];
    const tested = alphas.filter((a) => Math.abs(a - alphaStar) > 0.02);
    expect(tested.some((a) => a < alphaStar) && tested.some((a) => a > alphaStar)).toBe(true);
    for (const a of tested) expect(gaussianAlphas.has(a)).toBe(a < alphaStar);
  });

  it('every converged mixture solution is stationary by an independent quadrature; it outlasts the Gaussian (Prop. 3.4)', () => {
    const rows = records(table(result, 'fig1-mixture-ascent')).filter((row) => row.runs_here !== 0);
    expect(rows.length).toBeGreaterThan(3);
    const mixtureJ = (alpha: number, p: number[]) => {
      const [l, m1, m2, ls1, ls2] = p;
      const w1 = 1 / (1 + Math.exp(-l));
      let total = 0;
      for (let i = 0; i <= N; i++) {
        const dens = w1 * normal(xs[i], m1, Math.exp(ls1)) + (1 - w1) * normal(xs[i], m2, Math.exp(ls2));
        if (dens > 0) total += (i === 0 || i === N ? 0.5 : 1) * dens * (r[i] - alpha * Math.log(dens));
      }
      return total * h;
    };
    for (const row of rows) {
      const [w1, mu1, s1, w2, mu2, s2] = [row.w1, row.mu1, row.sigma1, row.w2, row.mu2, row.sigma2] as number[];
      const p = [Math.log(w1 / w2), mu1, mu2, Math.log(s1), Math.log(s2)];
      const f = (q: number[]) => mixtureJ(row.alpha as number, q);
      const d = [1e-4, 1e-4 * s1, 1e-4 * s2, 1e-4, 1e-4];
      const g = p.map((_, i) => (f(p.map((v, j) => (j === i ? v + d[i] : v))) - f(p.map((v, j) => (j === i ? v - d[i] : v)))) / (2 * d[i]));
      expect(Math.max(...g.map(Math.abs))).toBeLessThan(1e-4);
      expect(Math.abs(f(p) - (row.J as number))).toBeLessThan(1e-6);
    }
    const last = (rs: Record<string, number | string>[]) => Math.max(...rs.map((row) => row.alpha as number));
    expect(last(rows)).toBeGreaterThanOrEqual(last(records(table(result, 'fig1-gaussian-stationary-points'))));
  });
});

describe('fig2-bandits (quick)', () => {
  const seeds = [0, 1];
  let result: ExperimentResult;
  let runs: Awaited<ReturnType<typeof trainBanditSweep>>;
  beforeAll(async () => {
    result = await syntheticBandits.run(ctx(seeds));
    runs = await trainBanditSweep({ ...BANDIT_SWEEPS.quick, seeds });
  });

  it('has the table and figures of Fig. 2, one row per agent and α', () => {
    checkShape(result, ['fig2-bandits', 'fig2-difference', 'fig2-runs'], ['fig2-alpha', 'fig2-curves', 'fig2-examples']);
    const rows = records(table(result, 'fig2-bandits'));
    expect(rows.length).toBe(2 * BANDIT_SWEEPS.quick.alphas.length);
    for (const row of rows) {
      const [mean, lo, hi] = [row.mean_final_reward, row.ci95_lo, row.ci95_hi] as number[];
      expect(lo <= mean && mean <= hi && lo >= 0 && hi <= 1 + 1e-9).toBe(true);
      expect(row.runs).toBe(BANDIT_SWEEPS.quick.bandits.length * seeds.length);
    }
  });

  it('is deterministic, and the summary is the mean of the best step size runs', () => {
    const reported = records(table(result, 'fig2-runs')).map((row) => row.final_reward as number);
    expect(reported).toEqual(runs.map((r) => Number(r.final.toPrecision(6))));
    for (const row of records(table(result, 'fig2-bandits'))) {
      const mine = runs.filter((r) => r.agent === row.agent && r.alpha === row.alpha && r.lr === row.best_lr);
      const mean = mine.reduce((s, r) => s + r.final, 0) / mine.length;
      expect(Math.abs(mean - (row.mean_final_reward as number))).toBeLessThan(1e-3);
    }
  });

  it("each final policy's E[r] equals an independent quadrature over its pre-tanh components", () => {
    for (const run of runs) {
      const bandit = syntheticBandit({ seed: run.bandit });
      const [scale, bias] = [(bandit.high - bandit.low) / 2, (bandit.high + bandit.low) / 2];
      let total = 0;
      run.policy.weights.forEach((w, k) => {
        const [m, s] = [run.policy.means[k], run.policy.stds[k]];
        const n = 24_000;
        const step = (24 * s) / n;
        let e = 0;
        for (let i = 0; i <= n; i++) {
          const x = m - 12 * s + i * step;
          e += (i === 0 || i === n ? 0.5 : 1) * (Math.exp(-0.5 * ((x - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI))) * bandit.reward(scale * Math.tanh(x) + bias);
        }
        total += w * e * step;
      });
      expect(Math.abs(total - (run.curve.at(-1) as number))).toBeLessThan(1e-6);
    }
  });
});

describe('fig2-bandits, stopped and continued', () => {
  const sweep = { bandits: [0, 1], seeds: [0], alphas: [0.01, 0.1], lrs: [1e-3, 3e-3], steps: 60, batch: 8, hidden: [8, 8], components: 3, evalEvery: 10 };
  // Parts in order: SG-RP lr 1e-3, SG-RP 3e-3, SGM-MRP 1e-3, SGM-MRP 3e-3; updates are asked for a signal 59 times per part.
  const stopAfter = (calls: number) => {
    let n = 0;
    return () => (++n >= calls ? ('SIGINT' as const) : null);
  };

  it('gives the bits of a straight run, checkpointing mid-part and reading finished parts back', async () => {
    const straight = await trainBanditSweep(sweep);
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-fig2-'));
    const store = { dir, checkpointEvery: 25 };
    // Stopped in the third part at update 37: after its checkpoint at 25, between evaluations.
    await expect(trainBanditSweep(sweep, { store: { ...store, stopSignal: stopAfter(2 * 59 + 37) } })).rejects.toBeInstanceOf(Interrupted);
    expect(readdirSync(dir).sort()).toEqual(['fig2-SG-RP-lr0.001.json', 'fig2-SG-RP-lr0.003.json', 'fig2-SGM-MRP-lr0.001.safetensors']);
    // A checkpoint write a kill cut short left its temporary: the next sweep removes it.
    const temp = path.join(dir, '.fig2-SGM-MRP-lr0.001.safetensors.0b7e1c4a-3f2d-4c1e-9a8b-7d6c5b4a3f2e.tmp');
    writeFileSync(temp, 'x');
    // Stopped again right after the next update, then continued to the end.
    await expect(trainBanditSweep(sweep, { store: { ...store, stopSignal: stopAfter(1) } })).rejects.toBeInstanceOf(Interrupted);
    const lines: string[] = [];
    const continued = await trainBanditSweep(sweep, { store, log: (line) => lines.push(line) });
    expect(lines.filter((l) => l.includes('finished before')).length).toBe(2);
    expect(lines.some((l) => l.includes('continuing from the checkpoint at update 38'))).toBe(true);
    expect(existsSync(temp)).toBe(false);
    expect(continued).toEqual(straight);
    expect(existsSync(path.join(dir, 'fig2-SGM-MRP-lr0.001.safetensors'))).toBe(false);
    // Everything finished: read back without training; a checkpoint left beside a finished part (a
    // kill between writing the part and removing its checkpoint) is removed.
    writeFileSync(path.join(dir, 'fig2-SGM-MRP-lr0.001.safetensors'), 'stale');
    const again: string[] = [];
    expect(await trainBanditSweep(sweep, { store, log: (line) => again.push(line) })).toEqual(straight);
    expect(again.every((l) => l.includes('finished before'))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['fig2-SG-RP-lr0.001.json', 'fig2-SG-RP-lr0.003.json', 'fig2-SGM-MRP-lr0.001.json', 'fig2-SGM-MRP-lr0.003.json']);
  });

  it("refuses a work folder holding another sweep's parts or checkpoint", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-fig2-'));
    await expect(trainBanditSweep(sweep, { store: { dir, checkpointEvery: 25, stopSignal: stopAfter(59 + 30) } })).rejects.toBeInstanceOf(Interrupted);
    const other = { ...sweep, steps: 80 };
    await expect(trainBanditSweep(other, { store: { dir, checkpointEvery: 25 } })).rejects.toThrow(/fig2-SG-RP-lr0\.001\.json belongs to another sweep/);
    await expect(trainBanditSweep({ ...other, lrs: [3e-3] }, { store: { dir, checkpointEvery: 25 } })).rejects.toThrow(ConfigError);
  });

  it('says how to go on from a damaged checkpoint', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixrl-fig2-'));
    await expect(trainBanditSweep(sweep, { store: { dir, checkpointEvery: 25, stopSignal: stopAfter(30) } })).rejects.toBeInstanceOf(Interrupted);
    const file = path.join(dir, 'fig2-SG-RP-lr0.001.safetensors');
    truncateSync(file, 100);
    await expect(trainBanditSweep(sweep, { store: { dir, checkpointEvery: 25 } })).rejects.toThrow(/; delete .*fig2-SG-RP-lr0\.001\.safetensors to train this part again from its start$/);
    rmSync(file);
    expect(await trainBanditSweep(sweep, { store: { dir, checkpointEvery: 25 } })).toEqual(await trainBanditSweep(sweep));
  });
});

describe('the paper experiments\' selections and intervals', () => {
  const run = (bandit: number, lr: number, final: number) => ({ agent: 'SG-RP' as const, bandit, seed: 0, alpha: 0.1, lr, steps: [], curve: [], final, policy: { weights: [], means: [], stds: [] } });

  it('fig2 never picks a step size whose runs diverged (NaN), wherever it is listed', () => {
    for (const order of [[3e-4, 1e-3, 3e-3], [1e-3, 3e-4, 3e-3], [3e-3, 1e-3, 3e-4]]) {
      const finals: Record<number, number> = { 3e-4: NaN, 1e-3: 0.9, 3e-3: 0.5 };
      const [best] = bestSettings(order.map((lr) => run(0, lr, finals[lr])));
      expect(best.lr, `order ${order}`).toBe(1e-3);
    }
  });

  it("fig2's interval resamples bandits (a cluster bootstrap of their means over seeds)", () => {
    // Seeds that differ within bandits whose means agree: every replicate's mean is 0.5, so the
    // interval is the point (runs resampled one by one would spread it).
    const same = [0, 1, 0.2, 0.8, 0.5, 0.5].map((final, i) => run(Math.floor(i / 2), 1e-3, final));
    expect(banditMean(same, (r) => r.final, 500, 'test')).toEqual({ value: 0.5, lo: 0.5, hi: 0.5 });
    // Bandits whose means differ (0.25, 0.85): the replicates are the means of two draws of them,
    // 0.25, 0.55 or 0.85, with probabilities 1/4, 1/2, 1/4: the 2.5th percentile of 2000 is 0.25
    // unless fewer than 50 draws are 0.25 (binomial(2000, 1/4): P < 1e-90), and the 97.5th 0.85.
    const apart = [0.1, 0.4, 0.9, 0.8].map((final, i) => run(Math.floor(i / 2), 1e-3, final));
    const ci = banditMean(apart, (r) => r.final, 2000, 'test');
    expect(ci.value).toBeCloseTo(0.55, 12);
    expect(ci.lo).toBeCloseTo(0.25, 12);
    expect(ci.hi).toBeCloseTo(0.85, 12);
    // One bandit: nothing to resample, no interval.
    expect(banditMean(apart.slice(0, 2), (r) => r.final, 100, 'test').lo).toBeNaN();
  });

  it("fig2's difference of the agents is paired by bandit", () => {
    // Bandit means a: 0.5, 0.9, 0.3; b: 0.5, 0.6, 0.4; differences 0, 0.3, -0.1 (mean 0.2/3).
    const a = [0.4, 0.6, 0.9, 0.9, 0.3, 0.3].map((final, i) => run(Math.floor(i / 2), 1e-3, final));
    const b = [0.5, 0.5, 0.7, 0.5, 0.4, 0.4].map((final, i) => run(Math.floor(i / 2), 1e-3, final));
    const gap = pairedBanditGap(a, b, 'test');
    expect(gap.value).toBeCloseTo(0.2 / 3, 12);
    expect([gap.bandits, gap.ahead]).toEqual([3, 1]);
    // Replicates are means of 3 of the differences: within [-0.1, 0.3].
    expect(gap.lo >= -0.1 - 1e-12 && gap.hi <= 0.3 + 1e-12 && gap.lo < gap.value && gap.value < gap.hi).toBe(true);
  });

  it('fig8 ranks tied areas by the mean of their ranks (scipy.stats.rankdata), no area last', () => {
    const cell = (agent: AgentName, area: number) => ({ env: 'E', agent, seeds: 1, x: [], mean: [], lo: [], hi: [], area: { n: 1, mean: area, lo: NaN, hi: NaN }, final: { n: 1, mean: NaN, lo: NaN, hi: NaN } });
    const rows = rankTable([cell('sg-rp', 5), cell('usgm-rp', -1000), cell('sgm-mrp', 3), cell('sgm-halfrp', -1000), cell('sgm-gumbelrp', NaN)]).rows;
    // rankdata([-1000, 3, -1000, -inf]) ranked from the largest: 2.5, 1, 2.5, 4.
    expect(rows.map((r) => [r[1], r[3]])).toEqual([['USGM-RP', 2.5], ['SGM-MRP', 1], ['SGM-HalfRP', 2.5], ['SGM-GumbelRP', 4]]);
  });

  it("fig23's standard error is the trace's: the mean of the squared deviations times M/(M-1)", () => {
    // M = 4 draws of P = 1: deviations from the mean 2.5 are ±1.5, ±0.5, squared 2.25, 0.25, 0.25, 2.25.
    const { trace, se } = traceOfCovariance(new Float64Array([1, 2, 3, 4]), 4, 1);
    expect(trace).toBeCloseTo(5 / 3, 14); // the sample variance of 1..4
    // sd of [2.25, 0.25, 0.25, 2.25] (ddof 1) = 2/√3, over √4, times 4/3.
    expect(se).toBeCloseTo((2 / Math.sqrt(3) / 2) * (4 / 3), 14);
  });
});

describe('fig23-variance (quick)', () => {
  let result: ExperimentResult;
  beforeAll(async () => {
    result = await gradientVariance.run(ctx([0]));
  });

  it('has a trace per estimator and measurement, and a figure per environment', () => {
    checkShape(result, ['fig23-variance'], ['fig23-ShapedPendulum']);
    const rows = records(table(result, 'fig23-variance'));
    expect(rows.length % 3).toBe(0);
    for (const row of rows) expect((row.trace as number) > 0 && (row.se as number) > 0, JSON.stringify(row)).toBe(true);
    // The findings' median ratio LR/MRP is numpy.median's of the table's ratios (the mean of the two
    // middle ones for an even count; the upper one was reported before).
    const trace = (estimator: string, r: Record<string, unknown>) => rows.find((q) => q.estimator === estimator && q.seed === r.seed && q.step === r.step && q.env === r.env)?.trace as number;
    const ratios = rows.filter((r) => r.estimator === 'MRP').map((r) => trace('LR', r) / (r.trace as number)).sort((a, b) => a - b);
    const n = ratios.length;
    const expected = n % 2 ? ratios[(n - 1) / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
    const reported = Number(/median ratio LR\/MRP ([^,]+),/.exec(result.findings.join(' '))?.[1]);
    expect(Math.abs(reported - expected) / expected).toBeLessThan(5e-3);
  });

  it('on a frozen actor and minibatch: MRP has a smaller trace than LR and LR+baseline, and the means agree', async () => {
    const config = resolveConfig([{ env: 'ShapedPendulum', agent: 'sgm-mrp', seed: 3, steps: 300, learningStarts: 100, checkpointEvery: 0 }]);
    if (!isRight(config)) throw new Error(config.left.message);
    const run = createRun(config.right, T.cpu);
    await train(run, { until: 300 });
    const batch = run.replay.sample(rawKey(11), 32, { dtype: run.config.dtype });
    const alpha = T.exp(run.sac.logAlpha);
    const M = 600;
    const draw = (e: VarianceEstimator, seed: number) => {
      const g = gradientSampler(run.h, e)(run.sac.actor, run.sac.critics, batch.obs, alpha, T.random.splitStacked(T.random.key(seed), M));
      return { data: Float64Array.from(g.dataSync() as Float32Array), P: g.shape[1] };
    };
    const sets = { LR: draw('LR', 1), 'LR+baseline': draw('LR+baseline', 2), MRP: draw('MRP', 3) };
    const P = sets.MRP.P;
    // trace = Σ_j sample variance of parameter j, two passes
    const traces = Object.fromEntries(
      Object.entries(sets).map(([name, { data }]) => {
        let sum = 0;
        for (let j = 0; j < P; j++) {
          let m = 0;
          for (let k = 0; k < M; k++) m += data[k * P + j] / M;
          for (let k = 0; k < M; k++) sum += (data[k * P + j] - m) ** 2 / (M - 1);
        }
        const reported = traceOfCovariance(data, M, P);
        expect(Math.abs(reported.trace - sum) / sum).toBeLessThan(1e-9);
        return [name, reported];
      }),
    ) as Record<VarianceEstimator, { trace: number; se: number }>;
    const z = zFor(1e-6);
    for (const other of ['LR', 'LR+baseline'] as const) {
      expect(traces.MRP.trace + z * traces.MRP.se).toBeLessThan(traces[other].trace - z * traces[other].se);
    }
    // unbiasedness: along u, the normalized mean of an independent MRP set, the projected means agree
    const extra = draw('MRP', 4);
    const u = new Float64Array(P);
    for (let k = 0; k < M; k++) for (let j = 0; j < P; j++) u[j] += extra.data[k * P + j];
    const norm = Math.hypot(...u);
    const projected = (data: Float64Array) => {
      const s = Array.from({ length: M }, (_, k) => {
        let dot = 0;
        for (let j = 0; j < P; j++) dot += (data[k * P + j] * u[j]) / norm;
        return dot;
      });
      const mean = s.reduce((a, b) => a + b, 0) / M;
      return { mean, se: Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (M - 1) / M) };
    };
    const mrp = projected(sets.MRP.data);
    const zAgree = zFor(1e-5);
    for (const other of ['LR', 'LR+baseline'] as const) {
      const o = projected(sets[other].data);
      expect(Math.abs(o.mean - mrp.mean)).toBeLessThanOrEqual(zAgree * Math.hypot(o.se, mrp.se));
    }
    // power: LR+baseline's check would catch a bias as large as the projected gradient (e.g. an
    // estimator whose mean is zero); LR's, without a baseline, is far weaker (its SE is huge)
    const lrb = projected(sets['LR+baseline'].data);
    expect(zAgree * Math.hypot(lrb.se, mrp.se)).toBeLessThan(Math.abs(mrp.mean));
  });
});
