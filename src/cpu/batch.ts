/**
 * The float64 interpreter (interpreter.ts) on a batch of pairs at once: the state of `cap` pairs
 * stored register by register (register r of bank b of pair q at [(b·BANK_SIZE + r)·cap + q], the
 * exponent after the banks), and each op applied to the whole batch in one tight loop. Per pair the
 * arithmetic is exactly the one-pair interpreter's, operation for operation, so the results are the
 * same bits; the gain is that an op's dispatch, constants and call cost are paid once per batch
 * rather than once per pair (the recursion of a deep MLP is then a few loops over arrays).
 */
import { activationEntry, type Activation } from '../activations/registry.js';
import type { ActivationEntry, ActOut } from '../activations/entry.js';
import { relu } from '../activations/relu.js';
import { InputError } from '../errors.js';
import { ANTI, BANK_SIZE, GAP, KXX, KZZ, NTK, type Coef, type KernelProgram, type Op } from '../program/program.js';
import { ldexp, mixStrided } from './interpreter.js';

/** Applies one op to pairs [0, n) of a batch state with capacity `cap`. */
type BatchStep = (s: Float64Array, cap: number, n: number, iter: number) => void;

const PI = Math.PI;
const SCALE_HI = 2 ** 400;
const SCALE_LO = 2 ** -400;

/** As interpreter.ts renorm, for pair q (`ex`: the exponent's register). */
function renormQ(s: Float64Array, cap: number, q: number, ex: number): void {
  const m = Math.max(s[KXX * cap + q]!, s[KZZ * cap + q]!);
  if (!(m > SCALE_HI || (m > 0 && m < SCALE_LO))) return;
  const k = Math.floor(Math.log2(m));
  for (let o = 0; o < ex; o += BANK_SIZE) {
    s[(o + KXX) * cap + q] = ldexp(s[(o + KXX) * cap + q]!, -k);
    s[(o + KZZ) * cap + q] = ldexp(s[(o + KZZ) * cap + q]!, -k);
    s[(o + NTK) * cap + q] = ldexp(s[(o + NTK) * cap + q]!, -k);
  }
  s[ex * cap + q] = s[ex * cap + q]! + k;
}

/** As interpreter.ts materialise, for pair q. */
function materialiseQ(s: Float64Array, cap: number, q: number, ex: number, what: string): void {
  const E = s[ex * cap + q]!;
  if (E === 0) return;
  for (let o = 0; o < ex; o += BANK_SIZE) {
    for (const r of [KXX, KZZ, NTK]) {
      const v = ldexp(s[(o + r) * cap + q]!, E);
      if (!Number.isFinite(v)) throw new InputError(`the kernel overflows float64 before ${what}, which needs its actual value`);
      s[(o + r) * cap + q] = v;
    }
  }
  s[ex * cap + q] = 0;
}

/**
 * A bias-free dense layer: the general step with b = 0 folded in. Every term b contributes is an
 * exact zero there (A = P, R = √P·√Q = s, the b terms add 0), so the bits are the same, with two
 * square roots and two divisions fewer.
 */
function unbiasedStep(w: number, trainable: boolean, ex: number): BatchStep {
  return (s, cap, n) => {
    const kx = KXX * cap;
    const kz = KZZ * cap;
    const ga = GAP * cap;
    const an = ANTI * cap;
    const nt = NTK * cap;
    for (let q = 0; q < n; q++) {
      const P = w * s[kx + q]!;
      const Q = w * s[kz + q]!;
      const sp = Math.sqrt(P) * Math.sqrt(Q);
      const g0 = s[ga + q]!;
      const h0 = s[an + q]!;
      const rho = 0.5 * (h0 - g0);
      let g = 1;
      let h = 1;
      if (sp > 0) {
        g = (sp * g0) / sp;
        h = (sp * h0) / sp;
      }
      s[kx + q] = P + 0;
      s[kz + q] = Q + 0;
      s[ga + q] = g;
      s[an + q] = h;
      s[nt + q] = w * s[nt + q]! + (trainable ? sp * rho + 0 : 0);
      renormQ(s, cap, q, ex);
    }
  };
}

