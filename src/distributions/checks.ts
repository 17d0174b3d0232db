/**
 * Argument checks shared by the distributions and the estimators. They look only at what is known
 * while tracing (JS types, shapes, dtypes), never at tensor values, so they hold under grad, vmap
 * and jit. Each message starts with the function the caller used.
 */
import * as T from '../tensor';
import { ArgumentError, DTypeError, formatShape, ShapeError, type Shape, type Tensor } from '../tensor';

/**
 * A value as messages name it: `a tensor f32[2,3]`, `number`, `undefined`, `object`.
 *
 * @example
 * describe(zeros([2, 3])); // 'a tensor f32[2,3]'
 */
export function describe(value: unknown): string {
  if (value instanceof T.Tensor) return `a tensor ${T.formatAval(value.aval)}`;
  return value === null ? 'null' : typeof value;
}

/**
 * Throws unless argument `name` of `where` is a tensor.
 *
 * @example
 * requireTensor('normal', 'loc', 0); // ArgumentError: normal: loc must be a tensor, got number
 */
export function requireTensor(where: string, name: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof T.Tensor)) throw new ArgumentError(`${where}: ${name} must be a tensor, got ${describe(value)}`);
}

/**
 * Throws unless `logits` is a tensor `[...batch, K]` with K >= 1.
 *
 * @example
 * checkLogits('categorical', zeros([4, 0])); // ShapeError: categorical: logits [4,0] must have shape [...batch, K] with K >= 1 classes
 */
export function checkLogits(where: string, logits: unknown): asserts logits is Tensor {
  requireTensor(where, 'logits', logits);
  if (logits.ndim < 1 || logits.shape[logits.ndim - 1] < 1) {
    throw new ShapeError(`${where}: logits ${formatShape(logits.shape)} must have shape [...batch, K] with K >= 1 classes`);
  }
}

/**
 * Throws unless `key` is a PRNG key u32[2].
 *
 * @example
 * checkKey('mrp', undefined); // ArgumentError: mrp: a random key is required (random.key(seed)), got undefined
 */
export function checkKey(where: string, key: unknown): void {
  if (!(key instanceof T.Tensor)) throw new ArgumentError(`${where}: a random key is required (random.key(seed)), got ${describe(key)}`);
  if (key.dtype !== 'uint32' || key.ndim !== 1 || key.shape[0] !== 2) {
    throw new DTypeError(`${where}: the key must be a PRNG key u32[2] (random.key(seed)), got ${describe(key)}`);
  }
}

/**
 * `draw` with its key and sample shape checked first, errors naming `where`.
 *
 * @example
 * return { rsample: checkedDraw('normal.rsample', rsample) }; // normal.rsample() without a key: a clear error
 */
export function checkedDraw<R>(where: string, draw: (key: Tensor, sampleShape: Shape) => R): (key: Tensor, sampleShape?: Shape) => R {
  return (key, sampleShape = []) => {
    checkKey(where, key);
    if (!Array.isArray(sampleShape)) throw new ArgumentError(`${where}: sampleShape must be an array of sizes, got ${describe(sampleShape)}`);
    return draw(key, sampleShape);
  };
}

/**
 * Throws unless argument `name` of `where` is a tensor `[...sample, ...batch, ...event]`: its last
 * axes equal `eventShape` and the axes before them broadcast against `batchShape`.
 *
 * @example
 * checkValue('normal.logProb', 'x', x, [4], [2]); // x [5,4,2] or [1,2] pass, [4,3] throws a ShapeError
 */
export function checkValue(where: string, name: string, x: unknown, batchShape: Shape, eventShape: Shape): asserts x is Tensor {
  requireTensor(where, name, x);
  const lead = x.ndim - eventShape.length;
  const fits =
    lead >= 0 &&
    eventShape.every((d, i) => x.shape[lead + i] === d) &&
    x.shape.slice(0, lead).every((d, i) => {
      const b = batchShape[batchShape.length - lead + i];
      return b === undefined || d === b || d === 1 || b === 1;
    });
  if (!fits) {
    throw new ShapeError(
      `${where}: ${name} ${formatShape(x.shape)} does not fit batch ${formatShape(batchShape)} and event ${formatShape(eventShape)} (expected [...sample, ...batch, ...event], batch axes broadcasting)`,
    );
  }
}
