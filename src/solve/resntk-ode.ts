/**
 * The depth-time ODE of the γ = ½ infinite-depth ResNet kernel (Belfer et al., arXiv 2104.03093;
 * seeds.md §3.6): a sixth-order Runge–Kutta solver for unit inputs, and its Chebyshev table in the
 * input angle θ0 through which Gram matrices evaluate it (src/exec/limit.ts). A solver only: what
 * the ODE means, and which presets it serves, is in exec/limit.ts.
 *
 * With c = alpha0² and depth-time t = l/L the recursions become
 *     ρ' = c(κ1(ρ) − ρ),   T' = cκ0(ρ)T + c·e^(ct)(κ1(ρ) + ρκ0(ρ)),   T(0) = 0,
 * normalised NNGP = ρ(1), NTK = T(1)/(2c·e^c).
 */
import { InputError } from '../errors.js';
import { sinMinusThetaCosSeries } from '../activations/rectifier-math.js';

const PI = Math.PI;

// ---- the γ = ½ ODE -------------------------------------------------------------------------------
//
// State θ = arccos ρ (ρ' > 0, so θ decreases), t, and S = T·e^(−ct) (S' = c(κ1 + ρκ0) − c(θ/π)S, so
// the normalised NTK is S(1)/(2c)). In t the θ equation has a pole at θ = π (θ' = −c(sin θ − θ cos θ)/
// (π sin θ)), so a start near ρ0 = −1 behaves like √t and a fixed-step method loses its order there.
// With the independent variable σ, dt/dσ = π − θ, every right-hand side is analytic on [0, π]:
//   dθ/dσ = −c·(sin θ − θ cos θ)·(π − θ)/(π sin θ),  dt/dσ = π − θ,
//   dS/dσ = c(π − θ)·[(sin θ + 2(π − θ)cos θ)/π − (θ/π)S]      (κ1 + ρκ0 = (sin θ + 2(π − θ)ρ)/π).
// Carrying θ keeps 1 − ρ = 2sin²(θ/2) to full relative precision near ρ = 1 (cf. the gap form, activations/rectifier-math.ts).

/** sin θ − θ cos θ without cancellation at small θ (the series of activations/rectifier-math.ts below 0.5). */
function sinMinusThetaCos(theta: number): number {
  return theta < 0.5 ? sinMinusThetaCosSeries(theta) : Math.sin(theta) - theta * Math.cos(theta);
}

/** Right-hand side in σ for state (θ, t, S); writes dθ, dt, dS at out[o..o+2]. */
function rhs(c: number, theta: number, S: number, out: Float64Array, o: number): void {
  const phi = PI - theta;
  let dTheta: number;
  let sin: number;
  let cos: number;
  if (theta < PI / 2) {
    sin = Math.sin(theta);
    cos = Math.cos(theta);
    dTheta = theta > 0 ? (-c * sinMinusThetaCos(theta) * phi) / (PI * sin) : 0;
  } else {
    sin = Math.sin(phi);
    cos = -Math.cos(phi);
    const ratio = phi < 1e-4 ? 1 + (phi * phi) / 6 : phi / sin; // (π − θ)/sin θ
    dTheta = (-c * sinMinusThetaCos(theta) * ratio) / PI;
  }
  out[o] = dTheta;
  out[o + 1] = phi;
  out[o + 2] = c * phi * ((sin + 2 * phi * cos) / PI - (theta / PI) * S);
}

// Butcher's 7-stage sixth-order explicit Runge–Kutta method (Butcher 1964; order 6 checked by the
// convergence of the solver: errors fall 64-fold per halving of the step).
const RK_A: readonly (readonly number[])[] = [
  [],
  [1 / 3],
  [0, 2 / 3],
  [1 / 12, 1 / 3, -1 / 12],
  [-1 / 16, 9 / 8, -3 / 16, -3 / 8],
  [0, 9 / 8, -3 / 8, -3 / 4, 1 / 2],
  [9 / 44, -9 / 11, 63 / 44, 18 / 11, 0, -16 / 11],
];
const RK_B = [11 / 120, 0, 27 / 40, 27 / 40, -4 / 15, -4 / 15, 11 / 120];
const STAGES = 7;

