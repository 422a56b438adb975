/**
 * selectModel (src/select.ts) and its solver (src/solve/ridge-eigen.ts): cross-validation scores
 * checked against an independent float64 computation (kernelCpu for each depth separately, a
 * Cholesky solve written here), fold assignment i mod k, the relative ridge, both metrics, the
 * shuffle, the refit on all training rows, and bad input.
 */
import { Matrix, solve } from 'ml-matrix';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracy, InputError, kernelCpu, predict, selectModel, stax } from '../src/index.js';
import { foldOrder } from '../src/select.js';
import { RidgeEigen } from '../src/solve/ridge-eigen.js';
import { Rng } from '../src/mc/rng.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

const rng = new Rng(2024);
const n = 23;
const m = 7;
const X = Array.from({ length: n }, () => Array.from({ length: 3 }, () => rng.normal()));
const T = Array.from({ length: m }, () => Array.from({ length: 3 }, () => rng.normal()));
const f = (r: number[]) => [Math.sin(r[0]!) + 0.5 * r[1]! * r[2]!, Math.cos(r[1]! - r[2]!)];
const Y2 = X.map((r) => f(r).map((v) => v + 0.1 * rng.normal()));
const Y1 = Y2.map((r) => r[0]!);
const T2 = T.map(f);
const label = (r: number[]) => (r[0]! + r[1]! > 0.5 ? 2 : r[0]! - r[2]! > 0 ? 1 : 0);
const labels = X.map(label);
const testLabels = T.map(label);

// ---- the independent reference --------------------------------------------------------------------

/** Solves A x = B (A symmetric positive definite, n × n; B n × k) by a Cholesky factorisation. */
function choleskySolve(A: number[][], B: number[][]): number[][] {
  const N = A.length;
  const L = A.map(() => new Array<number>(N).fill(0));
  for (let j = 0; j < N; j++) {
    let s = A[j]![j]!;
    for (let p = 0; p < j; p++) s -= L[j]![p]! ** 2;
    if (!(s > 0)) throw new Error('not positive definite');
    L[j]![j] = Math.sqrt(s);
    for (let i = j + 1; i < N; i++) {
      let t = A[i]![j]!;
      for (let p = 0; p < j; p++) t -= L[i]![p]! * L[j]![p]!;
      L[i]![j] = t / L[j]![j]!;
    }
  }
  return B[0]!.map((_, c) => {
    const y = new Array<number>(N);
    for (let i = 0; i < N; i++) {
      let s = B[i]![c]!;
      for (let p = 0; p < i; p++) s -= L[i]![p]! * y[p]!;
      y[i] = s / L[i]![i]!;
    }
    const x = new Array<number>(N);
    for (let i = N - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let p = i + 1; p < N; p++) s -= L[p]![i]! * x[p]!;
      x[i] = s / L[i]![i]!;
    }
    return x;
  }).reduce<number[][]>((rows, col, c) => {
    col.forEach((v, i) => ((rows[i] ??= [])[c] = v));
    return rows;
  }, []);
}

/**
 * The k-fold score of one (kernel, depth, relative ridge), from the kernel of `mlp:depth=<depth>`
 * (computed on its own, not from a sweep). Row i is in fold i mod k unless `fold` says otherwise.
 */
function referenceScore(kind: 'nngp' | 'ntk', depth: number, r: number, k: number, targets: number[][], classes?: number, fold = X.map((_, i) => i % k)): { score: number; folds: number[] } {
  const K = kernelCpu(`mlp:depth=${depth}`, X, null, { get: kind })[kind]!;
  const at = (i: number, j: number) => K[i * n + j]!;
  const folds: number[] = [];
  for (let fo = 0; fo < k; fo++) {
    const tr = X.map((_, i) => i).filter((i) => fold[i] !== fo);
    const va = X.map((_, i) => i).filter((i) => fold[i] === fo);
    const lambda = (r * tr.reduce((s, i) => s + at(i, i), 0)) / tr.length;
    const A = tr.map((i) => tr.map((j) => at(i, j) + (i === j ? lambda : 0)));
    const alpha = choleskySolve(A, tr.map((i) => targets[i]!));
    const pred = va.map((v) => targets[0]!.map((_, c) => tr.reduce((s, j, t) => s + at(v, j) * alpha[t]![c]!, 0)));
    if (classes) {
      const hits = va.filter((v, t) => pred[t]!.indexOf(Math.max(...pred[t]!)) === labels[v]).length;
      folds.push(hits / va.length);
    } else {
      let s = 0;
      va.forEach((v, t) => targets[v]!.forEach((y, c) => (s += (pred[t]![c]! - y) ** 2)));
      folds.push(s / (va.length * targets[0]!.length));
    }
  }
  return { score: folds.reduce((a, b) => a + b, 0) / k, folds };
}

