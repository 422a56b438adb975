/**
 * Infinite-depth ResNet kernels (src/exec/limit.ts, src/solve/resntk-ode.ts, src/analysis/infinite.ts):
 * depth=inf for huang2020/belfer2021.
 * References: seeds.md §3.6 (the ODE values and the table of the normalised ResNTK at ρ = 0),
 * the finite-depth CPU reference at L = 10⁴ … 10⁵ (an independent computation: the layer
 * recursion, not the ODE), and closed forms (κ0, κ1; the diagonals 2La(1+a)^(L−1) → 2c·e^c).
 */
import { describe, expect, it } from 'vitest';
import { resntkDepthTable, twoLayerLimit } from '../src/analysis/infinite.js';
import { infiniteDepthKernel, infiniteDepthLimit, limitSpecs } from '../src/exec/limit.js';
import { resntkOde, resntkOdeTabulated, solveResntkOde } from '../src/solve/resntk-ode.js';
import { kernel, kernelBlocks, kernelCpu, program, toSpec } from '../src/api.js';
import { kappa0, kappa1 } from '../src/activations/rectifier-math.js';
import { InputError } from '../src/errors.js';
import { Rng } from '../src/mc/rng.js';

const unit = (rho: number) => [rho, Math.sqrt((1 - rho) * (1 + rho))];
const E1 = [[1, 0]];
const ODE = 'belfer2021:depth=inf,gamma=0.5';

function points(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

/** Eigenvalues of a symmetric matrix (cyclic Jacobi; small n only). */
function eigenvalues(a: Float64Array, n: number): number[] {
  const m = Float64Array.from(a);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (apq === 0) continue;
        const tau = (m[q * n + q]! - m[p * n + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p]!;
          const akq = m[k * n + q]!;
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k]!;
          const aqk = m[q * n + k]!;
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => m[i * n + i]!);
}

