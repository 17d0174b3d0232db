/**
 * einsum and tensordot against a naive float64 reference written here (nested loops over every
 * assignment of the indices, on plain arrays): random subscripts and shapes, the named cases,
 * ellipsis broadcasting, diagonals and traces; gradients against central differences of the
 * reference; vmap and jit against eager mode; the matmul fast path in the staged program; every
 * error; and the value checks again on WebGPU (float32).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { describeWebGPU, webgpu } from '../webgpu/gpu';
import { expectClose, expectError, randomValues, RUNS, type Tolerance, valuesOf } from './helpers';

// ---------------------------------------------------------------------------------------------
// The reference: an independent parser and a loop over all index assignments.

interface Arr {
  shape: number[];
  values: number[];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ravelIdx = (idx: readonly number[], shape: readonly number[]) => idx.reduce((f, i, k) => f * shape[k] + i, 0);

/** NumPy's einsum by definition. Ellipsis axes get the labels '0', '1', ... (right-aligned). */
function refEinsum(subscripts: string, ops: readonly Arr[]): Arr {
  const s = subscripts.replace(/ /g, '');
  const [lhs, rhs] = s.includes('->') ? s.split('->') : [s, undefined];
  const terms = lhs.split(',');
  const split = (t: string): [string, string, boolean] => (t.includes('...') ? [...(t.split('...') as [string, string]), true] : [t, '', false]);
  const ellRanks = terms.map((t, k) => {
    const [pre, post, has] = split(t);
    return has ? ops[k].shape.length - pre.length - post.length : 0;
  });
  const nb = Math.max(0, ...ellRanks);
  const ellLabels = Array.from({ length: nb }, (_, g) => String(g));
  const opLabels = terms.map((t, k) => {
    const [pre, post] = split(t);
    const e = ellRanks[k];
    return [...pre, ...Array.from({ length: e }, (_, j) => String(nb - e + j)), ...post];
  });
  const size = new Map<string, number>();
  opLabels.forEach((ls, k) => ls.forEach((l, i) => size.set(l, Math.max(size.get(l) ?? 1, ops[k].shape[i]))));
  let out: string[];
  if (rhs === undefined) {
    const letters = terms.join('').replace(/\./g, '').split('');
    const once = [...new Set(letters)].filter((l) => letters.filter((m) => m === l).length === 1).sort();
    out = [...ellLabels, ...once];
  } else {
    const [pre, post, has] = split(rhs);
    out = [...pre, ...(has ? ellLabels : []), ...post];
  }
  const all = [...size.keys()];
  const outShape = out.map((l) => size.get(l) as number);
  const values = new Array<number>(prod(outShape)).fill(0);
  const at = new Map<string, number>();
  const loop = (d: number) => {
    if (d === all.length) {
      let p = 1;
      ops.forEach((op, k) => {
        p *= op.values[ravelIdx(opLabels[k].map((l, i) => (op.shape[i] === 1 ? 0 : (at.get(l) as number))), op.shape)];
      });
      values[ravelIdx(out.map((l) => at.get(l) as number), outShape)] += p;
      return;
    }
    for (let v = 0; v < (size.get(all[d]) as number); v++) {
      at.set(all[d], v);
      loop(d + 1);
    }
  };
  loop(0);
  return { shape: outShape, values };
}

/** numpy.tensordot by its definition, through the reference einsum with spelled-out subscripts. */
function refTensordot(a: Arr, b: Arr, axesA: number[], axesB: number[]): Arr {
  const letters = 'abcdefghijklmnop';
  const la = a.shape.map((_, i) => letters[i]);
  const lb = b.shape.map((_, i) => letters[8 + i]);
  axesA.forEach((ax, i) => {
    lb[axesB[i]] = la[ax];
  });
  const out = [...la.filter((_, i) => !axesA.includes(i)), ...lb.filter((_, i) => !axesB.includes(i))];
  return refEinsum(`${la.join('')},${lb.join('')}->${out.join('')}`, [a, b]);
}

// ---------------------------------------------------------------------------------------------
// Test data.

const arr = (shape: number[], seed: number): Arr => ({ shape, values: randomValues(seed, prod(shape)) });
const f64 = (a: Arr): Tensor => M.tensor(Float64Array.from(a.values), { shape: a.shape });
const TOL: Tolerance = { rtol: 1e-10, atol: 1e-12 };

function checkEinsum(subscripts: string, shapes: number[][], seed = 1): void {
  const ops = shapes.map((s, k) => arr(s, seed * 31 + k));
  const ref = refEinsum(subscripts, ops);
  const out = M.einsum(subscripts, ...ops.map(f64));
  expect(out.shape, subscripts).toEqual(ref.shape);
  expect(out.dtype).toBe('float64');
  expectClose(valuesOf(out), ref.values, TOL, subscripts);
}

interface EinsumCase {
  subscripts: string;
  shapes: number[][];
  seed: number;
}

const LETTERS = 'abcdeA';

/**
 * Random subscripts for 1-3 operands: terms of up to 3 indices (repeats give diagonals) drawn from
 * LETTERS with one size each, optionally an ellipsis over a broadcast shape (each operand a suffix of
 * it, some sizes 1), and an explicit output (a random ordered subset, '...' somewhere) or none.
 */
