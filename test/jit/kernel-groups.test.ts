/**
 * Fusion into products and reductions as an IR pass (`fuseIntoKernels`): which groups it moves into
 * the store of the product or reduction they read (epilogues) or into the reads of the reduction
 * that reads them (prologues), and which it must leave alone (a value read twice or returned, a
 * broadcast read, an empty reduction, too many bindings, an extra value read too early). No
 * backend runs here; what the fused kernels compute is tested on WebGPU
 * (`webgpu-kernel-groups.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { fuseIntoKernels, type KernelPlanNode } from '../../src/autodiff/jit/kernel-groups';
import { fuseElementwise } from '../../src/autodiff/jit/fuse';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';

const ones = (...shape: number[]) => M.ones(shape);

/** The plan nodes of `f` at `inputs` with groups fused into kernels under `maxBindings`. */
function nodesOf(f: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], maxBindings = 16): KernelPlanNode[] {
  const [program] = optimizeProgram(M.makeIR(f)(...inputs));
  return fuseIntoKernels(fuseElementwise(program, { multiOutput: true }), program.outputs, { maxBindings });
}

const prims = (group: { members: readonly { prim: string }[] }) => `[${group.members.map((m) => m.prim)}]`;

/** Each node as its primitives: `[sub,mul]>reduceSum+[mul]` for a reduction with a prologue and an epilogue. */
const describeNodes = (nodes: readonly KernelPlanNode[]) =>
  nodes.map((n) => {
    if (n.kind === 'single') return n.eq.prim;
    if (n.kind === 'fused') return prims(n);
    return `${n.prologue ? `${prims(n.prologue)}>` : ''}${n.eq.prim}${n.epilogue ? `+${prims(n.epilogue.group)}` : ''}`;
  });

/** The epilogue of the only node. */
function onlyEpilogue(nodes: readonly KernelPlanNode[]) {
  expect(nodes).toHaveLength(1);
  const [node] = nodes;
  if (node.kind !== 'kernel' || !node.epilogue) throw new Error('not a kernel with an epilogue');
  return { eq: node.eq, ...node.epilogue };
}

