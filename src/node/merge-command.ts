/**
 * `webntk merge K.npy`: assembles K.npy from the shard files `K.npy.shard-I-of-N` that
 * `webntk gram --shard` wrote. Before any writing it checks that all N are there and that they come
 * from one run (webntk version, spec, input files by sha256, size, dtype, kernel, depths, block
 * size, backend) and hold exactly the blocks their number stands for; then it copies one block at a
 * time into the output (memory: one block), a block of the upper triangle of X × X also transposed
 * into the lower one, and renames the output into place complete. Every refusal is an InputError
 * (exit 2): the shards are this command's input, and a missing one is incomplete input; a file that
 * cannot be read or written is an IoError (exit 4).
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, fsError } from '../errors.js';
import { shardBlocks } from '../exec/shards.js';
import { checkDistinctPaths, checkFreeSpace, checkOutputPath } from './files.js';
import { NpyBlockWriter } from './npy-writer.js';
import { ShardReader, type ShardManifest } from './shard-file.js';
import { shardPath } from './shard-option.js';
import { interruptionPoint } from './signals.js';
import type { CliIO } from './cli-io.js';

export interface MergeOptions {
  quiet?: boolean;
  json?: boolean;
}

/** Shard files of `out` in its folder: index → path, for the one shard count found. */
export function findShards(out: string): { count: number; files: Map<number, string> } {
  const dir = dirname(out);
  const base = basename(out);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw fsError(e, 'read', dir);
  }
  const byCount = new Map<number, Map<number, string>>();
  for (const name of names) {
    if (!name.startsWith(`${base}.shard-`)) continue;
    const m = /^-(\d+)-of-(\d+)$/.exec(name.slice(base.length + '.shard'.length));
    if (!m) continue;
    const [i, n] = [Number(m[1]), Number(m[2])];
    if (!byCount.has(n)) byCount.set(n, new Map());
    byCount.get(n)!.set(i, join(dir, name));
  }
  if (byCount.size === 0) throw new InputError(`${out}: no shard files (${base}.shard-I-of-N) in ${dir}; write them with webntk gram … --out ${out} --shard I/N`);
  if (byCount.size > 1) {
    const counts = [...byCount.keys()].sort((a, b) => a - b);
    throw new InputError(`${out}: shards of ${counts.length} different runs (of ${counts.join(', ')} shards) in ${dir}; remove the stale ones`);
  }
  const [count, files] = [...byCount.entries()][0]!;
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!files.has(i)) missing.push(i);
  if (missing.length) {
    const list = missing.length <= 8 ? missing.join(', ') : `${missing.slice(0, 8).join(', ')} and ${missing.length - 8} more`;
    throw new InputError(`${out}: missing ${missing.length} of ${count} shards: ${list} (e.g. ${shardPath(base, missing[0]!, count)}); rerun those tasks`);
  }
  const extra = [...files.keys()].filter((i) => i >= count);
  if (extra.length) throw new InputError(`${out}: ${shardPath(base, extra[0]!, count)} has an index beyond 0 … ${count - 1}`);
  return { count, files };
}

