/**
 * Einstein summation and tensor contraction: composites of transpose, reshape, strided slice, sum,
 * mul and matmul, so gradients, vmap and jit need no rules of their own.
 */
import { promoteTypes } from '../dtype';
import { ArgumentError, ShapeError } from '../errors';
import { formatShape, type Shape, sizeOf } from '../shape';
import { Tensor } from '../tensor';
import { asTensor, binaryOperands, castIfNeeded, numericOperands, type TensorLike } from './convert';
import { mul } from './elementwise';
import { matmul } from './linalg';
import { reshape, slice, type SliceSpec, transpose } from './movement';
import { sum } from './reduce';

/** The token of `...` in a parsed term. */
const ELLIPSIS = '...';

/** The label of the `g`-th broadcast (ellipsis) axis; never a letter, so never confused with one. */
const ellipsisLabel = (g: number): string => `...${g}`;

/** An operand during the contraction: a tensor and the label of each of its axes. */
interface Labeled {
  t: Tensor;
  labels: string[];
}

/**
 * NumPy's `einsum`: sums of products of the operands' elements over the indices named by
 * `subscripts`.
 *
 * - Explicit mode `'ij,jk->ik'` names the output's indices; implicit mode `'ij,jk'` outputs the
 *   indices that appear exactly once, in alphabetical (character code) order: `'ij,jk'` is
 *   `'ij,jk->ik'`, `'ij,ij'` a full contraction, `'ji'` the transpose.
 * - Indices are the letters a-z and A-Z; spaces are ignored. Indices left out of the output are summed
 *   over; one shared by two operands and kept is a batch index; none shared is an outer product.
 * - A repeated index in one operand takes the diagonal: `'ii->i'` is the diagonal, `'ii'` the trace.
 * - `...` stands for the remaining axes of an operand; these broadcast across operands as NumPy
 *   broadcasts (right-aligned, size 1 stretches), and in implicit mode come first in the output.
 *   As in NumPy, an explicit output must contain `...` where the ellipsis covers any axis.
 * - The sizes of one index must agree wherever it appears, except that a size 1 broadcasts against
 *   the others, as in NumPy and PyTorch (`'bi,bi->b'` with shapes [1, 3] and [4, 3] pairs the one row
 *   of the first with each row of the second); the axes of a repeated index in one operand must
 *   have one size.
 * - Operands are promoted as the binary ops promote them (plain numbers are weakly typed); bool
 *   operands are summed as int32, as `sum` does.
 *
 * Each operand first loses its diagonals and the indices only it has and the output lacks (summed).
 * Then pairs are contracted, each pair as one batched `matmul` (`[batch, rows, summed] @ [batch,
 * summed, columns]`: `'bij,bjk->bik'`, `'ij,kj->ik'` and `'i,i->'` all run the matmul kernel), or as
 * one broadcast `mul` when the pair shares no summed index (outer and elementwise products). With three
 * or more operands the pair is picked greedily (opt_einsum's greedy path): at each step, among pairs
 * sharing an index, the one whose result is smallest relative to its inputs (result size minus the
 * sizes of the two inputs; ties go to the leftmost pair).
 *
 * Throws ArgumentError for malformed subscripts (invalid characters, misplaced `->`, `.` outside
 * `...`, two ellipses in a term, a repeated or unknown output index, the wrong number of operands) and
 * ShapeError for operands that do not fit them (rank, size of an index, ellipsis broadcasting); each
 * message names the subscripts and the shapes.
 *
 * @example
 * einsum('ij,jk->ik', a, b); // matmul(a, b)
 * einsum('bij,bjk->bik', x, y); // batched matmul
 * einsum('ii', m); // trace
 * einsum('i,j->ij', u, v); // outer product
 * einsum('...ij,...jk', x, y); // matmul broadcasting leading axes
 * einsum('ij,jk,kl->il', a, b, c); // a chain, contracted pairwise
 */
