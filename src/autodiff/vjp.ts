/**
 * Reverse mode. `vjp(f, ...primals)` runs f once with its inputs wrapped in tracers of a fresh
 * interpreter level; every primitive applied to them is evaluated (by the levels below) and recorded
 * on a tape that belongs to this one call. The returned `vjpFn` walks that tape backwards applying
 * the vjp rules. The rules are written with ops, so the backward pass is itself traced by any outer
 * transformation: `grad(grad(f))` works and nothing leaks between calls.
 */
import * as T from '../tensor';
import {
  formatShape,
  type Interpreter,
  isFloat,
  MixrlError,
  newLevel,
  type Params,
  type Primitive,
  Tensor,
  Tracer,
} from '../tensor';
import { PrimalTracer } from './primal-tracer';
import { assertSameStructure, type TreeDef, treeFlatten, treePaths, treeUnflatten } from './pytree';
import { vjpRules } from './rules/vjp';

/** Backward function of a tape node: output cotangents to input cotangents (null = none). */
type Backward = (cts: Tensor[]) => (Tensor | null)[];

/** Output `index` of `node`. */
interface Parent {
  readonly node: Node;
  readonly index: number;
}

/** One recorded application: a primitive or a customVjp call, or an input (`inputs` empty). */
interface Node {
  readonly id: number;
  /** Where each input came from (null for constants at this level). */
  readonly parents: readonly (Parent | null)[];
  /** The primal outputs. */
  readonly outs: readonly Tensor[];
  readonly backward: Backward | null;
}

export class VjpTracer extends PrimalTracer {
  constructor(
    readonly interpreter: VjpInterpreter,
    readonly primal: Tensor,
    readonly node: Node,
    readonly outIndex: number,
  ) {
    super();
  }
}

export class VjpInterpreter implements Interpreter {
  readonly name = 'grad';
  readonly level = newLevel();
  private nextId = 0;
  readonly nodes: Node[] = [];
  /**
   * Set once the differentiated function has returned. A tracer that escaped it (a loss stashed in a
   * closure for logging, say) then stands for its primal value: ops on it are not recorded, or a
   * running sum over training steps would chain every step's tape.
   */
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    this.isClosed = true;
  }

  /** The value one level down: a tracer's primal, or the value itself. */
  lower(x: Tensor): Tensor {
    return x instanceof VjpTracer && x.interpreter === this ? x.primal : x;
  }

  private parentOf(x: unknown): Parent | null {
    return x instanceof VjpTracer && x.interpreter === this ? { node: x.node, index: x.outIndex } : null;
  }

  /** Wraps an input to be differentiated. */
  input(x: Tensor): VjpTracer {
    const node: Node = { id: this.nextId++, parents: [], outs: [x], backward: null };
    this.nodes.push(node);
    return new VjpTracer(this, x, node, 0);
  }

  /** Records a node with several outputs; returns their tracers (float outputs only). */
  record(parentsOf: readonly unknown[], outs: readonly Tensor[], backward: Backward): Tensor[] {
    if (this.closed) return [...outs];
    const parents = parentsOf.map((x) => this.parentOf(x));
    if (parents.every((p) => p === null)) return [...outs];
    const node: Node = { id: this.nextId++, parents, outs, backward };
    this.nodes.push(node);
    return outs.map((o, i) => (isFloat(o.dtype) ? new VjpTracer(this, o, node, i) : o));
  }

  process<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor {
    const primals = inputs.map((x) => this.lower(x));
    const out = T.bind(prim, primals, params);
    if (!isFloat(out.dtype) || this.closed) return out;
    const rule = vjpRules[prim];
    const parents = inputs.map((x) => this.parentOf(x) !== null);
    return this.record(inputs, [out], ([ct]) => rule(ct, primals, out, params, parents))[0];
  }

  /**
   * Cotangents of `inputs` given cotangents of `outputs` (tensors of this call; non-tracers carry no
   * gradient). Visits nodes newest first, which is a reverse topological order.
   */
  backward(outputs: readonly Tensor[], cts: readonly Tensor[], inputs: readonly VjpTracer[]): Tensor[] {
    const acc = new Map<Node, (Tensor | null)[]>();
    const addTo = (node: Node, index: number, g: Tensor) => {
      let slots = acc.get(node);
      if (!slots) {
        slots = node.outs.map(() => null);
        acc.set(node, slots);
      }
      const prev = slots[index];
      slots[index] = prev === null ? g : T.add(prev, g);
    };
    outputs.forEach((o, i) => {
      if (o instanceof VjpTracer && o.interpreter === this) addTo(o.node, o.outIndex, cts[i]);
    });
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const node = this.nodes[k];
      const slots = acc.get(node);
      if (!slots || !node.backward) continue;
      const inputCts = node.backward(slots.map((g, i) => g ?? T.zerosLike(node.outs[i])));
      node.parents.forEach((parent, i) => {
        const g = inputCts[i];
        if (parent && g) addTo(parent.node, parent.index, g);
      });
    }
    return inputs.map((x) => acc.get(x.node)?.[0] ?? T.zerosLike(x.primal));
  }
}

