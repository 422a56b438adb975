/**
 * Preconditioned conjugate gradients for (K + λI) α = Y with several right-hand sides, for training
 * sets too large for a dense float64 factorisation. The product K·P is supplied by the caller (on
 * WebGPU: an f32 kernel matrix kept on the device in row blocks, see gpu/matvec.ts); everything
 * else — the iterates, the residuals, every dot product and norm, the ridge term λP and the
 * preconditioner — is float64 on the host.
 *
 * Stopping rule (per right-hand side c): the recursively updated residual satisfies
 *   ‖r_c‖₂ ≤ tol · ‖y_c‖₂,
 * or `maxIterations` is reached. At the end the true residual ‖y_c − (K + λI) α_c‖₂ / ‖y_c‖₂ is
 * recomputed with one more product and reported; it is what the caller should trust, since an f32
 * product bounds how far the true residual can fall.
 *
 * Preconditioner: a rank-r pivoted Cholesky factor L of K (Harbrecht et al. 2012; the choice of
 * Gardner et al. 2018 for kernel matrices), applied as (LLᵀ + λI)⁻¹ by the Woodbury identity, when
 * λ > 0 and the rank captures K down to the ridge's scale (see choosePreconditioner); otherwise the
 * diagonal (Jacobi).
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Row-major n × k products: out = K · p (K without the ridge). */
export type MatMul = (p: Float64Array, k: number) => Promise<Float64Array>;

/**
 * What the preconditioner reads of K when K is not stored (the matrix-free solver): its diagonal
 * and single rows on demand (the pivoted Cholesky factor reads `rank` of them).
 */
export interface KernelRows {
  diag: Float64Array;
  row(i: number): ArrayLike<number> | Promise<ArrayLike<number>>;
}

export interface CgOptions {
  /** Relative residual tolerance of the stopping rule (default 1e-6). */
  tol?: number;
  /** Iteration cap (default min(n, 2000) + 10). */
  maxIterations?: number;
  /** Rank of the pivoted-Cholesky preconditioner (default min(n, 100)); 0 selects Jacobi. */
  rank?: number;
  /** Largest bound 1 + tr(K − LLᵀ)/λ at which the pivoted-Cholesky preconditioner is used (default PC_MAX_BOUND). */
  maxBound?: number;
}

export interface CgResult {
  /** Row-major n × k solution. */
  x: Float64Array;
  iterations: number;
  /** Whether every right-hand side met the stopping rule. */
  converged: boolean;
  /** max over right-hand sides of the true relative residual ‖y − (K + λI)x‖ / ‖y‖. */
  relativeResidual: number;
  tol: number;
  preconditioner: string;
  /**
   * Lanczos estimate (from the CG coefficients of the first right-hand side) of the condition
   * number of the preconditioned system, which is what governs the iteration count.
   */
  conditionEstimate: number;
}

export const CG_TOL = 1e-6;

/** Preconditioner: z = M⁻¹ r for an n × k block. */
type Precond = { apply(r: Float64Array, k: number): Float64Array; name: string };

function jacobi(diag: Float64Array, ridge: number): Precond {
  const inv = diag.map((d) => 1 / Math.max(d + ridge, Number.MIN_VALUE));
  return {
    name: 'Jacobi (diagonal)',
    apply(r, k) {
      const z = new Float64Array(r.length);
      for (let i = 0; i < inv.length; i++) for (let c = 0; c < k; c++) z[i * k + c] = r[i * k + c]! * inv[i]!;
      return z;
    },
  };
}

/**
 * Rank-r pivoted Cholesky of K (reads only r rows of it), as the preconditioner (LLᵀ + λI)⁻¹:
 *   (LLᵀ + λI)⁻¹ v = (v − L (λI + LᵀL)⁻¹ Lᵀ v) / λ.
 */