const einsumCaseArb = (maxSize = 4): fc.Arbitrary<EinsumCase> =>
  fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: maxSize }), { minLength: LETTERS.length, maxLength: LETTERS.length }),
      terms: fc.array(fc.array(fc.integer({ min: 0, max: LETTERS.length - 1 }), { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
      ellipsis: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      ellOps: fc.array(fc.record({ on: fc.boolean(), pos: fc.nat(3), drop: fc.nat(2), ones: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }) }), {
        minLength: 3,
        maxLength: 3,
      }),
      useEllipsis: fc.boolean(),
      explicit: fc.boolean(),
      keep: fc.array(fc.boolean(), { minLength: LETTERS.length, maxLength: LETTERS.length }),
      order: fc.array(fc.nat(100), { minLength: LETTERS.length + 1, maxLength: LETTERS.length + 1 }),
      spaced: fc.boolean(),
      seed: fc.nat(1000),
    })
    .map((r) => {
      let anyEllipsis = false;
      const shapes: number[][] = [];
      const terms = r.terms.map((idx, k) => {
        const letters = idx.map((i) => LETTERS[i]);
        const shape = idx.map((i) => r.sizes[i]);
        const e = r.ellOps[k];
        if (!r.useEllipsis || !e.on) {
          shapes.push(shape);
          return letters.join('');
        }
        anyEllipsis = true;
        const sub = r.ellipsis.slice(Math.min(e.drop, r.ellipsis.length));
        const ell = sub.map((d, j) => (e.ones[j] ? 1 : d));
        const pos = e.pos % (letters.length + 1);
        shapes.push([...shape.slice(0, pos), ...ell, ...shape.slice(pos)]);
        return [...letters.slice(0, pos), '...', ...letters.slice(pos)].join('');
      });
      let subscripts = terms.join(r.spaced ? ' , ' : ',');
      if (r.explicit) {
        const used = [...new Set(r.terms.flat())];
        const out = used.filter((i) => r.keep[i]).map((i) => ({ token: LETTERS[i], key: r.order[i] }));
        if (anyEllipsis) out.push({ token: '...', key: r.order[LETTERS.length] });
        out.sort((x, y) => x.key - y.key || x.token.localeCompare(y.token));
        subscripts += (r.spaced ? ' -> ' : '->') + out.map((o) => o.token).join('');
      }
      return { subscripts, shapes, seed: r.seed };
    });

// ---------------------------------------------------------------------------------------------

