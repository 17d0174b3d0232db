/**
 * `jit(f)`: stage a pure function once per input signature and replay the compiled plan.
 *
 * The signature is the tree structure of the non-static arguments, each leaf's shape, dtype and
 * backend, and the static arguments compared by value (`staticKey`). On the CPU the staged program is
 * optimized (constant folding, common subexpressions, dead code) and compiled to a plan of fused
 * loops over reused buffers (`plan-cpu.ts`). On WebGPU each fused group becomes one generated WGSL
 * kernel and a call is one batch of dispatches (`plan-webgpu.ts`). On other backends the optimized
 * program is evaluated equation by equation (correct, not faster).
 *
 * Under a transformation (an argument is a tracer, as in `grad(jit(f))`) the plan is not run: the
 * staged program is evaluated with `evalIR`, so the outer transformation sees every primitive. A
 * program that called a `customVjp` function lost its rule (staging keeps the forward only), so
 * there f itself runs, and the outer `grad` applies the rule, as in eager mode. Values
 * the function captures from outside are baked into the program when it is traced (as in JAX); a
 * program that captured a tracer of an enclosing transformation is evaluated and not cached.
 *
 * A call with concrete arguments first tries the signatures it has recently compiled (`FastEntry`):
 * each one's generated matcher (`match.ts`) checks the arguments' structure and each leaf's shape,
 * dtype and backend, collecting leaves as it goes, so a cache hit builds no signature string and no
 * tree description. Only a miss takes the general path (flatten, signature string, map).
 */
import { ArrayTensor, type Backend, cpu, defaultBackend, type DType, formatAval, MixrlError, tensor, Tensor, Tracer, WebGPUBackend, weakFloatDtype } from '../../tensor';
import { evalIR, type IRProgram, makeIR } from '../ir';
import { type TreeDef, treeBuilder, treeFlatten, treeLeafCount, treeUnflatten } from '../pytree';
import { argumentsMatcher, type ArgumentsMatcher, weakLeafDtype } from './match';
import { staticKey } from './static-key';
import { checkTransform } from '../vjp';
import { customVjpCalls } from '../custom-vjp';
import { type OptimizeStats, optimizeProgram } from './optimize';
import { compileCpuPlan, type CpuPlan, type PlanStats } from './plan-cpu';
import { compileWebGPUPlan, type WebGPUPlan } from './plan-webgpu';

export type { PlanStats } from './plan-cpu';
export type { OptimizeStats } from './optimize';
export { type CpuProfile, type PlanProfile, profileCpu, type StepTime } from './profile-cpu';

export interface JitOptions {
  /**
   * Positional arguments that are not tensors, numbers or booleans, or numbers and booleans the
   * function uses as JS values (arithmetic, `if`, shapes, loop bounds) or that should pick a plan of
   * their own: part of the signature, compared by value
   * (`staticKey`: numbers, strings, booleans, bigints, null, undefined, arrays and plain objects of
   * them; functions, tensors and class instances are refused).
   */
  staticArgnums?: number | readonly number[];
  /**
   * Positional arguments the caller gives up (as in JAX): their tensors are disposed after each call
   * (a later use throws, naming this function), and on the CPU an output of the same shape and dtype
   * reuses a donated tensor's memory, so a training loop `state = step(state, ...)` copies its state
   * neither in nor out of the plan.
   */
  donateArgnums?: number | readonly number[];
  /** Shown in the debug log and step profiles (`profileCpu`) (default: the function's name). */
  name?: string;
  /**
   * Signatures kept compiled (default 32, `Infinity` for no bound). Past it, the least recently
   * called signature's plan is dropped (its memory freed once collected) and traced again if called
   * again; the first drop warns once, since shapes that change call by call retrace every time.
   */
  cacheSize?: number;
}

/** Compiled signatures a jitted function keeps unless told otherwise (`JitOptions.cacheSize`). */
export const DEFAULT_JIT_CACHE_SIZE = 32;

/** What a jitted function has done so far. */
export interface JitStats {
  /** Times the function was traced (once per new signature). */
  readonly traceCount: number;
  /** Signatures cached. */
  readonly cacheSize: number;
  /** Compiled signatures dropped to stay within `JitOptions.cacheSize`. */
  readonly evictions: number;
  /** Of the most recently compiled signature: what optimization removed and what the CPU plan does. */
  readonly lastOptimization?: OptimizeStats;
  readonly lastPlan?: PlanStats;
}

