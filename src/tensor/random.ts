/**
 * Pure, splittable randomness: Threefry-2x32 keys as u32[2] tensors, bit-exact with JAX's original
 * scheme (`PRNGKey`, `split`, `fold_in`, `random_bits`, `uniform`). No global RNG state: the same key
 * gives the same values, on the CPU and on WebGPU.
 */
import type { Backend } from './backend';
import { defaultBackend } from './backends';
import type { DType } from './dtype';
import { ArgumentError, DTypeError, ShapeError } from './errors';
import { bind } from './interpreter';
import { add, cast, div, erfinv, less, log, maximum, minimum, mul, neg, sub } from './ops/elementwise';
import { arange } from './ops/creation';
import { take } from './ops/indexing';
import { broadcastTo, concat, reshape, slice } from './ops/movement';
import { argmax } from './ops/reduce';
import { checkShape, formatShape, normalizeAxis, type Shape, sizeOf } from './shape';
import { argsort, topk } from './ops/sort';
import { Tensor } from './tensor';
import { rawKey } from './threefry';
import { erf as erfNumber } from './cpu/special';
import { asTensor, tensor, type TensorLike } from './ops/convert';

/**
 * A PRNG key from an integer seed (JAX's `PRNGKey`).
 *
 * @example
 * const k = key(0); // u32[2] [0, 0]
 */
export function key(seed: number, backend: Backend = defaultBackend()): Tensor {
  if (!Number.isSafeInteger(seed)) throw new ArgumentError(`key: seed must be a safe integer, got ${seed}`);
  return tensor(rawKey(seed), { backend });
}

function checkKey(op: string, k: Tensor): void {
  if (!(k instanceof Tensor)) throw new DTypeError(`${op}: expected a PRNG key u32[2] (from key(seed)), got ${k === null ? 'null' : typeof k}`);
  if (k.dtype !== 'uint32' || k.ndim !== 1 || k.shape[0] !== 2) {
    throw new DTypeError(`${op}: expected a PRNG key u32[2] (from key(seed)), got ${k.dtype}${formatShape(k.shape)}`);
  }
}

function iota(n: number, like: Tensor): Tensor {
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[i] = i;
  return tensor(counts, { backend: like.backend });
}

/**
 * `n` independent keys from one (JAX's original `split`), as n tensors (`splitStacked`: one
 * `[n, 2]` tensor).
 *
 * @example
 * const [k1, k2] = split(key(0)); // [4146024105, 967050713], [2718843009, 1272950319]
 */
export function split(k: Tensor, n = 2): Tensor[] {
  checkKey('split', k);
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`split: n must be a positive integer, got ${n}`);
  const words = bind('threefry', [k, iota(2 * n, k)], {});
  return Array.from({ length: n }, (_, i) => bind('slice', [words], { starts: [2 * i], stops: [2 * i + 2], steps: [1] }));
}

/**
 * `split(k, n)` as one `u32[n, 2]` tensor, row i the i-th key (the array JAX's `split` returns): one
 * op instead of n slices, for `vmap` over keys.
 *
 * @example
 * const keys = splitStacked(key(0), 1000); // u32[1000, 2]
 * vmap((k: Tensor) => normal(k, [3]))(keys); // [1000, 3]
 */
export function splitStacked(k: Tensor, n: number): Tensor {
  checkKey('splitStacked', k);
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError(`splitStacked: n must be a positive integer, got ${n}`);
  return reshape(bind('threefry', [k, iota(2 * n, k)], {}), [n, 2]);
}

/**
 * A new key that depends on `k` and the integer `data` (JAX's `fold_in`), e.g. a step counter.
 * `data` may be an integer scalar tensor, so a jitted or vmapped function can fold in a traced
 * counter; its low 32 bits are folded in, as for a number.
 *
 * @example
 * const stepKey = foldIn(key(0), 17);
 * const keys = vmap((i: Tensor) => foldIn(key(0), i))(arange(4)); // u32[4,2], row i = foldIn(key(0), i)
 */
