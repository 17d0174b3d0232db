/**
 * The WGSL kernel of every primitive: a mapped type over `Primitive`, so a primitive without a
 * WebGPU kernel does not compile. Each kernel turns a primitive's inputs and parameters into the
 * integer parameters of one of the kernel families in `shaders/` and dispatches it. Reductions
 * (`reduce-kernels.ts`) and products (`matmul-kernels.ts`) have files of their own; what every
 * kernel shares is in `kernel-common.ts`.
 */
import { CONCAT_INPUTS, concatWgsl, COPY_WGSL, PAD_WGSL } from '../../../shaders/copy';
import { GATHER_WGSL, scatterAddWgsl } from '../../../shaders/gather';
import { argReduceWgsl } from '../../../shaders/reduce';
import { ARGSORT_GLOBAL_WGSL, ARGSORT_LOCAL_MAX, type ArgsortForm, argsortLocalWgsl } from '../../../shaders/sort';
import { threefrySiblingsWgsl, threefryWgsl, UNIFORM_F32_WGSL } from '../../../shaders/threefry';
import {
  ARG_REDUCE_OPS,
  type ArgReduceOp,
  type Aval,
  BINARY_OPS,
  type BinaryOp,
  type Primitive,
  REDUCE_OPS,
  type ReduceOp,
  UNARY_OPS,
  type UnaryOp,
} from '../primitives';
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../shape';
import { BINARY_WGSL, castWgsl, UNARY_WGSL, wgslType } from './expressions';
import { elementwise, type GpuKernel, grid, grid1d, type KernelHost } from './kernel-common';
import { matmulKernel } from './matmul-kernels';
import { reduce } from './reduce-kernels';
import { WebGPUError } from './errors';
import type { GpuInput, Storage } from './storage';






/** Copies the view (`srcOffset`, `srcStrides`) of `src` over `shape` into `dst` at (`dstOffset`, `dstStrides`). */
function copyStrided(
  gpu: KernelHost,
  kernel: string,
  src: Storage,
  srcOffset: number,
  srcStrides: readonly number[],
  shape: Shape,
  dst: Storage,
  dstOffset: number,
  dstStrides: readonly number[],
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const params = [n, shape.length, ...shape, srcOffset, ...srcStrides, dstOffset, ...dstStrides];
  gpu.run(kernel, 'copy', () => COPY_WGSL, params, [dst, src], grid1d(kernel, n));
}

/** A kernel that copies its single input through a strided view into a fresh contiguous output. */
function view(
  kernel: string,
  inputs: readonly GpuInput[],
  out: Aval,
  gpu: KernelHost,
  offset: number,
  strides: readonly number[],
): Storage {
  const result = gpu.output(out);
  copyStrided(gpu, kernel, inputs[0].storage, offset, strides, out.shape, result, 0, stridesOf(out.shape));
  return result;
}

const unaryKernel =
  (op: UnaryOp): GpuKernel<UnaryOp> =>
  (gpu, inputs, _params, out) =>
    elementwise(gpu, op, inputs, out, ([a]) => UNARY_WGSL[op](a, wgslType(inputs[0].aval.dtype)));

const binaryKernel =
  (op: BinaryOp): GpuKernel<BinaryOp> =>
  (gpu, inputs, _params, out) =>
    elementwise(gpu, op, inputs, out, ([a, b]) => BINARY_WGSL[op](a, b, wgslType(inputs[0].aval.dtype)));





const reduceKernel =
  (op: ReduceOp): GpuKernel<ReduceOp> =>
  (gpu, [x], { axes }, out) =>
    reduce(gpu, op, x, axes, out);

const argReduceKernel =
  (op: ArgReduceOp): GpuKernel<ArgReduceOp> =>
  (gpu, [x], { axis }, out) => {
    const result = gpu.output(out);
    const nOut = sizeOf(out.shape);
    if (nOut === 0) return result;
    const type = wgslType(x.aval.dtype);
    const better = op === 'argmax' ? '>' : '<';
    const params = [nOut, x.aval.shape[axis], sizeOf(x.aval.shape.slice(axis + 1))];
    gpu.run(op, `${op}|${type}`, () => argReduceWgsl(type, better), params, [result, x.storage], grid1d(op, nOut));
    return result;
  };

