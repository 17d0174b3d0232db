/**
 * Random programs: small compositions of ops (broadcasting, reductions, matmul, take/gather, slice,
 * concat, where, reshape, transpose, ...) built from one seed. A program is a chain: every step takes
 * the previous value as its first operand and any earlier value as the second, so every op lies on
 * the path from the inputs to the output.
 *
 * The program is built at concrete float64 inputs, and the builder looks at the intermediate values
 * to keep each op inside its domain with a margin (log of `x * c + 1.5` with `c` scaling |x| to 1,
 * atanh of `x * c` with |x c| <= 0.9, denominators in [1, 3], ...). The constants are fixed at
 * build time, so the program is one fixed function, evaluated again at perturbed points by the
 * finite differences.
 */
import * as M from '../../src';
import type { Backend, Tensor } from '../../src';
import { Rng, size } from './helpers';

type Step = (pool: readonly Tensor[]) => Tensor;

export interface Program {
  inputs: Tensor[];
  f: (...xs: Tensor[]) => Tensor;
  /** One line per step, for failure messages. */
  listing: string[];
  /** Catalog ops used. */
  ops: string[];
}

const bind = M.bind;

class Builder {
  readonly pool: Tensor[] = [];
  readonly steps: Step[] = [];
  readonly listing: string[] = [];
  readonly ops: string[] = [];
  constructor(
    readonly rng: Rng,
    readonly backend: Backend,
    readonly dtype: 'float32' | 'float64',
  ) {}

  get last(): number {
    return this.pool.length - 1;
  }
  shape(i: number): readonly number[] {
    return this.pool[i].shape;
  }
  pick(): number {
    return this.rng.int(0, this.last);
  }
  maxAbs(t: Tensor): number {
    let m = 0;
    for (const v of t.dataSync()) m = Math.max(m, Math.abs(Number(v)));
    return m;
  }
  /** A constant c <= 1 with max |x c| <= bound (never scales up). */
  scaleTo(t: Tensor, bound: number): number {
    const m = this.maxAbs(t);
    return m > bound ? bound / m : 1;
  }
  /** Runs a step on the concrete pool; keeps it if its values are finite and moderate. */
  push(step: Step, line: string, op: string): boolean {
    const value = step(this.pool);
    const m = this.maxAbs(value);
    if (!Number.isFinite(m) || m > 1e6 || value.dtype !== this.dtype) return false;
    this.pool.push(value);
    this.steps.push(step);
    this.listing.push(`${String.fromCharCode(97 + this.pool.length - 1)} = ${line}  : ${JSON.stringify(value.shape)}`);
    this.ops.push(op);
    return true;
  }
  /** The last value, lifted to rank >= 1 first when it is a scalar. */
  ranked(): number {
    if (this.shape(this.last).length === 0) {
      const n = this.rng.int(2, 3);
      this.push((p) => M.broadcastTo(p[p.length - 1], [n]), `broadcastTo(${n})`, 'lift');
    }
    return this.last;
  }
  /** A second operand that broadcasts with value `a` (summed to a scalar where it would not). */
  operandFor(a: number): { get: Step; value: Tensor; text: string } {
    const b = this.pick();
    let get: Step = (p) => p[b];
    let text = `v${b}`;
    try {
      const out = M.broadcastShapes('gen', this.shape(a), this.shape(b));
      if (size(out) > 64) throw new Error('too big');
    } catch {
      get = (p) => M.sum(p[b]);
      text = `sum(v${b})`;
    }
    return { get, value: get(this.pool), text };
  }
  /** Random sorted non-empty subset of axes. */
  axes(ndim: number): number[] {
    const all = Array.from({ length: ndim }, (_, i) => i);
    const some = all.filter(() => this.rng.bool());
    return some.length > 0 ? some : [this.rng.int(0, ndim - 1)];
  }
  randInts(shape: readonly number[], hi: number): Tensor {
    return M.tensor(Int32Array.from({ length: size(shape) }, () => this.rng.int(0, hi)), { shape, backend: this.backend });
  }
  constMatrix(shape: readonly number[]): Tensor {
    return M.tensor(Float64Array.from({ length: size(shape) }, () => this.rng.normal()), { shape, dtype: this.dtype, backend: this.backend });
  }
}