describe('einsum values against the reference', () => {
  it('random subscripts (1-3 operands, diagonals, ellipsis, explicit and implicit outputs)', () => {
    fc.assert(
      fc.property(einsumCaseArb(), (c) => checkEinsum(c.subscripts, c.shapes, c.seed)),
      { numRuns: 200 },
    );
  });

  const NAMED: [string, number[][]][] = [
    ['ij,jk->ik', [[2, 3], [3, 4]]],
    ['ij,jk', [[2, 3], [3, 4]]],
    ['ij,jk->ki', [[2, 3], [3, 4]]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
    ['ij,kj->ik', [[3, 4], [2, 4]]],
    ['ji,jk->ik', [[4, 3], [4, 2]]],
    ['i,i->', [[5], [5]]],
    ['i,i', [[5], [5]]],
    ['i,j->ij', [[3], [4]]],
    ['i,j', [[3], [4]]],
    ['ij,ij->ij', [[2, 3], [2, 3]]],
    ['ij,ij->i', [[2, 3], [2, 3]]],
    ['ij,ij', [[2, 3], [2, 3]]],
    ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
    ['ij->ji', [[2, 3]]],
    ['ji', [[2, 3]]],
    ['ij->', [[2, 3]]],
    ['ij->j', [[2, 3]]],
    ['ii->i', [[3, 3]]],
    ['ii', [[3, 3]]],
    ['iii->i', [[2, 2, 2]]],
    ['iij->ji', [[3, 3, 2]]],
    ['ijij->ij', [[2, 3, 2, 3]]],
    ['ii,i->i', [[3, 3], [3]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]]],
    ['ij,jk,kl', [[2, 3], [3, 4], [4, 5]]],
    ['ij,jk,kl->li', [[5, 1], [1, 6], [6, 2]]],
    ['i,i,i->i', [[4], [4], [4]]],
    ['i,i,i->', [[4], [4], [4]]],
    ['abc,cd,bd->ad', [[2, 3, 4], [4, 5], [3, 5]]],
    ['ba,ac,cb->', [[2, 3], [3, 4], [4, 2]]],
    ['i,j,k->ijk', [[2], [3], [4]]],
    ['ij,k,jk->ik', [[2, 3], [4], [3, 4]]],
    [' i j , j k -> i k ', [[2, 3], [3, 4]]],
    ['Ab,bA->', [[2, 3], [3, 2]]],
    ['aB,Bc', [[2, 3], [3, 4]]],
    ['->', [[]]],
    ['', [[]]],
    [',->', [[], []]],
    ['i,->i', [[3], []]],
    ['ij,jk->ik', [[1, 1], [1, 1]]],
  ];
  it.each(NAMED)('%s with shapes %j', (subscripts, shapes) => checkEinsum(subscripts, shapes));

  const ELLIPSIS: [string, number[][]][] = [
    ['...ij,...jk->...ik', [[2, 1, 3, 4], [5, 4, 2]]],
    ['...ij,...jk', [[2, 1, 3, 4], [5, 4, 2]]],
    ['...,...->...', [[3, 1], [4]]],
    ['...,...', [[3, 1], [4]]],
    ['i...->...', [[3, 4, 5]]],
    ['...i->...', [[3, 4, 5]]],
    ['...ii->...i', [[2, 3, 3]]],
    ['i...i', [[3, 4, 3]]],
    ['ij...,jk...->ik...', [[2, 3, 4], [3, 5, 4]]],
    ['ij...,jk...->...ik', [[2, 3, 4], [3, 5, 1]]],
    ['...ij,j->...i', [[2, 3, 4, 5], [5]]],
    ['...,...->', [[], []]],
    ['ij...->ij...', [[2, 3]]],
    ['ij->...ij', [[2, 3]]],
    ['b...,b...,b...->b...', [[2, 3, 1], [2, 1, 4], [2, 4]]],
  ];
  it.each(ELLIPSIS)('ellipsis: %s with shapes %j', (subscripts, shapes) => checkEinsum(subscripts, shapes));

  // NumPy and PyTorch broadcast a size-1 axis of a named index too, not only under '...'.
  const SIZE_ONE: [string, number[][]][] = [
    ['i,i->i', [[1], [3]]],
    ['i,i->', [[3], [1]]],
    ['ij,jk->ik', [[2, 1], [3, 4]]],
    ['ij,j->ij', [[2, 1], [3]]],
    ['bi,bi->b', [[1, 3], [4, 3]]],
    ['ij,ij', [[1, 3], [2, 1]]],
    ['ii,i->i', [[1, 1], [3]]],
    ['i,j,i->ij', [[1], [2], [3]]],
    ['bij,bjk->bik', [[1, 2, 3], [4, 3, 2]]],
    ['i...,i...', [[1, 2], [3, 1]]],
  ];
  it.each(SIZE_ONE)('size-1 broadcasting of a named index: %s with shapes %j', (subscripts, shapes) => checkEinsum(subscripts, shapes));

  it('diagonal and trace equal the plain loops', () => {
    const m = arr([4, 4], 3);
    const t = f64(m);
    expectClose(valuesOf(M.einsum('ii->i', t)), [0, 5, 10, 15].map((i) => m.values[i]), TOL);
    expectClose(valuesOf(M.einsum('ii', t)), [m.values[0] + m.values[5] + m.values[10] + m.values[15]], TOL);
    expect(M.einsum('ii', t).shape).toEqual([]);
    // The diagonal of a size-0 matrix is empty; its trace is 0.
    expect(M.einsum('ii->i', M.zeros([0, 0], { dtype: 'float64' })).shape).toEqual([0]);
    expect(valuesOf(M.einsum('ii', M.zeros([0, 0], { dtype: 'float64' })))).toEqual([0]);
  });

  it('implicit outputs sort indices by character code, upper case first (as NumPy)', () => {
    expect(M.einsum('a,B', M.zeros([2]), M.zeros([3])).shape).toEqual([3, 2]);
    expect(M.einsum('ba', M.zeros([2, 3])).shape).toEqual([3, 2]);
    expect(M.einsum('...b,a', M.zeros([4, 2]), M.zeros([3])).shape).toEqual([4, 3, 2]);
  });

  it('promotes dtypes as the binary ops do', () => {
    const i32 = M.tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    const f32 = M.tensor([[1, 0.5], [2, 1]]);
    const f64t = M.tensor([1, 2], { dtype: 'float64' });
    expect(M.einsum('ij,jk->ik', i32, i32).dtype).toBe('int32');
    expect(M.einsum('ij,jk->ik', i32, i32).toArraySync()).toEqual([[7, 10], [15, 22]]);
    expect(M.einsum('ij,jk->ik', i32, f32).dtype).toBe('float32');
    expect(M.einsum('ij,j->i', f32, f64t).dtype).toBe('float64');
    // Plain values are weakly typed: they take the tensor's dtype.
    const weak = M.einsum('ij,j->i', M.reshape(f64t, [1, 2]), [3, 4]);
    expect(weak.dtype).toBe('float64');
    expect(weak.toArraySync()).toEqual([11]);
    // bool is summed as int32, as sum does.
    const b = M.tensor([[true, false], [true, true]]);
    expect(M.einsum('ij->j', b).dtype).toBe('int32');
    expect(M.einsum('ij,jk->ik', b, b).toArraySync()).toEqual([[1, 0], [2, 1]]);
    expectError(() => M.einsum('i,i', M.tensor([1], { dtype: 'int32' }), M.tensor([1], { dtype: 'uint32' })), M.DTypeError, /einsum: cannot mix int32 and uint32/);
  });
});

interface NumpyCase {
  subscripts: string;
  shapes: number[][];
  operands: number[][];
  shape: number[];
  values: number[];
  cotangent?: number[];
  grads?: number[][];
}
const numpyFixture = JSON.parse(readFileSync(new URL('./fixtures/numpy-einsum.json', import.meta.url), 'utf8')) as {
  numpy: string;
  torch: string;
  cases: NumpyCase[];
};

