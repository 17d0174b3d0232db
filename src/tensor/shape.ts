import { ArgumentError, ShapeError } from './errors';

/** A tensor shape: non-negative integer sizes, outermost first. */
export type Shape = readonly number[];

/**
 * `[2, 3]` printed as `[2,3]`, the form every error message uses.
 *
 * @example
 * formatShape([2, 3]); // '[2,3]'
 */
export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * `shape` if it is an array of non-negative integer sizes; else an ArgumentError naming `op`.
 *
 * @example
 * checkShape('zeros', [2, 3]); // [2, 3]
 * checkShape('zeros', 3); // throws: zeros: shape must be an array of sizes such as [3], got 3
 */
export function checkShape(op: string, shape: Shape): Shape {
  if (!Array.isArray(shape)) {
    const example = typeof shape === 'number' ? `[${shape}]` : '[2, 3]';
    throw new ArgumentError(`${op}: shape must be an array of sizes such as ${example}, got ${typeof shape === 'object' ? JSON.stringify(shape) ?? 'an object' : String(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i];
    if (!Number.isInteger(size) || size < 0) {
      throw new ArgumentError(
        `${op}: shape ${formatShape(shape)} has an invalid size ${size} at axis ${i} (sizes must be non-negative integers)`,
      );
    }
  }
  return shape;
}

/**
 * Number of elements.
 *
 * @example
 * sizeOf([2, 3, 4]); // 24
 * sizeOf([]); // 1 (a scalar)
 */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * NumPy broadcasting: align trailing axes; each pair of sizes must be equal or one of them 1.
 *
 * @example
 * broadcastShapes('add', [3, 1], [4]); // [3, 4]
 */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const offset = rank - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      const o = out[offset + i];
      if (o === 1) out[offset + i] = d;
      else if (d !== 1 && d !== o) {
        throw new ShapeError(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast (axis ${offset + i - rank} has sizes ${o} and ${d})`,
        );
      }
    }
  }
  return out;
}

/**
 * Strides for reading an input of shape `shape` as if broadcast to `outShape`: broadcast axes get
 * stride 0.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(shape);
  const offset = outShape.length - shape.length;
  const out = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) out[offset + i] = shape[i] === 1 ? 0 : strides[i];
  return out;
}

/** An axis argument as an error message shows it: JSON for strings and objects (`"1"`, `{"axis":0}`). */
function describeAxis(value: unknown): string {
  return typeof value === 'string' || (typeof value === 'object' && value !== null) ? JSON.stringify(value) : String(value);
}

/** A possibly negative axis made non-negative; throws unless it is an integer in [-ndim, ndim). */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis)) {
    throw new ArgumentError(`${op}: axis must be an integer, got ${describeAxis(axis)}`);
  }
  if (axis < -ndim || axis >= ndim) {
    throw new ArgumentError(`${op}: axis ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalized, sorted, duplicate-checked axes; `undefined` means every axis. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    throw new ArgumentError(`${op}: axes must be an integer or an array of integers, got ${describeAxis(axes)}`);
  }
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) {
    throw new ArgumentError(`${op}: repeated axis in [${list.join(',')}]`);
  }
  return out.sort((a, b) => a - b);
}

/** Checks that `perm` is a permutation of 0..ndim-1 (negative entries allowed). */
export function normalizePermutation(op: string, perm: readonly number[], ndim: number): number[] {
  if (perm.length !== ndim) {
    throw new ArgumentError(`${op}: permutation [${perm.join(',')}] has ${perm.length} entries for rank ${ndim}`);
  }
  const out = perm.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== ndim) {
    throw new ArgumentError(`${op}: [${perm.join(',')}] is not a permutation of the axes 0..${ndim - 1}`);
  }
  return out;
}
