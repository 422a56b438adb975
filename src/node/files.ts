/**
 * Node-only file handling: reading inputs and specs, and writing outputs atomically (a temporary
 * file in the same folder, renamed into place only when complete, removed on any failure).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { parseDelimited } from '../io/csv.js';
import { parseNpy } from '../io/npy.js';
import type { Matrix2D } from '../matrix.js';
import { toMatrix } from '../matrix.js';
import type { Arch } from '../api.js';

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new InputError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** Reads a matrix whose rows are inputs: .npy (2-D), or .csv/.tsv/.txt (a header row is skipped). */
export function readMatrixFile(path: string): Matrix2D {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.tsv') || lower.endsWith('.txt')) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(readBytes(path, 'input'));
    const t = parseDelimited(text, path, lower.endsWith('.tsv') ? { delimiter: '\t' } : {});
    return toMatrix({ data: t.data, shape: [t.rows, t.cols] }, path);
  }
  const arr = parseNpy(readBytes(path, 'input'), path);
  if (arr.shape.length !== 2) {
    throw new InputError(
      `${path}: expected a 2-D matrix (rows are inputs), got shape (${arr.shape.join(', ')}${arr.shape.length === 1 ? ',' : ''})`,
    );
  }
  return toMatrix({ data: arr.data, shape: arr.shape }, path);
}

/**
 * An --arch argument: a JSON spec file (a path ending in .json or containing a path separator) or
 * a preset reference such as "huang2020:depth=50,gamma=0.75".
 */
export function readArch(arg: string): Arch {
  const looksLikeFile = arg.endsWith('.json') || arg.includes('/') || arg.includes('\\');
  if (!looksLikeFile) return arg;
  const text = new TextDecoder().decode(readBytes(arg, 'spec file'));
  try {
    return JSON.parse(text) as Arch;
  } catch (e) {
    throw new InputError(`spec file ${arg} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Fails early (before any computation) when an output path cannot be written. */
export function checkOutputPath(path: string): void {
  if (path === '') throw new InputError('the output path (--out) is empty');
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`cannot write ${path}: folder ${dir} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new InputError(`cannot write ${path}: it is a directory`);
  }
}

/**
 * Writes `chunks` to `path` atomically: nothing appears at `path` unless every byte was written.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  checkOutputPath(path);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx');
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

/**
 * Writes several text files as one unit: every file goes to a temporary name first, and only when
 * all are complete are they renamed into place; on any failure before that, nothing appears.
 */
export function writeTextFilesAtomic(files: readonly { path: string; text: string }[]): void {
  for (const f of files) checkOutputPath(f.path);
  const tmps: string[] = [];
  try {
    for (const f of files) {
      const tmp = `${f.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      const fd = openSync(tmp, 'wx');
      tmps.push(tmp);
      try {
        const bytes = new TextEncoder().encode(f.text);
        let off = 0;
        while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    for (const t of tmps) {
      try {
        unlinkSync(t);
      } catch {
        // already gone
      }
    }
    throw e;
  }
  files.forEach((f, i) => renameSync(tmps[i]!, f.path));
}
