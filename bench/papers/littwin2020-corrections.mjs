// Littwin & Wolf (arXiv 2001.10460), finite-width corrections: the sampled Var/mean² of the
// empirical Θ(x,x) beside the leading-order closed forms of src/analysis/finite-width.ts
// (derived in ../shared/research/wave2.md §3.3, not the paper's own formulas, which could not be
// recovered). Families × depths × widths; the DenseNet has no closed form and is measured only.
// Writes bench/results/littwin2020-corrections.json and docs/figures/littwin2020-corrections.svg.
// Slow on purpose (587 s at 500 networks per cell on this shared 2-core machine, the `seconds` of its
// JSON): `npm run build && node bench/papers/littwin2020-corrections.mjs`, or with every paper by
// run-all.mjs (`npm run papers`). SAMPLES=… and QUICK=1 (small grid) for a trial run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { widthFluctuations } from '../../dist/index.js';
import { fluctuationsReport, fluctuationPredictRows, reportJsonReplacer } from '../../dist/analysis/report.js';
import { check, fmt, saveFigure } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.env.QUICK === '1';
const samples = Number(process.env.SAMPLES ?? (quick ? 100 : 500));
const widths = quick ? [32, 64] : [64, 128, 256];
const depths = quick ? [1, 2, 4] : [1, 2, 4, 8, 16, 32];
// The DenseNet's cost grows like L²: it gets the two smaller widths only.
const denseWidths = widths.slice(0, 2);
const t0 = performance.now();
const claims = [];
const opts = { depths, samples, seed: 0, maxWork: 1e12 };
const main = await widthFluctuations({ ...opts, families: ['mlp', 'resnet-const', 'resnet-sqrt'], widths });
const dense = await widthFluctuations({ ...opts, families: ['densenet'], widths: denseWidths });
const r = { ...main, cells: [...main.cells, ...dense.cells], fits: [...main.fits, ...dense.fits], seconds: main.seconds + dense.seconds };
// The crossover to exponential growth needs L/n up to ~1 and beyond: narrow widths, in the figure and
// in crossoverRows only (not in the table or the fits, which are about the 1/n regime).
const crossWidths = quick ? [16] : [16, 32];
const cross = await widthFluctuations({ ...opts, families: ['mlp', 'resnet-const'], widths: crossWidths });
const crossoverRows = fluctuationPredictRows(cross);
const rows = fluctuationPredictRows(r);
const cell = (f, L, n) => r.cells.find((c) => c.family === f && c.depth === L && c.width === n);
const fit = (f) => r.fits.find((x) => x.family === f);

// The table: n·v measured ± se against the closed form's n·v, per family and depth, one column per width.
const lines = [`| family | L | closed form n·v | ${widths.map((n) => `n = ${n}: n·v measured`).join(' | ')} |`, `|---|---|---|${widths.map(() => '---|').join('')}`];
for (const f of ['mlp', 'resnet-const', 'resnet-sqrt', 'densenet']) {
  for (const L of depths) {
    const cs = widths.map((n) => cell(f, L, n));
    const pred = cs.find((c) => c)?.prediction.coefficient;
    lines.push(
      `| ${f} | ${L} | ${pred == null ? '—' : fmt(pred, 4)} | ` +
        cs.map((c) => (c ? `${fmt(c.width * c.diagonal.relVar, 3)} ± ${fmt(c.width * c.diagonal.relVarSE, 2)}${c.depth / c.width > 1 / 16 + 1e-12 && pred != null ? ' *' : ''}` : '—')).join(' | ') +
        ' |',
    );
  }
}
const table = lines.join('\n');
console.log(`littwin2020-corrections: ${samples} networks per cell\n${table}`);

