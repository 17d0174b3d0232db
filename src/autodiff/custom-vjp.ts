/**
 * User-defined reverse-mode rules, for straight-through estimators and numerically better backward
 * passes. Under `grad`, the forward runs on the primal values and the tape records the user's
 * backward in place of the forward's own derivative; under `vmap` both are vmapped (so a `grad`
 * outside the vmap still uses the custom backward); everywhere else (eager, `jvp`, `makeIR`) the
 * forward runs as written.
 */
import * as T from '../tensor';
import { Tensor, Tracer } from '../tensor';
import { assertSameStructure, type TreeDef, treeFlatten, treePaths, treeUnflatten } from './pytree';
import { moveAxis } from './rules/batch';
import { TransformError, VjpInterpreter } from './vjp';
import { type AxesPrefix, BatchInterpreter, BatchTracer, vmap } from './vmap';

export interface CustomVjpRule<Args extends unknown[], Out, Residuals> {
  /** Computes the output and whatever the backward pass needs. */
  forward: (...args: Args) => [Out, Residuals];
  /**
   * Cotangents of every argument (one entry per argument; null for none, else a pytree shaped like
   * the argument) from the residuals and the output cotangent.
   */
  backward: (residuals: Residuals, ct: Out) => unknown[];
}

let customCalls = 0;

/**
 * How many times functions made by `customVjp` have been called so far, in any mode. `jit` compares
 * it around a trace: a staged program keeps only a custom function's forward (`makeIR` runs it as
 * written), so under an outer `grad` the program would lose the rule; such a function runs instead.
 *
 * @example
 * const before = customVjpCalls();
 * const program = makeIR(f)(x);
 * const lostRules = customVjpCalls() !== before;
 */
export function customVjpCalls(): number {
  return customCalls;
}

/**
 * A function with a custom vjp.
 *
 * @example
 * // Straight-through rounding: forward rounds, backward passes the cotangent unchanged.
 * const roundST = customVjp({
 *   forward: (x: Tensor) => [round(x), null],
 *   backward: (_res, ct: Tensor) => [ct],
 * });
 */
export function customVjp<Args extends unknown[], Out, Residuals>(
  rule: CustomVjpRule<Args, Out, Residuals>,
): (...args: Args) => Out {
  for (const part of ['forward', 'backward'] as const) {
    if (typeof rule?.[part] !== 'function') throw new TransformError(`customVjp: the rule's ${part} must be a function, got ${typeof rule?.[part]}`);
  }
  const forward = (...args: Args): [Out, Residuals] => {
    const result = rule.forward(...args);
    if (!Array.isArray(result) || result.length !== 2) {
      throw new TransformError(`customVjp: forward must return a pair [output, residuals], got ${Array.isArray(result) ? `an array of ${result.length}` : typeof result}`);
    }
    return result;
  };
  return (...args: Args): Out => {
    customCalls++;
    const [argLeaves, argDef] = treeFlatten(args);
    const top = topInterpreter(argLeaves);
    if (top instanceof BatchInterpreter) return batchedCall(rule, top, args);
    const interp = top instanceof VjpInterpreter ? top : null;
    if (interp === null) return forward(...args)[0];
    const lowered = treeUnflatten<Args>(
      argDef,
      argLeaves.map((x) => (x instanceof Tensor ? interp.lower(x) : x)),
    );
    const [out, residuals] = forward(...lowered);
    rejectClosedOver(interp, out, 'output');
    rejectClosedOver(interp, residuals, 'residual');
    const [outLeaves, outDef] = treeFlatten(out);
    const outTensors = outLeaves.map((o, i) => {
      if (!(o instanceof Tensor)) throw new TransformError(`customVjp: output at ${treePaths(outDef)[i]} is not a tensor`);
      return o;
    });
    const backward = (cts: Tensor[]) => {
      const argCts = rule.backward(residuals, treeUnflatten<Out>(outDef, cts));
      if (!Array.isArray(argCts) || argCts.length !== args.length) {
        throw new TransformError(`customVjp: backward must return one cotangent per argument (${args.length})`);
      }
      return args.flatMap((arg, i) => {
        const [leaves, def] = treeFlatten(arg);
        if (argCts[i] === null || argCts[i] === undefined) return leaves.map(() => null);
        const [ctLeaves, ctDef] = treeFlatten(argCts[i]);
        assertSameStructure(def, ctDef, `customVjp: cotangent of argument ${i}`);
        const paths = treePaths(def).map((path) => (path === '(root)' ? '' : path));
        ctLeaves.forEach((ct, k) => {
          const primal = leaves[k];
          if (!(primal instanceof Tensor) || ct === null || ct === undefined) return;
          const [want, got] = [T.formatAval(primal.aval), ct instanceof Tensor ? T.formatAval(ct.aval) : typeof ct];
          if (got !== want) throw new TransformError(`customVjp: cotangent of argument ${i}${paths[k]} must be ${want} like the argument, got ${got}`);
        });
        return ctLeaves as (Tensor | null)[];
      });
    };
    return treeUnflatten<Out>(outDef, interp.record(argLeaves, outTensors, backward));
  };
}

