// Barzilai, Geifman, Galun, Basri, "A Kernel Perspective of Skip Connections in Convolutional
// Networks" (arXiv 2211.14810). The claims are checked twice: with the convolutional kernels of the
// paper's setting (cntk against rescnn on 1-D signals on the multi-sphere, circular padding, Eq and
// GAP readouts; wave2.md §1.5 has the pilot tables these recompute), and, as before, in the fully
// connected case the analysis reduces to (filter 1, one pixel).
//
// Depths: the pilot's CNN "L" is a stem conv and L more [ReLU, conv] layers, i.e. cntk:depth=L+1
// (L + 1 conv layers and ReLUs); its ResCNN "L" is rescnn:depth=L (L blocks). Both have L ReLUs
// between the stem and the last conv, which is what "matching depth" means here.
import { conditioningVsDepth, convDecay, convLocality, doubleConstantCondition, gramSpectrum, multispherePoints, spectralDecay } from '../../dist/index.js';
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
  'fully connected case: skip connections give better-conditioned GP kernels (NNGP) at finite depth',
  `κ_GP at L = 8 / 32 / 128: ${cols.map((c) => `${c[0]} ${at3(c, 1)}`).join('; ')}. Better than FC for α = 1 and α = L^−½ from L = 8 on (worse at L ≤ 4); ` +
    'worse for α = 1/L, whose GP kernel tends to the linear kernel (rank ≤ d)',
  [1, 2].every((j) => [8, 32, 128].every((L) => cols[j][1][iL(L)] < cols[0][1][iL(L)])),
  'partly',
);
check(
  claims,
  'fully connected case: skip connections give better-conditioned NTKs at finite depth (the paper states it for conv ResNets)',
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
  'fully connected case: with ReLU, eigenvalues decay polynomially at the same rate with and without skip connections (k^−d on S^(d−1))',
  decay.map((r) => `${r.label} on S^${r.dim - 1}: ${fmt(r.even ?? NaN, 4)} (even), ${fmt(r.odd ?? NaN, 4)} (odd)`).join('; '),
  decay.every((r) => r.even !== null && r.odd !== null && Math.abs(r.even + r.dim) < tolDecay && Math.abs(r.odd + r.dim) < tolDecay),
  'partly', // the fully connected case only; the convolutional claim is checked below
);


// ---------------------------------------------------------------------------------------------
// The convolutional claims (q = 3, circular padding, 1-D signals on the multi-sphere).
const cnn = (L, readout) => `cntk:depth=${L + 1},readout=${readout},pad=circular`;
const resA1 = (L, readout) => `rescnn:depth=${L},alpha=1,readout=${readout}`;
const resG = (L, readout) => `rescnn:depth=${L},gamma=0.5,readout=${readout}`;
const timings = {};
const timed = async (name, f) => {
  const t0 = performance.now();
  const r = await f();
  timings[name] = Number(((performance.now() - t0) / 1000).toFixed(1));
  console.log(`  (${name}: ${timings[name]} s)`);
  return r;
};

