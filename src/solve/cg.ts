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
 * Preconditioner: a rank-r pivoted Cholesky factor F of K (Harbrecht et al. 2012; the choice of
 * Gardner et al. 2018 for kernel matrices; the one implementation is solve/pivoted-cholesky.ts,
 * shared with the Nyström landmarks), applied as (FFᵀ + λI)⁻¹ by the Woodbury identity, when
 * λ > 0 and the rank captures K down to the ridge's scale (see choosePreconditioner); otherwise the
 * diagonal (Jacobi).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { choleskyLower, solveLower, solveLowerT } from './dense-cholesky.js';
import { pivotedCholesky } from './pivoted-cholesky.js';
import { InputError } from '../errors.js';

/** Row-major n × k products: out = K · p (K without the ridge). */
export type MatMul = (p: Float64Array, k: number) => Promise<Float64Array>;

/**
 * What the preconditioner reads of K when K is not stored (or, for a stored K, views of it) (the matrix-free solver): its diagonal
 * and blocks of columns on demand, K[:, idx] as a row-major n × idx.length array (the pivoted
 * Cholesky factor reads `rank` columns).
 */
export interface KernelRows {
  diag: Float64Array;
  columns(idx: number[]): ArrayLike<number> | Promise<ArrayLike<number>>;
}

export interface CgOptions {
  /** Relative residual tolerance of the stopping rule (default 1e-6). */
  tol?: number;
  /** Iteration cap (default min(n, 2000) + 10). */
  maxIterations?: number;
  /** Rank of the pivoted-Cholesky preconditioner (default min(n, 100)); 0 selects Jacobi. */
  rank?: number;
  /** Largest bound 1 + tr(K − FFᵀ)/λ at which the pivoted-Cholesky preconditioner is used (default PC_MAX_BOUND). */
  maxBound?: number;
  /**
   * Go on from this state (saved by `onIteration` from a run of the same system) instead of x = 0.
   * The preconditioner is rebuilt (it is a deterministic function of K, the rank and λ) and must
   * come out the same; n, k and λ must match. With the same products the iterates then continue
   * bit for bit as if the run had not stopped.
   */
  resume?: CgState;
  /** Called after every iteration (and before the first) with the state, e.g. to save a checkpoint. */
  onIteration?: (state: CgState) => void | Promise<void>;
}

/**
 * Everything CG carries from one iteration to the next: the iterate x, the residual r, the search
 * direction p (row-major n × k each), rᵀz per column, which columns still iterate, and the α/β
 * history (the Lanczos condition estimate). The arrays are CG's own: copy them to keep them.
 */
export interface CgState {
  n: number;
  k: number;
  ridge: number;
  /** The preconditioner's name (its kind and rank), which a resumed run must rebuild identically. */
  preconditioner: string;
  iteration: number;
  x: Float64Array;
  r: Float64Array;
  p: Float64Array;
  rz: Float64Array;
  active: boolean[];
  alphas: number[];
  betas: number[];
  /** ‖r_c‖ / ‖y_c‖ per column (the recursively updated residual of the stopping rule). */
  residuals: Float64Array;
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
  /** Wall seconds spent building the preconditioner (its pivot columns of K included). */
  preconditionerSeconds: number;
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
 * Rank-r pivoted Cholesky of K (solve/pivoted-cholesky.ts, greedy: reads diag K and r columns of
 * K, a block of columns per call), as the preconditioner (FFᵀ + λI)⁻¹ by the Woodbury identity:
 *   (FFᵀ + λI)⁻¹ v = (v − F (λI + FᵀF)⁻¹ Fᵀ v) / λ.
 * Pivots stop once the largest residual is below the ridge's scale (further columns would not
 * change M). Cost: the r columns, n·r²/2 for FᵀF, r³/6 for its Cholesky, and 2·n·r·k per apply.
 */
