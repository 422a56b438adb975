/**
 * `analyze dynamics` (issue 15, "Training dynamics"): full-batch GD of sampled finite networks
 * (`trainNetwork`) over depths × widths × seeds. At checkpoints 0, 1, S/10, 2S/10, …, S (rounded):
 * the drift of the empirical NTK, λ_min/λ_max, alignment and, with test inputs, the test gap to the
 * time-matched linearised models with Θ₀ and with Θ_∞ (`mc/linearised.ts`, from the network's own f₀,
 * which the antisymmetric init makes 0). Per run: the initial rate and ‖Θ₀ − Θ_∞‖/‖Θ_∞‖ against the
 * analytic kernel (kernelCpu of the same spec: the empirical mean over seeds is that kernel,
 * test/empirical.test.ts). Fits: log drift against log width at the common time t* (the earliest final
 * t = η·steps over the runs, each run's drift interpolated log–log between checkpoints) and at each
 * run's final step, log drift against log t, the initial rate (central difference, C¹ activations
 * only: the activation registry's `isSmooth`), init fluctuation and gaps against log width, and with
 * `samples` the width threshold of λ_min and its exponent against the number of samples.
 * Step η: trainNetwork's default n/λ_max(Θ₀) in its loss (1/2n)‖f − y‖², unless `lr` is given.
 * The training runs on the CPU (float64) or, with backend "webgpu", on the device (`trainSteps`
 * on src/gpu/train.ts); the rest (Θ_∞, eigenvalues, fits) is float64 on the host either way, defined
 * once as steps (mc/drive.ts) that both run.
 */
import type { AnalysisReport, Cell } from './report.js';
import { kernelCpu, type Arch } from '../api.js';
import { InputError } from '../errors.js';
import { checkTrainable, kernelAfterStepSteps, trainSteps, TrainingDiverged, type TrainInit } from '../mc/train.js';
import { runAsync, runSync, type Steps } from '../mc/drive.js';
import { isSmooth, wgslPointwise } from '../activations/registry.js';
import { activationsOf } from '../gpu/empirical.js';
import { linearisedTestPredictions } from '../mc/linearised.js';
import { symmetricEigenvalues } from '../solve/symmetric-eigen.js';
import { empiricalSpec, sampleNetwork } from '../empirical.js';
import { toMatrix, type Matrix2D, type MatrixInput } from '../matrix.js';
import { presetRefAtDepth } from '../spec/presets.js';
import type { ResolvedSpec, Spec } from '../spec/types.js';

export interface DynamicsRow {
  /** The arch's depth parameter (with --depths; else null). */
  depth: number | null;
  width: number;
  seed: number;
  step: number;
  t: number;
  loss: number;
  drift: number;
  driftTest: number | null;
  lambdaMin: number;
  lambdaMax: number;
  alignment: number;
  layerDrift: number[];
  /** ‖f_t − f_lin,t‖/‖f_t‖ on the test inputs against the time-matched linearised model with Θ₀ (null without test inputs or where f_t = 0). */
  linGap0: number | null;
  /** The same with Θ_∞, webntk's analytic NTK, from the same f₀ (0 with the antisymmetric init). */
  linGapInf: number | null;
}

export interface DynamicsRun {
  depth: number | null;
  width: number;
  seed: number;
  lr: number;
  /**
   * ‖dΘ/dt|₀‖_F/‖Θ₀‖_F of gradient flow, by the central difference ‖Θ(θ₀ − ε∇L) − Θ(θ₀ + ε∇L)‖_F/(2ε‖Θ₀‖_F)
   * (one step of ±ε from the same initial network; error O(ε²)), ε = 10⁻³·η on the CPU and 0.1·η on
   * WebGPU (f32 cannot resolve a smaller difference). Null for activations not known to be C¹ and for
   * the antisymmetric init (where it is exactly 0).
   */
  initialRate: number | null;
  /** ‖Θ₀ − Θ_∞‖_F/‖Θ_∞‖_F on the training Gram, Θ_∞ the analytic NTK (kernelCpu) of the same spec. */
  initFluctuation: number;
}

/** One network of the width-threshold search: trained on the first `samples` training points. */
export interface ThresholdRun {
  depth: number | null;
  samples: number;
  width: number;
  seed: number;
  /** min over checkpoints of λ_min(Θ_t)/λ_min(Θ₀) (null when λ_min(Θ₀) ≤ 0 or training diverged: then the width fails). */
  minRatio: number | null;
  pass: boolean;
}

