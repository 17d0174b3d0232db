/**
 * Merged dispatches: the kernels of independent steps (a jit plan's steps on one level) recorded as
 * one dispatch of a merged kernel (`shaders/merge.ts`). A WebGPU dispatch costs the host several
 * microseconds of recording whatever its size, and a single agent's SAC update is mostly small
 * kernels, so the host's time per update follows the dispatch count.
 *
 * While a `MergeGroup` records, the backend defers its dispatches into it (`defer`); then the group
 * is dispatched: the kernels it can merge as merged dispatches, the others one by one. What merges
 * is planned once per sequence of kernels (`MergePlan`) and replayed while the same pipelines come
 * with the same grids, so a steady call allocates nothing here.
 */
/// <reference types="@webgpu/types" />
import { groupCount, type MemberShape, mergedGrid, mergedWgsl } from '../../../shaders/merge';
import { PARAMS_BYTES } from './recorder';

/** A dispatch held back while a group records (its arrays reused from call to call). */
export interface DeferredDispatch {
  kernel: string;
  key: string;
  source: () => string;
  pipeline: GPUComputePipeline;
  readonly params: number[];
  readonly buffers: GPUBuffer[];
  access: string;
  readonly groups: [number, number, number];
  /** Binds the backend's index-fault word (written by every index kernel: never merged). */
  checksIndices: boolean;
  /** The member step that dispatched it (`MergeGroup.step`). */
  step: number;
}

/** One merged dispatch of a plan: which deferred dispatches it runs, and its kernel. */
export interface MergedDispatch {
  readonly members: readonly number[];
  readonly kernel: string;
  readonly pipeline: GPUComputePipeline;
  readonly access: string;
  readonly groups: readonly [number, number, number];
  /** Where each member's params and buffers go in the merged ones. */
  readonly paramsAt: readonly number[];
  readonly buffersAt: readonly number[];
  /** Reused per call: the merged params and buffers. */
  readonly params: number[];
  readonly buffers: GPUBuffer[];
}

/** How a sequence of deferred dispatches is dispatched: `alone` one by one (in order), then `merged`. */
export interface MergePlan {
  /** What the plan was made for: per dispatch its pipeline, grid, params length and step. */
  readonly pipelines: readonly GPUComputePipeline[];
  readonly grids: readonly number[];
  readonly paramsLengths: readonly number[];
  readonly steps: readonly number[];
  readonly alone: readonly number[];
  readonly merged: readonly MergedDispatch[];
}

/** What a merged kernel may use of the device. */
export interface MergeLimits {
  /** Storage buffers per kernel, the params' included. */
  readonly storageBuffers: number;
  readonly workgroupBytes: number;
  readonly groupsPerDimension: number;
  /** A member of more workgroups runs alone (its own occupancy kept). */
  readonly memberGroups: number;
}

/**
 * The dispatches of a group of independent steps, deferred while it records. The owner (a jit
 * plan) sets `step` before each member step runs.
 *
 * @example
 * const group = new MergeGroup([false, true]);
 * gpu.merged(group, () => { group.step = 0; stepA(); group.step = 1; stepB(); });
 */
export class MergeGroup {
  /** The member step recording now. */
  step = 0;

  /**
   * `varying[i]`: whether member step i binds buffers that change from call to call (the caller's
   * inputs, values returned from the pool). A merged dispatch takes at most one such member, so
   * that it meets no more buffer combinations, and so makes no more bind groups, than that member
   * alone would (two members cycling through 3 buffers each would make up to 9).
   */
  constructor(readonly varying: readonly boolean[] = []) {}

  /** Deferred dispatches: the first `count` are this call's. */
  readonly deferred: DeferredDispatch[] = [];
  count = 0;
  plan: MergePlan | undefined;

  /** Holds a dispatch back (its params and buffers copied into reused arrays). */
  defer(kernel: string, key: string, source: () => string, pipeline: GPUComputePipeline, params: readonly number[], buffers: readonly GPUBuffer[], access: string, groups: readonly [number, number, number], checksIndices: boolean): void {
    let d = this.deferred[this.count];
    if (!d) {
      d = { kernel, key, source, pipeline, params: [], buffers: [], access, groups: [0, 0, 0], checksIndices, step: 0 };
      this.deferred.push(d);
    }
    this.count++;
    d.kernel = kernel;
    d.key = key;
    d.source = source;
    d.pipeline = pipeline;
    // Lengths set only when they change: setting an array's length costs a runtime call.
    if (d.params.length !== params.length) d.params.length = params.length;
    for (let k = 0; k < params.length; k++) d.params[k] = params[k];
    if (d.buffers.length !== buffers.length) d.buffers.length = buffers.length;
    for (let k = 0; k < buffers.length; k++) d.buffers[k] = buffers[k];
    d.access = access;
    d.groups[0] = groups[0];
    d.groups[1] = groups[1];
    d.groups[2] = groups[2];
    d.checksIndices = checksIndices;
    d.step = this.step;
  }

  /** Whether `plan` was made for this call's dispatches. */
  fits(plan: MergePlan): boolean {
    if (plan.pipelines.length !== this.count) return false;
    for (let i = 0; i < this.count; i++) {
      const d = this.deferred[i];
      if (d.pipeline !== plan.pipelines[i] || d.params.length !== plan.paramsLengths[i] || d.step !== plan.steps[i]) return false;
      for (let k = 0; k < 3; k++) if (d.groups[k] !== plan.grids[3 * i + k]) return false;
    }
    return true;
  }
}