function affineStep(w: number, b: number, trainable: boolean, ex: number): BatchStep {
  if (b === 0) return unbiasedStep(w, trainable, ex);
  return (s, cap, n) => {
    const kx = KXX * cap;
    const kz = KZZ * cap;
    const ga = GAP * cap;
    const an = ANTI * cap;
    const nt = NTK * cap;
    for (let q = 0; q < n; q++) {
      materialiseQ(s, cap, q, ex, 'a bias');
      const P = w * s[kx + q]!;
      const Q = w * s[kz + q]!;
      const A = P + b;
      const B = Q + b;
      const sP = Math.sqrt(P);
      const sQ = Math.sqrt(Q);
      const sp = sP * sQ;
      const R = Math.sqrt(A) * Math.sqrt(B);
      const g0 = s[ga + q]!;
      const h0 = s[an + q]!;
      const rho = 0.5 * (h0 - g0);
      let g = 1;
      let h = 1;
      if (R > 0) {
        const d = sP - sQ;
        g = ((b * d * d) / (R + sp + b) + sp * g0) / R;
        h = ((b * (P + Q) + b * b) / (R + sp) + b + sp * h0) / R;
      }
      const kxz = sp * rho + b;
      s[kx + q] = A;
      s[kz + q] = B;
      s[ga + q] = g;
      s[an + q] = h;
      s[nt + q] = w * s[nt + q]! + (trainable ? kxz : 0);
      renormQ(s, cap, q, ex);
    }
  };
}

/** interpreter.ts reluStep on every pair. */
const reluStep: BatchStep = (s, cap, n) => {
  const kx = KXX * cap;
  const kz = KZZ * cap;
  const ga = GAP * cap;
  const an = ANTI * cap;
  const nt = NTK * cap;
  for (let q = 0; q < n; q++) {
    const kxx = s[kx + q]!;
    const kzz = s[kz + q]!;
    s[kx + q] = 0.5 * kxx;
    s[kz + q] = 0.5 * kzz;
    if (!(kxx > 0 && kzz > 0)) {
      s[ga + q] = 1;
      s[an + q] = 1;
      s[nt + q] = 0 * s[nt + q]!;
      continue;
    }
    const g = s[ga + q]!;
    const h = s[an + q]!;
    let theta: number;
    let pmt: number;
    if (g <= h) {
      theta = 2 * Math.asin(Math.sqrt(0.5 * g));
      pmt = PI - theta;
    } else {
      pmt = 2 * Math.asin(Math.sqrt(0.5 * h));
      theta = PI - pmt;
    }
    let sm: number;
    if (theta < 0.5) {
      // sinMinusThetaCosSeries(θ), written out: the call is not inlined in this loop, and is a tenth of it.
      const t2 = theta * theta;
      sm = theta * t2 * (1 / 3 + t2 * (-1 / 30 + t2 * (1 / 840 + t2 * (-1 / 45360 + t2 * (1 / 3991680 + t2 * (-1 / 518918400 + t2 / 93405312000))))));
    } else sm = Math.sqrt(g * h) - theta * 0.5 * (h - g);
    const gr = Math.min(1, Math.max(0, g - sm / PI));
    s[ga + q] = gr + 0 * g;
    s[an + q] = 2 - gr + 0 * h;
    s[nt + q] = 0.5 * (pmt / PI + 0) * s[nt + q]!;
  }
};

function actStep(a: Activation, ex: number): BatchStep {
  const entry = activationEntry(a);
  if (entry === (relu as unknown as ActivationEntry)) return reluStep;
  const homogeneous = entry.homogeneous(a);
  const act: ActOut = { kxx: 0, kzz: 0, g: 0, h: 0, sdot: 0 };
  return (s, cap, n) => {
    for (let q = 0; q < n; q++) {
      if (s[ex * cap + q] !== 0 && !homogeneous) materialiseQ(s, cap, q, ex, `the ${entry.describe(a)} nonlinearity`);
      entry.gap(a, s[KXX * cap + q]!, s[KZZ * cap + q]!, s[GAP * cap + q]!, s[ANTI * cap + q]!, act);
      s[KXX * cap + q] = act.kxx;
      s[KZZ * cap + q] = act.kzz;
      s[GAP * cap + q] = act.g;
      s[ANTI * cap + q] = act.h;
      s[NTK * cap + q] = act.sdot * s[NTK * cap + q]!;
    }
  };
}

function coef(c: Coef, iter: number): number {
  return typeof c === 'number' ? c : c[iter]!;
}

