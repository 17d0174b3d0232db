/**
 * What each step of a CPU plan is: whether it runs in WebAssembly and with which kernel (row
 * copies, matrix transposes, gathers along an axis, random bits, float32 products, reductions,
 * fused loops with a SIMD form), which steps are shared across worker threads, and which fused
 * loops run as their product's epilogue.
 */
import { formatShape, isArgReduceOp, type Params, type Primitive, sizeOf } from '../../tensor';
import { bytesOf } from '../../tensor/dtype';
import { matmulBatchOffsets } from '../../tensor/cpu/matmul';
import { type LaneGroup, laneFunction, transcendentalsOf } from '../../tensor/cpu/wasm/elementwise';
import { type AlongAxis, gatherAlongAxis, type MatrixTransposes, rowCopies, type RowCopies, transposeAsMatrices } from '../../tensor/cpu/wasm/copy';
import { reductionLayout, sumsInLanes } from '../../tensor/cpu/wasm/reduce';
import { THREADED_LANES_MIN_BYTES, THREADED_MATMUL_MIN, THREADED_SUM_MIN, THREADED_TRANSCENDENTALS_MIN } from '../../tensor/cpu/wasm/threads';
import type { Equation, IRVar } from '../ir';
import { laneGroup } from './cpu-lanes';
import { isThreadedProduct } from './cpu-order';
import { type FusedGroup, type PlanNode, storedBy } from './fuse';

/** Reductions with a WebAssembly kernel (float inputs, a contiguous run of axes), by kernel name. */
export const WASM_REDUCTIONS = new Map<Primitive, 'sum' | 'max' | 'min' | 'argmax' | 'argmin'>([
  ['reduceSum', 'sum'],
  ['reduceMax', 'max'],
  ['reduceMin', 'min'],
  ['argmax', 'argmax'],
  ['argmin', 'argmin'],
]);

/** The axes a reduction (or an argmax or argmin, over one) reduces. */
export const reducedAxes = (eq: Equation): readonly number[] =>
  isArgReduceOp(eq.prim) ? [(eq.params as Params<'argmax'>).axis] : (eq.params as Params<'reduceSum'>).axes;