const SORT_KEY_TYPES = { float32: 'f32', int32: 'i32', uint32: 'u32' } as const;

/**
 * The stable argsort of each row of x along its last axis (`shaders/sort.ts`): rows padded to a
 * power of two P. Up to `ARGSORT_LOCAL_MAX` pairs a row is one workgroup's sort in its memory, one
 * dispatch; past it the pairs go to two scratch buffers of rows x P words (each within the binding
 * limit, as every output), chunks of 2048 are sorted in workgroup memory, and each later stage k of
 * the bitonic network runs its distances >= 2048 as global passes and the rest in workgroup
 * memory again, the last of those storing the indices: 1 + sum over stages of (log2(k) - 10)
 * dispatches (P = 8192: 6). Either way each row is sorted whole and only its first `k` positions
 * are stored (rows x k indices; `topk`'s k, or n).
 */
function argsortKernel(gpu: KernelHost, [x]: readonly GpuInput[], { descending, k }: { readonly descending: boolean; readonly k: number }, out: Aval): Storage {
  const result = gpu.output(out);
  // Rows x k indices out (only the first k positions of each sorted row are stored).
  const size = sizeOf(out.shape);
  if (size === 0) return result;
  const type = SORT_KEY_TYPES[x.aval.dtype as keyof typeof SORT_KEY_TYPES];
  if (!type) throw new WebGPUError(`argsort: no WebGPU sort for ${x.aval.dtype} tensors`);
  const n = x.aval.shape[x.aval.shape.length - 1];
  const rows = size / k;
  let P = 1;
  while (P < n) P *= 2;
  const desc = descending ? 1 : 0;
  const local = (form: ArgsortForm, C: number, kFirst: number, kLast: number, buffers: readonly Storage[], extraOutputs: number) => {
    const chunks = Math.max(1, P / C) * rows;
    const kernel = `argsort ${form}`;
    const source = () => argsortLocalWgsl(type, form, C);
    gpu.run(kernel, `argsort|${type}|${form}|${C}`, source, [chunks, n, P, kFirst, kLast, desc, k], buffers, grid(kernel, chunks), false, extraOutputs);
  };
  if (P <= ARGSORT_LOCAL_MAX) {
    local('row', Math.max(P, 2), 2, P, [result, x.storage], 0);
    return result;
  }
  const C = ARGSORT_LOCAL_MAX;
  const scratch: Aval = { shape: [rows * P], dtype: 'uint32' };
  const keys = gpu.output(scratch);
  const idx = gpu.output(scratch);
  local('first', C, 2, C, [keys, x.storage, idx], 1);
  for (let k = 2 * C; k <= P; k *= 2) {
    for (let j = k / 2; j >= C; j /= 2) {
      gpu.run('argsort global', 'argsort|global', () => ARGSORT_GLOBAL_WGSL, [(rows * P) / 2, P, k, j], [keys, idx], grid1d('argsort global', (rows * P) / 2), false, 1);
    }
    if (k < P) local('merge', C, k, k, [keys, idx], 1);
    else local('last', C, k, k, [result, keys, idx], 0);
  }
  gpu.drop(keys);
  gpu.drop(idx);
  return result;
}

function table<K extends Primitive>(ops: readonly K[], make: (op: K) => GpuKernel<K>): { [P in K]: GpuKernel<P> } {
  return Object.fromEntries(ops.map((op) => [op, make(op)])) as unknown as { [P in K]: GpuKernel<P> };
}


/** Where a threefry kernel finds row r's key: words `offset + r · stride` and the one after. */
export interface KeyLayout {
  readonly offset: number;
  readonly stride: number;
}

/**
 * Threefry-2x32 of `counts` under the keys `key` (logical shape `[...rows, 2]`, stored as `keys`
 * says: contiguous by default), into fresh storage of `out`. An `out` of float32 stores JAX's
 * uniform floats of the words instead of the words (a jit plan's threefry whose bits only
 * `uniformFromBits` reads: one kernel for both).
 *
 * @example
 * // the uniforms of key row 1 of a split key [3, 2], read in place
 * threefryKernel(gpu, { storage: split.storage, aval: { shape: [2], dtype: 'uint32' } }, counts, { shape: [5], dtype: 'float32' }, { offset: 2, stride: 2 });
 */
