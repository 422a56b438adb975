/**
 * The empirical NNGP/NTK of a sampled network on WebGPU (src/gpu/empirical.ts) against the float64
 * CPU path (src/empirical.ts) for the same width and seed, so the same network: every entry within
 * 5e−6 of √(Θ(x,x)Θ(z,z)). Measured on lavapipe (this repository's CI adapter), X of 8 rows in 5
 * dimensions, seed 5: at most 8.1e−7 over ReLU MLP, ResNet (α = 0.8), DenseNet, tanh and GELU MLPs,
 * depths 2, 5, 10 × widths 64, 256, 1024 (the worst: ReLU MLP, depth 10, width 64; it grows
 * slowly with depth, not with width: the GEMMs' chunked double-single sums keep the width out).
 * Not a bound for ReLU-like activations in general: at N = 256, width 4096 (arora2019:depth=3) one
 * input's Θ(x,x) differed by 1.9e−3 (a unit on the kink within f32 rounding, an O(1/width) jump),
 * every other entry by ≤ 2e−7; the inputs here are few enough that no unit lands there.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { empiricalKernel, type Spec } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';
import { BINDING_LIMIT, GEMM_SUBMIT } from '../src/gpu/empirical.js';
import { normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

const TOL = 5e-6;

const X = Array.from({ length: 6 }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.sin(1 + i * 7.3 + j * 1.7)));
const X2 = Array.from({ length: 3 }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.cos(0.4 + i * 3.1 + j * 0.9)));

/**
 * Largest |gpu − cpu| over the n1 × n2 block of X1 × X2 relative to √(K(x,x)·K(z,z)), the diagonals
 * from the CPU's X1 × X1 and X2 × X2 (normalisedError's measure, for a rectangular block).
 */
function crossError(cpu: Float64Array, gpu: Float64Array, d1: Float64Array, d2: Float64Array, n1: number, n2: number): number {
  let e = 0;
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      const s = Math.sqrt(Math.abs(d1[i * n1 + i]!)) * Math.sqrt(Math.abs(d2[j * n2 + j]!));
      const diff = Math.abs(gpu[i * n2 + j]! - cpu[i * n2 + j]!);
      e = Math.max(e, s > 0 ? diff / s : diff);
    }
  }
  return e;
}

/** An MLP with `act` between biased dense layers (depth L). */
const actMlp = (act: Record<string, unknown>, L = 3): Spec =>
  ({ layers: [{ type: 'dense', biasVar: 0.1 }, { type: 'repeat', count: L - 1, layers: [act, { type: 'dense', weightVar: 1.5, biasVar: 0.1 }] }] }) as unknown as Spec;

const swish = {
  type: 'numerical',
  name: 'swish',
  fn: (u: number) => u / (1 + Math.exp(-u)),
  deriv: (u: number) => {
    const s = 1 / (1 + Math.exp(-u));
    return s * (1 + u * (1 - s));
  },
  wgsl: { fn: 'u / (1.0 + exp(-u))', deriv: '(1.0 / (1.0 + exp(-u))) * (1.0 + u * (1.0 - 1.0 / (1.0 + exp(-u))))' },
};

const cases: [string, Spec | string, number][] = [
  ['arora2019 (ReLU MLP)', 'arora2019:depth=3', 64],
  ['arora2019, wide', 'arora2019:depth=3', 1024],
  ['mlp depth 10, biases', 'mlp:depth=10,cb2=0.2', 256],
  ['jacot2018 (β = 0.5)', 'jacot2018:depth=2,beta=0.5', 64],
  ['hayou2019 (biases)', 'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3', 64],
  ['huang2020 (ResNet, γ = 0.5)', 'huang2020:depth=3,gamma=0.5', 64],
  ['resnet, frozen stem', 'resnet:depth=3,alpha=0.8,cw2=1.5,trainStem=false', 256],
  ['densenet depth 3', 'densenet:depth=3', 64],
  ['densenet depth 10', 'densenet:depth=10', 256],
  ['tanh', actMlp({ type: 'tanh' }), 64],
  ['gelu', actMlp({ type: 'gelu' }), 64],
  ['erf', actMlp({ type: 'erf' }), 64],
  ['sigmoid', actMlp({ type: 'sigmoid' }), 64],
  ['softplus', actMlp({ type: 'softplus' }), 64],
  ['leakyRelu', actMlp({ type: 'leakyRelu', slope: 0.2 }), 64],
  ['abRelu', actMlp({ type: 'abRelu', a: -0.5, b: 1.2 }), 64],
  ['arccos order 2', actMlp({ type: 'arccos', order: 2 }), 64],
  ['a numerical activation with WGSL (swish)', actMlp(swish), 64],
];

