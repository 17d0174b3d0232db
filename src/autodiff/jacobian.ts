/**
 * Whole Jacobians and Hessians, as JAX's `jacrev`, `jacfwd` and `hessian`: one vjp per output
 * element or one jvp per input element, vmapped over the rows of an identity (so a jitted Jacobian
 * is one program). The differentiated argument may be a pytree of float tensors (several arguments
 * with an array of `argnums`), and so may the output: the Jacobian is a pytree like the output whose
 * leaves are pytrees like the input, the block of output leaf o and input leaf i of shape
 * `[...o, ...i]` (JAX's nesting).
 */
import * as T from '../tensor';
import { Tensor } from '../tensor';
import { jvp } from './jvp';
import { type TreeDef, treeFlatten, treePaths, treeUnflatten } from './pytree';
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
  const g = (x: unknown): unknown => {
    const chosen = single ? [x] : (x as unknown[]);
    const out = f(...args.map((a, i) => (list.includes(i) ? chosen[list.indexOf(i)] : a)));
    const [leaves, def] = treeFlatten(out);
    const paths = treePaths(def);
    leaves.forEach((leaf, k) => {
      if (!(leaf instanceof Tensor)) {
        throw new TransformError(`${what}: the function must return a tensor or a pytree of them, got ${typeof leaf}${paths[k] === '(root)' ? '' : ` at ${paths[k]}`}`);
      }
    });
    if (leaves.length === 0) throw new TransformError(`${what}: the function returned no tensor`);
    return out;
  };
  return { g, x: single ? args[argnums] : list.map((a) => args[a]) };
}

/** Where each leaf's elements start in the leaves' concatenation, and the total. */
function offsets(leaves: readonly Tensor[]): { starts: number[]; total: number } {
  const starts: number[] = [];
  let total = 0;
  for (const leaf of leaves) {
    starts.push(total);
    total += leaf.size;
  }
  return { starts, total };
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
    const [outputs, outDef] = treeFlatten(y) as [Tensor[], TreeDef];
    const { starts, total } = offsets(outputs);
    // Row r of the identity, cut into the output's leaves: the cotangent of output element r.
    const cotangent = (row: Tensor) => treeUnflatten(outDef, outputs.map((o, j) => T.cast(T.reshape(T.slice(row, [starts[j], starts[j] + o.size]), o.shape), o.dtype)));
    const rows = vmap((row: Tensor) => pullback(cotangent(row))[0])(identity(total, outputs[0])); // like x, leaves [total, ...leaf]
    const [leaves, def] = treeFlatten(rows) as [Tensor[], TreeDef];
    const blocks = outputs.map((o, j) =>
      treeUnflatten(def, leaves.map((leaf) => T.reshape(T.slice(leaf, [starts[j], starts[j] + o.size]), [...o.shape, ...leaf.shape.slice(1)]))),
    );
    return treeUnflatten(outDef, blocks);
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
    const { starts, total: n } = offsets(inputs);
    // Row r of the identity, cut into the input's leaves: the tangent along input element r.
    const tangent = (row: Tensor) =>
      treeUnflatten(def, inputs.map((leaf, i) => T.cast(T.reshape(T.slice(row, [starts[i], starts[i] + leaf.size]), leaf.shape), leaf.dtype)));
    const columns = vmap((row: Tensor) => jvp(g, [x], [tangent(row)])[1])(identity(n, inputs[0] ?? T.zeros([0]))); // like the output, leaves [n, ...out]
    const [outputs, outDef] = treeFlatten(columns) as [Tensor[], TreeDef];
    const blocks = outputs.map((column) =>
      treeUnflatten(
        def,
        inputs.map((leaf, i) => {
          const block = T.slice(column, [starts[i], starts[i] + leaf.size]); // [leaf.size, ...out]
          return T.reshape(T.moveAxis(block, 0, column.ndim - 1), [...column.shape.slice(1), ...leaf.shape]);
        }),
      ),
    );
    return treeUnflatten(outDef, blocks);
  };
}

/**
 * The Hessian of a scalar function, forward over reverse (`jacfwd(jacrev(f))`): `[...x, ...x]` for
 * one tensor; for a pytree argument, or an array of `argnums`, blocks nested as JAX nests them (with
 * `argnums: [0, 1]`, `[[H00, H01], [H10, H11]]`, H01 of shape `[...x0, ...x1]`).
 *
 * @example
 * hessian((x: Tensor) => x.pow(3).sum())(tensor([1, 2])); // [[6, 0], [0, 12]]
 * const [[haa, hab], [hba, hbb]] = hessian((a: Tensor, b: Tensor) => a.square().mul(b).sum(), { argnums: [0, 1] })(a, b); // diag(2b), diag(2a), diag(2a), 0
 */
export function hessian(f: (...args: any[]) => unknown, options: JacobianOptions = {}): Jacobian {
  checkTransform('hessian', f, options, ['argnums']);
  return jacfwd(jacrev(f, options), options);
}
