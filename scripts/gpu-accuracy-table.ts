// Measures the WebGPU-vs-float64 accuracy table of the README (every preset × depth, the inputs of
// test/gpu-accuracy.test.ts, and its deep constant-α cases on parallel inputs) and, with --write,
// replaces the table between the README markers.
// Run: npx tsx scripts/gpu-accuracy-table.ts [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import { getGpu, kernel, kernelCpu } from '../src/index.js';
import { describeAdapter } from '../src/gpu/device.js';
import { releaseNodeWebGPU, useNodeWebGPU } from '../src/node/webgpu.js';
import { ACCURACY_DEPTHS, accuracyPresets, CONSTANT_ALPHA_CASES, toleranceAt } from '../test/gpu/accuracy-cases.js';
import { accuracyInputs, normalisedError, parallelInputs } from '../test/gpu/inputs.js';
import { isAngleProgram } from '../src/exec/angle-table.js';
import { compile } from '../src/program/compile.js';
import { toSpec } from '../src/api.js';
import type { Spec } from '../src/spec/types.js';

useNodeWebGPU();
const ctx = await getGpu();
if (!ctx) throw new Error('no WebGPU adapter');
const X = accuracyInputs();
const n = X.length;
const presets = accuracyPresets(1).map((r) => r.split(':')[0]!);
const cell = new Map<string, string>();
const tableCell = new Map<string, string>();
let worstRatio = 0;
const hasTable = (spec: string | Spec) => isAngleProgram(compile(toSpec(spec)));
/** The errors of the WebGPU result against the CPU's, both kernels, as "NNGP / NTK"; the larger one returned too. */
async function errors(spec: string | Spec, rows: number[][], cpu: ReturnType<typeof kernelCpu>, angleTable: boolean): Promise<[string, number] | null> {
  const phases: Record<string, number> = {};
  const gpu = await kernel(spec, rows, null, { backend: 'webgpu', angleTable, phases });
  if (angleTable && !phases.angleTableSegments) return null; // no table within its limits: the recursion ran
  const ek = normalisedError(cpu.nngp!, gpu.nngp!, rows.length);
  const et = normalisedError(cpu.ntk!, gpu.ntk!, rows.length);
  return [`${ek.toExponential(1)} / ${et.toExponential(1)}`, Math.max(ek, et)];
}
for (const L of ACCURACY_DEPTHS) {
  for (const ref of accuracyPresets(L)) {
    const cpu = kernelCpu(ref, X);
    const key = `${ref.split(':')[0]}|${L}`;
    const [text, worst] = (await errors(ref, X, cpu, false))!;
    worstRatio = Math.max(worstRatio, worst / toleranceAt(L));
    cell.set(key, text);
    if (hasTable(ref)) {
      const t = await errors(ref, X, cpu, true);
      if (t) worstRatio = Math.max(worstRatio, t[1] / toleranceAt(L));
      tableCell.set(key, t ? t[0] : 'recursion');
    } else tableCell.set(key, '—');
  }
}
// The deep constant-α cases (issue 14), on the inputs above plus exactly parallel ones.
const Y = [...parallelInputs(), ...X];
const deep: string[] = [];
for (const { name, spec } of CONSTANT_ALPHA_CASES) {
  const cpu = kernelCpu(spec, Y);
  const [text, worst] = (await errors(spec, Y, cpu, false))!;
  worstRatio = Math.max(worstRatio, worst / 1e-5);
  const t = hasTable(spec) ? await errors(spec, Y, cpu, true) : null;
  if (t) worstRatio = Math.max(worstRatio, t[1] / 1e-5);
  deep.push(`| ${typeof spec === 'string' ? `\`${name}\`` : name} | ${text} | ${hasTable(spec) ? (t ? t[0] : 'recursion') : '—'} |`);
}
const lines = [
  `Adapter: ${describeAdapter(ctx.adapter)} (${ctx.runtime}); ${new Date().toISOString().slice(0, 10)}.`,
  `Max normalised error NNGP / NTK over ${n} inputs (near-duplicates 1e−6 … 1e−3 rad, antipodes, norms 2e−3 … 800); target 1e−5 up to depth 1000, 1e−4 at 10 000; worst error / target = ${worstRatio.toFixed(2)}.`,
  '',
  `| preset | ${ACCURACY_DEPTHS.map((L) => `L = ${L}`).join(' | ')} |`,
  `|---|${ACCURACY_DEPTHS.map(() => '---').join('|')}|`,
  ...presets.map((p) => `| \`${p}\` | ${ACCURACY_DEPTHS.map((L) => cell.get(`${p}|${L}`)).join(' | ')} |`),
  '',
  'The same inputs from the angle table (`angleTable: true`; the path of bias-free ReLU networks from 2^17 pairs, src/exec/angle-table.ts; — where the network has biases, "recursion" where no table passed its check within its limits):',
  '',
  `| preset | ${ACCURACY_DEPTHS.map((L) => `L = ${L}`).join(' | ')} |`,
  `|---|${ACCURACY_DEPTHS.map(() => '---').join('|')}|`,
  ...presets.map((p) => `| \`${p}\` | ${ACCURACY_DEPTHS.map((L) => tableCell.get(`${p}|${L}`)).join(' | ')} |`),
  '',
  `Deep constant-α networks over ${Y.length} inputs (the ${n} above and the exactly parallel u, 10u, 0.1u, 100u, 2u, whose norm ratios are not powers of two); target 1e−5:`,
  '',
  '| network | NNGP / NTK | from the angle table |',
  '|---|---|---|',
  ...deep,
  '',
  `Presets as run (L = depth): ${ACCURACY_DEPTHS.map((L) => `L = ${L}: ${accuracyPresets(L).map((r) => `\`${r}\``).join(', ')}`).filter((_, i, a) => i === 0 || a[i]!.replace(/\d+/g, '') !== a[i - 1]!.replace(/\d+/g, '')).join('; ')} (ResNets have constant α up to depth 1000 and switch to α = L^(−γ) at 10 000, where (1 + α²)^L would overflow float64).`,
];
const table = lines.join('\n');
console.log(table);
if (process.argv.includes('--write')) {
  const readme = readFileSync('README.md', 'utf8');
  const start = '<!-- gpu-accuracy-table:start -->';
  const end = '<!-- gpu-accuracy-table:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < 0) throw new Error('README markers not found');
  writeFileSync('README.md', readme.slice(0, a + start.length) + '\n' + table + '\n' + readme.slice(b));
}
await releaseNodeWebGPU();
