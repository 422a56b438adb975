/**
 * `predict` with solver "cg-matfree": preconditioned conjugate gradients on (K_XX + λI) α = Y
 * without storing K_XX. Every product K·P is one `kernelTimes` pass over the blocks of K_XX (the
 * upper triangle computed once): on WebGPU each block is multiplied into P on the device right
 * after its recursion, in the same command buffer (gpu/gram-times.ts), and only K·P is read back;
 * on the CPU the streamed blocks are multiplied into P in float64 as they arrive and dropped.
 * Memory is one block (plus the blocks the CPU threads compute ahead) and O(n·(d + outputs)),
 * whatever n, plus the preconditioner's n × r factor (n·r·8 bytes; f32 beyond 512 MiB). The price
 * is one pass over K per iteration.
 *
 * The preconditioner is solve/cg.ts's pivoted Cholesky factor (from MATFREE_RANK columns of K,
 * PRECOND_BLOCK columns per kernel call, and diag K) or Jacobi. Here a product costs a whole pass over K while a pivot
 * column costs 1/n of one, so the rank is higher than the stored solver's 100 and the factor is kept up
 * to a looser bound (MATFREE_MAX_BOUND): on arora2019:depth=3, n = 1500, d = 10, three outputs,
 * tol 1e-7, relative ridge 1e-2 / 1e-3, Jacobi took 172 / 226 iterations (NNGP) and 91 / 96 (NTK),
 * rank 300 took 35 / 60 and 40 / 48, and solve/cg.ts's default bound would have chosen Jacobi.
 * The mean at the test inputs streams K_*X the same way.
 */
import { kernel, kernelTimes, type Arch, type KernelInput } from './api.js';
import type { Matrix2D } from './matrix.js';
import { rowsOf } from './predict-nystrom.js';
import { solveCg, type CgResult, type CgState } from './solve/cg.js';

/**
 * Pivot columns of the preconditioner by default (at most n; predict's cgRank overrides it). Its
 * host cost is ~n·r² multiply-adds (the factor, then FᵀF), against n²·(d + depth) per pass, so
 * the best rank grows with the cost of a pass: on 3000 Fashion-MNIST images (d = 784,
 * mlp:depth=3 NNGP, relative ridge 1e-4, ten outputs, tol 1e-6) rank 0 / 300 / 1000 took
 * 446 / 125 / 66 iterations, and `webntk demo --solver cg-matfree` uses 1000; on the d = 10
 * benchmark (arora2019:depth=3, n = 6000) building rank 1000 took 153 s (under load) against 4–6 s a pass.
 */
export const MATFREE_RANK = 300;
/** The bound 1 + tr(K − FFᵀ)/λ up to which the low-rank preconditioner is used (solve/cg.ts's is 1e4). */
export const MATFREE_MAX_BOUND = 1e8;

export interface MatfreeRun {
  /** Row-major m × k. */
  mean: Float64Array;
  cg: CgResult;
  meanDiagonal: number;
  ridge: number;
  backend: 'cpu' | 'webgpu';
  /** Products K·P computed (one pass over the blocks of K_XX each), the final residual check included. */
  passes: number;
  /** Wall seconds of those passes (kernel blocks and products), all together. */
  passSeconds: number;
  /** Where the blocks were multiplied into the iterate (kernelTimes' onDevice). */
  product: 'device' | 'host';
}

/** `X` is `train` as rows (inputRows, for the preconditioner's pivot columns); `m` the number of test inputs. */
export async function matfreePredict(
  arch: Arch,
  train: KernelInput,
  X: Matrix2D,
  test: KernelInput,
  m: number,
  Y: Matrix2D,
  o: {
    kind: 'nngp' | 'ntk';
    ridge: number;
    relativeRidge: number | null;
    tol: number;
    maxIterations?: number;
    rank?: number;
    backend: 'cpu' | 'webgpu' | 'auto';
    resume?: CgState;
    onIteration?: (state: CgState) => void | Promise<void>;
  },
): Promise<MatfreeRun> {
  const n = X.rows;
  const k = Y.cols;
  const diagRes = await kernel(arch, train, null, { get: o.kind, backend: o.backend, diagonal: true });
  const backend = diagRes.backend;
  const same = { get: o.kind, backend } as const;
  const diag = Float64Array.from(diagRes[o.kind]!);
  let md = 0;
  for (const v of diag) md += v;
  md /= n;
  const ridge = o.relativeRidge !== null ? o.relativeRidge * Math.max(md, 0) : o.ridge;
  let passes = 0;
  let passSeconds = 0;
  let onDevice = false;
  const mul = async (P: Float64Array, kk: number): Promise<Float64Array> => {
    const t0 = performance.now();
    const { product: out, onDevice: dev } = await kernelTimes(arch, train, null, P, kk, same);
    onDevice = dev;
    passes++;
    passSeconds += (performance.now() - t0) / 1000;
    return out;
  };
  // K[:, idx] = K(X, X[idx]) (n × |idx|): one kernel call per block of pivots.
  const columns = async (idx: number[]) => (await kernel(arch, train, rowsOf(train, X, idx), same))[o.kind]!;
  const cg = await solveCg(n, k, Y.data, ridge, { diag, columns }, mul, {
    tol: o.tol,
    rank: Math.min(n, o.rank ?? MATFREE_RANK),
    maxBound: MATFREE_MAX_BOUND,
    ...(o.maxIterations !== undefined ? { maxIterations: o.maxIterations } : {}),
    ...(o.resume !== undefined ? { resume: o.resume } : {}),
    ...(o.onIteration !== undefined ? { onIteration: o.onIteration } : {}),
  });
  // The mean K_*X α, the same way (blocks of test rows × training rows).
  const { product: mean } = await kernelTimes(arch, test, train, cg.x, k, same);
  if (mean.length !== m * k) throw new Error(`internal error: the mean has ${mean.length} values, expected ${m} × ${k}`);
  return { mean, cg, meanDiagonal: md, ridge, backend, passes, passSeconds, product: onDevice ? 'device' : 'host' };
}
