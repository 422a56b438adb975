/**
 * Model selection for kernel regression: the depth, the kernel (NNGP or NTK) and the ridge that
 * score best in k-fold cross-validation, from one depth sweep.
 *
 * - The kernels of all training rows are computed once, with every depth of the sweep
 *   (`depths: "all"`, streamed by blocks; only the chosen depths are kept).
 * - Folds: training row i (in file order, or in the order of a seeded shuffle) is in fold i mod k.
 * - Ridges are relative: λ = r × the mean diagonal of K over the fold's training rows.
 * - Prediction: the kernel ridge regression mean K_vX (K_XX + λI)⁻¹ Y, for the NNGP (the posterior
 *   mean) and for the NTK (the t = ∞ gradient-flow mean Θ_vX (Θ_XX + λI)⁻¹ Y, as in predict.ts).
 *   Per fold, kernel and depth one symmetric eigendecomposition (solve/ridge-eigen.ts) serves every
 *   ridge; numerically singular systems are floored as in predict.ts.
 * - Score: the fold's mean squared error over its rows and all outputs (regression), or its
 *   accuracy (with `classes`: one-hot targets, argmax of the predictions); averaged over the folds.
 *   The best row has the lowest MSE (highest accuracy); ties go to the first row, in the order
 *   kernels (as given) × depths (ascending) × ridges (ascending).
 * - With `test`, the best setting is refitted on all training rows (λ = r × the mean diagonal over
 *   all of them) by `predictFromKernels`, exactly as `predict` with that relative ridge would.
 */
import { checkKernel, kernelBlocks, program, resolveBackend, toSpec, type Arch, type Backend, type BackendChoice, type KernelInput } from './api.js';
import { inputRows, isImageShaped } from './images.js';
import type { KernelKind } from './result.js';
import { InputError } from './errors.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';
import { Rng } from './mc/rng.js';
import { accuracy, COND_WARN, predictFromKernels, toTargets, type PredictKernel, type Targets } from './predict.js';
import { RidgeEigen } from './solve/ridge-eigen.js';
import { parseInfiniteDepthRef } from './spec/presets.js';

export interface SelectOptions {
  /** Kernels to try (default both, NNGP first). */
  kernels?: PredictKernel | readonly PredictKernel[];
  /** Depths of the arch's sweep to try (each ≤ the arch's depth), or "all" (default): every depth of the sweep. */
  depths?: readonly number[] | 'all';
  /** Relative ridges r ≥ 0: λ = r × the mean diagonal of the training kernel. */
  ridges: readonly number[];
  /** Number of folds, 2 … n (default 5). Row i (after the optional shuffle) is in fold i mod folds. */
  folds?: number;
  /** Targets are integer labels 0 … classes−1 (one-hot outputs; the score is the accuracy). */
  classes?: number;
  /** Seed of a permutation of the training rows before the folds are assigned (default: no shuffle). */
  shuffle?: number;
  /** Where the kernels are computed (default "cpu"); the solves are float64 on the CPU. */
  backend?: BackendChoice;
  /** Test inputs: the best setting is refitted on all training rows and predicts them. */
  test?: KernelInput;
  /** Test labels (needs `classes`): the test score is the accuracy. */
  testLabels?: ArrayLike<number>;
  /** Test targets (shaped like the training targets): the test score is the mean squared error. */
  testTargets?: Targets;
  /** Cap on the kept kernels, n²·depths·kernels·8 bytes (default 4 GiB). */
  maxBytes?: number;
  /** Cancels the computation (it rejects with an AbortError). */
  signal?: AbortSignal;
  /** Called after each (kernel, depth): done of total. */
  onProgress?: (p: { done: number; total: number }) => void;
}

export interface SelectRow {
  kernel: PredictKernel;
  depth: number;
  /** The relative ridge r. */
  ridge: number;
  /** Mean over the folds. */
  score: number;
  /** The score of each fold. */
  folds: number[];
  /** Largest condition number of K + λI over the folds (Infinity: singular). */
  condition: number;
}

