/**
 * Ridge solves (A + λI)⁻¹ Y for many λ from one symmetric eigendecomposition A = V diag(μ) Vᵀ
 * (float64): α(λ) = V diag(1/(μ + λ)) Vᵀ Y.
 *
 * V is never formed. A is reduced to tridiagonal form T = Qᵀ A Q by Householder reflections
 * (Q = H₀ H₁ … H_{n−3}, each kept as its vector), and T = W diag(μ) Wᵀ by the implicit QL
 * iteration with shifts (EISPACK tql2), whose plane rotations (W = G₁ G₂ … G_R) are recorded
 * instead of accumulated into an n × n matrix. Then
 *
 *   z = Vᵀ Y = Wᵀ (Qᵀ Y)       once: the reflections, then the rotations as they are made;
 *   α(λ) = Q W diag(g_λ) z     per λ (all λ together): the rotations in reverse, then the reflections.
 *
 * Cost: (4/3)n³ flops for the reduction — in one pass over the lower triangle per column (the
 * rank-2 update of one step fused with the matrix–vector product of the next) — plus O(n²·k) per
 * λ for k right-hand sides, against ≈ 9n³ for a decomposition that forms V. Memory: the n × n
 * working matrix and ≈ n² recorded rotations (20 bytes each).
 *
 * The inverse follows `predictFromKernels` (predict.ts): exact when the condition number
 * (μ_max + λ)/(μ_min + λ) is at most COND_SINGULAR, otherwise with the eigenvalues of A + λI
 * floored at (μ_max + λ)·EIGEN_FLOOR (0 when no eigenvalue is positive).
 */

import { tql } from './tql.js';

/** Above this condition number A + λI is treated as numerically singular (as in predict.ts). */
const COND_SINGULAR = 1e14;
/** Floor of the eigenvalues of A + λI, relative to the largest, for a singular system (as in predict.ts). */
const EIGEN_FLOOR = 1e-10;

export interface RidgeSolve {
  /** (A + λI)⁻¹ Y, n × k row-major (eigenvalues floored when the system is numerically singular). */
  alpha: Float64Array;
  /** (μ_max + λ)/(μ_min + λ); Infinity when μ_min + λ ≤ 0. */
  conditionNumber: number;
  /** How many eigenvalues were floored (0 unless the condition number exceeds COND_SINGULAR). */
  floored: number;
}

export class RidgeEigen {
  private constructor(
    readonly n: number,
    readonly k: number,
    /** Eigenvalues of A (in the QL iteration's order, not sorted). */
    readonly eigenvalues: Float64Array,
    /** Vᵀ Y, n × k. */
    private readonly z: Float64Array,
    /** The reflections: vector of H_j in column j of `house` below the diagonal (row-major n × n), and τ_j. */
    private readonly house: Float64Array,
    private readonly tau: Float64Array,
    /** The rotations G₁ … G_R: index i (mixes i and i+1), cosine, sine. */
    private readonly rotI: Int32Array,
    private readonly rotC: Float64Array,
    private readonly rotS: Float64Array,
    private readonly rotations: number,
  ) {}

  /**
   * Decomposes the symmetric n × n row-major `A` (only its lower triangle is read) and projects the
   * n × k row-major `Y`. `A` is not modified.
   */
  static decompose(A: ArrayLike<number>, n: number, Y: ArrayLike<number>, k: number): RidgeEigen {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`RidgeEigen: n must be a positive integer, got ${n}`);
    if (A.length < n * n) throw new RangeError(`RidgeEigen: A has ${A.length} entries, expected ${n * n}`);
    if (Y.length !== n * k) throw new RangeError(`RidgeEigen: Y has ${Y.length} entries, expected ${n} × ${k}`);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = A[i * n + j]!;
    const d = new Float64Array(n);
    const e = new Float64Array(n);
    const tau = new Float64Array(n);
    tridiagonalize(a, n, d, e, tau);
    const z = Float64Array.from(Y);
    applyReflections(a, tau, n, z, k, false);
    const rot = tqlRecorded(d, e, z, k);
    return new RidgeEigen(n, k, d, z, a, tau, rot.i, rot.c, rot.s, rot.count);
  }

  /** (A + λI)⁻¹ Y for each λ (all λ share one pass of the rotations and the reflections). */
  solve(lambdas: readonly number[]): RidgeSolve[] {
    const { n, k } = this;
    const L = lambdas.length;
    const w = k * L; // row length of the stacked right-hand sides
    const X = new Float64Array(n * w);
    let mumax = -Infinity;
    let mumin = Infinity;
    for (const v of this.eigenvalues) {
      if (v > mumax) mumax = v;
      if (v < mumin) mumin = v;
    }
    const info = lambdas.map((lambda, l) => {
      const top = mumax + lambda;
      const low = mumin + lambda;
      const cond = low > 0 ? top / low : Infinity;
      const exact = cond <= COND_SINGULAR;
      const floor = top > 0 ? top * EIGEN_FLOOR : 0;
      let floored = 0;
      for (let j = 0; j < n; j++) {
        let m = this.eigenvalues[j]! + lambda;
        if (!exact && m < floor) {
          m = floor;
          floored++;
        }
        const g = m > 0 ? 1 / m : 0;
        const src = j * k;
        const dst = j * w + l * k;
        for (let c = 0; c < k; c++) X[dst + c] = g * this.z[src + c]!;
      }
      return { conditionNumber: cond, floored };
    });
    // W x: the rotations in reverse order; G_r acts on rows i, i+1 as [c s; −s c].
    const { rotI, rotC, rotS } = this;
    for (let r = this.rotations - 1; r >= 0; r--) {
      const c = rotC[r]!;
      const s = rotS[r]!;
      const o = rotI[r]! * w;
      const o1 = o + w;
      for (let q = 0; q < w; q++) {
        const x0 = X[o + q]!;
        const x1 = X[o1 + q]!;
        X[o + q] = c * x0 + s * x1;
        X[o1 + q] = c * x1 - s * x0;
      }
    }
    applyReflections(this.house, this.tau, n, X, w, true);
    return info.map((inf, l) => {
      const alpha = new Float64Array(n * k);
      for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) alpha[j * k + c] = X[j * w + l * k + c]!;
      return { alpha, ...inf };
    });
  }
}

