/**
 * Structured control flow as pure functions (JAX's `lax.cond`, `lax.switch`, `lax.scan`,
 * `lax.fori_loop`, `lax.while_loop`), composable with `grad`, `jvp`, `vmap` and `jit`.
 *
 * None of them is a primitive: each is a JS function of the ops, so every transformation sees the
 * primitives they apply and needs no rule of its own.
 *
 * - A tensor predicate or index (`cond`, `switchCase`) evaluates every branch and selects leaf by
 *   leaf with `where`. This is what JAX's `cond` becomes under `vmap`; here it is the one rule for
 *   every tensor predicate, concrete or traced, because WebGPU tensors cannot be read synchronously,
 *   and so eager, `jit` and `vmap` compute the same thing the same way. A JS boolean or integer picks
 *   one branch and calls only that one.
 * - Loops with a bound known in JS (`scan`, `foriLoop`) run as JS loops; under `jit` they unroll into
 *   the staged program (JAX's `scan` with `unroll=length`).
 * - `whileLoop`, whose number of steps depends on values, runs only where the condition can be read
 *   synchronously; traced conditions (under `jit`, `vmap`, `makeIR`) are refused.
 */
import {
  ArgumentError,
  BackendError,
  type Backend,
  DTypeError,
  defaultBackend,
  equal,
  formatAval,
  full,
  lessEqual,
  notEqual,
  ShapeError,
  slice,
  stack,
  Tensor,
  Tracer,
  where,
  zeros,
} from '../tensor';
import { ConcretizationError, makeIR } from './ir';
import { assertSameStructure, type TreeDef, TreeError, treeFlatten, treePaths, treeUnflatten } from './pytree';
import { TransformError } from './vjp';

/**
 * The type a loop's carry has inside the loop: `T` with every tensor leaf typed as `Tensor` (a
 * concrete `ArrayTensor` given as the initial carry comes back from ops, or under a transformation,
 * as a plain `Tensor`), so an unannotated body `(c) => c.mul(2)` type-checks against `zeros([])`.
 */
export type Traced<T> = T extends Tensor
  ? Tensor
  : T extends (...args: never[]) => unknown
    ? T
    : T extends object
      ? { [K in keyof T]: Traced<T[K]> }
      : T;

// ---------------------------------------------------------------------------------------------
// Shared checks

/** A leaf for messages: `f32[3]` for a tensor, `number 2` for a plain value. */
function describeLeaf(x: unknown): string {
  if (x instanceof Tensor) return formatAval(x.aval);
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object' || typeof x === 'function') return typeof x;
  return `${typeof x} ${String(x)}`;
}

/** `at .a.b` for a leaf path, nothing for the root. */
const at = (path: string): string => (path === '(root)' ? '' : ` at ${path}`);

const sameAval = (a: Tensor, b: Tensor): boolean =>
  a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/**
 * Throws unless `b` has `a`'s structure and, leaf by leaf, its shape and dtype (tensor leaves) or the
 * same value (other leaves). `what` opens the message; `nameA`/`nameB` say where each tree came from.
 */
function assertSameAvals(
  what: string,
  a: { leaves: readonly unknown[]; def: TreeDef },
  b: { leaves: readonly unknown[]; def: TreeDef },
  nameA: string,
  nameB: string,
  hint: string,
): void {
  assertSameStructure(a.def, b.def, `${what} (${nameA} vs ${nameB}; ${hint})`);
  const paths = treePaths(a.def);
  a.leaves.forEach((x, i) => {
    const y = b.leaves[i];
    const ok = x instanceof Tensor && y instanceof Tensor ? sameAval(x, y) : !(x instanceof Tensor) && !(y instanceof Tensor) && Object.is(x, y);
    if (!ok) {
      throw new TransformError(`${what}: leaf${at(paths[i])} is ${describeLeaf(x)} in ${nameA} but ${describeLeaf(y)} in ${nameB} (${hint})`);
    }
  });
}

