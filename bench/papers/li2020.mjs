// Li, Luo, Yip, "Towards an Understanding of Residual Networks Using Neural Tangent Hierarchy"
// (arXiv 2007.03714). The paper's subject is the finite-width NTK dynamics (the neural tangent
// hierarchy K^(3), K^(4), …): measured by li2020-dynamics.mjs, whose JSON the last two claims read.
// The infinite-width statements it builds on are checked here: on the ReLU edge of chaos (σ_w² = 2, σ_b² = 0) the
// normalised NTK converges to its degenerate limit polynomially, at rate Θ(ln L / L), for every
// input correlation; off it (ordered phase) exponentially; and a ResNet with α = c/L (Du et al.'s
// scaling, γ = 1) has a depth-insensitive NTK.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { depthSweep, fitLine, kernelProfile } from '../../dist/index.js';
import { backend, check, fmt, release, saveFigure, saveResults, semilogSlope } from './lib.mjs';

const B = await backend();
const claims = [];
console.log(`li2020 (backend ${B})`);

// 1. The ln L / L rate on the edge of chaos, for several input correlations.
const Ls = [1000, 2000, 5000, 10000, 20000, 50000, 100000];
const rates = [];
for (const rho of [-0.5, 0, 0.5, 0.9]) {
  const s = await depthSweep('arora2019:depth=100000', rho, { backend: B });
  const slope = fitLine(Ls.map(Math.log), Ls.map((L) => L * (s.ntk[L] / (L + 1) - 0.25))).slope;
  rates.push({ rho, slope, last: s.ntk[100000] / 100001, curve: s.depths.filter((L) => L >= 10).map((L) => ({ L, v: L * (s.ntk[L] / (L + 1) - 0.25) })) });
}
check(
  claims,
  'edge of chaos (ReLU, σ_w² = 2, σ_b² = 0): Θ_L/(L+1) → 1/4 off the diagonal with a Θ(ln L / L) rate whatever the input correlation',
  rates.map((r) => `ρ0 = ${r.rho}: L·(Θ_L/(L+1) − 1/4) grows ${fmt(r.slope, 3)}·ln L`).join('; '),
  rates.every((r) => Math.abs(r.slope - 0.375) < 0.02 && Math.abs(r.last - 0.25) < 2e-4),
);

// 2. Off the edge of chaos: exponential convergence (ordered phase, σ_w² < 2 with a bias).
const ord = await depthSweep('hayou2019:depth=100,sigmaW2=1.5,sigmaB2=0.5', 0, { backend: B });
const eoc = await depthSweep('hayou2019:depth=100', 0, { backend: B });
// hayou2019's sweep starts at one layer: entry i of the sweep is depth ord.depths[i].
const lim = ord.ntkNormalized.at(-1);
const upTo60 = ord.depths.filter((L) => L <= 60);
const ordGap = upTo60.map((_, i) => Math.abs(ord.ntkNormalized[i] - lim));
const eocGap = upTo60.map((_, i) => Math.abs(eoc.ntkNormalized[i] - 0.25));
// Exponential rate over L = 10 … 60 (above the float64 floor).
const semilog = (ys) => {
  const keep = upTo60.map((L, i) => [L, ys[i]]).filter(([L, y]) => L >= 10 && y > 1e-13);
  return semilogSlope(keep.map((p) => p[0]), keep.map((p) => p[1]));
};
check(
  claims,
  'ordered phase (σ_w² = 1.5, σ_b² = 0.5): exponential convergence; edge of chaos: slower than any exponential',
  `ln|r_L − r_∞| against L over L = 10 … 60: ordered ${fmt(semilog(ordGap), 3)} per layer, edge of chaos ${fmt(semilog(eocGap), 3)} per layer (and ∝ ln L / L asymptotically, above)`,
  semilog(ordGap) < -0.05 && Math.abs(semilog(eocGap)) < 0.05,
);

