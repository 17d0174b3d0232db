/**
 * The WebAssembly emitter of float64 programs (`../f64-program.ts`): each operation one f64x2
 * instruction (or a few integer ones for `pow2` and `exponent`) into a new v128 local, so a program
 * computes in two lanes what its JS function computes for one number, bit for bit. Constants live in
 * locals set once before the loop (`LaneConstants`): V8 would otherwise rebuild each one per use.
 */
import type { F64Ops, F64Program } from '../f64-program';
import { Code, type SimdOp, v128 } from './emit';

type Words = readonly [number, number, number, number];

/** The four 32-bit words of a float64 constant in both lanes. */
function splat64(x: number): Words {
  const [lo, hi] = new Uint32Array(new Float64Array([x]).buffer);
  return [lo, hi, lo, hi];
}

/** Both lanes' words of the 64-bit integer with high word `hi` and low word 0. */
const highWord = (hi: number): Words => [0, hi >>> 0, 0, hi >>> 0];

/**
 * The v128 constants of a function, each in a local set where it is first asked for: `hoist` asks for
 * a program's constants before a loop, so that the loop's body only reads them.
 *
 * @example
 * const constants = new LaneConstants(c);
 * constants.hoist(exp, true); // before the loop
 * c.while(cond, (k) => float32ViaF64x2(k, exp, x, constants));
 */
export class LaneConstants {
  private readonly locals = new Map<string, number>();

  constructor(private readonly code: Code) {}

  /** The local holding `words` (set here if new). */
  get(words: Words): number {
    const key = words.join(',');
    let local = this.locals.get(key);
    if (local === undefined) {
      local = this.code.local(v128);
      this.code.v128Bits32([...words] as [number, number, number, number]).set(local);
      this.locals.set(key, local);
    }
    return local;
  }

  /**
   * Sets here every constant that `program` reads, run by `float32ViaF64x2` (`float32`) or by
   * `f64x2Program` (its code goes to a scratch function).
   */
  hoist(program: F64Program, float32: boolean): void {
    const scratch = new Code(0);
    if (float32) float32ViaF64x2(scratch, program, scratch.local(v128), this);
    else f64x2Program(scratch, program, scratch.local(v128), this);
  }
}

class WasmOps implements F64Ops<number, number> {
  constructor(
    private code: Code,
    private readonly constants: LaneConstants,
  ) {}

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

  /** Pushes a constant. */
  private push(words: Words): Code {
    return this.code.get(this.constants.get(words));
  }

  c = (x: number) => this.constants.get(splat64(x));
  add = (a: number, b: number) => this.binary('f64x2.add', a, b);
  sub = (a: number, b: number) => this.binary('f64x2.sub', a, b);
  mul = (a: number, b: number) => this.binary('f64x2.mul', a, b);
  div = (a: number, b: number) => this.binary('f64x2.div', a, b);
  sqrt = (a: number) => this.unary('f64x2.sqrt', a);
  abs = (a: number) => this.unary('f64x2.abs', a);
  neg = (a: number) => this.unary('f64x2.neg', a);
  min = (a: number, b: number) => this.binary('f64x2.min', a, b);
  max = (a: number, b: number) => this.binary('f64x2.max', a, b);
  pmin = (a: number, b: number) => this.binary('f64x2.pmin', a, b);
  pmax = (a: number, b: number) => this.binary('f64x2.pmax', a, b);
  lt = (a: number, b: number) => this.binary('f64x2.lt', a, b);
  le = (a: number, b: number) => this.binary('f64x2.le', a, b);
  eq = (a: number, b: number) => this.binary('f64x2.eq', a, b);
  and = (a: number, b: number) => this.binary('v128.and', a, b);
  select = (m: number, a: number, b: number) => {
    this.code.get(a).get(b).get(m).simd('v128.bitselect');
    return this.result();
  };
  branch = (m: number, a: () => number, b: number) => {
    // a run once into scratch code first, so that any constant it asks for first is set here,
    // before the `if`, where every later use sees it (a loop's constants are hoisted before it anyway).
    const code = this.code;
    this.code = new Code(0);
    a();
    this.code = code;
    const result = this.code.local(v128);
    this.code.get(b).set(result);
    // a's operations (and their locals) only inside the `if`.
    this.code.when(
      (k) => k.get(m).simd('v128.any_true'),
      () => this.code.get(a()).get(result).get(m).simd('v128.bitselect').set(result),
    );
    return result;
  };
  pow2 = (k: number) => {
    // k + 1.5 · 2^52 holds k in its low significand bits; shifted to the exponent field and biased.
    this.code.get(k);
    this.push(splat64(1.5 * 2 ** 52)).simd('f64x2.add').i32(52).simd('i64x2.shl');
    this.push(highWord(1023 << 20)).simd('i64x2.add');
    return this.result();
  };
  exponent = (x: number) => {
    // The high word moved by 2^20 · (1 - (√2/2 bits)); the exponent field, as 2^52 + e, less 2^52 + 1023.
    this.code.get(x);
    this.push(highWord(0x95f62)).simd('i64x2.add').i32(52).simd('i64x2.shr_u');
    this.push(splat64(2 ** 52)).simd('v128.or');
    this.push(splat64(2 ** 52 + 1023)).simd('f64x2.sub');
    return this.result();
  };
}

/**
 * Emits `program` on the two float64 lanes of local `x`; returns the local holding its result.
 *
 * @example
 * const c = new Code(0);
 * const x = c.local(v128);
 * const y = f64x2Program(c, (o, v) => o.mul(v, v), x, new LaneConstants(c)); // x² per lane
 */
export function f64x2Program(c: Code, program: F64Program, x: number, constants: LaneConstants): number {
  return program(new WasmOps(c, constants), x);
}

/** Byte indices moving a vector's high 8 bytes to its low 8 (for `i8x16.swizzle`). */
const HIGH_TO_LOW: Words = [0x0b0a0908, 0x0f0e0d0c, 0x0b0a0908, 0x0f0e0d0c];
/** Byte indices moving the low 8 bytes to the high 8, zeros below (an index >= 16 reads 0). */
const LOW_TO_HIGH: Words = [0x80808080, 0x80808080, 0x03020100, 0x07060504];

/**
 * Emits `program` on the four float32 lanes of local `x`, leaving an f32x4 on the stack: each half
 * promoted to f64x2 (exact), the program, the results demoted (rounded once, as a JS float64 stored
 * into a Float32Array).
 *
 * @example
 * const c = new Code(0);
 * const x = c.local(v128);
 * float32ViaF64x2(c, (o, v) => o.mul(v, v), x, new LaneConstants(c)); // x² per lane
 */
export function float32ViaF64x2(c: Code, program: F64Program, x: number, constants: LaneConstants): void {
  const halves = [false, true].map((high) => {
    const lanes = c.local(v128);
    c.get(x);
    if (high) c.get(constants.get(HIGH_TO_LOW)).simd('i8x16.swizzle');
    c.simd('f64x2.promote_low_f32x4').set(lanes);
    return f64x2Program(c, program, lanes, constants);
  });
  c.get(halves[0]).simd('f32x4.demote_f64x2_zero');
  c.get(halves[1]).simd('f32x4.demote_f64x2_zero').get(constants.get(LOW_TO_HIGH)).simd('i8x16.swizzle');
  c.simd('v128.or');
}