export function foldIn(k: Tensor, data: number | Tensor): Tensor {
  checkKey('foldIn', k);
  if (data instanceof Tensor) {
    if (data.ndim !== 0 || (data.dtype !== 'int32' && data.dtype !== 'uint32')) {
      throw new DTypeError(`foldIn: data must be an integer or an int32/uint32 scalar tensor, got ${data.dtype}${formatShape(data.shape)}`);
    }
    const counts = concat([tensor(Uint32Array.of(0), { backend: data.backend }), reshape(cast(data, 'uint32'), [1])]);
    return bind('threefry', [k, counts], {});
  }
  if (!Number.isInteger(data)) throw new ArgumentError(`foldIn: data must be an integer, got ${data}`);
  return bind('threefry', [k, tensor(Uint32Array.of(0, data >>> 0), { backend: k.backend })], {});
}

/**
 * Uniformly random u32 words of `shape` (JAX's `random_bits` with 32 bits).
 *
 * @example
 * randomBits(key(0), [3]); // u32[3]
 */
export function randomBits(k: Tensor, shape: Shape): Tensor {
  checkKey('randomBits', k);
  checkShape('randomBits', shape);
  return reshape(bind('threefry', [k, iota(sizeOf(shape), k)], {}), shape);
}

export interface UniformOptions {
  dtype?: 'float32' | 'float64';
  minval?: number;
  maxval?: number;
}

/**
 * Uniform floats in [minval, maxval) (default [0, 1)), bit-exact with JAX's `uniform` (float64 as
 * JAX with x64 enabled).
 *
 * @example
 * uniform(key(0), [2, 3], { minval: -1, maxval: 1 });
 */
export function uniform(k: Tensor, shape: Shape, options: UniformOptions = {}): Tensor {
  const { dtype = 'float32', minval = 0, maxval = 1 } = options;
  checkDraw('uniform', k, shape, dtype);
  return uniformDraw(k, shape, dtype, minval, maxval);
}

/** `uniform` once its arguments are checked (by the public function the caller used). */
function uniformDraw(k: Tensor, shape: Shape, dtype: 'float32' | 'float64', minval: number, maxval: number): Tensor {
  const n = sizeOf(shape);
  const bits =
    dtype === 'float32'
      ? bind('threefry', [k, iota(n, k)], {})
      : reshape(bind('threefry', [k, iota(2 * n, k)], {}), [2, n]);
  const unit = reshape(bind('uniformFromBits', [bits], { dtype }), shape);
  if (minval === 0 && maxval === 1) return unit;
  return maximum(add(mul(unit, maxval - minval), minval), minval);
}

/** A draw's key, shape and dtype, errors naming `op`. */
function checkDraw(op: string, k: Tensor, shape: Shape, dtype: unknown): void {
  checkFloat(op, dtype);
  checkKey(op, k);
  checkShape(op, shape);
}

