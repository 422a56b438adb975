/**
 * WebGPU against the float64 CPU reference: every preset, depths 1 … 10 000, inputs with
 * near-duplicates (1e−6 … 1e−3 rad), antipodes and norms over six orders of magnitude; and
 * constant-α ResNets to depth 3000 on parallel inputs of non-power-of-two norm ratios.
 * Error = max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)), for NNGP and NTK separately.
 * (There the CPU is within 1e−13 of 60-digit mpmath: test/reference-precision.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelCpu } from '../src/index.js';
import { CUSTOM } from './fixtures.js';
import { ACCURACY_DEPTHS, accuracyPresets, CONSTANT_ALPHA_CASES, toleranceAt } from './gpu/accuracy-cases.js';
import { accuracyInputs, normalisedError, parallelInputs, releaseGpuForTests, requireGpu } from './gpu/setup.js';

const X = accuracyInputs();
const n = X.length;

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

describe('WebGPU agrees with the float64 reference on every preset', () => {
  for (const L of ACCURACY_DEPTHS) {
    for (const ref of accuracyPresets(L)) {
      it(`${ref} (≤ ${toleranceAt(L)})`, async () => {
        const cpu = kernelCpu(ref, X);
        const gpu = await kernel(ref, X, null, { backend: 'webgpu' });
        expect(gpu.backend).toBe('webgpu');
        expect(normalisedError(cpu.nngp!, gpu.nngp!, n), 'NNGP').toBeLessThanOrEqual(toleranceAt(L));
        expect(normalisedError(cpu.ntk!, gpu.ntk!, n), 'NTK').toBeLessThanOrEqual(toleranceAt(L));
      });
    }
  }
});

describe('WebGPU agrees with the float64 reference on every layer type', () => {
  for (const [name, spec] of Object.entries(CUSTOM)) {
    it(name, async () => {
      const cpu = kernelCpu(spec, X);
      const gpu = await kernel(spec, X, null, { backend: 'webgpu' });
      expect(normalisedError(cpu.nngp!, gpu.nngp!, n), 'NNGP').toBeLessThanOrEqual(1e-5);
      expect(normalisedError(cpu.ntk!, gpu.ntk!, n), 'NTK').toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('WebGPU on deep constant-α ResNets and a deep LeakyReLU MLP, parallel inputs u, 10u, 0.1u, 100u, 2u (issue 14)', () => {
  const Y = [...parallelInputs(), ...accuracyInputs()];
  for (const { name, spec } of CONSTANT_ALPHA_CASES) {
    it(`${name} (≤ 1e-5)`, async () => {
      const cpu = kernelCpu(spec, Y);
      const gpu = await kernel(spec, Y, null, { backend: 'webgpu' });
      expect(normalisedError(cpu.nngp!, gpu.nngp!, Y.length), 'NNGP').toBeLessThanOrEqual(1e-5);
      expect(normalisedError(cpu.ntk!, gpu.ntk!, Y.length), 'NTK').toBeLessThanOrEqual(1e-5);
    });
  }
});

describe('erf layers, then ReLU, on the near-duplicates (issue 13: the erf gap form near u = v)', () => {
  // asin u·asin v − asin²√(uv) was a difference of O(1) products in f32: ~1e−7 of absolute error in
  // 1 − ρ', which the ReLU's θ = √(2(1 − ρ)) made 4.7e−5 in the NTK (shaders/kernel_ops.wgsl, op_erf).
  it('dense → (erf → dense) × 5 → ReLU → dense (≤ 1e−5)', async () => {
    const spec = {
      layers: [
        { type: 'dense' as const, weightVar: 3, biasVar: 0.1 },
        { type: 'repeat' as const, count: 5, layers: [{ type: 'erf' as const }, { type: 'dense' as const, weightVar: 3, biasVar: 0.1 }] },
        { type: 'relu' as const },
        { type: 'dense' as const, weightVar: 2 },
      ],
    };
    const cpu = kernelCpu(spec, X);
    const gpu = await kernel(spec, X, null, { backend: 'webgpu' });
    expect(normalisedError(cpu.nngp!, gpu.nngp!, n), 'NNGP').toBeLessThanOrEqual(1e-5);
    expect(normalisedError(cpu.ntk!, gpu.ntk!, n), 'NTK').toBeLessThanOrEqual(1e-5);
    console.log(`erf ×5 then ReLU on near-duplicates: NNGP ${normalisedError(cpu.nngp!, gpu.nngp!, n).toExponential(1)}, NTK ${normalisedError(cpu.ntk!, gpu.ntk!, n).toExponential(1)}`);
  });
});
