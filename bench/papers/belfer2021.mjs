// Belfer, Geifman, Galun, Basri, "Spectral Analysis of the Neural Tangent Kernel for Deep Residual
// Networks" (arXiv 2104.03093). Claims checked: on the sphere the ResNTK's eigenvalues decay like
// k^−d (as the FC NTK's and the Laplace kernel's, so the same RKHS); with α = L^−γ, γ ∈ (½, 1], the
// normalised ResNTK converges uniformly to the two-layer NTK as L → ∞, γ = ½ gives another
// non-degenerate limit, γ < ½ (and constant α) becomes spiky with depth; without bias, γ ∈ (½, 1]
// leaves a parity imbalance (odd k ≥ 3 eigenvalues much smaller than even ones) that γ = ½ removes.
// Parametrisation: webntk's belfer2021 (= huang2020 normalised by 2La(1+a)^(L−1), a = α²).
import { cuspSlope, fitPowerLaw, kernelProfile, resntkDepthTableOn, spectralDecay, twoLayerLimit } from '../../dist/index.js';
import { backend, check, fmt, release, saveFigure, saveResults } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`belfer2021 (backend ${B})`);

// 1. Eigenvalue decay on S¹ and S² (ResNTK at depth 10 for several γ, the FC NTK for comparison).
const decays = [];
for (const [ref, label] of [
  ['belfer2021:depth=10,gamma=1', 'ResNTK L = 10, γ = 1'],
  ['belfer2021:depth=10,gamma=0.5', 'ResNTK L = 10, γ = ½'],
  ['belfer2021:depth=10,alpha=1', 'ResNTK L = 10, α = 1'],
  ['arora2019:depth=10', 'FC NTK L = 10'],
]) {
  for (const dim of [2, 3]) {
    const s = await spectralDecay(ref, { dim, kmax: B === 'cpu' ? 128 : 48, backend: B });
    decays.push({ ref, label, dim, even: s.fits.even.fit?.exponent ?? null, odd: s.fits.odd.fit?.exponent ?? null, ratio32: s.parity.ratio32, s });
  }
}
const tolDecay = B === 'cpu' ? 0.06 : 0.12; // fit range [kmax/4, kmax]: lower (pre-asymptotic) degrees on the GPU
check(
  claims,
  'ResNTK eigenvalues decay like k^−d on S^(d−1) (d = 2, 3), as the FC NTK’s',
  decays.map((r) => `${r.label} on S^${r.dim - 1}: ${fmt(r.even ?? NaN, 4)} / ${fmt(r.odd ?? NaN, 4)} (even / odd)`).join('; '),
  decays.every((r) => r.even !== null && r.odd !== null && Math.abs(r.even + r.dim) < tolDecay && Math.abs(r.odd + r.dim) < tolDecay),
);

