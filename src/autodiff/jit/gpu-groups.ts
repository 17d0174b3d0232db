/**
 * Fused groups of a WebGPU plan as WGSL: each member's expression (the eager tables), a group's
 * kernel source over its leaves with its shape params, scalar constants read from the params,
 * and groups split where a kernel cannot bind all their leaves.
 */
import { type ArrayTensor, isBinaryOp, isUnaryOp, sizeOf } from '../../tensor';
import { broadcastStrides } from '../../tensor/shape';
import type { WebGPUBackend } from '../../tensor/webgpu/backend';
import { BINARY_WGSL, castWgsl, UNARY_WGSL, wgslType } from '../../tensor/webgpu/expressions';
import type { Access } from '../../../shaders/elementwise';
import type { GroupSpec } from '../../../shaders/groups';
import type { Equation, IRProgram, IRVar } from '../ir';
import type { KernelPlanNode } from './kernel-groups';
import { type FusedGroup, storedBy } from './fuse';
import type { SliceView } from './views';

/** WGSL expression of one fusable equation over its arguments' names. */
function memberWgsl(eq: Equation, args: readonly string[]): string {
  const p = eq.prim;
  const t = wgslType(eq.inputs[0].aval.dtype);
  if (isUnaryOp(p)) return UNARY_WGSL[p](args[0], t);
  // x - x inside one kernel: WGSL compilers may fold it to 0 (lavapipe does) where IEEE gives NaN
  // for x infinite or NaN (a loss reported through withValue's s - stopGradient(s) would hide a NaN).
  if (p === 'sub' && t === 'f32' && eq.inputs[0] === eq.inputs[1]) return `select(m_nan(), 0.0, m_isfinite(${args[0]}))`;
  if (isBinaryOp(p)) return BINARY_WGSL[p](args[0], args[1], t);
  switch (p) {
    case 'where':
      return `select(${args[2]}, ${args[1]}, ${args[0]} != 0u)`;
    case 'cast':
      return castWgsl(args[0], eq.inputs[0].aval.dtype, eq.out.aval.dtype);
    case 'broadcastTo':
    case 'stopGradient':
      return args[0];
    default:
      throw new Error(`jit (webgpu): ${p} is not fusable`);
  }
}

/** Short pipeline keys for generated kernels, interned by source (or by spec for groups inside other kernels). */
const fusedKeys = new Map<string, string>();

/** The interned key of `text`, `prefix#k`. */
export function internKey(prefix: string, text: string): string {
  let key = fusedKeys.get(text);
  if (!key) {
    key = `${prefix}#${fusedKeys.size}`;
    fusedKeys.set(text, key);
  }
  return key;
}

/** What a plan's groups read otherwise than from a leaf's own buffer. */
export interface GroupContext {
  /** Slices and transposes read in place from their sources. */
  readonly views: ReadonlyMap<IRVar, SliceView>;
  /** Scalar constants read from the params, by their 32-bit words. */
  readonly scalarWords: ReadonlyMap<IRVar, number>;
  /** Donated inputs read back from the buffer their update is written into (input -> update). */
  readonly inPlace: ReadonlyMap<IRVar, IRVar>;
}

/**
 * The scalar constants whose values the backend kept (`uploadedValues`), as 32-bit words: groups
 * read them from their params instead of binding a buffer each (Adam's betas, epsilon and learning
 * rate, a mean's 1 / n), which leaves more of a kernel's bindings to its own buffers and siblings.
 */
export function knownScalars(program: IRProgram, gpu: WebGPUBackend): Map<IRVar, number> {
  const scalarWords = new Map<IRVar, number>();
  for (const { v, value } of program.constants) {
    if (sizeOf(v.aval.shape) !== 1 || v.aval.dtype === 'float64') continue;
    const values = gpu.uploadedValues((value as ArrayTensor).handle);
    if (!values || values.length !== 1) continue;
    scalarWords.set(v, v.aval.dtype === 'float32' ? new Uint32Array(Float32Array.of(Number(values[0])).buffer)[0] : Number(values[0]) >>> 0);
  }
  return scalarWords;
}

