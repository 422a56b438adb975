/**
 * Predictions of infinitely wide networks from their kernels (runtime-neutral, float64 on the CPU).
 *
 * - NNGP: the GP posterior of the network prior,
 *     mean = K_*X (K_XX + λI)⁻¹ Y,   variance_j = K_**,jj − k_jᵀ (K_XX + λI)⁻¹ k_j   (k_j = row j of K_*X).
 * - NTK: gradient flow with learning rate 1 on ½Σ‖f(x_i) − y_i‖² from a zero-mean output,
 *     mean(t) = Θ_*X Θ̃⁻¹ (I − e^{−tΘ̃}) Y,   Θ̃ = Θ_XX + λI,   mean(∞) = Θ_*X Θ̃⁻¹ Y.
 *   Finite t goes through one symmetric eigendecomposition Θ̃ = V diag(μ) Vᵀ that serves every t:
 *   mean(t) = (Θ_*X V) diag(φ_t(μ)) (Vᵀ Y) with φ_t(μ) = −expm1(−tμ)/μ (→ t as μ → 0).
 *
 * The kernel blocks come from `kernel()` on the chosen backend; the linear algebra is float64 with
 * ml-matrix (Cholesky for solves, the symmetric eigendecomposition for finite t and as the fallback
 * for a matrix that is not positive definite in float64). Ill-conditioning never throws and never
 * gives NaN: it is reported in `warnings`, with the condition number and a suggested ridge.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { choleskyLower, solveLower, solveLowerT } from './solve/dense-cholesky.js';
import { checkKernel, kernel, type Arch, type Backend, type BackendChoice, type KernelInput } from './api.js';
import { inputRows, isImageShaped } from './images.js';
import { DIRECT_MAX_N, KERNEL_MEMORY_BYTES } from './predict-limits.js';
import { GpuError, InputError } from './errors.js';
import { getGpu } from './gpu/device.js';
import { GpuKernelMatrix } from './gpu/matvec.js';
import { CG_TOL, solveCg, type CgResult, type CgState } from './solve/cg.js';
import { LANDMARK_CHOICES, nystromPredict, NYSTROM_TOL, type LandmarkChoice, type NystromSummary } from './predict-nystrom.js';
import { matfreePredict } from './predict-matfree.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';

export type PredictKernel = 'nngp' | 'ntk';

/** Targets: one value per training input (n), n rows of k outputs, or a flat array with a shape. */
export type Targets =
  | ArrayLike<number>
  | readonly (readonly number[])[]
  | { data: ArrayLike<number>; shape: readonly number[] };

export interface PredictOptions {
  /** Which kernel: "nngp" (GP posterior) or "ntk" (gradient-flow training). */
  kernel: PredictKernel;
  /** λ ≥ 0 added to the diagonal of the training kernel (default 0). */
  ridge?: number;
  /**
   * Instead of `ridge`: r ≥ 0 relative to the training kernel, λ = r × the mean of the diagonal of
   * K_XX (of the chosen kernel) — the ridge `selectModel` and `webntk select` report.
   */
  relativeRidge?: number;
  /** NTK only: training times t ≥ 0 (Infinity allowed), one prediction each; default [Infinity]. */
  times?: readonly number[];
  /** NNGP only: also return the posterior variance of each test output (default false). */
  variance?: boolean;
  /** Targets are integer class labels 0 … classes−1, turned into one-hot rows of `classes` outputs. */
  classes?: number;
  /** Where the kernel blocks are computed (default "cpu"); the solves are always float64 on the CPU. */
  backend?: BackendChoice;
  /**
   * "direct": dense float64 factorisation (Cholesky / eigendecomposition) on the CPU. "cg":
   * preconditioned conjugate gradients with K kept on the WebGPU device (NNGP mean and NTK at t = ∞
   * only). "cg-matfree": the same CG without storing K (its blocks recomputed for every product, on
   * `backend`; predict-matfree.ts). "auto" (default), when neither the variance nor a finite t is
   * asked for: "cg-matfree" when K_XX in float64 (8n² bytes) would exceed `memoryBytes`, else "cg"
   * when n > DIRECT_MAX_N and the kernels were computed on WebGPU; otherwise "direct".
   */
  solver?: SolverChoice;
  /**
   * Solver "auto": the bytes a stored K_XX may take on the host (default KERNEL_MEMORY_BYTES, 2 GiB;
   * the CLI passes a quarter of the machine's memory). Beyond it "auto" picks "cg-matfree".
   */
  memoryBytes?: number;
  /** CG: relative-residual tolerance (default 1e-6; see solve/cg.ts for the rule). */
  cgTol?: number;
  /** CG: iteration cap (default min(n, 2000) + 10; "nystrom": 200). */
  cgMaxIterations?: number;
  /**
   * Solvers "cg" and "cg-matfree": the largest rank of the pivoted-Cholesky preconditioner (0:
   * Jacobi; default 100 for "cg", MATFREE_RANK = 300 for "cg-matfree", where a product costs a
   * whole pass over the kernel and a pivot column 1/n of one; at most n). Building it costs
   * ~n·r² multiply-adds on the host: raise it where passes are expensive (large d).
   */
  cgRank?: number;
  /**
   * Solver "cg-matfree" (also when "auto" picks it): go on from a CG state saved by
   * `onCgIteration` of an earlier run of the same problem (solve/cg.ts checks n, k, λ and the
   * rebuilt preconditioner), so that a long solve survives a kill; `cgMaxIterations` counts the
   * resumed iterations too.
   */
  cgResume?: CgState;
  /** Solver "cg-matfree": called after every CG iteration (and before the first) with its state. */
  onCgIteration?: (state: CgState) => void | Promise<void>;
  /** Solver "nystrom": the number M of landmarks (1 … n), drawn uniformly without replacement. */
  landmarks?: number;
  /** Solver "nystrom": the seed of the landmark draw (default 0). */
  landmarkSeed?: number;
  /**
   * Solver "nystrom": how the landmarks are chosen (default "uniform"): "pivoted-cholesky" (greedy,
   * the largest residual diagonal first) or "rp-cholesky" (randomly pivoted, seeded); both read only
   * diag K and the M chosen columns (solve/pivoted-cholesky.ts).
   */
  landmarkChoice?: LandmarkChoice;
}

