/**
 * Threefry-2x32 (20 rounds), the counter-based generator of Salmon et al. (2011, Random123), and the
 * key derivation scheme of JAX's original (non-"partitionable") PRNG, on plain numbers.
 *
 * This file has no tensor dependency so that environments, replay buffers and the CPU backend can
 * all share one bit-exact implementation; `shaders/threefry.ts` is its WGSL twin.
 */

import { ArgumentError } from './errors';

/** A raw PRNG key: two unsigned 32-bit words, `[hi, lo]` as in JAX's `PRNGKey`. */
export type RawKey = Uint32Array;

/** Threefry's key-schedule parity constant. */
export const KS_PARITY = 0x1bd11bda;

/** The rotations of Threefry-2x32's rounds, by group of four (Salmon et al.'s R_{2x32}); groups alternate. */
export const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
] as const;

/** Four rounds of Threefry-2x32's mix with rotations r0..r3 (int32 arithmetic, wrapping). */
const ROUNDS = (r: readonly number[]) =>
  r.map((k) => `a = (a + b) | 0; b = ((b << ${k}) | (b >>> ${32 - k})) ^ a;`).join(' ');

/**
 * One Threefry-2x32 block: encrypts the counter pair `(x0, x1)` under the key `(k0, k1)`.
 * Writes the two output words to `out[0]`, `out[1]`. The 20 rounds (5 groups of 4, rotations
 * 13 15 26 6 / 17 29 16 24, a key injection after each group) are unrolled once at load, with no
 * array or allocation per block.
 *
 * @example
 * const out = new Uint32Array(2);
 * threefry2x32Block(0, 0, 0, 0, out); // out = [0x6b200159, 0x99ba4efe] (Random123 known answer)
 */
export const threefry2x32Block = new Function(
  'k0',
  'k1',
  'x0',
  'x1',
  'out',
  [
    `const ks0 = k0 | 0, ks1 = k1 | 0, ks2 = ks0 ^ ks1 ^ ${KS_PARITY};`,
    'let a = (x0 + ks0) | 0, b = (x1 + ks1) | 0;',
    ...[0, 1, 2, 3, 4].map((group) => {
      const rounds = ROUNDS(ROTATIONS[group % 2]);
      return `${rounds} a = (a + ks${(group + 1) % 3}) | 0; b = (b + ks${(group + 2) % 3} + ${group + 1}) | 0;`;
    }),
    'out[0] = a; out[1] = b;',
  ].join('\n'),
) as (k0: number, k1: number, x0: number, x1: number, out: Uint32Array) => void;

/**
 * JAX's `threefry_2x32(key, count)`: the counter array is split into two halves (padded with one zero
 * when its length is odd), each pair `(first[i], second[i])` is encrypted, and the two output halves are
 * concatenated (dropping the pad).
 *
 * @example
 * threefryHash(key(0), Uint32Array.of(0, 1, 2, 3)); // the words of split(key(0), 2)
 */
export function threefryHash(key: RawKey, counts: Uint32Array): Uint32Array {
  const out = new Uint32Array(counts.length);
  threefryHashInto(key, counts, out);
  return out;
}

const pair = new Uint32Array(2);

/**
 * `threefryHash` writing into `out` (of the counts' length), for callers that reuse buffers. With
 * `rows` keys (`key` of length `2 * rows`, as the batched `threefry` primitive takes), the counts are
 * `rows` equal consecutive segments and segment r is hashed with key r, each as its own call.
 *
 * @example
 * threefryHashInto(key(0), Uint32Array.of(0, 1, 2, 3), out);
 */
export function threefryHashInto(key: RawKey, counts: Uint32Array, out: Uint32Array): void {
  const rows = key.length >> 1;
  if (rows <= 1) {
    hashRow(key[0], key[1], counts, 0, counts.length, out);
    return;
  }
  const n = counts.length / rows;
  for (let r = 0; r < rows; r++) hashRow(key[2 * r], key[2 * r + 1], counts, r * n, n, out);
}

function hashRow(k0: number, k1: number, counts: Uint32Array, offset: number, n: number, out: Uint32Array): void {
  const half = (n + 1) >> 1;
  for (let i = 0; i < half; i++) {
    const second = half + i < n ? counts[offset + half + i] : 0;
    threefry2x32Block(k0, k1, counts[offset + i], second, pair);
    out[offset + i] = pair[0];
    if (half + i < n) out[offset + half + i] = pair[1];
  }
}

/** `threefryHash` over the counters `0, 1, ..., n - 1` (JAX's `random_bits` with 32-bit width). */
function threefryIota(key: RawKey, n: number): Uint32Array {
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[i] = i;
  return threefryHash(key, counts);
}

/**
 * A key from an integer seed, as JAX's `PRNGKey(seed)`: `[hi, lo]` words of the seed's 64-bit
 * two's-complement form. Seeds must be safe integers.
 *
 * @example
 * rawKey(0); // Uint32Array [0, 0]
 * rawKey(-1); // Uint32Array [4294967295, 4294967295]
 */
export function rawKey(seed: number): RawKey {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`key: seed must be a safe integer, got ${seed}`);
  }
  const lo = Number(BigInt.asUintN(32, BigInt(seed)));
  const hi = Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
  return Uint32Array.of(hi, lo);
}

