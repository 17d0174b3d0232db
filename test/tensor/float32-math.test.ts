/**
 * The float32 transcendentals (`cpu/float32-math.ts`): their JS functions against `Math.*` rounded to
 * float32 (edge cases exactly, 10^6 inputs per op to within 1 ulp and almost always exactly), and
 * their WebAssembly lanes against their JS functions, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { FLOAT32_MATH, FLOAT32_PROGRAMS, type Float32Op } from '../../src/tensor/cpu/float32-math';
import { Code, i32, v128 } from '../../src/tensor/cpu/wasm/emit';
import { f64x2Program, LaneConstants } from '../../src/tensor/cpu/wasm/f64x2';
import { WasmArena } from '../../src/tensor/cpu/wasm/runtime';
import { rng } from './helpers';
import { inLanes } from './lanes';

/** Giles' (2010) single-precision erfinv polynomial with Math.log (the published coefficients); ±1 give ±∞. */
function gilesErfinv(y: number): number {
  if (Math.abs(y) === 1) return y * Infinity;
  let w = -Math.log((1 - y) * (1 + y));
  const poly = (t: number, cs: number[]) => cs.reduce((p, c) => c + p * t);
  if (w < 5) {
    w -= 2.5;
    return y * poly(w, [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]);
  }
  w = Math.sqrt(w) - 3;
  return y * poly(w, [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]);
}

/** Each op's reference in float64 from `Math.*`, and the range its accuracy inputs span. */
const REFERENCE: Record<Float32Op, { f: (x: number) => number; lo: number; hi: number }> = {
  exp: { f: Math.exp, lo: -105, hi: 89 },
  expm1: { f: Math.expm1, lo: -20, hi: 89 },
  log: { f: Math.log, lo: 0, hi: 1e6 },
  log1p: { f: Math.log1p, lo: -1, hi: 1e4 },
  tanh: { f: Math.tanh, lo: -10, hi: 10 },
  sigmoid: { f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))), lo: -105, hi: 20 },
  softplus: { f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), lo: -105, hi: 30 },
  erfinv: { f: gilesErfinv, lo: -1, hi: 1 },
};
const OPS = Object.keys(REFERENCE) as Float32Op[];

const TINY = 2 ** -149;
/** NaN, ±∞, ±0, subnormals, the largest float32, the overflow and underflow edges of exp, ±1, saturation. */
const EDGES = [
  NaN, Infinity, -Infinity, 0, -0, TINY, -TINY, 1e-40, -1e-40, 2 ** -126, 3.4028234663852886e38, -3.4028234663852886e38,
  88.72283935546875, 88.72284698486328, 89, -87.33654022216797, -103.27892303466797, -103.97207641601562, -104, -1000, 1, -1,
  -1 + 2 ** -24, 1 - 2 ** -24, -1.5, 0.5, 2, 9.010913848876953, -9.010913848876953, 20, 1e-8, -1e-8, 2 ** -24, 1e30,
].map(Math.fround);

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
/** The float32 bits of x (NaNs all alike). */
const bitsOf = (x: number) => (Number.isNaN(x) ? -1 : ((F32[0] = x), U32[0]));
const same = (a: number, b: number) => bitsOf(Math.fround(a)) === bitsOf(Math.fround(b));

/** Float32 inputs from `seed`: half uniform on [lo, hi], half ±2^e for e uniform in [-40, 10]. */
function inputs(seed: number, n: number, lo: number, hi: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 2 === 0 ? lo + (hi - lo) * r() : (r() < 0.5 ? -1 : 1) * 2 ** (-40 + 50 * r())));
}

describe('float32 transcendentals', () => {
  it.each(OPS)('%s equals Math.* rounded to float32 on edge cases', (op) => {
    for (const x of EDGES) expect(bitsOf(Math.fround(FLOAT32_MATH[op](x))), `${op}(${x})`).toBe(bitsOf(Math.fround(REFERENCE[op].f(x))));
  });

  it.each(OPS)('%s is within 1 float32 ulp of Math.* on 10^6 inputs, and equal on all but 1 in 10^6', (op) => {
    const { f, lo, hi } = REFERENCE[op];
    const xs = inputs(OPS.indexOf(op) + 1, 1e6, lo, hi);
    let differing = 0;
    for (const x of xs) {
      const [got, want] = [Math.fround(FLOAT32_MATH[op](x)), Math.fround(f(x))];
      if (same(got, want)) continue;
      differing++;
      expect(Math.abs(bitsOf(got) - bitsOf(want)), `${op}(${x}): ${got} vs ${want}`).toBeLessThanOrEqual(1);
      expect(Math.sign(got), `${op}(${x})`).toBe(Math.sign(want));
    }
    expect(differing, op).toBeLessThanOrEqual(1);
  });

  it.each(OPS)('%s: its f64x2 program computes the float64 results of its JS function bit for bit', (op) => {
    const { lo, hi } = REFERENCE[op];
    const xs = Float64Array.from([...EDGES, ...inputs(200 + OPS.indexOf(op), 1 << 14, lo, hi)].slice(0, 1 << 14));
    // f(i): out[i] = program(x[i]) for the two lanes at byte i, over every 16 bytes.
    const bytes = xs.length * 8;
    const c = new Code(0);
    const [i, x] = [c.local(i32), c.local(v128)];
    const constants = new LaneConstants(c);
    c.while(
      (k) => k.get(i).i32(bytes).op('i32.lt_u'),
      (k) => {
        k.get(i).simd('v128.load').set(x);
        const y = f64x2Program(k, FLOAT32_PROGRAMS[op], x, constants);
        k.get(i).get(y).simd('v128.store', bytes).addTo(i, 16);
      },
    );
    const arena = new WasmArena(2 * bytes, [{ name: 'f', params: [], code: c }]);
    new Float64Array(arena.buffer, 0, xs.length).set(xs);
    arena.generated.f(0, 0);
    const out = new Float64Array(arena.buffer, bytes, xs.length);
    const words = new Uint32Array(arena.buffer, bytes, 2 * xs.length);
    const want = new Float64Array(xs.map(FLOAT32_MATH[op]));
    const wantWords = new Uint32Array(want.buffer);
    const equal = (k: number) => (Number.isNaN(want[k]) ? Number.isNaN(out[k]) : words[2 * k] === wantWords[2 * k] && words[2 * k + 1] === wantWords[2 * k + 1]);
    const differing = [...xs.keys()].filter((k) => !equal(k));
    expect(differing.slice(0, 5).map((k) => `${op}(${xs[k]}) = ${out[k]}, not ${want[k]}`)).toEqual([]);
  });

  it.each(OPS)('%s in float32 WebAssembly lanes equals its JS function bit for bit', (op) => {
    const { lo, hi } = REFERENCE[op];
    const xs = new Float32Array([...EDGES, ...inputs(100 + OPS.indexOf(op), 1 << 16, lo, hi)].slice(0, 1 << 16));
    const out = inLanes(op, xs);
    const differing = [...xs.keys()].filter((i) => bitsOf(out[i]) !== bitsOf(Math.fround(FLOAT32_MATH[op](xs[i]))));
    expect(differing.slice(0, 5).map((i) => `${op}(${xs[i]}) = ${out[i]}`)).toEqual([]);
  });
});