/**
 * "nystrom": kernel ridge regression on M landmarks (Falkon's preconditioned CG; predict-nystrom.ts),
 * never forming K_XX; the NNGP mean and the NTK at t = ∞ only.
 */
export type SolverChoice = 'auto' | 'direct' | 'cg' | 'cg-matfree' | 'nystrom';

/** The solvers that give the NNGP mean and the NTK at t = ∞ only. */
const MEAN_ONLY: readonly SolverChoice[] = ['cg', 'cg-matfree', 'nystrom'];

export { DIRECT_MAX_N, KERNEL_MEMORY_BYTES };

/** What the conjugate-gradient solver did. */
export interface CgSummary {
  iterations: number;
  converged: boolean;
  /** max over outputs of the true relative residual ‖y − (K + λI)α‖ / ‖y‖ (f32 products). */
  relativeResidual: number;
  tol: number;
  preconditioner: string;
  /** Wall seconds spent building the preconditioner (its pivot columns of K included). */
  preconditionerSeconds: number;
}

export interface PredictionCore {
  /** One row-major [m × k] prediction per time (NNGP and t = ∞: one entry). */
  mean: Float64Array[];
  /** [m, k]: test inputs × outputs (k = 1 for 1-D targets, = classes for labels). */
  shape: [number, number];
  /** NTK: the time of each entry of `mean`. */
  times?: number[];
  /** NNGP with `variance: true`: the posterior variance per test input (the same for every output). */
  variance?: Float64Array;
  /** Conditioning, clamping, fallbacks: never thrown, always stated here. */
  warnings: string[];
  /**
   * Condition number of K_XX + λI: from the eigenvalues (solver "eigen"), or an estimate (a lower
   * bound) from the Cholesky diagonal. Solver "cg": the Lanczos estimate for the preconditioned
   * system (what governs the iteration count).
   */
  conditionNumber: number;
  /** Only when the condition number exceeds ~1e10: a ridge that brings it down to ~1e10. */
  suggestedRidge?: number;
  /** How the system was solved. */
  solver: 'cholesky' | 'eigen' | 'cg' | 'cg-matfree' | 'nystrom';
  /** Why solver "auto" chose "cg-matfree" (the memory estimate), in words. */
  solverReason?: string;
  /** Solvers "cg" and "cg-matfree": iterations, residual, tolerance, preconditioner. */
  cg?: CgSummary;
  /** Solver "cg-matfree": passes over the blocks of K_XX (one per product, the final residual check included). */
  kernelPasses?: number;
  /** Solver "cg-matfree": wall seconds of those passes, all together (seconds per iteration = this / kernelPasses). */
  kernelPassSeconds?: number;
  /**
   * Solver "cg-matfree": where each block of K_XX was multiplied into the iterate: "device" (WebGPU:
   * right after it was computed, so the kernel never left the device) or "host" (float64 on the CPU).
   */
  kernelProduct?: 'device' | 'host';
  /** Solver "nystrom": landmarks, seed, iterations, residual, storage of K_nM. */
  nystrom?: NystromSummary;
  kernel: PredictKernel;
  /** The absolute ridge λ that was added (from `relativeRidge` when that was given). */
  ridge: number;
  /** Mean of the diagonal of K_XX (the scale of `relativeRidge`). */
  meanDiagonal: number;
  /** The relative ridge, when it was given. */
  relativeRidge?: number;
}

export interface PredictResult extends PredictionCore {
  /** Where the kernel blocks were computed. */
  backend: Backend;
}

/** Precomputed kernel blocks, row-major. */
export interface KernelBlocks {
  /** Training inputs. */
  n: number;
  /** Test inputs. */
  m: number;
  /** K_XX, n × n. */
  train: ArrayLike<number>;
  /** K_*X, m × n: row i is K(test_i, train_·). */
  testTrain: ArrayLike<number>;
  /** diag K_**, length m (needed for the variance only). */
  testDiag?: ArrayLike<number>;
}

/** Condition number above which a warning (with a suggested ridge) is given. */
export const COND_WARN = 1e10;
/**
 * Above this Cholesky-estimated condition number (or when Cholesky finds a non-positive pivot) the
 * system is numerically singular in float64 and the eigendecomposition with floored eigenvalues is
 * used instead.
 */
export const COND_SINGULAR = 1e14;
/** Eigenvalues of K_XX + λI below λ_max · EIGEN_FLOOR are floored to it where the inverse is needed (t = ∞, variance). */
export const EIGEN_FLOOR = 1e-10;
/** Smallest relative round-off bound for a posterior variance (see finishVariance): −max(1e-10, 4nε·cond)·(|K_**| + kᵀK⁻¹k) ≤ v < 0 is round-off. */
export const VARIANCE_ROUNDOFF = 1e-10;

const EPS = Number.EPSILON;

// ---------------------------------------------------------------------------------------------
// Targets, labels, accuracy

/** Integer labels 0 … classes−1 as one-hot rows: data is [n × classes] row-major. */
export function oneHot(labels: ArrayLike<number>, classes: number): { data: Float64Array; shape: [number, number] } {
  checkClasses(classes);
  const n = labels.length;
  const data = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) data[i * classes + checkLabel(labels[i], i, classes, 'labels')] = 1;
  return { data, shape: [n, classes] };
}

function checkClasses(classes: number): void {
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 2) {
    throw new InputError(`classes must be an integer ≥ 2, got ${String(classes)}`);
  }
}

