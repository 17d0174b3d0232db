/**
 * Staging to an IR. `makeIR(f)(...args)` runs f on abstract tracers and records each primitive
 * application as an equation, like a jaxpr: static shapes and dtypes, explicit constants, nothing
 * hidden in closures. `evalIR` runs a program under whatever transformations are active, and `jit`
 * compiles the same programs.
 */
import * as T from '../tensor';
import {
  abstractEval,
  ArrayTensor,
  type Aval,
  type Backend,
  defaultBackend,
  formatAval,
  type Interpreter,
  MixrlError,
  newLevel,
  type Params,
  type Primitive,
  type Shape,
  type DType,
  Tensor,
  Tracer,
} from '../tensor';
import { type TreeDef, treeFlatten, treePaths, treeUnflatten } from './pytree';

/** A variable of the IR: defined once, by an input, a constant or an equation. */
export interface IRVar {
  readonly id: number;
  readonly aval: Aval;
}

export interface Equation {
  readonly prim: Primitive;
  readonly inputs: readonly IRVar[];
  readonly params: Params<Primitive>;
  readonly out: IRVar;
}

/** A staged program: `outputs = equations(inputs, constants)`. */
export interface IRProgram {
  readonly inputs: readonly IRVar[];
  /** Values captured from outside: concrete tensors, or tracers of enclosing transformations. */
  readonly constants: readonly { readonly v: IRVar; readonly value: Tensor }[];
  readonly equations: readonly Equation[];
  readonly outputs: readonly IRVar[];
  readonly inTree: TreeDef;
  readonly outTree: TreeDef;
  /** The jaxpr-like listing. */
  toString(): string;
}

/** Raised when a staged value is read (its value does not exist until the program runs). */
export class ConcretizationError extends MixrlError {
  constructor(message: string) {
    super('concretization', message);
  }
}

class IRTracer extends Tracer {
  constructor(
    readonly interpreter: IRBuilder,
    readonly v: IRVar,
    private readonly isWeak = false,
  ) {
    super();
  }
  override get weak(): boolean {
    return this.isWeak;
  }
  get shape(): Shape {
    return this.v.aval.shape;
  }
  get dtype(): DType {
    return this.v.aval.dtype;
  }
  get backend(): Backend {
    return this.interpreter.backend;
  }
  override concrete(): ArrayTensor {
    throw new ConcretizationError(
      `cannot read the value of a staged ${formatAval(this.v.aval)} inside ${this.interpreter.name}: values exist only when the program runs (use where() instead of if on tensor values)`,
    );
  }
  /**
   * A weak tracer stands for a number argument of `jit`, which the function may use as a JS number:
   * `k * 2` or `k > 0` would silently stage NaN or false, so they throw, naming the way out.
   */
  override [Symbol.toPrimitive](hint: 'string' | 'number' | 'default'): string {
    if (!this.isWeak || hint === 'string') return this.toString();
    throw new ConcretizationError(
      `${this.interpreter.name}: a number or boolean argument is traced as a weak-typed scalar (${formatAval(this.v.aval)}), ` +
        'whose value exists only when the program runs, and was used in JS arithmetic or a comparison; ' +
        'compute with the ops instead (mul, greater, where, ...), or pass the argument through staticArgnums (one trace per value)',
    );
  }
}

class IRBuilder implements Interpreter {
  readonly level = newLevel();
  private nextId = 0;
  readonly equations: Equation[] = [];
  readonly constants: { v: IRVar; value: Tensor }[] = [];
  private readonly constantVars = new Map<Tensor, IRVar>();
  /** Set once staging is over; the program must not grow afterwards. */
  closed = false;

  constructor(
    readonly name: string,
    readonly backend: Backend,
  ) {}

  newVar(aval: Aval): IRVar {
    return { id: this.nextId++, aval: { shape: aval.shape, dtype: aval.dtype } };
  }

  input(aval: Aval, weak: boolean): IRTracer {
    return new IRTracer(this, this.newVar(aval), weak);
  }

  varOf(x: Tensor): IRVar {
    if (x instanceof IRTracer && x.interpreter === this) return x.v;
    let v = this.constantVars.get(x);
    if (!v) {
      v = this.newVar(x.aval);
      this.constantVars.set(x, v);
      this.constants.push({ v, value: x });
    }
    return v;
  }

  process<P extends Primitive>(prim: P, inputs: readonly Tensor[], params: Params<P>): Tensor {
    if (this.closed) {
      throw new ConcretizationError(
        `${prim}: a value staged by ${this.name} was used after ${this.name} returned (it escaped the staged function, e.g. through a closure); it has no value outside the program`,
      );
    }
    const vars = inputs.map((x) => this.varOf(x));
    const out = this.newVar(abstractEval(prim, vars.map((v) => v.aval), params));
    this.equations.push({ prim, inputs: vars, params: params as Params<Primitive>, out });
    return new IRTracer(this, out);
  }
}

/**
 * Stages `f` into an IR program for inputs shaped like `args` (their values are not used).
 *
 * @example
 * const ir = makeIR((x: Tensor, y: Tensor) => x.mul(y).sum())(zeros([3]), zeros([3]));
 * console.log(String(ir));
 * // { lambda ; a:f32[3] b:f32[3]. let
 * //     c:f32[3] = mul a b
 * //     d:f32[] = reduceSum[axes=[0]] c
 * //   in (d) }
 */
