/**
 * Sibling groups: independent elementwise groups of a jit plan run as one kernel over the
 * concatenation of their index ranges (horizontal fusion, `jit/siblings.ts`). Invocation `g` runs
 * member j where `ends[j-1] <= g < ends[j]` (the members' cumulative sizes), at index
 * `i = g - ends[j-1]` of that member's output. The members share the input bindings: a value two
 * members read (a constant, say) is bound once.
 *
 * Bindings: params, member 0's output, the inputs, then every other written buffer: member 0's
 * extra outputs, member 1's output and extra outputs, and so on.
 * params: `[ends[members], then each member's group params (`shaders/groups.ts`) at its at]`.
 */
import { binding, PRELUDE, rangesMain } from './common';
import { groupBody, type GroupSpec } from './groups';
import { MATH } from './math';

/** One member of a sibling kernel. */
export interface SiblingGroup {
  readonly spec: GroupSpec;
  /** Per input of `spec`, which of the kernel's inputs it is. */
  readonly inputs: readonly number[];
  /** Where the member's params start. */
  readonly at: number;
}

/**
 * The WGSL of one kernel running `members` over the shared inputs of types `inputTypes`.
 *
 * @example
 * // out[i] = x0[i] * 2 for i < ends[0], then r1[i] = x1[i] + x0[0] for the next ends[1] - ends[0]
 * const group = (expr: string, n: number) => ({ inputs: new Array(n).fill({ type: 'f32', access: 'c' }), outType: 'f32', expr, lets: [], stores: [] });
 * siblingGroupsWgsl([{ spec: group('a0 * 2.0', 1), inputs: [0], at: 2 }, { spec: group('a0 + a1', 2), inputs: [1, 0], at: 4 }], ['f32', 'f32']);
 */
export function siblingGroupsWgsl(members: readonly SiblingGroup[], inputTypes: readonly string[]): string {
  let next = 2 + inputTypes.length;
  const writes: string[] = [];
  const bodies = members.map(({ spec, inputs, at }, j) => {
    const out = j === 0 ? 'out' : `r${j}`;
    if (j > 0) writes.push(binding(next++, out, spec.outType, 'read_write'));
    const stores = spec.stores.map((y, q) => {
      writes.push(binding(next++, `y${j}_${q}`, y.type, 'read_write'));
      return `y${j}_${q}`;
    });
    const body = groupBody(spec, at, { input: (k) => `x${inputs[k]}`, store: (q) => stores[q], root: out });
    return `${body}    ${out}[i] = ${spec.expr};`;
  });
  return `${PRELUDE}
${binding(1, 'out', members[0].spec.outType, 'read_write')}
${inputTypes.map((type, k) => binding(k + 2, `x${k}`, type, 'read')).join('\n')}
${writes.join('\n')}
${MATH}
${rangesMain(bodies)}`;
}
