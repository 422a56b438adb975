/**
 * Infinite-depth ResNet kernels (Huang et al. 2020, arXiv 2002.06262; Belfer et al., arXiv
 * 2104.03093): the preset references `huang2020:depth=inf,gamma=γ` and `belfer2021:depth=inf,gamma=γ`.
 *
 * The ResNet x_l = x_(l−1) + α·V·relu(W·x_(l−1)) with α = alpha0·L^(−γ), a = α², has for unit inputs
 * K_l = K_(l−1) + a(1+a)^(l−1)κ1(ρ), Θ_l = Θ_(l−1)(1 + aκ0(ρ)) + a(1+a)^(l−1)(κ1(ρ) + ρκ0(ρ)), Θ_0 = 0,
 * with ρ = ρ_(l−1) the NNGP correlation; belfer2021 divides by (1+a)^L and 2La(1+a)^(L−1).
 *
 * - γ > ½: La = alpha0²·L^(1−2γ) → 0, so ρ_L → ρ0 and every block adds the same term: the
 *   normalised NNGP tends to the linear kernel x·z and the normalised NTK to the two-layer NTK
 *   ½|x||z|(κ1(ρ0) + ρ0κ0(ρ0)). The unnormalised NTK vanishes like 2L^(1−2γ), so huang2020 has
 *   only an NNGP limit.
 * - γ = ½, c = alpha0²: La = c, and with depth-time t = l/L the recursions become (seeds.md §3.6,
 *   there for c = 1)
 *       ρ' = c(κ1(ρ) − ρ),   T' = cκ0(ρ)T + c·e^(ct)(κ1(ρ) + ρκ0(ρ)),   T(0) = 0,
 *   normalised NNGP = ρ(1), NTK = T(1)/(2c·e^c) (the normaliser 2c(1 + c/L)^(L−1) → 2c·e^c);
 *   unnormalised NNGP = e^c·ρ(1), NTK = T(1).
 * - γ < ½ or constant α: La → ∞ and the normalised kernel degenerates like the MLP's (1 on the
 *   diagonal, 1/4 off it; Hayou et al. 2019): no limit is offered.
 *
 * No biases and inputScale "none": every kernel is |x||z|·f(ρ0) (homogeneous of degree 1 in each
 * input), so only unit inputs are solved.
 */
import { kernel, type Backend, type BackendChoice } from '../api.js';
import { InputError } from '../errors.js';
import { checkRequest, gramCpu, MAX_RESULT_ELEMENTS, type GramRequest, type GramResult, type KernelKind } from '../cpu/gram.js';
import { kappa0, kappa1 } from '../cpu/activations.js';
import { sinMinusThetaCosSeries, thetaOf } from '../cpu/gap.js';
import { toMatrix, type Matrix2D, type MatrixInput } from '../matrix.js';
import { compile } from '../program/compile.js';
import { findPreset, INFINITE_DEPTH_PRESETS, parseInfiniteDepthRef, type InfiniteDepthPreset } from '../spec/presets.js';
import type { ResolvedSpec, Spec } from '../spec/types.js';
import { resolveSpec } from '../spec/validate.js';

const PI = Math.PI;

// ---- which limit ------------------------------------------------------------------------------

/** A depth = ∞ ResNet kernel that exists: its preset, parameters and how it is computed. */
export interface InfiniteDepthLimit {
  preset: InfiniteDepthPreset;
  /** belfer2021 (normalised to 1 on the unit diagonal) or huang2020 (raw). */
  normalized: boolean;
  gamma: number;
  alpha0: number;
  /** "two-layer": γ > ½, closed form; "ode": γ = ½, the depth-time ODE with c = alpha0². */
  regime: 'two-layer' | 'ode';
  /** alpha0² (enters only for γ = ½). */
  c: number;
  /** The kernels this limit has ("ntk" is missing for huang2020 with γ > ½, which vanishes). */
  kinds: KernelKind[];
  /** A preset reference for it, e.g. "belfer2021:depth=inf,gamma=0.5". */
  reference: string;
}

