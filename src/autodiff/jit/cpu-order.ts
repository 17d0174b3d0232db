/**
 * The order a CPU plan runs its steps in: small values from the inputs alone first, and each
 * fused loop reading a large product's result right after the product, which then runs it over
 * the rows it has just computed (`matmulThenLoop`).
 */
import { sizeOf } from '../../tensor';
import { THREADED_MATMUL_MIN } from '../../tensor/cpu/wasm/threads';
import type { IRVar } from '../ir';
import { type FusedGroup, type PlanNode, storedBy } from './fuse';

/** A float32 product of one matrix large enough to be shared across threads. */
export function isThreadedProduct(node: PlanNode): boolean {
  if (node.kind !== 'single' || node.eq.prim !== 'matmul' || node.out.aval.dtype !== 'float32') return false;
  const shape = node.out.aval.shape;
  const k = node.eq.inputs[0].aval.shape.at(-1) as number;
  return sizeOf(shape.slice(0, -2)) === 1 && sizeOf(shape) * k >= THREADED_MATMUL_MIN;
}

/** Outputs of at most this many elements that depend only on the inputs are computed first. */
const EARLY_ELEMENTS = 64;

/**
 * The steps with those computing small values from the program's inputs and constants alone first
 * (an optimizer's bias corrections from its step count), so that loops reading them (its updates)
 * can follow the products they read (`hoistEpilogues`); the others keep their order.
 */
function earlyScalars(steps: readonly PlanNode[], slot: (v: IRVar) => number, readsOf: (node: PlanNode) => readonly IRVar[]): PlanNode[] {
  const computed = new Set(steps.flatMap((node) => storedBy(node).map(slot)));
  const early = new Set<number>();
  const first = steps.filter((node) => {
    const reads = readsOf(node).map(slot);
    const small = storedBy(node).every((v) => sizeOf(v.aval.shape) <= EARLY_ELEMENTS);
    if (!small || reads.some((k) => computed.has(k) && !early.has(k))) return false;
    storedBy(node).forEach((v) => early.add(slot(v)));
    return true;
  });
  const moved = new Set(first);
  return [...first, ...steps.filter((node) => !moved.has(node))];
}

/**
 * The steps in an order where each fused loop that reads a large product's result comes right after
 * the product when it can (every value it reads, by slot, computed by then), so that the product
 * runs it as its epilogue (`matmulThenLoop`); small values from the inputs alone come first
 * (`earlyScalars`), the others keep their order.
 */
export function hoistEpilogues(steps: readonly PlanNode[], slot: (v: IRVar) => number, readsOf: (node: PlanNode) => readonly IRVar[]): PlanNode[] {
  const order = earlyScalars(steps, slot, readsOf);
  const producers = () => new Map(order.flatMap((node, i) => storedBy(node).map((v) => [slot(v), i] as const)));
  let producer = producers();
  for (let s = 0; s < order.length; s++) {
    const product = order[s];
    if (!isThreadedProduct(product)) continue;
    const readsResult = (node: PlanNode | undefined) => node?.kind === 'fused' && node.leaves.includes(product.out);
    if (readsResult(order[s + 1])) continue;
    const ready = (v: IRVar) => (producer.get(slot(v)) ?? -1) <= s;
    const t = order.findIndex((node, i) => i > s + 1 && readsResult(node) && (node as FusedGroup).leaves.every(ready));
    if (t < 0) continue;
    order.splice(s + 1, 0, ...order.splice(t, 1));
    producer = producers();
  }
  return order;
}
