/**
 * Sibling grouping as a pass over plan nodes (`groupSiblings`), on random dependence graphs: every
 * node runs exactly once, every value is stored by an earlier step than any step reading it (the
 * members of one step are one dispatch: none may read another's value), members share a class
 * and fit the bindings; twin chains merge level by level, and a node moves within the levels its
 * producers and readers allow to join one of its class. What the sibling kernels compute is
 * tested on WebGPU (`webgpu-siblings.test.ts`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IRVar } from '../../src/autodiff/ir';
import { groupSiblings, type SiblingRules } from '../../src/autodiff/jit/siblings';

/** A node storing one value (`v`) and reading others. */
interface Node {
  readonly id: number;
  readonly v: IRVar;
  readonly reads: readonly IRVar[];
  readonly kind: string | undefined;
}

const value = (id: number) => ({ id, aval: { shape: [], dtype: 'float32' } }) as IRVar;

/** Rules over `Node`s: a kernel of `m` members binds `1 + 2m` buffers. */
const rules = (maxBindings: number): SiblingRules<Node> => ({
  reads: (node) => node.reads,
  stores: (node) => [node.v],
  classOf: (node) => node.kind,
  bindings: (members) => 1 + 2 * members.length,
  maxBindings,
});

const steps = (nodes: readonly Node[], maxBindings: number) => groupSiblings(nodes, rules(maxBindings)).map((step) => ('members' in step ? step.members : [step]));

/** Nodes in program order, each reading program inputs (ids below 0) or earlier nodes' values. */
const graphs = fc
  .array(fc.record({ reads: fc.array(fc.nat(), { maxLength: 3 }), kind: fc.constantFrom('a', 'b', undefined), inputs: fc.array(fc.integer({ min: -3, max: -1 }), { maxLength: 2 }) }), {
    minLength: 1,
    maxLength: 40,
  })
  .map((specs) =>
    specs.map(({ reads, kind, inputs }, id): Node => ({
      id,
      v: value(id),
      kind,
      reads: [...(id === 0 ? [] : reads.map((r) => value(r % id))), ...inputs.map(value)],
    })),
  );

/** Reads by value id (the tests' values are fresh objects per read). */
const readIds = (node: Node) => node.reads.map((v) => v.id);

describe('groupSiblings', () => {
  it('runs every node once, after what it reads, with members of one class within the bindings', () => {
    fc.assert(
      fc.property(graphs, fc.integer({ min: 3, max: 11 }), (nodes, maxBindings) => {
        // Values by id, as the pass keys them by object: give each read the producer's object.
        const byId = new Map(nodes.map((n) => [n.id, n.v]));
        const linked = nodes.map((n) => ({ ...n, reads: n.reads.map((v) => byId.get(v.id) ?? v) }));
        const result = steps(linked, maxBindings);
        expect(
          result
            .flat()
            .map((n) => n.id)
            .sort((a, b) => a - b),
        ).toEqual(nodes.map((n) => n.id));
        const stepOf = new Map<number, number>();
        result.forEach((members, s) => members.forEach((n) => stepOf.set(n.id, s)));
        for (const members of result) {
          for (const n of members) for (const id of readIds(n)) if (id >= 0) expect(stepOf.get(id)).toBeLessThan(stepOf.get(n.id) as number);
          if (members.length > 1) {
            expect(new Set(members.map((n) => n.kind)).size).toBe(1);
            expect(members[0].kind).toBeDefined();
            expect(1 + 2 * members.length).toBeLessThanOrEqual(maxBindings);
          }
        }
      }),
    );
  });

  it('merges twin chains step by step, and packs no more than the bindings allow', () => {
    // Chains x_c -> y_c -> z_c for c < 4, all of one class per position.
    const nodes: Node[] = [];
    for (const kind of ['x', 'y', 'z'])
      for (let c = 0; c < 4; c++) {
        const id = nodes.length;
        nodes.push({ id, v: value(id), kind, reads: kind === 'x' ? [value(-1)] : [nodes[id - 4].v] });
      }
    expect(steps(nodes, 9).map((m) => m.map((n) => n.id))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    // 7 bindings hold 3 members: each level becomes 3 + 1.
    expect(steps(nodes, 7).map((m) => m.length)).toEqual([3, 1, 3, 1, 3, 1]);
  });

  it('levels late when that merges more: an update whose gradient is ready early joins the last one', () => {
    // g0 is ready at once, g1 after a chain of two; their updates u0, u1 are both returned.
    const [input, g0, h, g1, u0, u1] = [-1, 0, 1, 2, 3, 4].map(value);
    const nodes: Node[] = [
      { id: 0, v: g0, kind: undefined, reads: [input] },
      { id: 1, v: h, kind: undefined, reads: [input] },
      { id: 2, v: g1, kind: undefined, reads: [h] },
      { id: 3, v: u0, kind: 'update', reads: [g0] },
      { id: 4, v: u1, kind: 'update', reads: [g1] },
    ];
    const result = steps(nodes, 16).map((m) => m.map((n) => n.id));
    expect(result[result.length - 1]).toEqual([3, 4]);
  });

  it('moves a node within the levels its producers and readers allow to join one of its class', () => {
    // n0 -> n1 -> n2 -> n3 with x1 (n0 -> x1 -> n3) and x2 (n1 -> x2, returned): x1 may run on
    // levels 1-2 and x2 on 2-3, so neither all-early (1, 2) nor all-late (2, 3) levels pair them.
    const [input, n0, n1, n2, n3, x1, x2] = [-1, 0, 1, 2, 3, 4, 5].map(value);
    const nodes: Node[] = [
      { id: 0, v: n0, kind: undefined, reads: [input] },
      { id: 1, v: n1, kind: undefined, reads: [n0] },
      { id: 2, v: n2, kind: undefined, reads: [n1] },
      { id: 4, v: x1, kind: 'x', reads: [n0] },
      { id: 3, v: n3, kind: undefined, reads: [n2, x1] },
      { id: 5, v: x2, kind: 'x', reads: [n1] },
    ];
    const result = steps(nodes, 16).map((m) => m.map((n) => n.id));
    expect(result).toContainEqual([4, 5]);
    expect(result.findIndex((m) => m.includes(4))).toBeLessThan(result.findIndex((m) => m.includes(3)));
  });

  it('returns the nodes as they came where nothing merges', () => {
    const nodes: Node[] = [0, 1, 2].map((id) => ({ id, v: value(id), kind: undefined, reads: [value(-1)] }));
    expect(steps(nodes.slice().reverse(), 16).flat()).toEqual(nodes.slice().reverse());
  });
});
