/**
 * The WGSL kernel of every primitive: a mapped type over `Primitive`, so a primitive without a
 * WebGPU kernel does not compile. Each kernel turns a primitive's inputs and parameters into the
 * integer parameters of one of the kernel families in `shaders/` and dispatches it.
 */
import { WORKGROUP } from '../../../shaders/common';
import { CONCAT_INPUTS, concatWgsl, COPY_WGSL, PAD_WGSL } from '../../../shaders/copy';
import { elementwiseWgsl, type Access } from '../../../shaders/elementwise';
import type { GroupLayout, GroupSpec } from '../../../shaders/groups';
import { GATHER_WGSL, scatterAddWgsl } from '../../../shaders/gather';
import { MATMUL_TILE, type MatmulLayout, matmulSiblingsWgsl, type MatmulTile, matmulWgsl, operandBuffers, STRIP_LONG, type StripShape, tileSide } from '../../../shaders/matmul';
import { argReduceWgsl, reduceSiblingsWgsl, type ReduceSpec, reduceWgsl } from '../../../shaders/reduce';
import { threefrySiblingsWgsl, threefryWgsl, UNIFORM_F32_WGSL } from '../../../shaders/threefry';
import type { DType } from '../dtype';
import { ShapeError } from '../errors';
import {
  ARG_REDUCE_OPS,
  type ArgReduceOp,
  type Aval,
  BINARY_OPS,
  type BinaryOp,
  type Params,
  type Primitive,
  REDUCE_OPS,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
} from '../primitives';
import { broadcastStrides, formatShape, type Shape, sizeOf, stridesOf } from '../shape';
import { WebGPUError } from './errors';
import { BINARY_WGSL, castWgsl, UNARY_WGSL, type WgslType, wgslType } from './expressions';
import { MAX_GROUPS } from './recorder';
import type { GpuInput, Storage } from './storage';

/** What kernels need from the backend: output storage, shared storage, dispatches, clears. */
export interface KernelHost {
  /**
   * How products pick their kernels (`matmulTile`): by shape and count on hardware adapters by
   * default, on software ones strips for thin products and 64x64 tiles for the rest.
   */
  readonly matmulTiles: MatmulTiles;
  /** Fresh storage for a tensor of `aval`. */
  output(aval: Aval): Storage;
  /** The same storage, one more tensor using it. */
  share(storage: Storage): Storage;
  /** Drops a kernel's temporary storage (reused once the commands naming it are submitted). */
  drop(storage: Storage): void;
  /** Zero-fills the storage's first `bytes` bytes. */
  clear(storage: Storage, bytes: number): void;
  /**
   * Dispatches the kernel `source()` (compiled once per `key`) on the output and inputs `buffers`;
   * the last `extraOutputs` of them are written too (fused groups storing several values). With
   * `checksIndices`, the backend's index-fault word is bound after them (see `shaders/gather.ts`).
   */
  run(
    kernel: string,
    key: string,
    source: () => string,
    params: readonly number[],
    buffers: readonly Storage[],
    groups: readonly [number, number, number],
    checksIndices?: boolean,
    extraOutputs?: number,
  ): void;
}

/**
 * An elementwise group run inside a product's or a reduction's kernel (a jit plan's fusion,
 * `shaders/groups.ts`): its WGSL, a short `key` naming that WGSL in pipeline keys, its params
 * (`[rank, shape, strides of each broadcast input]` over the values it computes), its inputs'
 * storage and its extra outputs' storage.
 */
export interface KernelGroup extends GroupShape {
  readonly inputs: readonly Storage[];
  readonly outputs: readonly Storage[];
}

/** A group before its buffers are known (what a prepared kernel needs): its WGSL, key and params. */
export interface GroupShape {
  readonly spec: GroupSpec;
  readonly key: string;
  readonly params: readonly number[];
}

/** The buffers of a group in one call: its inputs' storage and its extra outputs' storage. */
export interface GroupBuffers {
  readonly inputs: readonly Storage[];
  readonly outputs: readonly Storage[];
}

/** A group applied where a kernel stores each value, storing values of `out`. */
export interface StoreEpilogue extends KernelGroup {
  readonly out: Aval;
}

/** A reduction's operand of `aval`, computed by `prologue` where the reduction reads it. */
export interface PrologueOperand {
  readonly aval: Aval;
  readonly prologue: KernelGroup;
}

/**
 * The params of a kernel with groups: its own, then each group's; where each group is bound (after
 * the kernel's `ownBuffers` buffers: the groups' inputs, then every buffer they write, as a kernel
 * binds written buffers last); the pipeline key naming them.
 */
function groupLayouts(key: string, own: readonly number[], ownBuffers: number, groups: { prologue?: GroupShape; epilogue?: GroupShape }) {
  const list = [groups.prologue, groups.epilogue];
  if (!list.some((g) => g)) return { key, params: own, extraOutputs: 0 };
  // Binding 0 holds the params, 1.. the kernel's buffers; then the groups' inputs, then their outputs.
  let next = ownBuffers + 1;
  const take = (count: number) => {
    next += count;
    return next - count;
  };
  const inputs = list.map((g) => take(g?.spec.inputs.length ?? 0));
  const stores = list.map((g) => take(g?.spec.stores.length ?? 0));
  const params = [...own];
  const layouts = list.map((g, k): GroupLayout | undefined => {
    if (!g) return undefined;
    const layout = { inputs: inputs[k], stores: stores[k], at: params.length };
    params.push(...g.params);
    return layout;
  });
  // The source depends on where each group's params start (their lengths vary with the shapes' ranks).
  const named = list.map((g, k) => (g ? `${g.key}@${layouts[k]?.at}` : ''));
  return {
    key: `${key}|${named.join('>')}`,
    params,
    extraOutputs: list.reduce((n, g) => n + (g?.spec.stores.length ?? 0), 0),
    prologue: groups.prologue && layouts[0] && { spec: groups.prologue.spec, layout: layouts[0] },
    epilogue: groups.epilogue && layouts[1] && { spec: groups.epilogue.spec, layout: layouts[1] },
  };
}

