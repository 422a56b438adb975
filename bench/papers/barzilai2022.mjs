// Barzilai, Geifman, Galun, Basri, "A Kernel Perspective of Skip Connections in Convolutional
// Networks" (arXiv 2211.14810). webntk has no convolutional layers, so the claims are checked in
// the fully connected setting the paper's analysis reduces to (q = 1, one pixel): condition numbers
// of normalised Gram matrices against depth, the double-constant limit, and the decay rate of the
// eigenvalues with and without skip connections.
import { conditioningVsDepth, doubleConstantCondition, gramSpectrum, spectralDecay } from '../../dist/index.js';
import { spherePoints } from '../../dist/mc/rng.js';
import { backend, check, fmt, release, saveFigure, saveResults } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`barzilai2022 (backend ${B})`);

// 100 random points of S^9 (seeded), as in seeds.md §3.2 (different random points, same recipe).
const n = 100;
const d = 10;
const X = spherePoints(n, d, 0);
const frozen = 'trainStem=false,trainReadout=false';
const depths = [1, 2, 4, 8, 16, 32, 64, 128];
// FC and constant-α ResNets: one depth sweep each gives every depth.
const sweeps = await conditioningVsDepth(['arora2019:depth=128', `resnet:depth=128,alpha=1,${frozen}`], X, { normalize: true, depths, backend: B });
// α = L^(−γ) changes with L, so those need one run per depth.
const perDepth = {};
for (const g of [0.5, 1]) {
  perDepth[g] = { nngp: [], ntk: [] };
  for (const L of depths) {
    const s = await gramSpectrum(`resnet:depth=${L},gamma=${g},${frozen}`, X, { normalize: true, backend: B });
    perDepth[g].nngp.push(s.nngp.condition);
    perDepth[g].ntk.push(s.ntk.condition);
  }
}
const cols = [
  ['FC (arora2019)', sweeps[0].nngp.condition, sweeps[0].ntk.condition],
  ['ResNet α = 1', sweeps[1].nngp.condition, sweeps[1].ntk.condition],
  ['ResNet α = L^−½', perDepth[0.5].nngp, perDepth[0.5].ntk],
  ['ResNet α = 1/L', perDepth[1].nngp, perDepth[1].ntk],
];
console.log('  condition numbers (unit-diagonal Grams, n = 100 on S⁹):');
console.log('  L | ' + cols.map((c) => `${c[0]} GP, NTK`).join(' | '));
depths.forEach((L, i) => console.log(`  ${L} | ` + cols.map((c) => `${fmt(c[1][i], 3)}, ${fmt(c[2][i], 3)}`).join(' | ')));
const iL = (L) => depths.indexOf(L);
const at3 = (c, k) => [8, 32, 128].map((L) => fmt(c[k][iL(L)], 3)).join(' / ');
check(
  claims,
  'skip connections give better-conditioned GP kernels (NNGP) at finite depth',
  `κ_GP at L = 8 / 32 / 128: ${cols.map((c) => `${c[0]} ${at3(c, 1)}`).join('; ')}. Better than FC for α = 1 and α = L^−½ from L = 8 on (worse at L ≤ 4); ` +
    'worse for α = 1/L, whose GP kernel tends to the linear kernel (rank ≤ d)',
  [1, 2].every((j) => [8, 32, 128].every((L) => cols[j][1][iL(L)] < cols[0][1][iL(L)])),
  'partly',
);
check(
  claims,
  'skip connections give better-conditioned NTKs at finite depth (the paper states it for conv ResNets; here in the fully connected case)',
  `κ_NTK at L = 8, 32, 128: FC ${[8, 32, 128].map((L) => fmt(cols[0][2][iL(L)], 3)).join(', ')}; ResNet α = 1 ${[8, 32, 128].map((L) => fmt(cols[1][2][iL(L)], 3)).join(', ')}`,
  cols[1][2][iL(32)] < cols[0][2][iL(32)],
  'not reproduced',
);
// The deep limit: a double-constant matrix with off-diagonal 1/4 for the NTK, for FC and fixed-α ResNets.
const limit = doubleConstantCondition(n, 0.25);
check(
  claims,
  `with fixed α, the normalised NTK tends to a double-constant matrix (off-diagonal 1/4) for FC and ResNets alike, κ → (n+3)/3 = ${fmt(limit, 4)}`,
  `κ_NTK at L = 128: FC ${fmt(cols[0][2][iL(128)], 4)}, ResNet α = 1 ${fmt(cols[1][2][iL(128)], 4)}; both decreasing towards the limit`,
  cols[0][2][iL(128)] > limit && cols[1][2][iL(128)] > limit && cols[0][2][iL(128)] < cols[0][2][iL(32)] && cols[1][2][iL(128)] < cols[1][2][iL(32)],
);
// Spectral decay with and without skips (on S¹ and S²).
const decay = [];
for (const [ref, label] of [
  ['arora2019:depth=8', 'FC depth 8'],
  [`resnet:depth=8,alpha=1,${frozen}`, 'ResNet depth 8, α = 1'],
]) {
  for (const dim of [2, 3]) {
    // f32 profiles resolve fewer degrees (noise floor ~1e−6·K(0)), so the GPU fits a lower range.
    const s = await spectralDecay(ref, { dim, kmax: B === 'cpu' ? 128 : 48, backend: B });
    decay.push({ label, dim, even: s.fits.even.fit?.exponent ?? null, odd: s.fits.odd.fit?.exponent ?? null, s });
  }
}
// The fit range is [kmax/4, kmax]: lower degrees on the GPU, where the local exponent on S² is still
// pre-asymptotic (−2.92 at k ≤ 48 in float64 as well).
const tolDecay = B === 'cpu' ? 0.05 : 0.1;
check(
  claims,
  'with ReLU, eigenvalues decay polynomially at the same rate with and without skip connections (k^−d on S^(d−1))',
  decay.map((r) => `${r.label} on S^${r.dim - 1}: ${fmt(r.even ?? NaN, 4)} (even), ${fmt(r.odd ?? NaN, 4)} (odd)`).join('; '),
  decay.every((r) => r.even !== null && r.odd !== null && Math.abs(r.even + r.dim) < tolDecay && Math.abs(r.odd + r.dim) < tolDecay),
  'partly', // the fully connected case only: webntk has no convolutional layers
);
check(claims, 'residual kernels are more locally biased (a weighted ensemble of CNNs emphasising nearby pixels)', 'not computed: needs convolutional kernels', false);

