/**
 * The arc-cosine functions of Cho & Saul (2009) and the rectifier duals built on them, in the plain
 * ρ form and in the gap form.
 *
 * The gap form: a pair's correlation ρ is carried as g = 1 − ρ and h = 1 + ρ, each updated by
 * formulas whose terms are all non-negative on its own side, so the distance to ρ = ±1 keeps full
 * relative precision. Carrying ρ itself loses it: for inputs 1e−6 rad apart 1 − ρ ≈ 5e−13, and
 * every float64 rounding of ρ (1e−16) is then an error of 2e−4 in 1 − ρ, which biased networks
 * accumulate over thousands of layers. The WGSL version of the same formulas is
 * shaders/kernel_ops.wgsl (in f32, with a signed single gap).
 *
 * With θ = arccos ρ:
 *   κ0(ρ) = (π − θ)/π,   κ1(ρ) = (sin θ + (π − θ)·cos θ)/π,
 *   J2(θ) = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ).
 * Shared by relu, arccos, leakyRelu and abRelu.
 */
import type { ActOut } from './entry.js';

const PI = Math.PI;

/** Largest |ρ| − 1 accepted as round-off before ρ is brought back into [−1, 1]. */
export const RHO_ROUNDOFF = 1e-9;

/** ρ = kxz/√(kxx·kzz), for kxx·kzz > 0 (zero variances are handled by each entry). */
export function correlation(kxx: number, kzz: number, kxz: number): number {
  const den = Math.sqrt(kxx * kzz);
  if (!(den > 0)) return 0;
  const rho = kxz / den;
  if (Math.abs(rho) > 1) {
    if (Math.abs(rho) - 1 > RHO_ROUNDOFF) {
      throw new Error(`internal error: correlation ${rho} outside [−1, 1] (kxx=${kxx}, kzz=${kzz}, kxz=${kxz})`);
    }
    return rho > 0 ? 1 : -1;
  }
  return rho;
}

export function kappa0(rho: number): number {
  return (PI - Math.acos(rho)) / PI;
}

export function kappa1(rho: number): number {
  const sin = Math.sqrt((1 - rho) * (1 + rho));
  return (sin + (PI - Math.acos(rho)) * rho) / PI;
}

/** J2(θ)/(3π), so that it is 1 at ρ = 1. */
export function kappa2(rho: number): number {
  const theta = Math.acos(rho);
  const sin = Math.sqrt((1 - rho) * (1 + rho));
  return (3 * sin * rho + (PI - theta) * (1 + 2 * rho * rho)) / (3 * PI);
}

/** ReLU's [S, Ṡ] for kxx·kzz > 0. */
export function reluDual(kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  const rho = correlation(kxx, kzz, kxz);
  out[0] = 0.5 * Math.sqrt(kxx * kzz) * kappa1(rho);
  out[1] = 0.5 * kappa0(rho);
}

/**
 * φ(u) = b·relu(u) − a·relu(−u), for kxx·kzz > 0. Using κ1(ρ) − κ1(−ρ) = ρ and
 * P(u > 0, v < 0) = (1 − κ0)/2: S = ½[(a − b)²·√(kxx kzz)·κ1(ρ) + 2ab·kxz], Ṡ = ½[(a − b)²·κ0(ρ) + 2ab].
 */
export function abReluDual(a: number, b: number, kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  const rho = correlation(kxx, kzz, kxz);
  const d2 = (a - b) * (a - b);
  out[0] = 0.5 * (d2 * Math.sqrt(kxx * kzz) * kappa1(rho) + 2 * a * b * kxz);
  out[1] = 0.5 * (d2 * kappa0(rho) + 2 * a * b);
}

/**
 * A zero-variance side of an ab-rectifier: that pre-activation is the constant 0, so S = 0 and
 * Ṡ = φ'(0)·E[φ'(v)] with φ'(0) = a; E[φ'(v)] is (a + b)/2 for a centred Gaussian v, and a when v
 * is the constant 0 as well.
 */