type OpBuilder = (g: Builder) => boolean;

/** Unary op after scaling its input by c (to |x c| <= bound) and shifting by `shift`. */
function unaryOp(name: string, fn: (x: Tensor) => Tensor, bound = Infinity, shift = 0): OpBuilder {
  return (g) => {
    const a = g.last;
    const c = Number.isFinite(bound) ? g.scaleTo(g.pool[a], bound) : 1;
    if (bound === Infinity && shift === 0) return g.push((p) => fn(p[a]), `${name}(v${a})`, name);
    return g.push((p) => fn(M.add(M.mul(p[a], c), shift)), `${name}(v${a} * ${c.toPrecision(3)} + ${shift})`, name);
  };
}

/** A piecewise-constant op added to the chain: v + op(w * 2.5). */
function stepOp(name: string, fn: (x: Tensor) => Tensor): OpBuilder {
  return (g) => {
    const a = g.last;
    const b = g.operandFor(a);
    return g.push((p) => M.add(p[a], fn(M.mul(b.get(p), 2.5))), `v${a} + ${name}(${b.text} * 2.5)`, name);
  };
}

function binaryOp(name: string, fn: (x: Tensor, y: Tensor) => Tensor): OpBuilder {
  return (g) => {
    const a = g.last;
    const b = g.operandFor(a);
    return g.push((p) => fn(p[a], b.get(p)), `${name}(v${a}, ${b.text})`, name);
  };
}

const COMPARISONS = [M.equal, M.notEqual, M.less, M.lessEqual, M.greater, M.greaterEqual];

function reduceOp(name: string, fn: (x: Tensor, axes: number[], keep: boolean) => Tensor): OpBuilder {
  return (g) => {
    const a = g.ranked();
    const axes = g.axes(g.shape(a).length);
    const keep = g.rng.bool(0.3);
    return g.push((p) => fn(p[a], axes, keep), `${name}(v${a}, [${axes}], keep=${keep})`, name);
  };
}

