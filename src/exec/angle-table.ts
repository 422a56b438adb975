/**
 * The angle table of a bias-free, positively homogeneous network (every dense layer without bias,
 * every activation of degree 1: ReLU, LeakyReLU, arc-cosine order 1; residual and dense sums are
 * linear). Scaling an input by c > 0 scales every pre-activation by c, so each kernel of such a
 * network is √(K0(x,x)·K0(z,z))·F(θ0), F a function of the input angle θ0 = arccos ρ0 alone, at any
 * depth (limit.ts uses the same fact for the infinite-depth limits). The WebGPU executor then needs
 * no layer recursion per pair: F is tabulated here, once, by the float64 interpreter
 * (cpu/interpreter.ts, the reference itself), and the device evaluates the table at each pair's
 * angle (shaders/gram_angle.wgsl) — a cost independent of the depth.
 *
 * Layout of the table: the variable u = log(1 + θ/c)/log(1 + π/c) (c: gpu/angle-shader.ts ANGLE_C)
 * is cut into `segs` equal segments; on each, F of
 * every tap and kernel is the cubic through 4 Chebyshev points, in powers of t ∈ [0, 1], linear in θ
 * over the segment.
 * Coefficients are float32, scaled per tap and kernel by a power of two (deep kernels exceed f32).
 *
 * Every table is checked before use: at 5 points inside every segment, the cubic with its float32
 * coefficients against the interpreter, within TABLE_TOLERANCE of max |F| for each tap and kernel;
 * a table that fails doubles its segments (up to MAX_SEGMENTS), and a program whose table never
 * passes (or overflows float64) gets null: the executor then runs the layer recursion.
 */
import { activationEntry } from '../activations/registry.js';
import { expOf, ldexp, newState, nngpOf, runPair } from '../cpu/interpreter.js';
import { ANGLE_C, type AngleTableData } from '../gpu/angle-shader.js';
import { NTK, opsPerPair, programOps, type KernelProgram } from '../program/program.js';

/** Interpolation error allowed, relative to max |F| of a tap and kernel. */
export const TABLE_TOLERANCE = 1e-7;
const FIRST_SEGMENTS = 512;
const MAX_SEGMENTS = 4096;
/** Largest table (float32 words of coefficients), 64 MiB. */
const MAX_TABLE_WORDS = 2 ** 24;
/** Most interpreter op-steps spent on one table (~15 s here): beyond, the recursion is cheaper. */
const MAX_BUILD_STEPS = 3e8;

/**
 * Pairs from which the angle table is used unless the caller says otherwise (ExecOptions.angleTable):
 * building it runs the float64 reference on ~4600 angles, on lavapipe about what the device's
 * recursion costs for 10^5 pairs at any depth.
 */
export const ANGLE_TABLE_MIN_PAIRS = 2 ** 17;

/**
 * Whether a request of n1 (× n2) rows is computed from the table, given the caller's choice
 * (ExecOptions.angleTable): unset, when it has at least ANGLE_TABLE_MIN_PAIRS pairs (the upper
 * triangle for X × X, n1 for the diagonal). The program must also have a table (isAngleProgram).
 */
export function angleTableChosen(choice: boolean | undefined, n1: number, n2: number | null, diagonal: boolean): boolean {
  if (choice !== undefined) return choice;
  const pairs = diagonal ? n1 : n2 !== null ? n1 * n2 : (n1 * (n1 + 1)) / 2;
  return pairs >= ANGLE_TABLE_MIN_PAIRS;
}

/** A checked table: coefficients [tap][kernel (0 NNGP, 1 NTK)][segment][4] as float32, scaled by 2^exps[tap·2 + kernel]. */
export interface AngleTable extends AngleTableData {
  /** Worst interpolation error found by the check, relative to max |F|. */
  worst: number;
}

/** Whether every op of the program is bias-free and of degree 1 (so that its kernels are functions of the angle). */
export function isAngleProgram(p: KernelProgram): boolean {
  return programOps(p).every((o) => {
    if (o.op === 'affine') return o.biasVar === 0;
    if (o.op === 'act') return activationEntry(o.act).homogeneous(o.act);
    return true; // save, mix, clear, accumulate, load: linear in the kernels
  });
}

