/** Ops that rearrange elements without computing on them. */
import { promoteTypes } from '../dtype';
import { ArgumentError, ShapeError } from '../errors';
import { bind } from '../interpreter';
import { checkShape, formatShape, normalizeAxes, normalizeAxis, normalizePermutation, type Shape, sizeOf } from '../shape';
import type { Tensor } from '../tensor';
import { asTensor, castIfNeeded, type TensorLike } from './convert';

/**
 * The same elements in a new shape; one size may be -1 (inferred).
 *
 * @example
 * reshape(arange(6), [2, -1]); // i32[2,3]
 */
export function reshape(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  const resolved = resolveShape(t.shape, shape);
  if (resolved.length === t.shape.length && resolved.every((d, i) => d === t.shape[i])) return t;
  return bind('reshape', [t], { shape: resolved });
}

function resolveShape(from: Shape, shape: Shape): number[] {
  if (!Array.isArray(shape)) checkShape('reshape', shape);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ArgumentError(`reshape: at most one size may be -1, got ${formatShape(shape)}`);
  const known = shape.filter((d) => d !== -1);
  for (const d of known) {
    if (!Number.isInteger(d) || d < 0) throw new ArgumentError(`reshape: invalid size ${d} in ${formatShape(shape)}`);
  }
  if (unknown === 0) return [...shape];
  const rest = sizeOf(known);
  const total = sizeOf(from);
  if (rest === 0 || total % rest !== 0) {
    throw new ShapeError(`reshape: cannot reshape ${formatShape(from)} (${total} elements) to ${formatShape(shape)}`);
  }
  return shape.map((d) => (d === -1 ? total / rest : d));
}

/** All elements in one axis. @example flatten(zeros([2, 3])); // f32[6] */
export const flatten = (x: TensorLike): Tensor => reshape(x, [-1]);

/**
 * Permutes the axes; by default reverses them (matrix transpose for rank 2).
 *
 * @example
 * transpose(zeros([2, 3, 4]), [2, 0, 1]); // f32[4,2,3]
 */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = asTensor(x);
  const p = perm === undefined ? t.shape.map((_, i) => t.ndim - 1 - i) : normalizePermutation('transpose', perm, t.ndim);
  if (p.every((a, i) => a === i)) return t;
  return bind('transpose', [t], { perm: p });
}

/** Swaps two axes. @example swapAxes(zeros([2, 3]), 0, 1); // f32[3,2] */
export function swapAxes(x: TensorLike, a: number, b: number): Tensor {
  const t = asTensor(x);
  const perm = t.shape.map((_, i) => i);
  const [i, j] = [normalizeAxis('swapAxes', a, t.ndim), normalizeAxis('swapAxes', b, t.ndim)];
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return transpose(t, perm);
}

/** Moves one axis to a new position. @example moveAxis(zeros([2, 3, 4]), 0, -1); // f32[3,4,2] */
export function moveAxis(x: TensorLike, source: number, destination: number): Tensor {
  const t = asTensor(x);
  const from = normalizeAxis('moveAxis', source, t.ndim);
  const to = normalizeAxis('moveAxis', destination, t.ndim);
  const perm = t.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(t, perm);
}

/**
 * Inserts a size-1 axis at `axis` (in the result's numbering).
 *
 * @example
 * expandDims(zeros([3]), 0); // f32[1,3]
 */
export function expandDims(x: TensorLike, axis: number | readonly number[]): Tensor {
  const t = asTensor(x);
  const axes = typeof axis === 'number' ? [axis] : axis;
  const rank = t.ndim + axes.length;
  const positions = normalizeAxes('expandDims', axes, rank);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(positions.includes(i) ? 1 : t.shape[k++]);
  return reshape(t, shape);
}

/**
 * Removes size-1 axes (all of them, or the given ones, which must have size 1).
 *
 * @example
 * squeeze(zeros([1, 3, 1])); // f32[3]
 */
