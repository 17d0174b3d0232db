/**
 * Large float32 products split across worker threads equal the one-thread kernel bit for bit (each
 * element is computed by the same kernel whichever thread runs its rows), in jit plans and directly,
 * for row counts that do not divide evenly. Three threads are forced so the split is exercised on
 * any machine.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Mixrl from '../../src';
import type * as Threads from '../../src/tensor/cpu/wasm/threads';
import { randomValues } from './helpers';

let M: typeof Mixrl;
let threads: typeof Threads;

beforeAll(async () => {
  process.env.MIXRL_THREADS = '3';
  threads = await import('../../src/tensor/cpu/wasm/threads');
  M = await import('../../src');
});

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));

/** A float32 tensor of `shape` holding `randomValues(seed, size, lo, hi)`. */
const randomTensor = (seed: number, shape: number[], lo?: number, hi?: number) =>
  M.tensor(Float32Array.from(randomValues(seed, shape.reduce((x, y) => x * y, 1), lo, hi)), { shape });

/** Each of `got` equals the same place of `expected` bit for bit. */
const expectSameOutputs = (got: readonly Mixrl.Tensor[], expected: readonly Mixrl.Tensor[], what = '') =>
  expected.forEach((e, i) => expect(same(got[i].dataSync(), e.dataSync()), `${what}output ${i}`).toBe(true));

