/**
 * `webntk select`: the best kernel, depth and (relative) ridge by k-fold cross-validation, from one
 * depth sweep (src/select.ts); with --test, the best setting refitted on all training rows and
 * scored on the test rows. A table on stdout (or the report JSON with --json); --out writes the
 * report, --pred-out the test predictions, both atomically.
 */
import { Option, type Command } from 'commander';
import { program as kernelProgram, type BackendChoice } from '../api.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { encodeNpy } from '../io/npy.js';
import type { PredictKernel } from '../predict.js';
import { selectModel, type SelectResult } from '../select.js';
import { parseInfiniteDepthRef } from '../spec/presets.js';
import type { CliIO } from './cli-io.js';
import { layoutOption } from './cli-options.js';
import { checkDistinctPaths, checkOutputPath, parseLayout, readArch, readKernelInput, readTargetsFile, writeFilesAtomic } from './files.js';
import { parseRidgeList, parseSweepDepths } from './lists.js';
import { useNodeWebGPU } from './webgpu.js';
import { interruptionPoint } from './signals.js';

export interface SelectCliOptions {
  arch: string;
  train: string;
  targets: string;
  classes?: string;
  kernel: string;
  depths: string;
  ridge: string;
  folds: string;
  shuffle?: string;
  test?: string;
  testLabels?: string;
  testTargets?: string;
  out?: string;
  predOut?: string;
  backend: BackendChoice;
  /** Image inputs (conv specs): nchw (default) or nhwc. */
  layout?: string;
  json?: boolean;
}

export const SELECT_DEFAULT_RIDGES = '1e-6..1e-1:6';

export function addSelectCommand(program: Command, io: CliIO): void {
  program
    .command('select')
    .description('Choose the kernel, depth and ridge by k-fold cross-validation of kernel regression, every depth from one sweep.')
    .requiredOption('--arch <spec>', 'preset reference or JSON spec file; its depth sweep gives every depth tried')
    .requiredOption('--train <file>', 'training inputs, one per row (.npy, .csv, .tsv); for a conv spec, images .npy [N, C, H, W] or [N, C, P]')
    .requiredOption('--targets <file>', 'targets: a vector (n), a matrix (n × k), or integer labels with --classes')
    .option('--classes <k>', 'targets are integer labels 0 … k−1 (one-hot outputs; the score is the accuracy)')
    .option('--kernel <kernels>', 'nngp, ntk or nngp,ntk', 'nngp,ntk')
    .option('--depths <list>', "depths of the sweep: 1,2,5, ranges 1..20, or all (each ≤ the arch's depth)", 'all')
    .option('--ridge <list>', 'relative ridges r (λ = r × mean diagonal of the training kernel): 1e-4,1e-2 or log ranges 1e-6..1e-1:6', SELECT_DEFAULT_RIDGES)
    .option('--folds <k>', 'number of folds (2 … n); training row i is in fold i mod k', '5')
    .option('--shuffle <seed>', 'permute the training rows with this seed before assigning folds (default: file order)')
    .option('--test <file>', 'test inputs: refit the best setting on all training rows and predict them')
    .addOption(layoutOption())
    .option('--test-labels <file>', 'test labels (needs --classes): report the test accuracy')
    .option('--test-targets <file>', 'test targets: report the test mean squared error')
    .option('--out <file>', 'write the report as JSON')
    .option('--pred-out <file>', 'test predictions .npy: [m, k] ([m] for 1-D targets); needs --test')
    .addOption(new Option('--backend <name>', 'where the kernels are computed (the solves are float64 on the CPU)').choices(['cpu', 'webgpu', 'auto']).default('cpu'))
    .option('--json', 'print the report JSON on stdout instead of the table')
    .addHelpText(
      'after',
      `
Every (kernel, depth, ridge) is scored by k-fold cross-validation: training row i is in fold i mod k
(after --shuffle's permutation, if given); the ridge is relative, λ = r × the mean diagonal of K over
the fold's training rows; the prediction is the kernel ridge regression mean K_vX (K_XX + λI)⁻¹ Y
(the NNGP posterior mean; for the NTK the t = inf gradient-flow mean, as in \`webntk predict\`); the
score is the mean squared error over the fold's rows and outputs, or the accuracy with --classes,
averaged over the folds. One kernel pass gives every depth; per fold and depth one symmetric
eigendecomposition serves every ridge. The best setting is the lowest MSE (highest accuracy); ties
go to the first in the table. \`webntk predict --ridge-rel r\` reproduces a row's model.

Examples:
  webntk select --arch mlp:depth=10 --train data/iris.npy --targets data/iris-labels.npy --classes 3 \\
                --depths all --ridge 1e-6..1e-1:6 --folds 5
  webntk select --arch arora2019:depth=20 --train X.npy --targets labels.npy --classes 10 \\
                --kernel nngp,ntk --depths 1..20 --ridge 1e-6..1e-1:6 --folds 5 \\
                --test T.npy --test-labels tl.npy --out report.json --pred-out P.npy --backend auto
  webntk select --arch resnet:depth=8,gamma=0.5 --train X.csv --targets y.csv --depths 1,2,4,8 \\
                --ridge 0,1e-4,1e-2 --folds 10 --shuffle 0 --json`,
    )
    .action(async (opts: SelectCliOptions) => {
      await runSelect(opts, io);
    });
}

