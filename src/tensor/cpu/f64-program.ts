/**
 * Float64 programs written once and emitted twice: as a JS function (the eager float32 and float64
 * kernels) and as f64x2 WebAssembly (`wasm/f64x2.ts`, jit's lane loops). A program is a function of an
 * `F64Ops` builder, so both emitters see the same sequence of IEEE float64 operations (no FMA
 * anywhere, powers of two built exactly), and their results are equal bit for bit. Lanes compute
 * both values of a select and pick (of a `branch`, the costly side only when a lane takes it); the
 * JS function computes only the one it takes (each operation gives the same value wherever it runs).
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
  /**
   * `m ? a() : b`, where `a`'s operations run only if some lane takes it: for a costly side that
   * few inputs need (lanes branch on a whole vector; JS computes one side of any select).
   */
  branch(m: M, a: () => V, b: V): V;
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

/** A JS value: a literal or parameter, or an operation on other values (`code` of their names). */
type JsValue = string | { readonly code: (args: readonly string[]) => string; readonly args: readonly JsValue[] } | JsSelect;
/** `m ? a : b`, emitted as an `if` so that only the chosen value's operations run. */
interface JsSelect {
  readonly m: JsValue;
  readonly a: JsValue;
  readonly b: JsValue;
}

const op =
  (code: (...args: string[]) => string) =>
  (...args: JsValue[]): JsValue => ({ code: (names) => code(...names), args });

/** The JS emitter: the operations as a graph, written out by `emit`. */
const JS_OPS: F64Ops<JsValue, JsValue> = {
  c: (x) => (Object.is(x, -0) ? '(-0)' : x < 0 ? `(${x})` : String(x)),
  add: op((a, b) => `${a} + ${b}`),
  sub: op((a, b) => `${a} - ${b}`),
  mul: op((a, b) => `${a} * ${b}`),
  div: op((a, b) => `${a} / ${b}`),
  sqrt: op((a) => `Math.sqrt(${a})`),
  abs: op((a) => `Math.abs(${a})`),
  neg: op((a) => `-${a}`),
  min: op((a, b) => `Math.min(${a}, ${b})`),
  max: op((a, b) => `Math.max(${a}, ${b})`),
  pmin: op((a, b) => `${b} < ${a} ? ${b} : ${a}`),
  pmax: op((a, b) => `${a} < ${b} ? ${b} : ${a}`),
  lt: op((a, b) => `${a} < ${b}`),
  le: op((a, b) => `${a} <= ${b}`),
  eq: op((a, b) => `${a} === ${b}`),
  and: op((a, b) => `${a} && ${b}`),
  select: (m, a, b) => ({ m, a, b }),
  branch: (m, a, b) => ({ m, a: a(), b }),
  // `& 2047` keeps the index in the table for any k (a NaN or out-of-range k only feeds values that
  // the programs discard or that are NaN anyway).
  pow2: op((k) => `POW2[(${k} + 1023) & 2047]`),
  // The high word moved by 2^20 · (1 - (√2/2 bits)) so that the exponent field counts from √2/2.
  exponent: op((x) => `(F[0] = ${x}, ((I[1] + 0x95f62) >>> 20) - 1023)`),
};

/** A select's values are computed in an `if` when one of them takes more operations than this. */
const BRANCH_MIN_OPERATIONS = 4;

type JsOp = Exclude<JsValue, string>;
const inputsOf = (v: JsOp): readonly JsValue[] => ('m' in v ? [v.m, v.a, v.b] : v.args);

/**
 * The program's operations as JS statements. Each is placed in the innermost branch of the selects
 * that holds all its uses (a value only one side of a select needs is computed only when that side
 * is taken), and written once, after its inputs; returns the statements and the result's name.
 */
function emit(root: JsValue): { lines: string[]; result: string } {
  if (typeof root === 'string') return { lines: [], result: root };
  // Operations, each after every operation that uses it (reversed post-order).
  const order: JsOp[] = [];
  const seen = new Set<JsOp>();
  const visit = (v: JsValue) => {
    if (typeof v === 'string' || seen.has(v)) return;
    seen.add(v);
    inputsOf(v).forEach(visit);
    order.push(v);
  };
  visit(root);
  // Where each is placed: a path of (select, side) from the function's body, the longest common
  // prefix of the paths of its uses.
  const place = new Map<JsOp, string[]>([[root, []]]);
  const use = (v: JsValue, path: string[]) => {
    if (typeof v === 'string') return;
    const before = place.get(v) ?? path;
    let common = 0;
    while (common < before.length && before[common] === path[common]) common++;
    place.set(v, before.slice(0, common));
  };
  const ids = new Map<JsOp, number>(order.map((v, k) => [v, k]));
  for (const v of [...order].reverse()) {
    const path = place.get(v) as string[];
    if ('m' in v) {
      use(v.m, path);
      use(v.a, [...path, `${ids.get(v)}a`]);
      use(v.b, [...path, `${ids.get(v)}b`]);
    } else v.args.forEach((a) => use(a, path));
  }
  const name = (v: JsValue) => (typeof v === 'string' ? v : `t${ids.get(v)}`);
  const inside = (path: readonly string[], prefix: readonly string[]) => prefix.every((step, k) => path[k] === step);
  /** The statements of the operations placed at `path` or below, in order. */
  const block = (path: readonly string[], placed: readonly JsOp[]): string[] => {
    const lines: string[] = [];
    for (const v of placed) {
      const at = place.get(v) as string[];
      if (at.length !== path.length) continue; // deeper: written by its select's branch
      if (!('m' in v)) {
        lines.push(`const ${name(v)} = ${v.code(v.args.map(name))};`);
        continue;
      }
      const sides = ['a', 'b'].map((side) => {
        const sidePath = [...path, `${ids.get(v)}${side}`];
        return block(sidePath, placed.filter((u) => inside(place.get(u) as string[], sidePath)));
      });
      if (sides.every((side) => side.length <= BRANCH_MIN_OPERATIONS)) {
        // Little to compute: both sides here and a conditional move (no branch to mispredict).
        lines.push(...sides[0], ...sides[1], `const ${name(v)} = ${name(v.m)} ? ${name(v.a)} : ${name(v.b)};`);
      } else {
        const [a, b] = sides.map((side, k) => `{ ${side.join(' ')} ${name(v)} = ${name(k === 0 ? v.a : v.b)}; }`);
        lines.push(`let ${name(v)};`, `if (${name(v.m)}) ${a} else ${b}`);
      }
    }
    return lines;
  };
  return { lines: block([], order), result: name(root) };
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
  const { lines, result } = emit(program(JS_OPS, 'x'));
  const source = `return function (x) {\n${lines.join('\n')}\nreturn ${result};\n};`;
  // F and I view one scratch float64 (little-endian: I[1] is its high word), for `exponent`.
  const F = new Float64Array(1);
  return new Function('POW2', 'F', 'I', source)(POW2, F, new Int32Array(F.buffer)) as (x: number) => number;
}
