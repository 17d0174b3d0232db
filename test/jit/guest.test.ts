/**
 * Guest plans: a jitted function without threads of its own whose largest inputs live in a threaded
 * plan's shared memory (its donated outputs) runs as a guest in that memory, reading them in place
 * (products) or through `memory.copy` (fused loops). Its results equal eager mode bit for bit, the
 * host's later calls are unchanged by it, and a guest's donated output passed back as another
 * argument keeps its values (the call moves it to a copy before overwriting its region). Two threads
 * are forced so the host's memory is shared on any machine.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Mixrl from '../../src';
import type * as Runtime from '../../src/tensor/cpu/wasm/runtime';
import type * as Threads from '../../src/tensor/cpu/wasm/threads';
import type * as Act from '../../src/rl/sac/act';
import type * as Update from '../../src/rl/sac/update';
import type * as Replay from '../../src/rl/replay';
import type * as Threefry from '../../src/tensor/threefry';
import { smallSac } from '../sac-fixtures';
import { randomValues } from '../tensor/helpers';

let M: typeof Mixrl;
let runtime: typeof Runtime;
let threads: typeof Threads;

beforeAll(async () => {
  process.env.MIXRL_THREADS = '2';
  threads = await import('../../src/tensor/cpu/wasm/threads');
  runtime = await import('../../src/tensor/cpu/wasm/runtime');
  M = await import('../../src');
});

type Tensor = Mixrl.Tensor;
interface Params {
  w: Tensor;
  b: Tensor;
}

const N = 128;
const tensor = (seed: number, shape: number[]) => M.tensor(Float32Array.from(randomValues(seed, shape.reduce((a, b) => a * b, 1), -0.5, 0.5)), { shape });
/** The host: one descent step with a 128 x 128 x 128 product (threaded), donating its parameters. */
const hostStep = (p: Params, x: Tensor): Params => {
  const y = M.matmul(x, p.w);
  return { w: M.sub(p.w, M.mul(M.matmul(M.transpose(x), y), 1e-3)), b: M.add(M.mul(p.b, 0.9), M.mean(y, [0])) };
};
/** The guest: a small product reading w (in place) and a fused loop reading b (copied). */
const guestApply = (p: Params, v: Tensor): Tensor => M.tanh(M.add(M.matmul(v, p.w), p.b));
const bitsOf = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
const copyOf = (p: Params): Params => ({ w: M.tensor(p.w.dataSync(), { shape: p.w.shape }), b: M.tensor(p.b.dataSync(), { shape: p.b.shape }) });
const handle = (t: Tensor) => (t as Mixrl.ArrayTensor).handle as Float32Array;

