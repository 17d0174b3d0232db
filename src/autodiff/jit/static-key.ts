/**
 * The cache key of `jit`'s static arguments: a string equal for two calls exactly when their static
 * values are equal as values. JSON is not that: it writes NaN, ±Infinity and undefined alike (`null`)
 * and a Set or a Map as `{}`, so a plan traced for one would be replayed for another.
 */
import { MixrlError, Tensor } from '../../tensor';

/**
 * The key of the static arguments `values` (at argument positions `positions`, for errors). Numbers
 * are told apart as `Object.is` does (NaN equals NaN; 0 and -0 differ), plain objects by their
 * keys in sorted order. Functions, symbols, tensors, class instances (a Set, a Map, a Date) and
 * cycles are refused with an error naming the argument: they have no value to compare.
 *
 * @example
 * staticKey([NaN, { b: 1, a: [2, undefined] }], [1, 2], 'f'); // 'n:NaN,{"a":[n:2,u],"b":n:1}'
 * staticKey([Infinity], [1], 'f') !== staticKey([NaN], [1], 'f'); // true
 */
export function staticKey(values: readonly unknown[], positions: readonly number[], name: string): string {
  return values.map((value, i) => encode(value, `static argument ${positions[i]}`, name, new Set())).join(',');
}

function encode(value: unknown, where: string, name: string, open: Set<object>): string {
  const refuse = (what: string): never => {
    throw new MixrlError(
      'argument',
      `jit(${name}): ${where} is ${what}; static arguments are compared by value, so they must be numbers, strings, ` +
        'booleans, bigints, null, undefined, or arrays and plain objects of them',
    );
  };
  switch (typeof value) {
    case 'number':
      return `n:${Object.is(value, -0) ? '-0' : String(value)}`;
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return String(value);
    case 'bigint':
      return `b:${value}`;
    case 'undefined':
      return 'u';
    case 'function':
      return refuse('a function');
    case 'symbol':
      return refuse('a symbol');
  }
  if (value === null) return 'null';
  const object = value as object;
  if (open.has(object)) return refuse('a structure that contains itself');
  if (object instanceof Tensor) return refuse('a tensor (pass tensors as dynamic arguments)');
  const isArray = Array.isArray(object);
  const proto = Object.getPrototypeOf(object) as unknown;
  if (!isArray && proto !== Object.prototype && proto !== null) {
    return refuse(`a ${(object.constructor as { name?: string } | undefined)?.name || 'class instance'}`);
  }
  open.add(object);
  const key = isArray
    ? `[${(object as unknown[]).map((item, i) => encode(item, `${where}[${i}]`, name, open)).join(',')}]`
    : `{${Object.keys(object)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${encode((object as Record<string, unknown>)[k], `${where}.${k}`, name, open)}`)
        .join(',')}}`;
  open.delete(object);
  return key;
}
