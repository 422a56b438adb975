/**
 * Spectra and condition numbers (CPU): the dense eigen-solver against matrices of known spectrum
 * and against ml-matrix, double-constant closed forms (Barzilai et al. 2023), the deep-limit κ of
 * the arora2019 NTK, depth sweeps against separate runs, Lanczos against the dense spectrum, and
 * the errors the analyses refuse with.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { depthSweep } from '../src/analysis/depth.js';
import { conditionFromEigenvalues, conditioningVsDepth, doubleConstantCondition, gramSpectrum, leadingEigenvalues } from '../src/analysis/spectrum.js';
import { lanczos } from '../src/solve/lanczos.js';
import { symmetricEigenvalues } from '../src/solve/symmetric-eigen.js';
import { kernelCpu } from '../src/api.js';
import { InputError } from '../src/errors.js';
import { Rng, spherePoints } from '../src/mc/rng.js';


/** Q·diag(λ)·Qᵀ with Q a product of three random Householder reflections (exactly orthogonal up to rounding). */
function withSpectrum(lambda: readonly number[], seed: number): Float64Array {
  const n = lambda.length;
  const rng = new Rng(seed);
  let A = new Matrix(n, n);
  lambda.forEach((l, i) => A.set(i, i, l));
  for (let r = 0; r < 3; r++) {
    const v = Matrix.columnVector(Array.from({ length: n }, () => rng.normal()));
    const H = Matrix.eye(n).sub(v.mmul(v.transpose()).mul(2 / v.norm() ** 2));
    A = H.mmul(A).mmul(H);
  }
  return Float64Array.from(A.to1DArray());
}

const eye = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

describe('dense symmetric eigenvalues', () => {
  it('recovers a known spectrum (negative, repeated and clustered eigenvalues) to ~n·ε·max|λ|', () => {
    const lambda = [5, 3, 3, 3, 1e-3, 1e-3 + 1e-9, 0, -2, -2, 7.5, 0.25, 1, 2, 4, 6, 8, 10, -10, 0.5, 0.125];
    const e = symmetricEigenvalues(withSpectrum(lambda, 1), lambda.length);
    const want = [...lambda].sort((a, b) => b - a);
    e.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-13 * 10));
  });

  it('agrees with ml-matrix on random symmetric matrices, and Σλ = trace', () => {
    const rng = new Rng(7);
    for (const n of [1, 2, 3, 17, 120]) {
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          const v = rng.normal();
          A[i * n + j] = v;
          A[j * n + i] = v;
        }
      }
      const e = symmetricEigenvalues(A, n);
      const rows = Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, (i + 1) * n)));
      const ref = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true }).realEigenvalues.sort((a, b) => b - a);
      const scale = Math.max(...ref.map(Math.abs));
      e.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(n * 4e-16 * scale + 1e-300));
      for (let i = 1; i < n; i++) expect(e[i]!).toBeLessThanOrEqual(e[i - 1]!);
      let tr = 0;
      for (let i = 0; i < n; i++) tr += A[i * n + i]!;
      expect(Math.abs(e.reduce((a, b) => a + b, 0) - tr)).toBeLessThan(n * 1e-14 * scale);
    }
  });

  it('a double-constant matrix has κ = (1 + (n−1)b)/(1 − b)', () => {
    for (const [n, b] of [
      [25, 0.3],
      [40, 0.25],
      [7, 0.9],
      [10, -0.05],
    ] as const) {
      const A = new Float64Array(n * n).fill(b);
      for (let i = 0; i < n; i++) A[i * n + i] = 1;
      const e = symmetricEigenvalues(A, n);
      const c = conditionFromEigenvalues(e, n * 2.2e-16 * Math.abs(e[0]!));
      const closed = b >= 0 ? (1 + (n - 1) * b) / (1 - b) : (1 - b) / (1 + (n - 1) * b);
      expect(doubleConstantCondition(n, b)).toBeCloseTo(closed, 12);
      expect(Math.abs(c.condition / closed - 1)).toBeLessThan(1e-12);
    }
    expect(doubleConstantCondition(5, 1)).toBe(Infinity);
    expect(doubleConstantCondition(5, -0.25)).toBe(Infinity); // 1 + 4b = 0: singular
    expect(doubleConstantCondition(1, 0.7)).toBe(1);
    expect(() => doubleConstantCondition(0, 0.1)).toThrow(InputError);
  });
});

