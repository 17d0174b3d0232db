import { describe, expect, it } from 'vitest';
import * as M from '../../src';

/** Float64 host copy of the params: layers of { w: rows of `out` numbers, b }. */
function hostParams(params: M.MlpParams): { w: number[][]; b: number[] }[] {
  return params.layers.map(({ w, b }) => ({ w: w.toArraySync() as number[][], b: b.toArraySync() as number[] }));
}

/** The MLP on plain numbers, written from the definition y = act(x W + b). */
function hostMlp(layers: { w: number[][]; b: number[] }[], x: number[], act: (v: number) => number, outAct: (v: number) => number): number[] {
  return layers.reduce((h, { w, b }, i) => {
    const f = i === layers.length - 1 ? outAct : act;
    return b.map((bj, j) => f(h.reduce((s, hk, k) => s + hk * w[k][j], bj)));
  }, x);
}

const relu = (v: number) => Math.max(v, 0);
const identity = (v: number) => v;

describe('initMlp', () => {
  it('makes one { w: [in, out], b: [out] } per layer, float32 on the key backend by default', () => {
    const params = M.initMlp(M.random.key(0), [3, 64, 64, 1]);
    expect(params.layers.map(({ w, b }) => [w.shape, b.shape])).toEqual([
      [[3, 64], [64]],
      [[64, 64], [64]],
      [[64, 1], [1]],
    ]);
    for (const { w, b } of params.layers) expect([w.dtype, b.dtype, w.backend.name]).toEqual(['float32', 'float32', 'cpu']);
    const p64 = M.initMlp(M.random.key(0), [2, 2], { dtype: 'float64' });
    expect(p64.layers[0].w.dtype).toBe('float64');
  });

  it('draws layer i from split(key, layers)[i]: weights from its first split, biases from its second', () => {
    const key = M.random.key(42);
    const params = M.initMlp(key, [5, 7, 2]);
    M.random.split(key, 2).forEach((layerKey, i) => {
      const [wKey, bKey] = M.random.split(layerKey);
      const bound = 1 / Math.sqrt([5, 7][i]);
      const w = M.random.uniform(wKey, [[5, 7][i], [7, 2][i]], { minval: -bound, maxval: bound });
      const b = M.random.uniform(bKey, [[7, 2][i]], { minval: -bound, maxval: bound });
      expect(params.layers[i].w.dataSync()).toEqual(w.dataSync());
      expect(params.layers[i].b.dataSync()).toEqual(b.dataSync());
    });
    expect(M.initMlp(M.random.key(42), [5, 7, 2]).layers[1].w.dataSync()).toEqual(params.layers[1].w.dataSync());
    expect(M.initMlp(M.random.key(43), [5, 7, 2]).layers[1].w.dataSync()).not.toEqual(params.layers[1].w.dataSync());
  });

  // 65,536 weights: the sample variance has relative standard error sqrt((9/5 - 1) / n) = 0.35%; a 2%
  // tolerance is 5.7 standard errors (false-failure rate < 1e-7 over seeds). The largest |w| falls
  // below 0.999 of the bound with probability 0.999^65536 = e^-65.6.
  const checkUniform = (values: ArrayLike<number>, bound: number) => {
    const n = values.length;
    let max = 0;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      max = Math.max(max, Math.abs(values[i]));
      sum += values[i];
      sumSq += values[i] ** 2;
    }
    expect(max).toBeLessThanOrEqual(bound);
    expect(max).toBeGreaterThan(0.999 * bound);
    expect(Math.abs(sum / n)).toBeLessThan((5.7 * bound) / Math.sqrt(3 * n));
    expect(Math.abs(sumSq / n / (bound ** 2 / 3) - 1)).toBeLessThan(0.02);
  };

  it("'torch' draws w and b from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as nn.Linear", () => {
    checkUniform(M.initMlp(M.random.key(1), [16, 4096], { dtype: 'float64' }).layers[0].w.dataSync(), 1 / 4);
    checkUniform(M.initMlp(M.random.key(1), [4, 65536]).layers[0].b.dataSync(), 1 / 2);
  });

  it("'xavier-uniform' draws w from U(-sqrt(6/(fan_in+fan_out)), ...) and zeros b", () => {
    const params = M.initMlp(M.random.key(2), [16, 4096, 2], { init: 'xavier-uniform' }); // w0: 65,536 values
    checkUniform(params.layers[0].w.dataSync(), Math.sqrt(6 / (16 + 4096)));
    expect(Array.from(params.layers[0].b.dataSync()).every((v) => v === 0)).toBe(true);
    expect(params.layers[1].b.toArraySync()).toEqual([0, 0]);
  });

  it("'orthogonal' gives Q of A = QR (R upper triangular, positive diagonal), A standard normal [max, min], b = 0", () => {
    for (const [fanIn, fanOut] of [[7, 3], [3, 7], [5, 5]]) {
      const key = M.random.key(fanIn * 10 + fanOut);
      const w = M.initMlp(key, [fanIn, fanOut], { init: 'orthogonal', dtype: 'float64' }).layers[0].w.toArraySync() as number[][];
      const [n, m] = [Math.max(fanIn, fanOut), Math.min(fanIn, fanOut)];
      // Q is w ([n, m], orthonormal columns) or its transpose.
      const q = fanIn >= fanOut ? w : w[0].map((_, i) => w.map((row) => row[i]));
      const wKey = M.random.split(M.random.split(key, 1)[0])[0];
      const a = M.random.normal(wKey, [n, m], 'float64').toArraySync() as number[][];
      const column = (x: number[][], j: number) => x.map((row) => row[j]);
      const dot = (u: number[], v: number[]) => u.reduce((s, ui, i) => s + ui * v[i], 0);
      for (let j = 0; j < m; j++) {
        for (let k = 0; k < m; k++) {
          expect(dot(column(q, j), column(q, k))).toBeCloseTo(j === k ? 1 : 0, 14); // QᵀQ = I
          const r = dot(column(q, j), column(a, k)); // R = QᵀA
          if (j > k) expect(r).toBeCloseTo(0, 13);
          if (j === k) expect(r).toBeGreaterThan(0);
        }
      }
    }
    const p32 = M.initMlp(M.random.key(0), [64, 64, 2], { init: 'orthogonal' });
    expect([p32.layers[1].w.dtype, p32.layers[1].w.shape, p32.layers[0].b.toArraySync()]).toEqual(['float32', [64, 2], new Array(64).fill(0)]);
  });

  it('rejects fewer than two sizes, non-positive or fractional ones, unknown inits and activations', () => {
    for (const sizes of [[3], [3, 0], [3, 2.5], [-1, 2]]) {
      expect(() => M.initMlp(M.random.key(0), sizes)).toThrow(M.ArgumentError);
    }
    expect(() => M.initMlp(M.random.key(0), [3, 0])).toThrow('initMlp: sizes must be at least two positive integers, got [3, 0]');
    expect(() => M.initMlp(M.random.key(0), [3, 2], { init: 'kaiming' as never })).toThrow(
      "initMlp: unknown init 'kaiming'; known: torch, xavier-uniform, orthogonal",
    );
    const params = M.initMlp(M.random.key(0), [3, 2]);
    expect(() => M.mlp(params, M.zeros([3]), { activation: 'gelu' as never })).toThrow("mlp: unknown activation 'gelu'; known: relu, tanh, identity");
  });
});

