/**
 * Spectral decay of a dot-product kernel on the sphere (Belfer, Geifman, Galun & Basri, arXiv
 * 2104.03093; Bietti & Mairal 2019): the Mercer eigenvalues per degree k, their power-law decay
 * (k^(−d) on S^(d−1) for ReLU NTKs) and the balance between odd and even degrees.
 *
 * Convention. For unit inputs the kernel is zonal, K(x, z) = f(⟨x, z⟩). On S^(d−1) (d = `dim`) with
 * the surface measure, the spherical harmonics of degree k (N(d, k) of them) are eigenfunctions with
 * the Funk–Hecke eigenvalue
 *
 *   λ_k = ω_(d−2) ∫_{−1}^{1} f(t) P_k(t) (1 − t²)^((d−3)/2) dt = ω_(d−2) ∫_0^π f(cos θ) P_k(cos θ) sin^(d−2)θ dθ,
 *
 * where P_k is the Legendre polynomial of dimension d (the Gegenbauer polynomial C_k^((d−2)/2)
 * scaled to P_k(1) = 1) and ω_n = |S^n| (ω_0 = 2, ω_1 = 2π, ω_2 = 4π). The expansion coefficients are
 * c_k = N(d, k) λ_k / ω_(d−1), so that f(t) = Σ c_k P_k(t). On the circle (d = 2) P_k(cos θ) =
 * cos kθ, c_k is the Fourier cosine coefficient a_k of K(θ) = Σ a_k cos kθ, and λ_k = π a_k for
 * k ≥ 1, λ_0 = 2π a_0.
 *
 * Quadrature. In θ the profile is smooth on (0, π) but, for ReLU networks, singular at θ = 0: a
 * |θ|-like cusp for the NTK, and deeper layers add fractional powers θ^(m+½) (arccos of κ1 near ρ = 1).
 * The integral is taken over [0, π] with composite Gauss–Legendre: uniform panels at most one
 * wavelength of cos(kmax θ) wide, and the two end panels graded geometrically towards θ = 0 and
 * θ = π (ratio 0.15, 18 levels), which integrates θ^α endpoint singularities to near machine
 * precision (hp-quadrature). Against the closed forms of κ0, κ1 and the two-layer NTK (see
 * test/analysis-spectral.test.ts) the Fourier coefficients agree to ≤ 2.2e−15 up to k = 256 and the
 * S² eigenvalues to ≤ 2.1e−14 (≈ 2e−15·ω_2·K(0)) up to k = 200.
 *
 * Noise. |P_k| ≤ 1, so a pointwise error ε in the profile changes λ_k by at most ω_(d−1)·max|ε|
 * (and c_k by at most N(d, k)·max|ε|, e.g. 2·max|ε| for a Fourier coefficient). The noise floor is
 * therefore ω_(d−1)·η·max|K| (max|K| = K(0) for a PSD kernel) with η the relative accuracy of the profile values: η = 1e−13 on the CPU
 * (float64 values are good to ~1e−15; margin for depth and the quadrature) and η = 1e−6 on WebGPU
 * (f32 inputs and arithmetic: pointwise ≤ 2.6e−7 relative measured on arora2019 and belfer2021 up to
 * depth 50, and the resulting eigenvalues differ from the CPU ones by ≤ 0.035 floors; pass
 * relativeNoise: 1e−5, the backend's tolerance up to depth 1000, for very deep networks). An eigenvalue
 * with |λ_k| ≤ floor is reported as noise (a degree whose eigenvalue is zero in exact arithmetic comes
 * out as ≤ 1.1e−15 ≈ 1e−16·ω_(d−1)·K(0) on the CPU), one below −floor as negative (the kernel would not be PSD).
 */
import { kernel, type Arch, type Backend, type BackendChoice } from '../api.js';
import type { KernelKind } from '../result.js';
import { InputError } from '../errors.js';
import { fitPowerLaw } from './depth.js';