const oneHot = (l: number[], K: number) => l.map((v) => Array.from({ length: K }, (_, c) => (c === v ? 1 : 0)));
const relClose = (a: number, b: number, rel = 1e-9) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(b), 1e-300));

describe('selectModel: the cross-validation scores', () => {
  it('regression (MSE over rows and outputs): every row matches the independent float64 computation to 1e-9', async () => {
    const ridges = [1e-4, 1e-2, 1];
    const r = await selectModel('mlp:depth=4', X, Y2, { kernels: ['nngp', 'ntk'], depths: [1, 2, 4], ridges, folds: 4 });
    expect(r.metric).toBe('mse');
    expect(r.rows).toHaveLength(2 * 3 * 3);
    // Row order: kernels as given × depths ascending × ridges ascending.
    expect(r.rows.map((x) => `${x.kernel}${x.depth}:${x.ridge}`).slice(0, 4)).toEqual(['nngp1:0.0001', 'nngp1:0.01', 'nngp1:1', 'nngp2:0.0001']);
    for (const row of r.rows) {
      const ref = referenceScore(row.kernel, row.depth, row.ridge, 4, Y2);
      relClose(row.score, ref.score);
      row.folds.forEach((s, i) => relClose(s, ref.folds[i]!));
    }
    const best = r.rows.reduce((a, b) => (b.score < a.score ? b : a));
    expect(r.best).toEqual({ kernel: best.kernel, depth: best.depth, ridge: best.ridge, score: best.score });
    expect(r).toMatchObject({ folds: 4, n, outputs: 2, shuffle: null, backend: 'cpu', kernels: ['nngp', 'ntk'], depths: [1, 2, 4], ridges });
    expect(r.order).toBeUndefined();
  });

  it('classification (accuracy of the argmax, one-hot targets) matches the independent computation', async () => {
    const r = await selectModel('mlp:depth=3', X, labels, { classes: 3, kernels: 'ntk', depths: [1, 3], ridges: [1e-3, 0.1], folds: 5 });
    expect(r.metric).toBe('accuracy');
    expect(r.outputs).toBe(3);
    for (const row of r.rows) {
      const ref = referenceScore('ntk', row.depth, row.ridge, 5, oneHot(labels, 3), 3);
      relClose(row.score, ref.score);
      expect(row.folds).toEqual(ref.folds);
    }
    // Highest accuracy; ties go to the first row.
    const top = Math.max(...r.rows.map((x) => x.score));
    const first = r.rows.find((x) => x.score === top)!;
    expect(r.best).toMatchObject({ kernel: first.kernel, depth: first.depth, ridge: first.ridge });
  });

  it('row i is in fold i mod k: n = 23 rows in 5 folds of 5, 5, 5, 4, 4', async () => {
    // One validation row per fold changes the score, so another assignment would not match.
    const r = await selectModel('mlp:depth=2', X, Y1, { kernels: 'nngp', depths: [2], ridges: [1e-2], folds: 5 });
    const ref = referenceScore('nngp', 2, 1e-2, 5, Y1.map((y) => [y]));
    r.rows[0]!.folds.forEach((s, i) => relClose(s, ref.folds[i]!));
    // Contiguous blocks of rows would give other scores.
    const blocks = referenceScore('nngp', 2, 1e-2, 5, Y1.map((y) => [y]), undefined, X.map((_, i) => Math.floor((i * 5) / n)));
    expect(Math.abs(blocks.score - r.rows[0]!.score)).toBeGreaterThan(1e-6);
  });

  it('the ridge is relative to the mean diagonal: scaling the inputs of a homogeneous ReLU network changes no score', async () => {
    const homogeneous = stax.network({ inputScale: 'none' }, stax.dense(), stax.relu(), stax.dense(), stax.relu(), stax.dense());
    const Xs = X.map((r) => r.map((v) => 7 * v));
    const K1 = kernelCpu(homogeneous, X, null, { get: 'ntk' }).ntk!;
    const K7 = kernelCpu(homogeneous, Xs, null, { get: 'ntk' }).ntk!;
    relClose(K7[5]!, 49 * K1[5]!, 1e-12); // the kernel scales by 7²
    const opts = { kernels: 'ntk' as const, depths: 'all' as const, ridges: [1e-3, 1e-1], folds: 3 };
    const a = await selectModel(homogeneous, X, Y2, opts);
    const b = await selectModel(homogeneous, Xs, Y2, opts);
    a.rows.forEach((row, i) => relClose(b.rows[i]!.score, row.score, 1e-8));
  });

  it('--shuffle: a seeded permutation, deterministic; folds follow the permuted order', async () => {
    const opts = { kernels: 'nngp' as const, depths: [3], ridges: [1e-2], folds: 4, shuffle: 7 };
    const a = await selectModel('mlp:depth=3', X, Y2, opts);
    const b = await selectModel('mlp:depth=3', X, Y2, opts);
    const c = await selectModel('mlp:depth=3', X, Y2, { ...opts, shuffle: 8 });
    expect(a.order).toEqual(b.order);
    expect(a.rows).toEqual(b.rows);
    expect([...a.order!].sort((x, y) => x - y)).toEqual(X.map((_, i) => i));
    expect(a.order).not.toEqual(c.order);
    expect(a.order).not.toEqual(X.map((_, i) => i));
    expect(a.shuffle).toBe(7);
    const fold = new Array<number>(n);
    a.order!.forEach((row, i) => (fold[row] = i % 4));
    const ref = referenceScore('nngp', 3, 1e-2, 4, Y2, undefined, fold);
    relClose(a.rows[0]!.score, ref.score);
    expect(foldOrder(5, null)).toEqual([0, 1, 2, 3, 4]);
    expect(foldOrder(50, 1)).toEqual(foldOrder(50, 1));
  });

  it('depths "all" is every depth of the sweep, 0 included', async () => {
    const r = await selectModel('mlp:depth=3', X, Y1, { kernels: 'nngp', ridges: [1e-2], folds: 2 });
    expect(r.depths).toEqual([0, 1, 2, 3]);
    expect(r.rows.map((x) => x.depth)).toEqual([0, 1, 2, 3]);
  });
});