describe('γ = ½: the depth-time ODE', () => {
  // seeds.md §3.6: (GP correlation, normalised NTK) by ρ0, for c = alpha0² = 1. The NTK column is
  // the limit rounded (half a unit of its last digit). The GP column is the finite L = 10⁵ network
  // rounded (0.2538575 → 0.253858; checked in the next test), which lies up to 1.6e−6 below the limit
  // (0.2538591, confirmed there by Richardson extrapolation): 1.5 units of its last digit.
  const reference: [number, number, number][] = [
    [-1, -0.30581, -0.021807],
    [-0.5, -0.04389, 0.047345],
    [0, 0.253858, 0.192847],
    [0.5, 0.593229, 0.439907],
    [0.9, 0.908895, 0.78955],
  ];
  const unitOf = (v: number) => 10 ** -(String(Math.abs(v)).split('.')[1]?.length ?? 0);

  it('matches the reference values of seeds.md §3.6, solved directly and through kernelCpu', () => {
    const viaApi = kernelCpu(ODE, E1, reference.map(([r]) => unit(r)));
    reference.forEach(([r, gp, ntk], i) => {
      const s = resntkOde(r);
      expect(Math.abs(s.rho - gp), `GP at ρ0 = ${r}`).toBeLessThanOrEqual(1.5 * unitOf(gp));
      expect(Math.abs(s.ntk - ntk), `NTK at ρ0 = ${r}`).toBeLessThanOrEqual(0.5 * unitOf(ntk));
      expect(Math.abs(viaApi.nngp![i]! - s.rho)).toBeLessThan(1e-13);
      expect(Math.abs(viaApi.ntk![i]! - s.ntk)).toBeLessThan(1e-13);
    });
    expect(viaApi.depths).toEqual([Infinity]);
  });

  it('agrees with the finite network at L = 10⁵ to 6 digits, and with its 1/L extrapolation to 1e−9', () => {
    // The layer recursion is a first-order (Euler-type) discretisation of the ODE with step 1/L, so
    // K_L = K_∞ + C/L + O(1/L²): |C| ≲ 0.3 here, hence 5e−6 at L = 10⁵, and the Richardson value
    // 2K_(2L) − K_L removes the 1/L term (what remains is O(1/L²) ≈ 1e−10 · C').
    const rhos = [-1, -0.5, 0, 0.5, 0.9];
    const Z = rhos.map(unit);
    const deep = kernelCpu('belfer2021:depth=100000,gamma=0.5', E1, Z);
    const half = kernelCpu('belfer2021:depth=50000,gamma=0.5', E1, Z);
    const inf = kernelCpu(ODE, E1, Z);
    // seeds.md §3.6's GP column is this network's correlation, rounded.
    [-0.30581, -0.04389, 0.253858, 0.593229, 0.908895].forEach((gp, i) => {
      expect(Math.abs(deep.nngp![i]! - gp)).toBeLessThanOrEqual(gp === -0.30581 || gp === -0.04389 ? 5e-6 : 5e-7);
    });
    rhos.forEach((r, i) => {
      for (const k of ['nngp', 'ntk'] as const) {
        const lim = inf[k]![i]!;
        expect(Math.abs(deep[k]![i]! - lim), `${k} ρ0 = ${r}, L = 10⁵`).toBeLessThan(5e-6);
        expect(Math.abs(2 * deep[k]![i]! - half[k]![i]! - lim), `${k} ρ0 = ${r}, Richardson`).toBeLessThan(2e-9);
      }
    });
  });

  it('c = alpha0² ≠ 1: the generalised ODE is the limit of the finite network with α = alpha0/√L', () => {
    // resntkDepthTable builds belfer2021 with alpha0 = 1.5 at finite L; its limit column is the ODE.
    const t = resntkDepthTable({ depths: [20000, 40000], gammas: [0.5], alpha0: 1.5, rho: 0.3 });
    const row = t.rows[0]!;
    expect(row.regime).toBe('ode');
    expect(Math.abs(2 * row.values[1]! - row.values[0]! - row.limit!)).toBeLessThan(1e-9);
    // Unit diagonal: ρ stays 1 and T = 2ct·e^(ct), so the normalised kernels are exactly 1.
    const d = infiniteDepthKernel({ ...infiniteDepthLimit({ preset: 'belfer2021', gamma: 0.5, alpha0: 1.5 }) }, [[0.6, 0.8]], null, { diagonal: true });
    expect(d.nngp![0]).toBeCloseTo(1, 15);
    expect(d.ntk![0]).toBeCloseTo(1, 15);
  });

  it('the solver converges (6th order) and the Chebyshev table matches direct solves to 1e−13', () => {
    const rng = new Rng(7);
    const thetas = [0, 1e-9, 1e-4, Math.PI - 1e-9, Math.PI, ...Array.from({ length: 60 }, () => Math.PI * rng.uniform())];
    for (const c of [0.04, 1, 6.25]) {
      const tab = resntkOdeTabulated(thetas, c);
      expect(tab.tabulated).toBe(true);
      thetas.forEach((th, i) => {
        const fine = solveResntkOde(th, c, 8 * 48);
        const coarse = solveResntkOde(th, c);
        for (const [got, want] of [
          [coarse.rho, fine.rho],
          [coarse.ntk, fine.ntk],
          [tab.rho[i]!, fine.rho],
          [tab.ntk[i]!, fine.ntk],
        ] as const) {
          expect(Math.abs(got - want), `c = ${c}, θ0 = ${th}`).toBeLessThan(1e-13);
        }
      });
      // Nearly equal inputs: κ1 − ρ = θ³/(3π) + O(θ⁵) gives θ' = −cθ²/(3π), so θ(1) = θ0(1 − cθ0/(3π) + O(θ0²)).
      // Resolved to 5e−4 even where the change is 4e−11 of θ, which a scheme carrying ρ (1 − ρ ≈ 5e−17) could not.
      for (const th0 of [1e-6, 1e-8]) {
        for (const th1 of [solveResntkOde(th0, c).theta, resntkOdeTabulated([th0], c).theta[0]!]) {
          expect(((1 - th1 / th0) * 3 * Math.PI) / (c * th0), `c = ${c}, θ0 = ${th0}`).toBeCloseTo(1, 3);
        }
      }
    }
    // Halving the step divides the error by about 2⁶ (checked on the NTK at ρ0 = 0, c = 1).
    const ref = solveResntkOde(Math.PI / 2, 1, 1024).ntk;
    const e1 = Math.abs(solveResntkOde(Math.PI / 2, 1, 4).ntk - ref);
    const e2 = Math.abs(solveResntkOde(Math.PI / 2, 1, 8).ntk - ref);
    expect(e1 / e2).toBeGreaterThan(30);
  });

  it('huang2020 (unnormalised) is belfer2021 times e^c (NNGP) and 2c·e^c (NTK): the limits of (1+a)^L and 2La(1+a)^(L−1)', () => {
    const X = points(5, 3, 11);
    const raw = kernelCpu('huang2020:depth=inf,gamma=0.5', X);
    const norm = kernelCpu(ODE, X);
    for (let i = 0; i < 25; i++) {
      expect(raw.nngp![i]!).toBeCloseTo(Math.E * norm.nngp![i]!, 12);
      expect(raw.ntk![i]!).toBeCloseTo(2 * Math.E * norm.ntk![i]!, 12);
    }
    const d = kernelCpu('huang2020:depth=inf,gamma=0.5', E1, null, { diagonal: true });
    expect(d.nngp![0]).toBeCloseTo(Math.E, 14);
    expect(d.ntk![0]).toBeCloseTo(2 * Math.E, 14);
  });
});