type GpuKernel<P extends Primitive> = (gpu: KernelHost, inputs: readonly GpuInput[], params: Params<P>, out: Aval) => Storage;

/** A grid of `count` workgroups, folded into two dimensions past the per-dimension limit. */
function grid(kernel: string, count: number): [number, number, number] {
  if (count <= MAX_GROUPS) return [count, 1, 1];
  const rows = Math.ceil(count / MAX_GROUPS);
  if (rows > MAX_GROUPS) throw new WebGPUError(`${kernel}: ${count} workgroups exceed the dispatch limit`);
  return [MAX_GROUPS, rows, 1];
}

export const grid1d = (kernel: string, n: number) => grid(kernel, Math.ceil(n / WORKGROUP));

function elementwise(
  gpu: KernelHost,
  kernel: string,
  inputs: readonly GpuInput[],
  out: Aval,
  expr: (args: string[]) => string,
): Storage {
  const result = gpu.output(out);
  const n = sizeOf(out.shape);
  if (n === 0) return result;
  const access: Access[] = inputs.map((x) => {
    const size = sizeOf(x.aval.shape);
    return size === n ? 'c' : size === 1 ? 's' : 'b';
  });
  const spec = {
    inputs: inputs.map((x, k) => ({ type: wgslType(x.aval.dtype), access: access[k] })),
    outType: wgslType(out.dtype),
    expr: expr(inputs.map((_, k) => `a${k}`)),
  };
  const params = [n, out.shape.length, ...out.shape];
  inputs.forEach((x, k) => {
    if (access[k] === 'b') params.push(...broadcastStrides(x.aval.shape, out.shape));
  });
  const key = `elementwise|${spec.expr}|${spec.inputs.map((x) => x.type + x.access).join(',')}|${spec.outType}`;
  gpu.run(kernel, key, () => elementwiseWgsl(spec), params, [result, ...inputs.map((x) => x.storage)], grid1d(kernel, n));
  return result;
}

/** Copies the view (`srcOffset`, `srcStrides`) of `src` over `shape` into `dst` at (`dstOffset`, `dstStrides`). */
function copyStrided(
  gpu: KernelHost,
  kernel: string,
  src: Storage,
  srcOffset: number,
  srcStrides: readonly number[],
  shape: Shape,
  dst: Storage,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const params = [n, shape.length, ...shape, srcOffset, ...srcStrides, dstOffset, ...dstStrides];
  gpu.run(kernel, 'copy', () => COPY_WGSL, params, [dst, src], grid1d(kernel, n));
}

/** A kernel that copies its single input through a strided view into a fresh contiguous output. */
function view(
  kernel: string,
  inputs: readonly GpuInput[],
  out: Aval,
  gpu: KernelHost,
  offset: number,
  strides: readonly number[],
): Storage {
  const result = gpu.output(out);
  copyStrided(gpu, kernel, inputs[0].storage, offset, strides, out.shape, result, 0, stridesOf(out.shape));
  return result;
}

const unaryKernel =
  (op: UnaryOp): GpuKernel<UnaryOp> =>
  (gpu, inputs, _params, out) =>
    elementwise(gpu, op, inputs, out, ([a]) => UNARY_WGSL[op](a, wgslType(inputs[0].aval.dtype)));

const binaryKernel =
  (op: BinaryOp): GpuKernel<BinaryOp> =>
  (gpu, inputs, _params, out) =>
    elementwise(gpu, op, inputs, out, ([a, b]) => BINARY_WGSL[op](a, b, wgslType(inputs[0].aval.dtype)));

/** How each reduction combines, per WGSL type (float max/min propagate NaN, as on the CPU). */
const REDUCE_COMBINE: Record<ReduceOp, (t: WgslType) => string> = {
  reduceSum: () => 'acc + v',
  reduceProd: () => 'acc * v',
  reduceMax: (t) => (t === 'f32' ? 'm_max(acc, v)' : 'max(acc, v)'),
  reduceMin: (t) => (t === 'f32' ? 'm_min(acc, v)' : 'min(acc, v)'),
};

/** The start value of each reduction, per WGSL type. */
const REDUCE_INIT: Record<ReduceOp, Record<WgslType, string>> = {
  reduceSum: { f32: '0.0', i32: '0i', u32: '0u' },
  reduceProd: { f32: '1.0', i32: '1i', u32: '1u' },
  reduceMax: { f32: '-m_inf()', i32: 'bitcast<i32>(0x80000000u)', u32: '0u' },
  reduceMin: { f32: 'm_inf()', i32: '2147483647i', u32: '0xffffffffu' },
};

/**
 * The result of reducing nothing, as the CPU gives it (its float64 accumulator stored into the
 * output array: ±Infinity becomes 0 in integer arrays).
 */
function emptyReduction(op: ReduceOp, dtype: DType): string {
  if (op === 'reduceSum') return castWgsl('0.0', 'float32', dtype);
  if (op === 'reduceProd') return castWgsl('1.0', 'float32', dtype);
  if (dtype !== 'float32') return castWgsl('0.0', 'float32', dtype);
  return op === 'reduceMax' ? '-m_inf()' : 'm_inf()';
}

/** Drops size-1 axes and merges neighbours that are contiguous in memory. */
function mergeAxes(shape: readonly number[], strides: readonly number[]): { shape: number[]; strides: number[] } {
  const s: number[] = [];
  const t: number[] = [];
  shape.forEach((size, i) => {
    if (size === 1) return;
    const last = s.length - 1;
    if (last >= 0 && t[last] === strides[i] * size) {
      s[last] *= size;
      t[last] = strides[i];
    } else {
      s.push(size);
      t.push(strides[i]);
    }
  });
  return { shape: s, strides: t };
}