describe('gramSpectrum', () => {
  it('orthonormal inputs give an exactly double-constant normalised arora2019 NTK: κ matches the closed form with b from the depth sweep', async () => {
    // Every pair of distinct e_i, e_j has ρ = 0, so the normalised Gram is 1 on the diagonal and Θ_L(ρ=0)/(L+1) off it.
    const n = 12;
    const L = 10;
    const s = await gramSpectrum(`arora2019:depth=${L}`, eye(n), { kind: 'ntk', normalize: true });
    const b = (await depthSweep(`arora2019:depth=${L}`, 0)).ntkNormalized[L]!;
    expect(b).toBeCloseTo(0.316307, 6); // the reference value of test/analysis-depth.test.ts
    expect(Math.abs(s.ntk!.condition / doubleConstantCondition(n, b) - 1)).toBeLessThan(1e-12);
    expect(s.ntk!.lambdaMax).toBeCloseTo(1 + (n - 1) * b, 12);
    expect(s.ntk!.lambdaMin).toBeCloseTo(1 - b, 12);
    expect(s.ntk!.trace).toBe(n);
    expect(s.ntk!.resolved).toBe(true);
    expect(s.ntk!.warning).toBeUndefined();
    expect(s.nngp).toBeUndefined();
  });

  it('Σλ equals the trace of the unnormalised Gram, and normalising is the cosine of the raw Gram', async () => {
    const X = spherePoints(40, 6, 3).map((r, i) => r.map((v) => v * (1 + i / 40))); // varied norms
    const raw = await gramSpectrum('resnet:depth=6,alpha=0.5', X);
    for (const k of ['nngp', 'ntk'] as const) {
      const G = kernelCpu('resnet:depth=6,alpha=0.5', X, null, { get: k })[k]!;
      let tr = 0;
      for (let i = 0; i < 40; i++) tr += G[i * 40 + i]!;
      expect(raw[k]!.trace).toBeCloseTo(tr, 12);
      expect(Math.abs(raw[k]!.eigenvalues.reduce((a, b) => a + b, 0) - tr)).toBeLessThan(1e-12 * tr);
      const C = G.map((v, ij) => v / Math.sqrt(G[Math.floor(ij / 40) * 41]! * G[(ij % 40) * 41]!));
      const ref = symmetricEigenvalues(C, 40);
      const norm = await gramSpectrum('resnet:depth=6,alpha=0.5', X, { kind: k, normalize: true });
      norm[k]!.eigenvalues.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(1e-13 * ref[0]!));
      expect(norm[k]!.trace).toBe(40);
    }
  });

  it('deep limit (seeds.md §3.2): the normalised arora2019 NTK tends to b = 1/4 off the diagonal, so κ → (n+3)/3', async () => {
    const n = 20;
    const X = spherePoints(n, 10, 11);
    const Ls = [10, 100, 1000, 10000];
    const [res] = await conditioningVsDepth(['arora2019:depth=10000'], X, { kind: 'ntk', normalize: true, depths: Ls });
    // Independent check of the off-diagonal spread: δ = max |Θ_ij/(L+1) − 1/4| bounds every eigenvalue's
    // distance from the double-constant one by (n − 1)δ (Gershgorin / ‖·‖∞).
    const all = kernelCpu('arora2019:depth=10000', X, null, { get: 'ntk', depths: 'all' });
    const limit = (n + 3) / 3;
    const errs: number[] = [];
    Ls.forEach((L, c) => {
      const G = all.ntk!.subarray(L * n * n, (L + 1) * n * n);
      let delta = 0;
      for (let i = 0; i < n; i++) {
        expect(G[i * n + i]).toBeCloseTo(L + 1, 8);
        for (let j = 0; j < n; j++) if (i !== j) delta = Math.max(delta, Math.abs(G[i * n + j]! / (L + 1) - 0.25));
      }
      const lmax = res!.ntk!.lambdaMax[c]!;
      const lmin = res!.ntk!.lambdaMin[c]!;
      expect(Math.abs(lmax - (1 + (n - 1) / 4))).toBeLessThanOrEqual((n - 1) * delta + 1e-12);
      expect(Math.abs(lmin - 0.75)).toBeLessThanOrEqual((n - 1) * delta + 1e-12);
      errs.push(Math.abs(res!.ntk!.condition[c]! / limit - 1));
    });
    console.log(`arora2019 NTK, n = ${n}: κ at L = ${Ls.join(', ')}: ${res!.ntk!.condition.map((v) => v.toFixed(4)).join(', ')} (limit (n+3)/3 = ${limit.toFixed(4)})`);
    for (let i = 1; i < errs.length; i++) expect(errs[i]!).toBeLessThan(errs[i - 1]!);
    expect(errs[errs.length - 1]!).toBeLessThan(0.02);
  });

  it('reports a singular Gram honestly (duplicate inputs): κ is Infinity or unresolved, with a warning, never NaN', async () => {
    const X = spherePoints(10, 4, 5);
    X.push([...X[0]!]);
    const s = await gramSpectrum('arora2019:depth=3', X, { normalize: true });
    for (const k of ['nngp', 'ntk'] as const) {
      const r = s[k]!;
      expect(r.resolved).toBe(false);
      expect(r.warning).toMatch(/λmin/);
      expect(Number.isNaN(r.condition)).toBe(false);
      expect(r.lambdaMin).toBeLessThanOrEqual(r.resolution);
      if (r.lambdaMin <= 0) expect(r.condition).toBe(Infinity);
    }
  });

  it('refuses too many points (pointing to Lanczos), bad kinds and zero inputs under normalisation', async () => {
    const X = spherePoints(30, 3, 1);
    await expect(gramSpectrum('arora2019:depth=2', X, { maxN: 20 })).rejects.toThrow(/leadingEigenvalues/);
    await expect(gramSpectrum('arora2019:depth=2', X, { kind: 'foo' as never })).rejects.toThrow(InputError);
    await expect(gramSpectrum('arora2019:depth=2', [[0, 0, 0], [1, 0, 0]], { normalize: true })).rejects.toThrow(/unit diagonal/);
  });
});

