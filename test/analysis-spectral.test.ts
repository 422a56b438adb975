/**
 * Spectral decay on the circle and the sphere (CPU): closed-form Fourier / Legendre coefficients of
 * the arc-cosine kernels and the two-layer NTK, the k^(−d) decay of the FC NTK, the parity of the
 * ResNTK (Belfer et al.; reference values from seeds.md §3.6), non-negativity and input checks.
 */
import { describe, expect, it } from 'vitest';
import { InputError, type Spec } from '../src/index.js';
import { SPECTRAL_RELATIVE_NOISE, spectralDecay } from '../src/analysis/spectral.js';

const PI = Math.PI;

/*
 * Closed forms on S¹, θ ∈ [0, π], K(θ) = Σ a_k cos kθ with a_0 = (1/π)∫K, a_k = (2/π)∫K cos kθ.
 * Two integrals (k, m integers):
 *   J(m) = ∫_0^π (π − θ) cos mθ dθ = (1 − (−1)^m)/m² for m ≠ 0 (substitute u = π − θ and integrate
 *          u cos mu by parts), J(0) = π²/2;
 *   S(k) = ∫_0^π sin θ cos kθ dθ = ½∫[sin(k+1)θ − sin(k−1)θ] = (1 + (−1)^k)/(1 − k²) for k ≠ 1, S(1) = 0.
 * κ0 = (π − θ)/π:  a_k = J(k)·2/π² → a_0 = ½, a_k = 4/(π²k²) for odd k, 0 for even k ≥ 2.
 * κ1 = ((π − θ) cos θ + sin θ)/π, with (π−θ) cos θ cos kθ = ½(π−θ)[cos(k+1)θ + cos(k−1)θ]:
 *   a_k = (2/π²)[½(J(k+1) + J(k−1)) + S(k)]
 *   k even ≥ 2: (2/π²)[1/(k+1)² + 1/(k−1)² − 2/(k²−1)] = (2/π²)(1/(k−1) − 1/(k+1))² = 8/(π²(k²−1)²);
 *   k odd ≥ 3: J(k±1) = 0 = S(k), so a_k = 0;   a_1 = (2/π²)·½J(0) = ½;   a_0 = (1/π²)(J(1) + 2) = 4/π².
 *   (Check: Σ a_k = 4/π² + ½ + (8/π²)(π² − 8)/16 = 1 = κ1(1).)
 * cos θ·κ0: b_k = ½(g_(k−1) + g_(k+1)) from cos θ cos jθ = ½[cos(j+1)θ + cos(j−1)θ], with g the κ0
 *   coefficients: b_0 = g_1/2 = 2/π², b_1 = g_0 + g_2/2 = ½, b_k = (2/π²)(1/(k−1)² + 1/(k+1)²) for even
 *   k ≥ 2, 0 for odd k ≥ 3.
 * Two-layer NTK N = (κ1 + cos θ κ0)/2: n_0 = 3/π², n_1 = ½, n_k = 2(k² + 3)/(π²(k² − 1)²) for even
 *   k ≥ 2 (∼ 2/(π²k²): the k^(−2) = k^(−d) decay), 0 for odd k ≥ 3.
 */
const fourierKappa0 = (k: number) => (k === 0 ? 0.5 : k % 2 === 1 ? 4 / (PI * PI * k * k) : 0);
const fourierKappa1 = (k: number) => (k === 0 ? 4 / PI ** 2 : k === 1 ? 0.5 : k % 2 === 1 ? 0 : 8 / (PI ** 2 * (k * k - 1) ** 2));
const fourierNtk2 = (k: number) => (k === 0 ? 3 / PI ** 2 : k === 1 ? 0.5 : k % 2 === 1 ? 0 : (2 * (k * k + 3)) / (PI ** 2 * (k * k - 1) ** 2));

