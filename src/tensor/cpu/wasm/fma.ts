/**
 * Fused multiply-add in the float32 matmul kernel: `f32x4.relaxed_madd` (WebAssembly relaxed SIMD)
 * is one instruction per four multiply-adds where `f32x4.mul` then `f32x4.add` are two, and V8's
 * 128-bit kernels are bound by instructions issued: 256³ ran at 54 instead of 41 GFLOP/s per thread
 * on an AMD EPYC (Zen 4). Node 22 and later have relaxed SIMD; Node 20 (V8 11.3) has it behind
 * `--experimental-wasm-relaxed-simd`, which is turned on here when a module with the instruction
 * does not validate (the flag only lets modules use the relaxed instructions). Where the CPU has
 * no FMA unit the engine computes the same instruction as a multiply then an add (`fusesMultiplyAdd`).
 * `MIXRL_WASM_FMA=off` keeps multiply-then-add: products then have the same bits on every machine.
 */
import { setFlagsFromString } from 'node:v8';
import { ArgumentError } from '../../errors';
import { Code, f32, type FunctionDef, wasm, wasmModule } from './emit';

/** `madd(x, y, z)`: lane 0 of `f32x4.relaxed_madd` on splats of x, y, z, as the engine computes it. */
function maddProbe(): FunctionDef {
  const c = new Code(3);
  for (const param of [0, 1, 2]) c.get(param).simd('f32x4.splat');
  c.simd('f32x4.relaxed_madd').extractF32Lane(0);
  return { name: 'madd', params: [f32, f32, f32], results: [f32], code: c };
}

let chosen: boolean | undefined;

/**
 * Whether the float32 matmul kernel accumulates with `f32x4.relaxed_madd` in this process (decided
 * once, on first use, so that every module compiled here computes products alike): unless
 * `MIXRL_WASM_FMA=off`, when the engine has relaxed SIMD, turning on Node 20's flag for it if needed.
 *
 * @example
 * if (matmulUsesFma()) console.log('products accumulate with fused multiply-adds where the CPU has them');
 */
export function matmulUsesFma(): boolean {
  if (chosen !== undefined) return chosen;
  const setting = process.env.MIXRL_WASM_FMA ?? 'on';
  if (setting !== 'on' && setting !== 'off') throw new ArgumentError(`MIXRL_WASM_FMA is '${setting}'; set it to on or off, or unset it`);
  if (setting === 'off') return (chosen = false);
  const probe = wasmModule([maddProbe()]);
  if (!wasm.validate(probe)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  chosen = wasm.validate(probe);
  return chosen;
}

/**
 * The engine's `f32x4.relaxed_madd` on one lane, `madd(x, y, z)` ≈ x·y + z as this machine computes
 * it (for `fusesMultiplyAdd` and peer checks of a reference); null when the kernel uses none.
 *
 * @example
 * relaxedMadd()?.(3, 5, 7); // 22
 */
export function relaxedMadd(): ((x: number, y: number, z: number) => number) | null {
  if (!matmulUsesFma()) return null;
  const memory = new wasm.Memory({ initial: 1 });
  const instance = new wasm.Instance(new wasm.Module(wasmModule([maddProbe()])), { env: { memory } });
  return (instance.exports as { madd(x: number, y: number, z: number): number }).madd;
}

let fused: boolean | undefined;

/**
 * Whether the kernel's multiply-adds round once (a fused multiply-add) on this machine: false when
 * it uses none (`matmulUsesFma`), or when the engine computes `f32x4.relaxed_madd` as a multiply
 * then an add (no FMA unit). With x = y = 1 + 2⁻¹², x·y = 1 + 2⁻¹¹ + 2⁻²⁴ rounds to 1 + 2⁻¹¹ in
 * float32, so x·y − (1 + 2⁻¹¹) is 2⁻²⁴ fused and 0 not.
 *
 * @example
 * // What a float32 reference of the kernel's acc + x·y must compute on this machine:
 * const next = fusesMultiplyAdd() ? Math.fround(acc + x * y) : Math.fround(acc + Math.fround(x * y));
 */
export function fusesMultiplyAdd(): boolean {
  if (fused !== undefined) return fused;
  const madd = relaxedMadd();
  const x = 1 + 2 ** -12;
  fused = madd !== null && madd(x, x, -(1 + 2 ** -11)) !== 0;
  return fused;
}
