/**
 * What every WebGPU kernel shares: the host it dispatches through (`KernelHost`), the groups a
 * jit plan runs inside products and reductions, and dispatch grids; and the elementwise kernel.
 */
import { WORKGROUP } from '../../../shaders/common';
import { elementwiseWgsl, type Access } from '../../../shaders/elementwise';
import type { GroupLayout, GroupSpec } from '../../../shaders/groups';
import type { Aval, Params, Primitive } from '../primitives';
import { broadcastStrides, sizeOf } from '../shape';
import { WebGPUError } from './errors';
import { wgslType } from './expressions';
import type { MatmulTiles } from './matmul-kernels';
import { MAX_GROUPS } from './recorder';
import type { GpuInput, Storage } from './storage';

/** What kernels need from the backend: output storage, shared storage, dispatches, clears. */
export interface KernelHost {
  /**
   * How products pick their kernels (`matmulTile`): by shape and count on hardware adapters by
   * default, on software ones strips for thin products and 64x64 tiles for the rest.
   */
  readonly matmulTiles: MatmulTiles;
  /** Fresh storage for a tensor of `aval`. */
  output(aval: Aval): Storage;
  /** The same storage, one more tensor using it. */
  share(storage: Storage): Storage;
  /** Drops a kernel's temporary storage (reused once the commands naming it are submitted). */
  drop(storage: Storage): void;
  /** Zero-fills the storage's first `bytes` bytes. */
  clear(storage: Storage, bytes: number): void;
  /**
   * Dispatches the kernel `source()` (compiled once per `key`) on the output and inputs `buffers`;
   * the last `extraOutputs` of them are written too (fused groups storing several values). With
   * `checksIndices`, the backend's index-fault word is bound after them (see `shaders/gather.ts`).
   */
  run(
    kernel: string,
    key: string,
    source: () => string,
    params: readonly number[],
    buffers: readonly Storage[],
    groups: readonly [number, number, number],
    checksIndices?: boolean,
    extraOutputs?: number,
  ): void;
}

/**
 * An elementwise group run inside a product's or a reduction's kernel (a jit plan's fusion,
 * `shaders/groups.ts`): its WGSL, a short `key` naming that WGSL in pipeline keys, its params
 * (`[rank, shape, strides of each broadcast input]` over the values it computes), its inputs'
 * storage and its extra outputs' storage.
 */
export interface KernelGroup extends GroupShape {
  readonly inputs: readonly Storage[];
  readonly outputs: readonly Storage[];
}

/** A group before its buffers are known (what a prepared kernel needs): its WGSL, key and params. */
export interface GroupShape {
  readonly spec: GroupSpec;
  readonly key: string;
  readonly params: readonly number[];
}

/** The buffers of a group in one call: its inputs' storage and its extra outputs' storage. */
export interface GroupBuffers {
  readonly inputs: readonly Storage[];
  readonly outputs: readonly Storage[];
}

/** A group applied where a kernel stores each value, storing values of `out`. */
export interface StoreEpilogue extends KernelGroup {
  readonly out: Aval;
}

/** A reduction's operand of `aval`, computed by `prologue` where the reduction reads it. */
export interface PrologueOperand {
  readonly aval: Aval;
  readonly prologue: KernelGroup;
}

/**
 * The params of a kernel with groups: its own, then each group's; where each group is bound (after
 * the kernel's `ownBuffers` buffers: the groups' inputs, then every buffer they write, as a kernel
 * binds written buffers last); the pipeline key naming them.
 */
export function groupLayouts(key: string, own: readonly number[], ownBuffers: number, groups: { prologue?: GroupShape; epilogue?: GroupShape }) {
  const list = [groups.prologue, groups.epilogue];
  if (!list.some((g) => g)) return { key, params: own, extraOutputs: 0 };
  // Binding 0 holds the params, 1.. the kernel's buffers; then the groups' inputs, then their outputs.
  let next = ownBuffers + 1;
  const take = (count: number) => {
    next += count;
    return next - count;
  };
  const inputs = list.map((g) => take(g?.spec.inputs.length ?? 0));
  const stores = list.map((g) => take(g?.spec.stores.length ?? 0));
  const params = [...own];
  const layouts = list.map((g, k): GroupLayout | undefined => {
    if (!g) return undefined;
    const layout = { inputs: inputs[k], stores: stores[k], at: params.length };
    params.push(...g.params);
    return layout;
  });
  // The source depends on where each group's params start (their lengths vary with the shapes' ranks).
  const named = list.map((g, k) => (g ? `${g.key}@${layouts[k]?.at}` : ''));
  return {
    key: `${key}|${named.join('>')}`,
    params,
    extraOutputs: list.reduce((n, g) => n + (g?.spec.stores.length ?? 0), 0),
    prologue: groups.prologue && layouts[0] && { spec: groups.prologue.spec, layout: layouts[0] },
    epilogue: groups.epilogue && layouts[1] && { spec: groups.epilogue.spec, layout: layouts[1] },
  };
}

/** A primitive's kernel: its inputs and params into fresh storage of `out`. */
export type GpuKernel<P extends Primitive> = (gpu: KernelHost, inputs: readonly GpuInput[], params: Params<P>, out: Aval) => Storage;

/** A grid of `count` workgroups, folded into two dimensions past the per-dimension limit. */
export function grid(kernel: string, count: number): [number, number, number] {
  if (count <= MAX_GROUPS) return [count, 1, 1];
  const rows = Math.ceil(count / MAX_GROUPS);
  if (rows > MAX_GROUPS) throw new WebGPUError(`${kernel}: ${count} workgroups exceed the dispatch limit`);
  return [MAX_GROUPS, rows, 1];
}

export const grid1d = (kernel: string, n: number) => grid(kernel, Math.ceil(n / WORKGROUP));

/**
 * Where each group's params start in `params`, appending them the first time a group with the
 * same key and params is placed (sibling members with alike groups share them).
 */
export function groupPlacer(params: number[]): (group: GroupShape) => number {
  const placed = new Map<string, number>();
  return (group) => {
    const same = `${group.key}|${group.params.join(',')}`;
    let at = placed.get(same);
    if (at === undefined) {
      at = params.length;
      placed.set(same, at);
      params.push(...group.params);
    }
    return at;
  };
}

/** Dispatches the elementwise kernel of `expr` over `inputs` (contiguous, scalar or broadcast) into fresh storage of `out`. */
export function elementwise(
  gpu: KernelHost,
  kernel: string,
  inputs: readonly GpuInput[],
  out: Aval,
  expr: (args: string[]) => string,
): Storage {
  const result = gpu.output(out);
  const n = sizeOf(out.shape);
  if (n === 0) return result;
  const access: Access[] = inputs.map((x) => {
    const size = sizeOf(x.aval.shape);
    return size === n ? 'c' : size === 1 ? 's' : 'b';
  });
  const spec = {
    inputs: inputs.map((x, k) => ({ type: wgslType(x.aval.dtype), access: access[k] })),
    outType: wgslType(out.dtype),
    expr: expr(inputs.map((_, k) => `a${k}`)),
  };
  const params = [n, out.shape.length, ...out.shape];
  inputs.forEach((x, k) => {
    if (access[k] === 'b') params.push(...broadcastStrides(x.aval.shape, out.shape));
  });
  const key = `elementwise|${spec.expr}|${spec.inputs.map((x) => x.type + x.access).join(',')}|${spec.outType}`;
  gpu.run(kernel, key, () => elementwiseWgsl(spec), params, [result, ...inputs.map((x) => x.storage)], grid1d(kernel, n));
  return result;
}