/** `node` with the groups it computes reading no leaf that `dropped` names (read from params, or from a buffer the group writes). */
export function withoutLeaves(node: KernelPlanNode, dropped: (v: IRVar) => boolean): KernelPlanNode {
  const keep = (leaves: readonly IRVar[]) => leaves.filter((v) => !dropped(v));
  if (node.kind === 'fused') return { ...node, leaves: keep(node.leaves) };
  if (node.kind === 'single') return node;
  const { prologue, epilogue } = node;
  return { ...node, prologue: prologue && { ...prologue, leaves: keep(prologue.leaves) }, epilogue: epilogue && { ...epilogue, leaves: keep(epilogue.leaves) } };
}

/**
 * A group as WGSL over its leaves `a0`, `a1`, ... (and `v`, the value `computed` by the kernel it is
 * an epilogue of): intermediates as `let`s, the root's expression, extra stores, and the shape
 * params `[rank, shape, strides of each broadcast leaf or view, offset of each view, scalars]` over
 * the root's shape. A leaf in `views` is a slice read in place from its source (bound in its place);
 * a constant in `scalarWords` that members read is not a leaf but a scalar of the params (`k0`, ...).
 */
export function groupWgsl(group: FusedGroup, leaves: readonly IRVar[], computed: IRVar | undefined, { views, scalarWords, inPlace }: GroupContext): GroupSpec & { readonly shapeParams: number[] } {
  const out = group.out.aval;
  const n = sizeOf(out.shape);
  const names = new Map<IRVar, string>();
  if (computed) names.set(computed, 'v');
  leaves.forEach((v, j) => names.set(v, `a${j}`));
  // Donated inputs this group overwrites: read back from the buffers it writes, w0, w1, ...
  const extras = storedBy(group).slice(0, -1);
  const readsBack: number[] = [];
  for (const eq of group.members) {
    for (const v of eq.inputs) {
      const written = inPlace.get(v);
      if (names.has(v) || written === undefined) continue;
      const store = written === group.out ? -1 : extras.indexOf(written);
      if (written !== group.out && store < 0) throw new Error(`jit (webgpu): an in-place update's group does not store it`);
      names.set(v, `w${readsBack.length}`);
      readsBack.push(store);
    }
  }
  // Constants read from the params (after the shape params, below): k0, k1, ...
  const scalarVars: IRVar[] = [];
  for (const eq of group.members) {
    for (const v of eq.inputs) {
      if (names.has(v) || !scalarWords.has(v)) continue;
      names.set(v, `k${scalarVars.length}`);
      scalarVars.push(v);
    }
  }
  const lets: string[] = [];
  let expr = '';
  group.members.forEach((eq, j) => {
    const e = memberWgsl(
      eq,
      eq.inputs.map((v) => names.get(v) as string),
    );
    if (j === group.members.length - 1) expr = e;
    else {
      names.set(eq.out, `t${j}`);
      lets.push(`let t${j} = ${e};`);
    }
  });
  const access: Access[] = leaves.map((v) => {
    const view = views.get(v);
    if (view) return view.bounds ? 'p' : 'v';
    const size = sizeOf(v.aval.shape);
    return size === n ? 'c' : size === 1 ? 's' : 'b';
  });
  const shapeParams = [out.shape.length, ...out.shape];
  leaves.forEach((v, j) => {
    const view = views.get(v);
    if (access[j] === 'b') shapeParams.push(...broadcastStrides(v.aval.shape, out.shape));
    // The view's strides where the slice's axes meet the root's (right-aligned), 0 where it is broadcast.
    if (view) shapeParams.push(...broadcastStrides(v.aval.shape, out.shape).map((b, d) => (b === 0 ? 0 : view.strides[d - (out.shape.length - v.aval.shape.length)])));
  });
  for (const v of leaves) {
    const view = views.get(v);
    if (view) shapeParams.push(view.offset);
  }
  // A padding's bounds on the root's axes: on an axis where it is broadcast (or absent), its one
  // element is its input's (a padding of an empty input is not viewed), inside for every index.
  for (const v of leaves) {
    const bounds = views.get(v)?.bounds;
    if (!bounds) continue;
    const lead = out.shape.length - v.aval.shape.length;
    const axes = out.shape.map((size, d) => {
      const j = d - lead;
      return j >= 0 && v.aval.shape[j] === size ? [bounds.lo[j], bounds.sizes[j]] : [0, 0xffffffff];
    });
    shapeParams.push(...axes.map(([lo]) => lo), ...axes.map(([, size]) => size));
  }
  const scalars = scalarVars.map((v, j) => ({ type: wgslType(v.aval.dtype), offset: shapeParams.length + j }));
  for (const v of scalarVars) shapeParams.push(scalarWords.get(v) as number);
  return {
    inputs: leaves.map((v, j) => ({ type: wgslType(v.aval.dtype), access: access[j] })),
    outType: wgslType(out.dtype),
    expr,
    lets,
    stores: extras.map((v) => ({ type: wgslType(v.aval.dtype), local: names.get(v) as string })),
    ...(scalars.length > 0 ? { scalars } : {}),
    ...(readsBack.length > 0 ? { readsBack } : {}),
    shapeParams,
  };
}

