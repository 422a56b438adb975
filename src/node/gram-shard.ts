/**
 * `webntk gram … --shard I/N`: computes the blocks of shard I (src/exec/shards.ts) and writes them,
 * with the manifest a merge checks, into `<out>.shard-I-of-N` — one shard file per output file
 * (`--get nngp,ntk` gives two, each with every depth asked for). Each block is one kernelBlocks()
 * call on row slices of the inputs: a diagonal block of X × X as X_b × X_b and an off-diagonal one
 * as X_bi × X_bj, exactly as the single-process run computes them, so the merge equals it bit for
 * bit (the executors compute every entry by the same code whatever the split).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { kernelBlocks, type Arch, type KernelInput, type KernelOptions } from '../api.js';
import { fsError } from '../errors.js';
import { shardBlocks } from '../exec/shards.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import type { NpyDtype } from '../io/npy.js';
import type { GramBlock, KernelKind } from '../result.js';
import { inputCount } from './files.js';
import { ShardWriter, type ShardInputHash, type ShardManifest } from './shard-file.js';
import { shardPath, type ShardChoice } from './shard-option.js';
import { interruptionPoint } from './signals.js';
import { webntkVersion } from './version.js';

/** Rows per block of the shard grid when --block-rows is not given. */
export const SHARD_BLOCK_ROWS = 1024;

export interface ShardRun {
  shard: ShardChoice;
  arch: Arch;
  /** --arch as given; the resolved spec (null for a depth=inf reference). */
  archArg: string;
  resolvedSpec: unknown;
  x1: KernelInput;
  x2: KernelInput | null;
  x1Path: string;
  x2Path?: string;
  layout: string | null;
  kinds: KernelKind[];
  /** The merged output of each kind (the shard files are named after them). */
  paths: string[];
  dtype: NpyDtype;
  depthsArg: string;
  depthLabels: (number | string)[];
  taps: number;
  /** The merged array's shape. */
  shape: number[];
  blockRows: number;
  options: KernelOptions;
  /** The values of a computed block to store for a kind ([taps, rows, cols]: the chosen depths). */
  valuesOf(block: GramBlock, kind: KernelKind): Float64Array;
}

export interface ShardDone {
  files: string[];
  blocks: number;
  backend: string | null;
  adapter: string | null;
  threads?: number;
  threadsNote?: string;
}

/** sha256 of a file, read in 1 MiB pieces. */
export function sha256File(path: string): ShardInputHash {
  const h = createHash('sha256');
  const buf = new Uint8Array(1 << 20);
  let bytes = 0;
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } catch (e) {
    throw fsError(e, 'read', path);
  } finally {
    if (fd !== null) closeSync(fd);
  }
  return { file: path, sha256: h.digest('hex'), bytes };
}

/** Inputs [r0, r0 + rows) of a matrix or an image batch, as a view. */
function sliceInput(x: KernelInput, r0: number, rows: number): KernelInput {
  const m = x as { data: Float64Array; rows?: number; cols?: number; shape?: readonly number[] };
  if (typeof m.rows === 'number' && typeof m.cols === 'number') return { data: m.data.subarray(r0 * m.cols, (r0 + rows) * m.cols), rows, cols: m.cols };
  const shape = m.shape!;
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: m.data.subarray(r0 * per, (r0 + rows) * per), shape: [rows, ...shape.slice(1)] };
}

export async function writeShard(run: ShardRun): Promise<ShardDone> {
  const { shard } = run;
  const symmetric = run.x2 === null;
  const n1 = inputCount(run.x1);
  const n2 = inputCount(run.x2 ?? run.x1);
  const blocks = shardBlocks(n1, n2, symmetric, run.blockRows, shard.index, shard.count);
  const inputs = { x1: sha256File(run.x1Path), ...(run.x2Path !== undefined ? { x2: sha256File(run.x2Path) } : {}) };
  const files = run.paths.map((p) => shardPath(p, shard.index, shard.count));
  const manifest = (k: number): ShardManifest => ({
    format: 'webntk-shard',
    formatVersion: 1,
    webntk: webntkVersion(),
    output: basename(run.paths[k]!),
    kernel: run.kinds[k]!,
    get: run.kinds,
    shard: { index: shard.index, count: shard.count },
    spec: run.archArg,
    resolvedSpec: run.resolvedSpec,
    inputs,
    layout: run.layout,
    depths: run.depthsArg,
    depthLabels: run.depthLabels,
    shape: run.shape,
    taps: run.taps,
    dtype: run.dtype,
    symmetric,
    blockRows: run.blockRows,
    backend: null,
    adapter: null,
    blocks: blocks.map((b) => ({ row0: b.row0, col0: b.col0, rows: b.rows, cols: b.cols, offset: 0 })),
  });
  const writers: ShardWriter[] = [];
  let backend: string | null = null;
  let threads: Pick<ShardDone, 'threads' | 'threadsNote'> = {};
  try {
    for (let k = 0; k < files.length; k++) writers.push(new ShardWriter(files[k]!, manifest(k)));
    for (const [b, blk] of blocks.entries()) {
      const a = sliceInput(run.x1, blk.row0, blk.rows);
      // A diagonal block of X × X is X_b × X_b (symmetric, as in the whole run); every other one is X_bi × X_bj.
      const other = symmetric && blk.row0 === blk.col0 ? null : sliceInput(run.x2 ?? run.x1, blk.col0, blk.cols);
      for await (const sub of kernelBlocks(run.arch, a, other, run.options)) {
        backend = sub.backend;
        threads = { ...(sub.threads !== undefined ? { threads: sub.threads } : {}), ...(sub.threadsNote ? { threadsNote: sub.threadsNote } : {}) };
        run.kinds.forEach((kind, k) => writers[k]!.write(b, run.valuesOf(sub, kind), sub.row0, sub.col0, sub.rows, sub.cols));
        await interruptionPoint(); // a signal between blocks ends the run here, leaving no shard file
      }
    }
    await interruptionPoint();
    const adapter = backend === 'webgpu' ? describeAdapter((await getGpu())!.adapter) : null;
    for (const w of writers) w.commit(backend, adapter);
    return { files, blocks: blocks.length, backend, adapter, ...threads };
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
}
