/**
 * `webntk analyze <kind>`: runs one analysis of src/analysis/ and writes its report as
 * PREFIX.json (every number), PREFIX.csv (the main table) and PREFIX.svg (the figure), all three
 * or none. Option parsing lives here; the numbers and the figures come from the library.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { Command, Option } from 'commander';
import { InputError } from '../errors.js';
import { program as archProgram, resolveBackend, takesImages, type Arch, type BackendChoice, type KernelInput } from '../api.js';
import type { AnalysisReport } from '../analysis/report.js';
import { convDecayReport, decayReport, depthReport, localityReport, fluctuationsReport, infiniteReport, leadingReport, profileReport, reportJsonReplacer, spectrumReport } from '../analysis/report.js';
import { FLUCTUATION_FAMILIES, widthFluctuations, type FluctuationFamilyName } from '../analysis/fluctuations.js';
import { conditioningVsDepth, leadingEigenvalues, SPECTRUM_DENSE_MAX_N } from '../analysis/spectrum.js';
import { MAX_RESULT_ELEMENTS } from '../result.js';
import { spherePoints } from '../mc/rng.js';
import { toMatrix } from '../matrix.js';
import { resntkDepthTableOn } from '../analysis/infinite.js';
import { inputCount, kernelInputOf, parseLayout, readInputArray, type InputArray } from './files.js';
import { spectralDecay } from '../analysis/spectral.js';
import { checkConvSpectralSpec, convDecay, convLocality, type ConvGridOptions } from '../analysis/conv-spectral.js';
import { multispherePoints, checkMultisphereSize } from '../analysis/multisphere.js';
import { cuspSlopeEstimate, kernelProfile } from '../analysis/profile.js';
import { depthSweep } from '../analysis/depth.js';
import { dynamicsReport, dynamicsSweep } from '../analysis/dynamics.js';
import type { TrainInit } from '../mc/train.js';
import { circleInterpolant } from '../analysis/smoothness.js';
import { readArch } from './files.js';
import { checkImageShape } from '../analysis/image-pair.js';
import { parseDepthList, parseSweepDepths } from './lists.js';
import { checkDistinctPaths, checkOutputPath, writeTextFilesAtomic } from './files.js';
import { interruptionPoint } from './signals.js';
import { useNodeWebGPU } from './webgpu.js';
import type { CliIO } from './cli-io.js';
import { layoutOption } from './cli-options.js';
import type { KernelKind } from '../result.js';

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
  // "dir/" (or an existing folder) would give dir/.json, dir/.csv, dir/.svg: hidden files nobody asked for.
  const last = base.split(/[\\/]/).at(-1) ?? '';
  let isDir = false;
  try {
    isDir = base !== '' && statSync(base).isDirectory();
  } catch {
    // not there: a prefix
  }
  if (base === '' || last === '' || last === '.' || last === '..' || isDir) {
    throw new InputError(`--out ${prefix} is a folder; --out takes a file prefix (PREFIX.json, .csv and .svg are written), e.g. --out ${join(prefix, 'result')}`);
  }
  return { json: `${base}.json`, csv: `${base}.csv`, svg: `${base}.svg` };
}

function archs(o: CommonOptions): string[] {
  if (!o.arch || o.arch.length === 0) throw new InputError('give at least one --arch');
  return o.arch;
}

/** `--image-shape C,H,W` or `C,P`: the image pair of the one-angle analyses for conv specs. */
function imageShapeOf(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  return checkImageShape(numList(v, '--image-shape', { min: 1, integer: true }), '--image-shape');
}

/**
 * Which of the --arch values take images (conv specs). An option for one kind only, given when no
 * arch is of that kind, is refused rather than ignored.
 */
function imageArchs(list: string[], given: { imageShape?: boolean; dim?: boolean }): boolean[] {
  const conv = list.map((a) => takesImages(readArch(a)));
  if (given.imageShape && !conv.some(Boolean)) throw new InputError('--image-shape is for convolutional specs (their inputs are images); every --arch here is fully connected');
  if (given.dim && !conv.some((c) => !c)) throw new InputError('--dim is for fully connected specs; a convolutional spec takes --image-shape C,H,W or C,P');
  return conv;
}

/** Refuses a conv spec in an analysis defined for fully connected inputs (unit vectors, the sphere). */
function refuseConv(list: string[], analysis: string, why: string): void {
  for (const a of list) {
    if (takesImages(readArch(a))) throw new InputError(`analyze ${analysis}: --arch ${a} is convolutional, and ${why}`);
  }
}

