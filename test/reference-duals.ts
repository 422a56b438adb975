/**
 * Gaussian duals of the activations for the independent test reference (reference-interpreter.ts),
 * written separately from the engine: for (u, v) ~ N(0, [[q1, c], [c, q2]]) they give
 * S = E[φ(u)φ(v)] and Ṡ = E[φ′(u)φ′(v)] in the plain ρ form.
 *
 * Closed forms (relu, arccos 0/1/2, leakyRelu, abRelu, erf) go through the angle θ = atan2(√(1−ρ²), ρ)
 * and Cho & Saul's J_n(θ) (J0 = π − θ, J1 = sin θ + (π − θ)cos θ, J2 = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ)),
 * with E[1(u>0)1(v>0)uⁿvⁿ] = (q1q2)^(n/2)·J_n/(2π).
 *
 * Smooth activations without a closed form here (gelu, tanh, sigmoid, softplus) use a 2-D
 * trapezoidal rule in the Cholesky coordinates u = √q1·a, v = √q2·(ρa + √(1−ρ²)·b), a, b ~ N(0, 1):
 * for a Gaussian-weighted integrand analytic in a strip |Im| < d the trapezoidal rule with step h
 * converges like exp(−2πd/h), so the step is chosen from the nearest complex singularity of φ and φ′
 * (tanh: ±iπ/2, logistic and softplus: ±iπ; gelu and erf are entire) — a different rule and a different
 * parametrisation than the Gauss–Hermite quadrature in the symmetric coordinates that the engine uses.
 */

/** An activation the reference knows, by its JSON name and parameters. */
export type RefActivation =
  | { type: 'relu' }
  | { type: 'arccos'; order: 0 | 1 | 2 }
  | { type: 'leakyRelu'; slope: number }
  | { type: 'abRelu'; a: number; b: number }
  | { type: 'erf' }
  | { type: 'gelu' }
  | { type: 'tanh' }
  | { type: 'sigmoid' }
  | { type: 'softplus' };

export type SmoothType = 'gelu' | 'tanh' | 'sigmoid' | 'softplus' | 'erf';

/** [S, Ṡ]. */
export type Dual = [s: number, sdot: number];

/** Positively homogeneous units and erf in closed form; the smooth ones by quadrature. */
export function dual(act: RefActivation, q1: number, q2: number, c: number): Dual {
  if (!(q1 > 0 && q2 > 0)) {
    throw new Error(`reference: zero variance (${q1}, ${q2}) is outside what the ρ-form reference covers`);
  }
  const root = Math.sqrt(q1 * q2);
  const rho = Math.min(1, Math.max(-1, c / root));
  switch (act.type) {
    case 'relu':
      return [(root * J(1, rho)) / (2 * Math.PI), J(0, rho) / (2 * Math.PI)];
    case 'arccos':
      // φ = 1(u>0)·uⁿ; φ′ = n·1(u>0)·u^(n−1), zero for the step (order 0).
      if (act.order === 0) return [J(0, rho) / (2 * Math.PI), 0];
      if (act.order === 1) return dual({ type: 'relu' }, q1, q2, c);
      return [(q1 * q2 * J(2, rho)) / (2 * Math.PI), (4 * root * J(1, rho)) / (2 * Math.PI)];
    case 'leakyRelu':
      return twoSlopes(act.slope, 1, root, rho, c);
    case 'abRelu':
      return twoSlopes(act.a, act.b, root, rho, c);
    case 'erf': {
      // E[erf(u)erf(v)] = (2/π)·arcsin(2c/√((1+2q1)(1+2q2))); Ṡ = (4/π)/√((1+2q1)(1+2q2) − 4c²).
      const p1 = 1 + 2 * q1;
      const p2 = 1 + 2 * q2;
      const y = (2 * c) / Math.sqrt(p1 * p2);
      const det = p1 * p2 - 4 * c * c;
      return [(2 / Math.PI) * Math.atan2(y, Math.sqrt((1 - y) * (1 + y))), 4 / (Math.PI * Math.sqrt(det))];
    }
    case 'gelu':
    case 'tanh':
    case 'sigmoid':
    case 'softplus':
      return numericalDual(act.type, q1, q2, rho);
  }
}

/**
 * φ(u) = b·u (u > 0), a·u (u < 0). By the four sign quadrants, with E[uv; u>0, v>0] = E[uv; u<0, v<0]
 * = √(q1q2)·J1/(2π) and the two mixed quadrants summing to c − 2·that: S = ab·c + (b − a)²·√(q1q2)J1/(2π);
 * likewise Ṡ = ab + (b − a)²·J0/(2π) (P(u>0, v>0) = J0/(2π)).
 */
function twoSlopes(a: number, b: number, root: number, rho: number, c: number): Dual {
  const d2 = (b - a) * (b - a);
  return [a * b * c + (d2 * root * J(1, rho)) / (2 * Math.PI), a * b + (d2 * J(0, rho)) / (2 * Math.PI)];
}

/** Cho & Saul's J_n(θ) at θ = angle of ρ. */
function J(n: 0 | 1 | 2, rho: number): number {
  const sin = Math.sqrt((1 - rho) * (1 + rho));
  const theta = Math.atan2(sin, rho);
  const rest = Math.PI - theta;
  if (n === 0) return rest;
  if (n === 1) return sin + rest * rho;
  return 3 * sin * rho + rest * (1 + 2 * rho * rho);
}

