/**
 * The architecture description: plain JSON, shared by files, the CLI, the browser and the
 * TypeScript builder (`stax.ts`). Everything here is data; `validate.ts` checks it and fills in
 * defaults, `program/compile.ts` turns it into a kernel program.
 *
 * Parametrisation: the NTK parametrisation throughout. A dense layer reading a representation `a`
 * computes y = √(weightVar · s)·W·a + √biasVar·b with W, b ~ N(0, 1), where s is the
 * representation's normaliser (1/width for hidden layers, 1/d or 1 for the input, see
 * `inputScale`). Its infinite-width kernel update is K' = weightVar·K + biasVar and, when
 * trainable, Θ' = weightVar·Θ + K' (frozen: Θ' = weightVar·Θ).
 */

/**
 * Pointwise nonlinearities: one entry each in src/activations/ (φ, φ', duals, gap form, WGSL), whose
 * layer objects make up `Activation` (relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid,
 * softplus, and the API-only numerical).
 */
import type { Activation } from '../activations/registry.js';

export type { Activation, ActivationType } from '../activations/registry.js';

export interface DenseLayer {
  type: 'dense';
  /** σ_w² (default 1); must be > 0. */
  weightVar?: number;
  /** σ_b² (default 0); must be ≥ 0. */
  biasVar?: number;
  /** Trained parameters add their gradient term to the NTK (default true). */
  trainable?: boolean;
}

/**
 * h ↦ β·h + α·branch(h). The branch must end with a dense layer (fresh zero-mean weights; a residual
 * block after it keeps that property), which
 * makes the skip/branch cross terms vanish at infinite width: K' = β²K + α²K_B, Θ' = β²Θ + α²Θ_B.
 * α is either `alpha`, or `alpha0`·L^(−gamma) with L the number of residual blocks in the network.
 */
export interface ResidualLayer {
  type: 'residual';
  alpha?: number;
  alpha0?: number;
  gamma?: number;
  /** Skip gain β (default 1). */
  beta?: number;
  branch: Layer[];
}

/**
 * DenseNet block of `depth` layers: layer l (1-based) reads the concatenation
 * [φ(h_0); …; φ(h_{l−1})] through a dense layer; the block outputs h_depth. With concat "mean" the
 * dense layer's fan-in is the whole concatenation (l·n), so the mixture is an average; with "sum"
 * it is n, so the block kernels add up.
 */
export interface DenseBlockLayer {
  type: 'denseBlock';
  depth: number;
  concat?: 'mean' | 'sum';
  activation?: Activation;
  weightVar?: number;
  biasVar?: number;
  trainable?: boolean;
}

/** `count` copies of `layers` in sequence (count ≥ 0). */
export interface RepeatLayer {
  type: 'repeat';
  count: number;
  layers: Layer[];
}

/**
 * Convolution over the spatial axes of an image-shaped representation (1-D signals or 2-D images),
 * NTK parametrisation: h[c', i] = √(σ_w²/(C_in·q^D))·Σ_{c, a} W[c', c, a]·g[c, s·i + a] + σ_b·b[c'].
 * Kernel update (wave2.md §1.1): K' = σ_w²·S(K) + σ_b², Θ' = σ_w²·S(Θ) + K' (frozen: no + K'),
 * S the shift-mean over the q^D filter offsets. Output size: ⌈size/stride⌉ with padding "circular"
 * (indices mod size) or "zero" (out-of-image pixels read 0, the normaliser stays 1/q^D).
 */
export interface ConvLayer {
  type: 'conv';
  /** Odd filter width q per spatial axis (one number: the same on every axis; default 3). */
  filter?: number | number[];
  /** Stride s ≥ 1 per spatial axis (default 1). */
  stride?: number | number[];
  /** Default "zero". */
  padding?: 'circular' | 'zero';
  weightVar?: number;
  biasVar?: number;
  trainable?: boolean;
}

/** Local average pooling over `window` pixels per axis (no padding), moving by `stride` (default: window). */
export interface AvgPoolLayer {
  type: 'avgPool';
  window: number | number[];
  stride?: number | number[];
}

