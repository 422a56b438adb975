/**
 * The float64 reference executor: runs a kernel program on the state of one input pair, with the
 * correlation carried as its gaps 1 − ρ and 1 + ρ (see gap.ts for why and how).
 *
 * Scale: the state's kernels are stored divided by 2^E, with one exponent E for the pair (the last
 * slot of the state). Positively homogeneous layers (ReLU-type units, bias-free dense layers,
 * residual and DenseNet sums) leave E alone and rescale by exact powers of two, so deep ResNets
 * whose (1 + α²)^L leaves the float64 range still come out right (as mantissa and exponent).
 * Layers that need actual values (a bias, and every activation whose entry is not homogeneous:
 * erf, a step, order-2 units, the smooth ones) first bring E back to 0,
 * which is an error only if the actual values overflow float64.
 */
import { ANTI, BANK_SIZE, GAP, KXX, KZZ, NTK, type Coef, type KernelProgram, type Normalizers, type Op } from '../program/program.js';
import { InputError } from '../errors.js';
import { activationEntry, type Activation } from '../activations/registry.js';
import type { ActivationEntry, ActOut } from '../activations/entry.js';
import { relu } from '../activations/relu.js';
import { sinMinusThetaCosSeries } from '../activations/rectifier-math.js';

function coef(c: Coef, iter: number): number {
  return typeof c === 'number' ? c : c[iter]!;
}

/**
 * Weighted sum cs·(bank o1) + cb·(bank o2) into bank `to` (which may alias either). Both gaps are
 * sums of non-negative terms: 1 ∓ ρ' = [(√(P1Q2) − √(P2Q1))²/(R + s1 + s2) + s1(1 ∓ ρ1) + s2(1 ∓ ρ2)]/R,
 * since R² − (s1 + s2)² is that square (the Lagrange identity).
 */
function mixInto(s: Float64Array, to: number, o1: number, cs: number, o2: number, cb: number): void {
  mixStrided(s, 1, 0, to, o1, cs, o2, cb);
}

/**
 * mixInto on a state laid out with `stride` entries between registers, for the pair at `q` (the
 * batched engine, cpu/batch.ts, keeps registers × pairs; this file, one pair with stride 1).
 */
export function mixStrided(s: Float64Array, stride: number, q: number, to: number, o1: number, cs: number, o2: number, cb: number): void {
  const at = (o: number, r: number) => (o + r) * stride + q;
  const P1 = cs * s[at(o1, KXX)]!;
  const Q1 = cs * s[at(o1, KZZ)]!;
  const P2 = cb * s[at(o2, KXX)]!;
  const Q2 = cb * s[at(o2, KZZ)]!;
  const A = P1 + P2;
  const B = Q1 + Q2;
  const s1 = Math.sqrt(P1) * Math.sqrt(Q1);
  const s2 = Math.sqrt(P2) * Math.sqrt(Q2);
  const R = Math.sqrt(A) * Math.sqrt(B);
  let g = 1;
  let h = 1;
  if (R > 0) {
    const l = Math.sqrt(P1) * Math.sqrt(Q2) - Math.sqrt(P2) * Math.sqrt(Q1);
    const lag = (l * l) / (R + s1 + s2);
    g = (lag + s1 * s[at(o1, GAP)]! + s2 * s[at(o2, GAP)]!) / R;
    h = (lag + s1 * s[at(o1, ANTI)]! + s2 * s[at(o2, ANTI)]!) / R;
  }
  const t = cs * s[at(o1, NTK)]! + cb * s[at(o2, NTK)]!;
  s[at(to, KXX)] = A;
  s[at(to, KZZ)] = B;
  s[at(to, GAP)] = g;
  s[at(to, ANTI)] = h;
  s[at(to, NTK)] = t;
}

/** The exponent slot: the last entry of the state. */
const expAt = (s: Float64Array) => s.length - 1;

const SCALE_HI = 2 ** 400;
const SCALE_LO = 2 ** -400;