describe('selectModel: refit and test predictions', () => {
  it('with test labels: the best setting refitted on all rows agrees with predict(--ridge-rel) at that depth', async () => {
    const r = await selectModel('mlp:depth=4', X, labels, { classes: 3, depths: [1, 2, 3, 4], ridges: [1e-3, 1e-1], folds: 4, test: T, testLabels });
    const t = r.test!;
    expect(t.metric).toBe('accuracy');
    expect(t.shape).toEqual([m, 3]);
    const p = await predict(`mlp:depth=${r.best.depth}`, X, labels, T, { kernel: r.best.kernel, relativeRidge: r.best.ridge, classes: 3 });
    relClose(t.lambda, p.ridge, 1e-14);
    for (let i = 0; i < m * 3; i++) relClose(t.mean[i]!, p.mean[0]![i]!, 1e-10);
    expect(t.score).toBe(accuracy(p.mean[0]!, [m, 3], testLabels));
    // λ is relative to the mean diagonal over all training rows.
    const K = kernelCpu(`mlp:depth=${r.best.depth}`, X, null, { get: r.best.kernel })[r.best.kernel]!;
    let d = 0;
    for (let i = 0; i < n; i++) d += K[i * n + i]!;
    relClose(t.lambda, (r.best.ridge * d) / n, 1e-12);
  });

  it('with test targets: the test MSE; 1-D targets give 1-D predictions [m]', async () => {
    const r = await selectModel('mlp:depth=2', X, Y1, { depths: [1, 2], ridges: [1e-2], folds: 3, test: T, testTargets: T2.map((y) => y[0]!) });
    expect(r.test!.shape).toEqual([m]);
    expect(r.test!.metric).toBe('mse');
    const mse = T2.reduce((s, y, i) => s + (r.test!.mean[i]! - y[0]!) ** 2, 0) / m;
    relClose(r.test!.score!, mse, 1e-12);
    const r2 = await selectModel('mlp:depth=2', X, Y2, { depths: [1, 2], ridges: [1e-2], folds: 3, test: T, testTargets: T2 });
    expect(r2.test!.shape).toEqual([m, 2]);
    const r3 = await selectModel('mlp:depth=2', X, Y2, { depths: [1], ridges: [1e-2], folds: 3, test: T });
    expect(r3.test).toMatchObject({ metric: null, score: null, shape: [m, 2] });
  });
});