/** A class label: an integer in [0, classes), else an InputError naming `name` and the index. */
export function checkLabel(v: unknown, i: number, classes: number, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${name}: label at index ${i} is ${String(v)} (labels must be finite integers)`);
  if (!Number.isInteger(v)) throw new InputError(`${name}: label at index ${i} is ${v}, not an integer class label`);
  if (v < 0 || v >= classes) throw new InputError(`${name}: label at index ${i} is ${v}, outside 0 … ${classes - 1} (classes = ${classes})`);
  return v;
}

/** Fraction of rows of a row-major [m × k] prediction whose argmax is the label (k ≥ 2). */
export function accuracy(pred: ArrayLike<number>, shape: readonly [number, number], labels: ArrayLike<number>): number {
  const [m, k] = shape;
  if (!Number.isInteger(m) || !Number.isInteger(k) || m < 1 || k < 2) {
    throw new InputError(`accuracy: shape must be [m ≥ 1, k ≥ 2] (one output per class), got [${m}, ${k}]`);
  }
  if (pred.length !== m * k) throw new InputError(`accuracy: ${pred.length} predictions do not fill shape [${m}, ${k}]`);
  if (labels.length !== m) throw new InputError(`accuracy: ${labels.length} labels for ${m} predictions`);
  let hits = 0;
  for (let i = 0; i < m; i++) {
    const label = checkLabel(labels[i], i, k, 'accuracy labels');
    let best = 0;
    for (let c = 1; c < k; c++) if (pred[i * k + c]! > pred[i * k + best]!) best = c;
    if (best === label) hits++;
  }
  return hits / m;
}

/**
 * Targets as a row-major n × k matrix (checked: n rows, finite values; labels → one-hot). `name`
 * and `rowsName` word the errors ("test targets", "test inputs" for a test set).
 */
export function toTargets(targets: Targets, n: number, classes?: number, name = 'targets', rowsName = 'training inputs'): Matrix2D {
  let data: ArrayLike<number>;
  let rows: number;
  let cols: number;
  let oneD: boolean;
  if (Array.isArray(targets) && targets.length > 0 && Array.isArray(targets[0])) {
    const nested = targets as readonly (readonly number[])[];
    rows = nested.length;
    cols = nested[0]!.length;
    if (cols === 0) throw new InputError(`${name}: rows have no outputs`);
    const flat = new Array<number>(rows * cols);
    nested.forEach((row, i) => {
      if (!Array.isArray(row)) throw new InputError(`${name}: row ${i} is not an array`);
      if (row.length !== cols) throw new InputError(`${name}: row ${i} has ${row.length} outputs but row 0 has ${cols}`);
      for (let j = 0; j < cols; j++) flat[i * cols + j] = row[j]!;
    });
    data = flat;
    oneD = false;
  } else if (targets && typeof targets === 'object' && 'shape' in targets && Array.isArray(targets.shape) && 'data' in targets) {
    const s = targets.shape;
    if (s.length !== 1 && s.length !== 2) throw new InputError(`${name}: expected shape [n] or [n, k], got [${s.join(', ')}]`);
    rows = s[0]!;
    cols = s.length === 2 ? s[1]! : 1;
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 1) {
      throw new InputError(`${name}: invalid shape [${s.join(', ')}]`);
    }
    data = targets.data;
    if (!data || typeof data.length !== 'number') throw new InputError(`${name}: data is not an array`);
    if (data.length !== rows * cols) throw new InputError(`${name}: ${data.length} values do not fill shape [${s.join(', ')}]`);
    oneD = s.length === 1;
  } else if (targets && typeof (targets as ArrayLike<number>).length === 'number' && typeof targets !== 'string') {
    data = targets as ArrayLike<number>;
    rows = data.length;
    cols = 1;
    oneD = true;
  } else {
    throw new InputError(`${name}: expected number[], number[][] or { data, shape: [n] | [n, k] }`);
  }
  if (rows !== n) throw new InputError(`${name}: ${rows} rows but there are ${n} ${rowsName}`);

  if (classes !== undefined) {
    checkClasses(classes);
    if (!oneD && cols !== 1) {
      throw new InputError(`${name}: with classes, targets are integer labels (shape [n] or [n, 1]), got ${cols} columns`);
    }
    const labels = new Float64Array(rows);
    for (let i = 0; i < rows; i++) labels[i] = checkLabel(data[i], i, classes, name);
    const oh = oneHot(labels, classes);
    return { data: oh.data, rows, cols: classes };
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (typeof v !== 'number') throw new InputError(`${name}: value at ${where(i, j, oneD)} is not a number`);
      if (!Number.isFinite(v)) throw new InputError(`${name}: value at ${where(i, j, oneD)} is ${v} (targets must be finite)`);
      out[i * cols + j] = v;
    }
  }
  return { data: out, rows, cols };
}

const where = (i: number, j: number, oneD: boolean): string => (oneD ? `index ${i}` : `row ${i}, column ${j}`);

// ---------------------------------------------------------------------------------------------
// Options

interface Checked {
  kind: PredictKernel;
  ridge: number;
  relativeRidge: number | null;
  times: number[] | null;
  variance: boolean;
  classes: number | undefined;
  solver: SolverChoice;
  cgTol: number;
  cgMaxIterations: number | undefined;
  cgRank: number | undefined;
  memoryBytes: number;
  cgResume: CgState | undefined;
  onCgIteration: ((state: CgState) => void | Promise<void>) | undefined;
}

function checkOptions(options: PredictOptions): Checked {
  if (!options || typeof options !== 'object') throw new InputError('predict: options { kernel: "nngp" | "ntk" } are required');
  const kind = options.kernel;
  if (kind !== 'nngp' && kind !== 'ntk') throw new InputError(`predict: kernel must be "nngp" or "ntk", got ${JSON.stringify(kind)}`);
  const ridge = options.ridge ?? 0;
  if (typeof ridge !== 'number' || !Number.isFinite(ridge) || ridge < 0) {
    throw new InputError(`predict: ridge must be a finite number ≥ 0, got ${String(ridge)}`);
  }
  const rel = options.relativeRidge ?? null;
  if (rel !== null) {
    if (options.ridge !== undefined) throw new InputError('predict: give ridge (absolute) or relativeRidge, not both');
    if (typeof rel !== 'number' || !Number.isFinite(rel) || rel < 0) {
      throw new InputError(`predict: relativeRidge must be a finite number ≥ 0, got ${String(rel)}`);
    }
  }
  let times: number[] | null = null;
  if (kind === 'nngp') {
    if (options.times !== undefined) throw new InputError('predict: times apply to the NTK (gradient-flow training) only, not to the NNGP posterior');
  } else {
    if (options.variance) {
      throw new InputError('predict: variance is the NNGP posterior variance; it is not available with kernel "ntk"');
    }
    times = options.times === undefined ? [Infinity] : [...options.times];
    if (!Array.isArray(options.times ?? []) || times.length === 0) throw new InputError('predict: times must be a non-empty array of numbers ≥ 0');
    times.forEach((t, i) => {
      if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
        throw new InputError(`predict: times[${i}] is ${String(t)}; times must be ≥ 0 (Infinity allowed)`);
      }
    });
  }
  const solver = options.solver ?? 'auto';
  if (solver !== 'auto' && solver !== 'direct' && !MEAN_ONLY.includes(solver)) {
    throw new InputError(`predict: solver must be "auto", "direct", "cg", "cg-matfree" or "nystrom", got ${JSON.stringify(solver)}`);
  }
  const variance = kind === 'nngp' && options.variance === true;
  if (MEAN_ONLY.includes(solver) && (variance || (times && times.some((t) => t !== Infinity)))) {
    throw new InputError(meanOnlyRefusal(solver));
  }
  if (solver === 'nystrom') {
    if (options.landmarks === undefined) throw new InputError('predict: solver "nystrom" needs landmarks (the number M of landmark inputs)');
    if (!Number.isInteger(options.landmarks) || options.landmarks < 1) throw new InputError(`predict: landmarks must be a positive integer, got ${String(options.landmarks)}`);
    const seed = options.landmarkSeed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`predict: landmarkSeed must be an integer in 0 … 4294967295, got ${String(seed)}`);
    const choice = options.landmarkChoice ?? 'uniform';
    if (!LANDMARK_CHOICES.includes(choice)) throw new InputError(`predict: landmarkChoice must be one of ${LANDMARK_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  } else if (options.landmarks !== undefined || options.landmarkSeed !== undefined || options.landmarkChoice !== undefined) {
    throw new InputError('predict: landmarks, landmarkSeed and landmarkChoice apply to solver "nystrom" only');
  }
  const cgTol = options.cgTol ?? CG_TOL;
  if (typeof cgTol !== 'number' || !(cgTol > 0 && cgTol < 1)) throw new InputError(`predict: cgTol must be in (0, 1), got ${String(cgTol)}`);
  const cgMax = options.cgMaxIterations;
  if (cgMax !== undefined && !(Number.isInteger(cgMax) && cgMax >= 1)) {
    throw new InputError(`predict: cgMaxIterations must be a positive integer, got ${String(cgMax)}`);
  }
  const cgRank = options.cgRank;
  if (cgRank !== undefined) {
    if (!(Number.isInteger(cgRank) && cgRank >= 0)) throw new InputError(`predict: cgRank must be an integer ≥ 0, got ${String(cgRank)}`);
    if (solver !== 'cg' && solver !== 'cg-matfree' && solver !== 'auto') throw new InputError('predict: cgRank applies to solvers "cg", "cg-matfree" and "auto" (when it picks one of them)');
  }
  const memoryBytes = options.memoryBytes ?? KERNEL_MEMORY_BYTES;
  if (typeof memoryBytes !== 'number' || !(memoryBytes > 0)) throw new InputError(`predict: memoryBytes must be a number > 0, got ${String(memoryBytes)}`);
  if ((options.cgResume !== undefined || options.onCgIteration !== undefined) && solver !== 'cg-matfree' && solver !== 'auto') {
    throw new InputError('predict: cgResume and onCgIteration apply to solver "cg-matfree" (and "auto" when it picks it)');
  }
  if (options.onCgIteration !== undefined && typeof options.onCgIteration !== 'function') throw new InputError('predict: onCgIteration must be a function');
  return { kind, ridge, relativeRidge: rel, times, variance, classes: options.classes, solver, cgTol, cgMaxIterations: cgMax, cgRank, memoryBytes, cgResume: options.cgResume, onCgIteration: options.onCgIteration };
}

