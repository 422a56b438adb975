#!/usr/bin/env node
/**
 * The `webntk` command line. Exit codes: 0 success, 1 internal error, 2 bad input (usage, spec,
 * parameters, files). Errors are one line on stderr; no output file is left behind on failure.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { toSpec } from '../api.js';
import { GpuError, InputError, IoError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { exitNodeWebGPU, releaseNodeWebGPU, useNodeWebGPU } from './webgpu.js';
import { PRESETS } from '../spec/presets.js';
import type { GramOptions } from './gram-command.js';
import type { EmpiricalCliOptions } from './empirical-command.js';
import type { BenchOptions } from './bench-command.js';
import type { PredictCliOptions } from './predict-command.js';
import { DIRECT_MAX_N } from '../predict-limits.js';
import { readArch } from './files.js';
import { webntkVersion } from './version.js';
import { describeSpec } from '../spec/describe.js';
import { launch, TTY_ENV } from './quiet.js';
import { EXIT_BAD_INPUT, EXIT_DEVICE, EXIT_INTERNAL, EXIT_IO, EXIT_OK, type CliIO } from './cli-io.js';
import { layoutOption } from './cli-options.js';

export { EXIT_BAD_INPUT, EXIT_DEVICE, EXIT_INTERNAL, EXIT_IO, EXIT_OK } from './cli-io.js';
export type { CliIO } from './cli-io.js';

const defaultIO: CliIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};


/** Registers a command whose module is loaded only when the command line may need it. */
type AddCommand = (program: Command, io: CliIO) => void;

/**
 * analyze and select pull in every analysis, the eigensolvers and model selection (~0.2 s of module
 * loading): they are loaded only for their own command lines, or when the command is unknown or
 * absent (help, a typo: commander must see every command to list them or to suggest one).
 */
async function heavyCommands(argv: readonly string[]): Promise<AddCommand[]> {
  const command = argv.find((a) => !a.startsWith('-'));
  const light = ['gram', 'merge', 'empirical', 'predict', 'info', 'spec', 'bench', 'presets', 'demo'];
  const want = (name: string) => command === name || command === undefined || !light.includes(command);
  return [
    ...(want('analyze') ? [(await import('./analyze-command.js')).addAnalyzeCommand] : []),
    ...(want('select') ? [(await import('./select-command.js')).addSelectCommand] : []),
  ];
}

