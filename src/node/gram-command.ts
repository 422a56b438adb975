/**
 * `webntk gram`: reads the inputs, checks everything, then streams the result block by block into
 * the output files (renamed into place only when complete), with a progress bar on a terminal.
 */
import { extname } from 'node:path';
import cliProgress from 'cli-progress';
import { checkKernel, kernelBlocks, program as archProgram, toSpec, type BackendChoice } from '../api.js';
import { infiniteDepthLimit } from '../exec/limit.js';
import { parseInfiniteDepthRef } from '../spec/presets.js';
import type { GramBlock, KernelKind } from '../result.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { formatCsv, MAX_CSV_ELEMENTS } from '../io/csv.js';
import type { NpyDtype } from '../io/npy.js';
import { checkDistinctPaths, checkFreeSpace, checkOutputPath, inputCount, parseLayout, readArch, readKernelInput, writeFileAtomic } from './files.js';
import { parseSweepDepths } from './lists.js';
import { interruptionPoint } from './signals.js';
import { NpyBlockWriter } from './npy-writer.js';
import { useNodeWebGPU } from './webgpu.js';
import { SHARD_BLOCK_ROWS, writeShard } from './gram-shard.js';
import { parseShard, shardPath } from './shard-option.js';
import { addPhase, since, type PhaseTimes } from '../phases.js';
import { useNodeWorkers } from './workers.js';
import { MAX_THREADS } from '../exec/threads.js';
import { angleTableChosen } from '../exec/angle-table.js';
import type { CliIO } from './cli-io.js';

/** Upper bound on the bytes of one value in CSV output (17 significant digits, sign, exponent, separator). */
const CSV_BYTES_PER_VALUE = 25;

/** Planes `index` (each `plane` values) of a [taps, rows, cols] block, stacked in that order. */
function pickPlanes(values: Float64Array, plane: number, index: readonly number[]): Float64Array {
  const out = new Float64Array(index.length * plane);
  index.forEach((t, i) => out.set(values.subarray(t * plane, (t + 1) * plane), i * plane));
  return out;
}

export interface GramOptions {
  arch: string;
  x1: string;
  x2?: string;
  get: string;
  out: string;
  backend: BackendChoice;
  diagonal?: boolean;
  /** last (default), all, or a list of depths of the sweep (`1,5,10..20`). */
  depths: string;
  dtype: NpyDtype;
  /** Image inputs (conv specs): nchw (default) or nhwc. */
  layout?: string;
  quiet?: boolean;
  json?: boolean;
  /** Time the phases (ExecOptions.phases, plus the CLI's own: process start, device, write). */
  profile?: boolean;
  /** Worker threads of the CPU backend, as typed (default: the API's). */
  threads?: string;
  /** `I/N` or `auto`: compute shard I of N into `<out>.shard-I-of-N` (see gram-shard.ts). */
  shard?: string;
  /** N for `--shard auto` from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs). */
  shards?: string;
  /** Rows per block of the shard grid (default SHARD_BLOCK_ROWS); every shard of a run must use the same. */
  blockRows?: string;
  /** WebGPU, bias-free degree-1 networks: auto (default), on or off (ExecOptions.angleTable). */
  angleTable?: 'auto' | 'on' | 'off';
}

