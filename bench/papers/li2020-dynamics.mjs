// Li, Luo, Yip (arXiv 2007.03714), the finite-width part: full-batch GD of sampled networks
// (`dynamicsSweep`, float64 CPU) for a ReLU MLP, a tanh MLP and a tanh ResNet with α = 1/L
// (Du et al.'s scaling, the paper's smooth-activation setting). Per arch: the slope of log NTK drift
// against log width at the common time t* (the earliest final t = η·steps over the runs, since
// η = n/λ_max(Θ₀) differs by width; lazy theory: −1), the same at each run's final step, the slope of
// log drift against log t, for the tanh nets the initial rate ‖dΘ/dt|₀‖/‖Θ₀‖ (central difference)
// and its slope against width, ‖Θ₀ − Θ_∞‖/‖Θ_∞‖ (−½), the test gaps to the
// time-matched linearised models with Θ₀ and Θ_∞, and the width threshold of λ_min(Θ_t) ≥ λ_min(Θ₀)/2
// against the number of samples (the paper: width ∝ n³ suffices for ResNets, n⁴ for MLPs).
// Writes bench/results/li2020-dynamics.json and docs/figures/li2020-dynamics.svg.
// Slow (minutes on this shared 2-core machine): `npm run build && node bench/papers/li2020-dynamics.mjs`
// (not picked up by run-all.mjs; li2020.mjs reads the JSON it writes), then ASI=1 for the
// antisymmetric-initialisation pass added to that JSON, then RATES=1 for the initial rates over 16 seeds
// (no training; under a minute). QUICK=1 for a trial run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dynamicsSweep, trainNetwork } from '../../dist/index.js';
import { spherePoints } from '../../dist/mc/rng.js';
import { driftAt, initialRate, logSlope, RATE_EPS } from '../../dist/analysis/dynamics.js';
import { fmt, saveFigure } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.env.QUICK === '1';
const t0 = performance.now();
// wave2.md §2.5's pilot setting: points on √d·S^(d−1), d = 8, target sin x₁ + ½x₂x₃ standardised.
const d = 8;
const nTrain = quick ? 12 : 32;
const pts = spherePoints(nTrain + 32, d, 7).map((v) => v.map((x) => Math.sqrt(d) * x));
const X = pts.slice(0, nTrain);
const T = pts.slice(nTrain);
const raw = X.map((v) => Math.sin(v[0]) + 0.5 * v[1] * v[2]);
const mu = raw.reduce((a, b) => a + b, 0) / raw.length;
const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mu) ** 2, 0) / raw.length);
const y = raw.map((v) => (v - mu) / sd);

const tanhMlp = { name: 'tanh MLP', inputScale: 'dim', layers: [{ type: 'dense' }, { type: 'repeat', count: 2, layers: [{ type: 'tanh' }, { type: 'dense', weightVar: 1.5 }] }] };
const tanhResnet = {
  name: 'tanh ResNet α = 1/L',
  inputScale: 'dim',
  layers: [{ type: 'dense' }, { type: 'repeat', count: 3, layers: [{ type: 'residual', alpha0: 1, gamma: 1, branch: [{ type: 'dense', weightVar: 2 }, { type: 'tanh' }, { type: 'dense' }] }] }],
  readout: [{ type: 'dense' }],
};
const archs = [
  ['ReLU MLP (mlp:depth=2)', 'mlp:depth=2'],
  ['tanh MLP (2 hidden layers, σ_w² = 1.5)', tanhMlp],
  ['tanh ResNet α = 1/L (L = 3)', tanhResnet],
];
const widths = quick ? [32, 64] : [64, 128, 256, 512];
const steps = quick ? 20 : 200;
const seeds = 2;
const thresholdWidths = quick ? [4, 8, 16] : [4, 8, 16, 32, 64, 128, 256];
const samples = quick ? [4, 8] : [8, 16, 32];

const out = join(here, '..', 'results', 'li2020-dynamics.json');
if (process.env.ASI === '1') {
  // The antisymmetric pass (f₀ = 0, wave2.md §2.3 item 4: the Θ_∞ predictor without the random f₀
  // term), added to the JSON of a finished run: widths up to 256 (each step trains two copies).
  const saved = JSON.parse(readFileSync(out, 'utf8'));
  const asiWidths = quick ? [32, 64] : [64, 128, 256];
  for (const [i, [label, arch]] of archs.entries()) {
    const t = performance.now();
    const r = dynamicsSweep(arch, X, y, nTrain, { widths: asiWidths, seeds, steps, xTest: T, init: 'antisymmetric' });
    const final = r.rows.filter((x) => x.step === steps);
    const mean = (w, key) => final.filter((x) => x.width === w).reduce((a, x) => a + x[key], 0) / seeds;
    console.log(`${label} (antisymmetric): t* = ${fmt(r.fit.t, 3)}, drift slope at t* ${fmt(r.fit.driftSlopeAtT, 3)} (final step ${fmt(r.fit.driftSlope, 3)}), against t ${fmt(r.fit.driftTimeSlope, 3)}`);
    saved.results[i].antisymmetric = {
      widths: asiWidths,
      fit: r.fit,
      perWidth: asiWidths.map((w) => ({ width: w, drift: mean(w, 'drift'), linGap0: mean(w, 'linGap0'), linGapInf: mean(w, 'linGapInf'), loss: mean(w, 'loss') })),
      notes: r.notes,
      seconds: (performance.now() - t) / 1000,
    };
    console.log(`${label} (antisymmetric): gaps ${saved.results[i].antisymmetric.perWidth.map((p) => `${p.width}: ${fmt(p.linGap0, 3)}, ${fmt(p.linGapInf, 3)}`).join('; ')}; slopes ${fmt(r.fit.linGap0Slope, 3)}, ${fmt(r.fit.linGapInfSlope, 3)}`);
  }
  writeFileSync(out, JSON.stringify(saved, null, 1) + '\n');
  console.log(`wrote ${out}`);
  process.exit(0);
}