/** Why a mean-only solver refuses the variance and finite t (the API and the CLI say the same). */
export function meanOnlyRefusal(solver: string): string {
  return solver === 'cg-matfree'
    ? 'solver "cg-matfree" gives the NNGP mean and the NTK at t = ∞ only: the variance and finite t need a stored kernel matrix (solver "direct"); ' +
        'the low-rank approximation (solver "nystrom") gives the mean at t = ∞ only too'
    : `solver "${solver}" gives the NNGP mean and the NTK at t = ∞ only; the variance and finite t need solver "direct"`;
}

/**
 * Solver "auto": why K_XX should not be stored (it would take more than the budget), or null. Every
 * stored solver holds K_XX in float64 on the host (8n² bytes; "cg" also an f32 copy, 4n², on the
 * WebGPU device, which reports no total memory, so the host figure is the estimate).
 */
export function matfreeReason(n: number, memoryBytes: number): string | null {
  const bytes = 8 * n * n;
  if (bytes <= memoryBytes) return null;
  const gb = (b: number) => `${(b / 1e9).toPrecision(3)} GB`;
  return `solver "auto" chose "cg-matfree": K_XX (${n} × ${n}) would take ${gb(bytes)} in float64, more than the ${gb(memoryBytes)} memory budget; its blocks are recomputed for every CG product instead`;
}

/** Mean of the diagonal of the n × n row-major K. */
function meanDiagonal(K: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += K[i * n + i]!;
  return s / n;
}

/** Sets opts.ridge from a relative ridge (λ = r × mean diagonal of K_XX); returns the mean diagonal. */
function resolveRidge(opts: Checked, blocks: KernelBlocks): number {
  const md = meanDiagonal(blocks.train, blocks.n);
  if (opts.relativeRidge !== null) opts.ridge = opts.relativeRidge * Math.max(md, 0);
  return md;
}

const ridgeInfo = (opts: Checked, md: number): Pick<PredictionCore, 'ridge' | 'meanDiagonal' | 'relativeRidge'> => ({
  ridge: opts.ridge,
  meanDiagonal: md,
  ...(opts.relativeRidge !== null ? { relativeRidge: opts.relativeRidge } : {}),
});

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Predictions of the infinitely wide network `arch` trained on (train, targets), at `test`.
 * The kernel blocks K_XX, K_*X (and diag K_** for the variance) are computed on `options.backend`.
 * Inputs are [N, d] matrices, or images {data, shape} [N, C, H, W] / [N, C, P] for a conv spec.
 */
