/**
 * kernelTimes: K·P without storing K. On WebGPU each block is multiplied on the device
 * (gpu/gram-times.ts, shaders/gram_times.wgsl); checked against the dense product of the same f32
 * kernel (kernel() on WebGPU, multiplied in float64 here) and of the float64 CPU kernel, over
 * diagonal, off-diagonal (also transposed) and short blocks, 1–5 right-hand sides, X × X and
 * X1 × X2, a near-duplicate pair, a normalised preset and a smooth activation; the CPU path
 * (streamed blocks multiplied on the host) against the same dense product; the fault and refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, kernel, kernelTimes, stax, type Arch } from '../src/index.js';
import { Rng } from '../src/mc/rng.js';
import { relativeL2 } from './norms.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

function normals(rows: number, cols: number, seed: number): { data: Float64Array; rows: number; cols: number } {
  const rng = new Rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

/** Row-major (n1 × n2) · (n2 × k) in float64. */
function dense(K: Float64Array, n1: number, n2: number, P: Float64Array, k: number): Float64Array {
  const out = new Float64Array(n1 * k);
  for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) for (let c = 0; c < k; c++) out[i * k + c] = out[i * k + c]! + K[i * n2 + j]! * P[j * k + c]!;
  return out;
}

// 150 rows in 64-row blocks: diagonal blocks, off-diagonal ones (multiplied both ways) and a short last block.
const n = 150;
const X = normals(n, 10, 1);
// Row 7 is a near-duplicate of row 3 (1e-4 of its norm apart).
for (let c = 0; c < 10; c++) X.data[7 * 10 + c] = X.data[3 * 10 + c]! * (1 + 1e-4 * (c % 2 ? 1 : -1));
const T = normals(70, 10, 2);