if (process.env.RATES === '1') {
  // The initial rate with more seeds (no training: one step of ±ε from each initialisation, about
  // a second a network here), added to the JSON of a finished run: the main pass's 2 seeds left its
  // slope against width noisy (the ResNet's rate came out higher at width 128 than at 64).
  const saved = JSON.parse(readFileSync(out, 'utf8'));
  const rateSeeds = quick ? 4 : 16;
  for (const [i, [label, arch]] of archs.entries()) {
    if (saved.results[i].runs.every((r) => r.initialRate === null)) continue; // not C¹ (ReLU)
    const t = performance.now();
    const runs = [];
    for (const width of widths) {
      for (let seed = 0; seed < rateSeeds; seed++) {
        const lr = trainNetwork(arch, X, y, { width, seed, steps: 0 }).lr;
        runs.push({ width, seed, lr, initialRate: initialRate(arch, X, y, { width, seed, eps: RATE_EPS.cpu * lr }) });
      }
    }
    const lx = runs.map((r) => Math.log(r.width));
    const ly = runs.map((r) => Math.log(r.initialRate));
    const slope = logSlope(runs.map((r) => r.width), runs.map((r) => r.initialRate));
    const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
    const my = ly.reduce((a, b) => a + b, 0) / ly.length;
    const sxx = lx.reduce((a, x) => a + (x - mx) ** 2, 0);
    const rss = ly.reduce((a, v, k) => a + (v - my - slope * (lx[k] - mx)) ** 2, 0);
    const slopeSE = Math.sqrt(rss / (runs.length - 2) / sxx);
    const perWidth = widths.map((w) => ({ width: w, meanRate: runs.filter((r) => r.width === w).reduce((a, r) => a + r.initialRate, 0) / rateSeeds }));
    saved.results[i].ratesMoreSeeds = { seeds: rateSeeds, widths, eps: `${RATE_EPS.cpu}·η`, slope, slopeSE, perWidth, runs, seconds: (performance.now() - t) / 1000 };
    console.log(`${label}: initial-rate slope over ${rateSeeds} seeds ${fmt(slope, 3)} ± ${fmt(slopeSE, 2)}; means ${perWidth.map((p) => `${p.width}: ${fmt(p.meanRate, 3)}`).join(', ')}`);
  }
  writeFileSync(out, JSON.stringify(saved, null, 1) + '\n');
  console.log(`wrote ${out}`);
  process.exit(0);
}