export function makeIR<Args extends unknown[]>(f: (...args: Args) => unknown, name = 'makeIR'): (...args: Args) => IRProgram {
  return (...args: Args) => {
    const [leaves, inTree] = treeFlatten(args);
    const first = leaves.find((x): x is Tensor => x instanceof Tensor);
    const builder = new IRBuilder(name, first?.backend ?? defaultBackend());
    const inputTracers = leaves.map((x) => {
      if (!(x instanceof Tensor)) throw new MixrlError('argument', `${name}: every argument leaf must be a tensor, got ${typeof x}`);
      return builder.input(x.aval, x.weak);
    });
    let result: unknown;
    try {
      result = f(...treeUnflatten<Args>(inTree, inputTracers));
    } catch (e) {
      builder.closed = true;
      throw e;
    }
    const [outLeaves, outTree] = treeFlatten(result);
    const paths = treePaths(outTree);
    const outputs = outLeaves.map((x, i) => {
      if (!(x instanceof Tensor)) {
        const where = paths[i] === '(root)' ? 'the output' : `output ${paths[i]}`;
        builder.closed = true;
        throw new MixrlError('argument', `${name}: ${where} is ${x === null ? 'null' : typeof x}, not a tensor (a staged function returns tensors; make a number one with tensor(value), or return it from outside)`);
      }
      return builder.varOf(x);
    });
    builder.closed = true;
    const program: IRProgram = {
      inputs: inputTracers.map((t) => t.v),
      constants: builder.constants,
      equations: builder.equations,
      outputs,
      inTree,
      outTree,
      toString: () => formatProgram(program),
    };
    return program;
  };
}

/**
 * Runs a program on concrete tensors or tracers (so it can be differentiated or staged again).
 *
 * @example
 * const [out] = evalIR(ir, [x, y]);
 */
export function evalIR(program: IRProgram, inputs: readonly Tensor[]): Tensor[] {
  // The equations were shape-checked for the staged avals only: a mismatching input would crash, or
  // broadcast and silently compute a different function.
  if (inputs.length !== program.inputs.length) {
    throw new MixrlError('argument', `evalIR: the program takes ${program.inputs.length} inputs, got ${inputs.length}`);
  }
  program.inputs.forEach((v, i) => {
    const x = inputs[i];
    if (!(x instanceof Tensor) || x.dtype !== v.aval.dtype || x.shape.join() !== v.aval.shape.join()) {
      throw new MixrlError('argument', `evalIR: input ${i} must be ${formatAval(v.aval)}, got ${x instanceof Tensor ? formatAval(x.aval) : typeof x}`);
    }
  });
  const env = new Map<IRVar, Tensor>();
  program.inputs.forEach((v, i) => env.set(v, inputs[i]));
  for (const { v, value } of program.constants) env.set(v, value);
  for (const eq of program.equations) {
    env.set(eq.out, T.bind(eq.prim, eq.inputs.map((v) => env.get(v) as Tensor), eq.params));
  }
  return program.outputs.map((v) => env.get(v) as Tensor);
}

/** Variable names a, b, ..., z, ba, bb, ... as in jaxprs. */
function varName(id: number): string {
  let s = '';
  let n = id;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  } while (n > 0);
  return s;
}

function formatParams(params: object): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return '';
  const show = (v: unknown): string =>
    Array.isArray(v) ? `[${v.join(',')}]` : typeof v === 'object' && v !== null ? `{${Object.entries(v).map(([k, w]) => `${k}=${show(w)}`).join(' ')}}` : String(v);
  return `[${entries.map(([k, v]) => `${k}=${show(v)}`).join(' ')}]`;
}

/**
 * The smallest id above every variable of `program` (inputs, constants, equations' outputs): where a
 * pass that adds equations numbers its new variables.
 *
 * @example
 * let nextId = firstFreeVarId(program);
 * const zero: IRVar = { id: nextId++, aval: { shape: [], dtype: 'float32' } };
 */
export function firstFreeVarId(program: Pick<IRProgram, 'inputs' | 'constants' | 'equations'>): number {
  let next = 0;
  for (const v of program.inputs) next = Math.max(next, v.id + 1);
  for (const { v } of program.constants) next = Math.max(next, v.id + 1);
  for (const eq of program.equations) next = Math.max(next, eq.out.id + 1);
  return next;
}

/** The jaxpr-like listing of a program. */
export function formatProgram(p: IRProgram): string {
  const typed = (v: IRVar) => `${varName(v.id)}:${formatAval(v.aval)}`;
  const consts = p.constants.map((c) => typed(c.v)).join(' ');
  const lines = [`{ lambda ${consts}${consts ? ' ' : ''}; ${p.inputs.map(typed).join(' ')}. let`];
  for (const eq of p.equations) {
    lines.push(`    ${typed(eq.out)} = ${eq.prim}${formatParams(eq.params)} ${eq.inputs.map((v) => varName(v.id)).join(' ')}`);
  }
  lines.push(`  in (${p.outputs.map((v) => varName(v.id)).join(', ')}) }`);
  return lines.join('\n');
}
