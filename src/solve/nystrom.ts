/**
 * Nyström kernel ridge regression solved as Falkon does (Rudi, Carratino, Rosasco, "FALKON: An
 * Optimal Large Scale Kernel Method", NeurIPS 2017, Alg. 1), float64 on the host.
 *
 * With M landmarks, the estimator f(x) = K_xM·α minimises ‖K_nM α − y‖² + λ·αᵀK_MM α, i.e.
 *     H α = K_nMᵀ y,   H = K_nMᵀ K_nM + λ K_MM.
 * With M = n landmarks (all the training inputs) this is exact kernel ridge regression with
 * (K + λI)⁻¹ y. H is never formed: each CG step passes once over the stored rows of K_nM.
 * Preconditioner: K_nMᵀK_nM ≈ (n/M)·K_MM² for landmarks drawn from the data, so with
 * K_MM = TᵀT and AᵀA = T·Tᵀ/M + (λ/n)·I, B = T⁻¹A⁻¹ makes BᵀHB ≈ n·I; CG runs on BᵀHB β = BᵀK_nMᵀy
 * and α = Bβ.
 */
import { choleskyLower, lowerGram, solveLower, solveLowerT } from './dense-cholesky.js';

export interface NystromSystem {
  /** Training inputs n and landmarks M. */
  n: number;
  M: number;
  /** K_nM, row-major n × M (f32 when the kernel came from WebGPU, else f64). */
  knm: Float32Array | Float64Array;
  /** K_MM, row-major M × M. */
  kmm: ArrayLike<number>;
  /** Targets, row-major n × k. */
  y: Float64Array;
  k: number;
  /** λ ≥ 0 (the ridge of the exact problem it reduces to at M = n). */
  ridge: number;
}

export interface NystromOptions {
  /** Stop when every column's preconditioned residual is below tol × its initial one (default 1e-7). */
  tol?: number;
  /** Iteration cap (default 200). */
  maxIterations?: number;
}

export interface NystromSolution {
  /** α, row-major M × k. */
  alpha: Float64Array;
  iterations: number;
  converged: boolean;
  /** max over columns of ‖BᵀHBβ − Bᵀb‖/‖Bᵀb‖ at the end (the preconditioned residual CG tracks). */
  relativeResidual: number;
  /** Jitter added to K_MM's diagonal for its Cholesky factor (0 when none was needed). */
  jitter: number;
  /** Condition number of K_MM (+ jitter) from its Cholesky diagonal, (max T_ii/min T_ii)²: a lower bound. */
  landmarkCondition: number;
}

/** L (S = L·Lᵀ) of a symmetric M × M matrix, with the smallest jitter that makes it succeed. */
function cholesky(S: ArrayLike<number>, M: number, scale: number): { L: Float64Array; jitter: number } {
  let jitter = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    const L = choleskyLower(S, M, jitter);
    if (L) return { L, jitter };
    jitter = jitter === 0 ? Math.max(scale, Number.MIN_VALUE) * 1e-12 : jitter * 10;
  }
  throw new Error('internal error: the landmark kernel K_MM stayed indefinite with a jitter of 1e-1 of its scale');
}

/** K_nMᵀ(K_nM v) for v M × k row-major: one pass over the rows of K_nM. */
export function normalProduct(knm: Float32Array | Float64Array, n: number, M: number, v: Float64Array, k: number): Float64Array {
  const out = new Float64Array(M * k);
  const s = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const row = i * M;
    s.fill(0);
    for (let j = 0; j < M; j++) {
      const a = knm[row + j]!;
      for (let c = 0; c < k; c++) s[c] = s[c]! + a * v[j * k + c]!;
    }
    for (let j = 0; j < M; j++) {
      const a = knm[row + j]!;
      for (let c = 0; c < k; c++) out[j * k + c] = out[j * k + c]! + a * s[c]!;
    }
  }
  return out;
}

/** K_nMᵀ y (M × k). */
function transposeTimes(knm: Float32Array | Float64Array, n: number, M: number, y: Float64Array, k: number): Float64Array {
  const out = new Float64Array(M * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < M; j++) {
      const a = knm[i * M + j]!;
      for (let c = 0; c < k; c++) out[j * k + c] = out[j * k + c]! + a * y[i * k + c]!;
    }
  }
  return out;
}

/** Row-major product of the M × M S with the M × k x. */
function squareTimes(S: ArrayLike<number>, M: number, x: Float64Array, k: number): Float64Array {
  const out = new Float64Array(M * k);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < M; j++) {
      const a = S[i * M + j]!;
      if (a === 0) continue;
      for (let c = 0; c < k; c++) out[i * k + c] = out[i * k + c]! + a * x[j * k + c]!;
    }
  }
  return out;
}