interface Compiled {
  readonly program: IRProgram;
  readonly optimized: IRProgram;
  readonly plan: CpuPlan | WebGPUPlan | null;
  /** Per input leaf: whether it belongs to a donated argument. */
  readonly donated: readonly boolean[];
  /** The outputs' tree from their leaves (`treeBuilder` of the program's output structure). */
  readonly rebuild: (leaves: readonly unknown[]) => unknown;
  /** The outputs that are a number or boolean argument itself, as [output, leaf]: returned as given (`plainOutputsOf`). */
  readonly plainOutputs: readonly PlainOutput[];
  /** Tracing called a `customVjp` function: under a transformation f runs itself, not the program. */
  readonly customRules: boolean;
  /** The function's call count when this signature was last called (which to drop first). */
  lastCall: number;
}

/**
 * A compiled signature in the form a call can be checked against without building its string: the
 * structure of the dynamic arguments (an array of them), each leaf's shape, dtype and backend
 * (compared by identity, stricter than the signature's backend name), and the static arguments
 * (primitives compared with `Object.is`, anything else by its `staticKey`).
 */
interface FastEntry {
  readonly argCount: number;
  /** The structure and the leaves' shapes, dtypes and backends (`argumentsMatcher`). */
  readonly match: ArgumentsMatcher;
  /** Where `match` writes a call's leaves: one array for every call (the plan reads it before any user code runs again). */
  readonly leaves: ArrayTensor[];
  /** The leaves that are plain numbers or booleans, made weak scalars of these dtypes (`weakScalar`). */
  readonly weakLeaves: readonly { readonly index: number; readonly dtype: DType }[];
  /** Where the weak scalars live: the tensor leaves' backend, or (`weakOnDefault`, no tensor leaf) the default backend when compiled. */
  readonly weakBackend: Backend;
  readonly weakOnDefault: boolean;
  readonly statics: readonly unknown[];
  readonly staticKey: string;
  readonly compiled: Compiled;
}

/** What a cached entry's `leaves` hold between calls. */
const NO_LEAF = undefined as unknown as ArrayTensor;

/** Recently used signatures tried before the general path, most recent first. */
const FAST_ENTRIES = 8;

interface JitState {
  traceCount: number;
  calls: number;
  evictions: number;
  readonly cache: Map<string, Compiled>;
  readonly fast: FastEntry[];
  lastOptimization?: OptimizeStats;
  lastPlan?: PlanStats;
}

const states = new WeakMap<object, JitState>();

const debugJit = (): boolean =>
  typeof process !== 'undefined' && (process.env.MIXRL_DEBUG ?? '').split(',').some((s) => s.trim() === 'jit');

/** `staticArgnums` / `donateArgnums` as a set of argument positions (non-negative integers). */
function argnumsOf(option: number | readonly number[] | undefined, key: string, name: string): Set<number> {
  const list = typeof option === 'number' ? [option] : (option ?? []);
  if (!Array.isArray(list)) throw new MixrlError('argument', `jit(${name}): ${key} must be an argument index or an array of them, got ${String(option)}`);
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0) throw new MixrlError('argument', `jit(${name}): ${key} must hold argument indices (integers 0 or more), got ${String(i)}`);
  }
  return new Set(list);
}

/**
 * A call's leaves as tensors: plain numbers and booleans become weak scalars (`Tensor.weak`: next to
 * a tensor they take its dtype, as in eager mode) on the backend of the first tensor leaf, or the
 * default backend if there is none; anything else that is not a tensor is refused.
 */
function leafTensors(leaves: readonly unknown[], name: string): Tensor[] {
  const backend = (leaves.find((x) => x instanceof Tensor) as Tensor | undefined)?.backend ?? defaultBackend();
  return leaves.map((x, i) => {
    if (x instanceof Tensor) return x;
    if (typeof x === 'number' || typeof x === 'boolean') return weakScalar(x, weakLeafDtype(x, weakFloatDtype(backend)), backend);
    throw new MixrlError(
      'argument',
      `jit(${name}): argument leaf ${i} is ${typeof x}, not a tensor, number or boolean; pass other arguments through staticArgnums`,
    );
  });
}

/** A plain number or boolean argument as the weak scalar a jitted function sees. */
const weakScalar = (value: number | boolean, dtype: DType, backend: Backend): ArrayTensor => tensor(value, { dtype, backend }).markedWeak();

