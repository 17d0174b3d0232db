/**
 * Multi-layer perceptrons as pytrees: params are `{ layers: [{ w, b }, ...] }` with `w: [in, out]` and
 * `b: [out]`, so `x @ w + b` maps a batch `[B, in]` (or one input `[in]`) to `[B, out]` (or `[out]`).
 */
import {
  type Backend,
  ArgumentError,
  cpu,
  matmul,
  random,
  relu,
  type Tensor,
  tanh,
  tensor,
  zeros,
} from '../tensor';

/** One affine layer: `y = x @ w + b`. */
export interface Dense {
  readonly w: Tensor;
  readonly b: Tensor;
}

/** The params of an MLP, a pytree. */
export interface MlpParams {
  readonly layers: readonly Dense[];
}

/**
 * How weights and biases start:
 * - `torch`: PyTorch's `nn.Linear` default, w and b ~ U(-1/√fan_in, 1/√fan_in)
 *   (kaiming_uniform with a = √5 gives exactly this bound).
 * - `xavier-uniform`: w ~ U(-g√(6/(fan_in + fan_out)), +...), gain g = 1; b = 0.
 * - `orthogonal`: w with orthonormal columns (fan_in >= fan_out) or rows, the Q of the QR decomposition
 *   (R with a positive diagonal) of a standard normal matrix, as `torch.nn.init.orthogonal_`; b = 0.
 *   Drawn in float64 on the CPU, so the key must be readable there.
 */
export type MlpInit = 'torch' | 'xavier-uniform' | 'orthogonal';

export interface InitMlpOptions {
  init?: MlpInit;
  dtype?: 'float32' | 'float64';
  /** Where the params live; default the key's backend. A key on another backend must be readable synchronously (CPU). */
  backend?: Backend;
}

export type Activation = 'relu' | 'tanh' | 'identity';

export interface MlpOptions {
  /** After every hidden layer (default `relu`). */
  activation?: Activation;
  /** After the last layer (default `identity`). */
  outputActivation?: Activation;
}

const ACTIVATIONS: Record<Activation, (x: Tensor) => Tensor> = {
  relu,
  tanh,
  identity: (x) => x,
};

function activation(name: Activation): (x: Tensor) => Tensor {
  if (!Object.hasOwn(ACTIVATIONS, name)) throw new ArgumentError(`mlp: unknown activation '${name}'; known: ${Object.keys(ACTIVATIONS).join(', ')}`);
  return ACTIVATIONS[name];
}

type LayerInit = (wKey: Tensor, bKey: Tensor, fanIn: number, fanOut: number, where: { dtype: 'float32' | 'float64'; backend: Backend }) => Dense;

const uniform = (key: Tensor, shape: number[], bound: number, dtype: 'float32' | 'float64') =>
  random.uniform(key, shape, { dtype, minval: -bound, maxval: bound });

const INITS: Record<MlpInit, LayerInit> = {
  torch: (wKey, bKey, fanIn, fanOut, { dtype }) => {
    const bound = 1 / Math.sqrt(fanIn);
    return { w: uniform(wKey, [fanIn, fanOut], bound, dtype), b: uniform(bKey, [fanOut], bound, dtype) };
  },
  'xavier-uniform': (wKey, _bKey, fanIn, fanOut, where) => ({
    w: uniform(wKey, [fanIn, fanOut], Math.sqrt(6 / (fanIn + fanOut)), where.dtype),
    b: zeros([fanOut], where),
  }),
  orthogonal: (wKey, _bKey, fanIn, fanOut, where) => ({
    w: tensor(orthogonal(wKey, fanIn, fanOut), { shape: [fanIn, fanOut], ...where }),
    b: zeros([fanOut], where),
  }),
};

/**
 * A row-major `[rows, cols]` matrix with orthonormal columns (rows >= cols) or rows: Q from the QR
 * decomposition of a standard normal `[max, min]` matrix by Gram-Schmidt, orthogonalizing twice
 * ("twice is enough") so Q is orthonormal to float64 rounding; transposed when rows < cols.
 */
function orthogonal(key: Tensor, rows: number, cols: number): Float64Array {
  const [n, m] = [Math.max(rows, cols), Math.min(rows, cols)];
  const a = random.normal(tensor(key.dataSync(), { backend: cpu }), [n, m], 'float64').dataSync();
  const q = Array.from({ length: m }, (_, j) => Float64Array.from({ length: n }, (_, i) => a[i * m + j]));
  for (let j = 0; j < m; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[k][i] * q[j][i];
        for (let i = 0; i < n; i++) q[j][i] -= dot * q[k][i];
      }
    }
    const norm = Math.sqrt(q[j].reduce((sum, v) => sum + v * v, 0));
    for (let i = 0; i < n; i++) q[j][i] /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) out[rows >= cols ? i * cols + j : j * cols + i] = q[j][i];
  }
  return out;
}

/**
 * Fresh MLP params for layer sizes `[in, hidden..., out]`; layer i draws from the i-th key of
 * `random.split(key, layers)`, split again: weights from the first key, biases from the second.
 *
 * @example
 * const params = initMlp(random.key(0), [3, 64, 64, 1]); // 2x64 ReLU critic for Pendulum
 */
export function initMlp(key: Tensor, sizes: readonly number[], options: InitMlpOptions = {}): MlpParams {
  const { init = 'torch', dtype = 'float32' } = options;
  if (sizes.length < 2 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new ArgumentError(`initMlp: sizes must be at least two positive integers, got [${sizes.join(', ')}]`);
  }
  if (!Object.hasOwn(INITS, init)) throw new ArgumentError(`initMlp: unknown init '${init}'; known: ${Object.keys(INITS).join(', ')}`);
  const backend = options.backend ?? key.backend;
  const k = key.backend === backend ? key : tensor(key.dataSync(), { backend });
  const keys = random.split(k, sizes.length - 1);
  const layers = keys.map((layerKey, i) => {
    const [wKey, bKey] = random.split(layerKey);
    return INITS[init](wKey, bKey, sizes[i], sizes[i + 1], { dtype, backend });
  });
  return { layers };
}

/**
 * The MLP's output: `activation` after each hidden layer, `outputActivation` after the last.
 * Differentiable in `params` and `x` (a pure function of both).
 *
 * @example
 * const q = mlp(params, obs); // obs [B, 3] -> q [B, 1]
 * const a = mlp(actor, obs, { activation: 'tanh', outputActivation: 'tanh' });
 */
export function mlp(params: MlpParams, x: Tensor, options: MlpOptions = {}): Tensor {
  const hidden = activation(options.activation ?? 'relu');
  const output = activation(options.outputActivation ?? 'identity');
  const last = params.layers.length - 1;
  return params.layers.reduce((h, { w, b }, i) => (i === last ? output : hidden)(matmul(h, w).add(b)), x);
}