/*
 * Closed forms on S² (d = 3): λ_k = 2π ∫_{−1}^{1} f(t) P_k(t) dt with Legendre P_k. Write I_f(k) = ∫ f P_k.
 * κ0(t) = ½ + asin(t)/π. For k ≥ 1, with Q_k = ∫_{−1}^t P_k = (P_(k+1) − P_(k−1))/(2k + 1) (zero at ±1),
 *   ∫ κ0 P_k = −(1/π)∫ acos(t) P_k = −(1/π)∫ Q_k/√(1−t²) dt = −(1/(π(2k+1)))∫_0^π [P_(k+1) − P_(k−1)](cos θ) dθ,
 *   and ∫_0^π P_n(cos θ) dθ = π·p_n with p_n = (C(n, n/2)/2ⁿ)² for even n, 0 for odd n. So
 *   I_κ0(0) = 1, I_κ0(k) = (p_(k−1) − p_(k+1))/(2k + 1) for odd k, 0 for even k ≥ 2.
 * κ1' = κ0 (dκ1/dρ), so by parts I_κ1(k) = −∫ κ0 Q_k = −(I_κ0(k+1) − I_κ0(k−1))/(2k + 1) for k ≥ 1;
 *   I_κ1(0) = ∫_0^π κ1(cos θ) sin θ dθ = 3/4.
 * t·P_k = ((k+1)P_(k+1) + k P_(k−1))/(2k + 1) gives I_tκ0(k) = ((k+1) I_κ0(k+1) + k I_κ0(k−1))/(2k + 1).
 */
const pn: number[] = [1];
for (let n = 2; n <= 1100; n += 2) pn[n] = (pn[n - 2]! * (n - 1)) / n; // C(n, n/2)/2ⁿ
const p = (n: number) => pn[n]! ** 2;
const iK0 = (k: number) => (k === 0 ? 1 : k % 2 === 0 ? 0 : (p(k - 1) - p(k + 1)) / (2 * k + 1));
const iK1 = (k: number) => (k === 0 ? 0.75 : -(iK0(k + 1) - iK0(k - 1)) / (2 * k + 1));
const iTK0 = (k: number) => ((k + 1) * iK0(k + 1) + (k > 0 ? k * iK0(k - 1) : 0)) / (2 * k + 1);

/** NNGP = 2·½κ0 = κ0: one arc-cosine unit of order 0 between unit-variance dense layers. */
const kappa0Spec: Spec = { inputScale: 'none', layers: [{ type: 'dense' }, { type: 'arccos', order: 0 }, { type: 'dense', weightVar: 2 }] };

const maxAbsDiff = (a: readonly number[], f: (k: number) => number) => Math.max(...a.map((v, k) => Math.abs(v - f(k))));