export interface WidthThreshold {
  samples: number[];
  /** Per sample count, the smallest width of --widths whose every seed keeps λ_min(Θ_t) ≥ λ_min(Θ₀)/2 (null: none does). */
  widths: (number | null)[];
  /** Slope of log threshold width against log samples (null with fewer than two thresholds found). */
  exponent: number | null;
}

export interface DynamicsFit {
  /**
   * The common gradient-flow time of the drift fits: the smallest final t = η·steps over the fit's
   * runs (η = n/λ_max(Θ₀) differs by width and seed, so their final steps are at different t).
   */
  t: number | null;
  /**
   * Slope of log final drift against log width over all runs, each run at its own final step
   * (t = η·steps): the pinned `fit.driftSlope` of `analyze dynamics` (issue 15).
   */
  driftSlope: number | null;
  /**
   * Slope of log drift(t*) against log width over all runs, drift(t*) interpolated per run linearly
   * in log drift against log t between its checkpoints (steps > 0): widths compared at equal t, which
   * is what the lazy-training theory's −1 is about.
   */
  driftSlopeAtT: number | null;
  /** Slope of log drift(t*) against log width of the per-width means over seeds. */
  driftSlopeSeedMean: number | null;
  /** Per seed, the slope of log drift(t*) against log width. */
  perSeed: { seed: number; slope: number | null }[];
  /** Slope of log drift against log t, pooled over runs and checkpoints with step > 0 (theory ≈ 1 at short times). */
  driftTimeSlope: number | null;
  /** Slope of log initialRate against log width (null where the rates are null). */
  initialRateSlope: number | null;
  /** Slope of log initFluctuation against log width (theory: −½). */
  initFluctuationSlope: number | null;
  /** Slopes of log final linGap0 / linGapInf against log width. */
  linGap0Slope: number | null;
  linGapInfSlope: number | null;
  widthThreshold: WidthThreshold | null;
}

export interface DynamicsResult {
  rows: DynamicsRow[];
  runs: DynamicsRun[];
  thresholdRuns: ThresholdRun[];
  /**
   * Over all rows (with several depths, t* is the earliest final time over every depth; the pooled
   * driftSlope is the mean of the per-depth ones, as every depth has the same widths).
   */
  fit: DynamicsFit & { perDepth: (DynamicsFit & { depth: number })[] | null };
  notes: string[];
}

export interface DynamicsOptions {
  widths: number[];
  seeds: number;
  steps: number;
  lr?: number;
  xTest?: MatrixInput;
  /** "standard" (default) or "antisymmetric" (f₀ = 0; see trainNetwork). */
  init?: TrainInit;
  /** Values of the arch's depth parameter (`archAtDepth`); default: the arch as given. */
  depths?: number[];
  /** Sample counts of the width-threshold search (the first m training points); default: none. */
  samples?: number[];
  /** Where the networks are trained: "cpu" (float64, the default) or "webgpu" (f32; then the result is a Promise). */
  backend?: 'cpu' | 'webgpu';
}

/** Steps ±ε of the initial rate's central difference, in units of η: float64 resolves 10⁻³·η, f32 only about 0.1·η. */
export const RATE_EPS = { cpu: 1e-3, webgpu: 0.1 } as const;

/** The activations of a spec's sampled network (one unit wide: only its layers matter). */
function activationsOfSpec(spec: ResolvedSpec, inputDim: number): ReturnType<typeof activationsOf> {
  return activationsOf(sampleNetwork(spec, inputDim, 1, 0).nodes);
}

/**
 * ‖dΘ/dt|₀‖_F/‖Θ₀‖_F of the network sampled at (width, seed) under gradient flow on (X, y) with the
 * loss (1/2n)‖f − y‖², by the central difference of Θ after one gradient-descent step of +eps and of
 * −eps from the same initialisation (O(eps²) error), normalised by Θ₀ of the same network.
 */
