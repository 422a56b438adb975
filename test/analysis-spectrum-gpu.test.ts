/**
 * Spectra and condition numbers on WebGPU: Grams from the f32 device pipeline against the float64
 * CPU reference, and Lanczos with f32 device products (GpuKernelMatrix) against the dense spectrum.
 *
 * Tolerances come from perturbation theory, with the perturbation measured, not guessed:
 * for symmetric G and G + E, Weyl's inequality gives |λ_i(G + E) − λ_i(G)| ≤ ‖E‖₂ ≤ ‖E‖_F, so
 *   |κ' / κ − 1| ≤ (e/λmin + e/λmax) / (1 − e/λmin),   e = ‖E‖_F,
 * plus the dense solver's own error (≈ n·ε·λmax each way). E is the GPU-minus-CPU difference of the
 * (normalised) Grams. We also check that E is at f32 level: ‖E‖_F ≤ 1e-6·‖G‖_F (u = 6e-8, measured ≤ 2.3e-7 here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditioningVsDepth, gramSpectrum, leadingEigenvalues } from '../src/analysis/spectrum.js';
import { kernel } from '../src/api.js';
import { spherePoints } from '../src/mc/rng.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);


function cosine(G: Float64Array, n: number): Float64Array {
  return G.map((v, ij) => v / Math.sqrt(G[Math.floor(ij / n) * (n + 1)]! * G[(ij % n) * (n + 1)]!));
}

const frob = (a: Float64Array, b?: Float64Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - (b ? b[i]! : 0)) ** 2, 0));

/** ‖E‖_F between the normalised GPU and CPU Grams, and ‖G‖_F. */
async function perturbation(arch: string, X: number[][], kind: 'nngp' | 'ntk') {
  const n = X.length;
  const c = cosine((await kernel(arch, X, null, { get: kind, backend: 'cpu' }))[kind]!, n);
  const g = cosine((await kernel(arch, X, null, { get: kind, backend: 'webgpu' }))[kind]!, n);
  return { e: frob(g, c), norm: frob(c) };
}

const EPS = 2 ** -52;
const U32 = 2 ** -24;

describe('GPU Gram spectra', () => {
  const n = 100;
  const X = spherePoints(n, 10, 42);

  for (const arch of ['arora2019:depth=32', 'resnet:depth=32,alpha=1']) {
    it(`${arch}: WebGPU and CPU spectra and κ agree within the Weyl bound of the measured Gram difference`, async () => {
      const cpu = await gramSpectrum(arch, X, { normalize: true, backend: 'cpu' });
      const gpu = await gramSpectrum(arch, X, { normalize: true, backend: 'webgpu' });
      expect(gpu.backend).toBe('webgpu');
      for (const kind of ['nngp', 'ntk'] as const) {
        const { e, norm } = await perturbation(arch, X, kind);
        expect(e).toBeLessThanOrEqual(1e-6 * norm);
        const a = cpu[kind]!;
        const b = gpu[kind]!;
        const slack = e + 2 * n * EPS * a.lambdaMax;
        b.eigenvalues.forEach((v, i) => expect(Math.abs(v - a.eigenvalues[i]!)).toBeLessThanOrEqual(slack));
        const bound = (slack / a.lambdaMin + slack / a.lambdaMax) / (1 - slack / a.lambdaMin);
        const rel = Math.abs(b.condition / a.condition - 1);
        console.log(`${arch} ${kind}: κ cpu ${a.condition.toPrecision(6)} gpu ${b.condition.toPrecision(6)}, |Δκ|/κ = ${rel.toExponential(2)} ≤ ${bound.toExponential(2)}; ‖E‖_F/‖G‖_F = ${(e / norm).toExponential(2)}`);
        expect(rel).toBeLessThanOrEqual(bound);
      }
    });
  }

  it('conditioningVsDepth on WebGPU matches the CPU sweep within the same bound', async () => {
    const arch = 'resnet:depth=32,alpha=1';
    const [cpu] = await conditioningVsDepth([arch], X, { normalize: true, depths: [8, 32], kind: 'ntk' });
    const [gpu] = await conditioningVsDepth([arch], X, { normalize: true, depths: [8, 32], kind: 'ntk', backend: 'webgpu' });
    expect(gpu!.backend).toBe('webgpu');
    for (const [c, t] of [8, 32].entries()) {
      const { e } = await perturbation(`resnet:depth=${t},alpha=1`, X, 'ntk');
      const lmin = cpu!.ntk!.lambdaMin[c]!;
      const lmax = cpu!.ntk!.lambdaMax[c]!;
      const slack = e + 2 * n * EPS * lmax;
      expect(Math.abs(gpu!.ntk!.lambdaMin[c]! - lmin)).toBeLessThanOrEqual(slack);
      expect(Math.abs(gpu!.ntk!.lambdaMax[c]! - lmax)).toBeLessThanOrEqual(slack);
      const bound = (slack / lmin + slack / lmax) / (1 - slack / lmin);
      expect(Math.abs(gpu!.ntk!.condition[c]! / cpu!.ntk!.condition[c]! - 1)).toBeLessThanOrEqual(bound);
    }
  });
});

describe('Lanczos with f32 GPU products', () => {
  it('leading eigenvalues match the dense float64 spectrum to f32 accuracy', async () => {
    const n = 200;
    const X = spherePoints(n, 10, 9);
    const arch = 'resnet:depth=16,alpha=1';
    const dense = await gramSpectrum(arch, X, { kind: 'ntk', normalize: true });
    const l = await leadingEigenvalues(arch, X, { k: 5, kind: 'ntk', normalize: true, backend: 'webgpu' });
    expect(l.backend).toBe('webgpu');
    expect(l.product).toMatch(/f32/);
    const { e } = await perturbation(arch, X, 'ntk');
    const lmax = dense.ntk!.lambdaMax;
    // Operator error: the Gram difference e, the f32 rounding of the uploaded entries and of the
    // length-n dot products (≤ (n+1)·u·‖|K|‖₂ = (n+1)·u·λmax for an entrywise non-negative K),
    // plus how far the Ritz pair is from an eigenpair of that operator (its residual).
    l.eigenvalues.forEach((v, i) => {
      const tol = e + (n + 1) * U32 * lmax + l.residuals[i]! + 1e-6 * lmax;
      const diff = Math.abs(v - dense.ntk!.eigenvalues[i]!);
      console.log(`λ_${i + 1}: dense ${dense.ntk!.eigenvalues[i]!.toPrecision(10)} Lanczos(GPU) ${v.toPrecision(10)} |Δ| = ${diff.toExponential(2)} (tol ${tol.toExponential(2)}, residual ${l.residuals[i]!.toExponential(2)})`);
      expect(diff).toBeLessThanOrEqual(tol);
      expect(l.residuals[i]!).toBeLessThan(1e-4 * lmax);
    });
  });
});
