/**
 * IR-to-IR optimizations run by `jit` before planning: identity removal (`stopGradient` is the
 * identity once gradients are staged), constant folding, the removal of a `where` whose condition
 * is known false (an index from argmax or argmin compared below 0: `takeAlongAxis`'s shift of
 * negative indices, which a sampled mixture component never needs), common-subexpression elimination,
 * dead-code elimination, the narrowing of products only a slice of which is used
 * (`narrow-products.ts`) and uniform constants read as broadcast scalars (`uniform-constants.ts`).
 * Each keeps the program's meaning exactly: folded equations run through the same eager kernels (so
 * random bits are the same), merged equations compute identical values, a narrowed product computes
 * the kept outputs' sums in the same order, and a broadcast scalar holds the constant's very bits.
 */
import { ArrayTensor, evaluate, isArgReduceOp, type Params, type Primitive, type Tensor, type TypedArray } from '../../tensor';
import { shapesEqual } from '../../tensor/shape';
import { type Equation, firstFreeVarId, formatProgram, type IRProgram, type IRVar } from '../ir';
import { narrowSlicedProducts } from './narrow-products';
import { broadcastUniformConstants } from './uniform-constants';

/** Constants up to this many elements are merged by value (the ops layer makes a fresh `1` per use). */
const SMALL_CONSTANT = 16;

/** What the passes removed, for `jitStats` and the debug log. */
export interface OptimizeStats {
  readonly folded: number;
  /** `where`s whose condition is known false, replaced by their third input. */
  readonly simplified: number;
  readonly merged: number;
  readonly dead: number;
  /** Products computed on sliced operands because only a slice of their output is read. */
  readonly narrowed: number;
  /** Constants of one repeated value now read as a broadcast scalar (`uniform-constants.ts`). */
  readonly uniformConstants: number;
}

/** The equations `outputs` need, in order (dead-code elimination, walking backwards). */
function liveEquations(equations: readonly Equation[], outputs: readonly IRVar[]): Equation[] {
  const live = new Set<IRVar>(outputs);
  const kept: Equation[] = [];
  for (let i = equations.length - 1; i >= 0; i--) {
    const eq = equations[i];
    if (!live.has(eq.out)) continue;
    kept.push(eq);
    for (const v of eq.inputs) live.add(v);
  }
  return kept.reverse();
}

/** The values of a small constant, where the backend has them at hand. */
function smallConstantValues(x: ArrayTensor): TypedArray | undefined {
  if (x.size > SMALL_CONSTANT) return undefined;
  // WebGPU cannot read synchronously, but keeps the values of small uploads (literals lifted to tensors).
  return x.backend.readSync ? (x.dataSync() as TypedArray) : x.backend.uploadedValues?.(x.handle);
}

function constantKey(x: ArrayTensor): string | null {
  const values = smallConstantValues(x);
  if (values === undefined) return null;
  // Object.is keeps 0 and -0 apart (and NaN equal to itself).
  const text = Array.from(values, (v) => (Object.is(v, -0) ? '-0' : String(v))).join(',');
  return `${x.dtype}[${x.shape.join(',')}]${text}@${x.backend.name}`;
}

/** Whether `x` is a small constant whose every value is at most 0 (so no index is below it). */
function atMostZero(x: ArrayTensor): boolean {
  const values = smallConstantValues(x);
  return values !== undefined && Array.from(values).every((v) => v <= 0);
}

const sameAval = (a: IRVar, b: IRVar) => a.aval.dtype === b.aval.dtype && shapesEqual(a.aval.shape, b.aval.shape);

/** Primitives whose values are some of their first input's, moved: non-negative when it is. */
const MOVES: ReadonlySet<Primitive> = new Set(['reshape', 'broadcastTo', 'transpose', 'slice']);

function paramsKey(params: object): string {
  return JSON.stringify(params);
}

/** Which optional rewrites `optimizeProgram` makes. */
export interface OptimizeOptions {
  /**
   * Products of which only a slice is read are computed on sliced operands (`narrow-products.ts`;
   * default true). `jit` narrows for CPU plans only: on an H200 the sliced weights cost the WebGPU
   * plan dispatches and sibling pairs (100 batched SAC-v2 sgm-mrp agents: kernels 8.00 -> 7.85 ms,
   * but 85 -> 90 dispatches and 8.31 -> 8.74 ms per update, session 14).
   */
  readonly narrowProducts?: boolean;
}

