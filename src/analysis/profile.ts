/**
 * The kernel as a function of the angle between two unit inputs, and its cusp at θ = 0
 * (Tirer, Bruna & Giryes 2020, arXiv 2009.10008: the normalised slope −K'(0⁺)/K(0) measures how
 * non-smooth the kernel, and so kernel regression with it, is; residual scaling α flattens it).
 *
 * Inputs: x = e₁ and z(θ) = cos θ·e₁ + sin θ·e₂ in R^dim, both of unit norm, so that only the angle
 * varies (with inputScale "dim" and biases, dim changes the kernel; without biases it does not).
 */
import { kernelCpu, type Arch } from '../api.js';
import { InputError } from '../errors.js';
import type { KernelKind } from '../cpu/gram.js';

export interface ProfileOptions {
  /** Which kernel (default "ntk"). */
  kind?: KernelKind;
  /** Angles in radians, in [0, π] (default: `points` equally spaced ones). */
  angles?: readonly number[];
  /** Number of equally spaced angles in [0, π] when `angles` is not given (default 181). */
  points?: number;
  /** Input dimension (default 2). */
  dim?: number;
}

export interface Profile {
  kind: KernelKind;
  dim: number;
  /** θ in radians. */
  angles: number[];
  /** K(θ). */
  values: number[];
  /** K(θ)/K(0). */
  normalized: number[];
  /** K(0) = K(x, x). */
  k0: number;
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

/** K(e₁, z(θ)) over angles in [0, π], float64 (CPU reference). */
export function kernelProfile(arch: Arch, options: ProfileOptions = {}): Profile {
  const kind = options.kind ?? 'ntk';
  if (kind !== 'nngp' && kind !== 'ntk') throw new InputError(`profile: kind must be "nngp" or "ntk", got ${JSON.stringify(kind)}`);
  const dim = options.dim ?? 2;
  checkDim(dim);
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
  const { x, z } = unitPairs([0, ...angles], dim);
  const row = kernelCpu(arch, x, z, { get: kind })[kind]!;
  const k0 = row[0]!;
  const values = Array.from(row.subarray(1));
  return { kind, dim, angles, values, normalized: values.map((v) => v / k0), k0 };
}

/**
 * The normalised cusp slope −K'(0⁺)/K(0), by one-sided differences at h and 2h combined to cancel
 * the O(h) term (Richardson): error O(h²) + O(ε/h). The reference path carries 1 − ρ without
 * cancellation, so h = 1e−5 gives about ten digits. 0 for a kernel that is smooth at θ = 0.
 */
export function cuspSlope(arch: Arch, options: { kind?: KernelKind; dim?: number } = {}): number {
  const h = 1e-5;
  const p = kernelProfile(arch, { kind: options.kind ?? 'ntk', dim: options.dim ?? 2, angles: [h, 2 * h] });
  const s1 = (1 - p.normalized[0]!) / h;
  const s2 = (1 - p.normalized[1]!) / (2 * h);
  return 2 * s1 - s2;
}
