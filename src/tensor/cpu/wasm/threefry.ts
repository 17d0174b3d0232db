/**
 * JAX's `threefry_2x32` hash of counters (`../../threefry.ts`, `threefryHashInto`) as a WebAssembly
 * kernel for jit plans: counter pairs (i, half + i) go through the 20 rounds four at a time in i32x4
 * lanes (a rotation is a shift left or'ed with a shift right: SIMD has no rotate), the pairs left
 * over one at a time with `i32.rotl`. Integer arithmetic, so the words are the JS hash's exactly.
 * Their float32 uniforms too (`unitFloat32`, `bitsToUnitFloat32Into`'s exact m / 2^23).
 */
import { KS_PARITY, ROTATIONS } from '../../threefry';
import { Code, type FunctionDef, i32, v128 } from './emit';

/** The kernel's signature (addresses in bytes). */
export interface ThreefryExports {
  /**
   * `out[i], out[half + i] = threefry2x32(key, counts[i], counts[half + i])` for i < half = ⌈n / 2⌉
   * (an odd n's last counter paired with 0, its second word dropped), the key's two words at `key`.
   */
  threefry(key: number, counts: number, out: number, n: number): void;
  /**
   * `out[i] = (bits[i] >>> 9) / 2^23` for i < n rounded up to a multiple of 4 (regions are padded
   * to 16 bytes): float32 uniforms in [0, 1), exact, so the JS kernel's bits.
   */
  unitFloat32(bits: number, out: number, n: number): void;
}

/** The integer operations of one lane kind: four counters in an i32x4, or one in an i32. */
interface Lanes {
  add(c: Code): void;
  xor(c: Code): void;
  rotl(c: Code, local: number, bits: number): void;
  /** Adds the scalar on the stack to every lane of the value under it. */
  addScalar(c: Code): void;
}

const VECTOR: Lanes = {
  add: (c) => c.simd('i32x4.add'),
  xor: (c) => c.simd('v128.xor'),
  rotl: (c, local, bits) => c.get(local).i32(bits).simd('i32x4.shl').get(local).i32(32 - bits).simd('i32x4.shr_u').simd('v128.or'),
  addScalar: (c) => c.simd('i32x4.splat').simd('i32x4.add'),
};

const SCALAR: Lanes = {
  add: (c) => c.op('i32.add'),
  xor: (c) => c.op('i32.xor'),
  rotl: (c, local, bits) => c.get(local).i32(bits).op('i32.rotl'),
  addScalar: (c) => c.op('i32.add'),
};

/** The 20 rounds and key injections on (a, b), which hold the counters plus (ks0, ks1) on entry. */
function rounds(c: Code, lanes: Lanes, a: number, b: number, ks: readonly number[]): void {
  for (let group = 0; group < 5; group++) {
    for (const bits of ROTATIONS[group % 2]) {
      // a += b; b = rotl(b, bits) ^ a
      c.get(a).get(b);
      lanes.add(c);
      c.set(a);
      lanes.rotl(c, b, bits);
      c.get(a);
      lanes.xor(c);
      c.set(b);
    }
    c.get(a).get(ks[(group + 1) % 3]);
    lanes.addScalar(c);
    c.set(a);
    c.get(b).get(ks[(group + 2) % 3]).i32(group + 1).op('i32.add');
    lanes.addScalar(c);
    c.set(b);
  }
}

function threefry(): FunctionDef {
  const c = new Code(4);
  const [KEY, COUNTS, OUT, N] = [0, 1, 2, 3];
  const [half, pairs, i, first, second] = Array.from({ length: 5 }, () => c.local(i32));
  const ks = [c.local(i32), c.local(i32), c.local(i32)];
  const [va, vb] = [c.local(v128), c.local(v128)];
  const [sa, sb] = [c.local(i32), c.local(i32)];
  c.get(KEY).mem('i32.load').set(ks[0]);
  c.get(KEY).mem('i32.load', 4).set(ks[1]);
  c.get(ks[0]).get(ks[1]).op('i32.xor').i32(KS_PARITY).op('i32.xor').set(ks[2]);
  c.get(N).i32(1).op('i32.add').i32(1).op('i32.shr_u').set(half);
  c.get(N).i32(1).op('i32.shr_u').set(pairs);
  /** first = address of element i of `base`; second = of element half + i. */
  const addresses = (base: number) => {
    c.get(base).get(i).i32(2).op('i32.shl').op('i32.add').set(first);
    c.get(first).get(half).i32(2).op('i32.shl').op('i32.add').set(second);
  };
  // Four pairs at a time while their second counters all exist (i + 4 <= ⌊n / 2⌋).
  c.i32(0).set(i);
  c.while(
    () => c.get(i).i32(4).op('i32.add').get(pairs).op('i32.le_s'),
    () => {
      addresses(COUNTS);
      c.get(first).simd('v128.load').get(ks[0]).simd('i32x4.splat').simd('i32x4.add').set(va);
      c.get(second).simd('v128.load').get(ks[1]).simd('i32x4.splat').simd('i32x4.add').set(vb);
      rounds(c, VECTOR, va, vb, ks);
      addresses(OUT);
      c.get(first).get(va).simd('v128.store');
      c.get(second).get(vb).simd('v128.store');
      c.addTo(i, 4);
    },
  );
  // The rest one at a time; an odd n's last counter is paired with 0.
  c.while(
    () => c.get(i).get(half).op('i32.lt_s'),
    () => {
      addresses(COUNTS);
      c.get(first).mem('i32.load').get(ks[0]).op('i32.add').set(sa);
      c.get(ks[1]).set(sb);
      c.when(
        () => c.get(half).get(i).op('i32.add').get(N).op('i32.lt_s'),
        () => c.get(second).mem('i32.load').get(ks[1]).op('i32.add').set(sb),
      );
      rounds(c, SCALAR, sa, sb, ks);
      addresses(OUT);
      c.get(first).get(sa).mem('i32.store');
      c.when(
        () => c.get(half).get(i).op('i32.add').get(N).op('i32.lt_s'),
        () => c.get(second).get(sb).mem('i32.store'),
      );
      c.addTo(i, 1);
    },
  );
  return { name: 'threefry', params: [i32, i32, i32, i32], code: c };
}

function unitFloat32(): FunctionDef {
  const c = new Code(3);
  const [BITS, OUT, N] = [0, 1, 2];
  const [offset, end, scale] = [c.local(i32), c.local(i32), c.local(v128)];
  c.get(N).i32(2).op('i32.shl').set(end);
  c.f32(2 ** -23).simd('f32x4.splat').set(scale);
  c.i32(0).set(offset);
  c.while(
    () => c.get(offset).get(end).op('i32.lt_s'),
    () => {
      c.get(OUT).get(offset).op('i32.add');
      c.get(BITS).get(offset).op('i32.add').simd('v128.load').i32(9).simd('i32x4.shr_u');
      c.simd('f32x4.convert_i32x4_s').get(scale).simd('f32x4.mul').simd('v128.store');
      c.addTo(offset, 16);
    },
  );
  return { name: 'unitFloat32', params: [i32, i32, i32], code: c };
}

/** The kernels of this module, for `wasmModule`. */
export const THREEFRY_FUNCTIONS: readonly (() => FunctionDef)[] = [threefry, unitFloat32];
