/**
 * Kernel updates in the "gap" form used by both executors: a pair's correlation ρ is carried as
 * g = 1 − ρ and h = 1 + ρ, each updated by formulas whose terms are all non-negative on its own
 * side, so the distance to ρ = ±1 keeps full relative precision. Carrying ρ itself loses it: for
 * inputs 1e−6 rad apart 1 − ρ ≈ 5e−13, and every float64 rounding of ρ (1e−16) is then an error
 * of 2e−4 in 1 − ρ, which biased networks accumulate over thousands of layers. The WGSL version
 * of the same formulas is shaders/kernel_ops.wgsl (in f32, with a signed single gap).
 *
 * Notation: θ = arccos ρ; κ0 = (π − θ)/π; κ1 = (sin θ + (π − θ)cos θ)/π.
 */
import type { Activation } from '../spec/types.js';

const PI = Math.PI;

/** θ from the gaps: 2·asin(√(g/2)) near ρ = 1, π − 2·asin(√(h/2)) near ρ = −1. */
export function thetaOf(g: number, h: number): number {
  return g <= h ? 2 * Math.asin(Math.sqrt(0.5 * g)) : PI - 2 * Math.asin(Math.sqrt(0.5 * h));
}

/** π − θ, accurate near θ = π. */
function piMinusTheta(g: number, h: number): number {
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
function uMinusSin(u: number): number {
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

/** Output of a nonlinearity on a pair: new diagonals, gaps, and the NTK factor Ṡ. */
export interface ActOut {
  kxx: number;
  kzz: number;
  g: number;
  h: number;
  sdot: number;
}

/**
 * A nonlinearity on a Gaussian pair with variances kxx, kzz and correlation gaps g, h. A
 * zero-variance side is the constant 0 (φ(0) = 0, one-sided φ'(0) as in the Monte Carlo oracle).
 */
export function actGap(act: Activation, kxx: number, kzz: number, g: number, h: number, out: ActOut): void {
  if (act.type === 'erf') {
    erfGap(kxx, kzz, g, h, out);
    return;
  }
  const degenerate = !(kxx > 0 && kzz > 0);
  switch (act.type) {
    case 'relu':
      abRelu(0, 1, kxx, kzz, g, h, degenerate, out);
      return;
    case 'leakyRelu':
      abRelu(act.slope, 1, kxx, kzz, g, h, degenerate, out);
      return;
    case 'abRelu':
      abRelu(act.a, act.b, kxx, kzz, g, h, degenerate, out);
      return;
    case 'arccos': {
      if (act.order === 1) {
        abRelu(0, 1, kxx, kzz, g, h, degenerate, out);
        return;
      }
      if (act.order === 0) {
        // φ = 1(u > 0): S = ½κ0 on every side with variance, ρ' = κ0; gradient zero.
        out.kxx = kxx > 0 ? 0.5 : 0;
        out.kzz = kzz > 0 ? 0.5 : 0;
        const gp = degenerate ? 1 : 1 - kappa0Gap(g, h);
        out.g = gp;
        out.h = 2 - gp;
        out.sdot = 0;
        return;
      }
      // φ = 1(u > 0)·u²: S = 1.5·kxx·kzz·κ2, κ2 = J2(θ)/(3π) ≥ 0; Ṡ = 2√(kxx kzz)·κ1, and
      // 1 − κ2 = [3(θ − sin θ cos θ) + 2(π − θ)·sin²θ]/(3π), θ − sin θ cos θ = (u − sin u)/2, u = 2θ.
      out.kxx = 1.5 * kxx * kxx;
      out.kzz = 1.5 * kzz * kzz;
      if (degenerate) {
        out.g = 1;
        out.h = 1;
        out.sdot = 0;
        return;
      }
      const theta = thetaOf(g, h);
      const gp = Math.min(1, (1.5 * uMinusSin(2 * theta) + 2 * piMinusTheta(g, h) * g * h) / (3 * PI));
      out.g = gp;
      out.h = 2 - gp;
      out.sdot = 2 * Math.sqrt(kxx) * Math.sqrt(kzz) * (1 - reluGap(g, h, theta));
      return;
    }
  }
}

/**
 * φ(u) = b·u (u > 0), a·u (u ≤ 0). With c = (a − b)²/(a² + b²):
 * 1 − ρ' = c(1 − κ1) + (1 − c)(1 − ρ), 1 + ρ' = c(1 + κ1) + (1 − c)(1 + ρ),
 * diagonal ½(a² + b²)·K, Ṡ = ½(a² + b²)(c·κ0 + 1 − c).
 */
function abRelu(a: number, b: number, kxx: number, kzz: number, g: number, h: number, degenerate: boolean, out: ActOut): void {
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
 * erf: S = (2/π)·asin(ρ·w) with w = √(u v), u = 2kxx/(1 + 2kxx); Ṡ = (4/π)/√((1+2kxx)(1+2kzz) − 4kxz²).
 * erf is odd, so ρ' has the sign of ρ; with r = |ρ| and its gap m = 1 − r:
 * 1 − r' = [(√(asin u·asin v) − asin w) + (asin w − asin rw)]/√(asin u·asin v), where
 * asin w − asin rw = asin(w·m(2 − m)/(√(1 − r²w²) + r√(1 − w²))).
 */
function erfGap(kxx: number, kzz: number, g: number, h: number, out: ActOut): void {
  // u = 2k/(1 + 2k) with its complement 1 − u = 1/(1 + 2k), exact for large k.
  const pu = 1 / (1 + 2 * kxx);
  const pv = 1 / (1 + 2 * kzz);
  const u = 1 - pu;
  const v = 1 - pv;
  const AU = asinComp(u, pu);
  const AV = asinComp(v, pv);
  out.kxx = (2 / PI) * AU;
  out.kzz = (2 / PI) * AV;
  const s = Math.sqrt(kxx * kzz);
  out.sdot = 4 / PI / Math.sqrt(1 + 2 * (kxx + kzz) + 4 * s * s * g * h);
  const root = Math.sqrt(AU * AV);
  if (!(root > 0)) {
    out.g = 1;
    out.h = 1;
    return;
  }
  const w = Math.sqrt(u * v);
  const oneMinusW2 = pu + pv - pu * pv; // 1 − uv
  const AW = asinComp(w, oneMinusW2 / (1 + w));
  const positive = g <= h;
  const m = positive ? g : h;
  const r = 1 - m;
  const n1 = Math.max(0, (AU * AV - AW * AW) / (root + AW));
  const mm = m * (2 - m);
  const oneMinusR2w2 = oneMinusW2 + w * w * mm;
  const x = (w * mm) / (Math.sqrt(oneMinusR2w2) + r * Math.sqrt(oneMinusW2));
  const gap = Math.min(1, (n1 + Math.asin(x)) / root);
  out.g = positive ? gap : 2 - gap;
  out.h = positive ? 2 - gap : gap;
}

/** asin(x) for x ∈ [0, 1] given c = 1 − x: near 1 through π/2 − 2·asin(√(c/2)). */
function asinComp(x: number, c: number): number {
  return x > 0.5 ? PI / 2 - 2 * Math.asin(Math.sqrt(0.5 * c)) : Math.asin(x);
}

/**
 * sin θ − θ cos θ for θ < 0.5 by its Taylor series, with no cancellation at small angles:
 * θ³/3 − θ⁵/30 + θ⁷/840 − θ⁹/45360 + θ¹¹/3991680 − θ¹³/518918400 + θ¹⁵/93405312000.
 */
export function sinMinusThetaCosSeries(theta: number): number {
  const t2 = theta * theta;
  return theta * t2 * (1 / 3 + t2 * (-1 / 30 + t2 * (1 / 840 + t2 * (-1 / 45360 + t2 * (1 / 3991680 + t2 * (-1 / 518918400 + t2 / 93405312000))))));
}
