/** optax's `chain`: gradient transformations run in order, optionally ending in an optimizer. */
import { ArgumentError } from '../../tensor';
import type { GradientTransformation, Optimizer } from './core';

/** The states of a tuple of gradient transformations, in order. */
export type StatesOf<Ts extends readonly unknown[]> = { [K in keyof Ts]: Ts[K] extends GradientTransformation<infer S> ? S : never };

type Member = GradientTransformation<unknown> | Optimizer<unknown>;

const isTransformation = (m: Member): m is GradientTransformation<unknown> => typeof (m as { transform?: unknown }).transform === 'function';

/**
 * optax's `chain`. Gradient transformations only: a gradient transformation running each in turn on
 * the previous one's updates. Transformations followed by an `Optimizer` (last): an optimizer that
 * transforms the gradients, then hands them to the optimizer's `update`. Either way the state is the
 * tuple (array) of the members' states, in order: a pytree of tensors when theirs are, so a chained
 * optimizer checkpoints and jits as any other. Every member sees the original params.
 *
 * @example
 * const opt = chain(clipByGlobalNormTransform(1), adam({ lr: 3e-4 }));
 * let state = opt.init(params); // [{}, AdamState]
 * [params, state] = opt.update(grad(loss)(params), state, params);
 */
export function chain<Ts extends GradientTransformation<unknown>[]>(...members: Ts): GradientTransformation<StatesOf<Ts>>;
export function chain<Ts extends GradientTransformation<unknown>[], S>(...members: [...Ts, Optimizer<S>]): Optimizer<[...StatesOf<Ts>, S]>;
export function chain(...members: Member[]): GradientTransformation<unknown[]> | Optimizer<unknown[]> {
  members.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.init !== 'function') {
      throw new ArgumentError(`chain: member ${i} is not a gradient transformation or an optimizer`);
    }
    if (!isTransformation(m) && (typeof m.update !== 'function' || i !== members.length - 1)) {
      throw new ArgumentError(`chain: member ${i} is an optimizer (it has update, not transform); only the last member may be one`);
    }
  });
  const last = members[members.length - 1];
  const optimizer = last !== undefined && !isTransformation(last) ? last : undefined;
  const transforms = (optimizer ? members.slice(0, -1) : members) as GradientTransformation<unknown>[];
  const init = <P>(params: P) => members.map((m) => m.init(params));
  const checkState = (state: unknown): unknown[] => {
    if (!Array.isArray(state) || state.length !== members.length) {
      throw new ArgumentError(`chain: the state must be an array of the ${members.length} members' states, got ${Array.isArray(state) ? `${state.length} states` : String(state)}`);
    }
    return state;
  };
  const run = <P>(updates: P, states: unknown[], params: P): [P, unknown[]] => {
    const next: unknown[] = [];
    let u = updates;
    transforms.forEach((t, i) => {
      let s: unknown;
      [u, s] = t.transform(u, states[i], params);
      next.push(s);
    });
    return [u, next];
  };
  if (optimizer === undefined) return { init, transform: (updates, state, params) => run(updates, checkState(state), params) };
  return {
    init,
    update(grads, state, params) {
      const states = checkState(state);
      const [updates, next] = run(grads, states, params);
      const [newParams, s] = optimizer.update(updates, states[states.length - 1], params);
      return [newParams, [...next, s]];
    },
  };
}
