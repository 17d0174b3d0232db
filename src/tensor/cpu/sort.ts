/**
 * The stable sorting permutation along the last axis (the `argsort` primitive), or its first `k`
 * positions. Each value becomes an unsigned key whose order is the sort order (as the WebGPU kernel's,
 * `shaders/sort.ts`): float32 bits with the sign folded (negatives inverted, the others' sign bit
 * set), -0 as +0 and every NaN as 0xffffffff (above +Infinity); int32 with its sign bit flipped;
 * uint32 as is; float64 the same over its two 32-bit words (high word first); a descending sort
 * complements the key. So every sort is an ascending sort of keys, and equal keys (NaNs among
 * them) keep their index order, which makes it stable both ways.
 *
 * A row of up to `MERGE_MAX` values (float64: `MERGE64_MAX`) is merge-sorted by value over
 * insertion-sorted runs of 16 (so a row of up to 16 is one insertion sort), its NaNs set apart
 * first: there the radix sort's fixed cost, its histograms, is larger than the sort. A longer row
 * is an LSD radix sort: one pass computes the keys and the histograms of all their
 * digits (8 bits, or 11 from `RADIX11_MIN` values on), then one stable counting-sort pass per
 * digit, skipping a digit that is the same in every key (the high bytes of keys that share them,
 * the low word of float64 values that are floats). The last pass writes the indices straight into
 * the output. The crossovers were measured on rows of random float32 and float64 values.
 *
 * For `k` well below the row length (`k * SELECT_RATIO <= n`) no row is sorted: a bounded max-heap
 * keeps the k first (value, index) pairs seen in the sort order, compared as the values themselves
 * (negated for a descending sort) in the keys' order: NaN after every number ascending and before
 * every number descending, -0 equal to +0, lower index first among equals; then it is emptied in
 * order. Pairs are all distinct, so that is exactly the full stable sort's first k.
 *
 * A prepared kernel allocates its scratch arrays once (on its first call), however many rows and
 * calls it runs.
 */
import type { TypedArray } from '../dtype';
import { type Shape, sizeOf } from '../shape';

/** Rows of 32-bit values up to this long are merge-sorted by value (up to `RUN`: insertion-sorted). */
export const MERGE_MAX = 80;
/** Float64 rows up to this long are merge-sorted by value (their radix sort has twice the digits). */
export const MERGE64_MAX = 160;
/** The merge sort's insertion-sorted runs. */
const RUN = 16;
/** Rows at least this long sort by 11-bit digits (3 passes per 32-bit word), shorter ones by bytes (4). */
export const RADIX11_MIN = 4096;
/** `k` positions of a row of n are selected by the heap when `k * SELECT_RATIO <= n`. */
export const SELECT_RATIO = 16;

/** Scratch of a prepared kernel: two (key, index) buffers, the float64 low words, histograms. */
interface Scratch {
  /** Whether it has float64 room (low words, twice the histograms). */
  readonly wide: boolean;
  readonly keys: Uint32Array;
  readonly keys2: Uint32Array;
  readonly lows: Uint32Array;
  readonly lows2: Uint32Array;
  readonly idx: Int32Array;
  readonly idx2: Int32Array;
  readonly hist: Uint32Array;
  /** The merge sort's values (sign applied). */
  readonly values: Float64Array;
  readonly heapKeys: Float64Array;
  readonly heapIdx: Int32Array;
}

type KeyKind = 'float32' | 'float64' | 'int32' | 'uint32';

function keyKind(x: TypedArray): KeyKind {
  if (x instanceof Float32Array) return 'float32';
  if (x instanceof Float64Array) return 'float64';
  if (x instanceof Int32Array) return 'int32';
  if (x instanceof Uint32Array) return 'uint32';
  throw new TypeError('argsort: cannot sort a bool tensor');
}

/** The 32-bit words of a float array (a view; float64's low word first, as the platform stores it). */
function wordsOf(x: TypedArray): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.byteLength / 4);
}

/**
 * A kernel writing the stable ascending (or descending) argsort of each row of an x of `shape`
 * along its last axis, its first `k` positions per row (default all), into `out` (int32, rows x k).
 *
 * @example
 * const run = prepareArgsort([2, 3], false);
 * run(Float32Array.of(3, 1, 2, NaN, 0, -1), out); // out: [1, 2, 0, 2, 1, 0]
 * const top = prepareArgsort([2, 3], true, 1);
 * top(Float32Array.of(3, 1, 2, NaN, 0, -1), out1); // out1: [0, 0]
 */
