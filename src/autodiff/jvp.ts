/**
 * Forward mode. `jvp(f, primals, tangents)` pushes tangents through f alongside the primals, one
 * primitive at a time, with the jvp rules. Combined with `grad` it gives Hessian-vector products
 * (forward over reverse).
 */
import * as T from '../tensor';
import {
  formatShape,
  type Interpreter,
  isFloat,
  newLevel,
  type Params,
  type Primitive,
  Tensor,
} from '../tensor';
import { PrimalTracer } from './primal-tracer';
import { assertSameStructure, treeFlatten, treePaths, treeUnflatten } from './pytree';
import { jvpRules } from './rules/jvp';
import { checkDifferentiable, checkTransform, seeThroughClosed, TransformError } from './vjp';

export class JvpTracer extends PrimalTracer {
  constructor(
    readonly interpreter: JvpInterpreter,
    readonly primal: Tensor,
    readonly tangent: Tensor,
  ) {
    super();
  }
}

export class JvpInterpreter implements Interpreter {
  readonly name = 'jvp';
  readonly level = newLevel();
  /** Set once the function has returned: an escaped tracer then stands for its primal value. */
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    this.isClosed = true;
  }

  private mine(x: Tensor): x is JvpTracer {
    return x instanceof JvpTracer && x.interpreter === this;
  }

  lower(x: Tensor): Tensor {
    return this.mine(x) ? x.primal : x;
  }

  tangentOf(x: Tensor): Tensor | null {
    return this.mine(x) ? x.tangent : null;
  }

  process<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor {
    const primals = inputs.map((x) => this.lower(x));
    const out = T.bind(prim, primals, params);
    if (!isFloat(out.dtype) || this.closed) return out;
    const tangent = jvpRules[prim](
      primals,
      inputs.map((x) => this.tangentOf(x)),
      out,
      params,
    );
    return tangent === null ? out : new JvpTracer(this, out, tangent);
  }
}

/**
 * Forward-mode derivative: f's outputs at `primals` and their directional derivatives along
 * `tangents` (same structure and shapes as `primals`).
 *
 * @example
 * const [y, dy] = jvp((x: Tensor) => x.sin(), [tensor([0])], [tensor([1])]); // dy = cos 0 = 1
 */
export function jvp<Args extends unknown[], Out>(
  f: (...args: Args) => Out,
  primals: Args,
  tangents: Args,
): [Out, Out] {
  checkTransform('jvp', f, undefined, []);
  if (!Array.isArray(primals) || !Array.isArray(tangents) || primals.length !== tangents.length) {
    const count = (x: unknown) => (Array.isArray(x) ? `an array of ${x.length}` : typeof x);
    throw new TransformError(`jvp: primals and tangents must be arrays with one entry per argument, got ${count(primals)} and ${count(tangents)}`);
  }
  const interp = new JvpInterpreter();
  const wrapped = primals.map((arg, i) => {
    const [leaves, def] = treeFlatten(arg);
    const [tLeaves, tDef] = treeFlatten(tangents[i]);
    assertSameStructure(def, tDef, `jvp: tangent of argument ${i}`);
    checkDifferentiable('jvp', i, leaves, def);
    const paths = treePaths(def);
    return treeUnflatten(
      def,
      (leaves as Tensor[]).map((p, k) => {
        const t = tLeaves[k];
        if (!(t instanceof Tensor) || t.shape.join() !== p.shape.join() || t.dtype !== p.dtype) {
          throw new TransformError(
            `jvp: tangent of argument ${i} at ${paths[k]} must be ${p.dtype}${formatShape(p.shape)}, got ${t instanceof Tensor ? `${t.dtype}${formatShape(t.shape)}` : typeof t}`,
          );
        }
        return new JvpTracer(interp, p, t);
      }),
    );
  }) as Args;
  let result: Out;
  try {
    result = f(...wrapped);
  } finally {
    interp.close();
  }
  const [rawLeaves, def] = treeFlatten(result);
  const leaves = rawLeaves.map((x) => seeThroughClosed(x, interp));
  const outs = leaves.map((x) => (x instanceof Tensor ? interp.lower(x) : x));
  const tans = leaves.map((x) =>
    x instanceof Tensor ? (interp.tangentOf(x) ?? T.zerosLike(interp.lower(x))) : x,
  );
  return [treeUnflatten<Out>(def, outs), treeUnflatten<Out>(def, tans)];
}
