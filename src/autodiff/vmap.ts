/**
 * Vectorizing map. `vmap(f)` runs f once on values that carry an extra batch axis: each input leaf
 * mapped over becomes a `BatchTracer` of a fresh interpreter level that shows f the per-example
 * shape, and every primitive applied to one is rewritten by its batching rule (`rules/batch.ts`)
 * into one application of the primitive on the whole batch. Because it is an interpreter like
 * the others, it composes with `grad`, `jvp`, `jit` and itself in any order.
 */
import {
  abstractEval,
  type ArrayTensor,
  type Backend,
  type DType,
  formatAval,
  type Interpreter,
  newLevel,
  type Params,
  type Primitive,
  type Shape,
  Tensor,
  Tracer,
} from '../tensor';
import * as T from '../tensor';
import { ConcretizationError } from './ir';
import { type TreeDef, treeFlatten, treePaths, treeUnflatten } from './pytree';
import { type BatchDim, batchRules, broadcastAxis, moveAxis } from './rules/batch';
import { checkTransform, seeThroughClosed, TransformError } from './vjp';

/** A value inside `vmap`: `val` holds the whole batch along axis `bdim`; f sees one member's shape. */
export class BatchTracer extends Tracer {
  readonly shape: Shape;

  constructor(
    readonly interpreter: BatchInterpreter,
    readonly val: Tensor,
    readonly bdim: number,
  ) {
    super();
    this.shape = val.shape.filter((_, i) => i !== bdim);
  }

  get dtype(): DType {
    return this.val.dtype;
  }

  get backend(): Backend {
    return this.val.backend;
  }

  override concrete(): ArrayTensor {
    throw new ConcretizationError(
      `cannot read the value of ${formatAval(this.aval)} inside vmap: it stands for ${this.interpreter.size} values at once (use where() instead of if on tensor values)`,
    );
  }
}

export class BatchInterpreter implements Interpreter {
  readonly name = 'vmap';
  readonly level = newLevel();
  /** Set once the mapped function has returned; an escaped batched value cannot be used after. */
  closed = false;

  constructor(readonly size: number) {}

  private mine(x: Tensor): x is BatchTracer {
    return x instanceof BatchTracer && x.interpreter === this;
  }

  process<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor {
    if (this.closed) {
      throw new TransformError(
        `${prim}: a batched value of vmap was used after vmap returned (it escaped the mapped function, e.g. through a closure)`,
      );
    }
    // Validate with the per-example shapes, so errors name the shapes the function sees.
    abstractEval(prim, inputs.map((x) => x.aval), params);
    const vals = inputs.map((x) => (this.mine(x) ? x.val : x));
    const bdims: BatchDim[] = inputs.map((x) => (this.mine(x) ? x.bdim : null));
    if (bdims.every((d) => d === null)) return T.bind(prim, vals, params);
    const [out, bdim] = batchRules[prim](vals, bdims, params, this.size);
    return bdim === null ? out : new BatchTracer(this, out, bdim);
  }
}

/** An axis spec: which axis of a leaf is mapped over, or null for none (broadcast). */
export type AxisSpec = number | null;

/** A tree prefix of axis specs: a number or null covers the whole subtree below it. */
export type AxesPrefix = AxisSpec | undefined | readonly AxesPrefix[] | { readonly [key: string]: AxesPrefix };

export interface VmapOptions {
  /**
   * The mapped axis of each argument: one spec for all arguments, or one per argument, each a
   * number (negative counts from the end), null (the argument is the same for every batch member),
   * or a tree prefix of the argument giving specs for its parts. Default 0.
   */
  inAxes?: AxisSpec | readonly AxesPrefix[];
  /** Where the batch axis goes in each output leaf: a number or a tree prefix of the output. Default 0. */
  outAxes?: AxesPrefix;
  /** The batch size, required only when no argument is mapped. */
  axisSize?: number;
}