describe('fusion into products and reductions (IR)', () => {
  it('moves relu(x @ w + b) into the product: one node, b and 0 its other leaves', () => {
    const [x, w, b] = [ones(4, 3), ones(3, 5), ones(5)];
    const nodes = nodesOf((x, w, b) => M.relu(M.add(M.matmul(x, w), b)), [x, w, b]);
    expect(describeNodes(nodes)).toEqual(['matmul+[add,le,where]']);
    const epilogue = onlyEpilogue(nodes);
    expect(epilogue.value).toBe(epilogue.eq.out);
    expect(epilogue.leaves.map((v) => v.aval.shape)).toEqual([[5], []]);
  });

  it('moves sum(x, 1) * c and log(max(x)) into the reductions', () => {
    const nodes = nodesOf((x) => [M.mul(M.sum(x, [1]), 0.25), M.log(M.max(x, [0]))], [ones(3, 4)]);
    expect(describeNodes(nodes)).toEqual(['reduceSum+[mul]', 'reduceMax+[log]']);
  });

  it('reads the value through a reshape read once (logsumexp keeps its axis so)', () => {
    const nodes = nodesOf((x) => M.log(M.reshape(M.sum(x, [1]), [3, 1])), [ones(3, 4)]);
    expect(describeNodes(nodes)).toEqual(['reduceSum+[log]']);
    const epilogue = onlyEpilogue(nodes);
    expect(epilogue.reshapes.map((eq) => eq.prim)).toEqual(['reshape']);
    expect(epilogue.value.aval.shape).toEqual([3, 1]);
  });

  it('keeps the stored extra values of a multi-output group (pre-activation kept for later)', () => {
    const nodes = nodesOf((x, w, b) => {
      const h = M.add(M.matmul(x, w), b);
      return [M.sum(M.relu(h)), h];
    }, [ones(4, 3), ones(3, 5), ones(5)]);
    expect(describeNodes(nodes)).toEqual(['matmul+[add,le,where]', 'reduceSum']);
    const [node] = nodes;
    if (node.kind !== 'kernel') throw new Error('not a kernel node');
    expect(node.epilogue?.group.outputs?.length).toBe(2);
  });

  it.each([
    ['the product read twice', (x: Tensor, w: Tensor) => {
      const y = M.matmul(x, w);
      return [M.tanh(y), M.sum(y)];
    }],
    ['the product returned', (x: Tensor, w: Tensor) => {
      const y = M.matmul(x, w);
      return [M.tanh(y), y];
    }],
    ['a reshape of it read twice', (x: Tensor, w: Tensor) => {
      const y = M.reshape(M.matmul(x, w), [20]);
      return [M.tanh(y), M.exp(y)];
    }],
  ])('leaves the product alone: %s', (_name, f) => {
    const nodes = nodesOf(f, [ones(4, 3), ones(3, 5)]);
    expect(nodes.some((n) => n.kind === 'kernel')).toBe(false);
    expect(describeNodes(nodes)).toContain('matmul');
  });

  it('leaves a reduction read broadcast (x - max(x)) and an empty reduction alone', () => {
    const broadcast = nodesOf((x) => M.exp(M.sub(x, M.max(x, [1], true))), [ones(3, 4)]);
    expect(describeNodes(broadcast)).toEqual(['reduceMax', 'reshape', '[sub,exp]']);
    const empty = nodesOf((x) => M.mul(M.sum(x, [1]), 2), [ones(3, 0)]);
    expect(describeNodes(empty)).toEqual(['reduceSum', '[mul]']);
  });

  it('fuses when params, output, operands and other leaves fit maxBindings, and not one binding below', () => {
    // matmul out + 5 other leaves: params 1 + output 1 + operands 2 + leaves 5 = 9 bindings.
    const f = (x: Tensor, w: Tensor, ...cs: Tensor[]) => cs.reduce((acc, c, i) => (i % 2 ? M.mul(acc, c) : M.add(acc, c)), M.matmul(x, w));
    const inputs = [ones(4, 3), ones(3, 5), ...[1, 2, 3, 4, 5].map(() => ones(4, 5))];
    expect(describeNodes(nodesOf(f, inputs, 9))).toEqual(['matmul+[add,mul,add,mul,add]']);
    expect(describeNodes(nodesOf(f, inputs, 8))).toEqual(['matmul', '[add,mul,add,mul,add]']);
    // A reduction binds one operand: 8 bindings suffice.
    const g = (x: Tensor, ...cs: Tensor[]) => cs.reduce((acc, c, i) => (i % 2 ? M.mul(acc, c) : M.add(acc, c)), M.sum(x, [2]));
    const reduced = [ones(4, 5, 3), ...[1, 2, 3, 4, 5].map(() => ones(4, 5))];
    expect(describeNodes(nodesOf(g, reduced, 8))).toEqual(['reduceSum+[add,mul,add,mul,add]']);
    expect(describeNodes(nodesOf(g, reduced, 7))).toEqual(['reduceSum', '[add,mul,add,mul,add]']);
  });

  it('takes one of two products read by one group; the other stays a step', () => {
    const nodes = nodesOf((x, w, v) => M.tanh(M.add(M.matmul(x, w), M.matmul(x, v))), [ones(4, 3), ones(3, 5), ones(3, 5)]);
    expect(describeNodes(nodes)).toEqual(['matmul', 'matmul+[add,tanh]']);
  });

  it('computes mean((x - y)²) inside the reduction: a prologue reading x and y, an epilogue dividing', () => {
    const nodes = nodesOf((x, y) => M.mean(M.square(M.sub(x, y))), [ones(3, 4), ones(4)]);
    expect(describeNodes(nodes)).toEqual(['[sub,mul]>reduceSum+[div]']);
    const [node] = nodes;
    if (node.kind !== 'kernel' || !node.prologue) throw new Error('no prologue');
    expect(node.prologue.leaves.map((v) => v.aval.shape)).toEqual([[3, 4], [4]]);
  });

  it("stores a prologue's extra value when nothing reads it before the reduction, and not otherwise", () => {
    // h = 2x is stored by the group whose root is exp(h); max(h) reads it after or before sum(exp(h)).
    const late = nodesOf((x) => {
      const h = M.mul(x, 2);
      const s = M.sum(M.exp(h), [1]);
      return [s, M.max(h, [1])];
    }, [ones(3, 4)]);
    expect(describeNodes(late)).toEqual(['[mul,exp]>reduceSum', 'reduceMax']);
    const early = nodesOf((x) => {
      const h = M.mul(x, 2);
      const e = M.exp(h);
      const m = M.max(h, [1]);
      return [M.sum(e, [1]), m];
    }, [ones(3, 4)]);
    expect(describeNodes(early)).toEqual(['[mul,exp]', 'reduceMax', 'reduceSum']);
  });

  it('leaves a group alone whose value is also returned, or read by another step', () => {
    const returned = nodesOf((x) => {
      const e = M.exp(x);
      return [M.sum(e), e];
    }, [ones(3, 4)]);
    expect(describeNodes(returned)).toEqual(['[exp]', 'reduceSum']);
    const twice = nodesOf((x) => {
      const e = M.exp(x);
      return [M.sum(e), M.max(e)];
    }, [ones(3, 4)]);
    expect(describeNodes(twice)).toEqual(['[exp]', 'reduceSum', 'reduceMax']);
  });

  it("fits a prologue's leaves, extra values and the epilogue in maxBindings, and not one binding below", () => {
    // Prologue: 4 leaves; epilogue: 1 other leaf; stored: the root. 1 + 1 + 4 + 1 = 7 bindings.
    const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor, e: Tensor) => M.mul(M.sum(M.add(M.mul(a, b), M.mul(c, d)), [1]), e);
    const inputs = [ones(3, 4), ones(3, 4), ones(3, 4), ones(3, 4), ones(3)];
    expect(describeNodes(nodesOf(f, inputs, 7))).toEqual(['[mul,mul,add]>reduceSum+[mul]']);
    // One below: the epilogue (1 + 1 + 1 + 1 = 4 bindings) fits, the prologue does not.
    expect(describeNodes(nodesOf(f, inputs, 6))).toEqual(['[mul,mul,add]', 'reduceSum+[mul]']);
  });
});
