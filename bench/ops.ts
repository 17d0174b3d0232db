/**
 * The newer composite ops against PyTorch on one thread, in one run: sorting (`argsort`, `sort`,
 * `topk`), `einsum` (a batched product, a chain of three, an attention-score contraction) and
 * `random.permutation`, each eager and jitted on the CPU backend, float32. Prints the median time per
 * call and PyTorch / mixrl (above 1: mixrl is faster). PyTorch's sort is asked to be stable, as
 * mixrl's always is; its permutation is `torch.randperm` (a different algorithm: a Fisher-Yates
 * shuffle, where mixrl sorts random words as JAX does).
 *
 * Run: npx esbuild bench/ops.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/ops.mjs && node .tmp/ops.mjs [--python /usr/bin/python3]
 */
import * as M from '../src';
import type { Tensor } from '../src';
import { runPython, timeIt, TORCH_PRELUDE } from './timing';

interface Case {
  readonly label: string;
  /** Input shapes (float32, uniform in [-0.5, 0.5)); `'key'` for a PRNG key (an argument, so jit cannot fold the draw). */
  readonly shapes: readonly (readonly number[] | 'key')[];
  readonly mixrl: (...xs: Tensor[]) => Tensor;
  /** A Python expression of the inputs `xs` (a list of tensors). */
  readonly torch: string;
}

const CASES: readonly Case[] = [
  { label: 'argsort [1000, 1000], last axis', shapes: [[1000, 1000]], mixrl: (x) => M.argsort(x), torch: 'torch.sort(xs[0], dim=-1, stable=True)[1]' },
  { label: 'sort [32, 64] (a minibatch row each)', shapes: [[32, 64]], mixrl: (x) => M.sort(x), torch: 'torch.sort(xs[0], dim=-1, stable=True)[0]' },
  { label: 'topk 5 of [256, 1000]', shapes: [[256, 1000]], mixrl: (x) => M.topk(x, 5)[0], torch: 'torch.topk(xs[0], 5)[0]' },
  { label: "einsum 'bij,bjk->bik' [64, 64, 64]²", shapes: [[64, 64, 64], [64, 64, 64]], mixrl: (a, b) => M.einsum('bij,bjk->bik', a, b), torch: "torch.einsum('bij,bjk->bik', *xs)" },
  {
    label: "einsum 'ij,jk,kl->il' [256, 256]³",
    shapes: [[256, 256], [256, 256], [256, 256]],
    mixrl: (a, b, c) => M.einsum('ij,jk,kl->il', a, b, c),
    torch: "torch.einsum('ij,jk,kl->il', *xs)",
  },
  {
    label: "einsum 'bhqd,bhkd->bhqk' [8, 4, 32, 16]²",
    shapes: [[8, 4, 32, 16], [8, 4, 32, 16]],
    mixrl: (q, k) => M.einsum('bhqd,bhkd->bhqk', q, k),
    torch: "torch.einsum('bhqd,bhkd->bhqk', *xs)",
  },
  { label: 'permutation of 100000', shapes: ['key'], mixrl: (k) => M.random.permutation(k, 100_000), torch: 'torch.randperm(100000)' },
];

const TORCH = `${TORCH_PRELUDE}
for shapes, expr in json.loads(sys.argv[1]):
    xs = [None if s == 'key' else torch.rand(*s) - 0.5 for s in shapes]
    f = eval('lambda xs: ' + expr)
    out.append(median_seconds(lambda: f(xs)))
print(json.dumps(out))
`;

function input(shape: readonly number[] | 'key', seed: number): Tensor {
  return shape === 'key' ? M.random.key(seed) : M.random.uniform(M.random.key(seed), [...shape], { minval: -0.5, maxval: 0.5 });
}

M.setCpuThreads(1);
console.log(`node ${process.version}; ms per call (median), one thread, float32; ratio = PyTorch / mixrl`);
const torch = runPython<number[]>(TORCH, JSON.stringify(CASES.map((c) => [c.shapes, c.torch])));
console.log('');
console.log('| op | mixrl eager | mixrl jit | PyTorch | PyTorch / eager | PyTorch / jit |');
console.log('|---|---|---|---|---|---|');
CASES.forEach((c, index) => {
  const xs = c.shapes.map((s, i) => input(s, i + 1));
  const jitted = M.jit(c.mixrl);
  const eager = timeIt(() => c.mixrl(...xs));
  const compiled = timeIt(() => jitted(...xs));
  const t = torch ? torch[index] : NaN;
  const ms = (s: number) => (Number.isNaN(s) ? '—' : (s * 1e3).toFixed(3));
  const ratio = (s: number) => (Number.isNaN(t) ? '—' : (t / s).toFixed(2));
  console.log(`| ${c.label} | ${ms(eager)} | ${ms(compiled)} | ${ms(t)} | ${ratio(eager)} | ${ratio(compiled)} |`);
});
