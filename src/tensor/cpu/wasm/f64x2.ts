/**
 * The WebAssembly emitter of float64 programs (`../f64-program.ts`): each operation one f64x2
 * instruction (or a few integer ones for `pow2` and `exponent`) into a new v128 local, so a program
 * computes in two lanes what its JS function computes for one number, bit for bit.
 */
import type { F64Ops, F64Program } from '../f64-program';
import { type Code, type SimdOp, v128 } from './emit';

/** The four 32-bit words of a float64 constant in both lanes. */
function splat64(x: number): [number, number, number, number] {
  const [lo, hi] = new Uint32Array(new Float64Array([x]).buffer);
  return [lo, hi, lo, hi];
}

/** Both lanes' words of the 64-bit integer with high word `hi` and low word 0. */
const highWord = (hi: number): [number, number, number, number] => [0, hi >>> 0, 0, hi >>> 0];

class WasmOps implements F64Ops<number, number> {
  constructor(private readonly code: Code) {}

  /** Stores the value on the stack into a new local. */
  private result(): number {
    const local = this.code.local(v128);
    this.code.set(local);
    return local;
  }

  private unary(op: SimdOp, a: number): number {
    this.code.get(a).simd(op);
    return this.result();
  }

  private binary(op: SimdOp, a: number, b: number): number {
    this.code.get(a).get(b).simd(op);
    return this.result();
  }

  c = (x: number) => {
    this.code.v128Bits32(splat64(x));
    return this.result();
  };
  add = (a: number, b: number) => this.binary('f64x2.add', a, b);
  sub = (a: number, b: number) => this.binary('f64x2.sub', a, b);
  mul = (a: number, b: number) => this.binary('f64x2.mul', a, b);
  div = (a: number, b: number) => this.binary('f64x2.div', a, b);
  sqrt = (a: number) => this.unary('f64x2.sqrt', a);
  abs = (a: number) => this.unary('f64x2.abs', a);
  neg = (a: number) => this.unary('f64x2.neg', a);
  min = (a: number, b: number) => this.binary('f64x2.min', a, b);
  max = (a: number, b: number) => this.binary('f64x2.max', a, b);
  lt = (a: number, b: number) => this.binary('f64x2.lt', a, b);
  le = (a: number, b: number) => this.binary('f64x2.le', a, b);
  eq = (a: number, b: number) => this.binary('f64x2.eq', a, b);
  and = (a: number, b: number) => this.binary('v128.and', a, b);
  select = (m: number, a: number, b: number) => {
    this.code.get(a).get(b).get(m).simd('v128.bitselect');
    return this.result();
  };
  pow2 = (k: number) => {
    // k + 1.5 · 2^52 holds k in its low significand bits; shifted to the exponent field and biased.
    this.code.get(k).v128Bits32(splat64(1.5 * 2 ** 52)).simd('f64x2.add').i32(52).simd('i64x2.shl');
    this.code.v128Bits32(highWord(1023 << 20)).simd('i64x2.add');
    return this.result();
  };
  exponent = (x: number) => {
    // The high word moved by 2^20 · (1 - (√2/2 bits)); the exponent field, as 2^52 + e, less 2^52 + 1023.
    this.code.get(x).v128Bits32(highWord(0x95f62)).simd('i64x2.add').i32(52).simd('i64x2.shr_u');
    this.code.v128Bits32(splat64(2 ** 52)).simd('v128.or');
    this.code.v128Bits32(splat64(2 ** 52 + 1023)).simd('f64x2.sub');
    return this.result();
  };
}

/**
 * Emits `program` on the two float64 lanes of local `x`; returns the local holding its result.
 *
 * @example
 * const c = new Code(0);
 * const x = c.local(v128);
 * const y = f64x2Program(c, (o, v) => o.mul(v, v), x); // x² per lane
 */
export function f64x2Program(c: Code, program: F64Program, x: number): number {
  return program(new WasmOps(c), x);
}

/** Byte indices moving a vector's high 8 bytes to its low 8 (for `i8x16.swizzle`). */
const HIGH_TO_LOW: [number, number, number, number] = [0x0b0a0908, 0x0f0e0d0c, 0x0b0a0908, 0x0f0e0d0c];
/** Byte indices moving the low 8 bytes to the high 8, zeros below (an index >= 16 reads 0). */
const LOW_TO_HIGH: [number, number, number, number] = [0x80808080, 0x80808080, 0x03020100, 0x07060504];

/**
 * Emits `program` on the four float32 lanes of local `x`, leaving an f32x4 on the stack: each half
 * promoted to f64x2 (exact), the program, the results demoted (rounded once, as a JS float64 stored
 * into a Float32Array).
 *
 * @example
 * const c = new Code(0);
 * const x = c.local(v128);
 * float32ViaF64x2(c, (o, v) => o.mul(v, v), x); // x² per lane
 */
export function float32ViaF64x2(c: Code, program: F64Program, x: number): void {
  const halves = [false, true].map((high) => {
    const lanes = c.local(v128);
    c.get(x);
    if (high) c.v128Bits32(HIGH_TO_LOW).simd('i8x16.swizzle');
    c.simd('f64x2.promote_low_f32x4').set(lanes);
    return f64x2Program(c, program, lanes);
  });
  c.get(halves[0]).simd('f32x4.demote_f64x2_zero');
  c.get(halves[1]).simd('f32x4.demote_f64x2_zero').v128Bits32(LOW_TO_HIGH).simd('i8x16.swizzle');
  c.simd('v128.or');
}
