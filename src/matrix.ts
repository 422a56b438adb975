/**
 * Input matrices: rows are inputs. Accepted as nested arrays or as a flat row-major array with a
 * shape; every entry must be a finite number.
 */
import { InputError } from './errors.js';

export interface Matrix2D {
  /** Row-major values. */
  data: Float64Array;
  rows: number;
  cols: number;
}

/** The part of an ml-matrix `Matrix` (or any of its views) that is read here. */
export interface MlMatrixLike {
  rows: number;
  columns: number;
  to1DArray(): number[];
}

/**
 * Most entries an input matrix may have: 2^32, the longest Float64Array JavaScript engines allow
 * (32 GiB). A shape beyond it is an InputError before anything is allocated, and so is an
 * allocation below it that fails for want of memory.
 */
export const MAX_MATRIX_ELEMENTS = 2 ** 32;

export type MatrixInput =
  | readonly (readonly number[])[]
  | { data: ArrayLike<number>; shape: readonly number[] }
  | Matrix2D
  | MlMatrixLike;

function isMlMatrix(x: unknown): x is MlMatrixLike {
  const m = x as Partial<MlMatrixLike> | null;
  return !!m && typeof m.rows === 'number' && typeof m.columns === 'number' && typeof m.to1DArray === 'function';
}

export function toMatrix(input: MatrixInput, name: string): Matrix2D {
  if (Array.isArray(input)) return fromNested(input as readonly (readonly number[])[], name);
  if (isMlMatrix(input)) return fromFlat(input.to1DArray(), [input.rows, input.columns], name);
  const obj = input as { data?: ArrayLike<number>; shape?: readonly number[]; rows?: number; cols?: number };
  if (obj && obj.data && typeof obj.rows === 'number' && typeof obj.cols === 'number') {
    return fromFlat(obj.data, [obj.rows, obj.cols], name);
  }
  if (obj && obj.data && Array.isArray(obj.shape)) return fromFlat(obj.data, obj.shape, name);
  throw new InputError(`${name}: expected a 2-D array (number[][]) or { data, shape: [rows, cols] }`);
}

function fromNested(rows: readonly (readonly number[])[], name: string): Matrix2D {
  if (rows.length === 0) throw new InputError(`${name}: has no rows (inputs)`);
  const first = rows[0];
  if (!Array.isArray(first)) throw new InputError(`${name}: expected a 2-D array, row 0 is not an array`);
  const cols = first.length;
  if (cols === 0) throw new InputError(`${name}: rows have no columns (features)`);
  // The same row array may appear many times: rows × cols can exceed what was ever allocated.
  const data = allocate(rows.length, cols, name);
  rows.forEach((row, i) => {
    if (!Array.isArray(row)) throw new InputError(`${name}: row ${i} is not an array`);
    if (row.length !== cols) {
      throw new InputError(`${name}: row ${i} has ${row.length} columns but row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) data[i * cols + j] = checkEntry(row[j], name, i, j);
  });
  return { data, rows: rows.length, cols };
}

function fromFlat(values: ArrayLike<number>, shape: readonly number[], name: string): Matrix2D {
  if (shape.length !== 2) {
    throw new InputError(`${name}: expected a 2-D matrix (rows are inputs), got shape [${shape.join(', ')}]`);
  }
  const [rows, cols] = shape as [number, number];
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new InputError(`${name}: invalid shape [${shape.join(', ')}]`);
  }
  if (rows === 0) throw new InputError(`${name}: has no rows (inputs)`);
  if (cols === 0) throw new InputError(`${name}: rows have no columns (features)`);
  checkSize(rows, cols, name);
  if (values.length !== rows * cols) {
    throw new InputError(`${name}: ${values.length} values do not fill shape [${rows}, ${cols}]`);
  }
  const data = allocate(rows, cols, name);
  if (values instanceof Float64Array) {
    // The common case (a float64 .npy): one pass for finiteness, then a copy.
    for (let k = 0; k < values.length; k++) if (!Number.isFinite(values[k])) checkEntry(values[k], name, Math.floor(k / cols), k % cols);
    data.set(values);
    return { data, rows, cols };
  }
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = checkEntry(values[i * cols + j], name, i, j);
  }
  return { data, rows, cols };
}

function checkSize(rows: number, cols: number, name: string): void {
  const count = rows * cols;
  if (count > MAX_MATRIX_ELEMENTS) {
    throw new InputError(
      `${name}: shape [${rows}, ${cols}] has ${count} entries, more than a matrix can hold (at most 2^32 = ${MAX_MATRIX_ELEMENTS})`,
    );
  }
}

/** A zeroed rows × cols Float64Array; a size that cannot be allocated is an InputError. */
function allocate(rows: number, cols: number, name: string): Float64Array {
  checkSize(rows, cols, name);
  try {
    return new Float64Array(rows * cols);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const gib = (rows * cols * 8) / 2 ** 30;
    throw new InputError(`${name}: cannot allocate shape [${rows}, ${cols}] (${gib.toFixed(1)} GiB of float64): out of memory`);
  }
}

function checkEntry(v: unknown, name: string, i: number, j: number): number {
  if (typeof v !== 'number') throw new InputError(`${name}: entry at row ${i}, column ${j} is not a number`);
  if (!Number.isFinite(v)) throw new InputError(`${name}: entry at row ${i}, column ${j} is ${v} (inputs must be finite)`);
  return v;
}