export function prepareArgsort(shape: Shape, descending: boolean, k?: number): (x: TypedArray, out: Int32Array) => void {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1];
  const kk = k ?? n;
  const rows = n === 0 ? 0 : sizeOf(shape) / n;
  const select = kk * SELECT_RATIO <= n;
  const bits = n >= RADIX11_MIN ? 11 : 8;
  let scratch: Scratch | undefined;
  let wordsSource: ArrayBufferLike | undefined;
  let wordsOffset = -1;
  let wordsLength = -1;
  let words: Uint32Array | undefined;
  return (x, out) => {
    if (rows === 0 || kk === 0) return;
    const kind = keyKind(x);
    if (!scratch || (kind === 'float64' && !scratch.wide)) scratch = makeScratch(n, kk, select, bits, kind === 'float64');
    const s = scratch;
    if (select) {
      for (let r = 0; r < rows; r++) selectRow(x, r * n, n, kk, descending, s.heapKeys, s.heapIdx, out, r * kk);
      return;
    }
    if (kind === 'float32' || kind === 'float64') {
      if (x.buffer !== wordsSource || x.byteOffset !== wordsOffset || x.length !== wordsLength) {
        words = wordsOf(x);
        [wordsSource, wordsOffset, wordsLength] = [x.buffer, x.byteOffset, x.length];
      }
    }
    const merge = n <= (kind === 'float64' ? MERGE64_MAX : MERGE_MAX);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      if (merge) mergeRow(x, base, n, kk, descending, s.values, s.idx, s.idx2, out, r * kk);
      else if (kind === 'float64') sortRow64(words as Uint32Array, base, n, kk, descending, bits, s, out, r * kk);
      else sortRow32(x, words, kind, base, n, kk, descending, bits, s, out, r * kk);
    }
  };
}

function makeScratch(n: number, k: number, select: boolean, bits: number, wide: boolean): Scratch {
  const m = select ? 0 : n;
  const digits = Math.ceil(32 / bits) * (wide ? 2 : 1);
  return {
    wide,
    keys: new Uint32Array(m),
    keys2: new Uint32Array(m),
    lows: new Uint32Array(wide ? m : 0),
    lows2: new Uint32Array(wide ? m : 0),
    idx: new Int32Array(m),
    idx2: new Int32Array(m),
    hist: new Uint32Array(select || n <= MERGE_MAX ? 0 : digits * (1 << bits)),
    values: new Float64Array(select || n > MERGE64_MAX ? 0 : n),
    heapKeys: new Float64Array(select ? k : 0),
    heapIdx: new Int32Array(select ? k : 0),
  };
}

/** Fills `keys[0..n)` with a row of 32-bit values' keys and `idx[0..n)` with 0..n-1. */
function keys32(x: TypedArray, words: Uint32Array | undefined, kind: KeyKind, base: number, n: number, descending: boolean, keys: Uint32Array, idx: Int32Array): void {
  const flip = descending ? 0xffffffff : 0;
  if (kind === 'float32') {
    const w = words as Uint32Array;
    for (let i = 0; i < n; i++) {
      const b = w[base + i];
      const m = b & 0x7fffffff;
      // Negatives inverted, the rest with the sign bit set; -0 as +0, every NaN above +Infinity.
      const key = m > 0x7f800000 ? 0xffffffff : m === 0 ? 0x80000000 : b !== m ? ~b : b | 0x80000000;
      keys[i] = key ^ flip;
      idx[i] = i;
    }
  } else if (kind === 'int32') {
    for (let i = 0; i < n; i++) {
      keys[i] = (x[base + i] as number) ^ 0x80000000 ^ flip;
      idx[i] = i;
    }
  } else {
    for (let i = 0; i < n; i++) {
      keys[i] = (x[base + i] as number) ^ flip;
      idx[i] = i;
    }
  }
}

/** Counts the digits (`bits` wide, from the lowest) of `keys[0..n)` into `hist` at `at` (one row of 2^bits per digit). */
function countDigits(keys: Uint32Array, n: number, bits: number, hist: Uint32Array, at: number): void {
  const R = 1 << bits;
  const mask = R - 1;
  if (bits === 8) {
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      hist[at + (key & 255)]++;
      hist[at + 256 + ((key >>> 8) & 255)]++;
      hist[at + 512 + ((key >>> 16) & 255)]++;
      hist[at + 768 + (key >>> 24)]++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const key = keys[i];
      hist[at + (key & mask)]++;
      hist[at + R + ((key >>> bits) & mask)]++;
      hist[at + 2 * R + (key >>> (2 * bits))]++;
    }
  }
}