describe('quadrature accuracy against closed forms', () => {
  it('S¹: Fourier coefficients of κ0, κ1 and the two-layer NTK to ~1e−15 up to k = 256', async () => {
    const k0 = await spectralDecay(kappa0Spec, { kind: 'nngp', kmax: 256 });
    const k1 = await spectralDecay('arora2019:depth=1', { kind: 'nngp', kmax: 256 });
    // arora2019 at depth 1: Θ = κ1 + cos θ·κ0 = 2N; belfer2021 at depth 1 is N itself (any α).
    const ntkA = await spectralDecay('arora2019:depth=1', { kmax: 256 });
    const ntkB = await spectralDecay('belfer2021:depth=1,alpha=1', { kmax: 256 });
    const errs = [
      maxAbsDiff(k0.coefficients, fourierKappa0),
      maxAbsDiff(k1.coefficients, fourierKappa1),
      maxAbsDiff(ntkA.coefficients, (k) => 2 * fourierNtk2(k)),
      maxAbsDiff(ntkB.coefficients, fourierNtk2),
    ];
    console.log(`S¹ closed-form errors (κ0, κ1, arora NTK, two-layer NTK), kmax 256: ${errs.map((e) => e.toExponential(1)).join(', ')}`);
    for (const e of errs) expect(e).toBeLessThan(5e-15);
    // The eigenvalue convention: λ_k = π a_k (k ≥ 1), λ_0 = 2π a_0; multiplicities 1, 2, 2, ….
    expect(ntkB.eigenvalues[0]).toBeCloseTo(2 * PI * fourierNtk2(0), 14);
    expect(ntkB.eigenvalues[2]).toBeCloseTo(PI * fourierNtk2(2), 14);
    expect(ntkB.multiplicities.slice(0, 4)).toEqual([1, 2, 2, 2]);
    expect(ntkB.k0).toBeCloseTo(1, 14);
  });

  it('S²: Legendre eigenvalues of κ0, κ1 and the arora2019 depth-1 NTK κ1 + tκ0 to ~1e−14', async () => {
    const k0 = await spectralDecay(kappa0Spec, { kind: 'nngp', kmax: 200, dim: 3 });
    const k1 = await spectralDecay('arora2019:depth=1', { kind: 'nngp', kmax: 200, dim: 3 });
    const ntk = await spectralDecay('arora2019:depth=1', { kmax: 200, dim: 3 });
    const errs = [
      maxAbsDiff(k0.eigenvalues, (k) => 2 * PI * iK0(k)),
      maxAbsDiff(k1.eigenvalues, (k) => 2 * PI * iK1(k)),
      maxAbsDiff(ntk.eigenvalues, (k) => 2 * PI * (iK1(k) + iTK0(k))),
    ];
    console.log(`S² closed-form eigenvalue errors (κ0, κ1, NTK), kmax 200: ${errs.map((e) => e.toExponential(1)).join(', ')}`);
    for (const e of errs) expect(e).toBeLessThan(5e-14);
    // c_k = N(3, k) λ_k / 4π with N(3, k) = 2k + 1.
    expect(ntk.multiplicities.slice(0, 4)).toEqual([1, 3, 5, 7]);
    expect(k1.coefficients[1]).toBeCloseTo((3 / (4 * PI)) * 2 * PI * (1 / 3), 14);
  });

  it('a deep kernel gives the same low degrees from a coarse and a fine rule (different node sets)', async () => {
    for (const arch of ['belfer2021:depth=50,gamma=0.5', 'arora2019:depth=8']) {
      const coarse = await spectralDecay(arch, { kmax: 16 });
      const fine = await spectralDecay(arch, { kmax: 400 });
      expect(coarse.quadrature.nodes).toBeLessThan(fine.quadrature.nodes / 3);
      for (let k = 0; k <= 16; k++) expect(Math.abs(coarse.eigenvalues[k]! - fine.eigenvalues[k]!)).toBeLessThan(1e-14 * coarse.k0);
    }
  });
});

describe('decay exponents', () => {
  it('FC NTK (arora2019, depth 3) on S¹ decays as k^(−2), both parities', async () => {
    const r = await spectralDecay('arora2019:depth=3', { kmax: 512, fitRange: [256, 512] });
    const def = await spectralDecay('arora2019:depth=3', { kmax: 64 });
    console.log(
      `arora2019:depth=3 S¹ exponents [256, 512]: even ${r.fits.even.fit!.exponent.toFixed(5)}, odd ${r.fits.odd.fit!.exponent.toFixed(5)}; ` +
        `default range [16, 64]: even ${def.fits.even.fit!.exponent.toFixed(4)}, odd ${def.fits.odd.fit!.exponent.toFixed(4)}`,
    );
    expect(Math.abs(r.fits.even.fit!.exponent + 2)).toBeLessThan(2e-4);
    expect(Math.abs(r.fits.odd.fit!.exponent + 2)).toBeLessThan(2e-4);
    expect(r.fits.even.stoppedAt).toBeNull();
    expect(r.fits.even.fit!.degrees).toHaveLength(129);
    expect(def.fits.even.fit!.degrees[0]).toBe(16);
    expect(Math.abs(def.fits.even.fit!.exponent + 2)).toBeLessThan(0.02);
  });

  it('FC NTK on S² decays as k^(−3) and on S³ as k^(−4) (k^(−d))', async () => {
    const s2 = await spectralDecay('arora2019:depth=3', { kmax: 512, dim: 3, fitRange: [256, 512] });
    const s3 = await spectralDecay('arora2019:depth=3', { kmax: 512, dim: 4, fitRange: [256, 512] });
    console.log(
      `arora2019:depth=3 exponents [256, 512]: S² even ${s2.fits.even.fit!.exponent.toFixed(4)} odd ${s2.fits.odd.fit!.exponent.toFixed(4)}; ` +
        `S³ even ${s3.fits.even.fit!.exponent.toFixed(4)} odd ${s3.fits.odd.fit!.exponent.toFixed(4)}`,
    );
    for (const f of [s2.fits.even, s2.fits.odd]) expect(Math.abs(f.fit!.exponent + 3)).toBeLessThan(0.01);
    for (const f of [s3.fits.even, s3.fits.odd]) expect(Math.abs(f.fit!.exponent + 4)).toBeLessThan(0.02);
  });

  it('the NNGP of one ReLU layer (κ1) decays as k^(−4) on S¹ (even degrees; 8/(π²k⁴))', async () => {
    const r = await spectralDecay('arora2019:depth=1', { kind: 'nngp', kmax: 256, fitRange: [128, 256] });
    expect(Math.abs(r.fits.even.fit!.exponent + 4)).toBeLessThan(1e-3);
    // Prefactor in λ_k = π a_k ≈ 8/(πk⁴).
    expect(r.fits.even.fit!.prefactor / (8 / PI)).toBeCloseTo(1, 2);
  });
});

