/**
 * Conv-kernel eigenvalues on the multi-circle (src/analysis/conv-spectral.ts) and the multi-sphere
 * sampler (src/analysis/multisphere.ts): the transform against coefficients known in closed form,
 * the conv kernels against the fully connected spectrum they reduce to, the exact identities
 * between readouts, a pilot value of wave2.md §1.5, and the sampler's moments.
 */
import { describe, expect, it } from 'vitest';
import {
  circleGridSignals,
  convCoefficients,
  convDecay,
  convLocality,
  degreeIndex,
  evenCosineTransform,
  harmonic,
  multispherePoints,
  spectralDecay,
} from '../src/index.js';

describe('evenCosineTransform', () => {
  it('gives the aliased Fourier coefficients of a product of Poisson kernels exactly', () => {
    // P_r(Δ) = (1 − r²)/(1 − 2r cos Δ + r²) = Σ_k r^|k| e^{ikΔ}; on an M-point grid the coefficient
    // at k is Σ_j r^|k + jM| = (r^k + r^(M−k))/(1 − r^M) for 0 ≤ k ≤ M.
    const M = 8;
    const rs = [0.3, 0.5, 0.7];
    const h = M / 2 + 1;
    const values = new Float64Array(h ** rs.length);
    for (let g = 0; g < values.length; g++) {
      let rest = g;
      let v = 1;
      for (const r of rs) {
        const m = rest % h;
        rest = (rest - m) / h;
        v *= (1 - r * r) / (1 - 2 * r * Math.cos((2 * Math.PI * m) / M) + r * r);
      }
      values[g] = v;
    }
    const lam = evenCosineTransform(values, rs.length, M);
    let worst = 0;
    for (let g = 0; g < lam.length; g++) {
      let rest = g;
      let want = 1;
      for (const r of rs) {
        const k = rest % h;
        rest = (rest - k) / h;
        want *= (r ** k + r ** (M - k)) / (1 - r ** M);
      }
      worst = Math.max(worst, Math.abs(lam[g]! - want));
    }
    expect(worst).toBeLessThan(1e-14);
  });

  it('indexes multi-degrees as the grid does, and refuses degrees off the grid', () => {
    expect(degreeIndex([1, 0, 2], 8)).toBe(1 + 2 * 25);
    expect(harmonic(6, [0, 3])).toEqual([1, 0, 0, 1, 0, 0]);
    expect(() => degreeIndex([5], 8)).toThrow(/outside 0 … 4/);
    const s = circleGridSignals(2, 8);
    expect(s.shape).toEqual([25, 2, 2]);
    // grid point 1 + 5·2: pixel 0 at angle 2π/8, pixel 1 at 2·2π/8; every pixel on the unit circle
    expect(s.data[11 * 4 + 0]).toBeCloseTo(Math.cos(Math.PI / 4), 15);
    expect(s.data[11 * 4 + 3]).toBeCloseTo(Math.sin(Math.PI / 2), 15);
    for (let g = 0; g < 25; g++) for (let i = 0; i < 2; i++) expect(Math.hypot(s.data[g * 4 + i]!, s.data[g * 4 + 2 + i]!)).toBeCloseTo(1, 15);
  });
});

describe('convCoefficients', () => {
  it('a CNN with filter 1 on one pixel has the Fourier coefficients of the equivalent MLP on the circle', async () => {
    // cntk with filter 1 is mlp:depth=3 applied to pixel 0 (conv σ² = 1, then [ReLU, conv σ² = 2], readout σ² = 2, all trained).
    const c = await convCoefficients('cntk:depth=3,filter=1,readout=eq,pad=circular', { pixels: 1, grid: 2048 });
    for (const kind of ['nngp', 'ntk'] as const) {
      const fc = await spectralDecay('mlp:depth=3', { kind, dim: 2, kmax: 16 });
      // λ (uniform measure, complex characters) = a_0 at k = 0 and a_k/2 beyond. The grid aliases
      // Σ_{j≠0} λ_{k+jM} into every degree: O(M^−2) for the k^−2 decay of a ReLU cusp, measured
      // 4.0e−6 at M = 512 and 2.5e−7 at M = 2048 (λ₀ = 0.77), the same at every k.
      for (let k = 0; k <= 16; k++) {
        const want = k === 0 ? fc.coefficients[0]! : fc.coefficients[k]! / 2;
        expect(Math.abs(c[kind]![0]![k]! - want), `${kind} k=${k}`).toBeLessThan(4e-7);
      }
    }
  });

  it('eq, flatten and gap readouts obey the exact identities (flatten = shift mean of eq; gap = flatten)', async () => {
    const P = 3;
    const M = 8;
    const eq = await convCoefficients('cntk:depth=2,readout=eq,pad=circular', { pixels: P, grid: M });
    const fl = await convCoefficients('cntk:depth=2,readout=flatten,pad=circular', { pixels: P, grid: M });
    const gap = await convCoefficients('cntk:depth=2,readout=gap,pad=circular', { pixels: P, grid: M });
    const h = M / 2 + 1;
    for (const kind of ['nngp', 'ntk'] as const) {
      const e = eq[kind]![0]!;
      const f = fl[kind]![0]!;
      for (let g = 0; g < h ** P; g++) {
        const k = [g % h, Math.floor(g / h) % h, Math.floor(g / h / h)];
        let mean = 0;
        for (let s = 0; s < P; s++) mean += e[degreeIndex(k.map((_, i) => k[(i + s) % P]!), M)]! / P;
        expect(Math.abs(f[g]! - mean)).toBeLessThan(1e-15);
        expect(Math.abs(gap[kind]![0]![g]! - f[g]!)).toBeLessThan(1e-15);
      }
    }
    // A filter-1 eq kernel reads pixel 0 only: every harmonic touching another pixel has eigenvalue 0.
    const one = await convCoefficients('cntk:depth=2,filter=1,readout=eq,pad=circular', { pixels: P, grid: M });
    expect(Math.abs(one.ntk![0]![degreeIndex([0, 1, 0], M)]!)).toBeLessThan(1e-16);
    expect(Math.abs(one.ntk![0]![degreeIndex([2, 0, 1], M)]!)).toBeLessThan(1e-16);
    expect(one.ntk![0]![degreeIndex([2, 0, 0], M)]!).toBeGreaterThan(1e-3);
  });

  it('refuses the specs whose eigenvalues the transform does not give, and bad grids', async () => {
    await expect(convCoefficients('cntk:depth=2,readout=gap,pad=zero')).rejects.toThrow(/zero padding/);
    await expect(convCoefficients('arora2019:depth=2')).rejects.toThrow(/fully connected/);
    await expect(convCoefficients('rescnn:depth=2,alpha=1', { grid: 7 })).rejects.toThrow(/even integer/);
    await expect(convCoefficients('rescnn:depth=2,alpha=1', { pixels: 12, grid: 32 })).rejects.toThrow(/kernel evaluations/);
    await expect(convCoefficients('rescnn:depth=2,alpha=1', { depths: [5] })).rejects.toThrow(/not in the depth sweep/);
  });
});