/** The spec of every leaf of `def` from a prefix tree; errors name `what` and the path. */
function specsFor(prefix: AxesPrefix, def: TreeDef, what: string, path = ''): AxisSpec[] {
  if (prefix === undefined || prefix === null || typeof prefix === 'number') {
    const n = treePaths(def).length;
    return Array(n).fill(prefix ?? null);
  }
  const here = path || '(root)';
  if (Array.isArray(prefix)) {
    if (def.kind !== 'array' || def.children.length !== prefix.length) {
      throw new TransformError(`vmap: ${what} at ${here} is an array of ${prefix.length} specs, but the value there is ${describeDef(def)}`);
    }
    return def.children.flatMap((c, i) => specsFor(prefix[i], c, what, `${path}[${i}]`));
  }
  if (typeof prefix !== 'object') {
    throw new TransformError(`vmap: ${what} at ${here} must be an axis (a number), null, or an array or object of them, got ${JSON.stringify(prefix) ?? String(prefix)}`);
  }
  const obj = prefix as { readonly [key: string]: AxesPrefix };
  const keys = Object.keys(obj).sort();
  if (def.kind !== 'object' || def.keys.join() !== keys.join()) {
    throw new TransformError(`vmap: ${what} at ${here} has keys {${keys.join(', ')}}, but the value there is ${describeDef(def)}`);
  }
  return def.children.flatMap((c, i) => specsFor(obj[def.keys[i]], c, what, `${path}.${def.keys[i]}`));
}

function describeDef(def: TreeDef): string {
  switch (def.kind) {
    case 'leaf':
      return 'a leaf';
    case 'none':
      return String(def.value);
    case 'array':
      return `an array of ${def.children.length}`;
    case 'object':
      return `an object {${def.keys.join(', ')}}`;
  }
}

const describeLeaf = (x: unknown): string => (x instanceof Tensor ? formatAval(x.aval) : typeof x);

/** An axis in [-n, n) as a non-negative index, or an error naming `where`. */
function normalize(axis: number, n: number, where: string): number {
  if (!Number.isInteger(axis)) throw new TransformError(`vmap: ${where} is not an integer axis (or null)`);
  if (n === 0) throw new TransformError(`vmap: ${where}: a scalar has no axis to map over; give it inAxes null to pass it to every example`);
  if (axis < -n || axis >= n) {
    throw new TransformError(`vmap: ${where} is out of range (axes ${-n}..${n - 1})`);
  }
  return axis < 0 ? axis + n : axis;
}

/**
 * Vectorizes `f` over a batch axis of its arguments (JAX's `vmap`): `vmap(f)(xs)` stacks `f(x)` for
 * every slice `x` of `xs` along the mapped axis, computed as one program on the whole batch.
 * Composes with `grad`, `jvp`, `jit` and itself, in any order. Random functions of a batch of keys
 * give, per row, exactly the bits of the call with that key. Reading a batched value inside f
 * throws (there is one value per batch member).
 *
 * @example
 * const dot = (a: Tensor, b: Tensor) => a.mul(b).sum();
 * vmap(dot)(xs, ys);                          // [B, n], [B, n] -> [B]
 * vmap(dot, { inAxes: [0, null] })(xs, y);    // y shared by every row
 * vmap(grad(loss), { inAxes: [null, 0] })(params, batches); // per-example gradients
 * const perAgent = jit(vmap(update));         // one compiled update for a batch of agents
 * vmap((k: Tensor) => random.normal(k, [3]))(keys); // keys u32[B, 2] -> [B, 3]
 */
