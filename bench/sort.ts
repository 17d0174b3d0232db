/**
 * CPU sorting by row length against PyTorch on one thread, in one run: `argsort` (stable) of float32
 * rows of 16, 64, 1000, 1e5 and 1e6 values (about 1e6 values each), float64 and int32 rows of 1000,
 * `topk` of a few k, and `random.permutation` of 1e5 and 1e6, eager. Prints the median time per call
 * and PyTorch / mixrl (above 1: mixrl is faster). PyTorch's sort is asked to be stable, as mixrl's
 * always is; its topk is `torch.topk` (sorted); its permutation `torch.randperm` (Fisher-Yates,
 * where mixrl sorts random words as JAX does).
 *
 * Run: npx esbuild bench/sort.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/sort.mjs && node .tmp/sort.mjs [--python /usr/bin/python3]
 */
import * as M from '../src';
import type { Tensor } from '../src';
import { runPython, timeIt, TORCH_PRELUDE } from './timing';

interface Case {
  readonly label: string;
  /** The input's shape and dtype (uniform in [-0.5, 0.5), scaled by 1e6 for int32), or a PRNG key. */
  readonly shape: readonly number[] | 'key';
  readonly dtype?: 'float32' | 'float64' | 'int32';
  readonly mixrl: (x: Tensor) => Tensor;
  /** A Python expression of the input `x`. */
  readonly torch: string;
}

const stable = 'torch.sort(x, dim=-1, stable=True)[1]';
const CASES: readonly Case[] = [
  { label: 'argsort [65536, 16]', shape: [65536, 16], mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [16384, 64]', shape: [16384, 64], mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [1000, 1000]', shape: [1000, 1000], mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [1000, 1000] descending', shape: [1000, 1000], mixrl: (x) => M.argsort(x, { descending: true }), torch: 'torch.sort(x, dim=-1, stable=True, descending=True)[1]' },
  { label: 'argsort [10, 100000]', shape: [10, 100_000], mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [1000000]', shape: [1_000_000], mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [1000, 1000] float64', shape: [1000, 1000], dtype: 'float64', mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'argsort [1000, 1000] int32', shape: [1000, 1000], dtype: 'int32', mixrl: (x) => M.argsort(x), torch: stable },
  { label: 'topk 5 of [256, 1000]', shape: [256, 1000], mixrl: (x) => M.topk(x, 5)[1], torch: 'torch.topk(x, 5)[1]' },
  { label: 'topk 50 of [256, 1000]', shape: [256, 1000], mixrl: (x) => M.topk(x, 50)[1], torch: 'torch.topk(x, 50)[1]' },
  { label: 'topk 500 of [256, 1000]', shape: [256, 1000], mixrl: (x) => M.topk(x, 500)[1], torch: 'torch.topk(x, 500)[1]' },
  { label: 'topk 100 of [1000000]', shape: [1_000_000], mixrl: (x) => M.topk(x, 100)[1], torch: 'torch.topk(x, 100)[1]' },
  { label: 'permutation of 100000', shape: 'key', mixrl: (k) => M.random.permutation(k, 100_000), torch: 'torch.randperm(100000)' },
  { label: 'permutation of 1000000', shape: 'key', mixrl: (k) => M.random.permutation(k, 1_000_000), torch: 'torch.randperm(1000000)' },
];

const TORCH = `${TORCH_PRELUDE}
for shape, dtype, expr in json.loads(sys.argv[1]):
    x = None if shape == 'key' else torch.rand(*shape, dtype=torch.float64 if dtype == 'float64' else torch.float32) - 0.5
    if dtype == 'int32': x = (x * 1e6).to(torch.int32)
    f = eval('lambda x: ' + expr)
    out.append(median_seconds(lambda: f(x)))
print(json.dumps(out))
`;

function input(c: Case, seed: number): Tensor {
  if (c.shape === 'key') return M.random.key(seed);
  const dtype = c.dtype === 'float64' ? 'float64' : 'float32';
  const x = M.random.uniform(M.random.key(seed), [...c.shape], { minval: -0.5, maxval: 0.5, dtype });
  return c.dtype === 'int32' ? M.cast(M.mul(x, 1e6), 'int32') : x;
}

M.setCpuThreads(1);
console.log(`node ${process.version}; ms per call (median), one thread, eager; ratio = PyTorch / mixrl`);
const torch = runPython<number[]>(TORCH, JSON.stringify(CASES.map((c) => [c.shape, c.dtype ?? 'float32', c.torch])));
console.log('');
console.log('| op | mixrl | PyTorch | PyTorch / mixrl |');
console.log('|---|---|---|---|');
CASES.forEach((c, index) => {
  const x = input(c, index + 1);
  const s = timeIt(() => c.mixrl(x));
  const t = torch ? torch[index] : NaN;
  const ms = (v: number) => (Number.isNaN(v) ? '—' : (v * 1e3).toFixed(3));
  console.log(`| ${c.label} | ${ms(s)} | ${ms(t)} | ${Number.isNaN(t) ? '—' : (t / s).toFixed(2)} |`);
});