describe('γ > ½: the two-layer limit', () => {
  it('the limit specs compute x·z and ½|x||z|(κ1(ρ) + ρκ0(ρ)) (closed forms from κ0, κ1)', () => {
    const X = points(6, 4, 3);
    const Z = points(5, 4, 4);
    const r = kernelCpu('belfer2021:depth=inf,gamma=0.75', X, Z);
    const norm = (v: number[]) => Math.hypot(...v);
    X.forEach((x, i) =>
      Z.forEach((z, j) => {
        const dot = x.reduce((s, v, k) => s + v * z[k]!, 0);
        const rho = dot / (norm(x) * norm(z));
        expect(r.nngp![i * 5 + j]!).toBeCloseTo(dot, 13);
        expect(r.ntk![i * 5 + j]!).toBeCloseTo(0.5 * norm(x) * norm(z) * (kappa1(rho) + rho * kappa0(rho)), 13);
      }),
    );
    expect(twoLayerLimit(0).ntk).toBeCloseTo(1 / (2 * Math.PI), 15);
    expect(limitSpecs(infiniteDepthLimit('belfer2021:depth=inf,gamma=1')).ntk.layers).toHaveLength(2);
  });

  it('belfer2021 at L = 10⁵ is within L·a = L^(1−2γ) of the limit, with the first-order NNGP term La(κ1(ρ0) − ρ0)', () => {
    // a = L^(−2γ): block l moves ρ by a(κ1(ρ) − ρ)/(1 + a) with 0 ≤ κ1(ρ) − ρ ≤ 1, so ρ_L − ρ0 =
    // La(κ1(ρ0) − ρ0) + O((La)²) ≤ La; the normalised NTK also moves by O(La) (measured ≤ 0.09·La).
    // The rate itself (×10 per decade for γ = 1, ×√10 for γ = 0.75) is checked on the table below.
    const rhos = [-0.9, -0.5, 0.5, 0.9];
    const Z = rhos.map(unit);
    for (const gamma of [1, 0.75]) {
      const L = 100000;
      const tol = L ** (1 - 2 * gamma);
      const deep = kernelCpu(`belfer2021:depth=${L},gamma=${gamma}`, E1, Z);
      const inf = kernelCpu(`belfer2021:depth=inf,gamma=${gamma}`, E1, Z);
      rhos.forEach((r, i) => {
        expect(Math.abs(inf.nngp![i]! - r)).toBeLessThan(1e-15);
        expect(Math.abs(inf.ntk![i]! - twoLayerLimit(r).ntk)).toBeLessThan(1e-15);
        expect(Math.abs(deep.nngp![i]! - r), `γ = ${gamma} NNGP ρ0 = ${r}`).toBeLessThan(tol);
        expect(Math.abs((deep.nngp![i]! - r) / tol - (kappa1(r) - r)), `γ = ${gamma} NNGP slope ρ0 = ${r}`).toBeLessThan(3 * tol);
        expect(Math.abs(deep.ntk![i]! - inf.ntk![i]!), `γ = ${gamma} NTK ρ0 = ${r}`).toBeLessThan(tol);
      });
    }
  });

  it('huang2020: the NNGP tends to x·z; asking for its NTK is an error that names belfer2021', () => {
    const X = points(4, 3, 5);
    const r = kernelCpu('huang2020:depth=inf,gamma=0.75', X, null, { get: 'nngp' });
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(r.nngp![i * 4 + j]!).toBeCloseTo(X[i]!.reduce((s, v, k) => s + v * X[j]![k]!, 0), 13);
    expect(() => kernelCpu('huang2020:depth=inf,gamma=0.75', X)).toThrow(/vanishes like 2·L\^\(1−2·gamma\).*belfer2021:depth=inf,gamma=0\.75/);
    expect(() => kernelCpu('huang2020:depth=inf,gamma=1', X, null, { get: 'ntk' })).toThrow(InputError);
  });
});