export interface SelectBest {
  kernel: PredictKernel;
  depth: number;
  ridge: number;
  score: number;
}

export interface SelectTest {
  /** Test inputs. */
  m: number;
  /** The absolute ridge of the refit: r × the mean diagonal of K over all training rows. */
  lambda: number;
  /** "accuracy" (test labels), "mse" (test targets) or null (neither given). */
  metric: 'accuracy' | 'mse' | null;
  score: number | null;
  /** Row-major predictions, m × outputs. */
  mean: Float64Array;
  /** [m] for 1-D targets, else [m, outputs]. */
  shape: number[];
  conditionNumber: number;
  warnings: string[];
}

export interface SelectResult {
  metric: 'mse' | 'accuracy';
  rows: SelectRow[];
  best: SelectBest;
  /** Preset reference or spec name. */
  arch: string;
  /** Number of folds. */
  folds: number;
  /** Training rows. */
  n: number;
  /** Outputs per row (classes for labels). */
  outputs: number;
  kernels: PredictKernel[];
  depths: number[];
  ridges: number[];
  /** Seed of the shuffle, or null (file order). */
  shuffle: number | null;
  /** With a shuffle: order[i] is the training row at position i (fold i mod folds). */
  order?: number[];
  backend: Backend;
  seconds: number;
  warnings: string[];
  test?: SelectTest;
}

/** Default cap on the kept kernels (bytes). */
export const SELECT_MAX_BYTES = 2 ** 32;

interface CheckedSelect {
  kinds: PredictKernel[];
  depths: number[];
  taps: number[];
  ridges: number[];
  folds: number;
  classes: number | undefined;
  shuffle: number | null;
}

function checkKinds(k: SelectOptions['kernels']): PredictKernel[] {
  const list = k === undefined ? ['nngp', 'ntk'] : typeof k === 'string' ? [k] : Array.isArray(k) ? [...k] : null;
  if (!list || list.length === 0) throw new InputError('selectModel: kernels must be "nngp", "ntk" or a non-empty list of them');
  for (const x of list) if (x !== 'nngp' && x !== 'ntk') throw new InputError(`selectModel: unknown kernel ${JSON.stringify(x)} (use nngp or ntk)`);
  if (new Set(list).size !== list.length) throw new InputError(`selectModel: kernels repeat (${list.join(', ')})`);
  return list as PredictKernel[];
}

/** The relative ridges, checked (finite, ≥ 0), sorted and without repeats. */
function checkRidges(r: readonly number[] | undefined): number[] {
  if (!Array.isArray(r) || r.length === 0) throw new InputError('selectModel: ridges must be a non-empty list of relative ridges ≥ 0');
  for (const v of r) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InputError(`selectModel: ridge ${String(v)} is not a finite number ≥ 0`);
  }
  return [...new Set(r)].sort((a, b) => a - b);
}

function checkDepths(arch: Arch, d: SelectOptions['depths']): { depths: number[]; taps: number[] } {
  if (typeof arch === 'string' && parseInfiniteDepthRef(arch)) {
    throw new InputError(`selectModel: ${arch} is an infinite-depth limit, which has no depth sweep; give a finite depth (e.g. depth=50)`);
  }
  const sweep = program(arch).depths;
  const last = sweep[sweep.length - 1]!;
  let depths: number[];
  if (d === undefined || d === 'all') depths = [...sweep];
  else {
    if (!Array.isArray(d) || d.length === 0) throw new InputError('selectModel: depths must be "all" or a non-empty list of depths');
    for (const t of d) {
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0) throw new InputError(`selectModel: depth ${String(t)} is not an integer ≥ 0`);
      if (t > last) throw new InputError(`selectModel: depth ${t} exceeds the arch's depth ${last}`);
      if (!sweep.includes(t)) throw new InputError(`selectModel: depth ${t} is not in the arch's depth sweep (${sweep.join(', ')})`);
    }
    depths = [...new Set(d)].sort((a, b) => a - b);
  }
  return { depths, taps: depths.map((t) => sweep.indexOf(t)) };
}

