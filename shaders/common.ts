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
