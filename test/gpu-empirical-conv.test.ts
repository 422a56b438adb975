/**
 * The empirical NNGP/NTK of sampled conv networks on WebGPU (src/gpu/empirical-conv.ts) against the
 * float64 CPU path (mc/conv.ts's empiricalConvKernels through empiricalKernel) for the same width
 * and seed, so the same network: every entry within 1e−5 of √(K(x,x)K(z,z)). The specs are the conv
 * engine suite's (test/mc-conv-engine-cases.ts: cntk and rescnn with every readout and padding, 1-D
 * and 2-D, stride 2, avgPool, biases, frozen layers, residual blocks, a dense head, inputScale none)
 * and a conv whose stride leaves one pixel (its NTK term by the dense factorisation on im2col).
 * Measured on lavapipe: at most 3.6e−7 (NNGP) and 3.2e−7 (NTK) over these, width 8 and 32, X1 × X1
 * and X1 × X2. Mutations that these tests catch (checked by hand): the conv bias term dropped from
 * the NTK (2 tests fail), the last tap dropped from im2col (18) or from col2im (17), flatten's
 * weights not permuted to the channel-last order (7), the bias term of P_out = 1 layers (readouts, dense
 * heads, the one-pixel conv) dropped (4), the gathers' scale dropped (avgPool and gap summing, 8).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { empiricalKernel, type Spec } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';
import { BINDING_LIMIT, GEMM_SUBMIT } from '../src/gpu/empirical.js';
import { WEIGHT_GRADIENTS } from '../src/gpu/empirical-conv.js';
import { normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';
import { ENGINE_CASES, ENGINE_IMAGES, seededImages } from './mc-conv-engine-cases.js';

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

const TOL = 1e-5;

/** Largest |gpu − cpu| over an n1 × n2 block relative to √(K(x,x)·K(z,z)), the diagonals from d1 (n1 × n1) and d2 (n2 × n2). */
function crossError(cpu: Float64Array, gpu: Float64Array, d1: Float64Array, d2: Float64Array, n1: number, n2: number): number {
  let e = 0;
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      const s = Math.sqrt(Math.abs(d1[i * n1 + i]!)) * Math.sqrt(Math.abs(d2[j * n2 + j]!));
      e = Math.max(e, Math.abs(gpu[i * n2 + j]! - cpu[i * n2 + j]!) / s);
    }
  }
  return e;
}

const WIDTH = 8;
const SEED = 3;

/** A conv with stride = filter = the image width leaves one pixel (1-D, 7 pixels). */
const ONE_PIXEL: Spec = {
  format: 'webntk-spec/1',
  normalize: 'none',
  layers: [{ type: 'conv', padding: 'circular' }, { type: 'relu' }, { type: 'conv', filter: 7, stride: 7, weightVar: 2, biasVar: 0.1 }, { type: 'tanh' }],
  readout: [{ type: 'gap', weightVar: 2, biasVar: 0.05 }],
} as unknown as Spec;
const CASES = [...ENGINE_CASES, { name: 'a stride-7 conv to one pixel, biases, tanh, gap (1-D)', arch: ONE_PIXEL, images: '1d' as const }];