function checkOptions(arch: Arch, n: number, options: SelectOptions): CheckedSelect {
  if (!options || typeof options !== 'object') throw new InputError('selectModel: options { ridges: [...] } are required');
  const kinds = checkKinds(options.kernels);
  const ridges = checkRidges(options.ridges);
  const folds = options.folds ?? 5;
  if (typeof folds !== 'number' || !Number.isInteger(folds) || folds < 2) throw new InputError(`selectModel: folds must be an integer ≥ 2, got ${String(folds)}`);
  if (folds > n) throw new InputError(`selectModel: ${folds} folds for ${n} training rows (folds must be ≤ the number of training rows)`);
  const shuffle = options.shuffle ?? null;
  if (shuffle !== null && !(typeof shuffle === 'number' && Number.isInteger(shuffle) && shuffle >= 0 && shuffle < 2 ** 32)) {
    throw new InputError(`selectModel: shuffle must be an integer seed in 0 … 2^32−1, got ${String(shuffle)}`);
  }
  const { depths, taps } = checkDepths(arch, options.depths);
  return { kinds, depths, taps, ridges, folds, classes: options.classes, shuffle };
}

/** Training order: identity, or a Fisher–Yates permutation from the seed. */
export function foldOrder(n: number, seed: number | null): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (seed === null) return order;
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('cancelled', 'AbortError');
}

/** A label for the report: the preset reference, the spec's name, or "custom spec". */
function archName(arch: Arch): string {
  if (typeof arch === 'string') return arch;
  return toSpec(arch).name ?? 'custom spec';
}

/**
 * k-fold cross-validation of kernel ridge regression over kernels × depths × relative ridges, from
 * one depth sweep; with `test`, the best setting refitted on all training rows and its test score.
 * Inputs are [N, d] matrices, or images {data, shape} [N, C, H, W] / [N, C, P] for a conv spec.
 */
