import { it } from 'vitest';
import {
  cpu,
  grad,
  hessian,
  initMlp,
  jacfwd,
  jacrev,
  jit,
  logSoftmax,
  matmul,
  type MlpParams,
  mlp,
  random,
  sum,
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
  it('jacrev, jacfwd and hessian equal their closed forms in float32', async () => {
    const A = [1, 2, -1, 0.5, -3, 2];
    const x0 = [0.3, -0.7, 1.1];
    const f = (x: Tensor) => matmul(tensor(A, { shape: [2, 3], backend: webgpu() }), x.tanh());
    // A diag(1 - tanh² x), and the Hessian of Σ x³: diag(6x).
    const jacobian = A.map((a, i) => a * (1 - Math.tanh(x0[i % 3]) ** 2));
    const x = tensor(x0, { backend: webgpu() });
    for (const J of [jacrev(f)(x) as Tensor, jacfwd(f)(x) as Tensor, jit(jacrev(f))(x) as Tensor]) {
      expectClose(await J.data(), Float64Array.from(jacobian), 1e-6, 1e-6, 'Jacobian');
    }
    const H = (await (hessian((y: Tensor) => sum(y.pow(3)))(x) as Tensor).data()) as Float32Array;
    expectClose(H, Float64Array.from([0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => (i === j ? 6 * x0[i] : 0)))), 1e-5, 1e-6, 'Hessian');
  });


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