/** The backend of the first tensor leaf of `trees`, or the default backend. */
function backendOf(...trees: unknown[]): Backend {
  for (const tree of trees) {
    const leaf = treeFlatten(tree)[0].find((x): x is Tensor => x instanceof Tensor);
    if (leaf) return leaf.backend;
  }
  return defaultBackend();
}

/** A tensor predicate as a bool scalar: nonzero (and NaN) is true. Refuses anything but shape []. */
function boolScalar(op: string, pred: Tensor): Tensor {
  if (pred.ndim !== 0) {
    throw new ShapeError(
      `${op}: the predicate must be a scalar tensor (shape []), got ${formatAval(pred.aval)}; to select elementwise use where(cond, x, y)`,
    );
  }
  return pred.dtype === 'bool' ? pred : notEqual(pred, 0);
}

function checkFunction(op: string, f: unknown, what: string): void {
  if (typeof f !== 'function') throw new ArgumentError(`${op}: ${what} must be a function, got ${describeLeaf(f)}`);
}

/** Each pair of matching leaves of the branches' outputs through `select`; non-tensor leaves (equal) pass through. */
function selectLeaves(outs: readonly { leaves: readonly unknown[]; def: TreeDef }[], select: (leaves: Tensor[]) => Tensor): unknown {
  const { def } = outs[0];
  return treeUnflatten(
    def,
    outs[0].leaves.map((x, i) => {
      if (!(x instanceof Tensor)) return x;
      const leaves = outs.map((o) => o.leaves[i] as Tensor);
      // Branches returning the very same tensor (an operand passed through) need no selection.
      return leaves.every((l) => l === x) ? x : select(leaves);
    }),
  );
}

const flat = (tree: unknown) => {
  const [leaves, def] = treeFlatten(tree);
  return { leaves, def };
};

// ---------------------------------------------------------------------------------------------
// cond and switchCase

/**
 * `trueFn(...operands)` if `pred` holds, else `falseFn(...operands)` (JAX's `lax.cond`).
 *
 * - `pred` a JS boolean: only the chosen branch is called (plain JS `if`; the branches may then
 *   return anything, even different structures).
 * - `pred` a scalar tensor (shape `[]`; `bool`, or numeric with nonzero and NaN as true), concrete
 *   or traced under `jit`, `vmap` or `grad`: **both branches are computed** on the operands and the
 *   results are selected leaf by leaf with `where`. This is what JAX's `cond` becomes under `vmap`;
 *   here it is the rule for every tensor predicate (a WebGPU tensor cannot be read synchronously),
 *   so eager, jitted and vmapped calls agree. Both branches must then return pytrees of the same
 *   structure, shapes and dtypes (leaves that are not tensors must be equal); otherwise a
 *   `TreeError` (structure) or `TransformError` (a leaf's shape or dtype) names `cond` and the first
 *   differing leaf's path. Under `vmap` a predicate computed per example (shape `[]` inside the
 *   mapped function) selects per example. Both branches' costs are paid, and their side effects
 *   (none, for pure functions) happen.
 *
 * Gradient caveat (tensor predicate): the untaken branch is still differentiated. Its cotangent is
 * zero, but a zero times an infinite or NaN local derivative is NaN, and that NaN reaches the
 * gradient through `where`: `cond(x > 0, sqrt, zerosLike, x)` at x = -1 has value 0 but gradient
 * NaN (sqrt's derivative at -1 is NaN). Guard the untaken branch's input as well (the double-`where`
 * pattern): `cond(x > 0, (x) => sqrt(where(x > 0, x, 1)), zerosLike, x)` has gradient 0 there.
 *
 * @example
 * cond(true, (x) => x.mul(2), (x) => x.neg(), x);                // 2x, only the true branch runs
 * const absLike = (x: Tensor) => cond(x.greater(0), (v) => v, (v) => v.neg(), x); // both branches run
 * vmap(absLike)(tensor([-1, 2]));                                // [1, 2]: one predicate per example
 * const larger = jit((x: Tensor, y: Tensor) => cond(x.sum().greater(y.sum()), (a: Tensor) => ({ m: a }), () => ({ m: y }), x));
 */
