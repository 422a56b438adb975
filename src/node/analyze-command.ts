/**
 * `webntk analyze <kind>`: runs one analysis of src/analysis/ and writes its report as
 * PREFIX.json (every number), PREFIX.csv (the main table) and PREFIX.svg (the figure), all three
 * or none. Option parsing lives here; the numbers and the figures come from the library.
 */
import Papa from 'papaparse';
import { Command, Option } from 'commander';
import { InputError } from '../errors.js';
import type { BackendChoice } from '../api.js';
import { renderSvg } from '../plot/chart.js';
import type { AnalysisReport } from '../analysis/report.js';
import { depthReport, profileReport } from '../analysis/report.js';
import { cuspSlopeEstimate, kernelProfile } from '../analysis/profile.js';
import { depthSweep } from '../analysis/depth.js';
import { circleInterpolant } from '../analysis/smoothness.js';
import { readArch } from './files.js';
import { writeTextFilesAtomic } from './files.js';
import { useNodeWebGPU } from './webgpu.js';
import type { CliIO } from './cli.js';
import type { KernelKind } from '../cpu/gram.js';

export interface CommonOptions {
  arch?: string[];
  out?: string;
  backend: BackendChoice;
  json?: boolean;
  quiet?: boolean;
}

/** A number option: finite, and within [min, max] when given. */
export function num(v: string, name: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InputError(`${name} must be a number, got "${v}"`);
  if (opts.integer && !Number.isInteger(n)) throw new InputError(`${name} must be an integer, got "${v}"`);
  if (opts.min !== undefined && n < opts.min) throw new InputError(`${name} must be ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && n > opts.max) throw new InputError(`${name} must be ≤ ${opts.max}, got ${v}`);
  return n;
}

/** A comma-separated list of numbers. */
export function numList(v: string, name: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((s) => s === '')) throw new InputError(`${name} must be a comma-separated list of numbers, got "${v}"`);
  return parts.map((s, i) => num(s, `${name}[${i}]`, opts));
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The output files of a prefix: "out/fig" → out/fig.json, out/fig.csv, out/fig.svg. */
export function outputPaths(prefix: string): { json: string; csv: string; svg: string } {
  const base = prefix.replace(/\.(json|csv|svg)$/i, '');
  if (base === '') throw new InputError('--out must name a file prefix, e.g. --out results/profile');
  return { json: `${base}.json`, csv: `${base}.csv`, svg: `${base}.svg` };
}

function archs(o: CommonOptions): string[] {
  if (!o.arch || o.arch.length === 0) throw new InputError('give at least one --arch');
  return o.arch;
}

/** Writes (or prints) a report. */
export async function emit(report: AnalysisReport, o: CommonOptions, io: CliIO): Promise<void> {
  const svg = await renderSvg(report.figure);
  const json = JSON.stringify(
    { analysis: report.analysis, parameters: report.parameters, summary: report.summary, data: report.data },
    (_, v: unknown) => (v instanceof Float64Array || v instanceof Float32Array ? Array.from(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
    1,
  );
  const csv = Papa.unparse({ fields: report.table.columns, data: report.table.rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : c))) });
  if (o.out !== undefined) {
    const p = outputPaths(o.out);
    writeTextFilesAtomic([
      { path: p.json, text: json + '\n' },
      { path: p.csv, text: csv + '\n' },
      { path: p.svg, text: svg + '\n' },
    ]);
    if (o.json) io.out(JSON.stringify({ analysis: report.analysis, outputs: p, summary: report.summary }, null, 2) + '\n');
    else if (!o.quiet) io.out(`${report.summary.join('\n')}\nwrote ${p.json}, ${p.csv}, ${p.svg}\n`);
    return;
  }
  if (o.json) io.out(json + '\n');
  else if (!o.quiet) io.out(`${report.summary.join('\n')}\n(no --out: nothing written)\n`);
}

function withCommon(cmd: Command, defaultBackend: BackendChoice = 'cpu'): Command {
  return cmd
    .option('--out <prefix>', 'write PREFIX.json, PREFIX.csv and PREFIX.svg (all or none)')
    .addOption(new Option('--backend <name>', 'cpu (float64 reference), webgpu (f32; an error without an adapter) or auto').choices(['cpu', 'webgpu', 'auto']).default(defaultBackend))
    .option('--json', 'print the JSON report (or, with --out, a JSON summary) on stdout')
    .option('--quiet', 'no summary lines');
}

function kindOption(): Option {
  return new Option('--kind <kernel>', 'nngp or ntk').choices(['nngp', 'ntk']).default('ntk');
}

async function prepareBackend(o: CommonOptions): Promise<void> {
  if (o.backend !== 'cpu') useNodeWebGPU();
}

/** Adds `analyze` and its kinds to the program. */
export function addAnalyzeCommand(program: Command, io: CliIO): void {
  const analyze = program
    .command('analyze')
    .description('Kernel analyses with figures: profile, depth, spectrum, decay, infinite, fluctuations (see each --help).')
    .addHelpText(
      'after',
      `
Each analysis writes PREFIX.json (every number), PREFIX.csv (its main table) and PREFIX.svg (its
figure, drawn with Vega-Lite) with --out PREFIX, all three or none.

Examples:
  webntk analyze profile --arch tirer2021:depth=5,alpha=0.1 --arch mlp:depth=5 --out profile
  webntk analyze depth --arch arora2019:depth=100000 --rho 0 --out depth`,
    );

  withCommon(
    analyze
      .command('profile')
      .description("K(θ)/K(0) for unit inputs at angle θ, and the normalised cusp slope −K'(0⁺)/K(0) (Tirer et al.).")
      .option('--arch <spec>', 'preset reference or JSON spec file (repeatable)', collect)
      .addOption(kindOption())
      .option('--points <n>', 'equally spaced angles in [0, π]', '181')
      .option('--dim <d>', 'input dimension (matters only with biases and inputScale "dim")', '2')
      .option('--no-interpolant', "skip Tirer et al.'s interpolation experiment (6 points on the circle, 4096 test angles)"),
  )
    .addHelpText('after', '\nExample:\n  webntk analyze profile --arch tirer2021:depth=5,alpha=0.1 --arch tirer2021:depth=5,alpha=1 --arch mlp:depth=5 --out tirer')
    .action(async (o: CommonOptions & { kind: KernelKind; points: string; dim: string; interpolant: boolean }) => {
      await prepareBackend(o);
      const points = num(o.points, '--points', { min: 2, max: 1_000_000, integer: true });
      const dim = num(o.dim, '--dim', { min: 2, integer: true });
      const items = [];
      for (const a of archs(o)) {
        const arch = readArch(a);
        const profile = await kernelProfile(arch, { kind: o.kind, points, dim, backend: o.backend });
        const cusp = await cuspSlopeEstimate(arch, { kind: o.kind, dim, backend: o.backend });
        const interpolant = o.interpolant ? await circleInterpolant(arch, { kind: o.kind, backend: o.backend }) : undefined;
        items.push({ arch: a, profile, cusp, ...(interpolant ? { interpolant } : {}) });
      }
      await emit(profileReport(items, { archs: o.arch, kind: o.kind, points, dim, backend: items[0]!.profile.backend }), o, io);
    });

  withCommon(
    analyze
      .command('depth')
      .description("Every depth of each arch's depth loop in one pass for two unit inputs at correlation ρ: normalised NTK and 1 − ρ_L (Hayou et al.).")
      .option('--arch <spec>', 'preset reference or JSON spec file (repeatable); its depth is the largest L', collect)
      .option('--rho <r>', 'input correlation ρ ∈ [−1, 1]', '0'),
  )
    .addHelpText('after', '\nExample:\n  webntk analyze depth --arch arora2019:depth=100000 --arch resnet:depth=100000,alpha=1 --rho 0 --out depth')
    .action(async (o: CommonOptions & { rho: string }) => {
      await prepareBackend(o);
      const rho = num(o.rho, '--rho', { min: -1, max: 1 });
      const items = [];
      for (const a of archs(o)) items.push({ arch: a, sweep: await depthSweep(readArch(a), rho, { backend: o.backend }) });
      await emit(depthReport(items, { archs: o.arch, rho, backend: items[0]!.sweep.backend }), o, io);
    });
}