/**
 * Refuses a boolean argument that no op of the trace reads: a JS `if`, `?:`, `&&` or `!` on it saw the
 * weak scalar, an object, which is always truthy, so the plan would hold the branch `true` takes for
 * every value. Numbers refuse JS arithmetic themselves (`IRTracer`'s `Symbol.toPrimitive`), but not
 * `===` or truthiness: an unread number gets a warning (it may simply be unused).
 */
function checkPlainUsed(program: IRProgram, rawLeaves: readonly unknown[], name: string): void {
  const used = new Set(program.outputs);
  for (const eq of program.equations) for (const v of eq.inputs) used.add(v);
  rawLeaves.forEach((x, i) => {
    if (used.has(program.inputs[i])) return;
    if (typeof x === 'number') {
      // Unread: unused, or only compared or tested in JS, where the traced value is an object.
      console.warn(
        `[mixrl jit] ${name}: number argument leaf ${i} is read by no op of the trace; a JS ===, ?: or if on it saw a traced value (an object), not ${x}: ` +
          'if the function branches on it, pass it through staticArgnums',
      );
      return;
    }
    if (typeof x !== 'boolean') return;
    throw new MixrlError(
      'argument',
      `jit(${name}): boolean argument leaf ${i} is read by no op of the trace; a JS if, ?: or && on it sees a traced value, always true. ` +
        'Pass the argument through staticArgnums (one trace per value), or use it through the ops (where, cond, logicalAnd)',
    );
  });
}

/** An output that is a plain number or boolean argument itself: [output index, leaf index]. */
type PlainOutput = readonly [output: number, leaf: number];

/**
 * The outputs that are a plain argument's weak scalar itself (the function returned the number, not a
 * computation on it, not `asTensor(k)`, which casts): a call returns the argument there, as eager mode.
 */
function plainOutputsOf(program: IRProgram, plain: readonly boolean[]): PlainOutput[] {
  const found: PlainOutput[] = [];
  program.outputs.forEach((v, output) => {
    const leaf = program.inputs.indexOf(v);
    if (leaf >= 0 && plain[leaf]) found.push([output, leaf]);
  });
  return found;
}

/** `outputs` with the arguments given (`raw`, leaves in flatten order) at the outputs that are plain arguments. */
function withPlainOutputs(outputs: readonly Tensor[], plainOutputs: readonly PlainOutput[], raw: readonly unknown[]): readonly unknown[] {
  if (plainOutputs.length === 0) return outputs;
  const values: unknown[] = outputs.slice();
  for (const [output, leaf] of plainOutputs) values[output] = raw[leaf];
  return values;
}

/** The signature of a call whose leaves are `tensors` (numbers made weak scalars by `leafTensors`). */
function signatureOf(tree: TreeDef, tensors: readonly Tensor[], plain: readonly boolean[], staticsKey: string): string {
  // A plain number is returned as given where it is an output: not the same signature as a weak tensor's.
  const parts = tensors.map((x, i) => `${plain[i] ? 'plain ' : x.weak ? 'weak ' : ''}${formatAval(x.aval)}@${x.backend.name}`);
  // Without tensor arguments the ops make their tensors on the default backend: part of the signature.
  const where = tensors.length === 0 ? `@${defaultBackend().name}` : '';
  return `${JSON.stringify(tree)}|${parts.join(' ')}${where}|${staticsKey}`;
}

