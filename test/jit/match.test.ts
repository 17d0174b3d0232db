/**
 * The generated matcher of a cached signature (`argumentsMatcher`) against `treeFlatten`, the
 * definition of structure it stands in for: it accepts exactly the arguments that flatten to the
 * same structure with leaves of the same shapes, dtypes and backends, and collects the leaves in
 * flatten order. Random trees are perturbed one way at a time (a key added, dropped or renamed, an
 * array grown, a leaf reshaped, recast or replaced, null for undefined) and each verdict compared
 * with the flattened structures'.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { ArrayTensor } from '../../src';
import { argumentsMatcher } from '../../src/autodiff/jit/match';

type Tree = unknown;

/** A random pytree of small tensors (objects, arrays, null and undefined among them), from `seed`. */
function randomTree(seed: number, depth = 0): Tree {
  let s = seed;
  const next = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const kind = depth >= 3 ? 0 : next(5);
  if (kind === 0 || kind === 4) return M.zeros([1 + next(3), 2]);
  if (kind === 1) return Array.from({ length: 1 + next(3) }, (_, i) => randomTree(seed * 31 + i + 1, depth + 1));
  const keys = ['w', 'b', 'layers', 'm', 'v'].slice(0, 1 + next(5));
  const node: Record<string, Tree> = {};
  for (const [i, k] of keys.entries()) node[k] = next(7) === 0 ? (next(2) ? null : undefined) : randomTree(seed * 17 + i + 1, depth + 1);
  return node;
}

/** The tree with one change at the first place `pick` reaches (null where there was nothing to change). */
function perturb(tree: Tree, pick: number): Tree | null {
  let budget = pick;
  const visit = (node: Tree): Tree | null => {
    if (node instanceof M.Tensor) {
      if (budget-- > 0) return null;
      return [M.zeros([node.shape[0] + 1, 2]), M.zeros(node.shape, { dtype: 'float64' }), [node], { w: node }][pick % 4];
    }
    if (node === null || node === undefined) return budget-- > 0 ? null : node === null ? undefined : null;
    if (Array.isArray(node)) {
      if (budget-- <= 0) return [...node, M.zeros([1])];
      for (let i = 0; i < node.length; i++) {
        const changed = visit(node[i]);
        if (changed !== null) return node.map((x, j) => (j === i ? changed : x));
      }
      return null;
    }
    const object = node as Record<string, Tree>;
    if (budget-- <= 0) {
      const keys = Object.keys(object);
      if (pick % 3 === 0) return { ...object, extra: M.zeros([1]) };
      if (pick % 3 === 1 && keys.length > 0) return Object.fromEntries(keys.slice(1).map((k) => [k, object[k]]));
      return Object.fromEntries(keys.map((k, i) => [i === 0 ? `${k}2` : k, object[k]]));
    }
    for (const k of Object.keys(object)) {
      const changed = visit(object[k]);
      if (changed !== null) return { ...object, [k]: changed };
    }
    return null;
  };
  return visit(tree);
}

/** The tree with every object's keys inserted in reverse order. */
function reverseKeys(node: Tree): Tree {
  if (Array.isArray(node)) return node.map(reverseKeys);
  if (node === null || node === undefined || node instanceof M.Tensor) return node;
  const object = node as Record<string, Tree>;
  return Object.fromEntries(Object.keys(object).reverse().map((k) => [k, reverseKeys(object[k])]));
}

const signature = (args: unknown[]) => {
  const [leaves, tree] = M.treeFlatten(args);
  return JSON.stringify([tree, (leaves as ArrayTensor[]).map((x) => [x.shape, x.dtype])]);
};

describe('the generated matcher of a cached jit signature', () => {
  it('accepts exactly the arguments with the same flattened structure and leaf signatures, collecting leaves in flatten order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (seed, pick, reordered) => {
        const original = randomTree(seed);
        // Argument 1 (the number) is static: not part of the matched structure.
        const [leaves, tree] = M.treeFlatten([original]);
        const match = argumentsMatcher([(tree as { children: readonly M.TreeDef[] }).children[0]], [0], leaves as ArrayTensor[]);
        const found = new Array<ArrayTensor>(leaves.length);
        // The same structure, built anew (keys in another order when `reordered`), matches with its leaves.
        const copy = M.treeMap((x: M.Tensor) => M.zeros(x.shape, { dtype: x.dtype }), original);
        const rebuilt = reordered ? reverseKeys(copy) : copy;
        expect(match([rebuilt, 3], found)).toBe(true);
        expect(found).toEqual(M.treeFlatten([rebuilt])[0]);
        const changed = perturb(original, pick);
        if (changed === null) return;
        expect(match([changed, 3], found), JSON.stringify(M.treeFlatten([changed])[1])).toBe(signature([changed]) === signature([original]));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a class instance, a tensor of another backend and a number where a tensor was', () => {
    const x = M.zeros([2]);
    const [leaves, tree] = M.treeFlatten([{ a: x }]);
    const match = argumentsMatcher((tree as { children: readonly M.TreeDef[] }).children, [0], leaves as ArrayTensor[]);
    const found = new Array<ArrayTensor>(1);
    expect(match([{ a: M.zeros([2]) }], found)).toBe(true);
    class Params {
      a = M.zeros([2]);
    }
    expect(match([new Params()], found)).toBe(false);
    expect(match([{ a: 0 }], found)).toBe(false);
    const elsewhere = new M.ArrayTensor({ ...M.cpu, name: 'other' } as M.Backend, new Float32Array(2), [2], 'float32');
    expect(match([{ a: elsewhere }], found)).toBe(false);
    // Keys in another order are the same structure (treeFlatten sorts them).
    const [, two] = M.treeFlatten([{ a: x, b: x }]);
    const both = argumentsMatcher((two as { children: readonly M.TreeDef[] }).children, [0], [x, x] as ArrayTensor[]);
    const y = M.zeros([2]);
    const z = M.ones([2]);
    const out = new Array<ArrayTensor>(2);
    expect(both([{ b: z, a: y }], out)).toBe(true);
    expect(out).toEqual([y, z]);
  });
});