describe('mlp', () => {
  const params = M.initMlp(M.random.key(3), [4, 8, 8, 2], { dtype: 'float64' });
  const host = hostParams(params);
  const xs = [
    [0.3, -1.2, 2.0, 0.5],
    [-0.7, 0.1, 0.0, 1.5],
    [1.1, 1.1, -2.2, -0.3],
  ];

  it('maps a batch [B, in] and a single input [in] as the host definition does', () => {
    const out = M.mlp(params, M.tensor(xs, { dtype: 'float64' }));
    expect(out.shape).toEqual([3, 2]);
    const got = out.toArraySync() as number[][];
    xs.forEach((x, i) => {
      hostMlp(host, x, relu, identity).forEach((v, j) => expect(got[i][j]).toBeCloseTo(v, 13));
      const single = M.mlp(params, M.tensor(x, { dtype: 'float64' }));
      expect(single.shape).toEqual([2]);
      expect(single.toArraySync()).toEqual(got[i]);
    });
  });

  it('applies tanh hidden and output activations when asked', () => {
    const out = M.mlp(params, M.tensor(xs, { dtype: 'float64' }), { activation: 'tanh', outputActivation: 'tanh' }).toArraySync() as number[][];
    xs.forEach((x, i) => hostMlp(host, x, Math.tanh, Math.tanh).forEach((v, j) => expect(out[i][j]).toBeCloseTo(v, 13)));
  });

  it('has gradients in params and inputs that match float64 central differences', () => {
    const x = M.tensor(xs, { dtype: 'float64' });
    const loss = (p: M.MlpParams, input: M.Tensor) => M.mlp(p, input, { activation: 'tanh' }).square().sum();
    const [gp, gx] = M.grad(loss, { argnums: [0, 1] })(params, x);
    const hostLoss = (layers: typeof host, inputs: number[][]) =>
      inputs.reduce((s, row) => s + hostMlp(layers, row, Math.tanh, identity).reduce((t, v) => t + v * v, 0), 0);
    const h = 1e-6;
    const central = (bump: (d: number) => number) => (bump(h) - bump(-h)) / (2 * h);
    // Every weight and bias of the middle layer, a few of the others.
    const gw = (gp as M.MlpParams).layers[1].w.toArraySync() as number[][];
    for (let k = 0; k < 8; k++) {
      for (let j = 0; j < 8; j++) {
        const fd = central((d) => hostLoss(host.map((l, li) => (li === 1 ? { ...l, w: l.w.map((r, rk) => r.map((v, rj) => (rk === k && rj === j ? v + d : v))) } : l)), xs));
        expect(gw[k][j]).toBeCloseTo(fd, 7);
      }
    }
    const gb = (gp as M.MlpParams).layers[2].b.toArraySync() as number[];
    gb.forEach((g, j) => {
      const fd = central((d) => hostLoss(host.map((l, li) => (li === 2 ? { ...l, b: l.b.map((v, bj) => (bj === j ? v + d : v)) } : l)), xs));
      expect(g).toBeCloseTo(fd, 7);
    });
    const gxs = (gx as M.Tensor).toArraySync() as number[][];
    xs.forEach((row, i) =>
      row.forEach((_, k) => {
        const fd = central((d) => hostLoss(host, xs.map((r, ri) => r.map((v, rk) => (ri === i && rk === k ? v + d : v)))));
        expect(gxs[i][k]).toBeCloseTo(fd, 7);
      }),
    );
  });
});