export function einsum(subscripts: string, ...operands: TensorLike[]): Tensor {
  if (typeof subscripts !== 'string') {
    throw new ArgumentError(`einsum: subscripts must be a string such as 'ij,jk->ik', got ${typeof subscripts}`);
  }
  if (operands.length === 0) throw new ArgumentError(`einsum: needs at least one operand for subscripts '${subscripts}'`);
  const ts = einsumOperands(operands);
  const spec = parseEinsum(subscripts, ts.map((t) => t.shape));

  let ops: Labeled[] = ts.map((t, k) => prepareOperand(t, spec.inputs[k], spec.squeeze[k]));
  const outSet = new Set(spec.output);
  // Indices only one operand has and the output lacks are summed out first.
  ops = ops.map((op, k) => sumOut(op, (l) => !outSet.has(l) && !ops.some((o, m) => m !== k && o.labels.includes(l))));

  const rank = (l: string): number => {
    const i = spec.output.indexOf(l);
    return i >= 0 ? i : spec.output.length;
  };
  while (ops.length > 1) {
    const [i, j] = ops.length === 2 ? [0, 1] : greedyPair(ops, outSet, spec.sizes);
    const keep = new Set(outSet);
    ops.forEach((o, k) => {
      if (k !== i && k !== j) for (const l of o.labels) keep.add(l);
    });
    const result = contractPair(ops[i], ops[j], keep, rank, spec.sizes);
    ops = [...ops.slice(0, i), result, ...ops.slice(i + 1, j), ...ops.slice(j + 1)];
  }
  const last = sumOut(ops[0], (l) => !outSet.has(l));
  return transpose(last.t, spec.output.map((l) => last.labels.indexOf(l)));
}

/**
 * The operands as tensors of one dtype: tensors promote among themselves, then plain values (and weak
 * ones, numbers `jit` traced) take that dtype where they can (weak typing, as in the binary ops); bool
 * becomes int32.
 */
function einsumOperands(operands: readonly TensorLike[]): Tensor[] {
  const isStrong = (o: TensorLike): o is Tensor => o instanceof Tensor && !o.weak;
  const tensors = operands.filter(isStrong);
  const first = tensors.length > 0 ? tensors[0] : asTensor(operands[0]);
  let dtype = first.dtype;
  for (const t of tensors) dtype = promoteTypes(dtype, t.dtype, 'einsum');
  const ref = castIfNeeded(first, dtype);
  const converted = operands.map((o) => (isStrong(o) ? o : binaryOperands('einsum', ref, o)[1]));
  for (const t of converted) dtype = promoteTypes(dtype, t.dtype, 'einsum');
  if (dtype === 'bool') dtype = 'int32';
  return converted.map((t) => castIfNeeded(t, dtype));
}

interface EinsumSpec {
  /** Each operand's axis labels, the ellipsis expanded to broadcast labels. */
  inputs: string[][];
  /** Per operand, its size-1 axes broadcast against another size of their index (or ellipsis axis). */
  squeeze: boolean[][];
  output: string[];
  sizes: Map<string, number>;
}

