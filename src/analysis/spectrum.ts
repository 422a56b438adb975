/**
 * Spectra and condition numbers of Gram matrices (Barzilai, Geifman, Galun & Basri, ICLR 2023:
 * residual kernels are better conditioned at finite depth; as L → ∞ every normalised ReLU kernel
 * tends to a double-constant matrix, whose κ = (1 + (n−1)b)/(1 − b) is closed-form).
 *
 * - gramSpectrum: every eigenvalue, by a float64 dense symmetric eigen-solver (Householder
 *   tridiagonalisation + implicit QL, eigenvalues only: ≈ (2/3)n³ multiply–adds, far cheaper than
 *   a full eigen-decomposition with vectors), for up to a few thousand points.
 * - conditioningVsDepth: κ at every depth (or a chosen subset) of several architectures, each from
 *   one `depths: "all"` pass streamed block by block, so that only the chosen depths are stored.
 * - leadingEigenvalues: the k largest by Lanczos with full reorthogonalisation (float64 host
 *   vectors) and matrix–vector products on the CPU (float64) or on WebGPU (f32, GpuKernelMatrix).
 *
 * Accuracy: the dense solver is backward stable, so each computed eigenvalue is within about
 * n·ε·λmax of the exact one (`resolution` below). A λmin under the resolution — or ≤ 0 — is not
 * resolved: κ is then reported as Infinity (λmin ≤ 0) or flagged, never clamped.
 */
import { kernel, kernelBlocks, program, resolveBackend, toSpec, type Arch, type BackendChoice, type Backend, type KernelInput } from '../api.js';
import { inputRows, isImageShaped } from '../images.js';
import type { KernelKind } from '../result.js';
import { InputError } from '../errors.js';
import { GpuKernelMatrix } from '../gpu/matvec.js';
import { lanczos, type LanczosOptions, type LanczosResult, type MatMul } from '../solve/lanczos.js';
import { symmetricEigenvalues } from '../solve/symmetric-eigen.js';

const EPS = 2 ** -52;

/** Largest n for the dense eigen-solver unless `maxN` says otherwise (n = 4000 takes about a minute in JS). */
export const SPECTRUM_DENSE_MAX_N = 4000;

/** Default cap on the stored Grams of conditioningVsDepth: n²·(chosen depths)·(kernels)·8 bytes. */
export const CONDITIONING_MAX_BYTES = 2 ** 31;

// ---- condition numbers ------------------------------------------------------------------------------

export interface SpectrumSummary {
  /** All eigenvalues, descending (float64). */
  eigenvalues: Float64Array;
  lambdaMax: number;
  lambdaMin: number;
  /** λmax/λmin; Infinity when λmin ≤ 0 (see `warning`). */
  condition: number;
  /** Σλ = trace of the Gram (computed from the diagonal, not from the eigenvalues). */
  trace: number;
  /** n·ε·max|λ|: eigenvalues are accurate to about this much in absolute terms. */
  resolution: number;
  /** Whether λmin exceeds the resolution, so that κ means something. */
  resolved: boolean;
  /** Why κ is Infinity or unreliable; absent when it is neither. */
  warning?: string;
}

/** κ = λmax/λmin of descending eigenvalues, honest about λmin ≤ 0 and about resolution. */
export function conditionFromEigenvalues(
  eigenvalues: ArrayLike<number>,
  resolution: number,
): Pick<SpectrumSummary, 'lambdaMax' | 'lambdaMin' | 'condition' | 'resolved' | 'warning'> {
  const lambdaMax = eigenvalues[0]!;
  const lambdaMin = eigenvalues[eigenvalues.length - 1]!;
  if (!(lambdaMin > 0)) {
    return {
      lambdaMax,
      lambdaMin,
      condition: Infinity,
      resolved: false,
      warning: `λmin = ${lambdaMin.toExponential(3)} ≤ 0: the Gram is singular to working precision (eigenvalue accuracy ≈ ${resolution.toExponential(1)}); κ reported as Infinity`,
    };
  }
  const condition = lambdaMax / lambdaMin;
  if (lambdaMin <= resolution) {
    return {
      lambdaMax,
      lambdaMin,
      condition,
      resolved: false,
      warning: `λmin = ${lambdaMin.toExponential(3)} is below the eigenvalue accuracy ≈ ${resolution.toExponential(1)}: κ = ${condition.toExponential(3)} is not resolved`,
    };
  }
  return { lambdaMax, lambdaMin, condition, resolved: true };
}

