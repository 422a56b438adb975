/** Depth limits and rates (Hayou et al. 2019) from one depth sweep: reference values and fitted rates. */
import { beforeAll, describe, expect, it } from 'vitest';
import { depthSweep, fitPowerLaw, InputError, type DepthSweep } from '../src/index.js';

describe('depth sweep', () => {
  let s: DepthSweep;
  beforeAll(async () => {
    s = await depthSweep('arora2019:depth=100000', 0);
  });
  const at = (L: number) => s.depths.indexOf(L);

  it('arora2019 at ρ = 0: Θ_L/(L+1) matches the reference values at L = 10, 100, 1000, 10⁴ and tends to 1/4', () => {
    const ref: [number, number][] = [
      [10, 0.316307],
      [100, 0.2724963],
      [1000, 0.2532905],
      [10000, 0.2504174],
    ];
    for (const [L, v] of ref) {
      expect(s.ntkDiagonal[at(L)]).toBeCloseTo(L + 1, 9);
      expect(Math.abs(s.ntk[at(L)]! / (L + 1) - v)).toBeLessThan(5e-8);
      expect(s.ntkNormalized[at(L)]).toBeCloseTo(s.ntk[at(L)]! / (L + 1), 12);
    }
    expect(Math.abs(s.ntkNormalized[at(100000)]! - 0.25)).toBeLessThan(1e-4);
  });

  it('1 − ρ_L ~ 9π²/(2L²): L²(1 − ρ_L) approaches 9π²/2 and the fitted exponent is −2', () => {
    const c = (9 * Math.PI ** 2) / 2;
    const scaled = [1000, 10000, 100000].map((L) => s.nngpGap[at(L)]! * L * L);
    console.log(`L²(1 − ρ_L) at L = 10³, 10⁴, 10⁵: ${scaled.map((v) => v.toFixed(3)).join(', ')} (limit 9π²/2 = ${c.toFixed(3)})`);
    for (let i = 1; i < scaled.length; i++) expect(Math.abs(scaled[i]! - c)).toBeLessThan(Math.abs(scaled[i - 1]! - c));
    expect(Math.abs(scaled[2]! / c - 1)).toBeLessThan(1e-3);
    const Ls = [10000, 20000, 50000, 100000];
    const fit = fitPowerLaw(Ls, Ls.map((L) => s.nngpGap[at(L)]!));
    expect(fit.exponent).toBeCloseTo(-2, 2);
  });

  it('depth 0 is the input correlation; bad ρ is refused', async () => {
    const t = await depthSweep('mlp:depth=3', 0.3);
    expect(t.depths).toEqual([0, 1, 2, 3]);
    expect(t.nngpCorrelation[0]).toBeCloseTo(0.3, 12);
    await expect(depthSweep('mlp:depth=3', 1.5)).rejects.toThrow(/rho must be in \[−1, 1\]/);
    expect(() => fitPowerLaw([1, 2], [1, -1])).toThrow(InputError);
  });

  it('fitPowerLaw recovers an exact power law', () => {
    const f = fitPowerLaw([1, 2, 4, 8], [3, 3 / 4, 3 / 16, 3 / 64]);
    expect(f.exponent).toBeCloseTo(-2, 12);
    expect(f.prefactor).toBeCloseTo(3, 12);
  });
});