/** One RK6 step of size d from y = (θ, t, S) into out. */
function rkStep(c: number, y: Float64Array, d: number, k: Float64Array, out: Float64Array): void {
  for (let s = 0; s < STAGES; s++) {
    let th = y[0]!;
    let S = y[2]!;
    const a = RK_A[s]!;
    for (let j = 0; j < a.length; j++) {
      th += d * a[j]! * k[3 * j]!;
      S += d * a[j]! * k[3 * j + 2]!;
    }
    rhs(c, th, S, k, 3 * s);
  }
  for (let i = 0; i < 3; i++) {
    let sum = 0;
    for (let s = 0; s < STAGES; s++) sum += RK_B[s]! * k[3 * s + i]!;
    out[i] = y[i]! + d * sum;
  }
}

/** Steps per unit of σ·max(c, π − θ): 48 gives ≤ 1e−14 (measured against 16× finer steps). */
const STEPS = 48;

export interface OdeSolution {
  /** θ(1) = arccos ρ(1). */
  theta: number;
  /** ρ(1): the normalised NNGP of unit inputs. */
  rho: number;
  /** T(1)/(2c·e^c): the normalised NTK of unit inputs. */
  ntk: number;
  /** RK steps taken. */
  steps: number;
}

/**
 * The γ = ½ depth-time ODE for unit inputs at angle θ0 = arccos ρ0 ∈ [0, π], to t = 1. Step size
 * dσ = 1/(n·max(c, π − θ)) (each step moves t and θ by at most about 1/n); the last step is cut to
 * end at t = 1 by Newton's method on its length.
 */
export function solveResntkOde(theta0: number, c = 1, stepsPerUnit = STEPS): OdeSolution {
  if (!(theta0 >= 0 && theta0 <= PI)) throw new InputError(`ODE: theta0 must be in [0, π], got ${String(theta0)}`);
  if (!(c > 0 && Number.isFinite(c))) throw new InputError(`ODE: c = alpha0² must be finite and > 0, got ${String(c)}`);
  if (!(Number.isInteger(stepsPerUnit) && stepsPerUnit >= 1)) throw new InputError(`ODE: stepsPerUnit must be a positive integer, got ${String(stepsPerUnit)}`);
  const k = new Float64Array(3 * STAGES);
  let y = new Float64Array([theta0, 0, 0]);
  let next = new Float64Array(3);
  const limit = 1000 * stepsPerUnit * Math.max(1, c) + 1000;
  for (let steps = 1; steps < limit; steps++) {
    const d = 1 / (stepsPerUnit * Math.max(c, PI - y[0]!));
    rkStep(c, y, d, k, next);
    if (next[1]! < 1) {
      [y, next] = [next, y];
      continue;
    }
    // Cut the step so that t ends at 1: dt/dσ = π − θ > 0 there (θ < π once t > 0).
    let dd = (1 - y[1]!) / (PI - y[0]!);
    for (let it = 0; it < 4; it++) {
      rkStep(c, y, dd, k, next);
      const slope = PI - next[0]!;
      const step = (1 - next[1]!) / slope;
      dd += step;
      if (Math.abs(step) <= 1e-17 * dd) break;
    }
    rkStep(c, y, dd, k, next);
    const theta = Math.max(0, next[0]!);
    return { theta, rho: Math.cos(theta), ntk: next[2]! / (2 * c), steps };
  }
  throw new Error(`internal error: the depth-time ODE did not reach t = 1 (theta0 = ${theta0}, c = ${c})`);
}

/** The γ = ½ limit (c = alpha0²) for unit inputs with correlation ρ0: normalised NNGP ρ(1) and NTK. */
export function resntkOde(rho0: number, c = 1): { rho: number; ntk: number } {
  if (typeof rho0 !== 'number' || !(rho0 >= -1 && rho0 <= 1)) throw new InputError(`ODE: rho0 must be in [−1, 1], got ${String(rho0)}`);
  const s = solveResntkOde(Math.acos(rho0), c);
  return { rho: s.rho, ntk: s.ntk };
}

// ---- the ODE tabulated in θ0 -----------------------------------------------------------------------
//
// θ(1) and S(1) are analytic functions of θ0 on [0, π] (the σ-flow is analytic and t reaches 1
// transversally), so a Chebyshev interpolant in θ0 converges geometrically. It is built per c from
// solves at the Chebyshev nodes and accepted only when its last coefficients are below TAIL;
// otherwise the degree doubles, up to MAX_NODES, beyond which every pair is solved directly.
// Interpolated: r(θ0) = θ(1)/θ0 (so θ(1) keeps its relative precision as θ0 → 0; r(0) = 1 because
// θ' = O(θ²)) and the normalised NTK.