// 3. Du-type ResNet, α = c/L: the normalised NTK hardly changes with depth.
// Normalised NTK profiles over input correlations ρ0 ∈ [−1, 1] (angles arccos ρ0).
const angles = Array.from({ length: 41 }, (_, i) => Math.acos(-1 + i / 20));
const prof = async (arch) => (await kernelProfile(arch, { angles, backend: B })).normalized;
const p10 = await prof('belfer2021:depth=10,gamma=1');
const p1e4 = await prof('belfer2021:depth=10000,gamma=1');
const fc10 = await prof('arora2019:depth=10');
const fc1e4 = await prof('arora2019:depth=10000');
const dRes = Math.max(...p10.map((v, i) => Math.abs(v - p1e4[i])));
const dFc = Math.max(...fc10.map((v, i) => Math.abs(v - fc1e4[i])));
check(
  claims,
  'ResNet with α = c/L: the NTK is depth-insensitive (unlike the FC NTK)',
  `sup over ρ0 of |Θ_10 − Θ_10⁴| (normalised): ResNet ${fmt(dRes, 3)}, FC ${fmt(dFc, 3)}`,
  dRes < 0.1 * dFc,
);
// 4. The finite-width part: measured by li2020-dynamics.mjs (minutes; not rerun here), read from its JSON.
const dynPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'li2020-dynamics.json');
const dyn = existsSync(dynPath) ? JSON.parse(readFileSync(dynPath, 'utf8')) : null;
if (dyn && !dyn.quick) {
  // Drift slopes at the common time t* (each fit's earliest final t = η·T: η = n/λ_max(Θ₀) differs by width).
  const slopes = dyn.results.map((r) => `${r.label}: ${fmt(r.fit.driftSlopeAtT, 3)} at t* = ${fmt(r.fit.t, 3)} (${fmt(r.fit.driftSlope, 3)} at each run's final step)`).join(', ');
  const smooth = dyn.results.filter((r) => !/ReLU/.test(r.label));
  const near = (v) => v !== null && Math.abs(v + 1) < 0.3;
  const driftOk = smooth.every((r) => near(r.fit.driftSlopeAtT));
  // The initial rate's slope from the 16-seed pass where it ran (RATES=1), else the main pass's 2 seeds.
  const rateSlope = (r) => r.ratesMoreSeeds?.slope ?? r.fit.initialRateSlope;
  const rateSeeds = (r) => r.ratesMoreSeeds?.seeds ?? dyn.setting.seeds;
  const rateOk = smooth.every((r) => near(rateSlope(r)));
  check(
    claims,
    'the neural tangent hierarchy: at fixed training time the NTK moves by O(1/width) (dΘ/dt = O(1/m)), so wide networks train in the kernel regime',
    `slope of log ‖Θ_t − Θ₀‖/‖Θ₀‖ against log width at a common t (${dyn.setting.widths.join(', ')}; ${dyn.setting.steps} GD steps, n = ${dyn.setting.nTrain}): ${slopes}; ` +
      `slope of log ‖dΘ/dt|₀‖/‖Θ₀‖ (central difference) against log width: ${smooth.map((r) => `${r.label}: ${fmt(rateSlope(r), 3)}${r.ratesMoreSeeds ? ` ± ${fmt(r.ratesMoreSeeds.slopeSE, 2)}` : ''} over ${rateSeeds(r)} seeds (${fmt(r.fit.initialRateSlope, 3)} over the main pass's ${dyn.setting.seeds})`).join(', ')} (ReLU: no rate, dΘ/dt does not exist); ` +
      `slope of log drift against log t: ${dyn.results.map((r) => fmt(r.fit.driftTimeSlope, 3)).join(', ')}; ` +
      `test gap to the time-matched Θ₀-linearised model: ${dyn.results.map((r) => fmt(r.fit.linGap0Slope, 3)).join(', ')}; ‖Θ₀ − Θ_∞‖/‖Θ_∞‖: ${dyn.results.map((r) => fmt(r.fit.initFluctuationSlope, 3)).join(', ')}. ` +
      'Reproduced when the smooth nets’ drift slopes at t* and initial-rate slopes are all within 0.3 of −1; partly when only the drift slopes are',
    driftOk && rateOk,
    driftOk && rateOk ? 'reproduced' : driftOk ? 'partly' : 'not reproduced',
  );
  const ex = dyn.results.map((r) => `${r.label}: ${fmt(r.fit.widthThreshold.exponent, 3)} (${r.fit.widthThreshold.samples.map((m, i) => `${m} → ${r.fit.widthThreshold.widths[i] ?? 'none'}`).join(', ')})`).join('; ');
  check(
    claims,
    'width cubic in the number of samples suffices for a ResNet with smooth activation, against quartic for an MLP',
    `smallest width keeping λ_min(Θ_t) ≥ λ_min(Θ₀)/2, log-log exponent against n: ${ex}. The theorem bounds a sufficient width; at these small n the measured thresholds are tiny and noisy, the exponents far below 3 and 4, and no ResNet/MLP separation is seen`,
    false,
  );
} else {
  check(claims, 'the neural tangent hierarchy (finite-width NTK dynamics) and its width requirement', 'not measured: run bench/papers/li2020-dynamics.mjs first', false);
}

saveResults('li2020', { backend: B, rates: rates.map(({ curve, ...r }) => r), ordered: { expRate: semilog(ordGap) }, edgeOfChaos: { expRate: semilog(eocGap) }, resnet: { dRes, dFc }, claims });
await saveFigure('li2020', 'rates', {
  title: 'Li, Luo, Yip (infinite-width part): convergence rates of the normalised NTK in depth',
  panels: [
    {
      title: 'edge of chaos: L·(Θ_L/(L+1) − 1/4) against L (slope 3/8 in ln L)',
      x: { title: 'depth L', scale: 'log' },
      y: { title: 'L·(Θ_L/(L+1) − 1/4)' },
      series: rates.map((r) => ({ name: `ρ0 = ${r.rho}`, x: r.curve.map((c) => c.L), y: r.curve.map((c) => c.v) })),
    },
    {
      title: 'distance to the limit: ordered phase vs edge of chaos',
      x: { title: 'depth L' },
      y: { title: '|r_L − r_∞|', scale: 'log' },
      series: [
        { name: 'ordered σ_w² = 1.5, σ_b² = 0.5', x: upTo60, y: ordGap },
        { name: 'edge of chaos σ_w² = 2, σ_b² = 0', x: upTo60, y: eocGap },
      ],
    },
  ],
});
await release();