describe(`numpy.einsum's own numbers (fixture from numpy ${numpyFixture.numpy}, gradients from torch ${numpyFixture.torch})`, () => {
  const operands = (c: NumpyCase) => c.operands.map((v, k) => M.tensor(Float64Array.from(v), { shape: c.shapes[k] }));
  it('values, eagerly and under jit (1-4 operands, size-0 and broadcast size-1 axes, ellipses, diagonals)', () => {
    for (const c of numpyFixture.cases) {
      const what = `${c.subscripts} ${JSON.stringify(c.shapes)}`;
      const outs = [M.einsum(c.subscripts, ...operands(c)), M.jit((...xs: Tensor[]) => M.einsum(c.subscripts, ...xs))(...operands(c))];
      for (const out of outs) {
        expect(out.shape, what).toEqual(c.shape);
        expectClose(valuesOf(out), c.values, TOL, what);
      }
    }
  });

  it("gradients of sum(einsum(...) * w) equal PyTorch's", () => {
    const cases = numpyFixture.cases.filter((c) => c.grads !== undefined);
    expect(cases.length).toBeGreaterThan(100);
    for (const c of cases) {
      const w = M.tensor(Float64Array.from(c.cotangent as number[]), { shape: c.shape });
      const argnums = c.shapes.map((_, k) => k);
      const grads = M.grad((...xs: Tensor[]) => M.sum(M.mul(M.einsum(c.subscripts, ...xs), w)), { argnums })(...operands(c)) as Tensor[];
      grads.forEach((g, k) => expectClose(valuesOf(g), (c.grads as number[][])[k], TOL, `${c.subscripts} ${JSON.stringify(c.shapes)} operand ${k}`));
    }
  });
});

describe('tensordot', () => {
  it('random axes (counts and pairs, negative axes) against the reference', () => {
    const arb = fc
      .record({
        a: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
        bExtra: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
        picks: fc.array(fc.nat(10), { maxLength: 3 }),
        slots: fc.array(fc.nat(10), { maxLength: 3 }),
        negA: fc.boolean(),
        negB: fc.boolean(),
        count: fc.boolean(),
        seed: fc.nat(1000),
      })
      .map((r) => {
        if (r.count) {
          const n = Math.min(r.picks.length, r.a.length);
          return { a: r.a, b: [...r.a.slice(r.a.length - n), ...r.bExtra], axes: n as number | [number[], number[]], seed: r.seed };
        }
        // Distinct axes of a, each placed at a distinct slot of b.
        const axesA: number[] = [];
        for (const p of r.picks) if (r.a.length > 0 && !axesA.includes(p % r.a.length)) axesA.push(p % r.a.length);
        const rankB = r.bExtra.length + axesA.length;
        const b: (number | undefined)[] = new Array(rankB).fill(undefined);
        const axesB: number[] = [];
        axesA.forEach((ax, i) => {
          let slot = (r.slots[i] ?? i) % rankB;
          while (b[slot] !== undefined) slot = (slot + 1) % rankB;
          b[slot] = r.a[ax];
          axesB.push(slot);
        });
        let extra = 0;
        const bShape = b.map((d) => d ?? r.bExtra[extra++]);
        const neg = (axes: number[], rank: number, on: boolean) => axes.map((ax) => (on ? ax - rank : ax));
        return { a: r.a, b: bShape, axes: [neg(axesA, r.a.length, r.negA), neg(axesB, rankB, r.negB)] as [number[], number[]], seed: r.seed };
      });
    fc.assert(
      fc.property(arb, ({ a, b, axes, seed }) => {
        const [x, y] = [arr(a, seed), arr(b, seed + 1)];
        const [axesA, axesB] =
          typeof axes === 'number'
            ? [Array.from({ length: axes }, (_, i) => a.length - axes + i), Array.from({ length: axes }, (_, i) => i)]
            : [axes[0].map((ax) => (ax < 0 ? ax + a.length : ax)), axes[1].map((ax) => (ax < 0 ? ax + b.length : ax))];
        const ref = refTensordot(x, y, axesA, axesB);
        const out = M.tensordot(f64(x), f64(y), axes);
        expect(out.shape).toEqual(ref.shape);
        expectClose(valuesOf(out), ref.values, TOL, JSON.stringify({ a, b, axes }));
      }),
      { numRuns: 150 },
    );
  });

  it('default axes 2, single-axis pairs, the outer product', () => {
    const [x, y] = [arr([2, 3, 4], 1), arr([3, 4, 5], 2)];
    const out = M.tensordot(f64(x), f64(y));
    expect(out.shape).toEqual([2, 5]);
    expectClose(valuesOf(out), refTensordot(x, y, [1, 2], [0, 1]).values, TOL);
    const [p, q] = [arr([3, 2], 3), arr([4, 3], 4)];
    expectClose(valuesOf(M.tensordot(f64(p), f64(q), [0, 1])), refTensordot(p, q, [0], [1]).values, TOL);
    expectClose(valuesOf(M.tensordot(f64(p), f64(q), [[-2], [-1]])), refTensordot(p, q, [0], [1]).values, TOL);
    const outer = M.tensordot(f64(p), f64(q), 0);
    expect(outer.shape).toEqual([3, 2, 4, 3]);
    expectClose(valuesOf(outer), refTensordot(p, q, [], []).values, TOL);
    expect(M.tensordot(M.tensor([1, 2], { dtype: 'int32' }), M.tensor([3, 4], { dtype: 'int32' }), 1).toArraySync()).toBe(11);
  });
});

// ---------------------------------------------------------------------------------------------

