/**
 * The float32 WebAssembly matmul kernel against the float32 recurrence it promises: every element is
 * `acc = a[i, p] * b[p, j] + acc` over p in order, rounded once to float32 where the kernel's
 * multiply-adds are fused (`fusesMultiplyAdd`), else `acc = fround(acc + fround(a[i, p] * b[p, j]))`,
 * whichever tile (4 x 8, 4 x 4, 1 x 24, 1 x 16, 1 x 8, 1 x 4, or the right edge's partial 4 x 8 / 4 x 4 / 1 x 4, or
 * the column kernel's 16 or 4 rows) computed it, for every layout and batch pattern. Exact equality.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareMatmul } from '../../src/tensor/cpu/matmul';
import { Code, i32, wasm, wasmModule } from '../../src/tensor/cpu/wasm/emit';
import { fusesMultiplyAdd, matmulUsesFma, relaxedMadd } from '../../src/tensor/cpu/wasm/fma';
import { packsB, WasmArena } from '../../src/tensor/cpu/wasm/runtime';
import { randomValues } from './helpers';

/**
 * x·y + z for float32 x, y, z, rounded once to float32: x·y is exact in float64 (48 bits), the sum
 * is rounded to odd in float64 (its rounding error from TwoSum moves an even result one ulp towards
 * the exact value), and a float64 rounded to odd rounds to float32 as the exact value would (53 >= 2 * 24 + 2).
 */
function exactFma32(x: number, y: number, z: number): number {
  const product = x * y;
  const sum = product + z;
  const error = product - (sum - z) + (z - (sum - (sum - z)));
  if (error === 0 || !Number.isFinite(sum)) return Math.fround(sum);
  const bits = new DataView(new ArrayBuffer(8));
  bits.setFloat64(0, sum);
  if ((bits.getUint32(4) & 1) === 1) return Math.fround(sum);
  const magnitude = bits.getBigUint64(0);
  bits.setBigUint64(0, error > 0 === sum > 0 ? magnitude + 1n : magnitude - 1n);
  return Math.fround(bits.getFloat64(0));
}

/** One step of the kernel's accumulation, fused or not as this machine's kernel does it. */
const accumulate = fusesMultiplyAdd() ? (acc: number, x: number, y: number) => exactFma32(x, y, acc) : (acc: number, x: number, y: number) => Math.fround(acc + Math.fround(x * y));

/** Element (i, p) of a row-major [rows, cols] matrix stored transposed or not. */
const at = (x: Float32Array, offset: number, rows: number, cols: number, r: number, c: number, transposed: boolean) =>
  x[offset + (transposed ? c * rows + r : r * cols + c)];

interface Case {
  m: number;
  k: number;
  n: number;
  batchA: number;
  broadcastB: boolean;
  transposeA: boolean;
  transposeB: boolean;
  seed: number;
}

/** Random cases with m, k and n in the given ranges, up to `batches` products, every layout. */
const randomCase = ([m0, m1]: [number, number], [k0, k1]: [number, number], [n0, n1]: [number, number], batches: number): fc.Arbitrary<Case> =>
  fc.record({
    m: fc.integer({ min: m0, max: m1 }),
    k: fc.integer({ min: k0, max: k1 }),
    n: fc.integer({ min: n0, max: n1 }),
    batchA: fc.integer({ min: 1, max: batches }),
    broadcastB: fc.boolean(),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    seed: fc.integer(),
  });

/** Runs one product through the kernel and checks every element against the recurrence. */
function checkProduct({ m, k, n, batchA, broadcastB, transposeA, transposeB, seed }: Case): void {
  const batchB = broadcastB ? 1 : batchA;
  const a = Float32Array.from(randomValues(seed, batchA * m * k));
  const b = Float32Array.from(randomValues(seed + 1, batchB * k * n));
  const out = new Float32Array(batchA * m * n).fill(NaN);
  prepareMatmul([batchA, m, k], [batchB, k, n], [batchA, m, n], { transposeA, transposeB })(a, b, out);
  for (let t = 0; t < batchA; t++) {
    const tb = broadcastB ? 0 : t;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          const x = at(a, t * m * k, m, k, i, p, transposeA);
          const y = at(b, tb * k * n, k, n, p, j, transposeB);
          acc = accumulate(acc, x, y);
        }
        const got = out[t * m * n + i * n + j];
        if (!Object.is(got, acc)) expect.fail(`batch ${t} (${i}, ${j}) of ${m}x${k}x${n}: got ${got}, expected ${acc}`);
      }
    }
  }
}

