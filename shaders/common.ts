/**
 * What every mixrl WGSL kernel shares. Binding 0 holds the kernel's integer parameters (sizes,
 * strides, offsets) as `params: array<u32>`, binding 1 the output, bindings 2.. the inputs. 1-D
 * kernels run 256 invocations per workgroup over a 2-D grid of workgroups (a grid dimension holds at
 * most 65535), so `flatIndex` recovers the element index.
 */

/** Invocations per workgroup of the 1-D kernels. */
export const WORKGROUP = 256;

/** The parameter binding and the flat-index helper. */
export const PRELUDE = /* wgsl */ `
@group(0) @binding(0) var<storage, read> params: array<u32>;
// Held in a variable: WGSL's constant evaluation rejects an infinite value.
var<private> INF_BITS: u32 = 0x7f800000u;
fn m_inf() -> f32 { return bitcast<f32>(INF_BITS); }
fn m_nan() -> f32 { return bitcast<f32>(INF_BITS | 0x400000u); }

fn flatIndex(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * ${WORKGROUP}u + lid;
}
`;

/** The entry point signature of a 1-D kernel; the body sees `i`, the flat invocation index. */
export const ENTRY_1D = /* wgsl */ `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = flatIndex(wid, nwg, lid);`;

/** A storage binding: `read` for inputs, `read_write` for the output. */
export function binding(index: number, name: string, type: string, access: 'read' | 'read_write'): string {
  return `@group(0) @binding(${index}) var<storage, ${access}> ${name}: array<${type}>;`;
}

/**
 * The entry point of a 1-D kernel running members over consecutive index ranges (a jit plan's
 * siblings): invocation `g` runs member j where `params[j-1] <= g < params[j]` (the members'
 * cumulative sizes, first in the params), its body `bodies[j]` seeing `i = g - params[j-1]`.
 *
 * @example
 * rangesMain(['    out[i] = 1.0;', '    out1[i] = 2.0;']); // params [n0, n0 + n1, ...]
 */
export function rangesMain(bodies: readonly string[]): string {
  const members = bodies.map(
    (body, j) => `  if (g < params[${j}u]) {
    let i = g${j === 0 ? '' : ` - params[${j - 1}u]`};
${body}
    return;
  }`,
  );
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = flatIndex(wid, nwg, lid);
${members.join('\n')}
}
`;
}

/** Loads a `foldInOrder` loop issues before folding them. */
const FOLD_LOADS = 8;

/**
 * A WGSL loop over `v = start, start + step, ...` below `stop` that folds each turn's values in
 * that order, issuing `FOLD_LOADS` turns' loads before their folds: a loop doing one load and one
 * dependent fold per turn waits out the memory latency every turn (a GPU does not run ahead into
 * the next turn; on an H200 a 256-term sum per invocation took about 0.5 us a term). The folds
 * keep their order, so the result is the plain loop's, bit for bit.
 * `load(v, j)` declares turn j's values (names suffixed with j), `fold(j)` folds them.
 *
 * @example
 * foldInOrder('r', '0u', 'params[1]', '1u', (r, j) => `let x${j} = x[${r}];`, (j) => `acc = acc + x${j};`);
 */
export function foldInOrder(v: string, start: string, stop: string, step: string, load: (v: string, j: number) => string, fold: (j: number) => string): string {
  const turns = [...Array(FOLD_LOADS).keys()];
  const at = (j: number) => (j === 0 ? v : `${v} + ${j}u * ${step}`);
  return `{
    var ${v} = ${start};
    for (; ${v} + ${FOLD_LOADS - 1}u * ${step} < ${stop}; ${v} += ${FOLD_LOADS}u * ${step}) {
      ${turns.map((j) => load(at(j), j)).join('\n      ')}
      ${turns.map(fold).join('\n      ')}
    }
    for (; ${v} < ${stop}; ${v} += ${step}) {
      ${load(v, 0)}
      ${fold(0)}
    }
  }`;
}
