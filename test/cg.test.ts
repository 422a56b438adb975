/**
 * The conjugate-gradient solver: the host algorithm against a direct float64 solve (with a float64
 * product), and GPU-CG (K as f32 on WebGPU) against the CPU Cholesky solve on 2000 Fashion-MNIST
 * training images; forcing, automatic choice and the options it refuses.
 */
import fs, { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Matrix, solve } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accuracy, DIRECT_MAX_N, InputError, kernel, kernelCpu, predict, predictFromKernels, predictFromKernelsCg, type KernelBlocks } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';
import { Rng } from '../src/mc/rng.js';
import { solveCg } from '../src/solve/cg.js';
import { maxRelDiff, releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

const npy = (f: string) => parseNpy(readFileSync(new URL(`../data/${f}`, import.meta.url)), f);

function randomInputs(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
}

describe('host CG with a float64 product', () => {
  const n = 300;
  const k = 3;
  // 300 Fashion-MNIST images: a kernel matrix with the fast-decaying spectrum of real data.
  const img = npy('fashion-train-images.npy');
  const d = img.shape[1]!;
  const K = kernelCpu('resnet:depth=8,gamma=0.5', { data: img.data.subarray(0, n * d), shape: [n, d] }, null, { get: 'ntk' }).ntk!;
  let tr = 0;
  for (let i = 0; i < n; i++) tr += K[i * n + i]!;
  const meanDiag = tr / n;
  const rng = new Rng(2);
  const Y = Float64Array.from({ length: n * k }, () => rng.normal());
  const mul = async (p: Float64Array, kk: number) => {
    const out = new Float64Array(n * kk);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let c = 0; c < kk; c++) out[i * kk + c] = out[i * kk + c]! + K[i * n + j]! * p[j * kk + c]!;
    return out;
  };
  const direct = (ridge: number) => {
    const A = new Matrix(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A.set(i, j, K[i * n + j]! + (i === j ? ridge : 0));
    const B = new Matrix(n, k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) B.set(i, c, Y[i * k + c]!);
    return solve(A, B);
  };

  for (const [rel, rank] of [
    [1e-3, undefined],
    [1e-3, 0],
    [0.1, 20],
    [1e-2, n],
  ] as const) {
    it(`matches the direct solve (λ = ${rel} × mean diagonal, ${rank === 0 ? 'Jacobi' : `rank ≤ ${rank ?? 100}`})`, async () => {
      const ridge = rel * meanDiag;
      const r = await solveCg(n, k, Y, ridge, K, mul, { tol: 1e-10, maxIterations: 5000, ...(rank !== undefined ? { rank } : {}) });
      expect(r.converged).toBe(true);
      expect(r.relativeResidual).toBeLessThan(1e-9);
      const X = direct(ridge);
      expect(maxRelDiff(r.x, X.to1DArray())).toBeLessThan(1e-7);
      expect(r.conditionEstimate).toBeGreaterThanOrEqual(1);
      if (rank === 0) expect(r.preconditioner).toMatch(/Jacobi/);
      if (rank === n) expect(r.preconditioner).toMatch(/pivoted Cholesky/);
    });
  }

  it('a full-rank pivoted Cholesky is the exact preconditioner: CG converges in one or two steps', async () => {
    const exact = await solveCg(n, k, Y, 1e-2 * meanDiag, K, mul, { tol: 1e-8, rank: n });
    const jac = await solveCg(n, k, Y, 1e-2 * meanDiag, K, mul, { tol: 1e-8, rank: 0 });
    console.log(`CG iterations at λ = 1e-2 × mean diagonal: pivoted Cholesky rank ≤ n ${exact.iterations}, Jacobi ${jac.iterations}`);
    expect(exact.converged).toBe(true);
    expect(exact.iterations).toBeLessThanOrEqual(2);
    expect(jac.iterations).toBeGreaterThan(5);
  });

  it('reports non-convergence at the iteration cap', async () => {
    const r = await solveCg(n, k, Y, 1e-6 * meanDiag, K, mul, { tol: 1e-12, maxIterations: 3, rank: 0 });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.relativeResidual).toBeGreaterThan(1e-12);
  });
});