describe('parity', () => {
  it('two-layer NTK: odd coefficients for k ≥ 3 are noise (zero in exact arithmetic) and are not fitted', async () => {
    for (const dim of [2, 3]) {
      const r = await spectralDecay('belfer2021:depth=1,alpha=1', { kmax: 128, dim });
      const floor = r.noiseFloor;
      // The floor: ω_(d−1)·1e−13·K(0) with K(0) = 1.
      expect(floor).toBeCloseTo((dim === 2 ? 2 * PI : 4 * PI) * SPECTRAL_RELATIVE_NOISE.cpu, 25);
      for (let k = 3; k <= 128; k += 2) {
        expect(r.status[k]).toBe('noise');
        expect(Math.abs(r.eigenvalues[k]!)).toBeLessThan(floor / 100); // measured ≤ 1.1e−15: the floor has > 100× margin
      }
      for (let k = 0; k <= 128; k += 2) expect(r.status[k]).toBe('signal');
      expect(r.fits.odd.fit).toBeNull();
      expect(r.fits.odd.stoppedAt!.degree).toBe(33);
      expect(r.fits.odd.stoppedAt!.reason).toMatch(/noise floor/);
      expect(r.parity.ratio32Resolved).toBe(false);
      expect(Math.abs(r.parity.ratio32!)).toBeLessThanOrEqual(r.parity.ratio32Bound!);
      expect(r.parity.oddEvenEnergy!).toBeLessThan(1e-13);
      expect(Math.abs(r.fits.even.fit!.exponent + dim)).toBeLessThan(0.03);
    }
  });

  it('ResNTK L = 10: a₃/a₂ = 0.0493 for α = 1/L and 0.2243 for α = L^(−½) (seeds.md: 0.049, 0.224)', async () => {
    const g1 = await spectralDecay('belfer2021:depth=10,gamma=1', { kmax: 32 });
    const gh = await spectralDecay('belfer2021:depth=10,gamma=0.5', { kmax: 32 });
    console.log(
      `a₃/a₂: γ = 1 ${g1.parity.ratio32!.toFixed(6)}, γ = ½ ${gh.parity.ratio32!.toFixed(6)}; ` +
        `odd/even energy on [2, 32]: ${g1.parity.oddEvenEnergy!.toFixed(4)}, ${gh.parity.oddEvenEnergy!.toFixed(4)}`,
    );
    expect(Math.abs(g1.parity.ratio32! - 0.049)).toBeLessThan(5e-4);
    expect(Math.abs(gh.parity.ratio32! - 0.224)).toBeLessThan(5e-4);
    expect(g1.parity.ratio32Resolved && gh.parity.ratio32Resolved).toBe(true);
    // a₃/a₂ on S¹ is the same ratio of eigenvalues or of coefficients.
    expect(g1.coefficients[3]! / g1.coefficients[2]!).toBeCloseTo(g1.parity.ratio32!, 14);
    // γ = ½ removes the imbalance: a larger odd share.
    expect(gh.parity.oddEvenEnergy!).toBeGreaterThan(2 * g1.parity.oddEvenEnergy!);
  });

  it('γ = 1: the odd share falls with depth towards the two-layer NTK (0); γ = ½ keeps it', async () => {
    const r1: number[] = [];
    const rh: number[] = [];
    for (const L of [10, 50, 200]) {
      r1.push((await spectralDecay(`belfer2021:depth=${L},gamma=1`, { kmax: 8 })).parity.ratio32!);
      rh.push((await spectralDecay(`belfer2021:depth=${L},gamma=0.5`, { kmax: 8 })).parity.ratio32!);
    }
    console.log(`a₃/a₂ at L = 10, 50, 200: γ = 1 ${r1.map((v) => v.toFixed(4)).join(', ')}; γ = ½ ${rh.map((v) => v.toFixed(4)).join(', ')}`);
    expect(r1[1]!).toBeLessThan(r1[0]!);
    expect(r1[2]!).toBeLessThan(r1[1]!);
    expect(r1[2]!).toBeLessThan(0.01);
    for (const v of rh) expect(v).toBeGreaterThan(0.2);
  });
});

