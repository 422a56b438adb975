/**
 * The WebGPU executor of a compiled FC program: gpu/gram.ts's whole-matrix and streamed paths
 * (float32 on the device, assembled in float64 on the host).
 */
import { describeAdapter, type GpuContext } from '../gpu/device.js';
import { gramBlocksWebGPU, gramWebGPU, planBlocks, type GpuRunOptions } from '../gpu/gram.js';
import type { Matrix2D } from '../matrix.js';
import { normalizers } from '../cpu/interpreter.js';
import type { KernelProgram, Normalizers } from '../program/program.js';
import { checkRequest, type GramRequest } from '../result.js';
import { programDepths } from './blocks.js';
import type { ExecOptions, Executor } from './executor.js';

export interface WebGpuExecutor extends Executor<Matrix2D> {
  /** The rows per block this executor would stream a request in (so that several can tile alike). */
  blockRows(x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, options?: ExecOptions): number;
}

function gpuOptions(o: ExecOptions, norms: Normalizers | null): GpuRunOptions {
  return {
    normalizers: norms,
    ...(o.blockRows !== undefined ? { blockRows: o.blockRows } : {}),
    ...(o.maxPairOpsPerSubmit !== undefined ? { maxPairOpsPerSubmit: o.maxPairOpsPerSubmit } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.phases ? { phases: o.phases } : {}),
  };
}

export function webgpuExecutor(ctx: GpuContext, p: KernelProgram): WebGpuExecutor {
  // float64 on the host, as the CPU engine computes them: a shared property of the program.
  const norms = normalizers(p);
  return {
    backend: 'webgpu',
    adapter: describeAdapter(ctx.adapter),
    depths: (req) => programDepths(p, req),
    check: checkRequest,
    gram: (x1, x2, req, options = {}) => gramWebGPU(ctx, p, x1, x2, req, gpuOptions(options, norms)),
    blocks: (x1, x2, req, options = {}) => gramBlocksWebGPU(ctx, p, x1, x2, req, gpuOptions(options, norms)),
    blockRows(x1, x2, req, options = {}) {
      const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
      const taps = req.allDepths && p.depths.length > 1;
      return planBlocks(ctx.limits, p, x1.rows, n2, Math.ceil(x1.cols / 4), taps, gpuOptions(options, norms)).blockRows;
    },
  };
}