export interface InfiniteDepthParams {
  preset: string;
  /** Constant α (always an error: no non-degenerate limit). */
  alpha?: number;
  gamma?: number;
  /** Prefactor of α = alpha0·L^(−γ) (default 1). */
  alpha0?: number;
}

const DEGENERATE =
  'the normalised ResNTK then degenerates like the MLP’s: 1 on the diagonal and 1/4 off it (Hayou et al. 2019, ' +
  'arXiv 1905.13654; Belfer et al., arXiv 2104.03093), a discontinuous kernel';

/**
 * Checks that the limit exists and says how it is computed. Accepts a preset reference with
 * depth=inf or its parts. InputError for constant α, γ < ½, and alpha0 not finite or 0.
 */
export function infiniteDepthLimit(arch: string | InfiniteDepthParams): InfiniteDepthLimit {
  let p: InfiniteDepthParams;
  if (typeof arch === 'string') {
    const ref = parseInfiniteDepthRef(arch);
    if (!ref) throw new InputError(`${JSON.stringify(arch)} is not a depth=inf preset reference (e.g. "belfer2021:depth=inf,gamma=0.5")`);
    p = ref;
  } else {
    p = arch;
  }
  if (!(INFINITE_DEPTH_PRESETS as readonly string[]).includes(p.preset)) {
    findPreset(p.preset); // an unknown name is reported as such
    throw new InputError(`${p.preset}: depth=inf (the infinite-depth limit) is offered for ${INFINITE_DEPTH_PRESETS.join(' and ')} only`);
  }
  const preset = p.preset as InfiniteDepthPreset;
  if (p.alpha !== undefined) {
    throw new InputError(
      `${preset}:depth=inf with a constant alpha = ${p.alpha} has no infinite-depth limit: ${DEGENERATE}; ` +
        'give gamma ≥ 0.5 (α = L^(−gamma)) instead',
    );
  }
  const gamma = p.gamma;
  if (gamma === undefined) throw new InputError(`${preset}:depth=inf needs gamma ≥ 0.5 (α = L^(−gamma))`);
  if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new InputError(`${preset}: gamma must be a finite number, got ${String(gamma)}`);
  if (gamma < 0.5) {
    throw new InputError(
      `${preset}:depth=inf with gamma = ${gamma} < 0.5 has no infinite-depth limit: L·α² = L^(1−2·gamma) → ∞ and ${DEGENERATE}; ` +
        'depth=inf is offered for gamma ≥ 0.5',
    );
  }
  const alpha0 = p.alpha0 ?? 1;
  if (typeof alpha0 !== 'number' || !Number.isFinite(alpha0) || alpha0 === 0) {
    throw new InputError(`${preset}: alpha0 must be a finite non-zero number for depth=inf, got ${String(alpha0)}`);
  }
  const normalized = preset === 'belfer2021';
  const regime = gamma === 0.5 ? 'ode' : 'two-layer';
  const c = alpha0 * alpha0;
  if (regime === 'ode' && !normalized && !Number.isFinite(Math.exp(c) * 2 * c)) {
    throw new InputError(`huang2020:depth=inf with alpha0 = ${alpha0}: the kernel grows like e^(alpha0²) and overflows float64; use belfer2021`);
  }
  return {
    preset,
    normalized,
    gamma,
    alpha0,
    regime,
    c,
    kinds: regime === 'two-layer' && !normalized ? ['nngp'] : ['nngp', 'ntk'],
    reference: `${preset}:depth=inf,gamma=${gamma}${alpha0 !== 1 ? `,alpha0=${alpha0}` : ''}`,
  };
}

