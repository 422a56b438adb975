/**
 * The Monte Carlo check rejects plausible mistakes: each case samples one network and compares it
 * with the analytic kernel of a subtly different one.
 */
import { describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/index.js';
import { compareWithMonteCarlo, Z_CRIT } from './mc.js';

const MUTATIONS: [string, string, string][] = [
  ['residual constant a = α² instead of α²/2', 'tirer2021:depth=2,alpha=0.7', 'resnet:depth=2,alpha=0.7,cw2=2,cv2=1'],
  ['DenseNet concatenation summed instead of averaged', 'densenet:depth=2', 'densenet:depth=2,concat=sum'],
  ['readout frozen instead of trained', 'resnet:depth=2,alpha=0.5', 'resnet:depth=2,alpha=0.5,trainReadout=false'],
  ['ReLU weight variance off by 10%', 'mlp:depth=2', 'mlp:depth=2,cw2=2.2'],
];

describe('Monte Carlo check has power', () => {
  for (const [what, sampled, wrong] of MUTATIONS) {
    it(`detects: ${what}`, () => {
      const r = compareWithMonteCarlo(sampled, wrong);
      expect(r.maxZ, r.detail.join('\n')).toBeGreaterThan(Z_CRIT);
    });
  }

  it('the tolerance is the Bonferroni quantile, not a tuned constant', () => {
    expect(Z_CRIT).toBeGreaterThan(4.3);
    expect(Z_CRIT).toBeLessThan(4.7);
    // And the mutated kernels really are different from the true ones.
    const a = kernelCpu('densenet:depth=2', [[1, 0]]);
    const b = kernelCpu('densenet:depth=2,concat=sum', [[1, 0]]);
    expect(a.ntk![0]).not.toBeCloseTo(b.ntk![0]!, 3);
  });
});
