import { it } from 'vitest';
import {
  cpu,
  grad,
  initMlp,
  logSoftmax,
  type MlpParams,
  mlp,
  random,
  takeAlongAxis,
  type Tensor,
  tensor,
  treeLeaves,
  treeMap,
} from '../../src';
import { describeWebGPU, expectClose, floats, webgpu } from './gpu';

/** A regression loss and a categorical cross-entropy on one MLP: matmul, tanh, logsumexp, gather. */
function loss(params: MlpParams, x: Tensor, y: Tensor, labels: Tensor): Tensor {
  const out = mlp(params, x, { activation: 'tanh' });
  const regression = out.sub(y).square().mean();
  const picked = takeAlongAxis(logSoftmax(out, -1), labels, -1);
  return regression.sub(picked.mean());
}

describeWebGPU('autodiff on WebGPU', () => {
  it('the gradient of an MLP loss equals the CPU float64 gradient', async () => {
    const base = initMlp(random.key(3, cpu), [5, 33, 17, 4]);
    const onGpu = treeMap((t: Tensor) => tensor(t.dataSync(), { shape: t.shape, backend: webgpu() }), base) as MlpParams;
    const onCpu = treeMap((t: Tensor) => tensor(t.dataSync(), { shape: t.shape, dtype: 'float64', backend: cpu }), base) as MlpParams;
    const x = floats(1, 8 * 5, -1, 1);
    const y = floats(2, 8 * 4, -1, 1);
    const labels = Int32Array.from({ length: 8 }, (_, i) => (i * 3) % 4);
    const gradGpu = grad(loss)(
      onGpu,
      tensor(x, { shape: [8, 5], backend: webgpu() }),
      tensor(y, { shape: [8, 4], backend: webgpu() }),
      tensor(labels, { shape: [8, 1], backend: webgpu() }),
    );
    const gradCpu = grad(loss)(
      onCpu,
      tensor(x, { shape: [8, 5], dtype: 'float64', backend: cpu }),
      tensor(y, { shape: [8, 4], dtype: 'float64', backend: cpu }),
      tensor(labels, { shape: [8, 1], backend: cpu }),
    );
    const [g, c] = [treeLeaves(gradGpu), treeLeaves(gradCpu)];
    for (let i = 0; i < c.length; i++) {
      expectClose(await g[i].data(), c[i].dataSync(), 1e-6, 1e-4, `gradient leaf ${i}`);
    }
  });
});