/** What two shards of one run must share, each with the words that name it in a refusal. */
const SAME: readonly [string, (m: ShardManifest) => unknown][] = [
  ['webntk version', (m) => m.webntk],
  ['spec (--arch)', (m) => m.spec],
  ['resolved spec', (m) => m.resolvedSpec],
  ['input --x1 (sha256)', (m) => m.inputs.x1.sha256],
  ['input --x2 (sha256)', (m) => m.inputs.x2?.sha256 ?? null],
  ['size (shape)', (m) => m.shape],
  ['dtype', (m) => m.dtype],
  ['kernel', (m) => m.kernel],
  ['depths', (m) => m.depthLabels],
  ['layout', (m) => m.layout],
  ['block size (--block-rows)', (m) => m.blockRows],
  ['merged file name', (m) => m.output],
];

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? 'none';
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Refuses shards that do not belong together or that do not hold the blocks their number stands for. */
export function checkShards(out: string, readers: readonly ShardReader[]): void {
  const first = readers[0]!;
  const f = first.manifest;
  let backend: { path: string; name: string } | null = null;
  for (const r of readers) {
    const m = r.manifest;
    for (const [what, get] of SAME) {
      const a = JSON.stringify(get(f));
      const b = JSON.stringify(get(m));
      if (a !== b) throw new InputError(`${r.path} and ${first.path} come from different runs: their ${what} differs (${show(get(m))} vs ${show(get(f))})`);
    }
    if (m.backend !== null) {
      if (backend && backend.name !== m.backend) throw new InputError(`${r.path} and ${backend.path} come from different runs: their backend differs (${m.backend} vs ${backend.name})`);
      backend ??= { path: r.path, name: m.backend };
    }
    const name = basename(r.path);
    const expected = `${basename(out)}.shard-${m.shard.index}-of-${m.shard.count}`;
    if (name !== expected) throw new InputError(`${r.path} holds shard ${m.shard.index} of ${m.shard.count} (renamed from ${expected}?)`);
  }
  const [n1, n2] = f.shape.slice(-2) as [number, number];
  for (const r of readers) {
    const m = r.manifest;
    const want = shardBlocks(n1, n2, f.symmetric, f.blockRows, m.shard.index, m.shard.count);
    const same = want.length === m.blocks.length && want.every((b, i) => {
      const h = m.blocks[i]!;
      return h.row0 === b.row0 && h.col0 === b.col0 && h.rows === b.rows && h.cols === b.cols;
    });
    if (!same) throw new InputError(`${r.path} does not hold the blocks of shard ${m.shard.index} of ${m.shard.count} (written by a webntk that assigns blocks differently?)`);
  }
}

/** Transposes each [rows, cols] plane of values [taps, rows, cols]. */
function transposed(v: Float64Array, taps: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(v.length);
  const n = rows * cols;
  for (let t = 0; t < taps; t++) for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[t * n + j * rows + i] = v[t * n + i * cols + j]!;
  return out;
}

export async function runMerge(outs: readonly string[], opts: MergeOptions, io: CliIO): Promise<void> {
  const t0 = performance.now();
  const done: { path: string; shards: number; kernel: string; shape: number[]; dtype: string }[] = [];
  for (const out of outs) {
    checkOutputPath(out, ['.npy']);
    const { count, files } = findShards(out);
    const readers: ShardReader[] = [];
    let writer: NpyBlockWriter | null = null;
    try {
      for (let i = 0; i < count; i++) readers.push(new ShardReader(files.get(i)!));
      checkShards(out, readers);
      const m = readers[0]!.manifest;
      checkDistinctPaths(Object.fromEntries(readers.map((r, i) => [`shard ${i}`, r.path])), { output: out });
      const elements = m.shape.reduce((a, b) => a * b, 1);
      checkFreeSpace([{ path: out, bytes: 128 + elements * (m.dtype === 'float64' ? 8 : 4) }]);
      writer = new NpyBlockWriter(out, m.shape, m.dtype);
      for (const r of readers) {
        for (const [b, blk] of r.manifest.blocks.entries()) {
          const v = r.block(b);
          writer.writeBlock(v, 0, m.taps, blk.row0, blk.col0, blk.rows, blk.cols);
          // The upper triangle's off-diagonal blocks also stand for their transposes.
          if (m.symmetric && blk.row0 !== blk.col0) writer.writeBlock(transposed(v, m.taps, blk.rows, blk.cols), 0, m.taps, blk.col0, blk.row0, blk.cols, blk.rows);
          await interruptionPoint();
        }
      }
      writer.commit();
      done.push({ path: out, shards: count, kernel: m.kernel, shape: m.shape, dtype: m.dtype });
    } catch (e) {
      writer?.abort();
      throw e;
    } finally {
      for (const r of readers) r.close();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  if (opts.json) io.out(JSON.stringify({ outputs: done, seconds }) + '\n');
  else if (!opts.quiet) {
    for (const d of done) io.err(`merged ${d.path} from ${d.shards} shards: ${d.kernel} [${d.shape.join(', ')}] ${d.dtype} (${seconds.toFixed(2)} s)\n`);
  }
}