/** Keeps bank 0's diagonals within 2^±400 by an exact power of two applied to every bank. */
function renorm(s: Float64Array): void {
  const m = Math.max(s[KXX]!, s[KZZ]!);
  if (!(m > SCALE_HI || (m > 0 && m < SCALE_LO))) return;
  const k = Math.floor(Math.log2(m));
  // ldexp, not a product with 2^−k: for a subnormal m (k < −1023) 2^−k overflows to Infinity.
  for (let o = 0; o < expAt(s); o += BANK_SIZE) {
    s[o + KXX] = ldexp(s[o + KXX]!, -k);
    s[o + KZZ] = ldexp(s[o + KZZ]!, -k);
    s[o + NTK] = ldexp(s[o + NTK]!, -k);
  }
  s[expAt(s)] = s[expAt(s)]! + k;
}

/** Brings the exponent back to 0 (actual values), for layers that are not homogeneous. */
function materialise(s: Float64Array, what: string): void {
  const E = s[expAt(s)]!;
  if (E === 0) return;
  for (let o = 0; o < expAt(s); o += BANK_SIZE) {
    for (const r of [KXX, KZZ, NTK]) {
      const v = ldexp(s[o + r]!, E);
      if (!Number.isFinite(v)) throw new InputError(`the kernel overflows float64 before ${what}, which needs its actual value`);
      s[o + r] = v;
    }
  }
  s[expAt(s)] = 0;
}

/** m·2^e without intermediate overflow or underflow. */
export function ldexp(m: number, e: number): number {
  if (e > 1000) return m * 2 ** 1000 * 2 ** (e - 1000);
  if (e < -1000) return m * 2 ** -1000 * 2 ** (e + 1000);
  return m * 2 ** e;
}

/** One op, with its constants resolved: applies it to a state (`iter`: the enclosing loop's iteration). */
type Step = (s: Float64Array, iter: number) => void;

const PI = Math.PI;

/**
 * ReLU in the gap form, exactly the arithmetic of abReluGap(0, 1, …) (c = 1, n2 = 1) with θ and
 * π − θ from one asin: relu is the activation of nearly every preset, so its step skips the
 * registry's generic path (same bits, a third of the time).
 */
function reluStep(s: Float64Array): void {
  const kxx = s[KXX]!;
  const kzz = s[KZZ]!;
  s[KXX] = 0.5 * kxx;
  s[KZZ] = 0.5 * kzz;
  if (!(kxx > 0 && kzz > 0)) {
    s[GAP] = 1;
    s[ANTI] = 1;
    s[NTK] = 0 * s[NTK]!;
    return;
  }
  const g = s[GAP]!;
  const h = s[ANTI]!;
  let theta: number;
  let pmt: number; // π − θ, accurate near θ = π
  if (g <= h) {
    theta = 2 * Math.asin(Math.sqrt(0.5 * g));
    pmt = PI - theta;
  } else {
    pmt = 2 * Math.asin(Math.sqrt(0.5 * h));
    theta = PI - pmt;
  }
  const sm = theta < 0.5 ? sinMinusThetaCosSeries(theta) : Math.sqrt(g * h) - theta * 0.5 * (h - g);
  const gr = Math.min(1, Math.max(0, g - sm / PI));
  s[GAP] = gr + 0 * g;
  s[ANTI] = 2 - gr + 0 * h;
  s[NTK] = 0.5 * (pmt / PI + 0) * s[NTK]!;
}

function actStep(a: Activation): Step {
  const entry = activationEntry(a);
  if (entry === (relu as unknown as ActivationEntry)) return reluStep;
  const homogeneous = entry.homogeneous(a);
  // Scratch for the activation's output, one per step: a step runs to completion before any other
  // use of it (each worker thread has its own module instance).
  const act: ActOut = { kxx: 0, kzz: 0, g: 0, h: 0, sdot: 0 };
  return (s) => {
    // (The exponent test first: the message is only built when there is something to materialise.)
    if (s[expAt(s)] !== 0 && !homogeneous) materialise(s, `the ${entry.describe(a)} nonlinearity`);
    entry.gap(a, s[KXX]!, s[KZZ]!, s[GAP]!, s[ANTI]!, act);
    s[KXX] = act.kxx;
    s[KZZ] = act.kzz;
    s[GAP] = act.g;
    s[ANTI] = act.h;
    s[NTK] = act.sdot * s[NTK]!;
  };
}

