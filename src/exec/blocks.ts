/**
 * Building blocks for executors: row blocks of a synchronous whole-matrix computation, the
 * transpose of a block, and one result from per-kernel results. A CPU engine becomes an executor
 * through `syncExecutor` (whole results from its function, blocks from the same function on row
 * slices), so a new engine supplies only its Gram function, its depth labels and its checks.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import { transposeBlock, type GramBlock, type GramRequest, type GramResult, type KernelKind } from '../result.js';
import { throwIfAborted, type ExecOptions, type SyncExecutor } from './executor.js';

/** Depth labels of a compiled FC program's results: the whole sweep, or the full network only. */
export function programDepths(p: KernelProgram, req: GramRequest): number[] {
  return req.allDepths ? p.depths.slice() : [p.depths[p.depths.length - 1]!];
}

/** How an input type is cut into row blocks (an input "row" is one example). */
export interface RowAccess<X> {
  count(x: X): number;
  /** Rows [r0, r0 + rows) as an input of the same type (a view where possible). */
  slice(x: X, r0: number, rows: number): X;
}

/** Rows of a Matrix2D, as views. */
export const MATRIX_ROWS: RowAccess<Matrix2D> = {
  count: (m) => m.rows,
  slice: (m, r0, rows) => ({ data: m.data.subarray(r0 * m.cols, (r0 + rows) * m.cols), rows, cols: m.cols }),
};

/** Rows per block of the streamed CPU path (blockRows overrides it). */
export const CPU_BLOCK_ROWS = 512;


function kernelsOf(r: GramResult): Pick<GramBlock, 'nngp' | 'ntk'> {
  return { ...(r.nngp ? { nngp: r.nngp } : {}), ...(r.ntk ? { ntk: r.ntk } : {}) };
}

/**
 * A whole-matrix computation in blocks of rows × columns, so that host memory stays one block:
 * X × X by the blocks of its upper triangle (each off-diagonal one also yielded transposed),
 * X1 × X2 and the diagonal by plain blocks. Every pair is computed as in the whole matrix (the
 * diagonal blocks of X × X as X_b × X_b), so the tiles equal the whole result to the last bit.
 */
export function* rowBlocks<X>(
  gram: (x1: X, x2: X | null, req: GramRequest) => GramResult,
  rows: RowAccess<X>,
  x1: X,
  x2: X | null,
  req: GramRequest,
  taps: number,
  options: ExecOptions = {},
): Generator<GramBlock> {
  const B = options.blockRows ?? CPU_BLOCK_ROWS;
  if (!Number.isInteger(B) || B < 1) throw new InputError(`blockRows must be a positive integer, got ${B}`);
  const symmetric = !x2 && !req.diagonal;
  const other = x2 ?? x1;
  const n1 = rows.count(x1);
  const n2 = rows.count(other);
  const nb1 = Math.ceil(n1 / B);
  const nb2 = req.diagonal ? 1 : Math.ceil(n2 / B);
  const jobs: [number, number][] = [];
  for (let i = 0; i < nb1; i++) for (let j = req.diagonal ? 0 : symmetric ? i : 0; j < nb2; j++) jobs.push([i, j]);
  let done = 0;
  for (const [bi, bj] of jobs) {
    throwIfAborted(options.signal);
    const r0 = bi * B;
    const nr = Math.min(B, n1 - r0);
    const A = rows.slice(x1, r0, nr);
    if (req.diagonal) {
      yield { row0: r0, col0: 0, rows: nr, cols: 1, ...kernelsOf(gram(A, null, req)) };
    } else {
      const c0 = bj * B;
      const nc = Math.min(B, n2 - c0);
      const r = symmetric && bi === bj ? gram(A, null, req) : gram(A, rows.slice(other, c0, nc), req);
      const block: GramBlock = { row0: r0, col0: c0, rows: nr, cols: nc, ...kernelsOf(r) };
      yield block;
      if (symmetric && bi !== bj) yield transposeBlock(block, taps);
    }
    done++;
    options.onProgress?.({ blocksDone: done, blocks: jobs.length });
  }
}

/** One result from per-kernel results of the same shape (computations that differ per kernel). */
export function mergeKinds(kinds: readonly KernelKind[], parts: readonly GramResult[]): GramResult {
  const first = parts[0]!;
  const out: GramResult = { shape: first.shape, depths: first.depths, symmetric: first.symmetric, diagonal: first.diagonal, sweep: first.sweep };
  kinds.forEach((kind, i) => {
    out[kind] = parts[i]![kind]!;
  });
  return out;
}

export interface SyncEngine<X> {
  /** Depth labels of a result (see Executor.depths). */
  depths(req: GramRequest): number[];
  /** Checks before any work (see Executor.check); the Gram function may check again. */
  check(x1: X, x2: X | null, req: GramRequest): void;
  /** The whole result, synchronously. */
  gram(x1: X, x2: X | null, req: GramRequest): GramResult;
}

/**
 * A CPU executor from a synchronous Gram function: whole results from one call, blocks from calls
 * on row blocks. `rows` says how to cut an input (default: the rows of a Matrix2D).
 */
export function syncExecutor<X = Matrix2D>(engine: SyncEngine<X>, rows?: RowAccess<X>): SyncExecutor<X> {
  const access = rows ?? (MATRIX_ROWS as unknown as RowAccess<X>);
  return {
    backend: 'cpu',
    depths: (req) => engine.depths(req),
    check: (x1, x2, req) => engine.check(x1, x2, req),
    gram(x1, x2, req, options = {}) {
      engine.check(x1, x2, req);
      throwIfAborted(options.signal);
      return engine.gram(x1, x2, req);
    },
    *blocks(x1, x2, req, options = {}) {
      engine.check(x1, x2, req);
      yield* rowBlocks((a, b, r) => engine.gram(a, b, r), access, x1, x2, req, engine.depths(req).length, options);
    },
  };
}