/** The catalog: each entry emits one step (or none when it cannot apply). */
export const CATALOG: Record<string, OpBuilder> = {
  neg: unaryOp('neg', M.neg),
  abs: unaryOp('abs', M.abs),
  exp: unaryOp('exp', M.exp, 3),
  expm1: unaryOp('expm1', M.expm1, 3),
  log: unaryOp('log', M.log, 1, 1.5),
  log1p: unaryOp('log1p', M.log1p, 0.6),
  sqrt: unaryOp('sqrt', M.sqrt, 1, 1.5),
  rsqrt: unaryOp('rsqrt', M.rsqrt, 1, 1.5),
  reciprocal: unaryOp('reciprocal', M.reciprocal, 1, 2),
  sin: unaryOp('sin', M.sin),
  cos: unaryOp('cos', M.cos),
  tan: unaryOp('tan', M.tan, 1.2),
  atan: unaryOp('atan', M.atan),
  tanh: unaryOp('tanh', M.tanh),
  atanh: unaryOp('atanh', M.atanh, 0.9),
  sigmoid: unaryOp('sigmoid', M.sigmoid),
  softplus: unaryOp('softplus', M.softplus),
  erf: unaryOp('erf', M.erf),
  erfinv: unaryOp('erfinv', M.erfinv, 0.9),
  relu: unaryOp('relu', M.relu),
  square: unaryOp('square', M.square, 10),
  sign: stepOp('sign', M.sign),
  floor: stepOp('floor', M.floor),
  ceil: stepOp('ceil', M.ceil),
  round: stepOp('round', M.round),
  castInt: stepOp('castInt', (x) => M.cast(M.cast(x, 'int32'), x.dtype)),
  cast: unaryOp('cast', (x) => bind('cast', [x], { dtype: x.dtype })),

  add: binaryOp('add', M.add),
  sub: binaryOp('sub', M.sub),
  mul: binaryOp('mul', M.mul),
  maximum: binaryOp('maximum', M.maximum),
  minimum: binaryOp('minimum', M.minimum),
  div: (g) => {
    const a = g.last;
    const b = g.operandFor(a);
    const c = g.scaleTo(b.value, 1);
    return g.push((p) => M.div(p[a], M.add(M.mul(b.get(p), c), 2)), `div(v${a}, ${b.text} * ${c.toPrecision(3)} + 2)`, 'div');
  },
  pow: (g) => {
    const a = g.last;
    const b = g.operandFor(a);
    const [c1, c2] = [g.scaleTo(g.pool[a], 1), g.scaleTo(b.value, 2)];
    return g.push((p) => M.pow(M.add(M.mul(p[a], c1), 1.5), M.mul(b.get(p), c2)), `pow(v${a} * c + 1.5, ${b.text} * c)`, 'pow');
  },
  atan2: (g) => {
    const a = g.last;
    const b = g.operandFor(a);
    const c = g.scaleTo(b.value, 1);
    // The second argument stays in [0.5, 2.5]: away from the branch cut on the negative axis.
    return g.push((p) => M.atan2(p[a], M.add(M.mul(b.get(p), c), 1.5)), `atan2(v${a}, ${b.text} * c + 1.5)`, 'atan2');
  },
  // One where per comparison; each also runs one of the logical primitives on the condition.
  ...Object.fromEntries(
    COMPARISONS.map((cmp, k) => {
      const name = `where${['Eq', 'Ne', 'Lt', 'Le', 'Gt', 'Ge'][k]}`;
      const logic = k % 4;
      const cond = (x: Tensor, y: Tensor) => {
        const c = cmp(x, y);
        if (logic === 1) return M.logicalNot(c);
        if (logic === 2) return M.logicalAnd(c, M.isFinite(x));
        if (logic === 3) return M.logicalOr(c, M.less(y, -1.5));
        return c;
      };
      const builder: OpBuilder = (g) => {
        const a = g.last;
        const b = g.operandFor(a);
        return g.push((p) => M.where(cond(p[a], b.get(p)), p[a], M.mul(b.get(p), 0.5)), `${name}(v${a}, ${b.text}), v${a}, ${b.text} / 2)`, name);
      };
      return [name, builder];
    }),
  ),

  sum: reduceOp('sum', (x, axes, keep) => M.sum(x, axes, keep)),
  max: reduceOp('max', (x, axes, keep) => M.max(x, axes, keep)),
  min: reduceOp('min', (x, axes, keep) => M.min(x, axes, keep)),
  prod: reduceOp('prod', (x, axes, keep) => M.prod(x, axes, keep)),
  mean: reduceOp('mean', (x, axes, keep) => M.mean(x, axes, keep)),
  variance: reduceOp('variance', (x, axes, keep) => M.variance(x, axes, keep)),
  logsumexp: reduceOp('logsumexp', (x, axes, keep) => M.logsumexp(x, axes, keep)),
  softmax: (g) => {
    const a = g.ranked();
    const axis = g.rng.int(0, g.shape(a).length - 1);
    return g.push((p) => M.softmax(p[a], axis), `softmax(v${a}, ${axis})`, 'softmax');
  },
  logSoftmax: (g) => {
    const a = g.ranked();
    const axis = g.rng.int(0, g.shape(a).length - 1);
    return g.push((p) => M.logSoftmax(p[a], axis), `logSoftmax(v${a}, ${axis})`, 'logSoftmax');
  },
  argmaxTake: (g) => {
    const a = g.ranked();
    const axis = g.rng.int(0, g.shape(a).length - 1);
    const useMax = g.rng.bool();
    const arg = useMax ? M.argmax : M.argmin;
    return g.push((p) => M.takeAlongAxis(p[a], arg(p[a], axis, true), axis), `takeAlongAxis(v${a}, arg${useMax ? 'max' : 'min'}(v${a}, ${axis}))`, 'argmaxTake');
  },

  matmul: (g) => {
    const a = g.ranked();
    const shape = g.shape(a);
    const k = shape[shape.length - 1];
    if (g.rng.bool() && shape.length >= 2) {
      return g.push((p) => M.matmul(p[a], M.swapAxes(p[a], -1, -2)), `v${a} @ v${a}^T`, 'matmul');
    }
    const w = g.constMatrix(g.rng.bool() ? [k, g.rng.int(1, 3)] : [k]);
    return g.push((p) => M.matmul(p[a], w), `v${a} @ W${JSON.stringify(w.shape)}`, 'matmul');
  },
  matmulLeft: (g) => {
    // Batched, broadcast: W[2, n, m] @ v where v is [..., m, k] (vector v: [m]).
    const a = g.ranked();
    const shape = g.shape(a);
    const m = shape.length >= 2 ? shape[shape.length - 2] : shape[0];
    const w = g.constMatrix([shape.length >= 3 ? 1 : 2, g.rng.int(1, 3), m]);
    return g.push((p) => M.matmul(w, p[a]), `W${JSON.stringify(w.shape)} @ v${a}`, 'matmulLeft');
  },
  take: (g) => {
    const a = g.ranked();
    const axis = g.rng.int(0, g.shape(a).length - 1);
    const idx = g.randInts([g.rng.int(1, 3)], g.shape(a)[axis] - 1);
    return g.push((p) => M.take(p[a], idx, axis), `take(v${a}, ${JSON.stringify(idx.dataSync())}, ${axis})`, 'take');
  },
  takeAlongAxis: (g) => {
    const a = g.ranked();
    const shape = g.shape(a);
    const axis = g.rng.int(0, shape.length - 1);
    const idxShape = shape.map((d, i) => (i === axis ? g.rng.int(1, 3) : g.rng.bool(0.3) ? 1 : d));
    const idx = g.randInts(idxShape, shape[axis] - 1);
    return g.push((p) => M.takeAlongAxis(p[a], idx, axis), `takeAlongAxis(v${a}, idx${JSON.stringify(idxShape)}, ${axis})`, 'takeAlongAxis');
  },
  scatterAdd: (g) => {
    const a = g.ranked();
    const shape = g.shape(a);
    const axis = g.rng.int(0, shape.length - 1);
    const outSize = g.rng.int(1, 4);
    const idx = g.randInts(shape, outSize - 1);
    return g.push((p) => bind('scatterAdd', [p[a], idx], { axis, size: outSize }), `scatterAdd(v${a}, axis ${axis}, size ${outSize})`, 'scatterAdd');
  },
  slice: (g) => {
    const a = g.ranked();
    const specs: M.SliceSpec[] = g.shape(a).map((d) => {
      const r = g.rng.int(0, 3);
      if (r === 0) return null;
      if (r === 1 && d > 1) return g.rng.int(-d, d - 1);
      const start = g.rng.int(0, d - 1);
      const step = g.rng.pick([1, 2, -1, -2]);
      return step > 0 ? [start, null, step] : [start, null, step];
    });
    return g.push((p) => M.slice(p[a], ...specs), `slice(v${a}, ${JSON.stringify(specs)})`, 'slice');
  },
  concat: (g) => {
    const a = g.ranked();
    const b = g.operandFor(a);
    const axis = g.rng.int(0, g.shape(a).length - 1);
    const other = (p: readonly Tensor[]) => M.mul(p[a], M.sum(b.get(p)));
    return g.push((p) => M.concat([p[a], other(p), M.sin(p[a])], axis), `concat(v${a}, v${a} * sum(${b.text}), sin v${a}; ${axis})`, 'concat');
  },
  stack: (g) => {
    const a = g.last;
    const axis = g.rng.int(0, g.shape(a).length);
    return g.push((p) => M.stack([p[a], M.cos(p[a])], axis), `stack(v${a}, cos v${a}; ${axis})`, 'stack');
  },
  reshape: (g) => {
    const a = g.last;
    const dims = [...g.shape(a)].reverse();
    const merged: number[] = [];
    for (const d of dims) {
      if (merged.length > 0 && g.rng.bool(0.4)) merged[merged.length - 1] *= d;
      else merged.push(d);
    }
    const target = merged.flatMap((d) => (g.rng.bool(0.2) ? [1, d] : [d]));
    return g.push((p) => M.reshape(p[a], target), `reshape(v${a}, ${JSON.stringify(target)})`, 'reshape');
  },
  transpose: (g) => {
    const a = g.ranked();
    const n = g.shape(a).length;
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = g.rng.int(0, i);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    if (perm.every((p, i) => p === i) && n > 1) [perm[0], perm[1]] = [perm[1], perm[0]];
    return g.push((p) => bind('transpose', [p[a]], { perm }), `transpose(v${a}, [${perm}])`, 'transpose');
  },
  broadcastTo: (g) => {
    const a = g.last;
    const target = [g.rng.int(2, 3), ...g.shape(a)];
    return g.push((p) => M.broadcastTo(p[a], target), `broadcastTo(v${a}, ${JSON.stringify(target)})`, 'broadcastTo');
  },
  pad: (g) => {
    const a = g.ranked();
    const n = g.shape(a).length;
    const lo = Array.from({ length: n }, () => g.rng.int(0, 2));
    const hi = Array.from({ length: n }, () => g.rng.int(0, 1));
    const interior = Array.from({ length: n }, () => g.rng.int(0, 1));
    return g.push((p) => bind('pad', [p[a]], { lo, hi, interior }), `pad(v${a}, ${lo}/${hi}/${interior})`, 'pad');
  },
  flip: (g) => {
    const a = g.ranked();
    const axes = g.axes(g.shape(a).length);
    return g.push((p) => M.flip(p[a], axes), `flip(v${a}, [${axes}])`, 'flip');
  },
  clip: (g) => {
    const a = g.last;
    return g.push((p) => M.clip(p[a], -0.7, 0.9), `clip(v${a}, -0.7, 0.9)`, 'clip');
  },
  logSigmoid: unaryOp('logSigmoid', M.logSigmoid),
  vecdot: (g) => {
    const a = g.ranked();
    const b = g.operandFor(a);
    return g.push((p) => M.vecdot(p[a], b.get(p)), `vecdot(v${a}, ${b.text})`, 'vecdot');
  },
  outer: (g) => {
    const a = g.last;
    const b = g.pick();
    return g.push((p) => M.outer(M.flatten(p[a]), M.slice(M.flatten(p[b]), [0, 4])), `outer(flat v${a}, flat v${b}[:4])`, 'outer');
  },
  rotate: (g) => {
    // split into two pieces along an axis and join them in the other order
    const a = g.ranked();
    const axis = g.rng.int(0, g.shape(a).length - 1);
    const at = g.rng.int(0, g.shape(a)[axis]);
    return g.push((p) => {
      const [left, right] = M.split(p[a], [at], axis);
      return M.concat([right, left], axis);
    }, `rotate(v${a}, ${at}, axis ${axis})`, 'rotate');
  },
  moveAxis: (g) => {
    const a = g.ranked();
    const n = g.shape(a).length;
    const [from, to] = [g.rng.int(0, n - 1), g.rng.int(0, n - 1)];
    return g.push((p) => M.squeeze(M.expandDims(M.moveAxis(p[a], from, to), 0), 0), `moveAxis(v${a}, ${from}, ${to})`, 'moveAxis');
  },
  // Sorting has a kink wherever two values tie, where a central difference averages the two
  // orders; so it sorts along an axis whose values are at least 1e-3 apart (never drawn at random,
  // see DRAWN_OPS).
  sort: (g) => {
    let a = g.ranked();
    const shape = g.shape(a);
    let values = Array.from(g.pool[a].dataSync(), Number);
    let axes = shape.map((_, i) => i).filter((axis) => separatedAlong(values, shape, axis, 1e-3));
    if (axes.length === 0) {
      // Ties everywhere (a broadcast value, say): first add distinct constants wider apart than the values' range.
      const spread = 1 + Math.max(...values) - Math.min(...values);
      const order = values.map((_, i) => i).sort(() => g.rng.next() - 0.5);
      const ramp = M.tensor(Float64Array.from(order, (o) => 2 * spread * o), { shape, dtype: g.dtype, backend: g.backend });
      const v = a;
      if (!g.push((p) => M.add(p[v], ramp), `v${v} + distinct constants`, 'separate')) return false;
      a = g.last;
      values = Array.from(g.pool[a].dataSync(), Number);
      axes = shape.map((_, i) => i).filter((axis) => separatedAlong(values, shape, axis, 1e-3));
      if (axes.length === 0) return false;
    }
    const axis = g.rng.pick(axes);
    const descending = g.rng.bool();
    if (g.rng.bool()) return g.push((p) => M.sort(p[a], { axis, descending }), `sort(v${a}, axis ${axis}${descending ? ', descending' : ''})`, 'sort');
    const k = g.rng.int(1, shape[axis]);
    return g.push((p) => M.topk(p[a], k, { axis })[0], `topk(v${a}, ${k}, axis ${axis})[0]`, 'sort');
  },
  randomScale: (g) => {
    const a = g.last;
    const seed = g.rng.int(0, 1000);
    return g.push(
      (p) => M.mul(p[a], M.random.uniform(M.random.key(seed, g.backend), p[a].shape, { dtype: g.dtype })),
      `v${a} * uniform(key(${seed}))`,
      'randomScale',
    );
  },
};

