/**
 * Fused elementwise loops as WebAssembly SIMD functions (f32x4 for float32 and int32, f64x2 for
 * float64), for `jit`'s CPU plans. Only operations whose SIMD result equals the JS kernels' bit for
 * bit are compiled: IEEE add, sub, mul, div and sqrt of two floats rounded once (the JS kernels
 * compute in float64 and round to float32, which for these is the same correctly rounded result),
 * min, max, neg, abs, floor, ceil, isFinite, comparisons (as lane masks), `where` and the logical ops
 * on masks, and the identity casts; the transcendentals (exp, expm1, log, log1p, tanh, sigmoid,
 * softplus, erfinv) as the float64 programs the eager kernels run as JS: float32's
 * (`float32-math.ts`, on each half of the lanes) and float64's (`float64-math.ts`);
 * and on int32 (beside float32), add, sub and mul wrapping as `| 0` and `Math.imul` do, min, max,
 * neg, abs, comparisons, `where`, and casts to float32 (rounded to nearest, as `Math.fround`) and
 * from booleans. A group with anything else stays a JS loop.
 */
import type { DType } from '../../dtype';
import type { Primitive } from '../../primitives';
import { FLOAT32_PROGRAMS } from '../float32-math';
import { FLOAT64_PROGRAMS, type Float64Op } from '../float64-math';
import { Code, type FunctionDef, i32, type SimdOp, v128 } from './emit';
import { f64x2Program, float32ViaF64x2, LaneConstants } from './f64x2';

/**
 * How a leaf is read for output element i: `c` at i, `s` one value, `block` at
 * ⌊i / (inner · repeat)⌋ · inner + i mod inner (a leaf `[O, 1, R]` broadcast over the middle of an
 * output `[O, M, R]`: inner = R, repeat = M; a row repeated is O = 1, a column spread is R = 1), or
 * `gather` at index[i], an int32 array at byte address `index` (any broadcast, lane by lane).
 */
export type LaneRead = { kind: 'c' | 's' } | { kind: 'block'; inner: number; repeat: number } | { kind: 'gather'; index: number };

/**
 * Whether a leaf read as `read` fills whole vectors of `dtype` (a block's vectors must stay in one row
 * for vector loads, or in one repeat of a column for splats); the others need `gather`.
 *
 * @example
 * readsWholeVectors({ kind: 'block', inner: 6, repeat: 256 }, 'float32'); // false
 */
export function readsWholeVectors(read: LaneRead, dtype: LaneDType): boolean {
  const perVector = dtype === 'float64' ? 2 : 4;
  return read.kind !== 'block' || (read.inner > 1 ? read.inner % perVector === 0 : read.repeat % perVector === 0);
}

/** The dtype of a group's output: float64 in two lanes a vector, float32 or int32 in four. */
export type LaneDType = 'float32' | 'float64' | 'int32';

/** A fused group in lanes: leaves at byte addresses, members reading leaves (`~k`) or members (j). */
export interface LaneGroup {
  readonly dtype: LaneDType;
  /** Output elements. */
  readonly size: number;
  /** Each leaf's read and address; `int` for an int32 leaf (in a group of four lanes). */
  readonly leaves: readonly (LaneRead & { readonly address: number; readonly int?: boolean })[];
  readonly members: readonly { readonly prim: Primitive; readonly inputs: readonly LaneRef[]; readonly outDtype: DType }[];
  readonly outAddress: number;
  /** Members whose values are stored too (multi-output groups), at their own addresses. */
  readonly stores?: readonly { readonly member: number; readonly address: number }[];
}
export type LaneRef = { readonly leaf: number } | { readonly member: number };

type Lanes = 'f32x4' | 'f64x2';
/** A lane value: floats of the group's float dtype, int32s (four-lane groups), or a mask (all ones where true). */
type LaneValue = 'float' | 'int' | 'mask';

/**
 * Emits one member given its arguments' locals and kinds (and the function's constants, set before
 * the loop); returns its kind, or null if unsupported.
 */
type LaneRule = (
  c: Code,
  lanes: Lanes,
  args: readonly { local: number; kind: LaneValue }[],
  out: LaneValue,
  constants: LaneConstants,
) => LaneValue | null;