describe('guest plans in a threaded plan memory (CPU)', () => {
  it('the host is threaded: its donated outputs live in a shared memory that arenaHolding knows', () => {
    expect(threads.matmulThreads()).toBe(2);
    expect(N * N * N).toBeGreaterThanOrEqual(threads.THREADED_MATMUL_MIN);
    const host = M.jit(hostStep, { donateArgnums: 0 });
    const p = host({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, tensor(3, [N, N]));
    expect(handle(p.w).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(runtime.arenaHolding(handle(p.w).buffer)).toBeDefined();
    expect(runtime.arenaHolding(new Float32Array(4).buffer)).toBeUndefined();
  });

  it('a guest equals eager mode bit for bit, and the host calls around it equal a host run alone', () => {
    const host = M.jit(hostStep, { donateArgnums: 0 });
    const alone = M.jit(hostStep, { donateArgnums: 0 });
    const guest = M.jit(guestApply);
    const x = tensor(3, [N, N]);
    let p = host({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, x);
    let q = alone({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, x);
    for (let i = 0; i < 4; i++) {
      const v = tensor(10 + i, [2, N]);
      const reference = guestApply(copyOf(p), v);
      expect(bitsOf(guest(p, v)), `call ${i}`).toEqual(bitsOf(reference));
      // The same plan with plain inputs (no guest) agrees too.
      expect(bitsOf(guest(copyOf(p), v)), `call ${i}, plain inputs`).toEqual(bitsOf(reference));
      p = host(p, x);
      q = alone(q, x);
      expect(bitsOf(p.w), `host w after call ${i}`).toEqual(bitsOf(q.w));
      expect(bitsOf(p.b), `host b after call ${i}`).toEqual(bitsOf(q.b));
    }
    // One guest, compiled once for this host, reused by every call.
    expect(M.jitStats(guest).lastPlan?.guestPlans).toBe(1);
  });

  it('a guest called again with arrays it read in place reads them there again, and after a copied one reads the new one, bit for bit', () => {
    // The host's donated w (64 KiB) and u (4 KiB) live in its shared memory; the guest reads both in place (products).
    const step = (p: { w: Tensor; u: Tensor }, x: Tensor) => ({ w: M.sub(p.w, M.mul(M.matmul(M.transpose(x), M.matmul(x, p.w)), 1e-3)), u: M.mul(p.u, 0.5) });
    const host = M.jit(step, { donateArgnums: 0 });
    const apply = (w: Tensor, u: Tensor, v: Tensor) => M.matmul(M.tanh(M.matmul(v, w)), u);
    const guest = M.jit(apply);
    const x = tensor(3, [N, N]);
    let p = host({ w: tensor(1, [N, N]), u: tensor(2, [N, 8]) }, x);
    const expectEager = (w: Tensor, u: Tensor, v: Tensor, what: string) => {
      const plain = (t: Tensor) => M.tensor(t.dataSync(), { shape: t.shape });
      expect(bitsOf(guest(w, u, v)), what).toEqual(bitsOf(apply(plain(w), plain(u), v)));
    };
    const v = tensor(20, [2, N]);
    expectEager(p.w, p.u, v, 'both in place');
    expectEager(p.w, p.u, v, 'the same arrays again');
    // u from elsewhere (copied in; w still makes the bulk in the host), with other values.
    expectEager(p.w, tensor(21, [N, 8]), v, 'u copied');
    expectEager(p.w, p.u, v, "the host's u again, after a copied one");
    // Two host steps later the host hands out the same views with new values.
    p = host(host(p, x), x);
    expectEager(p.w, p.u, v, 'the same views, new values');
    expect(M.jitStats(guest).lastPlan?.guestPlans).toBe(1);
  });

  it('a donating guest, its previous output passed back as another argument, equals eager mode bit for bit', () => {
    const host = M.jit(hostStep, { donateArgnums: 0 });
    const p = host({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, tensor(3, [N, N]));
    // q is donated (its output reuses the guest's memory); r is read by a product, in place when it can be.
    const accumulate = (q: Tensor, r: Tensor, params: Params): [Tensor, Tensor] => [M.add(q, 1), M.matmul(r, params.w)];
    const guest = M.jit(accumulate, { donateArgnums: 0 });
    const fresh = (seed: number) => tensor(seed, [2, N]);
    let [q] = guest(fresh(20), fresh(21), p);
    expect(M.jitStats(guest).lastPlan?.guestPlans).toBe(1);
    for (let i = 0; i < 4; i++) {
      // r = the guest's own previous output, which this call's donated input may be copied over.
      const r = q;
      const expected = accumulate(fresh(30 + i), M.tensor(r.dataSync(), { shape: r.shape }), copyOf(p));
      const [nextQ, y] = guest(fresh(30 + i), r, p);
      expect(bitsOf(nextQ), `q, call ${i}`).toEqual(bitsOf(expected[0]));
      expect(bitsOf(y), `y, call ${i}`).toEqual(bitsOf(expected[1]));
      q = nextQ;
    }
  });

  it('a guest slicing, padding and concatenating host memory in place equals eager mode bit for bit', () => {
    const host = M.jit(hostStep, { donateArgnums: 0 });
    const x = tensor(3, [N, N]);
    let p = host({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, x);
    // Row copies reading w where it lies (no fused loop reads it); v copied in.
    const cut = (params: Params, v: Tensor): Tensor =>
      M.concat([M.slice(params.w, [3, 43], [5, 105]), M.pad(M.slice(v, null, [2, 95]), [[38, 0], [0, 0]])], 1);
    const guest = M.jit(cut);
    for (let i = 0; i < 3; i++) {
      const v = tensor(40 + i, [2, N]);
      expect(bitsOf(guest(p, v)), `call ${i}`).toEqual(bitsOf(cut(copyOf(p), v)));
      p = host(p, x);
    }
    expect(M.jitStats(guest).lastPlan?.guestPlans).toBe(1);
    expect(M.jitStats(guest).lastPlan?.wasmSteps).toBe(M.jitStats(guest).lastPlan?.steps);
  });

  it('a plan too large for the room a shared memory keeps for guests runs on its own, copying its inputs', () => {
    const host = M.jit(hostStep, { donateArgnums: 0 });
    const p = host({ w: tensor(1, [N, N]), b: tensor(2, [N]) }, tensor(3, [N, N]));
    // sin has no WebAssembly form: its 4100 x 4100 loop runs in JS (no threads) over a 67 MB buffer of
    // the plan's, more than the 64 MiB a threaded memory may grow by for guests.
    const wide = (params: Params, v: Tensor) => M.add(M.sum(M.sin(M.broadcastTo(M.reshape(v, [1, 4100]), [4100, 4100]))), M.matmul(M.reshape(params.b, [1, N]), params.w));
    const guest = M.jit(wide);
    const v = tensor(4, [4100]);
    expect(bitsOf(guest(p, v))).toEqual(bitsOf(wide(copyOf(p), v)));
    expect(M.jitStats(guest).lastPlan?.guestPlans).toBe(0);
  });

  it('a guest only when a shared memory has room: canHost counts the memory maximum', () => {
    const arena = new runtime.WasmArena(1 << 16, [], { threaded: true });
    expect(arena.canHost(arena.guestBase() + (1 << 20))).toBe(true);
    expect(arena.canHost(1 << 30)).toBe(false);
    const plain = new runtime.WasmArena(1 << 16);
    expect(plain.canHost(plain.guestBase() + 16)).toBe(false);
    expect(() => new runtime.WasmArena(1 << 16, [], { host: plain })).toThrow(/shared \(threaded\) memory/);
  });

  it('a guest arena shares the host memory: copyBytes moves data, and the host views stay valid as it grows', () => {
    const host = new runtime.WasmArena(1 << 16, [], { threaded: true });
    const hostView = new Float32Array(host.buffer, 64, 4);
    hostView.set([1, 2, 3, 4]);
    const base = host.guestBase();
    const guest = new runtime.WasmArena(base + (1 << 17), [], { host });
    guest.kernels.copyBytes(base + 32, 64, 16);
    expect(Array.from(new Float32Array(guest.buffer, base + 32, 4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(hostView)).toEqual([1, 2, 3, 4]);
    expect(runtime.arenaHolding(guest.buffer)).toBe(host);
  });

  it("makeActor reading a threaded update's donated parameters acts as on copies, bit for bit", async () => {
    const { makeActor } = (await import('../../src/rl/sac/act')) as typeof Act;
    const { initSac, makeSacUpdate } = (await import('../../src/rl/sac/update')) as typeof Update;
    const { ReplayBuffer } = (await import('../../src/rl/replay')) as typeof Replay;
    const { rawFoldIn, rawKey } = (await import('../../src/tensor/threefry')) as typeof Threefry;
    // Batch 64 x hidden 128 x 128: the update's products are threaded; the actor's 128 x 128 layer is 64 KiB.
    const h = smallSac({ obsDim: 5, head: { actionDim: 2, kind: 'mixture', components: 3, low: -1, high: 1 }, estimator: 'mrp', hidden: [128, 128] });
    const replay = new ReplayBuffer({ capacity: 128, obsDim: 5, actionDim: 2 });
    const obsAt = (i: number) => Array.from({ length: 5 }, (_, j) => Math.sin(0.7 * i + j));
    for (let i = 0; i < 128; i++) replay.add({ obs: obsAt(i), action: [Math.sin(i), Math.cos(i)], reward: [Math.cos(0.1 * i)], nextObs: obsAt(i + 1), terminated: [0] });
    const update = makeSacUpdate(h, { donate: true });
    let state = initSac(h, M.tensor(rawKey(1)));
    const actor = makeActor(h);
    const copies = makeActor(h);
    for (let step = 0; step < 3; step++) {
      [state] = update(state, replay.sample(rawFoldIn(rawKey(2), step), 64), M.random.foldIn(M.tensor(rawKey(5)), step));
      expect(runtime.arenaHolding(handle(state.actor.layers[1].w).buffer), 'the update is threaded').toBeDefined();
      const plain = M.treeMap((t: Tensor) => M.tensor(t.dataSync(), { shape: t.shape, dtype: t.dtype }), state.actor);
      for (const how of ['sample', 'mode'] as const) {
        const fromShared = actor(state.actor, obsAt(step), rawFoldIn(rawKey(9), step), how) as Float64Array;
        const fromCopies = copies(plain, obsAt(step), rawFoldIn(rawKey(9), step), how) as Float64Array;
        expect(Array.from(fromShared), `${how}, step ${step}`).toEqual(Array.from(fromCopies));
      }
    }
  });
});
