/**
 * Reading and writing array files from Node: .npy (any rank and dtype numpy writes for numbers)
 * and CSV/TSV. The formats themselves are runtime-neutral (src/io/npy.ts, src/io/csv.ts, exported
 * from `webntk` as `parseNpy`/`encodeNpy`); this module adds the file system. Writes are atomic: a
 * temporary file beside the target, renamed into place when complete, so that nothing appears and an
 * existing file is left as it was when anything fails.
 *
 * Every error about a file's name or contents is one line that names the path: an `InputError`.
 */
import { readFileSync } from 'node:fs';
import { fsError, InputError } from '../errors.js';
import { formatCsv, parseDelimited, type CsvDelimiter, type DelimitedMatrix } from '../io/csv.js';
import { toFlatArray, type ArrayInput } from '../io/ndarray.js';
import { encodeNpy, parseNpy, type NdArray, type NpyArray, type NpyByteOrder, type NpyWriteDtype } from '../io/npy.js';
import { jsValue } from '../jsvalue.js';
import { writeFileAtomic } from './files.js';

export interface ReadCsvOptions {
  /**
   * Whether the first row holds column names: `true` takes it as names (even if they look like
   * numbers), `false` reads it as data; left out, it is names when one of its cells is text.
   */
  header?: boolean;
  /** Cell separator; left out, detected from the extension (.tsv, .tab: tab) and the first line. */
  delimiter?: CsvDelimiter;
}

export interface WriteNpyOptions {
  /**
   * The dtype to store: 'float64' (the default), 'float32', 'float16', 'int8' … 'int64',
   * 'uint8' … 'uint64', 'bool', or a numpy type string such as '>i4' (`NpyArray.dtype` writes an
   * array back as it was read). Integer and bool dtypes take only values they hold exactly.
   */
  dtype?: NpyWriteDtype;
  /** Byte order (default 'little', what numpy writes on every common machine). */
  byteOrder?: NpyByteOrder;
}

export interface WriteCsvOptions {
  /** Column names, written as the first row (one per column; at least one must be text). */
  header?: readonly string[];
  /** Cell separator; default: tab for a .tsv or .tab path, else ','. */
  delimiter?: CsvDelimiter;
}

const TEXT_EXTENSIONS = /\.(csv|tsv|tab|txt)$/i;

/** A file-system failure as an IoError (an InputError) naming the path and the cause (errors.ts). */
function fileError(e: unknown, action: 'read' | 'write', path: string): Error {
  if (e instanceof InputError) return e; // writeFileAtomic's IoErrors already name the path and the cause
  return fsError(e, action, path);
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') throw new InputError(`expected a file path (a non-empty string), got ${jsValue(path)}`);
}

function checkOptions(opts: unknown, what: string): void {
  if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) {
    throw new InputError(`${what}: options must be an object, got ${jsValue(opts)}`);
  }
}

function readBytes(path: string): Uint8Array {
  checkPath(path);
  try {
    return readFileSync(path);
  } catch (e) {
    throw fileError(e, 'read', path);
  }
}