describe('empirical conv kernels on WebGPU agree with the float64 CPU', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const x = ENGINE_IMAGES[c.images];
    const n = x.shape[0]!;
    const cpu = empiricalKernel(c.arch, x, null, { width: WIDTH, seed: SEED, get: ['nngp', 'ntk'] });
    const gpu = await empiricalKernel(c.arch, x, null, { width: WIDTH, seed: SEED, get: ['nngp', 'ntk'], backend: 'webgpu' });
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.shape).toEqual([n, n]);
    expect(gpu.symmetric).toBe(true);
    const eK = normalisedError(cpu.nngp!, gpu.nngp!, n);
    const eT = normalisedError(cpu.ntk!, gpu.ntk!, n);
    expect(eK, 'nngp').toBeLessThan(TOL);
    expect(eT, 'ntk').toBeLessThan(TOL);
  });

  it('wider (32 channels, 2-D cntk and rescnn): within 1e−5 too', async () => {
    const x = ENGINE_IMAGES['2d'];
    for (const arch of ['cntk:depth=2,readout=gap,pad=zero', 'rescnn:depth=2,alpha=0.8,readout=flatten']) {
      const cpu = empiricalKernel(arch, x, null, { width: 32, seed: 1 });
      const gpu = await empiricalKernel(arch, x, null, { width: 32, seed: 1, get: ['nngp', 'ntk'], backend: 'webgpu' });
      const eK = normalisedError(cpu.nngp!, gpu.nngp!, 3);
      const eT = normalisedError(cpu.ntk!, gpu.ntk!, 3);
      expect(eK).toBeLessThan(TOL);
      expect(eT).toBeLessThan(TOL);
    }
  });

  it('GEMMs split into many submits (width 40: ragged 32-wide tiles), weight gradients in chunks of inputs: the same values bit for bit', async () => {
    const arch = 'rescnn:depth=2,alpha=0.8,readout=flatten';
    const a = ENGINE_IMAGES['2d'];
    const b = seededImages(2, 2, [4, 4], 13);
    const o = { width: 40, seed: 6, get: ['nngp', 'ntk'] as ('nngp' | 'ntk')[], backend: 'webgpu' as const };
    for (const x2 of [null, b]) {
      const whole = await empiricalKernel(arch, a, x2, o);
      const saved = { macs: GEMM_SUBMIT.macs, bytes: WEIGHT_GRADIENTS.bytes };
      // Chunks of 2 inputs for the 40 × 360 weight gradients of the inner convs, then of 1 everywhere.
      for (const [macs, bytes] of [
        [2 ** 10, 2 * 4 * 40 * 360],
        [saved.macs, 1],
      ]) {
        GEMM_SUBMIT.macs = macs!;
        WEIGHT_GRADIENTS.bytes = bytes!;
        try {
          const split = await empiricalKernel(arch, a, x2, o);
          expect(Array.from(split.ntk!)).toEqual(Array.from(whole.ntk!));
          expect(Array.from(split.nngp!)).toEqual(Array.from(whole.nngp!));
        } finally {
          GEMM_SUBMIT.macs = saved.macs;
          WEIGHT_GRADIENTS.bytes = saved.bytes;
        }
      }
    }
  });

  it('storage bindings smaller than a row of weight gradients: output channels in chunks, every operand in windows; the CPU’s values', async () => {
    // 4 KiB bindings (1008 f32 after alignment): a conv's 40 × 360 weight-gradient row is split into
    // channel chunks of 2, and the images, columns and weights are bound in windows.
    const arch = 'cntk:depth=2,readout=gap,pad=circular';
    const a = ENGINE_IMAGES['2d'];
    const cpu = empiricalKernel(arch, a, null, { width: 40, seed: 6 });
    const saved = BINDING_LIMIT.bytes;
    BINDING_LIMIT.bytes = 4096;
    try {
      const win = await empiricalKernel(arch, a, null, { width: 40, seed: 6, backend: 'webgpu' });
      const n = Math.round(Math.sqrt(cpu.ntk!.length));
      expect(normalisedError(cpu.ntk!, win.ntk!, n)).toBeLessThan(TOL);
      expect(normalisedError(cpu.nngp!, win.nngp!, n)).toBeLessThan(TOL);
    } finally {
      BINDING_LIMIT.bytes = saved;
    }
  });

  it('X1 × X2 (1-D and 2-D): the CPU’s block; the same values run to run; only the kernels asked for', async () => {
    for (const [arch, dims] of [
      ['rescnn:depth=2,alpha0=1,gamma=0.5,readout=gap,pad=zero', [4, 4]],
      ['cntk:depth=2,readout=flatten,pad=circular', [7]],
    ] as const) {
      const a = seededImages(3, 2, [...dims], 11);
      const b = seededImages(2, 2, [...dims], 12);
      const o = { width: WIDTH, seed: 5 };
      const cpu = empiricalKernel(arch, a, b, o);
      const d1 = empiricalKernel(arch, a, null, o);
      const d2 = empiricalKernel(arch, b, null, o);
      const gpu = await empiricalKernel(arch, a, b, { ...o, get: ['nngp', 'ntk'], backend: 'webgpu' });
      expect(gpu.shape).toEqual([3, 2]);
      expect(gpu.symmetric).toBe(false);
      const eK = crossError(cpu.nngp!, gpu.nngp!, d1.nngp!, d2.nngp!, 3, 2);
      const eT = crossError(cpu.ntk!, gpu.ntk!, d1.ntk!, d2.ntk!, 3, 2);
      expect(eK).toBeLessThan(TOL);
      expect(eT).toBeLessThan(TOL);
      const again = await empiricalKernel(arch, a, b, { ...o, get: 'ntk', backend: 'webgpu' });
      expect(again.nngp).toBeUndefined();
      expect(Array.from(again.ntk!)).toEqual(Array.from(gpu.ntk!));
    }
  });

  it('refusals: what the CPU refuses, and an activation without WGSL, in one line', async () => {
    const x = ENGINE_IMAGES['1d'];
    const swishNoWgsl = { type: 'numerical', name: 'swish', fn: (u: number) => u / (1 + Math.exp(-u)), deriv: (u: number) => 1 / (1 + Math.exp(-u)) };
    const spec = { format: 'webntk-spec/1', normalize: 'none', layers: [{ type: 'conv' }, swishNoWgsl], readout: [{ type: 'gap' }] } as unknown as Spec;
    await expect(empiricalKernel(spec, x, null, { width: 4, backend: 'webgpu' })).rejects.toThrow(/swish \(numerical\) activation .* use backend "cpu"/);
    await expect(empiricalKernel('cntk:depth=2', x, null, { width: 0, backend: 'webgpu' })).rejects.toThrow(/width must be/);
    await expect(empiricalKernel('cntk:depth=2', [[1, 2, 3]], null, { width: 4, backend: 'webgpu' })).rejects.toThrow(/a conv spec needs images/);
    await expect(empiricalKernel({ ...ONE_PIXEL, normalize: 'diagonal' } as Spec, x, null, { width: 4, backend: 'webgpu' })).rejects.toThrow(/"diagonal" is defined for fully connected specs only/);
  });
});

describe('webntk empirical --backend webgpu on conv specs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webntk-gpu-empirical-conv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('images in .npy give the API’s numbers; --json says webgpu', async () => {
    const x = ENGINE_IMAGES['2d'];
    const f = join(dir, 'A.npy');
    writeFileSync(f, encodeNpy(Float64Array.from(x.data), x.shape));
    const out = join(dir, 'K-{kernel}.npy');
    const arch = 'cntk:depth=2,readout=gap';
    const r = await runCli('empirical', '--arch', arch, '--width', '6', '--seed', '4', '--x1', f, '--get', 'nngp,ntk', '--out', out, '--backend', 'webgpu', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ backend: 'webgpu', width: 6, seed: 4 });
    const api = await empiricalKernel(arch, x, null, { width: 6, seed: 4, get: ['nngp', 'ntk'], backend: 'webgpu' });
    expect(Array.from(parseNpy(readFileSync(join(dir, 'K-ntk.npy'))).data as Float64Array)).toEqual(Array.from(api.ntk!));
    expect(existsSync(join(dir, 'K-nngp.npy'))).toBe(true);
  });
});
