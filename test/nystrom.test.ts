/**
 * Nyström kernel regression (solver "nystrom", Falkon's preconditioned CG): with M = n landmarks it
 * is exact kernel ridge regression (the direct solve); fewer landmarks approach it as M grows; the
 * landmark draw is seeded; the refusals are one clear InputError each.
 */
import { describe, expect, it } from 'vitest';
import { relativeL2 } from './norms.js';
import { predict } from '../src/index.js';
import { InputError } from '../src/errors.js';
import { uniformLandmarks } from '../src/predict-nystrom.js';
import { normalProduct, solveNystrom } from '../src/solve/nystrom.js';

function data(n: number, d: number, seed: number): number[][] {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  return Array.from({ length: n }, () => Array.from({ length: d }, r));
}
const X = data(60, 5, 1);
const T = data(15, 5, 2);
const y = X.map((x) => Math.sin(3 * x[0]!) + x[1]! * x[2]!);
const rel = relativeL2;

describe('solver "nystrom"', () => {
  it('M = n landmarks is exact kernel ridge regression (NNGP and NTK, with a ridge and with a relative ridge)', async () => {
    for (const kernel of ['nngp', 'ntk'] as const) {
      const direct = await predict('arora2019:depth=3', X, y, T, { kernel, ridge: 1e-3, solver: 'direct' });
      const ny = await predict('arora2019:depth=3', X, y, T, { kernel, ridge: 1e-3, solver: 'nystrom', landmarks: 60, cgTol: 1e-12 });
      expect(ny.solver).toBe('nystrom');
      expect(ny.nystrom!.converged).toBe(true);
      expect(rel(ny.mean[0]!, direct.mean[0]!)).toBeLessThan(1e-8);
    }
    const d = await predict('resnet:depth=4,alpha=0.5', X, y, T, { kernel: 'nngp', relativeRidge: 1e-2, solver: 'direct' });
    const n = await predict('resnet:depth=4,alpha=0.5', X, y, T, { kernel: 'nngp', relativeRidge: 1e-2, solver: 'nystrom', landmarks: 60, cgTol: 1e-12 });
    expect(n.ridge).toBeCloseTo(d.ridge, 12);
    expect(rel(n.mean[0]!, d.mean[0]!)).toBeLessThan(1e-8);
  });

  it('fewer landmarks: the error to exact KRR falls as M grows, and classes give one column each', async () => {
    const exact = await predict('arora2019:depth=2', X, y, T, { kernel: 'nngp', ridge: 1e-2, solver: 'direct' });
    const errs: number[] = [];
    for (const M of [10, 30, 50]) {
      const r = await predict('arora2019:depth=2', X, y, T, { kernel: 'nngp', ridge: 1e-2, solver: 'nystrom', landmarks: M });
      errs.push(rel(r.mean[0]!, exact.mean[0]!));
    }
    expect(errs[2]!).toBeLessThan(errs[0]!);
    expect(errs[2]!).toBeLessThan(0.05);
    const labels = X.map((x) => (x[0]! > 0 ? 1 : 0) + (x[1]! > 0 ? 1 : 0));
    const c = await predict('arora2019:depth=2', X, labels, T, { kernel: 'ntk', ridge: 1e-2, classes: 3, solver: 'nystrom', landmarks: 40 });
    expect(c.shape).toEqual([15, 3]);
    expect(c.mean[0]!.every(Number.isFinite)).toBe(true);
  });

  it('landmarks: seeded, distinct, ascending', () => {
    const a = uniformLandmarks(100, 20, 7);
    expect(uniformLandmarks(100, 20, 7)).toEqual(a);
    expect(uniformLandmarks(100, 20, 8)).not.toEqual(a);
    expect(new Set(a).size).toBe(20);
    expect(a.every((v, i) => i === 0 || v > a[i - 1]!)).toBe(true);
    expect(uniformLandmarks(5, 5, 0)).toEqual([0, 1, 2, 3, 4]);
  });

  it('the normal product K_nMᵀ(K_nM v) against an explicit one', () => {
    const n = 7;
    const M = 3;
    const K = Float64Array.from({ length: n * M }, (_, i) => Math.cos(i));
    const v = Float64Array.from([1, -2, 0.5, 3, 0.25, -1]); // M × 2
    const got = normalProduct(K, n, M, v, 2);
    for (let j = 0; j < M; j++) {
      for (let c = 0; c < 2; c++) {
        let s = 0;
        for (let i = 0; i < n; i++) {
          let kv = 0;
          for (let l = 0; l < M; l++) kv += K[i * M + l]! * v[l * 2 + c]!;
          s += K[i * M + j]! * kv;
        }
        expect(got[j * 2 + c]).toBeCloseTo(s, 12);
      }
    }
  });

  it('a singular K_MM (duplicate landmarks) gets a reported jitter, not NaN', () => {
    const kmm = [1, 1, 1, 1];
    const knm = Float64Array.from([1, 1, 0.5, 0.5, 0.2, 0.2]);
    const s = solveNystrom({ n: 3, M: 2, knm, kmm, y: Float64Array.from([1, 0.5, 0.2]), k: 1, ridge: 1e-3 });
    expect(s.jitter).toBeGreaterThan(0);
    expect(Array.from(s.alpha).every(Number.isFinite)).toBe(true);
  });

  it('refusals', async () => {
    const bad = (o: object) => expect(predict('mlp:depth=2', X, y, T, { kernel: 'nngp', ...o })).rejects.toThrow(InputError);
    await bad({ solver: 'nystrom' });
    await bad({ solver: 'nystrom', landmarks: 0 });
    await bad({ solver: 'nystrom', landmarks: 61 });
    await bad({ solver: 'nystrom', landmarks: 2.5 });
    await bad({ solver: 'nystrom', landmarks: 10, variance: true });
    await bad({ solver: 'direct', landmarks: 10 });
    await expect(predict('mlp:depth=2', X, y, T, { kernel: 'ntk', times: [1], solver: 'nystrom', landmarks: 10 })).rejects.toThrow(/t = ∞ only/);
  });
});
