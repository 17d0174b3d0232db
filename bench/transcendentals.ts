/**
 * The transcendental ops (exp, expm1, log, log1p, tanh, sigmoid, softplus, erfinv) on 2^20 elements
 * against PyTorch on one thread, in one run, float32 and float64: mixrl eager (the ops' float64
 * programs as JS, `cpu/float32-math.ts` and `cpu/float64-math.ts`) and jitted (the same programs in
 * WebAssembly lanes, one loop per op). Prints nanoseconds per element (median) and PyTorch / mixrl
 * (above 1: mixrl is faster).
 *
 * Run: npx esbuild bench/transcendentals.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/transcendentals.mjs && node .tmp/transcendentals.mjs [--python /usr/bin/python3]
 */
import * as M from '../src';
import type { Tensor } from '../src';
import { runPython, timeIt, TORCH_PRELUDE } from './timing';

const N = 1 << 20;

interface Op {
  readonly name: string;
  readonly mixrl: (x: Tensor) => Tensor;
  /** A Python expression of the input `x`. */
  readonly torch: string;
  /** The inputs' range. */
  readonly low: number;
  readonly high: number;
}

const OPS: readonly Op[] = [
  { name: 'exp', mixrl: M.exp, torch: 'torch.exp(x)', low: -20, high: 20 },
  { name: 'expm1', mixrl: M.expm1, torch: 'torch.expm1(x)', low: -5, high: 5 },
  { name: 'log', mixrl: M.log, torch: 'torch.log(x)', low: 1e-3, high: 1e3 },
  { name: 'log1p', mixrl: M.log1p, torch: 'torch.log1p(x)', low: -0.5, high: 10 },
  { name: 'tanh', mixrl: M.tanh, torch: 'torch.tanh(x)', low: -5, high: 5 },
  { name: 'sigmoid', mixrl: M.sigmoid, torch: 'torch.sigmoid(x)', low: -10, high: 10 },
  { name: 'softplus', mixrl: M.softplus, torch: 'torch.nn.functional.softplus(x)', low: -10, high: 10 },
  { name: 'erfinv', mixrl: M.erfinv, torch: 'torch.erfinv(x)', low: -0.999, high: 0.999 },
];
const DTYPES = ['float32', 'float64'] as const;

const TORCH = `${TORCH_PRELUDE}
for dtype, expr, low, high in json.loads(sys.argv[1]):
    x = torch.rand(${N}, dtype=getattr(torch, dtype)) * (high - low) + low
    f = eval('lambda x: ' + expr)
    out.append(median_seconds(lambda: f(x)))
print(json.dumps(out))
`;

M.setCpuThreads(1);
console.log(`node ${process.version}; ns per element (median over calls on ${N} elements), one thread; ratio = PyTorch / mixrl`);
const cases = DTYPES.flatMap((dtype) => OPS.map((op) => ({ dtype, op })));
const torch = runPython<number[]>(TORCH, JSON.stringify(cases.map(({ dtype, op }) => [dtype, op.torch, op.low, op.high])));
console.log('');
console.log('| op | dtype | mixrl eager | mixrl jit | PyTorch | PyTorch / eager | PyTorch / jit |');
console.log('|---|---|---|---|---|---|---|');
cases.forEach(({ dtype, op }, index) => {
  const x = M.random.uniform(M.random.key(index), [N], { minval: op.low, maxval: op.high, dtype });
  const jitted = M.jit(op.mixrl);
  const eager = timeIt(() => op.mixrl(x));
  const compiled = timeIt(() => jitted(x));
  const t = torch ? torch[index] : NaN;
  const ns = (s: number) => (Number.isNaN(s) ? '—' : ((s * 1e9) / N).toFixed(1));
  const ratio = (s: number) => (Number.isNaN(t) ? '—' : (t / s).toFixed(2));
  console.log(`| ${op.name} | ${dtype} | ${ns(eager)} | ${ns(compiled)} | ${ns(t)} | ${ratio(eager)} | ${ratio(compiled)} |`);
});
