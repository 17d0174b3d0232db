/** Tracing and caching: one trace per signature (tree structure, shapes, dtypes, static args). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { expectTreesClose, expectTreesIdentical } from './helpers';

const f64 = (values: number[], shape = [values.length]) => M.tensor(Float64Array.from(values), { shape });

describe('jit caching', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('traces once per signature and replays on later calls', () => {
    let calls = 0;
    const f = M.jit((x: Tensor) => {
      calls++;
      return M.sum(M.mul(M.exp(x), 2));
    });
    const eager = (x: Tensor) => M.sum(M.mul(M.exp(x), 2));
    const a = f64([1, 2, 3]);
    const b = f64([0.5, -1, 4]);
    expectTreesClose(f(a), eager(a), 0);
    expectTreesClose(f(b), eager(b), 0);
    expect(calls).toBe(1);
    expect(M.jitStats(f).traceCount).toBe(1);

    expectTreesClose(f(f64([1, 2])), eager(f64([1, 2])), 0); // new shape: one retrace
    expect(M.jitStats(f).traceCount).toBe(2);
    f(f64([3, 4]));
    f(a);
    expect(M.jitStats(f).traceCount).toBe(2);
    f(M.tensor([1, 2, 3], { dtype: 'float32' })); // new dtype
    expect(M.jitStats(f).traceCount).toBe(3);
    expect(M.jitStats(f).cacheSize).toBe(3);
  });

  it('static arguments are compared by value', () => {
    const f = M.jit((x: Tensor, opts: { scale: number; axis: number }) => M.sum(M.mul(x, opts.scale), [opts.axis]), {
      staticArgnums: 1,
    });
    const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    expectTreesClose(f(x, { scale: 2, axis: 0 }), M.sum(M.mul(x, 2), [0]), 0);
    expectTreesClose(f(x, { scale: 2, axis: 0 }), M.sum(M.mul(x, 2), [0]), 0);
    expect(M.jitStats(f).traceCount).toBe(1);
    expectTreesClose(f(x, { scale: 3, axis: 0 }), M.sum(M.mul(x, 3), [0]), 0);
    expectTreesClose(f(x, { scale: 3, axis: 1 }), M.sum(M.mul(x, 3), [1]), 0);
    expect(M.jitStats(f).traceCount).toBe(3);
  });

  it('takes and returns pytrees', () => {
    const step = (params: { w: Tensor; b: Tensor }, xs: [Tensor, Tensor]) => {
      const y = M.add(M.matmul(xs[0], params.w), params.b);
      return { y, parts: [M.sum(y), M.mul(xs[1], 2)], same: xs[1] };
    };
    const f = M.jit(step);
    const params = { w: f64([1, 2, 3, 4, 5, 6], [3, 2]), b: f64([0.5, -0.5]) };
    const xs: [Tensor, Tensor] = [f64([1, 0, -1, 2, 1, 0], [2, 3]), f64([7])];
    expectTreesIdentical(f(params, xs), step(params, xs));
    const out = f(params, xs);
    expect(Object.keys(out).sort()).toEqual(['parts', 'same', 'y']);
    expect(out.parts).toHaveLength(2);
    // Another structure is another signature.
    f({ ...params, c: f64([1]) } as typeof params, xs);
    expect(M.jitStats(f).traceCount).toBe(2);
  });

  it('tells signatures apart on the fast path (keys, null/undefined, lengths, shapes, dtypes)', () => {
    type Args = { a: Tensor; b?: Tensor | null; c?: Tensor; list: Tensor[] };
    const step = (t: Args) => M.add(M.sum(t.a), M.sum(M.concat([t.b ?? t.c ?? t.a, ...t.list], 0)));
    const f = M.jit(step);
    const x = f64([1, 2]);
    const y = f64([3, 4, 5]);
    const calls: Args[] = [
      { a: x, b: y, list: [x] },
      { a: x, c: y, list: [x] }, // same key count, another key
      { a: x, b: null, list: [x] },
      { a: x, b: undefined, list: [x] },
      { a: x, b: y, list: [x, y] }, // longer array
      { a: y, b: y, list: [x] }, // another shape
      { a: M.tensor([1, 2], { dtype: 'float32' }), b: y, list: [x] }, // another dtype
    ];
    for (let round = 0; round < 3; round++) {
      for (const args of calls) expectTreesClose(f(args), step(args), 0);
    }
    expect(M.jitStats(f).traceCount).toBe(calls.length);
    // Same signature, new values: replayed with the new values.
    const fresh = { a: f64([7, 8]), b: f64([1, 1, 1]), list: [f64([2, 2])] };
    expectTreesClose(f(fresh), step(fresh), 0);
    expect(f(fresh).dataSync()[0]).toBe(22);
    expect(M.jitStats(f).traceCount).toBe(calls.length);
  });

  it('compares static objects by value on every call, so mutating one retraces', () => {
    let traces = 0;
    const f = M.jit(
      (x: Tensor, opts: { scale: number }, k: number) => {
        traces++;
        return M.mul(x, opts.scale * k);
      },
      { staticArgnums: [1, 2] },
    );
    const opts = { scale: 2 };
    const x = f64([1, 2]);
    expectTreesClose(f(x, opts, 1), f64([2, 4]), 0);
    expectTreesClose(f(x, opts, 1), f64([2, 4]), 0);
    expect(traces).toBe(1);
    opts.scale = 3;
    expectTreesClose(f(x, opts, 1), f64([3, 6]), 0);
    expectTreesClose(f(x, { scale: 3 }, 1), f64([3, 6]), 0); // equal by value: no retrace
    expect(traces).toBe(2);
    expectTreesClose(f(x, opts, 2), f64([6, 12]), 0);
    expect(traces).toBe(3);
  });

  it('replays from the cache when more signatures alternate than the recent list holds', () => {
    const f = M.jit((x: Tensor) => M.mul(M.sum(x), x.shape[0]));
    for (let round = 0; round < 3; round++) {
      for (let n = 1; n <= 12; n++) {
        const values = Array.from({ length: n }, (_, i) => i + round);
        expect(f(f64(values)).dataSync()[0]).toBe(values.reduce((a, b) => a + b, 0) * n);
      }
    }
    expect(M.jitStats(f).traceCount).toBe(12);
    expect(M.jitStats(f).cacheSize).toBe(12);
  });

  it('returns fresh arrays: earlier results are not overwritten by later calls', () => {
    const f = M.jit((x: Tensor) => M.tanh(M.add(M.mul(x, 3), 1)));
    const first = f(f64([1, 2, 3]));
    const copy = Array.from(first.dataSync());
    f(f64([-4, 5, 6]));
    expect(Array.from(first.dataSync())).toEqual(copy);
  });

  it('logs retraces under MIXRL_DEBUG=jit', () => {
    vi.stubEnv('MIXRL_DEBUG', 'jit');
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const f = M.jit((x: Tensor) => M.neg(x), { name: 'negate' });
    f(f64([1]));
    f(f64([2]));
    expect(log.mock.calls.filter(([line]) => String(line).includes('tracing negate'))).toHaveLength(1);
  });

  it('asks for staticArgnums when a leaf is neither a tensor, a number nor a boolean', () => {
    const f = M.jit((x: Tensor, k: string) => M.mul(x, k.length), { name: 'f' });
    expect(() => f(f64([1]), 'ab')).toThrow('jit(f): argument leaf 1 is string, not a tensor, number or boolean; pass other arguments through staticArgnums');
  });

  it('refuses an async function (its ops after an await would outlive the trace)', () => {
    expect(() => M.jit(async (x: Tensor) => M.exp(x), { name: 'later' })).toThrow('jit(later): f is an async function; jit traces a synchronous one (await WebGPU reads outside it)');
  });

  it('refuses static arguments that cannot be compared by value, naming the argument', () => {
    const f = M.jit((x: Tensor, g: (t: Tensor) => Tensor) => g(x), { staticArgnums: 1 });
    expect(() => f(f64([1]), M.exp)).toThrow("jit(anonymous): static argument 1 is a function; static arguments are compared by value");
    const h = M.jit((x: Tensor, _o: unknown) => M.neg(x), { staticArgnums: 1, name: 'h' });
    expect(() => h(f64([1]), new Set([1]))).toThrow('jit(h): static argument 1 is a Set;');
    expect(() => h(f64([1]), { when: [new Date(0)] })).toThrow('jit(h): static argument 1.when[0] is a Date;');
    expect(() => h(f64([1]), f64([2]))).toThrow('jit(h): static argument 1 is a tensor (pass tensors as dynamic arguments)');
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => h(f64([1]), cyclic)).toThrow('jit(h): static argument 1.self is a structure that contains itself;');
  });

  it('tells apart static values that JSON writes alike (NaN, ±Infinity, undefined, null, -0)', () => {
    // Each value gives another result (its index, found by Object.is: the trace sees the very value
    // passed), so a plan replayed for the wrong value shows.
    const values = [NaN, Infinity, -Infinity, null, undefined, 0, -0, [undefined], [null], { a: undefined }, {}, 10n];
    let traces = 0;
    const f = M.jit(
      (x: Tensor, v: unknown) => {
        traces++;
        return M.add(x, values.findIndex((w) => Object.is(w, v)));
      },
      { staticArgnums: 1 },
    );
    for (let round = 0; round < 2; round++) {
      for (const [i, v] of values.entries()) expect(f(f64([0]), v).dataSync()[0], `value ${i}`).toBe(i);
    }
    expect(traces).toBe(values.length);
    // Plain objects compare by value whatever their keys' order.
    f(f64([0]), { b: 1, a: 2 });
    f(f64([0]), { a: 2, b: 1 });
    expect(traces).toBe(values.length + 1);
  });

  it('checks staticArgnums and donateArgnums against the call', () => {
    expect(() => M.jit((x: Tensor) => x, { staticArgnums: -1, name: 'g' })).toThrow('jit(g): staticArgnums must hold argument indices (integers 0 or more), got -1');
    expect(() => M.jit((x: Tensor) => x, { donateArgnums: [0.5], name: 'g' })).toThrow('jit(g): donateArgnums must hold argument indices (integers 0 or more), got 0.5');
    const f = M.jit((x: Tensor, _k?: number) => M.neg(x), { staticArgnums: 1, name: 'f' });
    expect(() => f(f64([1]))).toThrow('jit(f): staticArgnums names argument 1, but the call has 1 argument');
    const g = M.jit((x: Tensor) => M.neg(x), { donateArgnums: 4, name: 'g' });
    expect(() => g(f64([1]))).toThrow('jit(g): donateArgnums names argument 4, but the call has 1 argument');
  });

  it('handles empty tensors', () => {
    const g = (x: Tensor, y: Tensor) => [M.exp(M.add(x, y)), M.sum(M.mul(x, 2), [0]), M.matmul(M.transpose(x, [1, 0]), x)];
    const x = M.zeros([0, 3], { dtype: 'float64' });
    const y = f64([1, 2, 3]);
    expectTreesIdentical(M.jit(g)(x, y), g(x, y));
  });

  it('bakes captured tensors in when tracing, like JAX', () => {
    const w = f64([2]);
    const f = M.jit((x: Tensor) => M.mul(x, w));
    expectTreesClose(f(f64([3])), f64([6]), 0);
  });

  it('keeps at most cacheSize signatures, dropping the least recently called and warning once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    let traces = 0;
    const f = M.jit(
      (x: Tensor) => {
        traces++;
        return M.sum(M.mul(x, x));
      },
      { cacheSize: 2 },
    );
    const [a, b, c] = [f64([1]), f64([1, 2]), f64([1, 2, 3])];
    f(a);
    f(b);
    f(a); // b is now the least recently called
    expect(M.jitStats(f)).toMatchObject({ traceCount: 2, cacheSize: 2, evictions: 0 });
    expectTreesClose(f(c), f64([14], []), 0); // drops b
    expect(M.jitStats(f)).toMatchObject({ traceCount: 3, cacheSize: 2, evictions: 1 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/anonymous.*more than 2 signatures.*cacheSize/);
    f(a); // kept: no retrace
    f(c);
    expect(traces).toBe(3);
    expectTreesClose(f(b), f64([5], []), 0); // dropped: traced again, dropping a
    expect(M.jitStats(f)).toMatchObject({ traceCount: 4, cacheSize: 2, evictions: 2 });
    expect(warn).toHaveBeenCalledTimes(1);
    f(c);
    expect(traces).toBe(4);
  });

  it('keeps every signature with cacheSize Infinity, and refuses a cacheSize that is not a positive integer', () => {
    const f = M.jit((x: Tensor) => M.sum(x), { cacheSize: Infinity });
    for (let n = 1; n <= M.DEFAULT_JIT_CACHE_SIZE + 3; n++) f(f64(Array.from({ length: n }, () => 1)));
    expect(M.jitStats(f)).toMatchObject({ cacheSize: M.DEFAULT_JIT_CACHE_SIZE + 3, evictions: 0 });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => M.jit((x: Tensor) => x, { cacheSize: bad })).toThrow(`jit(anonymous): cacheSize must be a positive integer or Infinity, got ${bad}`);
    }
  });

  it('keeps DEFAULT_JIT_CACHE_SIZE signatures by default', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const f = M.jit((x: Tensor) => M.sum(x));
    for (let n = 1; n <= M.DEFAULT_JIT_CACHE_SIZE + 1; n++) f(f64(Array.from({ length: n }, () => 1)));
    expect(M.jitStats(f)).toMatchObject({ cacheSize: M.DEFAULT_JIT_CACHE_SIZE, evictions: 1 });
  });
});
