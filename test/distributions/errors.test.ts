/**
 * Bad input to the distributions fails with a MixrlError that names the function (and method), the
 * argument and the shapes, instead of a raw TypeError or an error from an op deep inside.
 */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import * as D from '../../src/distributions';
import { arr, expectError, f64 } from './reference';

const zeros = (shape: number[]) => M.zeros(shape, f64);
const ones = (shape: number[]) => M.ones(shape, f64);
const key = M.random.key(0);
const fits = (where: string, name: string, x: string, batch: string, event: string) =>
  `${where}: ${name} ${x} does not fit batch ${batch} and event ${event} (expected [...sample, ...batch, ...event], batch axes broadcasting)`;

describe('headSize and policyFromHead check the config', () => {
  const cfg = { actionDim: 2, kind: 'mixture', components: 3, low: -1, high: 1 } as const;
  it('rejects K and actionDim that are not positive integers', () => {
    for (const K of [0, -2, 2.5]) {
      expectError(() => D.headSize({ ...cfg, components: K }), M.ArgumentError, `headSize: components must be a positive integer, got ${K}`);
      expectError(() => D.headSize({ ...cfg, kind: 'uniform', components: K }), M.ArgumentError, `headSize: components must be a positive integer, got ${K}`);
    }
    for (const A of [0, -1, 1.5]) {
      expectError(() => D.headSize({ ...cfg, actionDim: A }), M.ArgumentError, `headSize: actionDim must be a positive integer, got ${A}`);
    }
    expect(D.headSize({ ...cfg, kind: 'single', components: 0 })).toBe(4); // components is ignored for single
  });
  it('rejects unknown kinds, families and log-std squashings, listing the known ones', () => {
    expectError(() => D.headSize({ ...cfg, kind: 'mix' as never }), M.ArgumentError, "headSize: unknown kind 'mix' (known: single, mixture, uniform)");
    const out = zeros([1, D.headSize(cfg)]);
    expectError(() => D.policyFromHead(out, { ...cfg, family: 'gauss' as never }), M.ArgumentError, "policyFromHead: unknown family 'gauss' (known: normal, cauchy)");
    expectError(() => D.policyFromHead(out, { ...cfg, logStdSquash: 'soft' as never }), M.ArgumentError, "policyFromHead: unknown logStdSquash 'soft' (known: clip, tanh)");
    expectError(() => D.policyFromHead(out, { ...cfg, components: 0 }), M.ArgumentError, 'policyFromHead: components must be a positive integer, got 0');
  });
  it('rejects log-std bounds that are not numbers', () => {
    const out = zeros([1, D.headSize(cfg)]);
    expectError(() => D.policyFromHead(out, { ...cfg, logStdMin: '-5' as never }), M.ArgumentError, 'policyFromHead: logStdMin must be a number, got string');
    expectError(() => D.policyFromHead(out, { ...cfg, logStdMax: Number.NaN }), M.ArgumentError, 'policyFromHead: logStdMax must be a number, got NaN');
  });
  it('rejects a missing config or head output', () => {
    expectError(() => D.headSize(undefined as never), M.ArgumentError, 'headSize: config must be an object, got undefined');
    expectError(() => D.policyFromHead([0, 1] as never, cfg), M.ArgumentError, 'policyFromHead: out must be a tensor, got object');
  });
});

describe('parameters share one dtype', () => {
  it('loc and scale; a mixture\'s logits and components', () => {
    const f32 = (shape: number[]) => M.zeros(shape);
    expectError(() => D.normal(f32([2, 3]), ones([2, 3])), M.DTypeError, 'normal: loc f32[2,3] and scale f64[2,3] must share one dtype (cast one of them)');
    expectError(() => D.cauchy(zeros([3]), M.ones([3])), M.DTypeError, 'cauchy: loc f64[3] and scale f32[3] must share one dtype (cast one of them)');
    expectError(
      () => D.mixture(f32([4, 2]), D.normal(zeros([4, 2, 1]), ones([4, 2, 1]))),
      M.DTypeError,
      "mixture: logits f32[4,2] and the components' loc f64[4,2,1] must share one dtype (cast one of them)",
    );
  });
});

describe('gumbelSoftmax needs a finite temperature > 0', () => {
  it('names the value', () => {
    for (const t of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectError(() => D.gumbelSoftmax(zeros([3]), t), M.ArgumentError, `gumbelSoftmax: temperature must be a finite number > 0, got ${t}`);
    }
    expectError(() => D.gumbelSoftmax(zeros([3]), '1' as never), M.ArgumentError, 'gumbelSoftmax: temperature must be a finite number > 0, got string');
  });
});

