/**
 * Predictions from the kernels: NNGP posterior mean and variance, NTK gradient flow at finite and
 * infinite time, one-hot targets, conditioning warnings and bad targets. References are computed
 * here independently (direct ml-matrix inverse/solve, and an RK4 integration of the gradient flow).
 */
import { inverse, Matrix, solve } from 'ml-matrix';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracy, InputError, kernelCpu, oneHot, predict, predictFromKernels, stax, type PredictResult } from '../src/index.js';
import { CUSTOM } from './fixtures.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

const X = [
  [0.2, -1.0, 0.5],
  [1.1, 0.3, -0.4],
  [-0.7, 0.8, 0.9],
  [0.05, 0.6, -1.2],
  [0.9, -0.2, 0.3],
];
const T = [
  [0.3, 0.2, -0.1],
  [-0.4, -0.5, 1.0],
  [1.1, 0.3, -0.4], // equals training input 1
];
const Y1 = [1, -1, 0.5, 2, -0.3];
const Y2 = [
  [1, 0.1],
  [-1, 0.7],
  [0.5, -0.2],
  [2, 0.4],
  [-0.3, -1.1],
];

const ARCHS = ['arora2019:depth=3', CUSTOM.erfBias!] as const;

/** Kernel blocks as ml-matrix matrices, from the float64 CPU reference. */
function blocks(arch: (typeof ARCHS)[number], kind: 'nngp' | 'ntk', train: number[][], test: number[][]) {
  const n = train.length;
  const m = test.length;
  const kxx = kernelCpu(arch, train, null, { get: kind })[kind]!;
  const kxs = kernelCpu(arch, test, train, { get: kind })[kind]!;
  const kss = kernelCpu(arch, test, null, { get: kind, diagonal: true })[kind]!;
  return {
    Kxx: Matrix.from1DArray(n, n, Array.from(kxx)),
    Ksx: Matrix.from1DArray(m, n, Array.from(kxs)),
    kss: Array.from(kss),
  };
}

function asMatrixY(y: number[] | number[][]): Matrix {
  return Array.isArray(y[0]) ? new Matrix(y as number[][]) : Matrix.columnVector(y as number[]);
}

function ridged(K: Matrix, ridge: number): Matrix {
  const A = K.clone();
  for (let i = 0; i < A.rows; i++) A.set(i, i, A.get(i, i) + ridge);
  return A;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  for (let i = 0; i < expected.length; i++) {
    expect(Number.isFinite(actual[i]!)).toBe(true);
    expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(rel * Math.max(scale, 1e-300));
  }
}

function allFinite(r: PredictResult): boolean {
  return r.mean.every((a) => a.every(Number.isFinite)) && (r.variance ?? []).every(Number.isFinite);
}