export function abReluDegenerateDual(a: number, b: number, kxx: number, kzz: number, out: Float64Array): void {
  out[0] = 0;
  const other = kxx > 0 || kzz > 0 ? (a + b) / 2 : a;
  out[1] = a * other;
}

// ---- gap form ------------------------------------------------------------------------------

/** θ from the gaps: 2·asin(√(g/2)) near ρ = 1, π − 2·asin(√(h/2)) near ρ = −1. */
export function thetaOf(g: number, h: number): number {
  return g <= h ? 2 * Math.asin(Math.sqrt(0.5 * g)) : PI - 2 * Math.asin(Math.sqrt(0.5 * h));
}

/** π − θ, accurate near θ = π. */
export function piMinusTheta(g: number, h: number): number {
  return g <= h ? PI - thetaOf(g, h) : 2 * Math.asin(Math.sqrt(0.5 * h));
}

/** κ0 = (π − θ)/π. */
export function kappa0Gap(g: number, h: number): number {
  return piMinusTheta(g, h) / PI;
}

/** sin θ − θ cos θ, by its Taylor series below θ = 0.5 (no cancellation for small angles). */
function sMinusTheta(theta: number, g: number, h: number): number {
  if (theta < 0.5) {
    return sinMinusThetaCosSeries(theta);
  }
  return Math.sqrt(g * h) - theta * 0.5 * (h - g);
}

/** u − sin u, by its series below u = 1. */
export function uMinusSin(u: number): number {
  if (u < 1) {
    const u2 = u * u;
    return u * u2 * (1 / 6 + u2 * (-1 / 120 + u2 * (1 / 5040 + u2 * (-1 / 362880 + u2 * (1 / 39916800 + u2 * (-1 / 6227020800 + u2 / 1307674368000))))));
  }
  return u - Math.sin(u);
}

/** 1 − κ1(ρ) = g − (sin θ − θ cos θ)/π ∈ [0, 1]. */
export function reluGap(g: number, h: number, theta: number): number {
  return Math.min(1, Math.max(0, g - sMinusTheta(theta, g, h) / PI));
}

/**
 * φ(u) = b·u (u > 0), a·u (u ≤ 0). With c = (a − b)²/(a² + b²):
 * 1 − ρ' = c(1 − κ1) + (1 − c)(1 − ρ), 1 + ρ' = c(1 + κ1) + (1 − c)(1 + ρ),
 * diagonal ½(a² + b²)·K, Ṡ = ½(a² + b²)(c·κ0 + 1 − c).
 */
export function abReluGap(a: number, b: number, kxx: number, kzz: number, g: number, h: number, degenerate: boolean, out: ActOut): void {
  const n2 = a * a + b * b;
  out.kxx = 0.5 * n2 * kxx;
  out.kzz = 0.5 * n2 * kzz;
  if (degenerate) {
    out.g = 1;
    out.h = 1;
    out.sdot = a * (kxx > 0 || kzz > 0 ? (a + b) / 2 : a);
    return;
  }
  const c = ((a - b) * (a - b)) / n2;
  const theta = thetaOf(g, h);
  const gr = reluGap(g, h, theta);
  out.g = c * gr + (1 - c) * g;
  out.h = c * (2 - gr) + (1 - c) * h;
  out.sdot = 0.5 * n2 * (c * kappa0Gap(g, h) + (1 - c));
}

/**
 * sin θ − θ cos θ for θ < 0.5 by its Taylor series, with no cancellation at small angles:
 * θ³/3 − θ⁵/30 + θ⁷/840 − θ⁹/45360 + θ¹¹/3991680 − θ¹³/518918400 + θ¹⁵/93405312000.
 */
export function sinMinusThetaCosSeries(theta: number): number {
  const t2 = theta * theta;
  return theta * t2 * (1 / 3 + t2 * (-1 / 30 + t2 * (1 / 840 + t2 * (-1 / 45360 + t2 * (1 / 3991680 + t2 * (-1 / 518918400 + t2 / 93405312000))))));
}
