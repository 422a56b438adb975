/** Every preset against sampled finite-width networks (tolerance: see test/mc.ts). */
import { describe, expect, it } from 'vitest';
import { compareWithMonteCarlo, PRESET_CASES, Z_CRIT } from './mc.js';


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