/** Relative accuracy η of the profile values per backend (see the module comment). */
export const SPECTRAL_RELATIVE_NOISE: Readonly<Record<Backend, number>> = { cpu: 1e-13, webgpu: 1e-6 };
/** A fit uses eigenvalues at least this many noise floors above zero (log error ≤ ~0.1). */
export const FIT_FLOOR_FACTOR = 10;
/** Largest accepted kmax and dim. */
export const SPECTRAL_MAX_DEGREE = 4096;
export const SPECTRAL_MAX_DIM = 256;

export interface SpectralOptions {
  /** Which kernel (default "ntk"). */
  kind?: KernelKind;
  /** Input dimension d: the sphere is S^(d−1) (default 2, the circle). */
  dim?: number;
  /** Highest degree (default 64). */
  kmax?: number;
  /** "cpu" (default), "webgpu" or "auto". */
  backend?: BackendChoice;
  /** Degrees [from, to] of the power-law fits (default [max(2, ⌈kmax/4⌉), kmax]). */
  fitRange?: readonly [number, number];
  /** Degrees [from, to] of the odd/even energy ratio (default [2, kmax]). */
  parityRange?: readonly [number, number];
  /** Override η, the relative accuracy of the profile values that sets the noise floor. */
  relativeNoise?: number;
  /** Cancels the kernel computation. */
  signal?: AbortSignal;
}

export type DegreeStatus = 'signal' | 'noise' | 'negative';

export interface PowerLawFit {
  /** Slope of log λ_k against log k (≈ −d for ReLU NTKs on S^(d−1)). */
  exponent: number;
  /** C in λ_k ≈ C·k^exponent. */
  prefactor: number;
  /** The degrees used. */
  degrees: number[];
  /** Root-mean-square residual of the log-log fit. */
  rmsLogResidual: number;
}

export interface ParityFit {
  parity: 'even' | 'odd';
  /** null when fewer than three degrees of this parity are above the fit threshold. */
  fit: PowerLawFit | null;
  /** Why the fit stopped (or did not start), or null when it ran to the end of the range. */
  stoppedAt: { degree: number; reason: string } | null;
}

export interface SpectralDecay {
  kind: KernelKind;
  dim: number;
  kmax: number;
  backend: Backend;
  /** Degrees 0 … kmax. */
  degrees: number[];
  /** Funk–Hecke eigenvalues λ_k (surface measure; on S¹ λ_k = π a_k, λ_0 = 2π a_0). */
  eigenvalues: number[];
  /** Expansion coefficients c_k: f(t) = Σ c_k P_k(t); on S¹ the Fourier cosine coefficients a_k. */
  coefficients: number[];
  /** N(d, k), the number of spherical harmonics of degree k (on S¹: 1, 2, 2, …). */
  multiplicities: number[];
  /** K(x, x) for a unit input (the profile's value at θ = 0). */
  k0: number;
  /** η: the relative accuracy assumed for the profile values. */
  relativeNoise: number;
  /** Noise floor of the eigenvalues: ω_(d−1)·η·max|K|. */
  noiseFloor: number;
  /** Noise floor of each coefficient: N(d, k)·η·max|K| (2η·K(0) for a Fourier coefficient). */
  coefficientNoiseFloor: number[];
  /** Per degree: above the floor, within it, or below −floor. */
  status: DegreeStatus[];
  /** No eigenvalue below −noiseFloor (the kernel is PSD as far as can be resolved). */
  nonNegative: boolean;
  /** Power-law fits of λ_k against k, even and odd degrees separately. */
  fits: { even: ParityFit; odd: ParityFit };
  parity: {
    /** λ_3/λ_2 (= a_3/a_2 on S¹); null when kmax < 3 or λ_2 is noise. */
    ratio32: number | null;
    /** false when λ_3 is within the noise floor: the ratio is then 0 to within ratio32Bound. */
    ratio32Resolved: boolean;
    /** Largest |λ_3/λ_2| consistent with the noise floor when λ_3 is noise. */
    ratio32Bound: number | null;
    /** Σ c_k over odd k / Σ c_k over even k in `range` (the share of K(0) = Σ c_k per parity). */
    oddEvenEnergy: number | null;
    range: [number, number];
  };
  quadrature: { nodes: number; panels: number; order: number };
}

