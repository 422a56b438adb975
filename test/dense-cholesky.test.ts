/**
 * solve/dense-cholesky.ts against ml-matrix (the reference implementation of the same algebra):
 * L·Lᵀ reproduces A, the factor equals ml-matrix's, the triangular solves invert L and Lᵀ, LᵀL
 * equals ml-matrix's product, and an indefinite matrix gives null (and succeeds with a jitter).
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { choleskyLower, lowerGram, solveLower, solveLowerT } from '../src/solve/dense-cholesky.js';

function spd(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  const B = Array.from({ length: n }, () => Array.from({ length: n }, r));
  const A = new Matrix(B).mmul(new Matrix(B).transpose()).add(Matrix.eye(n).mul(0.1));
  return Float64Array.from(A.to1DArray());
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('dense Cholesky', () => {
  const n = 37;
  const A = spd(n, 3);
  const L = choleskyLower(A, n)!;

  it('L·Lᵀ = A and L equals ml-matrix’s factor', () => {
    const Lm = Matrix.from1DArray(n, n, Array.from(L));
    expect(maxAbs(Lm.mmul(Lm.transpose()).to1DArray(), A)).toBeLessThan(1e-12);
    const ref = new CholeskyDecomposition(Matrix.from1DArray(n, n, Array.from(A))).lowerTriangularMatrix;
    expect(maxAbs(L, ref.to1DArray())).toBeLessThan(1e-12);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
  });

  it('solveLower and solveLowerT invert L and Lᵀ (three right-hand sides)', () => {
    const k = 3;
    const x = Float64Array.from({ length: n * k }, (_, i) => Math.sin(i));
    const Lm = Matrix.from1DArray(n, n, Array.from(L));
    const X = Matrix.from1DArray(n, k, Array.from(x));
    const b1 = Float64Array.from(Lm.mmul(X).to1DArray());
    solveLower(L, n, b1, k);
    expect(maxAbs(b1, x)).toBeLessThan(1e-10);
    const b2 = Float64Array.from(Lm.transpose().mmul(X).to1DArray());
    solveLowerT(L, n, b2, k);
    expect(maxAbs(b2, x)).toBeLessThan(1e-10);
  });

  it('lowerGram is LᵀL', () => {
    const Lm = Matrix.from1DArray(n, n, Array.from(L));
    expect(maxAbs(lowerGram(L, n), Lm.transpose().mmul(Lm).to1DArray())).toBeLessThan(1e-12);
  });

  it('an indefinite matrix gives null; a jitter makes a semi-definite one factorise', () => {
    const I2 = Float64Array.of(1, 2, 2, 1);
    expect(choleskyLower(I2, 2)).toBeNull();
    const rank1 = Float64Array.of(1, 1, 1, 1);
    expect(choleskyLower(rank1, 2)).toBeNull();
    const Lj = choleskyLower(rank1, 2, 1e-6)!;
    expect(Lj[3]).toBeCloseTo(Math.sqrt(1e-6 + 1e-6 - 1e-12), 9);
  });
});