/** `--block-rows N`: a whole number ≥ 1, only with --shard (it sets the shard grid). */
function parseBlockRows(v: string | undefined, sharded: boolean): number {
  if (v === undefined) return SHARD_BLOCK_ROWS;
  if (!sharded) throw new InputError('--block-rows sets the grid of --shard; it goes with --shard');
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--block-rows must be a whole number ≥ 1, got "${v}"`);
  return n;
}

/** `--threads N`: a whole number from 1 to MAX_THREADS. */
export function parseThreads(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new InputError(`--threads must be a whole number from 1 to ${MAX_THREADS} (1: no worker threads), got "${v}"`);
  return n;
}

/** `--get nngp`, `ntk`, or both as `nngp,ntk`. */
export function parseKinds(get: string): KernelKind[] {
  const kinds = get.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`--get: unknown kernel "${k}" (use nngp, ntk or nngp,ntk)`);
  }
  if (new Set(kinds).size !== kinds.length) throw new InputError(`--get: "${get}" names a kernel twice`);
  return kinds as KernelKind[];
}

/** A Gram output's format from its extension: .npy or .csv, anything else an InputError. */
export function outputFormat(p: string): 'npy' | 'csv' {
  const ext = extname(p).toLowerCase();
  if (ext !== '.npy' && ext !== '.csv') throw new InputError(`${p}: unsupported output type "${ext || '(none)'}" (use .npy or .csv)`);
  return ext === '.csv' ? 'csv' : 'npy';
}

/**
 * One output path per kernel: `--out` as given, `{kernel}` replaced by the kernel's name; with both
 * kernels and no `{kernel}` in the name, the name with `-nngp` / `-ntk` inserted before the
 * extension (F.npy → F-nngp.npy and F-ntk.npy; a name without an extension gets it appended).
 */
export function outputPaths(out: string, kinds: KernelKind[]): string[] {
  if (kinds.length === 1) return [out.replaceAll('{kernel}', kinds[0]!)];
  if (out.includes('{kernel}')) return kinds.map((k) => out.replaceAll('{kernel}', k));
  const ext = extname(out);
  const stem = out.slice(0, out.length - ext.length);
  return kinds.map((k) => `${stem}-${k}${ext}`);
}

export async function runGram(opts: GramOptions, io: CliIO, terminal: boolean): Promise<void> {
  const t0 = performance.now();
  // performance.now() counts from the process's start: what Node and the module loading took.
  const phases: PhaseTimes | undefined = opts.profile ? { processStart: t0 / 1000 } : undefined;
  // Everything that can be wrong with the request is checked before any computation.
  const kinds = parseKinds(opts.get);
  const threads = parseThreads(opts.threads);
  const paths = outputPaths(opts.out, kinds);
  const shard = parseShard(opts.shard, opts.shards, process.env);
  const blockRows = parseBlockRows(opts.blockRows, shard !== null);
  // A sharded run writes <out>.shard-I-of-N beside each output; `webntk merge` writes the output.
  const written = shard ? paths.map((p) => shardPath(p, shard.index, shard.count)) : paths;
  for (const p of written) checkOutputPath(p);
  const formats = paths.map(outputFormat);
  checkDistinctPaths(
    { '--x1': opts.x1, '--x2': opts.x2, '--arch': opts.arch.endsWith('.json') ? opts.arch : undefined },
    Object.fromEntries(written.map((p, k) => [paths.length > 1 ? `--out (${kinds[k]})` : '--out', p])),
  );
  if (shard && formats.includes('csv')) throw new InputError('--shard writes .npy outputs (merged by webntk merge); give --out a .npy name');
  if (shard && opts.diagonal) throw new InputError('--diagonal is one value per input, too little work to shard: compute it without --shard');
  const arch = readArch(opts.arch);
  // huang2020/belfer2021 at depth=inf have no finite spec: the API computes the limit from the reference.
  const inf = typeof arch === 'string' ? parseInfiniteDepthRef(arch) : null;
  if (inf) {
    infiniteDepthLimit(inf);
    if (opts.depths !== 'last') throw new InputError(`${String(arch)}: --depths ${opts.depths} needs a finite depth (depth=inf has one value)`);
  }
  const spec = inf ? null : toSpec(arch);
  const name = spec ? (spec.name ?? null) : String(arch);
  const layout = parseLayout(opts.layout);
  // A matrix or images, as the arch takes them (a rank that does not fit is refused here).
  const x1 = readKernelInput(opts.x1, arch, layout, '--x1');
  const x2 = opts.x2 !== undefined ? readKernelInput(opts.x2, arch, layout, '--x2') : null;
  if (x2 && 'cols' in x1 && 'cols' in x2 && x2.cols !== x1.cols) throw new InputError(`x1 has ${x1.cols} features (columns) but x2 has ${x2.cols}`);
  if (opts.diagonal && x2) throw new InputError('--diagonal is defined for x1 × x1 only (omit --x2)');
  const program = spec ? archProgram(spec) : null;
  // Which depths of the sweep to write: the last, all, or a list (every one must be in the sweep).
  const sweep = program ? program.depths : [];
  const chosen = opts.depths === 'last' ? null : parseSweepDepths(opts.depths, '--depths', sweep, opts.arch);
  const tapIndex = chosen ? chosen.map((t) => sweep.indexOf(t)) : null;
  const stacked = opts.depths !== 'last';
  const taps = chosen ? chosen.length : 1;
  const n1 = inputCount(x1);
  const n2 = opts.diagonal ? 1 : inputCount(x2 ?? x1);
  const plane = opts.diagonal ? [n1] : [n1, n2];
  const shape = stacked ? [taps, ...plane] : plane;
  const elements = shape.reduce((a, b) => a * b, 1);
  formats.forEach((f, k) => {
    if (f === 'csv' && stacked) throw new InputError(`${paths[k]}: CSV holds one matrix; write a depth sweep as .npy`);
    if (f === 'csv' && elements > MAX_CSV_ELEMENTS) {
      throw new InputError(`${paths[k]}: ${elements} values are too many for CSV (at most ${MAX_CSV_ELEMENTS}); write .npy`);
    }
  });
  // Sizes before any work: a Gram matrix that cannot be written is refused now, not hours later.
  const item = opts.dtype === 'float64' ? 8 : 4;
  // A shard holds about 1/N of the matrix (its blocks of the upper triangle, within one block).
  const shardBytes = shard ? Math.ceil(elements / shard.count) + taps * blockRows * blockRows : 0;
  checkFreeSpace(formats.map((f, k) => ({ path: written[k]!, bytes: shard ? 4096 + shardBytes * item : f === 'npy' ? 128 + elements * item : elements * CSV_BYTES_PER_VALUE })));
  // The arch's own checks (image channels and sizes, a gap state that would not fit in memory, a
  // backend it cannot use) before the writers below create any file.
  checkKernel(spec ?? arch, x1, x2, { get: kinds, backend: opts.backend, diagonal: opts.diagonal ?? false, depths: stacked ? 'all' : 'last' });
  if (opts.backend !== 'cpu') {
    useNodeWebGPU();
    // The adapter and device, opened here so that the profile tells them from the kernel's phases.
    const td = performance.now();
    if (phases) await getGpu();
    addPhase(phases, 'device', since(td));
  }
  useNodeWorkers();
  const valuesOf = (block: GramBlock, kind: KernelKind): Float64Array => {
    const all = block[kind]!;
    // A depth list: the chosen planes of the block's sweep, in order.
    return tapIndex && tapIndex.length < sweep.length ? pickPlanes(all, block.rows * block.cols, tapIndex) : all;
  };
  const depthLabels = !program ? ['inf'] : chosen ?? [program.depths[program.depths.length - 1]!];
  // auto is decided on the whole matrix, so that every shard makes the single run's choice (and
  // the merge equals it bit for bit).
  const mode = opts.angleTable ?? 'auto';
  const angleTable = angleTableChosen(mode === 'auto' ? undefined : mode === 'on', n1, x2 ? n2 : null, opts.diagonal ?? false);
  if (shard) {
    const done = await writeShard({
      shard,
      arch,
      archArg: opts.arch,
      resolvedSpec: spec,
      x1,
      x2,
      x1Path: opts.x1,
      ...(opts.x2 !== undefined ? { x2Path: opts.x2 } : {}),
      layout: layout ?? null,
      kinds,
      paths,
      dtype: opts.dtype,
      depthsArg: opts.depths,
      depthLabels,
      taps,
      shape,
      blockRows,
      options: { get: kinds, backend: opts.backend, depths: stacked ? 'all' : 'last', angleTable, ...(phases ? { phases } : {}), ...(threads !== undefined ? { threads } : {}) },
      valuesOf,
    });
    const seconds = (performance.now() - t0) / 1000;
    if (opts.json) {
      io.out(
        JSON.stringify({
          outputs: kinds.map((kind, k) => ({ kernel: kind, path: done.files[k], merged: paths[k], shape, dtype: opts.dtype })),
          shard: { index: shard.index, count: shard.count, from: shard.source, blocks: done.blocks, blockRows },
          depths: depthLabels,
          spec: name,
          backend: done.backend,
          adapter: done.adapter,
          seconds,
          ...(phases ? { phases: { ...phases, total: performance.now() / 1000 } } : {}),
        }) + '\n',
      );
    } else if (!opts.quiet) {
      const where = done.backend === null ? 'no blocks' : done.backend === 'webgpu' ? `webgpu on ${done.adapter}` : `cpu float64${(done.threads ?? 1) > 1 ? ` on ${done.threads} threads` : ''}`;
      for (const [k, kind] of kinds.entries()) {
        io.err(`wrote ${done.files[k]}: shard ${shard.index} of ${shard.count} (${shard.source}), ${done.blocks} blocks of ${kind} [${shape.join(', ')}] ${opts.dtype} (${name ?? 'custom spec'}, ${where}, ${seconds.toFixed(2)} s)\n`);
      }
    }
    return;
  }

  // .npy outputs stream block by block; CSV (small by the check above) is assembled in memory.
  const writers = formats.map((f, k) => (f === 'npy' ? new NpyBlockWriter(paths[k]!, shape, opts.dtype, opts.diagonal ?? false) : null));
  const csv = formats.map((f) => (f === 'csv' ? new Float64Array(elements) : null));
  const bar =
    terminal && !opts.quiet && !opts.json
      ? new cliProgress.SingleBar(
          {
            format: 'webntk gram [{bar}] {value}/{total} blocks | {rate} blocks/s | {duration_formatted} elapsed | ETA {eta_formatted}',
            stream: process.stderr,
            hideCursor: true,
            noTTYOutput: !process.stderr.isTTY, // behind the stderr filter (quiet.ts) the terminal is the parent's
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let backend = 'cpu';
  let threadInfo: { threads?: number; threadsNote?: string } = {};
  try {
    let started = false;
    // kernel: the time spent waiting for blocks (every executor phase above is inside it).
    let tk = performance.now();
    for await (const block of kernelBlocks(spec ?? arch, x1, x2, {
      get: kinds,
      backend: opts.backend,
      diagonal: opts.diagonal ?? false,
      depths: stacked ? 'all' : 'last',
      // Each block is written before the next is asked for: its arrays can serve the next one.
      reuseBlocks: true,
      angleTable,
      ...(phases ? { phases } : {}),
      ...(threads !== undefined ? { threads } : {}),
      onProgress: ({ blocksDone, blocks }) => {
        if (!bar) return;
        if (!started) {
          bar.start(blocks, 0, { rate: '-' });
          started = true;
        }
        bar.update(blocksDone, { rate: (blocksDone / ((performance.now() - t0) / 1000)).toFixed(2) });
      },
    })) {
      backend = block.backend;
      const tw = performance.now();
      addPhase(phases, 'kernel', (tw - tk) / 1000);
      threadInfo = { threads: block.threads, threadsNote: block.threadsNote };
      kinds.forEach((kind, k) => {
        const values = valuesOf(block, kind);
        writers[k]?.writeBlock(values, 0, taps, block.row0, block.col0, block.rows, block.cols);
        const c = csv[k];
        if (c) {
          for (let i = 0; i < block.rows; i++) {
            for (let j = 0; j < block.cols; j++) c[(block.row0 + i) * n2 + block.col0 + j] = values[i * block.cols + j]!;
          }
        }
      });
      addPhase(phases, 'write', since(tw));
      await interruptionPoint(); // a signal between blocks ends the run here
      tk = performance.now();
    }
    bar?.stop();
    await interruptionPoint();
    kinds.forEach((_, k) => {
      const c = csv[k];
      if (c) writeFileAtomic(paths[k]!, [new TextEncoder().encode(formatCsv(c, [n1, n2]))]);
    });
    const tc = performance.now();
    for (const w of writers) w?.commit();
    addPhase(phases, 'write', since(tc));
  } catch (e) {
    bar?.stop();
    for (const w of writers) w?.abort();
    throw e;
  }

  const seconds = (performance.now() - t0) / 1000;
  const adapter = backend === 'webgpu' ? describeAdapter((await getGpu())!.adapter) : null;
  if (opts.json) {
    io.out(
      JSON.stringify({
        outputs: kinds.map((kind, k) => ({ kernel: kind, path: paths[k], shape, dtype: formats[k] === 'csv' ? 'csv' : opts.dtype })),
        depths: depthLabels,
        spec: name,
        backend,
        adapter,
        ...(backend === 'cpu' ? { threads: threadInfo.threads ?? 1, ...(threadInfo.threadsNote ? { threadsNote: threadInfo.threadsNote } : {}) } : {}),
        seconds,
        ...(phases ? { phases: { ...phases, total: performance.now() / 1000 } } : {}),
      }) + '\n',
    );
  } else if (phases && !opts.quiet) {
    phases.total = performance.now() / 1000;
    const list = Object.entries(phases).map(([k, v]) => (/^pipelines/.test(k) ? `${k} ${v}` : `${k} ${v.toFixed(3)} s`));
    io.err(`phases: ${list.join(', ')}\n`);
  }
  if (!opts.json && !opts.quiet) {
    const t = threadInfo.threads ?? 1;
    const where = backend === 'webgpu' ? `webgpu on ${adapter}` : `cpu float64${t > 1 ? ` on ${t} threads` : ''}`;
    for (const [k, kind] of kinds.entries()) {
      const type = formats[k] === 'csv' ? 'csv' : opts.dtype;
      io.err(`wrote ${paths[k]}: ${kind} [${shape.join(', ')}] ${type} (${name ?? 'custom spec'}, ${where}, ${seconds.toFixed(2)} s)\n`);
    }
  }
}