describe('structure', () => {
  for (const ref of [ODE, 'belfer2021:depth=inf,gamma=0.75', 'huang2020:depth=inf,gamma=0.5']) {
    it(`${ref}: homogeneous of degree 1 in each input`, () => {
      const x = [0.3, -1.2, 0.5];
      const z = [-0.7, 0.4, 1.1];
      const base = kernelCpu(ref, [x], [z]);
      const scaled = kernelCpu(ref, [x.map((v) => 2.5 * v)], [z.map((v) => 0.3 * v)]);
      for (const k of ['nngp', 'ntk'] as const) expect(scaled[k]![0]! / base[k]![0]!).toBeCloseTo(0.75, 13);
      const zero = kernelCpu(ref, [x], [[0, 0, 0]]);
      expect(zero.nngp![0]).toBe(0);
      expect(zero.ntk![0]).toBe(0);
    });

    it(`${ref}: the Gram matrix is exactly symmetric and positive semi-definite; its diagonal is |x|²·K(1)`, () => {
      const n = 10;
      const X = points(n, 3, 2);
      const r = kernelCpu(ref, X);
      const d = kernelCpu(ref, X, null, { diagonal: true });
      const lim = infiniteDepthLimit(ref);
      // K(x, x) for a unit x: 1 normalised; e^c and 2c·e^c raw (c = 1).
      const diag = lim.normalized ? { nngp: 1, ntk: 1 } : { nngp: Math.E, ntk: 2 * Math.E };
      for (const k of ['nngp', 'ntk'] as const) {
        const K = r[k]!;
        let trace = 0;
        for (let i = 0; i < n; i++) {
          const sq = X[i]!.reduce((s, v) => s + v * v, 0);
          expect(K[i * n + i]!).toBeCloseTo(sq * diag[k], 12);
          expect(d[k]![i]).toBe(K[i * n + i]);
          trace += K[i * n + i]!;
          for (let j = 0; j < i; j++) expect(K[i * n + j]).toBe(K[j * n + i]);
        }
        expect(Math.min(...eigenvalues(K, n)), k).toBeGreaterThan(-1e-12 * trace);
      }
    });
  }

  it('kernelBlocks on the CPU tiles the same matrix, and kernel() with "auto" computes γ = ½ on the CPU', async () => {
    const X = points(7, 3, 9);
    const full = kernelCpu(ODE, X);
    const got = new Float64Array(49);
    for await (const b of kernelBlocks(ODE, X, null, { blockRows: 3 })) {
      expect(b.backend).toBe('cpu');
      for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) got[(b.row0 + i) * 7 + b.col0 + j] = b.ntk![i * b.cols + j]!;
    }
    expect(got).toEqual(full.ntk);
    const auto = await kernel(ODE, X, null, { backend: 'auto' });
    expect(auto.backend).toBe('cpu');
    expect(auto.ntk).toEqual(full.ntk);
    expect(auto.limit?.regime).toBe('ode');
    expect(auto.spec).toBeUndefined(); // no finite spec represents the limit
    expect(auto.computed).toMatch(/^belfer2021:depth=inf,gamma=0\.5: .*ODE/);
  });
});

describe('the table of seeds.md §3.6', () => {
  it('normalised ResNTK at ρ = 0 over L = 10 … 10⁵ for γ = 1, 0.75, 0.5, 0.25, 0, and its limits', () => {
    const reference: Record<string, number[]> = {
      1: [0.16267, 0.15955, 0.15919, 0.15916, 0.15916],
      0.75: [0.16985, 0.16303, 0.16041, 0.15955, 0.15928],
      0.5: [0.18907, 0.19247, 0.19281, 0.19284, 0.19285],
      0.25: [0.22665, 0.27282, 0.27296, 0.26052, 0.25375],
      // The last entry: 30-digit mpmath (scripts/mp-belfer.py, test/presets.test.ts) 0.250057552406,
      // which seeds.md truncates to 0.25005.
      0: [0.26724, 0.27453, 0.25394, 0.25049, 0.250057552406],
    };
    const t = resntkDepthTable();
    expect(t.depths).toEqual([10, 100, 1000, 10000, 100000]);
    expect(t.rows.map((r) => r.gamma)).toEqual([1, 0.75, 0.5, 0.25, 0]);
    for (const row of t.rows) {
      row.values.forEach((v, i) => expect(Math.abs(v - reference[String(row.gamma)]![i]!), `γ = ${row.gamma}, L = ${t.depths[i]}`).toBeLessThan(5e-6));
    }
    const [g1, g75, g5, g25, g0] = t.rows;
    expect(g1!.limit).toBeCloseTo(1 / (2 * Math.PI), 15);
    expect(g75!.limit).toBeCloseTo(1 / (2 * Math.PI), 15);
    expect(Math.abs(g5!.limit! - 0.192847)).toBeLessThan(1e-6);
    expect([g25!.limit, g0!.limit, g25!.regime, g0!.regime]).toEqual([null, null, 'degenerate', 'degenerate']);
    // The rate L^(1−2γ): from L = 10⁴ to 10⁵ the gap to the limit shrinks 10× for γ = 1, √10× for γ = 0.75.
    const ratio = (r: typeof g1) => (r!.values[3]! - r!.limit!) / (r!.values[4]! - r!.limit!);
    expect(ratio(g1)).toBeGreaterThan(9);
    expect(ratio(g1)).toBeLessThan(11);
    expect(ratio(g75) / Math.sqrt(10)).toBeGreaterThan(0.9);
    expect(ratio(g75) / Math.sqrt(10)).toBeLessThan(1.1);
  });
});

