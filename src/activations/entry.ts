/**
 * What one activation must provide to every part of the engine. An activation is one object of
 * this shape (one file in src/activations/) plus one line in registry.ts; nothing else in the
 * engine names activation types.
 *
 * Conventions: for (u, v) ~ N(0, [[kxx, kxz], [kxz, kzz]]), S = E[φ(u)φ(v)] and Ṡ = E[φ'(u)φ'(v)]
 * (the "dual activations": K ← S, Θ ← Ṡ·Θ). A zero-variance side is the constant 0, with the
 * one-sided φ'(0) the Monte Carlo oracle's backpropagation uses.
 */

/** Output of a nonlinearity on a pair in the gap form: new diagonals, gaps 1 ∓ ρ', and Ṡ. */
export interface ActOut {
  kxx: number;
  kzz: number;
  g: number;
  h: number;
  sdot: number;
}

/** The WGSL call of an activation: `cur = fn(cur, ...params)`; its numbers are data, not source text. */
export interface WgslCall {
  fn: string;
  params: number[];
  /**
   * WGSL the call needs beyond shaders/kernel_ops.wgsl (the functions defining `fn`): chunks that
   * codegen appends once per shader each (equal chunks of several activations once in all).
   */
  source?: readonly string[];
  /**
   * User-written WGSL to compile on its own before the pipeline, so that a mistake in it is an
   * InputError that names it rather than a failed pipeline: `what` names it in that error.
   */
  check?: readonly { what: string; code: string }[];
}

/**
 * φ and φ' as WGSL expressions of the f32 variable `u` (and `p`, a vec2<f32> holding `params`, so
 * that the numbers stay data), for sampled networks on WebGPU (src/gpu/empirical.ts). `source`:
 * functions the expressions call (each chunk emitted once per shader).
 */
export interface WgslPointwise {
  phi: string;
  dphi: string;
  params?: readonly number[];
  source?: readonly string[];
  /** User-written WGSL to compile on its own first (as WgslCall.check): a mistake is an InputError naming it. */
  check?: readonly { what: string; code: string }[];
}

/**
 * One activation. `A` is its resolved layer object ({ type, ...parameters }). Methods are declared
 * as methods (bivariant in A) so that entries of different A share one registry.
 */
export interface ActivationEntry<A extends { type: string } = { type: string }> {
  /** The JSON `type` name. */
  readonly type: A['type'];
  /** Validates a layer object of this type (its path for errors) and fills in defaults. */
  resolve(obj: Record<string, unknown>, path: string): A;
  /** A few words for `describe` (e.g. "LeakyReLU(0.1)"). */
  describe(a: A): string;
  /** φ, for the Monte Carlo oracle. */
  phi(a: A): (u: number) => number;
  /** φ' (one-sided at kinks: the value for u ≤ 0), for the Monte Carlo oracle's backpropagation. */
  dphi(a: A): (u: number) => number;
  /** [S, Ṡ] into out[0], out[1] (the plain ρ form, closed form where known). */
  dual(a: A, kxx: number, kzz: number, kxz: number, out: Float64Array): void;
  /**
   * The same update in the gap form the float64 interpreter carries: given the variances and the
   * correlation gaps g = 1 − ρ, h = 1 + ρ, the new variances, the new gaps (each with full relative
   * precision near its own end) and Ṡ.
   */
  gap(a: A, kxx: number, kzz: number, g: number, h: number, out: ActOut): void;
  /**
   * Whether φ(c·u) = c·φ(u) for c > 0 (degree 1): the interpreter may then keep the kernels as a
   * mantissa and a power of two. Otherwise it materialises the actual values first.
   */
  homogeneous(a: A): boolean;
  /**
   * Whether φ is C¹ (φ' continuous), so that the NTK of a trained network is differentiable in time
   * and dΘ/dt|₀ exists (`analyze dynamics`' initial rate). False for ReLU-like units (φ' jumps).
   * Optional for registered entries: absent means false (not known smooth).
   */
  smooth?(a: A): boolean;
  /**
   * The WebGPU call, or null where the WebGPU backend does not support this activation yet (an
   * entry may instead throw an InputError that says what its layer lacks).
   */
  wgsl(a: A): WgslCall | null;
  /** φ and φ' in WGSL for sampled networks on WebGPU; absent or null where not written (then refused). */
  pointwiseWgsl?(a: A): WgslPointwise | null;
}