export async function lowRankPreconditioner(
  columns: KernelRows['columns'],
  diag: Float64Array,
  rank: number,
  ridge: number,
): Promise<Precond & { residualTrace: number }> {
  const n = diag.length;
  const trace = diag.reduce((a, b) => a + Math.max(b, 0), 0);
  const pc = await pivotedCholesky(diag, async (idx) => columns(idx), {
    rule: 'greedy',
    M: rank,
    minPivot: Math.max(1e-3 * ridge, 1e-14 * trace),
    block: PRECOND_BLOCK,
  });
  const F = pc.factor;
  const M = pc.stride;
  const r = pc.pivots.length;
  // C = FᵀF + λI (r × r, row-major; lower triangle, then mirrored), over chunks of CHUNK rows of
  // F copied transposed, so that each entry is a contiguous dot product and C is swept once per
  // chunk rather than once per row.
  const C = new Float64Array(r * r);
  const CHUNK = 64;
  const Tc = new Float64Array(r * CHUNK);
  for (let i0 = 0; i0 < n; i0 += CHUNK) {
    const h = Math.min(CHUNK, n - i0);
    for (let t = 0; t < h; t++) for (let a = 0; a < r; a++) Tc[a * CHUNK + t] = F[(i0 + t) * M + a]!;
    for (let a = 0; a < r; a++) {
      const ta = a * CHUNK;
      const ra = a * r;
      for (let b = 0; b <= a; b++) {
        const tb = b * CHUNK;
        let v = 0;
        for (let t = 0; t < h; t++) v += Tc[ta + t]! * Tc[tb + t]!;
        C[ra + b] = C[ra + b]! + v;
      }
    }
  }
  for (let a = 0; a < r; a++) {
    C[a * r + a] = C[a * r + a]! + ridge;
    for (let b = 0; b < a; b++) C[b * r + a] = C[a * r + b]!;
  }
  const L = choleskyLower(C, r);
  if (!L) throw new Error('internal error: FᵀF + λI is not positive definite in float64');
  return {
    residualTrace: pc.residualTrace,
    name: `pivoted Cholesky, rank ${r}`,
    apply(v, k) {
      // w = (FᵀF + λI)⁻¹ Fᵀ v, then z = (v − F w) / λ.
      const w = new Float64Array(r * k);
      for (let i = 0; i < n; i++) {
        const fi = i * M;
        const vi = i * k;
        for (let a = 0; a < r; a++) {
          const f = F[fi + a]!;
          if (f === 0) continue;
          for (let c = 0; c < k; c++) w[a * k + c] = w[a * k + c]! + f * v[vi + c]!;
        }
      }
      solveLower(L, r, w, k);
      solveLowerT(L, r, w, k);
      const z = new Float64Array(v.length);
      const acc = new Float64Array(k);
      for (let i = 0; i < n; i++) {
        const fi = i * M;
        acc.fill(0);
        for (let a = 0; a < r; a++) {
          const f = F[fi + a]!;
          if (f === 0) continue;
          for (let c = 0; c < k; c++) acc[c] = acc[c]! + f * w[a * k + c]!;
        }
        for (let c = 0; c < k; c++) z[i * k + c] = (v[i * k + c]! - acc[c]!) / ridge;
      }
      return z;
    },
  };
}

/** Kernel columns per call while the preconditioner picks its pivots. */
export const PRECOND_BLOCK = 64;

/**
 * Since K − FFᵀ is positive semi-definite, the eigenvalues of (FFᵀ + λI)⁻¹(K + λI) lie in
 * [1, 1 + tr(K − FFᵀ)/λ]. The low-rank preconditioner is used when that bound is at most
 * PC_MAX_BOUND; otherwise (a ridge far below what the low rank leaves out, where it would make
 * things worse) the diagonal.
 */
export const PC_MAX_BOUND = 1e4;