describe('GPU-CG against the CPU solve', () => {
  beforeAll(async () => {
    await requireGpu();
  });

  it('2700 Fashion-MNIST images, 10 classes: CG on WebGPU agrees with Cholesky in float64', async () => {
    // Training: the 2000 embedded training images and the first 700 test images; test: the other 300.
    const img = npy('fashion-train-images.npy');
    const test = npy('fashion-test-images.npy');
    const tl = npy('fashion-test-labels.npy');
    const d = img.shape[1]!;
    const m = 300;
    const held = test.shape[0]! - m;
    const n = img.shape[0]! + held;
    const trainData = new Float64Array(n * d);
    trainData.set(img.data);
    trainData.set(test.data.subarray(0, held * d), img.data.length);
    const labels = new Float64Array(n);
    labels.set(npy('fashion-train-labels.npy').data);
    labels.set(tl.data.subarray(0, held), img.shape[0]!);
    const Xtr = { data: trainData, shape: [n, d] };
    const Xte = { data: test.data.subarray(held * d), shape: [m, d] };
    const lab = { data: labels };
    const tlab = { data: tl.data.subarray(held) };
    const arch = 'mlp:depth=3';
    // The kernels from WebGPU (f32-accurate); both solvers get the same matrices.
    const kxx = (await kernel(arch, Xtr, null, { get: 'ntk', backend: 'webgpu' })).ntk!;
    const kxs = (await kernel(arch, Xte, Xtr, { get: 'ntk', backend: 'webgpu' })).ntk!;
    let tr = 0;
    for (let i = 0; i < n; i++) tr += kxx[i * n + i]!;
    const ridge = 1e-4 * (tr / n);
    const blocks: KernelBlocks = { n, m, train: kxx, testTrain: kxs };
    const opts = { kernel: 'ntk', classes: 10, ridge } as const;
    const direct = predictFromKernels(blocks, lab.data, opts);
    const cg = await predictFromKernelsCg(blocks, lab.data, { ...opts, cgTol: 1e-6 });
    expect(direct.solver).toBe('cholesky');
    expect(cg.solver).toBe('cg');
    expect(cg.cg!.converged).toBe(true);
    expect(cg.cg!.relativeResidual).toBeLessThan(1e-3);
    const a = direct.mean[0]!;
    const b = cg.mean[0]!;
    const diff = maxRelDiff(b, a);
    console.log(
      `GPU-CG vs Cholesky (n = ${n}, m = ${m}, k = 10): ${cg.cg!.iterations} iterations (${cg.cg!.preconditioner}), ` +
        `true relative residual ${cg.cg!.relativeResidual.toExponential(2)}, max |Δ prediction| / max |prediction| = ${diff.toExponential(2)}`,
    );
    expect(diff).toBeLessThan(1e-3);
    expect(accuracy(b, cg.shape, tlab.data)).toBe(accuracy(a, direct.shape, tlab.data));
  }, 120_000);

  it('predict(): solver "cg" is used when forced and named in the result; "auto" stays direct for small n', async () => {
    const X = randomInputs(200, 4, 5);
    const T = randomInputs(20, 4, 6);
    const y = X.map((r) => Math.sin(r[0]!) + r[1]!);
    const forced = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, solver: 'cg', backend: 'webgpu' });
    const auto = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, backend: 'webgpu' });
    expect(forced.solver).toBe('cg');
    expect(auto.solver).toBe('cholesky');
    let err = 0;
    for (let i = 0; i < 20; i++) err = Math.max(err, Math.abs(forced.mean[0]![i]! - auto.mean[0]![i]!));
    expect(err).toBeLessThan(1e-3);
  });
});