describe('selectModel: bad input is an InputError before any computation', () => {
  const base = { ridges: [1e-3], folds: 3 };
  it.each([
    ['folds < 2', { ...base, folds: 1 }, /folds must be an integer ≥ 2/],
    ['folds > n', { ...base, folds: 24 }, /24 folds for 23 training rows/],
    ['folds not an integer', { ...base, folds: 2.5 }, /folds must be an integer/],
    ['no ridges', { ...base, ridges: [] }, /ridges must be a non-empty list/],
    ['a negative ridge', { ...base, ridges: [1e-3, -1] }, /ridge -1 is not a finite number ≥ 0/],
    ['a depth beyond the arch', { ...base, depths: [2, 5] }, /depth 5 exceeds the arch's depth 3/],
    ['no depths', { ...base, depths: [] }, /depths must be "all" or a non-empty list/],
    ['an unknown kernel', { ...base, kernels: ['nngp', 'cntk'] }, /unknown kernel "cntk"/],
    ['test labels without classes', { ...base, test: T, testLabels }, /testLabels need classes/],
    ['test labels and test targets', { ...base, classes: 3, test: T, testLabels, testTargets: T2 }, /testLabels or testTargets, not both/],
    ['test labels without test inputs', { ...base, classes: 3, testLabels }, /need the test inputs/],
    ['a bad shuffle seed', { ...base, shuffle: -1 }, /shuffle must be an integer seed/],
  ] as const)('%s', async (_, opts, msg) => {
    const targets = 'classes' in opts ? labels : Y2;
    await expect(selectModel('mlp:depth=3', X, targets, opts as never)).rejects.toThrow(InputError);
    await expect(selectModel('mlp:depth=3', X, targets, opts as never)).rejects.toThrow(msg);
  });

  it('labels that are not integers in [0, K), targets of the wrong length, test labels out of range', async () => {
    await expect(selectModel('mlp:depth=3', X, [...labels.slice(0, -1), 1.5], { ...base, classes: 3 })).rejects.toThrow(/not an integer class label/);
    await expect(selectModel('mlp:depth=3', X, [...labels.slice(0, -1), 3], { ...base, classes: 3 })).rejects.toThrow(/outside 0 … 2/);
    await expect(selectModel('mlp:depth=3', X, Y1.slice(1), base)).rejects.toThrow(/targets: 22 rows but there are 23 training inputs/);
    await expect(selectModel('mlp:depth=3', X, labels, { ...base, classes: 3, test: T, testLabels: [...testLabels.slice(1), 9] })).rejects.toThrow(/outside 0 … 2/);
    await expect(selectModel('mlp:depth=3', X, labels, { ...base, classes: 3, test: T, testLabels: testLabels.slice(1) })).rejects.toThrow(/6 labels for 7 test inputs/);
    await expect(selectModel('huang2020:depth=inf,gamma=0.75', X, Y1, base)).rejects.toThrow(/infinite-depth limit/);
  });
});

describe('RidgeEigen: one decomposition, every ridge', () => {
  const spd = (N: number, seed: number) => {
    const r = new Rng(seed);
    const B = new Matrix(Array.from({ length: N }, () => Array.from({ length: N + 2 }, () => r.normal())));
    return B.mmul(B.transpose());
  };
  for (const N of [1, 2, 3, 17, 60]) {
    it(`(A + λI)⁻¹ Y matches ml-matrix's solve (n = ${N})`, () => {
      const A = spd(N, N);
      const r = new Rng(100 + N);
      const Yv = Array.from({ length: N * 2 }, () => r.normal());
      const lambdas = [0, 1e-3, 1, 50];
      const eig = RidgeEigen.decompose(Float64Array.from(A.to1DArray()), N, Yv, 2);
      const sols = eig.solve(lambdas);
      lambdas.forEach((lambda, l) => {
        const Al = A.clone();
        for (let i = 0; i < N; i++) Al.set(i, i, Al.get(i, i) + lambda);
        const ref = solve(Al, Matrix.from1DArray(N, 2, Yv)).to1DArray();
        const scale = Math.max(...ref.map(Math.abs));
        ref.forEach((v, i) => expect(Math.abs(sols[l]!.alpha[i]! - v)).toBeLessThanOrEqual(1e-9 * scale));
        expect(sols[l]!.floored).toBe(0);
      });
      const ev = [...eig.eigenvalues].sort((a, b) => a - b);
      expect(ev[0]!).toBeGreaterThan(0);
    });
  }

  it('a singular matrix at λ = 0 is solved with floored eigenvalues, finite', () => {
    const N = 6;
    const A = new Float64Array(N * N).fill(2); // rank one
    const [s] = RidgeEigen.decompose(A, N, Array.from({ length: N }, (_, i) => i), 1).solve([0]);
    expect(s!.floored).toBe(N - 1);
    expect(s!.alpha.every(Number.isFinite)).toBe(true);
    expect(s!.conditionNumber).toBeGreaterThan(1e14);
  });
});

describe('selectModel on WebGPU kernels', () => {
  it('the kernels come from one WebGPU sweep; the scores match the CPU ones to float32 accuracy, the solves stay float64', async () => {
    await requireGpu();
    const opts = { depths: [1, 2, 4], ridges: [1e-3, 1e-1], folds: 4, test: T, testTargets: T2 };
    const gpu = await selectModel('mlp:depth=4', X, Y2, { ...opts, backend: 'webgpu' });
    const cpu = await selectModel('mlp:depth=4', X, Y2, opts);
    expect(gpu.backend).toBe('webgpu');
    gpu.rows.forEach((row, i) => relClose(row.score, cpu.rows[i]!.score, 1e-3));
    expect(gpu.test!.mean.every(Number.isFinite)).toBe(true);
  });
});
