/**
 * Multi-layer perceptrons as pytrees: params are `{ layers: [{ w, b }, ...] }` with `w: [in, out]` and
 * `b: [out]`, so `x @ w + b` maps a batch `[B, in]` (or one input `[in]`) to `[B, out]` (or `[out]`).
 */
import {
  type Backend,
  ArgumentError,
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
 */
export type MlpInit = 'torch' | 'xavier-uniform';

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

/**
 * Fresh MLP params for layer sizes `[in, hidden..., out]`; layer i draws from the i-th key of
 * `random.split(key, layers)` (weights from its first half-split, biases from its second).
 *
 * @example
 * const params = initMlp(random.key(0), [3, 64, 64, 1]); // 2x64 ReLU critic for Pendulum
 */
export function initMlp(key: Tensor, sizes: readonly number[], options: InitMlpOptions = {}): MlpParams {
  const { init = 'torch', dtype = 'float32' } = options;
  if (sizes.length < 2 || !sizes.every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw new ArgumentError(`initMlp: sizes must be at least two positive integers, got [${sizes.join(', ')}]`);
  }
  const backend = options.backend ?? key.backend;
  const k = key.backend === backend ? key : tensor(key.dataSync(), { backend });
  const keys = random.split(k, sizes.length - 1);
  const layers = keys.map((layerKey, i) => {
    const [fanIn, fanOut] = [sizes[i], sizes[i + 1]];
    const [wKey, bKey] = random.split(layerKey);
    const uniform = (k: Tensor, shape: number[], bound: number) =>
      random.uniform(k, shape, { dtype, minval: -bound, maxval: bound });
    if (init === 'torch') {
      const bound = 1 / Math.sqrt(fanIn);
      return { w: uniform(wKey, [fanIn, fanOut], bound), b: uniform(bKey, [fanOut], bound) };
    }
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    return { w: uniform(wKey, [fanIn, fanOut], bound), b: zeros([fanOut], { dtype, backend }) };
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
  const hidden = ACTIVATIONS[options.activation ?? 'relu'];
  const output = ACTIVATIONS[options.outputActivation ?? 'identity'];
  const last = params.layers.length - 1;
  return params.layers.reduce((h, { w, b }, i) => (i === last ? output : hidden)(matmul(h, w).add(b)), x);
}
