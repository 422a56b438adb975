/**
 * Gaussian expectations of any elementwise φ (with its derivative φ') by quadrature, in the gap
 * form: the numerical path of neural-tangents' ElementwiseNumerical, made exact near ρ = ±1.
 *
 * The pair is written u = σx(α·a + β·b), v = σz(α·a − β·b) with a, b independent N(0, 1),
 * α = √(h/2), β = √(g/2) (g = 1 − ρ, h = 1 + ρ), so the gaps enter directly. Then, with A = E[φ(u)²],
 * B = E[φ(v)²], both gaps of the output are means of squares, with no cancellation:
 *   1 − ρ' = ½·E[(φ(u)/√A − φ(v)/√B)²],   1 + ρ' = ½·E[(φ(u)/√A + φ(v)/√B)²].
 * Inside, φ(u) − φ(v) = ∫_v^u φ' is integrated by 5-point Gauss–Legendre when u and v are close
 * (u − v itself is formed from σx − σz and β, never by subtracting u and v), and likewise
 * φ(u) + φ(v) = ∫_{−v}^u φ' + [φ(v) + φ(−v)] near u = −v; 1/√A − 1/√B comes from
 * B − A = E[(φ(σz t) − φ(σx t))(φ(σz t) + φ(σx t))] by the same device. (This is the same quantity as
 * (E[(φu − φv)²] − (√A − √B)²)/(2√(AB)), without its cancellation when A ≠ B.)
 *
 * The rule: the trapezoidal rule on a uniform grid t_k = k·H, |t| ≤ 9 (the Gaussian weight beyond is
 * below 3e−18), in each of a and b. For φ analytic in a strip |Im u| < d, its error decays like
 * exp(−2π·d/(σH)); H = min(0.5, 0.25/σ) with σ the larger standard deviation keeps it at the level of
 * round-off for tanh (d = π/2, the nearest of the analytic activations here): against a grid of step
 * 0.08/σ, S, A, Ṡ and 1 − ρ' agree to 2e−13 for variances 0.1 … 50 (0.33/σ gave 1e−10). Gauss–
 * Hermite, neural-tangents' rule, needs far more nodes for the same accuracy once σ > 1 (128 nodes:
 * 1e−7 for tanh at variance 4) because its nodes spread over ±√(2n) where the weight is negligible.
 * The grid is capped at MAX_HALF_NODES per side (full accuracy up to variance ≈ 120); beyond, the
 * accuracy degrades gracefully. Non-smooth φ (kinks, steps) converge only algebraically: use closed
 * forms for them.
 */
import { InputError } from '../errors.js';

/** Half-width of the grid in standard deviations. */
const T_MAX = 9;
/** Grid points per side are at most this many (so at most (2·400 + 1)² nodes in 2-D). */
const MAX_HALF_NODES = 400;
/** Below this |u − v| (or |u + v|), φ(u) ∓ φ(v) is integrated from φ' instead of subtracted. */
const CLOSE = 0.25;

const GL_X = [0, 0.5384693101056831, -0.5384693101056831, 0.906179845938664, -0.906179845938664];
const GL_W = [0.5688888888888889, 0.4786286704993665, 0.4786286704993665, 0.2369268850561891, 0.2369268850561891];

/** φ(hi) − φ(lo) = ∫_lo^hi φ', given the width hi − lo accurately (5-point Gauss–Legendre). */
function diffByDerivative(dphi: (u: number) => number, lo: number, width: number): number {
  const half = 0.5 * width;
  const mid = lo + half;
  let s = 0;
  for (let i = 0; i < 5; i++) s += GL_W[i]! * dphi(mid + half * GL_X[i]!);
  return half * s;
}

/** The grid for a largest standard deviation σ: nodes t_k and weights H·pdf(t_k). */
function grid(sigma: number): { t: Float64Array; w: Float64Array } {
  const H = Math.min(0.5, sigma > 0 ? 0.25 / sigma : 0.5);
  const n = Math.min(MAX_HALF_NODES, Math.ceil(T_MAX / H));
  const step = Math.max(H, T_MAX / n);
  const t = new Float64Array(2 * n + 1);
  const w = new Float64Array(2 * n + 1);
  const c = step / Math.sqrt(2 * Math.PI);
  let sum = 0;
  for (let k = -n; k <= n; k++) {
    const x = k * step;
    t[k + n] = x;
    w[k + n] = c * Math.exp(-0.5 * x * x);
    sum += w[k + n]!;
  }
  // The exact sum is 1 to within 1e−34 (Poisson summation); dividing makes E[constant] exact to rounding.
  for (let k = 0; k < w.length; k++) w[k] = w[k]! / sum;
  return { t, w };
}