/**
 * Compiles `f` (a pure function of pytrees of tensors, possibly built with `grad`/`valueAndGrad`)
 * per input signature and replays the compiled plan on later calls with the same signature. Retraces
 * are counted (`jitStats`) and logged under `MIXRL_DEBUG=jit`.
 *
 * A plain number or boolean among the dynamic arguments is traced as a weak-typed scalar
 * (`Tensor.weak`, as JAX does): `f` sees a tensor, which next to another tensor takes that tensor's
 * dtype, as the number would in eager mode, so a new value replays the plan. Integers int32 holds,
 * other numbers and booleans are three kinds of signature (an integer after a fraction retraces once).
 * Fractions are held in float64 where the backend has it, so a float64 program sees the full number.
 * Where eager mode would refuse an integer too large for an integer tensor, the traced number makes
 * float32; a negative integer next to a uint32 tensor wraps; and -0, an integer, loses its sign. An
 * output that is the argument itself is returned as given, the number. What only a JS value allows
 * needs `staticArgnums`: JS arithmetic or comparisons on the traced scalar throw a
 * `ConcretizationError`, a boolean no op reads (a JS `if` on it sees an object, always true) is
 * refused, a number no op reads is warned of (`===`, `?:` and `if` on it see an object and cannot
 * throw: `k === 0 ? a : b` stages `b` for every k), and `cond`/`switchCase` given one stage every
 * branch.
 *
 * @example
 * const step = jit((w: Tensor, x: Tensor) => grad((v: Tensor) => matmul(x, v).square().mean())(w));
 * const g = step(w, x); // traces and compiles
 * step(w2, x2);         // same shapes: replays the plan
 * const scale = jit((x: Tensor, k: Tensor | number) => mul(x, k));
 * scale(x, 0.5); scale(x, 0.25); // one trace: k is a weak-typed scalar, f32 next to x's f32
 * const power = jit((x: Tensor, n: number) => x.pow(n), { staticArgnums: 1 }); // one trace per n
 */
