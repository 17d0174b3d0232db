/**
 * Fused groups of a CPU plan as SIMD lanes (`tensor/cpu/wasm/elementwise.ts`): how each leaf is
 * read (whole, a scalar, a broadcast block, or gathered through an index array), or null where
 * SIMD cannot run the group.
 */
import { type Aval, type DType, sizeOf } from '../../tensor';
import { inputKind } from '../../tensor/cpu/elementwise';
import { type LaneGroup, type LaneRead, type LaneRef, readsWholeVectors } from '../../tensor/cpu/wasm/elementwise';
import { broadcastStrides } from '../../tensor/shape';
import type { IRVar } from '../ir';
import { type FusedGroup, storedBy } from './fuse';

/**
 * Fused WebAssembly loops up to this many elements read leaves they cannot read as whole vectors
 * through index arrays (4 bytes an element each, no more than the group's own output per leaf);
 * larger ones run as JS loops. Gathered lanes beat the JS loop by 5-25x: a vmapped Adam step over
 * `[1000, 64, 15]` weights (an outer product's `[1000, 64, 1]` and `[1000, 1, 15]` fused in) took
 * 39 ms as a JS loop and 1.5 ms gathered; 2^18, the cap until then, sent it to JS.
 */
const GATHERED_LANES_MAX = 1 << 24;

/** How a fused group's leaf is read, in the lanes' terms, or null when SIMD cannot read it. */
function laneRead(leaf: Aval, out: Aval): LaneRead | null {
  const n = sizeOf(out.shape);
  const kind = inputKind(sizeOf(leaf.shape), n);
  if (kind !== 'b') return { kind };
  // A block pattern: output axes [0, d1) and [d2, r) index the leaf as one contiguous [O, R] array,
  // axes [d1, d2) are broadcast (M repeats).
  const strides = broadcastStrides(leaf.shape, out.shape);
  const r = out.shape.length;
  const size = (from: number, to: number) => sizeOf(out.shape.slice(from, to));
  const contiguous = (from: number, to: number, unit: number) => {
    for (let q = to - 1, expect = unit; q >= from; expect *= out.shape[q], q--) if (out.shape[q] !== 1 && strides[q] !== expect) return false;
    return true;
  };
  const broadcast = (from: number, to: number) => strides.slice(from, to).every((x, q) => x === 0 || out.shape[from + q] === 1);
  for (let d1 = 0; d1 <= r; d1++) {
    for (let d2 = d1 + 1; d2 <= r; d2++) {
      const inner = size(d2, r);
      if (broadcast(d1, d2) && contiguous(d2, r, 1) && contiguous(0, d1, inner)) return { kind: 'block', inner, repeat: size(d1, d2) };
    }
  }
  return null;
}

/**
 * A fused group as lanes (leaf and output addresses from `address`), or null when its output and
 * leaves are not all float64, or all float32 and int32. Leaves whose vectors would not stay in one
 * row are gathered lane by lane through an index array (at `indexAddress(k)` for leaf k), up to
 * GATHERED_LANES_MAX elements.
 */
export function laneGroup(group: FusedGroup, address: (v: IRVar) => number, indexAddress: (k: number) => number): LaneGroup | null {
  const dtype = group.out.aval.dtype;
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') return null;
  const fourLanes = (d: DType) => d === 'float32' || d === 'int32';
  const leaves: LaneGroup['leaves'][number][] = [];
  for (const [k, v] of group.leaves.entries()) {
    if (v.aval.dtype !== dtype && !(fourLanes(v.aval.dtype) && fourLanes(dtype))) return null;
    const int = v.aval.dtype === 'int32';
    const read = laneRead(v.aval, group.out.aval);
    if (read !== null && readsWholeVectors(read, dtype)) leaves.push({ ...read, address: address(v), int });
    else if (sizeOf(group.out.aval.shape) <= GATHERED_LANES_MAX) leaves.push({ kind: 'gather', index: indexAddress(k), address: address(v), int });
    else return null;
  }
  const index = new Map<IRVar, LaneRef>(group.leaves.map((v, k) => [v, { leaf: k }]));
  const members = group.members.map((eq, j) => {
    index.set(eq.out, { member: j });
    return { prim: eq.prim, inputs: eq.inputs.map((v) => index.get(v) as LaneRef), outDtype: eq.out.aval.dtype };
  });
  const stores = storedBy(group)
    .slice(0, -1)
    .map((v) => ({ member: (index.get(v) as { member: number }).member, address: address(v) }));
  return { dtype, size: sizeOf(group.out.aval.shape), leaves, members, outAddress: address(group.out), stores };
}
