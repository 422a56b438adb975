/**
 * The k largest eigenvalues of a symmetric operator given by its (block) products: Lanczos with full
 * reorthogonalisation, float64 host vectors. A solver: analysis/spectrum.ts applies it to Gram
 * matrices on the CPU or on WebGPU.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InputError } from '../errors.js';
import { Rng } from '../mc/rng.js';

/** Row-major products out = K·P for P of n × k (as in solve/cg.ts). */
export type MatMul = (p: Float64Array, k: number) => Promise<Float64Array>;

export interface LanczosOptions {
  /** How many of the largest eigenvalues (default 6). */
  k?: number;
  /** Stop when every wanted Ritz residual bound ≤ tol·|θ₁| (default 1e-10). */
  tol?: number;
  /** Lanczos steps at most (default min(n, max(20k, 100))). */
  maxIterations?: number;
  /** Seed of the random start vector (default 1). */
  seed?: number;
}

export interface LanczosResult {
  /** The k largest Ritz values, descending. */
  eigenvalues: Float64Array;
  /**
   * Ritz residual bounds |β_m·s_{m,i}| of the Lanczos relation: in exact arithmetic the distance
   * from each Ritz value to an eigenvalue of the operator is at most this.
   */
  residualBounds: Float64Array;
  /**
   * ‖K·y_i − θ_i·y_i‖ for the unit Ritz vectors, recomputed with one more (block) product: an
   * eigenvalue of the product's operator lies within it of θ_i (symmetric case).
   */
  residuals: Float64Array;
  iterations: number;
  converged: boolean;
  tol: number;
}

/** Lanczos with full reorthogonalisation (two Gram–Schmidt passes per step) on a symmetric operator. */
export async function lanczos(n: number, mul: MatMul, options: LanczosOptions = {}): Promise<LanczosResult> {
  const k = options.k ?? 6;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`lanczos: n must be a positive integer, got ${String(n)}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InputError(`lanczos: k must be an integer in [1, n = ${n}], got ${String(k)}`);
  const tol = options.tol ?? 1e-10;
  if (!(tol > 0)) throw new InputError(`lanczos: tol must be > 0, got ${String(tol)}`);
  const maxIt = options.maxIterations ?? Math.min(n, Math.max(20 * k, 100));
  if (!Number.isInteger(maxIt) || maxIt < k) throw new InputError(`lanczos: maxIterations must be an integer ≥ k = ${k}, got ${String(maxIt)}`);
  const steps = Math.min(maxIt, n);
  const rng = new Rng(options.seed ?? 1);
  const V: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = []; // beta[j] couples q_j and q_{j+1}
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
    return s;
  };
  const orthogonalize = (w: Float64Array) => {
    for (let pass = 0; pass < 2; pass++) {
      for (const q of V) {
        const c = dot(q, w);
        for (let i = 0; i < n; i++) w[i] = w[i]! - c * q[i]!;
      }
    }
  };
  /** A random unit vector orthogonal to V (null if V spans everything). */
  const fresh = (): Float64Array | null => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const w = new Float64Array(n);
      rng.fillNormal(w);
      orthogonalize(w);
      const nw = Math.sqrt(dot(w, w));
      if (nw > 1e-8) return w.map((v) => v / nw);
    }
    return null;
  };
  let q: Float64Array | null = fresh()!;
  let ritz: { theta: Float64Array; s: Matrix; order: number[] } | null = null;
  let converged = false;
  let normEst = 0;
  let bounds = new Float64Array(k);
  const solveT = () => {
    const m = alpha.length;
    const T = new Matrix(m, m);
    for (let i = 0; i < m; i++) {
      T.set(i, i, alpha[i]!);
      if (i + 1 < m) {
        T.set(i, i + 1, beta[i]!);
        T.set(i + 1, i, beta[i]!);
      }
    }
    const eig = new EigenvalueDecomposition(T, { assumeSymmetric: true });
    const theta = Float64Array.from(eig.realEigenvalues);
    const order = Array.from(theta.keys()).sort((a, b) => theta[b]! - theta[a]!);
    return { theta, s: eig.eigenvectorMatrix, order };
  };
  while (q && alpha.length < steps) {
    V.push(q);
    const j = V.length - 1;
    const w = await mul(q, 1);
    const a = dot(q, w);
    alpha.push(a);
    orthogonalize(w); // removes the α q_j and β q_{j−1} terms too (full reorthogonalisation)
    const b = Math.sqrt(dot(w, w));
    normEst = Math.max(normEst, Math.abs(a) + b + (j > 0 ? beta[j - 1]! : 0));
    const m = alpha.length;
    // Invariant subspace (β ≈ 0): restart with a fresh direction; T gets a zero coupling.
    const breakdown = b <= 1e-13 * normEst;
    beta.push(breakdown ? 0 : b);
    // No convergence test at a breakdown: the restart may still find further copies of a repeated eigenvalue.
    if (m >= k && !breakdown && (m % 5 === 0 || m === steps)) {
      ritz = solveT();
      const bm = beta[m - 1]!;
      bounds = Float64Array.from(ritz.order.slice(0, k), (c) => Math.abs(bm * ritz!.s.get(m - 1, c)));
      const scale = Math.abs(ritz.theta[ritz.order[0]!]!);
      if (bounds.every((x) => x <= tol * scale)) {
        converged = true;
        break;
      }
    }
    q = breakdown ? fresh() : w.map((v) => v / b);
  }
  const m = alpha.length;
  if (m < k) throw new Error(`lanczos: only ${m} Lanczos vectors for k = ${k}`);
  if (!ritz || ritz.theta.length !== m) {
    ritz = solveT();
    bounds = Float64Array.from(ritz.order.slice(0, k), (c) => Math.abs(beta[m - 1]! * ritz!.s.get(m - 1, c)));
    const scale = Math.abs(ritz.theta[ritz.order[0]!]!);
    converged = bounds.every((x) => x <= tol * scale);
  }
  if (m === n) converged = true; // the Krylov space is the whole space: T is similar to K
  const top = ritz.order.slice(0, k);
  const eigenvalues = Float64Array.from(top, (c) => ritz!.theta[c]!);
  // Ritz vectors y_c = V s_c (n × k row-major) and their true residuals with one block product.
  const Y = new Float64Array(n * k);
  top.forEach((c, col) => {
    for (let t = 0; t < m; t++) {
      const st = ritz!.s.get(t, c);
      const qt = V[t]!;
      for (let i = 0; i < n; i++) Y[i * k + col] = Y[i * k + col]! + st * qt[i]!;
    }
  });
  const KY = await mul(Y, k);
  const residuals = new Float64Array(k);
  for (let col = 0; col < k; col++) {
    let r2 = 0;
    let y2 = 0;
    for (let i = 0; i < n; i++) {
      const r = KY[i * k + col]! - eigenvalues[col]! * Y[i * k + col]!;
      r2 += r * r;
      y2 += Y[i * k + col]! ** 2;
    }
    residuals[col] = Math.sqrt(r2 / y2);
  }
  return { eigenvalues, residualBounds: bounds, residuals, iterations: m, converged, tol };
}
