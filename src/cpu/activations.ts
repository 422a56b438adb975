/**
 * Closed-form Gaussian expectations of the nonlinearities, in float64: for (u, v) ~ N(0, [[kxx,
 * kxz], [kxz, kzz]]), S = E[φ(u)φ(v)] and Ṡ = E[φ'(u)φ'(v)]. These are the "dual activations" that
 * advance the NNGP (K ← S) and the NTK (Θ ← Ṡ·Θ) through a nonlinearity.
 *
 * Arc-cosine functions (Cho & Saul 2009), with θ = arccos ρ:
 *   κ0(ρ) = (π − θ)/π,   κ1(ρ) = (sin θ + (π − θ)·cos θ)/π,
 *   J2(θ) = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ).
 */
import type { Activation } from '../spec/types.js';

const PI = Math.PI;

/** Largest |ρ| − 1 accepted as round-off before ρ is brought back into [−1, 1]. */
const RHO_ROUNDOFF = 1e-9;

/** ρ = kxz/√(kxx·kzz), for kxx·kzz > 0 (zero variances are handled by `degenerate`). */
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

/** [S, Ṡ] for the pair; `out` is reused to avoid allocation in the hot loop. */
export function dual(act: Activation, kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  if (!(kxx * kzz > 0) && act.type !== 'erf') {
    degenerate(act, kxx, kzz, out);
    return;
  }
  switch (act.type) {
    case 'relu':
      relu(kxx, kzz, kxz, out);
      return;
    case 'arccos': {
      const rho = correlation(kxx, kzz, kxz);
      const s = Math.sqrt(kxx * kzz);
      if (act.order === 0) {
        // φ = 1(u > 0): P(u > 0, v > 0); its derivative is zero almost everywhere.
        out[0] = 0.5 * kappa0(rho);
        out[1] = 0;
      } else if (act.order === 1) {
        relu(kxx, kzz, kxz, out);
      } else {
        // φ = 1(u > 0)·u²: E[φφ] = kxx·kzz·J2/(2π) = 1.5·kxx·kzz·κ2; φ' = 2·relu.
        out[0] = 1.5 * kxx * kzz * kappa2(rho);
        out[1] = 2 * s * kappa1(rho);
      }
      return;
    }
    case 'leakyRelu':
      abRelu(act.slope, 1, kxx, kzz, kxz, out);
      return;
    case 'abRelu':
      abRelu(act.a, act.b, kxx, kzz, kxz, out);
      return;
    case 'erf': {
      const p = (1 + 2 * kxx) * (1 + 2 * kzz);
      out[0] = (2 / PI) * Math.asin(clampUnit((2 * kxz) / Math.sqrt(p)));
      out[1] = 4 / (PI * Math.sqrt(p - 4 * kxz * kxz));
      return;
    }
  }
}

/**
 * One side has zero variance, so that pre-activation is the constant 0: S = φ(0)·E[φ(v)] = 0 for
 * every rectifier, and Ṡ = φ'(0)·E[φ'(v)] with the one-sided convention φ'(0) = a (the slope for
 * u ≤ 0), the same convention the Monte Carlo oracle's backpropagation uses.
 */
function degenerate(act: Activation, kxx: number, kzz: number, out: Float64Array): void {
  out[0] = 0;
  if (act.type === 'leakyRelu' || act.type === 'abRelu') {
    const a = act.type === 'leakyRelu' ? act.slope : act.a;
    const b = act.type === 'leakyRelu' ? 1 : act.b;
    // E[φ'(v)] is (a + b)/2 for a centred Gaussian v, and a when v is the constant 0 as well.
    const other = kxx > 0 || kzz > 0 ? (a + b) / 2 : a;
    out[1] = a * other;
  } else {
    out[1] = 0;
  }
}

function relu(kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  const rho = correlation(kxx, kzz, kxz);
  out[0] = 0.5 * Math.sqrt(kxx * kzz) * kappa1(rho);
  out[1] = 0.5 * kappa0(rho);
}

/**
 * φ(u) = b·relu(u) − a·relu(−u). Using κ1(ρ) − κ1(−ρ) = ρ and P(u > 0, v < 0) = (1 − κ0)/2:
 * S = ½[(a − b)²·√(kxx kzz)·κ1(ρ) + 2ab·kxz], Ṡ = ½[(a − b)²·κ0(ρ) + 2ab].
 */
function abRelu(a: number, b: number, kxx: number, kzz: number, kxz: number, out: Float64Array): void {
  const rho = correlation(kxx, kzz, kxz);
  const d2 = (a - b) * (a - b);
  out[0] = 0.5 * (d2 * Math.sqrt(kxx * kzz) * kappa1(rho) + 2 * a * b * kxz);
  out[1] = 0.5 * (d2 * kappa0(rho) + 2 * a * b);
}

function clampUnit(x: number): number {
  // |2kxz| ≤ √((1+2kxx)(1+2kzz)) holds strictly for a valid covariance; only round-off reaches 1.
  if (x > 1) {
    if (x - 1 > RHO_ROUNDOFF) throw new Error(`internal error: erf correlation ${x} > 1`);
    return 1;
  }
  if (x < -1) {
    if (-1 - x > RHO_ROUNDOFF) throw new Error(`internal error: erf correlation ${x} < −1`);
    return -1;
  }
  return x;
}