export function* initialRateSteps(arch: Arch, x: MatrixInput, y: ArrayLike<number>, o: { width: number; seed: number; eps: number; backend?: 'cpu' | 'webgpu' }): Steps<number> {
  if (!(o.eps > 0) || !Number.isFinite(o.eps)) throw new InputError(`eps must be a finite number > 0, got ${o.eps}`);
  const at = (lr: number) => kernelAfterStepSteps(arch, x, y, { width: o.width, seed: o.seed, lr, backend: o.backend });
  const k0 = yield* at(0);
  const plus = yield* at(o.eps);
  const minus = yield* at(-o.eps);
  return frob(plus, minus) / (2 * o.eps * frob(k0));
}

/** `initialRateSteps` on the CPU (float64) or on WebGPU (the steps in f32; a Promise). */
export function initialRate(arch: Arch, x: MatrixInput, y: ArrayLike<number>, o: { width: number; seed: number; eps: number; backend: 'webgpu' }): Promise<number>;
export function initialRate(arch: Arch, x: MatrixInput, y: ArrayLike<number>, o: { width: number; seed: number; eps: number; backend?: 'cpu' }): number;
export function initialRate(arch: Arch, x: MatrixInput, y: ArrayLike<number>, o: { width: number; seed: number; eps: number; backend?: 'cpu' | 'webgpu' }): number | Promise<number> {
  return o.backend === 'webgpu' ? runAsync(initialRateSteps(arch, x, y, o)) : runSync(initialRateSteps(arch, x, y, o));
}

/** Least-squares slope of ln y on ln x (null with fewer than two distinct x). */
export function logSlope(x: number[], y: number[]): number | null {
  const pts = x.map((v, i) => [Math.log(v), Math.log(y[i]!)] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (new Set(pts.map((p) => p[0])).size < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [a, b] of pts) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
  }
  return sxy / sxx;
}

const frob = (a: ArrayLike<number>, b?: ArrayLike<number>): number => {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (a[e]! - (b ? b[e]! : 0)) ** 2;
  return Math.sqrt(s);
};

/** ‖f − g‖/‖f‖, null where f = 0 (the antisymmetric init at step 0). */
const relGap = (f: ArrayLike<number>, g: ArrayLike<number>): number | null => {
  const d = frob(f);
  return d > 0 ? frob(f, g) / d : null;
};

/** Kernel-target alignment ⟨Θ, yyᵀ⟩/(‖Θ‖_F‖y‖²). */
function alignment(K: Float64Array, y: ArrayLike<number>, n: number): number {
  let num = 0;
  let kk = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) {
    yy += y[i]! ** 2;
    for (let j = 0; j < n; j++) {
      num += K[i * n + j]! * y[i]! * y[j]!;
      kk += K[i * n + j]! ** 2;
    }
  }
  return kk > 0 && yy > 0 ? num / (Math.sqrt(kk) * yy) : 0;
}

function extremes(K: Float64Array, n: number): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of symmetricEigenvalues(K, n)) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { lo, hi };
}

/**
 * The arch with its depth parameter set to L: a preset reference's `depth`, or for a spec the count
 * of its one top-level `repeat` layer (a residual α = alpha0·L^(−gamma) follows, since L counts blocks).
 */
export function archAtDepth(arch: Arch, L: number): Arch {
  if (typeof arch === 'string') return presetRefAtDepth(arch, L);
  const spec = JSON.parse(JSON.stringify(arch)) as Spec;
  const repeats = spec.layers.filter((l) => l.type === 'repeat');
  if (repeats.length !== 1) {
    throw new InputError(`--depths needs a preset with a depth parameter or a spec with exactly one top-level "repeat" layer (its count is the depth); this spec has ${repeats.length}`);
  }
  (repeats[0] as { count: number }).count = L;
  return spec;
}

const marksFor = (steps: number): number[] =>
  [...new Set([0, ...(steps >= 1 ? [1] : []), ...Array.from({ length: 10 }, (_, i) => Math.round(((i + 1) * steps) / 10))])].sort((a, b) => a - b);

/** First m rows of a matrix. */
const firstRows = (X: Matrix2D, m: number): MatrixInput => ({ data: X.data.subarray(0, m * X.cols), shape: [m, X.cols] });

interface DepthSweep {
  notes: string[];
  rows: DynamicsRow[];
  runs: DynamicsRun[];
  thresholdRuns: ThresholdRun[];
  fit: DynamicsFit;
}

/**
 * drift(t) of one run (its rows with step > 0, ascending), linear in log drift against log t between
 * checkpoints (beyond the first or last, the nearest interval's line).
 */
