/**
 * Solver "cg-matfree": CG on K_XX + λI with K_XX never stored (its blocks recomputed for every
 * product). Against the direct float64 solve on n = 1500 (CPU, NNGP and NTK, three outputs) and on
 * WebGPU (the same f32 kernel solved directly; and the CPU's float64 answer); the block product at
 * its offsets; auto's memory rule; the refusals, in the API and the CLI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeL2 } from './norms.js';
import { InputError, predict, predictFromKernels } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { Rng } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';
import { addBlockProduct } from '../src/exec/times.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

function normals(rows: number, cols: number, seed: number): { data: Float64Array; rows: number; cols: number } {
  const rng = new Rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

const relErr = relativeL2;

describe('the block product', () => {
  it('adds each block times the rows of P at its column offset into the rows at its row offset', () => {
    const n = 7;
    const rng = new Rng(3);
    const K = Float64Array.from({ length: n * n }, () => rng.normal());
    for (const k of [1, 3]) {
      const P = Float64Array.from({ length: n * k }, () => rng.normal());
      const dense = new Float64Array(n * k);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let c = 0; c < k; c++) dense[i * k + c] = dense[i * k + c]! + K[i * n + j]! * P[j * k + c]!;
      // Uneven tiles: rows {0–2, 3–6} × cols {0–3, 4–6}.
      const out = new Float64Array(n * k);
      for (const [r0, rows] of [[0, 3], [3, 4]] as const) {
        for (const [c0, cols] of [[0, 4], [4, 3]] as const) {
          const B = new Float64Array(rows * cols);
          for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) B[r * cols + c] = K[(r0 + r) * n + c0 + c]!;
          addBlockProduct(out, B, r0, c0, rows, cols, P, k);
        }
      }
      expect(relErr(out, dense)).toBeLessThan(1e-14);
    }
  });
});

describe('solver "cg-matfree" on the CPU', () => {
  // n = 1500 is three 512-row blocks: diagonal, off-diagonal and transposed tiles, the last one short.
  const n = 1500;
  const X = normals(n, 10, 1);
  const T = normals(40, 10, 2);
  const Y = { data: normals(n, 3, 3).data, shape: [n, 3] };
  for (const kernel of ['nngp', 'ntk'] as const) {
    it(`${kernel}: agrees with the direct float64 solve to 1e-5 (n = ${n}, three outputs)`, async () => {
      const opts = { kernel, relativeRidge: 1e-2 } as const;
      const direct = await predict('arora2019:depth=3', X, Y, T, { ...opts, solver: 'direct' });
      const mf = await predict('arora2019:depth=3', X, Y, T, { ...opts, solver: 'cg-matfree', cgTol: 1e-8 });
      expect(direct.solver).toBe('cholesky');
      expect(mf.solver).toBe('cg-matfree');
      expect(mf.solverReason).toBeUndefined();
      expect(mf.backend).toBe('cpu');
      expect(mf.kernelProduct).toBe('host');
      expect(mf.cg!.converged).toBe(true);
      expect(mf.cg!.relativeResidual).toBeLessThan(1e-7);
      expect(mf.cg!.preconditioner).toMatch(/pivoted Cholesky/);
      // One pass over K per iteration, and one for the true residual.
      expect(mf.kernelPasses).toBe(mf.cg!.iterations + 1);
      expect(mf.ridge).toBeCloseTo(direct.ridge, 12);
      expect(mf.meanDiagonal).toBeCloseTo(direct.meanDiagonal, 12);
      expect(mf.shape).toEqual([40, 3]);
      const err = relErr(mf.mean[0]!, direct.mean[0]!);
      console.log(`cg-matfree ${kernel}, n = ${n}: ${mf.cg!.iterations} iterations (${mf.cg!.preconditioner}), relative difference to the direct solve ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
      expect(mf.warnings).toEqual([]);
    }, 300_000);
  }
});

describe('solver "cg-matfree" on WebGPU', () => {
  beforeAll(async () => {
    await requireGpu();
  });

  it('agrees with the direct solve of the same f32 kernel to 1e-5, and with the float64 CPU solve (n = 600)', async () => {
    const n = 600;
    const X = normals(n, 10, 4);
    const T = normals(30, 10, 5);
    const Y = { data: normals(n, 2, 6).data, shape: [n, 2] };
    for (const kernel of ['nngp', 'ntk'] as const) {
      const opts = { kernel, relativeRidge: 1e-2 } as const;
      const gpuDirect = await predict('arora2019:depth=3', X, Y, T, { ...opts, solver: 'direct', backend: 'webgpu' });
      const cpuDirect = await predict('arora2019:depth=3', X, Y, T, { ...opts, solver: 'direct' });
      // Rank 50 of 600, so that CG iterates over many passes (a rank near n would make it exact in a step or two).
      const mf = await predict('arora2019:depth=3', X, Y, T, { ...opts, solver: 'cg-matfree', cgTol: 1e-8, cgRank: 50, backend: 'webgpu' });
      expect(mf.cg!.preconditioner).toBe('pivoted Cholesky, rank 50');
      expect(mf.cg!.iterations).toBeGreaterThan(5);
      expect(mf.backend).toBe('webgpu');
      expect(mf.kernelProduct).toBe('device');
      expect(mf.solver).toBe('cg-matfree');
      expect(mf.cg!.converged).toBe(true);
      const same = relErr(mf.mean[0]!, gpuDirect.mean[0]!);
      const ref = relErr(mf.mean[0]!, cpuDirect.mean[0]!);
      console.log(`cg-matfree on WebGPU, ${kernel}, n = ${n}: ${mf.cg!.iterations} iterations; vs the direct solve of the WebGPU kernel ${same.toExponential(2)}, vs the float64 CPU solve ${ref.toExponential(2)}`);
      expect(same).toBeLessThan(1e-5);
      expect(ref).toBeLessThan(1e-3);
    }
  }, 300_000);
});

describe('solver "auto" and the memory budget', () => {
  const X = normals(80, 4, 7);
  const T = normals(5, 4, 8);
  const y = Array.from({ length: 80 }, (_, i) => Math.sin(X.data[i * 4]!));
  it('picks cg-matfree when K_XX in float64 would exceed memoryBytes, and says why', async () => {
    const bytes = 8 * 80 * 80;
    const over = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, memoryBytes: bytes - 1 });
    expect(over.solver).toBe('cg-matfree');
    expect(over.solverReason).toMatch(/solver "auto" chose "cg-matfree": K_XX \(80 × 80\) would take .* GB in float64, more than the .* GB memory budget/);
    const fits = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, memoryBytes: bytes });
    expect(fits.solver).toBe('cholesky');
    expect(fits.solverReason).toBeUndefined();
    expect(relErr(over.mean[0]!, fits.mean[0]!)).toBeLessThan(1e-5);
    // The variance needs the stored kernel: auto stays direct whatever the budget.
    const v = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, variance: true, memoryBytes: 1 });
    expect(v.solver).toBe('cholesky');
  });
});

describe('refusals', () => {
  const X = [[0.1, 0.2], [0.3, -0.5], [1, 0]];
  it('the variance, finite t, stored blocks and a bad budget: one InputError each', async () => {
    const need = /need a stored kernel matrix \(solver "direct"\); the low-rank approximation \(solver "nystrom"\) gives the mean at t = ∞ only too/;
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'nngp', variance: true, solver: 'cg-matfree' })).rejects.toThrow(need);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', times: [1, Infinity], solver: 'cg-matfree' })).rejects.toThrow(need);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', solver: 'cg-matfree', memoryBytes: 0 })).rejects.toThrow(InputError);
    const blocks = { n: 3, m: 3, train: new Float64Array(9).fill(1), testTrain: new Float64Array(9) };
    expect(() => predictFromKernels(blocks, [1, 2, 3], { kernel: 'ntk', solver: 'cg-matfree' })).toThrow(/use predict\(\)/);
  });
});

describe('webntk predict --solver cg-matfree', () => {
  it('JSON summary, agreement with --solver direct, --cg-max-iter, and one-line refusals (exit 2)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-matfree-'));
    try {
      const tmp = (f: string) => path.join(dir, f);
      const X = normals(120, 4, 9);
      const T = normals(10, 4, 10);
      fs.writeFileSync(tmp('X.npy'), encodeNpy(X.data, [120, 4]));
      fs.writeFileSync(tmp('T.npy'), encodeNpy(T.data, [10, 4]));
      fs.writeFileSync(tmp('y.npy'), encodeNpy(normals(120, 2, 11).data, [120, 2]));
      const run = runCli;
      const common = ['predict', '--arch', 'resnet:depth=4,gamma=0.5', '--train', tmp('X.npy'), '--targets', tmp('y.npy'), '--test', tmp('T.npy'), '--kernel', 'ntk', '--ridge-rel', '1e-2'];
      const mf = await run(...common, '--solver', 'cg-matfree', '--cg-tol', '1e-9', '--out', tmp('P.npy'), '--json');
      expect(mf.code, mf.err).toBe(0);
      const s = JSON.parse(mf.out) as { solver: string; kernelPasses: number; cg: { iterations: number; converged: boolean } };
      expect(s.solver).toBe('cg-matfree');
      expect(s.cg.converged).toBe(true);
      expect(s.kernelPasses).toBe(s.cg.iterations + 1);
      const direct = await run(...common, '--solver', 'direct', '--out', tmp('D.npy'), '--quiet');
      expect(direct.code, direct.err).toBe(0);
      expect(relErr(parseNpy(fs.readFileSync(tmp('P.npy'))).data, parseNpy(fs.readFileSync(tmp('D.npy'))).data)).toBeLessThan(1e-6);

      const capped = await run(...common, '--solver', 'cg-matfree', '--ridge-rel', '0', '--cg-max-iter', '2', '--out', tmp('C.npy'), '--json');
      expect(capped.code, capped.err).toBe(0);
      const c = JSON.parse(capped.out) as { cg: { iterations: number; converged: boolean }; warnings: string[] };
      expect(c.cg.iterations).toBe(2);
      expect(c.cg.converged).toBe(false);
      expect(c.warnings.join('\n')).toMatch(/stopped after 2 iterations/);

      const jacobi = await run(...common, '--solver', 'cg-matfree', '--cg-rank', '0', '--cg-tol', '1e-9', '--out', tmp('J.npy'), '--json');
      expect(jacobi.code, jacobi.err).toBe(0);
      const j = JSON.parse(jacobi.out) as { cg: { preconditioner: string; iterations: number; converged: boolean } };
      expect(j.cg.preconditioner).toBe('Jacobi (diagonal)');
      expect(j.cg.converged).toBe(true);
      expect(j.cg.iterations).toBeGreaterThan(s.cg.iterations);
      expect(relErr(parseNpy(fs.readFileSync(tmp('J.npy'))).data, parseNpy(fs.readFileSync(tmp('D.npy'))).data)).toBeLessThan(1e-6);

      for (const [extra, message] of [
        [['--cg-rank', '-1'], /--cg-rank must be an integer ≥ 0, got "-1"/],
        [['--kernel', 'nngp', '--variance', tmp('V.npy')], /--solver cg-matfree gives the mean at t = inf only: --variance and finite --time need a stored kernel matrix/],
        [['--time', '1,inf'], /--solver cg-matfree gives the mean at t = inf only/],
        [['--cg-max-iter', '0'], /--cg-max-iter must be a positive integer, got "0"/],
      ] as const) {
        const bad = await run(...common, '--solver', 'cg-matfree', ...extra, '--out', tmp('Q.npy'));
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(message);
        expect(bad.err.trim().split('\n')).toHaveLength(1);
        expect(fs.existsSync(tmp('Q.npy'))).toBe(false);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
