/**
 * The agents by name build the policy and pick the estimator the paper's names say: SG = squashed
 * Gaussian, SGM = squashed Gaussian mixture (USGM: uniform weights), Cauchy / CM = squashed Cauchy
 * (mixture), and the suffix the actor-gradient estimator. The expected table is written from the
 * names, not read from the code.
 */
import { describe, expect, it } from 'vitest';
import { type LocScale, type Mixture, policyFromHead, type Squashed } from '../../src/distributions';
import { AGENTS, agentNames } from '../../src/rl/sac/agents';
import * as T from '../../src/tensor';

const EXPECTED = {
  'sg-rp': ['single', 'normal', 'rp'],
  'usgm-rp': ['uniform', 'normal', 'urp'],
  'sgm-mrp': ['mixture', 'normal', 'mrp'],
  'sgm-halfrp': ['mixture', 'normal', 'halfRp'],
  'sgm-gumbelrp': ['mixture', 'normal', 'gumbelRp'],
  'sgm-lr': ['mixture', 'normal', 'lr'],
  'cauchy-rp': ['single', 'cauchy', 'rp'],
  'cm-mrp': ['mixture', 'cauchy', 'mrp'],
} as const;

describe('agents', () => {
  it('map each name to its policy kind, family and estimator', () => {
    expect(agentNames()).toEqual(Object.keys(EXPECTED));
    for (const name of agentNames()) {
      const { kind, family, estimator } = AGENTS[name];
      expect([kind, family, estimator], name).toEqual(EXPECTED[name]);
    }
  });

  it('build that policy from a head: family, kind and uniform weights as named', () => {
    const K = 3;
    for (const name of agentNames()) {
      const { kind, family } = AGENTS[name];
      const config = { actionDim: 2, kind, family, components: K, low: [-1, -1], high: [1, 1] };
      const width = kind === 'mixture' ? 2 * K * 2 + K : kind === 'single' ? 4 : 2 * K * 2;
      const out = T.reshape(T.tensor(Float64Array.from({ length: 4 * width }, (_, i) => Math.sin(i) * 0.5), { dtype: 'float64' }), [4, width]);
      const base = (policyFromHead(out, config) as Squashed<LocScale | Mixture>).base;
      const components = kind === 'single' ? (base as LocScale) : (base as Mixture).components;
      expect(components.family, name).toBe(family);
      if (kind !== 'single') {
        expect((base as Mixture).uniform, name).toBe(kind === 'uniform');
        expect(components.loc.shape, name).toEqual([4, K, 2]);
      }
      // A Cauchy's log-density at its location is -log(pi s) per axis; a Normal's -log(s sqrt(2 pi)).
      const first = components.logProb(components.loc).dataSync()[0]; // batch 0 (component 0)
      const scales = Array.from(components.scale.dataSync()).slice(0, 2);
      const expected = scales.reduce((sum, si) => sum + (family === 'cauchy' ? -Math.log(Math.PI * si) : -Math.log(si * Math.sqrt(2 * Math.PI))), 0);
      expect(Math.abs(first - expected), name).toBeLessThan(1e-12);
    }
  });
});