export async function predict(
  arch: Arch,
  train: KernelInput,
  targets: Targets,
  test: KernelInput,
  options: PredictOptions,
): Promise<PredictResult> {
  const opts = checkOptions(options);
  // Rows for counts and duplicates; the kernel takes the inputs as given (images for a conv spec).
  const X = inputRows(train, 'train');
  const T = inputRows(test, 'test');
  const images = isImageShaped(train) || isImageShaped(test);
  if (!images && X.cols !== T.cols) throw new InputError(`test inputs have ${T.cols} features but training inputs have ${X.cols}`);
  // Check the targets, and what the arch checks of the inputs (image channels and sizes), before any kernel is computed.
  const Y0 = toTargets(targets, X.rows, opts.classes);
  const kopts = { get: opts.kind, backend: options.backend ?? 'cpu' } as const;
  checkKernel(arch, images ? test : T, images ? train : X, kopts);
  const [a, b] = images ? [train, test] : [X, T];
  const meanOnly = !opts.variance && (opts.times ?? [Infinity]).every((t) => t === Infinity);
  const reason = opts.solver === 'auto' && meanOnly ? matfreeReason(X.rows, opts.memoryBytes) : null;
  if (opts.solver === 'cg-matfree' || reason) {
    const r = await matfreePredict(arch, a, X, b, T.rows, Y0, {
      kind: opts.kind,
      ridge: opts.ridge,
      relativeRidge: opts.relativeRidge,
      tol: opts.cgTol,
      ...(opts.cgMaxIterations !== undefined ? { maxIterations: opts.cgMaxIterations } : {}),
      ...(opts.cgRank !== undefined ? { rank: opts.cgRank } : {}),
      ...(opts.cgResume !== undefined ? { resume: opts.cgResume } : {}),
      ...(opts.onCgIteration !== undefined ? { onIteration: opts.onCgIteration } : {}),
      backend: options.backend ?? 'cpu',
    });
    const warnings = cgWarnings(r.cg, `K_XX + λI (${opts.kind}, λ = ${fmt(r.ridge)})`);
    duplicateWarning(X, r.cg.conditionEstimate, warnings);
    return {
      mean: perTime(r.mean, opts.times),
      shape: [T.rows, Y0.cols],
      ...(opts.times ? { times: opts.times } : {}),
      warnings,
      conditionNumber: r.cg.conditionEstimate,
      solver: 'cg-matfree',
      ...(reason ? { solverReason: reason } : {}),
      cg: cgSummary(r.cg),
      kernelPasses: r.passes,
      kernelPassSeconds: r.passSeconds,
      kernelProduct: r.product,
      kernel: opts.kind,
      ridge: r.ridge,
      meanDiagonal: r.meanDiagonal,
      ...(opts.relativeRidge !== null ? { relativeRidge: opts.relativeRidge } : {}),
      backend: r.backend,
    };
  }
  if (opts.cgResume !== undefined || opts.onCgIteration !== undefined) {
    throw new InputError('predict: cgResume and onCgIteration apply to solver "cg-matfree"; "auto" did not pick it here (K_XX fits in memoryBytes)');
  }
  if (opts.solver === 'nystrom') {
    if (options.landmarks! > X.rows) throw new InputError(`predict: landmarks must be at most the ${X.rows} training inputs, got ${options.landmarks}`);
    const r = await nystromPredict(arch, a, X, b, Y0, {
      kind: opts.kind,
      ridge: opts.ridge,
      relativeRidge: opts.relativeRidge,
      landmarks: options.landmarks!,
      choice: options.landmarkChoice ?? 'uniform',
      seed: options.landmarkSeed ?? 0,
      tol: options.cgTol ?? NYSTROM_TOL,
      ...(opts.cgMaxIterations !== undefined ? { maxIterations: opts.cgMaxIterations } : {}),
      backend: options.backend ?? 'cpu',
    });
    const warnings: string[] = [];
    const s = r.summary;
    if (!s.converged) warnings.push(`Nyström CG stopped after ${s.iterations} iterations with a preconditioned relative residual ${fmt(s.relativeResidual)} (rule ${fmt(s.tol)})`);
    if (s.jitter > 0) warnings.push(`the landmark kernel K_MM was not positive definite in float64 (duplicate or nearly duplicate landmarks?): ${fmt(s.jitter)} was added to its diagonal`);
    return {
      mean: perTime(r.mean, opts.times),
      shape: [T.rows, Y0.cols],
      ...(opts.times ? { times: opts.times } : {}),
      warnings,
      conditionNumber: r.landmarkCondition,
      solver: 'nystrom',
      nystrom: s,
      kernel: opts.kind,
      ridge: r.ridge,
      meanDiagonal: r.meanDiagonal,
      ...(opts.relativeRidge !== null ? { relativeRidge: opts.relativeRidge } : {}),
      backend: r.backend,
    };
  }
  const kxx = await kernel(arch, a, null, kopts);
  const kxs = await kernel(arch, b, a, { ...kopts, backend: kxx.backend });
  const kss = opts.variance ? await kernel(arch, b, null, { ...kopts, backend: kxx.backend, diagonal: true }) : null;
  const blocks: KernelBlocks = {
    n: X.rows,
    m: T.rows,
    train: kxx[opts.kind]!,
    testTrain: kxs[opts.kind]!,
    ...(kss ? { testDiag: kss[opts.kind]! } : {}),
  };
  const useCg = opts.solver === 'cg' || (opts.solver === 'auto' && X.rows > DIRECT_MAX_N && kxx.backend === 'webgpu' && meanOnly);
  const core = useCg ? await predictFromKernelsCg(blocks, targets, options) : predictFromKernels(blocks, targets, { ...options, solver: 'direct' });
  duplicateWarning(X, core.conditionNumber, core.warnings);
  return { ...core, backend: kxx.backend };
}

