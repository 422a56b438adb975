// Tirer, Bruna, Giryes, "Kernel-Based Smoothness Analysis of Residual Networks" (arXiv 2009.10008).
// Claims checked: the ResNet NTK (all layers trained, residual scale α) is smoother than the MLP's —
// a smaller normalised cusp slope −K'(0⁺)/K(0), growing with α — and so are its kernel-regression
// interpolants (their released experiment: 6 points on the circle, target 0.5 cos t + sin 4t).
import { circleInterpolant, cuspSlope, kernelProfile } from '../../dist/index.js';
import { backend, check, fmt, release, saveFigure, saveResults } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`tirer2021 (backend ${B})`);
const archs = [
  ['tirer2021:depth=5,alpha=0.1', 'ResNet α = 0.1'],
  ['tirer2021:depth=5,alpha=0.5', 'ResNet α = 0.5'],
  ['tirer2021:depth=5,alpha=1', 'ResNet α = 1'],
  ['tirer2021:depth=5,alpha=2', 'ResNet α = 2'],
  ['mlp:depth=5', 'MLP (5 ReLU layers)'],
];
const rows = [];
for (const [ref, label] of archs) {
  const profile = await kernelProfile(ref, { points: 181, backend: B });
  const slope = await cuspSlope(ref, { backend: B });
  const interp = await circleInterpolant(ref, { backend: B });
  rows.push({ ref, label, slope, rmsSecondDerivative: interp.rmsSecondDerivative, rmsError: interp.rmsError, profile, interp });
  console.log(`  ${label}: cusp slope ${fmt(slope)}, interpolant RMS f'' ${fmt(interp.rmsSecondDerivative, 4)}, RMS error ${fmt(interp.rmsError, 4)}`);
}
const ref = [0.0078, 0.1389, 0.3316, 0.5712, 0.7957];
const tol = B === 'cpu' ? 1.5e-4 : 5e-4;
check(
  claims,
  'normalised NTK cusp slopes at depth 5: 0.0078 (α = 0.1), 0.1389 (0.5), 0.3316 (1), 0.5712 (2), MLP 0.7957 = 5/(2π) (seeds.md §3.3, from the released code)',
  rows.map((r) => `${r.label}: ${fmt(r.slope)}`).join(', '),
  rows.every((r, i) => Math.abs(r.slope - ref[i]) < tol),
);
check(
  claims,
  'the ResNet kernel is smoother than the MLP kernel, and smoother the smaller α (cusp slope increasing in α, below the MLP)',
  rows.map((r) => fmt(r.slope, 4)).join(' < '),
  rows.every((r, i) => i === 0 || r.slope > rows[i - 1].slope),
);
const d2 = Object.fromEntries(rows.map((r) => [r.ref, r.rmsSecondDerivative]));
check(
  claims,
  "interpolants of the ResNet NTK are smoother than the MLP's (RMS second derivative; seeds.md: MLP 26.0, α = 0.1: 0.79, α = 1: 7.46)",
  `MLP ${fmt(d2['mlp:depth=5'], 4)}, α = 0.1: ${fmt(d2['tirer2021:depth=5,alpha=0.1'], 4)}, α = 1: ${fmt(d2['tirer2021:depth=5,alpha=1'], 4)}`,
  d2['tirer2021:depth=5,alpha=0.1'] < d2['tirer2021:depth=5,alpha=1'] && d2['tirer2021:depth=5,alpha=1'] < d2['mlp:depth=5'] &&
    Math.abs(d2['mlp:depth=5'] - 26.0) < 0.2 && Math.abs(d2['tirer2021:depth=5,alpha=0.1'] - 0.79) < 0.01 && Math.abs(d2['tirer2021:depth=5,alpha=1'] - 7.46) < 0.05,
);
const e = Object.fromEntries(rows.map((r) => [r.ref, r.rmsError]));
check(
  claims,
  'smoother is not more accurate here: 6 samples cannot resolve sin 4t (RMS error vs the target; seeds.md 0.84 / 1.00 / 0.95)',
  `MLP ${fmt(e['mlp:depth=5'], 3)}, α = 0.1: ${fmt(e['tirer2021:depth=5,alpha=0.1'], 3)}, α = 1: ${fmt(e['tirer2021:depth=5,alpha=1'], 3)}`,
  Math.abs(e['mlp:depth=5'] - 0.84) < 0.005 && Math.abs(e['tirer2021:depth=5,alpha=0.1'] - 1.0) < 0.005 && Math.abs(e['tirer2021:depth=5,alpha=1'] - 0.95) < 0.005,
);

saveResults('tirer2021', { backend: B, table: rows.map(({ profile, interp, ...r }) => r), claims });
await saveFigure('tirer2021', 'smoothness', {
  title: 'Tirer et al.: ResNet NTKs are smoother than the MLP NTK (depth 5)',
  panels: [
    { title: 'NTK profile K(θ)/K(0)', x: { title: 'θ (radians)' }, y: { title: 'K(θ)/K(0)' }, series: rows.map((r) => ({ name: r.label, x: r.profile.angles, y: r.profile.normalized })) },
    {
      title: 'NTK interpolants of 6 points on the circle',
      x: { title: 't (radians)' },
      y: { title: 'f(t)' },
      series: [
        ...rows.filter((r) => /0\.1|α = 1$|MLP/.test(r.label)).map((r) => ({ name: r.label, x: r.interp.testAngles, y: r.interp.prediction })),
        { name: 'target 0.5 cos t + sin 4t', x: rows[0].interp.testAngles, y: rows[0].interp.target },
        { name: 'training points', x: rows[0].interp.trainAngles, y: rows[0].interp.trainAngles.map((t) => 0.5 * Math.cos(t) + Math.sin(4 * t)), mark: 'points' },
      ],
    },
  ],
});
await release();