/** Parses and checks `subscripts` against the operands' shapes. */
function parseEinsum(subscripts: string, shapes: readonly Shape[]): EinsumSpec {
  const where = `(subscripts '${subscripts}', shapes ${shapes.map(formatShape).join(', ')})`;
  const argError = (what: string) => new ArgumentError(`einsum: ${what} ${where}`);
  const shapeError = (what: string) => new ShapeError(`einsum: ${what} ${where}`);

  const text = subscripts.replace(/\s+/g, '');
  const invalid = /[^a-zA-Z,.\->]/.exec(text);
  if (invalid) throw argError(`invalid character '${invalid[0]}': indices are the letters a-z and A-Z`);
  const sides = text.split('->');
  if (sides.length > 2) throw argError(`'->' appears more than once`);
  const [lhs, rhs] = sides;
  if (/[->]/.test(lhs) || (rhs !== undefined && /[->]/.test(rhs))) throw argError(`'-' and '>' may only appear together as '->'`);
  if (rhs !== undefined && rhs.includes(',')) throw argError(`the output (after '->') cannot contain ','`);

  const tokenize = (term: string, what: string): string[] => {
    const tokens: string[] = [];
    for (let i = 0; i < term.length; ) {
      if (term[i] === '.') {
        if (term.slice(i, i + 3) !== '...') throw argError(`'.' in ${what} must be part of an ellipsis '...'`);
        if (tokens.includes(ELLIPSIS)) throw argError(`${what} has more than one ellipsis '...'`);
        tokens.push(ELLIPSIS);
        i += 3;
      } else tokens.push(term[i++]);
    }
    return tokens;
  };
  const terms = lhs.split(',').map((term, k) => tokenize(term, `operand ${k}'s term '${term}'`));
  if (terms.length !== shapes.length) {
    const [n, m] = [terms.length, shapes.length];
    throw argError(`the subscripts name ${n} operand${n === 1 ? '' : 's'} but ${m} ${m === 1 ? 'was' : 'were'} given`);
  }

  // The ellipsis axes of each operand, broadcast right-aligned.
  const ellipsisRanks = terms.map((tokens, k) => {
    const letters = tokens.filter((t) => t !== ELLIPSIS).length;
    const ndim = shapes[k].length;
    if (tokens.includes(ELLIPSIS)) {
      if (letters > ndim) {
        throw shapeError(`operand ${k} has rank ${ndim} but its term '${terms[k].join('')}' names ${letters} indices besides '...'`);
      }
      return ndim - letters;
    }
    if (letters !== ndim) {
      throw shapeError(`operand ${k} has rank ${ndim} but its term '${terms[k].join('')}' names ${letters} ind${letters === 1 ? 'ex' : 'ices'}`);
    }
    return 0;
  });
  const nb = Math.max(0, ...ellipsisRanks);
  const broadcast = new Array<number>(nb).fill(1);
  terms.forEach((tokens, k) => {
    const e = ellipsisRanks[k];
    const start = tokens.indexOf(ELLIPSIS);
    for (let j = 0; j < e; j++) {
      const d = shapes[k][start + j];
      const g = nb - e + j;
      if (broadcast[g] === 1) broadcast[g] = d;
      else if (d !== 1 && d !== broadcast[g]) {
        throw shapeError(`the axes under '...' do not broadcast: ellipsis axis ${g - nb} has sizes ${broadcast[g]} and ${d} (operand ${k})`);
      }
    }
  });

  // An index's size is the one besides 1 wherever it appears (a size 1 broadcasts against it, as in
  // NumPy); within one operand a repeated index (a diagonal) must have one size.
  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  for (let g = 0; g < nb; g++) sizes.set(ellipsisLabel(g), broadcast[g]);
  const inputs: string[][] = [];
  terms.forEach((tokens, k) => {
    const labels: string[] = [];
    const own = new Map<string, number>();
    for (const token of tokens) {
      if (token === ELLIPSIS) {
        for (let j = 0; j < ellipsisRanks[k]; j++) labels.push(ellipsisLabel(nb - ellipsisRanks[k] + j));
        continue;
      }
      const d = shapes[k][labels.length];
      const mine = own.get(token);
      if (mine !== undefined && mine !== d) throw shapeError(`index '${token}' has sizes ${mine} and ${d} in operand ${k}`);
      own.set(token, d);
      const known = sizes.get(token);
      if (known === undefined || known === 1) {
        sizes.set(token, d);
        if (known === undefined || d !== 1) seenIn.set(token, k);
      } else if (d !== 1 && d !== known) {
        throw shapeError(`index '${token}' has size ${known} in operand ${seenIn.get(token)} but ${d} in operand ${k}`);
      }
      labels.push(token);
    }
    inputs.push(labels);
  });
  // Size-1 axes of an index whose size is not 1 are broadcast: dropped before the contraction.
  const squeeze = inputs.map((labels, k) => labels.map((l, i) => shapes[k][i] === 1 && sizes.get(l) !== 1));

  const ellipsisLabels = Array.from({ length: nb }, (_, g) => ellipsisLabel(g));
  let output: string[];
  if (rhs === undefined) {
    const counts = new Map<string, number>();
    for (const tokens of terms) for (const t of tokens) if (t !== ELLIPSIS) counts.set(t, (counts.get(t) ?? 0) + 1);
    const once = [...counts].filter(([, c]) => c === 1).map(([l]) => l);
    output = [...ellipsisLabels, ...once.sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0))];
  } else {
    const tokens = tokenize(rhs, `the output '${rhs}'`);
    output = [];
    for (const token of tokens) {
      if (token === ELLIPSIS) {
        output.push(...ellipsisLabels);
        continue;
      }
      if (output.includes(token)) throw argError(`output index '${token}' appears more than once`);
      if (!sizes.has(token)) throw argError(`output index '${token}' does not appear in the inputs`);
      output.push(token);
    }
    if (!tokens.includes(ELLIPSIS) && nb > 0) {
      throw argError(`the output needs '...' for the ${nb} ax${nb === 1 ? 'is' : 'es'} the inputs' ellipsis covers`);
    }
  }
  return { inputs, squeeze, output, sizes };
}