/**
 * Householder reduction of the symmetric matrix in the lower triangle of `a` (row-major n × n) to
 * the tridiagonal (d, e) (e[i] couples i and i+1); the vector of reflection j is left in column j
 * below the diagonal and its τ in tau[j] (H_j = I − τ_j v vᵀ; τ = 0 is the identity).
 *
 * Each pass over the trailing lower triangle applies step j's rank-2 update and, in the same loop,
 * forms step j+1's product B·v (the column j+1 is updated first so that v_{j+1} is known).
 */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array, tau: Float64Array): void {
  if (n === 1) {
    d[0] = a[0]!;
    e[0] = 0;
    return;
  }
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  let v2 = new Float64Array(n);
  let p2 = new Float64Array(n);
  if (n >= 3) {
    tau[0] = house(a, n, 0, v, e);
    // p = τ B v for B = a[1.., 1..] (lower triangle).
    for (let i = 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let acc = a[row + i]! * vi;
      for (let j = 1; j < i; j++) {
        const b = a[row + j]!;
        acc += b * v[j]!;
        p[j] = p[j]! + b * vi;
      }
      p[i] = p[i]! + acc;
    }
    for (let i = 1; i < n; i++) p[i] = p[i]! * tau[0]!;
  }
  for (let j = 0; j <= n - 3; j++) {
    d[j] = a[j * n + j]!;
    const t = tau[j]!;
    // w = p − (τ/2)(vᵀp) v, kept in p.
    let vp = 0;
    for (let i = j + 1; i < n; i++) vp += v[i]! * p[i]!;
    const kk = (t / 2) * vp;
    for (let i = j + 1; i < n; i++) p[i] = p[i]! - kk * v[i]!;
    const c1 = j + 1;
    if (j + 1 <= n - 3) {
      // (a) column j+1 of B ← B − v wᵀ − w vᵀ (rows j+1 … n−1).
      const vc = v[c1]!;
      const wc = p[c1]!;
      for (let i = c1; i < n; i++) a[i * n + c1] = a[i * n + c1]! - v[i]! * wc - p[i]! * vc;
      // (b) the next reflection, from the updated column.
      v2.fill(0);
      p2.fill(0);
      const t2 = house(a, n, c1, v2, e);
      tau[c1] = t2;
      // (c) the rest of the update, fused with p2 = B' v2; two rows at a time share the loads of
      //     v, w, v2 and the update of p2.
      const s0 = j + 2;
      let i = s0;
      for (; i + 1 < n; i += 2) {
        const r0 = i * n;
        const r1 = r0 + n;
        const v0 = v[i]!;
        const w0 = p[i]!;
        const u0 = v2[i]!;
        const v1 = v[i + 1]!;
        const w1 = p[i + 1]!;
        const u1 = v2[i + 1]!;
        let acc0 = 0;
        let acc1 = 0;
        for (let q = s0; q < i; q++) {
          const vq = v[q]!;
          const wq = p[q]!;
          const uq = v2[q]!;
          const b0 = a[r0 + q]! - v0 * wq - w0 * vq;
          const b1 = a[r1 + q]! - v1 * wq - w1 * vq;
          a[r0 + q] = b0;
          a[r1 + q] = b1;
          acc0 += b0 * uq;
          acc1 += b1 * uq;
          p2[q] = p2[q]! + b0 * u0 + b1 * u1;
        }
        const d0 = a[r0 + i]! - 2 * v0 * w0; // row i: the diagonal
        a[r0 + i] = d0;
        const b10 = a[r1 + i]! - v1 * w0 - w1 * v0; // row i+1: column i
        a[r1 + i] = b10;
        acc1 += b10 * u0;
        p2[i] = p2[i]! + acc0 + d0 * u0 + b10 * u1;
        const d1 = a[r1 + i + 1]! - 2 * v1 * w1; // row i+1: the diagonal
        a[r1 + i + 1] = d1;
        p2[i + 1] = p2[i + 1]! + acc1 + d1 * u1;
      }
      if (i < n) {
        const row = i * n;
        const vi = v[i]!;
        const wi = p[i]!;
        const ui = v2[i]!;
        let acc = 0;
        for (let q = s0; q < i; q++) {
          const b = a[row + q]! - vi * p[q]! - wi * v[q]!;
          a[row + q] = b;
          acc += b * v2[q]!;
          p2[q] = p2[q]! + b * ui;
        }
        const bd = a[row + i]! - 2 * vi * wi;
        a[row + i] = bd;
        p2[i] = p2[i]! + acc + bd * ui;
      }
      for (let i = s0; i < n; i++) p2[i] = p2[i]! * t2;
      [v, v2] = [v2, v];
      [p, p2] = [p2, p];
    } else {
      // The last reflection: update the trailing 2 × 2 block.
      for (let i = c1; i < n; i++) {
        const row = i * n;
        for (let q = c1; q <= i; q++) a[row + q] = a[row + q]! - v[i]! * p[q]! - p[i]! * v[q]!;
      }
    }
  }
  d[n - 2] = a[(n - 2) * n + n - 2]!;
  e[n - 2] = a[(n - 1) * n + n - 2]!;
  d[n - 1] = a[(n - 1) * n + n - 1]!;
  e[n - 1] = 0;
}