/**
 * Reduces `x` over `axes` into fresh storage of `out`. `x` may be computed where it is read (a
 * `PrologueOperand`), and the result stored through `epilogue` (non-empty reductions only: an
 * empty one stores the CPU's constant with the elementwise kernel).
 *
 * @example
 * // the mean over axis 1 of x [B, 4]: the sum stored as v * 0.25, one dispatch
 * const out = { shape: [b], dtype: 'float32' } as const;
 * const spec = { inputs: [], outType: 'f32', expr: 'v * 0.25', lets: [], stores: [] };
 * const mean = reduce(gpu, 'reduceSum', x, [1], out, { spec, key: 'quarter', out, params: [1, b], inputs: [], outputs: [] });
 */
export function reduce(
  gpu: KernelHost,
  op: ReduceOp,
  x: GpuInput | PrologueOperand,
  axes: readonly number[],
  out: Aval,
  epilogue?: StoreEpilogue,
): Storage {
  const shape = x.aval.shape;
  const nOut = sizeOf(out.shape);
  const reduced = sizeOf(axes.map((a) => shape[a]));
  if (nOut === 0) return gpu.output(epilogue?.out ?? out);
  if (reduced === 0) {
    if (epilogue || 'prologue' in x) throw new Error(`${op}: fused groups need a non-empty reduction`);
    if (out.dtype === 'bool' && op !== 'reduceSum' && op !== 'reduceProd') {
      throw new ShapeError(`${op}: cannot reduce an empty bool tensor of shape ${formatShape(shape)}`);
    }
    return elementwise(gpu, op, [], out, () => emptyReduction(op, out.dtype));
  }
  const prologue = 'prologue' in x ? x.prologue : undefined;
  const result = gpu.output(epilogue?.out ?? out);
  const operand = 'storage' in x ? [x.storage] : [];
  const groups = [prologue, epilogue];
  const buffers = [result, ...operand, ...groups.flatMap((g) => g?.inputs ?? []), ...groups.flatMap((g) => g?.outputs ?? [])];
  prepareReduce(op, x.aval, axes, out, { prologue, epilogue }).run(gpu, buffers);
  return result;
}

/**
 * A reduction, or sibling reductions, prepared once (passes, params, grids, pipeline keys). `run`
 * binds one call's buffers, in this order. One reduction: its result; its operand (none where a
 * prologue computes it), its prologue's inputs, its epilogue's inputs; its prologue's extra
 * outputs, then its epilogue's. Siblings: member 0's result; the inputs they share; the results of
 * members 1..; per member its prologue's extra outputs, then its epilogue's.
 */
export interface PreparedReduce {
  run(gpu: KernelHost, buffers: readonly Storage[]): void;
}

/** One of several sibling reductions: which shared inputs it reads (its operand or its prologue's inputs, then its epilogue's), and its groups. */
export interface SiblingReads {
  readonly reads: readonly number[];
  readonly prologue?: GroupShape;
  readonly epilogue?: GroupShape;
}

/**
 * Whether reductions of `x` over `axes` into `out` can be siblings (one dispatch): siblings are
 * one pass each, which a long reduction into few outputs is not (`prepareReduce`).
 */
export function reducesInOnePass(x: Aval, axes: readonly number[], out: Aval): boolean {
  return splitCount(sizeOf(out.shape), sizeOf(axes.map((a) => x.shape[a]))) === 1;
}

/**
 * Prepares the reduction `op` of an operand of `x` over `axes` into `out`, the operand computed by
 * `groups.prologue` where it is read and the result stored through `groups.epilogue` when given (a
 * jit plan prepares its reductions at compile time, so a call builds no params or keys). The
 * reduction must not be empty (those go through `reduce`). A long reduction into few outputs runs
 * as two passes: partial results from several workgroups per output (with the prologue), then their
 * combination (with the epilogue). With `siblings` (a jit plan's), several independent reductions
 * of these shapes run as one dispatch (`reduceSiblingsWgsl`; `groups` is then unused): member j
 * reads the shared inputs `siblings[j].reads` (its operand or its prologue's inputs, then its
 * epilogue's) through its own groups. They must reduce in one pass (`reducesInOnePass`).
 *
 * @example
 * const sum = prepareReduce('reduceSum', x.aval, [1], { shape: [b], dtype: 'float32' });
 * sum.run(gpu, [result, x.storage]); // one dispatch
 * const twins = prepareReduce('reduceSum', x.aval, [1], { shape: [b], dtype: 'float32' }, {}, [{ reads: [0] }, { reads: [1] }]);
 * twins.run(gpu, [r0, x0.storage, x1.storage, r1]); // both sums, one dispatch
 */