function writeBytes(path: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(path, [bytes]);
  } catch (e) {
    throw fileError(e, 'write', path);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads a .npy file of any rank: a 0-D scalar (`shape` `[]`), a vector, a matrix or a stack.
 * Reads float16/32/64, (u)int8/16/32/64 and bool in either byte order, C or Fortran order, format
 * versions 1.0–3.0. Values come back as float64 in C (row-major) order; `dtype` says what the file
 * held ('<f4', '>i8', '|b1', …). 64-bit integers beyond 2^53 are refused rather than rounded.
 *
 * @throws InputError naming the path: missing, a directory, unreadable, not a .npy file (bad magic,
 *   e.g. an .npz), truncated, trailing bytes, an unsupported dtype (strings, objects, complex, …).
 */
export function readNpy(path: string): NpyArray {
  return parseNpy(readBytes(path), path);
}

/**
 * Reads a numeric CSV/TSV file: cells separated by ',', tab or ';' (detected unless given), RFC 4180
 * quoting, LF/CRLF/CR line ends, a UTF-8 byte-order mark, blank lines and `#` comment lines skipped,
 * an optional header row. Every other cell must be a finite number and every row as long as the
 * first.
 *
 * @returns `{ data, rows, cols, header }`: values row-major, and the column names (or null).
 * @throws InputError naming the path, and for a bad cell its row, column and text (a ragged row,
 *   a cell that is not a number, NaN, an empty file, …).
 */
export function readCsv(path: string, opts: ReadCsvOptions = {}): DelimitedMatrix {
  checkPath(path);
  checkOptions(opts, path);
  const bytes = readBytes(path);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return parseDelimited(text, path, opts);
}

/**
 * Reads an array of any rank by extension: .csv, .tsv, .tab and .txt as CSV (a matrix; a header row
 * is skipped), anything else as .npy. Values float64 in C order.
 */
export function readArrayFile(path: string): NdArray {
  checkPath(path);
  if (TEXT_EXTENSIONS.test(path)) {
    const t = readCsv(path);
    return { data: t.data, shape: [t.rows, t.cols] };
  }
  const a = readNpy(path);
  return { data: a.data, shape: a.shape };
}

/**
 * Reads a vector (targets, labels, weights): a .npy of shape (n,) or (n, 1), or a CSV/TSV/TXT file of
 * one column (a header row is skipped).
 *
 * @throws InputError naming the path and the shape found when it is not a vector.
 */
export function readVectorFile(path: string): Float64Array {
  checkPath(path);
  const a = readArrayFile(path);
  const [n, cols] = a.shape;
  if (a.shape.length === 1 || (a.shape.length === 2 && cols === 1)) return a.data;
  const found = TEXT_EXTENSIONS.test(path) ? `${cols} columns` : `shape ${formatShape(a.shape)}`;
  const hint = a.shape.length === 2 && n === 1 ? ' (a single row: save the vector as a column)' : '';
  throw new InputError(`${path}: expected a vector (shape (n,) or (n, 1), or one column), got ${found}${hint}`);
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes an array of any rank as .npy (C order), atomically. `array` is a number (0-D), nested
 * arrays of numbers, a typed array, `{ data, shape }` (e.g. what `readNpy` or `kernelCpu` return),
 * `{ data, rows, cols }` or an ml-matrix `Matrix`. The bytes are what numpy's `np.save` writes for
 * the same array and dtype.
 *
 * @throws InputError naming the path: a ragged array, a value the dtype cannot hold (1.5 as int32,
 *   2 as bool, NaN as an integer), an unsupported dtype, a missing folder, a directory in the way.
 *   Nothing is written then, and an existing file is left as it was.
 */
export function writeNpy(path: string, array: ArrayInput, opts: WriteNpyOptions = {}): void {
  checkPath(path);
  checkOptions(opts, path);
  const { data, shape } = toFlatArray(array, path);
  const bytes = encodeNpy(data, shape, opts.dtype ?? 'float64', { name: path, ...(opts.byteOrder !== undefined ? { byteOrder: opts.byteOrder } : {}) });
  writeBytes(path, bytes);
}

/**
 * Writes a matrix, or a vector as one column, as CSV (TSV for a .tsv/.tab path), atomically: one line
 * per row, numbers in the shortest form that reads back to the same float64, so `readCsv` returns
 * exactly what was written. Takes the same arrays as `writeNpy` (of rank 1 or 2).
 *
 * @throws InputError naming the path: NaN or ±Infinity (CSV holds finite numbers only), a rank other
 *   than 1 or 2, a header of the wrong length, more than 10^7 values (write .npy), a missing folder.
 */
export function writeCsv(path: string, array: ArrayInput, opts: WriteCsvOptions = {}): void {
  checkPath(path);
  checkOptions(opts, path);
  const { data, shape } = toFlatArray(array, path);
  if (shape.length !== 1 && shape.length !== 2) {
    throw new InputError(`${path}: CSV holds a matrix or a vector, got shape ${formatShape(shape)}`);
  }
  const delimiter = opts.delimiter ?? (/\.(tsv|tab)$/i.test(path) ? '\t' : ',');
  const text = formatCsv(data as ArrayLike<number>, shape.length === 1 ? [shape[0]!, 1] : shape, {
    delimiter,
    name: path,
    ...(opts.header !== undefined ? { header: opts.header } : {}),
  });
  writeBytes(path, new TextEncoder().encode(text));
}

/** A shape as Python writes a tuple: (), (5,), (3, 4). */
function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}
