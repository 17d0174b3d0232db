/**
 * Pytrees as weight files: leaf names, `saveWeights` / `loadWeights` in both formats (flat by name or
 * into a template tree, mismatches named), atomic writes, and round trips of random trees.
 */
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLeft } from 'fp-ts/Either';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as M from '../../src';
import { arbArray, asNumpy, hexOf, messageOf, unwrap } from './interop-fixture';

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'mixrl-interop-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const t = (a: M.HostArray) => M.tensor(a.data, { shape: a.shape, dtype: a.dtype, backend: M.cpu });
const f32 = (shape: number[], seed: number) => t({ dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((n, d) => n * d, 1) }, (_, i) => Math.sin(seed + i)) });

/** A tree as the export command writes one: an MLP, a pair of them, a scalar; and a null. */
const tree = () => ({
  actor: M.initMlp(M.random.key(1), [3, 4, 2]),
  critics: [M.initMlp(M.random.key(2), [4, 4, 1]), M.initMlp(M.random.key(3), [4, 4, 1])],
  logAlpha: M.tensor(-0.5, { dtype: 'float64' }),
  extras: { steps: M.tensor([7, -1], { dtype: 'int32' }), done: M.tensor([true, false, true]), none: null },
});

/** Every leaf's values and avals, by its dotted path, read from the tree itself (not through the code under test). */
function leavesByPath(node: unknown, prefix = ''): Record<string, { dtype: string; shape: number[]; hex: string }> {
  if (node instanceof M.Tensor) return { [prefix]: { dtype: node.dtype, shape: [...node.shape], hex: hexOf(node.dataSync()) } };
  if (node === null || node === undefined) return {};
  const entries = Array.isArray(node) ? node.map((c, i) => [String(i), c]) : Object.entries(node as object);
  return Object.assign({}, ...entries.map(([k, c]) => leavesByPath(c, prefix ? `${prefix}.${k}` : k)));
}

describe('leaf names', () => {
  it('are keys and indices joined with dots, nulls skipped, in leaf order (keys sorted)', () => {
    const [, def] = M.treeFlatten(tree());
    expect(M.leafNames(def)).toEqual([
      'actor.layers.0.b', 'actor.layers.0.w', 'actor.layers.1.b', 'actor.layers.1.w',
      'critics.0.layers.0.b', 'critics.0.layers.0.w', 'critics.0.layers.1.b', 'critics.0.layers.1.w',
      'critics.1.layers.0.b', 'critics.1.layers.0.w', 'critics.1.layers.1.b', 'critics.1.layers.1.w',
      'extras.done', 'extras.steps', 'logAlpha',
    ]);
  });

  it('refuses two leaves of one name, a lone tensor, and leaves that are not tensors', async () => {
    const x = f32([1], 0);
    expect(messageOf(await M.treeToArrays('w.npz', { 'a.b': x, a: { b: x } }))).toBe('w.npz: leaves ["a","b"] and ["a.b"] would both be named \'a.b\'');
    expect(messageOf(await M.treeToArrays('w.npz', x))).toBe('w.npz: the tree is a lone tensor; give it a name, e.g. { weight: t }');
    expect(messageOf(await M.treeToArrays('w.npz', { a: x, n: 3 }))).toBe('w.npz: leaf n is number, not a tensor');
  });
});