export function prepareReduce(
  op: ReduceOp,
  x: Aval,
  axes: readonly number[],
  out: Aval,
  groups: { prologue?: GroupShape; epilogue?: GroupShape } = {},
  siblings?: readonly SiblingReads[],
): PreparedReduce {
  const shape = x.shape;
  const nOut = sizeOf(out.shape);
  const reduced = sizeOf(axes.map((a) => shape[a]));
  if (nOut === 0 || reduced === 0) throw new WebGPUError(`${op}: no prepared kernel for the empty reduction of ${formatShape(shape)} over [${axes}]`);
  const strides = stridesOf(shape);
  const pick = (inAxes: boolean) => {
    const dims = shape.map((_, i) => i).filter((i) => axes.includes(i) === inAxes);
    return mergeAxes(
      dims.map((i) => shape[i]),
      dims.map((i) => strides[i]),
    );
  };
  const type = wgslType(out.dtype);
  const parts = splitCount(nOut, reduced);
  const readsX = !groups.prologue;
  if (siblings) {
    if (parts > 1) throw new WebGPUError(`${op}: sibling reductions of ${formatShape(shape)} over [${axes}] take two passes each`);
    return { run: siblingReducePass(op, type, nOut, pick(false), pick(true), siblings) };
  }
  if (parts === 1) return { run: reducePass(op, type, readsX, nOut, pick(false), pick(true), 1, groups) };
  // Long reductions into few outputs: partial results from `parts` workgroups per output first.
  const partialAval = { shape: [nOut, parts], dtype: out.dtype };
  const first = reducePass(op, type, readsX, nOut, pick(false), pick(true), parts, { prologue: groups.prologue });
  const second = reducePass(op, type, true, nOut, { shape: [nOut], strides: [parts] }, { shape: [parts], strides: [1] }, 1, { epilogue: groups.epilogue });
  // The call's buffers: result, operand (unless a prologue computes it), prologue inputs, epilogue
  // inputs, prologue outputs, epilogue outputs. The first pass binds the operand's and the
  // prologue's after the partial results, the second the epilogue's after the result and those.
  const countOf = (g: GroupShape | undefined, of: 'inputs' | 'stores') => g?.spec[of].length ?? 0;
  const [operand, proIn, epiIn, proOut, epiOut] = [readsX ? 1 : 0, countOf(groups.prologue, 'inputs'), countOf(groups.epilogue, 'inputs'), countOf(groups.prologue, 'stores'), countOf(groups.epilogue, 'stores')];
  const range = (start: number, count: number) => Array.from({ length: count }, (_, i) => start + i);
  const firstReads = [...range(1, operand + proIn), ...range(1 + operand + proIn + epiIn, proOut)];
  const secondReads = [...range(1 + operand + proIn, epiIn), ...range(1 + operand + proIn + epiIn + proOut, epiOut)];
  const firstBuffers: Storage[] = new Array(1 + firstReads.length);
  const secondBuffers: Storage[] = new Array(2 + secondReads.length);
  return {
    run(gpu, buffers) {
      const partial = gpu.output(partialAval);
      firstBuffers[0] = partial;
      firstReads.forEach((b, i) => (firstBuffers[1 + i] = buffers[b]));
      first(gpu, firstBuffers);
      secondBuffers[0] = buffers[0];
      secondBuffers[1] = partial;
      secondReads.forEach((b, i) => (secondBuffers[2 + i] = buffers[b]));
      second(gpu, secondBuffers);
      gpu.drop(partial);
    },
  };
}

const reduceKernel =
  (op: ReduceOp): GpuKernel<ReduceOp> =>
  (gpu, [x], { axes }, out) =>
    reduce(gpu, op, x, axes, out);

/** Outputs from which a reduction whose neighbouring outputs read neighbouring words runs one invocation per output. */
const THREAD_OUTPUTS = 8192;

/**
 * How a reduction runs: one invocation per output (a serial loop) for short reductions, and for
 * many outputs whose neighbours read neighbouring words (a sum over a batch axis: the invocations'
 * reads coalesce, and there are enough of them to fill a GPU; 100 agents' bias gradients are
 * 25,600 such outputs); else one workgroup per output (or part), combining strided partial
 * results in workgroup memory.
 */
function scheduleOf(nOut: number, reduced: number, kept: { strides: readonly number[] }): ReduceSpec['schedule'] {
  const columns = kept.strides[kept.strides.length - 1] === 1;
  return reduced <= 32 || (nOut >= THREAD_OUTPUTS && columns) ? 'thread' : 'workgroup';
}

/** Terms one workgroup combines at most before a reduction is split over several. */
const TERMS_PER_WORKGROUP = 4096;

/** Workgroups per output: more than one only when a few outputs reduce many terms each. */
function splitCount(nOut: number, reduced: number): number {
  if (nOut >= 256 || reduced <= 2 * TERMS_PER_WORKGROUP) return 1;
  return Math.min(256, Math.ceil(reduced / TERMS_PER_WORKGROUP));
}

/**
 * One reduction dispatch, prepared: into `nOut * parts` outputs, each part a chunk of the reduced
 * terms (with an epilogue, `parts` is 1), reading the operand as stored (`readsX`) or through its
 * prologue. The dispatch binds the result, the operand if read, then the groups' buffers.
 */
function reducePass(
  op: ReduceOp,
  type: WgslType,
  readsX: boolean,
  nOut: number,
  kept: { shape: number[]; strides: number[] },
  red: { shape: number[]; strides: number[] },
  parts: number,
  groups: { prologue?: GroupShape; epilogue?: GroupShape },
): (gpu: KernelHost, buffers: readonly Storage[]) => void {
  const reduced = sizeOf(red.shape);
  const schedule = scheduleOf(nOut, reduced, kept);
  const chunk = Math.ceil(reduced / parts);
  const own = [nOut, reduced, kept.shape.length, red.shape.length, chunk, parts, ...kept.shape, ...kept.strides, ...red.shape, ...red.strides];
  const laid = groupLayouts(`reduce|${op}|${type}|${schedule}`, own, readsX ? 2 : 1, groups);
  const spec = { type, init: REDUCE_INIT[op][type], combine: REDUCE_COMBINE[op](type), schedule, prologue: laid.prologue, epilogue: laid.epilogue };
  const workgroups = schedule === 'thread' ? grid1d(op, nOut) : grid(op, nOut * parts);
  const kernel = `${groups.prologue ? 'prologue+' : ''}${op}${groups.epilogue ? '+epilogue' : ''}`;
  const source = () => reduceWgsl(spec);
  return (gpu, buffers) => gpu.run(kernel, laid.key, source, laid.params, buffers, workgroups, false, laid.extraOutputs);
}

/**
 * Where each group's params start in `params`, appending them the first time a group with the
 * same key and params is placed (sibling members with alike groups share them).
 */
function groupPlacer(params: number[]): (group: GroupShape) => number {
  const placed = new Map<string, number>();
  return (group) => {
    const same = `${group.key}|${group.params.join(',')}`;
    let at = placed.get(same);
    if (at === undefined) {
      at = params.length;
      placed.set(same, at);
      params.push(...group.params);
    }
    return at;
  };
}

