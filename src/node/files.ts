/**
 * Node-only file handling: reading inputs and specs, and writing outputs atomically (a temporary
 * file in the same folder, renamed into place only when complete, removed on any failure).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, lstatSync, openSync, readFileSync, realpathSync, renameSync, statfsSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsError, InputError, IoError } from '../errors.js';
import { registerTemp, releaseTemp } from './signals.js';
import { parseDelimited } from '../io/csv.js';
import { parseNpy } from '../io/npy.js';
import type { Matrix2D } from '../matrix.js';
import { toMatrix } from '../matrix.js';
import { takesImages, type Arch, type KernelInput } from '../api.js';
import { toImages, type ImageLayout } from '../images.js';

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fsError(e, `read ${what}`, path);
  }
}

/** An input file as { data, shape }: .npy as stored, or .csv/.tsv/.txt as [rows, cols] (a header row is skipped). */
function readInputFile(path: string): { data: Float64Array; shape: number[]; text: boolean } {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv') || lower.endsWith('.tsv') || lower.endsWith('.txt')) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(readBytes(path, 'input'));
    const t = parseDelimited(text, path, lower.endsWith('.tsv') ? { delimiter: '\t' } : {});
    return { data: t.data, shape: [t.rows, t.cols], text: true };
  }
  const arr = parseNpy(readBytes(path, 'input'), path);
  return { data: arr.data, shape: arr.shape, text: false };
}

/** Reads a matrix whose rows are inputs: .npy (2-D), or .csv/.tsv/.txt (a header row is skipped). */
export function readMatrixFile(path: string): Matrix2D {
  const arr = readInputFile(path);
  if (arr.shape.length !== 2) {
    throw new InputError(
      `${path}: expected a 2-D matrix (rows are inputs), got shape (${arr.shape.join(', ')}${arr.shape.length === 1 ? ',' : ''})`,
    );
  }
  return toMatrix({ data: arr.data, shape: arr.shape }, path);
}

/** `--layout`: where the channel axis of image inputs is (nchw when not given). */
export function parseLayout(v: string | undefined): ImageLayout | undefined {
  if (v === undefined) return undefined;
  if (v !== 'nchw' && v !== 'nhwc') throw new InputError(`--layout must be nchw ([N, C, H, W] or [N, C, P]) or nhwc ([N, H, W, C] or [N, P, C]), got "${v}"`);
  return v;
}

/** An input file as read, before it is taken as a matrix or as images (see kernelInputOf). */
export interface InputArray {
  path: string;
  data: Float64Array;
  shape: number[];
  text: boolean;
}

/** Reads an input file once, for one or several archs (`kernelInputOf` takes it as each needs). */
export function readInputArray(path: string): InputArray {
  return { path, ...readInputFile(path) };
}

/**
 * An input as `arch` takes it, decided as kernel() decides (takesImages): a [N, d] matrix for a
 * fully connected spec, images for a convolutional one, converted to [N, C, …] (nchw) with every
 * value checked here, so that later steps need no layout. A rank that does not fit the arch is an
 * InputError that names the fix. `flag` names the option in messages (e.g. "--x1").
 */
export function kernelInputOf(a: InputArray, arch: Arch, layout: ImageLayout | undefined, flag: string): KernelInput {
  const where = `${flag} ${a.path}`;
  const name = typeof arch === 'string' ? arch : ((arch as { name?: string }).name ?? 'this spec');
  const shape = `(${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''})`;
  if (takesImages(arch)) {
    const axes = layout === 'nhwc' ? '[N, H, W, C] or [N, P, C]' : '[N, C, H, W] or [N, C, P]';
    if (a.text) throw new InputError(`${where}: a convolutional spec takes images as .npy of shape ${axes}; CSV/TSV holds a [N, d] matrix`);
    if (a.shape.length !== 3 && a.shape.length !== 4) {
      throw new InputError(
        `${where}: shape ${shape} is not images; a convolutional spec takes .npy of shape ${axes}` +
          (a.shape.length === 2 ? ` (a [N, d] matrix: reshape it to [N, 1, d] for 1-D signals, or use a fully connected spec)` : ''),
      );
    }
    const im = toImages({ data: a.data, shape: a.shape }, layout ?? 'nchw', where);
    return { data: im.data, shape: [im.n, im.channels, ...im.dims] };
  }
  if (layout !== undefined) throw new InputError(`--layout applies to images, and ${name} is fully connected (its input is a [N, d] matrix)`);
  if (a.shape.length === 3 || a.shape.length === 4) {
    throw new InputError(
      `${where}: shape ${shape} is images, but ${name} is fully connected (its input is a [N, d] matrix): ` +
        'use a convolutional spec (e.g. cntk, rescnn, or a flatten/gap readout before the dense layers) or reshape the file to [N, C·H·W]',
    );
  }
  if (a.shape.length !== 2) throw new InputError(`${a.path}: expected a 2-D matrix (rows are inputs), got shape ${shape}`);
  return toMatrix({ data: a.data, shape: a.shape }, a.path);
}

