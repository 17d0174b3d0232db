import type { Backend } from './backend';
import { BackendError } from './errors';
import { abstractEval, type Params, type Primitive } from './primitives';
import { ArrayTensor, type Interpreter, type Tensor, Tracer } from './tensor';

let nextLevel = 1;

/**
 * A fresh interpreter level, higher than every level handed out before. Levels only grow, so an
 * interpreter created inside another one (nested `grad`) always outranks it, and concurrent
 * transformations never share a level.
 *
 * @example
 * const level = newLevel(); // an interpreter made now ranks above every one made before
 */
export function newLevel(): number {
  return nextLevel++;
}

/**
 * Applies a primitive: hands it to the highest-level interpreter among the inputs' tracers, or
 * evaluates it eagerly on the inputs' backend. Every op goes through here.
 *
 * @example
 * bind('exp', [x], {}); // what exp(x) does
 */
export function bind<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor {
  let top: Interpreter | undefined;
  for (const x of inputs) {
    if (x instanceof Tracer && (top === undefined || x.interpreter.level > top.level)) top = x.interpreter;
  }
  if (top !== undefined) return top.process(prim, inputs, params);
  return evaluate(prim, inputs as readonly ArrayTensor[], params);
}

/** Eager evaluation of one primitive on concrete tensors. */
export function evaluate<P extends Primitive>(prim: P, inputs: readonly ArrayTensor[], params: Params<P>): ArrayTensor {
  const out = abstractEval(prim, inputs, params);
  const backend = commonBackend(prim, inputs);
  if (!backend.supports(out.dtype)) {
    throw new BackendError(`${prim}: the ${backend.name} backend has no ${out.dtype} tensors`);
  }
  const handle = backend.execute(
    prim,
    inputs.map((x) => ({ handle: x.handle, aval: x.aval })),
    params,
    out,
  );
  return new ArrayTensor(backend, handle, out.shape, out.dtype);
}

function commonBackend(prim: string, inputs: readonly ArrayTensor[]): Backend {
  const backend = inputs[0].backend;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i].backend !== backend) {
      throw new BackendError(
        `${prim}: input 0 is on ${backend.name} but input ${i} is on ${inputs[i].backend.name}; move one with toBackend()`,
      );
    }
  }
  return backend;
}
