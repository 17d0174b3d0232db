/**
 * bench/replay: drawing minibatches from replay buffers, one buffer and many (`sample`,
 * `ReplayBuffer.sampleStacked`, what `train` and `trainBatch` do each update), against NumPy's
 * fancy indexing of the same-sized buffers in the same run (SB3's `ReplayBuffer.sample` indexes
 * one array per field so), one thread; medians. Sizes: the classic-control and SAC-v2 transition
 * widths, batches of 32 and 256, buffers of 10^5 transitions holding `--filled` of them.
 *
 *   npx esbuild bench/replay.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.tmp/replay.mjs
 *   node .tmp/replay.mjs [--buffers 1,100] [--filled 20000] [--python /usr/bin/python3]
 */
import { ReplayBuffer } from '../src/rl/replay';
import { cpu } from '../src/tensor';
import { rawFoldIn, rawKey } from '../src/tensor/threefry';
import { arg } from './sac-setup';
import { runPython, timeIt } from './timing';

const CAPACITY = 100_000;
const filled = Number(arg('filled', '20000'));
const counts = arg('buffers', '1,100').split(',').map(Number);
const SIZES = [
  { name: 'classic (obs 3, act 1)', obs: 3, act: 1, batch: 32 },
  { name: 'SAC-v2 (obs 17, act 6)', obs: 17, act: 6, batch: 256 },
];

const NUMPY = `
import json, sys, time
import numpy as np
cases = json.loads(sys.argv[1])
out = []
rng = np.random.default_rng(0)
for capacity, filled, n, obs, act, batch in cases:
    bufs = [dict(obs=np.ones((capacity, obs), np.float32), act=np.ones((capacity, act), np.float32), rew=np.ones(capacity, np.float32),
                 nxt=np.ones((capacity, obs), np.float32), done=np.zeros(capacity, np.float32)) for _ in range(n)]
    def draw():
        return [{k: v[rng.integers(0, filled, batch)] for k, v in b.items()} for b in bufs]
    for _ in range(3): draw()
    samples = []
    start = time.perf_counter()
    while len(samples) < 7 or time.perf_counter() - start < 0.5:
        t = time.perf_counter(); draw(); samples.append(time.perf_counter() - t)
    out.append(sorted(samples)[len(samples) // 2])
print(json.dumps(out))
`;

const cases = SIZES.flatMap((size) => counts.map((n) => ({ size, n })));
console.log(`node ${process.version}; buffers of ${CAPACITY} transitions holding ${filled}, float32; ms per draw (median), one thread; ratio = NumPy / mixrl`);
const numpy = runPython<number[]>(NUMPY, JSON.stringify(cases.map(({ size, n }) => [CAPACITY, filled, n, size.obs, size.act, size.batch])));
console.log('');
console.log('| transitions | buffers x batch | mixrl ms | NumPy ms | NumPy / mixrl |');
console.log('|---|---|---|---|---|');
cases.forEach(({ size, n }, index) => {
  const buffers = Array.from({ length: n }, (_, b) => {
    const buffer = new ReplayBuffer({ capacity: CAPACITY, obsDim: size.obs, actionDim: size.act });
    const row = (i: number, width: number) => Float64Array.from({ length: width }, (_, k) => (b + i + k) % 7);
    for (let i = 0; i < filled; i++) buffer.add({ obs: row(i, size.obs), action: row(i, size.act), reward: [i % 5], nextObs: row(i + 1, size.obs), terminated: [i % 50 === 0] });
    return buffer;
  });
  let step = 0;
  const draw = () => {
    const keys = buffers.map((_, b) => rawFoldIn(rawKey(b), step++));
    const batch = n === 1 ? buffers[0].sample(keys[0], size.batch, { backend: cpu }) : ReplayBuffer.sampleStacked(buffers, keys, size.batch, { backend: cpu });
    for (const t of Object.values(batch)) t.dispose();
  };
  const ours = timeIt(draw) * 1000;
  const theirs = numpy ? numpy[index] * 1000 : NaN;
  const show = (ms: number) => (Number.isNaN(ms) ? '—' : ms.toFixed(3));
  console.log(`| ${size.name} | ${n} x ${size.batch} | ${show(ours)} | ${show(theirs)} | ${Number.isNaN(theirs) ? '—' : (theirs / ours).toFixed(2)} |`);
});