/**
 * A tracer of another transformation that has returned (vjp/grad or jvp) stands for its primal
 * value; ops see through it by themselves, this does it for a value returned as is by the function
 * that `self` transforms.
 */
export function seeThroughClosed(x: unknown, self: Interpreter): unknown {
  let t = x;
  while (t instanceof Tracer && t.interpreter !== self && 'primal' in t && (t.interpreter as { closed?: boolean }).closed === true) {
    t = (t as Tracer & { primal: Tensor }).primal;
  }
  return t;
}

/** Error for misuse of a transformation; names the function argument and path. */
export class TransformError extends MixrlError {
  constructor(message: string) {
    super('transform', message);
  }
}

/**
 * Throws unless `f` is a function and `options` an object whose keys are all `known` (a misspelt
 * option such as `argnum` for `argnums` would otherwise be ignored without a word).
 *
 * @example
 * checkTransform('grad', (x: Tensor) => x.sum(), { argnums: 0 }, ['argnums', 'hasAux']); // passes
 * checkTransform('grad', (x: Tensor) => x.sum(), { argnum: 1 }, ['argnums', 'hasAux']);
 * // throws: grad: unknown option 'argnum' (known: argnums, hasAux)
 */
export function checkTransform(what: string, f: unknown, options: unknown, known: readonly string[]): void {
  if (typeof f !== 'function') throw new TransformError(`${what}: expected a function to transform, got ${f === null ? 'null' : typeof f}`);
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TransformError(`${what}: options must be an object (known keys: ${known.join(', ')}), got ${Array.isArray(options) ? 'an array' : String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TransformError(`${what}: unknown option '${key}' (known: ${known.join(', ')})`);
  }
}

/** Checks a differentiated argument: every leaf a float tensor. */
export function checkDifferentiable(what: string, argIndex: number, leaves: readonly unknown[], def: TreeDef): void {
  const paths = treePaths(def);
  leaves.forEach((leaf, i) => {
    const where = `argument ${argIndex} at ${paths[i]}`;
    if (!(leaf instanceof Tensor)) {
      throw new TransformError(`${what}: ${where} is ${typeof leaf}, not a tensor; wrap it with tensor() or move it to a non-differentiated argument`);
    }
    if (!isFloat(leaf.dtype)) {
      throw new TransformError(`${what}: ${where} has dtype ${leaf.dtype}; only float inputs can be differentiated`);
    }
  });
}

export interface VjpResult {
  /** Primal outputs (pytree), lowered out of this level. */
  out: unknown;
  /** Cotangents for the outputs (same structure) to cotangents for each differentiated argument. */
  vjpFn: (ct: unknown) => unknown[];
  aux: unknown;
}

/**
 * The engine behind `vjp`, `grad` and `valueAndGrad`: differentiates with respect to the arguments in
 * `argnums`; with `hasAux`, f returns `[out, aux]` and aux is passed through.
 */
export function vjpInternal(
  what: string,
  f: (...args: any[]) => unknown,
  args: readonly unknown[],
  argnums: readonly number[],
  hasAux: boolean,
): VjpResult {
  const interp = new VjpInterpreter();
  const argDefs: TreeDef[] = [];
  const inputTracers: VjpTracer[][] = [];
  const wrapped = args.map((arg, i) => {
    if (!argnums.includes(i)) return arg;
    const [leaves, def] = treeFlatten(arg);
    checkDifferentiable(what, i, leaves, def);
    const tracers = (leaves as Tensor[]).map((leaf) => interp.input(leaf));
    argDefs[i] = def;
    inputTracers[i] = tracers;
    return treeUnflatten(def, tracers);
  });
  let result: unknown;
  try {
    result = f(...wrapped);
  } finally {
    interp.close();
  }
  let aux: unknown;
  if (hasAux) {
    if (!Array.isArray(result) || result.length !== 2) {
      throw new TransformError(`${what}: with hasAux the function must return [output, aux]`);
    }
    [result, aux] = result;
    aux = lowerTree(interp, aux);
  }
  const [rawLeaves, outDef] = treeFlatten(result);
  const outLeaves = rawLeaves.map((x) => seeThroughClosed(x, interp));
  outLeaves.forEach((leaf, i) => {
    if (!(leaf instanceof Tensor)) {
      throw new TransformError(`${what}: output at ${treePaths(outDef)[i]} is ${typeof leaf}, not a tensor`);
    }
  });
  const outs = outLeaves as Tensor[];
  const vjpFn = (ct: unknown): unknown[] => {
    const [ctLeaves, ctDef] = treeFlatten(ct);
    assertSameStructure(outDef, ctDef, `${what}: cotangent`);
    ctLeaves.forEach((g, i) => {
      const o = outs[i];
      // The dtype must match too: a float32 cotangent for a float64 output would otherwise come
      // back as a float32 gradient of a float64 input (as jvp checks its tangents, and as JAX does).
      if (!(g instanceof Tensor) || g.shape.join() !== o.shape.join() || g.dtype !== o.dtype) {
        throw new TransformError(
          `${what}: cotangent at ${treePaths(outDef)[i]} must be a tensor ${o.dtype}${formatShape(o.shape)}, got ${g instanceof Tensor ? `${g.dtype}${formatShape(g.shape)}` : typeof g}`,
        );
      }
    });
    const flatInputs = argnums.flatMap((i) => inputTracers[i]);
    const grads = interp.backward(outs, ctLeaves as Tensor[], flatInputs);
    let k = 0;
    return argnums.map((i) => {
      const n = inputTracers[i].length;
      const part = grads.slice(k, k + n);
      k += n;
      return treeUnflatten(argDefs[i], part);
    });
  };
  return { out: treeUnflatten(outDef, outs.map((o) => interp.lower(o))), vjpFn, aux };
}

function lowerTree(interp: VjpInterpreter, tree: unknown): unknown {
  const [leaves, def] = treeFlatten(tree);
  return treeUnflatten(
    def,
    leaves.map((x) => (x instanceof Tensor ? interp.lower(x) : x)),
  );
}

/**
 * Reverse-mode derivative: runs `f` at `primals` and returns its output with a function mapping an
 * output cotangent (same structure as the output) to the cotangents of every argument.
 *
 * @example
 * const [y, back] = vjp((x) => x.mul(x), tensor([1, 2, 3]));
 * const [dx] = back(onesLike(y)); // [2, 4, 6]
 */
export function vjp<Args extends unknown[], Out>(
  f: (...args: Args) => Out,
  ...primals: Args
): [Out, (ct: Out) => Args] {
  checkTransform('vjp', f, undefined, []);
  const { out, vjpFn } = vjpInternal('vjp', f as (...args: any[]) => unknown, primals, primals.map((_, i) => i), false);
  return [out as Out, (ct: Out) => vjpFn(ct) as Args];
}
