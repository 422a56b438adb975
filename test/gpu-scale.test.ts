/**
 * The WebGPU host: blocks and tile boundaries, X1 × X2, depth chunks, depth sweeps, the diagonal,
 * streaming, cancellation, device loss, backend choice, pipeline caching, the index-size guard and
 * snapshots of generated WGSL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getGpu,
  GpuError,
  InputError,
  kernel,
  kernelBlocks,
  kernelCpu,
  setGpuProvider,
  type GpuContext,
} from '../src/index.js';
import { recursionShader } from '../src/gpu/codegen.js';
import { compile } from '../src/program/compile.js';
import { planBlocks } from '../src/gpu/gram.js';
import { pipelineStats } from '../src/gpu/pipelines.js';
import { Rng } from '../src/mc/rng.js';
import { useNodeWebGPU } from '../src/node/webgpu.js';
import { maxRelDiff, normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';

function inputs(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => Math.fround(rng.normal())));
}

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});
afterAll(releaseGpuForTests);

describe('blocks and tiles', () => {
  for (const n of [1, 63, 64, 65, 130]) {
    it(`X × X with n = ${n} in 64-row blocks matches the CPU and is exactly symmetric`, async () => {
      const X = inputs(n, 7, n);
      const cpu = kernelCpu('tirer2021', X);
      const gpu = await kernel('tirer2021', X, null, { backend: 'webgpu', blockRows: 64 });
      expect(gpu.shape).toEqual([n, n]);
      expect(normalisedError(cpu.ntk!, gpu.ntk!, n)).toBeLessThan(1e-5);
      expect(normalisedError(cpu.nngp!, gpu.nngp!, n)).toBeLessThan(1e-5);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(gpu.ntk![i * n + j]).toBe(gpu.ntk![j * n + i]);
    });
  }

  it('X1 × X2 with n1 ≠ n2, several blocks each way, d not a multiple of 4', async () => {
    const A = inputs(70, 13, 1);
    const B = inputs(135, 13, 2);
    const cpu = kernelCpu('densenet:depth=6', A, B);
    const gpu = await kernel('densenet:depth=6', A, B, { backend: 'webgpu', blockRows: 64 });
    expect(gpu.shape).toEqual([70, 135]);
    expect(maxRelDiff(gpu.ntk!, cpu.ntk!)).toBeLessThan(1e-5);
    expect(maxRelDiff(gpu.nngp!, cpu.nngp!)).toBeLessThan(1e-5);
  });

  it('high-dimensional inputs (d = 784, 3072: the first-layer sums are long) stay within 1e−5', async () => {
    for (const d of [784, 3072]) {
      const X = inputs(64, d, d).map((r) => r.map((v) => Math.fround(v + 0.3)));
      for (const ref of ['arora2019:depth=1', 'tirer2021', 'mlp:depth=10,cb2=0.2']) {
        const cpu = kernelCpu(ref, X);
        const gpu = await kernel(ref, X, null, { backend: 'webgpu' });
        expect(normalisedError(cpu.nngp!, gpu.nngp!, 64), `${ref} d=${d}`).toBeLessThan(1e-5);
        expect(normalisedError(cpu.ntk!, gpu.ntk!, 64), `${ref} d=${d}`).toBeLessThan(1e-5);
      }
    }
  });

  it('the diagonal alone equals the diagonal of the full matrix', async () => {
    const X = inputs(90, 5, 3);
    const full = await kernel('resnet:depth=20,alpha=0.5', X, null, { backend: 'webgpu', blockRows: 64 });
    const diag = await kernel('resnet:depth=20,alpha=0.5', X, null, { backend: 'webgpu', diagonal: true, blockRows: 64 });
    expect(diag.shape).toEqual([90]);
    for (let i = 0; i < 90; i++) expect(Math.abs(diag.ntk![i]! - full.ntk![i * 90 + i]!)).toBeLessThanOrEqual(1e-6 * full.ntk![i * 90 + i]!);
  });
});

describe('depth', () => {
  it('chunked depth (state kept in GPU memory between submits) gives the same bits as one submit', async () => {
    const X = inputs(40, 6, 4);
    const one = await kernel('arora2019:depth=300', X, null, { backend: 'webgpu' });
    const many = await kernel('arora2019:depth=300', X, null, { backend: 'webgpu', maxPairOpsPerSubmit: 20_000 });
    expect(Array.from(many.ntk!)).toEqual(Array.from(one.ntk!));
    expect(Array.from(many.nngp!)).toEqual(Array.from(one.nngp!));
  });

  it('a depth sweep in chunks matches the CPU at every depth and ends with the full network', async () => {
    const X = inputs(20, 4, 5);
    const cpu = kernelCpu('densenet:depth=40', X, null, { depths: 'all' });
    const gpu = await kernel('densenet:depth=40', X, null, { backend: 'webgpu', depths: 'all', maxPairOpsPerSubmit: 3000 });
    expect(gpu.shape).toEqual([41, 20, 20]);
    expect(gpu.depths).toEqual(cpu.depths);
    expect(normalisedError(cpu.ntk!, gpu.ntk!, 20, 41)).toBeLessThan(1e-5);
    expect(normalisedError(cpu.nngp!, gpu.nngp!, 20, 41)).toBeLessThan(1e-5);
    const last = await kernel('densenet:depth=40', X, null, { backend: 'webgpu' });
    expect(Array.from(gpu.ntk!.subarray(40 * 400))).toEqual(Array.from(last.ntk!));
  });

  it('normalised ResNets keep their scale at depths where (1 + α²)^L overflows float32', async () => {
    const X = inputs(6, 3, 6);
    const cpu = kernelCpu('belfer2021:depth=500,alpha=1', X);
    const gpu = await kernel('belfer2021:depth=500,alpha=1', X, null, { backend: 'webgpu' });
    expect(normalisedError(cpu.ntk!, gpu.ntk!, 6)).toBeLessThan(1e-5);
    // And unnormalised values beyond the float32 range come back exactly scaled.
    const raw = await kernel('huang2020:depth=300,alpha=1', [[1, 0, 0]], null, { backend: 'webgpu' });
    expect(raw.nngp![0]! / 2 ** 300).toBeCloseTo(1, 6);
  });
});

describe('streaming, progress and cancellation', () => {
  it('kernelBlocks tiles the matrix exactly once and matches the assembled result', async () => {
    const X = inputs(150, 5, 7);
    const whole = await kernel('mlp:depth=5', X, null, { backend: 'webgpu', blockRows: 64 });
    const seen = new Uint8Array(150 * 150);
    const progress: number[] = [];
    for await (const b of kernelBlocks('mlp:depth=5', X, null, {
      backend: 'webgpu',
      blockRows: 64,
      onProgress: (p) => progress.push(p.blocksDone / p.blocks),
    })) {
      expect(b.backend).toBe('webgpu');
      for (let i = 0; i < b.rows; i++) {
        for (let j = 0; j < b.cols; j++) {
          const at = (b.row0 + i) * 150 + b.col0 + j;
          seen[at]! += 1;
          expect(b.ntk![i * b.cols + j]).toBe(whole.ntk![at]);
        }
      }
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    expect(progress.at(-1)).toBe(1);
    expect(progress.length).toBe(6); // 3 × 3 blocks, upper triangle
  });

  it('reuseBlocks: every block (transposes too, every depth, both kernels) is the same, from one set of arrays', async () => {
    const X = inputs(150, 5, 9);
    const whole = await kernel('mlp:depth=4', X, null, { backend: 'webgpu', blockRows: 64, get: ['nngp', 'ntk'], depths: 'all' });
    const T = whole.shape[0]!;
    const seen = new Uint8Array(150 * 150);
    const buffers = new Set<ArrayBufferLike>();
    for await (const b of kernelBlocks('mlp:depth=4', X, null, { backend: 'webgpu', blockRows: 64, get: ['nngp', 'ntk'], depths: 'all', reuseBlocks: true })) {
      buffers.add(b.ntk!.buffer);
      buffers.add(b.nngp!.buffer);
      expect(b.ntk!.length).toBe(T * b.rows * b.cols);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < b.rows; i++) {
          for (let j = 0; j < b.cols; j++) {
            const at = (b.row0 + i) * 150 + b.col0 + j;
            if (t === 0) seen[at]! += 1;
            expect(b.ntk![t * b.rows * b.cols + i * b.cols + j]).toBe(whole.ntk![t * 150 * 150 + at]);
            expect(b.nngp![t * b.rows * b.cols + i * b.cols + j]).toBe(whole.nngp![t * 150 * 150 + at]);
          }
        }
      }
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    // Four arrays behind nine blocks: the block and its transpose, for each kernel.
    expect(buffers.size).toBe(4);
  });

  it('an AbortSignal cancels a running computation (and a pre-aborted one never starts)', async () => {
    const X = inputs(200, 5, 8);
    const ac = new AbortController();
    const run = kernel('arora2019:depth=50', X, null, {
      backend: 'webgpu',
      blockRows: 64,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    await expect(run).rejects.toThrow(/cancel|abort/i);
    const pre = new AbortController();
    pre.abort();
    await expect(kernel('arora2019:depth=5', X, null, { backend: 'webgpu', signal: pre.signal })).rejects.toThrow(/cancel|abort/i);
  });
});

describe('device and backend', () => {
  it('losing the device mid-run is a clear error with no result; the next call gets a new device', async () => {
    const X = inputs(200, 5, 9);
    const before = await getGpu();
    const run = kernel('arora2019:depth=20', X, null, {
      backend: 'webgpu',
      blockRows: 64,
      onProgress: () => before!.device.destroy(),
    });
    await expect(run).rejects.toThrow(GpuError);
    await expect(run).rejects.toThrow(/lost|destroyed|device/i);
    const after = await kernel('arora2019:depth=2', [[1, 0]], null, { backend: 'webgpu' });
    expect(after.ntk![0]).toBeCloseTo(3, 5);
    ctx = (await getGpu())!;
    expect(ctx.device).not.toBe(before!.device);
  });

  it('"auto" uses WebGPU when there is an adapter and says which; "webgpu" without one is an error, never a CPU run', async () => {
    const auto = await kernel('arora2019:depth=3', [[1, 2]], null, { backend: 'auto' });
    expect(auto.backend).toBe('webgpu');
    expect(auto.adapter).toMatch(/\S/);
    setGpuProvider(async () => null);
    try {
      const cpu = await kernel('arora2019:depth=3', [[1, 2]], null, { backend: 'auto' });
      expect(cpu.backend).toBe('cpu');
      await expect(kernel('arora2019:depth=3', [[1, 2]], null, { backend: 'webgpu' })).rejects.toThrow(InputError);
      await expect(kernel('arora2019:depth=3', [[1, 2]], null, { backend: 'webgpu' })).rejects.toThrow(/no WebGPU adapter/);
    } finally {
      useNodeWebGPU();
    }
  });

  it('pipelines are cached per device, keyed by the structure of the program (its numbers travel in buffers)', async () => {
    ctx = (await getGpu())!;
    await kernel('tirer2021:depth=4', [[1, 2]], null, { backend: 'webgpu' });
    const n0 = pipelineStats(ctx.device).compiled;
    await kernel('tirer2021:depth=4', [[3, 1], [0, 2]], null, { backend: 'webgpu' });
    await kernel('tirer2021:depth=4,alpha=0.3', [[1, 2]], null, { backend: 'webgpu' });
    await kernel('tirer2021:depth=9', [[1, 2]], null, { backend: 'webgpu' });
    expect(pipelineStats(ctx.device).compiled).toBe(n0);
    // Another structure (hayou2019 with biases: no residual) is a new pipeline.
    await kernel('hayou2019:depth=4,sigmaB2=0.1', [[1, 2]], null, { backend: 'webgpu' });
    expect(pipelineStats(ctx.device).compiled).toBe(n0 + 1);
  });
});

describe('indices stay inside blocks', () => {
  it('block buffers never reach 2^32 words, whatever n (the host indexes globally in float64)', () => {
    const limits = { maxStorageBufferBindingSize: 2 ** 32 - 1, maxBufferSize: 2 ** 40 };
    for (const spec of ['arora2019:depth=10', 'densenet:depth=100', 'resnet:depth=10,alpha=1']) {
      const p = compile(kernelCpuSpec(spec));
      for (const [n, d] of [[100_000, 784], [1_000_000, 3072], [70_000, 4]] as const) {
        for (const taps of [false, true]) {
          const plan = planBlocks(limits, p, n, n, Math.ceil(d / 4), taps);
          expect(plan.blockRows % 64).toBe(0);
          expect(plan.maxBufferWords * 4).toBeLessThan(2 ** 32);
          expect(plan.blockRows * plan.blockRows).toBeLessThan(2 ** 32);
        }
      }
    }
    // Small devices still get a valid plan; impossible ones are an error.
    const tiny = planBlocks({ maxStorageBufferBindingSize: 2 ** 20, maxBufferSize: 2 ** 20 }, compile(kernelCpuSpec('tirer2021')), 5000, 5000, 2, false);
    expect(tiny.blockRows).toBeGreaterThanOrEqual(64);
    expect(() => planBlocks({ maxStorageBufferBindingSize: 1024, maxBufferSize: 1024 }, compile(kernelCpuSpec('tirer2021')), 10, 10, 1, false)).toThrow(
      /too small/,
    );
    // Inputs too wide for one block of rows are bad input for this device, named as such.
    expect(() => planBlocks({ maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }, compile(kernelCpuSpec('tirer2021')), 10, 10, 2 ** 20, false)).toThrow(
      InputError,
    );
    expect(() => planBlocks({ maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }, compile(kernelCpuSpec('tirer2021')), 10, 10, 2 ** 20, false)).toThrow(
      /inputs with 4194304 features need .* reduce the dimension or use the CPU backend/,
    );
  });
});

describe('generated WGSL', () => {
  it('matches the snapshots (review changes to them like code)', () => {
    for (const spec of ['arora2019:depth=3', 'densenet:depth=4', 'tirer2021']) {
      const code = recursionShader(compile(kernelCpuSpec(spec))).code;
      const generated = code.slice(code.indexOf('// ---- generated from the kernel program'));
      expect(generated).toMatchSnapshot(spec);
    }
  });
});

function kernelCpuSpec(ref: string) {
  return kernelCpu(ref, [[1]]).spec!;
}
