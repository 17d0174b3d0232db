/**
 * The composite ops of composites.test.ts on WebGPU (float32; the backend has no float64): values
 * and gradients against the float64 closed forms of composites-refs.ts evaluated at the float32
 * inputs, the conventions at the awkward points, and jit against eager mode. Tolerances are float32
 * ones scaled for WGSL's transcendentals (up to ~9 ulp for sigmoid, docs/webgpu.md) composed a few
 * times: 2e-5 relative, 2e-6 absolute.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { describeWebGPU, expectClose, expectSameUpToContraction, floats, webgpu } from '../webgpu/gpu';
import {
  dGeluRef,
  dGeluTanhRef,
  dSiluRef,
  eluRef,
  geluRef,
  geluTanhRef,
  huberRef,
  leakyReluRef,
  logaddexpRef,
  normRef,
  sigmoidRef,
  siluRef,
  stdRef,
} from './composites-refs';

const [ATOL, RTOL] = [2e-6, 2e-5];

const onGpu = (values: Float32Array, shape: number[]) => M.tensor(values, { shape, backend: webgpu() });
const read = async (t: Tensor) => Float64Array.from(await t.data());
const sumOf = (f: (x: Tensor) => Tensor) => (x: Tensor) => M.sum(f(x));

interface Case {
  op: (x: Tensor) => Tensor;
  ref: (x: number) => number;
  dref: (x: number) => number;
  lo: number;
  hi: number;
}

const ELEMENTWISE: Record<string, Case> = {
  silu: { op: M.silu, ref: siluRef, dref: dSiluRef, lo: -12, hi: 12 },
  gelu: { op: (x) => M.gelu(x), ref: geluRef, dref: dGeluRef, lo: -5, hi: 5 },
  'gelu tanh': { op: (x) => M.gelu(x, 'tanh'), ref: geluTanhRef, dref: dGeluTanhRef, lo: -5, hi: 5 },
  leakyRelu: { op: (x) => M.leakyRelu(x, 0.1), ref: (x) => leakyReluRef(x, 0.1), dref: (x) => (x >= 0 ? 1 : 0.1), lo: -4, hi: 4 },
  elu: { op: (x) => M.elu(x, 1.5), ref: (x) => eluRef(x, 1.5), dref: (x) => (x > 0 ? 1 : 1.5 * Math.exp(x)), lo: -6, hi: 4 },
  huberLoss: { op: (x) => M.huberLoss(x, 0.25, 0.5), ref: (x) => huberRef(x - 0.25, 0.5), dref: (x) => Math.max(-0.5, Math.min(0.5, x - 0.25)), lo: -3, hi: 3 },
  l2Loss: { op: (x) => M.l2Loss(x, 0.25), ref: (x) => 0.5 * (x - 0.25) ** 2, dref: (x) => x - 0.25, lo: -3, hi: 3 },
  'logaddexp with 0.5': { op: (x) => M.logaddexp(x, 0.5), ref: (x) => logaddexpRef(x, 0.5), dref: (x) => sigmoidRef(x - 0.5), lo: -20, hi: 20 },
};

describeWebGPU('composite ops on WebGPU', () => {
  it('elementwise activations, losses and logaddexp: values and gradients against float64 closed forms', async () => {
    for (const [name, c] of Object.entries(ELEMENTWISE)) {
      const values = floats(3, 40, c.lo, c.hi);
      // The kinks and switches themselves: 0 (leakyRelu, elu) and |e| = delta (huber: 0.75, -0.25).
      values.set([0, 0.75, -0.25, 0.5], 0);
      const x = onGpu(values, [5, 8]);
      const xs = Array.from(values);
      expectClose(await read(c.op(x)), Float64Array.from(xs.map(c.ref)), ATOL, RTOL, `${name} value`);
      expectClose(await read(M.grad(sumOf(c.op))(x)), Float64Array.from(xs.map(c.dref)), ATOL, RTOL, `${name} gradient`);
    }
  });

  it('logaddexp: broadcasting, infinities, and the gradient 1/2 : 1/2 at ties and at two -Infinity', async () => {
    const inf = Infinity;
    const a = Float32Array.of(-inf, inf, 3, -inf, 1000, -1000, 2, 0);
    const b = Float32Array.of(-inf, inf, -inf, 3, 1000, -1000, 2, -40);
    const out = M.logaddexp(onGpu(a, [8]), onGpu(b, [8]));
    expectClose(await read(out), Float64Array.from([-inf, inf, 3, 3, 1000 + Math.LN2, -1000 + Math.LN2, 2 + Math.LN2, Math.exp(-40)]), 1e-30, RTOL, 'values');
    const [ga, gb] = M.grad((x: Tensor, y: Tensor) => M.sum(M.logaddexp(x, y)), { argnums: [0, 1] })(onGpu(a, [8]), onGpu(b, [8])) as Tensor[];
    expectClose(await read(ga), Float64Array.from([0.5, 0.5, 1, 0, 0.5, 0.5, 0.5, 1]), 1e-12, RTOL, 'd/da');
    expectClose(await read(gb), Float64Array.from([0.5, 0.5, 0, 1, 0.5, 0.5, 0.5, 0]), 1e-12, RTOL, 'd/db');
    const rows = floats(4, 6, -5, 5);
    const cols = floats(5, 3, -5, 5);
    const table = M.logaddexp(onGpu(rows, [2, 1, 3]), onGpu(cols, [3]));
    expect(table.shape).toEqual([2, 1, 3]);
    expectClose(await read(table), Float64Array.from(rows, (v, i) => logaddexpRef(v, cols[i % 3])), ATOL, RTOL, 'broadcast');
  });

  it('std and every norm order over an axis: values and gradients; at 0 the norm gradients of the stated conventions', async () => {
    const values = floats(6, 12, -2, 2);
    const x = onGpu(values, [3, 4]);
    const rows = [0, 1, 2].map((i) => Array.from(values.slice(4 * i, 4 * i + 4)));
    expectClose(await read(M.std(x, 1, false, 1)), Float64Array.from(rows.map((r) => stdRef(r, 1))), ATOL, RTOL, 'std');
    const dStd = rows.flatMap((r) => {
      const m = r.reduce((s, v) => s + v, 0) / 4;
      const s = stdRef(r, 1);
      return r.map((v) => (v - m) / (3 * s));
    });
    expectClose(await read(M.grad((t: Tensor) => M.sum(M.std(t, 1, false, 1)))(x)), Float64Array.from(dStd), ATOL, RTOL, 'std gradient');
    for (const ord of [2, 1, Infinity, -Infinity, 3]) {
      expectClose(await read(M.norm(x, ord, -1)), Float64Array.from(rows.map((r) => normRef(r, ord))), ATOL, RTOL, `norm ${ord}`);
    }
    // d‖x‖_p / dx_i = sign(x_i) |x_i|^(p-1) / ‖x‖_p^(p-1) (p = 2: x / ‖x‖); the values are distinct, so ±Infinity pick one element.
    for (const ord of [2, 3, 1]) {
      const expected = rows.flatMap((r) => r.map((v) => (Math.sign(v) * Math.abs(v) ** (ord - 1)) / normRef(r, ord) ** (ord - 1)));
      expectClose(await read(M.grad((t: Tensor) => M.sum(M.norm(t, ord, -1)))(x)), Float64Array.from(expected), ATOL, RTOL, `norm ${ord} gradient`);
    }
    const zero = onGpu(new Float32Array(4), [4]);
    for (const [ord, g] of [[2, 0], [3, 0], [1, 1], [Infinity, 0.25]] as const) {
      expect(Array.from(await M.grad((t: Tensor) => M.norm(t, ord))(zero).data()), `norm ${ord} at 0`).toEqual([g, g, g, g]);
    }
  });

  it('cumsum and cumprod: running sums and products along either axis against left-to-right ones in float64', async () => {
    const values = floats(3, 24, -2, 2);
    const x = onGpu(values, [4, 6]);
    for (const axis of [0, 1]) {
      const stride = axis === 0 ? 6 : 1;
      const expected = Float64Array.from(values);
      for (let i = 0; i < 24; i++) if (Math.floor(i / stride) % (axis === 0 ? 4 : 6) > 0) expected[i] = expected[i - stride] + values[i];
      expectClose(await M.cumsum(x, axis).data(), expected, 1e-5, 1e-5, `axis ${axis}`);
      // Running products, inclusive and exclusive (1 at the first), on the same lines.
      const products = Float64Array.from(values);
      for (let i = 0; i < 24; i++) if (Math.floor(i / stride) % (axis === 0 ? 4 : 6) > 0) products[i] = products[i - stride] * values[i];
      const before = products.map((_, i) => (Math.floor(i / stride) % (axis === 0 ? 4 : 6) > 0 ? products[i - stride] : 1));
      expectClose(await M.cumprod(x, axis).data(), products, 1e-5, 1e-5, `cumprod axis ${axis}`);
      expectClose(await M.cumprod(x, axis, { exclusive: true }).data(), before, 1e-5, 1e-5, `exclusive cumprod axis ${axis}`);
    }
  });

  it('jit of every op equals eager mode (fused kernels), and vmap equals the row-by-row values', async () => {
    const x = onGpu(floats(7, 20, -3, 3), [4, 5]);
    const all = (t: Tensor) =>
      M.stack([
        M.logaddexp(t, M.mul(t, -0.5)),
        M.silu(t),
        M.gelu(t),
        M.gelu(t, 'tanh'),
        M.leakyRelu(t, 0.1),
        M.elu(t),
        M.huberLoss(t, M.mul(t, 0.25), 0.5),
        M.l2Loss(t, 1),
        M.broadcastTo(M.expandDims(M.std(t, -1, false, 1), -1), t.shape),
        M.broadcastTo(M.expandDims(M.norm(t, 2, -1), -1), t.shape),
        M.broadcastTo(M.expandDims(M.norm(t, 3, -1), -1), t.shape),
        M.broadcastTo(M.expandDims(M.norm(t, Infinity, -1), -1), t.shape),
        M.cumsum(t, -1),
      ]);
    const eager = all(x);
    expectSameUpToContraction(await M.jit(all)(x).data(), await eager.data(), 'jit');
    const g = M.grad((t: Tensor) => M.sum(all(t)));
    // The gradient within a few float32 ulps, not bit for bit: on lavapipe a fused exp(-(x²)) (erf's
    // partial, in gelu's gradient) differs from the eager chain by an ulp in about a quarter of the
    // elements, outside these ops (a jit + WebGPU matter); the values above are bit for bit.
    const [fused, unfused] = [await M.jit(g)(x).data(), await g(x).data()];
    const scale = Array.from(unfused, Number).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expectClose(Float64Array.from(fused), Float64Array.from(unfused), 4e-7 * scale, 1e-6, 'jit grad');
    const rowwise = (r: Tensor) => M.stack([M.silu(r), M.gelu(r), M.elu(r), M.broadcastTo(M.norm(r), r.shape), M.broadcastTo(M.std(r), r.shape), M.logaddexp(r, 0)]);
    const batched = M.vmap(rowwise)(x);
    for (let i = 0; i < 4; i++) {
      expectClose(await read(M.slice(batched, i)), await read(rowwise(M.slice(x, i))), 1e-7, 1e-6, `vmap row ${i}`);
    }
  });
});
