/**
 * Slices, pads, concatenations, transposes and gathers of jit plans as copies in the arena. A slice, pad or
 * concatenation is a strided copy (`copyStrided`'s terms); where its axes collapse to rows of
 * contiguous bytes on both sides it runs as `copyRows` calls (16 bytes at a time, then 4), a pad
 * zeroing its output first. A transpose of 4-byte elements whose axes collapse to matrices runs as
 * `transposeF32` per matrix (`transposeAsMatrices`), and a gather of 4-byte elements along an axis
 * without broadcasting, or with one index per row, by `gather32` (`gatherAlongAxis`). In JS the same copies run element by element,
 * and read a threaded plan's shared memory about 4x slower than plain memory (a SAC update's 256 x 23
 * concatenation took 20 us; a mixture policy's 32 x 5 transposes took 4 us each, against 0.3).
 */
import { stridesOf } from '../../shape';
import { Code, type FunctionDef, i32 } from './emit';

/** The copy kernels' signatures (addresses and sizes in bytes). */
export interface CopyExports {
  /** `copyBytes(dst, src, bytes)`: a `memory.copy` within the arena's memory. */
  copyBytes(dst: number, src: number, bytes: number): void;
  /** `rows` runs of `rowBytes` bytes (a multiple of 4) from `src` to `dst`, their starts `srcStride` and `dstStride` bytes apart. */
  copyRows(dst: number, dstStride: number, src: number, srcStride: number, rowBytes: number, rows: number): void;
  /** Zeroes `bytes` bytes from `dst` (`memory.fill`). */
  zeroBytes(dst: number, bytes: number): void;
  /**
   * `out[o, j, i] = x[o, idx[o, j, i], i]` for 4-byte elements, x `[outer, n, inner]`, idx (int32)
   * and out `[outer, count, inner]`, or idx `[outer, count, 1]` broadcast along the inner axis when
   * `idxStep` is 0 (4 when not: the index's bytes per inner element); returns 1 if an index is
   * outside [0, n) (its element is not written), else 0.
   */
  gather32(x: number, idx: number, out: number, outer: number, n: number, count: number, inner: number, idxStep: number): number;
}

function copyBytes(): FunctionDef {
  const c = new Code(3);
  c.get(0).get(1).get(2).memoryCopy();
  return { name: 'copyBytes', params: [i32, i32, i32], code: c };
}

function copyRows(): FunctionDef {
  const c = new Code(6);
  const [DST, DST_STRIDE, SRC, SRC_STRIDE, ROW_BYTES, ROWS] = [0, 1, 2, 3, 4, 5];
  const [row, offset] = [c.local(i32), c.local(i32)];
  const at = (base: number) => c.get(base).get(offset).op('i32.add');
  c.get(ROWS).set(row);
  c.while(
    () => c.get(row),
    () => {
      c.i32(0).set(offset);
      c.while(
        () => c.get(offset).i32(16).op('i32.add').get(ROW_BYTES).op('i32.le_s'),
        () => (at(DST), at(SRC).simd('v128.load'), c.simd('v128.store').addTo(offset, 16)),
      );
      c.while(
        () => c.get(offset).get(ROW_BYTES).op('i32.lt_s'),
        () => (at(DST), at(SRC).mem('i32.load'), c.mem('i32.store').addTo(offset, 4)),
      );
      c.addTo(DST, { local: DST_STRIDE }).addTo(SRC, { local: SRC_STRIDE }).addTo(row, -1);
    },
  );
  return { name: 'copyRows', params: Array(6).fill(i32), code: c };
}

function zeroBytes(): FunctionDef {
  const c = new Code(2);
  c.get(0).i32(0).get(1).memoryFill();
  return { name: 'zeroBytes', params: [i32, i32], code: c };
}

