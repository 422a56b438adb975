// Prints the Monte Carlo agreement table of the test suite (same cases, seeds and rule as
// test/montecarlo-*.test.ts): `npx tsx scripts/mc-report.ts`.
import { CUSTOM } from '../test/fixtures.js';
import { compareWithMonteCarlo, PRESET_CASES, SUITE_COMPARISONS, Z_CRIT } from '../test/mc.js';

console.log(`Rule: |z| ≤ ${Z_CRIT.toFixed(3)} (Bonferroni over ${SUITE_COMPARISONS} comparisons, family-wise 1e−3); widths 64 and 128, 256 networks each, Richardson-extrapolated\n`);
console.log('| case | max \\|z\\| (12 comparisons) | largest standard error / kernel scale |\n|---|---|---|');
for (const [name, arch] of [...PRESET_CASES.map((c) => [c, c] as const), ...Object.entries(CUSTOM)]) {
  const r = compareWithMonteCarlo(arch);
  console.log(`| ${typeof arch === 'string' ? `\`${name}\`` : `custom: ${name}`} | ${r.maxZ.toFixed(2)} | ${(100 * r.maxRelSe).toFixed(1)}% |`);
}