export async function selectModel(arch: Arch, train: KernelInput, targets: Targets, options: SelectOptions): Promise<SelectResult> {
  const t0 = performance.now();
  // Rows for the count; the kernel takes the inputs as given (images for a conv spec).
  const X = inputRows(train, 'train');
  const images = isImageShaped(train);
  const xIn: KernelInput = images ? train : X;
  const n = X.rows;
  const o = checkOptions(arch, n, options);
  const Y = toTargets(targets, n, o.classes);
  const q = Y.cols;
  const oneD = o.classes === undefined && isOneD(targets);
  // Test inputs and their labels or targets: all checked before any kernel is computed.
  let T: Matrix2D | null = null;
  let tIn: KernelInput | null = null;
  let testLabels: Float64Array | null = null;
  let testY: Matrix2D | null = null;
  if (options.testLabels !== undefined && options.testTargets !== undefined) throw new InputError('selectModel: give testLabels or testTargets, not both');
  if ((options.testLabels !== undefined || options.testTargets !== undefined) && options.test === undefined) {
    throw new InputError('selectModel: testLabels / testTargets need the test inputs (test)');
  }
  if (options.test !== undefined) {
    T = inputRows(options.test, 'test');
    if (!images && !isImageShaped(options.test) && T.cols !== X.cols) throw new InputError(`test inputs have ${T.cols} features but training inputs have ${X.cols}`);
    tIn = images || isImageShaped(options.test) ? options.test : T;
    // What the arch checks of the pair (image channels and sizes) before any kernel is computed.
    checkKernel(arch, tIn, xIn, { get: o.kinds });
    if (options.testLabels !== undefined) {
      if (o.classes === undefined) throw new InputError('selectModel: testLabels need classes (use testTargets for regression targets)');
      const labels = options.testLabels;
      if (!labels || typeof labels.length !== 'number') throw new InputError('selectModel: testLabels must be an array of labels');
      if (labels.length !== T.rows) throw new InputError(`test labels: ${labels.length} labels for ${T.rows} test inputs`);
      // toTargets checks each label (integer in 0 … classes−1).
      toTargets(labels, T.rows, o.classes);
      testLabels = Float64Array.from(labels);
    }
    if (options.testTargets !== undefined) {
      const ty = toTargets(options.testTargets, T.rows, o.classes, 'test targets', 'test inputs');
      if (ty.cols !== q) throw new InputError(`test targets have ${ty.cols} outputs but the training targets have ${q}`);
      testY = ty;
    }
  }
  const maxBytes = options.maxBytes ?? SELECT_MAX_BYTES;
  const bytes = n * n * o.depths.length * o.kinds.length * 8;
  if (bytes > maxBytes) {
    throw new InputError(
      `selectModel: ${o.depths.length} depths × ${o.kinds.length} kernel(s) of ${n}×${n} kernels need ${(bytes / 2 ** 30).toFixed(2)} GiB ` +
        `(limit ${(maxBytes / 2 ** 30).toFixed(2)} GiB): choose fewer depths or one kernel`,
    );
  }

  // ---- The kernels of all training rows, every depth of the sweep in one pass; keep the chosen ones.
  const ctx = await resolveBackend(options.backend ?? 'cpu');
  const sweepTaps = program(arch).depths.length;
  const grams = new Map<PredictKernel, Float64Array[]>();
  for (const k of o.kinds) grams.set(k, o.depths.map(() => new Float64Array(n * n)));
  let backend: Backend = 'cpu';
  for await (const b of kernelBlocks(arch, xIn, null, {
    get: o.kinds as KernelKind[],
    depths: 'all',
    backend: ctx ? 'webgpu' : 'cpu',
    ...(ctx ? {} : { blockRows: cpuBlockRows(n, sweepTaps, o.kinds.length) }),
    ...(options.signal ? { signal: options.signal } : {}),
  })) {
    backend = b.backend;
    const plane = b.rows * b.cols;
    for (const k of o.kinds) {
      const src = b[k]!;
      o.taps.forEach((tap, c) => {
        const G = grams.get(k)![c]!;
        for (let i = 0; i < b.rows; i++) G.set(src.subarray(tap * plane + i * b.cols, tap * plane + (i + 1) * b.cols), (b.row0 + i) * n + b.col0);
      });
    }
  }

  // ---- Folds.
  const order = foldOrder(n, o.shuffle);
  const foldOf = new Int32Array(n);
  order.forEach((row, i) => (foldOf[row] = i % o.folds));
  const trainRows: Int32Array[] = [];
  const valRows: Int32Array[] = [];
  for (let f = 0; f < o.folds; f++) {
    const tr: number[] = [];
    const va: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? va : tr).push(i);
    trainRows.push(Int32Array.from(tr));
    valRows.push(Int32Array.from(va));
  }
  const labels = o.classes !== undefined ? argmaxRows(Y.data, n, q) : null;
  const foldY = trainRows.map((tr) => {
    const y = new Float64Array(tr.length * q);
    tr.forEach((r, i) => y.set(Y.data.subarray(r * q, (r + 1) * q), i * q));
    return y;
  });

  // ---- Cross-validation: per kernel, depth and fold one eigendecomposition for every ridge.
  const metric: 'mse' | 'accuracy' = o.classes !== undefined ? 'accuracy' : 'mse';
  const rows: SelectRow[] = [];
  const total = o.kinds.length * o.depths.length;
  let done = 0;
  for (const kind of o.kinds) {
    for (let di = 0; di < o.depths.length; di++) {
      aborted(options.signal);
      const K = grams.get(kind)![di]!;
      const scores = o.ridges.map(() => new Array<number>(o.folds));
      const conds = o.ridges.map(() => 0);
      for (let f = 0; f < o.folds; f++) {
        await tick(); // lets a cancellation (signal, SIGINT) through between decompositions
        aborted(options.signal);
        const tr = trainRows[f]!;
        const va = valRows[f]!;
        const nt = tr.length;
        const nv = va.length;
        // K over the fold's training rows (symmetrised as in predict.ts), and its mean diagonal.
        const A = new Float64Array(nt * nt);
        let diag = 0;
        for (let i = 0; i < nt; i++) {
          const ri = tr[i]! * n;
          for (let j = 0; j < i; j++) A[i * nt + j] = 0.5 * (K[ri + tr[j]!]! + K[tr[j]! * n + tr[i]!]!);
          A[i * nt + i] = K[ri + tr[i]!]!;
          diag += K[ri + tr[i]!]!;
        }
        const meanDiag = diag / nt;
        const eig = RidgeEigen.decompose(A, nt, foldY[f]!, q);
        const sols = eig.solve(o.ridges.map((r) => r * meanDiag));
        const Kv = new Float64Array(nv * nt);
        for (let v = 0; v < nv; v++) {
          const rv = va[v]! * n;
          for (let j = 0; j < nt; j++) Kv[v * nt + j] = K[rv + tr[j]!]!;
        }
        sols.forEach((s, ri) => {
          const pred = matmul(Kv, s.alpha, nv, nt, q);
          scores[ri]![f] = labels ? foldAccuracy(pred, nv, q, va, labels) : foldMse(pred, nv, q, va, Y.data);
          conds[ri] = Math.max(conds[ri]!, s.conditionNumber);
        });
      }
      o.ridges.forEach((ridge, ri) => {
        const folds = scores[ri]!;
        rows.push({ kernel: kind, depth: o.depths[di]!, ridge, score: folds.reduce((a, b) => a + b, 0) / o.folds, folds, condition: conds[ri]! });
      });
      options.onProgress?.({ done: ++done, total });
    }
  }
  let bestRow = rows[0]!;
  for (const r of rows) if (metric === 'mse' ? r.score < bestRow.score : r.score > bestRow.score) bestRow = r;
  const best: SelectBest = { kernel: bestRow.kernel, depth: bestRow.depth, ridge: bestRow.ridge, score: bestRow.score };

  const warnings: string[] = [];
  const illRows = rows.filter((r) => r.condition > COND_WARN);
  if (illRows.length > 0) {
    warnings.push(
      `${illRows.length} of ${rows.length} settings had a fold system K + λI with condition number above ${COND_WARN.toExponential(0)} ` +
        `(up to ${fmtCond(Math.max(...illRows.map((r) => r.condition)))}; the smallest ridges or deep kernels close to a constant matrix): their scores carry round-off` +
        (illRows.some((r) => r.condition > 1e14) ? ', and the numerically singular ones were solved with floored eigenvalues as in predict' : ''),
    );
  }
  if (illRows.includes(bestRow)) warnings.push('the best setting is among them: consider larger ridges');

  // ---- Refit the best setting on all training rows and predict the test inputs.
  let test: SelectTest | undefined;
  if (T) {
    const tap = o.taps[o.depths.indexOf(best.depth)]!;
    const m = T.rows;
    const Ks = new Float64Array(m * n);
    for await (const b of kernelBlocks(arch, tIn!, xIn, {
      get: best.kernel,
      depths: 'all',
      backend: backend,
      ...(backend === 'cpu' ? { blockRows: cpuBlockRows(Math.max(m, n), sweepTaps, 1) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      const src = b[best.kernel]!;
      const plane = b.rows * b.cols;
      for (let i = 0; i < b.rows; i++) Ks.set(src.subarray(tap * plane + i * b.cols, tap * plane + (i + 1) * b.cols), (b.row0 + i) * n + b.col0);
    }
    const Kxx = grams.get(best.kernel)![o.depths.indexOf(best.depth)]!;
    const fit = predictFromKernels({ n, m, train: Kxx, testTrain: Ks }, targets, {
      kernel: best.kernel,
      relativeRidge: best.ridge,
      ...(o.classes !== undefined ? { classes: o.classes } : {}),
    });
    const mean = fit.mean[0]!;
    let tMetric: SelectTest['metric'] = null;
    let tScore: number | null = null;
    if (testLabels) {
      tMetric = 'accuracy';
      tScore = accuracy(mean, [m, q], testLabels);
    } else if (testY) {
      tMetric = 'mse';
      tScore = foldMse(mean, m, q, Int32Array.from({ length: m }, (_, i) => i), testY.data);
    }
    test = { m, lambda: fit.ridge, metric: tMetric, score: tScore, mean, shape: oneD ? [m] : [m, q], conditionNumber: fit.conditionNumber, warnings: fit.warnings };
  }

  return {
    metric,
    rows,
    best,
    arch: archName(arch),
    folds: o.folds,
    n,
    outputs: q,
    kernels: o.kinds,
    depths: o.depths,
    ridges: o.ridges,
    shuffle: o.shuffle,
    ...(o.shuffle !== null ? { order } : {}),
    backend,
    seconds: (performance.now() - t0) / 1000,
    warnings,
    ...(test ? { test } : {}),
  };
}

/** Targets given as one value per row (a vector, or { shape: [n] }). */
function isOneD(t: Targets): boolean {
  if (Array.isArray(t)) return !(t.length > 0 && Array.isArray(t[0]));
  if (t && typeof t === 'object' && 'shape' in t && Array.isArray((t as { shape: unknown }).shape)) return (t as { shape: readonly number[] }).shape.length === 1;
  return true;
}

/** CPU blocks hold every depth of the sweep: keep one block near 64 MiB. */
function cpuBlockRows(n: number, taps: number, kinds: number): number {
  return Math.max(1, Math.min(n, Math.floor(Math.sqrt(2 ** 26 / (8 * taps * kinds)))));
}

/** (r × c) · (c × q), row-major. */
function matmul(A: Float64Array, B: Float64Array, r: number, c: number, q: number): Float64Array {
  const out = new Float64Array(r * q);
  for (let i = 0; i < r; i++) {
    const o = i * q;
    for (let j = 0; j < c; j++) {
      const a = A[i * c + j]!;
      const bo = j * q;
      for (let t = 0; t < q; t++) out[o + t] = out[o + t]! + a * B[bo + t]!;
    }
  }
  return out;
}

/** Mean squared error of rows `rows` (predictions row v ↔ target row rows[v]) over all outputs. */
function foldMse(pred: Float64Array, nv: number, q: number, rows: Int32Array, Y: Float64Array): number {
  let s = 0;
  for (let v = 0; v < nv; v++) {
    const yo = rows[v]! * q;
    for (let c = 0; c < q; c++) {
      const d = pred[v * q + c]! - Y[yo + c]!;
      s += d * d;
    }
  }
  return s / (nv * q);
}

/** Fraction of rows whose argmax (first maximum) is the label. */
function foldAccuracy(pred: Float64Array, nv: number, q: number, rows: Int32Array, labels: Int32Array): number {
  let hits = 0;
  for (let v = 0; v < nv; v++) {
    let best = 0;
    for (let c = 1; c < q; c++) if (pred[v * q + c]! > pred[v * q + best]!) best = c;
    if (best === labels[rows[v]!]) hits++;
  }
  return hits / nv;
}

/** The label of each one-hot row. */
function argmaxRows(Y: Float64Array, n: number, q: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < q; c++) if (Y[i * q + c]! > Y[i * q + best]!) best = c;
    out[i] = best;
  }
  return out;
}

const fmtCond = (x: number): string => (Number.isFinite(x) ? x.toExponential(1) : '∞');