describe('WebAssembly float32 matmul', () => {
  it('accumulates with relaxed SIMD multiply-adds unless MIXRL_WASM_FMA=off (Node 20 has them behind a flag the kernel turns on)', () => {
    expect(matmulUsesFma()).toBe(process.env.MIXRL_WASM_FMA !== 'off');
  });

  it('the reference fused multiply-add rounds once, where rounding the float64 sum to float32 rounds twice', () => {
    // (2⁻²⁴ + 2⁻⁴⁷)(1 − 2⁻²³) + (1 + 2⁻²³) = 1 + 3·2⁻²⁴ − 2⁻⁷⁰: just below the float32 midpoint
    // 1 + 3·2⁻²⁴, which the float64 sum lands on (and rounds to even, 1 + 2⁻²²).
    const [x, y, z] = [2 ** -24 + 2 ** -47, 1 - 2 ** -23, 1 + 2 ** -23];
    expect([x, y, z].every((v) => Math.fround(v) === v)).toBe(true);
    expect(exactFma32(x, y, z)).toBe(1 + 2 ** -23);
    expect(Math.fround(x * y + z)).toBe(1 + 2 ** -22);
    expect(exactFma32(-x, y, -z)).toBe(-(1 + 2 ** -23));
    // (1 + 2⁻¹²)² − (1 + 2⁻¹¹) = 2⁻²⁴ exactly; a multiply then an add gives 0.
    expect(exactFma32(1 + 2 ** -12, 1 + 2 ** -12, -(1 + 2 ** -11))).toBe(2 ** -24);
    expect(exactFma32(3, 5, 7)).toBe(22);
  });

  // Only where the engine fuses (reported as skipped elsewhere, not passed).
  it.skipIf(!fusesMultiplyAdd())("the engine's f32x4.relaxed_madd equals the reference where it fuses (a peer check of the reference)", () => {
    const madd = relaxedMadd();
    if (madd === null) throw new Error('fusesMultiplyAdd() without relaxedMadd()');
    expect(madd(2 ** -24 + 2 ** -47, 1 - 2 ** -23, 1 + 2 ** -23)).toBe(1 + 2 ** -23);
    const [xs, ys, zs] = [1, 2, 3].map((seed) => Float32Array.from(randomValues(seed, 2000, -4, 4)));
    for (let i = 0; i < 2000; i++) {
      // Products near the addend's magnitude, so the sums cancel and round in every way.
      const z = Math.fround(-xs[i] * ys[i] + zs[i] * 2 ** -20);
      expect(Object.is(madd(xs[i], ys[i], z), exactFma32(xs[i], ys[i], z)), `${xs[i]} * ${ys[i]} + ${z}`).toBe(true);
      expect(Object.is(madd(xs[i], ys[i], zs[i]), exactFma32(xs[i], ys[i], zs[i]))).toBe(true);
    }
  });

  it('equals the in-order float32 recurrence for every tile, layout and batch', () => {
    fc.assert(fc.property(randomCase([1, 13], [0, 40], [1, 21], 3), checkProduct), { numRuns: 150 });
  });

  it('equals the recurrence at every right edge: n = 1 to 56 (5 to 7 columns left take one 4 x 8 edge tile; rows left over 1 x 24, 1 x 16, 1 x 8 and 1 x 4 tiles)', () => {
    for (let n = 1; n <= 56; n++) {
      for (const transposeB of [false, true]) checkProduct({ m: 11, k: 19, n, batchA: 1, broadcastB: false, transposeA: false, transposeB, seed: n });
    }
  });

  it('equals the recurrence for a matrix times a column (rows 16 and 4 at a time, then one by one; p in fours, then the rest)', () => {
    for (const [m, k] of [[16, 4], [37, 33], [64, 7], [21, 1], [130, 70]]) {
      for (const transposeA of [false, true]) {
        checkProduct({ m, k, n: 1, batchA: 2, broadcastB: false, transposeA, transposeB: false, seed: m * k });
        checkProduct({ m, k, n: 1, batchA: 1, broadcastB: true, transposeA, transposeB: true, seed: m + k });
      }
    }
  });

  it('batches of A stored transposed times a column (run as a row times A storage) equal the recurrence and a float64 loop', () => {
    // matmulBatchF32 runs each such product as bᵀ (1 x k) times A's storage (k x m), reading A in
    // place whether it is small (else read through strides) or large (else transposed into scratch
    // first): batch 1, odd sizes, k = 1, m = 1, B stored either way, A or B broadcast over the batch.
    const shapes = [[1, 1], [3, 1], [1, 37], [7, 13], [21, 5], [97, 85], [256, 40], [130, 70]];
    for (const [m, k] of shapes) {
      for (const [batch, shared] of [[1, 'none'], [3, 'none'], [4, 'A'], [5, 'B']] as const) {
        for (const transposeB of [false, true]) {
          const [batchA, batchB] = [shared === 'A' ? 1 : batch, shared === 'B' ? 1 : batch];
          const a = Float32Array.from(randomValues(m * k + batch, batchA * m * k));
          const b = Float32Array.from(randomValues(k + batch, batchB * k));
          const out = new Float32Array(batch * m).fill(NaN);
          const aShape = shared === 'A' ? [m, k] : [batch, m, k];
          const bShape = shared === 'B' ? [k, 1] : [batch, k, 1];
          prepareMatmul(aShape, bShape, [batch, m, 1], { transposeA: true, transposeB })(a, b, out);
          for (let t = 0; t < batch; t++) {
            // A's t-th storage is [k, m]; B's t-th column is contiguous either way.
            const [ao, bo] = [(shared === 'A' ? 0 : t) * m * k, (shared === 'B' ? 0 : t) * k];
            for (let i = 0; i < m; i++) {
              let [acc, exact, magnitude] = [0, 0, 0];
              for (let p = 0; p < k; p++) {
                const [x, y] = [a[ao + p * m + i], b[bo + p]];
                acc = accumulate(acc, x, y);
                exact += x * y;
                magnitude += Math.abs(x * y);
              }
              const got = out[t * m + i];
              const what = `${batch} x ${m}x${k}ᵀ·${k}x1 (${shared} shared, B ${transposeB ? 'transposed' : 'as stored'}) [${t}, ${i}]`;
              if (!Object.is(got, acc)) expect.fail(`${what}: got ${got}, the recurrence ${acc}`);
              // Float32 accumulation stays within k roundings of the float64 sum.
              expect(Math.abs(got - exact), what).toBeLessThanOrEqual(k * 2 ** -23 * magnitude + 1e-30);
            }
          }
        }
      }
    }
  });

  it('equals the recurrence when a large transposed A is transposed into scratch first', () => {
    // m * k >= 8192: the product transposes A in the arena instead of reading it down its columns.
    for (const [m, k, n] of [[97, 85, 9], [128, 130, 5], [256, 33, 12]]) {
      checkProduct({ m, k, n, batchA: 2, broadcastB: true, transposeA: true, transposeB: false, seed: m });
      checkProduct({ m, k, n, batchA: 1, broadcastB: false, transposeA: true, transposeB: true, seed: k });
    }
  });

  it('equals the recurrence when B is packed in panels first (from B as stored or transposed; partial last panels, k not a multiple of 4)', () => {
    const cases = [
      { m: 33, k: 29, n: 130, transposeB: false },
      { m: 16, k: 37, n: 21, transposeB: true },
      { m: 40, k: 70, n: 136, transposeB: true },
      { m: 17, k: 1, n: 16, transposeB: true },
    ];
    for (const { m, k, n, transposeB } of cases) {
      expect(packsB(m, k, n, transposeB), `${m}x${k}x${n}`).toBe(true);
      checkProduct({ m, k, n, batchA: 2, broadcastB: true, transposeA: false, transposeB, seed: m + n });
      checkProduct({ m, k, n, batchA: 2, broadcastB: false, transposeA: true, transposeB, seed: k });
    }
  });

  it('equals the recurrence for random products large enough to pack B (every layout, batch and right edge)', () => {
    fc.assert(fc.property(randomCase([16, 41], [0, 23], [16, 140], 2), checkProduct), { numRuns: 40 });
  });

  it('packF32 lays any strided k x n matrix out in panels of eight columns, k rows each, the last padded with zeros', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 21 }), fc.integer({ min: 1, max: 27 }), fc.constantFrom('rows', 'transposed', 'strided'), fc.integer(), (k, n, form, seed) => {
        const [rs, cs] = form === 'rows' ? [n, 1] : form === 'transposed' ? [1, k] : [2 * n + 1, 2];
        const arena = new WasmArena();
        const extent = Math.max(1, (k - 1) * rs + (n - 1) * cs + 1);
        const src = arena.reserve(4 * extent);
        const panels = Math.ceil(n / 8);
        const dst = arena.reserve(4 * panels * 8 * k);
        const values = Float32Array.from(randomValues(seed, extent));
        new Float32Array(arena.buffer, src, extent).set(values);
        new Float32Array(arena.buffer, dst, panels * 8 * k).fill(NaN);
        arena.kernels.packF32(src, rs, cs, k, n, dst);
        const packed = new Float32Array(arena.buffer, dst, panels * 8 * k);
        for (let j = 0; j < 8 * panels; j++) {
          for (let p = 0; p < k; p++) {
            const want = j < n ? values[p * rs + j * cs] : 0;
            expect(packed[Math.floor(j / 8) * 8 * k + p * 8 + (j % 8)], `${form} ${k}x${n}: (${p}, ${j})`).toBe(want);
          }
        }
      }),
      { numRuns: 120 },
    );
  });

  it('propagates NaN and infinities like IEEE float32 arithmetic', () => {
    const a = Float32Array.from([NaN, 1, Infinity, 0]);
    const b = Float32Array.from([1, 0, 1, 0]);
    const out = new Float32Array(4);
    prepareMatmul([2, 2], [2, 2], [2, 2])(a, b, out);
    // Row 0: NaN*1 + 1*1 = NaN, NaN*0 + 1*0 = NaN; row 1: inf*1 + 0 = inf, inf*0 = NaN.
    expect([...out]).toEqual([NaN, NaN, Infinity, NaN]);
  });

  it('reads past the end of B only into the memory slack (B the last region)', () => {
    // C = I B with B [4, 3] the last region, ending where the memory did: the right-edge tile's 16-byte
    // load of B's last row (bytes 36..52 of B) reads 4 bytes past it.
    const arena = new WasmArena();
    const end = arena.buffer.byteLength;
    const a = arena.reserve(64);
    const c = arena.reserve(48);
    arena.reserve(end - 64 - 48 - 48);
    const b = arena.reserve(48);
    expect(b + 48).toBe(end);
    const rows = Array.from({ length: 12 }, (_, i) => i + 1);
    new Float32Array(arena.buffer, a, 16).set([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    new Float32Array(arena.buffer, b, 12).set(rows);
    arena.matmulF32(a, 4, 1, b, 3, 8, c, 4, 4, 3);
    expect([...new Float32Array(arena.buffer, c, 12)]).toEqual(rows);
  });
});

