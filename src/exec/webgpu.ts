/**
 * The WebGPU executor of a compiled FC program: gpu/gram.ts's whole-matrix and streamed paths
 * (float32 on the device, assembled in float64 on the host).
 */
import { describeAdapter, isCpuAdapter, type GpuContext } from '../gpu/device.js';
import { gramBlocksWebGPU, gramWebGPU, planBlocks, type GpuRunOptions } from '../gpu/gram.js';
import { gramTimesWebGPU } from '../gpu/gram-times.js';
import type { Matrix2D } from '../matrix.js';
import { normalizers } from '../cpu/interpreter.js';
import type { KernelProgram, Normalizers } from '../program/program.js';
import { checkRequest, type GramRequest } from '../result.js';
import { addPhase, since } from '../phases.js';
import { angleTableChosen, buildAngleTable, isAngleProgram, type AngleTable } from './angle-table.js';
import { programDepths } from './blocks.js';
import type { ExecOptions, Executor } from './executor.js';

export interface WebGpuExecutor extends Executor<Matrix2D> {
  /** The rows per block this executor would stream a request in (so that several can tile alike). */
  blockRows(x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, options?: ExecOptions): number;
}

/**
 * Pair-operations per submit on CPU adapters. GPUs keep gpu/gram.ts's 2^26 (a submit well inside a
 * driver's watchdog); a CPU adapter has no watchdog, and every extra depth chunk stores and reloads
 * the whole pair state, one per-lane scalar access per word there: on lavapipe, arora2019 depth 20
 * on 2048 rows took 3.1–3.4 s of CPU time in two chunks and 2.2 s in one. 2^28 keeps a submit
 * (and so the latency of a cancel) within a few seconds.
 */
const CPU_ADAPTER_PAIR_OPS = 2 ** 28;

/**
 * Rows per block on CPU adapters. The device limits allow ~1920 (a 128 MiB binding), but there the
 * GPU buffers are host memory, and each block's outputs, staging copy and gaps are fresh pages,
 * which on a VM cost more to touch than to fill (0.2–0.4 s per 64 MiB here): arora2019 depth 20 on
 * 4096 × 512 took 5.4–6.1 s of CPU time in 1920-row blocks, 4.6–4.9 s in 1024 and 4.1–4.7 s in 512.
 */
const CPU_ADAPTER_BLOCK_ROWS = 512;

function gpuOptions(o: ExecOptions, norms: Normalizers | null, ctx: GpuContext, angleTable: AngleTable | null = null): GpuRunOptions {
  const cpu = isCpuAdapter(ctx.adapter);
  const budget = o.maxPairOpsPerSubmit ?? (cpu ? CPU_ADAPTER_PAIR_OPS : undefined);
  const blockRows = o.blockRows ?? (cpu ? CPU_ADAPTER_BLOCK_ROWS : undefined);
  return {
    normalizers: norms,
    ...(blockRows !== undefined ? { blockRows } : {}),
    ...(budget !== undefined ? { maxPairOpsPerSubmit: budget } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.phases ? { phases: o.phases } : {}),
    ...(o.reuseBlocks ? { reuseBlocks: true } : {}),
    ...(angleTable ? { angleTable } : {}),
  };
}

export function webgpuExecutor(ctx: GpuContext, p: KernelProgram): WebGpuExecutor {
  // float64 on the host, as the CPU engine computes them: a shared property of the program.
  const norms = normalizers(p);
  // The angle tables (of the last depth, and of every depth of the sweep), each built on first
  // use; null: the program has none that passes its check.
  const tables = new Map<boolean, AngleTable | null>();
  const tableFor = (x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, o: ExecOptions): AngleTable | null => {
    const wanted = isAngleProgram(p) && angleTableChosen(o.angleTable, x1.rows, x2 ? x2.rows : null, req.diagonal);
    const lastOnly = !(req.allDepths && p.depths.length > 1);
    if (wanted && !tables.has(lastOnly)) {
      const t0 = performance.now();
      tables.set(lastOnly, buildAngleTable(p, lastOnly));
      addPhase(o.phases, 'angleTable', since(t0));
    }
    const table = wanted ? tables.get(lastOnly)! : null;
    // A count: the table's segments (0: the layer recursion runs).
    addPhase(o.phases, 'angleTableSegments', table?.segs ?? 0);
    return table;
  };
  const opts = (x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, o: ExecOptions) => gpuOptions(o, norms, ctx, tableFor(x1, x2, req, o));
  return {
    backend: 'webgpu',
    adapter: describeAdapter(ctx.adapter),
    depths: (req) => programDepths(p, req),
    check: checkRequest,
    gram: (x1, x2, req, options = {}) => gramWebGPU(ctx, p, x1, x2, req, opts(x1, x2, req, options)),
    blocks: (x1, x2, req, options = {}) => gramBlocksWebGPU(ctx, p, x1, x2, req, opts(x1, x2, req, options)),
    times: (x1, x2, req, P, k, options = {}) => gramTimesWebGPU(ctx, p, x1, x2, req.get[0]!, P, k, opts(x1, x2, req, options), norms),
    blockRows(x1, x2, req, options = {}) {
      const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
      const taps = req.allDepths && p.depths.length > 1;
      return planBlocks(ctx.limits, p, x1.rows, n2, Math.ceil(x1.cols / 4), taps, gpuOptions(options, norms, ctx)).blockRows;
    },
  };
}