saveResults('barzilai2022', {
  backend: B,
  setup: { n, d, seed: 0, normalized: true, stemAndReadout: 'frozen' },
  depths,
  condition: Object.fromEntries(cols.map((c) => [c[0], { nngp: c[1], ntk: c[2] }])),
  decay: decay.map(({ s, ...r }) => r),
  claims,
});
await saveFigure('barzilai2022', 'conditioning', {
  title: 'Barzilai et al. (fully connected case): condition numbers of normalised Grams, n = 100 on S⁹',
  panels: [
    { title: 'NNGP (GP kernel)', x: { title: 'depth L', scale: 'log' }, y: { title: 'κ', scale: 'log' }, series: cols.map((c) => ({ name: c[0], x: depths, y: c[1], mark: 'line+points' })) },
    {
      title: 'NTK',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'κ', scale: 'log' },
      series: cols.map((c) => ({ name: c[0], x: depths, y: c[2], mark: 'line+points' })),
      rules: [{ y: limit, label: '(n+3)/3' }],
    },
  ],
});
await saveFigure('barzilai2022', 'decay', {
  title: 'Barzilai et al.: NTK eigenvalue decay with and without skips (depth 8)',
  panels: [2, 3].map((dim) => ({
    title: `S^${dim - 1}: λ_k against k`,
    x: { title: 'degree k', scale: 'log' },
    y: { title: 'λ_k', scale: 'log' },
    series: decay
      .filter((r) => r.dim === dim)
      .map((r) => ({ name: r.label, x: r.s.degrees.filter((k, i) => k >= 1 && r.s.status[i] === 'signal'), y: r.s.eigenvalues.filter((_, i) => i >= 1 && r.s.status[i] === 'signal') })),
  })),
});
await release();