describe('errors', () => {
  const X = [[1, 0], [0.6, 0.8]];
  it.each([
    ['γ < ½', 'belfer2021:depth=inf,gamma=0.25', /gamma = 0\.25 < 0\.5 has no infinite-depth limit.*1\/4 off it/],
    ['γ = 0', 'huang2020:depth=inf,gamma=0', /gamma = 0 < 0\.5/],
    ['constant α', 'belfer2021:depth=inf,alpha=1', /constant alpha = 1 has no infinite-depth limit.*degenerates like the MLP/],
    ['neither alpha nor gamma', 'belfer2021:depth=inf', /exactly one of alpha=<constant> or gamma=<exponent>/],
    ['an unknown parameter', 'belfer2021:depth=inf,gamma=0.5,beta=2', /unknown parameter "beta"/],
    ['another preset', 'arora2019:depth=inf', /depth=inf \(the infinite-depth limit\) is offered for huang2020 and belfer2021 only/],
    ['a ResNet preset without the limit', 'resnet:depth=inf,gamma=0.5', /offered for huang2020 and belfer2021 only/],
  ])('%s', (_, ref, message) => {
    expect(() => kernelCpu(ref, X)).toThrow(InputError);
    expect(() => kernelCpu(ref, X)).toThrow(message);
  });

  it('depths "all" has no meaning at depth=inf', async () => {
    expect(() => kernelCpu(ODE, X, null, { depths: 'all' })).toThrow(/depths "all" has no meaning at depth=inf/);
    await expect(kernel('belfer2021:depth=inf,gamma=0.75', X, null, { depths: 'all' })).rejects.toThrow(/depths "all"/);
  });

  it('backend "webgpu" at γ = ½ is refused (the ODE is CPU-only), before any adapter is looked for', async () => {
    await expect(kernel(ODE, X, null, { backend: 'webgpu' })).rejects.toThrow(/only the CPU computes.*use backend "cpu"/);
    const blocks = kernelBlocks(ODE, X, null, { backend: 'webgpu' });
    await expect(blocks.next()).rejects.toThrow(InputError);
  });

  it('toSpec, program and the finite-spec paths say why depth=inf has no spec', () => {
    for (const f of [() => toSpec(ODE), () => program('huang2020:depth=inf,gamma=0.75')]) {
      expect(f).toThrow(/depth=inf is the infinite-depth limit, which no finite spec represents: compute it with kernel\(\), kernelCpu\(\)/);
    }
    expect(() => limitSpecs(infiniteDepthLimit(ODE))).toThrow(/ODE/);
    expect(() => infiniteDepthLimit('belfer2021:depth=10,gamma=0.5')).toThrow(/not a depth=inf preset reference/);
    expect(() => infiniteDepthLimit({ preset: 'belfer2021', gamma: 0.5, alpha0: 0 })).toThrow(/alpha0 must be a finite non-zero number/);
    expect(() => resntkOde(1.5)).toThrow(InputError);
  });
});

describe('alpha0 in the preset references', () => {
  it('belfer2021:depth=inf,gamma=0.5,alpha0=1.5 is the ODE with c = 2.25, and the finite references take alpha0 too', () => {
    const x = [[1, 0], [0, 1]];
    const inf = kernelCpu('belfer2021:depth=inf,gamma=0.5,alpha0=1.5', x).ntk![1]!;
    expect(inf).toBeCloseTo(resntkOde(0, 2.25).ntk, 12);
    // The finite network with α = 1.5/√L approaches it like 1/L: Richardson from L = 2·10⁴ and 4·10⁴.
    const k = (L: number) => kernelCpu(`belfer2021:depth=${L},gamma=0.5,alpha0=1.5`, x).ntk![1]!;
    expect(Math.abs(2 * k(40000) - k(20000) - inf)).toBeLessThan(1e-8);
    expect(() => kernelCpu('belfer2021:depth=inf,alpha=1,alpha0=2', x)).toThrow(/alpha0 goes with gamma/);
  });
});
