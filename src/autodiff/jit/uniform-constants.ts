/**
 * Constants of one repeated value read as a broadcast scalar. A gradient traced under `jit` often
 * holds such arrays: `grad(x => sum(f(x)))` seeds the backward pass with a concrete 1, which the
 * sum's rule broadcasts to x's shape before any traced value meets it, so the program captures an
 * array of ones. Stored, every loop reading it reads memory; as `broadcastTo` of a scalar (one per
 * reader, which fuses into the reader's loop) it is a register. Only constants whose values this
 * thread can read (the CPU backend's) and whose every reader is an elementwise equation are
 * rewritten; values are the same bits, so results are too.
 */
import { type ArrayTensor, full, type TypedArray } from '../../tensor';
import type { Equation, IRVar } from '../ir';
import { isFusable } from './fuse';

/** Constants up to this many elements stay as they are (a scalar leaf saves little there). */
const UNIFORM_MIN_ELEMENTS = 64;

/** The value every element of `x` holds, or undefined when they differ or cannot be read here. */
function uniformValue(x: ArrayTensor): number | undefined {
  if (x.size < UNIFORM_MIN_ELEMENTS || !x.backend.readSync) return undefined;
  const values = x.dataSync() as TypedArray;
  const first = Number(values[0]);
  for (let i = 1; i < values.length; i++) if (!Object.is(Number(values[i]), first)) return undefined;
  return first;
}

/**
 * `equations` with each uniform constant among `constants` (not returned, read only by elementwise
 * equations) replaced, in each reader, by a `broadcastTo` of a scalar constant placed right before
 * it. New variables are numbered from `nextId`.
 *
 * @example
 * const { equations, constants, rewritten } = broadcastUniformConstants(eqs, consts, outputs, firstFreeVarId(program));
 */
export function broadcastUniformConstants(
  equations: readonly Equation[],
  constants: ReadonlyMap<IRVar, ArrayTensor>,
  outputs: readonly IRVar[],
  nextId: number,
): { equations: Equation[]; constants: Map<IRVar, ArrayTensor>; rewritten: number } {
  // Values that must stay arrays: returned ones, and those a non-elementwise equation reads.
  const stored = new Set<IRVar>(outputs);
  for (const eq of equations) if (!isFusable(eq.prim)) for (const v of eq.inputs) stored.add(v);
  const scalars = new Map<IRVar, IRVar>();
  const kept = new Map(constants);
  for (const [v, value] of constants) {
    if (stored.has(v)) continue;
    const uniform = uniformValue(value);
    if (uniform === undefined) continue;
    const scalar: IRVar = { id: nextId++, aval: { shape: [], dtype: value.dtype } };
    kept.set(scalar, full([], value.dtype === 'bool' ? uniform !== 0 : uniform, { dtype: value.dtype, backend: value.backend }));
    kept.delete(v);
    scalars.set(v, scalar);
  }
  if (scalars.size === 0) return { equations: [...equations], constants: kept, rewritten: 0 };
  const out: Equation[] = [];
  for (const eq of equations) {
    const inputs = eq.inputs.map((v) => {
      const scalar = scalars.get(v);
      if (!scalar) return v;
      const broadcast: IRVar = { id: nextId++, aval: v.aval };
      out.push({ prim: 'broadcastTo', inputs: [scalar], params: { shape: v.aval.shape }, out: broadcast });
      return broadcast;
    });
    out.push(inputs.some((v, i) => v !== eq.inputs[i]) ? { ...eq, inputs } : eq);
  }
  return { equations: out, constants: kept, rewritten: scalars.size };
}