const results = [];
for (const [label, arch] of archs) {
  const t = performance.now();
  const r = dynamicsSweep(arch, X, y, nTrain, { widths, seeds, steps, xTest: T });
  const th = dynamicsSweep(arch, X, y, nTrain, { widths: thresholdWidths, seeds, steps, samples });
  const final = r.rows.filter((x) => x.step === steps);
  const mean = (w, key) => {
    const v = final.filter((x) => x.width === w).map((x) => x[key]);
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  const runMean = (w, key) => {
    const v = r.runs.filter((x) => x.width === w).map((x) => x[key]);
    return v.some((e) => e === null) ? null : v.reduce((a, b) => a + b, 0) / v.length;
  };
  // Drift at the fit's common time t* per width (mean over seeds), interpolated as the fit does.
  const atT = (w) => {
    const v = [...new Set(final.filter((x) => x.width === w).map((x) => x.seed))].map((s) =>
      driftAt(r.rows.filter((x) => x.width === w && x.seed === s && x.step > 0).sort((a, b) => a.t - b.t), r.fit.t),
    );
    return v.reduce((a, b) => a + b, 0) / v.length;
  };
  results.push({
    label,
    arch,
    fit: { ...r.fit, widthThreshold: th.fit.widthThreshold },
    perWidth: widths.map((w) => ({
      width: w,
      t: mean(w, 't'),
      drift: mean(w, 'drift'),
      driftAtT: atT(w),
      initialRate: runMean(w, 'initialRate'),
      initFluctuation: runMean(w, 'initFluctuation'),
      linGap0: mean(w, 'linGap0'),
      linGapInf: mean(w, 'linGapInf'),
      loss: mean(w, 'loss'),
    })),
    rows: r.rows,
    runs: r.runs,
    thresholdRuns: th.thresholdRuns,
    notes: [...r.notes, ...th.notes],
    seconds: (performance.now() - t) / 1000,
  });
  console.log(`${label}: t* = ${fmt(r.fit.t, 3)}, drift slope at t* ${fmt(r.fit.driftSlopeAtT, 3)} (final step ${fmt(r.fit.driftSlope, 3)}), against t ${fmt(r.fit.driftTimeSlope, 3)}, initial-rate slope ${fmt(r.fit.initialRateSlope, 3)}, init fluctuation slope ${fmt(r.fit.initFluctuationSlope, 3)}, gap slopes ${fmt(r.fit.linGap0Slope, 3)} (Θ₀), ${fmt(r.fit.linGapInfSlope, 3)} (Θ_∞); threshold ${JSON.stringify(th.fit.widthThreshold)} (${fmt((performance.now() - t) / 1000, 3)} s)`);
}

const table = [
  '| net | width | final t = η·T | drift at T | drift at t* | ‖dΘ/dt\\|₀‖/‖Θ₀‖ | ‖Θ₀ − Θ_∞‖/‖Θ_∞‖ | test gap vs Θ₀ model | test gap vs Θ_∞ model | final loss |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...results.flatMap((r) =>
    r.perWidth.map(
      (p) =>
        `| ${r.label} | ${p.width} | ${fmt(p.t, 3)} | ${fmt(p.drift, 3)} | ${fmt(p.driftAtT, 3)} | ${p.initialRate === null ? 'n/a (not C¹)' : fmt(p.initialRate, 3)} | ${fmt(p.initFluctuation, 3)} | ${fmt(p.linGap0, 3)} | ${fmt(p.linGapInf, 3)} | ${fmt(p.loss, 2)} |`,
    ),
  ),
  '',
  '| net | t* | slope: drift at t* | slope: drift at T | slope: drift vs t | slope: initial rate | slope: init fluctuation | slope: gap vs Θ₀ | slope: gap vs Θ_∞ | width threshold (samples → width) | exponent |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => {
    const w = r.fit.widthThreshold;
    return `| ${r.label} | ${fmt(r.fit.t, 3)} | ${fmt(r.fit.driftSlopeAtT, 3)} | ${fmt(r.fit.driftSlope, 3)} | ${fmt(r.fit.driftTimeSlope, 3)} | ${r.fit.initialRateSlope === null ? 'n/a' : fmt(r.fit.initialRateSlope, 3)} | ${fmt(r.fit.initFluctuationSlope, 3)} | ${fmt(r.fit.linGap0Slope, 3)} | ${fmt(r.fit.linGapInfSlope, 3)} | ${w.samples.map((m, i) => `${m} → ${w.widths[i] ?? 'none'}`).join(', ')} | ${fmt(w.exponent, 3)} |`;
  }),
].join('\n');
console.log(table);

mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), quick, setting: { d, nTrain, nTest: T.length, widths, steps, seeds, samples, thresholdWidths, lr: 'n/λ_max(Θ₀)', init: 'standard', initialRate: 'central difference, ε = 1e−3·η (float64 CPU)' }, results, table, seconds: (performance.now() - t0) / 1000 }, null, 1) + '\n',
);
await saveFigure('li2020', 'dynamics', {
  title: 'Li, Luo, Yip (finite width): NTK drift and initialisation fluctuation against width',
  panels: [
    {
      title: `‖Θ_T − Θ₀‖/‖Θ₀‖ after ${steps} GD steps (points only: ‖Θ₀ − Θ_∞‖/‖Θ_∞‖)`,
      x: { title: 'width', scale: 'log' },
      y: { title: 'relative change', scale: 'log' },
      series: results.flatMap((r) => [
        { name: `${r.label}: drift`, x: widths, y: r.perWidth.map((p) => p.drift), mark: 'line+points' },
        { name: `${r.label}: init fluctuation`, x: widths, y: r.perWidth.map((p) => p.initFluctuation), mark: 'points' },
      ]),
    },
    {
      title: 'test gap ‖f_T − f_lin,T‖/‖f_T‖ (Θ₀: lines, Θ_∞: points only)',
      x: { title: 'width', scale: 'log' },
      y: { title: 'relative gap', scale: 'log' },
      series: results.flatMap((r) => [
        { name: `${r.label}: Θ₀`, x: widths, y: r.perWidth.map((p) => p.linGap0), mark: 'line+points' },
        { name: `${r.label}: Θ_∞`, x: widths, y: r.perWidth.map((p) => p.linGapInf), mark: 'points' },
      ]),
    },
  ],
});
console.log(`wrote ${out} (${fmt((performance.now() - t0) / 1000, 3)} s)`);