// 2. Uniform convergence to the two-layer NTK (γ > ½) and to the ODE limit (γ = ½): sup over ρ0.
const rhos = Array.from({ length: 81 }, (_, i) => -1 + i / 40);
// belfer2021 is 1 on the unit diagonal, so its profile values are the normalised NTK.
const ntkOf = async (arch, be = B) => (await kernelProfile(arch, { angles: rhos.map(Math.acos), backend: be })).values;
const twoLayer = rhos.map((r) => twoLayerLimit(r).ntk);
const odeLimit = await ntkOf('belfer2021:depth=inf,gamma=0.5', 'cpu');
const supDepths = [10, 100, 1000, 10000];
const sup = { 1: [], 0.75: [], 0.5: [] };
for (const g of [1, 0.75, 0.5]) {
  for (const L of supDepths) {
    const v = await ntkOf(`belfer2021:depth=${L},gamma=${g}`);
    const lim = g === 0.5 ? odeLimit : twoLayer;
    sup[g].push(Math.max(...v.map((u, i) => Math.abs(u - lim[i]))));
  }
  console.log(`  γ = ${g}: sup over ρ0 of |ResNTK − limit|: ` + supDepths.map((L, i) => `${fmt(sup[g][i], 3)} (L=${L})`).join(', '));
}
// The uniform rate: a power law in L fitted over L = 100 … 10⁴ (pointwise the rate is L^(1−2γ); the
// sup sits near ρ0 = 1, where the convergence is slower).
const supRate = { 1: fitPowerLaw(supDepths.slice(1), sup[1].slice(1)).exponent, 0.75: fitPowerLaw(supDepths.slice(1), sup[0.75].slice(1)).exponent };
check(
  claims,
  'γ ∈ (½, 1]: the normalised ResNTK converges uniformly to the two-layer NTK (κ1 + ρκ0)/2 as L → ∞',
  `sup |Θ_L − limit| at L = 10, 10⁴: γ = 1: ${fmt(sup[1][0], 3)} → ${fmt(sup[1][3], 3)} (≈ L^${fmt(supRate[1], 3)}); γ = 0.75: ${fmt(sup[0.75][0], 3)} → ${fmt(sup[0.75][3], 3)} (≈ L^${fmt(supRate[0.75], 3)})`,
  [1, 0.75].every((g) => sup[g].every((v, i) => i === 0 || v < sup[g][i - 1]) && supRate[g] < -0.15),
);
check(
  claims,
  'γ = ½: a different non-degenerate limit (webntk: a depth-time ODE), reached uniformly',
  `sup |Θ_L − ODE limit| at L = 10 … 10⁴: ${sup[0.5].map((v) => fmt(v, 3)).join(', ')}; limit at ρ0 = 0: ${fmt(odeLimit[40], 7)} vs two-layer ${fmt(twoLayer[40], 7)}`,
  sup[0.5][3] < 1e-3 && Math.abs(odeLimit[40] - twoLayer[40]) > 0.03,
);

// 3. Spikiness: the cusp slope −K'(0⁺)/K(0) against depth (grows without bound for γ < ½ and constant α).
const cuspDepths = [10, 100, 1000, 10000];
const cusps = {};
for (const [label, f] of [
  ['γ = 1', (L) => `belfer2021:depth=${L},gamma=1`],
  ['γ = ½', (L) => `belfer2021:depth=${L},gamma=0.5`],
  ['γ = 0.25', (L) => `belfer2021:depth=${L},gamma=0.25`],
  ['α = 1', (L) => `belfer2021:depth=${L},alpha=1`],
]) {
  cusps[label] = [];
  for (const L of cuspDepths) cusps[label].push(await cuspSlope(f(L), { backend: B }));
  console.log(`  cusp slope, ${label}: ` + cuspDepths.map((L, i) => `${fmt(cusps[label][i], 4)} (L=${L})`).join(', '));
}
check(
  claims,
  'γ < ½ and constant α: the kernel becomes spiky with depth (cusp slope grows without bound); γ ≥ ½: it keeps a stable shape',
  `cusp slope L = 10 → 10⁴: γ = 1: ${fmt(cusps['γ = 1'][0], 3)} → ${fmt(cusps['γ = 1'][3], 3)}; γ = ½: ${fmt(cusps['γ = ½'][0], 3)} → ${fmt(cusps['γ = ½'][3], 3)}; γ = 0.25: ${fmt(cusps['γ = 0.25'][0], 3)} → ${fmt(cusps['γ = 0.25'][3], 3)}; α = 1: ${fmt(cusps['α = 1'][0], 3)} → ${fmt(cusps['α = 1'][3], 3)}`,
  cusps['α = 1'][3] > 10 * cusps['α = 1'][0] && cusps['γ = 0.25'][3] > 3 * cusps['γ = 0.25'][0] && cusps['γ = 1'][3] < 1.5 * cusps['γ = 1'][0] && cusps['γ = ½'][3] < 1.5 * cusps['γ = ½'][0],
);