/** A float32 or float64 product run in the arena: its sizes, batch offsets and operands stored transposed. */
export interface PlannedProduct {
  readonly dtype: 'float32' | 'float64';
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly offsets: { readonly a: Int32Array; readonly b: Int32Array };
  readonly batch: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

/** Per step of a plan (indexed as its steps), what it is. */
export interface StepKinds {
  /** Fused groups as lanes with placeholder addresses: which have a SIMD form, and which leaves they gather. */
  readonly probes: readonly (LaneGroup | null)[];
  /** Slices, pads, concatenations and transposes that are copies of rows. */
  readonly movements: readonly (RowCopies | null)[];
  /** Transposes of 4- or 8-byte elements that are matrix transposes. */
  readonly transposes: readonly (MatrixTransposes | null)[];
  /** Gathers of 4-byte elements along an axis by int32 indices. */
  readonly alongAxis: readonly (AlongAxis | null)[];
  /** Whether the step runs in WebAssembly. */
  readonly inWasm: readonly boolean[];
  /** The float32 and float64 products run in the arena. */
  readonly products: readonly (PlannedProduct | null)[];
  /** Whether any step is shared across worker threads (the arena's memory is then shared). */
  readonly threaded: boolean;
  /** By product step, the fused loop it runs over its rows as each thread computes them. */
  readonly epilogueOf: ReadonlyMap<number, number>;
  /** The `[reduced, inner]` layout of step s when it is a float sum over rows (outer 1), which threads share by columns. */
  rowSum(s: number): { reduced: number; inner: number } | null;
  /** Whether fused loop s is shared across threads: a large output, or many transcendentals. */
  sharedLoop(s: number): boolean;
}

/**
 * What each of a plan's steps is, given what each reads (`readVars`) and the transposes folded
 * into the products reading them.
 *
 * @example
 * const kinds = classifySteps(steps, steps.map(readsOf), foldableTransposes(nodes, outputs));
 * kinds.inWasm[0]; // true for a float32 product
 */
export function classifySteps(computed: readonly PlanNode[], readVars: readonly (readonly IRVar[])[], folded: ReadonlyMap<IRVar, IRVar>): StepKinds {
  // Fused groups as lanes with placeholder addresses: which have a SIMD form, and which leaves they gather.
  const probes = computed.map((node) => (node.kind === 'fused' ? laneGroup(node, () => 0, () => 0) : null));
  /** Slices, pads, concatenations and transposes of 4- or 8-byte elements that are copies of rows (`rowCopies`). */
  const movements = computed.map((node): RowCopies | null => {
    if (node.kind !== 'single') return null;
    const { eq } = node;
    const bytes = bytesOf(eq.out.aval.dtype);
    if (bytes !== 4 && bytes !== 8) return null;
    const shapes = eq.inputs.map((v) => v.aval.shape);
    if (eq.prim === 'slice') return rowCopies({ prim: 'slice', ...(eq.params as Params<'slice'>) }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'pad') return rowCopies({ prim: 'pad', ...(eq.params as Params<'pad'>) }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'concat') return rowCopies({ prim: 'concat', axis: (eq.params as Params<'concat'>).axis }, shapes, eq.out.aval.shape, bytes);
    if (eq.prim === 'transpose') return rowCopies({ prim: 'transpose', perm: (eq.params as Params<'transpose'>).perm }, shapes, eq.out.aval.shape, bytes);
    return null;
  });
  /** Transposes of 4- or 8-byte elements that are matrix transposes (`transposeAsMatrices`). */
  const transposes = computed.map((node) => {
    if (node.kind !== 'single' || node.eq.prim !== 'transpose' || ![4, 8].includes(bytesOf(node.out.aval.dtype))) return null;
    return transposeAsMatrices(node.eq.inputs[0].aval.shape, (node.eq.params as Params<'transpose'>).perm);
  });
  /** Gathers of 4-byte elements along an axis by int32 indices, x not broadcast, the indices not or one per row (`gatherAlongAxis`). */
  const alongAxis = computed.map((node) => {
    if (node.kind !== 'single' || node.eq.prim !== 'gather' || bytesOf(node.out.aval.dtype) !== 4 || node.eq.inputs[1].aval.dtype !== 'int32') return null;
    const [xShape, idxShape] = node.eq.inputs.map((v) => v.aval.shape);
    return gatherAlongAxis(xShape, idxShape, (node.eq.params as Params<'gather'>).axis, node.out.aval.shape);
  });
  /** Threefry hashes and their float32 uniforms. */
  const random = (node: PlanNode) =>
    node.kind === 'single' && (node.eq.prim === 'threefry' || (node.eq.prim === 'uniformFromBits' && node.out.aval.dtype === 'float32'));
  // Steps that run in WebAssembly: those copies, transposes and gathers, random bits and uniforms,
  // float32 and float64 matrix products, float reductions (and argmax, argmin) over a contiguous run of axes,
  // and fused loops with a SIMD form.
  const inWasm = computed.map((node, s) => {
    if (movements[s] || transposes[s] || alongAxis[s] || random(node)) return true;
    const dtypes = node.kind === 'single' ? [...readVars[s], node.out].map((v) => v.aval.dtype) : [];
    if (node.kind === 'single' && node.eq.prim === 'matmul') return dtypes.every((d) => d === 'float32') || dtypes.every((d) => d === 'float64');
    if (node.kind === 'single' && WASM_REDUCTIONS.has(node.eq.prim)) {
      // Float values in; the same dtype out, or int32 indices.
      const [x, out] = dtypes;
      const floats = (x === 'float32' || x === 'float64') && (out === x || isArgReduceOp(node.eq.prim));
      return floats && reductionLayout(node.eq.inputs[0].aval.shape, reducedAxes(node.eq)) !== null;
    }
    if (node.kind === 'single') return false;
    const group = probes[s];
    return group !== null && laneFunction('probe', group) !== null;
  });
  /**
   * The `[reduced, inner]` layout of step s when it is a float sum over rows (outer 1), which threads
   * share by columns; not a sum in lanes (`sumsInLanes`: one column, run on one thread).
   */
  const rowSum = (s: number) => {
    const node = computed[s];
    if (node.kind !== 'single' || node.eq.prim !== 'reduceSum' || !inWasm[s]) return null;
    const layout = reductionLayout(node.eq.inputs[0].aval.shape, (node.eq.params as Params<'reduceSum'>).axes);
    return layout && layout.outer === 1 && !sumsInLanes(layout) ? layout : null;
  };
  /** Whether fused loop s is shared across threads: a large output, or many transcendentals. */
  const sharedLoop = (s: number) => {
    const { out } = computed[s];
    const heavy = transcendentalsOf(probes[s] as LaneGroup) * sizeOf(out.aval.shape) >= THREADED_TRANSCENDENTALS_MIN;
    return heavy || sizeOf(out.aval.shape) * bytesOf(out.aval.dtype) >= THREADED_LANES_MIN_BYTES;
  };
  /** The products run in the arena: dtype, sizes, batch offsets and operands stored transposed. */
  const products = computed.map((node, s): PlannedProduct | null => {
    if (!inWasm[s] || node.kind !== 'single' || node.eq.prim !== 'matmul') return null;
    const [aShape, bShape] = node.eq.inputs.map((v) => v.aval.shape);
    const [m, k] = aShape.slice(-2);
    const n = bShape[bShape.length - 1];
    const offsets = matmulBatchOffsets(aShape, bShape, node.out.aval.shape.slice(0, -2));
    const dtype = node.out.aval.dtype as PlannedProduct['dtype'];
    return { dtype, m, k, n, offsets, batch: offsets.a.length, transposeA: folded.has(node.eq.inputs[0]), transposeB: folded.has(node.eq.inputs[1]) };
  });
  // Worker threads share the large float32 products (one product's rows, or a batch's products) and
  // fused loops (only worth a shared memory when there are any); float64 products run on one thread.
  const threaded = computed.some((node, s) => {
    if (!inWasm[s]) return false;
    if (node.kind === 'fused') return sharedLoop(s);
    const rows = rowSum(s);
    if (rows) return rows.reduced * rows.inner >= THREADED_SUM_MIN;
    const product = products[s];
    return product?.dtype === 'float32' && product.batch * product.m * product.k * product.n >= THREADED_MATMUL_MIN;
  });
  // Fused loops that read a threaded product's result elementwise right after it run on its rows as
  // each thread computes them (`matmulThenLoop`): by product step, its loop's step.
  const epilogueOf = new Map<number, number>();
  products.forEach((product, s) => {
    const loop = computed[s + 1];
    if (!threaded || !product || !isThreadedProduct(computed[s])) return;
    if (!inWasm[s + 1] || loop.kind !== 'fused' || loop.out.aval.dtype !== 'float32' || sizeOf(loop.out.aval.shape) !== product.m * product.n) return;
    if (loop.leaves.includes(computed[s].out)) epilogueOf.set(s, s + 1);
  });
  return { probes, movements, transposes, alongAxis, inWasm, products, threaded, epilogueOf, rowSum, sharedLoop };
}

/**
 * What step s is, for step profiles: a product names its epilogue too. `hasJsKernel`: a single
 * step outside WebAssembly runs a kernel writing into its planned array (else the eager kernel).
 *
 * @example
 * stepLabel(computed, readVars, kinds, 3, false); // 'matmul 256x256·256x256 + epilogue[add,le,where] wasm'
 */
export function stepLabel(computed: readonly PlanNode[], readVars: readonly (readonly IRVar[])[], kinds: StepKinds, s: number, hasJsKernel: boolean): string {
  const node = computed[s];
  const where = kinds.inWasm[s] ? 'wasm' : node.kind === 'fused' || hasJsKernel ? 'js' : 'eager kernel';
  if (node.kind === 'fused') {
    const prims = [...new Set(node.members.map((eq) => eq.prim))].join(',');
    const outputs = storedBy(node).length > 1 ? ` (${storedBy(node).length} outputs)` : '';
    return `fused[${prims}] ${formatShape(node.out.aval.shape)}${outputs} ${where}`;
  }
  const product = kinds.products[s];
  if (product) {
    const [a, b] = [product.transposeA ? 'ᵀ' : '', product.transposeB ? 'ᵀ' : ''];
    const batch = product.batch > 1 ? `${product.batch} x ` : '';
    const loop = kinds.epilogueOf.get(s);
    const epilogue = loop === undefined ? '' : ` + epilogue[${[...new Set((computed[loop] as FusedGroup).members.map((eq) => eq.prim))].join(',')}]`;
    return `${batch}matmul ${product.m}x${product.k}${a}·${product.k}x${product.n}${b}${epilogue} ${where}`;
  }
  return `${node.eq.prim} ${readVars[s].map((v) => formatShape(v.aval.shape)).join(', ')} → ${formatShape(node.out.aval.shape)} ${where}`;
}
