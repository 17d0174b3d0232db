/**
 * A jitted function's check of a call against a compiled signature, generated once per signature
 * as straight-line JS (as `treeBuilder` builds trees): the arguments' structure, and each leaf a
 * concrete tensor of the signature's dtype, backend and shape. Each property is read at a fixed
 * place in the code, so V8 caches its lookup there; a walk over the structure read every key of
 * every object at one place (a SAC update's 100 leaves took ~10 us to match that way).
 */
import { type Backend, type DType, type Shape, ArrayTensor } from '../../tensor';
import { isTreeObject, type TreeDef } from '../pytree';

/**
 * `match(args, leaves)`: whether the call's arguments fit; writes their leaves into `leaves` in flatten
 * order (some of them on a mismatch), the plain values of weak leaves as they are.
 */
export type ArgumentsMatcher = (args: readonly unknown[], leaves: unknown[]) => boolean;

/**
 * What a signature expects at each leaf, in flatten order. A `plain` leaf is a number or boolean
 * argument (traced as a weak scalar, `Tensor.weak`), which the matcher writes as it is: a boolean
 * (dtype bool), an integer int32 holds (dtype int32), or any other number (a float dtype). A tensor
 * leaf matches tensors that are `weak` (made so by `ArrayTensor.markedWeak`) exactly when it is.
 */
export interface LeafSignature {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly backend: Backend;
  readonly plain?: boolean;
  readonly weak?: boolean;
}

/**
 * The dtype `jit` gives a plain number or boolean argument (a weak scalar, `Tensor.weak`): bool, int32
 * for an integer int32 holds (as eager mode, -0 is one, and its sign is lost), else `float` (the
 * backend's: `weakFloatDtype`).
 *
 * @example
 * weakLeafDtype(3, 'float64'); // 'int32'
 * weakLeafDtype(0.5, 'float64'); // 'float64'
 */
export function weakLeafDtype(value: number | boolean, float: DType): DType {
  if (typeof value === 'boolean') return 'bool';
  return isInt32(value) ? 'int32' : float;
}

const isInt32 = (v: number): boolean => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;

const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * The matcher of arguments whose dynamic ones sit at `positions` with structures `roots` (the
 * others are static) and whose leaves are `leaves`, as `treeFlatten` sees them: arrays of the same
 * length, plain objects with the same own enumerable keys (in any order), `null` and `undefined`
 * where they were.
 *
 * @example
 * const match = argumentsMatcher([treeFlatten(state)[1]], [0], leaves.map((x) => ({ shape: x.shape, dtype: x.dtype, backend: x.backend })));
 * const found = new Array<ArrayTensor>(leaves.length);
 * if (match([nextState], found)) plan.run(found);
 */
export function argumentsMatcher(roots: readonly TreeDef[], positions: readonly number[], leaves: readonly LeafSignature[]): ArgumentsMatcher {
  const lines: string[] = [];
  let names = 0;
  let leaf = 0;
  const visit = (def: TreeDef, v: string): void => {
    switch (def.kind) {
      case 'leaf': {
        const { shape, dtype, plain, weak = false } = leaves[leaf];
        if (plain) {
          const test = dtype === 'bool' ? `typeof ${v} !== 'boolean'` : `typeof ${v} !== 'number' || ${dtype === 'int32' ? '!' : ''}isInt32(${v})`;
          lines.push(`if (${test}) return false;`, `leaves[${leaf++}] = ${v};`);
          return;
        }
        const dims = shape.map((d, a) => ` || ${v}.shape[${a}] !== ${d}`).join('');
        lines.push(
          `if (!(${v} instanceof Leaf) || ${v}.dtype !== ${JSON.stringify(dtype)} || ${v}.backend !== backends[${leaf}] || ${v}.weak !== ${weak} || ${v}.shape.length !== ${shape.length}${dims}) return false;`,
        );
        lines.push(`leaves[${leaf}] = ${v};`);
        leaf++;
        return;
      }
      case 'none':
        lines.push(`if (${v} !== ${def.value === null ? 'null' : 'undefined'}) return false;`);
        return;
      case 'array':
        lines.push(`if (!Array.isArray(${v}) || ${v}.length !== ${def.children.length}) return false;`);
        def.children.forEach((child, i) => {
          const u = `v${names++}`;
          lines.push(`const ${u} = ${v}[${i}];`);
          visit(child, u);
        });
        return;
      case 'object': {
        // Counted without Object.keys' array (a plain object's prototype has no enumerable keys).
        const count = `n${names++}`;
        lines.push(`if (!isTreeObject(${v})) return false;`, `let ${count} = 0;`, `for (const _ in ${v}) ${count}++;`, `if (${count} !== ${def.keys.length}) return false;`);
        def.keys.forEach((key, i) => {
          const [u, k] = [`v${names++}`, JSON.stringify(key)];
          lines.push(`if (!isEnumerable.call(${v}, ${k})) return false;`, `const ${u} = ${v}[${k}];`);
          visit(def.children[i], u);
        });
        return;
      }
    }
  };
  positions.forEach((position, d) => {
    const v = `v${names++}`;
    lines.push(`const ${v} = args[${position}];`);
    visit(roots[d], v);
  });
  lines.push('return true;');
  const make = new Function('Leaf', 'backends', 'isTreeObject', 'isEnumerable', 'isInt32', `return (args, leaves) => {\n${lines.join('\n')}\n};`);
  return make(
    ArrayTensor,
    leaves.map((x) => x.backend),
    isTreeObject,
    isEnumerable,
    isInt32,
  ) as ArgumentsMatcher;
}
