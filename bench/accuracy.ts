/**
 * Float32 accuracy of the WebGPU backend's transcendentals on the adapter present, against the CPU
 * backend in float64 on the same inputs: the worst and mean error in float32 ulps of the exact value,
 * per op and input range (2^18 inputs each; results below float32's normal range are skipped, since
 * GPUs may flush them to zero). Not a timing: it is here so that a device session can report the
 * figures of a real GPU beside lavapipe's (docs/webgpu.md, "Errors").
 *
 *   npx esbuild bench/accuracy.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/accuracy.mjs && node .tmp/accuracy.mjs
 */
import { type BinaryOp, cpu, evaluate, tensor, type UnaryOp } from '../src/tensor';
import { initBackend } from '../src/tensor/webgpu';

const N = 1 << 18;

/** Values uniform in [lo, hi), of magnitude 2^u with u uniform in [lo, hi) (`log`: either sign), or those rounded to integers. */
type Range = readonly [lo: number, hi: number, spacing?: 'log' | 'log-positive' | 'integer'];

/** The ranges each float op is measured on; null for the ops that are exact on both backends. */
const UNARY_RANGES: Record<UnaryOp, readonly Range[] | null> = {
  exp: [[-87.3, 88.72], [-1, 1]],
  expm1: [[-10, 10], [-1e-3, 1e-3]],
  log: [[-126, 127.9, 'log-positive'], [0.5, 2]],
  log1p: [[-0.99, 10], [-20, 100, 'log-positive']],
  sqrt: [[-126, 127.9, 'log-positive']],
  rsqrt: [[-126, 127.9, 'log-positive']],
  reciprocal: [[-125, 125, 'log']],
  sin: [[-4, 4], [-10, 127.9, 'log']],
  cos: [[-4, 4], [-10, 127.9, 'log']],
  tan: [[-1.5, 1.5], [-10, 127.9, 'log']],
  atan: [[-20, 60, 'log']],
  tanh: [[-10, 10]],
  atanh: [[-0.999, 0.999]],
  sigmoid: [[-80, 80]],
  softplus: [[-80, 80]],
  erf: [[-4, 4]],
  erfinv: [[-0.999, 0.999]],
  neg: null,
  abs: null,
  sign: null,
  floor: null,
  ceil: null,
  round: null,
  logicalNot: null,
  isFinite: null,
};

const BINARY_RANGES: Partial<Record<BinaryOp, readonly [Range, Range][]>> = {
  pow: [[[0.1, 5], [-3, 3]], [[0.5, 2], [-100, 100]], [[-20, 20, 'log-positive'], [-4, 4]], [[-10, 10], [-16.5, 16.5, 'integer']]],
  atan2: [[[-10, 10], [-10, 10]]],
};

let state = 0x9e3779b9;
/** xorshift32 in [0, 1): fixed inputs from run to run. */
function uniform(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}

function sample([lo, hi, spacing]: Range): Float32Array {
  return Float32Array.from({ length: N }, () => {
    const u = lo + (hi - lo) * uniform();
    if (!spacing) return u;
    if (spacing === 'integer') return Math.round(u);
    return (spacing === 'log' && uniform() < 0.5 ? -1 : 1) * 2 ** u;
  });
}

const show = ([lo, hi, spacing]: Range) =>
  spacing === 'integer' ? `integers in [${lo}, ${hi}]` : spacing ? `${spacing === 'log' ? '±' : ''}2^[${lo}, ${hi}]` : `[${lo}, ${hi}]`;

/** Worst and mean |gpu - exact| in float32 ulps of the exact value, over exact values in float32's normal range. */
function ulps(gpuValues: ArrayLike<number>, exact: ArrayLike<number>): { worst: number; at: number; mean: number } {
  let worst = 0;
  let at = -1;
  let sum = 0;
  let counted = 0;
  for (let i = 0; i < exact.length; i++) {
    const e = exact[i];
    const magnitude = Math.abs(Math.fround(e));
    if (Number.isNaN(e) || magnitude === Infinity) {
      if (!Object.is(gpuValues[i], Math.fround(e))) return { worst: Infinity, at: i, mean: Infinity };
      continue;
    }
    if (magnitude < 2 ** -126) continue;
    const error = Math.abs(gpuValues[i] - e) / 2 ** (Math.floor(Math.log2(magnitude)) - 23);
    sum += error;
    counted++;
    if (!(error <= worst)) [worst, at] = [error, i];
  }
  return { worst, at, mean: sum / counted };
}

const gpu = await initBackend('webgpu');
console.log(`${gpu.name}: float32 error in ulps of the exact value (the CPU backend in float64), ${N} inputs per row`);
console.log('| op | inputs | worst | at | mean |');
console.log('|---|---|---|---|---|');
async function row(op: UnaryOp | BinaryOp, ranges: readonly Range[]): Promise<void> {
  const inputs = ranges.map(sample);
  const onGpu = await evaluate(op, inputs.map((x) => tensor(x, { backend: gpu })), {}).data();
  const exact = evaluate(op, inputs.map((x) => tensor(Float64Array.from(x), { dtype: 'float64', backend: cpu })), {}).dataSync();
  const { worst, at, mean } = ulps(onGpu, exact);
  const where = at < 0 ? '' : inputs.map((x) => String(x[at])).join(', ');
  console.log(`| ${op} | ${ranges.map(show).join(' x ')} | ${worst.toFixed(2)} | ${where} | ${mean.toFixed(3)} |`);
}
for (const [op, ranges] of Object.entries(UNARY_RANGES) as [UnaryOp, readonly Range[] | null][]) {
  for (const range of ranges ?? []) await row(op, [range]);
}
for (const [op, pairs] of Object.entries(BINARY_RANGES) as [BinaryOp, readonly [Range, Range][]][]) {
  for (const pair of pairs) await row(op, pair);
}
process.exit(0);
