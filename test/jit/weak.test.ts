/**
 * Plain numbers and booleans as dynamic jit arguments: traced as weak-typed scalars, so a call gives
 * what the same call gives in eager mode (where the number takes the other operand's dtype), and a
 * new value of the same kind (integer, fraction, boolean) replays the plan instead of retracing.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import * as M from '../../src';
import type { DType, Tensor } from '../../src';
import { weakDtypeFor, weakDtypeOf } from '../../src/tensor/dtype';
import { describeWebGPU, webgpu } from '../webgpu/gpu';

const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

/** Elementwise programs of a tensor x and a number k, each written for eager numbers too. */
const PROGRAMS: Record<string, (x: Tensor, k: Tensor | number) => Tensor> = {
  scale: (x, k) => M.mul(x, k),
  shift: (x, k) => M.sub(M.add(x, k), M.mul(k, 2)),
  ratio: (x, k) => M.div(x, M.add(k, 1)),
  clip: (x, k) => M.clip(x, M.neg(k), k),
  where: (x, k) => M.where(M.greater(x, k), x, k),
  max: (x, k) => M.maximum(M.mul(x, 3), k),
};

describe('jit of plain number arguments (weak types)', () => {
  it('the weak dtype of a traced number is the one eager mode gives the number', () => {
    // weakDtypeOf must agree with weakDtypeFor, eager mode's rule, for every dtype and kind of number.
    const samples: [number | boolean, DType][] = [
      [true, 'bool'],
      [3, 'int32'],
      [0.5, 'float64'],
      [0.5, 'float32'],
    ];
    for (const dtype of M.DTYPES) {
      for (const [value, weak] of samples) expect(weakDtypeOf(dtype, weak), `${dtype} next to ${value}`).toBe(weakDtypeFor(dtype, value));
    }
  });

  it('gives eager mode dtypes and values for random elementwise programs, tensors of any dtype and numbers of any kind', () => {
    const jitted = Object.fromEntries(Object.entries(PROGRAMS).map(([name, f]) => [name, M.jit(f)]));
    const number = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.double({ min: -100, max: 100, noNaN: true }),
      fc.constantFrom(0.1, 2 ** 31 - 1, -(2 ** 31), 1e-30, 123.25),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(PROGRAMS)),
        fc.constantFrom<DType>('float32', 'float64', 'int32'),
        fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 6 }),
        number,
        (name, dtype, xs, k) => {
          const x = M.tensor(xs, { dtype });
          const eager = PROGRAMS[name](x, k);
          const staged = jitted[name](x, k);
          expect(staged.dtype).toBe(eager.dtype);
          expect(staged.shape).toEqual(eager.shape);
          // The same operations on the same rounded values: bit for bit.
          expect(values(staged)).toEqual(values(eager));
        },
      ),
      { seed: 20261129, numRuns: 300 },
    );
  });

  it('keeps a float64 program at the number\'s full precision (as a JS double, not rounded to float32)', () => {
    const f = M.jit((x: Tensor, k: Tensor | number) => M.mul(x, k));
    const xs = [1, 3, 1 / 3, 1e10];
    const out = values(f(M.tensor(Float64Array.from(xs)), 0.1));
    expect(out).toEqual(xs.map((v) => v * 0.1));
    expect(Math.fround(0.1)).not.toBe(0.1); // a float32 scalar would have changed every product
  });

  it('mixes numbers with uint32 and bool tensors as eager mode does (no int32 promotion)', () => {
    const f = M.jit((x: Tensor, k: Tensor | number | boolean) => M.add(x, k));
    const u = M.tensor([1, 2, 4000000000], { dtype: 'uint32' });
    expect(f(u, 5).dtype).toBe('uint32');
    expect(values(f(u, 5))).toEqual([6, 7, 4000000005]);
    const b = M.tensor([true, false]);
    const mul = M.jit((x: Tensor, k: Tensor | number | boolean) => M.mul(x, k));
    expect(mul(b, 2).dtype).toBe('int32');
    expect(values(mul(b, 2))).toEqual([2, 0]);
    expect(mul(b, 0.5).dtype).toBe('float32');
    expect(values(mul(b, 0.5))).toEqual([0.5, 0]);
    expect(M.jit((x: Tensor, k: Tensor | boolean) => M.logicalOr(x, k))(b, false).dtype).toBe('bool');
  });

  it('traces once per kind of number: integers, fractions and booleans differ; values of one kind replay', () => {
    let traces = 0;
    const f = M.jit((x: Tensor, k: Tensor | number | boolean) => {
      traces++;
      return M.mul(x, k);
    });
    const x = M.tensor([1, 2]);
    const expectCall = (k: number | boolean, expected: number[], tracesAfter: number) => {
      expect(values(f(x, k))).toEqual(expected);
      expect(traces).toBe(tracesAfter);
    };
    expectCall(0.5, [0.5, 1], 1);
    expectCall(0.25, [0.25, 0.5], 1);
    expectCall(3, [3, 6], 2);
    expectCall(-7, [-7, -14], 2);
    expectCall(true, [1, 2], 3);
    expectCall(false, [0, 0], 3);
    // An integer int32 cannot hold is held as a fraction is (eager mode would refuse it next to an
    // int32 tensor; next to a float tensor both give this). -0 is an integer, as in eager mode, and
    // int32 loses its sign: the one value whose result differs (+0 for -0 here).
    expectCall(2 ** 31, [2 ** 31, 2 ** 32], 3);
    expectCall(0.75, [0.75, 1.5], 3);
    expect(values(f(x, -0)).map((v) => Object.is(v, 0))).toEqual([true, true]);
    expect(M.jitStats(f).traceCount).toBe(3);
  });

  it('takes numbers anywhere in a pytree and programs of numbers alone', () => {
    const step = M.jit((o: { x: Tensor; lr: number | Tensor; flags: [boolean | Tensor] }) => M.add(M.mul(o.x, o.lr), o.flags[0]));
    const x = M.tensor([2, 4]);
    expect(values(step({ x, lr: 0.5, flags: [true] }))).toEqual([2, 3]);
    expect(values(step({ x, lr: 0.25, flags: [false] }))).toEqual([0.5, 1]);
    expect(M.jitStats(step).traceCount).toBe(1);

    // Ops on numbers alone make float32 tensors of them (bool for booleans), as eager mode does.
    const sum = (a: Tensor | number, b: Tensor | number) => M.add(a, M.mul(b, M.exp(a)));
    const jsum = M.jit(sum);
    for (const [a, b] of [
      [1, 2],
      [0.1, 0.2],
      [3, 0.5],
    ]) {
      const eager = sum(a, b);
      expect(eager.dtype).toBe('float32');
      expect(jsum(a, b).dtype).toBe('float32');
      expect(jsum(a, b).itemSync()).toBe(eager.itemSync());
    }
    const and = M.jit((a: Tensor | boolean, b: Tensor | boolean) => M.logicalAnd(a, b));
    expect(and(true, false).dtype).toBe('bool');
    expect(and(true, true).itemSync()).toBe(1);
  });

  it('passes numbers through grad and vmap, inside and outside the jitted function', () => {
    const loss = (w: Tensor, k: Tensor | number) => M.sum(M.square(M.mul(w, k)));
    const w = M.tensor([1, 2, 3]);
    const expected = [1, 2, 3].map((v) => 2 * v * 0.5 * 0.5); // d/dw (kw)^2 = 2k^2 w
    expect(values(M.grad(M.jit(loss))(w, 0.5))).toEqual(expected);
    expect(values(M.jit(M.grad(loss))(w, 0.5))).toEqual(expected);
    expect(M.jit(M.grad(loss))(w, 0.5).dtype).toBe('float32');
    // With respect to the traced number itself (eager grad refuses a number): the loss still in
    // float32, its gradient 2k·Σw² in the number's own dtype.
    const dk = M.jit(M.grad(loss, { argnums: 1 }))(w, 0.5) as Tensor;
    expect(dk.dtype).toBe('float64');
    expect(dk.itemSync()).toBe(14);
    const ws = M.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(values(M.vmap(M.jit(loss), { inAxes: [0, null] })(ws, 2))).toEqual([20, 100]);
    expect(values(M.jit(M.vmap(loss, { inAxes: [0, null] }))(ws, 2))).toEqual([20, 100]);
    // Mapped, it is refused as the number is in eager mode, and a loop bound names staticArgnums.
    expect(() => M.vmap(loss, { inAxes: [0, 0] })(ws, 2)).toThrow(/argument 1 is number, not a tensor, so it cannot be mapped/);
    expect(() => M.jit(M.vmap(loss, { inAxes: [0, 0] }))(ws, 2)).toThrow(/argument 1 is a number \(traced by jit\), not a tensor, so it cannot be mapped/);
    const repeat = M.jit((x: Tensor, n: number) => M.foriLoop(0, n, (_, c: Tensor) => M.add(c, 1), x));
    expect(() => repeat(w, 3)).toThrow(/upper must be a JS integer .*staticArgnums/);
  });

  it('gives eager dtypes and bits for einsum with a number operand (a weak scalar, not a float64 tensor)', () => {
    const f = (x: Tensor, k: Tensor | number) => M.einsum('i,->i', x, k);
    const jf = M.jit(f);
    for (const [x, k] of [
      [M.tensor([1, 2, 3]), 0.1],
      [M.tensor([1, 2, 3], { dtype: 'int32' }), 2],
      [M.tensor([1, 2, 3], { dtype: 'float64' }), 0.1],
    ] as const) {
      const eager = f(x, k);
      expect(jf(x, k).dtype).toBe(eager.dtype);
      expect(values(jf(x, k))).toEqual(values(eager));
    }
    const both = (a: Tensor | number, b: Tensor | number) => M.einsum(',->', a, b);
    expect(M.jit(both)(3, 0.5).dtype).toBe(both(3, 0.5).dtype);
  });

  it('takes a traced integer as an index (take, takeAlongAxis, oneHot) and refuses a traced fraction as eager mode does', () => {
    const x = M.tensor([10, 20, 30]);
    const pick = (t: Tensor, i: Tensor | number | boolean) => M.take(t, i);
    expect(values(M.jit(pick)(x, 2))).toEqual(values(pick(x, 2)));
    expect(values(M.jit(pick)(x, -1))).toEqual([30]);
    expect(values(M.jit(pick)(x, true))).toEqual(values(pick(x, 1)));
    expect(() => pick(x, 0.5)).toThrow(/indices must be integers/);
    expect(() => M.jit(pick)(x, 0.5)).toThrow(/indices must be integers/);
    const hot = (i: Tensor | number) => M.oneHot(i, 3);
    expect(values(M.jit(hot)(1))).toEqual(values(hot(1)));
  });

  it('refuses JS arithmetic and comparisons on a traced number instead of staging NaN or false', () => {
    // In eager mode these are JS numbers; inside jit the argument is a tensor whose value exists only
    // when the plan runs, so `k * 2` or `k > 0` cannot be computed while tracing.
    const x = M.tensor([1, 2]);
    const arithmetic = M.jit((t: Tensor, k: number) => M.mul(t, k * 2));
    expect(() => arithmetic(x, 0.5)).toThrow(M.ConcretizationError);
    expect(() => arithmetic(x, 0.5)).toThrow(/staticArgnums/);
    const compare = M.jit((t: Tensor, k: number) => (k > 0 ? t : M.neg(t)));
    expect(() => compare(x, 0.5)).toThrow(M.ConcretizationError);
    // A library argument typed number (uniform's minval) is not silently NaN either.
    const draw = M.jit((key: Tensor, low: number) => M.random.uniform(key, [2], { minval: low }));
    expect(() => draw(M.random.key(0), 0.5)).toThrow(M.ConcretizationError);
    // Through grad with respect to the number too.
    const dk = M.jit(M.grad((t: Tensor, k: Tensor | number) => M.sum(M.mul(t, (k as number) * 2)), { argnums: 1 }));
    expect(() => dk(x, 0.5)).toThrow(M.ConcretizationError);
    // Printing one is fine.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(M.jit((t: Tensor, k: number) => (String(k), `${k}`, t))(x, 0.5).dtype).toBe('float32');
    // === and truthiness cannot be refused (the traced value is an object): a number no op reads is warned of.
    warn.mockClear();
    const branch = M.jit((t: Tensor, k: number) => (k === 0 ? t : M.mul(t, 3)), { name: 'branch' });
    expect(Array.from(branch(x, 0).dataSync())).toEqual([3, 6]); // eager: [1, 2]
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      '[mixrl jit] branch: number argument leaf 1 is read by no op of the trace; a JS ===, ?: or if on it saw a traced value (an object), not 0: if the function branches on it, pass it through staticArgnums',
    ]);
    warn.mockRestore();
  });

  it('refuses a boolean the trace never uses (a JS if or ?: on it sees an object, always true)', () => {
    const x = M.tensor([1, 2]);
    const branchy = (t: Tensor, flag: boolean) => (flag ? t : M.neg(t));
    expect(values(branchy(x, false))).toEqual([-1, -2]);
    expect(() => M.jit(branchy)(x, false)).toThrow(/boolean argument .* staticArgnums/);
    expect(values(M.jit(branchy, { staticArgnums: 1 })(x, false))).toEqual([-1, -2]);
    // Used by an op, it is traced as usual.
    expect(values(M.jit((t: Tensor, flag: Tensor | boolean) => M.where(flag, t, M.neg(t)))(x, false))).toEqual([-1, -2]);
  });

  it('returns a number or boolean argument returned as it is, as eager mode does; asTensor of it is a tensor', () => {
    const x = M.tensor([1, 2]);
    const pass = M.jit((t: Tensor, k: number, flag: boolean) => ({ t: M.mul(t, k), k, flag, again: [k] }));
    for (const [k, flag] of [
      [0.5, true],
      [0.25, false],
    ] as const) {
      const out = pass(x, k, flag);
      expect(out.k).toBe(k);
      expect(out.flag).toBe(flag);
      expect(out.again[0]).toBe(k);
      expect(values(out.t)).toEqual([k, 2 * k]);
    }
    expect(M.jitStats(pass).traceCount).toBe(1);
    // Under vmap (the program is evaluated, not planned) too.
    expect(M.vmap(M.jit((t: Tensor, k: number) => [M.mul(t, k), k]), { inAxes: [0, null], outAxes: [0, null] })(M.tensor([[1], [2]]), 0.5)[1]).toBe(0.5);
    // asTensor makes a tensor of the number in eager mode: so it does of the traced number.
    const made = (flag: Tensor | boolean) => M.asTensor(flag);
    expect(made(true)).toBeInstanceOf(M.Tensor);
    const staged = M.jit(made)(true);
    expect(staged).toBeInstanceOf(M.Tensor);
    expect(staged.dtype).toBe('bool');
    expect(staged.weak).toBe(false);
  });

  it('keeps a weak-marked tensor argument and an ordinary one of the same dtype apart (a plan each)', () => {
    const f = (x: Tensor, k: Tensor) => M.add(x, k);
    const jf = M.jit(f);
    const x = M.tensor([1, 2]);
    const strong = M.tensor(0.5, { dtype: 'float64' });
    const weak = M.tensor(0.5, { dtype: 'float64' }).markedWeak();
    for (const k of [weak, strong, weak, strong]) expect(jf(x, k).dtype).toBe(f(x, k).dtype);
    expect([f(x, weak).dtype, f(x, strong).dtype]).toEqual(['float32', 'float64']);
    expect(M.jitStats(jf).traceCount).toBe(2);
    // A weak-marked tensor and the plain number it stands for: apart too, so a number returned as
    // it is stays the number, whichever came first.
    const echo = M.jit((t: Tensor, k: Tensor | number) => [M.add(t, 1), k] as const);
    const half = M.tensor(0.25, { dtype: 'float64' }).markedWeak();
    expect(echo(x, half)[1]).toBeInstanceOf(M.Tensor);
    expect(echo(x, 0.5)[1]).toBe(0.5);
    expect(echo(x, half)[1]).toBeInstanceOf(M.Tensor);
  });

  it('number arguments of a donated position are accepted (their scalars are the call\'s own)', () => {
    const f = M.jit((x: Tensor, k: Tensor | number) => M.mul(x, k), { donateArgnums: [0, 1] });
    expect(values(f(M.tensor([1, 2]), 3))).toEqual([3, 6]);
    expect(values(f(M.tensor([1, 2]), 4))).toEqual([4, 8]);
  });
});

