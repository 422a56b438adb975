/**
 * Finite-width fluctuations of the empirical kernel over random initialisations (Littwin & Wolf,
 * arXiv 2001.10460: plain networks converge to their infinite-width kernel only at fixed depth as
 * width → ∞; ResNets with α shrinking in depth and DenseNets also converge as width and depth grow
 * together).
 *
 * For each family, depth L and width n, the float64 Monte Carlo oracle samples `samples` networks
 * and records the empirical kernel (NTK by default) at one input pair x, z. Reported per cell:
 * the relative variance v = Var/mean² over seeds of Θ(x,x) and of Θ(x,z), with a standard error
 * (delta method, or bootstrap), and the mean's relative deviation from the infinite-width kernel,
 * computed by kernel() with the chosen backend. Fitted per family: the slope of ln(1 + v) against
 * L/n (v ≈ e^{cL/n} − 1 for plain nets), the exponent of v ∝ n^p at fixed L (≈ −1 where the
 * kernel converges) and the exponent of v ∝ L^q at fixed n (≈ 0 where v does not grow with depth).
 *
 * Next to each measurement, the closed-form leading-order prediction c/n of finite-width.ts (where
 * one was derived) and, per family, the ratio measured/predicted over the small-L/n cells: the
 * leading order only holds while L/n is small (wave2.md §3.3–3.4), so the fit against it is cut there.
 */
import { kernel, toSpec, type Arch, type BackendChoice } from '../api.js';
import type { KernelKind } from '../result.js';
import { InputError } from '../errors.js';
import { toMatrix, type MatrixInput } from '../matrix.js';
import { monteCarlo } from '../mc/montecarlo.js';
import { predictFluctuation, secondOrderAllowance } from './finite-width.js';
import { Rng } from '../mc/rng.js';
import type { ResolvedLayer, ResolvedSpec } from '../spec/types.js';

/** The named families: Littwin & Wolf's four settings, as presets (all layers trained). */
export const FLUCTUATION_FAMILIES = {
  /**
   * ReLU MLP with L hidden layers, c_σ = 2: the arora2019 kernel (unit inputs give Θ(x,x) = L + 1),
   * written with the last dense layer at the top level so that it is the sampled network's output.
   * (The preset ends in a repeat, so the sampler would append a frozen random n → 1 readout after
   * a trained n → n layer: the same kernels in expectation, but one more layer of fluctuations.)
   */
  mlp: (L: number): Arch => ({
    name: 'arora2019',
    inputScale: 'none',
    layers: [
      { type: 'dense', weightVar: 1 },
      { type: 'repeat', count: L - 1, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] },
      { type: 'relu' },
      { type: 'dense', weightVar: 2 },
    ],
  }),
  /** ResNet with L blocks h + α·V·relu(W·h), c_w² = 2, c_v² = 1, constant α = 1 (so a = α²c_v²c_w²/2 = 1). */
  'resnet-const': (L: number): Arch => `resnet:depth=${L},alpha=1`,
  /** The same ResNet with α = L^(−½) (a = 1/L). */
  'resnet-sqrt': (L: number): Arch => `resnet:depth=${L},gamma=0.5`,
  /** DenseNet of L layers with mean-normalised concatenation, c_w² = 2 (Θ(x,x) = 2 + H_L for unit-scaled inputs). */
  densenet: (L: number): Arch => `densenet:depth=${L}`,
} as const;

export type FluctuationFamilyName = keyof typeof FLUCTUATION_FAMILIES;

/** A family of architectures indexed by depth. */
export interface FluctuationFamily {
  name: string;
  arch: (depth: number) => Arch;
}