/** The request's kernels must exist in the limit (huang2020's NTK for γ > ½ does not). */
function checkKinds(limit: InfiniteDepthLimit, get: readonly KernelKind[]): void {
  if (get.includes('ntk') && !limit.kinds.includes('ntk')) {
    throw new InputError(
      `huang2020:depth=inf with gamma = ${limit.gamma} > 0.5 has no NTK limit: the unnormalised NTK vanishes like ` +
        `2·L^(1−2·gamma)·½(κ1 + ρκ0) as L → ∞. Use belfer2021:depth=inf,gamma=${limit.gamma} (normalised by 2La(1+a)^(L−1)), ` +
        'whose NTK tends to the two-layer NTK, or ask huang2020 for the NNGP only (get: "nngp", which tends to x·z)',
    );
  }
}

/**
 * γ > ½: finite specs with the limit kernels, so any backend can compute them. NNGP: one dense layer
 * (K = x·z); NTK: dense(1) → relu → dense(1), all trained, inputScale "none", whose NTK is
 * x·z·½κ0 + ½|x||z|κ1 = ½|x||z|(κ1(ρ) + ρκ0(ρ)).
 */
export function limitSpecs(limit: InfiniteDepthLimit): { nngp: Spec; ntk: Spec } {
  if (limit.regime !== 'two-layer') {
    throw new InputError(`${limit.reference}: the γ = ½ limit is the solution of an ODE; no finite spec computes it`);
  }
  return {
    nngp: {
      name: `${limit.reference} (NNGP: the linear kernel x·z)`,
      inputScale: 'none',
      layers: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }],
    },
    ntk: {
      name: `${limit.reference} (NTK: the two-layer NTK ½|x||z|(κ1 + ρκ0))`,
      inputScale: 'none',
      layers: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }, { type: 'relu' }],
      readout: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }],
    },
  };
}

/**
 * A record of the limit in spec form, for results that must carry a spec: it is NOT a spec of the
 * kernel, and since it has no layers, validation refuses to recompute it ("layers: must contain at
 * least one layer"); its name and description say what was computed.
 */
export function limitRecord(limit: InfiniteDepthLimit): ResolvedSpec {
  return {
    format: 'webntk-spec/1',
    name: limit.reference,
    description:
      `infinite-depth limit of ${limit.preset} (${limit.regime === 'ode' ? `γ = ½: depth-time ODE with c = ${limit.c}` : `γ = ${limit.gamma} > ½: closed form`}); ` +
      'no finite spec represents it, and this record (no layers) is not one',
    inputScale: 'none',
    layers: [],
    readout: [],
    normalize: limit.normalized ? 'diagonal' : 'none',
    sweepStart: 0,
  };
}

// ---- the γ = ½ ODE -------------------------------------------------------------------------------
//
// State θ = arccos ρ (ρ' > 0, so θ decreases), t, and S = T·e^(−ct) (S' = c(κ1 + ρκ0) − c(θ/π)S, so
// the normalised NTK is S(1)/(2c)). In t the θ equation has a pole at θ = π (θ' = −c(sin θ − θ cos θ)/
// (π sin θ)), so a start near ρ0 = −1 behaves like √t and a fixed-step method loses its order there.
// With the independent variable σ, dt/dσ = π − θ, every right-hand side is analytic on [0, π]:
//   dθ/dσ = −c·(sin θ − θ cos θ)·(π − θ)/(π sin θ),  dt/dσ = π − θ,
//   dS/dσ = c(π − θ)·[(sin θ + 2(π − θ)cos θ)/π − (θ/π)S]      (κ1 + ρκ0 = (sin θ + 2(π − θ)ρ)/π).
// Carrying θ keeps 1 − ρ = 2sin²(θ/2) to full relative precision near ρ = 1 (cf. cpu/gap.ts).

/** sin θ − θ cos θ without cancellation at small θ (the series of cpu/gap.ts below 0.5). */
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

// ---- Gram matrices -----------------------------------------------------------------------------------

export interface InfiniteKernelOptions {
  /** Which kernels (default both; huang2020 with γ > ½ has the NNGP only). */
  get?: KernelKind | readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1. */
  diagonal?: boolean;
}

