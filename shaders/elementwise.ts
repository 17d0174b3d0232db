/**
 * The elementwise kernel family: one WGSL kernel per (expression, input types, access pattern),
 * `out[i] = expr(a0, a1, ...)` over the broadcast output shape. Each input is read contiguously
 * (`'c'`, same size as the output), as a single value (`'s'`) or through broadcast strides (`'b'`).
 * The expression is a WGSL expression over `a0`, `a1`, ...; a fused chain is just a longer one.
 *
 * params: `[n, rank, shape[rank], strides of each 'b' input[rank]...]`.
 */
import { binding, ENTRY_1D, PRELUDE } from './common';
import { MATH } from './math';

export type Access = 'c' | 's' | 'b';

export interface ElementwiseSpec {
  /** WGSL storage type of each input (`f32`, `i32`, `u32`). */
  readonly inputs: readonly { readonly type: string; readonly access: Access }[];
  readonly outType: string;
  /** A WGSL expression of type `outType` over `a0`, `a1`, ... (and the names the `lets` bind). */
  readonly expr: string;
  /** Statements run before `expr` (a fused chain's intermediates: `let t3 = ...;`). */
  readonly lets?: readonly string[];
  /** Intermediates also stored (multi-output groups): `local` into an extra output of `type`, bound after the inputs. */
  readonly stores?: readonly { readonly type: string; readonly local: string }[];
}

export function elementwiseWgsl({ inputs, outType, expr, lets = [], stores = [] }: ElementwiseSpec): string {
  const strided = inputs.map((x, k) => [x, k] as const).filter(([x]) => x.access === 'b');
  const offsets =
    strided.length === 0
      ? ''
      : `  let rank = params[1];
  ${strided.map(([, k]) => `var p${k} = 0u;`).join(' ')}
  var rest = i;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = params[2u + u32(d)];
    let c = rest % size;
    rest = rest / size;
${strided.map(([, k], j) => `    p${k} += c * params[2u + ${j + 1}u * rank + u32(d)];`).join('\n')}
  }
`;
  const reads = inputs
    .map((x, k) => `  let a${k} = x${k}[${x.access === 'c' ? 'i' : x.access === 's' ? '0' : `p${k}`}];`)
    .join('\n');
  return `${PRELUDE}
${binding(1, 'out', outType, 'read_write')}
${inputs.map((x, k) => binding(k + 2, `x${k}`, x.type, 'read')).join('\n')}
${stores.map((y, q) => binding(inputs.length + 2 + q, `y${q}`, y.type, 'read_write')).join('\n')}
${MATH}
${ENTRY_1D}
  if (i >= params[0]) { return; }
${offsets}${reads}
${lets.map((line) => `  ${line}\n`).join('')}${stores.map((y, q) => `  y${q}[i] = ${y.local};\n`).join('')}  out[i] = ${expr};
}
`;
}
