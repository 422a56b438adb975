/**
 * Runtime coefficients on WebGPU: networks that differ only in their numbers (here α of the
 * `resnet` preset) share one compiled pipeline, and each still matches the float64 CPU reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelCpu, type GpuContext } from '../src/index.js';
import { pipelineStats } from '../src/gpu/pipelines.js';
import { normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});
afterAll(releaseGpuForTests);

// Five rows in three dimensions, with a near-duplicate pair and an antipode.
const X = [
  [1, 0.5, -0.25],
  [1, 0.5, -0.2499],
  [-1, -0.5, 0.25],
  [0.3, 2, 1],
  [0, 0, 3],
];

describe('one pipeline per structure', () => {
  it('50 values of α in resnet (0.1 … 5) compile exactly one pipeline, and each matches the CPU', async () => {
    const alphas = Array.from({ length: 50 }, (_, k) => 0.1 + (k * 4.9) / 49);
    const first = await kernel(`resnet:depth=6,alpha=${alphas[0]}`, X, null, { backend: 'webgpu' });
    expect(first.backend).toBe('webgpu');
    const compiledAfterFirst = pipelineStats(ctx.device).compiled;
    let worst = 0;
    for (const a of alphas) {
      const ref = `resnet:depth=6,alpha=${a}`;
      const gpu = await kernel(ref, X, null, { backend: 'webgpu' });
      const cpu = kernelCpu(ref, X);
      worst = Math.max(worst, normalisedError(cpu.nngp!, gpu.nngp!, X.length), normalisedError(cpu.ntk!, gpu.ntk!, X.length));
    }
    // Not one compilation after the first network: the 49 other α reuse its pipelines.
    expect(pipelineStats(ctx.device).compiled).toBe(compiledAfterFirst);
    // The tolerance of test/gpu-scale.test.ts for short f32 recursions against float64.
    expect(worst).toBeLessThan(1e-5);
  });

  it('depth, weight and bias variances of another structure (biased hayou2019) reuse its pipeline too', async () => {
    await kernel('hayou2019:depth=3,sigmaB2=0.1', X, null, { backend: 'webgpu' });
    const c0 = pipelineStats(ctx.device).compiled;
    for (const ref of ['hayou2019:depth=7,sigmaW2=1.5,sigmaB2=0.3', 'hayou2019:depth=12,sigmaB2=0.05']) {
      const gpu = await kernel(ref, X, null, { backend: 'webgpu' });
      const cpu = kernelCpu(ref, X);
      expect(normalisedError(cpu.ntk!, gpu.ntk!, X.length)).toBeLessThan(1e-5);
      expect(normalisedError(cpu.nngp!, gpu.nngp!, X.length)).toBeLessThan(1e-5);
    }
    expect(pipelineStats(ctx.device).compiled).toBe(c0);
  });
});