export function cond<Ops extends unknown[], Out>(
  pred: boolean | Tensor,
  trueFn: (...operands: Ops) => Out,
  falseFn: (...operands: Ops) => Out,
  ...operands: Ops
): Out {
  checkFunction('cond', trueFn, 'trueFn');
  checkFunction('cond', falseFn, 'falseFn');
  if (typeof pred === 'boolean') return pred ? trueFn(...operands) : falseFn(...operands);
  if (!(pred instanceof Tensor)) {
    throw new ArgumentError(`cond: pred must be a JS boolean or a scalar tensor, got ${describeLeaf(pred)}`);
  }
  const p = boolScalar('cond', pred);
  const onTrue = flat(trueFn(...operands));
  const onFalse = flat(falseFn(...operands));
  assertSameAvals('cond: the branches return different outputs', onTrue, onFalse, 'the true branch', 'the false branch', 'with a tensor predicate both branches run and must return the same structure, shapes and dtypes');
  return selectLeaves([onTrue, onFalse], ([t, f]) => where(p, t, f)) as Out;
}

/**
 * `branches[index](...operands)` (JAX's `lax.switch`; `switch` is a reserved word in JS).
 *
 * - `index` a JS integer: only that branch is called; an index outside `[0, branches.length)` is an
 *   `ArgumentError` (a JS value is checked, as everywhere in mixrl).
 * - `index` an integer scalar tensor (`int32` or `uint32`, shape `[]`), concrete or traced: **every
 *   branch is computed** and the results are selected leaf by leaf with `where`, the index clamped
 *   to `[0, n - 1]` as JAX does (-3 takes branch 0, n + 5 the last). As for `cond`, the branches
 *   must then return the same structure, shapes and dtypes, and a NaN or infinite derivative in an
 *   untaken branch reaches the gradient (guard its inputs with `where`).
 *
 * @example
 * const act = (k: Tensor, x: Tensor) => switchCase(k, [relu, tanh, (v: Tensor) => v], x);
 * act(tensor(1, { dtype: 'int32' }), x);   // tanh(x); relu and the identity are computed too
 * switchCase(2, [relu, tanh, sigmoid], x); // sigmoid(x), only that branch runs
 */
export function switchCase<Ops extends unknown[], Out>(
  index: number | Tensor,
  branches: readonly ((...operands: Ops) => Out)[],
  ...operands: Ops
): Out {
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new ArgumentError(`switchCase: branches must be a non-empty array of functions, got ${Array.isArray(branches) ? 'an empty array' : describeLeaf(branches)}`);
  }
  branches.forEach((b, k) => checkFunction('switchCase', b, `branch ${k}`));
  const n = branches.length;
  if (typeof index === 'number') {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ArgumentError(`switchCase: index ${index} is not an integer in [0, ${n - 1}] (${n} branches); a tensor index is clamped instead`);
    }
    return branches[index](...operands);
  }
  if (!(index instanceof Tensor)) {
    throw new ArgumentError(`switchCase: index must be a JS integer or an integer scalar tensor, got ${describeLeaf(index)}`);
  }
  if (index.dtype !== 'int32' && index.dtype !== 'uint32') {
    throw new DTypeError(`switchCase: a tensor index must be int32 or uint32, got ${formatAval(index.aval)}`);
  }
  if (index.ndim !== 0) throw new ShapeError(`switchCase: the index must be a scalar tensor (shape []), got ${formatAval(index.aval)}`);
  if (n === 1) return branches[0](...operands);
  const outs = branches.map((b) => flat(b(...operands)));
  for (let k = 1; k < n; k++) {
    assertSameAvals('switchCase: the branches return different outputs', outs[0], outs[k], 'branch 0', `branch ${k}`, 'with a tensor index every branch runs and all must return the same structure, shapes and dtypes');
  }
  // Clamped selection: the last branch by default, k where index == k, branch 0 where index <= 0.
  const pickK = Array.from({ length: n }, (_, k) => (k === 0 ? lessEqual(index, 0) : k < n - 1 ? equal(index, k) : null));
  return selectLeaves(outs, (leaves) => {
    let out = leaves[n - 1];
    for (let k = n - 2; k >= 0; k--) out = where(pickK[k] as Tensor, leaves[k], out);
    return out;
  }) as Out;
}

