/**
 * `predict` with solver "nystrom": kernel regression on M landmarks (solve/nystrom.ts, Falkon's
 * preconditioned CG), never forming the n × n kernel. Kernels computed: K_MM, K_nM (streamed in
 * row blocks into one n × M array), diag K_XX (for a relative ridge) and K_*M.
 */
import { kernel, kernelBlocks, type Arch, type KernelInput } from './api.js';
import { InputError } from './errors.js';
import { isImageShaped } from './images.js';
import { Rng } from './mc/rng.js';
import type { Matrix2D } from './matrix.js';
import { solveNystrom } from './solve/nystrom.js';
import { pivotedCholesky } from './solve/pivoted-cholesky.js';

/** K_nM is kept in float64 up to this many bytes, in float32 beyond (a WebGPU kernel is f32 anyway). */
export const NYSTROM_F64_BYTES = 512 * 2 ** 20;

/** Default rule on the preconditioned relative residual of each column. */
export const NYSTROM_TOL = 1e-8;

/**
 * How the landmarks are chosen: uniformly without replacement; by greedy pivoted Cholesky (the
 * largest residual diagonal first, deterministic); or by randomly pivoted Cholesky (residual
 * diagonal as the sampling weights; solve/pivoted-cholesky.ts).
 */
export type LandmarkChoice = 'uniform' | 'pivoted-cholesky' | 'rp-cholesky';
export const LANDMARK_CHOICES: readonly LandmarkChoice[] = ['uniform', 'pivoted-cholesky', 'rp-cholesky'];

export interface NystromSummary {
  landmarks: number;
  choice: LandmarkChoice;
  /** The seed of the landmark draw (uniform and rp-cholesky; unused by pivoted-cholesky). */
  seed: number;
  /**
   * Pivoted choices: tr(K − K_nM K_MM⁻¹ K_Mn)/tr K, the share of the kernel's trace the landmarks
   * leave out (what the pivot rule drives down); null for uniform landmarks.
   */
  residualTrace: number | null;
  iterations: number;
  converged: boolean;
  relativeResidual: number;
  tol: number;
  jitter: number;
  /** The storage of K_nM. */
  storage: 'float32' | 'float64';
}

/** M distinct indices of 0 … n−1, uniformly (a partial Fisher–Yates shuffle), ascending. */
export function uniformLandmarks(n: number, M: number, seed: number): number[] {
  if (!Number.isInteger(M) || M < 1 || M > n) throw new InputError(`landmarks must be an integer in 1 … ${n} (the training inputs), got ${String(M)}`);
  const rng = new Rng(seed);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < M; i++) {
    const j = i + Math.floor(rng.uniform() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return Array.from(idx.subarray(0, M)).sort((a, b) => a - b);
}

/** The rows `at` of an input, in the input's own form (a matrix, or images with their shape). */
export function rowsOf(x: KernelInput, rows: Matrix2D, at: number[]): KernelInput {
  const per = rows.cols;
  const data = new Float64Array(at.length * per);
  at.forEach((r, i) => data.set(rows.data.subarray(r * per, (r + 1) * per), i * per));
  if (isImageShaped(x)) return { data, shape: [at.length, ...x.shape.slice(1)] };
  return { data, rows: at.length, cols: per };
}

export interface NystromRun {
  /** Row-major m × k. */
  mean: Float64Array;
  summary: NystromSummary;
  meanDiagonal: number;
  ridge: number;
  backend: 'cpu' | 'webgpu';
  /** Condition number of K_MM from its Cholesky diagonal (a lower bound). */
  landmarkCondition: number;
}

/** `X` is `train` as rows (inputRows), which the caller already made: the landmarks are copied from it. */
export async function nystromPredict(
  arch: Arch,
  train: KernelInput,
  X: Matrix2D,
  test: KernelInput,
  Y: Matrix2D,
  o: {
    kind: 'nngp' | 'ntk';
    ridge: number;
    relativeRidge: number | null;
    landmarks: number;
    choice: LandmarkChoice;
    seed: number;
    tol: number;
    maxIterations?: number;
    backend: 'cpu' | 'webgpu' | 'auto';
  },
): Promise<NystromRun> {
  const n = X.rows;
  const kopts = { get: o.kind, backend: o.backend } as const;
  const diag = await kernel(arch, train, null, { ...kopts, diagonal: true });
  const backend = diag.backend;
  const same = { ...kopts, backend };
  const dK = diag[o.kind]!;
  let md = 0;
  for (const v of dK) md += v;
  md /= n;
  let at: number[];
  let residualTrace: number | null = null;
  if (o.choice === 'uniform') {
    at = uniformLandmarks(n, o.landmarks, o.seed);
  } else {
    if (!Number.isInteger(o.landmarks) || o.landmarks < 1 || o.landmarks > n) throw new InputError(`landmarks must be an integer in 1 … ${n} (the training inputs), got ${String(o.landmarks)}`);
    const pc = await pivotedCholesky(dK, async (idx) => (await kernel(arch, train, rowsOf(train, X, idx), same))[o.kind]!, {
      rule: o.choice === 'pivoted-cholesky' ? 'greedy' : 'rp',
      M: o.landmarks,
      seed: o.seed,
      // A landmark's duplicate keeps a residual of the kernel's own rounding: f32 on WebGPU.
      floor: backend === 'webgpu' ? 1e-6 : 1e-12,
    });
    if (pc.pivots.length < o.landmarks) {
      throw new InputError(
        `landmarks: the kernel of these ${n} training inputs has numerical rank ${pc.pivots.length} (the residual diagonal vanished after that many pivots), fewer than the ${o.landmarks} asked for: use --landmarks ${pc.pivots.length} or fewer`,
      );
    }
    at = pc.pivots.slice().sort((a, b) => a - b);
    residualTrace = pc.trace > 0 ? pc.residualTrace / pc.trace : 0;
  }
  const M = at.length;
  const L = rowsOf(train, X, at);
  const kmm = await kernel(arch, L, null, same);
  const ridge = o.relativeRidge !== null ? o.relativeRidge * Math.max(md, 0) : o.ridge;
  const f64 = n * M * 8 <= NYSTROM_F64_BYTES;
  const knm = f64 ? new Float64Array(n * M) : new Float32Array(n * M);
  for await (const b of kernelBlocks(arch, train, L, same)) {
    const v = b[o.kind]!;
    for (let r = 0; r < b.rows; r++) knm.set(v.subarray(r * b.cols, (r + 1) * b.cols), (b.row0 + r) * M + b.col0);
  }
  const sol = solveNystrom({ n, M, knm, kmm: kmm[o.kind]!, y: Y.data, k: Y.cols, ridge }, { tol: o.tol, ...(o.maxIterations !== undefined ? { maxIterations: o.maxIterations } : {}) });
  const ktm = (await kernel(arch, test, L, same))[o.kind]!;
  const m = ktm.length / M;
  const k = Y.cols;
  const mean = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < M; j++) {
      const a = ktm[i * M + j]!;
      for (let c = 0; c < k; c++) mean[i * k + c] = mean[i * k + c]! + a * sol.alpha[j * k + c]!;
    }
  }
  return {
    mean,
    summary: { landmarks: M, choice: o.choice, seed: o.seed, residualTrace, iterations: sol.iterations, converged: sol.converged, relativeResidual: sol.relativeResidual, tol: o.tol, jitter: sol.jitter, storage: f64 ? 'float64' : 'float32' },
    meanDiagonal: md,
    ridge,
    backend,
    landmarkCondition: sol.landmarkCondition,
  };
}