// ---- quadrature --------------------------------------------------------------------------

const GL_ORDER = 20;
const GRADING = 0.15;
const GRADING_LEVELS = 18;

/** n-point Gauss–Legendre nodes and weights on [−1, 1] (Newton on P_n). */
function gaussLegendre(n: number): { x: number[]; w: number[] } {
  const x = new Array<number>(n);
  const w = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x[i] = z;
    w[i] = 2 / ((1 - z * z) * dp * dp);
  }
  return { x, w };
}

/** Nodes θ and weights on [0, π]: uniform panels, the end panels graded geometrically. */
function thetaRule(kmax: number): { theta: number[]; weight: number[]; panels: number } {
  const gl = gaussLegendre(GL_ORDER);
  const P = Math.max(8, Math.ceil(kmax / 2));
  const h = Math.PI / P;
  const intervals: [number, number][] = [];
  // Graded [0, h]: [0, hσ^J], [hσ^J, hσ^(J−1)], …, [hσ, h].
  const edges = [0];
  for (let j = GRADING_LEVELS; j >= 1; j--) edges.push(h * GRADING ** j);
  edges.push(h);
  for (let j = 0; j + 1 < edges.length; j++) intervals.push([edges[j]!, edges[j + 1]!]);
  for (let p = 1; p < P - 1; p++) intervals.push([p * h, (p + 1) * h]);
  // Mirror image at θ = π, written as π − s so that nodes near π keep their precision.
  for (let j = edges.length - 1; j >= 1; j--) intervals.push([Math.PI - edges[j]!, Math.PI - edges[j - 1]!]);
  const theta: number[] = [];
  const weight: number[] = [];
  for (const [a, b] of intervals) {
    const m = (a + b) / 2;
    const r = (b - a) / 2;
    for (let i = 0; i < GL_ORDER; i++) {
      theta.push(m + r * gl.x[i]!);
      weight.push(r * gl.w[i]!);
    }
  }
  return { theta, weight, panels: intervals.length };
}

/** ω_n = |S^n| by ω_n = 2π ω_(n−2)/(n − 1) (no Gamma function, no overflow for n ≤ 256). */
function sphereArea(n: number): number {
  let w = n % 2 === 0 ? 2 : 2 * Math.PI;
  for (let m = n % 2 === 0 ? 2 : 3; m <= n; m += 2) w = (2 * Math.PI * w) / (m - 1);
  return w;
}

/** N(d, k) = (2k + d − 2)/k · C(k + d − 3, k − 1) for k ≥ 1, N(d, 0) = 1. */
function multiplicity(d: number, k: number): number {
  if (k === 0) return 1;
  let c = 1;
  for (let j = 1; j <= k - 1; j++) c = (c * (j + d - 2)) / j;
  return ((2 * k + d - 2) / k) * c;
}

// ---- fits --------------------------------------------------------------------------------

function powerLaw(ks: number[], ls: number[]): PowerLawFit {
  return { ...fitPowerLaw(ks, ls), degrees: ks };
}