function gather32(): FunctionDef {
  const c = new Code(8);
  const [X, IDX, OUT, OUTER, N, COUNT, INNER, IDX_STEP] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [o, j, i, k, bad, inRange] = Array.from({ length: 6 }, () => c.local(i32));
  c.i32(0).set(bad).i32(0).set(o);
  c.while(
    () => c.get(o).get(OUTER).op('i32.lt_s'),
    () => {
      c.i32(0).set(j);
      c.while(
        () => c.get(j).get(COUNT).op('i32.lt_s'),
        () => {
          c.i32(0).set(i);
          c.while(
            () => c.get(i).get(INNER).op('i32.lt_s'),
            () => {
              c.get(IDX).mem('i32.load').set(k);
              // Unsigned: a negative index is out of range too.
              c.get(k).get(N).op('i32.lt_u').set(inRange);
              c.get(bad).get(inRange).op('i32.eqz').op('i32.or').set(bad);
              c.when(
                () => c.get(inRange),
                () => {
                  // x + ((o * n + k) * inner + i) * 4
                  c.get(OUT).get(X).get(o).get(N).op('i32.mul').get(k).op('i32.add').get(INNER).op('i32.mul').get(i).op('i32.add');
                  c.i32(2).op('i32.shl').op('i32.add').mem('i32.load').mem('i32.store');
                },
              );
              c.addTo(IDX, { local: IDX_STEP }).addTo(OUT, 4).addTo(i, 1);
            },
          );
          // A broadcast index (step 0) moves on once per row: 4 - step bytes.
          c.get(IDX).i32(4).op('i32.add').get(IDX_STEP).op('i32.sub').set(IDX);
          c.addTo(j, 1);
        },
      );
      c.addTo(o, 1);
    },
  );
  c.get(bad);
  return { name: 'gather32', params: Array(8).fill(i32), results: [i32], code: c };
}

/** The kernels of this module, for `wasmModule`. */
export const COPY_FUNCTIONS: readonly (() => FunctionDef)[] = [copyBytes, copyRows, zeroBytes, gather32];

/** A take-along-axis of `gather32`'s layout: x `[outer, n, inner]`, indices and output `[outer, count, inner]`. */
export interface AlongAxis {
  readonly outer: number;
  readonly n: number;
  readonly count: number;
  readonly inner: number;
  /** Whether the indices are `[outer, count, 1]`, broadcast along the inner axes (one index per row of `inner` elements). */
  readonly indexPerRow: boolean;
}

/**
 * A gather along `axis` (`take_along_axis`) in `gather32`'s layout, or null when x is broadcast
 * along another axis, or the indices along an axis before `axis` or only some after it (the
 * output's shape is then not theirs). Indices of one element along every axis after `axis` pick
 * whole rows (`indexPerRow`): a mixture's chosen component's action, x `[B, K, d]`, indices `[B, 1, 1]`.
 *
 * @example
 * gatherAlongAxis([32, 5, 1], [32, 1, 1], 1, [32, 1, 1]); // { outer: 32, n: 5, count: 1, inner: 1, indexPerRow: false }
 * gatherAlongAxis([256, 5, 6], [256, 1, 1], 1, [256, 1, 6]); // { outer: 256, n: 5, count: 1, inner: 6, indexPerRow: true }
 * gatherAlongAxis([1, 5], [32, 1], 1, [32, 1]); // null: x's row is shared by 32 rows
 */
export function gatherAlongAxis(xShape: readonly number[], idxShape: readonly number[], axis: number, outShape: readonly number[]): AlongAxis | null {
  const same = (shape: readonly number[]) => shape.length === outShape.length && shape.every((d, a) => a === axis || d === outShape[a]);
  const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);
  const inner = product(outShape.slice(axis + 1));
  const perRow =
    inner > 1 && idxShape.length === outShape.length && idxShape.every((d, a) => (a <= axis ? d === outShape[a] : d === 1));
  if (!same(xShape) || !(same(idxShape) || perRow)) return null;
  return { outer: product(outShape.slice(0, axis)), n: xShape[axis], count: outShape[axis], inner, indexPerRow: perRow };
}

/** One `copyRows` call: byte offsets from the start of input `input` and of the output. */
export interface RowCopy {
  readonly input: number;
  readonly src: number;
  readonly srcStride: number;
  readonly dst: number;
  readonly dstStride: number;
  readonly rowBytes: number;
  readonly rows: number;
}

/** A step's copies, after zeroing its output when `zero` (a pad). */
export interface RowCopies {
  readonly zero: boolean;
  readonly copies: readonly RowCopy[];
}

/** A strided copy (element offsets and strides, iteration shape) from input `input`. */
interface StridedCopy {
  readonly input: number;
  readonly shape: readonly number[];
  readonly src: number;
  readonly srcStrides: readonly number[];
  readonly dst: number;
  readonly dstStrides: readonly number[];
}