export interface FluctuationOptions {
  /** Named families or { name, arch(depth) } (default: mlp, resnet-const, resnet-sqrt, densenet). */
  families?: readonly (FluctuationFamilyName | FluctuationFamily)[];
  /** Depths L (default [2, 8, 16]). */
  depths?: readonly number[];
  /** Hidden widths n (default [32, 64]). */
  widths?: readonly number[];
  /** Networks sampled per (family, depth, width) (default 200; the defaults take ~10 s on one core). */
  samples?: number;
  /** Base seed; each cell's stream is derived from it, the family name, L and n (default 0). */
  seed?: number;
  /** Two rows x and z (default x = e₁, z = ½e₁ + (√3/2)e₂: unit inputs at correlation ½). */
  inputs?: MatrixInput;
  /**
   * Instead of `inputs`: the correlation ρ ∈ [−1, 1] of the generated unit pair x = e₁,
   * z = ρe₁ + √(1 − ρ²)e₂ (default ½). ρ = 1 puts z on x (Θ(x,z) is then the diagonal entry).
   */
  rho?: number;
  /** Which kernel (default "ntk"). */
  kind?: KernelKind;
  /** Backend of the infinite-width reference kernel() (default "cpu"); the sampling is float64 CPU. */
  backend?: BackendChoice;
  /** Standard errors of v by this many bootstrap resamples; 0 (default): the delta method. */
  bootstrap?: number;
  /**
   * Size guard: refuse runs whose estimated multiply-adds exceed this (default 2e10, about a minute
   * or two at the ~2e8 multiply-adds/s that the JavaScript sampler reaches).
   */
  maxWork?: number;
  /** Time guard: stop with an error once this many seconds have passed (checked between cells; default none). */
  timeLimitSeconds?: number;
  /**
   * The closed-form fit uses the cells with L/n ≤ this (default 1/16): there the O((L/n)²) remainder
   * allowance ½(5L/n)² is at most ~20 % of the MLP's leading term, and wave2's Monte Carlo still
   * agrees within 14 %; beyond it the MLP's variance bends towards e^{5L/n} and turns heavy-tailed.
   */
  smallDepthCut?: number;
}

/** The closed-form prediction of one cell (finite-width.ts); null values where none was derived. */
export interface CellPrediction {
  /** Predicted Var/mean² of Θ(x,x) = coefficient/n. */
  diagonal: number | null;
  /** Predicted Var/mean² of Θ(x,z) (one hidden layer only). */
  offDiagonal: number | null;
  /** n·Var/mean² of Θ(x,x) and of Θ(x,z). */
  coefficient: number | null;
  offDiagonalCoefficient: number | null;
  /** Allowance for the O(1/n²) remainder on Var/mean² (0 where c/n is exact). */
  allowance: number;
  exact: boolean;
  /** The closed form used, or why there is none. */
  model: string;
}

/** Measured against predicted over one family's small-L/n cells. */
export interface ClosedFormFit {
  /** The cut: cells with L/n ≤ this. */
  maxDepthOverWidth: number;
  /** Cells used (those under the cut with a prediction). */
  cells: number;
  /** Weighted mean of measured/predicted Var/mean² (1 if the leading order holds) and its standard error. */
  ratio: number;
  ratioSE: number;
  /** χ² of the measured values against the predicted ones (errors: standard error ⊕ allowance), per cell. */
  chi2PerCell: number;
}

/** Statistics over seeds of one kernel entry. */
export interface EntryStats {
  /** Mean of the empirical kernel over samples and its standard error. */
  mean: number;
  meanSE: number;
  /** Relative variance v = s²/mean² (s²: unbiased sample variance) and its standard error. */
  relVar: number;
  relVarSE: number;
  /** The infinite-width kernel from kernel(). */
  limit: number;
  /** (mean − limit)/limit and its standard error meanSE/|limit| (finite-width bias plus noise). */
  relDeviation: number;
  relDeviationSE: number;
  /**
   * Sample variance of ln K over seeds and its standard error (null unless every sample is > 0).
   * For a log-normal K it equals ln(1 + v); unlike v it is not dominated by rare huge samples, so
   * it is the steadier measure of growth where v is large (deep MLPs at small width).
   */
  logVar: number | null;
  logVarSE: number | null;
}