/** Sibling reductions in one pass (`reduceSiblingsWgsl`), bound as `PreparedReduce.run` says. */
function siblingReducePass(
  op: ReduceOp,
  type: WgslType,
  nOut: number,
  kept: { shape: number[]; strides: number[] },
  red: { shape: number[]; strides: number[] },
  siblings: readonly SiblingReads[],
): (gpu: KernelHost, buffers: readonly Storage[]) => void {
  const count = siblings.length;
  const reduced = sizeOf(red.shape);
  const schedule = scheduleOf(nOut, reduced, kept);
  const params = [nOut, reduced, kept.shape.length, red.shape.length, reduced, 1, ...kept.shape, ...kept.strides, ...red.shape, ...red.strides];
  const paramsAt = groupPlacer(params);
  const place = (g: GroupShape | undefined) => {
    if (!g) return undefined;
    const at = paramsAt(g);
    return { spec: g.spec, at, key: `${g.key}@${at}` };
  };
  const members = siblings.map(({ reads, prologue, epilogue }) => ({ reads, prologue: place(prologue), epilogue: place(epilogue) }));
  const base = { type, init: REDUCE_INIT[op][type], combine: REDUCE_COMBINE[op](type), schedule };
  const groupKeys = members.map((m) => `${m.prologue?.key ?? ''}>${m.epilogue?.key ?? ''}`).join(',');
  const key = `reduce|${op}|${type}|${schedule}|${JSON.stringify(siblings.map((m) => m.reads))}|${groupKeys}`;
  const workgroups = schedule === 'thread' ? grid1d(op, nOut * count) : grid(op, nOut * count);
  const kernel = `${members.some((m) => m.prologue) ? 'prologue+' : ''}${op}x${count}${members.some((m) => m.epilogue) ? '+epilogue' : ''}`;
  const stores = members.reduce((n, m) => n + (m.prologue?.spec.stores.length ?? 0) + (m.epilogue?.spec.stores.length ?? 0), 0);
  const source = () => reduceSiblingsWgsl(base, members);
  return (gpu, buffers) => gpu.run(kernel, key, source, params, buffers, workgroups, false, count - 1 + stores);
}

const argReduceKernel =
  (op: ArgReduceOp): GpuKernel<ArgReduceOp> =>
  (gpu, [x], { axis }, out) => {
    const result = gpu.output(out);
    const nOut = sizeOf(out.shape);
    if (nOut === 0) return result;
    const type = wgslType(x.aval.dtype);
    const better = op === 'argmax' ? '>' : '<';
    const params = [nOut, x.aval.shape[axis], sizeOf(x.aval.shape.slice(axis + 1))];
    gpu.run(op, `${op}|${type}`, () => argReduceWgsl(type, better), params, [result, x.storage], grid1d(op, nOut));
    return result;
  };

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => GpuKernel<K>): { [P in K]: GpuKernel<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: GpuKernel<P> };
}

/**
 * Dispatches a batched matmul `a @ b` into fresh storage. `a.aval` and `b.aval` are the operands'
 * logical shapes (`[..., M, K]`, `[..., K, N]`); with `layout.transposeA` the storage of `a` holds
 * its matrices transposed (`[..., K, M]`), with `layout.transposeB` that of `b` holds `[..., N, K]`,
 * read in place by a variant of the kernel (how a jit plan skips a transpose feeding a product).
 * With `epilogue` the kernel stores `epilogue(a @ b)` (of `epilogue.out`) instead of the product.
 *
 * @example
 * // w stored [N, K]: x @ transpose(w) without copying the transpose
 * const y = matmulKernel(gpu, [x, { storage: w.storage, aval: { shape: [k, n], dtype: 'float32' } }], out, { transposeB: true });
 */
export function matmulKernel(gpu: KernelHost, [a, b]: readonly GpuInput[], out: Aval, layout: MatmulLayout = {}, epilogue?: StoreEpilogue): Storage {
  const result = gpu.output(epilogue?.out ?? out);
  if (sizeOf(out.shape) === 0) return result;
  // With an epilogue the kernel stores epilogue(0) (its K loop does not run).
  if (a.aval.shape[a.aval.shape.length - 1] === 0 && !epilogue) {
    gpu.clear(result, sizeOf(out.shape) * 4);
    return result;
  }
  const groupBuffers = epilogue ? [...epilogue.inputs, ...epilogue.outputs] : [];
  prepareProducts(gpu, 1, a.aval, b.aval, out, layout, epilogue).run(gpu, [result, a.storage, b.storage, ...groupBuffers]);
  return result;
}

/**
 * How a host picks its products' kernels (`matmulTile`): `'sized'` by each product's shape and
 * count (the default on hardware adapters: 32x32, strips, narrow or 64x64 tiles), `'thin-strip'`
 * strips for thin products and 64x64 tiles for the rest (the default on software adapters, whose
 * few cores run large workgroups best), or one kernel for every product.
 */
export type MatmulTiles = 'sized' | 'thin-strip' | MatmulTile;

/** The most rows or columns of a product computed in strips under `'sized'` and `'thin-strip'`, and the strips' widest. */
const STRIP_WIDTH = 16;

/** The most rows or columns of a product computed in narrow tiles under `'sized'`. */
const NARROW_WIDTH = 32;

/** Workgroups of 64x64 tiles below which a sized product takes 32x32 ones. */
const SMALL_PRODUCT_GROUPS = 128;

/**
 * The kernel of `batch` products `[M, K] @ [K, N]` under `tiles`. Sized: 32x32 tiles where 64x64
 * ones would leave a large GPU's multiprocessors idle (fewer than 128 workgroups); else strips
 * where M or N is at most 16, which a square tile would mostly pad (a critic's one output column:
 * 63 of a 64x64 tile's 64 columns); else narrow tiles where M or N is at most 32 (32x32 tiles of
 * 8x8 invocations); else 64x64 tiles. Thin-strip: strips where M or N is at most 16, else 64x64.
 * On an H200 the 100-agent SAC-v2 update's thin products took 0.22 ms in strips (0.41 with one
 * invocation per output, more with 64x64 tiles), and its 23-column input gradients 0.19 ms in
 * narrow tiles (0.31 in 64x64, 0.34 in two strips of 12: sessions 15 and 17). Never 128x128: on
 * an H200 it ran the 100-agent update's batched 256x256 products at half the speed of 64x64 and
 * won only from about 2048³ (by 13%, `bench/webgpu`).
 *
 * @example
 * matmulTile('sized', 256, 256, 1);    // 32: 16 workgroups of 64x64 would fill 16 multiprocessors
 * matmulTile('sized', 256, 256, 100);  // 64: 1600 workgroups
 * matmulTile('sized', 256, 1, 100);    // 'strip'
 * matmulTile('sized', 1280, 23, 200);  // 'narrow'
 * matmulTile('sized', 256, 1, 1);      // 32
 */