// 1. Decay: single-pixel harmonics (k,0,0,0) on (S¹)⁴, grid 32⁴ (17⁴ kernel evaluations each).
const decaySpecs = [
  ['CNN L=8', cnn(8, 'eq')],
  ['ResCNN L=8, α=1', resA1(8, 'eq')],
  ['ResCNN L=8, α=8^−½', resG(8, 'eq')],
  ['ResCNN L=32, α=32^−½', resG(32, 'eq')],
  ['CNN L=8 (GAP)', cnn(8, 'gap')],
  ['ResCNN L=8, α=1 (GAP)', resA1(8, 'gap')],
  ['ResCNN L=8, α=8^−½ (GAP)', resG(8, 'gap')],
];
const convDecayRows = await timed('conv decay', async () => {
  const out = [];
  for (const [label, ref] of decaySpecs) out.push({ label, ref, ...(await convDecay(ref, { pixels: 4, grid: 32, kmax: 8, backend: B })) });
  return out;
});
const curve = (r, kind) => r.curves.find((c) => c.kind === kind);
const oct48 = (r, kind) => curve(r, kind).octaves.find((o) => o.from === 4).exponent;
console.log('  conv decay, λ_(k,0,0,0)/λ₀ at k = 1, 2, 4, 8 and the local exponent over k = 4 → 8 (d = 4, grid 32⁴):');
for (const r of convDecayRows) {
  for (const kind of ['ntk', 'nngp']) console.log(`  ${r.label} ${kind}: ${[1, 2, 4, 8].map((k) => fmt(curve(r, kind).ratios[k - 1], 3)).join(', ')}; p(4→8) = ${fmt(oct48(r, kind), 3)}`);
}
const decayGroups = [convDecayRows.slice(0, 4), convDecayRows.slice(4)];
const decaySimilar = decayGroups.every((g) => ['ntk', 'nngp'].every((kind) => g.slice(1).every((r) => Math.abs(oct48(r, kind) / oct48(g[0], kind) - 1) < 0.25)));
check(
  claims,
  'with ReLU, the eigenvalues of residual conv kernels decay polynomially at a similar rate as without skip connections (Eq and GAP readouts)',
  'local exponent of λ_(k,0,0,0) over k = 4 → 8 on (S¹)⁴, NTK / GP: ' + convDecayRows.map((r) => `${r.label} ${fmt(oct48(r, 'ntk'), 3)} / ${fmt(oct48(r, 'nngp'), 3)}`).join('; '),
  decaySimilar,
);

// 2. Locality: (S¹)⁶ (P = 2q), grid 12⁶ (7⁶ kernel evaluations per spec), Eq readout at pixel 0.
const locDepths = [1, 2, 4, 8, 16, 32];
const locality = await timed('locality', async () => {
  const rows = {};
  const pick = (l, kind, key) => locDepths.map((L) => l.points.find((p) => p.kind === kind && p.depth === L)[key]);
  // CNN: one sweep of cntk, whose depth t is the pilot's L = t − 1.
  const c = await convLocality(cnn(32, 'eq'), { pixels: 6, grid: 12, depths: locDepths.map((L) => L + 1), backend: B });
  const shifted = { ...c, points: c.points.map((p) => ({ ...p, depth: p.depth - 1 })) };
  const a1 = await convLocality(resA1(32, 'eq'), { pixels: 6, grid: 12, depths: locDepths, backend: B });
  const g = [];
  for (const L of locDepths) g.push(...(await convLocality(resG(L, 'eq'), { pixels: 6, grid: 12, backend: B })).points);
  for (const [name, l] of [['CNN', shifted], ['ResCNN α=1', a1], ['ResCNN α=L^−½', { points: g }]]) {
    rows[name] = Object.fromEntries(['ntk', 'nngp'].map((k) => [k, { farNear: pick(l, k, 'farNear'), pairRatio: pick(l, k, 'pairRatio') }]));
  }
  return rows;
});
console.log('  locality on (S¹)⁶, far/near and pair ratio (NTK; GP far/near):');
for (const [name, r] of Object.entries(locality)) {
  console.log(`  ${name}: ` + locDepths.map((L, i) => `L=${L} ${fmt(r.ntk.farNear[i], 3)} / ${fmt(r.ntk.pairRatio[i], 3)} / ${fmt(r.nngp.farNear[i], 3)}`).join(' | '));
}
const deep = locDepths.map((L, i) => i).filter((i) => locDepths[i] >= 4);
const lessFar = (name, kind) => deep.every((i) => locality[name][kind].farNear[i] < locality.CNN[kind].farNear[i]);
const lessPair = (name) => deep.every((i) => locality[name].ntk.pairRatio[i] < locality.CNN.ntk.pairRatio[i]);
const farHolds = ['ResCNN α=1', 'ResCNN α=L^−½'].every((n) => lessFar(n, 'ntk') && lessFar(n, 'nngp'));
const pairHolds = ['ResCNN α=1', 'ResCNN α=L^−½'].every(lessPair);
const at = (name, kind, key, L) => fmt(locality[name][kind][key][locDepths.indexOf(L)], 3);
check(
  claims,
  'residual conv kernels are more locally biased than CNN kernels (a weighted ensemble of CNNs emphasising nearby pixels)',
  `NTK far/near at L = 8 / 32: CNN ${at('CNN', 'ntk', 'farNear', 8)} / ${at('CNN', 'ntk', 'farNear', 32)}, ResCNN α=1 ${at('ResCNN α=1', 'ntk', 'farNear', 8)} / ${at('ResCNN α=1', 'ntk', 'farNear', 32)}, ` +
    `α=L^−½ ${at('ResCNN α=L^−½', 'ntk', 'farNear', 8)} / ${at('ResCNN α=L^−½', 'ntk', 'farNear', 32)}; pair ratio at L = 8 / 32: CNN ${at('CNN', 'ntk', 'pairRatio', 8)} / ${at('CNN', 'ntk', 'pairRatio', 32)}, ` +
    `α=1 ${at('ResCNN α=1', 'ntk', 'pairRatio', 8)} / ${at('ResCNN α=1', 'ntk', 'pairRatio', 32)}, α=L^−½ ${at('ResCNN α=L^−½', 'ntk', 'pairRatio', 8)} / ${at('ResCNN α=L^−½', 'ntk', 'pairRatio', 32)} ` +
    `(far/near lower than the CNN's at every L ≥ 4 for both α, NTK and GP: ${farHolds}; pair ratio lower for both α: ${pairHolds})`,
  farHolds,
  farHolds && pairHolds ? 'reproduced' : farHolds ? 'partly' : 'not reproduced',
);