export interface FluctuationCell {
  family: string;
  depth: number;
  width: number;
  samples: number;
  /** The seed of this cell's random stream. */
  seed: number;
  /** K(x, x). */
  diagonal: EntryStats;
  /** K(x, z). */
  offDiagonal: EntryStats;
  /** The closed-form leading-order prediction (NTK only; nulls where none was derived). */
  prediction: CellPrediction;
}

export interface Slope {
  slope: number;
  slopeSE: number;
  /** 0 for a fit through the origin. */
  intercept: number;
}

/** Fits of one family's diagonal relative variance (weighted by the standard errors of v). */
export interface FamilyFit {
  family: string;
  /** ln(1 + v) = intercept + slope·L/n over all cells (null with fewer than two distinct L/n). */
  lnGrowth: Slope | null;
  /** ln(1 + v) = slope·L/n, through the origin (intercept 0). */
  lnGrowthThroughOrigin: Slope;
  /** Var(ln K) = intercept + slope·L/n over all cells (null without two distinct L/n or with a non-positive sample). */
  logVarGrowth: Slope | null;
  /** v ∝ n^exponent at each depth with two or more widths. */
  widthExponents: { depth: number; exponent: number; exponentSE: number }[];
  /** v ∝ L^exponent at each width with two or more depths. */
  depthExponents: { width: number; exponent: number; exponentSE: number }[];
  /**
   * Measured against the closed form over the cells with L/n ≤ the cut (null: no prediction for the
   * family, or no cell under the cut). This replaces lnGrowth as the test of the leading order:
   * lnGrowth spans every L/n, where the MLP's variance bends and is heavy-tailed.
   */
  closedForm: ClosedFormFit | null;
}

export interface FluctuationResult {
  kind: KernelKind;
  /** Backend that computed the reference kernels. */
  backend: 'cpu' | 'webgpu';
  /** The inputs x and z and their correlation. */
  x: number[];
  z: number[];
  rho: number;
  /** "delta" or "bootstrap:<B>". */
  errors: string;
  cells: FluctuationCell[];
  fits: FamilyFit[];
  seconds: number;
}

/** Throughput of the JavaScript sampler used to phrase the guard's message in seconds (measured: ~2e8/s). */
const MACS_PER_SECOND = 2e8;

/**
 * Multiply-adds of one sampled network on one input, forward pass (the backward pass and the
 * gradient products cost about twice that again), at hidden width n and input dimension d.
 */
export function sampledNetworkWork(spec: ResolvedSpec, width: number, d: number): number {
  let dim = d;
  const walk = (layers: readonly ResolvedLayer[]): number => {
    let w = 0;
    for (const l of layers) {
      switch (l.type) {
        case 'dense':
          w += dim * width;
          dim = width;
          break;
        case 'repeat':
          // The first copy's input may be narrower; counting every copy like it is close enough for a guard.
          if (l.count > 0) w += l.count * walk(l.layers);
          break;
        case 'residual':
          w += walk(l.branch);
          break;
        case 'denseBlock':
          // Layer i reads i blocks of the input width.
          w += ((l.depth * (l.depth + 1)) / 2) * dim * width;
          dim = width;
          break;
        default:
          break;
      }
    }
    return w;
  };
  return walk([...spec.layers, ...spec.readout]) + dim;
}

function resolveFamilies(families: FluctuationOptions['families']): FluctuationFamily[] {
  const list = families ?? (Object.keys(FLUCTUATION_FAMILIES) as FluctuationFamilyName[]);
  if (!Array.isArray(list) || list.length === 0) throw new InputError('fluctuations: families must be a non-empty list');
  const out = list.map((f, i): FluctuationFamily => {
    if (typeof f === 'string') {
      if (!Object.hasOwn(FLUCTUATION_FAMILIES, f)) {
        throw new InputError(`fluctuations: unknown family ${JSON.stringify(f)} (known: ${Object.keys(FLUCTUATION_FAMILIES).join(', ')})`);
      }
      return { name: f, arch: FLUCTUATION_FAMILIES[f as FluctuationFamilyName] };
    }
    if (!f || typeof f !== 'object' || typeof f.name !== 'string' || typeof f.arch !== 'function') {
      throw new InputError(`fluctuations: families[${i}] must be a family name or { name, arch(depth) }`);
    }
    return f;
  });
  const names = new Set(out.map((f) => f.name));
  if (names.size !== out.length) throw new InputError('fluctuations: family names must be distinct');
  return out;
}