export function driftAt(rows: readonly { t: number; drift: number }[], t: number): number {
  const pts = rows.map((r) => [Math.log(r.t), Math.log(r.drift)] as const);
  if (pts.length === 1) return rows[0]!.drift;
  const lt = Math.log(t);
  let i = 0;
  while (i < pts.length - 2 && lt > pts[i + 1]![0]) i++;
  const [a, b] = [pts[i]!, pts[i + 1]!];
  if (lt === b[0]) return Math.exp(b[1]);
  return Math.exp(a[1] + ((b[1] - a[1]) * (lt - a[0])) / (b[0] - a[0]));
}

function fitOf(rows: DynamicsRow[], runs: DynamicsRun[], o: DynamicsOptions, widthThreshold: WidthThreshold | null): DynamicsFit {
  const finals = rows.filter((r) => r.step === o.steps);
  // One entry per run (depth, width, seed): its drift at the common time t* = the earliest final t.
  const tStar = finals.length && o.steps > 0 ? Math.min(...finals.map((r) => r.t)) : null;
  const atT = finals.map((f) => ({
    width: f.width,
    seed: f.seed,
    drift: tStar === null ? NaN : driftAt(rows.filter((r) => r.depth === f.depth && r.width === f.width && r.seed === f.seed && r.step > 0).sort((a, b) => a.t - b.t), tStar),
  }));
  const perSeed = Array.from({ length: o.seeds }, (_, seed) => {
    const f = atT.filter((r) => r.seed === seed);
    return { seed, slope: logSlope(f.map((r) => r.width), f.map((r) => r.drift)) };
  });
  const widths = [...new Set(atT.map((r) => r.width))];
  const means = widths.map((w) => {
    const f = atT.filter((r) => r.width === w);
    return f.reduce((s, r) => s + r.drift, 0) / f.length;
  });
  const gapSlope = (key: 'linGap0' | 'linGapInf') => {
    const f = finals.filter((r) => r[key] !== null);
    return logSlope(f.map((r) => r.width), f.map((r) => r[key]!));
  };
  const moving = rows.filter((r) => r.step > 0);
  const rated = runs.filter((r) => r.initialRate !== null);
  return {
    t: tStar,
    driftSlope: logSlope(finals.map((r) => r.width), finals.map((r) => r.drift)),
    driftSlopeAtT: logSlope(atT.map((r) => r.width), atT.map((r) => r.drift)),
    driftSlopeSeedMean: logSlope(widths, means),
    perSeed,
    driftTimeSlope: logSlope(moving.map((r) => r.t), moving.map((r) => r.drift)),
    initialRateSlope: rated.length ? logSlope(rated.map((r) => r.width), rated.map((r) => r.initialRate!)) : null,
    initFluctuationSlope: logSlope(runs.map((r) => r.width), runs.map((r) => r.initFluctuation)),
    linGap0Slope: gapSlope('linGap0'),
    linGapInfSlope: gapSlope('linGapInf'),
    widthThreshold,
  };
}

/** The smallest width per sample count that keeps λ_min(Θ_t) ≥ λ_min(Θ₀)/2 at every checkpoint, for every seed. */
function* widthThreshold(spec: ResolvedSpec, depth: number | null, X: Matrix2D, y: ArrayLike<number>, o: DynamicsOptions, runs: ThresholdRun[]): Steps<WidthThreshold> {
  const samples = o.samples!;
  const widths = [...o.widths].sort((a, b) => a - b);
  const found: (number | null)[] = [];
  const marks = marksFor(o.steps);
  for (const m of samples) {
    let hit: number | null = null;
    // Ascending widths, stopping at the first that passes (wider nets are assumed to pass too).
    for (const width of widths) {
      let all = true;
      for (let seed = 0; seed < o.seeds; seed++) {
        let minRatio: number | null = null;
        try {
          const r = yield* trainSteps(spec, firstRows(X, m), Array.from(y).slice(0, m), { width, seed, steps: o.steps, lr: o.lr, checkpoints: marks, init: o.init, backend: o.backend });
          const l0 = extremes(r.checkpoints[0]!.ntk, m).lo;
          if (l0 > 0) minRatio = Math.min(...r.checkpoints.map((c) => extremes(c.ntk, m).lo)) / l0;
        } catch (e) {
          // A width too narrow to train at this step fails the criterion (minRatio null).
          if (!(e instanceof TrainingDiverged)) throw e;
        }
        const pass = minRatio !== null && minRatio >= 0.5;
        runs.push({ depth, samples: m, width, seed, minRatio, pass });
        all &&= pass;
      }
      if (all) {
        hit = width;
        break;
      }
    }
    found.push(hit);
  }
  const ok = samples.map((m, i) => [m, found[i]] as const).filter((p): p is readonly [number, number] => p[1] !== null);
  return { samples, widths: found, exponent: logSlope(ok.map((p) => p[0]), ok.map((p) => p[1])) };
}