describe('threaded float32 matmul', () => {
  it('uses the threads it is given', () => {
    expect(threads.matmulThreads()).toBe(3);
  });

  it('takes its count from MIXRL_THREADS or setCpuThreads, and names a bad one', () => {
    expect(threads.threadsFromEnv(undefined, 2)).toBe(2);
    expect(threads.threadsFromEnv('', 8)).toBe(4);
    expect(threads.threadsFromEnv('1', 8)).toBe(1);
    expect(threads.threadsFromEnv('40', 2)).toBe(17);
    for (const bad of ['two', '0', '-1', '1.5']) expect(() => threads.threadsFromEnv(bad, 2)).toThrow(`MIXRL_THREADS: '${bad}' is not a whole number of threads (1 or more)`);
    for (const bad of [0, 1.5, 18, Number.NaN]) expect(() => M.setCpuThreads(bad)).toThrow(/^setCpuThreads: the thread count must be a whole number from 1 to 17, got/);
    // Started (three here): the same count is accepted, another names what stands.
    expect(threads.matmulThreads()).toBe(3);
    M.setCpuThreads(3);
    expect(() => M.setCpuThreads(1)).toThrow('setCpuThreads(1): the worker threads have started, 3 in all; set the count before the first jitted CPU call that shares work');
    expect(threads.matmulThreads()).toBe(3);
  });

  it('each thread claims the chunks of its own range first, then what the others left, each chunk once', () => {
    // Ranges of round(chunks * t / threads): 8 chunks over 2 threads split 4 / 4, over 3 threads 3 / 2 / 3.
    expect(threads.claimOrder(8, 2, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(threads.claimOrder(8, 2, 1)).toEqual([4, 5, 6, 7, 0, 1, 2, 3]);
    expect(threads.claimOrder(8, 3, 1)).toEqual([3, 4, 5, 6, 7, 0, 1, 2]);
    expect(threads.claimOrder(8, 3, 2)).toEqual([5, 6, 7, 0, 1, 2, 3, 4]);
    // Fewer chunks than threads: some ranges are empty, every chunk is still run once.
    expect(threads.claimOrder(1, 3, 2)).toEqual([0]);
    expect(threads.claimOrder(2, 3, 1)).toEqual([1, 0]);
  });

  it('a worker still on the previous command claims nothing of the next one while the main thread writes it', () => {
    // Before the claim words were closed first, a late worker read the new (larger) chunk count
    // against its command's exhausted claim words and claimed the chunks past them (here 2..7).
    for (const [before, after, count] of [
      [2, 8, 2],
      [1, 8, 2],
      [3, 12, 3],
    ]) {
      for (let me = 0; me < count; me++) expect(threads.staleClaims(before, after, count, me)).toEqual([]);
    }
  });

  it('jit plans with large products equal eager mode bit for bit (uneven rows, transposed operands)', () => {
    for (const [m, k, n] of [
      [131, 97, 101],
      [256, 64, 64],
      [9, 400, 300],
      // Operands stored transposed of 129 x 131 (B, packed in panels across the threads) and 150 x
      // 131 (A, transposed in bands of source rows across the threads): at least
      // THREADED_TRANSPOSE_MIN elements, rows not in fours.
      [150, 131, 129],
    ]) {
      expect(m * k * n).toBeGreaterThanOrEqual(threads.THREADED_MATMUL_MIN);
      const a = randomTensor(m + k, [m, k]);
      const b = randomTensor(k + n, [k, n]);
      const bt = randomTensor(n, [n, k]);
      const f = (x: Mixrl.Tensor, y: Mixrl.Tensor, z: Mixrl.Tensor) => M.add(M.matmul(x, y), M.matmul(x, M.transpose(z)));
      const jitted = M.jit(f);
      expect(same(jitted(a, b, bt).dataSync(), f(a, b, bt).dataSync()), `${m}x${k}x${n}`).toBe(true);
      // xᵀ read in place: (k x m)ᵀ ... as the left operand.
      const g = (x: Mixrl.Tensor, y: Mixrl.Tensor) => M.matmul(M.transpose(x), M.matmul(x, y));
      expect(same(M.jit(g)(a, b).dataSync(), g(a, b).dataSync()), `${m}x${k}x${n} transposed A`).toBe(true);
    }
  });

  it('a transpose shared across threads in bands of source rows equals the transpose, every shape', async () => {
    const { WasmArena } = await import('../../src/tensor/cpu/wasm/runtime');
    const arena = new WasmArena(1 << 22, [], { threaded: true });
    for (const [rows, cols] of [
      [129, 131],
      [256, 256],
      [23, 1024],
      [1030, 17],
      [5, 3],
    ]) {
      arena.reset();
      const [src, dst] = [arena.reserve(4 * rows * cols), arena.reserve(4 * rows * cols)];
      const values = Float32Array.from(randomValues(rows + cols, rows * cols));
      new Float32Array(arena.buffer, src, rows * cols).set(values);
      new Float32Array(arena.buffer, dst, rows * cols).fill(Number.NaN);
      arena.transpose(src, rows, cols, dst);
      const got = new Float32Array(arena.buffer, dst, rows * cols);
      const expected = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) expected[j * rows + i] = values[i * cols + j];
      expect(same(got, expected), `${rows}x${cols} (threaded: ${rows * cols >= threads.THREADED_TRANSPOSE_MIN})`).toBe(true);
    }
  });

  it('B packed in panels shared across threads equals its layout by definition, every shape, stored as it is or transposed', async () => {
    const { WasmArena, packedBytes } = await import('../../src/tensor/cpu/wasm/runtime');
    const arena = new WasmArena(1 << 22, [], { threaded: true });
    for (const [k, n] of [
      [131, 129],
      [256, 256],
      [1024, 23],
      [17, 1030],
      [3, 5],
    ]) {
      for (const transposed of [false, true]) {
        arena.reset();
        const [src, dst] = [arena.reserve(4 * k * n), arena.reserve(packedBytes(k, n))];
        const values = Float32Array.from(randomValues(k + n, k * n));
        new Float32Array(arena.buffer, src, k * n).set(values);
        new Float32Array(arena.buffer, dst, packedBytes(k, n) / 4).fill(Number.NaN);
        arena.pack(src, transposed, k, n, dst);
        const got = new Float32Array(arena.buffer, dst, packedBytes(k, n) / 4);
        const expected = new Float32Array(packedBytes(k, n) / 4);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) expected[Math.floor(j / 8) * 8 * k + 8 * p + (j % 8)] = values[transposed ? j * k + p : p * n + j];
        expect(same(got, expected), `${k}x${n}${transposed ? ' transposed' : ''} (threaded: ${k * n >= threads.THREADED_TRANSPOSE_MIN})`).toBe(true);
      }
    }
  });

  it('batched products in jit plans, their products shared across threads, equal eager mode bit for bit', () => {
    // Batches of small products (each below the threshold, all together above it, and one batch
    // below it: one thread), uneven against the 12 chunks; B broadcast or not, operands stored
    // transposed (A read through its strides, or transposed into each chunk's scratch; B packed in
    // panels in each chunk's scratch where `packsB`: from 160 x 130 as stored, and from every B
    // stored transposed here but the 8 x 16 x 16).
    for (const [batch, m, k, n, broadcastB] of [
      [13, 96, 64, 64, false],
      [7, 160, 64, 130, true],
      [100, 32, 64, 64, false],
      [3, 8, 16, 16, false],
    ] as const) {
      const bBatch = broadcastB ? 1 : batch;
      const a = randomTensor(batch + m, [batch, m, k]);
      const aStoredT = randomTensor(batch + k, [batch, k, m]);
      const b = randomTensor(n + k, [bBatch, k, n]);
      const bStoredT = randomTensor(n, [bBatch, n, k]);
      const swap = (x: Mixrl.Tensor) => M.transpose(x, [0, 2, 1]);
      const f = (x: Mixrl.Tensor, xt: Mixrl.Tensor, y: Mixrl.Tensor, yt: Mixrl.Tensor) => [
        M.matmul(x, y),
        M.matmul(x, swap(yt)),
        M.matmul(swap(xt), y),
        M.matmul(swap(xt), swap(yt)),
      ];
      const jitted = M.jit(f);
      const got = jitted(a, aStoredT, b, bStoredT);
      const expected = f(a, aStoredT, b, bStoredT);
      got.forEach((t, i) => expect(same(t.dataSync(), expected[i].dataSync()), `${batch}x${m}x${k}x${n}, product ${i}`).toBe(true));
    }
  });

  it('batches of A stored transposed times a column (rows times A storage) shared across threads equal eager mode bit for bit', () => {
    // hᵀ dy of a layer with one output, as a vmapped critic's last layer has: each product runs as
    // dyᵀ times h's storage (h small enough to read in place, or large enough to be transposed
    // otherwise), whole products shared out (40 x 256 x 128 is past THREADED_MATMUL_MIN), B
    // stored either way, A or B broadcast; eager mode transposes h first and runs the column kernel.
    for (const [batch, m, k, shared] of [
      [40, 256, 128, 'none'],
      [33, 100, 320, 'B'],
      [17, 9, 7, 'none'],
      [50, 256, 100, 'A'],
    ] as const) {
      const h = randomTensor(batch + m, shared === 'A' ? [k, m] : [batch, k, m]);
      const dy = randomTensor(batch + k, shared === 'B' ? [k, 1] : [batch, k, 1]);
      const dyStoredT = randomTensor(k, shared === 'B' ? [1, k] : [batch, 1, k]);
      const swap = (x: Mixrl.Tensor) => M.transpose(x, x.ndim === 2 ? [1, 0] : [0, 2, 1]);
      const f = (x: Mixrl.Tensor, y: Mixrl.Tensor, yt: Mixrl.Tensor) => [M.matmul(swap(x), y), M.matmul(swap(x), swap(yt))];
      const got = M.jit(f)(h, dy, dyStoredT);
      const expected = f(h, dy, dyStoredT);
      got.forEach((t, i) => expect(same(t.dataSync(), expected[i].dataSync()), `${batch} x ${m}x${k}ᵀ·${k}x1 (${shared} shared), product ${i}`).toBe(true));
    }
  });

  it('loops reading a large product elementwise right after it run on its rows (epilogues), equal to eager mode bit for bit', () => {
    // h = relu(x w + b) with x and w computed in the plan (pooled regions released at the product),
    // m = k = n: without the product keeping its operands until the loop's output is placed, h would
    // take w's region and one thread's loop would overwrite rows of w that the others still read.
    const [m, k, n] = [130, 130, 130];
    expect(m * k * n).toBeGreaterThanOrEqual(threads.THREADED_MATMUL_MIN);
    const x = randomTensor(11, [m, k]);
    const w = randomTensor(12, [k, n]);
    const bias = randomTensor(13, [n]);
    const f = (a: Mixrl.Tensor, b: Mixrl.Tensor, c: Mixrl.Tensor) => {
      const h = M.maximum(M.add(M.matmul(M.mul(a, 2), M.sub(b, 0.5)), c), 0);
      // Transposed operands: A transposed into scratch, B read through its transpose.
      return M.maximum(M.add(M.matmul(M.transpose(h), M.transpose(M.neg(h))), c), 0);
    };
    const jitted = M.jit(f);
    expect(same(jitted(x, w, bias).dataSync(), f(x, w, bias).dataSync())).toBe(true);
    expect(M.jitStats(jitted).lastPlan?.productEpilogues).toBe(2);
  });

  it('a loop reading a product later in program order moves up to run as its epilogue once what it reads is computed', () => {
    // Program order: p, q, relu(p + b), relu(q - p). The first loop moves up to follow p; the second
    // reads p and q, so it can follow q (no earlier): two epilogues, none without the move.
    const [m, k, n] = [128, 96, 100];
    const x = randomTensor(17, [m, k]);
    const w = randomTensor(18, [k, n]);
    const v = randomTensor(19, [k, n]);
    const bias = randomTensor(20, [n]);
    const f = (a: Mixrl.Tensor, b1: Mixrl.Tensor, b2: Mixrl.Tensor, c: Mixrl.Tensor) => {
      const p = M.matmul(a, b1);
      const q = M.matmul(M.mul(a, 0.5), b2);
      return [M.maximum(M.add(p, c), 0), M.maximum(M.sub(q, p), 0)];
    };
    const jitted = M.jit(f);
    const got = jitted(x, w, v, bias);
    expectSameOutputs(got, f(x, w, v, bias));
    expect(M.jitStats(jitted).lastPlan?.productEpilogues).toBe(2);
  });

  it('small values from the inputs alone are computed first, so that loops reading them and a product can follow it', () => {
    // Adam-like: two updates read the product g and a bias correction c of the step count t, which
    // program order computes after g; c moves to the front and the first update follows g.
    const [m, k] = [128, 128];
    const x = randomTensor(21, [m, k]);
    const moment = randomTensor(22, [k, k]);
    const step = M.tensor(Float32Array.of(3), { shape: [] });
    const f = (a: Mixrl.Tensor, v: Mixrl.Tensor, t: Mixrl.Tensor) => {
      const g = M.matmul(M.transpose(a), a);
      const c = M.sqrt(M.sub(1, M.exp(M.mul(t, Math.log(0.9)))));
      return [M.add(M.mul(v, 0.9), M.mul(g, c)), M.mul(M.square(g), c)];
    };
    const jitted = M.jit(f);
    const got = jitted(x, moment, step);
    expectSameOutputs(got, f(x, moment, step));
    expect(M.jitStats(jitted).lastPlan?.productEpilogues).toBe(1);
  });

  it('fused loops write over leaves they read for the last time, never over one read later, equal to eager mode bit for bit', () => {
    // p = x w; u = 2p + 1 (p's epilogue); v = u w; z = v - p; y = exp-free z * z; sum y. p is read
    // again by z, so u must not take its region: if it did, z would read 2p + 1 for p. z may take
    // v's or p's region (both read there last), and y z's. Outputs that escape get their own memory.
    const [m, k] = [130, 130];
    expect(m * k * k).toBeGreaterThanOrEqual(threads.THREADED_MATMUL_MIN);
    const x = randomTensor(31, [m, k]);
    const w = randomTensor(32, [k, k], -0.2, 0.2);
    const f = (a: Mixrl.Tensor, b: Mixrl.Tensor) => {
      const p = M.matmul(a, b);
      const u = M.add(M.mul(p, 2), 1);
      const v = M.matmul(u, b);
      const z = M.sub(v, p);
      return [M.sum(M.mul(z, z), 1), M.maximum(u, 0)];
    };
    const jitted = M.jit(f);
    expectSameOutputs(jitted(x, w), f(x, w));
    const plan = M.jitStats(jitted).lastPlan;
    expect(plan?.productEpilogues).toBe(2);
    expect(plan?.overwrittenLeaves).toBeGreaterThanOrEqual(1);
  });

  it("an epilogue reading its product's operand for the last time leaves it to the threads still reading it", () => {
    // q = x c with c = w / 2 computed in the plan, then q + c: the loop reads c for the last time,
    // but while one thread runs it on its rows the others still read all of c for theirs.
    const n = 130;
    const x = randomTensor(33, [n, n]);
    const w = randomTensor(34, [n, n]);
    const f = (a: Mixrl.Tensor, b: Mixrl.Tensor) => {
      const c = M.mul(b, 0.5);
      return [M.sum(M.add(M.matmul(a, c), c), 0)];
    };
    const jitted = M.jit(f);
    for (let call = 0; call < 3; call++) expectSameOutputs(jitted(x, w), f(x, w), `call ${call}: `);
    expect(M.jitStats(jitted).lastPlan?.productEpilogues).toBe(1);
  });

  it('a product epilogue that updates a donated input in place equals eager mode over calls of both parities', () => {
    // p' = p + relu(x w): the loop reads and writes donated memory, swapped from call to call.
    const [m, k, n] = [128, 96, 100];
    const p0 = randomTensor(14, [m, n]);
    const x = randomTensor(15, [m, k]);
    const w = randomTensor(16, [k, n]);
    const step = (p: Mixrl.Tensor, a: Mixrl.Tensor, b: Mixrl.Tensor) => M.add(p, M.maximum(M.matmul(a, b), 0));
    const jitted = M.jit(step, { donateArgnums: 0 });
    let got: Mixrl.Tensor = M.add(p0, 0);
    let expected: Mixrl.Tensor = p0;
    for (let call = 0; call < 3; call++) {
      got = jitted(got, x, w);
      expected = step(expected, x, w);
      expect(same(got.dataSync(), expected.dataSync()), `call ${call}`).toBe(true);
    }
    expect(M.jitStats(jitted).lastPlan?.productEpilogues).toBe(1);
    expect(M.jitStats(jitted).lastPlan?.donatedInPlace).toBe(1);
  });

  it('large fused loops split across threads equal eager mode bit for bit (row, column, middle and scalar leaves)', () => {
    // [5, 1025, 64] = 328,000 float32 outputs: over the threshold, cut into three ranges that start
    // inside rows (element 109,332 = row 1708, column 20), so every cursor starts mid-pattern.
    const shape = [5, 1025, 64];
    expect(5 * 1025 * 64 * 4).toBeGreaterThanOrEqual(threads.THREADED_LANES_MIN_BYTES);
    const x = randomTensor(1, shape);
    const row = randomTensor(2, [64]);
    const column = randomTensor(3, [5, 1025, 1]);
    const middle = randomTensor(4, [5, 1, 64]);
    const f = (...[a, r, c, mid]: Mixrl.Tensor[]) => {
      const h = M.maximum(M.add(M.mul(a, r), c), 0);
      return [h, M.div(M.sub(h, mid), M.add(M.sqrt(M.abs(mid)), 1e-3))];
    };
    const jitted = M.jit(f);
    const [h1, y1] = jitted(x, row, column, middle);
    const [h0, y0] = f(x, row, column, middle);
    expect(same(h1.dataSync(), h0.dataSync())).toBe(true);
    expect(same(y1.dataSync(), y0.dataSync())).toBe(true);
    expect(M.jitStats(jitted).lastPlan?.wasmSteps).toBeGreaterThan(0);
  });

  it('large fused loops with gathered leaves and float32 transcendentals split across threads equal eager mode bit for bit', () => {
    // 8192 x 6 float32 (192 KiB): a row of 6 and a column spread over 6 straddle vectors, so they are gathered.
    const shape = [8192, 6];
    const x = randomTensor(5, shape, -4, 4);
    const row = randomTensor(6, [6]);
    const column = randomTensor(7, [8192, 1]);
    const f = (a: Mixrl.Tensor, r: Mixrl.Tensor, c: Mixrl.Tensor) => M.mul(M.tanh(M.add(M.mul(a, r), c)), M.exp(M.sub(c, r)));
    const jitted = M.jit(f);
    expect(same(jitted(x, row, column).dataSync(), f(x, row, column).dataSync())).toBe(true);
    expect(M.jitStats(jitted).lastPlan?.wasmSteps).toBe(1);
  });
  it('small loops evaluating many transcendentals, split across threads, equal eager mode bit for bit', () => {
    // 256 x 6 float32 (6 KiB, far below the bytes threshold) through exp, erfinv and tanh: 4608
    // transcendental evaluations, so the loop is shared out (8 chunks of 48 vectors).
    const shape = [256, 6];
    expect(256 * 6 * 4).toBeLessThan(threads.THREADED_LANES_MIN_BYTES);
    expect(256 * 6 * 3).toBeGreaterThanOrEqual(threads.THREADED_TRANSCENDENTALS_MIN);
    const u = randomTensor(8, shape, -0.99, 0.99);
    const scale = randomTensor(9, [6], -1, 1);
    const mean = randomTensor(10, shape);
    // A large product beside it makes the plan threaded.
    const w = randomTensor(11, [128, 128]);
    const f = (x: Mixrl.Tensor, s: Mixrl.Tensor, m: Mixrl.Tensor, v: Mixrl.Tensor) => [
      M.tanh(M.add(m, M.mul(M.exp(s), M.erfinv(x)))),
      M.matmul(v, v),
    ];
    const jitted = M.jit(f);
    const got = jitted(u, scale, mean, w);
    expectSameOutputs(got, f(u, scale, mean, w));
  });
  it('transposes in threaded jit plans (large ones shared in bands, batched ones matrix by matrix) equal eager mode bit for bit', () => {
    const [a, w] = [randomTensor(1, [256, 256]), randomTensor(2, [256, 256])];
    const [x, y, z] = [randomTensor(3, [300, 70]), randomTensor(4, [3, 130, 1, 130]), randomTensor(5, [5, 3])];
    expect([300 * 70, 130 * 130].every((n) => n >= threads.THREADED_TRANSPOSE_MIN)).toBe(true);
    // The product makes the plan threaded; each transpose feeds a loop, as inside a SAC update.
    const f = (a: Mixrl.Tensor, w: Mixrl.Tensor, x: Mixrl.Tensor, y: Mixrl.Tensor, z: Mixrl.Tensor) => [
      M.matmul(a, w),
      M.mul(M.transpose(x, [1, 0]), 2),
      M.mul(M.transpose(y, [0, 3, 2, 1]), 2),
      M.mul(M.transpose(z, [1, 0]), 2),
    ];
    const jitted = M.jit(f);
    const { plans } = M.profileCpu(() => expectSameOutputs(jitted(a, w, x, y, z), f(a, w, x, y, z)));
    expect(plans[0].steps.filter(({ step }) => step.startsWith('transpose')).map(({ step }) => step.split(' ').pop())).toEqual(['wasm', 'wasm', 'wasm']);
  });

  it('sums over the rows of large arrays, split across threads by columns, equal eager mode bit for bit', () => {
    for (const [rows, columns] of [
      [256, 256],
      [300, 257],
      [70, 1001],
    ]) {
      expect(rows * columns).toBeGreaterThanOrEqual(threads.THREADED_SUM_MIN);
      for (const dtype of ['float32', 'float64'] as const) {
        const values = randomValues(rows + columns, rows * columns, -1e3, 1e3).map((v, i) => (i % 97 === 5 ? -0 : i % 389 === 7 ? Infinity : v));
        const x = M.tensor(values, { shape: [rows, columns], dtype });
        // The row sum, and a sum over the leading two of three axes (the same rows, as one run).
        const f = (a: Mixrl.Tensor) => [M.sum(a, [0]), M.sum(M.reshape(a, [2, rows / 2, columns]), [0, 1])];
        const jitted = M.jit(f);
        const got = jitted(x);
        expectSameOutputs(got, f(x), `${dtype} ${rows}x${columns}, `);
      }
    }
  });
});
