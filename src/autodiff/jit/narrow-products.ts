/**
 * Products of which only a slice is used, narrowed before they run: `slice(a @ b)` restricted to
 * some rows and columns of each matrix is `slice(a, rows) @ slice(b, columns)`. Each kept output
 * is the same dot product summed in the same order, so the bits do not change. A SAC update's
 * gradient reaches the action through its critics' input `concat([observation, action], -1)`: the
 * input gradient `dh @ w1ᵀ` has 23 columns, of which the policy uses the action's 6.
 * A slice of the transpose of a matrix `w` slices `w` instead, so the product still reads `w`
 * transposed in place (`transposes.ts`).
 */
import type { Params } from '../../tensor';
import type { Equation, IRVar } from '../ir';
import { swapsLastTwo } from './transposes';

/** A range along one axis: `start, start + step, ...` below `stop`. */
interface AxisRange {
  readonly start: number;
  readonly stop: number;
  readonly step: number;
}

/**
 * The equations `source` (`outputs` returned, new variables numbered from `nextId`) with each slice
 * of a product's output that keeps all of the batch axes and is the product's only reader (the
 * product not returned) computed as a product of sliced operands; and how many it narrowed. The
 * products left without readers are for dead-code elimination to remove.
 *
 * @example
 * // y = matmul(x, transpose(w)); z = slice(y, [0, 17], [B, 23])
 * //   ->  s = slice(w, [17, 0], [23, H]); t = transpose(s); z = matmul(x, t)
 * const { equations, narrowed } = narrowSlicedProducts(program.equations, program.outputs, 1000);
 */
export function narrowSlicedProducts(source: readonly Equation[], outputs: readonly IRVar[], nextId: number): { equations: Equation[]; narrowed: number } {
  const producers = new Map<IRVar, Equation>();
  const readers = new Map<IRVar, number>();
  for (const eq of source) {
    producers.set(eq.out, eq);
    for (const v of eq.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  const equations: Equation[] = [];
  const emit = (prim: Equation['prim'], inputs: readonly IRVar[], params: Equation['params'], shape: readonly number[]): IRVar => {
    const out: IRVar = { id: nextId++, aval: { shape, dtype: inputs[0].aval.dtype } };
    equations.push({ prim, inputs, params, out });
    return out;
  };
  /** `x` restricted to `range` along axis `axis` (counted from the end: 1 the last, 2 the one before). */
  const sliceAxis = (x: IRVar, axis: 1 | 2, range: AxisRange): IRVar => {
    const producer = producers.get(x);
    const perm = producer?.prim === 'transpose' ? (producer.params as Params<'transpose'>).perm : undefined;
    if (producer && perm && swapsLastTwo(perm)) {
      const sliced = sliceAxis(producer.inputs[0], axis === 1 ? 2 : 1, range);
      const shape = x.aval.shape.map((d, j) => (j === x.aval.shape.length - axis ? extent(range) : d));
      return emit('transpose', [sliced], { perm }, shape);
    }
    const rank = x.aval.shape.length;
    const at = rank - axis;
    const starts = x.aval.shape.map((_, j) => (j === at ? range.start : 0));
    const stops = x.aval.shape.map((d, j) => (j === at ? range.stop : d));
    const steps = x.aval.shape.map((_, j) => (j === at ? range.step : 1));
    const shape = x.aval.shape.map((d, j) => (j === at ? extent(range) : d));
    return emit('slice', [x], { starts, stops, steps }, shape);
  };
  let narrowed = 0;
  for (const eq of source) {
    const y = eq.inputs[0];
    const product = eq.prim === 'slice' ? producers.get(y) : undefined;
    if (!product || product.prim !== 'matmul' || readers.get(y) !== 1 || outputs.includes(y)) {
      equations.push(eq);
      continue;
    }
    const { starts, stops, steps } = eq.params as Params<'slice'>;
    const shape = y.aval.shape;
    const rank = shape.length;
    const whole = (j: number) => starts[j] === 0 && stops[j] === shape[j] && steps[j] === 1;
    if (!shape.slice(0, -2).every((_, j) => whole(j))) {
      equations.push(eq);
      continue;
    }
    const range = (j: number): AxisRange => ({ start: starts[j], stop: stops[j], step: steps[j] });
    let [a, b] = product.inputs;
    if (!whole(rank - 2)) a = sliceAxis(a, 2, range(rank - 2));
    if (!whole(rank - 1)) b = sliceAxis(b, 1, range(rank - 1));
    equations.push({ prim: 'matmul', inputs: [a, b], params: product.params, out: eq.out });
    narrowed++;
  }
  return { equations, narrowed };
}

/** The number of indices in a range. */
const extent = ({ start, stop, step }: AxisRange) => Math.max(0, Math.ceil((stop - start) / step));