export function squeeze(x: TensorLike, axis?: number | readonly number[]): Tensor {
  const t = asTensor(x);
  const axes = axis === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axis, t.ndim);
  for (const a of axes) {
    if (t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${formatShape(t.shape)} has size ${t.shape[a]}, not 1`);
  }
  return reshape(t, t.shape.filter((_, i) => !axes.includes(i)));
}

/**
 * Repeats size-1 (and missing leading) axes to reach `shape`.
 *
 * @example
 * broadcastTo(tensor([1, 2]), [3, 2]); // f32[3,2]
 */
export function broadcastTo(x: TensorLike, shape: Shape): Tensor {
  const t = asTensor(x);
  checkShape('broadcastTo', shape);
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
  return bind('broadcastTo', [t], { shape: [...shape] });
}

/** One axis of a slice: an index (drops the axis), `[start, stop, step]` (Python semantics), or null for all. */
export type SliceSpec = number | null | readonly [start?: number | null, stop?: number | null, step?: number | null];

/**
 * Python/NumPy basic slicing: `slice(x, [1, null, 2], 0)` is `x[1::2, 0]`. Negative indices count from
 * the end; negative steps reverse. Missing trailing specs take whole axes.
 *
 * @example
 * slice(arange(10), [null, null, -2]); // [9, 7, 5, 3, 1]
 */
export function slice(x: TensorLike, ...specs: SliceSpec[]): Tensor {
  let t = asTensor(x);
  if (specs.length > t.ndim) {
    throw new ArgumentError(`slice: ${specs.length} specs for a tensor of rank ${t.ndim} (${formatShape(t.shape)})`);
  }
  const starts: number[] = [];
  const stops: number[] = [];
  const steps: number[] = [];
  const flipAxes: number[] = [];
  const dropAxes: number[] = [];
  t.shape.forEach((size, axis) => {
    const spec = axis < specs.length ? specs[axis] : null;
    if (typeof spec === 'number') {
      if (!Number.isInteger(spec)) throw new ArgumentError(`slice: index ${spec} on axis ${axis} is not an integer`);
      if (spec < -size || spec >= size) {
        throw new ArgumentError(`slice: index ${spec} is out of range for axis ${axis} of size ${size}`);
      }
      const i = spec < 0 ? spec + size : spec;
      starts.push(i);
      stops.push(i + 1);
      steps.push(1);
      dropAxes.push(axis);
      return;
    }
    const [start, stop, step] = spec === null ? [null, null, null] : [spec[0] ?? null, spec[1] ?? null, spec[2] ?? null];
    const s = step ?? 1;
    if (!Number.isInteger(s) || s === 0) throw new ArgumentError(`slice: step must be a nonzero integer, got ${s} at axis ${axis}`);
    for (const v of [start, stop]) {
      if (v !== null && !Number.isInteger(v)) throw new ArgumentError(`slice: bound ${v} at axis ${axis} is not an integer`);
    }
    if (s > 0) {
      const lo = clampIndex(start ?? 0, size, 0, size);
      const hi = Math.max(lo, clampIndex(stop ?? size, size, 0, size));
      starts.push(lo);
      stops.push(hi);
      steps.push(s);
    } else {
      // Python: x[a:b:-s] walks from a down to b (exclusive); on the flipped axis that is index size-1-a up.
      const first = clampIndex(start ?? size - 1, size, -1, size - 1);
      const last = stop === null ? -1 : clampIndex(stop, size, -1, size - 1);
      const lo = size - 1 - first;
      const hi = Math.max(lo, size - 1 - last);
      starts.push(Math.min(lo, size));
      stops.push(Math.min(hi, size));
      steps.push(-s);
      flipAxes.push(axis);
    }
  });
  if (flipAxes.length > 0) t = bind('flip', [t], { axes: flipAxes });
  const whole = starts.every((s, i) => s === 0 && stops[i] === t.shape[i] && steps[i] === 1);
  if (!whole) t = bind('slice', [t], { starts, stops, steps });
  return dropAxes.length > 0 ? squeeze(t, dropAxes) : t;
}

/** Python's index normalization: negative counts from the end, then clamped to [low, high]. */
function clampIndex(i: number, size: number, low: number, high: number): number {
  const j = i < 0 ? i + size : i;
  return Math.min(high, Math.max(low, j));
}

/** Reverses the given axes (all by default). @example flip(tensor([1, 2, 3])); // [3, 2, 1] */
export function flip(x: TensorLike, axis?: number | readonly number[]): Tensor {
  const t = asTensor(x);
  const axes = normalizeAxes('flip', axis, t.ndim);
  return axes.length === 0 ? t : bind('flip', [t], { axes });
}

/**
 * Zero padding: `widths[i] = [before, after]` for each axis.
 *
 * @example
 * pad(tensor([1, 2]), [[1, 2]]); // [0, 1, 2, 0, 0]
 */
export function pad(x: TensorLike, widths: readonly (readonly [number, number])[]): Tensor {
  const t = asTensor(x);
  if (widths.length !== t.ndim) {
    throw new ArgumentError(`pad: ${widths.length} [before, after] pairs for a tensor of rank ${t.ndim}`);
  }
  return bind('pad', [t], { lo: widths.map((w) => w[0]), hi: widths.map((w) => w[1]), interior: widths.map(() => 0) });
}

/** Tensors cast to one dtype, promoted as a binary op's operands are. */
function promoted(op: string, xs: readonly TensorLike[]): Tensor[] {
  const ts = xs.map((x) => asTensor(x));
  const dtype = ts.map((t) => t.dtype).reduce((a, b) => promoteTypes(a, b, op));
  return ts.map((t) => castIfNeeded(t, dtype));
}

/**
 * Joins tensors along an existing axis; their dtypes promote as a binary op's operands do.
 *
 * @example
 * concat([zeros([2, 3]), ones([1, 3])], 0); // f32[3,3]
 */
export function concat(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
  const ts = promoted('concat', xs);
  const a = normalizeAxis('concat', axis, ts[0].ndim);
  if (ts.length === 1) return ts[0];
  return bind('concat', ts, { axis: a });
}

/**
 * Joins same-shaped tensors along a new axis; their dtypes promote as in `concat`.
 *
 * @example
 * stack([zeros([3]), ones([3])], 0); // f32[2,3]
 */
export function stack(xs: readonly TensorLike[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('stack: needs at least one tensor');
  const ts = promoted('stack', xs);
  const a = normalizeAxis('stack', axis, ts[0].ndim + 1);
  for (const t of ts) {
    if (t.ndim !== ts[0].ndim || t.shape.some((d, i) => d !== ts[0].shape[i])) {
      throw new ShapeError(`stack: shapes ${ts.map((s) => formatShape(s.shape)).join(', ')} differ`);
    }
  }
  return concat(
    ts.map((t) => expandDims(t, a)),
    a,
  );
}

/**
 * Splits along `axis` into `sections` equal parts, or at the given indices.
 *
 * @example
 * split(arange(6), 3); // three i32[2]
 * split(arange(6), [1, 4]); // i32[1], i32[3], i32[2]
 */
export function split(x: TensorLike, sections: number | readonly number[], axis = 0): Tensor[] {
  const t = asTensor(x);
  const a = normalizeAxis('split', axis, t.ndim);
  const size = t.shape[a];
  let bounds: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections < 1 || size % sections !== 0) {
      throw new ArgumentError(`split: axis ${a} of size ${size} cannot be split into ${sections} equal parts`);
    }
    bounds = Array.from({ length: sections + 1 }, (_, i) => (i * size) / sections);
  } else {
    bounds = [0, ...sections.map((s) => (s < 0 ? s + size : s)), size];
    for (let i = 1; i < bounds.length; i++) {
      if (!Number.isInteger(bounds[i]) || bounds[i] < bounds[i - 1] || bounds[i] > size) {
        throw new ArgumentError(`split: indices [${sections.join(',')}] must be increasing within axis ${a} of size ${size}`);
      }
    }
  }
  const parts: Tensor[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const spec: SliceSpec[] = t.shape.map(() => null);
    spec[a] = [bounds[i], bounds[i + 1]];
    parts.push(slice(t, ...spec));
  }
  return parts;
}