export const CATALOG_OPS = Object.keys(CATALOG);

/**
 * The ops random programs draw from: the catalog but `sort`, which is only forced into programs (by
 * the catalog sweep of random-programs.test.ts): drawing it too would change every seed's program in
 * the suites that replay them.
 */
const DRAWN_OPS = CATALOG_OPS.filter((op) => op !== 'sort');

/** Whether every line of `values` (row-major, `shape`) along `axis` has its values `gap` or more apart. */
function separatedAlong(values: readonly number[], shape: readonly number[], axis: number, gap: number): boolean {
  const stride = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const n = shape[axis];
  for (let flat = 0; flat < values.length; flat++) {
    if (Math.floor(flat / stride) % n !== 0) continue;
    const line = Array.from({ length: n }, (_, j) => values[flat + j * stride]).sort((p, q) => p - q);
    for (let j = 1; j < n; j++) if (!(line[j] - line[j - 1] >= gap)) return false;
  }
  return true;
}

/**
 * A random program on one or two inputs of random shapes (float64 unless `dtype` says otherwise),
 * `nSteps` ops long (`force` puts one given catalog op at a random position).
 */
export function buildProgram(
  seed: number,
  nSteps: number,
  backend: Backend,
  force?: string,
  dtype: 'float32' | 'float64' = 'float64',
): Program {
  const rng = new Rng(seed);
  const nInputs = rng.int(1, 2);
  const g = new Builder(rng, backend, dtype);
  for (let i = 0; i < nInputs; i++) {
    const shape = rng.shape(3, 3);
    g.pool.push(M.tensor(Float64Array.from({ length: size(shape) }, () => rng.normal()), { shape, dtype, backend }));
    g.listing.push(`${String.fromCharCode(97 + i)} = input ${JSON.stringify(shape)}`);
  }
  const forcedAt = force === undefined ? -1 : rng.int(0, nSteps - 1);
  for (let s = 0; s < nSteps; s++) {
    const name = s === forcedAt ? (force as string) : rng.pick(DRAWN_OPS);
    let ok = CATALOG[name](g);
    for (let tries = 0; !ok && s === forcedAt && tries < 5; tries++) ok = CATALOG[name](g);
    // Keep the values small: sum away leading axes of big or high-rank values.
    const last = g.pool[g.last];
    if (last.size > 48 || last.ndim > 4) g.push((p) => M.sum(p[p.length - 1], 0), 'sum(axis 0)', 'shrink');
  }
  const steps = [...g.steps];
  const f = (...xs: Tensor[]): Tensor => {
    const pool: Tensor[] = [...xs];
    for (const step of steps) pool.push(step(pool));
    return pool[pool.length - 1];
  };
  return { inputs: g.pool.slice(0, nInputs), f, listing: g.listing, ops: g.ops };
}