function intList(v: readonly number[] | undefined, dflt: number[], what: string): number[] {
  const list = v ?? dflt;
  if (!Array.isArray(list) || list.length === 0) throw new InputError(`fluctuations: ${what} must be a non-empty list`);
  for (const x of list) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1) throw new InputError(`fluctuations: ${what} must be integers ≥ 1, got ${String(x)}`);
  }
  if (new Set(list).size !== list.length) throw new InputError(`fluctuations: ${what} must be distinct`);
  return [...list];
}

/** A 32-bit seed from the base seed and the cell's identity (independent of the other cells). */
function cellSeed(seed: number, family: string, L: number, n: number): number {
  // FNV-1a over the identity, then a final avalanche.
  let h = 0x811c9dc5;
  for (const ch of `${seed}|${family}|${L}|${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Mean, unbiased variance and central moments μ3, μ4 (divided by S). */
function moments(v: Float64Array): { mean: number; var: number; m3: number; m4: number } {
  const S = v.length;
  let mean = 0;
  for (const x of v) mean += x;
  mean /= S;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (const x of v) {
    const e = x - mean;
    const e2 = e * e;
    m2 += e2;
    m3 += e2 * e;
    m4 += e2 * e2;
  }
  return { mean, var: m2 / (S - 1), m3: m3 / S, m4: m4 / S };
}

function relVarOf(v: Float64Array): number {
  const m = moments(v);
  return m.var / (m.mean * m.mean);
}

/**
 * Delta method for v = s²/m²: with Var(m̂) = σ²/S, Var(s²) ≈ (μ4 − σ⁴)/S, Cov(m̂, s²) ≈ μ3/S and
 * the gradient (−2s²/m³, 1/m²), Var(v̂) ≈ [(μ4 − σ⁴)/m⁴ − 4σ²μ3/m⁵ + 4σ⁶/m⁶]/S.
 */
function deltaSE(v: Float64Array): number {
  const { mean: m, var: s2, m3, m4 } = moments(v);
  const S = v.length;
  const varV = ((m4 - s2 * s2) / m ** 4 - (4 * s2 * m3) / m ** 5 + (4 * s2 ** 3) / m ** 6) / S;
  return Math.sqrt(Math.max(varV, 0));
}

function bootstrapSE(v: Float64Array, B: number, rng: Rng): number {
  const S = v.length;
  const r = new Float64Array(S);
  let sum = 0;
  let sum2 = 0;
  let used = 0;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S; i++) r[i] = v[Math.floor((rng.nextU32() / 2 ** 32) * S)]!;
    const x = relVarOf(r);
    // A resample whose mean is 0 has no relative variance; it is left out.
    if (!Number.isFinite(x)) continue;
    sum += x;
    sum2 += x * x;
    used++;
  }
  if (used < 2) return 0;
  const mu = sum / used;
  return Math.sqrt(Math.max((sum2 - used * mu * mu) / (used - 1), 0));
}

/** Weighted least squares y ≈ intercept + slope·x (σ: errors of y; all equal weights when any is 0). */
function wls(xs: number[], ys: number[], sig: number[], intercept: boolean): Slope | null {
  const n = xs.length;
  if (n < (intercept ? 2 : 1)) return null;
  const useW = sig.every((s) => s > 0 && Number.isFinite(s));
  const w = sig.map((s) => (useW ? 1 / (s * s) : 1));
  const W = w.reduce((a, b) => a + b, 0);
  const mx = intercept ? xs.reduce((a, x, i) => a + w[i]! * x, 0) / W : 0;
  const my = intercept ? ys.reduce((a, y, i) => a + w[i]! * y, 0) / W : 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += w[i]! * (xs[i]! - mx) ** 2;
    sxy += w[i]! * (xs[i]! - mx) * (ys[i]! - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  let slopeSE: number;
  if (useW) slopeSE = Math.sqrt(1 / sxx);
  else {
    // Unweighted: the error from the residuals (0 when the fit is exact or has no spare points).
    const dof = n - (intercept ? 2 : 1);
    let rss = 0;
    for (let i = 0; i < n; i++) rss += (ys[i]! - my - slope * (xs[i]! - mx)) ** 2;
    slopeSE = dof > 0 ? Math.sqrt(rss / dof / sxx) : 0;
  }
  return { slope, slopeSE, intercept: my - slope * mx };
}

function closedFormFit(c: FluctuationCell[], cut: number): ClosedFormFit | null {
  const ok = c.filter((q) => q.prediction.diagonal !== null && q.depth / q.width <= cut + 1e-15);
  if (ok.length === 0) return null;
  let W = 0;
  let R = 0;
  let chi2 = 0;
  for (const q of ok) {
    const p = q.prediction.diagonal!;
    const se = q.diagonal.relVarSE / p;
    // A zero standard error (identical samples) cannot weigh the mean; give it a tiny one instead.
    const w = 1 / Math.max(se * se, 1e-30);
    W += w;
    R += (w * q.diagonal.relVar) / p;
    const err2 = q.diagonal.relVarSE ** 2 + q.prediction.allowance ** 2;
    chi2 += (q.diagonal.relVar - p) ** 2 / Math.max(err2, 1e-300);
  }
  return { maxDepthOverWidth: cut, cells: ok.length, ratio: R / W, ratioSE: Math.sqrt(1 / W), chi2PerCell: chi2 / ok.length };
}

function fitFamily(family: string, cells: FluctuationCell[], cut: number): FamilyFit {
  const c = cells.filter((q) => q.family === family);
  const xs = c.map((q) => q.depth / q.width);
  const ys = c.map((q) => Math.log1p(q.diagonal.relVar));
  const sig = c.map((q) => q.diagonal.relVarSE / (1 + q.diagonal.relVar));
  const logFit = (sel: FluctuationCell[], x: (q: FluctuationCell) => number) => {
    const ok = sel.filter((q) => q.diagonal.relVar > 0);
    return wls(
      ok.map((q) => Math.log(x(q))),
      ok.map((q) => Math.log(q.diagonal.relVar)),
      ok.map((q) => q.diagonal.relVarSE / q.diagonal.relVar),
      true,
    );
  };
  const widthExponents: FamilyFit['widthExponents'] = [];
  for (const L of [...new Set(c.map((q) => q.depth))]) {
    const f = logFit(c.filter((q) => q.depth === L), (q) => q.width);
    if (f) widthExponents.push({ depth: L, exponent: f.slope, exponentSE: f.slopeSE });
  }
  const depthExponents: FamilyFit['depthExponents'] = [];
  for (const n of [...new Set(c.map((q) => q.width))]) {
    const f = logFit(c.filter((q) => q.width === n), (q) => q.depth);
    if (f) depthExponents.push({ width: n, exponent: f.slope, exponentSE: f.slopeSE });
  }
  const logOk = c.every((q) => q.diagonal.logVar !== null);
  return {
    family,
    lnGrowth: wls(xs, ys, sig, true),
    logVarGrowth: logOk
      ? wls(
          xs,
          c.map((q) => q.diagonal.logVar!),
          c.map((q) => q.diagonal.logVarSE!),
          true,
        )
      : null,
    lnGrowthThroughOrigin: wls(xs, ys, sig, false)!,
    widthExponents,
    depthExponents,
    closedForm: closedFormFit(c, cut),
  };
}

/** The relative variance of the empirical kernel over seeds, by family, depth and width, with fitted rates. */
export async function widthFluctuations(options: FluctuationOptions = {}): Promise<FluctuationResult> {
  const t0 = performance.now();
  const families = resolveFamilies(options.families);
  const depths = intList(options.depths, [2, 8, 16], 'depths');
  const widths = intList(options.widths, [32, 64], 'widths');
  const samples = options.samples ?? 200;
  if (typeof samples !== 'number' || !Number.isInteger(samples) || samples < 2) {
    throw new InputError(`fluctuations: samples must be an integer ≥ 2, got ${String(samples)}`);
  }
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new InputError(`fluctuations: seed must be an integer in [0, 2³²), got ${String(seed)}`);
  }
  const kind = options.kind ?? 'ntk';
  if (kind !== 'ntk' && kind !== 'nngp') throw new InputError(`fluctuations: kind must be "nngp" or "ntk", got ${JSON.stringify(kind)}`);
  const B = options.bootstrap ?? 0;
  if (typeof B !== 'number' || !Number.isInteger(B) || B < 0 || (B > 0 && B < 20)) {
    throw new InputError(`fluctuations: bootstrap must be 0 (delta method) or an integer ≥ 20, got ${String(B)}`);
  }
  const maxWork = options.maxWork ?? 2e10;
  if (typeof maxWork !== 'number' || !(maxWork > 0)) throw new InputError(`fluctuations: maxWork must be > 0, got ${String(maxWork)}`);
  const cut = options.smallDepthCut ?? 1 / 16;
  if (typeof cut !== 'number' || !(cut > 0) || !Number.isFinite(cut)) throw new InputError(`fluctuations: smallDepthCut must be a finite number > 0, got ${String(cut)}`);
  const timeLimit = options.timeLimitSeconds;
  if (timeLimit !== undefined && (typeof timeLimit !== 'number' || !(timeLimit > 0))) {
    throw new InputError(`fluctuations: timeLimitSeconds must be > 0, got ${String(timeLimit)}`);
  }

  const rhoIn = options.rho;
  if (rhoIn !== undefined) {
    if (typeof rhoIn !== 'number' || !(rhoIn >= -1 && rhoIn <= 1)) throw new InputError(`fluctuations: rho must be a number in [−1, 1], got ${String(rhoIn)}`);
    if (options.inputs !== undefined) throw new InputError('fluctuations: give inputs or rho, not both (rho generates the pair x = e₁, z = ρe₁ + √(1 − ρ²)e₂)');
  }
  const r0 = rhoIn ?? 0.5;
  const X = toMatrix(options.inputs ?? [[1, 0], [r0, Math.sqrt(Math.max(1 - r0 * r0, 0))]], 'inputs');
  if (X.rows !== 2) throw new InputError(`fluctuations: inputs must have exactly two rows (x and z), got ${X.rows}`);
  const d = X.cols;
  const x = Array.from(X.data.subarray(0, d));
  const z = Array.from(X.data.subarray(d, 2 * d));
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  if (!(dot(x, x) > 0) || !(dot(z, z) > 0)) throw new InputError('fluctuations: inputs x and z must be non-zero');
  const rho = dot(x, z) / Math.sqrt(dot(x, x) * dot(z, z));

  // Resolve every architecture and check the size guard before any sampling.
  const specs = new Map<string, ResolvedSpec>();
  let work = 0;
  for (const f of families) {
    for (const L of depths) {
      let spec: ResolvedSpec;
      try {
        spec = toSpec(f.arch(L));
      } catch (e) {
        if (e instanceof InputError) throw new InputError(`fluctuations: family ${JSON.stringify(f.name)} at depth ${L}: ${e.message}`);
        throw e;
      }
      specs.set(`${f.name}|${L}`, spec);
      for (const n of widths) work += 3 * 2 * samples * sampledNetworkWork(spec, n, d);
    }
  }
  if (work > maxWork) {
    throw new InputError(
      `fluctuations: the run is too large: about ${work.toExponential(1)} multiply-adds ` +
        `(~${Math.round(work / MACS_PER_SECOND)} s) exceeds maxWork = ${maxWork.toExponential(1)}; ` +
        'use fewer samples, depths or widths, or raise maxWork',
    );
  }

  const cells: FluctuationCell[] = [];
  let backendUsed: 'cpu' | 'webgpu' = 'cpu';
  for (const f of families) {
    for (const L of depths) {
      const spec = specs.get(`${f.name}|${L}`)!;
      const ref = await kernel(spec, X, null, { get: kind, backend: options.backend ?? 'cpu' });
      backendUsed = ref.backend;
      const lim = ref[kind]!;
      const limits = [lim[0]!, lim[1]!];
      const pred = predictFluctuation(spec, rho, kind);
      for (const n of widths) {
        if (timeLimit !== undefined && (performance.now() - t0) / 1000 > timeLimit) {
          throw new InputError(
            `fluctuations: timeLimitSeconds = ${timeLimit} exceeded before family ${JSON.stringify(f.name)}, L = ${L}, n = ${n}; ` +
              'use fewer samples, depths or widths, or raise the limit',
          );
        }
        const s = cellSeed(seed, f.name, L, n);
        const mc = monteCarlo(spec, X, { width: n, samples, seed: s, keepSamples: true });
        const all = mc.perSample![kind];
        const entry = (e: number, limit: number): EntryStats => {
          const v = new Float64Array(samples);
          for (let t = 0; t < samples; t++) v[t] = all[t * 4 + e]!;
          const m = moments(v);
          if (!(m.mean !== 0) || !Number.isFinite(m.var)) {
            throw new InputError(
              `fluctuations: family ${JSON.stringify(f.name)}, L = ${L}, n = ${n}: the mean ${kind} at ${e === 0 ? '(x, x)' : '(x, z)'} ` +
                `is ${m.mean}, so its relative variance is undefined`,
            );
          }
          const relVarSE = B > 0 ? bootstrapSE(v, B, new Rng(s ^ (0x5bd1e995 + e))) : deltaSE(v);
          const meanSE = Math.sqrt(m.var / samples);
          let logVar: number | null = null;
          let logVarSE: number | null = null;
          if (v.every((q) => q > 0)) {
            const lm = moments(v.map(Math.log));
            logVar = lm.var;
            // Var(s²) ≈ (μ4 − σ⁴)/S.
            logVarSE = Math.sqrt(Math.max(lm.m4 - lm.var * lm.var, 0) / samples);
          }
          return {
            mean: m.mean,
            meanSE,
            relVar: m.var / (m.mean * m.mean),
            relVarSE,
            limit,
            relDeviation: limit !== 0 ? (m.mean - limit) / limit : 0,
            relDeviationSE: limit !== 0 ? meanSE / Math.abs(limit) : 0,
            logVar,
            logVarSE,
          };
        };
        const prediction: CellPrediction = {
          diagonal: pred.diagonal === null ? null : pred.diagonal / n,
          offDiagonal: pred.offDiagonal === null ? null : pred.offDiagonal / n,
          coefficient: pred.diagonal,
          offDiagonalCoefficient: pred.offDiagonal,
          allowance: pred.diagonal === null ? 0 : secondOrderAllowance(L, n, pred.exact),
          exact: pred.exact,
          model: pred.model,
        };
        cells.push({ family: f.name, depth: L, width: n, samples, seed: s, diagonal: entry(0, limits[0]!), offDiagonal: entry(1, limits[1]!), prediction });
        // Let other work on the event loop run between cells.
        await new Promise<void>((r) => setTimeout(r, 0));
      }
    }
  }
  return {
    kind,
    backend: backendUsed,
    x,
    z,
    rho,
    errors: B > 0 ? `bootstrap:${B}` : 'delta',
    cells,
    fits: families.map((f) => fitFamily(f.name, cells, cut)),
    seconds: (performance.now() - t0) / 1000,
  };
}
