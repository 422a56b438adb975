/**
 * An independent float64 reference for fully connected specs: a tree-walking interpreter over the
 * resolved spec (README "Architectures as JSON") in the plain ρ form. Per input pair it carries
 * K(x,x), K(z,z), K(x,z) and Θ(x,z) and applies each layer's update as the README states it, with
 * each activation's Gaussian dual from reference-duals.ts. It shares nothing with the engine
 * (src/cpu, src/program, src/gpu): only `resolveSpec` fills in the defaults.
 *
 * The plain ρ form loses accuracy as |ρ| → 1 (θ = atan2(√(1−ρ²), ρ) has slope 1/√(1−ρ²)), so it is
 * a 1e−12 reference only for pairs whose correlations stay away from ±1; `minGap` reports the
 * smallest 1 − |ρ| it met at an activation for a pair of distinct inputs, for tests to check.
 */
import { assertNever } from '../src/errors.js';
import type { ResolvedSpec, Spec } from '../src/spec/types.js';
import { resolveSpec } from '../src/spec/validate.js';
import { dual, type RefActivation } from './reference-duals.js';

/** The layers the reference covers, as README's JSON with defaults filled in. */
type RefLayer =
  | { type: 'dense'; weightVar: number; biasVar: number; trainable: boolean }
  | RefActivation
  | { type: 'residual'; alpha?: number; alpha0?: number; gamma?: number; beta: number; branch: RefLayer[] }
  | {
      type: 'denseBlock';
      depth: number;
      concat: 'mean' | 'sum';
      activation: RefActivation;
      weightVar: number;
      biasVar: number;
      trainable: boolean;
    }
  | { type: 'repeat'; count: number; layers: RefLayer[] };

interface RefSpec {
  inputScale: 'none' | 'dim';
  layers: RefLayer[];
  readout: RefLayer[];
  normalize: 'none' | 'diagonal';
  sweepStart: number;
}

/** One pair's state: the NNGP triple and the NTK's cross entry. */
interface PairState {
  xx: number;
  zz: number;
  xz: number;
  t: number;
}

interface Context {
  /** Residual blocks in the whole network (the L of α = alpha0·L^(−gamma)). */
  L: number;
  /** Whether the pair is one input with itself (its ρ is exactly 1 and not a precision concern). */
  same: boolean;
  minGap: number;
}

const combine = (a: number, s: PairState, b: number, r: PairState): PairState => ({
  xx: a * s.xx + b * r.xx,
  zz: a * s.zz + b * r.zz,
  xz: a * s.xz + b * r.xz,
  t: a * s.t + b * r.t,
});

function dense(l: { weightVar: number; biasVar: number; trainable: boolean }, s: PairState): PairState {
  const xz = l.weightVar * s.xz + l.biasVar;
  return {
    xx: l.weightVar * s.xx + l.biasVar,
    zz: l.weightVar * s.zz + l.biasVar,
    xz,
    t: l.weightVar * s.t + (l.trainable ? xz : 0),
  };
}

/**
 * The diagonals are the pair (x, x) evaluated by the same function as the cross entry, so that a
 * pair of one input with itself keeps ρ exactly 1.
 */
function activate(a: RefActivation, s: PairState, ctx: Context): PairState {
  if (!ctx.same) ctx.minGap = Math.min(ctx.minGap, 1 - Math.abs(s.xz / Math.sqrt(s.xx * s.zz)));
  const [S, Sdot] = dual(a, s.xx, s.zz, s.xz);
  return { xx: dual(a, s.xx, s.xx, s.xx)[0], zz: dual(a, s.zz, s.zz, s.zz)[0], xz: S, t: Sdot * s.t };
}

function residualCount(layers: RefLayer[]): number {
  let n = 0;
  for (const l of layers) {
    if (l.type === 'residual') n += 1 + residualCount(l.branch);
    if (l.type === 'repeat') n += l.count * residualCount(l.layers);
  }
  return n;
}

/** The states after each of the `depth` layers of a DenseNet block read from h0 (index 0 is h0). */
function* denseBlockStates(l: Extract<RefLayer, { type: 'denseBlock' }>, h0: PairState, ctx: Context): Generator<PairState> {
  let h = h0;
  let sum: PairState = { xx: 0, zz: 0, xz: 0, t: 0 };
  yield h;
  for (let k = 1; k <= l.depth; k++) {
    // Layer k reads [φ(h0); …; φ(h(k−1))]: its kernels are the running sums, averaged for "mean".
    sum = combine(1, sum, 1, activate(l.activation, h, ctx));
    h = dense(l, combine(l.concat === 'mean' ? 1 / k : 1, sum, 0, sum));
    yield h;
  }
}

function last<T>(it: Iterable<T>): T {
  let out: T | undefined;
  for (const v of it) out = v;
  return out!;
}

