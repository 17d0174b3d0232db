/** jit under and around transformations, and random bits. */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { expectTreesClose, expectTreesIdentical } from './helpers';

const f64 = (values: number[], shape = [values.length]) => M.tensor(Float64Array.from(values), { shape });
const loss = (w: Tensor, x: Tensor) => M.sum(M.square(M.tanh(M.matmul(x, w))));

describe('jit and transformations', () => {
  const w = f64([0.1, -0.2, 0.3, 0.4, 0.5, -0.6], [3, 2]);
  const x = f64([1, 2, 3, -1, 0.5, 2], [2, 3]);

  it('grad(jit(f)) equals grad(f): the outer transformation sees the primitives', () => {
    const jloss = M.jit(loss);
    expectTreesClose(M.grad(jloss)(w, x), M.grad(loss)(w, x), 1e-14);
    expectTreesClose(M.grad(jloss, { argnums: [0, 1] })(w, x), M.grad(loss, { argnums: [0, 1] })(w, x), 1e-14);
    // The trace is shared by the plain and the differentiated calls (one signature).
    jloss(w, x);
    expect(M.jitStats(jloss).traceCount).toBe(1);
  });

  it('grad(jit(f)) keeps the custom rules of customVjp functions inside f (staging keeps only their forward)', () => {
    // Straight-through rounding: by the rule d/dx sum(round(x) * x) = x + round(x) (0 + round(x) without it).
    const roundST = M.customVjp({
      forward: (t: Tensor) => [M.round(t), null] as [Tensor, null],
      backward: (_r: null, ct: Tensor) => [ct],
    });
    const f = (t: Tensor) => M.sum(M.mul(roundST(t), t));
    const t = f64([0.4, 1.6]);
    const expected = [0.4 + 0, 1.6 + 2]; // ct * t + round(t)
    const jf = M.jit(f);
    expect(Array.from(M.grad(jf)(t).dataSync())).toEqual(expected);
    expect(jf(t).dataSync()[0]).toBe(3.2); // the plan still runs for concrete calls
    expect(Array.from(M.grad(jf)(t).dataSync())).toEqual(expected); // and from the cache
    expect(Array.from(M.grad((u: Tensor) => M.sum(M.vmap(jf)(M.reshape(u, [2, 1]))))(t).dataSync())).toEqual(expected);
    // With a tracer captured from outside (a program valid for one call only), the rule holds too.
    const captured = (s: Tensor) => M.jit((u: Tensor) => M.sum(M.mul(roundST(M.mul(u, s)), u)))(t);
    expect(Array.from(M.grad(captured)(f64([1])).dataSync())).toEqual([0.4 * 0.4 + 1.6 * 1.6]);
  });

  it('grad(grad(jit(f))) and jit(grad(grad(f))) equal eager second derivatives', () => {
    const g = (t: Tensor) => M.sum(M.mul(M.sin(t), M.exp(t)));
    const d2 = (f: (t: Tensor) => Tensor) => M.grad((t: Tensor) => M.sum(M.grad(f)(t)));
    const t = f64([0.3, -1.2, 2]);
    expectTreesClose(d2(M.jit(g))(t), d2(g)(t), 1e-14);
    expectTreesClose(M.jit(d2(g))(t), d2(g)(t), 1e-14);
  });

  it('jvp(jit(f)) and jit of a Hessian-vector product equal eager forward mode', () => {
    const v = f64([1, 0.5, -0.25, 2, 0, 1], [3, 2]);
    const jloss = M.jit(loss);
    expectTreesClose(M.jvp((a: Tensor) => jloss(a, x), [w], [v]), M.jvp((a: Tensor) => loss(a, x), [w], [v]), 1e-14);
    const hvp = (a: Tensor, t: Tensor) => M.jvp((b: Tensor) => M.grad(loss)(b, x), [a], [t])[1];
    expectTreesClose(M.jit(hvp)(w, v), hvp(w, v), 1e-14);
  });

  it('jit(valueAndGrad(f)) returns the eager value and gradient', () => {
    const vg = M.valueAndGrad(loss);
    expectTreesIdentical(M.jit(vg)(w, x), vg(w, x));
  });

  it('jit inside a transformation with a captured tracer runs the program (and does not cache it)', () => {
    const outer = (s: Tensor) => M.jit((y: Tensor) => M.sum(M.mul(y, s)))(x);
    expectTreesClose(M.grad(outer)(f64([2])), M.grad((s: Tensor) => M.sum(M.mul(x, s)))(f64([2])), 1e-14);
  });

  it('nested jit is inlined', () => {
    const inner = M.jit((y: Tensor) => M.exp(y));
    const outer = M.jit((y: Tensor) => M.sum(inner(M.mul(y, 2))));
    expectTreesClose(outer(x), M.sum(M.exp(M.mul(x, 2))), 0);
  });

  it('on a backend other than the CPU the optimized program runs equation by equation', () => {
    const executed: string[] = [];
    const other: M.Backend = {
      ...M.cpu,
      name: 'other',
      execute(prim, inputs, params, out) {
        executed.push(prim);
        return M.cpu.execute(prim, inputs, params, out);
      },
    };
    const on = (t: Tensor) => M.tensor(t.dataSync(), { shape: t.shape, backend: other });
    const f = (a: Tensor, b: Tensor) => M.grad(loss)(a, b);
    const jf = M.jit(f);
    const out = jf(on(w), on(x));
    expect(out.backend.name).toBe('other');
    expectTreesIdentical(out, f(w, x));
    expect(executed).toContain('matmul');
    expect(M.jitStats(jf).lastPlan).toBeUndefined();
    // Mixed backends fail as in eager mode.
    expect(() => jf(w, on(x))).toThrow(/move one with toBackend/);
  });

  it('random bits are identical under jit', () => {
    const sample = (k: Tensor) => M.random.normal(k, [5]);
    const key = M.random.key(42);
    expectTreesIdentical(M.jit(sample)(key), sample(key));
    const many = (k: Tensor) => {
      const [a, b] = M.random.split(k, 2);
      return [M.random.uniform(a, [3, 4], { dtype: 'float64' }), M.random.normal(M.random.foldIn(b, 7), [2, 3], 'float64')];
    };
    const jmany = M.jit(many);
    for (const seed of [0, 1, 2]) expectTreesIdentical(jmany(M.random.key(seed)), many(M.random.key(seed)));
    expect(M.jitStats(jmany).traceCount).toBe(1);
  });
});