export function threefryKernel(gpu: KernelHost, key: GpuInput, counts: GpuInput, out: Aval, keys: KeyLayout = { offset: 0, stride: 2 }): Storage {
  const result = gpu.output(out);
  const n = sizeOf(out.shape);
  if (n === 0) return result;
  const rows = sizeOf(key.aval.shape) / 2;
  const perRow = n / rows;
  const pairs = Math.ceil(perRow / 2) * rows;
  const uniform = out.dtype === 'float32';
  const kernel = uniform ? 'threefry+uniform' : 'threefry';
  gpu.run(kernel, kernel, () => threefryWgsl(uniform), [perRow, rows, keys.offset, keys.stride], [result, key.storage, counts.storage], grid1d(kernel, pairs));
  return result;
}

/** One of several sibling threefry steps: its key's and counts' avals and layout, its output, which shared inputs hold its key and counts. */
export interface SiblingThreefryStep {
  readonly key: Aval;
  readonly keys?: KeyLayout;
  readonly out: Aval;
  readonly reads: { readonly key: number; readonly counts: number };
}

/**
 * Prepares independent threefry steps (a jit plan's siblings, none of them empty) as one dispatch
 * (`threefrySiblingsWgsl`). `run` binds member 0's output, the `inputs` shared inputs (keys and
 * counts, each once), then the outputs of members 1...
 *
 * @example
 * // the uniforms of rows 0 and 1 of a split key, one dispatch: buffers [u0, split, counts, u1]
 * const twins = prepareThreefrySiblings([{ key, keys: { offset: 0, stride: 2 }, out, reads: { key: 0, counts: 1 } }, { key, keys: { offset: 2, stride: 2 }, out, reads: { key: 0, counts: 1 } }], 2);
 */
export function prepareThreefrySiblings(members: readonly SiblingThreefryStep[], inputs: number): { run(gpu: KernelHost, buffers: readonly Storage[]): void } {
  let total = 0;
  const ends = members.map(({ key, out }) => (total += (Math.ceil(sizeOf(out.shape) / (sizeOf(key.shape) / 2) / 2) * sizeOf(key.shape)) / 2));
  const params = [
    ...ends,
    ...members.flatMap(({ key, keys = { offset: 0, stride: 2 }, out }) => {
      const rows = sizeOf(key.shape) / 2;
      return [sizeOf(out.shape) / rows, rows, keys.offset, keys.stride];
    }),
  ];
  const shapes = members.map((m) => ({ ...m.reads, uniform: m.out.dtype === 'float32' }));
  const key = `threefry|${JSON.stringify(shapes)}`;
  const kernel = `threefry${shapes.some((m) => m.uniform) ? '+uniform' : ''}x${members.length}`;
  const grid = grid1d(kernel, total);
  const source = () => threefrySiblingsWgsl(shapes, inputs);
  return { run: (gpu, buffers) => gpu.run(kernel, key, source, params, buffers, grid, false, members.length - 1) };
}