export function jit<Args extends unknown[], R>(f: (...args: Args) => R, options: JitOptions = {}): (...args: Args) => R {
  checkTransform('jit', f, options, ['staticArgnums', 'donateArgnums', 'name', 'cacheSize']);
  const name = options.name ?? (f.name || 'anonymous');
  // Its ops after an await would run after the trace ended (and use its finished tracers).
  if (f.constructor.name === 'AsyncFunction') {
    throw new MixrlError('argument', `jit(${name}): f is an async function; jit traces a synchronous one (await WebGPU reads outside it)`);
  }
  const statics = argnumsOf(options.staticArgnums, 'staticArgnums', name);
  const donating = argnumsOf(options.donateArgnums, 'donateArgnums', name);
  const highest = Math.max(-1, ...statics, ...donating);
  /** The static arguments' positions in a call of `count` arguments (which must reach every argnum given). */
  const staticPositions = (count: number): number[] => {
    if (highest >= count) {
      const option = statics.has(highest) ? 'staticArgnums' : 'donateArgnums';
      throw new MixrlError('argument', `jit(${name}): ${option} names argument ${highest}, but the call has ${count} argument${count === 1 ? '' : 's'}`);
    }
    return [...statics].filter((i) => i < count).sort((a, b) => a - b);
  };
  for (const i of donating) {
    if (statics.has(i)) throw new MixrlError('argument', `jit(${name}): argument ${i} cannot be both static and donated`);
  }
  const cacheSize = options.cacheSize ?? DEFAULT_JIT_CACHE_SIZE;
  if (!(cacheSize === Infinity || (Number.isInteger(cacheSize) && cacheSize >= 1))) {
    throw new MixrlError('argument', `jit(${name}): cacheSize must be a positive integer or Infinity, got ${String(options.cacheSize)}`);
  }
  const state: JitState = { traceCount: 0, calls: 0, evictions: 0, cache: new Map(), fast: [] };

  /** The staged program, and whether tracing called a `customVjp` function (whose rule it lost). */
  const trace = (args: Args, dynamic: unknown[], signature: string): [IRProgram, boolean] => {
    state.traceCount++;
    if (debugJit()) console.error(`[mixrl jit] tracing ${name} (trace ${state.traceCount}) for ${signature}`);
    const withStatics = (...dyn: unknown[]) => {
      let d = 0;
      return f(...(args.map((a, i) => (statics.has(i) ? a : dyn[d++])) as Args));
    };
    const before = customVjpCalls();
    const program = makeIR(withStatics, `jit(${name})`)(...dynamic);
    return [program, customVjpCalls() !== before];
  };

  /** The recent entry this call matches (its leaves left in the entry's `leaves`), or undefined. */
  const lookup = (args: Args): FastEntry | undefined => {
    const { fast } = state;
    for (let e = 0; e < fast.length; e++) {
      const entry = fast[e];
      if (args.length !== entry.argCount) continue;
      if (!entry.match(args, entry.leaves)) continue;
      if (entry.weakOnDefault && entry.weakBackend !== defaultBackend()) continue;
      if (entry.statics.length > 0) {
        let identical = true;
        for (let i = 0, j = 0; identical && i < args.length; i++) {
          if (!statics.has(i)) continue;
          const v = args[i];
          identical = Object.is(v, entry.statics[j++]) && (typeof v !== 'object' || v === null);
        }
        if (!identical && staticKey(args.filter((_, i) => statics.has(i)), staticPositions(args.length), name) !== entry.staticKey) continue;
      }
      if (e > 0) {
        fast.splice(e, 1);
        fast.unshift(entry);
      }
      return entry;
    }
    return undefined;
  };

  /** Per leaf of the dynamic arguments `tree`: whether its argument is donated. */
  const donatedLeaves = (args: Args, tree: TreeDef): boolean[] => {
    const roots = (tree as { children: readonly TreeDef[] }).children;
    const flags: boolean[] = [];
    for (let i = 0, d = 0; i < args.length; i++) {
      if (statics.has(i)) continue;
      const count = treeLeafCount(roots[d++]);
      for (let c = 0; c < count; c++) flags.push(donating.has(i));
    }
    return flags;
  };

  /** Drops the least recently called signature (warning on the first drop). */
  const evictOne = () => {
    let oldest: [string, Compiled] | undefined;
    for (const entry of state.cache) if (!oldest || entry[1].lastCall < oldest[1].lastCall) oldest = entry;
    const [signature, compiled] = oldest as [string, Compiled];
    state.cache.delete(signature);
    for (let e = state.fast.length - 1; e >= 0; e--) if (state.fast[e].compiled === compiled) state.fast.splice(e, 1);
    if (state.evictions++ === 0) {
      console.warn(
        `[mixrl jit] ${name}: more than ${cacheSize} signatures compiled; the least recently called are dropped and traced ` +
          'again when called again (shapes that change call by call retrace every time: pad them to a few sizes, or raise cacheSize)',
      );
    }
  };

  const donee = `jit(${name})`;
  /** `raw`: the call's leaves as given (numbers and booleans as such), for `Compiled.plainOutputs`. */
  const finish = (compiled: Compiled, inputs: readonly Tensor[], outputs: Tensor[], raw: readonly unknown[]): R => {
    compiled.lastCall = ++state.calls;
    const { plan } = compiled;
    if (donating.size > 0) giveUp(compiled.donated, inputs, outputs, donee, plan && 'sharingOutputs' in plan ? plan.sharingOutputs : undefined);
    return compiled.rebuild(withPlainOutputs(outputs, compiled.plainOutputs, raw)) as R;
  };

  const jitted = (...args: Args): R => {
    const hit = lookup(args);
    if (hit) {
      const { plan, optimized, plainOutputs } = hit.compiled;
      const { leaves, weakLeaves, weakBackend } = hit;
      const raw: readonly unknown[] = plainOutputs.length > 0 ? leaves.slice() : leaves;
      for (const { index, dtype } of weakLeaves) leaves[index] = weakScalar(leaves[index] as unknown as number | boolean, dtype, weakBackend);
      const result = finish(hit.compiled, leaves, plan ? plan.run(leaves) : evalIR(optimized, leaves.slice()), raw);
      // The cache does not keep the call's arguments alive (each of 8 entries has its own array).
      leaves.fill(NO_LEAF);
      return result;
    }
    const dynamic = args.filter((_, i) => !statics.has(i));
    const [rawLeaves, tree] = treeFlatten(dynamic);
    const leaves = leafTensors(rawLeaves, name);
    const staticArgs = args.filter((_, i) => statics.has(i));
    const staticsKey = staticKey(staticArgs, staticPositions(args.length), name);
    const plain = rawLeaves.map((x) => !(x instanceof Tensor));
    const signature = signatureOf(tree, leaves, plain, staticsKey);
    let compiled = state.cache.get(signature);
    if (!compiled) {
      const [program, customRules] = trace(args, treeUnflatten(tree, leaves), signature);
      checkPlainUsed(program, rawLeaves, name);
      if (!program.constants.every(({ value }) => value instanceof ArrayTensor)) {
        if (customRules) return f(...args);
        // It captured a tracer of an enclosing transformation: valid for this call only.
        return treeUnflatten<R>(program.outTree, withPlainOutputs(evalIR(program, leaves), plainOutputsOf(program, plain), rawLeaves));
      }
      // Narrowed products pay on the CPU, not on WebGPU (`OptimizeOptions.narrowProducts`).
      const firstValue = leaves[0] ?? program.constants[0]?.value;
      const [optimized, optimization] = optimizeProgram(program, { narrowProducts: !(firstValue instanceof Tensor) || firstValue.backend === cpu });
      // A plan reads its backend's storage directly: every input and constant must live on the one
      // backend (else the program runs equation by equation, and mixed backends fail there as in
      // eager mode). The CPU and WebGPU have plans; other backends run equation by equation.
      const values = [...leaves, ...optimized.constants.map((c) => c.value)];
      const backend = values.length > 0 ? values[0].backend : cpu;
      const sameBackend = values.every((x) => x.backend === backend);
      const donated = donatedLeaves(args, tree);
      const plan = !sameBackend
        ? null
        : backend === cpu
          ? compileCpuPlan(optimized, { donated, name })
          : backend instanceof WebGPUBackend
            ? compileWebGPUPlan(optimized, backend, { donated })
            : null;
      compiled = { program, optimized, plan, donated, rebuild: treeBuilder(program.outTree), plainOutputs: plainOutputsOf(program, plain), customRules, lastCall: state.calls };
      if (state.cache.size >= cacheSize) evictOne();
      state.cache.set(signature, compiled);
      state.lastOptimization = optimization;
      if (plan) state.lastPlan = plan.stats;
      if (debugJit()) {
        console.error(`[mixrl jit] ${name}: ${JSON.stringify(optimization)} ${plan ? JSON.stringify(plan.stats) : ''}`);
      }
    }
    if (leaves.some((x) => x instanceof Tracer)) {
      // The outer transformation must see the custom rules the program lost: run f itself.
      if (compiled.customRules) return f(...args);
      const { outTree } = compiled.program;
      return treeUnflatten<R>(outTree, withPlainOutputs(evalIR(compiled.program, leaves), compiled.plainOutputs, rawLeaves));
    }
    // Concrete arguments: remember the signature in the form later calls can match cheaply.
    const concrete = leaves as ArrayTensor[];
    const positions = args.flatMap((_, i) => (statics.has(i) ? [] : [i]));
    const weakLeaves = concrete.flatMap((x, index) => (plain[index] ? [{ index, dtype: x.dtype }] : []));
    state.fast.unshift({
      argCount: args.length,
      match: argumentsMatcher(
        (tree as { children: readonly TreeDef[] }).children,
        positions,
        concrete.map((x, i) => ({ shape: x.shape, dtype: x.dtype, backend: x.backend, plain: plain[i], weak: x.weak })),
      ),
      leaves: concrete.map(() => NO_LEAF),
      weakLeaves,
      // Only numbers, or no tensor argument at all: the default backend the call saw is part of the match.
      weakBackend: concrete[weakLeaves[0]?.index]?.backend ?? defaultBackend(),
      weakOnDefault: weakLeaves.length === concrete.length,
      statics: staticArgs,
      staticKey: staticsKey,
      compiled,
    });
    if (state.fast.length > FAST_ENTRIES) state.fast.pop();
    return finish(compiled, concrete, compiled.plan ? compiled.plan.run(concrete) : evalIR(compiled.optimized, concrete), rawLeaves);
  };
  states.set(jitted, state);
  return jitted;
}

