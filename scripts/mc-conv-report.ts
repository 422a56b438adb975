// The conv Monte Carlo tables: `npx tsx scripts/mc-conv-report.ts` prints the engine check
// (cases, rule and seeds of test/montecarlo-conv-engine.test.ts: kernelCpu against the oracle, and
// the power rows); `npx tsx scripts/mc-conv-report.ts --fixtures [width samples seed]` the oracle
// against the numpy fixtures (test/montecarlo-conv.test.ts; default CONV_MC_OPTIONS, as the test).
import { toSpec } from '../src/api.js';
import { compareConv, CONV_MC_OPTIONS, CONV_SUITE_COMPARISONS, CONV_Z_CRIT, loadConvReference, sampleConv } from '../test/mc-conv.js';
import {
  ENGINE_CASES,
  ENGINE_IMAGES,
  ENGINE_MC_OPTIONS,
  ENGINE_SUITE_COMPARISONS,
  ENGINE_Z_CRIT,
  engineKernels,
  engineSamples,
  sampleEngineCase,
  wrongSpec,
  type WrongVariant,
} from '../test/mc-conv-engine-cases.js';

function engineReport(): void {
  const { width, samples } = ENGINE_MC_OPTIONS;
  console.log(
    `Rule: |z| ≤ ${ENGINE_Z_CRIT.toFixed(3)} (Bonferroni over ${ENGINE_SUITE_COMPARISONS} comparisons, family-wise 1e−3); ` +
      `widths ${width} and ${2 * width}, ${samples} networks each (${2 * samples} for an eq readout), Richardson-extrapolated; engine: kernelCpu, float64\n`,
  );
  console.log('| case | N | networks | max \\|z\\| NNGP | max \\|z\\| NTK | tolerance | max rel. s.e. | time (s) |\n|---|---|---|---|---|---|---|---|');
  const runs = ENGINE_CASES.map((c, k) => {
    const t0 = performance.now();
    const images = ENGINE_IMAGES[c.images];
    const r = sampleEngineCase(k);
    const cmp = compareConv(r, engineKernels(c.arch, images));
    const secs = (performance.now() - t0) / 1000;
    const maxOf = (kind: 'nngp' | 'ntk'): string => Math.max(...cmp.rows.filter((q) => q.kernel === kind).map((q) => Math.abs(q.z))).toFixed(2);
    const shape = `${images.shape[0]} × [${images.shape.slice(1).join(', ')}]`;
    console.log(`| \`${c.name}\` | ${shape} | ${engineSamples(c)} | ${maxOf('nngp')} | ${maxOf('ntk')} | ${ENGINE_Z_CRIT.toFixed(2)} | ${(100 * cmp.maxRelSe).toFixed(1)}% | ${secs.toFixed(1)} |`);
    return r;
  });
  const power: [string, string, WrongVariant][] = [
    ['conv normaliser 1/q instead of 1/q^D (2-D, gap)', 'cntk:depth=2,readout=gap,pad=zero', 'norm-q'],
    ['conv normaliser 1/q instead of 1/q^D (2-D, flatten)', 'cntk:depth=2,readout=flatten,pad=circular', 'norm-q'],
    ['flatten as a sum instead of a mean', 'cntk:depth=2,readout=flatten,pad=zero', 'readout-sum'],
    ['gap as a sum instead of a mean', 'cntk:depth=2,readout=gap,pad=circular', 'readout-sum'],
    ['gap as a sum instead of a mean (2-D)', 'rescnn:depth=2,alpha0=1,gamma=0.5,readout=gap,pad=zero', 'readout-sum'],
  ];
  console.log('\nPower (the same runs against the engine kernel of a spec that is the wrong formula):\n');
  console.log('| wrong formula | sampled case | spec change | max \\|z\\| |\n|---|---|---|---|');
  for (const [what, name, variant] of power) {
    const k = ENGINE_CASES.findIndex((c) => c.name === name);
    const c = ENGINE_CASES[k]!;
    const images = ENGINE_IMAGES[c.images];
    const w = wrongSpec(toSpec(c.arch), variant, images.shape.slice(2));
    const change = `${variant === 'norm-q' ? 'conv' : 'readout'} weightVar × ${w.factor}`;
    console.log(`| ${what} | \`${name}\` | ${change} | ${compareConv(runs[k]!, engineKernels(w.spec, images)).maxZ.toFixed(1)} |`);
  }
}

function fixturesReport(args: number[]): void {
  const [w, s, seed] = args;
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
}

const argv = process.argv.slice(2);
if (argv[0] === '--fixtures') fixturesReport(argv.slice(1).map(Number));
else engineReport();
