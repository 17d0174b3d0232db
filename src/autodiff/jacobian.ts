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
  /** The positional argument to differentiate (default 0); the others are held fixed. */
  argnums?: number;
}

type Jacobian = (...args: unknown[]) => any;

/** `f` as a function of argument `argnums` alone, the other arguments fixed at `args`. */
function ofArgument(what: string, f: (...args: any[]) => unknown, args: unknown[], argnums: number) {
  if (!Number.isInteger(argnums) || argnums < 0 || argnums >= args.length) {
    throw new TransformError(`${what}: argnums ${argnums} is out of range for a call with ${args.length} argument(s)`);
  }
  return (x: unknown): Tensor => {
    const out = f(...args.map((a, i) => (i === argnums ? x : a)));
    if (!(out instanceof Tensor)) throw new TransformError(`${what}: the function must return one tensor, got ${Array.isArray(out) ? 'an array' : typeof out}`);
    return out;
  };
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
 */
export function jacrev(f: (...args: any[]) => unknown, options: JacobianOptions = {}): Jacobian {
  checkTransform('jacrev', f, options, ['argnums']);
  const { argnums = 0 } = options;
  return (...args: unknown[]) => {
    const g = ofArgument('jacrev', f, args, argnums);
    const [y, pullback] = vjp(g, args[argnums]);
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
    const g = ofArgument('jacfwd', f, args, argnums);
    const x = args[argnums];
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
export function hessian(f: (...args: any[]) => unknown, options: JacobianOptions = {}): Jacobian {
  checkTransform('hessian', f, options, ['argnums']);
  const h = jacfwd(jacrev(f, options), options);
  return (...args: unknown[]) => {
    const x = args[options.argnums ?? 0];
    if (!(x instanceof Tensor)) throw new TransformError(`hessian: the differentiated argument must be one tensor, got ${typeof x}`);
    return h(...args);
  };
}