const LOG_RANGE = Math.log1p(Math.PI / ANGLE_C);

/** θ at u ∈ [0, 1]. */
export function angleAt(u: number): number {
  return Math.min(Math.PI, ANGLE_C * Math.expm1(u * LOG_RANGE));
}

/** u at θ ∈ [0, π]. */
export function uOfAngle(theta: number): number {
  return Math.log1p(theta / ANGLE_C) / LOG_RANGE;
}

/** Chebyshev points of the first kind on [0, 1]. */
const NODES = [0, 1, 2, 3].map((k) => 0.5 - 0.5 * Math.cos(((2 * k + 1) * Math.PI) / 8));
const CHECKS = [0.02, 0.27, 0.5, 0.73, 0.98];

/**
 * The (NNGP, NTK) of unit inputs at angle θ of every tap (or the last only) as the interpreter
 * holds them, a mantissa and a power of two: value = m[tap·2 + kernel]·2^e[tap·2 + kernel]. The
 * exponent is kept apart because deep kernels leave the float64 range (a ReLU net with σ_w² = 1
 * at depth 1100 is ~2^−1100 at unit inputs, and only its ratio to a normaliser or its product with
 * the inputs' norms is the answer).
 */
function evaluator(p: KernelProgram, lastOnly: boolean): (theta: number, m: Float64Array, e: Float64Array) => void {
  const { state, work } = newState(p);
  const taps = lastOnly ? 1 : p.depths.length;
  return (theta, m, e) => {
    // 1 − cos θ and 1 + cos θ without cancellation.
    const g = 2 * Math.sin(theta / 2) ** 2;
    const h = 2 * Math.cos(theta / 2) ** 2;
    const put = (t: number, k: number, th: number, x: number) => {
      m[2 * t] = k;
      m[2 * t + 1] = th;
      e[2 * t] = x;
      e[2 * t + 1] = x;
    };
    if (taps === 1) {
      runPair(p, state, work, { kxx: 1, kzz: 1, g, h });
      put(0, nngpOf(work), work[NTK]!, expOf(work));
    } else runPair(p, state, work, { kxx: 1, kzz: 1, g, h }, put);
  };
}

/** The binary exponent E of a finite x ≠ 0 with |x| ∈ [2^(E−1), 2^E). */
function binaryExponent(x: number): number {
  return Math.floor(Math.log2(Math.abs(x))) + 1;
}

/** Node a's Lagrange polynomial as POLY[a] (coefficients of t^0 … t^3) / DEN[a]: 1 at NODES[a], 0 at the others. */
const POLY: number[][] = [];
const DEN: number[] = [];
NODES.forEach((xa, a) => {
  let poly = [1, 0, 0, 0];
  let den = 1;
  NODES.forEach((xb, b) => {
    if (b === a) return;
    den *= xa - xb;
    poly = poly.map((c, k) => (k > 0 ? poly[k - 1]! : 0) - xb * c); // poly·(t − xb)
  });
  POLY.push(poly);
  DEN.push(den);
});

/** The monomial coefficients (in t) of the cubic through (NODES[k], y[k]), into out. */
function cubicCoefs(y: readonly number[], out: Float64Array): void {
  out.fill(0);
  for (let a = 0; a < 4; a++) for (let k = 0; k < 4; k++) out[k]! += (y[a]! * POLY[a]![k]!) / DEN[a]!;
}

/**
 * The table of a program for which isAngleProgram holds, of every tap of its depth sweep or (lastOnly)
 * of the whole network only; null when no table within the limits passes its check.
 */