// ---------------------------------------------------------------------------------------------
// scan and foriLoop

export interface ScanOptions {
  /** The number of steps: required when `xs` is null, undefined or has no tensor leaves; else it must equal their leading size. */
  length?: number;
  /** Run from the last step to the first (ys stay in the order of xs: `ys[t]` is the output of step t). */
  reverse?: boolean;
}

/** The carry's leaves, checked against the initial carry's after each step. */
function checkCarry(op: string, init: { leaves: readonly unknown[]; def: TreeDef }, next: unknown, step: string): { leaves: unknown[]; def: TreeDef } {
  const out = flat(next);
  assertSameAvals(`${op}: the carry changed ${step}`, init, out, 'the initial carry', 'the returned carry', 'the carry must keep its structure, shapes and dtypes; cast or reshape in the function');
  return out;
}

/**
 * Loops `f(carry, x) -> [carry, y]` over the leading axis of `xs` (JAX's `lax.scan`), returning
 * `[finalCarry, ys]` with the `y`s stacked along a new leading axis (a pytree like `y`).
 *
 * - `xs` is a pytree of tensors sharing their leading size (each step sees one slice of every leaf),
 *   or null/undefined with `length` (f then gets `xs` itself as its `x`: null or undefined).
 * - The carry must keep its structure, shapes and dtypes from step to step; otherwise a
 *   `TransformError` (or `TreeError` for structure) names the step and the leaf's path. `y` must
 *   have tensor leaves of one structure, shape and dtype at every step.
 * - `reverse: true` runs from the last slice to the first; `ys[t]` is still the output for `xs[t]`.
 * - It is a JS loop over the steps (slice each leaf, call f, stack the ys). Under `jit` it unrolls
 *   into the staged program, as JAX's `scan` with `unroll=length`: the program, its trace time and
 *   its compile time grow linearly with `length` (keep long scans out of `jit`, or jit the body).
 *   Gradients flow through it like through any sequence of ops.
 * - `length` 0: nothing runs, and the empty `ys` need `y`'s shapes, so f is traced once without
 *   values (`makeIR`, as JAX traces its body) to learn them; a body that cannot be traced that way
 *   (one that reads values, or returns non-tensor leaves) gets a clear error instead.
 *
 * @example
 * // Cumulative sum: carry the running total, emit it.
 * const [total, cums] = scan((c, x) => { const s = c.add(x); return [s, s]; }, zeros([]), xs);
 * // Discounted returns G_t = r_t + γ G_{t+1}, from the end (returns[t] is G_t).
 * const [, returns] = scan((g, r) => { const G = r.add(g.mul(0.99)); return [G, G]; }, zeros([]), rewards, { reverse: true });
 * // No xs: iterate a map 10 times and keep the trajectory (its first row is s0).
 * const [, traj] = scan((s) => [step(s), s], s0, null, { length: 10 });
 */