/**
 * The reflection that zeroes column j below its subdiagonal: its vector goes to v (indices j+1 …)
 * and back into the column, e[j] receives the new subdiagonal; returns τ (0: no reflection).
 */
function house(a: Float64Array, n: number, j: number, v: Float64Array, e: Float64Array): number {
  let scale = 0;
  for (let i = j + 1; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + j]!));
  if (scale === 0) {
    e[j] = 0;
    for (let i = j + 1; i < n; i++) v[i] = 0;
    return 0;
  }
  let s2 = 0;
  for (let i = j + 1; i < n; i++) {
    v[i] = a[i * n + j]! / scale; // scaled against overflow and underflow
    s2 += v[i]! * v[i]!;
  }
  const x0 = v[j + 1]!;
  const norm = Math.sqrt(s2);
  const alpha = x0 >= 0 ? -norm : norm; // the sign that avoids cancellation in v[j+1]
  e[j] = alpha * scale;
  v[j + 1] = x0 - alpha;
  const vtv = s2 - x0 * x0 + v[j + 1]! * v[j + 1]!;
  for (let i = j + 1; i < n; i++) a[i * n + j] = v[i]!;
  return 2 / vtv;
}

/** Qᵀ X (reverse = false: H₀ first) or Q X (reverse = true: H_{n−3} first) for X of n rows × w. */
function applyReflections(house: Float64Array, tau: Float64Array, n: number, X: Float64Array, w: number, reverse: boolean): void {
  const s = new Float64Array(w);
  for (let t = 0; t <= n - 3; t++) {
    const j = reverse ? n - 3 - t : t;
    const tj = tau[j]!;
    if (tj === 0) continue;
    s.fill(0);
    for (let i = j + 1; i < n; i++) {
      const vi = house[i * n + j]!;
      const o = i * w;
      for (let q = 0; q < w; q++) s[q] = s[q]! + vi * X[o + q]!;
    }
    for (let q = 0; q < w; q++) s[q] = s[q]! * tj;
    for (let i = j + 1; i < n; i++) {
      const vi = house[i * n + j]!;
      const o = i * w;
      for (let q = 0; q < w; q++) X[o + q] = X[o + q]! - vi * s[q]!;
    }
  }
}

/**
 * Implicit QL with shifts on the tridiagonal (d, e) (tql2 of EISPACK/JAMA): d becomes the
 * eigenvalues. Each rotation is applied to the rows of z (n × k) as it is made — z ← Wᵀ z — and
 * recorded.
 */
function tqlRecorded(d: Float64Array, e: Float64Array, z: Float64Array, k: number): { i: Int32Array; c: Float64Array; s: Float64Array; count: number } {
  const n = d.length;
  let cap = Math.max(16, 2 * n);
  let ri = new Int32Array(cap);
  let rc = new Float64Array(cap);
  let rs = new Float64Array(cap);
  let count = 0;
  const record = (i: number, c: number, s: number): void => {
    if (count === cap) {
      cap *= 2;
      const ni = new Int32Array(cap);
      ni.set(ri);
      ri = ni;
      const nc = new Float64Array(cap);
      nc.set(rc);
      rc = nc;
      const ns = new Float64Array(cap);
      ns.set(rs);
      rs = ns;
    }
    ri[count] = i;
    rc[count] = c;
    rs[count] = s;
    count++;
    const o = i * k;
    const o1 = o + k;
    for (let q = 0; q < k; q++) {
      const h = z[o1 + q]!;
      const x = z[o + q]!;
      z[o1 + q] = s * x + c * h;
      z[o + q] = c * x - s * h;
    }
  };
  tql(d, e, record, 'RidgeEigen');
  return { i: ri, c: rc, s: rs, count };
}