// ---- smooth activations: φ, φ′ and a trapezoidal-rule dual --------------------------------------

/** erf(x) for real x: an all-positive series for |x| < 3, the Laplace continued fraction of erfc beyond. */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (ax < 3) {
    // erf(x) = (2/√π)·e^(−x²)·Σ (2x²)ⁿ·x/(1·3·…·(2n+1)).
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-18) break;
    }
    return sign * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  }
  return sign * (1 - erfcLarge(ax));
}

/** erfc(x) for x ≥ 3: e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail. */
function erfcLarge(x: number): number {
  let f = x;
  for (let k = 120; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Standard normal CDF Φ(u), accurate in absolute terms (all gelu needs). */
function normalCdf(u: number): number {
  const x = u / Math.SQRT2;
  if (x < -3) return 0.5 * erfcLarge(-x);
  return 0.5 * (1 + erfRef(x));
}

interface Smooth {
  phi: (u: number) => number;
  dphi: (u: number) => number;
  /** Distance from the real axis of the nearest singularity of φ or φ′ (Infinity: entire). */
  pole: number;
}

const SQRT_2PI = Math.sqrt(2 * Math.PI);

export const SMOOTH: Record<SmoothType, Smooth> = {
  gelu: {
    phi: (u) => u * normalCdf(u),
    dphi: (u) => normalCdf(u) + (u * Math.exp(-0.5 * u * u)) / SQRT_2PI,
    pole: Infinity,
  },
  tanh: {
    phi: Math.tanh,
    dphi: (u) => {
      const c = Math.cosh(u);
      return 1 / (c * c);
    },
    pole: Math.PI / 2,
  },
  sigmoid: {
    phi: (u) => (u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u))),
    dphi: (u) => {
      const e = Math.exp(-Math.abs(u));
      return e / ((1 + e) * (1 + e));
    },
    pole: Math.PI,
  },
  softplus: {
    phi: (u) => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u))),
    dphi: (u) => (u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u))),
    pole: Math.PI,
  },
  erf: {
    phi: erfRef,
    dphi: (u) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u),
    pole: Infinity,
  },
};

/** Standard-normal coordinates beyond ±Z_MAX carry less than e^(−50) of the weight. */
const Z_MAX = 10;

/**
 * Trapezoidal step for ∫ F(t)·e^(−t²/2) dt when F(t) = f(σt): a singularity of f at distance D from
 * the real axis sits at D/σ in t, and exp(−2π·6.5) ≈ 2e−18 leaves room for the blow-up near it; an
 * entire f that grows like e^(σ²y²) off the axis (erf) gives an error of about exp(−2π²/(h²(1 + 4σ²))), so
 * the step 0.5/√(1 + 4σ²) makes it e^(−79).
 */
function step(sigma: number, pole: number): number {
  const entire = 0.5 / Math.sqrt(1 + 4 * sigma * sigma);
  if (!Number.isFinite(pole) || sigma === 0) return entire;
  return Math.min(entire, (0.8 * pole) / sigma / 6.5);
}

/** Nodes and weights (including the N(0,1) density) of the trapezoidal rule with step h on [−Z_MAX, Z_MAX]. */
function rule(h: number): { t: Float64Array; w: Float64Array } {
  const n = Math.ceil(Z_MAX / h);
  const t = new Float64Array(2 * n + 1);
  const w = new Float64Array(2 * n + 1);
  for (let i = -n; i <= n; i++) {
    t[i + n] = i * h;
    w[i + n] = (h * Math.exp(-0.5 * i * h * i * h)) / SQRT_2PI;
  }
  return { t, w };
}

/**
 * [E[φ(u)φ(v)], E[φ′(u)φ′(v)]] by the trapezoidal rule in Cholesky coordinates; `refine` divides
 * both steps (tests use 2 to show convergence). ρ = 1 (a diagonal entry) is the 1-D integral.
 */
export function numericalDual(type: SmoothType, q1: number, q2: number, rho: number, refine = 1): Dual {
  const f = SMOOTH[type];
  const s1 = Math.sqrt(q1);
  const s2 = Math.sqrt(q2);
  const perp = Math.sqrt((1 - rho) * (1 + rho));
  // a moves u by s1 and v by s2·ρ; b moves v by s2·√(1−ρ²).
  const ha = step(Math.max(s1, s2 * Math.abs(rho)), f.pole) / refine;
  const A = rule(ha);
  let S = 0;
  let Sd = 0;
  if (perp === 0) {
    const sgn = rho > 0 ? 1 : -1;
    for (let i = 0; i < A.t.length; i++) {
      const a = A.t[i]!;
      S += A.w[i]! * f.phi(s1 * a) * f.phi(sgn * s2 * a);
      Sd += A.w[i]! * f.dphi(s1 * a) * f.dphi(sgn * s2 * a);
    }
    return [S, Sd];
  }
  const B = rule(step(s2 * perp, f.pole) / refine);
  for (let i = 0; i < A.t.length; i++) {
    const a = A.t[i]!;
    const u = s1 * a;
    const m = s2 * rho * a;
    let inner = 0;
    let innerD = 0;
    for (let j = 0; j < B.t.length; j++) {
      const v = m + s2 * perp * B.t[j]!;
      inner += B.w[j]! * f.phi(v);
      innerD += B.w[j]! * f.dphi(v);
    }
    S += A.w[i]! * f.phi(u) * inner;
    Sd += A.w[i]! * f.dphi(u) * innerD;
  }
  return [S, Sd];
}