export function scan<C, X, Y>(
  f: (carry: Traced<C>, x: Traced<X>) => readonly [Traced<C>, Y],
  init: C,
  xs?: X | null,
  options: ScanOptions = {},
): [Traced<C>, Y] {
  checkFunction('scan', f, 'f');
  if (options === null || typeof options !== 'object') throw new ArgumentError(`scan: options must be an object { length, reverse }, got ${describeLeaf(options)}`);
  const { length, reverse = false } = options;
  if (length !== undefined && (!Number.isInteger(length) || length < 0)) {
    throw new ArgumentError(`scan: length must be a non-negative integer, got ${length}`);
  }
  const x = flat(xs);
  const xPaths = treePaths(x.def);
  let n = length;
  let nFrom = `length ${length}`;
  x.leaves.forEach((leaf, i) => {
    if (!(leaf instanceof Tensor)) throw new TransformError(`scan: xs${at(xPaths[i])} is ${describeLeaf(leaf)}, not a tensor (every leaf of xs is sliced along its leading axis)`);
    if (leaf.ndim === 0) throw new ShapeError(`scan: xs${at(xPaths[i])} is a scalar ${formatAval(leaf.aval)}; every leaf of xs needs a leading axis to scan over`);
    const here = `xs${at(xPaths[i])} ${formatAval(leaf.aval)} has leading size ${leaf.shape[0]}`;
    if (n === undefined) {
      n = leaf.shape[0];
      nFrom = here;
    } else if (leaf.shape[0] !== n) {
      throw new ShapeError(`scan: the leading sizes differ: ${nFrom}, but ${here}`);
    }
  });
  if (n === undefined) throw new ArgumentError('scan: xs has no tensor leaves, so the number of steps is unknown; pass { length }');
  const carry0 = flat(init);
  if (n === 0) return emptyScan(f as (carry: unknown, x: unknown) => readonly [unknown, Y], init, xs, x, carry0) as [Traced<C>, Y];

  let carry = init as unknown as Traced<C>;
  let yFirst: { leaves: unknown[]; def: TreeDef } | undefined;
  const ys: unknown[][] = [];
  for (let k = 0; k < n; k++) {
    const t = reverse ? n - 1 - k : k;
    const xt = x.leaves.length === 0 ? xs : treeUnflatten(x.def, x.leaves.map((leaf) => slice(leaf as Tensor, t)));
    const step = reverse ? `at step ${k} (xs index ${t}, reverse)` : `at step ${t}`;
    const [nextCarry, y] = pairOf<Traced<C>, Y>(f(carry, xt as Traced<X>), step);
    checkCarry('scan', carry0, nextCarry, step);
    carry = nextCarry;
    const yt = flat(y);
    if (yFirst === undefined) {
      yFirst = yt;
      const paths = treePaths(yt.def);
      yt.leaves.forEach((leaf, i) => {
        if (!(leaf instanceof Tensor)) throw new TransformError(`scan: y${at(paths[i])} is ${describeLeaf(leaf)} ${step}, not a tensor (the ys are stacked, so their leaves must be tensors)`);
      });
    } else {
      assertSameAvals(`scan: y changed ${step}`, yFirst, yt, `the first step's y`, `this step's y`, 'every step must emit the same structure, shapes and dtypes');
    }
    ys[t] = yt.leaves;
  }
  const yDef = (yFirst as { def: TreeDef }).def;
  const stacked = (yFirst as { leaves: unknown[] }).leaves.map((_, i) => stack(ys.map((leaves) => leaves[i] as Tensor), 0));
  return [carry, treeUnflatten<Y>(yDef, stacked)];
}

/** `f`'s result as `[carry, y]`, or an error naming scan and the step. */
function pairOf<C, Y>(out: unknown, step: string): readonly [C, Y] {
  if (!Array.isArray(out) || out.length !== 2) {
    throw new TransformError(`scan: f must return [carry, y], got ${Array.isArray(out) ? `an array of ${out.length}` : describeLeaf(out)} ${step}`);
  }
  return out as unknown as readonly [C, Y];
}