/** Random floats come in float32 or float64 only. */
function checkFloat(op: string, dtype: unknown): void {
  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${op}: dtype must be float32 or float64, got ${typeof dtype === 'string' ? `'${dtype}'` : String(dtype)}`);
}

/**
 * Uniform integers in [minval, maxval) of `shape` (int32), from one 32-bit word each: minval +
 * (word mod (maxval - minval)), for ranges up to 2^31. The modulo's bias is below
 * (maxval - minval) / 2^32 (2e-5 for a range of 10^5). The words are `randomBits(k, shape)`'s, so the draws are a pure function of the key.
 *
 * @example
 * randint(key(0), [4], 0, 10); // i32[4] in [0, 10)
 * const rows = randint(foldIn(key(1), step), [256], 0, replaySize); // minibatch indices
 */
export function randint(k: Tensor, shape: Shape, minval: number, maxval: number): Tensor {
  checkKey('randint', k);
  checkShape('randint', shape);
  if (!Number.isInteger(minval) || !Number.isInteger(maxval) || !(minval < maxval) || minval < -(2 ** 31) || maxval > 2 ** 31 || maxval - minval > 2 ** 31) {
    throw new ArgumentError(`randint: need integers minval < maxval within int32, at most 2^31 apart, got ${minval} and ${maxval}`);
  }
  const range = tensor(Uint32Array.of(maxval - minval), { shape: [], backend: k.backend });
  const words = randomBits(k, shape);
  const offsets = sub(words, mul(div(words, range), range)); // words mod range, in uint32
  return add(cast(offsets, 'int32'), minval);
}

const nextAfterMinusOne: Record<'float32' | 'float64', number> = {
  float32: -1 + 2 ** -24,
  float64: -1 + 2 ** -53,
};

/**
 * Standard normal samples: √2 · erfinv(u), u uniform on (-1, 1), as JAX's `normal`.
 *
 * @example
 * normal(key(0), [1000]); // mean ≈ 0, std ≈ 1
 */
export function normal(k: Tensor, shape: Shape, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  checkDraw('normal', k, shape, dtype);
  const u = uniformDraw(k, shape, dtype, nextAfterMinusOne[dtype], 1);
  return mul(erfinv(u), Math.SQRT2);
}

/** The next representable value after `x` (rounded to `dtype`) towards `direction`. */
function nextAfter(x: number, direction: number, dtype: 'float32' | 'float64'): number {
  if (dtype === 'float64') {
    if (x === direction || !Number.isFinite(x)) return x;
    if (x === 0) return direction > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
    const value = new Float64Array([x]);
    new BigInt64Array(value.buffer)[0] += (x > 0) === direction > x ? 1n : -1n;
    return value[0];
  }
  const value = new Float32Array([x]);
  const bits = new Int32Array(value.buffer);
  const v = value[0];
  if (v === direction || !Number.isFinite(v)) return v;
  if (v === 0) {
    bits[0] = 1;
    return direction > 0 ? value[0] : -value[0];
  }
  bits[0] += (v > 0) === direction > v ? 1 : -1;
  return value[0];
}

/**
 * Standard normal samples conditioned on [lower, upper] (JAX's `truncated_normal`): inverse-CDF
 * sampling between erf(lower/√2) and erf(upper/√2), clipped strictly inside the bounds.
 *
 * @example
 * truncatedNormal(key(0), -2, 2, [100]);
 */
export function truncatedNormal(
  k: Tensor,
  lower: number,
  upper: number,
  shape: Shape,
  dtype: 'float32' | 'float64' = 'float32',
): Tensor {
  checkDraw('truncatedNormal', k, shape, dtype);
  if (!(lower < upper)) throw new ArgumentError(`truncatedNormal: need lower < upper, got ${lower} and ${upper}`);
  const a = erfNumber(lower / Math.SQRT2);
  const b = erfNumber(upper / Math.SQRT2);
  const u = uniformDraw(k, shape, dtype, a, b);
  const out = mul(erfinv(u), Math.SQRT2);
  return minimum(maximum(out, nextAfter(lower, Infinity, dtype)), nextAfter(upper, -Infinity, dtype));
}

const TINY: Record<'float32' | 'float64', number> = { float32: 1.1754943508222875e-38, float64: 2.2250738585072014e-308 };

/**
 * Standard Gumbel samples -log(-log u) (JAX's `gumbel`).
 *
 * @example
 * gumbel(key(0), [5]);
 */
export function gumbel(k: Tensor, shape: Shape, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  checkDraw('gumbel', k, shape, dtype);
  return neg(log(neg(log(uniformDraw(k, shape, dtype, TINY[dtype], 1)))));
}

/**
 * Samples category indices from unnormalized log-probabilities along `axis` by the Gumbel-max trick
 * (JAX's `categorical`); int32, with `axis` removed.
 *
 * @example
 * categorical(key(0), tensor([[0, 0, 5]])); // i32[1], almost surely [2]
 */
export function categorical(k: Tensor, logits: TensorLike, axis = -1): Tensor {
  checkKey('categorical', k);
  const l = asTensor(logits, undefined, k.backend);
  const dtype: 'float32' | 'float64' = l.dtype === 'float64' ? 'float64' : 'float32';
  return argmax(add(gumbel(k, l.shape, dtype), l), axis);
}

/**
 * True with probability `p` (broadcast to `shape`, default p's shape).
 *
 * @example
 * bernoulli(key(0), 0.3, [10]);
 */
export function bernoulli(k: Tensor, p: TensorLike, shape?: Shape): Tensor {
  checkKey('bernoulli', k);
  const prob = asTensor(p, undefined, k.backend);
  const dtype: DType = prob.dtype === 'float64' ? 'float64' : 'float32';
  return less(uniform(k, shape ?? prob.shape, { dtype: dtype as 'float32' | 'float64' }), prob);
}

/** Rounds of sorting by random words that `permutation` takes for `n` items (JAX's rule). */
function shuffleRounds(n: number): number {
  // Three rounds' worth of 32-bit keys per log n: ties between equal words (which a stable sort
  // leaves in order, a bias) become rare enough; one round below about 1600 items.
  return Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(2 ** 32 - 1));
}

/**
 * `x` shuffled along `axis` by sorting on fresh random words, `shuffleRounds(n)` times. Each round's
 * permutation is an argsort's, in range and non-negative, so it is gathered directly (no
 * negative-index shift or range check, as `takeAlongAxis` would add). With `x` = `arange(n)` (1-D,
 * `identity`), the first round's gather of it is the permutation itself, so it is skipped.
 */
function shuffle(k: Tensor, x: Tensor, axis: number, n: number, identity = false): Tensor {
  let out = x;
  let rest = k;
  for (let round = 0; round < shuffleRounds(n); round++) {
    const [next, sub] = split(rest);
    const perm = argsort(randomBits(sub, out.shape), { axis });
    out = round === 0 && identity ? perm : bind('gather', [out, perm], { axis });
    rest = next;
  }
  return out;
}

export interface PermutationOptions {
  /** The axis to shuffle along (default 0). */
  axis?: number;
  /** Shuffle every slice along `axis` on its own (default false: one permutation for all). */
  independent?: boolean;
}

/**
 * A uniformly random permutation (JAX's `random.permutation`): of `arange(x)` (int32) when `x` is a
 * number, else of `x`'s entries along `axis`, the same permutation for every slice unless
 * `independent`. As in JAX, items are sorted by random 32-bit words, in as many rounds as make ties
 * rare (one below about 1600 items); a stable sort keeps tied items in order, a bias below n²/2³³
 * per round. Differentiable in `x` (a gather).
 *
 * @example
 * permutation(key(0), 5); // i32[5], a shuffle of [0, 1, 2, 3, 4]
 * permutation(key(1), batch); // batch's rows in random order
 * permutation(key(2), x, { axis: 1, independent: true }); // each row's entries shuffled on their own
 */
export function permutation(k: Tensor, x: number | TensorLike, options: PermutationOptions = {}): Tensor {
  checkKey('permutation', k);
  const { axis = 0, independent = false } = options;
  if (typeof x === 'number') {
    if (!Number.isInteger(x) || x < 0 || x >= 2 ** 31) throw new ArgumentError(`permutation: n must be an integer in [0, 2^31), got ${x}`);
    return shuffle(k, arange(x, undefined, 1, { backend: k.backend }), 0, x, true);
  }
  const t = asTensor(x, undefined, k.backend);
  if (t.ndim === 0) throw new ShapeError(`permutation: x must have an axis to shuffle, got a scalar ${t.dtype}[]; for arange(n) shuffled pass the number n`);
  const a = normalizeAxis('permutation', axis, t.ndim);
  if (independent) return shuffle(k, t, a, sizeOf(t.shape));
  // One permutation for every slice: gathered along the axis, broadcast over the others (in range,
  // so without take's negative-index shift).
  const perm = permutation(k, t.shape[a]);
  return bind('gather', [t, reshape(perm, t.shape.map((d, i) => (i === a ? d : 1)))], { axis: a });
}

export interface ChoiceOptions {
  /** Draw with replacement (default true). */
  replace?: boolean;
  /** The items' probabilities, `[n]` (default uniform); need not be normalized, zeros never drawn. */
  p?: TensorLike;
  /** The axis of `a` to draw entries from (default 0). */
  axis?: number;
}

/**
 * Random draws from `arange(a)` (int32) when `a` is a number, else from `a`'s entries along `axis`
 * (JAX's `random.choice`): the result has shape `shape`, or `a.shape` with `shape` in place of
 * `axis`. With replacement: uniform `randint`, or with `p` the Gumbel-max trick (`categorical` on
 * log p). Without replacement: the first draws of a `permutation`, or with `p` the Gumbel-top-k
 * trick, which draws in order with probability proportional to p among the items not yet drawn.
 *
 * @example
 * choice(key(0), 10, [3]); // i32[3] from 0..9, repeats allowed
 * choice(key(1), 10, [3], { replace: false, p: tensor([...weights]) }); // 3 distinct, weighted
 * choice(key(2), batch, [32]); // 32 rows of batch, with replacement
 */
export function choice(k: Tensor, a: number | TensorLike, shape: Shape = [], options: ChoiceOptions = {}): Tensor {
  checkKey('choice', k);
  checkShape('choice', shape);
  const { replace = true, p, axis = 0 } = options;
  if (typeof replace !== 'boolean') throw new ArgumentError(`choice: replace must be a boolean, got ${String(replace)}`);
  let items: Tensor | undefined;
  let n: number;
  let ax = 0;
  if (typeof a === 'number') {
    if (!Number.isInteger(a) || a < 1 || a >= 2 ** 31) throw new ArgumentError(`choice: a must be an integer in [1, 2^31) or a tensor, got ${a}`);
    n = a;
  } else {
    items = asTensor(a, undefined, k.backend);
    if (items.ndim === 0) throw new ShapeError(`choice: a must have an axis to draw from, got a scalar ${items.dtype}[]; for draws from arange(n) pass the number n`);
    ax = normalizeAxis('choice', axis, items.ndim);
    n = items.shape[ax];
    if (n === 0) throw new ShapeError(`choice: cannot draw from an empty axis ${ax} of ${formatShape(items.shape)}`);
  }
  const draws = sizeOf(shape);
  if (!replace && draws > n) throw new ShapeError(`choice: cannot draw ${draws} of ${n} items without replacement (shape ${formatShape(shape)})`);
  let weights: Tensor | undefined;
  if (p !== undefined) {
    weights = asTensor(p, 'float32', k.backend);
    if (weights.ndim !== 1 || weights.shape[0] !== n) {
      throw new ShapeError(`choice: p must have shape [${n}] (one probability per item), got ${formatShape(weights.shape)}`);
    }
    if (weights.dtype !== 'float32' && weights.dtype !== 'float64') throw new DTypeError(`choice: p must be float32 or float64, got ${weights.dtype}`);
  }
  let index: Tensor;
  if (replace) {
    index = weights === undefined ? randint(k, shape, 0, n) : categorical(k, broadcastTo(log(weights), [...shape, n]));
  } else {
    const first =
      weights === undefined
        ? slice(permutation(k, n), [0, draws])
        : topk(add(gumbel(k, [n], weights.dtype as 'float32' | 'float64'), log(weights)), draws)[1];
    index = reshape(first, shape);
  }
  return items === undefined ? index : take(items, index, ax);
}