/** Most `copyRows` calls a transpose of rows becomes (one per row of its other outer axes). */
const MAX_TRANSPOSE_COPIES = 64;

/**
 * A strided copy as rows of contiguous elements on both sides, or null: axes of size 1 dropped,
 * neighbours merged where both sides lay them out as one run, then rows along the last axis when it
 * is contiguous on both sides (else rows of one element), with one axis of rows left: the copy's
 * largest outer axis, one copy per index of the others (at most `maxCopies`).
 */
function asRows(copy: StridedCopy, bytes: number, maxCopies = 1): RowCopy[] | null {
  const axes: { size: number; src: number; dst: number }[] = [];
  copy.shape.forEach((size, d) => {
    if (size === 1) return;
    const last = axes[axes.length - 1];
    if (last && last.src === copy.srcStrides[d] * size && last.dst === copy.dstStrides[d] * size) {
      // The previous (outer) axis continues this one on both sides: one axis of their product.
      axes[axes.length - 1] = { size: last.size * size, src: copy.srcStrides[d], dst: copy.dstStrides[d] };
    } else axes.push({ size, src: copy.srcStrides[d], dst: copy.dstStrides[d] });
  });
  // Rows of the last axis when it is contiguous on both sides, else of one element each (a column).
  const single = { size: 1, src: 1, dst: 1 };
  const last = axes[axes.length - 1];
  const contiguous = last !== undefined && last.src === 1 && last.dst === 1;
  const run = contiguous ? last : single;
  const outers = contiguous ? axes.slice(0, -1) : axes;
  const outer = outers.reduce((best, axis) => (axis.size > best.size ? axis : best), outers[0] ?? { size: 1, src: 0, dst: 0 });
  const others = outers.filter((axis) => axis !== outer);
  if (others.reduce((count, axis) => count * axis.size, 1) > maxCopies) return null;
  // The start of each copy: one per index of the other outer axes, in order.
  let starts = [{ src: copy.src, dst: copy.dst }];
  for (const axis of others) starts = starts.flatMap((at) => Array.from({ length: axis.size }, (_, i) => ({ src: at.src + i * axis.src, dst: at.dst + i * axis.dst })));
  return starts.map((at) => ({
    input: copy.input,
    src: at.src * bytes,
    srcStride: outer.src * bytes,
    dst: at.dst * bytes,
    dstStride: outer.dst * bytes,
    rowBytes: run.size * bytes,
    rows: outer.size,
  }));
}

const offsetOf = (at: readonly number[], strides: readonly number[]) => at.reduce((sum, x, d) => sum + x * strides[d], 0);

/**
 * The row copies of a slice, a pad, a concatenation or a transpose of elements of `bytes` bytes (4
 * or 8), or null when one of its copies is not rows of contiguous runs (a slice stepping along the
 * last axis of a matrix, an interior pad along it, a rank that does not collapse) or it crops (a
 * negative pad). A transpose that keeps a run of its last axes in place is rows of that run, one
 * copy per index of the outer axes but the largest (at most `MAX_TRANSPOSE_COPIES`); one that moves
 * single elements is null (`transposeAsMatrices` takes those).
 *
 * @example
 * rowCopies({ prim: 'concat', axis: 1 }, [[256, 17], [256, 6]], [256, 23], 4);
 * // { zero: false, copies: [{ input: 0, rowBytes: 68, rows: 256, dstStride: 92, ... }, { input: 1, dst: 68, rowBytes: 24, ... }] }
 * rowCopies({ prim: 'transpose', perm: [1, 0, 2] }, [[256, 5, 6]], [5, 256, 6], 4);
 * // five copies of 256 rows of 24 bytes: { src: 24 * j, srcStride: 120, dst: 6144 * j, dstStride: 24, ... }
 */