describe('kernelTimes on WebGPU (the product on the device)', () => {
  beforeAll(async () => {
    await requireGpu();
  });
  const geluNet = stax.network({ inputScale: 'dim' }, stax.dense({ biasVar: 0.1 }), stax.gelu(), stax.dense({ weightVar: 1.5, biasVar: 0.1 }), stax.gelu(), stax.dense());
  const archs: [string, Arch][] = [
    ['arora2019:depth=3', 'arora2019:depth=3'],
    ['resnet:depth=4,gamma=0.5', 'resnet:depth=4,gamma=0.5'],
    ['a GELU network', geluNet],
    // Normalised (normalize: "diagonal"): the normaliser's exponent shifts the entries on the device.
    ['belfer2021:depth=100,alpha=0.5', 'belfer2021:depth=100,alpha=0.5'],
  ];
  for (const [name, arch] of archs) {
    for (const get of ['nngp', 'ntk'] as const) {
      it(`${name}, ${get}: X × X and X1 × X2 equal the dense product of the same f32 kernel (k = 1, 3, 5)`, async () => {
        const gpuK = (await kernel(arch, X, null, { get, backend: 'webgpu', blockRows: 64 }))[get]!;
        const cpuK = (await kernel(arch, X, null, { get }))[get]!;
        const gpuTX = (await kernel(arch, T, X, { get, backend: 'webgpu', blockRows: 64 }))[get]!;
        for (const k of [1, 3, 5]) {
          const P = normals(n, k, 10 + k).data;
          const r = await kernelTimes(arch, X, null, P, k, { get, backend: 'webgpu', blockRows: 64 });
          expect(r.backend).toBe('webgpu');
          expect(r.onDevice).toBe(true);
          expect(r.product.every(Number.isFinite)).toBe(true);
          const same = relativeL2(r.product, dense(gpuK, n, n, P, k));
          const ref = relativeL2(r.product, dense(cpuK, n, n, P, k));
          expect(same).toBeLessThan(1e-12);
          expect(ref).toBeLessThan(1e-5);
          const m = await kernelTimes(arch, T, X, P, k, { get, backend: 'webgpu', blockRows: 64 });
          expect(m.product.length).toBe(70 * k);
          expect(relativeL2(m.product, dense(gpuTX, 70, n, P, k))).toBeLessThan(1e-12);
        }
      }, 120_000);
    }
  }

  it('from the angle table: the product of the table kernel, on the device, normalised or not', async () => {
    for (const arch of ['arora2019:depth=20', 'belfer2021:depth=100,alpha=0.5']) {
      const P = normals(n, 3, 30).data;
      const phases: Record<string, number> = {};
      const gpuK = (await kernel(arch, X, null, { get: 'ntk', backend: 'webgpu', blockRows: 64, angleTable: true }))['ntk']!;
      const cpuK = (await kernel(arch, X, null, { get: 'ntk' }))['ntk']!;
      const r = await kernelTimes(arch, X, null, P, 3, { get: 'ntk', backend: 'webgpu', blockRows: 64, angleTable: true, phases });
      expect(phases.angleTableSegments).toBeGreaterThan(0);
      expect(r.onDevice).toBe(true);
      expect(relativeL2(r.product, dense(gpuK, n, n, P, 3))).toBeLessThan(1e-12);
      expect(relativeL2(r.product, dense(cpuK, n, n, P, 3))).toBeLessThan(1e-5);
    }
  });

  it('the default block size (one block here) gives the same product', async () => {
    const P = normals(n, 2, 20).data;
    const a = await kernelTimes('arora2019:depth=3', X, null, P, 2, { get: 'ntk', backend: 'webgpu' });
    const b = await kernelTimes('arora2019:depth=3', X, null, P, 2, { get: 'ntk', backend: 'webgpu', blockRows: 64 });
    expect(relativeL2(a.product, b.product)).toBeLessThan(1e-12);
  });

  it('a cancel rejects with an AbortError between blocks, and the device computes the next product', async () => {
    const P = normals(n, 2, 22).data;
    const ac = new AbortController();
    const run = kernelTimes('arora2019:depth=3', X, null, P, 2, {
      get: 'nngp',
      backend: 'webgpu',
      blockRows: 64,
      signal: ac.signal,
      onProgress: ({ blocksDone }) => {
        if (blocksDone === 2) ac.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort|cancel/i);
    const after = await kernelTimes('arora2019:depth=3', X, null, P, 2, { get: 'nngp', backend: 'webgpu', blockRows: 64 });
    const K = (await kernel('arora2019:depth=3', X, null, { get: 'nngp', backend: 'webgpu', blockRows: 64 })).nngp!;
    expect(relativeL2(after.product, dense(K, n, n, P, 2))).toBeLessThan(1e-12);
  });

  it('right-hand sides of any scale (1e±36, a zero column): each column is scaled by a power of two on the way up', async () => {
    const K = (await kernel('arora2019:depth=3', X, null, { get: 'nngp', backend: 'webgpu' })).nngp!;
    const base = normals(n, 3, 23).data;
    const P = Float64Array.from(base, (v, i) => (i % 3 === 0 ? v * 1e36 : i % 3 === 1 ? v * 1e-36 : 0));
    const r = await kernelTimes('arora2019:depth=3', X, null, P, 3, { get: 'nngp', backend: 'webgpu' });
    const ref = dense(K, n, n, P, 3);
    for (let c = 0; c < 3; c++) {
      const col = (a: Float64Array) => Float64Array.from({ length: n }, (_, i) => a[i * 3 + c]!);
      if (c === 2) expect(col(r.product).every((v) => v === 0)).toBe(true);
      else expect(relativeL2(col(r.product), col(ref))).toBeLessThan(1e-12);
    }
    const bad = Float64Array.from(base.subarray(0, n), (v, i) => (i === 5 ? Infinity : v));
    await expect(kernelTimes('arora2019:depth=3', X, null, bad, 1, { get: 'nngp', backend: 'webgpu' })).rejects.toThrow(/right-hand sides hold a non-finite value \(column 0\)/);
  });

  it('kernel values beyond what f32 products hold are an InputError, not a wrong product', async () => {
    const big = { ...X, data: X.data.map((v) => v * 1e20) };
    const P = normals(n, 1, 21).data;
    await expect(kernelTimes('arora2019:depth=3', big, null, P, 1, { get: 'nngp', backend: 'webgpu' })).rejects.toThrow(/beyond what the WebGPU product can hold in f32: rescale the inputs, or use backend "cpu"/);
    // The CPU multiplies in float64 and has no such limit.
    const cpu = await kernelTimes('arora2019:depth=3', big, null, P, 1, { get: 'nngp' });
    expect(cpu.product.every(Number.isFinite)).toBe(true);
  });
});

describe('kernelTimes on the CPU (streamed blocks multiplied on the host)', () => {
  it('equals the dense float64 product over uneven blocks, X × X and X1 × X2', async () => {
    const K = (await kernel('resnet:depth=4,gamma=0.5', X, null, { get: 'ntk' })).ntk!;
    const KTX = (await kernel('resnet:depth=4,gamma=0.5', T, X, { get: 'ntk' })).ntk!;
    const P = normals(n, 3, 30).data;
    const r = await kernelTimes('resnet:depth=4,gamma=0.5', X, null, P, 3, { get: 'ntk', blockRows: 40, threads: 1 });
    expect(r.backend).toBe('cpu');
    expect(r.onDevice).toBe(false);
    expect(relativeL2(r.product, dense(K, n, n, P, 3))).toBeLessThan(1e-14);
    const m = await kernelTimes('resnet:depth=4,gamma=0.5', T, X, P, 3, { get: 'ntk', blockRows: 40, threads: 1 });
    expect(relativeL2(m.product, dense(KTX, 70, n, P, 3))).toBeLessThan(1e-14);
  });

  it('refuses two kernels at once, the depth sweep and a P of the wrong size', async () => {
    const P = new Float64Array(n);
    await expect(kernelTimes('mlp:depth=2', X, null, P, 1, { get: ['nngp', 'ntk'] as never })).rejects.toThrow(/one kernel at a time/);
    await expect(kernelTimes('mlp:depth=2', X, null, P, 1, { get: 'nngp', depths: 'all' } as never)).rejects.toThrow(InputError);
    await expect(kernelTimes('mlp:depth=2', X, null, P, 2, { get: 'nngp' })).rejects.toThrow(/P must hold 150 × k values/);
  });
});