function buildProgram(io: CliIO, heavy: AddCommand[]): Command {
  const program = new Command('webntk')
    .description('Infinite-width NNGP and NTK kernels of deep MLPs, ResNets and DenseNets.')
    .version(webntkVersion())
    .exitOverride()
    // Usage errors are one line too: "webntk: error: unknown option '--bogus' (see webntk --help)".
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (str, write) => write(`webntk: ${str.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })
    .option('--verbose', "also show the WebGPU runtime's own diagnostics (Dawn's warnings) on stderr")
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 internal error, 2 bad input (usage, spec, parameters, file contents, an output
that would not fit or would overwrite an input), 3 GPU failure (no adapter for info, lost device),
4 the file system refused a read or write (no space, permission, read-only, missing folder),
129/130/143 interrupted by SIGHUP/SIGINT/SIGTERM (temporary files removed, no output left).`,
    );

  program
    .command('gram')
    .description('Compute NNGP and/or NTK Gram matrices and write them as .npy (float64 or float32) or CSV.')
    .requiredOption('--arch <spec>', 'preset reference (name or name:key=value,...) or a JSON spec file')
    .requiredOption('--x1 <file>', 'inputs, one per row: .npy (any float/int dtype), .csv or .tsv; for a conv spec, images .npy [N, C, H, W] or [N, C, P]')
    .option('--x2 <file>', 'second inputs, as --x1 (default: x1, giving the symmetric X1 × X1)')
    .option('--get <kernels>', 'nngp, ntk, or nngp,ntk (both in one pass, into two files: see --out)', 'ntk')
    .requiredOption('--out <file>', 'output file: .npy (C order) or .csv (one matrix, small); {kernel} is replaced by nngp/ntk; with --get nngp,ntk and no {kernel}, F.npy writes F-nngp.npy and F-ntk.npy')
    .addOption(new Option('--dtype <type>', 'element type of .npy output').choices(['float64', 'float32']).default('float64'))
    .addOption(
      new Option('--backend <name>', 'cpu (float64 reference), webgpu (an error without an adapter) or auto (WebGPU when an adapter exists)')
        .choices(['cpu', 'webgpu', 'auto'])
        .default('cpu'),
    )
    .option('--diagonal', 'only K(x, x) for the rows of x1 (shape [n1])')
    .option('--threads <n>', 'worker threads of the cpu backend for a fully connected spec (default: the logical cores, one for small inputs; 1: none); results are identical whatever the count')
    .addOption(layoutOption())
    .addOption(
      new Option('--depths <which>', 'last: the full network; all: every depth of the sweep stacked, shape [T, n1, n2]; or a list of depths of the sweep (1,5,10..20), shape [len, n1, n2]').default('last'),
    )
    .option('--shard <I/N|auto>', 'compute only shard I of N (numbered from 0) of the blocks, into <out>.shard-I-of-N, for `webntk merge`; auto: I and N from Slurm (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT) or Kubernetes (JOB_COMPLETION_INDEX with --shards N)')
    .option('--shards <n>', 'with --shard auto on Kubernetes Indexed Jobs: the number of shards (the Job\'s completions)')
    .option('--block-rows <n>', 'with --shard: rows per block of the shard grid (default 1024); every shard of a run must use the same')
    .addOption(
      new Option('--angle-table <mode>', 'webgpu, bias-free ReLU/LeakyReLU networks (every kernel a function of the input angle): on reads each pair from a table of that function built and checked by the float64 reference (cost independent of depth), off runs the layer recursion, auto uses the table from 2^17 pairs')
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option('--quiet', 'no summary line (errors still go to stderr)')
    .option('--json', 'print a JSON summary on stdout (outputs, shape, backend, adapter, seconds)')
    .option('--profile', 'time the phases (process start, device, rows, compile, upload, first layer, recursion, readback, decode, write): in the --json summary as "phases", else one line on stderr; the WebGPU phases are timed apart by waiting for the device after each submit')
    .addHelpText(
      'after',
      `
Output is written block by block into a temporary file beside --out and renamed into place only
when complete; on any error nothing is left behind. A progress bar appears on stderr when it is a
terminal. Exit codes: 0 success, 2 bad input, 3 device failure, 4 file system, 129/130/143
interrupted, 1 internal error (see webntk --help).

Examples:
  webntk gram --arch arora2019:depth=5 --x1 X.npy --get ntk --out K.npy
  webntk gram --arch tirer2021:depth=5,alpha=0.1 --x1 X.npy --x2 T.npy --get nngp --out K.npy
  webntk gram --arch huang2020:depth=50,gamma=0.75 --x1 X.npy --depths all --out sweep.npy
  webntk gram --arch densenet:depth=8 --x1 X.csv --get nngp,ntk --out K-{kernel}.npy --dtype float32
  webntk gram --arch my-net.json --x1 X.npy --diagonal --out diag.csv
  webntk gram --arch densenet:depth=100 --x1 X.npy --backend webgpu --json --out K.npy
  webntk gram --arch cntk:depth=5,readout=gap --x1 images.npy --out K.npy
  webntk gram --arch rescnn:depth=4 --x1 images.npy --layout nhwc --depths all --out sweep.npy
  webntk gram --arch arora2019:depth=5 --x1 X.npy --out K.npy --shard 2/4   # writes K.npy.shard-2-of-4
  webntk gram --arch arora2019:depth=5 --x1 X.npy --out K.npy --shard auto  # in a Slurm array task`,
    )
    .action(async (opts: GramOptions) => {
      const { runGram } = await import('./gram-command.js');
      await runGram(opts, io, (Boolean(process.stderr.isTTY) || process.env[TTY_ENV] === '1') && io === defaultIO);
    });

  program
    .command('merge')
    .description('Assemble Gram matrices from the shard files that gram --shard wrote (K.npy from K.npy.shard-I-of-N).')
    .argument('<out...>', 'the merged .npy file(s): the --out of the sharded runs, {kernel} replaced (or, for --get nngp,ntk with --out K.npy, K-nngp.npy K-ntk.npy)')
    .option('--quiet', 'no summary line')
    .option('--json', 'a JSON summary on stdout')
    .addHelpText(
      'after',
      `
Every shard 0 … N−1 must be there and from one run: the same webntk version, spec, input files
(sha256), size, dtype, kernel, depths, block size and backend; otherwise nothing is written and one
line names the mismatch or the missing shards (exit 2). The output is written block by block
(memory: one block) into a temporary file and renamed into place complete; it equals the
single-process gram bit for bit. Exit codes: 0 success, 2 missing or mismatched shards, 4 a file
that cannot be read or written, 129/130/143 interrupted.

Examples:
  webntk merge K.npy
  webntk merge K-nngp.npy K-ntk.npy`,
    )
    .action(async (outs: string[], opts: { quiet?: boolean; json?: boolean }) => {
      const { runMerge } = await import('./merge-command.js');
      await runMerge(outs, opts, io);
    });

  program
    .command('empirical')
    .description('The empirical NNGP and/or NTK of one sampled finite-width network (float64 CPU or f32 WebGPU), written as .npy or CSV.')
    .requiredOption('--arch <spec>', 'preset reference or JSON spec file (dense, residual, denseBlock, and conv specs; every spec on both backends)')
    .requiredOption('--width <n>', 'hidden width of every layer of the sampled network')
    .option('--seed <s>', 'seed of the weights (0 to 4294967295); the network is monteCarlo\'s first sample for this seed', '0')
    .requiredOption('--x1 <file>', 'inputs, one per row: .npy, .csv or .tsv (conv specs: images .npy [N, C, H, W] or [N, C, P])')
    .option('--x2 <file>', 'second inputs, as --x1 (default: x1, giving the symmetric X1 × X1)')
    .option('--get <kernels>', 'nngp, ntk, or nngp,ntk (both from one pass, into two files: see --out)', 'ntk')
    .requiredOption('--out <file>', 'output file: .npy or .csv; {kernel} is replaced by nngp/ntk; with --get nngp,ntk and no {kernel}, F.npy writes F-nngp.npy and F-ntk.npy')
    .addOption(new Option('--dtype <type>', 'element type of .npy output').choices(['float64', 'float32']).default('float64'))
    .addOption(new Option('--backend <name>', 'cpu (float64) or webgpu (f32, the same network: weights drawn on the host; an error without an adapter)').choices(['cpu', 'webgpu']).default('cpu'))
    .option('--quiet', 'no summary line (errors still go to stderr)')
    .option('--json', 'print a JSON summary on stdout (outputs, shape, width, seed, seconds)')
    .addHelpText(
      'after',
      `
Θ(X1, X2) = Σ over trainable layers of σ_w²·s·(ΔΔᵀ) ⊙ (AAᵀ) + σ_b²·ΔΔᵀ from one batched forward and
backward pass (never the Jacobian); the NNGP is the readout's feature covariance. Their mean over
seeds is the analytic kernel of webntk gram, up to an O(1/width) bias. Exit codes: 0 success, 2 bad input, 3 WebGPU, 4 file system.

Examples:
  webntk empirical --arch arora2019:depth=3 --width 256 --seed 1 --x1 X.npy --get ntk --out K.npy
  webntk empirical --arch resnet:depth=4,alpha=1 --width 128 --seed 7 --x1 X.npy --x2 T.npy --get nngp,ntk --out K-{kernel}.npy
  webntk empirical --arch mlp:depth=2 --width 512 --seed 3 --x1 X.npy --get nngp,ntk --out E.npy   # writes E-nngp.npy, E-ntk.npy
  webntk empirical --arch cntk:depth=3,readout=gap --width 32 --x1 images.npy --get ntk --out K.npy`,
    )
    .action(async (opts: EmpiricalCliOptions) => {
      const { runEmpirical } = await import('./empirical-command.js');
      await runEmpirical(opts, io);
    });

  program
    .command('predict')
    .description('Predict with the NNGP posterior or the NTK gradient-flow predictor (kernel regression).')
    .requiredOption('--arch <spec>', 'preset reference or JSON spec file')
    .requiredOption('--train <file>', 'training inputs, one per row (.npy, .csv, .tsv); for a conv spec, images .npy [N, C, H, W] or [N, C, P]')
    .requiredOption('--targets <file>', 'targets: a vector (n), a matrix (n × k), or integer labels with --classes')
    .requiredOption('--test <file>', 'test inputs, one per row (conv specs: images .npy, as --train)')
    .addOption(layoutOption())
    .addOption(new Option('--kernel <kernel>', 'nngp: GP posterior; ntk: gradient flow').choices(['nngp', 'ntk']).makeOptionMandatory())
    .option('--time <t>', 'NTK training time(s) t ≥ 0 or inf, comma-separated (several give a [T, m, k] output)', 'inf')
    .option('--ridge <lambda>', 'λ ≥ 0 added to the training kernel diagonal (default 0)')
    .option('--ridge-rel <r>', 'instead of --ridge: λ = r × the mean diagonal of the training kernel (the ridge webntk select reports)')
    .requiredOption('--out <file>', 'predictions .npy: [m, k] (or [T, m, k] for several times)')
    .option('--variance <file>', 'NNGP posterior variance per test input, .npy [m]')
    .option('--classes <k>', 'targets are integer labels 0 … k−1 (one-hot targets)')
    .option('--test-labels <file>', 'test labels: print the accuracy (needs --classes)')
    .addOption(new Option('--backend <name>', 'where the kernels are computed').choices(['cpu', 'webgpu', 'auto']).default('cpu'))
    .addOption(
      new Option(
        '--solver <name>',
        `direct: float64 Cholesky/eigen on the CPU; cg: conjugate gradients with K on WebGPU (mean at t = inf only); cg-matfree: conjugate gradients that recompute the blocks of K on --backend for every product instead of storing it (memory O(n·(d + outputs)); mean at t = inf only); nystrom: regression on --landmarks M inputs (Falkon's preconditioned CG, never the n × n kernel; mean at t = inf only); auto: cg-matfree when K in float64 (8n² bytes) would take more than a quarter of this machine's memory, cg above ${DIRECT_MAX_N} training points with WebGPU kernels`,
      )
        .choices(['auto', 'direct', 'cg', 'cg-matfree', 'nystrom'])
        .default('auto'),
    )
    .option('--cg-tol <tol>', 'CG relative-residual tolerance (cg, cg-matfree; nystrom: of the preconditioned system)', '1e-6')
    .option('--cg-max-iter <n>', 'CG iteration cap (cg, cg-matfree: default min(n, 2000) + 10; nystrom: 200)')
    .option('--cg-rank <r>', 'rank of the pivoted-Cholesky CG preconditioner, 0 for Jacobi (cg: default 100; cg-matfree: 300; raise it where a pass over the kernel is expensive)')
    .option(
      '--cg-checkpoint <file>',
      'cg-matfree: save the CG state to <file> after every iteration (atomically) and print a line per iteration; a rerun with the same training data and options goes on from it (--test, --cg-tol and --cg-max-iter may change)',
    )
    .option('--landmarks <M>', 'nystrom: the number of landmark inputs, drawn uniformly from --train')
    .option('--landmark-seed <s>', 'nystrom: seed of the landmark draw (uniform, rp-cholesky)', '0')
    .option('--landmark-choice <rule>', 'nystrom: uniform (default), pivoted-cholesky (greedy: largest residual diagonal first) or rp-cholesky (randomly pivoted Cholesky)')
    .option('--quiet', 'no summary line')
    .option('--json', 'a JSON summary on stdout (accuracy, solver, CG iterations and residual, condition number, warnings, backend, seconds)')
    .addHelpText(
      'after',
      `
Ill-conditioned systems (duplicate training points, ridge 0, deep kernels close to a constant
matrix) print a warning with the condition number and a suggested ridge (also as --ridge-rel);
predictions are never NaN. \`webntk select\` chooses the depth and the ridge by cross-validation.

Examples:
  webntk predict --arch mlp:depth=3 --train X.npy --targets y.npy --test T.npy --kernel nngp --variance V.npy --out P.npy
  webntk predict --arch resnet:depth=8,gamma=0.5 --train X.npy --targets labels.npy --classes 10 \\
                 --test T.npy --test-labels tl.npy --kernel ntk --time 1,10,inf --ridge 1e-4 --out P.npy --backend auto
  webntk predict --arch arora2019:depth=3 --train X.npy --targets y.npy --test T.npy --kernel nngp \
                 --solver nystrom --landmarks 1000 --ridge-rel 1e-3 --out P.npy --backend webgpu
  webntk predict --arch arora2019:depth=3 --train X.npy --targets y.npy --test T.npy --kernel ntk \
                 --solver cg-matfree --ridge-rel 1e-2 --cg-tol 1e-6 --cg-max-iter 500 --out P.npy`,
    )
    .action(async (opts: PredictCliOptions) => {
      const { runPredict } = await import('./predict-command.js');
      await runPredict(opts, io);
    });

  program
    .command('info')
    .description('Print the runtime and the WebGPU adapter: vendor, architecture, description, limits, features.')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit code 3 when there is no adapter.\n\nExamples:\n  webntk info\n  webntk info --json')
    .action(async (opts: { json?: boolean }) => {
      useNodeWebGPU();
      const ctx = await getGpu();
      const runtime = `node ${process.versions.node} on ${process.platform}-${process.arch}`;
      if (!ctx) {
        if (opts.json) io.out(JSON.stringify({ runtime, adapter: null }, null, 2) + '\n');
        else io.out(`runtime: ${runtime}\nWebGPU: no adapter (install a Vulkan driver; on Debian 12: sudo bash scripts/setup-debian-webgpu.sh)\n`);
        throw new DeviceUnavailable();
      }
      const limits: Record<string, number> = {};
      for (const k in ctx.adapterLimits) limits[k] = (ctx.adapterLimits as unknown as Record<string, number>)[k]!;
      if (opts.json) {
        io.out(JSON.stringify({ runtime: ctx.runtime, adapter: ctx.adapter, limits, features: ctx.features }, null, 2) + '\n');
        return;
      }
      io.out(`runtime: ${ctx.runtime}\nadapter: ${describeAdapter(ctx.adapter)}\n`);
      io.out(`  vendor: ${ctx.adapter.vendor || '-'}\n  architecture: ${ctx.adapter.architecture || '-'}\n`);
      io.out(`  description: ${ctx.adapter.description || '-'}\n  fallback adapter: ${ctx.adapter.isFallbackAdapter ? 'yes' : 'no'}\n`);
      io.out('limits:\n');
      for (const [k, v] of Object.entries(limits).sort()) io.out(`  ${k}: ${v}\n`);
      io.out(`features: ${ctx.features.join(', ') || '-'}\n`);
    });

  program
    .command('spec')
    .description('Print a resolved spec (preset defaults filled in) as JSON, after a one-paragraph description of the model.')
    .argument('<arch>', 'preset reference (name or name:key=value,...) or a JSON spec file')
    .option('--json', 'only the JSON (for scripts and editing)')
    .addHelpText(
      'after',
      `
Examples:
  webntk spec tirer2021
  webntk spec huang2020:depth=50,gamma=0.75 --json > my-resnet.json   # edit, then --arch my-resnet.json`,
    )
    .action((arch: string, opts: { json?: boolean }) => {
      const spec = toSpec(readArch(arch));
      if (!opts.json) io.out(`${describeSpec(spec)}\n\n`);
      io.out(JSON.stringify(spec, null, 2) + '\n');
    });

  program
    .command('bench')
    .description('Time Gram matrices on the CPU reference and on WebGPU side by side, with their agreement.')
    .option('--case <preset,N,d,depth>', 'a case (repeatable); default: arora2019, tirer2021, densenet at N = 1024, d = 64, depth 10', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-cpu', 'skip the CPU reference (for large N)')
    .option('--runtime <name>', 'where to run: node (default), deno, chromium (headless), a comma-separated list, or all (side by side)')
    .option('--json', 'machine-readable output: an array of rows, each with runtime and adapter')
    .addHelpText(
      'after',
      `
--runtime deno runs the cases through Deno's navigator.gpu (wgpu): Deno from $DENO, PATH or the
\`deno\` npm package. --runtime chromium runs them in headless Chromium through playwright-core (an
optional peer dependency; no browser download): Chromium from $CHROMIUM, /usr/bin/chromium,
chromium-browser or google-chrome on PATH. Both load the browser build, dist-browser/webntk.js (in
a checkout it is built first when missing or stale), from a temporary folder or a page on 127.0.0.1.
Every runtime runs the same cases on the same inputs: WebGPU end to end after a 64-row warm-up, and
the float64 CPU reference in that runtime (unless --no-cpu).

Exit codes: 0 success, 2 bad input (--case, --runtime), 3 a runtime, playwright-core, the browser
build or a WebGPU adapter is missing (with --runtime; without it, no adapter gives CPU-only rows),
or the runtime failed, 1 internal error.

The full benchmark suite (first-layer GFLOP/s against the adapter's FMA peak, NumPy side by side)
is \`npm run bench:gpu\` in a checkout.

Examples:
  webntk bench
  webntk bench --case densenet,4096,784,10 --no-cpu --json
  webntk bench --runtime all --case arora2019,256,16,5`,
    )
    .action(async (opts: BenchOptions) => {
      const { runBench, RuntimeUnavailable } = await import('./bench-command.js');
      try {
        await runBench(opts, io);
      } catch (e) {
        if (!(e instanceof RuntimeUnavailable)) throw e;
        io.err(`webntk: error: ${oneLine(e.message)}\n`);
        throw new DeviceUnavailable();
      }
    });

  for (const add of heavy) add(program, io);

  program
    .command('presets')
    .description('List the paper presets with citations and parameters.')
    .addHelpText('after', '\nExample:\n  webntk presets\n  webntk spec arora2019:depth=3   # one preset in full')
    .action(() => {
      for (const p of PRESETS) {
        const params = Object.entries(p.params)
          .map(([k, d]) => (d.default !== undefined ? `${k}=${String(d.default)}` : d.optional ? `[${k}]` : `${k} (required)`))
          .join(', ');
        io.out(`${p.name}: ${p.title}\n  ${p.citation} (arXiv:${p.arxiv})\n  parameters: ${params}\n`);
      }
    });

  program
    .command('demo')
    .description('The main job: NNGP and NTK classification of Fashion-MNIST (the embedded subset, or the full set with --data).')
    .option('--data <dir>', "folder with Fashion-MNIST's four IDX files (Debian: /usr/share/datasets/fashion-mnist)")
    .option('--train-per-class <n>', 'with --data: training images per class', '200')
    .option('--test-per-class <n>', 'with --data: test images per class', '100')
    .addOption(new Option('--backend <name>', 'where the kernels are computed').choices(['cpu', 'webgpu', 'auto']).default('auto'))
    .addOption(
      new Option('--solver <name>', 'direct: K(train, train) in float64; nystrom: the FC presets on --landmarks M inputs; cg-matfree: the FC presets by CG on the exact kernel, never stored (the full set fits either way)')
        .choices(['direct', 'nystrom', 'cg-matfree'])
        .default('direct'),
    )
    .option('--cg-tol <tol>', "with --solver cg-matfree: CG's relative-residual tolerance (default 1e-6)")
    .option('--ridge-rel <r>', 'the ridge relative to the mean diagonal of K(train, train) (default 1e-4; cg-matfree on the full set: 1e-1, see README)')
    .option('--landmarks <M>', 'with --solver nystrom: landmark inputs', '1000')
    .addOption(new Option('--landmark-choice <rule>', 'with --solver nystrom: how the landmarks are chosen').choices(['uniform', 'pivoted-cholesky', 'rp-cholesky']).default('uniform'))
    .addHelpText(
      'after',
      '\nExamples:\n  webntk demo   # what npm start runs\n  webntk demo --data /usr/share/datasets/fashion-mnist --train-per-class 1000 --test-per-class 500\n' +
        '  webntk demo --data /usr/share/datasets/fashion-mnist --train-per-class 6000 --test-per-class 1000 --solver nystrom --landmarks 2000   # all 60 000\n' +
        '  webntk demo --data /usr/share/datasets/fashion-mnist --train-per-class 6000 --test-per-class 1000 --solver cg-matfree --ridge-rel 1e-1 --backend webgpu',
    )
    .action(async (o: { data?: string; trainPerClass: string; testPerClass: string; backend: 'cpu' | 'webgpu' | 'auto'; solver: 'direct' | 'nystrom' | 'cg-matfree'; landmarks: string; landmarkChoice: 'uniform' | 'pivoted-cholesky' | 'rp-cholesky'; cgTol?: string; ridgeRel?: string }) => {
      const count = (v: string, name: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InputError(`${name} must be a positive integer, got "${v}"`);
        return n;
      };
      let cgTol: number | undefined;
      if (o.cgTol !== undefined) {
        cgTol = Number(o.cgTol);
        if (!(cgTol > 0 && cgTol < 1)) throw new InputError(`--cg-tol must be a number in (0, 1), got "${o.cgTol}"`);
        if (o.solver !== 'cg-matfree') throw new InputError('--cg-tol applies to --solver cg-matfree');
      }
      let relativeRidge: number | undefined;
      if (o.ridgeRel !== undefined) {
        relativeRidge = Number(o.ridgeRel);
        if (!(relativeRidge > 0 && Number.isFinite(relativeRidge))) throw new InputError(`--ridge-rel must be a positive number, got "${o.ridgeRel}"`);
      }
      const { runDemo } = await import('./demo.js');
      await runDemo(io, {
        ...(o.data !== undefined ? { data: o.data } : {}),
        trainPerClass: count(o.trainPerClass, '--train-per-class'),
        testPerClass: count(o.testPerClass, '--test-per-class'),
        backend: o.backend,
        solver: o.solver,
        ...(o.solver === 'nystrom' ? { landmarks: count(o.landmarks, '--landmarks'), landmarkChoice: o.landmarkChoice } : {}),
        ...(cgTol !== undefined ? { cgTol } : {}),
        ...(relativeRidge !== undefined ? { relativeRidge } : {}),
      });
    });

  return program;
}

/** `info` found no adapter (exit code 3, after printing what it knows). */
class DeviceUnavailable extends Error {}

/** Runs the CLI with `argv` (without the node and script entries); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  try {
    const program = buildProgram(io, await heavyCommands(argv));
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof DeviceUnavailable) return EXIT_DEVICE;
    if (e instanceof GpuError) {
      io.err(`webntk: GPU error: ${oneLine(e.message)}\n`);
      return EXIT_DEVICE;
    }
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (e instanceof IoError) {
      io.err(`webntk: error: ${oneLine(e.message)}\n`);
      return EXIT_IO;
    }
    if (e instanceof InputError) {
      io.err(`webntk: error: ${oneLine(e.message)}\n`);
      return EXIT_BAD_INPUT;
    }
    io.err(`webntk: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

/** One line, even when a message quotes multi-line text (e.g. JSON.parse on a spec file). */
function oneLine(message: string): string {
  return message.replace(/\s*[\r\n]+\s*/g, ' ');
}

/**
 * Runs the CLI as the `webntk` process does (bin.ts, after the signal handlers are installed or in
 * the filtered child): a closed stdout pipe ends quietly, and Dawn is released so the process exits.
 */
export async function runMain(argv: string[]): Promise<number> {
  // A closed pipe (`webntk presets | head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const code = await main(argv);
  // With a device opened, the process ends here rather than by Node's exit (exitNodeWebGPU: Dawn's
  // teardown of its instance would add ~80 ms on lavapipe, a sixth of a cold start).
  if (await releaseNodeWebGPU()) await exitNodeWebGPU(code);
  return code;
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// `node dist/node/cli.js …` (scripts, the GPU bundle) behaves as the `webntk` bin.
if (isEntryPoint()) process.exitCode = await launch(process.argv.slice(2), async () => runMain);