export function rowCopies(
  op:
    | { readonly prim: 'slice'; readonly starts: readonly number[]; readonly steps: readonly number[] }
    | { readonly prim: 'pad'; readonly lo: readonly number[]; readonly interior: readonly number[] }
    | { readonly prim: 'concat'; readonly axis: number }
    | { readonly prim: 'transpose'; readonly perm: readonly number[] },
  inShapes: readonly (readonly number[])[],
  outShape: readonly number[],
  bytes: number,
): RowCopies | null {
  const outStrides = stridesOf(outShape);
  let copies: StridedCopy[];
  if (op.prim === 'slice') {
    const strides = stridesOf(inShapes[0]);
    const srcStrides = strides.map((s, d) => s * op.steps[d]);
    copies = [{ input: 0, shape: outShape, src: offsetOf(op.starts, strides), srcStrides, dst: 0, dstStrides: outStrides }];
  } else if (op.prim === 'pad') {
    if (op.lo.some((lo) => lo < 0)) return null;
    const dstStrides = outStrides.map((s, d) => s * (op.interior[d] + 1));
    copies = [{ input: 0, shape: inShapes[0], src: 0, srcStrides: stridesOf(inShapes[0]), dst: offsetOf(op.lo, outStrides), dstStrides }];
  } else if (op.prim === 'transpose') {
    const strides = stridesOf(inShapes[0]);
    copies = [{ input: 0, shape: outShape, src: 0, srcStrides: op.perm.map((d) => strides[d]), dst: 0, dstStrides: outStrides }];
  } else {
    let start = 0;
    copies = inShapes.map((shape, input) => {
      const copy = { input, shape, src: 0, srcStrides: stridesOf(shape), dst: start * outStrides[op.axis], dstStrides: outStrides };
      start += shape[op.axis];
      return copy;
    });
  }
  const rows = copies.filter((copy) => copy.shape.every((size) => size > 0)).map((copy) => asRows(copy, bytes, op.prim === 'transpose' ? MAX_TRANSPOSE_COPIES : 1));
  if (rows.some((copy) => copy === null)) return null;
  const flat = (rows as RowCopy[][]).flat();
  // A transpose that moves single elements is a matrix transpose's work (`transposeAsMatrices`), not rows'.
  if (op.prim === 'transpose' && flat.some((copy) => copy.rowBytes === bytes && copy.rows > 1)) return null;
  return { zero: op.prim === 'pad', copies: flat };
}

/** A transpose as `batch` row-major `rows x cols` matrices, each stored transposed after the last. */
export interface MatrixTransposes {
  readonly batch: number;
  readonly rows: number;
  readonly cols: number;
}

/**
 * A transpose of an array of `shape` by `perm` as matrix transposes, or null when its axes do not
 * collapse to one (`[R, C] -> [C, R]`) or to a batch of them (`[B, R, C] -> [B, C, R]`): axes of
 * size 1 dropped, then axes that stay neighbours in the same order merged. A transpose that only
 * moves axes of size 1 is one matrix of one row: a plain copy.
 *
 * @example
 * transposeAsMatrices([32, 5, 1], [1, 0, 2]); // { batch: 1, rows: 32, cols: 5 }
 * transposeAsMatrices([4, 2, 3, 5], [0, 3, 1, 2]); // { batch: 4, rows: 6, cols: 5 }
 * transposeAsMatrices([2, 3, 4], [2, 0, 1]); // { batch: 1, rows: 6, cols: 4 }
 * transposeAsMatrices([2, 3, 4], [1, 0, 2]); // null: 2 x 3 matrices of rows of 4
 */
export function transposeAsMatrices(shape: readonly number[], perm: readonly number[]): MatrixTransposes | null {
  // The input axes of other than one element, numbered in input order, as the output orders them.
  const kept = shape.flatMap((size, d) => (size !== 1 ? [d] : []));
  const order = perm.filter((d) => shape[d] !== 1).map((d) => kept.indexOf(d));
  // Runs of output axes that are neighbours, in the same order, in the input.
  const runs: number[][] = [];
  for (const d of order) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] + 1 === d) last.push(d);
    else runs.push([d]);
  }
  const sizes = runs.map((run) => run.reduce((n, d) => n * shape[kept[d]], 1));
  if (runs.length <= 1) return { batch: 1, rows: 1, cols: sizes[0] ?? 1 };
  // Each run's place in the input (runs never interleave there).
  const inputPlace = runs.map((run) => runs.filter((other) => other[0] < run[0]).length);
  if (runs.length === 2 && inputPlace[0] === 1) return { batch: 1, rows: sizes[1], cols: sizes[0] };
  if (runs.length === 3 && inputPlace.join() === '0,2,1') return { batch: sizes[0], rows: sizes[2], cols: sizes[1] };
  return null;
}