/** One depth's sweep; `smooth`: every activation of `spec` is C¹ (the registry's isSmooth), so rates are measured. */
function* sweepDepth(spec: ResolvedSpec, smooth: boolean, depth: number | null, X: Matrix2D, y: ArrayLike<number>, o: DynamicsOptions): Steps<DepthSweep> {
  const n = X.rows;
  const asym = o.init === 'antisymmetric';
  const marks = marksFor(o.steps);
  const T = o.xTest === undefined ? null : toMatrix(o.xTest, 'xTest');
  // Θ_∞ on the training Gram and the test × train block, normalised like the empirical Θ.
  const inf = kernelCpu(spec, X, null, { get: 'ntk' }).ntk!;
  const infTest = T ? kernelCpu(spec, T, X, { get: 'ntk' }).ntk! : null;
  const infMax = extremes(inf, n).hi;
  const rows: DynamicsRow[] = [];
  const runs: DynamicsRun[] = [];
  const unstable: number[] = [];
  for (const width of o.widths) {
    for (let seed = 0; seed < o.seeds; seed++) {
      const r = yield* trainSteps(spec, X, y, { width, seed, steps: o.steps, lr: o.lr, checkpoints: marks, xTest: T ?? undefined, init: o.init, backend: o.backend });
      const c0 = r.checkpoints[0]!;
      const raw = (K: Float64Array) => K.map((v) => v * r.tNorm);
      // The time-matched linearised models (discrete GD, the network's own step η), from the network's f₀.
      const lin = (K: Float64Array, KTest: Float64Array) =>
        linearisedTestPredictions({ K: raw(K), KTest: raw(KTest), f0: c0.predictions, f0Test: c0.predictionsTest!, y, lr: r.lr }, marks);
      const lin0 = T ? lin(c0.ntk, c0.ntkTest!) : null;
      const linInf = T ? lin(inf, infTest!) : null;
      // The Θ_∞ iterate at the network's step diverges where η·λ_max(Θ_∞)/n ≥ 2 (λ_max(Θ₀) set η).
      if (T && (r.lr * infMax * r.tNorm) / n >= 2) unstable.push(width);
      const base0 = frob(c0.ntk);
      r.checkpoints.forEach((c, i) => {
        const { lo, hi } = extremes(c.ntk, n);
        rows.push({
          depth,
          width,
          seed,
          step: c.step,
          t: c.t,
          loss: c.loss,
          drift: c.drift,
          driftTest: c.driftTest ?? null,
          lambdaMin: lo,
          lambdaMax: hi,
          alignment: alignment(c.ntk, y, n),
          layerDrift: c.layers.map((L, l) => frob(L, c0.layers[l]!) / base0),
          linGap0: lin0 ? relGap(c.predictionsTest!, lin0[i]!) : null,
          linGapInf: linInf ? relGap(c.predictionsTest!, linInf[i]!) : null,
        });
      });
      const rate = smooth && !asym ? yield* initialRateSteps(spec, X, y, { width, seed, eps: RATE_EPS[o.backend ?? 'cpu'] * r.lr, backend: o.backend }) : null;
      runs.push({ depth, width, seed, lr: r.lr, initialRate: rate, initFluctuation: frob(c0.ntk, inf) / frob(inf) });
    }
  }
  const thresholdRuns: ThresholdRun[] = [];
  const wt = o.samples ? yield* widthThreshold(spec, depth, X, y, o, thresholdRuns) : null;
  const notes = unstable.length
    ? [`linGapInf${depth === null ? '' : ` (depth ${depth})`}: at width ${[...new Set(unstable)].join(', ')} the step η set by λ_max(Θ₀) gives η·λ_max(Θ_∞)/n ≥ 2, so the Θ_∞ model's iterate diverges and its gap is large.`]
    : [];
  return { rows, runs, thresholdRuns, fit: fitOf(rows, runs, o, wt), notes };
}