const TAIL = 1e-14;
const MAX_NODES = 512;

interface ChebTable {
  ratio: Float64Array;
  ntk: Float64Array;
}

const tables = new Map<number, ChebTable | null>();

function chebCoefficients(values: Float64Array): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let m = 0; m < n; m++) s += values[m]! * Math.cos((PI * j * (m + 0.5)) / n);
    out[j] = ((j === 0 ? 1 : 2) * s) / n;
  }
  return out;
}

function tailOf(a: Float64Array): number {
  const n = a.length;
  return Math.max(Math.abs(a[n - 1]!), Math.abs(a[n - 2]!), Math.abs(a[n - 3]!), Math.abs(a[n - 4]!));
}

function buildTable(c: number): ChebTable | null {
  for (let n = 64; n <= MAX_NODES; n *= 2) {
    const r = new Float64Array(n);
    const t = new Float64Array(n);
    for (let m = 0; m < n; m++) {
      const theta0 = ((Math.cos((PI * (m + 0.5)) / n) + 1) * PI) / 2;
      const s = solveResntkOde(theta0, c);
      r[m] = s.theta / theta0;
      t[m] = s.ntk;
    }
    const ratio = chebCoefficients(r);
    const ntk = chebCoefficients(t);
    if (tailOf(ratio) <= TAIL && tailOf(ntk) <= TAIL) return { ratio, ntk };
  }
  return null;
}

/** The table for c (cached; null when the interpolant did not converge: solve each pair). */
function tableFor(c: number): ChebTable | null {
  let t = tables.get(c);
  if (t === undefined) {
    t = buildTable(c);
    if (tables.size > 64) tables.clear();
    tables.set(c, t);
  }
  return t;
}

function clenshaw(a: Float64Array, x: number): number {
  let b1 = 0;
  let b2 = 0;
  for (let j = a.length - 1; j >= 1; j--) {
    const b = 2 * x * b1 - b2 + a[j]!;
    b2 = b1;
    b1 = b;
  }
  return x * b1 - b2 + a[0]!;
}

/** Unit-input ODE values at θ0 through the table (or a direct solve): [ρ(1), normalised NTK, θ(1)]. */
function odeAt(c: number, table: ChebTable | null, theta0: number, out: Float64Array): void {
  if (theta0 === 0) {
    out[0] = 1;
    out[1] = 1;
    out[2] = 0;
    return;
  }
  if (!table) {
    const s = solveResntkOde(theta0, c);
    out[0] = s.rho;
    out[1] = s.ntk;
    out[2] = s.theta;
    return;
  }
  const x = (2 * theta0) / PI - 1;
  const theta = Math.max(0, theta0 * clenshaw(table.ratio, x));
  out[0] = Math.cos(theta);
  out[1] = clenshaw(table.ntk, x);
  out[2] = theta;
}

/**
 * The γ = ½ limit for unit inputs at each θ0 through the same path as the Gram matrices (the
 * table): [ρ(1), normalised NTK] per angle. For checking the table against direct solves.
 */
export function resntkOdeTabulated(
  thetas: readonly number[],
  c = 1,
): { rho: number[]; ntk: number[]; theta: number[]; tabulated: boolean } {
  if (!(c > 0 && Number.isFinite(c))) throw new InputError(`ODE: c = alpha0² must be finite and > 0, got ${String(c)}`);
  const table = tableFor(c);
  const out = new Float64Array(3);
  const rho: number[] = [];
  const ntk: number[] = [];
  const theta: number[] = [];
  for (const th of thetas) {
    if (!(th >= 0 && th <= PI)) throw new InputError(`ODE: angles must be in [0, π], got ${String(th)}`);
    odeAt(c, table, th, out);
    rho.push(out[0]!);
    ntk.push(out[1]!);
    theta.push(out[2]!);
  }
  return { rho, ntk, theta, tabulated: table !== null };
}

/**
 * The unit-input values at angle θ0 for one c, as Gram matrices evaluate them: through the table
 * (≈1e−14), or by a direct solve per call when the table did not converge. Writes [ρ(1),
 * normalised NTK, θ(1)] into out.
 */
export function odeEvaluator(c: number): (theta0: number, out: Float64Array) => void {
  if (!(c > 0 && Number.isFinite(c))) throw new InputError(`ODE: c = alpha0² must be finite and > 0, got ${String(c)}`);
  const table = tableFor(c);
  return (theta0, out) => odeAt(c, table, theta0, out);
}