export function buildAngleTable(p: KernelProgram, lastOnly: boolean): AngleTable | null {
  const taps = lastOnly ? 1 : p.depths.length;
  const series = 2 * taps;
  const F = evaluator(p, lastOnly);
  const vm = new Float64Array(series);
  const ve = new Float64Array(series);
  let spent = 0;
  for (let segs = FIRST_SEGMENTS; segs <= MAX_SEGMENTS; segs *= 2) {
    // The limits count every attempt: a table that never passes costs at most MAX_BUILD_STEPS.
    spent += segs * (4 + CHECKS.length) * opsPerPair(p);
    if (series * segs * 4 > MAX_TABLE_WORDS || spent > MAX_BUILD_STEPS) return null;
    // Segment s covers θ ∈ [θ_s, θ_s + 1/w_s], both float32 as the device holds them; the local
    // variable is t = (θ − θ_s)·w_s, linear in θ, so that θ's rounding is all the device adds
    // (t from u would carry log's rounding times log(1 + π/c)).
    const bounds = new Float32Array(2 * segs);
    for (let s = 0; s < segs; s++) {
      const a = Math.fround(angleAt(s / segs));
      bounds[2 * s] = a;
      bounds[2 * s + 1] = 1 / (Math.fround(angleAt((s + 1) / segs)) - a);
    }
    const angle = (s: number, t: number) => bounds[2 * s]! + t / bounds[2 * s + 1]!;
    // Every node's mantissa and exponent, and each series' exponent: that of its largest |value|.
    const ms = new Float64Array(segs * 4 * series);
    const es = new Float64Array(segs * 4 * series);
    const exps = new Int32Array(series).fill(-(2 ** 31));
    for (let s = 0; s < segs; s++) {
      for (let k = 0; k < 4; k++) {
        F(angle(s, NODES[k]!), vm, ve);
        for (let j = 0; j < series; j++) {
          const [x, xe] = [vm[j]!, ve[j]!];
          if (!Number.isFinite(x) || !Number.isFinite(xe)) return null;
          ms[(s * 4 + k) * series + j] = x;
          es[(s * 4 + k) * series + j] = xe;
          if (x !== 0) exps[j] = Math.max(exps[j]!, xe + binaryExponent(x));
        }
      }
    }
    for (let j = 0; j < series; j++) if (exps[j] === -(2 ** 31)) exps[j] = 0; // identically zero
    // Values relative to 2^exps[j] (at most 1 in magnitude), and the largest of each series.
    const rel = (x: number, xe: number, j: number) => ldexp(x, xe - exps[j]!);
    const big = new Float64Array(series);
    const coefs = new Float32Array(series * segs * 4);
    const c64 = new Float64Array(4);
    const y = [0, 0, 0, 0];
    for (let s = 0; s < segs; s++) {
      for (let j = 0; j < series; j++) {
        for (let k = 0; k < 4; k++) {
          const q = (s * 4 + k) * series + j;
          y[k] = rel(ms[q]!, es[q]!, j);
          big[j] = Math.max(big[j]!, Math.abs(y[k]!));
        }
        cubicCoefs(y, c64);
        if (!c64.every(Number.isFinite)) return null;
        coefs.set(c64, (j * segs + s) * 4);
      }
    }
    // The check: the float32 coefficients against the interpreter between the nodes.
    let worst = 0;
    for (let s = 0; s < segs && worst <= TABLE_TOLERANCE; s++) {
      for (const t of CHECKS) {
        F(angle(s, t), vm, ve);
        for (let j = 0; j < series; j++) {
          if (!Number.isFinite(vm[j]!) || !Number.isFinite(ve[j]!)) return null;
          const v = rel(vm[j]!, ve[j]!, j);
          const o = (j * segs + s) * 4;
          const fit = coefs[o]! + t * (coefs[o + 1]! + t * (coefs[o + 2]! + t * coefs[o + 3]!));
          const scale = Math.max(big[j]!, Math.abs(v));
          // A series that is zero at every node must be zero here too.
          worst = Math.max(worst, scale > 0 ? Math.abs(fit - v) / scale : 0);
        }
      }
    }
    if (worst <= TABLE_TOLERANCE) return { segs, taps, bounds, coefs, exps, worst };
  }
  return null;
}
