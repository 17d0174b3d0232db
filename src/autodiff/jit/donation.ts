/**
 * Donated arguments in a CPU plan (`jit(f, { donateArgnums })`, as in JAX): an input the caller
 * gives up is paired with an output of the same shape and dtype that a WebAssembly step computes,
 * and the pair gets two regions of the arena. A call reads the input from one region and writes the
 * output into the other, and hands the output out as a view of that region instead of a copy; the
 * next call, given that output back, reads it in place and writes into the first region. A training
 * loop then copies its state neither in nor out.
 *
 * The regions are lent (`tensor/lent.ts`): every tensor over one is tracked, the one handed out and
 * any sharing its array (a reshape, a plan's pass-through output). Before a call writes a region,
 * each of them still alive gets a copy of its values (`relocate`), so no tensor the caller still
 * holds ever changes; a donated one is disposed by `jit` after the call that read it.
 */
import type { ArrayTensor, DType, Shape, TypedArray } from '../../tensor';
import { ArrayTensor as Tensor, cpu } from '../../tensor';
import { evacuate, lend } from '../../tensor/lent';
import { shapesEqual } from '../../tensor/shape';
import type { IRProgram, IRVar } from '../ir';

/** An input paired with the output that reuses its memory. */
export interface Donation {
  readonly input: number;
  readonly output: number;
}

/**
 * Pairs each donated input with the first unpaired output of the same shape and dtype that `inArena`
 * accepts (stored by a WebAssembly step, returned once).
 *
 * @example
 * const pairs = pairDonations(program, [true, false], (v) => storedInArena.has(v));
 */
export function pairDonations(program: IRProgram, donated: readonly boolean[], inArena: (v: IRVar) => boolean): Donation[] {
  const uses = new Map<IRVar, number>();
  for (const v of program.outputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  const taken = new Set<number>();
  const pairs: Donation[] = [];
  program.inputs.forEach((x, input) => {
    if (!donated[input]) return;
    const output = program.outputs.findIndex(
      (v, k) =>
        !taken.has(k) &&
        uses.get(v) === 1 &&
        inArena(v) &&
        v.aval.dtype === x.aval.dtype &&
        shapesEqual(v.aval.shape, x.aval.shape),
    );
    if (output < 0) return;
    taken.add(output);
    pairs.push({ input, output });
  });
  return pairs;
}

/**
 * The two regions of each donated pair (`views[j][q]`, q = 0, 1) and the tensors handed out over
 * them. A call of parity p reads pair j's input from region p and writes its output to region 1 - p.
 *
 * @example
 * const regions = new DonatedRegions(pairs, views);
 * const p = regions.begin(inputs); // copies in what is not in place, frees region 1 - p
 * // ... run the steps of parity p ...
 * const y = regions.handOut(p, j, shape, dtype);
 */
export class DonatedRegions {
  /** `holders[q][j]`: the tensor handed out over region q of pair j, if any. */
  private readonly holders: (ArrayTensor | null)[][];

  constructor(
    readonly pairs: readonly Donation[],
    private readonly views: readonly (readonly [TypedArray, TypedArray])[],
  ) {
    this.holders = [pairs.map(() => null), pairs.map(() => null)];
    for (const [a, b] of views) {
      lend(a);
      lend(b);
    }
  }

  /**
   * Prepares a call: picks the parity whose input regions already hold most of the donated inputs
   * (the outputs of the previous call), copies the others in, and frees the output regions.
   */
  begin(inputs: readonly ArrayTensor[]): 0 | 1 {
    const { pairs, holders, views } = this;
    let inPlace = 0;
    for (let j = 0; j < pairs.length; j++) if (inputs[pairs[j].input] === holders[1][j]) inPlace++;
    const p: 0 | 1 = 2 * inPlace > pairs.length ? 1 : 0;
    const q = 1 - p;
    for (let j = 0; j < pairs.length; j++) {
      const x = inputs[pairs[j].input];
      if (x !== holders[p][j]) {
        // x itself may be over the region (a reshape of the output held there): evacuated with the others, it reads its copy.
        evacuate(views[j][p]);
        holders[p][j] = null;
        views[j][p].set(x.handle as TypedArray);
      }
    }
    // The output regions: every tensor still over one (the output handed out there two calls ago,
    // a reshape of it, a plan's pass-through of it) gets a copy first; given up ones are disposed.
    for (let j = 0; j < pairs.length; j++) {
      evacuate(views[j][q]);
      holders[q][j] = null;
    }
    return p;
  }

  /** The input view of pair j in a call of parity p. */
  input(p: 0 | 1, j: number): TypedArray {
    return this.views[j][p];
  }

  /** The output view of pair j in a call of parity p. */
  output(p: 0 | 1, j: number): TypedArray {
    return this.views[j][1 - p];
  }

  /** Pair j's output of a call of parity p, as a tensor over its region (tracked until freed). */
  handOut(p: 0 | 1, j: number, shape: Shape, dtype: DType): ArrayTensor {
    const t = new Tensor(cpu, this.views[j][1 - p], shape, dtype);
    this.holders[1 - p][j] = t;
    return t;
  }
}