/** When the system is ill-conditioned, names a pair of identical training rows if there is one. */
function duplicateWarning(X: Matrix2D, cond: number, warnings: string[]): void {
  if (!(cond > COND_WARN)) return;
  const dups = duplicateRows(X);
  if (dups) warnings.push(`training inputs ${dups[0]} and ${dups[1]} are identical (duplicate rows make K_XX singular; use a ridge > 0)`);
}

/** A pair of identical rows, if any. */
function duplicateRows(X: Matrix2D): [number, number] | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < X.rows; i++) {
    const key = Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)).join(',');
    const j = seen.get(key);
    if (j !== undefined) return [j, i];
    seen.set(key, i);
  }
  return null;
}

function checkBlocks(blocks: KernelBlocks): void {
  const { n, m } = blocks;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(m) || m < 1) throw new InputError(`kernel blocks: n and m must be positive integers, got n = ${n}, m = ${m}`);
  checkBlock(blocks.train, n * n, 'K_XX');
  checkBlock(blocks.testTrain, m * n, 'K_*X');
}

/** K_*X α for row-major α (n × k): the m × k mean. */
/** Rows per ml-matrix product of a row-major block, so that its copy as a Matrix stays small. */
const MMUL_ROWS = 1024;

/**
 * The row-major product (data: rows × inner, row-major) · right, with ml-matrix, a chunk of rows
 * at a time; ml-matrix sums each entry over the inner index in order, as a plain loop would.
 */
function mmulRows(data: ArrayLike<number>, rows: number, inner: number, right: Matrix): Float64Array {
  const cols = right.columns;
  const out = new Float64Array(rows * cols);
  for (let r0 = 0; r0 < rows; r0 += MMUL_ROWS) {
    const nr = Math.min(MMUL_ROWS, rows - r0);
    const a = r0 * inner;
    const b = (r0 + nr) * inner;
    const chunk = Matrix.from1DArray(nr, inner, data instanceof Float64Array ? data.subarray(a, b) : Array.from({ length: b - a }, (_, i) => data[a + i]!));
    out.set(chunk.mmul(right).to1DArray(), r0 * cols);
  }
  return out;
}

/** K_*X · α (m × k, row-major) for α n × k row-major. */
function testTimesAlpha(testTrain: ArrayLike<number>, alpha: ArrayLike<number>, m: number, n: number, k: number): Float64Array {
  return mmulRows(testTrain, m, n, Matrix.from1DArray(n, k, alpha));
}

/** The t = ∞ mean once per requested time (NTK; every time is ∞ here), or once for the NNGP. */
const perTime = (mean: Float64Array, times: number[] | null): Float64Array[] => (times ? times.map((_, i) => (i === 0 ? mean : mean.slice())) : [mean]);

/**
 * The NNGP mean or the NTK at t = ∞ from precomputed kernel blocks with the conjugate-gradient
 * solver: K_XX goes to the WebGPU device as f32 row blocks; iterates, residuals and dot products
 * stay float64 on the host (solve/cg.ts). Throws GpuError when there is no WebGPU adapter.
 */
export async function predictFromKernelsCg(blocks: KernelBlocks, targets: Targets, options: PredictOptions): Promise<PredictionCore> {
  const opts = checkOptions({ ...options, solver: 'cg' });
  checkBlocks(blocks);
  const md = resolveRidge(opts, blocks);
  const { n, m } = blocks;
  const Y = toTargets(targets, n, opts.classes);
  const k = Y.cols;
  const ctx = await getGpu();
  if (!ctx) throw new GpuError('solver "cg" needs a WebGPU adapter and none was found (use solver "direct")');
  const onDevice = await GpuKernelMatrix.upload(ctx, blocks.train, n);
  let cg;
  try {
    cg = await solveCg(n, k, Y.data, opts.ridge, blocks.train, (p, kk) => onDevice.mul(p, kk), {
      tol: opts.cgTol,
      ...(opts.cgRank !== undefined ? { rank: Math.min(n, opts.cgRank) } : {}),
      ...(opts.cgMaxIterations !== undefined ? { maxIterations: opts.cgMaxIterations } : {}),
    });
  } finally {
    onDevice.destroy();
  }
  return {
    mean: perTime(testTimesAlpha(blocks.testTrain, cg.x, m, n, k), opts.times),
    shape: [m, k],
    ...(opts.times ? { times: opts.times } : {}),
    warnings: cgWarnings(cg, `K_XX + λI (${opts.kind}, λ = ${fmt(opts.ridge)})`),
    conditionNumber: cg.conditionEstimate,
    solver: 'cg',
    cg: cgSummary(cg),
    kernel: opts.kind,
    ...ridgeInfo(opts, md),
  };
}

const cgSummary = (cg: CgResult): CgSummary => ({
  iterations: cg.iterations,
  converged: cg.converged,
  relativeResidual: cg.relativeResidual,
  tol: cg.tol,
  preconditioner: cg.preconditioner,
  preconditionerSeconds: cg.preconditionerSeconds,
});

/** What a CG run (stored or matrix-free) must say: no convergence, a residual far above the rule, a bad condition number. */
function cgWarnings(cg: CgResult, what: string): string[] {
  const warnings: string[] = [];
  if (!cg.converged) {
    warnings.push(`CG on ${what} stopped after ${cg.iterations} iterations without meeting the relative-residual rule ${fmt(cg.tol)}; true relative residual ${fmt(cg.relativeResidual)}`);
  } else if (cg.relativeResidual > 100 * cg.tol) {
    warnings.push(
      `CG on ${what} met its rule but the true relative residual is ${fmt(cg.relativeResidual)} (> 100 × ${fmt(cg.tol)}): the f32 products limit the accuracy; ` +
        'a larger ridge or solver "direct" gives more',
    );
  }
  if (cg.conditionEstimate > COND_WARN) {
    warnings.push(`${what}: the preconditioned system has an estimated condition number ${fmt(cg.conditionEstimate)}; a larger ridge helps CG converge`);
  }
  return warnings;
}

