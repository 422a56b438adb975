// Hayou, Doucet, Rousseau, "Exact Convergence Rates of the Neural Tangent Kernel in the Large Depth
// Limit" (arXiv 1905.13654) — and the same depth rates in Li, Luo, Yip (arXiv 2007.03714).
// Claims checked: on the edge of chaos (ReLU, σ_w² = 2, σ_b² = 0) the normalised NTK tends to a
// constant off the diagonal (1/4) at a polynomial rate ~ ln L / L, and 1 − ρ_L ~ 9π²/(2L²); off
// the edge of chaos (ordered phase) the convergence is exponential in L.
import { depthSweep, fitLine, fitPowerLaw } from '../../dist/index.js';
import { backend, check, fmt, release, saveFigure, saveResults, semilogSlope } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`hayou2019 (backend ${B})`);

// Edge of chaos: one sweep to L = 10^5 gives every depth.
const eoc = await depthSweep('arora2019:depth=100000', 0, { backend: B });
const at = (L) => eoc.depths.indexOf(L);
const table = [10, 100, 1000, 10000, 100000].map((L) => ({ L, ntkOverLplus1: eoc.ntk[at(L)] / (L + 1), gapTimesL2: eoc.nngpGap[at(L)] * L * L }));
const ref = [0.316307, 0.2724963, 0.2532905, 0.2504174];
check(
  claims,
  'Θ_L/(L+1) at ρ = 0 equals the reference values 0.3163070, 0.2724963, 0.2532905, 0.2504174 (L = 10 … 10⁴) and tends to 1/4',
  table.map((r) => `L=${r.L}: ${fmt(r.ntkOverLplus1, 7)}`).join(', '),
  ref.every((v, i) => Math.abs(table[i].ntkOverLplus1 - v) < (B === 'cpu' ? 5e-8 : 2e-6)) && Math.abs(table[4].ntkOverLplus1 - 0.25) < 1e-4,
);
// Rate: L·(Θ/(L+1) − 1/4) grows like (3/8) ln L; fit the slope against ln L over 10^3 … 10^5.
const Ls = [1000, 2000, 5000, 10000, 20000, 50000, 100000];
const slope = fitLine(Ls.map(Math.log), Ls.map((L) => L * (eoc.ntk[at(L)] / (L + 1) - 0.25))).slope;
check(claims, 'Θ_L/(L+1) − 1/4 ≈ (3/8)·ln L / L: slope of L·(Θ_L/(L+1) − 1/4) against ln L is 3/8', `slope ${fmt(slope, 4)} over L ∈ [10³, 10⁵]`, Math.abs(slope - 0.375) < 0.01);
// WebGPU returns f32 kernels, so 1 − ρ_L is only resolved while it is well above 1e−7 (L ≲ 10³).
const gapLs = B === 'cpu' ? Ls : [100, 200, 500, 1000];
const gapFit = fitPowerLaw(gapLs, gapLs.map((L) => eoc.nngpGap[at(L)]));
check(
  claims,
  '1 − ρ_L ~ 9π²/(2L²) (= 44.413/L²)',
  `L²(1 − ρ_L) = ${table.slice(2).map((r) => fmt(r.gapTimesL2, 5)).join(', ')} at L = 10³, 10⁴, 10⁵; fitted exponent ${fmt(gapFit.exponent, 4)} over L ∈ [${gapLs[0]}, ${gapLs.at(-1)}]`,
  B === 'cpu' ? Math.abs(table[4].gapTimesL2 / 44.4132 - 1) < 1e-3 && Math.abs(gapFit.exponent + 2) < 0.01 : Math.abs(table[2].gapTimesL2 / 44.4132 - 1) < 0.03 && Math.abs(gapFit.exponent + 2) < 0.1, // the local exponent over [100, 1000] is −1.92 in float64 too (pre-asymptotic)
);

// Ordered phase (σ_w² < 2 with a bias) against the edge of chaos: successive changes of the
// normalised NTK, |r_{L+1} − r_L|, fall exponentially (a straight line on semi-log axes) vs like a power.
const ordered = [
  ['hayou2019:depth=200,sigmaW2=1.5,sigmaB2=0.5', 'ordered σ_w² = 1.5, σ_b² = 0.5'],
  ['hayou2019:depth=200,sigmaW2=1,sigmaB2=0.1', 'ordered σ_w² = 1, σ_b² = 0.1'],
  ['hayou2019:depth=200', 'edge of chaos σ_w² = 2, σ_b² = 0'],
];
const phases = [];
for (const [ref, label] of ordered) {
  const s = await depthSweep(ref, 0, { backend: B });
  const diffs = s.ntkNormalized.slice(1).map((v, i) => Math.abs(v - s.ntkNormalized[i]));
  // Exponential rate: least-squares slope of ln|Δ| against L over depths 10 … 60 (above the float64 floor).
  const pts = diffs.map((d, i) => [s.depths[i + 1], d]).filter(([L, d]) => L >= 10 && L <= 60 && d > 1e-13);
  const rate = semilogSlope(pts.map((p) => p[0]), pts.map((p) => p[1]));
  phases.push({ ref, label, depths: s.depths.slice(1), diffs, expRate: rate, limit: s.ntkNormalized.at(-1) });
}
check(
  claims,
  'off the edge of chaos (ordered phase) the normalised NTK converges exponentially in depth; on it, polynomially',
  phases.map((p) => `${p.label}: ln|Δr_L| slope ${fmt(p.expRate, 3)} per layer (L = 10 … 60)`).join('; '),
  phases[0].expRate < -0.05 && phases[1].expRate < -0.05 && Math.abs(phases[2].expRate) < 0.05,
);

saveResults('hayou2019', { backend: B, edgeOfChaosTable: table, rateSlope: slope, gapFit, phases: phases.map(({ diffs, depths, ...p }) => p), claims });
await saveFigure('hayou2019', 'depth', {
  title: 'Hayou et al.: the NTK in the large-depth limit (ρ = 0)',
  panels: [
    {
      title: 'Θ_L/(L+1) on the edge of chaos (arora2019)',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'Θ_L(x,z)/(L+1)' },
      series: [
        { name: 'webntk', x: eoc.depths.slice(1), y: eoc.ntk.slice(1).map((v, i) => v / (i + 2)) },
        { name: '1/4 + (3/8)·ln L/L', x: eoc.depths.slice(10), y: eoc.depths.slice(10).map((L) => 0.25 + (0.375 * Math.log(L)) / L) },
      ],
      rules: [{ y: 0.25, label: '1/4' }],
    },
    {
      title: '|r_{L+1} − r_L| of the normalised NTK r_L',
      x: { title: 'depth L' },
      y: { title: '|Δ r_L|', scale: 'log' },
      series: phases.map((p) => ({ name: p.label, x: p.depths.slice(0, -1), y: p.diffs.slice(1) })),
    },
  ],
});
await release();
