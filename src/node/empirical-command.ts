/**
 * `webntk empirical`: the empirical NNGP/NTK of one sampled finite network (float64 CPU or f32 WebGPU), written as
 * .npy (or CSV) with the conventions of `webntk gram`: `--get nngp,ntk` writes two files (`{kernel}` in
 * --out replaced, or F.npy → F-nngp.npy and F-ntk.npy),
 * every check before any work, all files renamed into place together, nothing left on failure.
 */
import { extname } from 'node:path';
import { checkEmpiricalBackend, checkSeed, empiricalKernel, empiricalSpec } from '../empirical.js';
import { InputError } from '../errors.js';
import { formatCsv, MAX_CSV_ELEMENTS } from '../io/csv.js';
import { encodeNpy, type NpyDtype } from '../io/npy.js';
import { checkWidth } from '../mc/network.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { useNodeWebGPU } from './webgpu.js';
import type { CliIO } from './cli-io.js';
import { checkDistinctPaths, checkOutputPath, inputCount, readArch, readKernelInput, writeFilesAtomic } from './files.js';
import { outputFormat, outputPaths, parseKinds } from './gram-command.js';

export interface EmpiricalCliOptions {
  arch: string;
  width: string;
  seed: string;
  x1: string;
  x2?: string;
  get: string;
  out: string;
  backend: string;
  dtype: NpyDtype;
  quiet?: boolean;
  json?: boolean;
}

/** A whole number typed on the command line (digits only), checked by `check`. */
function wholeNumber(v: string, flag: string, check: (n: number) => void): number {
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  try {
    if (Number.isNaN(n)) throw new InputError('not a whole number');
    check(n);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(`${flag} must be ${flag === '--width' ? 'a whole number ≥ 1' : 'a whole number from 0 to 4294967295'}, got "${v}"`);
  }
  return n;
}

export async function runEmpirical(opts: EmpiricalCliOptions, io: CliIO): Promise<void> {
  const t0 = performance.now();
  // Everything that can be wrong with the request is checked before any computation or file.
  checkEmpiricalBackend(opts.backend);
  const width = wholeNumber(opts.width, '--width', checkWidth);
  const seed = wholeNumber(opts.seed, '--seed', checkSeed);
  const kinds = parseKinds(opts.get);
  const paths = outputPaths(opts.out, kinds);
  for (const p of paths) checkOutputPath(p);
  const formats = paths.map(outputFormat);
  checkDistinctPaths(
    { '--x1': opts.x1, '--x2': opts.x2, '--arch': opts.arch.endsWith('.json') ? opts.arch : undefined },
    Object.fromEntries(paths.map((p, k) => [paths.length > 1 ? `--out (${kinds[k]})` : '--out', p])),
  );
  const arch = readArch(opts.arch);
  const spec = empiricalSpec(arch);
  // Rows for a dense spec, images [N, C, H, W] or [N, C, P] for a conv spec.
  const x1 = readKernelInput(opts.x1, spec, undefined, '--x1');
  const x2 = opts.x2 !== undefined ? readKernelInput(opts.x2, spec, undefined, '--x2') : null;
  const shape = [inputCount(x1), inputCount(x2 ?? x1)];
  const elements = shape[0]! * shape[1]!;
  formats.forEach((f, k) => {
    if (f === 'csv' && elements > MAX_CSV_ELEMENTS) throw new InputError(`${paths[k]}: ${elements} values are too many for CSV (at most ${MAX_CSV_ELEMENTS}); write .npy`);
  });
  const archOrSpec = typeof arch === 'string' ? arch : spec;
  const gpu = opts.backend === 'webgpu';
  if (gpu) useNodeWebGPU();
  const r = gpu ? await empiricalKernel(archOrSpec, x1, x2, { width, seed, get: kinds, backend: 'webgpu' }) : empiricalKernel(archOrSpec, x1, x2, { width, seed, get: kinds });
  const adapter = gpu ? describeAdapter((await getGpu())!.adapter) : null;
  writeFilesAtomic(
    kinds.map((kind, k) => ({
      path: paths[k]!,
      bytes: formats[k] === 'csv' ? new TextEncoder().encode(formatCsv(r[kind]!, shape)) : encodeNpy(r[kind]!, shape, opts.dtype),
    })),
  );
  const seconds = (performance.now() - t0) / 1000;
  const name = spec.name ?? 'custom spec';
  if (opts.json) {
    io.out(
      JSON.stringify({
        outputs: kinds.map((kind, k) => ({ kernel: kind, path: paths[k], shape, dtype: formats[k] === 'csv' ? 'csv' : opts.dtype })),
        spec: name,
        width,
        seed,
        backend: r.backend,
        ...(adapter ? { adapter } : {}),
        seconds,
      }) + '\n',
    );
  } else if (!opts.quiet) {
    kinds.forEach((kind, k) => {
      io.err(`wrote ${paths[k]}: empirical ${kind} [${shape.join(', ')}] ${formats[k] === 'csv' ? 'csv' : opts.dtype} (${name}, width ${width}, seed ${seed}, ${adapter ? `webgpu f32 on ${adapter}` : 'cpu float64'}, ${seconds.toFixed(2)} s)\n`);
    });
  }
}