function kindsOf(get: InfiniteKernelOptions['get']): KernelKind[] {
  const list = get === undefined ? ['nngp', 'ntk'] : typeof get === 'string' ? [get] : [...get];
  for (const k of list) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`unknown kernel "${String(k)}" (use nngp or ntk)`);
  }
  return list as KernelKind[];
}

/** Checks a request against the limit before any work (shared with the API's WebGPU path). */
export function checkInfiniteRequest(limit: InfiniteDepthLimit, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): void {
  if (req.allDepths) {
    throw new InputError(`${limit.reference}: depths "all" has no meaning at depth=inf (there is no depth sweep); use depths "last"`);
  }
  checkRequest(x1, x2, req);
  checkKinds(limit, req.get);
}

/**
 * The depth = ∞ kernels of X1 × X2 (X1 × X1 when x2 is omitted) on the CPU in float64, in the shape
 * of `kernelCpu`'s result (depths = [Infinity]). γ > ½: the finite limit specs on the CPU
 * reference; γ = ½: the ODE through its Chebyshev table (≈1e−14 for unit inputs).
 */
export function infiniteDepthKernel(
  arch: string | InfiniteDepthLimit,
  x1: MatrixInput,
  x2?: MatrixInput | null,
  options: InfiniteKernelOptions = {},
): GramResult {
  const limit = typeof arch === 'string' ? infiniteDepthLimit(arch) : arch;
  const a = toMatrix(x1, 'x1');
  const b = x2 == null ? null : toMatrix(x2, 'x2');
  const req: GramRequest = { get: kindsOf(options.get), diagonal: options.diagonal ?? false, allDepths: false };
  return infiniteGram(limit, a, b, req);
}

/** The CPU computation behind `infiniteDepthKernel` (checked matrices and request). */
export function infiniteGram(limit: InfiniteDepthLimit, a: Matrix2D, b: Matrix2D | null, req: GramRequest): GramResult {
  checkInfiniteRequest(limit, a, b, req);
  if (limit.regime === 'two-layer') {
    const specs = limitSpecs(limit);
    const parts = req.get.map((kind) => gramCpu(compile(resolveSpec(specs[kind])), a, b, { ...req, get: [kind] }));
    return mergeLimitParts(req.get, parts);
  }
  return odeGram(limit, a, b, req);
}

/** One result from per-kernel results of the same shape (the limit specs differ per kernel). */
export function mergeLimitParts(kinds: readonly KernelKind[], parts: readonly GramResult[]): GramResult {
  const first = parts[0]!;
  const out: GramResult = { shape: first.shape, depths: [Infinity], symmetric: first.symmetric, diagonal: first.diagonal, sweep: false };
  kinds.forEach((kind, i) => {
    out[kind] = parts[i]![kind]!;
  });
  return out;
}

function dot(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[i * d + k]! * b[j * d + k]!;
  return s;
}

