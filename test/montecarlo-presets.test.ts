/** Every preset against sampled finite-width networks (tolerance: see test/mc.ts). */
import { describe, expect, it } from 'vitest';
import { compareWithMonteCarlo, Z_CRIT } from './mc.js';

const PRESET_CASES = [
  'arora2019:depth=3',
  'jacot2018:depth=2,beta=0.5',
  'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3',
  'huang2020:depth=3,gamma=0.5',
  'belfer2021:depth=3,alpha=1',
  'tirer2021:depth=3,alpha=0.8',
  'resnet:depth=3,alpha=0.8,cw2=1.5,trainStem=false',
  'densenet:depth=3',
  'mlp:depth=2,cb2=0.2,inputScale=none',
];

describe('Monte Carlo oracle agrees with every preset', () => {
  for (const ref of PRESET_CASES) {
    it(ref, () => {
      const r = compareWithMonteCarlo(ref);
      expect(r.maxZ, r.detail.join('\n')).toBeLessThanOrEqual(Z_CRIT);
      // The check has teeth only if the sampling error is small against the kernel scale.
      expect(r.maxRelSe).toBeLessThan(0.08);
    });
  }
});