/** The same predictions from precomputed kernel blocks with the direct solvers (synchronous, float64). */
export function predictFromKernels(blocks: KernelBlocks, targets: Targets, options: PredictOptions): PredictionCore {
  const opts = checkOptions(options);
  if (opts.solver === 'cg') throw new InputError('predictFromKernels is the direct float64 solve; use predictFromKernelsCg (or predict) for solver "cg"');
  if (opts.solver === 'cg-matfree') throw new InputError('solver "cg-matfree" computes the kernel blocks itself (never storing K_XX); use predict(), not predictFromKernels');
  checkBlocks(blocks);
  const md = resolveRidge(opts, blocks);
  const { n, m } = blocks;
  if (opts.variance) {
    if (!blocks.testDiag) throw new InputError('kernel blocks: the variance needs diag K_** (testDiag)');
    checkBlock(blocks.testDiag, m, 'diag K_**');
  }
  const Y = toTargets(targets, n, opts.classes);
  const k = Y.cols;
  const warnings: string[] = [];
  const what = `K_XX + λI (${opts.kind}, λ = ${fmt(opts.ridge)})`;

  // Θ̃ = K_XX + λI, symmetrised (a kernel from the GPU may differ from its transpose in the last bit).
  // K + λI, symmetrised, row-major.
  const Af = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = i === j ? blocks.train[i * n + i]! : 0.5 * (blocks.train[i * n + j]! + blocks.train[j * n + i]!);
      Af[i * n + j] = v + (i === j ? opts.ridge : 0);
    }
  }
  const needEigen = opts.times !== null && opts.times.some((t) => t !== Infinity);
  const result = (mean: Float64Array[], rest: Omit<PredictionCore, 'mean' | 'shape' | 'warnings' | 'kernel' | 'ridge' | 'meanDiagonal' | 'relativeRidge'>): PredictionCore => ({
    mean,
    shape: [m, k],
    ...(opts.times ? { times: opts.times } : {}),
    warnings,
    kernel: opts.kind,
    ...ridgeInfo(opts, md),
    ...rest,
  });

  // ---- Cholesky: the solve for NNGP and for NTK at t = ∞ only.
  if (!needEigen) {
    const Ld = choleskyLower(Af, n);
    const pd = Ld !== null;
    let minPivot = Infinity;
    if (Ld) for (let i = 0; i < n; i++) minPivot = Math.min(minPivot, Ld[i * n + i]! ** 2);
    const lmax = largestEigenvalue(Af, n);
    const cond = pd && minPivot > 0 ? lmax / minPivot : Infinity;
    if (Ld && cond <= COND_SINGULAR) {
      const suggestedRidge = conditioningWarning(warnings, what, cond, lmax, opts.ridge, 'estimated from the Cholesky diagonal, a lower bound');
      const alpha = Float64Array.from(Y.data); // n × k, row-major: (LLᵀ)⁻¹Y
      solveLower(Ld, n, alpha, k);
      solveLowerT(Ld, n, alpha, k);
      const out = result(perTime(testTimesAlpha(blocks.testTrain, alpha, m, n, k), opts.times), {
        conditionNumber: cond,
        ...(suggestedRidge !== undefined ? { suggestedRidge } : {}),
        solver: 'cholesky',
      });
      if (opts.variance) {
        // q_j = ‖L⁻¹ k_j‖² by forward substitution.
        const w = new Float64Array(n);
        const q = new Float64Array(m);
        for (let r = 0; r < m; r++) {
          let s2 = 0;
          for (let i = 0; i < n; i++) {
            let s = blocks.testTrain[r * n + i]!;
            for (let j = 0; j < i; j++) s -= Ld[i * n + j]! * w[j]!;
            w[i] = s / Ld[i * n + i]!;
            s2 += w[i]! * w[i]!;
          }
          q[r] = s2;
        }
        out.variance = finishVariance(blocks.testDiag!, q, n, cond, warnings);
      }
      return out;
    }
    warnings.push(
      pd
        ? `${what} is numerically singular in float64 (condition number estimated from the Cholesky diagonal ≥ ${fmt(cond)} > ${fmt(COND_SINGULAR)}); ` +
            'fell back to the symmetric eigendecomposition with floored eigenvalues'
        : `Cholesky failed: ${what} is not positive definite in float64; fell back to the symmetric eigendecomposition with floored eigenvalues`,
    );
  }

  // ---- Symmetric eigendecomposition: finite t, and the fallback.
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(n, n, Af), { assumeSymmetric: true });
  const mu = Float64Array.from(evd.realEigenvalues);
  const V = evd.eigenvectorMatrix;
  let lmax = -Infinity;
  let lmin = Infinity;
  let absmax = 0;
  for (const v of mu) {
    lmax = Math.max(lmax, v);
    lmin = Math.min(lmin, v);
    absmax = Math.max(absmax, Math.abs(v));
  }
  const cond = lmin > 0 ? lmax / lmin : Infinity;
  // Backward error of a symmetric eigensolver: |δμ| ≲ n·ε·‖A‖₂ (with a safety factor).
  const roundoff = 8 * n * EPS * absmax;
  if (lmin < -roundoff) {
    warnings.push(
      `${what} has negative eigenvalues (down to ${fmt(lmin)}) beyond float64 round-off (${fmt(-roundoff)}): the kernel matrix is not ` +
        'positive semi-definite (a float32 WebGPU kernel can do this); they were treated as 0 for finite t and floored for the inverse. A larger ridge removes them.',
    );
  }
  const suggestedRidge = conditioningWarning(warnings, what, cond, lmax, opts.ridge, 'from the eigenvalues');
  // μ for finite t: negative round-off → 0 (φ_t(0) = t is finite). μ for the inverse: floored.
  const floor = lmax > 0 ? lmax * EIGEN_FLOOR : 0;
  const muT = mu.map((v) => Math.max(v, 0));
  const muInv = mu.map((v) => Math.max(v, floor));
  const wantsInverse = opts.times === null || opts.times.includes(Infinity);
  const floored = mu.reduce((c, v) => c + (v < floor ? 1 : 0), 0);
  if (wantsInverse && floored > 0) {
    warnings.push(
      lmax > 0
        ? `${floored} eigenvalue(s) of ${what} below λ_max·${fmt(EIGEN_FLOOR)} = ${fmt(floor)} were floored to ${fmt(floor)} for the inverse (t = ∞ / posterior); ` +
            'the result is regularised along those directions'
        : `${what} has no positive eigenvalue; its inverse is taken as 0 (zero predictions at t = ∞)`,
    );
  }

  // P = K_*X V (m × n), B = Vᵀ Y (n × k): mean_t = P diag(φ_t) B.
  const P = Matrix.from1DArray(m, n, mmulRows(blocks.testTrain, m, n, V));
  const B = V.transpose().mmul(Matrix.from1DArray(n, k, Y.data));
  const meanAt = (t: number): Float64Array => {
    if (t === 0) return new Float64Array(m * k);
    const phi = t === Infinity ? muInv.map((v) => (v > 0 ? 1 / v : 0)) : muT.map((v) => phiT(v, t));
    return Float64Array.from(P.clone().mulRowVector(phi).mmul(B).to1DArray());
  };
  const out = result((opts.times ?? [Infinity]).map(meanAt), {
    conditionNumber: cond,
    ...(suggestedRidge !== undefined ? { suggestedRidge } : {}),
    solver: 'eigen',
  });
  if (opts.variance) {
    const q = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) if (muInv[j]! > 0) s += P.get(r, j) ** 2 / muInv[j]!;
      q[r] = s;
    }
    // The floored inverse has condition number at most 1/EIGEN_FLOOR.
    const effCond = lmax > 0 ? lmax / Math.max(lmin, floor) : 1;
    out.variance = finishVariance(blocks.testDiag!, q, n, effCond, warnings);
  }
  return out;
}

