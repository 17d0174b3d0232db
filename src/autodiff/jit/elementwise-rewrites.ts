/**
 * Products and sums that are elementwise in disguise, rewritten as such so that a CPU plan fuses
 * them into the loop that reads them: no step of their own, and no intermediate written and read
 * back (XLA's algebraic simplifier does likewise).
 * - Matrix products whose shared axis has length 1 (outer products, such as a critic's gradient
 *   through its one output, `dq · w3ᵀ`) as elementwise products of broadcasts. An operand
 *   transposed from a column into a row is read as a reshape of the column (a view, no copy).
 * - Sums over axes of one element only (a gradient summed over an axis it was never broadcast
 *   along) as a reshape (a view).
 * `+ 0` keeps the bits of both: the kernels start each sum at +0, so a sum of -0 comes out +0.
 * - Comparisons of numbers read by several equations, recomputed for each (`recomputeComparisons`):
 *   a mask shared by a forward and a backward loop (relu's `x <= 0` and its gradient's select)
 *   would otherwise be stored as bools, which the CPU's SIMD loops cannot read, and read back; a
 *   comparison is cheaper than the load.
 * Both plans, the CPU's and WebGPU's, run it first.
 */
import { type Backend, type DType, full, type Params } from '../../tensor';
import { type Equation, firstFreeVarId, formatProgram, type IRProgram, type IRVar } from '../ir';

/** Dtypes whose `add` of +0 is what a sum of one element gives. */
const SUMMED: readonly DType[] = ['float32', 'float64', 'int32', 'uint32'];

/**
 * `program` with each float matmul `[..., m, 1] @ [..., 1, n]` replaced by `a * b + 0` (broadcast
 * over m and n), and each sum over axes of one element only by `reshape(x) + 0`; other equations
 * unchanged. The zeros are constants on `backend`, the plan's.
 *
 * @example
 * const plan = compileCpuPlan(asElementwise(program, cpu));
 */
export function asElementwise(program: IRProgram, backend: Backend): IRProgram {
  return recomputeComparisons(productsAndSums(program, backend));
}

const COMPARISONS: ReadonlySet<string> = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

/**
 * `program` with each comparison of non-bool values that several equations read computed again
 * right before each reader after the first (a program output keeps the original).
 *
 * @example
 * recomputeComparisons(program); // m = x <= 0; a = where(m, 0, x); ...; b = where(m, 0, g)  ->  ...; m2 = x <= 0; b = where(m2, 0, g)
 */
export function recomputeComparisons(program: IRProgram): IRProgram {
  const readers = new Map<IRVar, number>();
  for (const eq of program.equations) for (const v of new Set(eq.inputs)) readers.set(v, (readers.get(v) ?? 0) + 1);
  const shared = new Map<IRVar, Equation>();
  for (const eq of program.equations) {
    if (COMPARISONS.has(eq.prim) && eq.inputs.every((v) => v.aval.dtype !== 'bool') && (readers.get(eq.out) ?? 0) > 1) shared.set(eq.out, eq);
  }
  if (shared.size === 0) return program;
  let nextId = firstFreeVarId(program);
  const served = new Set<IRVar>();
  const equations = program.equations.flatMap((eq): Equation[] => {
    const copies = new Map<IRVar, Equation>();
    for (const v of new Set(eq.inputs)) {
      const comparison = shared.get(v);
      if (!comparison) continue;
      if (served.has(v)) copies.set(v, { ...comparison, out: { id: nextId++, aval: v.aval } });
      served.add(v);
    }
    if (copies.size === 0) return [eq];
    return [...copies.values(), { ...eq, inputs: eq.inputs.map((v) => copies.get(v)?.out ?? v) }];
  });
  const rewritten: IRProgram = { ...program, equations, toString: () => formatProgram(rewritten) };
  return rewritten;
}

/** The products over a shared axis of one element and the sums over axes of one element, as elementwise ops. */
function productsAndSums(program: IRProgram, backend: Backend): IRProgram {
  const isOuter = (eq: Equation) =>
    eq.prim === 'matmul' && (eq.out.aval.dtype === 'float32' || eq.out.aval.dtype === 'float64') && eq.inputs[0].aval.shape.at(-1) === 1;
  const isSingletonSum = (eq: Equation) => {
    if (eq.prim !== 'reduceSum' || eq.inputs[0].aval.dtype !== eq.out.aval.dtype || !SUMMED.includes(eq.out.aval.dtype)) return false;
    const shape = eq.inputs[0].aval.shape;
    return (eq.params as Params<'reduceSum'>).axes.every((axis) => shape[axis] === 1);
  };
  if (!program.equations.some((eq) => isOuter(eq) || isSingletonSum(eq))) return program;
  let nextId = firstFreeVarId(program);
  const zeros = new Map<DType, IRVar>();
  const zero = (dtype: DType): IRVar => {
    let v = zeros.get(dtype);
    if (!v) {
      v = { id: nextId++, aval: { shape: [], dtype } };
      zeros.set(dtype, v);
    }
    return v;
  };
  const producer = new Map(program.equations.map((eq) => [eq.out, eq]));
  /** An operand that is a transpose moving only axes of one element (a column as a row) read as a reshape of its input, which a plan does not copy. */
  const unmoved = (v: IRVar): Equation[] => {
    const eq = producer.get(v);
    if (eq?.prim !== 'transpose') return [];
    const shape = eq.inputs[0].aval.shape;
    const kept = (eq.params as Params<'transpose'>).perm.filter((axis) => shape[axis] !== 1);
    if (kept.some((axis, i) => i > 0 && axis < kept[i - 1])) return [];
    return [{ prim: 'reshape', inputs: eq.inputs, params: { shape: v.aval.shape }, out: { id: nextId++, aval: v.aval } }];
  };
  const equations = program.equations.flatMap((eq): Equation[] => {
    if (isSingletonSum(eq)) {
      const moved: IRVar = { id: nextId++, aval: eq.out.aval };
      return [
        { prim: 'reshape', inputs: eq.inputs, params: { shape: eq.out.aval.shape }, out: moved },
        { prim: 'add', inputs: [moved, zero(eq.out.aval.dtype)], params: {}, out: eq.out },
      ];
    }
    if (!isOuter(eq)) return [eq];
    const reshapes = eq.inputs.map(unmoved);
    const operands = eq.inputs.map((v, i) => reshapes[i][0]?.out ?? v);
    const product: IRVar = { id: nextId++, aval: eq.out.aval };
    return [
      ...reshapes.flat(),
      { prim: 'mul', inputs: operands, params: {}, out: product },
      { prim: 'add', inputs: [product, zero(eq.out.aval.dtype)], params: {}, out: eq.out },
    ];
  });
  // Transposes no longer read are dropped.
  const live = new Set<IRVar>(program.outputs);
  const needed: Equation[] = [];
  for (let i = equations.length - 1; i >= 0; i--) {
    if (!live.has(equations[i].out)) continue;
    needed.push(equations[i]);
    for (const v of equations[i].inputs) live.add(v);
  }
  needed.reverse();
  const constants = [...zeros].map(([dtype, v]) => ({ v, value: full([], 0, { dtype, backend }) }));
  const rewritten: IRProgram = { ...program, constants: [...program.constants, ...constants], equations: needed, toString: () => formatProgram(rewritten) };
  return rewritten;
}