/** Condition number of the n × n matrix with unit diagonal and every off-diagonal equal to b (Infinity when it is not positive definite). */
export function doubleConstantCondition(n: number, b: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`doubleConstantCondition: n must be a positive integer, got ${String(n)}`);
  if (typeof b !== 'number' || !Number.isFinite(b)) throw new InputError(`doubleConstantCondition: b must be a finite number, got ${String(b)}`);
  if (n === 1) return 1;
  // Eigenvalues: 1 + (n−1)b (the all-ones vector) and 1 − b (n−1 times).
  const l1 = 1 + (n - 1) * b;
  const l2 = 1 - b;
  if (!(l1 > 0) || !(l2 > 0)) return Infinity;
  return Math.max(l1, l2) / Math.min(l1, l2);
}

// ---- Gram helpers -------------------------------------------------------------------------------------

function kindList(kind: KernelKind | readonly KernelKind[] | undefined, where: string): KernelKind[] {
  const list = kind === undefined ? ['nngp', 'ntk'] : typeof kind === 'string' ? [kind] : [...kind];
  if (list.length === 0) throw new InputError(`${where}: ask for nngp and/or ntk`);
  for (const k of list) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`${where}: kind must be "nngp" or "ntk", got ${JSON.stringify(k)}`);
  }
  return [...new Set(list)] as KernelKind[];
}

/** In place: G ← D^(−½) G D^(−½) (unit diagonal), refusing a non-positive diagonal. */
function normalizeToUnitDiagonal(G: Float64Array | Float32Array, n: number, where: string): void {
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dii = G[i * n + i]!;
    if (!(dii > 0)) throw new InputError(`${where}: cannot normalise to unit diagonal: K(x_${i}, x_${i}) = ${dii} (a zero input?)`);
    s[i] = 1 / Math.sqrt(dii);
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] = G[i * n + j]! * s[i]! * s[j]!;
  for (let i = 0; i < n; i++) G[i * n + i] = 1; // exactly, not 1 ± ulp
}

