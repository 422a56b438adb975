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