/** An operand with its broadcast size-1 axes dropped and its diagonals taken. */
function prepareOperand(t: Tensor, labels0: readonly string[], squeeze: readonly boolean[]): Labeled {
  let labels = labels0.filter((_, i) => !squeeze[i]);
  let x = squeeze.some((s) => s) ? reshape(t, t.shape.filter((_, i) => !squeeze[i])) : t;
  for (;;) {
    const p = labels.findIndex((l, i) => labels.indexOf(l, i + 1) >= 0);
    if (p < 0) return { t: x, labels };
    const q = labels.indexOf(labels[p], p + 1);
    const rest = labels.map((_, i) => i).filter((i) => i !== p && i !== q);
    const n = x.shape[p];
    // The diagonal of an n×n pair of axes: moved last and flattened, it is every (n+1)-th element.
    x = reshape(transpose(x, [...rest, p, q]), [...rest.map((i) => x.shape[i]), n * n]);
    const specs: SliceSpec[] = rest.map(() => null);
    x = slice(x, ...specs, [0, null, n + 1]);
    labels = [...rest.map((i) => labels[i]), labels[p]];
  }
}

/** Sums the axes whose labels satisfy `drop`. */
function sumOut(op: Labeled, drop: (label: string) => boolean): Labeled {
  const axes = op.labels.flatMap((l, i) => (drop(l) ? [i] : []));
  if (axes.length === 0) return op;
  return { t: sum(op.t, axes), labels: op.labels.filter((_, i) => !axes.includes(i)) };
}

/** The greedy choice of the next pair to contract (see einsum's TSDoc). */
function greedyPair(ops: readonly Labeled[], outSet: ReadonlySet<string>, sizes: ReadonlyMap<string, number>): [number, number] {
  const sizeOfLabels = (labels: Iterable<string>) => {
    let n = 1;
    for (const l of labels) n *= sizes.get(l) ?? 1;
    return n;
  };
  let best: [number, number] = [0, 1];
  let bestKey: [number, number] = [Infinity, Infinity];
  for (let i = 0; i < ops.length; i++) {
    for (let j = i + 1; j < ops.length; j++) {
      const [a, b] = [ops[i].labels, ops[j].labels];
      const shares = a.some((l) => b.includes(l)) ? 0 : 1;
      const kept = new Set<string>();
      for (const l of new Set([...a, ...b])) {
        if (outSet.has(l) || ops.some((o, k) => k !== i && k !== j && o.labels.includes(l))) kept.add(l);
      }
      const cost = sizeOfLabels(kept) - sizeOfLabels(a) - sizeOfLabels(b);
      if (shares < bestKey[0] || (shares === bestKey[0] && cost < bestKey[1])) {
        best = [i, j];
        bestKey = [shares, cost];
      }
    }
  }
  return best;
}

/**
 * Contracts two operands: the labels of both that `keep` holds are batch axes, those of both that it
 * does not are summed by one batched matmul; without any summed label, one broadcast mul.
 */