/**
 * Trains sampled networks of `arch` on (x, y) over depths × widths × seeds and measures their NTK
 * during training: float64 on the CPU, or (backend "webgpu", a Promise) the training on the device.
 */
export function dynamicsSweep(arch: Arch, x: MatrixInput, y: ArrayLike<number>, n: number, o: DynamicsOptions & { backend: 'webgpu' }): Promise<DynamicsResult>;
export function dynamicsSweep(arch: Arch, x: MatrixInput, y: ArrayLike<number>, n: number, o: DynamicsOptions & { backend?: 'cpu' }): DynamicsResult;
export function dynamicsSweep(arch: Arch, x: MatrixInput, y: ArrayLike<number>, n: number, o: DynamicsOptions): DynamicsResult | Promise<DynamicsResult> {
  return o.backend === 'webgpu' ? runAsync(dynamicsSteps(arch, x, y, n, o)) : runSync(dynamicsSteps(arch, x, y, n, o));
}

function* dynamicsSteps(arch: Arch, x: MatrixInput, y: ArrayLike<number>, n: number, o: DynamicsOptions): Steps<DynamicsResult> {
  const X = toMatrix(x, 'x');
  if (X.rows !== n) throw new InputError(`x has ${X.rows} rows for n = ${n}`);
  for (const m of o.samples ?? []) {
    if (!Number.isInteger(m) || m < 2 || m > n) throw new InputError(`samples must be whole numbers from 2 to the ${n} training points, got ${m}`);
  }
  if (o.init !== undefined && o.init !== 'standard' && o.init !== 'antisymmetric') throw new InputError(`init must be "standard" or "antisymmetric", got "${String(o.init)}"`);
  if (o.backend !== undefined && o.backend !== 'cpu' && o.backend !== 'webgpu') throw new InputError(`unknown backend "${String(o.backend)}" for training (available: cpu, webgpu)`);
  const depths = o.depths ?? [null];
  // Every depth's arch is built (and checked) before any network is trained.
  const specs = depths.map((L) => empiricalSpec(L === null ? arch : archAtDepth(arch, L)));
  specs.forEach(checkTrainable);
  const acts = specs.map((s) => activationsOfSpec(s, X.cols));
  // On WebGPU, an activation without WGSL is refused before any network is trained.
  if (o.backend === 'webgpu') acts.flat().forEach((act) => wgslPointwise(act));
  const smooths = acts.map((a) => a.every(isSmooth));
  const parts: DepthSweep[] = [];
  for (const [i, spec] of specs.entries()) parts.push(yield* sweepDepth(spec, smooths[i]!, depths[i]!, X, y, o));
  const rows = parts.flatMap((p) => p.rows);
  const runs = parts.flatMap((p) => p.runs);
  const smooth = smooths.every(Boolean);
  const pooled = fitOf(rows, runs, o, parts.length === 1 ? parts[0]!.fit.widthThreshold : null);
  const notes: string[] = [];
  if (o.init === 'antisymmetric') notes.push('initialRate is null: the antisymmetric initialisation makes dΘ/dt|₀ = 0 exactly; measure rates on the standard one.');
  else if (!smooth) notes.push('initialRate is null: the spec has an activation not known to be C¹ (ReLU-like, or a numerical one without smooth: true), for which dΘ/dt need not exist; rates need smooth activations (gelu, tanh, softplus, erf, sigmoid).');
  else notes.push(`initialRate: central difference of Θ after one step of ±ε from the same initialisation, ε = ${RATE_EPS[o.backend ?? 'cpu']}·η (${o.backend === 'webgpu' ? 'f32 cannot resolve a smaller difference' : 'float64'}).`);
  if (o.steps > 0) {
    notes.push(
      `driftSlopeAtT is taken at the common time t* = ${f3(pooled.t)} (the earliest final t = η·steps over the runs; η = n/λ_max(Θ₀) differs by width), each run's drift interpolated in log–log between checkpoints, so widths are compared at equal t (as the theory's −1 is); driftSlope is the slope of log final drift (each run at its own t) against log width.`,
    );
  }
  if (o.xTest === undefined) notes.push('linGap0 and linGapInf need test inputs (--test).');
  notes.push(...parts.flatMap((p) => p.notes));
  if (o.samples) {
    notes.push(
      'widthThreshold: λ_min(Θ_t) is checked at the checkpoints (steps 0, 1, S/10, …, S), not at every step; widths are tried in ascending order and the first that passes for every seed is taken. ' +
        'Li–Luo–Yip prove width ∝ n³ (ResNet) or n⁴ (MLP) sufficient, not necessary: a small-n exponent need not match.',
    );
  }
  const perDepth = o.depths ? parts.map((p, i) => ({ depth: o.depths![i]!, ...p.fit })) : null;
  return { rows, runs, thresholdRuns: parts.flatMap((p) => p.thresholdRuns), fit: { ...pooled, perDepth }, notes };
}