/** (1 − e^{−tμ})/μ for μ ≥ 0, t finite ≥ 0: stable for tiny tμ (limit t at μ = 0), never NaN. */
export function phiT(mu: number, t: number): number {
  if (t === 0) return 0;
  const x = t * mu;
  if (!(x > 1e-8)) return t * (1 - x / 2); // series: t(1 − x/2 + x²/6 …); x ≤ 1e-8 (also μ = 0)
  return -Math.expm1(-x) / mu;
}

/** Posterior variance K_** − q, with round-off below zero clamped silently and larger negatives clamped and reported. */
function finishVariance(diag: ArrayLike<number>, q: Float64Array, n: number, cond: number, warnings: string[]): Float64Array {
  const m = q.length;
  const v = new Float64Array(m);
  let bad = 0;
  let worst = 0;
  let worstAt = -1;
  for (let r = 0; r < m; r++) {
    const kss = diag[r]!;
    const d = kss - q[r]!;
    // q = kᵀ(K + λI)⁻¹k carries a relative error of about n·ε·cond, and K_** − q cancels terms of
    // size |K_**| + q: round-off is below max(1e-10, 4·n·ε·cond)·(|K_**| + q).
    const tol = Math.max(VARIANCE_ROUNDOFF, 4 * n * EPS * cond) * (Math.abs(kss) + Math.abs(q[r]!));
    if (d >= 0) v[r] = d;
    else {
      v[r] = 0;
      if (d < -tol) {
        bad++;
        if (d < worst) {
          worst = d;
          worstAt = r;
        }
      }
    }
  }
  if (bad > 0) {
    warnings.push(
      `posterior variance of ${bad} test input(s) was negative beyond round-off (worst ${fmt(worst)} at test input ${worstAt}, ` +
        `K_** = ${fmt(diag[worstAt]!)}) and was clamped to 0: the system is ill-conditioned or the kernel is not positive semi-definite; use a larger ridge`,
    );
  }
  return v;
}

/** Adds the ill-conditioning warning (with a suggested ridge) when cond > COND_WARN; returns the suggestion. */
function conditioningWarning(warnings: string[], what: string, cond: number, lmax: number, ridge: number, how: string): number | undefined {
  if (!(cond > COND_WARN)) return undefined;
  // cond(A + δI) = (λ_max + δ)/(λ_min + δ) ≈ 1e10 for δ ≈ λ_max·1e-10 when λ_min is negligible.
  const suggestedRidge = ridge + Math.max(lmax, 0) * (1 / COND_WARN);
  warnings.push(
    `${what} is ill-conditioned: condition number ${cond === Infinity ? '∞ (singular)' : '≈ ' + fmt(cond)} (${how}); ` +
      `the predictions may be dominated by round-off. Suggested ridge ≈ ${fmt(suggestedRidge)} ` +
      `(current ridge + λ_max·1e-10 with λ_max ≈ ${fmt(lmax)}, which brings the condition number down to ~1e10). ` +
      'Causes: duplicate or nearly duplicate training inputs, ridge = 0, or a deep kernel close to a constant matrix.',
  );
  return suggestedRidge;
}

/** λ_max of a symmetric PSD-ish matrix (row-major n × n): power iteration (a lower bound), at least the largest diagonal entry. */
function largestEigenvalue(a: Float64Array, n: number): number {
  let dmax = 0;
  for (let i = 0; i < n; i++) dmax = Math.max(dmax, a[i * n + i]!);
  let x = new Float64Array(n).fill(1 / Math.sqrt(n));
  let est = 0;
  for (let it = 0; it < 50; it++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
      y[i] = s;
    }
    let rq = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      rq += x[i]! * y[i]!;
      norm += y[i]! * y[i]!;
    }
    norm = Math.sqrt(norm);
    if (!(norm > 0)) break;
    const prev = est;
    est = rq;
    x = y.map((v) => v / norm);
    if (it > 3 && Math.abs(est - prev) <= 1e-6 * Math.abs(est)) break;
  }
  return Math.max(dmax, est);
}

function checkBlock(values: ArrayLike<number> | undefined, length: number, name: string): void {
  if (!values || values.length !== length) throw new InputError(`kernel blocks: ${name} has ${values?.length ?? 0} values, expected ${length}`);
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(values[i])) throw new InputError(`kernel blocks: ${name} has a non-finite value (${values[i]}) at flat index ${i}`);
  }
}

const fmt = (x: number): string => (x === 0 || !Number.isFinite(x) ? String(x) : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? String(+x.toPrecision(4)) : x.toExponential(2));
