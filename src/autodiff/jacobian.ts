/**
 * Whole Jacobians and Hessians, as JAX's `jacrev`, `jacfwd` and `hessian`: one vjp per output
 * element or one jvp per input element, vmapped over the rows of an identity (so a jitted Jacobian
 * is one program). The differentiated argument may be a pytree of float tensors; the function
 * returns one tensor. The Jacobian has, per input leaf, the shape `[...output, ...leaf]`.
 */
import * as T from '../tensor';
import { Tensor } from '../tensor';
import { jvp } from './jvp';
import { treeFlatten, treeUnflatten } from './pytree';
import { checkTransform, TransformError, vjp } from './vjp';
import { vmap } from './vmap';

export interface JacobianOptions {
  /**
   * The positional argument to differentiate (default 0), or several: an array gives an array of
   * Jacobians, one per argument, as JAX's tuple `argnums`. The others are held fixed.
   */
  argnums?: number | readonly number[];
}

type Jacobian = (...args: unknown[]) => any;

/**
 * `f` as a function of the differentiated argument alone (an array of them for an array `argnums`),
 * the other arguments fixed at `args`; and that argument, to differentiate at.
 */
function ofArguments(what: string, f: (...args: any[]) => unknown, args: unknown[], argnums: number | readonly number[]) {
  const list = typeof argnums === 'number' ? [argnums] : argnums;
  if (!Array.isArray(list) || list.length === 0) throw new TransformError(`${what}: argnums must be an argument index or a non-empty array of them, got ${JSON.stringify(argnums)}`);
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= args.length) {
      throw new TransformError(`${what}: argnums ${a} is out of range for a call with ${args.length} argument(s)`);
    }
  }
  if (new Set(list).size !== list.length) throw new TransformError(`${what}: argnums ${JSON.stringify(argnums)} repeats an argument`);
  const single = typeof argnums === 'number';
  const g = (x: unknown): Tensor => {
    const chosen = single ? [x] : (x as unknown[]);
    const out = f(...args.map((a, i) => (list.includes(i) ? chosen[list.indexOf(i)] : a)));
    if (!(out instanceof Tensor)) throw new TransformError(`${what}: the function must return one tensor, got ${Array.isArray(out) ? 'an array' : typeof out}`);
    return out;
  };
  return { g, x: single ? args[argnums] : list.map((a) => args[a]) };
}

/** Rows `[n, ...]` of cotangents or tangents: the identity of size n in `like`'s dtype and backend. */
const identity = (n: number, like: Tensor): Tensor => T.cast(T.eye(n, n, 0, { backend: like.backend }), like.dtype);

/**
 * The Jacobian by reverse mode: one vjp per output element (best when the output is smaller than
 * the input).
 *
 * @example
 * const J = jacrev((x: Tensor) => x.tanh().mul(2))(tensor([0, 1])); // [2,2]: diag(2 (1 - tanh² x))
 * jacrev((p: { w: Tensor; b: Tensor }, x: Tensor) => matmul(x, p.w).add(p.b))(params, x); // { w: [B,O,I,O], b: [B,O,O] }
 * const [Ja, Jb] = jacrev((a: Tensor, b: Tensor) => a.mul(b), { argnums: [0, 1] })(a, b); // diag(b), diag(a)
 */
export function jacrev(f: (...args: any[]) => unknown, options: JacobianOptions = {}): Jacobian {
  checkTransform('jacrev', f, options, ['argnums']);
  const { argnums = 0 } = options;
  return (...args: unknown[]) => {
    const { g, x } = ofArguments('jacrev', f, args, argnums);
    const [y, pullback] = vjp(g, x);
    const rows = vmap((ct: Tensor) => pullback(ct)[0])(T.reshape(identity(y.size, y), [y.size, ...y.shape]));
    const [leaves, def] = treeFlatten(rows);
    return treeUnflatten(def, (leaves as Tensor[]).map((leaf) => T.reshape(leaf, [...y.shape, ...leaf.shape.slice(1)])));
  };
}

/**
 * The Jacobian by forward mode: one jvp per input element (best when the input is smaller than the
 * output).
 *
 * @example
 * const J = jacfwd((x: Tensor) => x.square().sum())(tensor([1, 2, 3])); // [3]: 2x
 */
export function jacfwd(f: (...args: any[]) => unknown, options: JacobianOptions = {}): Jacobian {
  checkTransform('jacfwd', f, options, ['argnums']);
  const { argnums = 0 } = options;
  return (...args: unknown[]) => {
    const { g, x } = ofArguments('jacfwd', f, args, argnums);
    const [leaves, def] = treeFlatten(x);
    if (!leaves.every((leaf) => leaf instanceof Tensor)) throw new TransformError('jacfwd: every leaf of the differentiated argument must be a tensor');
    const inputs = leaves as Tensor[];
    const starts = inputs.map((_, i) => inputs.slice(0, i).reduce((n, leaf) => n + leaf.size, 0));
    const n = inputs.reduce((total, leaf) => total + leaf.size, 0);
    // Row r of the identity, cut into the input's leaves: the tangent along input element r.
    const tangent = (row: Tensor) =>
      treeUnflatten(def, inputs.map((leaf, i) => T.cast(T.reshape(T.slice(row, [starts[i], starts[i] + leaf.size]), leaf.shape), leaf.dtype)));
    const columns = vmap((row: Tensor) => jvp(g, [x], [tangent(row)])[1])(identity(n, inputs[0] ?? T.zeros([0]))); // [n, ...out]
    const outRank = columns.ndim - 1;
    return treeUnflatten(
      def,
      inputs.map((leaf, i) => {
        const block = T.slice(columns, [starts[i], starts[i] + leaf.size]); // [leaf.size, ...out]
        return T.reshape(T.moveAxis(block, 0, outRank), [...columns.shape.slice(1), ...leaf.shape]);
      }),
    );
  };
}

/**
 * The Hessian of a scalar function of one tensor, forward over reverse (`jacfwd(jacrev(f))`):
 * shape `[...x, ...x]`.
 *
 * @example
 * hessian((x: Tensor) => x.pow(3).sum())(tensor([1, 2])); // [[6, 0], [0, 12]]
 */
export function hessian(f: (...args: any[]) => unknown, options: { argnums?: number } = {}): Jacobian {
  checkTransform('hessian', f, options, ['argnums']);
  if (options.argnums !== undefined && typeof options.argnums !== 'number') {
    throw new TransformError(`hessian: argnums must be one argument index, got ${JSON.stringify(options.argnums)}`);
  }
  const h = jacfwd(jacrev(f, options), options);
  return (...args: unknown[]) => {
    const x = args[options.argnums ?? 0];
    if (!(x instanceof Tensor)) throw new TransformError(`hessian: the differentiated argument must be one tensor, got ${typeof x}`);
    return h(...args);
  };
}