function contractPair(
  a0: Labeled,
  b0: Labeled,
  keep: ReadonlySet<string>,
  rank: (label: string) => number,
  sizes: ReadonlyMap<string, number>,
): Labeled {
  const a = sumOut(a0, (l) => !keep.has(l) && !b0.labels.includes(l));
  const b = sumOut(b0, (l) => !keep.has(l) && !a0.labels.includes(l));
  const inB = (l: string) => b.labels.includes(l);
  const inA = (l: string) => a.labels.includes(l);
  // Batch and free axes in output order (stable otherwise), so the result often needs no transpose.
  const byOutput = (ls: string[]) => [...ls].sort((x, y) => rank(x) - rank(y));
  const batch = byOutput(a.labels.filter((l) => inB(l) && keep.has(l)));
  const summed = a.labels.filter((l) => inB(l) && !keep.has(l));
  const aFree = byOutput(a.labels.filter((l) => !inB(l)));
  const bFree = byOutput(b.labels.filter((l) => !inA(l)));
  const sizesOf = (ls: readonly string[]) => ls.map((l) => sizes.get(l) as number);
  const permOf = (op: Labeled, ls: readonly string[]) => ls.map((l) => op.labels.indexOf(l));
  const batchShape = sizesOf(batch);
  const ones = (n: number) => new Array<number>(n).fill(1);
  let t: Tensor;
  if (summed.length === 0) {
    const x = reshape(transpose(a.t, permOf(a, [...batch, ...aFree])), [...batchShape, ...sizesOf(aFree), ...ones(bFree.length)]);
    const y = reshape(transpose(b.t, permOf(b, [...batch, ...bFree])), [...batchShape, ...ones(aFree.length), ...sizesOf(bFree)]);
    t = mul(x, y);
  } else {
    const [m, k, n] = [sizeOf(sizesOf(aFree)), sizeOf(sizesOf(summed)), sizeOf(sizesOf(bFree))];
    const x = reshape(transpose(a.t, permOf(a, [...batch, ...aFree, ...summed])), [...batchShape, m, k]);
    const y = reshape(transpose(b.t, permOf(b, [...batch, ...summed, ...bFree])), [...batchShape, k, n]);
    t = reshape(matmul(x, y), [...batchShape, ...sizesOf(aFree), ...sizesOf(bFree)]);
  }
  return { t, labels: [...batch, ...aFree, ...bFree] };
}

/**
 * NumPy's (and JAX's) `dot`: a product of scalars; for vectors their inner product; for matrices
 * the matrix product; for `a` of any rank with a vector `b`, the sum over `a`'s last axis; else the
 * sum over `a`'s last axis and `b`'s second-to-last (`dot(a, b)[i, j, k, m] = sum(a[i, j, :] *
 * b[k, :, m])`). Row-by-row products of a batch are `vecdot`; batched matrix products `matmul`.
 *
 * @example
 * dot(tensor([1, 2]), tensor([3, 4])); // 11
 * dot(zeros([4, 3]), zeros([3, 2])); // f32[4,2], the matrix product
 * dot(zeros([5, 4, 3]), zeros([3])); // f32[5,4]
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = numericOperands('dot', a, b);
  if (x.ndim === 0 || y.ndim === 0) return mul(x, y);
  const k = x.shape[x.ndim - 1];
  const against = y.ndim === 1 ? 0 : y.ndim - 2;
  if (y.shape[against] !== k) {
    const which = y.ndim === 1 ? 'only axis' : 'second-to-last axis';
    throw new ShapeError(`dot: shapes ${formatShape(x.shape)} and ${formatShape(y.shape)} do not align: a's last axis has ${k} entries and b's ${which} ${y.shape[against]}`);
  }
  return tensordot(x, y, [[x.ndim - 1], [against]]);
}

/**
 * NumPy's `tensordot`: sums the products of `a` and `b` over pairs of axes. `axes` is either a count
 * N (the last N axes of `a` with the first N of `b`; default 2) or a pair `[axesOfA, axesOfB]` of
 * equally long axis lists (or single axes), negative axes counting from the end. The result has the
 * remaining axes of `a`, then those of `b`. One matmul of the operands transposed and flattened to
 * matrices; dtypes promote as in the binary ops (bool as int32).
 *
 * @example
 * tensordot(zeros([2, 3, 4]), zeros([3, 4, 5])); // f32[2,5], summed over the sizes 3 and 4
 * tensordot(zeros([3, 2]), zeros([4, 3]), [[0], [1]]); // f32[2,4]
 * tensordot(zeros([2]), zeros([3]), 0); // f32[2,3], the outer product
 */
