/**
 * Threefry-2x32 (20 rounds), the WGSL twin of `src/tensor/threefry.ts`: JAX's
 * `threefry_2x32(key, counts)` splits the counts into two halves (the second padded with a zero when
 * the count is odd) and encrypts the pairs `(counts[i], counts[half + i])`. One invocation per pair.
 * Also the bit-exact float32 uniform of JAX: the top 23 bits as the mantissa of a float in [1, 2),
 * minus one.
 *
 * With a batch of keys (`key` holding `rows` keys), the counts are `rows` consecutive segments of
 * `n`, segment r hashed with key r.
 *
 * params: `[n, rows, keyOffset, keyStride]` (n per row; `threefryWgsl`).
 */
import { binding, ENTRY_1D, PRELUDE, rangesMain } from './common';

const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
];

/** The 20 rounds, unrolled: 5 groups of 4 rotations, each followed by a key injection. */
function rounds(): string {
  const lines: string[] = [];
  for (let group = 0; group < 5; group++) {
    for (const r of ROTATIONS[group % 2]) {
      lines.push(`  a += b; b = (b << ${r}u) | (b >> ${32 - r}u); b ^= a;`);
    }
    lines.push(`  a += ks[${(group + 1) % 3}]; b += ks[${(group + 2) % 3}] + ${group + 1}u;`);
  }
  return lines.join('\n');
}

/**
 * The WGSL of the threefry kernel: row r's key is `key[keyOffset + r · keyStride]` and the word after
 * it (params `[n, rows, keyOffset, keyStride]`; a jit plan reads a split key in place this way). With
 * `uniform`, each word is stored as JAX's float32 uniform instead (a plan's `threefry` whose bits
 * only `uniformFromBits` reads): the same floats, one kernel.
 *
 * @example
 * threefryWgsl(false); // u32 words
 */
export function threefryWgsl(uniform: boolean): string {
  return `${PRELUDE}
${binding(1, 'out', uniform ? 'f32' : 'u32', 'read_write')}
${binding(2, 'key', 'u32', 'read')}
${binding(3, 'counts', 'u32', 'read')}
${BLOCK}
${ENTRY_1D}
  if (i >= (params[0] + 1u) / 2u * params[1]) { return; }
${pairAt('i', 0, { out: 'out', key: 'key', counts: 'counts' }, uniform)}
}
`;
}

/** One member of a sibling threefry kernel: which inputs hold its key and counts, and whether it stores uniforms. */
export interface SiblingThreefry {
  readonly key: number;
  readonly counts: number;
  readonly uniform: boolean;
}

/**
 * The WGSL of independent threefry steps in one kernel (a jit plan's siblings): invocation `g` runs
 * member j where `ends[j-1] <= g < ends[j]` (the members' cumulative pair counts), at pair
 * `g - ends[j-1]`. Member j reads its key and counts from the kernel's inputs (`x{key}`, `x{counts}`;
 * a split key or counts several members read are bound once) and writes its own output.
 *
 * Bindings: params; member 0's output; the inputs; the outputs of members 1...
 * params: `[ends[members], then per member j at members + 4j: n, rows, keyOffset, keyStride]`.
 *
 * @example
 * // the uniforms of two rows of one split key, one dispatch
 * threefrySiblingsWgsl([{ key: 0, counts: 1, uniform: true }, { key: 0, counts: 1, uniform: true }], 2);
 */
export function threefrySiblingsWgsl(members: readonly SiblingThreefry[], inputs: number): string {
  const outName = (j: number) => (j === 0 ? 'out' : `out${j}`);
  const bindings = [
    binding(1, 'out', members[0].uniform ? 'f32' : 'u32', 'read_write'),
    ...Array.from({ length: inputs }, (_, k) => binding(2 + k, `x${k}`, 'u32', 'read')),
    ...members.slice(1).map((m, j) => binding(2 + inputs + j, outName(j + 1), m.uniform ? 'f32' : 'u32', 'read_write')),
  ];
  const bodies = members.map((m, j) => pairAt('i', members.length + 4 * j, { out: outName(j), key: `x${m.key}`, counts: `x${m.counts}` }, m.uniform));
  return `${PRELUDE}
${bindings.join('\n')}
${BLOCK}
${rangesMain(bodies)}`;
}

const BLOCK = `
fn block(k0: u32, k1: u32, x0: u32, x1: u32) -> vec2u {
  let ks = array<u32, 3>(k0, k1, k0 ^ k1 ^ 0x1bd11bdau);
  var a = x0 + k0;
  var b = x1 + k1;
${rounds()}
  return vec2u(a, b);
}
`;

/**
 * Hashing pair `i` (below `(n + 1) / 2 · rows`) with the params `[n, rows, keyOffset, keyStride]`
 * at `at`: row r's key at `key[keyOffset + r · keyStride]`, its counts and outputs the segment r · n.
 */
function pairAt(i: string, at: number, names: { readonly out: string; readonly key: string; readonly counts: string }, uniform: boolean): string {
  const store = (word: string) => (uniform ? `bitcast<f32>((${word} >> 9u) | 0x3f800000u) - 1.0` : word);
  const { out, key, counts } = names;
  return `  let n = params[${at}u];
  let half = (n + 1u) / 2u;
  let row = ${i} / half;
  let j = ${i} - row * half;
  let base = row * n;
  let second = half + j < n;
  let k = params[${at + 2}u] + row * params[${at + 3}u];
  let r = block(${key}[k], ${key}[k + 1u], ${counts}[base + j], select(0u, ${counts}[base + min(half + j, n - 1u)], second));
  ${out}[base + j] = ${store('r.x')};
  if (second) { ${out}[base + half + j] = ${store('r.y')}; }`;
}

export const UNIFORM_F32_WGSL = `${PRELUDE}
${binding(1, 'out', 'f32', 'read_write')}
${binding(2, 'bits', 'u32', 'read')}
${ENTRY_1D}
  if (i >= params[0]) { return; }
  out[i] = bitcast<f32>((bits[i] >> 9u) | 0x3f800000u) - 1.0;
}
`;
