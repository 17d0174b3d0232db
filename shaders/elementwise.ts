/**
 * The elementwise kernel family: one WGSL kernel per (expression, input types, access pattern),
 * `out[i] = expr(a0, a1, ...)` over the broadcast output shape. Each input is read contiguously
 * (`'c'`, same size as the output), as a single value (`'s'`), through broadcast strides (`'b'`)
 * or as a strided view with an offset (`'v'`: a jit plan reading a slice where it is used),
 * zero outside bounds (`'p'`: a jit plan reading a zero padding where it is used). The expression
 * is a WGSL expression over `a0`, `a1`, ...; a fused chain is just a longer one.
 *
 * params: `[n, rank, shape[rank], strides of each 'b', 'v' or 'p' input[rank]..., offset of each 'v'
 * or 'p' input..., bounds of each 'p' input: lo[rank], sizes[rank]]`.
 */
import { binding, ENTRY_1D, PRELUDE } from './common';
import { groupBody } from './groups';
import { MATH } from './math';

export type Access = 'c' | 's' | 'b' | 'v' | 'p';

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

export function elementwiseWgsl(spec: ElementwiseSpec): string {
  const { inputs, outType, expr, stores = [] } = spec;
  const body = groupBody({ ...spec, lets: spec.lets ?? [], stores }, 1, { input: (k) => `x${k}`, store: (q) => `y${q}`, root: 'out' });
  return `${PRELUDE}
${binding(1, 'out', outType, 'read_write')}
${inputs.map((x, k) => binding(k + 2, `x${k}`, x.type, 'read')).join('\n')}
${stores.map((y, q) => binding(inputs.length + 2 + q, `y${q}`, y.type, 'read_write')).join('\n')}
${MATH}
${ENTRY_1D}
  if (i >= params[0]) { return; }
${body}  out[i] = ${expr};
}
`;
}
