/**
 * Kernel profiles, cusp slopes and depth sweeps on the WebGPU backend, against the float64 CPU
 * reference (Tirer et al.'s cusp slopes; Hayou et al.'s depth limit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuspSlope, cuspSlopeEstimate, depthSweep, kernelProfile } from '../src/index.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

describe('analysis on WebGPU', () => {
  it('the profile matches the CPU to f32 accuracy for a ResNet, a DenseNet and an MLP', async () => {
    for (const arch of ['tirer2021:depth=5,alpha=0.5', 'densenet:depth=6', 'mlp:depth=8']) {
      const cpu = await kernelProfile(arch, { points: 91 });
      const gpu = await kernelProfile(arch, { points: 91, backend: 'webgpu' });
      expect(gpu.backend).toBe('webgpu');
      // f32 results with carried gaps: ~1e−7 relative to K(0) (the README's accuracy table).
      gpu.normalized.forEach((v, i) => expect(Math.abs(v - cpu.normalized[i]!)).toBeLessThan(2e-6));
    }
  });

  it('a conv spec: its profile and cusp slope on WebGPU (the image pair of imageShape, not dim)', async () => {
    const arch = 'cntk:depth=3,readout=gap';
    const imageShape = [1, 4, 4];
    const cpu = await kernelProfile(arch, { points: 31, imageShape });
    const gpu = await kernelProfile(arch, { points: 31, imageShape, backend: 'webgpu' });
    expect(gpu.backend).toBe('webgpu');
    gpu.normalized.forEach((v, i) => expect(Math.abs(v - cpu.normalized[i]!)).toBeLessThan(2e-6));
    const g = await cuspSlopeEstimate(arch, { imageShape, backend: 'webgpu' });
    expect(g.backend).toBe('webgpu');
    expect(Math.abs(g.slope - (await cuspSlope(arch, { imageShape })))).toBeLessThanOrEqual(g.errorEstimate);
  });

  it('cusp slopes on the GPU are within their error estimate of the float64 ones, shallow to steep (0.0078 … 796)', async () => {
    const ref = [0.0078, 0.1389, 0.3316, 0.5712];
    const alphas = [0.1, 0.5, 1, 2];
    for (let i = 0; i < alphas.length; i++) {
      const arch = `tirer2021:depth=5,alpha=${alphas[i]}`;
      const g = await cuspSlopeEstimate(arch, { backend: 'webgpu' });
      expect(g.backend).toBe('webgpu');
      expect(Math.abs(g.slope - (await cuspSlope(arch)))).toBeLessThanOrEqual(g.errorEstimate);
      expect(Math.abs(g.slope - ref[i]!)).toBeLessThan(2e-3);
    }
    // Steep cusps: the step adapts to 0.01/slope. L/(2π) for the MLP; the α = 1 ResNet at depth 10⁴ has slope ≈ 796.
    for (const arch of ['mlp:depth=1000', 'belfer2021:depth=10000,alpha=1', 'densenet:depth=50']) {
      const g = await cuspSlopeEstimate(arch, { backend: 'webgpu' });
      const c = await cuspSlope(arch);
      expect(Math.abs(g.slope - c), arch).toBeLessThanOrEqual(g.errorEstimate);
      // The estimate is a bound of about 1e−3 of the slope, not a blanket tolerance.
      expect(g.errorEstimate / c, arch).toBeLessThan(3e-3);
    }
    const m = await cuspSlope('mlp:depth=1000', { backend: 'webgpu' });
    expect(Math.abs(m / (1000 / (2 * Math.PI)) - 1)).toBeLessThan(1e-3);
  });

  it('a depth sweep of arora2019 to L = 1000 on the GPU matches the CPU and the reference values', async () => {
    const cpu = await depthSweep('arora2019:depth=1000', 0);
    const gpu = await depthSweep('arora2019:depth=1000', 0, { backend: 'webgpu' });
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.depths).toEqual(cpu.depths);
    for (const [L, v] of [
      [10, 0.316307],
      [100, 0.2724963],
      [1000, 0.2532905],
    ] as const) {
      expect(Math.abs(gpu.ntk[L]! / (L + 1) - v)).toBeLessThan(1e-6);
      expect(Math.abs(gpu.ntkNormalized[L]! - cpu.ntkNormalized[L]!)).toBeLessThan(1e-6);
      expect(Math.abs(gpu.nngpCorrelation[L]! - cpu.nngpCorrelation[L]!)).toBeLessThan(1e-6);
    }
  });
});
