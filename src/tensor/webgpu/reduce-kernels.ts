/**
 * Reductions on WebGPU: over any set of axes, one pass (an invocation or a workgroup per output)
 * or two (partial results from several workgroups per output, then their combination), with a
 * jit plan's prologue computing the operand where it is read and epilogue where each result is
 * stored; independent reductions of one shape as one dispatch.
 */
import { reduceSiblingsWgsl, type ReduceSpec, reduceWgsl } from '../../../shaders/reduce';
import type { DType } from '../dtype';
import { ShapeError } from '../errors';
import type { Aval, ReduceOp } from '../primitives';
import { formatShape, sizeOf, stridesOf } from '../shape';
import { WebGPUError } from './errors';
import { castWgsl, type WgslType, wgslType } from './expressions';
import { elementwise, grid, grid1d, groupLayouts, groupPlacer, type GroupShape, type KernelHost, type PrologueOperand, type StoreEpilogue } from './kernel-common';
import type { GpuInput, Storage } from './storage';

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
