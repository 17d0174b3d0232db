/**
 * The greedy actions: a mixture's mode is the location of its most likely component, a squashed
 * policy's mode is that location through the squashing, a categorical's mode the most likely class.
 * Expected values written out by hand from the parameters.
 */
import { describe, expect, it } from 'vitest';
import * as D from '../../src/distributions';
import * as T from '../../src/tensor';

const f64 = (values: number[], shape: number[]) => T.tensor(Float64Array.from(values), { shape });

describe('modes', () => {
  it('mixture, squashed mixture, squashed Gaussian and categorical', () => {
    // Two states; component 1 is the most likely in the first, component 2 in the second.
    const logits = f64([0.1, 2, -1, 0, -3, 0.5], [2, 3]);
    const locs = f64([-1, 0.5, 2, 0.3, -0.4, 1.1], [2, 3, 1]);
    const mix = D.mixture(logits, D.normal(locs, f64([1, 1, 1, 1, 1, 1], [2, 3, 1])));
    expect(mix.mode.toArraySync()).toEqual([[0.5], [1.1]]);
    const squashed = D.squash(-2, 2)(mix);
    const [a, b] = (squashed.mode as T.Tensor).dataSync();
    expect(a).toBeCloseTo(2 * Math.tanh(0.5), 14);
    expect(b).toBeCloseTo(2 * Math.tanh(1.1), 14);
    const single = D.squash([0], [4])(D.normal(f64([0.25], [1, 1]), f64([0.5], [1, 1])));
    expect((single.mode as T.Tensor).dataSync()[0]).toBeCloseTo(2 * Math.tanh(0.25) + 2, 14);
    expect(D.categorical(logits).mode.toArraySync()).toEqual([1, 2]);
  });
});