/** Central differences of Σ ref(subscripts, ops) · w with respect to every element of every operand. */
function finiteDifferences(subscripts: string, ops: Arr[], w: number[]): number[][] {
  const h = 1e-6;
  const loss = (os: Arr[]) => refEinsum(subscripts, os).values.reduce((s, v, i) => s + v * w[i], 0);
  return ops.map((op, k) =>
    op.values.map((_, e) => {
      const at = (delta: number) => loss(ops.map((o, m) => (m !== k ? o : { shape: o.shape, values: o.values.map((v, i) => (i === e ? v + delta : v)) })));
      return (at(h) - at(-h)) / (2 * h);
    }),
  );
}

function checkGradient(subscripts: string, shapes: number[][], seed = 1): void {
  const ops = shapes.map((s, k) => arr(s, seed * 17 + k));
  const outShape = refEinsum(subscripts, ops).shape;
  const w = randomValues(seed + 999, prod(outShape));
  const wt = M.tensor(Float64Array.from(w), { shape: outShape });
  const grads = M.grad((xs: Tensor[]) => M.sum(M.mul(M.einsum(subscripts, ...xs), wt)))(ops.map(f64)) as Tensor[];
  const fd = finiteDifferences(subscripts, ops, w);
  grads.forEach((g, k) => {
    expect(g.shape).toEqual(shapes[k]);
    // The loss is linear in each operand, so central differences are exact up to rounding (~1e-10).
    expectClose(valuesOf(g), fd[k], { rtol: 1e-7, atol: 1e-7 }, `${subscripts} d/d operand ${k}`);
  });
}

describe('einsum transformations', () => {
  it('grad of sum(einsum(...) * w) equals central differences, for random subscripts', () => {
    fc.assert(
      fc.property(einsumCaseArb(3), (c) => checkGradient(c.subscripts, c.shapes, c.seed)),
      { numRuns: 40 },
    );
  });

  const GRAD_CASES: [string, number[][]][] = [
    ['ij,jk->ik', [[2, 3], [3, 4]]],
    ['bij,bjk->bik', [[2, 3, 2], [2, 2, 3]]],
    ['ij,kj->ik', [[3, 2], [2, 2]]],
    ['i,i->', [[4], [4]]],
    ['ii', [[3, 3]]],
    ['ii->i', [[3, 3]]],
    ['i,j->ij', [[2], [3]]],
    ['ij,jk,kl->il', [[2, 3], [3, 2], [2, 2]]],
    ['...ij,...jk->...ik', [[2, 1, 2, 3], [3, 3, 2]]],
  ];
  it.each(GRAD_CASES)('grad of %s with shapes %j equals central differences', (subscripts, shapes) => checkGradient(subscripts, shapes));

  it('grad of tensordot equals central differences', () => {
    const [x, y] = [arr([2, 3, 4], 5), arr([4, 3, 2], 6)];
    const w = randomValues(7, 4);
    const wt = M.tensor(Float64Array.from(w), { shape: [2, 2] });
    const [ga, gb] = M.grad((a: Tensor, b: Tensor) => M.sum(M.mul(M.tensordot(a, b, [[1, 2], [1, 0]]), wt)), { argnums: [0, 1] })(f64(x), f64(y));
    const fd = finiteDifferences('ijk,kjl->il', [x, y], w);
    expectClose(valuesOf(ga), fd[0], { rtol: 1e-7, atol: 1e-7 });
    expectClose(valuesOf(gb), fd[1], { rtol: 1e-7, atol: 1e-7 });
  });

  it('vmap(einsum) equals einsum of each batch element, and jit(einsum) equals eager', () => {
    const arb = fc.record({ c: einsumCaseArb(3), mapped: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) });
    fc.assert(
      fc.property(arb, ({ c, mapped }) => {
        const n = c.shapes.length;
        const inAxes = c.shapes.map((_, k) => (mapped[k] || k === 0 ? 0 : null));
        const B = 2;
        const batched = c.shapes.map((s, k) => f64(arr(inAxes[k] === 0 ? [B, ...s] : s, c.seed * 7 + k)));
        const out = M.vmap((...xs: Tensor[]) => M.einsum(c.subscripts, ...xs), { inAxes })(...batched);
        const each = Array.from({ length: B }, (_, i) => M.einsum(c.subscripts, ...batched.map((x, k) => (inAxes[k] === 0 ? M.slice(x, i) : x))));
        const expected = M.stack(each, 0);
        expect(out.shape).toEqual(expected.shape);
        expectClose(valuesOf(out), valuesOf(expected), TOL, `vmap ${c.subscripts}`);

        const plain = batched.map((x, k) => (inAxes[k] === 0 ? M.slice(x, 0) : x)).slice(0, n);
        const jitted = M.jit((...xs: Tensor[]) => M.einsum(c.subscripts, ...xs))(...plain);
        const eager = M.einsum(c.subscripts, ...plain);
        expect(jitted.shape).toEqual(eager.shape);
        expectClose(valuesOf(jitted), valuesOf(eager), TOL, `jit ${c.subscripts}`);
      }),
      RUNS,
    );
  });

  it('jvp of einsum is the sum over operands of einsum with one operand replaced by its tangent', () => {
    fc.assert(
      fc.property(einsumCaseArb(3), (c) => {
        const ops = c.shapes.map((s, k) => arr(s, c.seed * 13 + k));
        const tangents = c.shapes.map((s, k) => arr(s, c.seed * 13 + 50 + k));
        const [y, dy] = M.jvp((...xs: Tensor[]) => M.einsum(c.subscripts, ...xs), ops.map(f64), tangents.map(f64));
        const ref = refEinsum(c.subscripts, ops);
        // Multilinear: d einsum(x1..xn)[t] = Σ_k einsum(x1..t_k..xn).
        const dref = new Array<number>(ref.values.length).fill(0);
        ops.forEach((_, k) => {
          refEinsum(c.subscripts, ops.map((o, m) => (m === k ? tangents[k] : o))).values.forEach((v, i) => {
            dref[i] += v;
          });
        });
        expectClose(valuesOf(y), ref.values, TOL, `jvp primal ${c.subscripts}`);
        expectClose(valuesOf(dy), dref, TOL, `jvp tangent ${c.subscripts}`);
      }),
      { numRuns: 40 },
    );
  });

  it('grad through jit(einsum) and vmap of the gradient', () => {
    const [x, y] = [arr([3, 4], 11), arr([4, 2], 12)];
    const loss = (a: Tensor, b: Tensor) => M.sum(M.square(M.einsum('ij,jk->ik', a, b)));
    const eager = M.grad(loss, { argnums: [0, 1] })(f64(x), f64(y));
    const staged = M.jit(M.grad(loss, { argnums: [0, 1] }))(f64(x), f64(y));
    expectClose(valuesOf(staged[0]), valuesOf(eager[0]), TOL);
    expectClose(valuesOf(staged[1]), valuesOf(eager[1]), TOL);
    const xs = f64(arr([2, 3, 4], 13));
    const perExample = M.vmap(M.grad((a: Tensor) => loss(a, f64(y))))(xs);
    for (let i = 0; i < 2; i++) {
      expectClose(valuesOf(M.slice(perExample, i)), valuesOf(M.grad((a: Tensor) => loss(a, f64(y)))(M.slice(xs, i))), TOL);
    }
  });
});