/** Fit the degrees of one parity in [from, to], stopping at the first one that is not clearly above the floor. */
function parityFit(parity: 'even' | 'odd', lambda: number[], floor: number, from: number, to: number): ParityFit {
  const ks: number[] = [];
  const ls: number[] = [];
  let stoppedAt: ParityFit['stoppedAt'] = null;
  const start = Math.max(1, from);
  for (let k = start + (((start % 2) + (parity === 'odd' ? 1 : 0)) % 2); k <= to; k += 2) {
    const l = lambda[k]!;
    if (!(l >= FIT_FLOOR_FACTOR * floor) || !(l > 0)) {
      stoppedAt = {
        degree: k,
        reason:
          Math.abs(l) <= floor
            ? `λ_${k} = ${l.toExponential(2)} is within the noise floor ${floor.toExponential(2)}`
            : l < 0
              ? `λ_${k} = ${l.toExponential(2)} is negative`
              : `λ_${k} = ${l.toExponential(2)} is less than ${FIT_FLOOR_FACTOR}× the noise floor ${floor.toExponential(2)}`,
      };
      break;
    }
    ks.push(k);
    ls.push(l);
  }
  return { parity, fit: ks.length >= 3 ? powerLaw(ks, ls) : null, stoppedAt };
}

// ---- main --------------------------------------------------------------------------------

function checkRange(name: string, r: readonly [number, number] | undefined, kmax: number, min: number): [number, number] | undefined {
  if (r === undefined) return undefined;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => Number.isInteger(v))) {
    throw new InputError(`spectral decay: ${name} must be two integers [from, to], got ${JSON.stringify(r)}`);
  }
  const [a, b] = r;
  if (!(a >= min && a <= b && b <= kmax)) throw new InputError(`spectral decay: ${name} [${a}, ${b}] must satisfy ${min} ≤ from ≤ to ≤ kmax = ${kmax}`);
  return [a, b];
}

/**
 * Mercer eigenvalues per degree of `arch`'s kernel on S^(dim−1), from the profile
 * K(e₁, cos θ·e₁ + sin θ·e₂) computed with `kernel()` on the chosen backend.
 */