/**
 * Splits a key into `n` new keys (JAX's original scheme): row i of the result is key i.
 *
 * @example
 * rawSplit(rawKey(0), 2); // [[4146024105, 967050713], [2718843009, 1272950319]]
 */
export function rawSplit(key: RawKey, n = 2): RawKey[] {
  const words = threefryIota(key, 2 * n);
  const keys: RawKey[] = [];
  for (let i = 0; i < n; i++) keys.push(words.slice(2 * i, 2 * i + 2));
  return keys;
}

/**
 * Folds a 32-bit integer into a key (JAX's `fold_in`): a new key that depends on both.
 *
 * @example
 * const episodeKey = rawFoldIn(rawKey(7), episodeIndex);
 */
export function rawFoldIn(key: RawKey, data: number): RawKey {
  if (!Number.isInteger(data)) throw new RangeError(`foldIn: data must be an integer, got ${data}`);
  return threefryHash(key, Uint32Array.of(0, data >>> 0));
}

/** Float32 uniforms in [0, 1) from 32 random bits each, bit-exact with JAX's `uniform` for float32. */
export function bitsToUnitFloat32(bits: Uint32Array): Float32Array {
  const out = new Float32Array(bits.length);
  bitsToUnitFloat32Into(bits, out);
  return out;
}

/**
 * `bitsToUnitFloat32` writing into `out`. JAX builds the float 1.m from the top 23 bits and subtracts
 * one; the result, m / 2^23, is computed here directly (it is exact in float32, so the bits agree).
 *
 * @example
 * bitsToUnitFloat32Into(bits, out);
 */
export function bitsToUnitFloat32Into(bits: Uint32Array, out: Float32Array): void {
  for (let i = 0; i < bits.length; i++) out[i] = (bits[i] >>> 9) * 2 ** -23;
}

/**
 * Float64 uniforms in [0, 1) from 64 random bits each (JAX with x64 enabled: the first half of the
 * words are the high halves). Only the top 52 bits are used, as JAX does.
 */
export function bitsToUnitFloat64(bits: Uint32Array): Float64Array {
  const out = new Float64Array(bits.length >> 1);
  bitsToUnitFloat64Into(bits, out);
  return out;
}

/**
 * `bitsToUnitFloat64` writing into `out`: m / 2^52 for the top 52 bits m of (hi:lo), which equals
 * JAX's 1.m - 1 exactly.
 *
 * @example
 * bitsToUnitFloat64Into(bits, out);
 */
export function bitsToUnitFloat64Into(bits: Uint32Array, out: Float64Array): void {
  const n = bits.length >> 1;
  for (let i = 0; i < n; i++) {
    const hi = bits[i];
    const lo = bits[n + i];
    // (hi:lo) >> 12 as 20 high bits and 32 low bits.
    const mantLo = ((hi << 20) | (lo >>> 12)) >>> 0;
    out[i] = ((hi >>> 12) * 4294967296 + mantLo) * 2 ** -52;
  }
}

/**
 * Throws unless `key` is a raw key, naming `where` (a key tensor read on the host would otherwise
 * be taken for the key [0, 0], its words not being indexable like a Uint32Array's).
 *
 * @example
 * checkRawKey('Box.sample', rawKey(1)); // passes
 * checkRawKey('Box.sample', random.key(1)); // throws: Box.sample: needs a raw key, a Uint32Array of 2 words such as rawKey(seed) or rawFoldIn(key, i); got a key tensor (its words: key.dataSync())
 */
export function checkRawKey(where: string, key: unknown): asserts key is RawKey {
  if (key instanceof Uint32Array && key.length === 2) return;
  const got =
    key instanceof Uint32Array ? `a Uint32Array of ${key.length} words` : typeof key === 'object' && key !== null && 'dtype' in key ? 'a key tensor (its words: key.dataSync())' : key === null ? 'null' : typeof key;
  throw new ArgumentError(`${where}: needs a raw key, a Uint32Array of 2 words such as rawKey(seed) or rawFoldIn(key, i); got ${got}`);
}

/**
 * A counter-based stream of uniforms for code that works on plain numbers (environments, replay
 * sampling): draw `i` is a pure function of `(key, i)`, so a stream can be checkpointed as its key
 * and counter.
 *
 * @example
 * const stream = new UniformStream(rawKey(3));
 * const u = stream.next(); // a float64 in [0, 1)
 */
export class UniformStream {
  private counter: number;
  private readonly pair = new Uint32Array(2);
  constructor(
    readonly key: RawKey,
    counter = 0,
  ) {
    checkRawKey('UniformStream', key);
    this.counter = counter;
  }

  /** How many uniforms have been drawn; with the key, the stream's whole state. */
  get position(): number {
    return this.counter;
  }

  /** The next uniform in [0, 1) with 53 random bits. */
  next(): number {
    const i = this.counter++;
    threefry2x32Block(this.key[0], this.key[1], i >>> 0, Math.floor(i / 0x100000000) >>> 0, this.pair);
    return (this.pair[0] * 0x200000 + (this.pair[1] >>> 11)) / 0x20000000000000;
  }

  /** A uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
}
