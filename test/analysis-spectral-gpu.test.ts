/**
 * Spectral decay from WebGPU profiles: f32 values (≈1e−7 relative) put a noise floor of
 * ω_(d−1)·1e−6·K(0) under the eigenvalues; above it the GPU agrees with the CPU reference and with
 * the closed forms, the fits stop at the floor, and exact zeros come out as noise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPECTRAL_RELATIVE_NOISE, spectralDecay } from '../src/analysis/spectral.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

const PI = Math.PI;
// Two-layer NTK (κ1 + cos θ κ0)/2 on S¹, derived in test/analysis-spectral.test.ts.
const fourierNtk2 = (k: number) => (k === 0 ? 3 / PI ** 2 : k === 1 ? 0.5 : k % 2 === 1 ? 0 : (2 * (k * k + 3)) / (PI ** 2 * (k * k - 1) ** 2));

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

describe('spectral decay on WebGPU', () => {
  it('agrees with the CPU within the GPU noise floor, and degree by degree where the CPU value is above it', async () => {
    for (const [arch, dim] of [
      ['arora2019:depth=3', 2],
      ['belfer2021:depth=10,gamma=1', 2],
      ['belfer2021:depth=10,gamma=0.5', 2],
      ['arora2019:depth=3', 3],
    ] as const) {
      for (const kind of ['ntk', 'nngp'] as const) {
        const cpu = await spectralDecay(arch, { kind, dim, kmax: 96 });
        const gpu = await spectralDecay(arch, { kind, dim, kmax: 96, backend: 'webgpu' });
        expect(gpu.backend).toBe('webgpu');
        expect(gpu.relativeNoise).toBe(SPECTRAL_RELATIVE_NOISE.webgpu);
        // ω_(d−1)·η·K(0), K(0) from the GPU's own (f32) value.
        expect(gpu.noiseFloor / ((dim === 2 ? 2 * PI : 4 * PI) * 1e-6 * cpu.k0)).toBeCloseTo(1, 6);
        let worst = 0;
        for (let k = 0; k <= 96; k++) {
          const d = Math.abs(gpu.eigenvalues[k]! - cpu.eigenvalues[k]!);
          worst = Math.max(worst, d / gpu.noiseFloor);
          expect(d).toBeLessThanOrEqual(gpu.noiseFloor);
          if (cpu.eigenvalues[k]! > 2 * gpu.noiseFloor) expect(gpu.status[k]).toBe('signal');
        }
        expect(gpu.nonNegative).toBe(true);
        console.log(`${arch} ${kind} S^${dim - 1}: max |λ_gpu − λ_cpu| = ${worst.toFixed(3)} noise floors`);
      }
    }
  });

  it('two-layer NTK: matches the closed form within the floor; odd degrees ≥ 3 are noise, not fitted', async () => {
    const r = await spectralDecay('belfer2021:depth=1,alpha=1', { kmax: 128, backend: 'webgpu' });
    for (let k = 0; k <= 128; k++) expect(Math.abs(r.coefficients[k]! - fourierNtk2(k))).toBeLessThanOrEqual(r.coefficientNoiseFloor[k]!);
    for (let k = 3; k <= 128; k += 2) expect(r.status[k]).toBe('noise');
    expect(r.fits.odd.fit).toBeNull();
    expect(r.parity.ratio32Resolved).toBe(false);
    expect(Math.abs(r.parity.ratio32!)).toBeLessThanOrEqual(r.parity.ratio32Bound!);
    expect(Math.abs(r.fits.even.fit!.exponent + 2)).toBeLessThan(0.02);
  });

  it('the fits stop where the eigenvalues reach 10 noise floors; the exponent is still −2 and a₃/a₂ matches seeds.md', async () => {
    const r = await spectralDecay('arora2019:depth=3', { kmax: 160, backend: 'webgpu' });
    for (const f of [r.fits.even, r.fits.odd]) {
      expect(Math.abs(f.fit!.exponent + 2)).toBeLessThan(0.02);
      // λ_k ≈ C k^(−2) reaches 10 floors within kmax = 160 on the GPU; the CPU floor is 10⁷ times lower.
      expect(f.stoppedAt).not.toBeNull();
      expect(r.eigenvalues[f.stoppedAt!.degree]!).toBeLessThan(10 * r.noiseFloor);
      for (const k of f.fit!.degrees) expect(r.eigenvalues[k]!).toBeGreaterThanOrEqual(10 * r.noiseFloor);
    }
    const g1 = await spectralDecay('belfer2021:depth=10,gamma=1', { kmax: 8, backend: 'webgpu' });
    const gh = await spectralDecay('belfer2021:depth=10,gamma=0.5', { kmax: 8, backend: 'webgpu' });
    console.log(`WebGPU a₃/a₂: γ = 1 ${g1.parity.ratio32!.toFixed(6)}, γ = ½ ${gh.parity.ratio32!.toFixed(6)}`);
    expect(Math.abs(g1.parity.ratio32! - 0.049)).toBeLessThan(5e-4);
    expect(Math.abs(gh.parity.ratio32! - 0.224)).toBeLessThan(5e-4);
  });
});