function affineStep(w: number, b: number, trainable: boolean): Step {
  return (s) => {
    if (b !== 0) materialise(s, 'a bias');
    // K ← w·K + b. With P = w·kxx, Q = w·kzz, s = √(PQ), R = √(AB):
    // 1 − ρ' = [b(√P − √Q)²/(R + s + b) + s(1 − ρ)]/R, 1 + ρ' = [(b(P+Q) + b²)/(R + s) + b + s(1 + ρ)]/R.
    const P = w * s[KXX]!;
    const Q = w * s[KZZ]!;
    const A = P + b;
    const B = Q + b;
    const sP = Math.sqrt(P);
    const sQ = Math.sqrt(Q);
    const sp = sP * sQ;
    const R = Math.sqrt(A) * Math.sqrt(B);
    const rho = 0.5 * (s[ANTI]! - s[GAP]!);
    let g = 1;
    let h = 1;
    if (R > 0) {
      const d = sP - sQ;
      g = ((b * d * d) / (R + sp + b) + sp * s[GAP]!) / R;
      h = ((b * (P + Q) + b * b) / (R + sp) + b + sp * s[ANTI]!) / R;
    }
    const kxz = sp * rho + b;
    s[KXX] = A;
    s[KZZ] = B;
    s[GAP] = g;
    s[ANTI] = h;
    s[NTK] = w * s[NTK]! + (trainable ? kxz : 0);
    renorm(s);
  };
}

function stepOf(op: Op): Step {
  switch (op.op) {
    case 'affine':
      return affineStep(op.weightVar, op.biasVar, op.trainable);
    case 'act':
      return actStep(op.act);
    case 'save': {
      const o = op.bank * BANK_SIZE;
      return (s) => {
        for (let r = 0; r < BANK_SIZE; r++) s[o + r] = s[r]!;
      };
    }
    case 'mix': {
      const o = op.bank * BANK_SIZE;
      const { skip, branch } = op;
      return (s) => {
        mixInto(s, 0, o, skip, 0, branch);
        renorm(s);
      };
    }
    case 'clear': {
      const o = op.bank * BANK_SIZE;
      return (s) => {
        for (let r = 0; r < BANK_SIZE; r++) s[o + r] = 0;
      };
    }
    case 'accumulate': {
      const o = op.bank * BANK_SIZE;
      return (s) => mixInto(s, o, o, 1, 0, 1);
    }
    case 'load': {
      const o = op.bank * BANK_SIZE;
      const scale = op.scale;
      return (s, iter) => {
        const c = coef(scale, iter);
        s[KXX] = c * s[o + KXX]!;
        s[KZZ] = c * s[o + KZZ]!;
        s[GAP] = s[o + GAP]!;
        s[ANTI] = s[o + ANTI]!;
        s[NTK] = c * s[o + NTK]!;
        renorm(s);
      };
    }
  }
}

// Compiled once per op list (programs are immutable once compiled).
const compiled = new WeakMap<readonly Op[], Step[]>();

/** The steps of an op list: its ops with their constants and activation entries resolved once. */
function stepsOf(ops: readonly Op[]): Step[] {
  let steps = compiled.get(ops);
  if (!steps) {
    steps = ops.map(stepOf);
    compiled.set(ops, steps);
  }
  return steps;
}

function runSteps(steps: readonly Step[], s: Float64Array, iter: number): void {
  for (let i = 0; i < steps.length; i++) steps[i]!(s, iter);
}

/** Applies `ops` to `s`; `iter` indexes per-iteration coefficients of the enclosing loop. */
export function runOps(ops: readonly Op[], s: Float64Array, iter: number): void {
  runSteps(stepsOf(ops), s, iter);
}

