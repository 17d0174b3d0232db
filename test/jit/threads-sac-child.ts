/**
 * Child of `threads-sac.test.ts`: three jitted SAC-v2-size updates (obs 17, act 6, H 256, B 256:
 * products large enough to be shared across threads) of each agent, on however many threads
 * `MIXRL_THREADS` gives; prints the SHA-256 of every resulting state and metric, bit for bit.
 */
import { createHash } from 'node:crypto';
import * as M from '../../src';
import { treeLeaves } from '../../src/autodiff';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { smallSac } from '../sac-fixtures';

const [obsDim, actionDim] = [17, 6];
const replay = new ReplayBuffer({ capacity: 512, obsDim, actionDim });
const noise = (i: number, n: number) => Array.from({ length: n }, (_, j) => Math.sin(i * 12.9898 + j * 78.233));
for (let i = 0; i < 512; i++) replay.add({ obs: noise(i, obsDim), action: noise(i + 7, actionDim), reward: [Math.cos(i)], nextObs: noise(i + 1, obsDim), terminated: [0] });
const digests: Record<string, string> = {};
for (const [name, kind, estimator] of [['sg-rp', 'single', 'rp'], ['sgm-mrp', 'mixture', 'mrp']] as const) {
  const h = smallSac({ obsDim, head: { actionDim, kind, components: 5, low: -1, high: 1 }, estimator, hidden: [256, 256] });
  const update = makeSacUpdate(h);
  let state = initSac(h, M.tensor(rawKey(3)));
  const hash = createHash('sha256');
  for (let step = 0; step < 3; step++) {
    const [next, metrics] = update(state, replay.sample(rawFoldIn(rawKey(1), step), 256), M.tensor(rawFoldIn(rawKey(3), step)));
    for (const leaf of treeLeaves([next, metrics])) hash.update(new Uint8Array(leaf.dataSync().slice().buffer));
    state = next;
  }
  digests[name] = hash.digest('hex');
}
console.log(JSON.stringify(digests));
process.exit(0);
