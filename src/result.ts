/**
 * What every kernel computation is asked for and gives back, whatever computes it (the float64 CPU
 * interpreter, WebGPU, the infinite-depth limits, and any later executor): the request, the whole
 * result, a streamed block of it, and the checks every backend makes before any work. Neutral on
 * purpose: it imports no engine, so engines, executors, the API and the CLI can all depend on it.
 */
import { InputError } from './errors.js';
import type { Matrix2D } from './matrix.js';

export type KernelKind = 'nngp' | 'ntk';

export interface GramRequest {
  get: readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1. */
  diagonal: boolean;
  /** Every depth of the sweep (leading axis) or only the full network. */
  allDepths: boolean;
}

export interface GramResult {
  nngp?: Float64Array;
  ntk?: Float64Array;
  /** [n1, n2], [n1] (diagonal), with a leading depth axis [T, …] for a depth sweep. */
  shape: number[];
  /** Depth label of each entry of the leading axis (one entry when allDepths is false). */
  depths: number[];
  /** True when the result is X × X (exactly symmetric). */
  symmetric: boolean;
  /** True when the result holds K(x_i, x_i) only. */
  diagonal: boolean;
  /** True when the leading axis is the depth sweep. */
  sweep: boolean;
}

/** One block of the result: rows [row0, row0+rows) × cols [col0, col0+cols), every requested depth. */
export interface GramBlock {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  /** [taps, rows, cols] (or [taps, rows] for the diagonal), row-major. */
  nngp?: Float64Array;
  ntk?: Float64Array;
}

/** Largest result held in one Float64Array per kernel (2 GiB). */
export const MAX_RESULT_ELEMENTS = 2 ** 28;

/** Checks what every backend needs of a request before any work. */
export function checkRequest(x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): void {
  if (x2 && x2.cols !== x1.cols) {
    throw new InputError(`x1 has ${x1.cols} features (columns) but x2 has ${x2.cols}`);
  }
  if (req.diagonal && x2) throw new InputError('the diagonal is defined for x1 × x1 only (omit x2)');
  if (req.get.length === 0) throw new InputError('nothing to compute: ask for nngp and/or ntk');
}

/** The kernels a caller asks for ("nngp", "ntk" or both; both when omitted). */
export function kernelKinds(get: KernelKind | readonly KernelKind[] | undefined): KernelKind[] {
  const list = get === undefined ? ['nngp', 'ntk'] : typeof get === 'string' ? [get] : [...get];
  for (const k of list) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`unknown kernel "${String(k)}" (use nngp or ntk)`);
  }
  return list as KernelKind[];
}

/** The transpose of a block (every depth plane), as the block at the mirrored place. */
export function transposeBlock(b: GramBlock, taps: number): GramBlock {
  const tr = (a: Float64Array) => {
    const o = new Float64Array(a.length);
    const n = b.rows * b.cols;
    // In 32 × 32 tiles: a row-by-row transpose writes with a stride of a whole row and misses the
    // cache on every store (a tenth of a CPU Gram's time at N = 2048).
    const T = 32;
    for (let t = 0; t < taps; t++) {
      for (let i0 = 0; i0 < b.rows; i0 += T) {
        for (let j0 = 0; j0 < b.cols; j0 += T) {
          const i1 = Math.min(b.rows, i0 + T);
          const j1 = Math.min(b.cols, j0 + T);
          for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) o[t * n + j * b.rows + i] = a[t * n + i * b.cols + j]!;
        }
      }
    }
    return o;
  };
  return {
    row0: b.col0,
    col0: b.row0,
    rows: b.cols,
    cols: b.rows,
    ...(b.nngp ? { nngp: tr(b.nngp) } : {}),
    ...(b.ntk ? { ntk: tr(b.ntk) } : {}),
  };
}
