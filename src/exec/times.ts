/**
 * K·P from an executor: its own `times` where it has one (WebGPU: the blocks are multiplied on the
 * device), else its streamed blocks multiplied into P on the host in float64 as they arrive (one
 * block in memory at a time). The blocks of X × X tile the whole matrix (each off-diagonal block
 * also comes transposed), so the host product needs no mirroring.
 */
import type { GramRequest } from '../result.js';
import type { ExecOptions, Executor } from './executor.js';

/** out[row0 + r, :] += B[r, :] · P[col0 …, :] for a rows × cols block B; P and out are row-major with k columns. */
export function addBlockProduct(out: Float64Array, B: ArrayLike<number>, row0: number, col0: number, rows: number, cols: number, P: Float64Array, k: number): void {
  if (k === 1) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const b = r * cols;
      for (let j = 0; j < cols; j++) s += B[b + j]! * P[col0 + j]!;
      out[row0 + r] = out[row0 + r]! + s;
    }
    return;
  }
  const acc = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    const b = r * cols;
    for (let j = 0; j < cols; j++) {
      const a = B[b + j]!;
      const p = (col0 + j) * k;
      for (let c = 0; c < k; c++) acc[c] = acc[c]! + a * P[p + c]!;
    }
    const o = (row0 + r) * k;
    for (let c = 0; c < k; c++) out[o + c] = out[o + c]! + acc[c]!;
  }
}

/** K(X1, X2)·P for the one kernel of `req` (last depth); `n1` is the number of rows of X1. */
export async function executorTimes<X>(
  ex: Executor<X>,
  x1: X,
  x2: X | null,
  n1: number,
  req: GramRequest,
  P: Float64Array,
  k: number,
  options: ExecOptions = {},
): Promise<{ product: Float64Array; onDevice: boolean }> {
  if (ex.times) return { product: await ex.times(x1, x2, req, P, k, options), onDevice: true };
  const kind = req.get[0]!;
  const out = new Float64Array(n1 * k);
  for await (const b of ex.blocks(x1, x2, req, { ...options, reuseBlocks: true })) {
    addBlockProduct(out, b[kind]!, b.row0, b.col0, b.rows, b.cols, P, k);
  }
  return { product: out, onDevice: false };
}
