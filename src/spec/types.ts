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

/** Pointwise nonlinearities; each has closed-form Gaussian expectations (`cpu/activations.ts`). */
export type Activation =
  | { type: 'relu' }
  /** Cho & Saul's arc-cosine unit of order n: φ(u) = 1(u > 0)·uⁿ. Order 1 is ReLU. */
  | { type: 'arccos'; order: 0 | 1 | 2 }
  /** φ(u) = u for u > 0, slope·u otherwise. */
  | { type: 'leakyRelu'; slope: number }
  /** φ(u) = b·u for u > 0, a·u otherwise (neural-tangents' ABRelu). */
  | { type: 'abRelu'; a: number; b: number }
  | { type: 'erf' };

export type ActivationType = Activation['type'];

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

export type Layer = DenseLayer | Activation | ResidualLayer | DenseBlockLayer | RepeatLayer;

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

export type ResolvedLayer =
  | ResolvedDense
  | ResolvedActivation
  | ResolvedResidual
  | ResolvedDenseBlock
  | ResolvedRepeat;

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

export const ACTIVATION_TYPES: readonly ActivationType[] = [
  'relu',
  'arccos',
  'leakyRelu',
  'abRelu',
  'erf',
];

export function isActivation(layer: { type: string }): layer is Activation {
  return (ACTIVATION_TYPES as readonly string[]).includes(layer.type);
}
