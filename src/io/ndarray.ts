/**
 * The arrays the file writers take (`writeNpy`, `writeCsv` in webntk/node), brought to one form:
 * values in C (row-major) order and a shape. Runtime-neutral.
 */
import { InputError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import type { MlMatrixLike } from '../matrix.js';

/** A number, or nested arrays of numbers of any depth (rectangular: `[[1, 2], [3, 4]]`). */
export type NestedNumbers = number | bigint | readonly NestedNumbers[];

/** Typed arrays, taken as vectors (1-D). */
export type TypedNumbers =
  | Float64Array
  | Float32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * An array to write:
 * - a number (a 0-D array), or nested arrays of numbers, any depth (`number[]` is a vector,
 *   `number[][]` a matrix, `number[][][]` a stack of matrices);
 * - a typed array (a vector);
 * - `{ data, shape }`: values in C (row-major) order and the shape, as `readNpy` and the kernel
 *   functions return them (`{ data: r.ntk, shape: r.shape }`);
 * - `{ data, rows, cols }` (a Matrix2D, as `readMatrixFile` and `readCsv` return) or an ml-matrix
 *   `Matrix`.
 */
export type ArrayInput =
  | NestedNumbers
  | TypedNumbers
  | { data: ArrayLike<number | bigint>; shape: readonly number[] }
  | { data: ArrayLike<number | bigint>; rows: number; cols: number }
  | MlMatrixLike;

/** An array in C order with its shape (values not yet checked: the writers check them). */
export interface FlatArray {
  data: ArrayLike<number | bigint>;
  shape: number[];
}

/** Most dimensions a nested array may have (numpy's own limit). */
export const MAX_DIMS = 64;

/** `input` as values in C order and a shape; `name` (a file name) leads every error message. */
export function toFlatArray(input: ArrayInput, name: string): FlatArray {
  if (typeof input === 'number' || typeof input === 'bigint') return { data: [input], shape: [] };
  if (Array.isArray(input)) return fromNested(input, name);
  if (ArrayBuffer.isView(input) && !(input instanceof DataView)) {
    return { data: input as unknown as ArrayLike<number>, shape: [(input as unknown as ArrayLike<number>).length] };
  }
  const obj = input as Partial<MlMatrixLike & { data: ArrayLike<number | bigint>; shape: unknown; cols: unknown }> | null;
  if (obj && typeof obj === 'object') {
    if (typeof obj.rows === 'number' && typeof obj.columns === 'number' && typeof obj.to1DArray === 'function') {
      return { data: obj.to1DArray(), shape: [obj.rows, obj.columns] };
    }
    if (obj.data !== undefined && Array.isArray(obj.shape)) return { data: obj.data, shape: [...(obj.shape as number[])] };
    if (obj.data !== undefined && typeof obj.rows === 'number' && typeof obj.cols === 'number') {
      return { data: obj.data, shape: [obj.rows, obj.cols] };
    }
  }
  throw new InputError(
    `${name}: expected a number, nested arrays of numbers, a typed array, { data, shape }, { data, rows, cols } or an ml-matrix Matrix, got ${jsValue(input)}`,
  );
}

function fromNested(top: readonly NestedNumbers[], name: string): FlatArray {
  // The shape: the lengths along the first element at each depth.
  const shape: number[] = [];
  let x: unknown = top;
  while (Array.isArray(x)) {
    if (shape.length === MAX_DIMS) throw new InputError(`${name}: nested arrays more than ${MAX_DIMS} levels deep`);
    shape.push(x.length);
    if (x.length === 0) break;
    x = x[0];
  }
  const rank = shape.length;
  let count = 1;
  for (const d of shape) count *= d;
  // The same inner array may appear many times: the count can exceed what was ever allocated.
  if (count > 2 ** 32 - 1) throw new InputError(`${name}: nested arrays of shape [${shape.join(', ')}] hold too many values (${count})`);
  const data = new Array<unknown>(count);
  let k = 0;
  const path: number[] = [];
  const at = () => `[${path.join(', ')}]`;
  const walk = (a: unknown, depth: number): void => {
    if (depth === rank) {
      if (Array.isArray(a)) throw new InputError(`${name}: ragged nested arrays: element ${at()} is an array, element [${new Array(depth).fill(0).join(', ')}] is not`);
      data[k++] = a;
      return;
    }
    if (!Array.isArray(a)) {
      throw new InputError(`${name}: ragged nested arrays: element ${at()} is ${jsValue(a)}, not an array of ${shape[depth]}`);
    }
    if (a.length !== shape[depth]) {
      throw new InputError(`${name}: ragged nested arrays: element ${at()} has ${a.length} entries, element [${new Array(depth).fill(0).join(', ')}] has ${shape[depth]}`);
    }
    for (let i = 0; i < a.length; i++) {
      path.push(i);
      walk(a[i], depth + 1);
      path.pop();
    }
  };
  walk(top, 0);
  return { data: data as ArrayLike<number>, shape };
}