/** γ = ½: |x||z|·f(θ0) with f from the table; θ0 from the chords ‖x̂ ∓ ẑ‖ (no 1 − x̂·ẑ cancellation). */
function odeGram(limit: InfiniteDepthLimit, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): GramResult {
  const d = x1.cols;
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
  const plane = req.diagonal ? n1 : n1 * n2;
  if (plane > MAX_RESULT_ELEMENTS) {
    throw new InputError(
      `the result [${req.diagonal ? n1 : `${n1}, ${n2}`}] needs ${((plane * 8) / 2 ** 30).toFixed(1)} GiB of float64 per kernel ` +
        `(limit ${(MAX_RESULT_ELEMENTS * 8) / 2 ** 30} GiB): compute smaller blocks of X1 × X2`,
    );
  }
  const c = limit.c;
  // Scale of each kernel relative to the normalised unit-input values.
  const kScale = limit.normalized ? 1 : Math.exp(c);
  const tScale = limit.normalized ? 1 : 2 * c * Math.exp(c);
  const nngp = req.get.includes('nngp') ? new Float64Array(plane) : undefined;
  const ntk = req.get.includes('ntk') ? new Float64Array(plane) : undefined;
  const prep = (m: Matrix2D) => {
    const norm = new Float64Array(m.rows);
    const unit = new Float64Array(m.rows * d);
    for (let i = 0; i < m.rows; i++) {
      const nrm = Math.sqrt(dot(m.data, i, m.data, i, d));
      norm[i] = nrm;
      if (nrm > 0) for (let k = 0; k < d; k++) unit[i * d + k] = m.data[i * d + k]! / nrm;
    }
    return { norm, unit };
  };
  const A = prep(x1);
  const B = x2 ? prep(x2) : A;
  const table = tableFor(c);
  const f = new Float64Array(3);
  const pair = (i: number, j: number, at: number, same: boolean) => {
    const s = A.norm[i]! * B.norm[j]!;
    let theta0 = 0;
    if (!same && s > 0) {
      let cm = 0;
      let cp = 0;
      for (let k = 0; k < d; k++) {
        const u = A.unit[i * d + k]!;
        const v = B.unit[j * d + k]!;
        cm += (u - v) * (u - v);
        cp += (u + v) * (u + v);
      }
      theta0 = thetaOf(Math.min(2, 0.5 * cm), Math.min(2, 0.5 * cp));
    }
    odeAt(c, table, theta0, f);
    const k = s * kScale * f[0]!;
    const t = s * tScale * f[1]!;
    if (!Number.isFinite(k) || !Number.isFinite(t)) {
      throw new InputError(`${limit.reference}: the kernel overflows float64; rescale the inputs`);
    }
    if (nngp) nngp[at] = k;
    if (ntk) ntk[at] = t;
  };
  const symmetric = !x2 && !req.diagonal;
  if (req.diagonal) {
    for (let i = 0; i < n1; i++) pair(i, i, i, true);
  } else if (symmetric) {
    for (let i = 0; i < n1; i++) for (let j = i; j < n1; j++) pair(i, j, i * n1 + j, i === j);
    for (const out of [nngp, ntk]) {
      if (!out) continue;
      for (let i = 0; i < n1; i++) for (let j = 0; j < i; j++) out[i * n1 + j] = out[j * n1 + i]!;
    }
  } else {
    for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) pair(i, j, i * n2 + j, false);
  }
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.diagonal ? [n1] : [n1, n2],
    depths: [Infinity],
    symmetric,
    diagonal: req.diagonal,
    sweep: false,
  };
}

/** The γ > ½ limits in closed form for unit inputs: NNGP ρ0, normalised NTK (κ1(ρ0) + ρ0κ0(ρ0))/2. */
export function twoLayerLimit(rho0: number): { rho: number; ntk: number } {
  if (typeof rho0 !== 'number' || !(rho0 >= -1 && rho0 <= 1)) throw new InputError(`rho0 must be in [−1, 1], got ${String(rho0)}`);
  return { rho: rho0, ntk: 0.5 * (kappa1(rho0) + rho0 * kappa0(rho0)) };
}

// ---- the depth table ---------------------------------------------------------------------------------

export interface DepthTableOptions {
  /** Depths L (default 10, 100, 1000, 10⁴, 10⁵). */
  depths?: readonly number[];
  /** Exponents γ of α = alpha0·L^(−γ) (default 1, 0.75, 0.5, 0.25, 0). */
  gammas?: readonly number[];
  /** Input correlation (default 0). */
  rho?: number;
  /** Prefactor of α (default 1). */
  alpha0?: number;
}

export interface DepthTableRow {
  gamma: number;
  /** Normalised ResNTK (belfer2021) at each depth of `depths`. */
  values: number[];
  /** The depth = ∞ value where a non-degenerate limit exists (γ ≥ ½), else null. */
  limit: number | null;
  /** "two-layer" (γ > ½), "ode" (γ = ½) or "degenerate" (γ < ½: tends to the MLP's 1/4 at ρ = 0). */
  regime: 'two-layer' | 'ode' | 'degenerate';
}

