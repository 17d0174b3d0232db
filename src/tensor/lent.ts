/**
 * Typed arrays a jit plan lends out: the arena regions of a donated pair (`DonatedRegions`), which
 * the plan writes again on a later call. Every CPU tensor made over a lent array is remembered (a
 * reshape or a plan's pass-through output shares its input's array), so that before the region is
 * written each of them still alive gets a copy of its values: no tensor a caller holds changes.
 */
import type { TypedArray } from './dtype';
import type { ArrayTensor } from './tensor';

const sharers = new WeakMap<TypedArray, WeakRef<ArrayTensor>[]>();

/**
 * Marks `array` as lent: tensors made over it from now on are remembered.
 *
 * @example
 * lend(region); // then new ArrayTensor(cpu, region, shape, dtype) is tracked
 */
export function lend(array: TypedArray): void {
  if (!sharers.has(array)) sharers.set(array, []);
}

/** Remembers `tensor` when its storage is a lent array (called by every ArrayTensor). */
export function noteStorage(tensor: ArrayTensor, storage: unknown): void {
  sharers.get(storage as TypedArray)?.push(new WeakRef(tensor));
}

/**
 * Gives every live tensor still over `array` a copy of its values, before `array` is written.
 *
 * @example
 * evacuate(region); // tensors over region now hold copies; region may be overwritten
 */
export function evacuate(array: TypedArray): void {
  const list = sharers.get(array);
  if (!list || list.length === 0) return;
  for (const ref of list) {
    const t = ref.deref();
    if (t && !t.isDisposed && t.handle === array) t.relocate(array.slice());
  }
  list.length = 0;
}
