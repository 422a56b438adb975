// Prints the conv Monte Carlo agreement table (cases and rule of test/montecarlo-conv.test.ts):
// `npx tsx scripts/mc-conv-report.ts [width samples seed]` (default CONV_MC_OPTIONS, as the test).
import { compareConv, CONV_MC_OPTIONS, CONV_SUITE_COMPARISONS, CONV_Z_CRIT, loadConvReference, sampleConv } from '../test/mc-conv.js';

const [w, s, seed] = process.argv.slice(2).map(Number);
const opts = { width: w || CONV_MC_OPTIONS.width, samples: s || CONV_MC_OPTIONS.samples, seed: seed || CONV_MC_OPTIONS.seed };
const ref = loadConvReference();
console.log(
  `Rule: |z| ≤ ${CONV_Z_CRIT.toFixed(3)} (Bonferroni over ${CONV_SUITE_COMPARISONS} comparisons, family-wise 1e−3); ` +
    `widths ${opts.width} and ${2 * opts.width}, ${opts.samples} networks each, Richardson-extrapolated; entry (x1, x2) shown\n`,
);
console.log('| configuration | NNGP analytic | NNGP MC ± s.e. | z | NTK analytic | NTK MC ± s.e. | z | max \\|z\\| (12) |\n|---|---|---|---|---|---|---|---|');
const fmt = (v: number): string => v.toFixed(4);
const runs = new Map<string, ReturnType<typeof sampleConv>>();
for (const c of ref.cases) {
  const r = sampleConv(c.spec, ref.images[c.images], opts);
  runs.set(c.name, r);
  const cmp = compareConv(r, c);
  const row = (k: 'nngp' | 'ntk'): string => {
    const x = cmp.rows.find((q) => q.kernel === k && q.i === 0 && q.j === 1)!;
    return `${fmt(x.analytic)} | ${fmt(x.mean)} ± ${fmt(x.se)} | ${x.z.toFixed(2)}`;
  };
  console.log(`| ${c.name} | ${row('nngp')} | ${row('ntk')} | ${cmp.maxZ.toFixed(2)} |`);
}
console.log('\nPower (the same runs against wrong formulas):\n\n| wrong formula | sampled configuration | max \\|z\\| |\n|---|---|---|');
for (const x of ref.wrong) console.log(`| ${x.what} | ${x.case} | ${compareConv(runs.get(x.case)!, x).maxZ.toFixed(1)} |`);
