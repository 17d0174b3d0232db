/** Tracers of the differentiation interpreters, which carry a primal value alongside. */
import { type ArrayTensor, type Backend, type DType, type Shape, type Tensor, Tracer } from '../tensor';

/**
 * A tracer that stands for a known primal value: shape, dtype and backend are the primal's, and the
 * value can be read (under `grad` and `jvp`, as in JAX, so Python-style control flow on values works).
 */
export abstract class PrimalTracer extends Tracer {
  abstract readonly primal: Tensor;
  get shape(): Shape {
    return this.primal.shape;
  }
  get dtype(): DType {
    return this.primal.dtype;
  }
  get backend(): Backend {
    return this.primal.backend;
  }
  override get weak(): boolean {
    return this.primal.weak;
  }
  override [Symbol.toPrimitive](hint: 'string' | 'number' | 'default'): string {
    // A weak primal (a number `jit` traced) refuses arithmetic under grad as it does outside.
    return this.primal.weak ? this.primal[Symbol.toPrimitive](hint) : this.toString();
  }
  override concrete(): ArrayTensor {
    return this.primal.concrete();
  }
}