/** What `planMerge` asks of the backend: a member's shape (parsed once per kernel) and a pipeline for a merged kernel. */
export interface MergeHost {
  shapeOf(key: string, source: () => string): MemberShape | undefined;
  pipeline(kernel: string, key: string, source: () => string, access: string): GPUComputePipeline;
}

/**
 * Plans the dispatch of `deferred`: members of a step that dispatched more than once (they may
 * depend on each other), index kernels (they share the fault word), kernels merging cannot read,
 * kernels of more than `limits.memberGroups` workgroups and empty grids run alone; the rest are
 * packed in order, by invocations per workgroup, each into the first merged kernel its bindings,
 * params, workgroup memory and grid fit, with at most one member of a `varying` step each; a pack
 * of one runs alone.
 *
 * @example
 * group.plan = planMerge(group.deferred.slice(0, group.count), limits, host, group.varying);
 */
export function planMerge(deferred: readonly DeferredDispatch[], limits: MergeLimits, host: MergeHost, varying: readonly boolean[] = []): MergePlan {
  const perStep = new Map<number, number>();
  for (const d of deferred) perStep.set(d.step, (perStep.get(d.step) ?? 0) + 1);
  const alone: number[] = [];
  const packs = new Map<number, { members: number[]; shapes: MemberShape[]; buffers: number; params: number; bytes: number; groups: number; varies: boolean }[]>();
  deferred.forEach((d, i) => {
    const groups = groupCount(d.groups);
    const shape = perStep.get(d.step) === 1 && !d.checksIndices && groups > 0 && groups <= limits.memberGroups ? host.shapeOf(d.key, d.source) : undefined;
    if (!shape) {
      alone.push(i);
      return;
    }
    const invocations = shape.size[0] * shape.size[1] * shape.size[2];
    const open = packs.get(invocations) ?? [];
    packs.set(invocations, open);
    const varies = varying[d.step] ?? false;
    // The first open pack it fits (first-fit: a pack left short by a large member still takes small ones).
    const pack = open.find(
      (p) =>
        !(p.varies && varies) &&
        1 + p.buffers + d.buffers.length <= limits.storageBuffers &&
        (p.params + d.params.length) * 4 <= PARAMS_BYTES &&
        p.bytes + shape.workgroupBytes <= limits.workgroupBytes &&
        p.groups + groups <= limits.groupsPerDimension * limits.groupsPerDimension,
    );
    if (pack) {
      pack.members.push(i);
      pack.shapes.push(shape);
      pack.buffers += d.buffers.length;
      pack.params += d.params.length;
      pack.bytes += shape.workgroupBytes;
      pack.groups += groups;
      pack.varies ||= varies;
    } else open.push({ members: [i], shapes: [shape], buffers: d.buffers.length, params: d.params.length, bytes: shape.workgroupBytes, groups, varies });
  });
  const merged: MergedDispatch[] = [];
  for (const [invocations, open] of packs) {
    for (const pack of open) {
      if (pack.members.length === 1) {
        alone.push(pack.members[0]);
        continue;
      }
      // Each member's first params word and first buffer (binding 0 holds the params: buffer b is binding b + 1).
      const paramsAt: number[] = [];
      const buffersAt: number[] = [];
      let [params, buffers] = [0, 0];
      for (const i of pack.members) {
        paramsAt.push(params);
        buffersAt.push(buffers);
        params += deferred[i].params.length;
        buffers += deferred[i].buffers.length;
      }
      const members = pack.members.map((i, j) => ({ source: deferred[i].source(), groups: deferred[i].groups, size: pack.shapes[j].size, paramsAt: paramsAt[j], bindingsAt: buffersAt[j] + 1 }));
      const source = mergedWgsl(members, [invocations, 1, 1]);
      const access = pack.members.map((i) => deferred[i].access).join('');
      const kernel = `merged(${pack.members.map((i) => deferred[i].kernel).join(' | ')})`.slice(0, 160);
      merged.push({
        members: pack.members,
        kernel,
        pipeline: host.pipeline(kernel, `merged:${source}`, () => source, access),
        access,
        groups: mergedGrid(pack.groups, limits.groupsPerDimension),
        paramsAt,
        buffersAt,
        params: new Array(params).fill(0),
        buffers: new Array(buffers),
      });
    }
  }
  alone.sort((a, b) => a - b);
  return {
    pipelines: deferred.map((d) => d.pipeline),
    grids: deferred.flatMap((d) => d.groups),
    paramsLengths: deferred.map((d) => d.params.length),
    steps: deferred.map((d) => d.step),
    alone,
    merged,
  };
}

/** Fills a merged dispatch's params and buffers from this call's deferred dispatches. */
export function fillMerged(m: MergedDispatch, deferred: readonly DeferredDispatch[]): void {
  for (let j = 0; j < m.members.length; j++) {
    const d = deferred[m.members[j]];
    const p = m.paramsAt[j];
    for (let k = 0; k < d.params.length; k++) m.params[p + k] = d.params[k];
    const b = m.buffersAt[j];
    for (let k = 0; k < d.buffers.length; k++) m.buffers[b + k] = d.buffers[k];
  }
}