describeWebGPU('jit of plain number arguments on WebGPU', () => {
  it('gives eager WebGPU results, the number as float32 (WebGPU has no float64), traced once per kind', async () => {
    const gpu = webgpu();
    const f = (x: Tensor, k: Tensor | number) => M.sub(M.mul(x, k), M.div(M.maximum(x, k), k));
    const jf = M.jit(f);
    const x = M.tensor([1.5, -2, 3.25, 7], { backend: gpu });
    for (const k of [0.1, 0.3, 2, -5]) {
      const staged = jf(x, k);
      const eager = f(x, k);
      expect(staged.backend).toBe(gpu);
      expect(staged.dtype).toBe('float32');
      expect(Array.from(await staged.data())).toEqual(Array.from(await eager.data()));
    }
    expect(M.jitStats(jf).traceCount).toBe(2);
    const alone = M.jit((a: Tensor | number, b: Tensor | number) => M.mul(a, b));
    M.setDefaultBackend(gpu);
    try {
      const y = alone(0.5, 3);
      expect(y.backend).toBe(gpu);
      expect(await y.item()).toBe(1.5);
    } finally {
      M.setDefaultBackend(M.cpu);
    }
    // The same signature with the CPU as the default: a trace of its own there, not the WebGPU plan.
    expect(alone(0.5, 3).backend).toBe(M.cpu);
    expect(M.jitStats(alone).traceCount).toBe(2);
    // No tensor argument at all (none, or only static ones): the default backend is part of the signature too.
    const made = M.jit(() => M.add(M.tensor([1, 2]), 1));
    const sized = M.jit((n: number) => M.ones([n]), { staticArgnums: 0 });
    expect([made().backend, sized(2).backend]).toEqual([M.cpu, M.cpu]);
    M.setDefaultBackend(gpu);
    try {
      expect([made().backend, sized(2).backend]).toEqual([gpu, gpu]);
      expect(Array.from(await made().data())).toEqual([2, 3]);
    } finally {
      M.setDefaultBackend(M.cpu);
    }
    expect([made().backend, sized(2).backend]).toEqual([M.cpu, M.cpu]);
    expect([M.jitStats(made).traceCount, M.jitStats(sized).traceCount]).toEqual([2, 2]);
  });

  it('casts a number already of the dtype it needs (float32, bool) to a plain tensor: einsum, asTensor, equal, returned as given', async () => {
    const gpu = webgpu();
    const x = M.tensor([1.5, -2, 3.25], { backend: gpu });
    const f = (t: Tensor, k: Tensor | number, flag: Tensor | boolean) => ({
      scaled: M.einsum('i,->i', t, k),
      made: M.asTensor(k),
      agree: M.equal(M.greater(t, 0), flag),
      k,
    });
    const jf = M.jit(f);
    for (const [k, flag] of [
      [0.1, true],
      [3, false],
    ] as const) {
      const [staged, eager] = [jf(x, k, flag), f(x, k, flag)];
      expect(staged.k).toBe(k);
      for (const key of ['scaled', 'made', 'agree'] as const) {
        expect(staged[key].dtype, key).toBe(eager[key].dtype);
        expect(staged[key].weak, key).toBe(false);
        expect(Array.from(await staged[key].data()), key).toEqual(Array.from(await eager[key].data()));
      }
    }
  });
});