describe('einsum lowers contractions to matmul', () => {
  const z = (s: number[]) => M.zeros(s, { dtype: 'float64' });
  const prims = (subscripts: string, ...shapes: number[][]) =>
    M.makeIR((...xs: Tensor[]) => M.einsum(subscripts, ...xs))(...shapes.map(z)).equations.map((e) => e.prim);

  it('ij,jk->ik and bij,bjk->bik are a single matmul', () => {
    expect(prims('ij,jk->ik', [2, 3], [3, 4])).toEqual(['matmul']);
    expect(prims('ij,jk', [2, 3], [3, 4])).toEqual(['matmul']);
    expect(prims('bij,bjk->bik', [5, 2, 3], [5, 3, 4])).toEqual(['matmul']);
  });

  it('ij,kj->ik, i,i-> and the attention scores are a matmul, with no broadcast multiply or sum', () => {
    for (const [s, shapes] of [
      ['ij,kj->ik', [[2, 3], [4, 3]]],
      ['i,i->', [[5], [5]]],
      ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
      ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]]],
      ['...ij,...jk->...ik', [[2, 3, 4], [2, 4, 5]]],
    ] as [string, number[][]][]) {
      const p = prims(s, ...shapes);
      expect(p.filter((q) => q === 'matmul').length, s).toBe(s.split(',').length - 1);
      expect(p.filter((q) => q === 'mul' || q === 'reduceSum' || q === 'broadcastTo'), s).toEqual([]);
    }
  });

  it('tensordot is one matmul', () => {
    const p = M.makeIR((a: Tensor, b: Tensor) => M.tensordot(a, b, [[0, 2], [1, 0]]))(z([2, 3, 4]), z([4, 2, 5])).equations.map((e) => e.prim);
    expect(p.filter((q) => q === 'matmul').length).toBe(1);
    expect(p.filter((q) => q === 'mul' || q === 'reduceSum')).toEqual([]);
  });

  it('a chain of three is contracted greedily: the small intermediate first', () => {
    // Left to right would build a 50x50 intermediate; the greedy path contracts b and c (2x2) first.
    const ir = M.makeIR((a: Tensor, b: Tensor, c: Tensor) => M.einsum('ij,jk,kl->il', a, b, c))(z([50, 2]), z([2, 50]), z([50, 2]));
    const matmuls = ir.equations.filter((e) => e.prim === 'matmul');
    expect(matmuls.map((e) => e.out.aval.shape)).toEqual([
      [2, 2],
      [50, 2],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('einsum and tensordot errors', () => {
  const z = (...s: number[]) => M.zeros(s);

  it('operand count', () => {
    expectError(() => M.einsum('ij,jk->ik', z(2, 3)), M.ArgumentError, "einsum: the subscripts name 2 operands but 1 was given (subscripts 'ij,jk->ik', shapes [2,3])");
    expectError(() => M.einsum('ij', z(2, 3), z(3)), M.ArgumentError, "einsum: the subscripts name 1 operand but 2 were given (subscripts 'ij', shapes [2,3], [3])");
    expectError(() => M.einsum('ij'), M.ArgumentError, "einsum: needs at least one operand for subscripts 'ij'");
  });

  it('rank', () => {
    expectError(() => M.einsum('ij', z(2, 3, 4)), M.ShapeError, "einsum: operand 0 has rank 3 but its term 'ij' names 2 indices (subscripts 'ij', shapes [2,3,4])");
    expectError(() => M.einsum('i,ij->j', z(2), z(2)), M.ShapeError, "einsum: operand 1 has rank 1 but its term 'ij' names 2 indices (subscripts 'i,ij->j', shapes [2], [2])");
    expectError(() => M.einsum('...ijk', z(2, 3)), M.ShapeError, "einsum: operand 0 has rank 2 but its term '...ijk' names 3 indices besides '...' (subscripts '...ijk', shapes [2,3])");
  });

  it('sizes of an index', () => {
    expectError(() => M.einsum('ij,jk->ik', z(2, 3), z(4, 5)), M.ShapeError, "einsum: index 'j' has size 3 in operand 0 but 4 in operand 1 (subscripts 'ij,jk->ik', shapes [2,3], [4,5])");
    expectError(() => M.einsum('ii', z(2, 3)), M.ShapeError, "einsum: index 'i' has sizes 2 and 3 in operand 0 (subscripts 'ii', shapes [2,3])");
    expectError(() => M.einsum('i,i,i->i', z(1), z(3), z(2)), M.ShapeError, "einsum: index 'i' has size 3 in operand 1 but 2 in operand 2 (subscripts 'i,i,i->i', shapes [1], [3], [2])");
    // A size 1 broadcasts across operands, but the axes of a diagonal must match (as NumPy).
    expectError(() => M.einsum('ii->i', z(1, 3)), M.ShapeError, "einsum: index 'i' has sizes 1 and 3 in operand 0 (subscripts 'ii->i', shapes [1,3])");
  });

  it('output indices', () => {
    expectError(() => M.einsum('ij->k', z(2, 3)), M.ArgumentError, "einsum: output index 'k' does not appear in the inputs (subscripts 'ij->k', shapes [2,3])");
    expectError(() => M.einsum('ij->ii', z(2, 3)), M.ArgumentError, "einsum: output index 'i' appears more than once (subscripts 'ij->ii', shapes [2,3])");
    expectError(() => M.einsum('i,i->i,i', z(2), z(2)), M.ArgumentError, "einsum: the output (after '->') cannot contain ',' (subscripts 'i,i->i,i', shapes [2], [2])");
  });

  it('invalid characters and arrows', () => {
    expectError(() => M.einsum('ij,j1->i', z(2, 3), z(3, 3)), M.ArgumentError, "einsum: invalid character '1': indices are the letters a-z and A-Z (subscripts 'ij,j1->i', shapes [2,3], [3,3])");
    expectError(() => M.einsum('ij→i', z(2, 3)), M.ArgumentError, "einsum: invalid character '→': indices are the letters a-z and A-Z (subscripts 'ij→i', shapes [2,3])");
    expectError(() => M.einsum('i->i->i', z(2)), M.ArgumentError, "einsum: '->' appears more than once (subscripts 'i->i->i', shapes [2])");
    expectError(() => M.einsum('i>i', z(2)), M.ArgumentError, "einsum: '-' and '>' may only appear together as '->' (subscripts 'i>i', shapes [2])");
    expectError(() => M.einsum('i-i', z(2)), M.ArgumentError, "einsum: '-' and '>' may only appear together as '->' (subscripts 'i-i', shapes [2])");
    expectError(() => M.einsum(3 as unknown as string, z(2)), M.ArgumentError, "einsum: subscripts must be a string such as 'ij,jk->ik', got number");
  });

  it('ellipsis misuse', () => {
    expectError(() => M.einsum('..ij', z(2, 3)), M.ArgumentError, "einsum: '.' in operand 0's term '..ij' must be part of an ellipsis '...' (subscripts '..ij', shapes [2,3])");
    expectError(() => M.einsum('...i...', z(2, 3)), M.ArgumentError, "einsum: operand 0's term '...i...' has more than one ellipsis '...' (subscripts '...i...', shapes [2,3])");
    expectError(() => M.einsum('...i->....i', z(2, 3)), M.ArgumentError, "einsum: '.' in the output '....i' must be part of an ellipsis '...' (subscripts '...i->....i', shapes [2,3])");
    expectError(() => M.einsum('...i->i', z(2, 3)), M.ArgumentError, "einsum: the output needs '...' for the 1 axis the inputs' ellipsis covers (subscripts '...i->i', shapes [2,3])");
    expectError(
      () => M.einsum('...i,...i->...i', z(2, 3), z(4, 3)),
      M.ShapeError,
      "einsum: the axes under '...' do not broadcast: ellipsis axis -1 has sizes 2 and 4 (operand 1) (subscripts '...i,...i->...i', shapes [2,3], [4,3])",
    );
  });

  it('tensordot', () => {
    const a = z(2, 3, 4);
    const b = z(3, 4, 5);
    expectError(() => M.tensordot(a, b, 1), M.ShapeError, 'tensordot: axis 2 of a has size 4 but axis 0 of b has size 3 (shapes [2,3,4] and [3,4,5], axes 1)');
    expectError(() => M.tensordot(a, b, 4), M.ShapeError, 'tensordot: cannot contract 4 axes of operands of ranks 3 and 3 (shapes [2,3,4] and [3,4,5], axes 4)');
    expectError(() => M.tensordot(a, b, -1), M.ArgumentError, 'tensordot: an axis count must be a non-negative integer (shapes [2,3,4] and [3,4,5], axes -1)');
    expectError(() => M.tensordot(a, b, [[1, 2], [0]]), M.ArgumentError, 'tensordot: 2 axes of a paired with 1 of b (shapes [2,3,4] and [3,4,5], axes [[1,2],[0]])');
    expectError(() => M.tensordot(a, b, [[3], [0]]), M.ArgumentError, 'tensordot: axis 3 of a is out of range for rank 3 (shapes [2,3,4] and [3,4,5], axes [[3],[0]])');
    expectError(() => M.tensordot(a, b, [[-4], [0]]), M.ArgumentError, 'tensordot: axis -4 of a is out of range for rank 3 (shapes [2,3,4] and [3,4,5], axes [[-4],[0]])');
    expectError(() => M.tensordot(a, b, [[1, -2], [0, 1]]), M.ArgumentError, 'tensordot: repeated axis in the axes of a (shapes [2,3,4] and [3,4,5], axes [[1,-2],[0,1]])');
    expectError(() => M.tensordot(a, b, [[1, 2], [1, 0]]), M.ShapeError, 'tensordot: axis 1 of a has size 3 but axis 1 of b has size 4 (shapes [2,3,4] and [3,4,5], axes [[1,2],[1,0]])');
    expectError(() => M.tensordot(a, b, [1] as unknown as [number, number]), M.ArgumentError, 'tensordot: axes must be a count or a pair [axesOfA, axesOfB] (shapes [2,3,4] and [3,4,5], axes [1])');
  });
});

// ---------------------------------------------------------------------------------------------

describeWebGPU('einsum and tensordot on WebGPU (float32)', () => {
  // Sums of at most 64 products of values in [-1, 1): float32 rounding stays far below 1e-5.
  const GPU_TOL: Tolerance = { rtol: 1e-5, atol: 1e-5 };
  const onGpu = (a: Arr) => M.tensor(Float32Array.from(a.values), { shape: a.shape, backend: webgpu() });
  /** The inputs rounded to float32, so the float64 reference sees what the GPU sees. */
  const rounded = (a: Arr): Arr => ({ shape: a.shape, values: a.values.map(Math.fround) });

  async function checkGpu(subscripts: string, shapes: number[][], seed = 1): Promise<void> {
    const ops = shapes.map((s, k) => rounded(arr(s, seed * 31 + k)));
    const ref = refEinsum(subscripts, ops);
    const out = M.einsum(subscripts, ...ops.map(onGpu));
    expect(out.shape, subscripts).toEqual(ref.shape);
    expect(out.backend).toBe(webgpu());
    expectClose(Array.from(await out.data()), ref.values, GPU_TOL, subscripts);
  }

  it('named cases: matmul forms, diagonal, trace, outer product, chains, ellipsis', async () => {
    const cases: [string, number[][]][] = [
      ['ij,jk->ik', [[2, 3], [3, 4]]],
      ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
      ['ij,kj->ik', [[3, 4], [2, 4]]],
      ['i,i->', [[5], [5]]],
      ['i,j->ij', [[3], [4]]],
      ['ii->i', [[3, 3]]],
      ['ii', [[3, 3]]],
      ['ij,jk,kl', [[2, 3], [3, 4], [4, 5]]],
      ['...ij,...jk->...ik', [[2, 1, 3, 4], [5, 4, 2]]],
      ['i...i', [[3, 4, 3]]],
    ];
    for (const [s, shapes] of cases) await checkGpu(s, shapes);
  });

  it('integer and bool operands', async () => {
    const i32 = M.tensor([[1, 2], [3, 4]], { dtype: 'int32', backend: webgpu() });
    const product = M.einsum('ij,jk->ik', i32, i32);
    expect(product.dtype).toBe('int32');
    expect(Array.from(await product.data())).toEqual([7, 10, 15, 22]);
    const b = M.tensor([[true, false], [true, true]], { backend: webgpu() });
    expect(Array.from(await M.einsum('ij,jk', b, b).data())).toEqual([1, 0, 2, 1]);
  });

  it('random subscripts', async () => {
    const samples = fc.sample(einsumCaseArb(3), { numRuns: 12, seed: 7 });
    for (const c of samples) await checkGpu(c.subscripts, c.shapes, c.seed);
  });

  it('tensordot, gradients and jit', async () => {
    const [x, y] = [rounded(arr([2, 3, 4], 1)), rounded(arr([4, 3, 2], 2))];
    const td = M.tensordot(onGpu(x), onGpu(y), [[1, 2], [1, 0]]);
    expectClose(Array.from(await td.data()), refTensordot(x, y, [1, 2], [1, 0]).values, GPU_TOL, 'tensordot');

    const [a, b] = [rounded(arr([3, 4], 3)), rounded(arr([4, 2], 4))];
    const w = rounded(arr([3, 2], 5));
    const wt = onGpu(w);
    const [ga, gb] = M.grad((p: Tensor, q: Tensor) => M.sum(M.mul(M.einsum('ij,jk->ik', p, q), wt)), { argnums: [0, 1] })(onGpu(a), onGpu(b));
    const fd = finiteDifferences('ij,jk->ik', [a, b], w.values);
    expectClose(Array.from(await ga.data()), fd[0], { rtol: 1e-5, atol: 1e-5 }, 'd/da');
    expectClose(Array.from(await gb.data()), fd[1], { rtol: 1e-5, atol: 1e-5 }, 'd/db');

    const f = (p: Tensor, q: Tensor) => M.einsum('ij,jk->ki', p, q);
    const jitted = M.jit(f)(onGpu(a), onGpu(b));
    expectClose(Array.from(await jitted.data()), refEinsum('ij,jk->ki', [a, b]).values, GPU_TOL, 'jit');
  });
});