const cf = (f) => fit(f).closedForm;
const ratioText = (f) => `${fmt(cf(f).ratio, 3)} ± ${fmt(cf(f).ratioSE, 2)} (${cf(f).cells} cells, χ²/cell ${fmt(cf(f).chi2PerCell, 3)})`;
const within = (f, tol) => Math.abs(cf(f).ratio - 1) < tol + 2 * cf(f).ratioSE;
const L1 = widths.map((n) => cell('mlp', 1, n));
check(
  claims,
  'finite-width corrections: Var/mean² of Θ(x,x) = c/n + O(1/n²) with the leading-order c (wave2 §3.3: one hidden layer exact, MLP L(11L+7)/(3(L+1)), ResNet sum) — derived here, not the paper’s own formulas',
  `measured/predicted over L/n ≤ 1/16: MLP ${ratioText('mlp')}; ResNet α = 1 ${ratioText('resnet-const')}; α = L^−½ ${ratioText('resnet-sqrt')}. ` +
    `One hidden layer (exact): n·v = ${L1.map((c) => fmt(c.width * c.diagonal.relVar, 3)).join(', ')} vs 3; Θ(x,z) at ρ = ½: ${L1.map((c) => fmt(c.width * c.offDiagonal.relVar, 3)).join(', ')} vs ${fmt(L1[0].prediction.offDiagonalCoefficient, 4)}`,
  ['mlp', 'resnet-const', 'resnet-sqrt'].every((f) => within(f, 0.1)),
  'partly',
);
const big = widths[0];
const Lmax = depths[depths.length - 1];
const mlpBig = cell('mlp', Lmax, big);
const crossCell = (f, L, n) => cross.cells.find((c) => c.family === f && c.depth === L && c.width === n);
const crossText = crossWidths
  .map((n) => {
    const c = crossCell('mlp', Lmax, n);
    return `L/n = ${fmt(Lmax / n, 3)}: ln(1+v) = ${fmt(Math.log1p(c.diagonal.relVar), 3)} (leading order ${fmt(Math.log1p(c.prediction.diagonal), 3)}, 5·L/n = ${fmt((5 * Lmax) / n, 3)}; Var(ln Θ) = ${fmt(c.diagonal.logVar, 3)})`;
  })
  .join('; ');
check(
  claims,
  'the 1/n expansion breaks down at L/n ~ 1: the MLP bends from its leading order towards exponential growth (Hanin & Nica rate 5)',
  `MLP at L/n = ${fmt(Lmax / big, 3)} (n = ${big}): ln(1+v) = ${fmt(Math.log1p(mlpBig.diagonal.relVar), 3)} vs leading order ln(1 + c/n) = ${fmt(Math.log1p(mlpBig.prediction.diagonal), 3)} and 5·L/n = ${fmt((5 * Lmax) / big, 3)}; ` +
    `n·v at L = ${Lmax}: ${widths.map((n) => `${fmt(n * cell('mlp', Lmax, n).diagonal.relVar, 3)} (n = ${n})`).join(', ')} vs ${fmt(mlpBig.prediction.coefficient, 4)}; ` +
    `narrow widths: ${crossText}`,
  mlpBig.diagonal.relVar > mlpBig.prediction.diagonal,
);
const dq = fit('densenet').depthExponents.map((e) => `q = ${fmt(e.exponent, 2)} ± ${fmt(e.exponentSE, 1)} (n = ${e.width})`).join(', ');
const dnv = (n) => depths.map((L) => fmt(n * cell('densenet', L, n).diagonal.relVar, 3)).join(', ');
check(
  claims,
  'DenseNet: convergence at a rate independent of depth (revisited beside the closed forms; no DenseNet closed form is derived)',
  `n·v at L = ${depths.join(', ')}: ${denseWidths.map((n) => `n = ${n}: ${dnv(n)}`).join('; ')}; v ∝ L^q: ${dq}. ` +
    `Against the predictions at L = ${Lmax}: MLP ${fmt(cell('mlp', Lmax, big).prediction.coefficient, 3)}, ResNet α = 1 ${fmt(cell('resnet-const', Lmax, big).prediction.coefficient, 3)}, α = L^−½ ${fmt(cell('resnet-sqrt', Lmax, big).prediction.coefficient, 3)}`,
  fit('densenet').depthExponents.every((e) => Math.abs(e.exponent) < 2 * e.exponentSE + 0.05),
  'partly',
);

const report = fluctuationsReport({ ...r, cells: [...r.cells, ...cross.cells] }, { samples, depths, widths, denseWidths, crossWidths, seed: 0 }, { predict: true });
const out = join(here, '..', 'results', 'littwin2020-corrections.json');
mkdirSync(dirname(out), { recursive: true });
if (!quick) {
  writeFileSync(
    out,
    JSON.stringify({ paper: 'littwin2020', date: new Date().toISOString().slice(0, 10), samples, seconds: (performance.now() - t0) / 1000, rows, fits: r.fits, crossoverRows, claims, table }, reportJsonReplacer, 1) + '\n',
  );
  console.log(`  wrote ${out}`);
  await saveFigure('littwin2020', 'corrections', report.figure);
}
for (const s of report.summary) console.log(`  ${s}`);