// 4. Parity on S¹: a₃/a₂ (0 for the two-layer NTK) for γ = 1 and γ = ½ at L = 10 and 50 (their experiment: depth 50, α = 1/50).
const parity = [];
for (const L of [10, 50]) {
  for (const g of [1, 0.5]) {
    const s = await spectralDecay(`belfer2021:depth=${L},gamma=${g}`, { kmax: 32, backend: B });
    parity.push({ L, gamma: g, ratio32: s.parity.ratio32, oddEven: s.parity.oddEvenEnergy });
  }
}
const two = await spectralDecay('belfer2021:depth=1,alpha=1', { kmax: 32, backend: B });
const pr = (L, g) => parity.find((p) => p.L === L && p.gamma === g).ratio32;
check(
  claims,
  'without bias, γ ∈ (½, 1] leaves a parity imbalance (odd k ≥ 3 eigenvalues much smaller), which γ = ½ removes (seeds.md: a₃/a₂ = 0.049 vs 0.224 at L = 10)',
  `a₃/a₂: two-layer NTK ${two.parity.ratio32Resolved ? fmt(two.parity.ratio32, 3) : `0 (≤ ${fmt(two.parity.ratio32Bound, 2)})`}; L = 10: γ = 1 ${fmt(pr(10, 1), 4)}, γ = ½ ${fmt(pr(10, 0.5), 4)}; L = 50: γ = 1 ${fmt(pr(50, 1), 4)}, γ = ½ ${fmt(pr(50, 0.5), 4)}`,
  Math.abs(pr(10, 1) - 0.049) < 0.001 && Math.abs(pr(10, 0.5) - 0.224) < 0.001 && pr(50, 1) < 0.1 * pr(50, 0.5) && !two.parity.ratio32Resolved,
);

const table = await resntkDepthTableOn(B);
saveResults('belfer2021', { backend: B, decay: decays.map(({ s, ...r }) => r), sup: { depths: supDepths, ...sup, rates: supRate }, cusps: { depths: cuspDepths, ...cusps }, parity, depthTable: table, claims });
const lastDecay = (ref, dim) => decays.find((r) => r.ref === ref && r.dim === dim).s;
await saveFigure('belfer2021', 'spectrum', {
  title: 'Belfer et al.: ResNTK spectra on the circle and limits in depth',
  panels: [
    {
      title: 'S¹: Fourier eigenvalues λ_k (depth 10)',
      x: { title: 'degree k', scale: 'log' },
      y: { title: 'λ_k', scale: 'log' },
      series: ['belfer2021:depth=10,gamma=1', 'belfer2021:depth=10,gamma=0.5', 'arora2019:depth=10'].flatMap((ref) => {
        const s = lastDecay(ref, 2);
        return ['even', 'odd'].map((par) => {
          const ks = s.degrees.filter((k, i) => k >= 1 && k % 2 === (par === 'even' ? 0 : 1) && s.status[i] === 'signal');
          return { name: `${ref.replace('belfer2021:depth=10,', 'ResNTK ').replace('arora2019:depth=10', 'FC NTK')} (${par})`, x: ks, y: ks.map((k) => s.eigenvalues[k]), mark: 'line+points' };
        });
      }),
    },
    {
      title: 'sup over ρ0 of |ResNTK_L − its depth = ∞ limit|',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'sup error', scale: 'log' },
      series: [1, 0.75, 0.5].map((g) => ({ name: `γ = ${g}`, x: supDepths, y: sup[g], mark: 'line+points' })),
    },
    {
      title: 'cusp slope −K′(0⁺)/K(0) against depth',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'cusp slope', scale: 'log' },
      series: Object.entries(cusps).map(([label, v]) => ({ name: label, x: cuspDepths, y: v, mark: 'line+points' })),
    },
    {
      title: 'limit profiles: two-layer NTK (γ > ½) and the γ = ½ ODE',
      x: { title: 'ρ0' },
      y: { title: 'normalised NTK' },
      series: [
        { name: 'two-layer NTK', x: rhos, y: twoLayer },
        { name: 'γ = ½ ODE limit', x: rhos, y: odeLimit },
      ],
    },
  ],
});
await release();