function summarize(G: Float64Array, n: number): SpectrumSummary {
  const eigenvalues = symmetricEigenvalues(G, n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += G[i * n + i]!;
  const top = Math.max(Math.abs(eigenvalues[0]!), Math.abs(eigenvalues[n - 1]!));
  const resolution = n * EPS * top;
  return { eigenvalues, trace, resolution, ...conditionFromEigenvalues(eigenvalues, resolution) };
}

function archLabel(arch: Arch): string {
  return typeof arch === 'string' ? arch : toSpec(arch).name ?? 'spec';
}

// ---- gramSpectrum ------------------------------------------------------------------------------------

export interface GramSpectrumOptions {
  /** Which kernels (default both). */
  kind?: KernelKind | readonly KernelKind[];
  /** Where the Gram is computed (default "cpu"); the eigen-solver is always float64 on the host. */
  backend?: BackendChoice;
  /** Divide K_ij by √(K_ii K_jj) first (unit diagonal, the papers' normalised kernels). Default false. */
  normalize?: boolean;
  /** Largest n accepted (default SPECTRUM_DENSE_MAX_N); beyond it use leadingEigenvalues. */
  maxN?: number;
}

export interface GramSpectrum {
  arch: string;
  n: number;
  backend: Backend;
  normalized: boolean;
  nngp?: SpectrumSummary;
  ntk?: SpectrumSummary;
}

function checkDenseN(n: number, maxN: number | undefined, where: string): void {
  const cap = maxN ?? SPECTRUM_DENSE_MAX_N;
  if (!Number.isInteger(cap) || cap < 1) throw new InputError(`${where}: maxN must be a positive integer, got ${String(maxN)}`);
  if (n > cap) {
    throw new InputError(
      `${where}: n = ${n} points exceeds the dense eigen-solver's cap of ${cap} (cost ∝ n³); ` +
        'use leadingEigenvalues (Lanczos; on the command line `webntk analyze spectrum --lanczos k`) for the largest eigenvalues, or raise maxN',
    );
  }
}

/** Every eigenvalue (descending) and the condition number of the NNGP and/or NTK Gram of X's rows. */
export async function gramSpectrum(arch: Arch, X: KernelInput, options: GramSpectrumOptions = {}): Promise<GramSpectrum> {
  const kinds = kindList(options.kind, 'gramSpectrum');
  const n = inputRows(X, 'X').rows;
  checkDenseN(n, options.maxN, 'gramSpectrum');
  const r = await kernel(arch, X, null, { get: kinds, backend: options.backend ?? 'cpu' });
  const out: GramSpectrum = { arch: archLabel(arch), n, backend: r.backend, normalized: options.normalize ?? false };
  for (const k of kinds) {
    const G = r[k]!;
    if (out.normalized) normalizeToUnitDiagonal(G, n, 'gramSpectrum');
    out[k] = summarize(G, n);
  }
  return out;
}

// ---- conditioningVsDepth -----------------------------------------------------------------------------

export interface ConditioningOptions {
  /** Which kernels (default both). */
  kind?: KernelKind | readonly KernelKind[];
  backend?: BackendChoice;
  /** Normalise each Gram to unit diagonal (default false). */
  normalize?: boolean;
  /** Depths of the sweep to analyse (values from the sweep's `depths`); default every depth. */
  depths?: readonly number[];
  /** Cap on the stored Grams, n²·(chosen depths)·(kernels)·8 bytes (default CONDITIONING_MAX_BYTES). */
  maxBytes?: number;
  /** Largest n for the dense eigen-solver (default SPECTRUM_DENSE_MAX_N). */
  maxN?: number;
  /** Keep every eigenvalue at every chosen depth (default false: only λmax, λmin, κ). */
  eigenvalues?: boolean;
}

export interface DepthConditioning {
  /** Condition number λmax/λmin at each chosen depth (Infinity where λmin ≤ 0). */
  condition: number[];
  lambdaMax: number[];
  lambdaMin: number[];
  trace: number[];
  /** Whether λmin exceeded the eigen-solver's resolution, per depth. */
  resolved: boolean[];
  /** A warning per depth, or null. */
  warnings: (string | null)[];
  /** All eigenvalues per depth, when asked for. */
  eigenvalues?: Float64Array[];
}

export interface ArchConditioning {
  arch: string;
  n: number;
  backend: Backend;
  normalized: boolean;
  /** The chosen depths (entries of the depth sweep: depth t is the network with t blocks/layers). */
  depths: number[];
  nngp?: DepthConditioning;
  ntk?: DepthConditioning;
}

/**
 * κ as a function of depth for several architectures, each from one `depths: "all"` pass.
 * The pass is streamed by blocks and only the chosen depths are kept, so memory is
 * n²·(chosen depths)·(kernels) float64 plus one block. Note that for presets with α = L^(−γ) the
 * sweep entry t is the first t blocks of the depth-L network (α fixed by L), not the depth-t preset.
 */
export async function conditioningVsDepth(archs: readonly Arch[], X: KernelInput, options: ConditioningOptions = {}): Promise<ArchConditioning[]> {
  if (!Array.isArray(archs) || archs.length === 0) throw new InputError('conditioningVsDepth: archs must be a non-empty array');
  const kinds = kindList(options.kind, 'conditioningVsDepth');
  const rows = inputRows(X, 'X');
  // Images go to the kernel as given (conv specs); a matrix as checked here.
  const Xm = isImageShaped(X) ? X : rows;
  const n = rows.rows;
  checkDenseN(n, options.maxN, 'conditioningVsDepth');
  const maxBytes = options.maxBytes ?? CONDITIONING_MAX_BYTES;
  if (!(maxBytes > 0)) throw new InputError(`conditioningVsDepth: maxBytes must be > 0, got ${String(maxBytes)}`);
  const normalized = options.normalize ?? false;
  const out: ArchConditioning[] = [];
  for (const arch of archs) {
    const sweep = [...program(arch).depths];
    let chosen: number[];
    if (options.depths !== undefined) {
      chosen = [...new Set(options.depths)].sort((a, b) => a - b);
      if (chosen.length === 0) throw new InputError('conditioningVsDepth: depths must not be empty');
      for (const t of chosen) {
        if (!sweep.includes(t)) {
          throw new InputError(`conditioningVsDepth: depth ${String(t)} is not in the depth sweep of ${archLabel(arch)} (${sweep[0]} … ${sweep[sweep.length - 1]})`);
        }
      }
    } else chosen = sweep;
    const taps = sweep.length;
    const bytes = n * n * chosen.length * kinds.length * 8;
    if (bytes > maxBytes) {
      throw new InputError(
        `conditioningVsDepth: ${chosen.length} depths × ${kinds.length} kernel(s) of ${n}×${n} Grams need ${(bytes / 2 ** 30).toFixed(2)} GiB ` +
          `(limit ${(maxBytes / 2 ** 30).toFixed(2)} GiB): choose fewer depths (options.depths), fewer points or one kernel`,
      );
    }
    const tapOf = chosen.map((t) => sweep.indexOf(t));
    const grams: Record<KernelKind, Float64Array[]> = { nngp: [], ntk: [] };
    for (const k of kinds) grams[k] = chosen.map(() => new Float64Array(n * n));
    // CPU blocks hold every depth: keep one block near 64 MiB. (WebGPU plans its own blocks.)
    const backendChoice = options.backend ?? 'cpu';
    const cpuRows = Math.max(1, Math.min(n, Math.floor(Math.sqrt(2 ** 26 / (8 * taps * kinds.length)))));
    let backend: Backend = 'cpu';
    const ctx = await resolveBackend(backendChoice);
    for await (const b of kernelBlocks(arch, Xm, null, {
      get: kinds,
      depths: 'all',
      backend: ctx ? 'webgpu' : 'cpu',
      ...(ctx ? {} : { blockRows: cpuRows }),
    })) {
      backend = b.backend;
      const plane = b.rows * b.cols;
      for (const k of kinds) {
        const src = b[k]!;
        tapOf.forEach((tap, c) => {
          const G = grams[k][c]!;
          for (let i = 0; i < b.rows; i++) {
            const o = (b.row0 + i) * n + b.col0;
            G.set(src.subarray(tap * plane + i * b.cols, tap * plane + (i + 1) * b.cols), o);
          }
        });
      }
    }
    const res: ArchConditioning = { arch: archLabel(arch), n, backend, normalized, depths: chosen };
    for (const k of kinds) {
      const dc: DepthConditioning = { condition: [], lambdaMax: [], lambdaMin: [], trace: [], resolved: [], warnings: [] };
      if (options.eigenvalues) dc.eigenvalues = [];
      for (const G of grams[k]) {
        // A zero diagonal (e.g. the NTK at depth 0 with a frozen stem) cannot be normalised: report
        // that depth's raw spectrum with a warning instead of failing the whole sweep.
        let note: string | null = null;
        if (normalized) {
          try {
            normalizeToUnitDiagonal(G, n, 'conditioningVsDepth');
          } catch (e) {
            if (!(e instanceof InputError)) throw e;
            note = `${e.message}; this depth is not normalised`;
          }
        }
        const s = summarize(G, n);
        dc.condition.push(s.condition);
        dc.lambdaMax.push(s.lambdaMax);
        dc.lambdaMin.push(s.lambdaMin);
        dc.trace.push(s.trace);
        dc.resolved.push(s.resolved);
        dc.warnings.push([note, s.warning].filter((w) => w).join('; ') || null);
        dc.eigenvalues?.push(s.eigenvalues);
      }
      grams[k] = []; // free before the next kernel's eigen work
      res[k] = dc;
    }
    out.push(res);
  }
  return out;
}

export interface LeadingEigenvaluesOptions extends LanczosOptions {
  /** Which kernel (default "ntk"). */
  kind?: KernelKind;
  /** Where the Gram is computed and the products are done: "cpu" (float64) or "webgpu" (f32 products). */
  backend?: BackendChoice;
  /** Normalise the Gram to unit diagonal first (default false). */
  normalize?: boolean;
}

export interface LeadingEigenvalues extends LanczosResult {
  arch: string;
  kind: KernelKind;
  n: number;
  backend: Backend;
  normalized: boolean;
  /** "float64 (CPU)" or "f32 (WebGPU)": the precision of the matrix–vector products. */
  product: string;
}

/**
 * The k largest eigenvalues of a Gram by Lanczos. The Gram is computed by the API (block by block)
 * and held on the host — as float64 for CPU products, as f32 for WebGPU ones (the device keeps f32
 * anyway, so this halves host memory) — then, on WebGPU, uploaded to a GpuKernelMatrix: the
 * kernel pass does not leave its result on the device, so one upload is the price of reusing it.
 * Default tol: 1e-10 with float64 products, 1e-6 with f32 products (which cannot resolve the
 * Lanczos relation much below their rounding, ≈ 1e-7·λmax).
 */
export async function leadingEigenvalues(arch: Arch, X: KernelInput, options: LeadingEigenvaluesOptions = {}): Promise<LeadingEigenvalues> {
  const kind = options.kind ?? 'ntk';
  kindList(kind, 'leadingEigenvalues');
  const rows = inputRows(X, 'X');
  const Xm = isImageShaped(X) ? X : rows;
  const n = rows.rows;
  const k = options.k ?? 6;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new InputError(`leadingEigenvalues: k must be an integer in [1, n = ${n}], got ${String(k)}`);
  const ctx = await resolveBackend(options.backend ?? 'cpu');
  const normalized = options.normalize ?? false;
  let G: Float64Array | Float32Array;
  try {
    G = ctx ? new Float32Array(n * n) : new Float64Array(n * n);
  } catch {
    throw new InputError(`leadingEigenvalues: an ${n}×${n} Gram does not fit in host memory`);
  }
  for await (const b of kernelBlocks(arch, Xm, null, { get: kind, backend: ctx ? 'webgpu' : 'cpu' })) {
    const src = b[kind]!;
    for (let i = 0; i < b.rows; i++) {
      const o = (b.row0 + i) * n + b.col0;
      for (let j = 0; j < b.cols; j++) G[o + j] = src[i * b.cols + j]!;
    }
  }
  if (normalized) normalizeToUnitDiagonal(G, n, 'leadingEigenvalues');
  const common = { arch: archLabel(arch), kind, n, normalized };
  if (!ctx) {
    const K = G as Float64Array;
    const mul: MatMul = async (p, kk) => {
      const out = new Float64Array(n * kk);
      for (let i = 0; i < n; i++) {
        const row = i * n;
        if (kk === 1) {
          let s = 0;
          for (let j = 0; j < n; j++) s += K[row + j]! * p[j]!;
          out[i] = s;
        } else {
          for (let j = 0; j < n; j++) {
            const kij = K[row + j]!;
            for (let c = 0; c < kk; c++) out[i * kk + c] = out[i * kk + c]! + kij * p[j * kk + c]!;
          }
        }
      }
      return out;
    };
    const r = await lanczos(n, mul, options);
    return { ...r, ...common, backend: 'cpu', product: 'float64 (CPU)' };
  }
  const M = await GpuKernelMatrix.upload(ctx, G, n);
  try {
    const r = await lanczos(n, (p, kk) => M.mul(p, kk), { ...options, tol: options.tol ?? 1e-6 });
    return { ...r, ...common, backend: 'webgpu', product: 'f32 (WebGPU)' };
  } finally {
    M.destroy();
  }
}