export function matmulTile(tiles: MatmulTiles, m: number, n: number, batch: number): MatmulTile {
  if (tiles !== 'sized' && tiles !== 'thin-strip') return tiles;
  if (tiles === 'sized' && Math.ceil(m / 64) * Math.ceil(n / 64) * batch < SMALL_PRODUCT_GROUPS) return 32;
  if (Math.min(m, n) <= STRIP_WIDTH) return 'strip';
  return tiles === 'sized' && Math.min(m, n) <= NARROW_WIDTH ? 'narrow' : 64;
}

/** The strips of an `[M, N]` output: along its longer side, as wide as its shorter one up to 16. */
const stripShape = (m: number, n: number): StripShape => (n <= m ? { short: 'N', width: Math.min(n, STRIP_WIDTH) } : { short: 'M', width: Math.min(m, STRIP_WIDTH) });

/** The workgroups covering an `[M, N]` output: tiles (x along N, y along M) or strips (x along the long side, y across the short one, and their shape). */
function outputGrid(m: number, n: number, tile: MatmulTile): { x: number; y: number; strip?: StripShape } {
  if (tile !== 'strip') return { x: Math.ceil(n / tileSide(tile)), y: Math.ceil(m / tileSide(tile)) };
  const strip = stripShape(m, n);
  const [long, short] = strip.short === 'N' ? [m, n] : [n, m];
  return { x: Math.ceil(long / STRIP_LONG), y: Math.ceil(short / strip.width), strip };
}

/**
 * The params, grid, element type and layout name (operand layouts, tile) of a product of `a` and `b`
 * into `out` (`[M, K] @ [K, N]` per batch), and the layout its kernel is generated for (with strips,
 * their shape).
 */
function matmulDispatch(a: Aval, b: Aval, out: Aval, m: number, n: number, k: number, layout: MatmulLayout) {
  const { transposeA = false, transposeB = false, tile = MATMUL_TILE, piecesA, piecesB } = layout;
  const batchShape = out.shape.slice(0, -2);
  const batch = sizeOf(batchShape);
  if (batch > MAX_GROUPS) throw new WebGPUError(`matmul: ${batch} batch matrices exceed the dispatch limit ${MAX_GROUPS}`);
  const aStrides = broadcastStrides(a.shape.slice(0, -2), batchShape).map((s) => s * m * k);
  const bStrides = broadcastStrides(b.shape.slice(0, -2), batchShape).map((s) => s * k * n);
  const params = [m, n, k, batchShape.length, ...batchShape, ...aStrides, ...bStrides];
  const { x, y, strip } = outputGrid(m, n, tile);
  if (x > MAX_GROUPS || y > MAX_GROUPS) throw new WebGPUError(`matmul: ${m}x${n} output exceeds the dispatch limit`);
  const groups: [number, number, number] = [x, y, batch];
  const pieces = (name: string, widths: readonly number[] | undefined) => (widths && widths.length > 1 ? `${name}${widths.join('+')}` : '');
  const kernelShape = strip ? `strip${strip.short}${strip.width}` : tile === MATMUL_TILE ? '' : tile;
  const aligned = tile !== 'strip' && m % tileSide(tile) === 0 && n % tileSide(tile) === 0 && k % 16 === 0;
  const variant = `${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}${kernelShape}${aligned ? 'aligned' : ''}${pieces('A', piecesA)}${pieces('B', piecesB)}`;
  return { params, groups, type: wgslType(out.dtype), variant, layout: strip ? { ...layout, strip } : { ...layout, aligned } };
}

/**
 * A dispatch of products prepared once (params, grid, pipeline key). `run` binds one call's
 * buffers, in this order: member 0's output; each member's two operands (a concatenated one: its
 * pieces, `MatmulLayout.piecesA`/`piecesB`); each member's epilogue inputs; the outputs of members
 * 1..; each member's epilogue stores.
 */
export interface PreparedProducts {
  run(gpu: KernelHost, buffers: readonly Storage[]): void;
}

/**
 * Prepares the dispatch of `count` independent products of `a` and `b` (logical shapes) into `out`
 * in `layout`, storing through `epilogue` (one group for all, or one per member, or none): one
 * product is `matmulWgsl`'s kernel, more are `matmulSiblingsWgsl`'s (a jit plan's sibling
 * products), member j reading the operand buffers `operands[j]` (default: each member its own, in
 * order; a buffer several members read is bound once). The products must not be empty, and K may
 * be 0 only with an epilogue (which then stores its value at 0; `matmulKernel` clears the others).
 * A jit plan prepares its products at compile time, so a call builds no params, keys or grids;
 * `matmulKernel` prepares its one product per call.
 *
 * @example
 * const twins = prepareProducts(gpu, 2, x.aval, w.aval, out);
 * twins.run(gpu, [q1, x.storage, w1.storage, x.storage, w2.storage, q2]); // q1 = x @ w1, q2 = x @ w2: one dispatch
 * prepareProducts(gpu, 2, x.aval, w.aval, out, {}, undefined, [[0, 1], [0, 2]]).run(gpu, [q1, x.storage, w1.storage, w2.storage, q2]); // x bound once
 * // q = concat([s, u], -1) @ w, the concatenation never stored (s [B, 17], u [B, 6])
 * prepareProducts(gpu, 1, { shape: [b, 23], dtype: 'float32' }, w.aval, out, { piecesA: [17, 6] }).run(gpu, [q, s.storage, u.storage, w.storage]);
 */
