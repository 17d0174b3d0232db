/**
 * Batched float32 matmul throughput on the CPU, one thread, against PyTorch measured in the same
 * run: per shape, GFLOP/s of
 * - `one product`: the WebAssembly kernel on one matrix pair of the shape, operands already in its
 *   memory (hot in cache: the same pair every call);
 * - `batched kernel`: the whole batch in one kernel call (`matmulBatchF32`, as jit plans run it),
 *   operands already in its memory, each product's operands distinct (out of L2 once the batch is large);
 * - `eager`: `matmul` on tensors (copies the operands into the scratch arena and the result out into a
 *   new array; an operand stored transposed is a `transpose` first);
 * - `jit`: `jit(matmul)` (copies its inputs into the plan's arena and its result out; transposes
 *   fold into the product's layout);
 * - PyTorch's `torch.matmul` on one thread (`--python`, default /usr/bin/python3), and its ratio to
 *   each (above 1: PyTorch is faster).
 * Shapes: square batches, and the products of a 100-agent vmapped SAC-v2 update (batch 256 rows,
 * obs + act 23, hidden 256, outputs 1 and 12) in the layouts its forward and backward passes use.
 *
 * Run: npx esbuild bench/matmul-batched.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/matmul-batched.mjs && node .tmp/matmul-batched.mjs [--only 'SAC'] [--python /usr/bin/python3]
 */
import * as M from '../src';
import { matmulBatchOffsets } from '../src/tensor/cpu/matmul';
import { matmulBlockLayout, WasmArena } from '../src/tensor/cpu/wasm/runtime';
import { arg } from './sac-setup';
import { random, runPython, timeIt, TORCH_PRELUDE } from './timing';

interface Case {
  readonly label: string;
  /** Batch of A (1: A shared by the batch, stored without a batch axis) and of the result. */
  readonly batchA: number;
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
  /** B shared by the batch (stored without a batch axis). */
  readonly sharedB?: boolean;
}

const square = (batch: number, s: number): Case => ({ label: `${batch} x ${s}³`, batchA: batch, batch, m: s, k: s, n: s });
const sac = (label: string, m: number, k: number, n: number, layout: { transposeA?: boolean; transposeB?: boolean } = {}): Case => ({
  label: `SAC ${label}`,
  batchA: 100,
  batch: 100,
  m,
  k,
  n,
  ...layout,
});

const CASES: readonly Case[] = [
  square(1, 32),
  square(100, 32),
  square(1, 64),
  square(8, 64),
  square(64, 64),
  square(100, 64),
  square(1, 128),
  square(16, 128),
  square(1, 256),
  square(4, 256),
  square(100, 256),
  { label: '100 x 256x23 · shared 23x256', batchA: 100, batch: 100, m: 256, k: 23, n: 256, sharedB: true },
  sac('x W1 (256x23 · 23x256)', 256, 23, 256),
  sac('h W2 (256x256 · 256x256)', 256, 256, 256),
  sac('h W3 (256x256 · 256x1)', 256, 256, 1),
  sac('h Wπ (256x256 · 256x12)', 256, 256, 12),
  sac('dy W2ᵀ (256x256 · (256x256)ᵀ)', 256, 256, 256, { transposeB: true }),
  sac('dy W3ᵀ (256x1 · (256x1)ᵀ)', 256, 1, 256, { transposeB: true }),
  sac('dy Wπᵀ (256x12 · (256x12)ᵀ)', 256, 12, 256, { transposeB: true }),
  sac('xᵀ dy ((256x23)ᵀ · 256x256)', 23, 256, 256, { transposeA: true }),
  sac('hᵀ dy ((256x256)ᵀ · 256x256)', 256, 256, 256, { transposeA: true }),
  sac('hᵀ dy ((256x256)ᵀ · 256x1)', 256, 256, 1, { transposeA: true }),
  sac('hᵀ dy ((256x256)ᵀ · 256x12)', 256, 256, 12, { transposeA: true }),
];

/** The stored shapes of a case's operands (a transposed operand stored with its last two axes swapped). */
function storedShapes(c: Case): [number[], number[]] {
  const a = c.transposeA ? [c.k, c.m] : [c.m, c.k];
  const b = c.transposeB ? [c.n, c.k] : [c.k, c.n];
  return [c.batchA === 1 ? a : [c.batchA, ...a], c.sharedB ? b : [c.batch, ...b]];
}

