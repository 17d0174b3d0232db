/**
 * Float64 programs written once and emitted twice: as a JS function (the eager float32 kernels) and
 * as f64x2 WebAssembly (`wasm/f64x2.ts`, jit's lane loops). A program is a function of an
 * `F64Ops` builder, so both emitters see the same sequence of IEEE float64 operations (no FMA
 * anywhere, powers of two built exactly), and their results are equal bit for bit.
 */

/**
 * The operations a float64 program may use, on values `V` and lane masks `M`. Arithmetic, `sqrt`,
 * `min`, `max` and comparisons are IEEE float64 (`min`/`max` as `Math.min`/`Math.max`: NaN wins,
 * -0 < +0); `select` picks per lane.
 */
export interface F64Ops<V, M> {
  c(x: number): V;
  add(a: V, b: V): V;
  sub(a: V, b: V): V;
  mul(a: V, b: V): V;
  div(a: V, b: V): V;
  sqrt(a: V): V;
  abs(a: V): V;
  neg(a: V): V;
  min(a: V, b: V): V;
  max(a: V, b: V): V;
  /** b < a ? b : a (WebAssembly's pmin: a NaN a, or ±0 on both sides, gives a). */
  pmin(a: V, b: V): V;
  /** a < b ? b : a (WebAssembly's pmax). */
  pmax(a: V, b: V): V;
  lt(a: V, b: V): M;
  le(a: V, b: V): M;
  eq(a: V, b: V): M;
  and(a: M, b: M): M;
  /** `m ? a : b`. */
  select(m: M, a: V, b: V): V;
  /** 2^k for an integral k in [-1022, 1023] (built from its bits, exact). */
  pow2(k: V): V;
  /**
   * The k with x = 2^k · m, m in [√2/2, √2), for a positive normal finite x (read from the bits as
   * fdlibm's log splits it: the exponent field counted from √2/2's significand).
   */
  exponent(x: V): V;
}

/** A float64 function of one argument, as a program. */
export type F64Program = <V, M>(o: F64Ops<V, M>, x: V) => V;

/** 2^(i - 1023) at i, built from the exponent bits (exact; i = 0 gives 0). */
const POW2 = (() => {
  const table = new Float64Array(2048);
  const words = new Int32Array(table.buffer);
  for (let i = 0; i < 2048; i++) words[2 * i + 1] = i << 20;
  return table;
})();

/** The JS emitter: each operation becomes a `const` of the function's source. */
class JsOps implements F64Ops<string, string> {
  readonly lines: string[] = [];
  private n = 0;

  private let(expr: string): string {
    const name = `t${this.n++}`;
    this.lines.push(`const ${name} = ${expr};`);
    return name;
  }

  c = (x: number) => (Object.is(x, -0) ? '(-0)' : x < 0 ? `(${x})` : String(x));
  add = (a: string, b: string) => this.let(`${a} + ${b}`);
  sub = (a: string, b: string) => this.let(`${a} - ${b}`);
  mul = (a: string, b: string) => this.let(`${a} * ${b}`);
  div = (a: string, b: string) => this.let(`${a} / ${b}`);
  sqrt = (a: string) => this.let(`Math.sqrt(${a})`);
  abs = (a: string) => this.let(`Math.abs(${a})`);
  neg = (a: string) => this.let(`-${a}`);
  min = (a: string, b: string) => this.let(`Math.min(${a}, ${b})`);
  max = (a: string, b: string) => this.let(`Math.max(${a}, ${b})`);
  pmin = (a: string, b: string) => this.let(`${b} < ${a} ? ${b} : ${a}`);
  pmax = (a: string, b: string) => this.let(`${a} < ${b} ? ${b} : ${a}`);
  lt = (a: string, b: string) => this.let(`${a} < ${b}`);
  le = (a: string, b: string) => this.let(`${a} <= ${b}`);
  eq = (a: string, b: string) => this.let(`${a} === ${b}`);
  and = (a: string, b: string) => this.let(`${a} && ${b}`);
  select = (m: string, a: string, b: string) => this.let(`${m} ? ${a} : ${b}`);
  // `& 2047` keeps the index in the table for any k (a NaN or out-of-range k only feeds values that
  // the programs discard or that are NaN anyway).
  pow2 = (k: string) => this.let(`POW2[(${k} + 1023) & 2047]`);
  exponent = (x: string) => {
    this.lines.push(`F[0] = ${x};`);
    // The high word moved by 2^20 · (1 - (√2/2 bits)) so that the exponent field counts from √2/2.
    return this.let('((I[1] + 0x95f62) >>> 20) - 1023');
  };
}

/**
 * The program as a JS function of a number (compiled once; V8 inlines it into the kernels that call
 * it).
 *
 * @example
 * const square = jsFunction((o, x) => o.mul(x, x));
 * square(3); // 9
 */
export function jsFunction(program: F64Program): (x: number) => number {
  const ops = new JsOps();
  const result = program(ops, 'x');
  const source = `return function (x) {\n${ops.lines.join('\n')}\nreturn ${result};\n};`;
  // F and I view one scratch float64 (little-endian: I[1] is its high word), for `exponent`.
  const F = new Float64Array(1);
  return new Function('POW2', 'F', 'I', source)(POW2, F, new Int32Array(F.buffer)) as (x: number) => number;
}