/**
 * The step from an image-shaped representation to a vector, fused with the dense layer that reads
 * it (weightVar σ², biasVar, trainable): K_out = σ²·R(K) + σ_b², Θ_out = σ²·R(Θ) + K_out when
 * trained. R is, per type:
 * - "eq": the entry of one output pixel (`pixel`, default the first), R(K) = K[i0, i0];
 * - "flatten": the mean of the diagonal, R(K) = (1/P)·Σ_i K[i, i] (neural-tangents' Flatten then Dense);
 * - "gap": global average pooling then dense, R(K) = (1/P²)·Σ_{i,j} K[i, j].
 */
export interface SpatialReadoutLayer {
  type: 'eq' | 'flatten' | 'gap';
  /** "eq" only: the output pixel's coordinates, one per spatial axis (default all 0). */
  pixel?: number[];
  weightVar?: number;
  biasVar?: number;
  trainable?: boolean;
}

export type SpatialReadoutType = SpatialReadoutLayer['type'];

export type Layer =
  | DenseLayer
  | Activation
  | ResidualLayer
  | DenseBlockLayer
  | RepeatLayer
  | ConvLayer
  | AvgPoolLayer
  | SpatialReadoutLayer;

export interface Spec {
  /** Format tag; optional on input, always written by `resolveSpec`. */
  format?: 'webntk-spec/1';
  name?: string;
  description?: string;
  /** Input kernel K₀ = x·z/d ("dim") or x·z ("none"); default "none". */
  inputScale?: 'none' | 'dim';
  layers: Layer[];
  /**
   * Layers applied after the body. In a depth sweep they are applied to the state after every
   * depth, so each sweep entry is a complete network (default: none).
   */
  readout?: Layer[];
  /**
   * "diagonal": divide each kernel by its value for an input with K₀(x, x) = 1 (a unit vector when
   * inputScale is "none"), per depth. A kernel that is identically zero stays zero.
   */
  normalize?: 'none' | 'diagonal';
  /** Depth label of the first entry of a depth sweep (default 0). */
  sweepStart?: number;
}

/** Everything below is the same shape with every default filled in (see `resolveSpec`). */
export type ResolvedActivation = Activation;

export interface ResolvedDense {
  type: 'dense';
  weightVar: number;
  biasVar: number;
  trainable: boolean;
}

export interface ResolvedResidual {
  type: 'residual';
  /** Either a fixed alpha or alpha0·L^(−gamma); exactly one form is present. */
  alpha?: number;
  alpha0?: number;
  gamma?: number;
  beta: number;
  branch: ResolvedLayer[];
}

export interface ResolvedDenseBlock {
  type: 'denseBlock';
  depth: number;
  concat: 'mean' | 'sum';
  activation: ResolvedActivation;
  weightVar: number;
  biasVar: number;
  trainable: boolean;
}

export interface ResolvedRepeat {
  type: 'repeat';
  count: number;
  layers: ResolvedLayer[];
}

/** Per-axis lists have been expanded lazily: a single number stays a number (it applies to every axis). */
export interface ResolvedConv {
  type: 'conv';
  filter: number | number[];
  stride: number | number[];
  padding: 'circular' | 'zero';
  weightVar: number;
  biasVar: number;
  trainable: boolean;
}

export interface ResolvedAvgPool {
  type: 'avgPool';
  window: number | number[];
  stride: number | number[];
}

export interface ResolvedSpatialReadout {
  type: SpatialReadoutType;
  /** "eq" only; absent means pixel 0 on every axis. */
  pixel?: number[];
  weightVar: number;
  biasVar: number;
  trainable: boolean;
}

export type ResolvedLayer =
  | ResolvedDense
  | ResolvedActivation
  | ResolvedResidual
  | ResolvedDenseBlock
  | ResolvedRepeat
  | ResolvedConv
  | ResolvedAvgPool
  | ResolvedSpatialReadout;

export interface ResolvedSpec {
  format: 'webntk-spec/1';
  name?: string;
  description?: string;
  inputScale: 'none' | 'dim';
  layers: ResolvedLayer[];
  readout: ResolvedLayer[];
  normalize: 'none' | 'diagonal';
  sweepStart: number;
}

export { ACTIVATION_TYPES, isActivation } from '../activations/registry.js';

export const SPATIAL_READOUT_TYPES: readonly SpatialReadoutType[] = ['eq', 'flatten', 'gap'];
