/**
 * The tanh squashing transform onto a box [low, high]^A: a = scale · tanh(x) + bias with
 * scale = (high - low)/2, bias = (high + low)/2. Log-densities are computed from the pre-tanh x with
 * log(1 - tanh² x) = 2 (log 2 - x - softplus(-2x)), never from atanh(a), which loses everything near
 * the bounds in float32.
 */
import * as T from '../tensor';
import { ArgumentError, type Shape, type Tensor } from '../tensor';
import { checkedDraw, checkValue, describe } from './checks';
import { type Distribution, isReparameterized } from './types';

export interface Squashed<Base extends Distribution = Distribution> extends Distribution {
  readonly base: Base;
  readonly low: Tensor;
  readonly high: Tensor;
  /** x ↦ a. */
  forward(x: Tensor): Tensor;
  /** a ↦ x, with a clipped just inside the box so the result is finite. */
  inverse(a: Tensor): Tensor;
  /** log |da/dx| summed over the event axis. */
  logDetJacobian(x: Tensor): Tensor;
  /** log π(forward(x)) from the pre-tanh x: base.logProb(x) - logDetJacobian(x). */
  logProbPre(x: Tensor): Tensor;
  /** A reparameterized draw: the action, its log-density and its pre-tanh value. */
  rsampleWithLogProb(key: Tensor, sampleShape?: Shape): { action: Tensor; logProb: Tensor; pre: Tensor };
  /** forward(base.mode) where the base has a mode: the greedy action. */
  readonly mode: Tensor | undefined;
}

const LOG_TWO = Math.log(2);

/**
 * Squashes `base` (event `[A]`) into the box [low, high] (numbers or per-dimension arrays).
 *
 * @example
 * const policy = squash(-2, 2)(normal(mu, sigma));
 * const { action, logProb } = policy.rsampleWithLogProb(key);
 */
export function squash(low: number | readonly number[], high: number | readonly number[]) {
  return <Base extends Distribution>(base: Base): Squashed<Base> => {
    if (typeof base?.logProb !== 'function' || !Array.isArray(base.eventShape)) {
      throw new ArgumentError(`squash: the base must be a distribution (normal, cauchy, mixture, ...), got ${describe(base)}`);
    }
    const A = base.eventShape[base.eventShape.length - 1];
    if (base.eventShape.length !== 1) throw new ArgumentError('squash: the base must have a vector event shape [A]');
    const like = (v: number | readonly number[], name: string) => {
      if (typeof v !== 'number' && !Array.isArray(v)) throw new ArgumentError(`squash: ${name} must be a number or an array of numbers, got ${describe(v)}`);
      const values = typeof v === 'number' ? Array<number>(A).fill(v) : [...v];
      if (values.length !== A) throw new ArgumentError(`squash: ${name} has ${values.length} entries for actions of size ${A}`);
      return values;
    };
    const lo = like(low, 'low');
    const hi = like(high, 'high');
    lo.forEach((l, i) => {
      if (!(Number.isFinite(l) && Number.isFinite(hi[i]) && l < hi[i])) {
        throw new ArgumentError(`squash: need finite low < high, got [${l}, ${hi[i]}] at dimension ${i}`);
      }
    });
    const param = anyTensor(base);
    const dtype = param?.dtype === 'float64' ? 'float64' : 'float32';
    const options = { dtype, backend: param?.backend } as const;
    const lowT = T.tensor(lo, options);
    const highT = T.tensor(hi, options);
    const scale = T.tensor(lo.map((l, i) => (hi[i] - l) / 2), options);
    const bias = T.tensor(lo.map((l, i) => (hi[i] + l) / 2), options);
    const logScale = lo.reduce((acc, l, i) => acc + Math.log((hi[i] - l) / 2), 0);
    const clipEps = dtype === 'float64' ? 1e-12 : 1e-6;

    const forward = (x: Tensor) => T.add(T.mul(scale, T.tanh(x)), bias);
    const inverse = (a: Tensor) => T.atanh(T.clip(T.div(T.sub(a, bias), scale), -1 + clipEps, 1 - clipEps));
    const logDetJacobian = (x: Tensor) => {
      const logOneMinusTanh2 = T.mul(T.sub(T.sub(LOG_TWO, x), T.softplus(T.mul(x, -2))), 2);
      return T.add(T.sum(logOneMinusTanh2, -1), logScale);
    };
    const logProbPre = (x: Tensor) => T.sub(base.logProb(x), logDetJacobian(x));
    const rsampleWithLogProb = (key: Tensor, sampleShape: Shape = []) => {
      if (!isReparameterized(base)) throw new ArgumentError('squash: the base distribution has no rsample');
      const pre = base.rsample(key, sampleShape);
      return { action: forward(pre), logProb: logProbPre(pre), pre };
    };
    const baseMode = (base as unknown as { mode?: Tensor }).mode;
    return {
      base,
      low: lowT,
      high: highT,
      batchShape: base.batchShape,
      eventShape: base.eventShape,
      forward,
      inverse,
      logDetJacobian,
      logProbPre: (x) => {
        checkValue('squashed.logProbPre', 'x', x, base.batchShape, base.eventShape);
        return logProbPre(x);
      },
      rsampleWithLogProb: checkedDraw('squashed.rsampleWithLogProb', rsampleWithLogProb),
      sample: checkedDraw('squashed.sample', (key, sampleShape) => forward(base.sample(key, sampleShape))),
      logProb: (a) => {
        checkValue('squashed.logProb', 'a', a, base.batchShape, base.eventShape);
        return logProbPre(inverse(a));
      },
      sampleAndLogProb: checkedDraw('squashed.sampleAndLogProb', (key, sampleShape) => {
        const x = base.sample(key, sampleShape);
        return [forward(x), logProbPre(x)];
      }),
      mode: baseMode instanceof T.Tensor ? forward(baseMode) : undefined,
    };
  };
}

/** The first tensor parameter of a distribution value (for its dtype and backend). */
function anyTensor(d: object): Tensor | undefined {
  for (const v of Object.values(d)) {
    if (v instanceof T.Tensor) return v;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const t = anyTensor(v);
      if (t) return t;
    }
  }
  return undefined;
}