function run(layers: RefLayer[], s0: PairState, ctx: Context): PairState {
  let s = s0;
  for (const l of layers) s = layer(l, s, ctx);
  return s;
}

function layer(l: RefLayer, s: PairState, ctx: Context): PairState {
  switch (l.type) {
    case 'dense':
      return dense(l, s);
    case 'relu':
    case 'arccos':
    case 'leakyRelu':
    case 'abRelu':
    case 'erf':
    case 'gelu':
    case 'tanh':
    case 'sigmoid':
    case 'softplus':
      return activate(l, s, ctx);
    case 'residual': {
      const alpha = l.alpha !== undefined ? l.alpha : (l.alpha0 ?? 1) * ctx.L ** -(l.gamma ?? 0);
      const branch = run(l.branch, s, ctx);
      return combine(l.beta * l.beta, s, alpha * alpha, branch);
    }
    case 'denseBlock':
      return last(denseBlockStates(l, s, ctx));
    case 'repeat': {
      let out = s;
      for (let i = 0; i < l.count; i++) out = run(l.layers, out, ctx);
      return out;
    }
    default:
      return assertNever(l, 'layer type in the FC test reference');
  }
}

/**
 * The complete network's output state for every depth of the sweep. The depth loop is the last
 * top-level repeat or DenseNet block; entry t is the network with t iterations of it, followed by
 * the layers after it and the readout.
 */
function taps(spec: RefSpec, init: PairState, ctx: Context): PairState[] {
  let at = -1;
  spec.layers.forEach((l, i) => {
    if (l.type === 'repeat' || l.type === 'denseBlock') at = i;
  });
  if (at < 0) return [run([...spec.layers, ...spec.readout], init, ctx)];
  const suffix = [...spec.layers.slice(at + 1), ...spec.readout];
  const before = run(spec.layers.slice(0, at), init, ctx);
  const loop = spec.layers[at]!;
  const out: PairState[] = [];
  if (loop.type === 'denseBlock') {
    for (const h of denseBlockStates(loop, before, ctx)) out.push(run(suffix, h, ctx));
  } else if (loop.type === 'repeat') {
    let s = before;
    for (let t = 0; t <= loop.count; t++) {
      out.push(run(suffix, s, ctx));
      if (t < loop.count) s = run(loop.layers, s, ctx);
    }
  }
  return out;
}

export interface RefResult {
  /** Depth label of each entry (sweepStart + t). */
  depths: number[];
  /** Per depth, the n1 × n2 matrix in row-major order. */
  nngp: Float64Array[];
  ntk: Float64Array[];
  /** Smallest 1 − |ρ| seen at an activation for a pair of distinct inputs (1 when none). */
  minGap: number;
}

const dot = (x: readonly number[], z: readonly number[]) => x.reduce((s, v, i) => s + v * z[i]!, 0);

/** NNGP and NTK of x1 × x2 (x1 × x1 when x2 is omitted) for every depth of the spec's sweep. */
export function referenceKernels(spec: Spec | ResolvedSpec, x1: readonly number[][], x2?: readonly number[][]): RefResult {
  const r = resolveSpec(spec) as unknown as RefSpec;
  const ctx: Context = { L: residualCount([...r.layers, ...r.readout]), same: false, minGap: 1 };
  const z = x2 ?? x1;
  const unit = r.normalize === 'diagonal' ? taps(r, { xx: 1, zz: 1, xz: 1, t: 0 }, { ...ctx, same: true }) : null;
  const scale = (v: readonly number[]) => (r.inputScale === 'dim' ? 1 / v.length : 1);
  let nngp: Float64Array[] = [];
  let ntk: Float64Array[] = [];
  for (let i = 0; i < x1.length; i++) {
    for (let j = 0; j < z.length; j++) {
      const a = x1[i]!;
      const b = z[j]!;
      ctx.same = x2 === undefined && i === j;
      const init = { xx: dot(a, a) * scale(a), zz: dot(b, b) * scale(b), xz: dot(a, b) * scale(a), t: 0 };
      const out = taps(r, init, ctx);
      if (nngp.length === 0) {
        nngp = out.map(() => new Float64Array(x1.length * z.length));
        ntk = out.map(() => new Float64Array(x1.length * z.length));
      }
      out.forEach((s, t) => {
        nngp[t]![i * z.length + j] = divide(s.xz, unit?.[t]!.xz);
        ntk[t]![i * z.length + j] = divide(s.t, unit?.[t]!.t);
      });
    }
  }
  const depths = Array.from({ length: nngp.length }, (_, t) => r.sweepStart + t);
  return { depths, nngp, ntk, minGap: ctx.minGap };
}

/** "diagonal" normalisation; a kernel that is zero for the unit input is identically zero. */
function divide(v: number, norm: number | undefined): number {
  if (norm === undefined) return v;
  if (norm === 0) {
    if (v !== 0) throw new Error(`reference: normaliser 0 but value ${v}`);
    return 0;
  }
  return v / norm;
}