function kernelList(s: string): PredictKernel[] {
  const parts = s.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p !== 'nngp' && p !== 'ntk')) throw new InputError(`--kernel must be nngp, ntk or nngp,ntk, got "${s}"`);
  if (new Set(parts).size !== parts.length) throw new InputError(`--kernel lists a kernel twice: "${s}"`);
  return parts as PredictKernel[];
}

function integerOption(v: string, name: string, min: number): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x) || x < min) throw new InputError(`${name} must be an integer ≥ ${min}, got "${v}"`);
  return x;
}

const json = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => (v === Infinity ? 'inf' : v), 2);

export async function runSelect(o: SelectCliOptions, io: CliIO): Promise<void> {
  // ---- Everything is checked before any kernel is computed.
  const kinds = kernelList(o.kernel);
  const ridges = parseRidgeList(o.ridge, '--ridge');
  const folds = integerOption(o.folds, '--folds', 2);
  let classes: number | undefined;
  if (o.classes !== undefined) classes = integerOption(o.classes, '--classes', 2);
  let shuffle: number | undefined;
  if (o.shuffle !== undefined) {
    shuffle = integerOption(o.shuffle, '--shuffle', 0);
    if (shuffle >= 2 ** 32) throw new InputError(`--shuffle must be a seed below 2^32, got "${o.shuffle}"`);
  }
  if (o.testLabels !== undefined && o.testTargets !== undefined) throw new InputError('give --test-labels (accuracy) or --test-targets (mean squared error), not both');
  if (o.testLabels !== undefined && classes === undefined) throw new InputError('--test-labels needs --classes (use --test-targets for regression targets)');
  if ((o.testLabels !== undefined || o.testTargets !== undefined) && o.test === undefined) {
    throw new InputError(`${o.testLabels !== undefined ? '--test-labels' : '--test-targets'} needs --test (the test inputs)`);
  }
  if (o.predOut !== undefined && o.test === undefined) throw new InputError('--pred-out needs --test (the test inputs to predict)');
  const arch = readArch(o.arch);
  if (typeof arch === 'string' && parseInfiniteDepthRef(arch)) {
    throw new InputError(`--arch ${arch} is an infinite-depth limit, which has no depth sweep; give a finite depth (e.g. depth=50)`);
  }
  const sweep = kernelProgram(arch).depths;
  const depths = parseSweepDepths(o.depths, '--depths', sweep, o.arch);
  // Outputs: writable, distinct, and none of them an input.
  const outputs = [
    ...(o.out !== undefined ? [{ flag: '--out', path: o.out }] : []),
    ...(o.predOut !== undefined ? [{ flag: '--pred-out', path: o.predOut }] : []),
  ];
  for (const out of outputs) checkOutputPath(out.path, [out.flag === '--out' ? '.json' : '.npy']);
  checkDistinctPaths(
    {
      '--train': o.train,
      '--targets': o.targets,
      '--test': o.test,
      '--test-labels': o.testLabels,
      '--test-targets': o.testTargets,
      '--arch': typeof arch !== 'string' ? o.arch : undefined,
    },
    Object.fromEntries(outputs.map((out) => [out.flag, out.path])),
  );
  const layout = parseLayout(o.layout);
  const X = readKernelInput(o.train, arch, layout, '--train');
  const targets = readTargetsFile(o.targets);
  const T = o.test !== undefined ? readKernelInput(o.test, arch, layout, '--test') : undefined;
  let testLabels: Float64Array | undefined;
  if (o.testLabels !== undefined) {
    const l = readTargetsFile(o.testLabels);
    if (l.shape.length === 2 && l.shape[1] !== 1) throw new InputError(`${o.testLabels}: expected one label per test input, got shape (${l.shape.join(', ')})`);
    testLabels = l.data;
  }
  const testTargets = o.testTargets !== undefined ? readTargetsFile(o.testTargets) : undefined;
  if (o.backend !== 'cpu') useNodeWebGPU();

  // A progress line on a terminal (stderr), cleared at the end.
  const tty = Boolean(process.stderr.isTTY) && !o.json;
  const t0 = performance.now();
  const onProgress = ({ done, total }: { done: number; total: number }): void => {
    const s = (performance.now() - t0) / 1000;
    io.err(`\rwebntk select: ${done}/${total} (kernel, depth) done, ${s.toFixed(0)} s${done < total ? `, about ${((s / done) * (total - done)).toFixed(0)} s left` : ''}\x1b[K`);
  };
  // selectModel checks the targets, labels, folds ≤ n and the test shapes before computing.
  const r = await selectModel(arch, X, targets, {
    ...(tty ? { onProgress } : {}),
    kernels: kinds,
    depths,
    ridges,
    folds,
    ...(classes !== undefined ? { classes } : {}),
    ...(shuffle !== undefined ? { shuffle } : {}),
    backend: o.backend,
    ...(T ? { test: T } : {}),
    ...(testLabels ? { testLabels } : {}),
    ...(testTargets ? { testTargets } : {}),
  });
  if (tty) io.err('\r\x1b[K');
  const adapter = r.backend === 'webgpu' ? describeAdapter((await getGpu())!.adapter) : null;
  const report = reportOf(r, adapter, o);
  const text = json(report) + '\n';

  // A pending SIGINT is handled before anything is committed.
  await interruptionPoint();
  // Both files or neither.
  writeFilesAtomic([
    ...(o.predOut !== undefined && r.test ? [{ path: o.predOut, bytes: encodeNpy(r.test.mean, r.test.shape, 'float64') }] : []),
    ...(o.out !== undefined ? [{ path: o.out, bytes: new TextEncoder().encode(text) }] : []),
  ]);

  for (const w of [...r.warnings, ...(r.test?.warnings ?? []).map((w) => `test refit: ${w}`)]) io.err(`webntk: warning: ${w}\n`);
  if (o.json) {
    io.out(text);
    return;
  }
  io.out(table(r));
  const wrote = [...(o.out !== undefined ? [o.out] : []), ...(o.predOut !== undefined && r.test ? [`${o.predOut} [${r.test.shape.join(', ')}]`] : [])];
  io.err(
    `${wrote.length ? `wrote ${wrote.join(' and ')}; ` : ''}${r.rows.length} settings, ${r.folds} folds, ${r.n} rows ` +
      `(kernels on ${r.backend === 'webgpu' ? `webgpu (${adapter})` : 'the cpu'}, ${r.seconds.toFixed(2)} s)\n`,
  );
}