describe('solver choice and the CLI', () => {
  beforeAll(async () => {
    await requireGpu();
  });

  it(`"auto" switches to CG on WebGPU above ${DIRECT_MAX_N} training points`, async () => {
    const n = DIRECT_MAX_N + 1;
    const X = randomInputs(n, 3, 8);
    const T = randomInputs(5, 3, 9);
    const y = X.map((r) => Math.tanh(r[0]! - r[2]!));
    const r = await predict('mlp:depth=2', X, y, T, { kernel: 'nngp', ridge: 1e-2, backend: 'webgpu' });
    expect(r.solver).toBe('cg');
    expect(r.cg!.converged).toBe(true);
    expect(r.cg!.relativeResidual).toBeLessThan(1e-3);
    expect(r.mean[0]!.every(Number.isFinite)).toBe(true);
  }, 120_000);

  it('webntk predict --solver cg: the JSON summary names the solver; predictions match --solver direct', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cg-'));
    try {
      const tmp = (f: string) => path.join(dir, f);
      const X = randomInputs(150, 4, 12);
      const T = randomInputs(10, 4, 13);
      fs.writeFileSync(tmp('X.npy'), encodeNpy(X.flat(), [150, 4]));
      fs.writeFileSync(tmp('T.npy'), encodeNpy(T.flat(), [10, 4]));
      fs.writeFileSync(tmp('y.npy'), encodeNpy(X.map((r) => r[0]! * r[1]!), [150]));
      const run = runCli;
      const common = ['predict', '--arch', 'resnet:depth=4,gamma=0.5', '--train', tmp('X.npy'), '--targets', tmp('y.npy'), '--test', tmp('T.npy'), '--kernel', 'ntk', '--ridge', '1e-2'];
      const cg = await run(...common, '--solver', 'cg', '--out', tmp('P.npy'), '--json');
      expect(cg.code, cg.err).toBe(0);
      const summary = JSON.parse(cg.out) as { solver: string; cg: { iterations: number; relativeResidual: number; converged: boolean } };
      expect(summary.solver).toBe('cg');
      expect(summary.cg.converged).toBe(true);
      expect(summary.cg.iterations).toBeGreaterThan(0);
      const direct = await run(...common, '--solver', 'direct', '--out', tmp('D.npy'), '--quiet');
      expect(direct.code, direct.err).toBe(0);
      const P = parseNpy(fs.readFileSync(tmp('P.npy'))).data;
      const D = parseNpy(fs.readFileSync(tmp('D.npy'))).data;
      expect(maxRelDiff(P, D)).toBeLessThan(1e-3);
      const bad = await run(...common, '--kernel', 'nngp', '--solver', 'cg', '--variance', tmp('V.npy'), '--out', tmp('Q.npy'));
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/--solver cg gives the mean at t = inf only/);
      expect(fs.existsSync(tmp('Q.npy'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CG options', () => {
  const X = [[0.1, 0.2], [0.3, -0.5], [1, 0]];
  it('refuses what CG cannot give, and bad settings', async () => {
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'nngp', variance: true, solver: 'cg' })).rejects.toThrow(/variance and finite t need solver "direct"/);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', times: [1], solver: 'cg' })).rejects.toThrow(InputError);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', solver: 'qr' as never })).rejects.toThrow(/solver must be/);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', cgTol: 0 })).rejects.toThrow(/cgTol/);
    await expect(predict('mlp:depth=2', X, [1, 2, 3], X, { kernel: 'ntk', cgMaxIterations: 1.5 })).rejects.toThrow(/cgMaxIterations/);
    const blocks = { n: 3, m: 3, train: new Float64Array(9).fill(1), testTrain: new Float64Array(9) };
    expect(() => predictFromKernels(blocks, [1, 2, 3], { kernel: 'ntk', solver: 'cg' })).toThrow(/predictFromKernelsCg/);
  });
});