export async function pivotedCholesky(
  row: (i: number) => ArrayLike<number> | Promise<ArrayLike<number>>,
  diag: Float64Array,
  rank: number,
  ridge: number,
): Promise<Precond & { residualTrace: number }> {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const L: Float64Array[] = [];
  const trace = d.reduce((a, b) => a + b, 0);
  for (let k = 0; k < rank; k++) {
    let piv = 0;
    for (let i = 1; i < n; i++) if (d[i]! > d[piv]!) piv = i;
    // Stop when what is left is below the ridge's scale: further columns would not change M.
    if (!(d[piv]! > Math.max(1e-3 * ridge, 1e-14 * trace))) break;
    const s = Math.sqrt(d[piv]!);
    const kr = await row(piv);
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let v = kr[i]!;
      for (const l of L) v -= l[i]! * l[piv]!;
      col[i] = v / s;
    }
    for (let i = 0; i < n; i++) d[i] = Math.max(0, d[i]! - col[i]! * col[i]!);
    L.push(col);
  }
  const r = L.length;
  const C = new Matrix(r, r);
  for (let a = 0; a < r; a++) {
    for (let b = 0; b <= a; b++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += L[a]![i]! * L[b]![i]!;
      C.set(a, b, v + (a === b ? ridge : 0));
      C.set(b, a, v + (a === b ? ridge : 0));
    }
  }
  const chol = new CholeskyDecomposition(C);
  return {
    residualTrace: d.reduce((a, b) => a + b, 0),
    name: `pivoted Cholesky, rank ${r}`,
    apply(v, k) {
      const Ltv = new Matrix(r, k);
      for (let a = 0; a < r; a++) {
        const la = L[a]!;
        for (let c = 0; c < k; c++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += la[i]! * v[i * k + c]!;
          Ltv.set(a, c, s);
        }
      }
      const w = r > 0 ? chol.solve(Ltv) : Ltv;
      const z = new Float64Array(v.length);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) {
          let s = v[i * k + c]!;
          for (let a = 0; a < r; a++) s -= L[a]![i]! * w.get(a, c);
          z[i * k + c] = s / ridge;
        }
      }
      return z;
    },
  };
}

/**
 * Since K − LLᵀ is positive semi-definite, the eigenvalues of (LLᵀ + λI)⁻¹(K + λI) lie in
 * [1, 1 + tr(K − LLᵀ)/λ]. The low-rank preconditioner is used when that bound is at most
 * PC_MAX_BOUND; otherwise (a ridge far below what the low rank leaves out, where it would make
 * things worse) the diagonal.
 */
export const PC_MAX_BOUND = 1e4;

async function choosePreconditioner(row: KernelRows['row'], diag: Float64Array, rank: number, ridge: number, maxBound: number): Promise<Precond> {
  if (ridge > 0 && rank > 0) {
    const pc = await pivotedCholesky(row, diag, rank, ridge);
    if (1 + pc.residualTrace / ridge <= maxBound) return pc;
  }
  return jacobi(diag, ridge);
}

/**
 * Solve (K + λI) X = Y, Y row-major n × k. `K` is the row-major n × n matrix in float64 on the host,
 * or its diagonal and rows on demand (KernelRows); either is read for the diagonal and the
 * preconditioner's pivot rows only. `mul` gives K·P.
 */