export async function spectralDecay(arch: Arch, options: SpectralOptions = {}): Promise<SpectralDecay> {
  const kind = options.kind ?? 'ntk';
  if (kind !== 'nngp' && kind !== 'ntk') throw new InputError(`spectral decay: kind must be "nngp" or "ntk", got ${JSON.stringify(kind)}`);
  const dim = options.dim ?? 2;
  if (!Number.isInteger(dim) || dim < 2 || dim > SPECTRAL_MAX_DIM) {
    throw new InputError(`spectral decay: dim must be an integer in [2, ${SPECTRAL_MAX_DIM}], got ${String(dim)}`);
  }
  const kmax = options.kmax ?? 64;
  if (!Number.isInteger(kmax) || kmax < 1 || kmax > SPECTRAL_MAX_DEGREE) {
    throw new InputError(`spectral decay: kmax must be an integer in [1, ${SPECTRAL_MAX_DEGREE}], got ${String(kmax)}`);
  }
  const fitRange = checkRange('fitRange', options.fitRange, kmax, 1) ?? [Math.min(kmax, Math.max(2, Math.ceil(kmax / 4))), kmax];
  const parityRange = checkRange('parityRange', options.parityRange, kmax, 1) ?? [Math.min(2, kmax), kmax];
  if (options.relativeNoise !== undefined && !(options.relativeNoise >= 0 && Number.isFinite(options.relativeNoise))) {
    throw new InputError(`spectral decay: relativeNoise must be a finite number ≥ 0, got ${String(options.relativeNoise)}`);
  }

  const { theta, weight, panels } = thetaRule(kmax);
  // Row 0 is θ = 0 (K(x, x)); the rest are the quadrature nodes.
  const z = [0, ...theta].map((t) => {
    const v = new Array<number>(dim).fill(0);
    v[0] = Math.cos(t);
    v[1] = Math.sin(t);
    return v;
  });
  const x = [z[0]!];
  const res = await kernel(arch, x, z, {
    get: kind,
    backend: options.backend ?? 'cpu',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const row = res[kind]!;
  let scale = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (!Number.isFinite(v)) throw new InputError(`spectral decay: the kernel is not finite at θ = ${i === 0 ? 0 : theta[i - 1]} (value ${v})`);
    scale = Math.max(scale, Math.abs(v));
  }
  const k0 = row[0]!;

  // λ_k = ω_(d−2) Σ w_i f(θ_i) sin^(d−2)θ_i P_k(cos θ_i).
  const n = theta.length;
  const g = new Float64Array(n);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = Math.cos(theta[i]!);
    g[i] = weight[i]! * row[i + 1]! * (dim === 2 ? 1 : Math.sin(theta[i]!) ** (dim - 2));
  }
  const lambda = new Array<number>(kmax + 1).fill(0);
  const wd2 = sphereArea(dim - 2);
  if (dim === 2) {
    // cos kθ directly: the Chebyshev recurrence loses ~k ulp.
    for (let k = 0; k <= kmax; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += g[i]! * Math.cos(k * theta[i]!);
      lambda[k] = wd2 * s;
    }
  } else {
    // P_(k+1) = ((2k + d − 2) t P_k − k P_(k−1))/(k + d − 2), stable for |t| ≤ 1.
    const p0 = new Float64Array(n).fill(1);
    const p1 = Float64Array.from(t);
    const sums = (p: Float64Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += g[i]! * p[i]!;
      return wd2 * s;
    };
    lambda[0] = sums(p0);
    if (kmax >= 1) lambda[1] = sums(p1);
    let prev = p0;
    let cur = p1;
    for (let k = 1; k < kmax; k++) {
      const next = prev; // reuse the buffer
      for (let i = 0; i < n; i++) next[i] = ((2 * k + dim - 2) * t[i]! * cur[i]! - k * prev[i]!) / (k + dim - 2);
      prev = cur;
      cur = next;
      lambda[k + 1] = sums(cur);
    }
  }

  const backend = res.backend;
  const eta = options.relativeNoise ?? SPECTRAL_RELATIVE_NOISE[backend];
  const wd1 = sphereArea(dim - 1);
  const floor = wd1 * eta * scale;
  const degrees = Array.from({ length: kmax + 1 }, (_, k) => k);
  const multiplicities = degrees.map((k) => multiplicity(dim, k));
  const coefficients = degrees.map((k) => (multiplicities[k]! * lambda[k]!) / wd1);
  const status = lambda.map((l): DegreeStatus => (Math.abs(l) <= floor ? 'noise' : l < 0 ? 'negative' : 'signal'));

  let ratio32: number | null = null;
  let ratio32Resolved = false;
  let ratio32Bound: number | null = null;
  if (kmax >= 3 && status[2] === 'signal') {
    ratio32 = lambda[3]! / lambda[2]!;
    ratio32Resolved = status[3] !== 'noise';
    if (!ratio32Resolved) ratio32Bound = floor / lambda[2]!;
  }
  let odd = 0;
  let even = 0;
  for (let k = parityRange[0]; k <= parityRange[1]; k++) {
    if (k % 2 === 1) odd += coefficients[k]!;
    else even += coefficients[k]!;
  }

  return {
    kind,
    dim,
    kmax,
    backend,
    degrees,
    eigenvalues: lambda,
    coefficients,
    multiplicities,
    k0,
    relativeNoise: eta,
    noiseFloor: floor,
    coefficientNoiseFloor: multiplicities.map((m) => m * eta * scale),
    status,
    nonNegative: !status.includes('negative'),
    fits: {
      even: parityFit('even', lambda, floor, fitRange[0], fitRange[1]),
      odd: parityFit('odd', lambda, floor, fitRange[0], fitRange[1]),
    },
    parity: {
      ratio32,
      ratio32Resolved,
      ratio32Bound,
      oddEvenEnergy: even > 0 ? odd / even : null,
      range: parityRange,
    },
    quadrature: { nodes: n, panels, order: GL_ORDER },
  };
}