describe('WebGPU against the float64 CPU path, same width and seed', () => {
  for (const [name, arch, width] of cases) {
    it(`${name}, width ${width}: NNGP and NTK, X1 × X1 and X1 × X2`, async () => {
      const opts = { width, seed: 5 };
      const cpu = empiricalKernel(arch, X, null, opts);
      const gpu = await empiricalKernel(arch, X, null, { ...opts, backend: 'webgpu' });
      expect(gpu.backend).toBe('webgpu');
      expect(gpu.shape).toEqual([6, 6]);
      expect(gpu.symmetric).toBe(true);
      expect(normalisedError(cpu.nngp!, gpu.nngp!, 6)).toBeLessThan(TOL);
      expect(normalisedError(cpu.ntk!, gpu.ntk!, 6)).toBeLessThan(TOL);
      // The NTK is not the NNGP (a wrong sum would not pass both).
      expect(normalisedError(cpu.nngp!, gpu.ntk!, 6)).toBeGreaterThan(1e-3);

      const cpu12 = empiricalKernel(arch, X, X2, opts);
      const gpu12 = await empiricalKernel(arch, X, X2, { ...opts, backend: 'webgpu' });
      const cpu22 = empiricalKernel(arch, X2, null, opts);
      expect(gpu12.shape).toEqual([6, 3]);
      expect(gpu12.symmetric).toBe(false);
      expect(crossError(cpu12.nngp!, gpu12.nngp!, cpu.nngp!, cpu22.nngp!, 6, 3)).toBeLessThan(TOL);
      expect(crossError(cpu12.ntk!, gpu12.ntk!, cpu.ntk!, cpu22.ntk!, 6, 3)).toBeLessThan(TOL);
    });
  }

  it('GEMMs split into many submits (blocks of rows and columns, biases offset) give the same values', async () => {
    const arch = 'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3';
    const Xw = Array.from({ length: 40 }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.sin(2 + i * 3.1 + j * 0.7)));
    const whole = await empiricalKernel(arch, Xw, null, { width: 96, seed: 2, backend: 'webgpu' });
    const saved = GEMM_SUBMIT.macs;
    GEMM_SUBMIT.macs = 2 ** 10;
    try {
      const split = await empiricalKernel(arch, Xw, null, { width: 96, seed: 2, backend: 'webgpu' });
      expect(Array.from(split.ntk!)).toEqual(Array.from(whole.ntk!));
      expect(Array.from(split.nngp!)).toEqual(Array.from(whole.nngp!));
    } finally {
      GEMM_SUBMIT.macs = saved;
    }
    const cpu = empiricalKernel(arch, Xw, null, { width: 96, seed: 2 });
    expect(normalisedError(cpu.ntk!, whole.ntk!, 40)).toBeLessThan(TOL);
  });

  it('matrices larger than one storage binding (as a 16 384-wide layer on lavapipe): bound in windows of rows, sums over K in chunks, the same kernels to f32 accuracy', async () => {
    // 4 KiB bindings: the 96 × 96 weights, the 40 × 96 activations and the 40 × 40 kernels are all
    // windowed, the backward pass Δ·W sums K = 96 in chunks of 10 rows, the accumulation in chunks.
    const Xw = Array.from({ length: 40 }, (_, i) => Array.from({ length: 5 }, (_, j) => Math.sin(2 + i * 3.1 + j * 0.7)));
    for (const arch of ['hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3', 'densenet:depth=2']) {
      const cpu = empiricalKernel(arch, Xw, null, { width: 96, seed: 2 });
      const saved = BINDING_LIMIT.bytes;
      BINDING_LIMIT.bytes = 4096;
      try {
        const win = await empiricalKernel(arch, Xw, null, { width: 96, seed: 2, backend: 'webgpu' });
        expect(normalisedError(cpu.ntk!, win.ntk!, 40)).toBeLessThan(TOL);
        expect(normalisedError(cpu.nngp!, win.nngp!, 40)).toBeLessThan(TOL);
      } finally {
        BINDING_LIMIT.bytes = saved;
      }
    }
  });

  it('get: only the kernels asked for; one seed gives one network (the same values twice), another a different one', async () => {
    const a = await empiricalKernel('resnet:depth=2,alpha=1', X, null, { width: 32, seed: 1, get: 'ntk', backend: 'webgpu' });
    expect(a.nngp).toBeUndefined();
    const b = await empiricalKernel('resnet:depth=2,alpha=1', X, null, { width: 32, seed: 1, get: 'ntk', backend: 'webgpu' });
    expect(Array.from(b.ntk!)).toEqual(Array.from(a.ntk!));
    const c = await empiricalKernel('resnet:depth=2,alpha=1', X, null, { width: 32, seed: 2, get: 'ntk', backend: 'webgpu' });
    expect(normalisedError(a.ntk!, c.ntk!, 6)).toBeGreaterThan(1e-3);
  });
});