/** The leaves of `members` (values read but not defined there), in first-use order. */
function leavesOf(members: readonly Equation[]): IRVar[] {
  const defined = new Set(members.map((eq) => eq.out));
  const leaves: IRVar[] = [];
  for (const eq of members) for (const v of eq.inputs) if (!defined.has(v) && !leaves.includes(v)) leaves.push(v);
  return leaves;
}

/**
 * Splits a group's members (in program order) into consecutive parts of at most `maxLeaves` leaves
 * each; a value a later part reads becomes that part's leaf (stored by the part that computes it).
 */
export function splitGroup(group: FusedGroup, maxLeaves: number): FusedGroup[] {
  const parts: FusedGroup[] = [];
  let current: Equation[] = [];
  const close = () => {
    if (current.length === 0) return;
    const members = current;
    parts.push({ kind: 'fused', members, leaves: leavesOf(members), out: members[members.length - 1].out });
    current = [];
  };
  for (const eq of group.members) {
    if (current.length > 0 && leavesOf([...current, eq]).length > maxLeaves) close();
    current.push(eq);
  }
  close();
  // Every value read across a cut must be stored: cut after it, until no new such value appears.
  // A multi-output group's extra outputs are cut points too (each part stores one value).
  const needed = new Set<IRVar>(storedBy(group));
  for (const part of parts) for (const v of part.leaves) needed.add(v);
  let result: FusedGroup[] = [];
  for (let size = -1; size !== needed.size; ) {
    size = needed.size;
    result = [];
    for (const part of parts) {
      let members: Equation[] = [];
      for (const eq of part.members) {
        members.push(eq);
        if (needed.has(eq.out)) {
          result.push({ kind: 'fused', members, leaves: leavesOf(members), out: eq.out });
          members = [];
        }
      }
      if (members.length > 0) result.push({ kind: 'fused', members, leaves: leavesOf(members), out: members[members.length - 1].out });
    }
    for (const cut of result) for (const v of cut.leaves) needed.add(v);
  }
  // Cuts can gain leaves; where one has too many, every member runs as a kernel of its own.
  if (result.some((cut) => cut.leaves.length > maxLeaves)) {
    return group.members.map((eq) => ({ kind: 'fused', members: [eq], leaves: leavesOf([eq]), out: eq.out }));
  }
  return result;
}