describe('WebAssembly emitter', () => {
  it('encodes constants, locals and loops that the engine accepts and runs', () => {
    // sum(n) = n + (n - 1) + ... + 1, with a large negative constant folded in to exercise signed LEB128.
    const code = new Code(1);
    const acc = code.local(i32);
    code.i32(-1_000_000).set(acc);
    code.while(
      (c) => c.get(0),
      (c) => c.get(acc).get(0).op('i32.add').set(acc).addTo(0, -1),
    );
    code.get(acc);
    const bytes = wasmModule([{ name: 'sum', params: [i32], results: [i32], code }]);
    expect(wasm.validate(bytes)).toBe(true);
    const memory = new wasm.Memory({ initial: 1 });
    const { sum } = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports as { sum(n: number): number };
    expect(sum(200)).toBe(-1_000_000 + (200 * 201) / 2);
    expect(sum(0)).toBe(-1_000_000);
  });

  it('encodes functions of megabytes (a body is not spread into one call: that overflowed the stack at a few hundred KB)', () => {
    // x + 1 + 1 + ... : 500,000 additions, about 1.5 MB of code.
    const code = new Code(1);
    code.get(0);
    for (let t = 0; t < 500_000; t++) code.i32(1).op('i32.add');
    const bytes = wasmModule([{ name: 'count', params: [i32], results: [i32], code }]);
    expect(bytes.length).toBeGreaterThan(1_000_000);
    const memory = new wasm.Memory({ initial: 1 });
    const { count } = new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports as { count(x: number): number };
    expect(count(7)).toBe(500_007);
  });
});