const f3 = (v: number | null) => (v === null ? 'n/a' : Number(v.toPrecision(3)).toString());

export function dynamicsReport(r: DynamicsResult, parameters: Record<string, unknown>): AnalysisReport {
  const keys = [...new Set(r.rows.map((x) => `${x.depth}|${x.width}`))];
  const series = keys.map((k) => {
    const rs = r.rows.filter((x) => `${x.depth}|${x.width}` === k && x.seed === 0 && x.step > 0);
    const { depth, width } = rs[0] ?? r.rows.find((x) => `${x.depth}|${x.width}` === k)!;
    return { name: depth === null ? `n = ${width}` : `L = ${depth}, n = ${width}`, x: rs.map((x) => x.t), y: rs.map((x) => Math.max(x.drift, 1e-300)), mark: 'line+points' as const };
  });
  const na = (v: number | null) => v ?? 'n/a';
  const rows: Cell[][] = r.rows.map((x) => [na(x.depth), x.width, x.seed, x.step, x.t, x.loss, x.drift, na(x.driftTest), x.lambdaMin, x.lambdaMax, x.alignment, na(x.linGap0), na(x.linGapInf)]);
  const wt = r.fit.widthThreshold;
  return {
    analysis: 'dynamics',
    parameters,
    data: r,
    top: { rows: r.rows, fit: r.fit, runs: r.runs, notes: r.notes },
    table: { columns: ['depth', 'width', 'seed', 'step', 't', 'loss', 'drift', 'drift_test', 'lambda_min', 'lambda_max', 'alignment', 'lin_gap_0', 'lin_gap_inf'], rows },
    figure: {
      title: 'NTK drift during gradient descent (seed 0)',
      panels: [{ title: '‖Θ_t − Θ₀‖_F/‖Θ₀‖_F', x: { title: 't = η·step', scale: 'log' }, y: { title: 'drift', scale: 'log' }, series }],
    },
    summary: [
      `drift slope (log drift at the common t* = ${f3(r.fit.t)} vs log width): ${f3(r.fit.driftSlopeAtT)} (all seeds), ${f3(r.fit.driftSlopeSeedMean)} (seed means); theory ≈ −1`,
      `drift slope at each run's final step (own t; fit.driftSlope): ${f3(r.fit.driftSlope)}; drift against t (log–log, all checkpoints): ${f3(r.fit.driftTimeSlope)} (theory ≈ 1 at short times)`,
      `initial rate ‖dΘ/dt|₀‖/‖Θ₀‖ slope against width: ${f3(r.fit.initialRateSlope)}`,
      `init fluctuation ‖Θ₀ − Θ_∞‖/‖Θ_∞‖ slope against width: ${f3(r.fit.initFluctuationSlope)}; theory −½`,
      `final test gap to the linearised model, slope against width: ${f3(r.fit.linGap0Slope)} (Θ₀), ${f3(r.fit.linGapInfSlope)} (Θ_∞)`,
      ...(r.fit.perDepth ?? []).map((d) => `depth ${d.depth}: drift slope ${f3(d.driftSlopeAtT)} at t* = ${f3(d.t)} (final ${f3(d.driftSlope)}), init fluctuation slope ${f3(d.initFluctuationSlope)}` + (d.widthThreshold ? `, width-threshold exponent ${f3(d.widthThreshold.exponent)}` : '')),
      ...(wt ? [`width threshold (λ_min(Θ_t) ≥ λ_min(Θ₀)/2): samples ${wt.samples.join(', ')} → widths ${wt.widths.map((w) => w ?? 'none').join(', ')}; exponent ${f3(wt.exponent)}`] : []),
      ...r.notes,
    ],
  };
}