describe('structure', () => {
  it('every eigenvalue is non-negative within the noise floor (the kernels are PSD on the sphere)', async () => {
    for (const arch of ['arora2019:depth=3', 'belfer2021:depth=10,gamma=1', 'belfer2021:depth=50,gamma=0.5', 'resnet:depth=10,alpha=1', 'densenet:depth=4']) {
      for (const kind of ['nngp', 'ntk'] as const) {
        for (const dim of [2, 3]) {
          const r = await spectralDecay(arch, { kind, dim, kmax: 64 });
          expect(r.nonNegative).toBe(true);
          for (const l of r.eigenvalues) expect(l).toBeGreaterThanOrEqual(-r.noiseFloor);
          for (const v of [...r.eigenvalues, ...r.coefficients, r.noiseFloor, r.k0]) expect(Number.isFinite(v)).toBe(true);
        }
      }
    }
  });

  it('the coefficients sum to K(0) = K(x, x) (f(1) = Σ c_k), up to the k^(−3) tail of an NNGP', async () => {
    const r = await spectralDecay('belfer2021:depth=10,gamma=0.5', { kind: 'nngp', kmax: 400 });
    const sum = r.coefficients.reduce((a, b) => a + b, 0);
    expect(r.k0).toBeCloseTo(1, 14);
    expect(Math.abs(sum - r.k0)).toBeLessThan(1e-4);
  });

  it('small kmax: no fits, no ratio, nothing NaN', async () => {
    const r = await spectralDecay('arora2019:depth=2', { kmax: 2 });
    expect(r.degrees).toEqual([0, 1, 2]);
    expect(r.parity.ratio32).toBeNull();
    expect(r.fits.even.fit).toBeNull();
    expect(r.fits.odd.fit).toBeNull();
    expect(r.parity.oddEvenEnergy).toBe(0);
  });

  it('rejects bad options with a message that names them', async () => {
    await expect(spectralDecay('mlp:depth=2', { kind: 'x' as never })).rejects.toThrow(/kind/);
    await expect(spectralDecay('mlp:depth=2', { dim: 1 })).rejects.toThrow(InputError);
    await expect(spectralDecay('mlp:depth=2', { dim: 2.5 })).rejects.toThrow(/dim/);
    await expect(spectralDecay('mlp:depth=2', { kmax: 0 })).rejects.toThrow(/kmax/);
    await expect(spectralDecay('mlp:depth=2', { kmax: 1e9 })).rejects.toThrow(/kmax/);
    await expect(spectralDecay('mlp:depth=2', { kmax: 8, fitRange: [4, 9] })).rejects.toThrow(/fitRange/);
    await expect(spectralDecay('mlp:depth=2', { kmax: 8, parityRange: [5, 3] })).rejects.toThrow(/parityRange/);
    await expect(spectralDecay('mlp:depth=2', { relativeNoise: -1 })).rejects.toThrow(/relativeNoise/);
    await expect(spectralDecay('mlp:depth=2', { backend: 'tpu' as never })).rejects.toThrow(/backend/);
  });
});