/**
 * Simplifies a program whose constants are all concrete. Returns an equivalent program (same inputs,
 * outputs and tree structures) and what was removed.
 *
 * @example
 * const [optimized, stats] = optimizeProgram(makeIR(f)(x));
 * optimizeProgram(makeIR(f)(x), { narrowProducts: false }); // as jit does for WebGPU plans
 */
export function optimizeProgram(program: IRProgram, { narrowProducts = true }: OptimizeOptions = {}): [IRProgram, OptimizeStats] {
  const rename = new Map<IRVar, IRVar>();
  const resolve = (v: IRVar): IRVar => rename.get(v) ?? v;
  const constants = new Map<IRVar, ArrayTensor>();
  const byValue = new Map<string, IRVar>();
  const addConstant = (v: IRVar, value: ArrayTensor) => {
    const key = constantKey(value);
    const same = key === null ? undefined : byValue.get(key);
    if (same) {
      rename.set(v, same);
      return;
    }
    if (key !== null) byValue.set(key, v);
    constants.set(v, value);
  };
  for (const { v, value } of program.constants) addConstant(v, value as ArrayTensor);

  let folded = 0;
  let merged = 0;
  let simplified = 0;
  const seen = new Map<string, IRVar>();
  const kept: Equation[] = [];
  // Values known to be non-negative integers (indices from argmax or argmin, moved), and conditions
  // known to be false everywhere (such an index compared below a constant at most 0).
  const nonNegative = new Set<IRVar>();
  const neverTrue = new Set<IRVar>();
  for (const eq of program.equations) {
    const inputs = eq.inputs.map(resolve);
    if (eq.prim === 'stopGradient') {
      rename.set(eq.out, inputs[0]);
      continue;
    }
    if (eq.prim === 'where' && neverTrue.has(inputs[0]) && sameAval(inputs[2], eq.out)) {
      rename.set(eq.out, inputs[2]);
      simplified++;
      continue;
    }
    if (inputs.every((v) => constants.has(v))) {
      const values = inputs.map((v) => constants.get(v) as ArrayTensor);
      addConstant(eq.out, evaluate(eq.prim, values, eq.params as Params<Primitive>));
      folded++;
      continue;
    }
    const key = `${eq.prim}|${inputs.map((v) => v.id).join(',')}|${paramsKey(eq.params)}`;
    const same = seen.get(key);
    if (same) {
      rename.set(eq.out, same);
      merged++;
      continue;
    }
    seen.set(key, eq.out);
    kept.push({ prim: eq.prim, inputs, params: eq.params, out: eq.out });
    if (isArgReduceOp(eq.prim) || (MOVES.has(eq.prim) && nonNegative.has(inputs[0]))) nonNegative.add(eq.out);
    const constant = constants.get(inputs[1]);
    if (eq.prim === 'lt' && nonNegative.has(inputs[0]) && constant && atMostZero(constant)) neverTrue.add(eq.out);
  }
  const outputs = program.outputs.map(resolve);

  // Dead code goes first, so that a product's dead readers do not keep it from being narrowed.
  const needed = liveEquations(kept, outputs);
  const { equations: narrowedEquations, narrowed } = narrowProducts ? narrowSlicedProducts(needed, outputs, firstFreeVarId(program)) : { equations: needed, narrowed: 0 };
  const liveNarrowed = liveEquations(narrowedEquations, outputs);
  const live = new Set<IRVar>(liveNarrowed.flatMap((eq) => eq.inputs));
  for (const v of outputs) live.add(v);
  const liveConstants = new Map([...constants].filter(([v]) => live.has(v)));
  const nextId = liveNarrowed.reduce((next, eq) => Math.max(next, eq.out.id + 1), firstFreeVarId(program));
  const { equations, constants: finalConstants, rewritten: uniformConstants } = broadcastUniformConstants(liveNarrowed, liveConstants, outputs, nextId);
  const optimized: IRProgram = {
    inputs: program.inputs,
    constants: [...finalConstants].map(([v, value]) => ({ v, value: value as Tensor })),
    equations,
    outputs,
    inTree: program.inTree,
    outTree: program.outTree,
    toString: () => formatProgram(optimized),
  };
  return [optimized, { folded, simplified, merged, dead: kept.length - needed.length, narrowed, uniformConstants }];
}
