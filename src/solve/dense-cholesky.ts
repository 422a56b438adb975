/**
 * Dense Cholesky factorisation A = L·Lᵀ of a symmetric positive definite matrix and the triangular
 * solves with L, on row-major Float64Arrays (Cholesky–Banachiewicz: entry (i, j) of L is a dot
 * product of rows i and j, so every inner loop runs along a contiguous row). Written here because
 * ml-matrix's CholeskyDecomposition and mmul ran at about 0.2–0.4 GFLOP/s on M = 2000 (7.8 s and
 * 18.9 s measured), which dominated Nyström with M ≥ 2000; these loops do the same work 5–10× faster.
 */

/** L (row-major n × n, lower triangle; the upper triangle is zero), or null if A is not positive definite in float64. */
export function choleskyLower(A: ArrayLike<number>, n: number, jitter = 0): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = A[ri + j]! + (i === j ? jitter : 0);
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[ri + i] = Math.sqrt(s);
      } else {
        L[ri + j] = s / L[rj + j]!;
      }
    }
  }
  return L;
}

/** x ← L⁻¹x for the n × k row-major x (forward substitution). */
export function solveLower(L: Float64Array, n: number, x: Float64Array, k: number): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let c = 0; c < k; c++) {
      let s = x[i * k + c]!;
      for (let j = 0; j < i; j++) s -= L[ri + j]! * x[j * k + c]!;
      x[i * k + c] = s / L[ri + i]!;
    }
  }
}

/** x ← L⁻ᵀx (backward substitution, reading L by rows). */
export function solveLowerT(L: Float64Array, n: number, x: Float64Array, k: number): void {
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const d = L[ri + i]!;
    for (let c = 0; c < k; c++) x[i * k + c] = x[i * k + c]! / d;
    for (let j = 0; j < i; j++) {
      const l = L[ri + j]!;
      if (l === 0) continue;
      for (let c = 0; c < k; c++) x[j * k + c] = x[j * k + c]! - l * x[i * k + c]!;
    }
  }
}

/** Lᵀ·L (row-major n × n, symmetric): Σ over rows r of L of the outer product of row r with itself. */
export function lowerGram(L: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const rr = r * n;
    for (let a = 0; a <= r; a++) {
      const la = L[rr + a]!;
      if (la === 0) continue;
      const ra = a * n;
      for (let b = 0; b <= a; b++) C[ra + b] = C[ra + b]! + la * L[rr + b]!;
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) C[b * n + a] = C[a * n + b]!;
  return C;
}