describe('mixtures and categoricals need K >= 1 classes on a last axis', () => {
  it('K = 0', () => {
    expectError(() => D.mixture(zeros([4, 0]), D.normal(zeros([4, 0, 2]), ones([4, 0, 2]))), M.ShapeError, "mixture: components' batch shape [4,0] must end in K >= 1 components (loc [...batch, K, A])");
    expectError(() => D.uniformMixture(D.normal(zeros([4, 0, 2]), ones([4, 0, 2]))), M.ShapeError, "uniformMixture: components' batch shape [4,0] must end in K >= 1 components (loc [...batch, K, A])");
    expectError(() => D.categorical(zeros([4, 0])), M.ShapeError, 'categorical: logits [4,0] must have shape [...batch, K] with K >= 1 classes');
    expectError(() => D.gumbelSoftmax(zeros([4, 0]), 0.5), M.ShapeError, 'gumbelSoftmax: logits [4,0] must have shape [...batch, K] with K >= 1 classes');
  });
  it('rank-0 logits, components without a component axis', () => {
    expectError(() => D.categorical(M.tensor(0)), M.ShapeError, 'categorical: logits [] must have shape [...batch, K] with K >= 1 classes');
    expectError(() => D.gumbelSoftmax(M.tensor(0), 0.5), M.ShapeError, 'gumbelSoftmax: logits [] must have shape [...batch, K] with K >= 1 classes');
    expectError(() => D.mixture(M.tensor(0, f64), D.normal(zeros([2]), ones([2]))), M.ShapeError, "mixture: components' batch shape [] must end in K >= 1 components (loc [...batch, K, A])");
  });
});

describe('constructors reject arguments of the wrong kind', () => {
  it('normal and cauchy need tensors', () => {
    expectError(() => D.normal(0 as never, 1 as never), M.ArgumentError, 'normal: loc must be a tensor, got number');
    expectError(() => D.cauchy(zeros([2]), 1 as never), M.ArgumentError, 'cauchy: scale must be a tensor, got number');
  });
  it('mixture and uniformMixture need normal or cauchy components and tensor logits', () => {
    const components = 'components must be normal(loc, scale) or cauchy(loc, scale) with loc [...batch, K, A], got';
    expectError(() => D.mixture(zeros([4, 2]), {} as never), M.ArgumentError, `mixture: ${components} object`);
    expectError(() => D.mixture(zeros([4, 2]), zeros([4, 2, 1]) as never), M.ArgumentError, `mixture: ${components} a tensor f64[4,2,1]`);
    expectError(() => D.uniformMixture(undefined as never), M.ArgumentError, `uniformMixture: ${components} undefined`);
    expectError(() => D.mixture(undefined as never, D.normal(zeros([4, 2, 1]), ones([4, 2, 1]))), M.ArgumentError, 'mixture: logits must be a tensor, got undefined');
  });
  it('categorical and gumbelSoftmax need tensor logits', () => {
    expectError(() => D.categorical([0, 1] as never), M.ArgumentError, 'categorical: logits must be a tensor, got object');
    expectError(() => D.gumbelSoftmax(undefined as never, 0.5), M.ArgumentError, 'gumbelSoftmax: logits must be a tensor, got undefined');
  });
  it('squash needs a distribution and finite bounds given as numbers or arrays', () => {
    const base = D.normal(zeros([4, 2]), ones([4, 2]));
    expectError(() => D.squash(-1, 1)(undefined as never), M.ArgumentError, 'squash: the base must be a distribution (normal, cauchy, mixture, ...), got undefined');
    expectError(() => D.squash(-1, 1)(zeros([4, 2]) as never), M.ArgumentError, 'squash: the base must be a distribution (normal, cauchy, mixture, ...), got a tensor f64[4,2]');
    expectError(() => D.squash(undefined as never, 1)(base), M.ArgumentError, 'squash: low must be a number or an array of numbers, got undefined');
    expectError(() => D.squash(-1, '1' as never)(base), M.ArgumentError, 'squash: high must be a number or an array of numbers, got string');
    expectError(() => D.squash([-1, -Infinity], 1)(base), M.ArgumentError, 'squash: need finite low < high, got [-Infinity, 1] at dimension 1');
    expectError(() => D.squash(-1, [1, NaN])(base), M.ArgumentError, 'squash: need finite low < high, got [-1, NaN] at dimension 1');
  });
});

