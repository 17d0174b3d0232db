import { checkRawKey, type RawKey, UniformStream } from '../tensor/threefry';
import { EnvError, formatVector } from './errors';

/**
 * A box `[low, high]` of float64 vectors, Gymnasium's `Box`, stored flat in row-major order.
 * Bounds must be finite with `low <= high` (every space in this layer is bounded).
 *
 * @example
 * const box = new Box([-2], [2]);
 * box.contains(Float64Array.of(1.5)); // true
 * box.sample(rawKey(0)); // Float64Array [u] with -2 <= u < 2 (u = 2 only when low = high)
 */
export class Box {
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly shape: readonly number[];
  /** Number of entries, the product of `shape`. */
  readonly size: number;

  constructor(low: ArrayLike<number>, high: ArrayLike<number>, shape: readonly number[] = [low.length]) {
    const size = shape.reduce((p, d) => p * d, 1);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new EnvError('invalid-config', `Box: shape ${formatVector(shape)} must hold non-negative integers`);
    }
    if (low.length !== size || high.length !== size) {
      throw new EnvError(
        'invalid-config',
        `Box: low (${low.length}) and high (${high.length}) must both have ${size} entries for shape ${formatVector(shape)}`,
      );
    }
    for (let i = 0; i < size; i++) {
      if (!Number.isFinite(low[i]) || !Number.isFinite(high[i]) || low[i] > high[i]) {
        throw new EnvError(
          'invalid-config',
          `Box: bounds must be finite with low <= high, got low ${formatVector(low)}, high ${formatVector(high)}`,
        );
      }
    }
    this.low = Float64Array.from(low);
    this.high = Float64Array.from(high);
    this.shape = [...shape];
    this.size = size;
  }

  /**
   * A point drawn uniformly from the box, a pure function of `key`: entry i is
   * `low[i] + (high[i] - low[i]) * u_i` with `u_i` the i-th draw of `UniformStream(key)`.
   *
   * @example
   * const a = env.actionSpace.sample(rawFoldIn(rawKey(1), step));
   */
  sample(key: RawKey): Float64Array {
    checkRawKey('Box.sample', key);
    const stream = new UniformStream(key);
    const out = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = stream.uniform(this.low[i], this.high[i]);
    return out;
  }

  /**
   * Whether `x` has the box's size and every entry is a number within `[low, high]` (NaN is never
   * contained).
   *
   * @example
   * new Box([0, 0], [1, 1]).contains([0.5, 1]); // true
   */
  contains(x: ArrayLike<number>): boolean {
    if (x.length !== this.size) return false;
    for (let i = 0; i < this.size; i++) {
      const v = x[i];
      if (!(v >= this.low[i] && v <= this.high[i])) return false;
    }
    return true;
  }
}
