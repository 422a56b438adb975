/**
 * The kernel as a function of the angle between two unit inputs, and its cusp at θ = 0
 * (Tirer, Bruna & Giryes 2020, arXiv 2009.10008: the normalised slope −K'(0⁺)/K(0) measures how
 * non-smooth the kernel, and so kernel regression with it, is; residual scaling α flattens it).
 *
 * Inputs: x = e₁ and z(θ) = cos θ·e₁ + sin θ·e₂ in R^dim, both of unit norm, so that only the angle
 * varies (with inputScale "dim" and biases, dim changes the kernel; without biases it does not).
 *
 * Convolutional specs take images: x = u and z(θ) = cos θ·u + sin θ·v, with u, v a fixed seeded
 * orthogonal pair of images of shape `imageShape` ([C, H, W] or [C, P], default 1,8,8), each
 * scaled so that its mean per-pixel squared norm divided by C is 1 (‖u‖² = ‖v‖² = C·P; see
 * image-pair.ts). `dim` is for fully connected specs and `imageShape` for conv specs only.
 */
import { kernel, takesImages, type Arch, type Backend, type BackendChoice, type KernelInput } from '../api.js';
import { InputError } from '../errors.js';
import type { KernelKind } from '../result.js';
import { DEFAULT_IMAGE_SHAPE, imagePair, pairImages } from './image-pair.js';

export interface ProfileOptions {
  /** Which kernel (default "ntk"). */
  kind?: KernelKind;
  /** Angles in radians, in [0, π] (default: `points` equally spaced ones). */
  angles?: readonly number[];
  /** Number of equally spaced angles in [0, π] when `angles` is not given (default 181). */
  points?: number;
  /** Input dimension of a fully connected spec (default 2). */
  dim?: number;
  /** Conv specs: the shape [C, H, W] or [C, P] of the image pair (default [1, 8, 8]). */
  imageShape?: readonly number[];
  /** "cpu" (float64, default), "webgpu" (f32 with carried gaps, ~1e−7 relative) or "auto". */
  backend?: BackendChoice;
}

export interface Profile {
  kind: KernelKind;
  /** Fully connected specs: the input dimension (conv specs: C·P, the values per image). */
  dim: number;
  /** Conv specs: the shape of the image pair. */
  imageShape?: number[];
  /** θ in radians. */
  angles: number[];
  /** K(θ). */
  values: number[];
  /** K(θ)/K(0). */
  normalized: number[];
  /** K(0) = K(x, x). */
  k0: number;
  /** Where it was computed. */
  backend: Backend;
}

function unitPairs(angles: readonly number[], dim: number): { x: number[][]; z: number[][] } {
  const e = (c: number, s: number) => {
    const v = new Array<number>(dim).fill(0);
    v[0] = c;
    v[1] = s;
    return v;
  };
  return { x: [e(1, 0)], z: angles.map((t) => e(Math.cos(t), Math.sin(t))) };
}

function checkDim(dim: number): void {
  if (!Number.isInteger(dim) || dim < 2) throw new InputError(`profile: dim must be an integer ≥ 2, got ${String(dim)}`);
}

/**
 * The inputs at angles θ for `arch`: unit vectors in R^dim (fully connected) or images of the seeded
 * pair (conv); x is the one at θ = 0. Refuses dim for a conv spec and imageShape for an FC one.
 */
export function anglePoints(
  arch: Arch,
  angles: readonly number[],
  o: { dim?: number | undefined; imageShape?: readonly number[] | undefined },
  what = 'profile',
): { x: KernelInput; z: KernelInput; dim: number; imageShape?: number[] } {
  if (takesImages(arch)) {
    if (o.dim !== undefined) throw new InputError(`${what}: dim is for fully connected specs; a conv spec takes imageShape (C,H,W or C,P)`);
    const pair = imagePair(o.imageShape ?? DEFAULT_IMAGE_SHAPE);
    return { x: pairImages(pair, [[1, 0]]), z: pairImages(pair, angles.map((t) => [Math.cos(t), Math.sin(t)] as const)), dim: pair.u.length, imageShape: pair.shape };
  }
  if (o.imageShape !== undefined) throw new InputError(`${what}: imageShape is for convolutional specs; a fully connected spec takes dim`);
  const dim = o.dim ?? 2;
  checkDim(dim);
  return { ...unitPairs(angles, dim), dim };
}

/** K(e₁, z(θ)) over angles in [0, π] on the chosen backend (float64 CPU reference by default). */
export async function kernelProfile(arch: Arch, options: ProfileOptions = {}): Promise<Profile> {
  const kind = options.kind ?? 'ntk';
  if (kind !== 'nngp' && kind !== 'ntk') throw new InputError(`profile: kind must be "nngp" or "ntk", got ${JSON.stringify(kind)}`);
  let angles: number[];
  if (options.angles !== undefined) {
    angles = [...options.angles];
    if (angles.length === 0) throw new InputError('profile: angles must not be empty');
    angles.forEach((t, i) => {
      if (typeof t !== 'number' || !(t >= 0 && t <= Math.PI)) throw new InputError(`profile: angles[${i}] = ${String(t)} is not in [0, π]`);
    });
  } else {
    const n = options.points ?? 181;
    if (!Number.isInteger(n) || n < 2) throw new InputError(`profile: points must be an integer ≥ 2, got ${String(n)}`);
    angles = Array.from({ length: n }, (_, i) => (i === n - 1 ? Math.PI : (Math.PI * i) / (n - 1)));
  }
  const { x, z, dim, imageShape } = anglePoints(arch, [0, ...angles], options);
  const r = await kernel(arch, x, z, { get: kind, backend: options.backend ?? 'cpu' });
  const row = r[kind]!;
  const k0 = row[0]!;
  const values = Array.from(row.subarray(1));
  return { kind, dim, ...(imageShape ? { imageShape } : {}), angles, values, normalized: values.map((v) => v / k0), k0, backend: r.backend };
}

