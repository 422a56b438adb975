/**
 * The float64 CPU executor of a compiled FC program: the reference interpreter (cpu/gram.ts),
 * whole or in row blocks.
 */
import { gramCpu } from '../cpu/gram.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import { checkRequest } from '../result.js';
import { programDepths, syncExecutor } from './blocks.js';
import type { SyncExecutor } from './executor.js';

export function cpuExecutor(p: KernelProgram): SyncExecutor<Matrix2D> {
  return syncExecutor({
    depths: (req) => programDepths(p, req),
    check: checkRequest,
    gram: (x1, x2, req) => gramCpu(p, x1, x2, req),
  });
}
