/** Every layer type against sampled finite-width networks (tolerance: see test/mc.ts). */
import { describe, expect, it } from 'vitest';
import { CUSTOM } from './fixtures.js';
import { compareWithMonteCarlo, Z_CRIT } from './mc.js';

describe('Monte Carlo oracle agrees with every layer type', () => {
  for (const [name, spec] of Object.entries(CUSTOM)) {
    it(name, () => {
      const r = compareWithMonteCarlo(spec);
      expect(r.maxZ, r.detail.join('\n')).toBeLessThanOrEqual(Z_CRIT);
      expect(r.maxRelSe).toBeLessThan(0.08);
    });
  }
});