/** Writes (or prints) a report. */
export async function emit(report: AnalysisReport, o: CommonOptions, io: CliIO): Promise<void> {
  // Vega and Vega-Lite take ~0.45 s to load: only the commands that draw pay for them.
  const { renderSvg } = await import('../plot/chart.js');
  const svg = await renderSvg(report.figure);
  const json = JSON.stringify(
    { analysis: report.analysis, parameters: report.parameters, summary: report.summary, data: report.data, ...report.top },
    reportJsonReplacer,
    1,
  );
  const csv = Papa.unparse({ fields: report.table.columns, data: report.table.rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : c))) });
  if (o.out !== undefined) {
    const p = outputPaths(o.out);
    await interruptionPoint(); // a signal during the analysis ends it here, before anything is written
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

function archOption(extra = ''): Option {
  return new Option('--arch <spec>', `preset reference or JSON spec file (repeatable)${extra}`).argParser(collect);
}

function kindOption(): Option {
  return new Option('--kind <kernel>', 'nngp or ntk').choices(['nngp', 'ntk']).default('ntk');
}

/** Before any computation: the output paths must be writable, and Node needs Dawn for WebGPU. */
async function prepareBackend(o: CommonOptions & { x?: string }): Promise<void> {
  if (o.out !== undefined) {
    const p = outputPaths(o.out);
    for (const path of Object.values(p)) checkOutputPath(path);
    const specs = Object.fromEntries((o.arch ?? []).filter((a) => a.endsWith('.json')).map((a, i) => [`--arch[${i}]`, a]));
    checkDistinctPaths({ '--x': o.x, ...specs }, { '--out (.json)': p.json, '--out (.csv)': p.csv, '--out (.svg)': p.svg });
  }
  if (o.backend !== 'cpu') useNodeWebGPU();
}

/** Adds `analyze` and its kinds to the program. */
export function addAnalyzeCommand(program: Command, io: CliIO): void {
  const analyze = program
    .command('analyze')
    .description('Kernel analyses with figures: profile, depth, spectrum, decay, conv-decay, locality, infinite, fluctuations, dynamics (see each --help).')
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
      .addOption(archOption())
      .addOption(kindOption())
      .option('--points <n>', 'equally spaced angles in [0, π]', '181')
      .option('--dim <d>', 'input dimension of fully connected specs (matters only with biases and inputScale "dim")', '2')
      .option(
        '--image-shape <shape>',
        'conv specs: C,H,W (images) or C,P (signals) of the seeded orthogonal image pair u, v, each scaled so that its mean per-pixel squared norm / C is 1; x = u, z(θ) = cos θ·u + sin θ·v (default 1,8,8)',
      )
      .option('--no-interpolant', "skip Tirer et al.'s interpolation experiment (6 points on the circle, 4096 test angles; about a minute per conv spec with a gap readout)"),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  webntk analyze profile --arch tirer2021:depth=5,alpha=0.1 --arch tirer2021:depth=5,alpha=1 --arch mlp:depth=5 --out tirer\n  webntk analyze profile --arch cntk:depth=5 --image-shape 3,8,8 --no-interpolant --out cntk',
    )
    .action(async (o: CommonOptions & { kind: KernelKind; points: string; dim: string; imageShape?: string; interpolant: boolean }, cmd: Command) => {
      await prepareBackend(o);
      const points = num(o.points, '--points', { min: 2, max: 1_000_000, integer: true });
      const dim = num(o.dim, '--dim', { min: 2, max: 65536, integer: true });
      const imageShape = imageShapeOf(o.imageShape);
      const conv = imageArchs(archs(o), { imageShape: imageShape !== undefined, dim: cmd.getOptionValueSource('dim') === 'cli' });
      const items = [];
      for (const [i, a] of archs(o).entries()) {
        const arch = readArch(a);
        // Fully connected specs take unit vectors in R^dim, conv specs the image pair.
        const inputs = conv[i] ? (imageShape ? { imageShape } : {}) : { dim };
        const profile = await kernelProfile(arch, { kind: o.kind, points, ...inputs, backend: o.backend });
        const cusp = await cuspSlopeEstimate(arch, { kind: o.kind, ...inputs, backend: o.backend });
        const interpolant = o.interpolant ? await circleInterpolant(arch, { kind: o.kind, backend: o.backend, ...(conv[i] && imageShape ? { imageShape } : {}) }) : undefined;
        items.push({ arch: a, profile, cusp, ...(interpolant ? { interpolant } : {}) });
      }
      const shapes = items.map((it) => it.profile.imageShape).find((x) => x);
      await emit(profileReport(items, { archs: o.arch, kind: o.kind, points, dim, ...(shapes ? { imageShape: shapes } : {}), backend: items[0]!.profile.backend }), o, io);
    });

  withCommon(
    analyze
      .command('depth')
      .description("Every depth of each arch's depth loop in one pass for two unit inputs at correlation ρ: normalised NTK and 1 − ρ_L (Hayou et al.).")
      .addOption(archOption('; its depth is the largest L'))
      .option('--rho <r>', 'input correlation ρ ∈ [−1, 1]', '0')
      .option('--ntk-limit <r>', 'the limit r∞ of the normalised NTK, if known (1/4 for ReLU MLPs at ρ < 1): also fit L·(r_L − r∞) against ln L')
      .option('--image-shape <shape>', 'conv specs: C,H,W or C,P of the seeded orthogonal image pair u, v (as in analyze profile); x = u, z = ρu + √(1−ρ²)·v (default 1,8,8)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  webntk analyze depth --arch arora2019:depth=100000 --arch belfer2021:depth=100000,alpha=1 --rho 0 --ntk-limit 0.25 --out depth\n  webntk analyze depth --arch cntk:depth=20,readout=flatten --rho 0.5 --image-shape 1,16 --out cntk-depth',
    )
    .action(async (o: CommonOptions & { rho: string; ntkLimit?: string; imageShape?: string }) => {
      await prepareBackend(o);
      const rho = num(o.rho, '--rho', { min: -1, max: 1 });
      const ntkLimit = o.ntkLimit !== undefined ? num(o.ntkLimit, '--ntk-limit', { min: -1, max: 1 }) : undefined;
      const imageShape = imageShapeOf(o.imageShape);
      const conv = imageArchs(archs(o), { imageShape: imageShape !== undefined });
      const items = [];
      for (const [i, a] of archs(o).entries()) {
        items.push({ arch: a, sweep: await depthSweep(readArch(a), rho, { backend: o.backend, ...(conv[i] && imageShape ? { imageShape } : {}) }) });
      }
      const shapes = items.map((it) => it.sweep.imageShape).find((x) => x);
      await emit(depthReport(items, { archs: o.arch, rho, ...(shapes ? { imageShape: shapes } : {}), backend: items[0]!.sweep.backend, ...(ntkLimit !== undefined ? { ntkLimit } : {}) }), o, io);
    });

  withCommon(
    analyze
      .command('decay')
      .description("Mercer eigenvalues per degree on the sphere S^(dim−1), fitted decay exponents (even and odd degrees) and the parity balance (Belfer et al.).")
      .addOption(archOption())
      .addOption(kindOption())
      .option('--dim <d>', 'input dimension: the sphere S^(dim−1) (2: Fourier on the circle)', '2')
      .option('--kmax <k>', 'highest degree', '64')
      .option('--fit <from,to>', 'degree range of the power-law fits (default ⌈kmax/4⌉ … kmax)'),
  )
    .addHelpText('after', '\nExample:\n  webntk analyze decay --arch belfer2021:depth=10,gamma=1 --arch belfer2021:depth=10,gamma=0.5 --arch arora2019:depth=3 --kmax 64 --out decay')
    .action(async (o: CommonOptions & { kind: KernelKind; dim: string; kmax: string; fit?: string }) => {
      await prepareBackend(o);
      refuseConv(archs(o), 'decay', 'the Mercer decomposition on the sphere S^(dim−1) is defined for fully connected specs (unit vector inputs)');
      const dim = num(o.dim, '--dim', { min: 2, max: 256, integer: true });
      const kmax = num(o.kmax, '--kmax', { min: 1, max: 4096, integer: true });
      let fitRange: [number, number] | undefined;
      if (o.fit !== undefined) {
        const r = numList(o.fit, '--fit', { min: 1, integer: true });
        if (r.length !== 2 || r[0]! >= r[1]!) throw new InputError(`--fit must be two increasing degrees "from,to", got "${o.fit}"`);
        fitRange = [r[0]!, r[1]!];
      }
      const items = [];
      for (const a of archs(o)) {
        items.push({ arch: a, decay: await spectralDecay(readArch(a), { kind: o.kind, dim, kmax, backend: o.backend, ...(fitRange ? { fitRange } : {}) }) });
      }
      await emit(decayReport(items, { archs: o.arch, kind: o.kind, dim, kmax, fitRange: fitRange ?? null, backend: items[0]!.decay.backend }), o, io);
    });

  withCommon(
    analyze
      .command('spectrum')
      .description('Eigenvalues and condition numbers of Gram matrices against depth, several archs at once, every depth from one pass (Barzilai et al.); --lanczos k for the k leading eigenvalues of large Grams.')
      .addOption(archOption('; the sweep runs to its depth'))
      .option('--x <file>', 'inputs, one per row (.npy, .csv, .tsv); for conv specs, images .npy [N, C, H, W] or [N, C, P]')
      .addOption(layoutOption())
      .option('--random <n,d>', 'instead of --x: n seeded random points on the unit sphere S^(d−1)', '100,10')
      .option('--random-multisphere <N,C,P>', 'instead of --x, for conv specs: N seeded signals [N, C, P] on the multi-sphere, each pixel\'s channel vector uniform on S^(C−1)')
      .option('--seed <s>', 'seed of --random or --random-multisphere', '0')
      .addOption(new Option('--kind <kernels>', 'nngp, ntk or nngp,ntk').default('nngp,ntk'))
      .option('--depths <list>', 'depths of the sweep to analyse: 1,2,5, ranges 1..20, or all (default: every power of two and the last)')
      .option('--raw', 'do not normalise the Grams to unit diagonal')
      .option('--eigenvalues', 'keep and plot every eigenvalue at the deepest depth')
      .option('--lanczos <k>', 'only the k leading eigenvalues of the full network, by Lanczos (for n beyond the dense limit)'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  webntk analyze spectrum --arch arora2019:depth=128 --arch resnet:depth=128,alpha=1,trainStem=false,trainReadout=false --random 100,10 --out cond\n  webntk analyze spectrum --arch cntk:depth=33,readout=gap,pad=circular --arch rescnn:depth=32,alpha=1,readout=gap --random-multisphere 64,3,8 --out conv-cond\n  webntk analyze spectrum --arch densenet:depth=20 --x X.npy --lanczos 20 --kind ntk --backend webgpu --out top',
    )
    .action(async (o: CommonOptions & { x?: string; layout?: string; random: string; randomMultisphere?: string; seed: string; kind: string; depths?: string; raw?: boolean; eigenvalues?: boolean; lanczos?: string }) => {
      await prepareBackend(o);
      // --lanczos takes one kernel: the NTK unless --kind says otherwise.
      const kinds = (o.lanczos !== undefined && o.kind === 'nngp,ntk' ? 'ntk' : o.kind).split(',').map((s) => s.trim());
      for (const k of kinds) if (k !== 'nngp' && k !== 'ntk') throw new InputError(`--kind must be nngp, ntk or nngp,ntk, got "${o.kind}"`);
      const layout = parseLayout(o.layout);
      // --x is read once and taken as each arch takes it (a matrix, or images for a conv spec).
      let file: InputArray | null = null;
      let X: KernelInput;
      let inputs: string;
      if (o.x !== undefined && o.randomMultisphere !== undefined) throw new InputError('give --x or --random-multisphere, not both');
      if (o.randomMultisphere !== undefined) {
        if (layout !== undefined) throw new InputError('--layout applies to image inputs given with --x');
        for (const a of archs(o)) {
          if (!takesImages(readArch(a))) throw new InputError(`--random-multisphere draws signals for convolutional specs; --arch ${a} is fully connected (use --random n,d)`);
        }
        const ncp = numList(o.randomMultisphere, '--random-multisphere', { min: 1, integer: true });
        if (ncp.length !== 3) throw new InputError(`--random-multisphere must be "N,C,P" (signals, channels, pixels), got "${o.randomMultisphere}"`);
        const [N, C, P] = ncp as [number, number, number];
        checkMultisphereSize(N, C, P, '--random-multisphere');
        const cap = o.lanczos !== undefined ? Math.floor(Math.sqrt(MAX_RESULT_ELEMENTS)) : SPECTRUM_DENSE_MAX_N;
        if (N > cap) throw new InputError(`--random-multisphere: N = ${N} exceeds ${cap}, the most ${o.lanczos !== undefined ? 'a Lanczos run holds' : 'the dense eigen-solver takes (use --lanczos k)'}`);
        const seed = num(o.seed, '--seed', { integer: true, min: 0 });
        X = multispherePoints(N, C, P, seed);
        inputs = `random ${N} signals on the multi-sphere (S^${C - 1})^${P}, seed ${seed}`;
      } else if (o.x !== undefined) {
        file = readInputArray(o.x);
        X = kernelInputOf(file, readArch(archs(o)[0]!), layout, '--x');
        for (const a of archs(o).slice(1)) kernelInputOf(file, readArch(a), layout, '--x');
        inputs = o.x;
      } else {
        if (layout !== undefined) throw new InputError('--layout applies to image inputs given with --x');
        refuseConv(archs(o), 'spectrum', '--random draws points on the sphere for fully connected specs: give images with --x (.npy [N, C, H, W] or [N, C, P])');
        const nd = numList(o.random, '--random', { min: 1, integer: true });
        if (nd.length !== 2 || nd[1]! < 2) throw new InputError(`--random must be "n,d" with d ≥ 2, got "${o.random}"`);
        // Check the size before drawing the points: the dense solver's cap, or a Gram that fits in memory for Lanczos.
        const cap = o.lanczos !== undefined ? Math.floor(Math.sqrt(MAX_RESULT_ELEMENTS)) : SPECTRUM_DENSE_MAX_N;
        if (nd[0]! > cap) throw new InputError(`--random: n = ${nd[0]} exceeds ${cap}, the most ${o.lanczos !== undefined ? 'a Lanczos run holds (an n × n Gram in memory)' : 'the dense eigen-solver takes (use --lanczos k)'}`);
        if (nd[1]! > 65536) throw new InputError(`--random: d = ${nd[1]} exceeds 65536`);
        X = toMatrix(spherePoints(nd[0]!, nd[1]!, num(o.seed, '--seed', { integer: true, min: 0 })), '--random');
        inputs = `random ${nd[0]} points on S^${nd[1]! - 1}, seed ${o.seed}`;
      }
      const normalize = !o.raw;
      if (o.lanczos !== undefined) {
        const k = num(o.lanczos, '--lanczos', { min: 1, max: inputCount(X), integer: true });
        if (kinds.length !== 1) throw new InputError('--lanczos takes one --kind (nngp or ntk)');
        const items = [];
        for (const a of archs(o)) {
          const arch = readArch(a);
          items.push({ arch: a, result: await leadingEigenvalues(arch, file ? kernelInputOf(file, arch, layout, '--x') : X, { k, kind: kinds[0] as KernelKind, backend: o.backend, normalize }) });
        }
        await emit(leadingReport(items, { archs: o.arch, inputs, kind: kinds[0], k, normalize, backend: items[0]!.result.backend }), o, io);
        return;
      }
      const allDepths = o.depths?.trim().toLowerCase() === 'all';
      const depths = o.depths !== undefined && !allDepths ? parseDepthList(o.depths, '--depths') : undefined;
      const items = [];
      for (const a of archs(o)) {
        const arch = readArch(a);
        const [result] = await conditioningVsDepth([arch], file ? kernelInputOf(file, arch, layout, '--x') : X, {
          kind: kinds as KernelKind[],
          backend: o.backend,
          normalize,
          depths: depths ?? (allDepths ? [...archProgram(arch).depths] : defaultDepths(a === arch ? a : arch)),
          eigenvalues: Boolean(o.eigenvalues),
        });
        items.push({ arch: a, result: result! });
      }
      await emit(spectrumReport(items, { archs: o.arch, inputs, kinds, normalize, depths: depths ?? (allDepths ? 'all' : 'powers of two and the last'), backend: items[0]!.result.backend }), o, io);
    });

  withCommon(
    analyze
      .command('conv-decay')
      .description("Eigenvalue decay of conv specs on the multi-circle (S¹)^P: λ_k/λ₀ of the single-pixel harmonics (k,0,…,0) at the output pixel and local exponents over k, from one cosine transform per kernel over a grid of per-pixel angles (Barzilai et al.).")
      .addOption(archOption('; eq or flatten readouts, or gap with circular padding and stride 1'))
      .addOption(new Option('--kind <kernels>', 'nngp, ntk or nngp,ntk').default('nngp,ntk'))
      .option('--pixels <P>', 'pixels of the 1-D signals (grid (M/2+1)^P kernel evaluations)', '4')
      .option('--grid <M>', 'angles per pixel, even', '32')
      .option('--kmax <k>', 'highest degree reported (default M/4: aliasing grows beyond it)')
      .option('--depths <list>', 'depths of the sweep: 1,2,5, ranges 1..20, or all (default: the last)'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  webntk analyze conv-decay --arch cntk:depth=9,readout=eq,pad=circular --arch rescnn:depth=8,alpha=1 --arch rescnn:depth=8,gamma=0.5 --out conv-decay',
    )
    .action(async (o: CommonOptions & { kind: string; pixels: string; grid: string; kmax?: string; depths?: string }) => {
      await prepareBackend(o);
      const grid = gridOptions(o);
      const kmax = o.kmax !== undefined ? num(o.kmax, '--kmax', { min: 1, max: grid.grid / 2, integer: true }) : undefined;
      const depths = convArchDepths(archs(o), o.depths);
      const items = [];
      for (const [i, a] of archs(o).entries()) {
        items.push({ arch: a, decay: await convDecay(readArch(a), { ...grid, depths: depths[i]!, ...(kmax !== undefined ? { kmax } : {}), backend: o.backend }) });
      }
      await emit(convDecayReport(items, { archs: o.arch, kinds: grid.kinds, pixels: grid.pixels, grid: grid.grid, kmax: items[0]!.decay.kmax, depths: o.depths ?? 'last', backend: items[0]!.decay.backend }), o, io);
    });

  withCommon(
    analyze
      .command('locality')
      .description('Locality of conv specs on the multi-circle (S¹)^P against depth: far/near eigenvalue ratio (harmonic on the pixel opposite the output over the output pixel) and pair ratio (output+far over output+neighbour) (Barzilai et al.).')
      .addOption(archOption('; eq or flatten readouts, or gap with circular padding and stride 1'))
      .addOption(new Option('--kind <kernels>', 'nngp, ntk or nngp,ntk').default('nngp,ntk'))
      .option('--pixels <P>', 'pixels of the 1-D signals, at least 2q (grid (M/2+1)^P kernel evaluations)', '6')
      .option('--grid <M>', 'angles per pixel, even', '12')
      .option('--depths <list>', 'depths of the sweep: 1,2,5, ranges 1..20, or all (default: all)'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  webntk analyze locality --arch cntk:depth=9,readout=eq,pad=circular --arch rescnn:depth=8,alpha=1 --depths 1,2,4,8 --out locality',
    )
    .action(async (o: CommonOptions & { kind: string; pixels: string; grid: string; depths?: string }) => {
      await prepareBackend(o);
      const grid = gridOptions(o);
      const depths = convArchDepths(archs(o), o.depths ?? 'all');
      const items = [];
      for (const [i, a] of archs(o).entries()) {
        items.push({ arch: a, locality: await convLocality(readArch(a), { ...grid, depths: depths[i]!, backend: o.backend }) });
      }
      await emit(localityReport(items, { archs: o.arch, kinds: grid.kinds, pixels: grid.pixels, grid: grid.grid, depths: o.depths ?? 'all', backend: items[0]!.locality.backend }), o, io);
    });

  withCommon(
    analyze
      .command('fluctuations')
      .description('Relative variance of the empirical NTK over sampled finite-width networks against depth and width, with fitted growth rates (Littwin & Wolf).')
      .option('--family <names>', `comma-separated: ${Object.keys(FLUCTUATION_FAMILIES).join(', ')}`, Object.keys(FLUCTUATION_FAMILIES).join(','))
      .option('--depths <list>', 'depths L', '2,8,16')
      .option('--widths <list>', 'widths n', '32,64')
      .option('--samples <s>', 'sampled networks per (family, L, n)', '200')
      .option('--seed <s>', 'seed', '0')
      .option('--predict', 'rows of measured vs the leading-order closed forms (family, depth, width, measured, stderr, predicted) and their figure')
      .option('--cut <r>', 'fit measured/predicted over the cells with L/n ≤ r', '0.0625')
      .option('--rho <r>', 'correlation ρ ∈ [−1, 1] of the input pair x = e₁, z = ρe₁ + √(1 − ρ²)e₂ (Θ(x,z) is the off-diagonal entry; ρ = 1: z = x)', '0.5')
      .addOption(kindOption()),
  )
    .addHelpText('after', '\nExamples:\n  webntk analyze fluctuations --family mlp,resnet-sqrt --depths 2,8,32 --widths 32,64 --samples 300 --out fluct\n  webntk analyze fluctuations --predict --family mlp,resnet-const --depths 1,2,4,8 --widths 64,128 --samples 400 --out fluct\n  webntk analyze fluctuations --predict --family mlp --depths 1 --widths 64 --samples 2000 --rho 0 --out one-hidden   # 8.87/n off the diagonal')
    .action(async (o: CommonOptions & { family: string; depths: string; widths: string; samples: string; seed: string; kind: KernelKind; predict?: boolean; cut: string; rho: string }) => {
      await prepareBackend(o);
      const names = o.family.split(',').map((s) => s.trim());
      for (const f of names) {
        if (!(f in FLUCTUATION_FAMILIES)) throw new InputError(`unknown --family "${f}" (available: ${Object.keys(FLUCTUATION_FAMILIES).join(', ')})`);
      }
      const depths = parseDepthList(o.depths, '--depths', { min: 1 });
      const widths = numList(o.widths, '--widths', { min: 1, integer: true });
      const samples = num(o.samples, '--samples', { min: 2, integer: true });
      const seed = num(o.seed, '--seed', { min: 0, integer: true });
      const cut = num(o.cut, '--cut', { min: 0 });
      if (!(cut > 0)) throw new InputError(`--cut must be > 0, got ${o.cut}`);
      const rho = num(o.rho, '--rho', { min: -1, max: 1 });
      const r = await widthFluctuations({ families: names as FluctuationFamilyName[], depths, widths, samples, seed, kind: o.kind, backend: o.backend, smallDepthCut: cut, rho });
      await emit(fluctuationsReport(r, { families: names, depths, widths, samples, seed, kind: o.kind, backend: r.backend, cut, rho }, { predict: o.predict === true }), o, io);
    });

  withCommon(
    analyze
      .command('dynamics')
      .description('NTK drift during full-batch gradient descent of sampled finite networks over widths × seeds, with fit.driftSlope, the slope of log final drift against log width, and fit.driftSlopeAtT, the same at the common time t* (the earliest final t = η·steps over the runs; ≈ −1 in the lazy regime), and for C¹ activations the initial rate ‖dΘ/dt|₀‖/‖Θ₀‖.')
      .option('--arch <spec>', 'preset reference or JSON spec file')
      .option('--train <file>', 'training inputs (.npy/.csv, n × d)')
      .option('--targets <file>', 'training targets (n values)')
      .option('--test <file>', 'test inputs: drift of the test × train block')
      .option('--widths <list>', 'widths', '64,128,256')
      .option('--steps <s>', 'gradient-descent steps', '200')
      .option('--lr <eta>', 'step η (default n/λ_max(Θ₀) for the loss (1/2n)‖f − y‖²)')
      .option('--seeds <k>', 'networks per width (seeds 0…k−1)', '2')
      .option('--depths <list>', "values of the arch's depth parameter (a preset's depth, or the count of a spec's one top-level repeat layer)")
      .addOption(new Option('--init <kind>', 'standard, or antisymmetric: f = (f(θ_A) − f(θ_B))/√2 with θ_A = θ_B at step 0, so f₀ = 0').choices(['standard', 'antisymmetric']).default('standard'))
      .option('--samples <list>', 'width threshold: for each m, the smallest of --widths keeping λ_min(Θ_t) ≥ λ_min(Θ₀)/2, trained on the first m training points'),
  )
    .addHelpText(
      'after',
      '\nTraining runs in float64 on the CPU, or with --backend webgpu in f32 on the device (the same networks; dense specs: MLPs, ResNets, DenseNets).\n\nExamples:\n  webntk analyze dynamics --arch mlp:depth=2 --train x.npy --targets y.npy --test t.npy --widths 64,128,256 --steps 200 --seeds 2 --out dyn\n  webntk analyze dynamics --arch mlp:depth=2 --train x.npy --targets y.npy --widths 1024,4096 --steps 200 --seeds 2 --backend webgpu --out dyn-wide',
    )
    .action(async (o: CommonOptions & { arch?: string; train?: string; targets?: string; test?: string; widths: string; steps: string; lr?: string; seeds: string; depths?: string; init: TrainInit; samples?: string }) => {
      if (o.arch === undefined) throw new InputError('analyze dynamics needs --arch');
      if (o.train === undefined || o.targets === undefined) throw new InputError('analyze dynamics needs --train and --targets');
      const widths = numList(o.widths, '--widths', { min: 1, integer: true });
      const steps = num(o.steps, '--steps', { min: 1, integer: true });
      const seeds = num(o.seeds, '--seeds', { min: 1, integer: true });
      const lr = o.lr === undefined ? undefined : num(o.lr, '--lr', { min: 0 });
      if (lr !== undefined && !(lr > 0)) throw new InputError(`--lr must be > 0, got ${o.lr}`);
      const depths = o.depths === undefined ? undefined : parseDepthList(o.depths, '--depths', { min: 1 });
      const samples = o.samples === undefined ? undefined : numList(o.samples, '--samples', { min: 2, integer: true });
      await prepareBackend({ ...o, arch: [o.arch], x: o.train });
      const arch = readArch(o.arch);
      const X = readInputArray(o.train);
      if (X.shape.length !== 2) throw new InputError(`--train ${o.train} must be a 2-D array (n × d), got shape [${X.shape.join(', ')}]`);
      const Y = readInputArray(o.targets);
      const n = X.shape[0]!;
      if (Y.data.length !== n) throw new InputError(`--targets ${o.targets} has ${Y.data.length} values for ${n} training inputs`);
      const T = o.test === undefined ? undefined : readInputArray(o.test);
      if (T && (T.shape.length !== 2 || T.shape[1] !== X.shape[1])) throw new InputError(`--test ${o.test} must be m × ${X.shape[1]}, got shape [${T.shape.join(', ')}]`);
      // auto: the device when there is an adapter, else the CPU.
      const backend = (await resolveBackend(o.backend)) ? 'webgpu' : 'cpu';
      const opts = { widths, seeds, steps, lr, xTest: T ? { data: T.data, shape: T.shape } : undefined, init: o.init, depths, samples };
      const r = backend === 'webgpu' ? await dynamicsSweep(arch, { data: X.data, shape: X.shape }, Y.data, n, { ...opts, backend }) : dynamicsSweep(arch, { data: X.data, shape: X.shape }, Y.data, n, opts);
      await emit(dynamicsReport(r, { arch: o.arch, widths, seeds, steps, lr: lr ?? 'default n/λ_max(Θ₀)', init: o.init, depths: depths ?? null, samples: samples ?? null, backend, n }), o, io);
    });

  withCommon(
    analyze
      .command('infinite')
      .description('Infinite-depth ResNet kernels (Huang et al., Belfer et al.): the normalised ResNTK against depth for α = L^−γ, with the depth = ∞ limits (two-layer NTK for γ > ½, a depth-time ODE for γ = ½).')
      .option('--gammas <list>', 'exponents γ of α = L^−γ', '1,0.75,0.5,0.25,0')
      .option('--depths <list>', 'depths L', '10,100,1000,10000,100000')
      .option('--rho <r>', 'input correlation of the table', '0')
      .option('--compare-depth <L>', 'finite depth drawn beside the limit profiles', '100'),
  )
    .addHelpText('after', '\nExamples:\n  webntk analyze infinite --out infinite\n  webntk gram --arch belfer2021:depth=inf,gamma=0.5 --x1 X.npy --out K.npy   # the limit kernel itself')
    .action(async (o: CommonOptions & { gammas: string; depths: string; rho: string; compareDepth: string }) => {
      await prepareBackend(o);
      const gammas = numList(o.gammas, '--gammas');
      const depths = numList(o.depths, '--depths', { min: 1, max: 1_000_000, integer: true });
      const rho = num(o.rho, '--rho', { min: -1, max: 1 });
      const Lc = num(o.compareDepth, '--compare-depth', { min: 1, max: 1_000_000, integer: true });
      const table = await resntkDepthTableOn(o.backend, { gammas, depths, rho });
      // Limit profiles over ρ0 ∈ [−1, 1]: the γ = ½ ODE is CPU-only (a float64 solve), the rest runs on the chosen backend.
      // belfer2021 is 1 on the unit diagonal, so the profile's values are the normalised NTK.
      const rhos = Array.from({ length: 81 }, (_, i) => -1 + i / 40);
      const angles = rhos.map(Math.acos);
      const prof = async (arch: string, name: string, backend: BackendChoice) => ({ name, rho: rhos, ntk: (await kernelProfile(arch, { angles, backend })).values });
      const profiles = [
        await prof('belfer2021:depth=inf,gamma=1', 'depth = ∞, γ > ½ (two-layer NTK)', o.backend),
        await prof('belfer2021:depth=inf,gamma=0.5', 'depth = ∞, γ = ½ (ODE)', 'cpu'),
        await prof(`belfer2021:depth=${Lc},gamma=0.5`, `depth ${Lc}, γ = ½`, o.backend),
        await prof(`belfer2021:depth=${Lc},alpha=1`, `depth ${Lc}, α = 1 (degenerate)`, o.backend),
      ];
      await emit(infiniteReport(table, profiles, { gammas, depths, rho, compareDepth: Lc, backend: table.backend }), o, io);
    });
}

/** --pixels, --grid and --kind of conv-decay and locality (the grid size is checked by the library). */
function gridOptions(o: { kind: string; pixels: string; grid: string }): Required<Pick<ConvGridOptions, 'pixels' | 'grid' | 'kinds'>> {
  const kinds = o.kind.split(',').map((s) => s.trim());
  for (const k of kinds) if (k !== 'nngp' && k !== 'ntk') throw new InputError(`--kind must be nngp, ntk or nngp,ntk, got "${o.kind}"`);
  const pixels = num(o.pixels, '--pixels', { min: 1, max: 64, integer: true });
  const grid = num(o.grid, '--grid', { min: 4, max: 4096, integer: true });
  if (grid % 2 !== 0) throw new InputError(`--grid must be even, got ${grid}`);
  return { pixels, grid, kinds: kinds as KernelKind[] };
}

/**
 * Every --arch of conv-decay and locality checked before any is computed (a spec the transform
 * cannot read, a depth not in its sweep), and its --depths: a list, a range or all of its sweep.
 */
function convArchDepths(list: string[], v: string | undefined): ('last' | number[])[] {
  return list.map((a) => {
    const arch = readArch(a);
    checkConvSpectralSpec(arch);
    return v === undefined ? 'last' : parseSweepDepths(v, '--depths', archProgram(arch).depths, a);
  });
}

/** 1, 2, 4, … and the last depth of the arch's sweep (the dense eigen-solve per depth is the cost). */
function defaultDepths(arch: Arch): number[] {
  const all = archProgram(arch).depths;
  const last = all[all.length - 1]!;
  const out = all.filter((t) => t >= 1 && (t & (t - 1)) === 0);
  if (!out.includes(last)) out.push(last);
  return out;
}