/** Turns histogram row `hist[at..at+R)` into exclusive starting offsets, in place. */
function offsets(hist: Uint32Array, at: number, R: number): void {
  let sum = 0;
  for (let b = at; b < at + R; b++) {
    const c = hist[b];
    hist[b] = sum;
    sum += c;
  }
}

/**
 * One stable counting-sort pass by the digit at `shift`: (key, index) pairs from src to dst (their
 * keys only when `dstKeys` is given), positions from `pos` (exclusive offsets, advanced).
 */
function pass(
  srcKeys: Uint32Array,
  srcIdx: Int32Array,
  n: number,
  shift: number,
  mask: number,
  pos: Uint32Array,
  at: number,
  dstKeys: Uint32Array | null,
  dstIdx: Int32Array,
  dstBase: number,
): void {
  if (dstKeys) {
    for (let i = 0; i < n; i++) {
      const key = srcKeys[i];
      const p = pos[at + ((key >>> shift) & mask)]++;
      dstKeys[p] = key;
      dstIdx[p] = srcIdx[i];
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = pos[at + ((srcKeys[i] >>> shift) & mask)]++;
      dstIdx[dstBase + p] = srcIdx[i];
    }
  }
}

/** A float64 pass by a digit of the low words, carrying the high words along. */
function passLow(
  srcLows: Uint32Array,
  srcKeys: Uint32Array,
  srcIdx: Int32Array,
  n: number,
  shift: number,
  mask: number,
  pos: Uint32Array,
  at: number,
  dstLows: Uint32Array,
  dstKeys: Uint32Array,
  dstIdx: Int32Array,
): void {
  for (let i = 0; i < n; i++) {
    const low = srcLows[i];
    const p = pos[at + ((low >>> shift) & mask)]++;
    dstLows[p] = low;
    dstKeys[p] = srcKeys[i];
    dstIdx[p] = srcIdx[i];
  }
}

/** The digits of one 32-bit word that differ between keys: [histogram row offset, shift] pairs. */
function activeDigits(keys: Uint32Array, n: number, bits: number, hist: Uint32Array, at: number, out: number[]): void {
  const R = 1 << bits;
  const mask = R - 1;
  const first = keys[0];
  for (let d = 0, shift = 0; shift < 32; d++, shift += bits) {
    const row = at + d * R;
    if (hist[row + ((first >>> shift) & mask)] !== n) out.push(row, shift);
  }
}

function sortRow32(
  x: TypedArray,
  words: Uint32Array | undefined,
  kind: KeyKind,
  base: number,
  n: number,
  k: number,
  descending: boolean,
  bits: number,
  s: Scratch,
  out: Int32Array,
  outBase: number,
): void {
  const keys = s.keys;
  const idx = s.idx;
  keys32(x, words, kind, base, n, descending, keys, idx);
  const { hist } = s;
  hist.fill(0);
  countDigits(keys, n, bits, hist, 0);
  const digits: number[] = [];
  activeDigits(keys, n, bits, hist, 0, digits);
  // R by name: esbuild 0.27 misreads `1 << bits, hist, out` in an argument list as type parameters.
  const R = 1 << bits;
  keyPasses(keys, idx, s.keys2, s.idx2, n, k, digits, R, hist, out, outBase);
}

/**
 * The counting-sort passes over one word of keys, one per active digit (`digits`: histogram row,
 * shift pairs), ping-ponging between the two buffers; the last pass writes the indices straight into
 * `out` when all n are wanted, else the first k are copied from the last buffer.
 */
function keyPasses(
  keys: Uint32Array,
  idx: Int32Array,
  keys2: Uint32Array,
  idx2: Int32Array,
  n: number,
  k: number,
  digits: readonly number[],
  R: number,
  hist: Uint32Array,
  out: Int32Array,
  outBase: number,
): void {
  for (let d = 0; d < digits.length; d += 2) {
    offsets(hist, digits[d], R);
    const last = d === digits.length - 2;
    if (last && k === n) {
      pass(keys, idx, n, digits[d + 1], R - 1, hist, digits[d], null, out, outBase);
      return;
    }
    pass(keys, idx, n, digits[d + 1], R - 1, hist, digits[d], last ? null : keys2, idx2, 0);
    [keys, keys2] = [keys2, keys];
    [idx, idx2] = [idx2, idx];
  }
  for (let i = 0; i < k; i++) out[outBase + i] = idx[i];
}