export function vmap<Args extends unknown[], Out>(f: (...args: Args) => Out, options: VmapOptions = {}): (...args: Args) => Out {
  checkTransform('vmap', f, options, ['inAxes', 'outAxes', 'axisSize']);
  const { inAxes = 0, outAxes = 0, axisSize } = options;
  return (...args: Args) => {
    if (Array.isArray(inAxes) && inAxes.length !== args.length) {
      throw new TransformError(`vmap: inAxes has ${inAxes.length} entries but the function was called with ${args.length} argument(s)`);
    }
    // Leaves, their axes and where they are (for messages).
    const perArg = args.map((arg, i) => {
      const [leaves, def] = treeFlatten(arg);
      const prefix = Array.isArray(inAxes) ? (inAxes as readonly AxesPrefix[])[i] : (inAxes as AxisSpec);
      const specs = specsFor(prefix, def, `inAxes of argument ${i}`);
      const paths = treePaths(def);
      const where = (k: number) => `argument ${i}${paths[k] === '(root)' ? '' : ` at ${paths[k]}`}`;
      const axes = leaves.map((leaf, k) => {
        const spec = specs[k];
        if (spec === null) return null;
        if (!(leaf instanceof Tensor) || leaf.weak) {
          // A weak scalar is a number jit traced (`Tensor.weak`): refused as the number is in eager mode.
          const what = leaf instanceof Tensor ? `a ${leaf.dtype === 'bool' ? 'boolean' : 'number'} (traced by jit)` : typeof leaf;
          throw new TransformError(`vmap: ${where(k)} is ${what}, not a tensor, so it cannot be mapped over axis ${spec}; give it inAxes null`);
        }
        return normalize(spec, leaf.ndim, `inAxes ${spec} for ${where(k)} ${describeLeaf(leaf)}`);
      });
      return { leaves, def, axes, where };
    });

    // One batch size for every mapped leaf.
    let size = axisSize;
    let sizeFrom = axisSize === undefined ? '' : `axisSize ${axisSize}`;
    for (const { leaves, axes, where } of perArg) {
      axes.forEach((axis, k) => {
        if (axis === null) return;
        const n = (leaves[k] as Tensor).shape[axis];
        const here = `${where(k)} ${describeLeaf(leaves[k])} has size ${n} along axis ${axis}`;
        if (size === undefined) {
          size = n;
          sizeFrom = here;
        } else if (n !== size) {
          throw new TransformError(`vmap: the mapped axes have different sizes: ${sizeFrom}, but ${here}`);
        }
      });
    }
    if (size === undefined) {
      throw new TransformError('vmap: no argument is mapped (every inAxes is null); pass axisSize to broadcast');
    }
    if (!Number.isInteger(size) || size < 0) throw new TransformError(`vmap: axisSize must be a non-negative integer, got ${size}`);

    const interp = new BatchInterpreter(size);
    const wrapped = perArg.map(({ leaves, def, axes }) =>
      treeUnflatten(
        def,
        leaves.map((leaf, k) => {
          const axis = axes[k];
          return axis === null ? leaf : new BatchTracer(interp, leaf as Tensor, axis);
        }),
      ),
    ) as Args;

    let result: Out;
    try {
      result = f(...wrapped);
    } finally {
      interp.closed = true;
    }

    const [rawLeaves, outDef] = treeFlatten(result);
    const specs = specsFor(outAxes, outDef, 'outAxes');
    const paths = treePaths(outDef);
    const outs = rawLeaves.map((raw, k) => {
      const leaf = seeThroughClosed(raw, interp);
      const where = `output${paths[k] === '(root)' ? '' : ` at ${paths[k]}`}`;
      const spec = specs[k];
      const batched = leaf instanceof BatchTracer && leaf.interpreter === interp;
      if (spec === null) {
        if (batched) {
          throw new TransformError(`vmap: outAxes is null for the ${where}, but it varies over the batch (${formatAval(leaf.aval)})`);
        }
        return leaf;
      }
      if (!(leaf instanceof Tensor)) throw new TransformError(`vmap: the ${where} is ${typeof leaf}, not a tensor`);
      const axis = normalize(spec, leaf.ndim + 1, `outAxes ${spec} for the ${where} ${formatAval(leaf.aval)}`);
      if (batched) return moveAxis(leaf.val, leaf.bdim, axis);
      return broadcastAxis(leaf, axis, size as number);
    });
    return treeUnflatten<Out>(outDef, outs);
  };
}
