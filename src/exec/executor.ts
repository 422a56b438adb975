/**
 * The executor interface: one way to compute the Gram matrices of a kernel that is already fixed
 * (a compiled program, an infinite-depth limit, …) on one backend. The API picks an executor and
 * labels what it returns; it knows nothing of how an executor computes.
 *
 * Inputs are generic (`X`): a Matrix2D of rows for the FC engines; an image batch for the
 * convolutional engine. Everything else (request, result, block) is the same for all.
 */
import type { GramBlock, GramRequest, GramResult } from '../result.js';
import type { Matrix2D } from '../matrix.js';
import type { PhaseTimes } from '../phases.js';

/** Where a result was computed. */
export type Backend = 'cpu' | 'webgpu';

/** How to run (all optional; each executor documents what it honours). */
export interface ExecOptions {
  /** Rows per streamed block (WebGPU: a multiple of 64, default from the device limits; CPU: default 512). */
  blockRows?: number;
  /** WebGPU only: upper bound on pair-operations per submit (default 2^26). */
  maxPairOpsPerSubmit?: number;
  /** Cancels a running computation (it rejects with an AbortError). */
  signal?: AbortSignal;
  /** Progress, per block. */
  onProgress?: (p: { blocksDone: number; blocks: number }) => void;
  /**
   * Where the time goes: seconds per phase are added to this record (WebGPU FC path: rows,
   * compile, upload, firstLayer, recursion, readback, decode; see gpu/gram.ts). Timing the GPU
   * phases apart waits for the device after each submit, so a profiled run overlaps less.
   */
  phases?: PhaseTimes;
  /**
   * Streaming (blocks): the arrays of a yielded block are reused for the next one, so that a long
   * run touches the memory of one block instead of fresh memory per block (on some machines a
   * fresh page costs more than computing its values). Consume each block (write or copy it)
   * before asking for the next. Honoured by the WebGPU FC path; others may ignore it.
   */
  reuseBlocks?: boolean;
  /**
   * WebGPU, fully connected: how a bias-free network of degree-1 units (ReLU, LeakyReLU; every
   * kernel then a function of the input angle) is evaluated. Unset: from its angle table (built and
   * checked by the float64 reference, exec/angle-table.ts) when the request has at least 2^17 pairs,
   * by the layer recursion otherwise; true: from the table whatever the size; false: by the layer
   * recursion. Programs the table does not cover always run the recursion.
   */
  angleTable?: boolean;
  /**
   * CPU backend, async calls (kernel, kernelBlocks): worker threads for a fully connected spec
   * (default: the logical cores, one for small inputs; 1: none). Results are identical to the last
   * bit whatever the count. kernelCpu is synchronous and takes 1 only.
   */
  threads?: number;
}

export interface Executor<X = Matrix2D> {
  readonly backend: Backend;
  /** The device in words (the WebGPU adapter); absent on the CPU. */
  readonly adapter?: string;
  /** Depth label of each entry of a result's leading axis (one label unless req.allDepths). */
  depths(req: GramRequest): number[];
  /** Refuses, before any work, a request this executor cannot compute (InputError). */
  check(x1: X, x2: X | null, req: GramRequest): void;
  /** The whole result (X1 × X2, or X1 × X1 when x2 is null). */
  gram(x1: X, x2: X | null, req: GramRequest, options?: ExecOptions): GramResult | Promise<GramResult>;
  /**
   * The result block by block, tiling it; for X × X every off-diagonal block also comes transposed
   * (so a consumer never mirrors). Host memory stays one block.
   */
  blocks(x1: X, x2: X | null, req: GramRequest, options?: ExecOptions): Iterable<GramBlock> | AsyncIterable<GramBlock>;
  /**
   * K(X1, X2)·P (X1 × X1 when x2 is null) for the one kernel in req.get at the last depth, P
   * row-major (rows of X2) × k, without the kernel leaving the executor (the WebGPU FC path
   * multiplies each block on the device). Optional: where absent, the API multiplies the
   * streamed blocks on the host (exec/times.ts), which is what a CPU executor would do anyway.
   */
  times?(x1: X, x2: X | null, req: GramRequest, P: Float64Array, k: number, options?: ExecOptions): Promise<Float64Array>;
}

/** An executor that computes synchronously (the CPU ones): what `kernelCpu` needs. */
export interface SyncExecutor<X = Matrix2D> extends Executor<X> {
  gram(x1: X, x2: X | null, req: GramRequest, options?: ExecOptions): GramResult;
  blocks(x1: X, x2: X | null, req: GramRequest, options?: ExecOptions): Iterable<GramBlock>;
}

/** Throws the signal's reason (or an AbortError) when it has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError');
}
