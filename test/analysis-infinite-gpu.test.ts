/**
 * depth=inf with γ > ½ on WebGPU: the limit is computed by finite specs (a linear kernel and a
 * two-layer ReLU NTK), which the GPU path runs like any other spec. Checked against the float64
 * CPU result and against the closed forms x·z and ½|x||z|(κ1(ρ) + ρκ0(ρ)).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelBlocks, kernelCpu } from '../src/api.js';
import { kappa0, kappa1 } from '../src/activations/rectifier-math.js';
import { Rng } from '../src/mc/rng.js';
import { maxRelDiff, normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';

function points(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => Math.fround(rng.normal())));
}

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

describe('depth=inf, γ > ½, on WebGPU', () => {
  it('belfer2021:depth=inf,gamma=0.75 matches the CPU (float32 accuracy) and the closed forms', async () => {
    const n = 70;
    const X = points(n, 5, 1);
    const ref = 'belfer2021:depth=inf,gamma=0.75';
    const cpu = kernelCpu(ref, X);
    const gpu = await kernel(ref, X, null, { backend: 'webgpu', blockRows: 64 });
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.shape).toEqual([n, n]);
    expect(gpu.depths).toEqual([Infinity]);
    expect(gpu.limit?.regime).toBe('two-layer');
    expect(normalisedError(cpu.nngp!, gpu.nngp!, n)).toBeLessThan(1e-5);
    expect(normalisedError(cpu.ntk!, gpu.ntk!, n)).toBeLessThan(1e-5);
    // Closed forms at one pair.
    const [x, z] = [X[3]!, X[40]!];
    const dot = x.reduce((s, v, k) => s + v * z[k]!, 0);
    const nx = Math.hypot(...x);
    const nz = Math.hypot(...z);
    const rho = dot / (nx * nz);
    expect(Math.abs(gpu.nngp![3 * n + 40]! - dot)).toBeLessThan(1e-5 * nx * nz);
    expect(Math.abs(gpu.ntk![3 * n + 40]! - 0.5 * nx * nz * (kappa1(rho) + rho * kappa0(rho)))).toBeLessThan(1e-5 * nx * nz);
  });

  it('X1 × X2, the diagonal, and huang2020 (NNGP only) agree with the CPU', async () => {
    const A = points(20, 3, 2);
    const B = points(33, 3, 3);
    const ref = 'belfer2021:depth=inf,gamma=1';
    const cpu = kernelCpu(ref, A, B);
    const gpu = await kernel(ref, A, B, { backend: 'webgpu' });
    expect(maxRelDiff(gpu.ntk!, cpu.ntk!)).toBeLessThan(1e-5);
    const diag = await kernel(ref, A, null, { backend: 'webgpu', diagonal: true });
    expect(maxRelDiff(diag.ntk!, kernelCpu(ref, A, null, { diagonal: true }).ntk!)).toBeLessThan(1e-5);
    const huang = await kernel('huang2020:depth=inf,gamma=0.75', A, B, { backend: 'webgpu', get: 'nngp' });
    expect(huang.ntk).toBeUndefined();
    expect(maxRelDiff(huang.nngp!, kernelCpu('huang2020:depth=inf,gamma=0.75', A, B, { get: 'nngp' }).nngp!)).toBeLessThan(1e-5);
  });

  it('kernelBlocks streams both kernels in the same blocks, tiling the matrix', async () => {
    const n = 130;
    const X = points(n, 4, 4);
    const ref = 'belfer2021:depth=inf,gamma=0.75';
    const cpu = kernelCpu(ref, X);
    const nngp = new Float64Array(n * n).fill(NaN);
    const ntk = new Float64Array(n * n).fill(NaN);
    const progress: number[] = [];
    for await (const b of kernelBlocks(ref, X, null, { backend: 'webgpu', blockRows: 64, onProgress: (p) => progress.push(p.blocksDone / p.blocks) })) {
      expect(b.backend).toBe('webgpu');
      for (let i = 0; i < b.rows; i++) {
        for (let j = 0; j < b.cols; j++) {
          nngp[(b.row0 + i) * n + b.col0 + j] = b.nngp![i * b.cols + j]!;
          ntk[(b.row0 + i) * n + b.col0 + j] = b.ntk![i * b.cols + j]!;
        }
      }
    }
    expect(normalisedError(cpu.nngp!, nngp, n)).toBeLessThan(1e-5);
    expect(normalisedError(cpu.ntk!, ntk, n)).toBeLessThan(1e-5);
    expect(progress.at(-1)).toBe(1);
  });
});