function stepOf(op: Op, ex: number): BatchStep {
  switch (op.op) {
    case 'affine':
      return affineStep(op.weightVar, op.biasVar, op.trainable, ex);
    case 'act':
      return actStep(op.act, ex);
    case 'save': {
      const o = op.bank * BANK_SIZE;
      return (s, cap, n) => {
        for (let r = 0; r < BANK_SIZE; r++) s.copyWithin((o + r) * cap, r * cap, r * cap + n);
      };
    }
    case 'clear': {
      const o = op.bank * BANK_SIZE;
      return (s, cap, n) => {
        for (let r = 0; r < BANK_SIZE; r++) s.fill(0, (o + r) * cap, (o + r) * cap + n);
      };
    }
    case 'mix': {
      const o = op.bank * BANK_SIZE;
      const { skip, branch } = op;
      return (s, cap, n) => {
        for (let q = 0; q < n; q++) {
          mixStrided(s, cap, q, 0, o, skip, 0, branch);
          renormQ(s, cap, q, ex);
        }
      };
    }
    case 'accumulate': {
      const o = op.bank * BANK_SIZE;
      return (s, cap, n) => {
        for (let q = 0; q < n; q++) mixStrided(s, cap, q, o, o, 1, 0, 1);
      };
    }
    case 'load': {
      const o = op.bank * BANK_SIZE;
      const scale = op.scale;
      return (s, cap, n, iter) => {
        const c = coef(scale, iter);
        for (let q = 0; q < n; q++) {
          s[KXX * cap + q] = c * s[(o + KXX) * cap + q]!;
          s[KZZ * cap + q] = c * s[(o + KZZ) * cap + q]!;
          s[GAP * cap + q] = s[(o + GAP) * cap + q]!;
          s[ANTI * cap + q] = s[(o + ANTI) * cap + q]!;
          s[NTK * cap + q] = c * s[(o + NTK) * cap + q]!;
          renormQ(s, cap, q, ex);
        }
      };
    }
  }
}

/**
 * Runs a program on batches of pairs. `init` fills pair q's input kernels (bank 0's KXX, KZZ, GAP,
 * ANTI registers, in that order, at kxx[q], kzz[q], g[q], h[q]); `run(n, onTap)` then runs pairs
 * [0, n) and calls onTap(tap, q, nngp mantissa, ntk mantissa, exponent) per pair and depth, as
 * runPair does per pair (every depth with `allDepths`, else the full network only, as tap 0 of
 * the last depth).
 */
export class PairBatch {
  readonly kxx: Float64Array;
  readonly kzz: Float64Array;
  readonly g: Float64Array;
  readonly h: Float64Array;
  private readonly state: Float64Array;
  private readonly work: Float64Array;
  private readonly ex: number;
  private readonly prefix: { steps: BatchStep[]; count: number }[];
  private readonly body: BatchStep[];
  private readonly suffix: BatchStep[];

  constructor(
    private readonly p: KernelProgram,
    readonly cap: number,
  ) {
    this.ex = p.banks * BANK_SIZE;
    const size = (this.ex + 1) * cap;
    this.state = new Float64Array(size);
    this.work = new Float64Array(size);
    this.kxx = new Float64Array(cap);
    this.kzz = new Float64Array(cap);
    this.g = new Float64Array(cap);
    this.h = new Float64Array(cap);
    const steps = (ops: readonly Op[]) => ops.map((op) => stepOf(op, this.ex));
    // count −1: straight-line ops (iteration 0); otherwise a loop of `count` iterations.
    this.prefix = p.prefix.map((st) => (st.kind === 'ops' ? { steps: steps(st.ops), count: -1 } : { steps: steps(st.body), count: st.count }));
    this.body = p.sweep ? steps(p.sweep.body) : [];
    this.suffix = steps(p.suffix);
  }

  run(n: number, allDepths: boolean, onTap: (tap: number, q: number, nngp: number, ntk: number, exp: number) => void): void {
    const { state: s, cap, p } = this;
    s.fill(0);
    s.set(this.kxx.subarray(0, n), KXX * cap);
    s.set(this.kzz.subarray(0, n), KZZ * cap);
    s.set(this.g.subarray(0, n), GAP * cap);
    s.set(this.h.subarray(0, n), ANTI * cap);
    for (const st of this.prefix) {
      if (st.count < 0) for (const f of st.steps) f(s, cap, n, 0);
      else for (let i = 0; i < st.count; i++) for (const f of st.steps) f(s, cap, n, i);
    }
    // Depth t of the sweep (the state after t iterations), completed by the suffix in `work`.
    const tap = (t: number) => {
      const w = this.work;
      w.set(s);
      for (const f of this.suffix) f(w, cap, n, 0);
      for (let q = 0; q < n; q++) {
        const kxx = w[KXX * cap + q]!;
        const kzz = w[KZZ * cap + q]!;
        // nngpOf: ρ·√(K(x,x))·√(K(z,z)) with ρ = (h − g)/2.
        const k = 0.5 * (w[ANTI * cap + q]! - w[GAP * cap + q]!) * Math.sqrt(kxx) * Math.sqrt(kzz);
        onTap(t, q, k, w[NTK * cap + q]!, w[this.ex * cap + q]!);
      }
    };
    if (!p.sweep) {
      tap(0);
      return;
    }
    if (allDepths) tap(0);
    for (let i = 0; i < p.sweep.count; i++) {
      for (const f of this.body) f(s, cap, n, i);
      if (allDepths) tap(i + 1);
    }
    if (!allDepths) tap(p.sweep.count);
  }
}
