/**
 * The kernel program: what an architecture does to the kernel state of one input pair (x, z).
 *
 * State: `banks` banks of registers — K(x,x), K(z,z), the correlation as its two gaps 1 − ρ and
 * 1 + ρ, and Θ(x,z) (executors may store these differently, e.g. the GPU in f32 with exact
 * power-of-two scales). Bank 0 holds the
 * current representation; residual blocks save the skip in a bank, DenseNet blocks keep the running
 * sum of their concatenated activations in one. Every op is a fixed update of these registers, so
 * the same program is interpreted in float64 on the CPU (`cpu/interpreter.ts`) and turned into
 * WGSL by the GPU backend.
 *
 * Shape: `prefix` (straight-line ops and plain loops), then the depth loop `sweep` whose iterations
 * are the depths of a depth sweep, then `suffix`, which turns the state after any depth into a
 * complete network's output (the layers after the depth loop and the readout).
 */
import type { Activation } from '../spec/types.js';

/** Registers of a bank in the float64 interpreter, in order. */
export const KXX = 0;
export const KZZ = 1;
/** 1 − ρ. */
export const GAP = 2;
/** 1 + ρ. */
export const ANTI = 3;
export const NTK = 4;
export const BANK_SIZE = 5;

/** A coefficient: a constant, or one value per iteration of the enclosing loop. */
export type Coef = number | Float64Array;

export type Op =
  /** cur ← dense layer: K ← w·K + b; Θ ← w·Θ + (trainable ? K_new : 0). */
  | { op: 'affine'; weightVar: number; biasVar: number; trainable: boolean }
  /** cur ← pointwise nonlinearity: K ← E[φ(u)φ(v)], Θ ← E[φ'(u)φ'(v)]·Θ. */
  | { op: 'act'; act: Activation }
  /** bank ← cur. */
  | { op: 'save'; bank: number }
  /** cur ← skip·bank + branch·cur (all four registers): a residual sum. */
  | { op: 'mix'; bank: number; skip: number; branch: number }
  /** bank ← 0. */
  | { op: 'clear'; bank: number }
  /** bank ← bank + cur. */
  | { op: 'accumulate'; bank: number }
  /** cur ← scale·bank. */
  | { op: 'load'; bank: number; scale: Coef };

/**
 * Per-depth normalisers of `normalize: "diagonal"`: the kernels of an input with K₀(x,x) = 1, as
 * float64 mantissas with a shared exponent per depth (value = mantissa·2^exp).
 */
export interface Normalizers {
  nngp: Float64Array;
  ntk: Float64Array;
  exp: Float64Array;
}

export type Step =
  | { kind: 'ops'; ops: Op[] }
  | { kind: 'loop'; count: number; body: Op[] };

export interface KernelProgram {
  /** Number of register banks the program uses (≥ 1). */
  banks: number;
  inputScale: 'none' | 'dim';
  prefix: Step[];
  /** The depth loop; null when the network has no repeated part. */
  sweep: { count: number; body: Op[] } | null;
  suffix: Op[];
  normalize: 'none' | 'diagonal';
  /** Depth label of each sweep entry (tap t = state after t iterations of `sweep`). */
  depths: number[];
  /** Number of residual blocks L, which sets α = alpha0·L^(−gamma). */
  residualBlocks: number;
}

/** Every op of the program once (prefix, depth loop body, suffix), whatever its repeat count. */
export function programOps(p: KernelProgram): Op[] {
  const all: Op[] = [];
  for (const s of p.prefix) all.push(...(s.kind === 'ops' ? s.ops : s.body));
  if (p.sweep) all.push(...p.sweep.body);
  return all.concat(p.suffix);
}

/** Ops run for one pair through the whole program (loops counted out). */
export function opsPerPair(p: KernelProgram): number {
  const prefix = p.prefix.reduce((n, s) => n + (s.kind === 'ops' ? s.ops.length : s.count * s.body.length), 0);
  return prefix + (p.sweep ? p.sweep.count * p.sweep.body.length : 0) + p.suffix.length;
}