describe('log-densities check the value against the batch and event shapes', () => {
  const normal = D.normal(zeros([4, 2]), ones([4, 2]));
  const mix = D.mixture(zeros([4, 3]), D.normal(zeros([4, 3, 2]), ones([4, 3, 2])));
  it('normal, cauchy, mixture, squashed: the event must match, batch axes broadcast', () => {
    expectError(() => normal.logProb(zeros([3])), M.ShapeError, fits('normal.logProb', 'x', '[3]', '[4]', '[2]'));
    expectError(() => normal.logProb(zeros([4, 1])), M.ShapeError, fits('normal.logProb', 'x', '[4,1]', '[4]', '[2]'));
    expectError(() => D.cauchy(zeros([4, 2]), ones([4, 2])).logProb(zeros([3, 2])), M.ShapeError, fits('cauchy.logProb', 'x', '[3,2]', '[4]', '[2]'));
    expectError(() => normal.logProb(2 as never), M.ArgumentError, 'normal.logProb: x must be a tensor, got number');
    expectError(() => mix.logProb(zeros([5, 4, 3])), M.ShapeError, fits('mixture.logProb', 'x', '[5,4,3]', '[4]', '[2]'));
    expectError(() => mix.componentLogProbs(zeros([4, 3, 2])), M.ShapeError, fits('mixture.componentLogProbs', 'x', '[4,3,2]', '[4]', '[2]'));
    const squashed = D.squash(-1, 1)(mix);
    expectError(() => squashed.logProb(zeros([4, 3])), M.ShapeError, fits('squashed.logProb', 'a', '[4,3]', '[4]', '[2]'));
    expectError(() => squashed.logProbPre(zeros([2, 2])), M.ShapeError, fits('squashed.logProbPre', 'x', '[2,2]', '[4]', '[2]'));
    // sample axes in front and broadcasting batch axes are fine
    expect(normal.logProb(zeros([5, 1, 2])).shape).toEqual([5, 4]);
    expect(mix.logProb(zeros([5, 4, 2])).shape).toEqual([5, 4]);
    expect(squashed.logProb(zeros([2])).shape).toEqual([4]);
  });
  it('gumbelSoftmax: y must end in K', () => {
    expectError(() => D.gumbelSoftmax(zeros([4, 3]), 0.5).logProb(zeros([4, 2])), M.ShapeError, fits('gumbelSoftmax.logProb', 'y', '[4,2]', '[4]', '[3]'));
  });
  it('categorical: k must be integer indices [...sample, ...batch]; a plain number must be a class in [0, K)', () => {
    const c = D.categorical(M.tensor([[0, Math.log(3)], [0, 0]], f64));
    expectError(() => c.logProb(M.zeros([3], { dtype: 'int32' })), M.ShapeError, fits('categorical.logProb', 'k', '[3]', '[2]', '[]'));
    expectError(() => c.logProb(M.zeros([2])), M.DTypeError, 'categorical.logProb: k must hold integer class indices, got float32');
    for (const k of [-1, 2, 0.5]) expectError(() => c.logProb(k), M.ArgumentError, `categorical.logProb: class ${k} is not an integer in [0, 2)`);
    arr(c.logProb(1)).forEach((v, i) => expect(v).toBeCloseTo([Math.log(0.75), Math.log(0.5)][i], 12));
    expect(arr(c.logProb(M.tensor(1, { dtype: 'int32' })))).toEqual(arr(c.logProb(1)));
    // a sample axis in front, the batch axis broadcasting: [[P(0) per state], [P(1) per state]]
    const table = arr(c.logProb(M.tensor([[0], [1]], { dtype: 'int32' })));
    table.forEach((v, i) => expect(v).toBeCloseTo(Math.log([0.25, 0.5, 0.75, 0.5][i]), 12));
  });
});

describe('draws need a PRNG key and an array sample shape', () => {
  const normal = D.normal(zeros([4, 2]), ones([4, 2]));
  const mix = D.mixture(zeros([4, 3]), D.normal(zeros([4, 3, 2]), ones([4, 3, 2])));
  const gumbel = D.gumbelSoftmax(zeros([4, 3]), 0.5);
  const draws: [string, (k: M.Tensor) => unknown][] = [
    ['normal.sample', (k) => normal.sample(k)],
    ['normal.rsample', (k) => normal.rsample(k)],
    ['normal.noise', (k) => normal.noise(k)],
    ['normal.sampleAndLogProb', (k) => normal.sampleAndLogProb(k)],
    ['categorical.sample', (k) => D.categorical(zeros([4, 3])).sample(k)],
    ['categorical.sampleAndLogProb', (k) => D.categorical(zeros([4, 3])).sampleAndLogProb(k)],
    ['gumbelSoftmax.rsample', (k) => gumbel.rsample(k)],
    ['gumbelSoftmax.sample', (k) => gumbel.sample(k)],
    ['gumbelSoftmax.sampleAndLogProb', (k) => gumbel.sampleAndLogProb(k)],
    ['gumbelSoftmax.rsampleStraightThrough', (k) => gumbel.rsampleStraightThrough(k)],
    ['mixture.rsample', (k) => mix.rsample(k)],
    ['mixture.sample', (k) => mix.sample(k)],
    ['mixture.sampleAndLogProb', (k) => mix.sampleAndLogProb(k)],
    ['mixture.componentRsample', (k) => mix.componentRsample(k)],
    ['squashed.rsampleWithLogProb', (k) => D.squash(-1, 1)(mix).rsampleWithLogProb(k)],
    ['squashed.sample', (k) => D.squash(-1, 1)(normal).sample(k)],
    ['squashed.sampleAndLogProb', (k) => D.squash(-1, 1)(normal).sampleAndLogProb(k)],
  ];
  for (const [where, draw] of draws) {
    it(where, () => {
      expectError(() => draw(undefined as never), M.ArgumentError, `${where}: a random key is required (random.key(seed)), got undefined`);
      expectError(() => draw(M.tensor([1, 2])), M.DTypeError, `${where}: the key must be a PRNG key u32[2] (random.key(seed)), got a tensor f32[2]`);
      expect(() => draw(key)).not.toThrow();
    });
  }
  it('sampleShape must be an array', () => {
    expectError(() => normal.sample(key, 3 as never), M.ArgumentError, 'normal.sample: sampleShape must be an array of sizes, got number');
  });
});