/** readInputArray then kernelInputOf: one input file for one arch. */
export function readKernelInput(path: string, arch: Arch, layout: ImageLayout | undefined, flag: string): KernelInput {
  return kernelInputOf(readInputArray(path), arch, layout, flag);
}

/** How many inputs a kernel input holds (rows of a matrix, images of an image input). */
export function inputCount(x: KernelInput): number {
  return 'rows' in x && typeof x.rows === 'number' ? x.rows : (x as { shape: readonly number[] }).shape[0]!;
}

/**
 * Reads targets or labels: a vector or a matrix (.npy of any numeric dtype, 1-D or 2-D; or CSV/TSV,
 * where one column is a vector), every entry finite.
 */
export function readTargetsFile(path: string): { data: Float64Array; shape: number[] } {
  const a = readInputFile(path);
  if (a.text) return a.shape[1] === 1 ? { data: a.data, shape: [a.shape[0]!] } : { data: a.data, shape: a.shape };
  if (a.shape.length !== 1 && a.shape.length !== 2) {
    throw new InputError(`${path}: expected a vector or a matrix, got shape (${a.shape.join(', ')})`);
  }
  for (let i = 0; i < a.data.length; i++) {
    if (!Number.isFinite(a.data[i]!)) throw new InputError(`${path}: entry ${i} is ${a.data[i]} (targets must be finite)`);
  }
  return { data: a.data, shape: a.shape };
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

/**
 * Fails early (before any computation) when an output path cannot be written: a missing or
 * unwritable folder, a directory there (IoError, exit 4); something there that is not a regular
 * file (a symbolic link, a device, a FIFO: replacing it by renaming would destroy it), or a name
 * without one of `extensions` when given (InputError, exit 2).
 */
export function checkOutputPath(path: string, extensions?: readonly string[]): void {
  if (path === '') throw new InputError('the output path (--out) is empty');
  if (extensions && !extensions.some((e) => path.toLowerCase().endsWith(e))) {
    throw new InputError(`${path}: this output is written as ${extensions.join(' or ')}; give a name ending in ${extensions.join(' or ')}`);
  }
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new IoError(path, 'ENOENT', `cannot write ${path}: folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new IoError(path, 'ENOTDIR', `cannot write ${path}: ${dir} is not a folder (it does not exist as one)`);
  let there: Stats | null = null;
  try {
    there = lstatSync(path);
  } catch {
    // nothing there yet
  }
  if (there?.isDirectory()) throw new IoError(path, 'EISDIR', `cannot write ${path}: it is a directory`);
  if (there && !there.isFile()) {
    const what = there.isSymbolicLink() ? 'a symbolic link' : there.isFIFO() ? 'a FIFO' : there.isSocket() ? 'a socket' : 'a device';
    throw new InputError(`${path} is ${what}, not a regular file: outputs replace the file at their path, so give a plain file path`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw fsError(e, 'write', path);
  }
}

/** A file's identity for comparisons: its real path, or for one not yet there its folder's. */
function identity(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return resolve(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

/**
 * Refuses (InputError, exit 2, before any work) an output that is also an input, or two outputs that
 * are the same file: writing one would destroy the other. `undefined` entries are skipped.
 */
export function checkDistinctPaths(inputs: Record<string, string | undefined>, outputs: Record<string, string | undefined>): void {
  const ins = Object.entries(inputs).filter((e): e is [string, string] => e[1] !== undefined).map(([k, p]) => [k, p, identity(p)] as const);
  const outs = Object.entries(outputs).filter((e): e is [string, string] => e[1] !== undefined).map(([k, p]) => [k, p, identity(p)] as const);
  for (const [ko, po, io] of outs) {
    for (const [ki, pi, ii] of ins) {
      if (io === ii) throw new InputError(`${ko} ${po} is the same file as ${ki} ${pi}: writing it would destroy the input`);
    }
  }
  for (let a = 0; a < outs.length; a++) {
    for (let b = a + 1; b < outs.length; b++) {
      if (outs[a]![2] === outs[b]![2]) throw new InputError(`${outs[a]![0]} and ${outs[b]![0]} are the same file (${outs[a]![1]}): give two different paths`);
    }
  }
}

/** A byte count for people: 512 B, 64.0 kB, 180.0 GB. */
function bytesText(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let u = 0;
  let v = bytes;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Refuses (InputError, exit 2, before any work) outputs that cannot fit the free space of their file
 * systems (outputs on one file system add up), or a size no file can have (2^53 bytes).
 */
export function checkFreeSpace(outputs: readonly { path: string; bytes: number }[]): void {
  const byDevice = new Map<number, { dir: string; bytes: number; paths: string[] }>();
  for (const o of outputs) {
    if (!(o.bytes <= Number.MAX_SAFE_INTEGER)) throw new InputError(`${o.path}: ${o.bytes} bytes is more than any file can hold`);
    const dir = dirname(resolve(o.path));
    const dev = statSync(dir).dev;
    const e = byDevice.get(dev) ?? { dir, bytes: 0, paths: [] };
    e.bytes += o.bytes;
    e.paths.push(o.path);
    byDevice.set(dev, e);
  }
  for (const e of byDevice.values()) {
    let free: number;
    try {
      const fs = statfsSync(e.dir);
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch {
      continue; // a file system that does not report its space: writing will tell
    }
    // An existing output is replaced only after the new one is complete: its space is not free yet.
    if (e.bytes > free) {
      throw new InputError(`${e.paths.join(' and ')} would need ${bytesText(e.bytes)} but the file system of ${e.dir} has ${bytesText(free)} free`);
    }
  }
}

/** A temporary name beside `path`, removed by the signal handlers if the process is interrupted. */
export function tempPathFor(path: string): string {
  // Beside the target (one file system, so the rename is atomic), short whatever the target's name.
  const tmp = join(dirname(path), `.${basename(path).slice(0, 40)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  registerTemp(tmp);
  return tmp;
}

function removeTemp(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch {
    // already gone
  }
  releaseTemp(tmp);
}

/**
 * Writes `chunks` to `path` atomically: nothing appears at `path` unless every byte was written, and
 * an existing file there is untouched on failure. File-system failures are IoErrors (exit 4).
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array>): void {
  checkOutputPath(path);
  const tmp = tempPathFor(path);
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
    releaseTemp(tmp);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    removeTemp(tmp);
    throw fsError(e, 'write', path);
  }
}

/**
 * Writes several files as one unit: every file goes to a temporary name first, and only when all
 * are complete are they renamed into place; on any failure before that, nothing appears and every
 * existing file at those paths keeps its contents.
 */
export function writeFilesAtomic(files: readonly { path: string; bytes: Uint8Array }[]): void {
  for (const f of files) checkOutputPath(f.path);
  const tmps: string[] = [];
  let current = files[0]?.path ?? '';
  try {
    for (const f of files) {
      current = f.path;
      const tmp = tempPathFor(f.path);
      tmps.push(tmp);
      const fd = openSync(tmp, 'wx');
      try {
        let off = 0;
        while (off < f.bytes.length) off += writeSync(fd, f.bytes, off, f.bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    files.forEach((f, i) => {
      current = f.path;
      renameSync(tmps[i]!, f.path);
      releaseTemp(tmps[i]!);
    });
  } catch (e) {
    for (const t of tmps) removeTemp(t);
    throw fsError(e, 'write', current);
  }
}

/** writeFilesAtomic for text (UTF-8). */
export function writeTextFilesAtomic(files: readonly { path: string; text: string }[]): void {
  writeFilesAtomic(files.map((f) => ({ path: f.path, bytes: new TextEncoder().encode(f.text) })));
}
