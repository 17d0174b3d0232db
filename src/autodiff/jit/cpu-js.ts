/**
 * What CPU plan steps that run in JS are built from: an equation's kernel writing into a planned
 * array (the prepared forms the eager kernels call), and a fused group's generated loop.
 */
import { isReduceOp, type Params, sizeOf, type TypedArray } from '../../tensor';
import { broadcastIndex, collapseBroadcast, compileElementwise, elementwiseJs, type InputKind, inputKind, storedJs } from '../../tensor/cpu/elementwise';
import { prepareGather, prepareScatterAdd } from '../../tensor/cpu/gather';
import { prepareMatmul } from '../../tensor/cpu/matmul';
import { prepareConcat, prepareFlip, preparePad, prepareSlice, prepareTranspose } from '../../tensor/cpu/movement';
import { prepareArgReduce, prepareReduce } from '../../tensor/cpu/reduce';
import { prepareArgsort } from '../../tensor/cpu/sort';
import { broadcastStrides } from '../../tensor/shape';
import { bitsToUnitFloat32Into, bitsToUnitFloat64Into, threefryHashInto } from '../../tensor/threefry';
import type { Equation, IRVar } from '../ir';
import { type FusedGroup, storedBy } from './fuse';

/** A kernel writing into a given array: the input arrays, then the output. */
export type IntoKernel = (inputs: readonly TypedArray[], out: TypedArray) => void;

/** The write-into kernel of an equation, prepared for its shapes, or null where only the allocating one exists. */
export function intoKernel(eq: Equation, folded: ReadonlyMap<IRVar, IRVar>): IntoKernel | null {
  const shapes = eq.inputs.map((v) => v.aval.shape);
  const out = eq.out.aval;
  if (isReduceOp(eq.prim)) {
    const run = prepareReduce(eq.prim, shapes[0], (eq.params as Params<'reduceSum'>).axes, out.dtype);
    return ([x], o) => run(x, o);
  }
  switch (eq.prim) {
    case 'matmul': {
      const layout = { transposeA: folded.has(eq.inputs[0]), transposeB: folded.has(eq.inputs[1]) };
      const run = prepareMatmul(shapes[0], shapes[1], out.shape, layout);
      return ([a, b], o) => run(a, b, o);
    }
    case 'transpose': {
      const run = prepareTranspose(shapes[0], (eq.params as Params<'transpose'>).perm);
      return ([x], o) => run(x, o);
    }
    case 'slice': {
      const { starts, steps } = eq.params as Params<'slice'>;
      const run = prepareSlice(shapes[0], starts, steps, out.shape);
      return ([x], o) => run(x, o);
    }
    case 'pad': {
      const { lo, interior } = eq.params as Params<'pad'>;
      const run = preparePad(shapes[0], lo, interior, out.shape);
      return ([x], o) => run(x, o);
    }
    case 'flip': {
      const run = prepareFlip(shapes[0], (eq.params as Params<'flip'>).axes);
      return ([x], o) => run(x, o);
    }
    case 'argmax':
    case 'argmin': {
      const run = prepareArgReduce(eq.prim, shapes[0], (eq.params as Params<'argmax'>).axis);
      return ([x], o) => run(x, o);
    }
    case 'gather': {
      const { axis, site } = eq.params as Params<'gather'>;
      const run = prepareGather(shapes[0], shapes[1], axis, out.shape, site);
      return ([x, idx], o) => run(x, idx, o);
    }
    case 'scatterAdd': {
      const run = prepareScatterAdd(shapes[0], shapes[1], (eq.params as Params<'scatterAdd'>).axis, out.shape);
      return ([updates, idx], o) => run(updates, idx, o);
    }
    case 'argsort': {
      const { descending, k } = eq.params as Params<'argsort'>;
      const run = prepareArgsort(shapes[0], descending, k);
      return ([x], o) => run(x, o as Int32Array);
    }
    case 'concat':
      return prepareConcat(shapes, (eq.params as Params<'concat'>).axis, out.shape);
    case 'threefry':
      return ([key, counts], o) => threefryHashInto(key as Uint32Array, counts as Uint32Array, o as Uint32Array);
    case 'uniformFromBits':
      return out.dtype === 'float32'
        ? ([bits], o) => bitsToUnitFloat32Into(bits as Uint32Array, o as Float32Array)
        : ([bits], o) => bitsToUnitFloat64Into(bits as Uint32Array, o as Float64Array);
    default:
      return null;
  }
}

/** Generated code of a fused group: per-element statements, the root's expression, and the locals of extra outputs. */
function fusedCode(group: FusedGroup): { pre: string; body: string; stores: string[] } {
  const extra = new Set(storedBy(group).slice(0, -1));
  const names = new Map<IRVar, string>();
  group.leaves.forEach((v, k) => names.set(v, `a${k}`));
  const lines: string[] = [];
  let body = '';
  group.members.forEach((eq, j) => {
    const args = eq.inputs.map((v) => names.get(v) as string);
    const expr = elementwiseJs(eq.prim, args, eq.inputs[0].aval.dtype, eq.out.aval.dtype);
    if (eq === group.members[group.members.length - 1]) {
      body = expr;
    } else {
      names.set(eq.out, `t${j}`);
      lines.push(`const t${j} = ${storedJs(expr, eq.out.aval.dtype)};`);
    }
  });
  return { pre: lines.join(' '), body, stores: [...extra].map((v) => names.get(v) as string) };
}

/** Fused JS loops up to this many elements read broadcast leaves through index arrays (4 bytes each). */
const INDEXED_BROADCAST_MAX = 1 << 16;

/**
 * A fused group's generated JS loop (the eager expression tables, intermediates rounded as their
 * typed arrays would store them), run as `loop(out, inputs)`: the leaves' arrays, then the extra
 * outputs'.
 *
 * @example
 * const loop = fusedLoop(group);
 * loop(out, [x, bias, extraOut]);
 */
export function fusedLoop(group: FusedGroup): (out: TypedArray, inputs: readonly TypedArray[]) => void {
  const shape = group.out.aval.shape;
  const n = sizeOf(shape);
  const collapsed: { shape: readonly number[]; strides: (readonly number[] | Int32Array)[] } = collapseBroadcast(
    shape,
    group.leaves.map((v) => broadcastStrides(v.aval.shape, shape)),
  );
  // Broadcast leaves of small groups read through index arrays built once here: a flat loop.
  const indexed = n <= INDEXED_BROADCAST_MAX;
  const kinds = group.leaves.map((v, k): InputKind => {
    const kind = inputKind(sizeOf(v.aval.shape), n);
    if (kind !== 'b' || !indexed) return kind;
    collapsed.strides[k] = broadcastIndex(collapsed.shape, collapsed.strides[k] as number[]);
    return 'i';
  });
  const { pre, body, stores } = fusedCode(group);
  const kernel = compileElementwise(body, kinds, pre, stores);
  return (out, inputs) => kernel(out, collapsed.shape, inputs, collapsed.strides);
}