const floatsOnly = (args: readonly { kind: LaneValue }[]) => args.every((a) => a.kind === 'float');
const intsOnly = (args: readonly { kind: LaneValue }[]) => args.every((a) => a.kind === 'int');

/** A unary op on floats, or on int32s with `int` (as the JS kernel stores it: `| 0`). */
const unary =
  (op: 'abs' | 'neg' | 'sqrt' | 'floor' | 'ceil', int?: 'i32x4.abs' | 'i32x4.neg'): LaneRule =>
  (c, lanes, args) => {
    if (int && intsOnly(args)) {
      c.get(args[0].local).simd(int);
      return 'int';
    }
    if (!floatsOnly(args)) return null;
    c.get(args[0].local).simd(`${lanes}.${op}` as SimdOp);
    return 'float';
  };

/** A binary op on floats, or on int32s with `int` (wrapping, as `| 0` and `Math.imul` do). */
const binary =
  (op: 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max', int?: SimdOp): LaneRule =>
  (c, lanes, args) => {
    if (int && intsOnly(args)) {
      c.get(args[0].local).get(args[1].local).simd(int);
      return 'int';
    }
    if (!floatsOnly(args)) return null;
    c.get(args[0].local).get(args[1].local).simd(`${lanes}.${op}` as SimdOp);
    return 'float';
  };

const INT_COMPARE = { eq: 'i32x4.eq', ne: 'i32x4.ne', lt: 'i32x4.lt_s', le: 'i32x4.le_s', gt: 'i32x4.gt_s', ge: 'i32x4.ge_s' } as const;

const compare = (op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'): LaneRule => (c, lanes, args) => {
  const ints = intsOnly(args);
  if (!ints && !floatsOnly(args)) return null;
  c.get(args[0].local).get(args[1].local).simd(ints ? INT_COMPARE[op] : (`${lanes}.${op}` as SimdOp));
  return 'mask';
};

const logical = (op: 'v128.and' | 'v128.or'): LaneRule => (c, _lanes, args) => {
  if (args.some((a) => a.kind !== 'mask')) return null;
  c.get(args[0].local).get(args[1].local).simd(op);
  return 'mask';
};

/** The bits of 1.0 in every lane (what a true mask casts to). */
const ones = (c: Code, lanes: Lanes) =>
  lanes === 'f32x4' ? c.v128Bits32([0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]) : c.v128Bits32([0, 0x3ff00000, 0, 0x3ff00000]);

/** +∞ in every lane. */
const infinity = (c: Code, lanes: Lanes) =>
  lanes === 'f32x4' ? c.v128Bits32([0x7f800000, 0x7f800000, 0x7f800000, 0x7f800000]) : c.v128Bits32([0, 0x7ff00000, 0, 0x7ff00000]);

/** The eager kernel's float64 program of a transcendental for the lanes' dtype. */
const programOf = (op: Float64Op, lanes: Lanes) => (lanes === 'f32x4' ? FLOAT32_PROGRAMS : FLOAT64_PROGRAMS)[op];

/** A transcendental: its program on both halves of four float32 lanes, or on two float64 lanes. */
const transcendental = (op: Float64Op): LaneRule => (c, lanes, args, _out, constants) => {
  if (!floatsOnly(args)) return null;
  if (lanes === 'f32x4') float32ViaF64x2(c, programOf(op, lanes), args[0].local, constants);
  else c.get(f64x2Program(c, programOf(op, lanes), args[0].local, constants));
  return 'float';
};

const identity: LaneRule = (c, _lanes, args) => {
  c.get(args[0].local);
  return args[0].kind;
};

/** The SIMD form of each supported primitive; the others keep their JS loop. */
const LANE_RULES: Partial<Record<Primitive, LaneRule>> = {
  neg: unary('neg', 'i32x4.neg'),
  abs: unary('abs', 'i32x4.abs'),
  sqrt: unary('sqrt'),
  floor: unary('floor'),
  ceil: unary('ceil'),
  reciprocal: (c, lanes, args) => {
    if (!floatsOnly(args)) return null;
    ones(c, lanes).get(args[0].local).simd(`${lanes}.div`);
    return 'float';
  },
  exp: transcendental('exp'),
  expm1: transcendental('expm1'),
  log: transcendental('log'),
  log1p: transcendental('log1p'),
  tanh: transcendental('tanh'),
  sigmoid: transcendental('sigmoid'),
  softplus: transcendental('softplus'),
  erfinv: transcendental('erfinv'),
  isFinite: (c, lanes, args) => {
    if (!floatsOnly(args)) return null;
    c.get(args[0].local).simd(`${lanes}.abs`);
    infinity(c, lanes).simd(`${lanes}.lt`);
    return 'mask';
  },
  add: binary('add', 'i32x4.add'),
  sub: binary('sub', 'i32x4.sub'),
  mul: binary('mul', 'i32x4.mul'),
  div: binary('div'),
  minimum: binary('min', 'i32x4.min_s'),
  maximum: binary('max', 'i32x4.max_s'),
  eq: compare('eq'),
  ne: compare('ne'),
  lt: compare('lt'),
  le: compare('le'),
  gt: compare('gt'),
  ge: compare('ge'),
  logicalAnd: logical('v128.and'),
  logicalOr: logical('v128.or'),
  logicalNot: (c, lanes, args) => {
    if (args[0].kind === 'mask') c.get(args[0].local).simd('v128.not');
    else c.get(args[0].local).v128Bits32([0, 0, 0, 0]).simd(args[0].kind === 'int' ? 'i32x4.eq' : `${lanes}.eq`);
    return 'mask';
  },
  where: (c, _lanes, args) => {
    const branches = args[1].kind;
    if (args[0].kind !== 'mask' || branches === 'mask' || args[2].kind !== branches) return null;
    c.get(args[1].local).get(args[2].local).get(args[0].local).simd('v128.bitselect');
    return branches;
  },
  cast: (c, lanes, args, out, constants) => {
    const from = args[0].kind;
    if (from === out) return identity(c, lanes, args, out, constants);
    if (out === 'mask') {
      c.get(args[0].local).v128Bits32([0, 0, 0, 0]).simd(from === 'int' ? 'i32x4.ne' : `${lanes}.ne`);
      return 'mask';
    }
    // A mask's all-ones lanes and-ed with 1 (1.0's bits, or the int32 1).
    if (from === 'mask') {
      c.get(args[0].local);
      if (out === 'float') ones(c, lanes);
      else c.v128Bits32([1, 1, 1, 1]);
      c.simd('v128.and');
      return out;
    }
    // int32 to float32 rounds to nearest (as Math.fround); float to int32 (ToInt32's wrap-around) has no lane form.
    if (from === 'int' && out === 'float' && lanes === 'f32x4') {
      c.get(args[0].local).simd('f32x4.convert_i32x4_s');
      return 'float';
    }
    return null;
  },
  stopGradient: identity,
  broadcastTo: identity,
};

/**
 * How many of a group's members are transcendentals (each a float64 program per element, 3-9 ns,
 * where an arithmetic lane operation takes a fraction of one).
 *
 * @example
 * transcendentalsOf(group) * group.size; // the loop's transcendental evaluations
 */
export const transcendentalsOf = (group: Pick<LaneGroup, 'members'>): number => group.members.filter((m) => m.prim in FLOAT64_PROGRAMS).length;

/** Bytes of output a group's function covers: its elements rounded up to whole 16-byte vectors. */
export const laneBytes = (group: Pick<LaneGroup, 'dtype' | 'size'>): number =>
  Math.ceil((group.size * (group.dtype === 'float64' ? 8 : 4)) / 16) * 16;

/**
 * The group as a function `name(start, end)` computing output bytes [start, end) (addresses are
 * baked in; start a multiple of 16), or null when an operation, dtype or broadcast pattern has no
 * SIMD form here. Leaves and the output live in regions padded to 16 bytes, so the loop runs over
 * whole vectors: the whole group is `name(0, laneBytes(group))`.
 *
 * @example
 * const f = laneFunction('g0', { dtype: 'float32', size: 8, leaves: [{ kind: 'c', address: 0 }], members: [{ prim: 'neg', inputs: [{ leaf: 0 }], outDtype: 'float32' }], outAddress: 64 });
 */
export function laneFunction(name: string, group: LaneGroup): FunctionDef | null {
  const lanes: Lanes = group.dtype === 'float64' ? 'f64x2' : 'f32x4';
  const bytes = group.dtype === 'float64' ? 8 : 4;
  // The dtype float lanes hold: float32 in an int32 group.
  const floatDType = group.dtype === 'float64' ? 'float64' : 'float32';
  const perVector = 16 / bytes;
  if (!group.leaves.every((l) => readsWholeVectors(l, group.dtype))) return null;
  // An empty output has nothing to compute, and a leaf broadcast into it may have a row of 0
  // elements, which the cursors below would divide by.
  if (group.size === 0) return null;
  // Parameters: the byte range [start, end) of the output to compute (whole vectors).
  const c = new Code(2);
  const [START, END] = [0, 1];
  const i = c.local(i32);
  const patterns = new Map<string, { inner: number; repeat: number }>();
  for (const l of group.leaves) if (l.kind === 'block') patterns.set(`${l.inner}x${l.repeat}`, { inner: l.inner, repeat: l.repeat });
  // Per pattern: the element within the row, the repeat, and the leaf's byte offset of the current block.
  const cursors = new Map([...patterns].map(([key, p]) => [key, { ...p, within: c.local(i32), rep: c.local(i32), base: c.local(i32) }]));
  const leafLocals = group.leaves.map(() => c.local(v128));
  c.get(START).set(i);
  // Cursors at element e = start / bytes: within = e mod inner, rep = ⌊e / inner⌋ mod repeat,
  // base = ⌊e / (inner · repeat)⌋ · inner · bytes.
  const element = c.local(i32);
  c.get(START).i32(Math.log2(bytes)).op('i32.shr_u').set(element);
  for (const cursor of cursors.values()) {
    c.get(element).i32(cursor.inner).op('i32.rem_u').set(cursor.within);
    c.get(element).i32(cursor.inner).op('i32.div_u').i32(cursor.repeat).op('i32.rem_u').set(cursor.rep);
    c.get(element).i32(cursor.inner * cursor.repeat).op('i32.div_u').i32(cursor.inner * bytes).op('i32.mul').set(cursor.base);
  }
  const splat = bytes === 4 ? 'v128.load32_splat' : 'v128.load64_splat';
  group.leaves.forEach((leaf, k) => {
    if (leaf.kind === 's') c.i32(0).simd(splat, leaf.address).set(leafLocals[k]);
  });
  const memberLocals = group.members.map(() => c.local(v128));
  // The float64 programs' constants, set once here.
  const constants = new LaneConstants(c);
  for (const { prim } of group.members) if (prim in FLOAT64_PROGRAMS) constants.hoist(programOf(prim as Float64Op, lanes), lanes === 'f32x4');
  /** All ones in lane q (a gathered value's place in its vector). */
  const laneMask = (q: number) => constants.get([0, 1, 2, 3].map((w) => (Math.floor((w * 4) / bytes) === q ? 0xffffffff : 0)) as [number, number, number, number]);
  if (group.leaves.some((l) => l.kind === 'gather')) for (let q = 1; q < perVector; q++) laneMask(q);
  const kinds: LaneValue[] = [];
  // Within a run of vectors that crosses no cursor's boundary, a row leaf (inner > 1) is read at
  // i + delta and a column leaf (inner = 1) is one splat, loaded before the run.
  const deltas = new Map([...cursors].flatMap(([key, cursor]) => (cursor.inner > 1 ? [[key, c.local(i32)] as const] : [])));
  /** One vector at byte i of the output; false if a member has no lane form. */
  const vector = (): boolean => {
    group.leaves.forEach((leaf, k) => {
      if (leaf.kind === 'c') c.get(i).simd('v128.load', leaf.address).set(leafLocals[k]);
      else if (leaf.kind === 'gather') {
        // Lane q: the leaf at index[e + q] (e = i / bytes, so the index is read at byte i · 4 / bytes + 4q).
        for (let q = 0; q < perVector; q++) {
          c.get(i);
          if (bytes === 8) c.i32(1).op('i32.shr_u');
          c.mem('i32.load', leaf.index + 4 * q).i32(Math.log2(bytes)).op('i32.shl').simd(splat, leaf.address);
          if (q > 0) c.get(leafLocals[k]).get(laneMask(q)).simd('v128.bitselect');
          c.set(leafLocals[k]);
        }
      } else if (leaf.kind === 'block' && leaf.inner > 1) {
        c.get(i).get(deltas.get(`${leaf.inner}x${leaf.repeat}`)!).op('i32.add').simd('v128.load', leaf.address).set(leafLocals[k]);
      }
    });
    for (let j = 0; j < group.members.length; j++) {
      const member = group.members[j];
      const rule = LANE_RULES[member.prim];
      if (!rule) return false;
      const args = member.inputs.map((r) =>
        'leaf' in r
          ? { local: leafLocals[r.leaf], kind: group.leaves[r.leaf].int ? ('int' as const) : ('float' as const) }
          : { local: memberLocals[r.member], kind: kinds[r.member] },
      );
      const outKind: LaneValue = member.outDtype === 'bool' ? 'mask' : member.outDtype === 'int32' ? 'int' : 'float';
      if (outKind === 'float' && member.outDtype !== floatDType) return false;
      if (outKind === 'int' && lanes !== 'f32x4') return false;
      const got = rule(c, lanes, args, outKind, constants);
      if (got !== outKind) return false;
      kinds[j] = got;
      c.set(memberLocals[j]);
    }
    if (kinds[kinds.length - 1] !== (group.dtype === 'int32' ? 'int' : 'float')) return false;
    for (const { member, address } of group.stores ?? []) {
      if (kinds[member] === 'mask') return false;
      c.get(i).get(memberLocals[member]).simd('v128.store', address);
    }
    c.get(i).get(memberLocals[memberLocals.length - 1]).simd('v128.store', group.outAddress);
    c.addTo(i, 16);
    return true;
  };
  let supported = true;
  const [runEnd, runStart, runElements, candidate] = [c.local(i32), c.local(i32), c.local(i32), c.local(i32)];
  /** A cursor's counter within its current segment, and the segment's length in elements. */
  const segment = (cursor: { inner: number; repeat: number; within: number; rep: number }) =>
    cursor.inner > 1 ? { counter: cursor.within, limit: cursor.inner } : { counter: cursor.rep, limit: cursor.repeat };
  c.while(
    (k) => k.get(i).get(END).op('i32.lt_u'),
    () => {
      // The run ends at END or at the first cursor's boundary: the end of its row (inner > 1) or
      // of its column value's repeats (inner = 1).
      c.get(END).set(runEnd).get(i).set(runStart);
      for (const cursor of cursors.values()) {
        const { counter, limit } = segment(cursor);
        c.get(i).i32(limit).get(counter).op('i32.sub').i32(Math.log2(bytes)).op('i32.shl').op('i32.add').set(candidate);
        c.get(candidate).get(runEnd).get(candidate).get(runEnd).op('i32.lt_u').op('select').set(runEnd);
      }
      for (const [key, delta] of deltas) {
        const cursor = cursors.get(key)!;
        // delta = base + within · bytes - i
        c.get(cursor.base).get(cursor.within).i32(Math.log2(bytes)).op('i32.shl').op('i32.add').get(i).op('i32.sub').set(delta);
      }
      group.leaves.forEach((leaf, k) => {
        if (leaf.kind === 'block' && leaf.inner === 1) c.get(cursors.get(`${leaf.inner}x${leaf.repeat}`)!.base).simd(splat, leaf.address).set(leafLocals[k]);
      });
      c.while(
        (k) => k.get(i).get(runEnd).op('i32.lt_u'),
        () => {
          supported = vector();
        },
      );
      // Advance each cursor by the run's elements (at most to its boundary, where it wraps).
      c.get(i).get(runStart).op('i32.sub').i32(Math.log2(bytes)).op('i32.shr_u').set(runElements);
      for (const cursor of cursors.values()) {
        const { counter, limit } = segment(cursor);
        const nextBlock = (k: Code) => k.i32(0).set(cursor.rep).addTo(cursor.base, cursor.inner * bytes);
        c.addTo(counter, { local: runElements });
        c.when(
          (k) => k.get(counter).i32(limit).op('i32.eq'),
          (k) => {
            if (cursor.inner === 1) nextBlock(k);
            else {
              k.i32(0).set(cursor.within).addTo(cursor.rep, 1);
              k.when((q) => q.get(cursor.rep).i32(cursor.repeat).op('i32.eq'), nextBlock);
            }
          },
        );
      }
    },
  );
  return supported ? { name, params: [i32, i32], code: c } : null;
}