describe('NNGP posterior', () => {
  for (const arch of ARCHS) {
    for (const ridge of [0, 1e-3, 0.5]) {
      it(`mean and variance match the direct formula (${typeof arch === 'string' ? arch : 'erfBias'}, λ = ${ridge})`, async () => {
        const r = await predict(arch, X, Y2, T, { kernel: 'nngp', ridge, variance: true });
        const { Kxx, Ksx, kss } = blocks(arch, 'nngp', X, T);
        const inv = inverse(ridged(Kxx, ridge));
        const mean = Ksx.mmul(inv).mmul(asMatrixY(Y2));
        const cov = Ksx.mmul(inv).mmul(Ksx.transpose());
        expect(r.shape).toEqual([3, 2]);
        expect(r.mean).toHaveLength(1);
        expect(r.solver).toBe('cholesky');
        expect(r.backend).toBe('cpu');
        expect(r.warnings).toEqual([]);
        expectClose(r.mean[0]!, mean.to1DArray(), 1e-10);
        const variance = kss.map((v, j) => v - cov.get(j, j));
        expect(r.variance).toHaveLength(3);
        for (let j = 0; j < 3; j++) expect(Math.abs(r.variance![j]! - Math.max(variance[j]!, 0))).toBeLessThan(1e-10 * kss[j]!);
        expect(r.variance!.every((v) => v >= 0)).toBe(true);
        if (ridge === 0) {
          // A test input equal to a training input is interpolated with zero variance.
          expect(r.mean[0]![2 * 2]).toBeCloseTo(Y2[1]![0]!, 9);
          expect(r.mean[0]![2 * 2 + 1]).toBeCloseTo(Y2[1]![1]!, 9);
          expect(r.variance![2]).toBeLessThan(1e-10 * kss[2]!);
        }
        // The condition number estimate is a lower bound of the true one, within its order of magnitude.
        const ev = new (await import('ml-matrix')).EigenvalueDecomposition(ridged(Kxx, ridge), { assumeSymmetric: true }).realEigenvalues;
        const trueCond = Math.max(...ev) / Math.min(...ev);
        expect(r.conditionNumber).toBeLessThanOrEqual(trueCond * (1 + 1e-6));
        expect(r.conditionNumber).toBeGreaterThan(trueCond / 100);
      });
    }
  }

  it('1-D targets give shape [m, 1]; the variance is the same with or without targets', async () => {
    const r = await predict('arora2019:depth=3', X, Y1, T, { kernel: 'nngp', ridge: 1e-2, variance: true });
    const r2 = await predict('arora2019:depth=3', X, { data: new Float32Array(Y1), shape: [5] }, T, { kernel: 'nngp', ridge: 1e-2, variance: true });
    expect(r.shape).toEqual([3, 1]);
    const { Kxx, Ksx } = blocks('arora2019:depth=3', 'nngp', X, T);
    const direct = Ksx.mmul(solve(ridged(Kxx, 1e-2), Matrix.columnVector(Y1)));
    expectClose(r.mean[0]!, direct.to1DArray(), 1e-10);
    expectClose(r2.mean[0]!, r.mean[0]!, 1e-6); // Float32 targets: the values differ in the 8th digit
    expect(Array.from(r2.variance!)).toEqual(Array.from(r.variance!));
  });

  it('clamps round-off below zero silently and reports a negative variance beyond round-off', () => {
    // K_XX = [1], K_*X = [1]: variance = K_** − 1.
    const tiny = predictFromKernels({ n: 1, m: 1, train: [1], testTrain: [1], testDiag: [1 - 1e-13] }, [2], { kernel: 'nngp', variance: true });
    expect(tiny.variance![0]).toBe(0);
    expect(tiny.warnings).toEqual([]);
    const big = predictFromKernels({ n: 1, m: 2, train: [1], testTrain: [1, 0.5], testDiag: [0.5, 1] }, [2], { kernel: 'nngp', variance: true });
    expect(big.variance![0]).toBe(0);
    expect(big.variance![1]).toBeCloseTo(0.75, 14);
    expect(big.warnings.join('\n')).toMatch(/variance of 1 test input\(s\) was negative beyond round-off \(worst -0.5 at test input 0/);
    // −1e-7 relative is far beyond the round-off bound (1e-10 of the scale here): clamped and reported.
    const small = predictFromKernels({ n: 1, m: 1, train: [1], testTrain: [1], testDiag: [1 - 1e-7] }, [2], { kernel: 'nngp', variance: true });
    expect(small.variance![0]).toBe(0);
    expect(small.warnings.join('\n')).toMatch(/negative beyond round-off \(worst -1.00e-7/);
  });
});

describe('NTK gradient flow', () => {
  for (const arch of ARCHS) {
    it(`t = ∞ matches Θ_*X (Θ_XX + λI)⁻¹ Y (${typeof arch === 'string' ? arch : 'erfBias'})`, async () => {
      for (const ridge of [0, 0.1]) {
        const r = await predict(arch, X, Y2, T, { kernel: 'ntk', ridge });
        const { Kxx, Ksx } = blocks(arch, 'ntk', X, T);
        const direct = Ksx.mmul(solve(ridged(Kxx, ridge), asMatrixY(Y2)));
        expect(r.times).toEqual([Infinity]);
        expect(r.solver).toBe('cholesky');
        expect(r.warnings).toEqual([]);
        expectClose(r.mean[0]!, direct.to1DArray(), 1e-10);
      }
    });
  }

  it('t = 0 is exactly zero; large t reaches the t = ∞ prediction; one decomposition serves many times', async () => {
    const r = await predict('arora2019:depth=3', X, Y2, T, { kernel: 'ntk', ridge: 0.05, times: [0, 1e9, Infinity, 0.5] });
    expect(r.solver).toBe('eigen');
    expect(r.times).toEqual([0, 1e9, Infinity, 0.5]);
    expect(r.mean).toHaveLength(4);
    expect(Array.from(r.mean[0]!)).toEqual(new Array(6).fill(0));
    const { Kxx, Ksx } = blocks('arora2019:depth=3', 'ntk', X, T);
    const direct = Ksx.mmul(solve(ridged(Kxx, 0.05), asMatrixY(Y2))).to1DArray();
    expectClose(r.mean[2]!, direct, 1e-10);
    expectClose(r.mean[1]!, direct, 1e-10);
    // Cholesky (t = ∞ alone) and the eigendecomposition agree.
    const chol = await predict('arora2019:depth=3', X, Y2, T, { kernel: 'ntk', ridge: 0.05 });
    expectClose(chol.mean[0]!, r.mean[2]!, 1e-11);
  });

  /**
   * The gradient flow integrated with RK4. With Z(t) = Θ̃⁻¹(I − e^{−tΘ̃})Y (so that the prediction is
   * f_*(t) = Θ_*X Z(t)), Z' = e^{−tΘ̃}Y = Y − Θ̃Z. Writing g = Θ̃Z (the training outputs when λ = 0):
   *   g' = −Θ̃ (g − Y),   f_*' = Θ_*X Z' = −Θ_*X (g − Y),   g(0) = 0, f_*(0) = 0,
   * i.e. f_*(t) = Θ_*X ∫₀ᵗ (Y − g(s)) ds: the test outputs follow the training residual through Θ_*X.
   */
  function rk4(Kt: Matrix, Ksx: Matrix, Y: Matrix, tEnd: number, h: number): { g: Matrix; f: Matrix } {
    let g = Matrix.zeros(Y.rows, Y.columns);
    let f = Matrix.zeros(Ksx.rows, Y.columns);
    const deriv = (gg: Matrix) => {
      const resid = Matrix.sub(Y, gg); // Y − g
      return { dg: Kt.mmul(resid), df: Ksx.mmul(resid) };
    };
    const steps = Math.round(tEnd / h);
    for (let s = 0; s < steps; s++) {
      const k1 = deriv(g);
      const k2 = deriv(Matrix.add(g, Matrix.mul(k1.dg, h / 2)));
      const k3 = deriv(Matrix.add(g, Matrix.mul(k2.dg, h / 2)));
      const k4 = deriv(Matrix.add(g, Matrix.mul(k3.dg, h)));
      const comb = (a: Matrix, b: Matrix, c: Matrix, d: Matrix) => Matrix.add(a, Matrix.mul(b, 2)).add(Matrix.mul(c, 2)).add(d).mul(h / 6);
      g = Matrix.add(g, comb(k1.dg, k2.dg, k3.dg, k4.dg));
      f = Matrix.add(f, comb(k1.df, k2.df, k3.df, k4.df));
    }
    return { g, f };
  }

  for (const ridge of [0, 0.2]) {
    it(`finite t matches an RK4 integration of the gradient-flow ODE (λ = ${ridge})`, async () => {
      const arch = 'arora2019:depth=3';
      const times = [0.05, 0.3];
      const r = await predict(arch, X, Y2, T, { kernel: 'ntk', ridge, times });
      // Predicting at the training inputs gives the training outputs f_train(t) = Θ_XX Z(t), which is g(t) when λ = 0.
      const rt = await predict(arch, X, Y2, X, { kernel: 'ntk', ridge, times });
      const { Kxx, Ksx } = blocks(arch, 'ntk', X, T);
      const Kt = ridged(Kxx, ridge);
      const lmax = Math.max(...new (await import('ml-matrix')).EigenvalueDecomposition(Kt, { assumeSymmetric: true }).realEigenvalues);
      const h = 0.02 / lmax; // h·λ_max = 0.02: RK4 error ~ (hλ)^4 per unit time, far below the tolerance
      for (const [i, t] of times.entries()) {
        const steps = Math.ceil(t / h);
        const { g, f } = rk4(Kt, Ksx, asMatrixY(Y2), t, t / steps);
        expectClose(r.mean[i]!, f.to1DArray(), 1e-8);
        // Θ_XX Z = g − λZ, and f_train(t) from the ODE: Θ_XX Θ̃⁻¹ g.
        const fTrain = Kxx.mmul(solve(Kt, g));
        expectClose(rt.mean[i]!, fTrain.to1DArray(), 1e-8);
        if (ridge === 0) expectClose(rt.mean[i]!, g.to1DArray(), 1e-8);
        // Not yet converged: the intermediate time differs from t = ∞.
        const inf = Ksx.mmul(solve(Kt, asMatrixY(Y2))).to1DArray();
        expect(Math.max(...Array.from(r.mean[i]!, (v, j) => Math.abs(v - inf[j]!)))).toBeGreaterThan(1e-3);
      }
    });
  }

  it('zero, tiny and negative round-off eigenvalues: the limit (1 − e^{−tμ})/μ → t, no NaN', () => {
    // Θ_XX = v vᵀ − δI (rank one plus negative round-off), Θ_*X = I: mean(t) = V diag(φ_t) Vᵀ Y with
    // φ_t = t on the null space and (1 − e^{−t‖v‖²})/‖v‖² along v.
    const v = [1, -0.5, 0.8];
    const n = 3;
    const vv = v.reduce((s, x) => s + x * x, 0);
    const Y = [0.3, 1.2, -0.7];
    for (const delta of [0, 1e-17, 1e-16]) {
      const train = new Float64Array(n * n);
      const eye = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        eye[i * n + i] = 1;
        for (let j = 0; j < n; j++) train[i * n + j] = v[i]! * v[j]! - (i === j ? delta : 0);
      }
      const times = [0, 1e-12, 0.7, 3, Infinity];
      const r = predictFromKernels({ n, m: n, train, testTrain: eye }, Y, { kernel: 'ntk', times });
      expect(allFinite(r as PredictResult)).toBe(true);
      expect(r.solver).toBe('eigen');
      const vy = v.reduce((s, x, i) => s + x * Y[i]!, 0);
      for (const [i, t] of times.entries()) {
        if (t === Infinity) continue;
        const along = -Math.expm1(-t * vv) / vv;
        const expected = Y.map((y, j) => t * (y - (v[j]! * vy) / vv) + (along * v[j]! * vy) / vv);
        expectClose(r.mean[i]!, expected, 1e-12);
      }
      // t = ∞: the null space is floored (stated), the prediction stays finite; the warning says so.
      expect(r.warnings.join('\n')).toMatch(/ill-conditioned: condition number ∞ \(singular\).*Suggested ridge ≈/s);
      expect(r.warnings.join('\n')).toMatch(/2 eigenvalue\(s\) .* floored/);
      expect(r.conditionNumber).toBe(Infinity);
      expect(r.suggestedRidge).toBeCloseTo(vv * 1e-10, 20);
      // Round-off negatives are not reported as non-PSD.
      expect(r.warnings.join('\n')).not.toMatch(/negative eigenvalues/);
    }
    // A clearly negative eigenvalue is reported, and still gives finite predictions.
    const bad = predictFromKernels({ n: 2, m: 1, train: [1, 0, 0, -0.1], testTrain: [1, 1] }, [1, 1], { kernel: 'ntk', times: [2, Infinity] });
    expect(allFinite(bad as PredictResult)).toBe(true);
    expect(bad.warnings.join('\n')).toMatch(/negative eigenvalues \(down to -0.1\) beyond float64 round-off/);
    expectClose(bad.mean[0]!, [-Math.expm1(-2) + 2], 1e-14); // the negative mode counts as μ = 0: φ = t
  });
});

describe('classification targets', () => {
  const train = [
    [1, 0.1, 0],
    [0.9, -0.1, 0.1],
    [0, 1, 0.1],
    [0.1, 0.9, -0.1],
    [0, 0.1, 1],
    [-0.1, 0, 0.9],
  ];
  const labels = [0, 0, 1, 1, 2, 2];
  const test = [
    [0.95, 0, 0.05],
    [0.05, 0.95, 0],
    [0, 0, 1.05],
    [0.8, 0.2, 0.1],
  ];
  const testLabels = [0, 1, 2, 0];

  it('oneHot encodes labels and checks them', () => {
    const oh = oneHot([2, 0, 1], 3);
    expect(oh.shape).toEqual([3, 3]);
    expect(Array.from(oh.data)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    expect(() => oneHot([0, 1.5], 3)).toThrow(/label at index 1 is 1.5, not an integer/);
    expect(() => oneHot([0, 3], 3)).toThrow(/label at index 1 is 3, outside 0 … 2/);
    expect(() => oneHot([0, 1], 1)).toThrow(InputError);
  });

  it('accuracy is the fraction of argmax matches', () => {
    const pred = new Float64Array([0.9, 0.1, 0.2, 0.7, 0.6, 0.4]);
    expect(accuracy(pred, [3, 2], [0, 1, 1])).toBeCloseTo(2 / 3, 15);
    expect(accuracy(pred, [3, 2], [0, 1, 0])).toBe(1);
    expect(() => accuracy(pred, [3, 2], [0, 1])).toThrow(/2 labels for 3 predictions/);
    expect(() => accuracy(pred, [6, 1], [0, 0, 0, 0, 0, 0])).toThrow(InputError);
  });

  for (const kind of ['nngp', 'ntk'] as const) {
    it(`labels with classes become one-hot targets (${kind})`, async () => {
      const ridge = 1e-3;
      const r = await predict('arora2019:depth=3', train, labels, test, { kernel: kind, ridge, classes: 3 });
      expect(r.shape).toEqual([4, 3]);
      const oh = oneHot(labels, 3);
      const same = await predict('arora2019:depth=3', train, oh, test, { kernel: kind, ridge });
      expect(Array.from(same.mean[0]!)).toEqual(Array.from(r.mean[0]!));
      const { Kxx, Ksx } = blocks('arora2019:depth=3', kind, train, test);
      const direct = Ksx.mmul(solve(ridged(Kxx, ridge), Matrix.from1DArray(6, 3, Array.from(oh.data))));
      expectClose(r.mean[0]!, direct.to1DArray(), 1e-10);
      expect(accuracy(r.mean[0]!, r.shape, testLabels)).toBe(1);
      // Column labels ([n, 1]) are labels too.
      const col = await predict('arora2019:depth=3', train, labels.map((l) => [l]), test, { kernel: kind, ridge, classes: 3 });
      expect(Array.from(col.mean[0]!)).toEqual(Array.from(r.mean[0]!));
    });
  }
});

describe('ill-conditioned systems', () => {
  // Training input 5 duplicates input 1 (with the same target): K_XX is singular at λ = 0.
  const Xd = [...X, X[1]!];
  const Yd = [...Y2, Y2[1]!];

  it('a duplicate training point at λ = 0 warns (condition number, suggested ridge) and stays finite and right', async () => {
    for (const kind of ['nngp', 'ntk'] as const) {
      const r = await predict('arora2019:depth=3', Xd, Yd, T, {
        kernel: kind,
        ...(kind === 'nngp' ? { variance: true } : { times: [0.3, Infinity] }),
      });
      expect(allFinite(r)).toBe(true);
      expect(r.solver).toBe('eigen');
      const text = r.warnings.join('\n');
      expect(text).toMatch(/ill-conditioned: condition number (≈ \d[\d.]*e\+1[1-9]|∞)/);
      expect(text).toMatch(/Suggested ridge ≈ \S+ \(current ridge \+ λ_max·1e-10/);
      expect(text).toMatch(/training inputs 1 and 5 are identical/);
      // NNGP tries Cholesky first; the singular system sends it to the eigendecomposition, stated.
      if (kind === 'nngp') expect(text).toMatch(/(Cholesky failed|numerically singular).*fell back to the symmetric eigendecomposition with floored eigenvalues/);
      expect(text).toMatch(/eigenvalue\(s\) of K_XX \+ λI .* below λ_max·1.00e-10 = \S+ were floored/);
      expect(r.conditionNumber).toBeGreaterThan(1e10);
      expect(r.suggestedRidge).toBeGreaterThan(0);
      // The duplicate adds nothing: the prediction equals the one without it.
      const ref = await predict('arora2019:depth=3', X, Y2, T, {
        kernel: kind,
        ...(kind === 'nngp' ? { variance: true } : { times: [0.3, Infinity] }),
      });
      expect(ref.warnings).toEqual([]);
      expectClose(r.mean.at(-1)!, ref.mean.at(-1)!, 1e-5);
      if (kind === 'ntk') expect(r.mean[0]!.every(Number.isFinite)).toBe(true);
      if (kind === 'nngp') expectClose(r.variance!, ref.variance!, 1e-5);
      // The suggested ridge removes the warning.
      const fixed = await predict('arora2019:depth=3', Xd, Yd, T, { kernel: kind, ridge: r.suggestedRidge! * 10 });
      expect(fixed.warnings).toEqual([]);
      expect(fixed.solver).toBe('cholesky');
      expectClose(fixed.mean[0]!, ref.mean.at(-1)!, 1e-4);
    }
  });

  it('a deep erf network in the ordered phase: its kernels approach a constant matrix; warned, finite, and near the constant predictor', async () => {
    // σ_w² = 0.5 < 1 with erf: every correlation converges to the same fixed point with depth, so
    // K_XX tends to c·11ᵀ (Schoenholz et al. 2017). At depth 10 it is still well conditioned.
    const { network, dense, repeat, erf } = stax;
    const deep = (depth: number) => network({ inputScale: 'dim' }, dense({ biasVar: 0.5 }), repeat(depth, erf(), dense({ weightVar: 0.5, biasVar: 0.5 })));
    const ys = X.map((r) => r[0]!);
    for (const kind of ['nngp', 'ntk'] as const) {
      const shallow = await predict(deep(10), X, ys, T, { kernel: kind });
      expect(shallow.warnings).toEqual([]);
      for (const depth of [30, 100]) {
        const r = await predict(deep(depth), X, ys, T, { kernel: kind });
        expect(r.solver).toBe('eigen');
        expect(r.warnings.join('\n')).toMatch(/ill-conditioned: condition number/);
        expect(r.suggestedRidge).toBeGreaterThan(0);
        const p = Array.from(r.mean[0]!);
        expect(p.every(Number.isFinite)).toBe(true);
        // A constant kernel predicts one value everywhere: the predictions collapse together.
        expect(Math.max(...p) - Math.min(...p)).toBeLessThan(depth === 100 ? 1e-3 : 0.05);
      }
    }
  });

  it('a kernel close to a constant matrix warns and gives finite predictions', () => {
    // K = c·11ᵀ + 1e-12·diag(…): what a very deep kernel degenerates to.
    const n = 4;
    const train = new Float64Array(n * n).fill(2);
    for (let i = 0; i < n; i++) train[i * n + i]! += 1e-12 * (i + 1);
    const testTrain = new Float64Array(2 * n).fill(2);
    testTrain[1] = 2 - 1e-13;
    const r = predictFromKernels({ n, m: 2, train, testTrain, testDiag: [2, 2] }, [1, 2, 3, 4], { kernel: 'nngp', variance: true });
    expect(allFinite(r as PredictResult)).toBe(true);
    expect(r.conditionNumber).toBeGreaterThan(1e10);
    expect(r.warnings.join('\n')).toMatch(/ill-conditioned.*Suggested ridge ≈ 8.00e-10/s);
    expect(r.suggestedRidge).toBeCloseTo(8e-10, 15);
    expect(r.variance!.every((v) => v >= 0)).toBe(true);
  });
});

describe('bad input', () => {
  const run = (targets: unknown, options: object = {}) =>
    predict('arora2019:depth=2', X, targets as number[], T, { kernel: 'nngp', ...options });

  it('targets of the wrong length, non-finite values and bad labels are InputErrors naming the problem', async () => {
    await expect(run([1, 2, 3])).rejects.toThrow(/targets: 3 rows but there are 5 training inputs/);
    await expect(run([[1], [2], [3], [4], [5], [6]])).rejects.toThrow(InputError);
    await expect(run([1, 2, NaN, 4, 5])).rejects.toThrow(/targets: value at index 2 is NaN/);
    await expect(run([[1, 0], [2, 0], [3, 0], [4, Infinity], [5, 0]])).rejects.toThrow(/targets: value at row 3, column 1 is Infinity/);
    await expect(run([[1, 0], [2], [3, 0], [4, 0], [5, 0]])).rejects.toThrow(/targets: row 1 has 1 outputs but row 0 has 2/);
    await expect(run({ data: [1, 2, 3], shape: [5] })).rejects.toThrow(/3 values do not fill shape \[5\]/);
    await expect(run([0, 1, 2, 1.5, 0], { classes: 3 })).rejects.toThrow(/targets: label at index 3 is 1.5, not an integer class label/);
    await expect(run([0, 1, 2, 3, 0], { classes: 3 })).rejects.toThrow(/targets: label at index 3 is 3, outside 0 … 2/);
    await expect(run([0, 1, -1, 0, 0], { classes: 3 })).rejects.toThrow(/label at index 2 is -1/);
    await expect(run([0, 1, NaN, 0, 0], { classes: 3 })).rejects.toThrow(/label at index 2 is NaN/);
    await expect(run(Y2, { classes: 3 })).rejects.toThrow(/with classes, targets are integer labels/);
    await expect(run('12345')).rejects.toThrow(InputError);
  });

  it('bad options are InputErrors', async () => {
    await expect(run(Y1, { ridge: -1 })).rejects.toThrow(/ridge must be a finite number ≥ 0/);
    await expect(run(Y1, { times: [1] })).rejects.toThrow(/times apply to the NTK/);
    await expect(run(Y1, { kernel: 'ntk', variance: true })).rejects.toThrow(/variance is the NNGP posterior variance/);
    await expect(run(Y1, { kernel: 'ntk', times: [1, -2] })).rejects.toThrow(/times\[1\] is -2/);
    await expect(run(Y1, { kernel: 'ntk', times: [NaN] })).rejects.toThrow(/times\[0\] is NaN/);
    await expect(run(Y1, { kernel: 'ntk', times: [] })).rejects.toThrow(/non-empty/);
    await expect(run(Y1, { kernel: 'gp' })).rejects.toThrow(/kernel must be "nngp" or "ntk"/);
    await expect(run(Y1, { classes: 1.5 })).rejects.toThrow(/classes must be an integer ≥ 2/);
    await expect(predict('arora2019:depth=2', X, Y1, [[1, 2]], { kernel: 'nngp' })).rejects.toThrow(/test inputs have 2 features but training inputs have 3/);
  });
});

describe('WebGPU kernel blocks', () => {
  it('predictions from WebGPU kernels match the CPU ones to float32 accuracy (the solves stay float64)', async () => {
    await requireGpu();
    for (const options of [
      { kernel: 'nngp', ridge: 1e-4, variance: true },
      { kernel: 'ntk', ridge: 1e-4, times: [0.5, Infinity] },
    ] as const) {
      const gpu = await predict('arora2019:depth=3', X, Y2, T, { ...options, backend: 'webgpu' });
      const cpu = await predict('arora2019:depth=3', X, Y2, T, options);
      expect(gpu.backend).toBe('webgpu');
      expect(allFinite(gpu)).toBe(true);
      for (let i = 0; i < cpu.mean.length; i++) expectClose(gpu.mean[i]!, cpu.mean[i]!, 1e-4);
      if (cpu.variance) expectClose(gpu.variance!, cpu.variance, 1e-4);
    }
  });
});

describe('relativeRidge', () => {
  it('λ = r × the mean diagonal of K_XX: the same predictions as that absolute ridge; exclusive with ridge', async () => {
    for (const kind of ['nngp', 'ntk'] as const) {
      const a = await predict('arora2019:depth=3', X, Y2, T, { kernel: kind, relativeRidge: 1e-2 });
      const K = kernelCpu('arora2019:depth=3', X, null, { get: kind })[kind]!;
      const md = (K[0]! + K[6]! + K[12]! + K[18]! + K[24]!) / 5;
      expect(a.meanDiagonal).toBeCloseTo(md, 14);
      expect(a.ridge).toBeCloseTo(1e-2 * md, 15);
      expect(a.relativeRidge).toBe(1e-2);
      const b = await predict('arora2019:depth=3', X, Y2, T, { kernel: kind, ridge: a.ridge });
      expect(Array.from(a.mean[0]!)).toEqual(Array.from(b.mean[0]!));
      expect(b.relativeRidge).toBeUndefined();
      expect(b.meanDiagonal).toBe(a.meanDiagonal);
    }
    await expect(predict('arora2019:depth=3', X, Y2, T, { kernel: 'ntk', ridge: 1, relativeRidge: 1 })).rejects.toThrow(/ridge \(absolute\) or relativeRidge, not both/);
    await expect(predict('arora2019:depth=3', X, Y2, T, { kernel: 'ntk', relativeRidge: -1 })).rejects.toThrow(InputError);
  });
});