/** What the quadrature yields for one pair. */
export interface NumericalMoments {
  /** E[φ(u)²], E[φ(v)²]. */
  A: number;
  B: number;
  /** E[φ(u)φ(v)] and E[φ'(u)φ'(v)]. */
  S: number;
  sdot: number;
  /** 1 − ρ' and 1 + ρ' (1 each when a side has E[φ²] = 0). */
  g: number;
  h: number;
}

/**
 * The moments of φ on the pair with variances kxx, kzz and correlation gaps g, h. `name` is for the
 * error when φ or φ' returns something that is not a finite number.
 */
export function numericalMoments(
  phi: (u: number) => number,
  dphi: (u: number) => number,
  kxx: number,
  kzz: number,
  g: number,
  h: number,
  name: string,
): NumericalMoments {
  const sx = Math.sqrt(Math.max(0, kxx));
  const sz = Math.sqrt(Math.max(0, kzz));
  const { t, w } = grid(Math.max(sx, sz));
  const m = t.length;
  // σx − σz without cancellation.
  const dS = sx + sz > 0 ? (kxx - kzz) / (sx + sz) : 0;
  // 1-D: A, B and B − A.
  let A = 0;
  let B = 0;
  let BmA = 0;
  for (let k = 0; k < m; k++) {
    const fx = phi(sx * t[k]!);
    const fz = phi(sz * t[k]!);
    A += w[k]! * fx * fx;
    B += w[k]! * fz * fz;
    const width = -dS * t[k]!; // σz·t − σx·t
    const diff = Math.abs(width) < CLOSE ? diffByDerivative(dphi, sx * t[k]!, width) : fz - fx;
    BmA += w[k]! * diff * (fz + fx);
  }
  const alpha = Math.sqrt(0.5 * Math.max(0, h));
  const beta = Math.sqrt(0.5 * Math.max(0, g));
  const rA = Math.sqrt(A);
  const rB = Math.sqrt(B);
  const usable = rA > 0 && rB > 0;
  // 1/√A − 1/√B = (B − A)/(√A·√B·(√A + √B)).
  const cA = usable ? BmA / (rA * rB * (rA + rB)) : 0;
  const iA = usable ? 1 / rA : 0;
  let S = 0;
  let sdot = 0;
  let gm = 0;
  let gp = 0;
  const r2 = T_MAX * T_MAX;
  for (let i = 0; i < m; i++) {
    const a = t[i]!;
    for (let j = 0; j < m; j++) {
      const b = t[j]!;
      if (a * a + b * b > r2) continue; // weight below 3e−18 of the peak
      const wt = w[i]! * w[j]!;
      const pa = alpha * a;
      const pb = beta * b;
      const u = sx * (pa + pb);
      const v = sz * (pa - pb);
      const fu = phi(u);
      const fv = phi(v);
      S += wt * fu * fv;
      sdot += wt * dphi(u) * dphi(v);
      if (!usable) continue;
      // u − v and u + v from their parts, exact for near-duplicate and near-antipodal pairs.
      const uMinusV = dS * pa + (sx + sz) * pb;
      const uPlusV = (sx + sz) * pa + dS * pb;
      const minus = Math.abs(uMinusV) < CLOSE ? diffByDerivative(dphi, v, uMinusV) : fu - fv;
      const plus = Math.abs(uPlusV) < CLOSE ? diffByDerivative(dphi, -v, uPlusV) + (fv + phi(-v)) : fu + fv;
      const dm = minus * iA + fv * cA;
      const dp = plus * iA - fv * cA;
      gm += wt * dm * dm;
      gp += wt * dp * dp;
    }
  }
  const outG = usable ? 0.5 * gm : 1;
  const outH = usable ? 0.5 * gp : 1;
  for (const x of [A, B, S, sdot, outG, outH]) {
    if (!Number.isFinite(x)) {
      throw new InputError(`activation ${name}: φ or φ' returned a value that is not a finite number on the quadrature grid (variances ${kxx}, ${kzz})`);
    }
  }
  return { A, B, S, sdot, g: Math.min(2, outG), h: Math.min(2, outH) };
}

/** [S, Ṡ] in the plain ρ form, by the same quadrature. */
export function numericalDual(
  phi: (u: number) => number,
  dphi: (u: number) => number,
  kxx: number,
  kzz: number,
  kxz: number,
  name: string,
  out: Float64Array,
): void {
  const den = Math.sqrt(kxx * kzz);
  const rho = den > 0 ? Math.max(-1, Math.min(1, kxz / den)) : 0;
  const r = numericalMoments(phi, dphi, kxx, kzz, 1 - rho, 1 + rho, name);
  out[0] = r.S;
  out[1] = r.sdot;
}