/**
 * Disposes the donated inputs of a call, as JAX does, on every backend: a later use of one says it was
 * donated. An input whose storage an output returns (passed through unchanged) keeps that storage
 * for the output. `sharing`: the only outputs that can (a CPU plan's `sharingOutputs`), else any.
 */
function giveUp(donated: readonly boolean[], inputs: readonly Tensor[], outputs: readonly Tensor[], by: string, sharing?: readonly number[]): void {
  const kept = new Set((sharing ? sharing.map((o) => outputs[o]) : outputs).map((y) => (y as ArrayTensor).handle));
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i] as ArrayTensor;
    if (donated[i] && !x.isDisposed) x.donate(by, !kept.has(x.handle));
  }
}

/**
 * Trace count, cache size and the last plan's statistics of a function made by `jit`.
 *
 * @example
 * const f = jit((x: Tensor) => x.exp().sum());
 * f(x);
 * jitStats(f).traceCount; // 1
 */
export function jitStats(fn: (...args: never[]) => unknown): JitStats {
  const state = states.get(fn);
  if (!state) throw new MixrlError('argument', 'jitStats: the function was not made by jit');
  return {
    traceCount: state.traceCount,
    cacheSize: state.cache.size,
    evictions: state.evictions,
    lastOptimization: state.lastOptimization,
    lastPlan: state.lastPlan,
  };
}