describe('conditioningVsDepth', () => {
  const X = spherePoints(30, 5, 2);
  const archs = ['arora2019:depth=12', 'resnet:depth=12,alpha=1', 'densenet:depth=12'];

  it('depth t of one sweep equals gramSpectrum of the depth-t network, for several architectures at once', async () => {
    const res = await conditioningVsDepth(archs, X, { depths: [1, 4, 12], eigenvalues: true });
    expect(res.map((r) => r.arch)).toEqual(archs);
    for (const r of res) {
      expect(r.depths).toEqual([1, 4, 12]);
      for (const [c, t] of r.depths.entries()) {
        const sep = await gramSpectrum(r.arch.replace('depth=12', `depth=${t}`), X);
        for (const k of ['nngp', 'ntk'] as const) {
          const a = r[k]!.eigenvalues![c]!;
          const b = sep[k]!.eigenvalues;
          a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-12 * b[0]!));
          expect(r[k]!.condition[c]).toBeCloseTo(sep[k]!.condition, 6);
          expect(r[k]!.lambdaMax[c]).toBe(a[0]);
        }
      }
    }
  });

  it('every depth by default; guards memory and unknown depths', async () => {
    const [r] = await conditioningVsDepth(['arora2019:depth=5'], X, { kind: 'nngp' });
    expect(r!.depths).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r!.ntk).toBeUndefined();
    expect(r!.nngp!.condition).toHaveLength(6);
    await expect(conditioningVsDepth(['arora2019:depth=5'], X, { maxBytes: 30 * 30 * 8 * 5 })).rejects.toThrow(/choose fewer depths/);
    await expect(conditioningVsDepth(['arora2019:depth=5'], X, { depths: [7] })).rejects.toThrow(/not in the depth sweep/);
    await expect(conditioningVsDepth([], X)).rejects.toThrow(InputError);
  });
});

describe('Lanczos', () => {
  const dense = (K: Float64Array, n: number) => async (p: Float64Array, k: number) => {
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) out[i * k + c] = out[i * k + c]! + K[i * n + j]! * p[j * k + c]!;
    return out;
  };

  it('leading eigenvalues of a Gram equal the dense ones (CPU products), with small Ritz residuals', async () => {
    const n = 120;
    const X = spherePoints(n, 10, 4);
    const d = await gramSpectrum('resnet:depth=16,alpha=1', X, { kind: 'ntk', normalize: true });
    const l = await leadingEigenvalues('resnet:depth=16,alpha=1', X, { k: 6, kind: 'ntk', normalize: true });
    expect(l.converged).toBe(true);
    expect(l.product).toMatch(/float64/);
    const lmax = d.ntk!.lambdaMax;
    l.eigenvalues.forEach((v, i) => {
      expect(Math.abs(v - d.ntk!.eigenvalues[i]!)).toBeLessThan(Math.max(1e-9 * lmax, 2 * l.residuals[i]!));
      expect(l.residualBounds[i]).toBeLessThanOrEqual(1e-10 * l.eigenvalues[0]!);
      expect(l.residuals[i]).toBeLessThan(1e-9 * lmax);
    });
  });

  it('finds repeated eigenvalues (restarts after an invariant subspace) of a double-constant matrix', async () => {
    const n = 30;
    const b = 0.3;
    const K = new Float64Array(n * n).fill(b);
    for (let i = 0; i < n; i++) K[i * n + i] = 1;
    const r = await lanczos(n, dense(K, n), { k: 4 });
    const want = [1 + (n - 1) * b, 1 - b, 1 - b, 1 - b];
    r.eigenvalues.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
  });

  it('validates k', async () => {
    await expect(leadingEigenvalues('arora2019:depth=2', spherePoints(5, 3, 1), { k: 6 })).rejects.toThrow(/k must be/);
    await expect(lanczos(4, async (p) => p, { k: 0 })).rejects.toThrow(InputError);
  });
});