function sortRow64(words: Uint32Array, base: number, n: number, k: number, descending: boolean, bits: number, s: Scratch, out: Int32Array, outBase: number): void {
  let keys = s.keys;
  let lows = s.lows;
  let idx = s.idx;
  const flip = descending ? 0xffffffff : 0;
  for (let i = 0; i < n; i++) {
    const lo = words[2 * (base + i)];
    const hi = words[2 * (base + i) + 1];
    const m = hi & 0x7fffffff;
    let h: number;
    let l: number;
    if (m > 0x7ff00000 || (m === 0x7ff00000 && lo !== 0)) {
      // NaN: above +Infinity, all NaNs equal.
      h = 0xffffffff;
      l = 0xffffffff;
    } else if (m === 0 && lo === 0) {
      h = 0x80000000;
      l = 0;
    } else if (hi !== m) {
      h = ~hi;
      l = ~lo;
    } else {
      h = hi | 0x80000000;
      l = lo;
    }
    keys[i] = h ^ flip;
    lows[i] = l ^ flip;
    idx[i] = i;
  }
  const { hist } = s;
  const R = 1 << bits;
  const perWord = Math.ceil(32 / bits) * R;
  hist.fill(0);
  countDigits(lows, n, bits, hist, 0);
  countDigits(keys, n, bits, hist, perWord);
  const lowDigits: number[] = [];
  const highDigits: number[] = [];
  activeDigits(lows, n, bits, hist, 0, lowDigits);
  activeDigits(keys, n, bits, hist, perWord, highDigits);
  const mask = R - 1;
  let keys2 = s.keys2;
  let lows2 = s.lows2;
  let idx2 = s.idx2;
  for (let d = 0; d < lowDigits.length; d += 2) {
    offsets(hist, lowDigits[d], R);
    if (d === lowDigits.length - 2 && highDigits.length === 0) {
      // The last pass of all: straight to the indices (no high word differs).
      if (k === n) {
        pass(lows, idx, n, lowDigits[d + 1], mask, hist, lowDigits[d], null, out, outBase);
        return;
      }
      pass(lows, idx, n, lowDigits[d + 1], mask, hist, lowDigits[d], null, idx2, 0);
      for (let i = 0; i < k; i++) out[outBase + i] = idx2[i];
      return;
    }
    passLow(lows, keys, idx, n, lowDigits[d + 1], mask, hist, lowDigits[d], lows2, keys2, idx2);
    [lows, lows2] = [lows2, lows];
    [keys, keys2] = [keys2, keys];
    [idx, idx2] = [idx2, idx];
  }
  keyPasses(keys, idx, keys2, idx2, n, k, highDigits, R, hist, out, outBase);
}

/**
 * A row's first k sorted positions by a merge sort of its values (negated for a descending sort,
 * so one ascending comparison serves both): the NaNs are moved to the end (ascending) or the front
 * (descending) in their order, the rest sorted by a bottom-up merge sort over insertion-sorted
 * runs. Both keep equal values in their order; -0 and +0 compare equal.
 */
function mergeRow(x: TypedArray, base: number, n: number, k: number, descending: boolean, keys: Float64Array, work: Int32Array, spare: Int32Array, out: Int32Array, outBase: number): void {
  const sign = descending ? -1 : 1;
  let nans = 0;
  for (let i = 0; i < n; i++) {
    const v = x[base + i] as number;
    keys[i] = sign * v;
    if (v !== v) nans++;
  }
  // The values other than NaN go to [lo, hi); the NaNs after them (ascending) or before them.
  const lo = descending ? nans : 0;
  const hi = descending ? n : n - nans;
  if (nans === 0) {
    for (let i = 0; i < n; i++) work[i] = i;
  } else {
    let number = lo;
    let nan = descending ? 0 : hi;
    for (let i = 0; i < n; i++) {
      if (keys[i] !== keys[i]) work[nan++] = i;
      else work[number++] = i;
    }
  }
  const sorted = mergeSort(keys, work, spare, lo, hi);
  const [a, b] = [Math.min(lo, k), Math.min(hi, k)];
  for (let i = 0; i < a; i++) out[outBase + i] = work[i];
  for (let i = a; i < b; i++) out[outBase + i] = sorted[i];
  for (let i = b; i < k; i++) out[outBase + i] = work[i];
}

/**
 * Sorts the indices `a[lo..hi)` by `keys` (ascending, stable), using `b` as the other buffer of the
 * merges; returns whichever of the two holds the result.
 */
