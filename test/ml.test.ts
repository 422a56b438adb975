import { Kernel } from 'ml-kernel';
import { Matrix, solve } from 'ml-matrix';
import { KernelRidgeRegression } from 'ml-regression';
import { afterAll, describe, expect, it } from 'vitest';
import { asMatrix, kernel, kernelCpu, NeuralKernel } from '../src/index.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

const X = [
  [0.2, -1.0, 0.5],
  [1.1, 0.3, -0.4],
  [-0.7, 0.8, 0.9],
  [0.05, 0.6, -1.2],
];

afterAll(releaseGpuForTests);

describe('ml.js interop', () => {
  it('accepts an ml-matrix Matrix and converts results back', () => {
    const m = new Matrix(X);
    const a = kernelCpu('tirer2021', m);
    const b = kernelCpu('tirer2021', X);
    expect(Array.from(a.ntk!)).toEqual(Array.from(b.ntk!));
    const K = asMatrix(a, 'ntk');
    expect(K.rows).toBe(4);
    expect(K.columns).toBe(4);
    expect(K.get(1, 2)).toBe(b.ntk![1 * 4 + 2]);
    // A depth sweep and a diagonal convert by depth index.
    const sweep = kernelCpu('arora2019:depth=3', X, null, { depths: 'all' });
    expect(asMatrix(sweep, 'nngp', 0).get(0, 1)).toBeCloseTo(X[0]!.reduce((s, v, k) => s + v * X[1]![k]!, 0), 12);
    const diag = asMatrix(kernelCpu('arora2019:depth=3', X, null, { diagonal: true }), 'ntk');
    expect([diag.rows, diag.columns]).toEqual([4, 1]);
    expect(() => asMatrix(sweep, 'ntk', 9)).toThrow(/depth index 9/);
  });

  it('NeuralKernel follows ml-kernel: compute(X, Y?) → Matrix, compute(x, y) → number', () => {
    const ntk = new NeuralKernel('densenet:depth=4');
    const K = ntk.compute(X);
    const ref = kernelCpu('densenet:depth=4', X, null, { get: 'ntk' }).ntk!;
    expect(K.get(2, 3)).toBe(ref[2 * 4 + 3]);
    const KY = ntk.compute(X, X.slice(0, 2));
    expect([KY.rows, KY.columns]).toEqual([4, 2]);
    expect(ntk.compute(X[0]!, X[3]!)).toBeCloseTo(ref[3]!, 12);
    // Wrapped by ml-kernel's own Kernel class, as ml.js consumers do.
    const wrapped = new Kernel(ntk).compute(new Matrix(X));
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(wrapped.get(i, j)).toBeCloseTo(K.get(i, j), 12);
    expect(new NeuralKernel('densenet:depth=4', { kernel: 'nngp' }).compute(X).get(0, 0)).toBeCloseTo(
      kernelCpu('densenet:depth=4', X, null, { get: 'nngp' }).nngp![0]!,
      12,
    );
  });

  it('works inside ml-regression KernelRidgeRegression, and matches a direct solve', () => {
    const y = [[1], [-1], [0.5], [2]];
    const lambda = 0.01;
    const ntk = new NeuralKernel('arora2019:depth=5');
    const krr = new KernelRidgeRegression(X, y, { kernelType: ntk, lambda });
    const test = [[0.1, 0.2, 0.3]];
    const pred = krr.predict(test) as number[] | number[][];
    const K = ntk.compute(X);
    const A = K.clone().add(Matrix.eye(4, 4).mul(lambda));
    const alpha = solve(A, new Matrix(y));
    const expected = ntk.compute(test, X).mmul(alpha).get(0, 0);
    const got = Array.isArray(pred[0]) ? (pred as number[][])[0]![0]! : (pred as number[])[0]!;
    expect(got).toBeCloseTo(expected, 10);
  });

  it('the WebGPU version answers the same call (a Promise) within the f32 tolerance', async () => {
    await requireGpu();
    const cpu = new NeuralKernel('resnet:depth=8,alpha=0.5').compute(X);
    const gpu = await new NeuralKernel('resnet:depth=8,alpha=0.5', { backend: 'webgpu' }).compute(X);
    expect(gpu).toBeInstanceOf(Matrix);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        expect(Math.abs(gpu.get(i, j) - cpu.get(i, j)) / Math.sqrt(cpu.get(i, i) * cpu.get(j, j))).toBeLessThan(1e-5);
      }
    }
    const r = await kernel('resnet:depth=8,alpha=0.5', new Matrix(X), null, { backend: 'webgpu' });
    expect(r.backend).toBe('webgpu');
  });
});