async function choosePreconditioner(columns: KernelRows['columns'], diag: Float64Array, rank: number, ridge: number, maxBound: number): Promise<Precond> {
  if (ridge > 0 && rank > 0) {
    const pc = await lowRankPreconditioner(columns, diag, rank, ridge);
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
  const { diag, columns } = isKernelRows(K) ? K : storedRows(K, n);
  const rank = options.rank ?? Math.min(n, 100);
  const res = options.resume;
  const dots = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) out[c] = out[c]! + a[i * k + c]! * b[i * k + c]!;
    return out;
  };
  const ynorm = dots(Y, Y).map(Math.sqrt);
  // A column meets the stopping rule.
  const meets = (rr: Float64Array, c: number) => Math.sqrt(rr[c]!) <= tol * ynorm[c]!;
  let resumedActive: boolean[] | null = null;
  if (res) {
    // Sizes and ridge are checked before the preconditioner is built (minutes at n = 60 000).
    checkResume(res, n, k, ridge);
    // The columns that meet this run's rule stop (a looser --cg-tol than the saving run's ends the
    // solve here); columns the saving run stopped stay stopped (a tighter one cannot restart them,
    // and `converged` then says so).
    const rr = dots(res.r, res.r);
    resumedActive = res.active.map((a, c) => a && !meets(rr, c));
  }
  // A resumed state with no iteration left (finished, or at the cap) needs no preconditioner: only
  // its iterate is used (at n = 60 000 and rank 1000, minutes of pivot columns and n·r² host work).
  const idle = res !== undefined && (res.iteration >= maxIt || resumedActive!.every((a) => !a));
  const unused = () => {
    throw new Error('internal error: the preconditioner of a finished CG state was applied');
  };
  const tPre = performance.now();
  const M: Precond = idle
    ? { name: res.preconditioner, apply: unused }
    : await choosePreconditioner(columns, diag, rank, ridge, options.maxBound ?? PC_MAX_BOUND);

  const preconditionerSeconds = (performance.now() - tPre) / 1000;
  const Aop = async (p: Float64Array) => {
    const q = await mul(p, k);
    for (let i = 0; i < q.length; i++) q[i] = q[i]! + ridge * p[i]!;
    return q;
  };

  let x: Float64Array;
  let r: Float64Array;
  let p: Float64Array;
  let rz: Float64Array;
  let active: boolean[];
  let alphas: number[];
  let betas: number[];
  let it: number;
  if (res) {
    if (res.preconditioner !== M.name) throw new InputError(`${RESUME_MISMATCH} belongs to another system (preconditioner "${res.preconditioner}", this run "${M.name}")`);
    // Copies: the caller's state stays as saved (it may be resumed again, e.g. for another test set).
    x = res.x.slice();
    r = res.r.slice();
    p = res.p.slice();
    rz = res.rz.slice();
    alphas = [...res.alphas];
    betas = [...res.betas];
    it = res.iteration;
    active = resumedActive!;
  } else {
    x = new Float64Array(n * k);
    r = Float64Array.from(Y);
    active = Array.from(ynorm, (v) => v > 0);
    const z0 = M.apply(r, k);
    p = Float64Array.from(z0);
    rz = dots(r, z0);
    alphas = [];
    betas = [];
    it = 0;
  }
  const residuals = new Float64Array(k);
  const report = async () => {
    if (!options.onIteration) return;
    const rr = dots(r, r);
    for (let c = 0; c < k; c++) residuals[c] = ynorm[c]! > 0 ? Math.sqrt(rr[c]!) / ynorm[c]! : 0;
    await options.onIteration({ n, k, ridge, preconditioner: M.name, iteration: it, x, r, p, rz, active, alphas, betas, residuals });
  };
  if (!res) await report();
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
    const z = M.apply(r, k);
    const rzNew = dots(r, z);
    if (active[0]) alphas.push(alpha[0]!);
    for (let c = 0; c < k; c++) {
      if (!active[c]) continue;
      if (meets(rr, c)) {
        active[c] = false;
        continue;
      }
      const beta = rzNew[c]! / rz[c]!;
      if (c === 0) betas.push(beta);
      for (let i = 0; i < n; i++) p[i * k + c] = z[i * k + c]! + beta * p[i * k + c]!;
    }
    rz = rzNew;
    await report();
  }
  // Every column with a non-zero right-hand side meets the rule (a column stopped by a breakdown, or
  // by a looser tolerance before a resume, does not).
  const rrEnd = dots(r, r);
  const converged = active.every((a) => !a) && ynorm.every((v, c) => !(v > 0) || meets(rrEnd, c));
  // The true residual, with one more product.
  const ax = await Aop(x);
  let rel = 0;
  for (let c = 0; c < k; c++) {
    if (!(ynorm[c]! > 0)) continue;
    let s = 0;
    for (let i = 0; i < n; i++) s += (Y[i * k + c]! - ax[i * k + c]!) ** 2;
    rel = Math.max(rel, Math.sqrt(s) / ynorm[c]!);
  }
  return { x, iterations: it, converged, relativeResidual: rel, tol, preconditioner: M.name, preconditionerSeconds, conditionEstimate: lanczosCondition(alphas, betas) };
}

/** How every refusal of a resumed state begins (the CLI names its checkpoint file in its place). */
export const RESUME_MISMATCH = 'the CG state to resume';

/** A resumed state must belong to this system: same sizes and ridge (the rebuilt preconditioner is checked once built). */
function checkResume(s: CgState, n: number, k: number, ridge: number): void {
  const diff = s.n !== n || s.k !== k ? `${s.n} × ${s.k} right-hand sides, this run ${n} × ${k}` : s.ridge !== ridge ? `ridge ${s.ridge}, this run ${ridge}` : null;
  if (diff !== null) throw new InputError(`${RESUME_MISMATCH} belongs to another system (${diff})`);
  for (const [name, a] of [['x', s.x], ['r', s.r], ['p', s.p]] as const) {
    if (a.length !== n * k) throw new InputError(`${RESUME_MISMATCH} has ${a.length} values of ${name}, expected ${n * k}`);
  }
  if (s.rz.length !== k || s.active.length !== k) throw new InputError(`${RESUME_MISMATCH} has ${s.rz.length} columns, expected ${k}`);
}

function isKernelRows(K: ArrayLike<number> | KernelRows): K is KernelRows {
  return typeof (K as KernelRows).columns === 'function';
}

/** Diagonal and columns of a stored K (a column block is copied out: r·n values in all). */
function storedRows(K: ArrayLike<number>, n: number): KernelRows {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = K[i * n + i]!;
  const columns = (idx: number[]): Float64Array => {
    const w = idx.length;
    const out = new Float64Array(n * w);
    for (let r = 0; r < n; r++) for (let c = 0; c < w; c++) out[r * w + c] = K[r * n + idx[c]!]!;
    return out;
  };
  return { diag, columns };
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