describe('saveWeights and loadWeights', () => {
  it.each(['npz', 'safetensors'])('round-trip a tree through a .%s file, by name and into a template', async (format) => {
    const path = join(dir, `w.${format}`);
    const original = tree();
    unwrap(await M.saveWeights(path, original));
    const flat = unwrap(await M.loadWeights(path, { backend: M.cpu }));
    expect(Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, leavesByPath(v)['']]))).toEqual(leavesByPath(original));
    const back = unwrap(await M.loadWeights(path, { backend: M.cpu, template: original }));
    expect(back.extras.none).toBeNull();
    expect(leavesByPath(back)).toEqual(leavesByPath(original));
    expect((await fsp.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('name the array that does not fit the template', async () => {
    const path = join(dir, 'fit.npz');
    unwrap(await M.saveWeights(path, { actor: M.initMlp(M.random.key(1), [3, 8, 2]) }));
    const load = (template: unknown) => M.loadWeights(path, { backend: M.cpu, template });
    expect(messageOf(await load({ actor: M.initMlp(M.random.key(1), [3, 9, 2]) }))).toBe(`${path}: array 'actor.layers.0.b' is float32[8]; the template has float32[9]`);
    expect(messageOf(await load({ actor: M.initMlp(M.random.key(1), [3, 8, 2], { dtype: 'float64' }) }))).toBe(
      `${path}: array 'actor.layers.0.b' is float32[8]; the template has float64[8]`,
    );
    expect(messageOf(await load({ actor: M.initMlp(M.random.key(1), [3, 8, 8, 2]) }))).toMatch(/: array 'actor\.layers\.1\.b' is float32\[2\]; the template has float32\[8\]$/);
    expect(messageOf(await load({ actor: M.initMlp(M.random.key(1), [3, 8, 2]), alpha: f32([], 0) }))).toBe(`${path}: no array 'alpha' (the template's leaf float32[])`);
    expect(messageOf(await load({ actor: { layers: [M.initMlp(M.random.key(1), [3, 8]).layers[0]] } }))).toBe(`${path}: arrays 'actor.layers.1.b', 'actor.layers.1.w' not in the template`);
  });

  it('take the format from the extension or the option, and refuse what cannot be', async () => {
    const x = { x: f32([2], 1) };
    expect(messageOf(await M.saveWeights(join(dir, 'w.bin'), x))).toBe(`${join(dir, 'w.bin')}: cannot tell the format from the name; end it in .npz or .safetensors, or pass { format }`);
    unwrap(await M.saveWeights(join(dir, 'w.bin'), x, { format: 'safetensors', metadata: { a: 'b' } }));
    expect(Object.keys(unwrap(await M.loadWeights(join(dir, 'w.bin'), { format: 'safetensors' })))).toEqual(['x']);
    expect(messageOf(await M.loadWeights(join(dir, 'w.bin'), { format: 'npz' }))).toMatch(/w\.bin: byte 0: not a zip archive/);
    expect(messageOf(await M.saveWeights(join(dir, 'm.npz'), x, { metadata: { a: 'b' } }))).toBe(`${join(dir, 'm.npz')}: an .npz file holds arrays only; metadata need .safetensors`);
    expect(messageOf(await M.loadWeights(join(dir, 'missing.npz')))).toMatch(/missing\.npz: cannot read the weights: ENOENT/);
  });

  it('replace an existing file atomically: a failed save leaves it as it was', async () => {
    const path = join(dir, 'keep.npz');
    unwrap(await M.saveWeights(path, { x: f32([2], 1) }));
    const before = await fsp.readFile(path);
    const failed = await M.saveWeights(path, { x: f32([2], 2), bad: 'not a tensor' });
    expect(isLeft(failed)).toBe(true);
    expect(await fsp.readFile(path)).toEqual(before);
    unwrap(await M.saveWeights(path, { x: f32([3], 2) }));
    expect(unwrap(await M.loadWeights(path)).x.shape).toEqual([3]);
  });
});

/** Trees of tensors: objects (lower-case keys) and arrays, 1-4 levels, any dtype and shape at the leaves. */
const arbTree = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbArray.map(t),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), tie('node'), { minKeys: 1, maxKeys: 3 }),
  ),
})).node.map((node) => ({ root: node }));

describe('random trees', () => {
  it('come back bit for bit from both formats, into their template', async () => {
    await fc.assert(
      fc.asyncProperty(arbTree, async (original) => {
        const arrays = unwrap(await M.treeToArrays('r', original));
        const npz = new Uint8Array(Buffer.concat(unwrap(M.encodeNpz('r', arrays))));
        const safetensors = new Uint8Array(Buffer.concat(unwrap(M.encodeSafetensors('r', arrays))));
        for (const decoded of [unwrap(M.decodeNpz('r', npz)), unwrap(M.decodeSafetensors('r', safetensors)).arrays]) {
          expect(Object.fromEntries(Object.entries(decoded).map(([k, a]) => [k, asNumpy(a)]))).toEqual(Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, asNumpy(a)])));
          expect(leavesByPath(unwrap(M.arraysToTree('r', original, decoded, M.cpu)))).toEqual(leavesByPath(original));
        }
      }),
      { numRuns: 60 },
    );
  });
});