export async function solveCg(
  n: number,
  k: number,
  Y: Float64Array,
  ridge: number,
  K: ArrayLike<number> | KernelRows,
  mul: MatMul,
  options: CgOptions = {},
): Promise<CgResult> {
  const tol = options.tol ?? CG_TOL;
  const maxIt = options.maxIterations ?? Math.min(n, 2000) + 10;
  const { diag, row } = isKernelRows(K) ? K : storedRows(K, n);
  const rank = options.rank ?? Math.min(n, 100);
  const M = await choosePreconditioner(row, diag, rank, ridge, options.maxBound ?? PC_MAX_BOUND);

  const Aop = async (p: Float64Array) => {
    const q = await mul(p, k);
    for (let i = 0; i < q.length; i++) q[i] = q[i]! + ridge * p[i]!;
    return q;
  };
  const dots = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[c] = out[c]! + a[i * k + c]! * b[i * k + c]!;
    return out;
  };

  const x = new Float64Array(n * k);
  const r = Float64Array.from(Y);
  const ynorm = dots(Y, Y).map(Math.sqrt);
  const active = Array.from(ynorm, (v) => v > 0);
  let z = M.apply(r, k);
  const p = Float64Array.from(z);
  let rz = dots(r, z);
  const alphas: number[] = [];
  const betas: number[] = [];
  let it = 0;
  const done = () => active.every((a) => !a);
  while (!done() && it < maxIt) {
    const q = await Aop(p);
    const pq = dots(p, q);
    it++;
    const alpha = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      // A breakdown (pᵀAp ≤ 0) can only come from a matrix that is not positive definite in the
      // precision of the product; stop that column rather than divide by it.
      if (active[c] && !(pq[c]! > 0)) active[c] = false;
      if (active[c]) alpha[c] = rz[c]! / pq[c]!;
    }
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        if (!active[c]) continue;
        x[i * k + c] = x[i * k + c]! + alpha[c]! * p[i * k + c]!;
        r[i * k + c] = r[i * k + c]! - alpha[c]! * q[i * k + c]!;
      }
    }
    const rr = dots(r, r);
    z = M.apply(r, k);
    const rzNew = dots(r, z);
    if (active[0]) alphas.push(alpha[0]!);
    for (let c = 0; c < k; c++) {
      if (!active[c]) continue;
      if (Math.sqrt(rr[c]!) <= tol * ynorm[c]!) {
        active[c] = false;
        continue;
      }
      const beta = rzNew[c]! / rz[c]!;
      if (c === 0) betas.push(beta);
      for (let i = 0; i < n; i++) p[i * k + c] = z[i * k + c]! + beta * p[i * k + c]!;
    }
    rz = rzNew;
  }
  const converged = done();
  // The true residual, with one more product.
  const ax = await Aop(x);
  let rel = 0;
  for (let c = 0; c < k; c++) {
    if (!(ynorm[c]! > 0)) continue;
    let s = 0;
    for (let i = 0; i < n; i++) s += (Y[i * k + c]! - ax[i * k + c]!) ** 2;
    rel = Math.max(rel, Math.sqrt(s) / ynorm[c]!);
  }
  return { x, iterations: it, converged, relativeResidual: rel, tol, preconditioner: M.name, conditionEstimate: lanczosCondition(alphas, betas) };
}

function isKernelRows(K: ArrayLike<number> | KernelRows): K is KernelRows {
  return typeof (K as KernelRows).row === 'function';
}

/** Diagonal and rows of a stored K (rows as views where K is a typed array: no copies of K on the host). */
function storedRows(K: ArrayLike<number>, n: number): KernelRows {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = K[i * n + i]!;
  const row = (i: number): ArrayLike<number> =>
    ArrayBuffer.isView(K) ? (K as Float64Array).subarray(i * n, (i + 1) * n) : Array.prototype.slice.call(K, i * n, (i + 1) * n);
  return { diag, row };
}

/** Condition number of the Lanczos tridiagonal built from CG's α and β (1 when too short). */
function lanczosCondition(alphas: number[], betas: number[]): number {
  const m = alphas.length;
  if (m < 2) return 1;
  const T = new Matrix(m, m);
  for (let j = 0; j < m; j++) {
    T.set(j, j, 1 / alphas[j]! + (j > 0 ? betas[j - 1]! / alphas[j - 1]! : 0));
    if (j + 1 < m && j < betas.length) {
      const off = Math.sqrt(Math.max(0, betas[j]!)) / alphas[j]!;
      T.set(j, j + 1, off);
      T.set(j + 1, j, off);
    }
  }
  const ev = new EigenvalueDecomposition(T, { assumeSymmetric: true }).realEigenvalues;
  const lo = Math.min(...ev);
  const hi = Math.max(...ev);
  return lo > 0 ? hi / lo : Infinity;
}