/** The report: what `--out` writes and `--json` prints (predictions go to --pred-out only). */
function reportOf(r: SelectResult, adapter: string | null, o: SelectCliOptions): Record<string, unknown> {
  return {
    metric: r.metric,
    rows: r.rows.map((x) => ({ kernel: x.kernel, depth: x.depth, ridge: x.ridge, score: x.score, folds: x.folds, condition: x.condition })),
    best: r.best,
    arch: r.arch,
    folds: r.folds,
    n: r.n,
    outputs: r.outputs,
    kernels: r.kernels,
    depths: r.depths,
    ridges: r.ridges,
    ridge: 'relative: λ = ridge × mean diagonal of K over the fold training rows',
    shuffle: r.shuffle,
    ...(r.order ? { order: r.order } : {}),
    ...(r.test
      ? {
          test: {
            m: r.test.m,
            metric: r.test.metric,
            score: r.test.score,
            lambda: r.test.lambda,
            conditionNumber: r.test.conditionNumber,
            predictions: o.predOut ?? null,
            shape: r.test.shape,
            warnings: r.test.warnings,
          },
        }
      : {}),
    warnings: r.warnings,
    backend: r.backend,
    adapter,
    seconds: r.seconds,
  };
}

export function formatRidge(r: number): string {
  if (r === 0) return '0';
  return r < 1e-3 || r >= 1e4 ? r.toExponential().replace(/\.?0+e/, 'e') : String(r);
}

const formatScore = (metric: 'mse' | 'accuracy', v: number): string => (metric === 'accuracy' ? v.toFixed(4) : v.toPrecision(6));

function table(r: SelectResult): string {
  const header = ['kernel', 'depth', 'ridge', r.metric === 'accuracy' ? 'accuracy' : 'mse', ''];
  const cells = r.rows.map((x) => {
    const best = x.kernel === r.best.kernel && x.depth === r.best.depth && x.ridge === r.best.ridge;
    return [x.kernel, String(x.depth), formatRidge(x.ridge), formatScore(r.metric, x.score), best ? '* best' : ''];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((v, c) => (c === 0 || c === 4 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd() + '\n';
  let s = `${r.folds}-fold cross-validation of ${r.arch} on ${r.n} training rows (${r.metric === 'accuracy' ? `accuracy, ${r.outputs} classes: higher is better` : `mean squared error over ${r.outputs} output(s): lower is better`}); ridge relative to the mean diagonal of K\n`;
  s += line(header);
  for (const c of cells) s += line(c);
  s += `best: ${r.best.kernel}, depth ${r.best.depth}, ridge ${formatRidge(r.best.ridge)}: ${r.metric} ${formatScore(r.metric, r.best.score)}\n`;
  if (r.test) {
    const what = r.test.metric ? `test ${r.test.metric} ${formatScore(r.test.metric, r.test.score!)}` : 'test predictions';
    s += `${what} (refitted on all ${r.n} training rows, λ = ${r.test.lambda.toExponential(3)}, ${r.test.m} test rows)\n`;
  }
  return s;
}
