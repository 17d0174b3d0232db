/** `grad` and `valueAndGrad`: reverse mode for scalar-valued functions, as in JAX. */
import * as T from '../tensor';
import { formatShape, isFloat, type Tensor } from '../tensor';
import { checkTransform, TransformError, vjpInternal } from './vjp';

export interface GradOptions {
  /** Which positional arguments to differentiate: one index (default 0) or several. */
  argnums?: number | readonly number[];
  /** The function returns `[output, aux]`; aux is returned alongside, undifferentiated. */
  hasAux?: boolean;
}

function normalizeArgnums(what: string, argnums: number | readonly number[], nargs: number): number[] {
  const list = typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a)) throw new TransformError(`${what}: argnums must be integers, got ${String(a)}`);
    if (a < 0 || a >= nargs) {
      throw new TransformError(`${what}: argnums ${a} is out of range for a call with ${nargs} argument(s)`);
    }
  }
  return list;
}

function scalarOutput(what: string, out: unknown): Tensor {
  if (!(out instanceof T.Tensor)) {
    throw new TransformError(`${what}: the function must return a scalar tensor, got ${Array.isArray(out) ? 'an array' : typeof out}`);
  }
  if (out.ndim !== 0 || !isFloat(out.dtype)) {
    throw new TransformError(
      `${what}: the function must return a float scalar (shape []), got ${out.dtype}${formatShape(out.shape)}; use vjp with a cotangent for non-scalar outputs`,
    );
  }
  return out;
}

/**
 * `f` and its gradient in one pass: returns `[value, gradient]` (with `hasAux`, `[[value, aux],
 * gradient]`). The gradient has the structure of the differentiated argument (a tuple of them when
 * `argnums` is an array).
 *
 * @example
 * const loss = (w: Tensor, x: Tensor) => matmul(x, w).square().mean();
 * const [value, dw] = valueAndGrad(loss)(w, x);
 */
export function valueAndGrad<Args extends unknown[]>(f: (...args: Args) => Tensor, options?: { argnums?: 0; hasAux?: false }): (...args: Args) => [Tensor, Args[0]];
export function valueAndGrad<Args extends unknown[], N extends number>(f: (...args: Args) => Tensor, options: { argnums: N; hasAux?: false }): (...args: Args) => [Tensor, Args[N]];
export function valueAndGrad<Args extends unknown[], const N extends readonly number[]>(
  f: (...args: Args) => Tensor,
  options: { argnums: N; hasAux?: false },
): (...args: Args) => [Tensor, { -readonly [K in keyof N]: Args[N[K] & number] }];
export function valueAndGrad<Args extends unknown[], Aux>(
  f: (...args: Args) => readonly [Tensor, Aux],
  options: { argnums?: 0; hasAux: true },
): (...args: Args) => [[Tensor, Aux], Args[0]];
export function valueAndGrad<Args extends unknown[]>(f: (...args: Args) => unknown, options?: GradOptions): (...args: Args) => [any, any];
export function valueAndGrad<Args extends unknown[]>(
  f: (...args: Args) => unknown,
  options: GradOptions = {},
): (...args: Args) => [any, any] {
  checkTransform('grad', f, options, ['argnums', 'hasAux']);
  const { argnums = 0, hasAux = false } = options;
  return (...args: Args) => {
    const nums = normalizeArgnums('grad', argnums, args.length);
    const { out, vjpFn, aux } = vjpInternal('grad', f as (...a: any[]) => unknown, args, nums, hasAux);
    const value = scalarOutput('grad', out);
    const grads = vjpFn(T.onesLike(value));
    const g = typeof argnums === 'number' ? grads[0] : grads;
    return [hasAux ? [value, aux] : value, g];
  };
}

/**
 * The gradient of a scalar-valued function, as a new function of the same arguments. The gradient
 * has the differentiated argument's type (its structure, as in JAX): `grad(f)(params)` of a
 * `(p: MlpParams) => Tensor` is an `MlpParams`; with `hasAux`, `[gradient, aux]`. Several
 * `argnums` give a tuple of their arguments' types.
 *
 * @example
 * const df = grad((x: Tensor) => x.mul(x).sum());
 * df(tensor([1, 2])); // [2, 4]
 * const d2f = grad((x: Tensor) => grad((y: Tensor) => y.pow(3))(x)); // 6x
 */
export function grad<Args extends unknown[]>(f: (...args: Args) => Tensor, options?: { argnums?: 0; hasAux?: false }): (...args: Args) => Args[0];
export function grad<Args extends unknown[], N extends number>(f: (...args: Args) => Tensor, options: { argnums: N; hasAux?: false }): (...args: Args) => Args[N];
export function grad<Args extends unknown[], const N extends readonly number[]>(
  f: (...args: Args) => Tensor,
  options: { argnums: N; hasAux?: false },
): (...args: Args) => { -readonly [K in keyof N]: Args[N[K] & number] };
export function grad<Args extends unknown[], Aux>(f: (...args: Args) => readonly [Tensor, Aux], options: { argnums?: 0; hasAux: true }): (...args: Args) => [Args[0], Aux];
export function grad<Args extends unknown[]>(f: (...args: Args) => unknown, options?: GradOptions): (...args: Args) => any;
export function grad<Args extends unknown[]>(f: (...args: Args) => unknown, options: GradOptions = {}): (...args: Args) => any {
  const vg = valueAndGrad(f, options);
  const hasAux = options.hasAux ?? false;
  return (...args: Args) => {
    const [value, g] = vg(...args);
    return hasAux ? [g, value[1]] : g;
  };
}