function mergeSort(keys: Float64Array, a: Int32Array, b: Int32Array, lo: number, hi: number): Int32Array {
  for (let s = lo; s < hi; s += RUN) {
    const e = Math.min(s + RUN, hi);
    for (let i = s + 1; i < e; i++) {
      const t = a[i];
      const v = keys[t];
      let j = i - 1;
      // Only past strictly larger keys: equal ones keep their order.
      while (j >= s && keys[a[j]] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = t;
    }
  }
  let src = a;
  let dst = b;
  for (let width = RUN; width < hi - lo; width *= 2) {
    for (let s = lo; s < hi; s += 2 * width) {
      const m = Math.min(s + width, hi);
      const e = Math.min(s + 2 * width, hi);
      let i = s;
      let j = m;
      let o = s;
      while (i < m && j < e) {
        // The right run's element goes first only when strictly smaller: stable.
        if (keys[src[j]] < keys[src[i]]) dst[o++] = src[j++];
        else dst[o++] = src[i++];
      }
      while (i < m) dst[o++] = src[i++];
      while (j < e) dst[o++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/**
 * Whether the pair (a, i) comes after (b, j) in the sort order of the (sign-applied) values: NaN
 * last when `nanLast` (ascending), first otherwise (descending: NaN is the largest value).
 */
function after(a: number, i: number, b: number, j: number, nanLast: boolean): boolean {
  if (a > b) return true;
  if (a < b) return false;
  // Equal numbers (±0 among them), or a NaN on either side.
  const nanA = a !== a;
  if (nanA === (b !== b)) return i > j;
  return nanA === nanLast;
}

/**
 * The first k positions of a row's stable sort, by a bounded max-heap of the k first (value, index)
 * pairs seen (values negated for a descending sort, NaNs after every number ascending and before
 * every number descending; -0 equal to +0).
 */
function selectRow(x: TypedArray, base: number, n: number, k: number, descending: boolean, hk: Float64Array, hi: Int32Array, out: Int32Array, outBase: number): void {
  const sign = descending ? -1 : 1;
  // The first k values, heapified (the worst pair at the root).
  for (let i = 0; i < k; i++) {
    hk[i] = sign * (x[base + i] as number);
    hi[i] = i;
  }
  const nanLast = !descending;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(hk, hi, i, k, nanLast);
  let worst = hk[0];
  // A pair enters only when strictly before the root (an equal value, or a NaN after a NaN, has a
  // larger index). Ascending a NaN never is, and every number is before a NaN root; descending a
  // NaN is before every number, and nothing is before a NaN root (so the row is done).
  if (nanLast) {
    for (let i = k; i < n; i++) {
      const v = x[base + i] as number;
      if (v < worst || (worst !== worst && v === v)) {
        hk[0] = v;
        hi[0] = i;
        siftDown(hk, hi, 0, k, true);
        worst = hk[0];
      }
    }
  } else {
    for (let i = k; i < n && worst === worst; i++) {
      const v = -(x[base + i] as number);
      if (v < worst || v !== v) {
        hk[0] = v;
        hi[0] = i;
        siftDown(hk, hi, 0, k, false);
        worst = hk[0];
      }
    }
  }
  // Empty the heap from the back: each pop is the last of what is left.
  for (let size = k; size > 0; size--) {
    out[outBase + size - 1] = hi[0];
    hk[0] = hk[size - 1];
    hi[0] = hi[size - 1];
    siftDown(hk, hi, 0, size - 1, nanLast);
  }
}

function siftDown(hk: Float64Array, hi: Int32Array, at: number, size: number, nanLast: boolean): void {
  const v = hk[at];
  const t = hi[at];
  let p = at;
  for (;;) {
    let c = 2 * p + 1;
    if (c >= size) break;
    if (c + 1 < size && after(hk[c + 1], hi[c + 1], hk[c], hi[c], nanLast)) c++;
    if (!after(hk[c], hi[c], v, t, nanLast)) break;
    hk[p] = hk[c];
    hi[p] = hi[c];
    p = c;
  }
  hk[p] = v;
  hi[p] = t;
}

/**
 * The `argsort` primitive's eager kernel: a fresh int32 array of rows x k (k default all of the row).
 *
 * @example
 * argsort(Int32Array.of(2, 2, 1), [3], false); // Int32Array [2, 0, 1]
 * argsort(Int32Array.of(2, 2, 1), [3], true, 1); // Int32Array [0]
 */
export function argsort(x: TypedArray, shape: Shape, descending: boolean, k?: number): Int32Array {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1];
  const kk = k ?? n;
  const out = new Int32Array(n === 0 ? 0 : (sizeOf(shape) / n) * kk);
  prepareArgsort(shape, descending, kk)(x, out);
  return out;
}
