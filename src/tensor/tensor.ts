import type { Backend, Handle } from './backend';
import { type DType, SHORT_NAME, type TypedArray } from './dtype';
import { BackendError, MixrlError } from './errors';
import type { Aval, Params, Primitive } from './primitives';
import { noteStorage } from './lent';
import { formatShape, type Shape, sizeOf } from './shape';
import type { TensorMethods } from './methods';

/** Nested JS arrays of numbers (or booleans), as `toArray` returns and `tensor` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * An immutable n-dimensional array. Either concrete (`ArrayTensor`, data on a backend) or a `Tracer`
 * standing for a value inside a transformation (`grad`, `jvp`, `makeIR`, `jit`). Ops never mutate a
 * tensor; they return new ones. The op methods (`x.add(y)`, `x.sum()`, ...) are attached in
 * `methods.ts`.
 */
// The op methods' types: merged into the class here, their implementations attached in methods.ts.
export interface Tensor extends TensorMethods {}

export abstract class Tensor {
  abstract readonly shape: Shape;
  abstract readonly dtype: DType;
  /** The backend this tensor's values live on (for a tracer: where they will). */
  abstract readonly backend: Backend;

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get aval(): Aval {
    return { shape: this.shape, dtype: this.dtype };
  }

  /**
   * Whether this is a weak-typed value: a plain number or boolean argument of a `jit` call (the scalar
   * the call makes of it, and the input that stands for it in the trace). The ops layer gives it the
   * part the number has in eager mode: next to another tensor it takes that tensor's dtype
   * (`weakDtypeOf`), so `x.mul(k)` has x's dtype whether k is a number or a traced one.
   */
  get weak(): boolean {
    return false;
  }

  /**
   * What JS makes of a tensor in arithmetic, comparisons and strings: its text (so `+t` is NaN, as
   * for any object). A weak tracer (a number `jit` traced) refuses arithmetic and comparisons instead,
   * since the number they would need exists only when the plan runs (`IRTracer`).
   */
  [Symbol.toPrimitive](hint: 'string' | 'number' | 'default'): string {
    return this.toString();
  }

  /** The concrete tensor behind this value; throws where none exists (inside `makeIR` or `jit`). */
  abstract concrete(): ArrayTensor;

  /** Reads the values (flat, row-major). Async because GPU readback is. */
  data(): Promise<TypedArray> {
    return this.concrete().data();
  }

  /** Reads the values synchronously; only the CPU backend can. */
  dataSync(): TypedArray {
    return this.concrete().dataSync();
  }

  /** The values as nested arrays (a number for a scalar). */
  async toArray(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape, this.dtype);
  }

  /** `toArray` for CPU tensors, synchronously. */
  toArraySync(): NestedArray {
    return toNested(this.dataSync(), this.shape, this.dtype);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    return itemOf(await this.data(), this);
  }

  /** `item` for CPU tensors, synchronously. */
  itemSync(): number {
    return itemOf(this.dataSync(), this);
  }

  /** Releases backend memory now rather than at garbage collection; later reads throw. */
  dispose(): void {}

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function itemOf(values: TypedArray, t: Tensor): number {
  if (values.length !== 1) {
    throw new MixrlError('argument', `item: tensor ${SHORT_NAME[t.dtype]}${formatShape(t.shape)} has ${values.length} elements, not 1`);
  }
  return values[0];
}

/** A tensor with concrete values on a backend. */
export class ArrayTensor extends Tensor {
  private disposed = false;
  /** The jitted function the storage was donated to (`jit(name)`), if it was (not `dispose()`). */
  private donee: string | null = null;
  private isWeak = false;

  constructor(
    readonly backend: Backend,
    private storage: Handle,
    readonly shape: Shape,
    readonly dtype: DType,
  ) {
    super();
    noteStorage(this, storage);
  }

  /** The backend storage; throws if the tensor was disposed. */
  get handle(): Handle {
    if (this.disposed) {
      const after = this.donee === null ? 'dispose()' : `it was donated to ${this.donee}`;
      throw new BackendError(`tensor ${SHORT_NAME[this.dtype]}${formatShape(this.shape)} was used after ${after}`);
    }
    return this.storage;
  }

  /**
   * Disposes the tensor as donated to `by` (a jitted function's `donateArgnums`), so that a later
   * use says so; `release` false keeps its storage, which an output of the call holds.
   */
  donate(by: string, release = true): void {
    if (this.disposed) return;
    this.donee = by;
    if (release) this.dispose();
    else this.disposed = true;
  }

