/**
 * One elementwise op run by a fused WebAssembly lane loop (`laneFunction`) over a whole array, for
 * tests comparing the lanes with the op's JS function.
 */
import { expect } from 'vitest';
import type { Primitive } from '../../src/tensor';
import { laneFunction } from '../../src/tensor/cpu/wasm/elementwise';
import { WasmArena } from '../../src/tensor/cpu/wasm/runtime';

/**
 * `op(xs)` computed by a lane loop of one member: float32 lanes for a Float32Array, float64 lanes
 * for a Float64Array; fails the test if the op has no lane form.
 *
 * @example
 * const out = inLanes('exp', Float64Array.of(0, 1)); // Float64Array [1, 2.718281828459045]
 */
export function inLanes<A extends Float32Array | Float64Array>(op: Primitive, xs: A): A {
  const dtype = xs instanceof Float64Array ? 'float64' : 'float32';
  const bytes = xs.byteLength;
  const lanes = laneFunction('f', { dtype, size: xs.length, leaves: [{ kind: 'c', address: 0 }], members: [{ prim: op, inputs: [{ leaf: 0 }], outDtype: dtype }], outAddress: bytes });
  expect(lanes, op).not.toBeNull();
  const arena = new WasmArena(2 * bytes, [lanes!]);
  const View = xs.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => A;
  new View(arena.buffer, 0, xs.length).set(xs);
  arena.generated.f(0, bytes);
  return new View(arena.buffer, bytes, xs.length);
}