/** A scan of no steps: `init`, and ys of `[0, ...]` shaped like y, found by tracing f without values. */
function emptyScan<C, X, Y>(
  f: (carry: C, x: X) => readonly [C, Y],
  init: C,
  xs: X | null | undefined,
  x: { leaves: unknown[]; def: TreeDef },
  carry0: { leaves: unknown[]; def: TreeDef },
): [C, Y] {
  const refuse = (why: string): never => {
    throw new TransformError(
      `scan: cannot run a scan of length 0 here: its empty ys need the shapes of y, which come from tracing f once without values, and ${why}`,
    );
  };
  const tensorAt = carry0.leaves.map((l) => l instanceof Tensor);
  const carryTensors = carry0.leaves.filter((l): l is Tensor => l instanceof Tensor);
  // makeIR reads only the avals (and the first leaf's backend) of its arguments: dummies of one slice's shape stand for x.
  const xDummies = x.leaves.map((leaf) => {
    const t = leaf as Tensor;
    return zeros(t.shape.slice(1), { dtype: t.dtype, backend: t.backend });
  });
  let yTree: { leaves: unknown[]; def: TreeDef } | undefined;
  const body = (cs: Tensor[], xsT: Tensor[]): Tensor[] => {
    let c = 0;
    const carry = treeUnflatten<C>(carry0.def, carry0.leaves.map((l, i) => (tensorAt[i] ? cs[c++] : l)));
    const xt = x.leaves.length === 0 ? xs : treeUnflatten<X>(x.def, xsT);
    const [nextCarry, y] = pairOf<C, Y>(f(carry, xt as X), 'when traced for length 0');
    const next = checkCarry('scan', carry0, nextCarry, 'when traced for length 0');
    yTree = flat(y);
    const paths = treePaths(yTree.def);
    yTree.leaves.forEach((leaf, i) => {
      if (!(leaf instanceof Tensor)) refuse(`y${at(paths[i])} is ${describeLeaf(leaf)}, not a tensor`);
    });
    return [...next.leaves.filter((l): l is Tensor => l instanceof Tensor), ...(yTree.leaves as Tensor[])];
  };
  try {
    makeIR(body, 'scan (length 0)')(carryTensors, xDummies);
  } catch (e) {
    // The carry and y checks' own errors stand as they are; tracing failures become a refusal.
    if ((e instanceof TransformError || e instanceof TreeError) && e.message.startsWith('scan:')) throw e;
    refuse(`that failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const y = yTree as { leaves: Tensor[]; def: TreeDef };
  const backend = backendOf(init, xs);
  const empty = y.leaves.map((leaf) => zeros([0, ...leaf.shape], { dtype: leaf.dtype, backend }));
  return [init, treeUnflatten<Y>(y.def, empty)];
}

/**
 * `body(i, carry)` for i = lower, ..., upper - 1, threading the carry (JAX's `lax.fori_loop`);
 * returns the final carry (`init` when upper <= lower). The bounds are JS integers; `i` is passed
 * as an int32 scalar tensor (as in JAX) on the carry's backend, so the body can use it in tensor
 * math (`i.cast('float32')`, an index into `take`). The carry must keep its structure, shapes and
 * dtypes (otherwise an error names the step and the leaf). A JS loop: under `jit` it unrolls into
 * the staged program, which grows with `upper - lower` (as JAX's fori_loop with static bounds,
 * lowered to a scan, and `unroll` equal to its length).
 *
 * @example
 * // x_{k+1} = x_k / 2 + k, for k = 0..4
 * foriLoop(0, 5, (i, x) => x.div(2).add(i.cast('float32')), tensor(8));
 * // 10 steps of gradient descent on a pytree of params
 * foriLoop(0, 10, (_, p) => treeMap((w: Tensor, g: Tensor) => w.sub(g.mul(0.1)), p, grad(loss)(p)), params);
 */
export function foriLoop<C>(lower: number, upper: number, body: (i: Tensor, carry: Traced<C>) => Traced<C>, init: C): Traced<C> {
  for (const [name, v] of [['lower', lower], ['upper', upper]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) {
      const given: unknown = v;
      const traced = given instanceof Tensor && given.weak ? ' (a number argument jit traces: pass it through staticArgnums)' : '';
      throw new ArgumentError(`foriLoop: ${name} must be a JS integer within int32, got ${describeLeaf(v)}${traced}; a loop bound cannot be a tensor (the loop is unrolled)`);
    }
  }
  checkFunction('foriLoop', body, 'body');
  const carry0 = flat(init);
  const backend = backendOf(init);
  let carry = init as unknown as Traced<C>;
  for (let i = lower; i < upper; i++) {
    carry = body(full([], i, { dtype: 'int32', backend }), carry);
    checkCarry('foriLoop', carry0, carry, `at step i = ${i}`);
  }
  return carry;
}

// ---------------------------------------------------------------------------------------------
// whileLoop

/** The truth of a loop condition, read now; refuses values that cannot be read synchronously. */
function readCondition(pred: unknown, step: number): boolean {
  if (typeof pred === 'boolean') return pred;
  if (!(pred instanceof Tensor)) {
    throw new ArgumentError(`whileLoop: condFn must return a JS boolean or a scalar tensor, got ${describeLeaf(pred)} at step ${step}`);
  }
  if (pred.ndim !== 0) throw new ShapeError(`whileLoop: condFn must return a scalar (shape []), got ${formatAval(pred.aval)} at step ${step}`);
  let concrete;
  try {
    concrete = pred.concrete();
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    const inside = pred instanceof Tracer ? ` inside ${pred.interpreter.name}` : '';
    throw new ConcretizationError(
      `whileLoop: the loop condition is a traced ${formatAval(pred.aval)}${inside}, whose value does not exist while the program is traced (${e.message}). ` +
        'A loop whose number of steps depends on data cannot be traced into a program of fixed length; use foriLoop or scan with a fixed bound ' +
        '(masking the steps past the end with where or cond), or run whileLoop outside jit/vmap.',
    );
  }
  if (!concrete.backend.readSync) {
    throw new BackendError(
      `whileLoop: the loop condition is a ${formatAval(pred.aval)} on the ${concrete.backend.name} backend, which reads values only asynchronously, so it cannot decide a synchronous loop; ` +
        'compute the condition on the CPU or as a JS boolean, loop in JS with await t.item(), or use foriLoop/scan with a fixed bound.',
    );
  }
  const v = concrete.dataSync()[0];
  return v !== 0;
}

/**
 * `while (condFn(carry)) carry = body(carry)`, returning the final carry (JAX's `lax.while_loop`).
 *
 * `condFn` returns a JS boolean or a scalar tensor whose value can be read synchronously: a concrete
 * CPU tensor, or a value under `grad`/`jvp` (which carry their values, as in JAX, so the loop runs
 * and is differentiated as the ops it ran). Nonzero (and NaN) is true. Where the condition is traced,
 * with no value yet (under `jit`, `vmap`, `makeIR`), the loop cannot decide how many steps to stage:
 * a `ConcretizationError` says so and suggests `foriLoop` or `scan` with a fixed bound. A condition
 * on WebGPU (read only asynchronously) is refused with a `BackendError`. The carry must keep its
 * structure, shapes and dtypes.
 *
 * @example
 * // Halve until below 1 (eager, CPU).
 * whileLoop((x) => x.greaterEqual(1), (x) => x.div(2), tensor(20)); // 0.625
 * // Newton's method for sqrt(2) until converged; the carry is a pytree.
 * whileLoop(
 *   ({ x, prev }: { x: Tensor; prev: Tensor }) => x.sub(prev).abs().greater(1e-6),
 *   ({ x }) => ({ x: x.add(x.reciprocal().mul(2)).div(2), prev: x }),
 *   { x: tensor(1), prev: tensor(0) },
 * );
 * // Under grad the condition has a value, so the loop runs and is differentiated as unrolled.
 * grad((x: Tensor) => whileLoop((v: Tensor) => v.less(10), (v) => v.mul(2), x))(tensor(3)); // 4: 3 -> 6 -> 12
 * // jit(x => whileLoop(...)) throws a ConcretizationError: use foriLoop or scan with a bound.
 */
export function whileLoop<C>(condFn: (carry: Traced<C>) => boolean | Tensor, body: (carry: Traced<C>) => Traced<C>, init: C): Traced<C> {
  checkFunction('whileLoop', condFn, 'condFn');
  checkFunction('whileLoop', body, 'body');
  const carry0 = flat(init);
  let carry = init as unknown as Traced<C>;
  for (let step = 0; readCondition(condFn(carry), step); step++) {
    carry = body(carry);
    checkCarry('whileLoop', carry0, carry, `at step ${step}`);
  }
  return carry;
}
