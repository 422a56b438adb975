/**
 * The float64 CPU executor of a compiled FC program: the reference interpreter (cpu/gram.ts),
 * whole or in row blocks.
 */
import { gramCpu, mirrorUpper, pairRows } from '../cpu/gram.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import { checkRequest, transposeBlock, type GramBlock, type GramRequest } from '../result.js';
import { InputError } from '../errors.js';
import { CPU_BLOCK_ROWS, programDepths, syncExecutor } from './blocks.js';
import { throwIfAborted, type ExecOptions, type SyncExecutor } from './executor.js';

/**
 * The blocks of rowBlocks (same tiles, same order, same bits), from one pairRows over the whole
 * inputs: the unit rows, the first layer's kernel and the normalisers are set up once, not per block.
 */
function* pairBlocks(p: KernelProgram, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, options: ExecOptions): Generator<GramBlock> {
  const B = options.blockRows ?? CPU_BLOCK_ROWS;
  if (!Number.isInteger(B) || B < 1) throw new InputError(`blockRows must be a positive integer, got ${B}`);
  const rows = pairRows(p, x1, x2, req);
  const { n1, n2, taps, symmetric } = rows;
  const nb1 = Math.ceil(n1 / B);
  const nb2 = Math.ceil(n2 / B);
  const blocks = symmetric ? (nb1 * (nb1 + 1)) / 2 : nb1 * nb2;
  let done = 0;
  for (let bi = 0; bi < nb1; bi++) {
    for (let bj = symmetric ? bi : 0; bj < nb2; bj++) {
      throwIfAborted(options.signal);
      const r0 = bi * B;
      const c0 = bj * B;
      const nr = Math.min(B, n1 - r0);
      const nc = Math.min(B, n2 - c0);
      const nngp = req.get.includes('nngp') ? new Float64Array(taps * nr * nc) : undefined;
      const ntk = req.get.includes('ntk') ? new Float64Array(taps * nr * nc) : undefined;
      rows.rows(r0, r0 + nr, c0, c0 + nc, nngp, ntk);
      const diagonalBlock = symmetric && bi === bj;
      if (diagonalBlock) for (const out of [nngp, ntk]) if (out) mirrorUpper(out, taps, nr);
      const block: GramBlock = { row0: r0, col0: c0, rows: nr, cols: nc, ...(nngp ? { nngp } : {}), ...(ntk ? { ntk } : {}) };
      yield block;
      if (symmetric && !diagonalBlock) yield transposeBlock(block, taps);
      options.onProgress?.({ blocksDone: ++done, blocks });
    }
  }
}

export function cpuExecutor(p: KernelProgram): SyncExecutor<Matrix2D> {
  const base = syncExecutor({
    depths: (req) => programDepths(p, req),
    check: checkRequest,
    gram: (x1, x2, req) => gramCpu(p, x1, x2, req),
  });
  return {
    ...base,
    *blocks(x1, x2, req, options = {}) {
      if (req.diagonal) {
        yield* base.blocks(x1, x2, req, options);
        return;
      }
      checkRequest(x1, x2, req);
      yield* pairBlocks(p, x1, x2, req, options);
    },
  };
}
