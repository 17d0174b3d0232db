/**
 * Pytrees as named arrays, the form `.npz` and `.safetensors` files hold: a leaf's name is its path
 * of object keys and array indices joined with '.', as PyTorch names a state dict's entries
 * (`{ actor: { layers: [{ w, b }] } }` has leaves `actor.layers.0.b` and `actor.layers.0.w`).
 */
import { type Either, left, right } from 'fp-ts/Either';
import { type TreeDef, treeFlatten, treeUnflatten } from '../../autodiff';
import { type Backend, formatShape, Tensor, tensor } from '../../tensor';
import { CheckpointError } from '../errors';
import { catching, fail, type HostArray, type NamedArrays, setArray } from './format';

/** The keys and indices leading to each leaf of a tree structure, in leaf order. */
function leafKeys(def: TreeDef, prefix: readonly string[] = []): string[][] {
  switch (def.kind) {
    case 'leaf':
      return [[...prefix]];
    case 'none':
      return [];
    case 'array':
      return def.children.flatMap((c, i) => leafKeys(c, [...prefix, String(i)]));
    case 'object':
      return def.children.flatMap((c, i) => leafKeys(c, [...prefix, def.keys[i]]));
  }
}

/**
 * The name of each leaf of a tree structure, in leaf order.
 *
 * @example
 * leafNames(treeFlatten({ layers: [{ w, b }] })[1]); // ['layers.0.b', 'layers.0.w']
 */
export function leafNames(def: TreeDef): string[] {
  return leafKeys(def).map((keys) => keys.join('.'));
}

/** The names of `def`'s leaves, each non-empty and none twice; throws naming the leaves' keys otherwise. */
function checkedNames(file: string, def: TreeDef): string[] {
  const keys = leafKeys(def);
  const seen = new Map<string, string[]>();
  return keys.map((path) => {
    const name = path.join('.');
    if (name === '') fail('unserializable', file, undefined, 'the tree is a lone tensor; give it a name, e.g. { weight: t }');
    const other = seen.get(name);
    if (other !== undefined) fail('unserializable', file, undefined, `leaves ${JSON.stringify(other)} and ${JSON.stringify(path)} would both be named '${name}'`);
    seen.set(name, path);
    return name;
  });
}

/**
 * The leaves of `tree`, which must be tensors, as named arrays (read with `await t.data()`), in leaf
 * order. `Left('unserializable')` for a leaf that is not a readable tensor, a tree that is a lone
 * tensor, or two leaves of one name (`{ 'a.b': x, a: { b: y } }`). `file` is for the messages.
 *
 * @example
 * const arrays = await treeToArrays('actor.npz', { actor }); // Right({ 'actor.layers.0.b': ..., ... })
 */
export async function treeToArrays(file: string, tree: unknown): Promise<Either<CheckpointError, NamedArrays>> {
  try {
    const [leaves, def] = treeFlatten(tree);
    const names = checkedNames(file, def);
    const arrays: NamedArrays = {};
    for (const [i, leaf] of leaves.entries()) {
      if (!(leaf instanceof Tensor)) fail('unserializable', file, undefined, `leaf ${names[i]} is ${typeof leaf}, not a tensor`);
      const data = await readTensor(leaf).catch((e: Error) => fail('unserializable', file, undefined, `cannot read tensor ${names[i]}: ${e.message}`));
      setArray(arrays, names[i], { dtype: leaf.dtype, shape: [...leaf.shape], data });
    }
    return right(arrays);
  } catch (e) {
    if (e instanceof CheckpointError) return left(e);
    throw e;
  }
}

/** `t.data()` with a synchronous throw (a disposed tensor, a tracer) turned into a rejection. */
const readTensor = async (t: Tensor) => t.data();

function toTensor(file: string, name: string, array: HostArray, backend: Backend): Tensor {
  if (!backend.supports(array.dtype)) fail('unknown-dtype', file, undefined, `the ${backend.name} backend has no ${array.dtype} tensors (array '${name}')`);
  return tensor(array.data, { shape: array.shape, dtype: array.dtype, backend });
}

/**
 * The arrays as tensors on `backend`, by name. `Left('unknown-dtype')` where the backend lacks a
 * dtype (WebGPU has no float64).
 *
 * @example
 * const tensors = arraysToTensors('w.npz', decodeNpz('w.npz', bytes).right, cpu); // { 'layers.0.w': f32[3,64], ... }
 */
export function arraysToTensors(file: string, arrays: NamedArrays, backend: Backend): Either<CheckpointError, Record<string, Tensor>> {
  return catching(() => Object.fromEntries(Object.entries(arrays).map(([name, array]) => [name, toTensor(file, name, array, backend)])));
}

/**
 * The tree of `template`'s structure whose leaves are the named arrays, as tensors on `backend`:
 * every leaf of the template (a tensor) must have its array, of its dtype and shape, and every array
 * must be a leaf. Errors (`shape-mismatch`) name the array.
 *
 * @example
 * const actor = arraysToTree('actor.npz', run.sac.actor, arrays, cpu); // Right(MlpParams), or Left naming the mismatched key
 */
export function arraysToTree<T>(file: string, template: T, arrays: NamedArrays, backend: Backend): Either<CheckpointError, T> {
  return catching(() => {
    const [leaves, def] = treeFlatten(template);
    const names = checkedNames(file, def);
    const tensors = leaves.map((leaf, i) => {
      const name = names[i];
      if (!(leaf instanceof Tensor)) return fail('shape-mismatch', file, undefined, `the template's leaf ${name} is ${typeof leaf}, not a tensor`);
      if (!Object.hasOwn(arrays, name)) return fail('shape-mismatch', file, undefined, `no array '${name}' (the template's leaf ${leaf.dtype}${formatShape(leaf.shape)})`);
      const array = arrays[name];
      if (array.dtype !== leaf.dtype || formatShape(array.shape) !== formatShape(leaf.shape)) {
        fail('shape-mismatch', file, undefined, `array '${name}' is ${array.dtype}${formatShape(array.shape)}; the template has ${leaf.dtype}${formatShape(leaf.shape)}`);
      }
      return toTensor(file, name, array, backend);
    });
    const known = new Set(names);
    const extra = Object.keys(arrays).filter((name) => !known.has(name));
    if (extra.length > 0) fail('shape-mismatch', file, undefined, `array${extra.length > 1 ? 's' : ''} ${extra.map((n) => `'${n}'`).join(', ')} not in the template`);
    return treeUnflatten<T>(def, tensors);
  });
}