// 3. Conditioning: 64 signals on (S²)⁸ (seed 7), unit-diagonal Grams, Eq and GAP, GP and NTK.
const condDepths = [1, 2, 4, 8, 16, 32];
const Xc = multispherePoints(64, 3, 8, 7);
const conv = await timed('conv conditioning', async () => {
  const out = {};
  for (const readout of ['eq', 'gap']) {
    const [c] = await conditioningVsDepth([cnn(32, readout)], Xc, { normalize: true, depths: condDepths.map((L) => L + 1), backend: B });
    const [a] = await conditioningVsDepth([resA1(32, readout)], Xc, { normalize: true, depths: condDepths, backend: B });
    const g = { nngp: [], ntk: [] };
    for (const L of condDepths) {
      const s = await gramSpectrum(resG(L, readout), Xc, { normalize: true, backend: B });
      g.nngp.push(s.nngp.condition);
      g.ntk.push(s.ntk.condition);
    }
    out[readout] = {
      CNN: { nngp: c.nngp.condition, ntk: c.ntk.condition },
      'ResCNN α=1': { nngp: a.nngp.condition, ntk: a.ntk.condition },
      'ResCNN α=L^−½': g,
    };
  }
  return out;
});
console.log('  conv condition numbers, 64 signals on (S²)⁸: GP-Eq / GP-GAP / NTK-Eq / NTK-GAP');
for (const [i, L] of condDepths.entries()) {
  console.log(`  L=${L} | ` + Object.keys(conv.eq).map((n) => `${n}: ${[conv.eq[n].nngp, conv.gap[n].nngp, conv.eq[n].ntk, conv.gap[n].ntk].map((c) => fmt(c[i], 4)).join(' / ')}`).join(' | '));
}
const better = (kind, readout, i) => ['ResCNN α=1', 'ResCNN α=L^−½'].every((n) => conv[readout][n][kind][i] < conv[readout].CNN[kind][i]);
const deepC = condDepths.map((L, i) => i).filter((i) => condDepths[i] >= 8);
const cells = (kind, L) => ['eq', 'gap'].map((r) => `${r === 'eq' ? 'Eq' : 'GAP'} ${Object.keys(conv[r]).map((n) => `${n} ${fmt(conv[r][n][kind][condDepths.indexOf(L)], 4)}`).join(', ')}`).join('; ');
const gpDeep = deepC.every((i) => better('nngp', 'eq', i) && better('nngp', 'gap', i));
const gpAll = condDepths.every((L, i) => better('nngp', 'eq', i) && better('nngp', 'gap', i));
check(
  claims,
  'residual conv GP kernels (NNGP) give better-conditioned Gram matrices at finite depth (Eq and GAP)',
  `κ_GP at L = 8: ${cells('nngp', 8)}; at L = 32: ${cells('nngp', 32)}. Both residual families below the CNN at every L ≥ 8: ${gpDeep}; at every L ≥ 1: ${gpAll}`,
  gpDeep,
  gpDeep && gpAll ? 'reproduced' : gpDeep ? 'partly' : 'not reproduced',
);
const ntkDeep = deepC.every((i) => better('ntk', 'eq', i) && better('ntk', 'gap', i));
check(
  claims,
  'residual conv NTKs give better-conditioned Gram matrices at finite depth (Eq and GAP)',
  `κ_NTK at L = 8: ${cells('ntk', 8)}; at L = 32: ${cells('ntk', 32)}`,
  ntkDeep,
);