const TORCH = `${TORCH_PRELUDE}
for a_shape, b_shape, ta, tb in json.loads(sys.argv[1]):
    a = torch.rand(*a_shape) - 0.5
    b = torch.rand(*b_shape) - 0.5
    x = a.transpose(-1, -2) if ta else a
    y = b.transpose(-1, -2) if tb else b
    out.append(median_seconds(lambda: torch.matmul(x, y)))
print(json.dumps(out))
`;

/** Seconds per call of the batched kernel (or of its first product alone, `one`) on operands in its memory. */
function kernelSeconds(c: Case, one: boolean): number {
  const batch = one ? 1 : c.batch;
  const [aShape, bShape] = storedShapes({ ...c, batch, batchA: one ? 1 : c.batchA, sharedB: one || c.sharedB });
  const logicalA = c.transposeA ? [...aShape.slice(0, -2), c.m, c.k] : aShape;
  const logicalB = c.transposeB ? [...bShape.slice(0, -2), c.k, c.n] : bShape;
  const offsets = matmulBatchOffsets(logicalA, logicalB, one ? [] : [batch]);
  const layout = matmulBlockLayout(c.m, c.k, c.n, offsets, { transposeA: c.transposeA === true, transposeB: c.transposeB === true }, 1);
  const arena = new WasmArena();
  const sizeA = aShape.reduce((x, y) => x * y, 1);
  const sizeB = bShape.reduce((x, y) => x * y, 1);
  const a = arena.reserve(4 * sizeA);
  const b = arena.reserve(4 * sizeB);
  const out = arena.reserve(4 * batch * c.m * c.n);
  const block = arena.reserve(layout.bytes);
  new Float32Array(arena.buffer, a, sizeA).set(random(sizeA, 1));
  new Float32Array(arena.buffer, b, sizeB).set(random(sizeB, 2));
  layout.write(arena.buffer, block, { a, b, c: out });
  return timeIt(() => arena.matmulBlock(block, layout.batch, layout.work));
}

M.setCpuThreads(1);
const only = arg('only', '');
const cases = CASES.filter((c) => c.label.includes(only));
console.log(`node ${process.version}, ${process.platform}/${process.arch}; GFLOP/s (median), one thread, float32; ratio = PyTorch / mixrl (above 1: PyTorch faster)`);
const torch = runPython<number[]>(TORCH, JSON.stringify(cases.map((c) => [...storedShapes(c), c.transposeA === true, c.transposeB === true])));
console.log('');
console.log('| product | one product (hot) | batched kernel | eager | jit | PyTorch | PyTorch / batched kernel | PyTorch / eager | PyTorch / jit |');
console.log('|---|---|---|---|---|---|---|---|---|');
cases.forEach((c, index) => {
  const flops = 2 * c.batch * c.m * c.k * c.n;
  const [aShape, bShape] = storedShapes(c);
  const x = M.tensor(random(aShape.reduce((p, q) => p * q, 1), 1), { shape: aShape });
  const y = M.tensor(random(bShape.reduce((p, q) => p * q, 1), 2), { shape: bShape });
  const swap = (t: M.Tensor) => M.transpose(t, [...t.shape.keys()].map((d, _, all) => (d < all.length - 2 ? d : 2 * all.length - 3 - d)));
  const f = (p: M.Tensor, q: M.Tensor) => M.matmul(c.transposeA ? swap(p) : p, c.transposeB ? swap(q) : q);
  const jitted = M.jit(f);
  const one = kernelSeconds(c, true) * c.batch;
  const kernel = kernelSeconds(c, false);
  const eager = timeIt(() => f(x, y));
  const compiled = timeIt(() => jitted(x, y));
  const t = torch ? torch[index] : NaN;
  const g = (s: number) => (Number.isNaN(s) ? '—' : (flops / s / 1e9).toFixed(1));
  const ratio = (s: number) => (Number.isNaN(t) ? '—' : (s / t).toFixed(2));
  console.log(`| ${c.label} | ${g(one)} | ${g(kernel)} | ${g(eager)} | ${g(compiled)} | ${g(t)} | ${ratio(kernel)} | ${ratio(eager)} | ${ratio(compiled)} |`);
});