export interface DepthTable {
  rho: number;
  alpha0: number;
  depths: number[];
  rows: DepthTableRow[];
}

/**
 * The normalised ResNTK of belfer2021 for unit inputs at correlation ρ, over depths and γ, with
 * the depth = ∞ limit (seeds.md §3.6's table at the defaults). Float64 on the CPU; see
 * resntkDepthTableOn for another backend.
 */
export function resntkDepthTable(options: DepthTableOptions = {}): DepthTable {
  const t = depthTablePlan(options);
  const rows = t.gammas.map((gamma) =>
    depthTableRow(
      gamma,
      t.depths.map((L) => gramCpu(compile(resolveSpec(t.build(L, gamma))), t.x, t.z, { get: ['ntk'], diagonal: false, allDepths: false }).ntk![0]!),
      t.rho,
      t.alpha0,
    ),
  );
  return { rho: t.rho, alpha0: t.alpha0, depths: t.depths, rows };
}

/** resntkDepthTable with the finite depths computed on a chosen backend (the limits are closed forms / the float64 ODE). */
export async function resntkDepthTableOn(backend: BackendChoice, options: DepthTableOptions = {}): Promise<DepthTable & { backend: Backend }> {
  const t = depthTablePlan(options);
  let used: Backend = 'cpu';
  const rows: DepthTableRow[] = [];
  for (const gamma of t.gammas) {
    const values: number[] = [];
    for (const L of t.depths) {
      const r = await kernel(t.build(L, gamma), t.x, t.z, { get: 'ntk', backend });
      used = r.backend;
      values.push(r.ntk![0]!);
    }
    rows.push(depthTableRow(gamma, values, t.rho, t.alpha0));
  }
  return { rho: t.rho, alpha0: t.alpha0, depths: t.depths, rows, backend: used };
}

function depthTablePlan(options: DepthTableOptions) {
  const depths = [...(options.depths ?? [10, 100, 1000, 10_000, 100_000])];
  const gammas = [...(options.gammas ?? [1, 0.75, 0.5, 0.25, 0])];
  const rho = options.rho ?? 0;
  const alpha0 = options.alpha0 ?? 1;
  if (typeof rho !== 'number' || !(rho >= -1 && rho <= 1)) throw new InputError(`depth table: rho must be in [−1, 1], got ${String(rho)}`);
  if (typeof alpha0 !== 'number' || !Number.isFinite(alpha0) || alpha0 === 0) throw new InputError(`depth table: alpha0 must be finite and non-zero, got ${String(alpha0)}`);
  depths.forEach((L, i) => {
    if (!Number.isInteger(L) || L < 1) throw new InputError(`depth table: depths[${i}] must be an integer ≥ 1, got ${String(L)}`);
  });
  gammas.forEach((g, i) => {
    if (typeof g !== 'number' || !Number.isFinite(g)) throw new InputError(`depth table: gammas[${i}] must be a finite number, got ${String(g)}`);
  });
  const x: Matrix2D = { data: new Float64Array([1, 0]), rows: 1, cols: 2 };
  const z: Matrix2D = { data: new Float64Array([rho, Math.sqrt((1 - rho) * (1 + rho))]), rows: 1, cols: 2 };
  const belfer = findPreset('belfer2021');
  // build() takes alpha0 with gamma (the reference syntax has no alpha0 for this preset).
  const build = (L: number, gamma: number) => belfer.build({ depth: L, gamma, alpha0 });
  return { depths, gammas, rho, alpha0, x, z, build };
}

function depthTableRow(gamma: number, values: number[], rho: number, alpha0: number): DepthTableRow {
  if (gamma < 0.5) return { gamma, values, limit: null, regime: 'degenerate' };
  if (gamma === 0.5) return { gamma, values, limit: solveResntkOde(Math.acos(rho), alpha0 * alpha0).ntk, regime: 'ode' };
  return { gamma, values, limit: twoLayerLimit(rho).ntk, regime: 'two-layer' };
}