/** Runs the prefix of the program (everything before the depth loop). */
function runPrefix(p: KernelProgram, s: Float64Array): void {
  for (const step of p.prefix) {
    if (step.kind === 'ops') runOps(step.ops, s, 0);
    else {
      const steps = stepsOf(step.body);
      for (let i = 0; i < step.count; i++) runSteps(steps, s, i);
    }
  }
}

/** The initial state of a pair: input-kernel diagonals and the two correlation gaps. */
export interface PairInit {
  kxx: number;
  kzz: number;
  /** 1 − ρ0. */
  g: number;
  /** 1 + ρ0. */
  h: number;
}

/** NNGP mantissa of bank 0 of a state: ρ·√(K(x,x)·K(z,z)), to be scaled by 2^expOf(s). */
export function nngpOf(s: Float64Array): number {
  return 0.5 * (s[ANTI]! - s[GAP]!) * Math.sqrt(s[KXX]!) * Math.sqrt(s[KZZ]!);
}

/** The state's exponent E (its kernels are the stored values times 2^E). */
export function expOf(s: Float64Array): number {
  return s[expAt(s)]!;
}

/**
 * Runs the program for one pair. With `onTap`, calls it with (tap, nngp, ntk) after every depth of
 * the sweep; otherwise only the final output is produced. Either way the final state (after the
 * suffix) is left in `work`: read it with nngpOf(work), work[NTK] and expOf(work).
 */
export function runPair(
  p: KernelProgram,
  state: Float64Array,
  work: Float64Array,
  init: PairInit,
  onTap?: (tap: number, nngp: number, ntk: number, exp: number) => void,
): void {
  state.fill(0);
  state[KXX] = init.kxx;
  state[KZZ] = init.kzz;
  state[GAP] = init.g;
  state[ANTI] = init.h;
  state[NTK] = 0;
  runPrefix(p, state);
  const suffix = stepsOf(p.suffix);
  const tap = (t: number) => {
    work.set(state);
    runSteps(suffix, work, 0);
    onTap?.(t, nngpOf(work), work[NTK]!, expOf(work));
  };
  if (!p.sweep) {
    tap(0);
    return;
  }
  if (onTap) tap(0);
  const body = stepsOf(p.sweep.body);
  for (let i = 0; i < p.sweep.count; i++) {
    runSteps(body, state, i);
    if (onTap) tap(i + 1);
  }
  if (!onTap) tap(p.sweep.count);
}

export function newState(p: KernelProgram): { state: Float64Array; work: Float64Array } {
  return {
    state: new Float64Array(p.banks * BANK_SIZE + 1),
    work: new Float64Array(p.banks * BANK_SIZE + 1),
  };
}

/**
 * Per-depth normalisers for `normalize: "diagonal"`: the kernels of an input with K₀(x,x) = 1, as
 * mantissas with a shared exponent per depth (value = mantissa·2^exp). Null when the program does
 * not normalise.
 */
export function normalizers(p: KernelProgram): Normalizers | null {
  if (p.normalize === 'none') return null;
  const taps = p.depths.length;
  const nngp = new Float64Array(taps);
  const ntk = new Float64Array(taps);
  const exp = new Float64Array(taps);
  const { state, work } = newState(p);
  runPair(p, state, work, { kxx: 1, kzz: 1, g: 0, h: 2 }, (t, k, th, e) => {
    nngp[t] = k;
    ntk[t] = th;
    exp[t] = e;
  });
  return { nngp, ntk, exp };
}

/** A kernel value (mantissa, exponent), divided by a normaliser (mantissa, exponent) when given. */
export function scaledValue(m: number, e: number, norm: number | null, normExp: number, what: string): number {
  if (norm === null) return ldexp(m, e);
  return ldexp(normalizeValue(m, norm, what), e - normExp);
}

/**
 * Divides by a normaliser. A zero normaliser means the kernel is identically zero at that depth
 * (nothing trainable yet, or a step nonlinearity killed every gradient); the value must then be
 * exactly zero too, and stays zero.
 */
export function normalizeValue(value: number, norm: number, what: string): number {
  if (norm === 0) {
    if (value !== 0) throw new Error(`internal error: ${what} normaliser is zero but the value is ${value}`);
    return 0;
  }
  return value / norm;
}