/** Falkon's preconditioned conjugate gradients on the Nyström system; every column of y at once. */
export function solveNystrom(sys: NystromSystem, opt: NystromOptions = {}): NystromSolution {
  const { n, M, knm, kmm, y, k, ridge } = sys;
  const tol = opt.tol ?? 1e-7;
  const maxIt = opt.maxIterations ?? 200;
  let dmax = 0;
  for (let i = 0; i < M; i++) dmax = Math.max(dmax, kmm[i * M + i]!);
  // K_MM = TᵀT with T = Lᵀ (upper).
  const { L: LT, jitter } = cholesky(kmm, M, dmax);
  // A: AᵀA = T·Tᵀ/M + (λ/n)·I (Falkon's λ is per sample), A = L_Aᵀ; T·Tᵀ = LᵀL.
  const TTt = lowerGram(LT, M);
  for (let i = 0; i < M * M; i++) TTt[i] = TTt[i]! / M;
  for (let i = 0; i < M; i++) TTt[i * M + i] = TTt[i * M + i]! + ridge / n;
  const { L: LA } = cholesky(TTt, M, dmax / M);
  // B = T⁻¹A⁻¹ = L_T⁻ᵀ L_A⁻ᵀ, Bᵀ = L_A⁻¹ L_T⁻¹.
  const applyB = (x: Float64Array) => {
    const v = x.slice();
    solveLowerT(LA, M, v, k);
    solveLowerT(LT, M, v, k);
    return v;
  };
  const applyBt = (x: Float64Array) => {
    const v = x.slice();
    solveLower(LT, M, v, k);
    solveLower(LA, M, v, k);
    return v;
  };
  const op = (beta: Float64Array) => {
    const v = applyB(beta);
    const h = normalProduct(knm, n, M, v, k);
    if (ridge > 0) {
      const r = squareTimes(kmm, M, v, k);
      for (let i = 0; i < h.length; i++) h[i] = h[i]! + ridge * r[i]!;
    }
    return applyBt(h);
  };
  const b = applyBt(transposeTimes(knm, n, M, y, k));
  // CG per column, the products batched over the columns.
  const beta = new Float64Array(M * k);
  const r = b.slice();
  const p = b.slice();
  const rr = colDots(r, r, M, k);
  const r0 = Array.from(rr, Math.sqrt);
  const done = r0.map((v) => !(v > 0));
  let it = 0;
  const res = () => Math.max(0, ...Array.from(rr, (v, c) => (r0[c]! > 0 ? Math.sqrt(v) / r0[c]! : 0)));
  while (it < maxIt && done.some((d) => !d)) {
    const q = op(p);
    const pq = colDots(p, q, M, k);
    for (let c = 0; c < k; c++) {
      if (done[c] || !(pq[c]! > 0)) {
        done[c] = true;
        continue;
      }
      const a = rr[c]! / pq[c]!;
      for (let i = 0; i < M; i++) {
        beta[i * k + c] = beta[i * k + c]! + a * p[i * k + c]!;
        r[i * k + c] = r[i * k + c]! - (a * q[i * k + c]!);
      }
    }
    const rr2 = colDots(r, r, M, k);
    for (let c = 0; c < k; c++) {
      if (done[c]) continue;
      const g = rr2[c]! / rr[c]!;
      for (let i = 0; i < M; i++) p[i * k + c] = r[i * k + c]! + g * p[i * k + c]!;
      rr[c] = rr2[c]!;
      if (Math.sqrt(rr2[c]!) <= tol * r0[c]!) done[c] = true;
    }
    it++;
  }
  const alpha = applyB(beta);
  let tmin = Infinity;
  let tmax = 0;
  for (let i = 0; i < M; i++) {
    tmin = Math.min(tmin, LT[i * M + i]!);
    tmax = Math.max(tmax, LT[i * M + i]!);
  }
  return {
    alpha,
    iterations: it,
    converged: rr.every((v, c) => !(r0[c]! > 0) || Math.sqrt(v) <= tol * r0[c]!),
    relativeResidual: res(),
    jitter,
    landmarkCondition: tmin > 0 ? (tmax / tmin) ** 2 : Infinity,
  };
}

function colDots(a: Float64Array, b: Float64Array, M: number, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let i = 0; i < M; i++) for (let c = 0; c < k; c++) out[c] = out[c]! + a[i * k + c]! * b[i * k + c]!;
  return out;
}