  /**
   * Moves the tensor to other storage holding the same values: a jit plan that reuses memory a
   * tensor it handed out still views gives the tensor a copy first. The tensor's value is unchanged.
   */
  relocate(storage: Handle): void {
    this.storage = storage;
  }

  override get weak(): boolean {
    return this.isWeak;
  }

  /**
   * This tensor, marked weak-typed (`Tensor.weak`): how `jit` passes a number argument. Ops then
   * treat it as the number it holds (next to a float32 tensor a weak float64 scalar is float32).
   *
   * @example
   * const k = tensor(0.5, { dtype: 'float64' }).markedWeak();
   * add(tensor([1, 2]), k).dtype; // 'float32', as add(tensor([1, 2]), 0.5)
   */
  markedWeak(): this {
    this.isWeak = true;
    return this;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  override concrete(): ArrayTensor {
    return this;
  }

  override data(): Promise<TypedArray> {
    return this.backend.read(this.handle, this.aval);
  }

  override dataSync(): TypedArray {
    if (!this.backend.readSync) {
      throw new BackendError(`dataSync: the ${this.backend.name} backend reads asynchronously; use await t.data()`);
    }
    return this.backend.readSync(this.handle, this.aval);
  }

  override dispose(): void {
    if (this.disposed) return;
    this.backend.release(this.storage);
    this.disposed = true;
  }

  override toString(): string {
    const head = `Tensor ${SHORT_NAME[this.dtype]}${formatShape(this.shape)} (${this.backend.name})`;
    if (this.disposed) return `${head} <disposed>`;
    if (!this.backend.readSync) return `${head} <await t.data() to read>`;
    return `${head}\n${formatValues(this.dataSync(), this.shape, this.dtype)}`;
  }
}

/**
 * An interpreter of primitives: eager evaluation sits at the bottom; autodiff and staging push
 * interpreters with increasing levels. `bind` hands each primitive to the highest-level
 * interpreter among its inputs' tracers.
 */
export interface Interpreter {
  readonly level: number;
  /** Shown in errors, e.g. `grad` or `makeIR`. */
  readonly name: string;
  process<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor;
}

/** A value inside a transformation; each interpreter defines its own tracer subclass. */
export abstract class Tracer extends Tensor {
  abstract readonly interpreter: Interpreter;

  override toString(): string {
    return `Tracer ${SHORT_NAME[this.dtype]}${formatShape(this.shape)} (${this.interpreter.name}, level ${this.interpreter.level})`;
  }
}

/** Flat values to nested arrays. */
function toNested(values: TypedArray, shape: Shape, dtype: DType): NestedArray {
  const convert = dtype === 'bool' ? (v: number) => v !== 0 : (v: number) => v;
  const build = (axis: number, offset: number): NestedArray => {
    if (axis === shape.length) return convert(values[offset]);
    const stride = sizeOf(shape.slice(axis + 1));
    return Array.from({ length: shape[axis] }, (_, i) => build(axis + 1, offset + i * stride));
  };
  return build(0, 0);
}

function formatNumber(v: number, dtype: DType): string {
  if (dtype === 'bool') return v ? 'true' : 'false';
  if (dtype !== 'float32' && dtype !== 'float64') return String(v);
  if (Object.is(v, -0)) return '-0.';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return `${v}.`;
  const digits = dtype === 'float32' ? 6 : 10;
  const rounded = Number(v.toPrecision(digits));
  // JS prints integers below 1e21 in full; past 1e16 those digits are not held, so use an exponent.
  return Math.abs(rounded) >= 1e16 ? rounded.toExponential() : rounded.toString();
}

/** NumPy-like text for values, eliding the middle of long axes. */
function formatValues(values: TypedArray, shape: Shape, dtype: DType): string {
  const edge = 3;
  const render = (axis: number, offset: number, indent: string): string => {
    if (axis === shape.length) return formatNumber(values[offset], dtype);
    const n = shape[axis];
    const stride = sizeOf(shape.slice(axis + 1));
    const picks = n > 2 * edge + 1 ? [...Array(edge).keys(), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)] : [...Array(n).keys()];
    const parts = picks.map((i) => (i < 0 ? '...' : render(axis + 1, offset + i * stride, `${indent} `)));
    const sep = axis === shape.length - 1 ? ', ' : `,\n${indent} `;
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, '');
}