/** The WebGPU kernel of every primitive. */
export const webgpuKernels: { [P in Primitive]: GpuKernel<P> } = {
  ...table(UNARY_OPS, unaryKernel),
  ...table(BINARY_OPS, binaryKernel),
  ...table(REDUCE_OPS, reduceKernel),
  ...table(ARG_REDUCE_OPS, argReduceKernel),
  where: (gpu, inputs, _p, out) => elementwise(gpu, 'where', inputs, out, ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`),
  cast: (gpu, inputs, _p, out) => elementwise(gpu, 'cast', inputs, out, ([a]) => castWgsl(a, inputs[0].aval.dtype, out.dtype)),
  stopGradient: (gpu, [x]) => gpu.share(x.storage),
  reshape: (gpu, [x]) => gpu.share(x.storage),

  matmul: (gpu, inputs, _p, out) => matmulKernel(gpu, inputs, out),

  transpose(gpu, inputs, { perm }, out) {
    const strides = stridesOf(inputs[0].aval.shape);
    return view('transpose', inputs, out, gpu, 0, perm.map((p) => strides[p]));
  },

  broadcastTo: (gpu, inputs, { shape }, out) => view('broadcastTo', inputs, out, gpu, 0, broadcastStrides(inputs[0].aval.shape, shape)),

  slice(gpu, inputs, { starts, steps }, out) {
    const strides = stridesOf(inputs[0].aval.shape);
    const offset = starts.reduce((acc, s, i) => acc + s * strides[i], 0);
    return view('slice', inputs, out, gpu, offset, strides.map((s, i) => s * steps[i]));
  },

  flip(gpu, inputs, { axes }, out) {
    const shape = inputs[0].aval.shape;
    let offset = 0;
    const strides = stridesOf(shape).map((s, i) => {
      if (!axes.includes(i)) return s;
      offset += (shape[i] - 1) * s;
      return -s;
    });
    return view('flip', inputs, out, gpu, offset, strides);
  },

  pad(gpu, [x], { lo, interior }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const shape = x.aval.shape;
    const params = [n, shape.length, ...out.shape, ...lo, ...interior.map((s) => s + 1), ...shape, ...stridesOf(shape)];
    gpu.run('pad', 'pad', () => PAD_WGSL, params, [result, x.storage], grid1d('pad', n));
    return result;
  },

  concat(gpu, inputs, { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const inner = sizeOf(out.shape.slice(axis + 1));
    const total = out.shape[axis];
    const parts = inputs.filter((x) => x.aval.shape[axis] > 0);
    // One dispatch per run of inputs that fits the bindings every device has (8: params, output, 6).
    let base = 0;
    for (let start = 0; start < parts.length; start += CONCAT_INPUTS) {
      const run = parts.slice(start, start + CONCAT_INPUTS);
      let span = 0;
      const ends = run.map((x) => (span += x.aval.shape[axis]));
      const count = (n / total) * span;
      const params = [count, inner, total, span, base, ...ends];
      gpu.run('concat', `concat|${run.length}`, () => concatWgsl(run.length), params, [result, ...run.map((x) => x.storage)], grid1d('concat', count));
      base += span;
    }
    return result;
  },

  gather(gpu, [x, idx], { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    const xStrides = broadcastStrides(x.aval.shape, out.shape);
    xStrides[axis] = 0;
    const params = [
      n,
      out.shape.length,
      ...out.shape,
      ...xStrides,
      ...broadcastStrides(idx.aval.shape, out.shape),
      stridesOf(x.aval.shape)[axis],
      x.aval.shape[axis],
    ];
    gpu.run('gather', 'gather', () => GATHER_WGSL, params, [result, x.storage, idx.storage], grid1d('gather', n), true);
    return result;
  },

  scatterAdd(gpu, [updates, idx], { axis }, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    const j = idx.aval.shape[axis];
    const iterShape = out.shape.map((d, i) => (i === axis ? j : d));
    if (n === 0) {
      // No kernel runs to set the fault word: an index into an axis of size 0 is out of range whatever its value.
      if (sizeOf(iterShape) > 0 && out.shape[axis] === 0) {
        throw new WebGPUError(`scatterAdd: ${sizeOf(idx.aval.shape)} indices into axis ${axis} of shape [${out.shape.join(',')}], which has no elements: every index is out of range`);
      }
      return result;
    }
    const params = [
      n,
      out.shape.length,
      ...out.shape,
      axis,
      j,
      ...broadcastStrides(idx.aval.shape, iterShape),
      ...broadcastStrides(updates.aval.shape, iterShape),
    ];
    const type = wgslType(out.dtype);
    const storages = [result, updates.storage, idx.storage];
    gpu.run('scatterAdd', `scatterAdd|${type}`, () => scatterAddWgsl(type), params, storages, grid1d('scatterAdd', n), true);
    return result;
  },

  argsort: argsortKernel,

  threefry: (gpu, [key, counts], _p, out) => threefryKernel(gpu, key, counts, out),

  uniformFromBits(gpu, [bits], _p, out) {
    const result = gpu.output(out);
    const n = sizeOf(out.shape);
    if (n === 0) return result;
    gpu.run('uniformFromBits', 'uniformFromBits', () => UNIFORM_F32_WGSL, [n], [result, bits.storage], grid1d('uniformFromBits', n));
    return result;
  },
};
