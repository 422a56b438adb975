#!/usr/bin/env node
/**
 * The `webntk` command line. Exit codes: 0 success, 1 internal error, 2 bad input (usage, spec,
 * parameters, files). Errors are one line on stderr; no output file is left behind on failure.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { kernel, toSpec } from '../api.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { GpuError } from '../gpu/gram.js';
import { releaseNodeWebGPU, useNodeWebGPU } from './webgpu.js';
import { encodeNpy } from '../io/npy.js';
import { PRESETS } from '../spec/presets.js';
import { runDemo } from './demo.js';
import { checkOutputPath, readArch, readMatrixFile, writeFileAtomic } from './files.js';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;
/** The GPU failed: no adapter for --backend webgpu is bad input (2); a lost device or GPU error is 3. */
export const EXIT_DEVICE = 3;

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIO: CliIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function buildProgram(io: CliIO): Command {
  const program = new Command('webntk')
    .description('Infinite-width NNGP and NTK kernels of deep MLPs, ResNets and DenseNets.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('gram')
    .description('Compute an NNGP or NTK Gram matrix and write it as a float64 .npy file.')
    .requiredOption('--arch <spec>', 'preset reference (name or name:key=value,...) or a JSON spec file')
    .requiredOption('--x1 <file>', '.npy matrix whose rows are the inputs')
    .option('--x2 <file>', 'second .npy matrix (default: x1, giving the symmetric X1 × X1)')
    .addOption(new Option('--get <kernel>', 'which kernel').choices(['nngp', 'ntk']).default('ntk'))
    .requiredOption('--out <file>', 'output .npy file (float64, C order)')
    .addOption(
      new Option('--backend <name>', 'cpu (float64 reference), webgpu (an error without an adapter) or auto (WebGPU when an adapter exists)')
        .choices(['cpu', 'webgpu', 'auto'])
        .default('cpu'),
    )
    .option('--diagonal', 'only K(x, x) for the rows of x1 (shape [n1])')
    .addOption(
      new Option('--depths <which>', 'last: the full network; all: every depth of the sweep, shape [T, n1, n2]')
        .choices(['last', 'all'])
        .default('last'),
    )
    .addHelpText(
      'after',
      `
Examples:
  webntk gram --arch arora2019:depth=5 --x1 X.npy --get ntk --out K.npy
  webntk gram --arch tirer2021:depth=5,alpha=0.1 --x1 X.npy --x2 T.npy --get nngp --out K.npy
  webntk gram --arch huang2020:depth=50,gamma=0.75 --x1 X.npy --depths all --out sweep.npy
  webntk gram --arch my-net.json --x1 X.npy --diagonal --out diag.npy
  webntk gram --arch densenet:depth=100 --x1 X.npy --backend webgpu --out K.npy`,
    )
    .action(async (opts: { arch: string; x1: string; x2?: string; get: 'nngp' | 'ntk'; out: string; backend: 'cpu' | 'webgpu' | 'auto'; diagonal?: boolean; depths: 'last' | 'all' }) => {
      const t0 = performance.now();
      // Everything that can be wrong with the input is checked before any computation.
      const spec = toSpec(readArch(opts.arch));
      const x1 = readMatrixFile(opts.x1);
      const x2 = opts.x2 !== undefined ? readMatrixFile(opts.x2) : null;
      checkOutputPath(opts.out);
      if (opts.backend !== 'cpu') useNodeWebGPU();
      const result = await kernel(spec, x1, x2, {
        get: opts.get,
        backend: opts.backend,
        diagonal: opts.diagonal ?? false,
        depths: opts.depths,
      });
      const values = result[opts.get]!;
      writeFileAtomic(opts.out, [encodeNpy(values, result.shape, 'float64')]);
      const secs = ((performance.now() - t0) / 1000).toFixed(2);
      const where = result.backend === 'webgpu' ? `webgpu on ${result.adapter}` : 'cpu float64';
      io.err(`wrote ${opts.out}: ${opts.get} [${result.shape.join(', ')}] float64 (${spec.name ?? 'custom spec'}, ${where}, ${secs} s)\n`);
    });

  program
    .command('info')
    .description('Print the runtime and the WebGPU adapter: vendor, architecture, description, limits, features.')
    .option('--json', 'machine-readable output')
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
    .command('presets')
    .description('List the paper presets with citations and parameters.')
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
    .description('The main job: kernels of several presets on the embedded Iris data set, with a summary.')
    .action(async () => {
      await runDemo(io);
    });

  return program;
}

/** `info` found no adapter (exit code 3, after printing what it knows). */
class DeviceUnavailable extends Error {}

/** Runs the CLI with `argv` (without the node and script entries); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  const program = buildProgram(io);
  try {
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

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
  // Dawn keeps the process alive while its instance exists.
  await releaseNodeWebGPU();
}