describe('convDecay and convLocality', () => {
  it('reproduce the pilot of wave2.md §1.5 (numpy): locality of CNN L = 2 on (S¹)⁶, grid 12⁶', async () => {
    const l = await convLocality('cntk:depth=3,readout=eq,pad=circular', { pixels: 6, grid: 12, depths: [3] });
    const ntk = l.points.find((p) => p.kind === 'ntk')!;
    const gp = l.points.find((p) => p.kind === 'nngp')!;
    expect([l.nearPixel, l.farPixel]).toEqual([0, 3]);
    expect(ntk.farNear).toBeCloseTo(0.288, 3);
    expect(ntk.pairRatio).toBeCloseTo(0.15, 3);
    expect(gp.farNear).toBeCloseTo(0.287, 3);
  });

  it('reports 0 beyond the receptive field, and octave exponents only where resolved', async () => {
    // cntk depth 1 on 6 pixels: the far pixel 3 is outside the 3-pixel patch.
    const l = await convLocality('cntk:depth=1,readout=eq,pad=circular', { pixels: 6, grid: 4 });
    expect(l.points.every((p) => p.farNear === 0 && p.pairRatio === 0)).toBe(true);
    const d = await convDecay('rescnn:depth=2,alpha=1', { pixels: 3, grid: 16 });
    expect(d.kmax).toBe(4);
    for (const c of d.curves) {
      expect(c.ratios).toHaveLength(4);
      expect(c.ratios.every((r) => r > 0 && r < 1)).toBe(true);
      expect(c.octaves.map((o) => [o.from, o.to])).toEqual([[1, 2], [2, 4]]);
      expect(c.octaves.every((o) => o.exponent !== null && o.exponent > 0)).toBe(true);
    }
  });
});

describe('multispherePoints', () => {
  it('draws unit pixels, uniform on S^(C−1) and independent across pixels (moments), reproducibly', () => {
    const n = 4000;
    const C = 3;
    const P = 2;
    const x = multispherePoints(n, C, P, 5);
    expect(x.shape).toEqual([n, C, P]);
    const d = x.data as Float64Array;
    const at = (s: number, c: number, i: number) => d[(s * C + c) * P + i]!;
    const se = 4 / Math.sqrt(n);
    for (let i = 0; i < P; i++) {
      for (let s = 0; s < n; s++) expect(Math.abs(Math.hypot(at(s, 0, i), at(s, 1, i), at(s, 2, i)) - 1)).toBeLessThan(1e-15);
      for (let c = 0; c < C; c++) {
        const m1 = Array.from({ length: n }, (_, s) => at(s, c, i)).reduce((a, b) => a + b, 0) / n;
        const m2 = Array.from({ length: n }, (_, s) => at(s, c, i) ** 2).reduce((a, b) => a + b, 0) / n;
        // uniform on S²: E x_c = 0, E x_c² = 1/3 (sd of x_c² is √(4/45) ≈ 0.3)
        expect(Math.abs(m1)).toBeLessThan(se * Math.sqrt(1 / 3));
        expect(Math.abs(m2 - 1 / C)).toBeLessThan(se * 0.3);
        // E x_c x_c' = 0
        const cross = Array.from({ length: n }, (_, s) => at(s, c, i) * at(s, (c + 1) % C, i)).reduce((a, b) => a + b, 0) / n;
        expect(Math.abs(cross)).toBeLessThan(se * 0.3);
      }
    }
    // independent pixels: t = x_0·x_1 has mean 0 and E t² = 1/C
    const t = Array.from({ length: n }, (_, s) => at(s, 0, 0) * at(s, 0, 1) + at(s, 1, 0) * at(s, 1, 1) + at(s, 2, 0) * at(s, 2, 1));
    expect(Math.abs(t.reduce((a, b) => a + b, 0) / n)).toBeLessThan(se * Math.sqrt(1 / 3));
    expect(Math.abs(t.reduce((a, b) => a + b * b, 0) / n - 1 / 3)).toBeLessThan(se * 0.3);
    expect(Array.from(multispherePoints(3, C, P, 5).data)).toEqual(Array.from(d.subarray(0, 3 * C * P)));
    expect(multispherePoints(3, C, P, 6).data[0]).not.toBe(d[0]);
    expect(() => multispherePoints(2, 1, 4)).toThrow(/C ≥ 2/);
    expect(() => multispherePoints(2, 3, 4, -1)).toThrow(/seed/);
  });
});
