/**
 * What every sampled finite network of a dense spec shares, whoever samples it: the Monte Carlo
 * oracle (`montecarlo.ts`, one input at a time, many networks) and the batched empirical kernels
 * (`batched.ts`, all inputs at once, one network). Both walk the same layer list and draw each
 * dense layer's weights with `drawDense` in the order of the forward pass, so one seed gives the
 * same network to both: that is what makes their per-network kernels agree to rounding.
 */
import { InputError } from '../errors.js';
import { compile, countResidualBlocks } from '../program/compile.js';
import { ldexp, normalizers } from '../cpu/interpreter.js';
import type { ResolvedLayer, ResolvedSpec } from '../spec/types.js';
import type { Rng } from './rng.js';

export interface SampledArch {
  /** The layers of the sampled network, a frozen dense(1) readout appended when the spec does not end with a dense layer. */
  net: ResolvedLayer[];
  /** The output layer (the last of `net`), compared by identity. */
  outputAt: ResolvedLayer;
  /** Residual blocks L (α = alpha0·L^(−gamma)). */
  L: number;
  /** Divisors of the NNGP and NTK (normalize: "diagonal"; else 1), as the analytic kernel divides. */
  kNorm: number;
  tNorm: number;
}

/** The sampled network of a dense spec (a conv layer is refused by the samplers themselves). */
export function sampledArch(spec: ResolvedSpec): SampledArch {
  const all = [...spec.layers, ...spec.readout];
  const last = all[all.length - 1]!;
  const readoutAdded: ResolvedLayer = { type: 'dense', weightVar: 1, biasVar: 0, trainable: false };
  const net = last.type === 'dense' ? all : [...all, readoutAdded];
  const program = compile(spec);
  const norms = normalizers(program);
  const lastTap = program.depths.length - 1;
  const kNorm = norms ? ldexp(norms.nngp[lastTap]!, norms.exp[lastTap]!) : 1;
  const tNorm = norms ? ldexp(norms.ntk[lastTap]!, norms.exp[lastTap]!) : 1;
  // A zero normaliser (a degenerate spec) divides by 1, as the oracle always did.
  return { net, outputAt: net[net.length - 1]!, L: countResidualBlocks(all), kNorm: kNorm === 0 ? 1 : kNorm, tNorm: tNorm === 0 ? 1 : tNorm };
}

/** Normaliser of the input features: 1/d when the spec scales inputs by their dimension. */
export function inputNormaliser(spec: ResolvedSpec, d: number): number {
  return spec.inputScale === 'dim' ? 1 / d : 1;
}

/** One dense layer's standard-normal weights (outDim × fanIn, row-major) then its biases (none when biasVar is 0). */
export function drawDense(rng: Rng, outDim: number, fanIn: number, biasVar: number): { W: Float64Array; bias: Float64Array | null } {
  const W = new Float64Array(outDim * fanIn);
  rng.fillNormal(W);
  const bias = biasVar > 0 ? new Float64Array(outDim) : null;
  if (bias) rng.fillNormal(bias);
  return { W, bias };
}

/** The width argument of every sampler: a whole number ≥ 1. */
export function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1) throw new InputError(`width must be an integer ≥ 1, got ${width}`);
}