export function prepareProducts(
  host: KernelHost,
  count: number,
  a: Aval,
  b: Aval,
  out: Aval,
  layout: MatmulLayout = {},
  epilogue?: GroupShape | readonly (GroupShape | undefined)[],
  operands?: readonly (readonly number[])[],
): PreparedProducts {
  const [m, k] = a.shape.slice(-2);
  const n = out.shape[out.shape.length - 1];
  const epilogues = Array.isArray(epilogue) ? (epilogue as readonly (GroupShape | undefined)[]) : Array.from({ length: count }, () => epilogue as GroupShape | undefined);
  const anyEpilogue = epilogues.some((e) => e);
  if (sizeOf(out.shape) === 0 || (k === 0 && !anyEpilogue)) throw new WebGPUError(`matmul: no prepared kernel for the empty product ${formatShape(a.shape)} @ ${formatShape(b.shape)}`);
  const tile = matmulTile(host.matmulTiles, m, n, count * sizeOf(out.shape.slice(0, -2)));
  const { params: own, groups, type, variant, layout: tiled } = matmulDispatch(a, b, out, m, n, k, { ...layout, tile });
  const params = [...own];
  const paramsAt = groupPlacer(params);
  const ats = epilogues.map((e) => (e ? paramsAt(e) : 0));
  const tags = [variant.startsWith('NN') ? '' : variant.slice(0, 2), tile === 'strip' || tile === 'narrow' ? tile : ''].filter((tag) => tag);
  const kernel = `matmul${tags.length ? `(${tags.join(',')})` : ''}${count > 1 ? `x${count}` : ''}${anyEpilogue ? '+epilogue' : ''}`;
  const perMember = operandBuffers(layout.piecesA) + operandBuffers(layout.piecesB);
  const reads = operands ?? Array.from({ length: count }, (_, j) => Array.from({ length: perMember }, (_, q) => j * perMember + q));
  // A group over the product's [..., M, N] finds its strided inputs by row and column; one read
  // through a reshape (another shape of the same size) walks the flat index.
  const byCoords = epilogues.map((e) => e !== undefined && e.params[0] >= 2 && e.params[e.params[0] - 1] === m && e.params[e.params[0]] === n);
  const epilogueKeys = epilogues.map((e, j) => (e ? `${e.key}@${ats[j]}${byCoords[j] ? 'rc' : ''}` : '')).join(',');
  const key = `matmul|${type}|${variant}|${count > 1 ? JSON.stringify(reads) : 'x1'}|${epilogueKeys}`;
  const first = epilogues[0];
  const source =
    count === 1
      ? () => matmulWgsl(type, tiled, first && { spec: first.spec, byCoords: byCoords[0], layout: { inputs: 2 + perMember, stores: 2 + perMember + first.spec.inputs.length, at: ats[0] } })
      : () => matmulSiblingsWgsl(type, tiled, reads, epilogues.map((e, j) => e && { spec: e.spec, at: ats[j], byCoords: byCoords[j] }));
  const grid: [number, number, number] = [groups[0], groups[1], groups[2] * count];
  const extraOutputs = count - 1 + epilogues.reduce((sum, e) => sum + (e?.spec.stores.length ?? 0), 0);
  return { run: (gpu, buffers) => gpu.run(kernel, key, source, params, buffers, grid, false, extraOutputs) };
}

/** Where a threefry kernel finds row r's key: words `offset + r · stride` and the one after. */
export interface KeyLayout {
  readonly offset: number;
  readonly stride: number;
}

/**
 * Threefry-2x32 of `counts` under the keys `key` (logical shape `[...rows, 2]`, stored as `keys`
 * says: contiguous by default), into fresh storage of `out`. An `out` of float32 stores JAX's
 * uniform floats of the words instead of the words (a jit plan's threefry whose bits only
 * `uniformFromBits` reads: one kernel for both).
 *
 * @example
 * // the uniforms of key row 1 of a split key [3, 2], read in place
 * threefryKernel(gpu, { storage: split.storage, aval: { shape: [2], dtype: 'uint32' } }, counts, { shape: [5], dtype: 'float32' }, { offset: 2, stride: 2 });
 */
export function threefryKernel(gpu: KernelHost, key: GpuInput, counts: GpuInput, out: Aval, keys: KeyLayout = { offset: 0, stride: 2 }): Storage {
  const result = gpu.output(out);
  const n = sizeOf(out.shape);
  if (n === 0) return result;
  const rows = sizeOf(key.aval.shape) / 2;
  const perRow = n / rows;
  const pairs = Math.ceil(perRow / 2) * rows;
  const uniform = out.dtype === 'float32';
  const kernel = uniform ? 'threefry+uniform' : 'threefry';
  gpu.run(kernel, kernel, () => threefryWgsl(uniform), [perRow, rows, keys.offset, keys.stride], [result, key.storage, counts.storage], grid1d(kernel, pairs));
  return result;
}

/** One of several sibling threefry steps: its key's and counts' avals and layout, its output, which shared inputs hold its key and counts. */
export interface SiblingThreefryStep {
  readonly key: Aval;
  readonly keys?: KeyLayout;
  readonly out: Aval;
  readonly reads: { readonly key: number; readonly counts: number };
}

/**
 * Prepares independent threefry steps (a jit plan's siblings, none of them empty) as one dispatch
 * (`threefrySiblingsWgsl`). `run` binds member 0's output, the `inputs` shared inputs (keys and
 * counts, each once), then the outputs of members 1...
 *
 * @example
 * // the uniforms of rows 0 and 1 of a split key, one dispatch: buffers [u0, split, counts, u1]
 * const twins = prepareThreefrySiblings([{ key, keys: { offset: 0, stride: 2 }, out, reads: { key: 0, counts: 1 } }, { key, keys: { offset: 2, stride: 2 }, out, reads: { key: 0, counts: 1 } }], 2);
 */
