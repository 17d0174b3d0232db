/** Pytrees: flatten/unflatten round trips, sorted keys, treeMap/treeZip, and grad over pytrees. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS, expectGradsMatch, gradCheck, randn, Rng, values, runs } from './helpers';

const key = fc.stringMatching(/^[a-z]{1,3}$/);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  leaf: fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined)),
  array: fc.array(tie('tree'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('tree'), { maxKeys: 4, noNullPrototype: true }),
}));

describe('pytree structure', () => {
  it('treeUnflatten(treeFlatten(t)) rebuilds t; leaves, paths and counts agree', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const [leaves, def] = M.treeFlatten(t);
        expect(M.treeUnflatten(def, leaves)).toStrictEqual(t);
        expect(M.treeLeafCount(def)).toBe(leaves.length);
        expect(M.treePaths(def)).toHaveLength(leaves.length);
        // Rebuilding with other leaves keeps the structure.
        const [, def2] = M.treeFlatten(M.treeUnflatten(def, leaves.map((_, i) => i)));
        expect(() => M.assertSameStructure(def, def2, 'roundtrip')).not.toThrow();
      }),
      { numRuns: runs(200) },
    );
  });

  it('treeBuilder rebuilds what treeUnflatten rebuilds: same values, key order and prototypes, for any keys', () => {
    const anyKey = fc.oneof(key, fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor', '0', '10', '"', '\\', '`${x}`'));
    const { wild } = fc.letrec((tie) => ({
      wild: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
      leaf: fc.oneof(fc.integer(), fc.constant(null), fc.constant(undefined)),
      array: fc.array(tie('wild'), { maxLength: 4 }),
      object: fc.dictionary(anyKey, tie('wild'), { maxKeys: 4, noNullPrototype: true }),
    }));
    const shape = (x: unknown): unknown =>
      x !== null && typeof x === 'object'
        ? { proto: Object.getPrototypeOf(x) === Object.prototype, array: Array.isArray(x), keys: Object.keys(x), of: Object.values(x).map(shape) }
        : x;
    fc.assert(
      fc.property(wild, (t) => {
        const [leaves, def] = M.treeFlatten(t);
        // Compared through `shape`: toStrictEqual reads a 'constructor' key as the object's class.
        expect(shape(M.treeBuilder(def)(leaves))).toStrictEqual(shape(M.treeUnflatten(def, leaves)));
      }),
      { numRuns: runs(300) },
    );
    // A '__proto__' key stays an own property (a literal would have set the prototype).
    const [leaves, def] = M.treeFlatten(JSON.parse('{"__proto__": 1, "a": {"__proto__": 2}}'));
    const rebuilt = M.treeBuilder<Record<string, unknown>>(def)(leaves);
    expect(Object.keys(rebuilt)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(rebuilt)).toBe(Object.prototype);
    expect(() => M.treeBuilder(def)([1])).toThrow(/structure has 2 leaves, got 1/);
  });

  it('object keys are sorted, so insertion order does not matter; null and undefined have no leaves', () => {
    const [leaves, def] = M.treeFlatten({ b: 1, a: [2, { d: 3, c: 4 }], e: null, f: undefined });
    expect(leaves).toEqual([2, 4, 3, 1]);
    expect(M.treePaths(def)).toEqual(['.a[0]', '.a[1].c', '.a[1].d', '.b']);
    const [leaves2, def2] = M.treeFlatten({ f: undefined, e: null, a: [2, { c: 4, d: 3 }], b: 1 });
    expect(leaves2).toEqual(leaves);
    expect(() => M.assertSameStructure(def, def2, 'order')).not.toThrow();
    fc.assert(
      fc.property(fc.dictionary(key, fc.integer(), { maxKeys: 6 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(M.treeFlatten(reversed)[0]).toEqual(M.treeFlatten(obj)[0]);
        expect(M.treeFlatten(obj)[0]).toEqual(Object.keys(obj).sort().map((k) => obj[k]));
      }),
    );
  });

  it('treeMap over several trees applies f to matching leaves; mismatches name the path', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const [leaves, def] = M.treeFlatten(t);
        const a = M.treeUnflatten(def, leaves.map((_, i) => i));
        const b = M.treeUnflatten(def, leaves.map((_, i) => 10 * i));
        const c = M.treeUnflatten(def, leaves.map((_, i) => 100 * i));
        const sum = M.treeMap((x: number, y: number, z: number) => x + y + z, a, b, c);
        expect(M.treeFlatten(sum)[0]).toEqual(leaves.map((_, i) => 111 * i));
        const zipped = M.treeZip(a, b, c);
        expect(M.treeFlatten(zipped)[0]).toEqual(leaves.flatMap((_, i) => [i, 10 * i, 100 * i]));
      }),
      { numRuns: runs(100) },
    );
    expect(() => M.treeMap((x: number, y: number) => x + y, { a: [1, 2] }, { a: [1] })).toThrow(/treeMap: structure differs at \.a: array of 2 vs 1/);
    expect(() => M.treeZip({ a: { b: 1 } }, { a: { c: 1 } })).toThrow(/treeZip: structure differs at \.a: keys \{b\} vs \{c\}/);
    expect(() => M.treeMap((x: number) => x, [1, [2]], [1, 2])).toThrow(/at \[1\]: an array of 1 vs a leaf/);
  });
});

for (const backend of BACKENDS) {
  describe(`grad over pytrees (${backend.name})`, () => {
    it('returns the structure of the differentiated argument, with correct values', async () => {
      const rng = new Rng(3);
      const params = {
        layers: [
          { w: randn(rng, [3, 4], backend), b: randn(rng, [4], backend) },
          { w: randn(rng, [4, 2], backend), b: randn(rng, [2], backend) },
        ],
        scale: randn(rng, [], backend),
        frozen: null,
      };
      const x = randn(rng, [5, 3], backend);
      const loss = (p: typeof params, x: Tensor) => {
        let h = x;
        p.layers.forEach((l, i) => {
          h = M.add(M.matmul(h, l.w), l.b);
          if (i === 0) h = M.tanh(h);
        });
        return M.mul(M.sum(M.square(h)), p.scale);
      };
      const g = M.grad(loss)(params, x) as typeof params;
      const [, defP] = M.treeFlatten(params);
      const [gLeaves, defG] = M.treeFlatten(g);
      expect(() => M.assertSameStructure(defP, defG, 'grad')).not.toThrow();
      expect(g.frozen).toBeNull();
      gLeaves.forEach((leaf, i) => expect((leaf as Tensor).shape).toEqual((M.treeFlatten(params)[0][i] as Tensor).shape));
      // Values: the flattened gradient against finite differences.
      const [leaves] = M.treeFlatten(params);
      const flat = (...ls: Tensor[]) => loss(M.treeUnflatten(defP, ls), x);
      expectGradsMatch(await gradCheck(flat, leaves as Tensor[], rng, backend), 'mlp loss');
      // argnums over two pytree arguments gives a tuple of both structures.
      const [g0, g1] = M.grad(loss, { argnums: [0, 1] })(params, x) as [typeof params, Tensor];
      expect(await values(g0.layers[1].b)).toEqual(await values(g.layers[1].b));
      expect(g1.shape).toEqual([5, 3]);
    });

    it('valueAndGrad with hasAux returns [[value, aux], grad] and vjp keeps pytree outputs', async () => {
      const x = M.tensor(Float64Array.from([1, 2, 3]), { backend });
      const [[value, aux], g] = M.valueAndGrad((p: { x: Tensor }) => [M.sum(M.square(p.x)), { doubled: M.mul(p.x, 2) }], { hasAux: true })({ x });
      expect(await values(value)).toEqual([14]);
      expect(await values(aux.doubled)).toEqual([2, 4, 6]);
      expect(await values(g.x)).toEqual([2, 4, 6]);
      const [out, back] = M.vjp((p: { a: Tensor; b: Tensor[] }) => ({ s: M.mul(p.a, p.b[0]), t: [M.sin(p.b[1])] }), {
        a: x,
        b: [x, x],
      });
      const [ct] = back({ s: M.onesLike(out.s), t: [M.onesLike(x)] });
      expect(await values(ct.a)).toEqual([1, 2, 3]);
      expect(await values(ct.b[0])).toEqual([1, 2, 3]);
      expect(await values(ct.b[1])).toEqual([1, 2, 3].map(Math.cos));
    });
  });
}

describe('disposeTree', () => {
  it('disposes every tensor leaf, nested in arrays and objects, and leaves other leaves and views alone', () => {
    const [a, b, kept] = [M.tensor([1, 2]), M.tensor([3]), M.tensor([4, 5])];
    const view = M.reshape(kept, [2, 1]);
    M.disposeTree({ x: [a, 1, 'text', null], y: { z: b }, none: undefined, view });
    expect(() => a.dataSync()).toThrow(/used after dispose\(\)/);
    expect(() => b.dataSync()).toThrow(/used after dispose\(\)/);
    expect(() => view.dataSync()).toThrow(/used after dispose\(\)/);
    // The view was disposed, not the tensor whose storage it shares.
    expect(Array.from(kept.dataSync())).toEqual([4, 5]);
  });
});
