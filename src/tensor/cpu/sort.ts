/**
 * The stable sorting permutation along the last axis (the `argsort` primitive): each row's values
 * are copied into one float64 scratch array (negated for a descending sort, so one ascending
 * comparison serves both), its NaNs are moved to the end (ascending) or the front (descending) in
 * their order, and the rest of the row is sorted by a bottom-up merge sort over insertion-sorted
 * runs. Both keep equal values in their order, so the sort is stable; -0 and +0 compare equal. A
 * prepared kernel allocates its three scratch arrays once, however many rows and calls it runs.
 */
import type { TypedArray } from '../dtype';
import { type Shape, sizeOf } from '../shape';

/** Rows are insertion-sorted in runs of this many before the merges. */
const RUN = 16;

/**
 * A kernel writing the stable ascending (or descending) argsort of each row of an x of `shape`
 * along its last axis into `out` (int32, x's size).
 *
 * @example
 * const run = prepareArgsort([2, 3], false);
 * run(Float32Array.of(3, 1, 2, NaN, 0, -1), out); // out: [1, 2, 0, 2, 1, 0]
 */
export function prepareArgsort(shape: Shape, descending: boolean): (x: TypedArray, out: Int32Array) => void {
  const n = shape.length === 0 ? 1 : shape[shape.length - 1];
  const rows = n === 0 ? 0 : sizeOf(shape) / n;
  const keys = new Float64Array(n);
  const work = new Int32Array(n);
  const spare = new Int32Array(n);
  const sign = descending ? -1 : 1;
  return (x, out) => {
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let nans = 0;
      for (let i = 0; i < n; i++) {
        const v = x[base + i] as number;
        keys[i] = sign * v;
        if (v !== v) nans++;
      }
      // The values other than NaN go to [lo, hi); the NaNs after them (ascending) or before them.
      const lo = descending ? nans : 0;
      const hi = descending ? n : n - nans;
      if (nans === 0) {
        for (let i = 0; i < n; i++) work[i] = i;
      } else {
        let number = lo;
        let nan = descending ? 0 : hi;
        for (let i = 0; i < n; i++) {
          if (keys[i] !== keys[i]) work[nan++] = i;
          else work[number++] = i;
        }
      }
      const sorted = mergeSort(keys, work, spare, lo, hi);
      for (let i = 0; i < lo; i++) out[base + i] = work[i];
      for (let i = lo; i < hi; i++) out[base + i] = sorted[i];
      for (let i = hi; i < n; i++) out[base + i] = work[i];
    }
  };
}

/**
 * Sorts the indices `a[lo..hi)` by `keys` (ascending, stable), using `b` as the other buffer of the
 * merges; returns whichever of the two holds the result.
 */
function mergeSort(keys: Float64Array, a: Int32Array, b: Int32Array, lo: number, hi: number): Int32Array {
  for (let s = lo; s < hi; s += RUN) {
    const e = Math.min(s + RUN, hi);
    for (let i = s + 1; i < e; i++) {
      const t = a[i];
      const v = keys[t];
      let j = i - 1;
      // Only past strictly larger keys: equal ones keep their order.
      while (j >= s && keys[a[j]] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = t;
    }
  }
  let src = a;
  let dst = b;
  for (let width = RUN; width < hi - lo; width *= 2) {
    for (let s = lo; s < hi; s += 2 * width) {
      const m = Math.min(s + width, hi);
      const e = Math.min(s + 2 * width, hi);
      let i = s;
      let j = m;
      let k = s;
      while (i < m && j < e) {
        // The right run's element goes first only when strictly smaller: stable.
        if (keys[src[j]] < keys[src[i]]) dst[k++] = src[j++];
        else dst[k++] = src[i++];
      }
      while (i < m) dst[k++] = src[i++];
      while (j < e) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/**
 * The `argsort` primitive's eager kernel: a fresh int32 array of x's size.
 *
 * @example
 * argsort(Int32Array.of(2, 2, 1), [3], false); // Int32Array [2, 0, 1]
 */
export function argsort(x: TypedArray, shape: Shape, descending: boolean): Int32Array {
  const out = new Int32Array(sizeOf(shape));
  prepareArgsort(shape, descending)(x, out);
  return out;
}