saveResults('barzilai2022', {
  backend: B,
  setup: { n, d, seed: 0, normalized: true, stemAndReadout: 'frozen' },
  depths,
  condition: Object.fromEntries(cols.map((c) => [c[0], { nngp: c[1], ntk: c[2] }])),
  decay: decay.map(({ s, ...r }) => r),
  conv: {
    setup: {
      pairing: 'CNN L = cntk:depth=L+1 (stem + L [ReLU, conv] + ReLU), ResCNN L = rescnn:depth=L (L blocks); filter 3, circular padding; eq readout at pixel 0',
      decay: { pixels: 4, channels: 2, grid: 32, kmax: 8 },
      locality: { pixels: 6, channels: 2, grid: 12, near: 0, far: 3 },
      conditioning: { n: 64, channels: 3, pixels: 8, seed: 7, normalized: true },
    },
    decay: convDecayRows.map((r) => ({ label: r.label, arch: r.ref, seconds: r.seconds, curves: r.curves })),
    locality: { depths: locDepths, rows: locality },
    conditioning: { depths: condDepths, ...conv },
    seconds: timings,
  },
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
await saveFigure('barzilai2022', 'conv-decay', {
  title: 'Barzilai et al.: eigenvalues of single-pixel harmonics on (S¹)⁴, Eq readout (grid 32⁴)',
  panels: ['ntk', 'nngp'].map((kind) => ({
    title: `${kind === 'ntk' ? 'NTK' : 'GP (NNGP)'}: λ_(k,0,0,0)/λ₀`,
    x: { title: 'degree k', scale: 'log' },
    y: { title: 'λ_k/λ₀', scale: 'log' },
    series: convDecayRows.slice(0, 4).map((r) => ({ name: r.label, x: [1, 2, 3, 4, 5, 6, 7, 8], y: curve(r, kind).ratios, mark: 'line+points' })),
  })),
});
await saveFigure('barzilai2022', 'locality', {
  title: 'Barzilai et al.: locality on (S¹)⁶, Eq readout at pixel 0 (grid 12⁶)',
  panels: [
    ['ntk', 'farNear', 'NTK: λ(pixel 3)/λ(pixel 0)'],
    ['ntk', 'pairRatio', 'NTK: λ(pixels 0, 3)/λ(pixels 0, 1)'],
    ['nngp', 'farNear', 'GP: λ(pixel 3)/λ(pixel 0)'],
  ].map(([kind, key, title]) => ({
    title,
    x: { title: 'depth L', scale: 'log' },
    y: { title: 'ratio' },
    series: Object.entries(locality).map(([name, r]) => ({ name, x: locDepths, y: r[kind][key], mark: 'line+points' })),
  })),
});
await saveFigure('barzilai2022', 'conv-conditioning', {
  title: 'Barzilai et al.: condition numbers of unit-diagonal conv Grams, 64 signals on (S²)⁸',
  panels: [
    ['nngp', 'eq', 'GP, Eq'],
    ['nngp', 'gap', 'GP, GAP'],
    ['ntk', 'eq', 'NTK, Eq'],
    ['ntk', 'gap', 'NTK, GAP'],
  ].map(([kind, readout, title]) => ({
    title,
    x: { title: 'depth L', scale: 'log' },
    y: { title: 'κ', scale: 'log' },
    series: Object.entries(conv[readout]).map(([name, r]) => ({ name, x: condDepths, y: r[kind], mark: 'line+points' })),
  })),
});
await release();