/**
 * The normalised cusp slope −K'(0⁺)/K(0). 0 for a kernel that is smooth at θ = 0.
 *
 * CPU (float64): one-sided differences at h and 2h combined to cancel the O(h) term (Richardson),
 * error O(h²) + O(ε/h); the reference path carries 1 − ρ without cancellation, so h = 1e−5 gives
 * about ten digits (for cusps much steeper than 1e4 the O(h²) term grows: see errorEstimate).
 * WebGPU (f32): h = 1e−5 would drown in rounding, so the slope is the derivative at 0 of the
 * degree-4 polynomial through θ = 0, h, …, 4h (the profile is a power series in θ on each side of
 * the cusp), with h = 0.01/slope (at most 0.01) so that the fit sees the cusp at its own scale.
 * `errorEstimate` = the change from the degree-3 fit (truncation) + the f32 rounding bound
 * η·(128/12)/h with η = 1e−6, about 1e−3 of the slope; measured errors are 1e−5 … 1.2e−4 of it
 * (test/analysis-profile-gpu.test.ts), from tirer2021 at depth 5 to belfer2021 at depth 10⁴.
 */
export async function cuspSlope(
  arch: Arch,
  options: { kind?: KernelKind; dim?: number; imageShape?: readonly number[]; backend?: BackendChoice } = {},
): Promise<number> {
  return (await cuspSlopeEstimate(arch, options)).slope;
}

/** cuspSlope with its backend and an estimate of its error. */
export async function cuspSlopeEstimate(
  arch: Arch,
  options: { kind?: KernelKind; dim?: number; imageShape?: readonly number[]; backend?: BackendChoice } = {},
): Promise<{ slope: number; errorEstimate: number; backend: Backend }> {
  const kind = options.kind ?? 'ntk';
  const dim = options.dim;
  const backend = options.backend ?? 'cpu';
  const inputs = { ...(dim !== undefined ? { dim } : {}), ...(options.imageShape !== undefined ? { imageShape: options.imageShape } : {}) };
  // Decide the backend first: the step size depends on the arithmetic.
  const probe = await kernelProfile(arch, { kind, ...inputs, angles: [1e-5, 2e-5], backend });
  if (probe.backend === 'cpu') {
    const s1 = (1 - probe.normalized[0]!) / 1e-5;
    const s2 = (1 - probe.normalized[1]!) / 2e-5;
    const slope = 2 * s1 - s2;
    return { slope, errorEstimate: Math.abs(s1 - s2) * 1e-5 + 1e-10 * Math.abs(slope), backend: 'cpu' };
  }
  // The fit must see the cusp at its own scale: θ ~ 1/slope (a depth-L MLP has slope L/(2π)). Start
  // at h = 0.01 and shrink h to 0.01/slope until it settles (the first fits underestimate steep cusps).
  let h = 0.01;
  let fit = await gpuCuspFit(arch, kind, inputs, h);
  for (let it = 0; it < 8; it++) {
    const next = Math.max(GPU_MIN_STEP, 0.01 / Math.max(1, Math.abs(fit.d4)));
    if (next >= h / 2) break;
    h = next;
    fit = await gpuCuspFit(arch, kind, inputs, h);
  }
  // Truncation: the change from the degree-3 fit. Rounding: each normalised value carries ~η of
  // f32 error, and the degree-4 formula's weights sum to 128/12 per h.
  const rounding = (GPU_PROFILE_ETA * 128) / (12 * h);
  return { slope: fit.d4, errorEstimate: Math.abs(fit.d4 - fit.d3) + rounding, backend: 'webgpu' };
}

/** Relative accuracy of normalised WebGPU profile values near θ = 0 (measured ≲ 3e−7; 4× margin). */
const GPU_PROFILE_ETA = 1e-6;
/** Smallest GPU step: below it the f32 inputs (hi/lo split) no longer resolve the angle well. */
const GPU_MIN_STEP = 1e-5;

/** One-sided derivative fits of 1 − K(θ)/K(0) at θ = 0 from θ = h … 4h on WebGPU: degree 4 and 3. */
async function gpuCuspFit(arch: Arch, kind: KernelKind, inputs: { dim?: number; imageShape?: readonly number[] }, h: number): Promise<{ d4: number; d3: number }> {
  // dim (FC) or imageShape (conv) as given: conv specs run on WebGPU too.
  const p = await kernelProfile(arch, { kind, ...inputs, angles: [h, 2 * h, 3 * h, 4 * h], backend: 'webgpu' });
  const f = [0, ...p.normalized.map((v) => 1 - v)];
  // Forward-difference formulas for f'(0) of orders 4 and 3 (f(0) = 0 here).
  const d4 = (-25 * f[0]! + 48 * f[1]! - 36 * f[2]! + 16 * f[3]! - 3 * f[4]!) / (12 * h);
  const d3 = (-11 * f[0]! + 18 * f[1]! - 9 * f[2]! + 2 * f[3]!) / (6 * h);
  return { d4, d3 };
}
