/**
 * Epilogue fusion as an IR pass (`fuseEpilogues`): which groups it moves into the store of the
 * product or reduction they read, and which it must leave alone (a value read twice or returned,
 * a broadcast read, an empty reduction, too many bindings). No backend runs here; what the fused
 * kernels compute is tested on WebGPU (`webgpu-epilogue.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { type EpiloguePlanNode, fuseEpilogues } from '../../src/autodiff/jit/epilogue';
import { fuseElementwise } from '../../src/autodiff/jit/fuse';
import { optimizeProgram } from '../../src/autodiff/jit/optimize';

const ones = (...shape: number[]) => M.ones(shape);

/** The plan nodes of `f` at `inputs` with epilogues fused under `maxBindings`. */
function nodesOf(f: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], maxBindings = 16): EpiloguePlanNode[] {
  const [program] = optimizeProgram(M.makeIR(f)(...inputs));
  return fuseEpilogues(fuseElementwise(program, { multiOutput: true }), program.outputs, { maxBindings });
}

/** Each node as its kind and primitives: `matmul+[add,maximum]` for an epilogue. */
const describeNodes = (nodes: readonly EpiloguePlanNode[]) =>
  nodes.map((n) =>
    n.kind === 'single' ? n.eq.prim : n.kind === 'fused' ? `[${n.members.map((m) => m.prim)}]` : `${n.eq.prim}+[${n.group.members.map((m) => m.prim)}]`,
  );

describe('epilogue fusion (IR)', () => {
  it('moves relu(x @ w + b) into the product: one node, b and 0 its other leaves', () => {
    const [x, w, b] = [ones(4, 3), ones(3, 5), ones(5)];
    const nodes = nodesOf((x, w, b) => M.relu(M.add(M.matmul(x, w), b)), [x, w, b]);
    expect(describeNodes(nodes)).toEqual(['matmul+[add,maximum]']);
    const [node] = nodes;
    if (node.kind !== 'epilogue') throw new Error('not an epilogue');
    expect(node.value).toBe(node.eq.out);
    expect(node.leaves.map((v) => v.aval.shape)).toEqual([[5], []]);
  });

  it('moves sum(x, 1) * c and log(max(x)) into the reductions', () => {
    const nodes = nodesOf((x) => [M.mul(M.sum(x, [1]), 0.25), M.log(M.max(x, [0]))], [ones(3, 4)]);
    expect(describeNodes(nodes)).toEqual(['reduceSum+[mul]', 'reduceMax+[log]']);
  });

  it('reads the value through a reshape read once (logsumexp keeps its axis so)', () => {
    const nodes = nodesOf((x) => M.log(M.reshape(M.sum(x, [1]), [3, 1])), [ones(3, 4)]);
    expect(describeNodes(nodes)).toEqual(['reduceSum+[log]']);
    const [node] = nodes;
    if (node.kind !== 'epilogue') throw new Error('not an epilogue');
    expect(node.reshapes.map((eq) => eq.prim)).toEqual(['reshape']);
    expect(node.value.aval.shape).toEqual([3, 1]);
  });

  it('keeps the stored extra values of a multi-output group (pre-activation kept for later)', () => {
    const nodes = nodesOf((x, w, b) => {
      const h = M.add(M.matmul(x, w), b);
      return [M.sum(M.relu(h)), h];
    }, [ones(4, 3), ones(3, 5), ones(5)]);
    expect(describeNodes(nodes)).toEqual(['matmul+[add,maximum]', 'reduceSum']);
    const [node] = nodes;
    if (node.kind !== 'epilogue') throw new Error('not an epilogue');
    expect(node.group.outputs?.length).toBe(2);
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
    expect(nodes.some((n) => n.kind === 'epilogue')).toBe(false);
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
});
