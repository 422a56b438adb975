/**
 * The CG preconditioner (solve/cg.ts lowRankPreconditioner over solve/pivoted-cholesky.ts): on a
 * kernel of exact rank 5 asked for rank 20, the pivots stop at 5 (the factor's stride stays 20),
 * F·Fᵀ = K, and the preconditioner is the exact inverse of K + λI; with rank 0 columns asked for
 * it is the identity scaled by 1/λ. CG itself would converge with a wrong preconditioner, only
 * slower, so these check the algebra directly.
 */
import { describe, expect, it } from 'vitest';
import { lowRankPreconditioner } from '../src/solve/cg.js';
import { Rng } from '../src/mc/rng.js';
import { relativeL2 } from './norms.js';

function lowRankKernel(n: number, r: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const G = Float64Array.from({ length: n * r }, () => rng.normal());
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let a = 0; a < r; a++) K[i * n + j] = K[i * n + j]! + G[i * r + a]! * G[j * r + a]!;
  return K;
}

const columnsOf = (K: Float64Array, n: number) => (idx: number[]) => {
  const w = idx.length;
  const out = new Float64Array(n * w);
  for (let r = 0; r < n; r++) for (let c = 0; c < w; c++) out[r * w + c] = K[r * n + idx[c]!]!;
  return out;
};

describe('the low-rank CG preconditioner', () => {
  it('is the exact inverse of K + λI when K has rank 5 and 20 pivots are allowed (the factor stops at 5)', async () => {
    const n = 40;
    const K = lowRankKernel(n, 5, 1);
    const diag = Float64Array.from({ length: n }, (_, i) => K[i * n + i]!);
    const ridge = 1e-2;
    let calls = 0;
    const cols = columnsOf(K, n);
    const pc = await lowRankPreconditioner((idx) => (calls++, cols(idx)), diag, 20, ridge);
    expect(pc.name).toBe('pivoted Cholesky, rank 5');
    expect(calls).toBeGreaterThan(0);
    const trace = diag.reduce((a, b) => a + b, 0);
    expect(pc.residualTrace).toBeLessThan(1e-10 * trace);
    const rng = new Rng(2);
    const k = 3;
    const v = Float64Array.from({ length: n * k }, () => rng.normal());
    // (K + λI) v, then the preconditioner must give v back.
    const Av = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
      let s = ridge * v[i * k + c]!;
      for (let j = 0; j < n; j++) s += K[i * n + j]! * v[j * k + c]!;
      Av[i * k + c] = s;
    }
    expect(relativeL2(pc.apply(Av, k), v)).toBeLessThan(1e-9);
  });

  it('with no pivot column (rank 0) is v/λ', async () => {
    const n = 10;
    const K = lowRankKernel(n, 3, 3);
    const diag = Float64Array.from({ length: n }, (_, i) => K[i * n + i]!);
    const pc = await lowRankPreconditioner(columnsOf(K, n), diag, 0, 0.5);
    expect(pc.name).toBe('pivoted Cholesky, rank 0');
    const v = Float64Array.from({ length: n }, (_, i) => i - 4);
    expect(Array.from(pc.apply(v, 1))).toEqual(Array.from(v, (x) => x / 0.5));
  });
});