export function tensordot(
  a: TensorLike,
  b: TensorLike,
  axes: number | readonly [number | readonly number[], number | readonly number[]] = 2,
): Tensor {
  let [x, y] = binaryOperands('tensordot', a, b);
  if (x.dtype === 'bool') [x, y] = [castIfNeeded(x, 'int32'), castIfNeeded(y, 'int32')];
  const where = `(shapes ${formatShape(x.shape)} and ${formatShape(y.shape)}, axes ${JSON.stringify(axes)})`;
  let axesA: number[];
  let axesB: number[];
  if (typeof axes === 'number') {
    if (!Number.isInteger(axes) || axes < 0) throw new ArgumentError(`tensordot: an axis count must be a non-negative integer ${where}`);
    if (axes > x.ndim || axes > y.ndim) {
      throw new ShapeError(`tensordot: cannot contract ${axes} axes of operands of ranks ${x.ndim} and ${y.ndim} ${where}`);
    }
    axesA = Array.from({ length: axes }, (_, i) => x.ndim - axes + i);
    axesB = Array.from({ length: axes }, (_, i) => i);
  } else {
    if (!Array.isArray(axes) || axes.length !== 2) {
      throw new ArgumentError(`tensordot: axes must be a count or a pair [axesOfA, axesOfB] ${where}`);
    }
    const list = (v: number | readonly number[], t: Tensor, which: string): number[] => {
      const raw = typeof v === 'number' ? [v] : Array.isArray(v) ? [...v] : undefined;
      if (raw === undefined) throw new ArgumentError(`tensordot: the axes of ${which} must be an axis or a list of axes ${where}`);
      const out = raw.map((ax) => {
        if (!Number.isInteger(ax) || ax < -t.ndim || ax >= t.ndim) {
          throw new ArgumentError(`tensordot: axis ${String(ax)} of ${which} is out of range for rank ${t.ndim} ${where}`);
        }
        return ax < 0 ? ax + t.ndim : ax;
      });
      if (new Set(out).size !== out.length) throw new ArgumentError(`tensordot: repeated axis in the axes of ${which} ${where}`);
      return out;
    };
    axesA = list(axes[0], x, 'a');
    axesB = list(axes[1], y, 'b');
    if (axesA.length !== axesB.length) {
      throw new ArgumentError(`tensordot: ${axesA.length} axes of a paired with ${axesB.length} of b ${where}`);
    }
  }
  axesA.forEach((ax, i) => {
    if (x.shape[ax] !== y.shape[axesB[i]]) {
      throw new ShapeError(`tensordot: axis ${ax} of a has size ${x.shape[ax]} but axis ${axesB[i]} of b has size ${y.shape[axesB[i]]} ${where}`);
    }
  });
  const freeA = x.shape.map((_, i) => i).filter((i) => !axesA.includes(i));
  const freeB = y.shape.map((_, i) => i).filter((i) => !axesB.includes(i));
  const [shapeA, shapeB] = [freeA.map((i) => x.shape[i]), freeB.map((i) => y.shape[i])];
  const k = sizeOf(axesA.map((i) => x.shape[i]));
  const xm = reshape(transpose(x, [...freeA, ...axesA]), [sizeOf(shapeA), k]);
  const ym = reshape(transpose(y, [...axesB, ...freeB]), [k, sizeOf(shapeB)]);
  return reshape(matmul(xm, ym), [...shapeA, ...shapeB]);
}