describe('refusals on WebGPU: one clear line', () => {
  it('a numerical activation without WGSL or with WGSL that does not compile, a bad width, rows for a conv spec', async () => {
    await expect(empiricalKernel('cntk:depth=2', X, null, { width: 8, backend: 'webgpu' })).rejects.toThrow(/a conv spec needs images/);
    const { wgsl: _, ...noWgsl } = swish;
    await expect(empiricalKernel(actMlp(noWgsl), X, null, { width: 8, backend: 'webgpu' })).rejects.toThrow(
      /empirical kernels on WebGPU do not support the swish \(numerical\) activation yet .* use backend "cpu"/,
    );
    await expect(empiricalKernel('mlp:depth=2', X, null, { width: 0, backend: 'webgpu' })).rejects.toThrow(/width must be an integer ≥ 1/);
    // Above the device's maxBufferSize (a 32768² f32 matrix is 4 GiB; lavapipe's limit is 2³² − 1
    // bytes): refused from the shapes, before a weight is drawn (drawing it would take a minute).
    const limit = (await requireGpu()).device.limits.maxBufferSize;
    const w = Math.ceil(Math.sqrt((limit + 4) / 4));
    if (w * w <= 2 ** 30) {
      const t0 = performance.now();
      await expect(empiricalKernel('mlp:depth=2', X, null, { width: w, backend: 'webgpu' })).rejects.toThrow(
        new RegExp(`^width ${w}: the f32 weights of a ${w} × ${w} layer need ${4 * w * w} bytes .* above this device's maxBufferSize of ${limit} bytes`),
      );
      expect(performance.now() - t0).toBeLessThan(5000);
    }
    // WGSL that does not compile is the user's input: an InputError naming it, not a GpuError.
    const badWgsl = { ...swish, name: 'bad', wgsl: { fn: 'u / (1.0 + exp(-u)', deriv: '1.0' } };
    await expect(empiricalKernel(actMlp(badWgsl), X, null, { width: 8, backend: 'webgpu' })).rejects.toThrow(/numerical activation "bad": wgsl.fn does not compile as WGSL/);
  });
});

describe('webntk empirical --backend webgpu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webntk-gpu-empirical-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const x1 = join(dir, 'X.npy');
  writeFileSync(x1, encodeNpy(X.flat(), [6, 5]));

  it('writes what the API returns, and says webgpu and the adapter in --json', async () => {
    const out = join(dir, 'K.npy');
    const r = await runCli('empirical', '--arch', 'densenet:depth=2', '--width', '16', '--seed', '9', '--x1', x1, '--out', out, '--backend', 'webgpu', '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ backend: 'webgpu', width: 16, seed: 9, outputs: [{ kernel: 'ntk', shape: [6, 6] }] });
    expect(typeof j.adapter).toBe('string');
    const api = await empiricalKernel('densenet:depth=2', X, null, { width: 16, seed: 9, get: 'ntk', backend: 'webgpu' });
    expect(Array.from(parseNpy(readFileSync(out)).data as Float64Array)).toEqual(Array.from(api.ntk!));
  });

  it('refuses rows for a conv spec: exit 2, one line, no file (conv specs on webgpu: test/gpu-empirical-conv.test.ts)', async () => {
    const out = join(dir, 'bad.npy');
    const r = await runCli('empirical', '--arch', 'cntk:depth=2', '--width', '8', '--x1', x1, '--out', out, '--backend', 'webgpu');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