/**
 * The forward runs on the arguments lowered out of `interp`, so a tracer of `interp` in its outputs
 * or residuals came from a closure over a value being differentiated. The custom backward only
 * covers the explicit arguments: that dependence would be dropped silently and the backward would
 * hand out tracers of a finished transformation. JAX refuses this too.
 */
function rejectClosedOver(interp: VjpInterpreter, tree: unknown, what: string): void {
  const [leaves, def] = treeFlatten(tree);
  const paths = treePaths(def);
  leaves.forEach((leaf, i) => {
    if (leaf instanceof Tracer && leaf.interpreter === interp) {
      throw new TransformError(
        `customVjp: the forward closes over a value that grad differentiates (${what} at ${paths[i]}); pass it as an argument instead`,
      );
    }
  });
}

/** The highest-level interpreter among the leaves' tracers, or null. */
function topInterpreter(leaves: readonly unknown[]): Tracer['interpreter'] | null {
  let top: Tracer | null = null;
  for (const x of leaves) {
    if (x instanceof Tracer && (top === null || x.interpreter.level > top.interpreter.level)) top = x;
  }
  return top === null ? null : top.interpreter;
}

/**
 * The custom function applied to batched arguments (vmap is the top level): the arguments are
 * lowered out of the batch level and the function is applied as a custom function whose forward and
 * backward are the user's, vmapped. A `grad` below the batch level (`grad(vmap(f))`) then records the
 * vmapped backward, as JAX batches a custom_vjp; the cotangent of an argument shared by the batch is
 * summed over it.
 */
function batchedCall<Args extends unknown[], Out, Residuals>(
  rule: CustomVjpRule<Args, Out, Residuals>,
  interp: BatchInterpreter,
  args: Args,
): Out {
  const specs: AxesPrefix[] = [];
  const leafAxes: (number | null)[][] = [];
  const lowered = args.map((arg) => {
    const [leaves, def] = treeFlatten(arg);
    const axes = leaves.map((x) => (x instanceof BatchTracer && x.interpreter === interp ? x.bdim : null));
    specs.push(treeUnflatten<AxesPrefix>(def, axes));
    leafAxes.push(axes);
    return treeUnflatten(
      def,
      leaves.map((x) => (x instanceof BatchTracer && x.interpreter === interp ? x.val : x)),
    );
  }) as Args;
  const size = interp.size;
  // Only the residuals' tensor leaves are batched; the others (numbers, strings: the same for every
  // example) stay in this closure and are put back around each example's tensors for the backward.
  let residualDef: TreeDef | undefined;
  let residualLeaves: unknown[] = [];
  const withResiduals = (tensors: readonly Tensor[]): Residuals => {
    let k = 0;
    return treeUnflatten<Residuals>(residualDef as TreeDef, residualLeaves.map((leaf) => (leaf instanceof Tensor ? tensors[k++] : leaf)));
  };
  const forwardTensors = (...xs: Args): [Out, Tensor[]] => {
    const [out, residuals] = rule.forward(...xs);
    [residualLeaves, residualDef] = treeFlatten(residuals);
    return [out, residualLeaves.filter((leaf): leaf is Tensor => leaf instanceof Tensor)];
  };
  const batched = customVjp<Args, Out, Tensor[]>({
    forward: (...xs: Args) => vmap(forwardTensors, { inAxes: specs, axisSize: size })(...xs),
    backward: (residuals: Tensor[], ct: Out) => {
      const exampleBackward = (tensors: Tensor[], c: Out) => rule.backward(withResiduals(tensors), c);
      const cts = vmap(exampleBackward, { inAxes: [0, 0], axisSize: size })(residuals, ct);
      return cts.map((c, i) => {
        if (c === null || c === undefined) return c;
        // The cotangent has the argument's structure (checked when the rule is applied).
        const [leaves, def] = treeFlatten(c);
        return treeUnflatten(
          def,
          (leaves as Tensor[]).map((g, k) => {
            const axis = leafAxes[i][k] ?? null;
            return axis === null ? T.sum(g, 0) : moveAxis(g, 0, axis);
          }),
        );
      });
    },
  });
  const out = batched(...lowered);
  const [outLeaves, outDef] = treeFlatten(out);
  return treeUnflatten<Out>(
    outDef,
    outLeaves.map((x) => (x instanceof Tensor ? new BatchTracer(interp, x, 0) : x)),
  );
}
