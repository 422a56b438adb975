// Huang, Wang, Tao, Zhao, "Why Do Deep Residual Networks Generalize Better than Deep Feedforward
// Networks? — A Neural Tangent Kernel Perspective" (arXiv 2002.06262). Claims checked: as depth
// grows the fully connected NTK degenerates (normalised, every off-diagonal entry tends to the same
// constant: a constant plus a nugget at 0), while the ResNet NTK with α = L^−γ, γ ∈ (½, 1], keeps
// a non-degenerate limit (the two-layer NTK); so kernel regression with a deep FC NTK loses what a
// deep ResNet NTK keeps. Setting: their ResNet (stem and readout frozen, c_w² = 2, c_v² = 1), unit
// inputs; webntk's huang2020/belfer2021 presets (belfer2021 = huang2020 normalised to 1 on the sphere).
import { readFileSync } from 'node:fs';
import { accuracy, kernel, kernelProfile, predictFromKernels } from '../../dist/index.js';
import { parseNpy } from '../../dist/io/npy.js';
import { backend, check, fmt, release, saveFigure, saveResults } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`huang2020 (backend ${B})`);

// 1. Degeneracy of the normalised kernel over ρ0 ∈ [−1, 1) at depth L: the spread of K(ρ0)/K(1).
const rhos = Array.from({ length: 41 }, (_, i) => -1 + i / 20).filter((r) => r < 1);
const spread = async (arch) => {
  const v = (await kernelProfile(arch, { angles: rhos.map(Math.acos), backend: B })).normalized;
  return { values: v, spread: Math.max(...v) - Math.min(...v) };
};
const depths = [1, 10, 100, 1000, 10000];
const fam = [
  ['FC (arora2019)', (L) => `arora2019:depth=${L}`],
  ['ResNet α = 1/L', (L) => `belfer2021:depth=${L},gamma=1`],
  ['ResNet α = L^−0.75', (L) => `belfer2021:depth=${L},gamma=0.75`],
];
const spreads = {};
for (const [name, f] of fam) {
  spreads[name] = [];
  for (const L of depths) spreads[name].push((await spread(f(L))).spread);
  console.log(`  ${name}: spread of Θ(ρ0)/Θ(1) over ρ0 ∈ [−1, 0.95]: ` + depths.map((L, i) => `${fmt(spreads[name][i], 4)} (L=${L})`).join(', '));
}
check(
  claims,
  'the deep FC NTK degenerates: its normalised values over all input correlations ρ0 < 1 collapse to one constant (1/4)',
  `spread at L = 10, 10³, 10⁴: ${[1, 3, 4].map((i) => fmt(spreads['FC (arora2019)'][i], 3)).join(', ')}`,
  spreads['FC (arora2019)'][4] < 0.1 * spreads['FC (arora2019)'][1],
);
check(
  claims,
  'the ResNet NTK with α = L^−γ, γ ∈ (½, 1], does not degenerate: its spread stays that of the two-layer NTK',
  `spread at L = 10⁴: γ = 1: ${fmt(spreads['ResNet α = 1/L'][4], 4)}, γ = 0.75: ${fmt(spreads['ResNet α = L^−0.75'][4], 4)} (two-layer NTK: ${fmt(spreads['ResNet α = 1/L'][0], 4)})`,
  Math.abs(spreads['ResNet α = 1/L'][4] - spreads['ResNet α = 1/L'][0]) < 0.01 && spreads['ResNet α = L^−0.75'][4] > 0.8 * spreads['ResNet α = 1/L'][0],
);

// 2. Kernel regression on Fashion-MNIST (500 training and 500 test images of the repo's subset,
// unit-normalised rows, one-hot targets, NTK at t = ∞ with a small relative ridge).
const load = (name) => parseNpy(readFileSync(new URL(`../../data/${name}`, import.meta.url)), name);
const trI = load('fashion-train-images.npy');
const trL = load('fashion-train-labels.npy');
const teI = load('fashion-test-images.npy');
const teL = load('fashion-test-labels.npy');
const take = (img, lab, n) => {
  const d = img.shape[1];
  const X = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(img.data.subarray(i * d, (i + 1) * d), Number);
    const r = Math.hypot(...row);
    X.push(row.map((v) => v / r));
  }
  return { X, y: Array.from(lab.data.subarray(0, n), Number) };
};
const tr = take(trI, trL, 500);
const te = take(teI, teL, 500);
const accDepths = [1, 10, 100, 1000];
const acc = {};
for (const [name, f] of fam.slice(0, 2)) {
  acc[name] = [];
  for (const L of accDepths) {
    const kxx = (await kernel(f(L), tr.X, null, { get: 'ntk', backend: B })).ntk;
    const ktx = (await kernel(f(L), te.X, tr.X, { get: 'ntk', backend: B })).ntk;
    let mean = 0;
    for (let i = 0; i < 500; i++) mean += kxx[i * 501];
    const p = predictFromKernels({ n: 500, m: 500, train: kxx, testTrain: ktx }, tr.y, { kernel: 'ntk', classes: 10, ridge: 1e-6 * (mean / 500) });
    acc[name].push(accuracy(p.mean[0], p.shape, te.y));
  }
  console.log(`  ${name}: test accuracy ${accDepths.map((L, i) => `${fmt(100 * acc[name][i], 3)}% (L=${L})`).join(', ')}`);
}
check(
  claims,
  'kernel regression: the deep FC NTK generalises worse than the deep ResNet NTK (their explanation of why deep ResNets generalise better)',
  `test accuracy at L = 1000: FC ${fmt(100 * acc['FC (arora2019)'][3], 3)}%, ResNet α = 1/L ${fmt(100 * acc['ResNet α = 1/L'][3], 3)}% (L = 1: ${fmt(100 * acc['FC (arora2019)'][0], 3)}%, ${fmt(100 * acc['ResNet α = 1/L'][0], 3)}%)`,
  acc['FC (arora2019)'][3] < acc['ResNet α = 1/L'][3],
);

saveResults('huang2020', { backend: B, rhos, depths, spreads, accuracy: { depths: accDepths, ...acc }, claims });
const deep = await spread('arora2019:depth=10000');
const res = await spread('belfer2021:depth=10000,gamma=1');
const sh = await spread('arora2019:depth=10');
await saveFigure('huang2020', 'degeneracy', {
  title: 'Huang et al.: the deep FC NTK degenerates, the deep ResNet NTK (α = L^−γ, γ > ½) does not',
  panels: [
    {
      title: 'normalised NTK against the input correlation',
      x: { title: 'ρ0' },
      y: { title: 'Θ(ρ0)/Θ(1)' },
      series: [
        { name: 'FC, L = 10', x: rhos, y: sh.values },
        { name: 'FC, L = 10⁴', x: rhos, y: deep.values },
        { name: 'ResNet α = 1/L, L = 10⁴', x: rhos, y: res.values },
      ],
    },
    {
      title: 'Fashion-MNIST (500 / 500), NTK regression',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'test accuracy' },
      series: Object.entries(acc).map(([name, a]) => ({ name, x: accDepths, y: a, mark: 'line+points' })),
    },
  ],
});
await release();
