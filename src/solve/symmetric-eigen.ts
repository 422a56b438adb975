/**
 * Every eigenvalue of a dense symmetric matrix in float64 (Householder tridiagonalisation, then the
 * implicit QL of solve/tql.ts; eigenvalues only: ≈ (2/3)n³ multiply–adds). A solver: the spectra
 * and condition numbers built on it are analysis/spectrum.ts.
 */
import { InputError } from '../errors.js';
import { tql } from './tql.js';

/**
 * Eigenvalues (descending) of a symmetric n × n row-major matrix; only its lower triangle is read.
 * Householder reduction to tridiagonal form, then implicit QL with Wilkinson-type shifts (the
 * eigenvalue part of EISPACK tred2/tql2). float64 throughout.
 */
export function symmetricEigenvalues(A: ArrayLike<number>, n: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`symmetricEigenvalues: n must be a positive integer, got ${String(n)}`);
  if (A.length !== n * n) throw new InputError(`symmetricEigenvalues: expected ${n}×${n} = ${n * n} entries, got ${A.length}`);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = A[i * n + j]!;
      if (!Number.isFinite(v)) throw new InputError(`symmetricEigenvalues: entry (${i}, ${j}) is ${String(v)}`);
      a[i * n + j] = v;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples i and i+1
  tridiagonalize(a, n, d, e);
  tql(d, e, undefined, 'symmetricEigenvalues');
  return d.sort().reverse();
}

/** Lower-triangle Householder reduction: a is overwritten; d, e receive the tridiagonal. */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = a[k+1.., k]
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(a[i * n + k]!));
    d[k] = a[k * n + k]!;
    if (scale === 0) {
      e[k] = 0;
      continue;
    }
    let s2 = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k]! / scale; // scaled against overflow/underflow
      s2 += v[i]! * v[i]!;
    }
    const x0 = v[k + 1]!;
    const norm = Math.sqrt(s2);
    const alpha = x0 >= 0 ? -norm : norm; // sign chosen to avoid cancellation in v0
    e[k] = alpha * scale;
    v[k + 1] = x0 - alpha;
    const vtv = s2 - x0 * x0 + v[k + 1]! * v[k + 1]!;
    if (vtv === 0) continue;
    const tau = 2 / vtv;
    // p = τ·B·v, B = a[k+1.., k+1..] symmetric, stored in its lower triangle.
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let acc = a[row + i]! * vi;
      for (let j = k + 1; j < i; j++) {
        const b = a[row + j]!;
        acc += b * v[j]!;
        p[j] = p[j]! + b * vi;
      }
      p[i] = p[i]! + acc;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = p[i]! * tau;
      vp += v[i]! * p[i]!;
    }
    // w = p − (τ/2)(vᵀp)·v;  B ← B − v wᵀ − w vᵀ (lower triangle).
    const kk = (tau / 2) * vp;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - kk * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = k + 1; j <= i; j++) a[row + j] = a[row + j]! - vi * p[j]! - wi * v[j]!;
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2]!;
    e[n - 2] = a[(n - 1) * n + n - 2]!;
  }
  d[n - 1] = a[(n - 1) * n + n - 1]!;
  e[n - 1] = 0;
}