export function prepareThreefrySiblings(members: readonly SiblingThreefryStep[], inputs: number): { run(gpu: KernelHost, buffers: readonly Storage[]): void } {
  let total = 0;
  const ends = members.map(({ key, out }) => (total += (Math.ceil(sizeOf(out.shape) / (sizeOf(key.shape) / 2) / 2) * sizeOf(key.shape)) / 2));
  const params = [
    ...ends,
    ...members.flatMap(({ key, keys = { offset: 0, stride: 2 }, out }) => {
      const rows = sizeOf(key.shape) / 2;
      return [sizeOf(out.shape) / rows, rows, keys.offset, keys.stride];
    }),
  ];
  const shapes = members.map((m) => ({ ...m.reads, uniform: m.out.dtype === 'float32' }));
  const key = `threefry|${JSON.stringify(shapes)}`;
  const kernel = `threefry${shapes.some((m) => m.uniform) ? '+uniform' : ''}x${members.length}`;
  const grid = grid1d(kernel, total);
  const source = () => threefrySiblingsWgsl(shapes, inputs);
  return { run: (gpu, buffers) => gpu.run(kernel, key, source, params, buffers, grid, false, members.length - 1) };
}

/** The WebGPU kernel of every primitive. */
export const webgpuKernels: { [P in Primitive]: GpuKernel<P> } = {
  ...table(UNARY_OPS, unaryKernel),
  ...table(BINARY_OPS, binaryKernel),
  ...table(REDUCE_OPS, reduceKernel),
  ...table(ARG_REDUCE_OPS, argReduceKernel),
  where: (gpu, inputs, _p, out) => elementwise(gpu, 'where', inputs, out, ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`),
  cast: (gpu, inputs, _p, out) => elementwise(gpu, 'cast', inputs, out, ([a]) => castWgsl(a, inputs[0].aval.dtype, out.dtype)),
  stopGradient: (gpu, [x]) => gpu.share(x.storage),
  reshape: (gpu, [x]) => gpu.share(x.storage),

  matmul: (gpu, inputs, _p, out) => matmulKernel(gpu, inputs, out),

  transpose(gpu, inputs, { perm }, out) {
    const strides = stridesOf(inputs[0].aval.shape);
    return view('transpose', inputs, out, gpu, 0, perm.map((p) => strides[p]));
  },

  broadcastTo: (gpu, inputs, { shape }, out) => view('broadcastTo', inputs, out, gpu, 0, broadcastStrides(inputs[0].aval.shape, shape)),

  slice(gpu, inputs, { starts, steps }, out) {
    const strides = stridesOf(inputs[0].aval.shape);
    const offset = starts.reduce((acc, s, i) => acc + s * strides[i], 0);
    return view('slice', inputs, out, gpu, offset, strides.map((s, i) => s * steps[i]));
  },

  flip(gpu, inputs, { axes }, out) {
    const shape = inputs[0].aval.shape;
    let offset = 0;
    const strides = stridesOf(shape).map((s, i) => {
      if (!axes.includes(i)) return s;
      offset += (shape[i] - 1) * s;
      return -s;
    });
    return view('flip', inputs, out, gpu, offset, strides);
  },

  pad(gpu, [x], { lo, interior }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const shape = x.aval.shape;
    const params = [n, shape.length, ...out.shape, ...lo, ...interior.map((s) => s + 1), ...shape, ...stridesOf(shape)];
    gpu.run('pad', 'pad', () => PAD_WGSL, params, [result, x.storage], grid1d('pad', n));
    return result;
  },

  concat(gpu, inputs, { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const inner = sizeOf(out.shape.slice(axis + 1));
    const total = out.shape[axis];
    const parts = inputs.filter((x) => x.aval.shape[axis] > 0);
    // One dispatch per run of inputs that fits the bindings every device has (8: params, output, 6).
    let base = 0;
    for (let start = 0; start < parts.length; start += CONCAT_INPUTS) {
      const run = parts.slice(start, start + CONCAT_INPUTS);
      let span = 0;
      const ends = run.map((x) => (span += x.aval.shape[axis]));
      const count = (n / total) * span;
      const params = [count, inner, total, span, base, ...ends];
      gpu.run('concat', `concat|${run.length}`, () => concatWgsl(run.length), params, [result, ...run.map((x) => x.storage)], grid1d('concat', count));
      base += span;
    }
    return result;
  },

  gather(gpu, [x, idx], { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const xStrides = broadcastStrides(x.aval.shape, out.shape);
    xStrides[axis] = 0;
    const params = [
      n,
      out.shape.length,
      ...out.shape,
      ...xStrides,
      ...broadcastStrides(idx.aval.shape, out.shape),
      stridesOf(x.aval.shape)[axis],
      x.aval.shape[axis],
    ];
    gpu.run('gather', 'gather', () => GATHER_WGSL, params, [result, x.storage, idx.storage], grid1d('gather', n), true);
    return result;
  },

  scatterAdd(gpu, [updates, idx], { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const j = idx.aval.shape[axis];
    const iterShape = out.shape.map((d, i) => (i === axis ? j : d));
    const params = [
      n,
      out.shape.length,
      ...out.shape,
      axis,
      j,
      ...broadcastStrides(idx.aval.shape, iterShape),
      ...broadcastStrides(updates.aval.shape, iterShape),
    ];
    const type = wgslType(out.dtype);
    const storages = [result, updates.storage, idx.storage];
    gpu.run('scatterAdd', `scatterAdd|${type}`, () => scatterAddWgsl(type), params, storages, grid1d('scatterAdd', n), true);
    return result;
  },

  threefry: (gpu, [key, counts], _p, out) => threefryKernel(gpu, key, counts, out),

  uniformFromBits(gpu, [bits], _p, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    gpu.run('uniformFromBits', 'uniformFromBits', () => UNIFORM_F32_WGSL, [n], [result, bits.storage], grid1d('uniformFromBits', n));
    return result;
  },
};
